"""Compile once (issue 16): epsilon, delta, the noise scales derived from them, clip bounds, thresholds,
step sizes and the sparsity level are traced arguments of the compiled programs, so on the same data
shape a new value compiles nothing. Each sweep also checks that the value is used (the results change)."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.privacy import InteractiveLDPSparseRegression, LDPSparseRegression
from sparsestat.privacy import aggregation as agg
from sparsestat.privacy import estimation as estim
from sparsestat.privacy import release as rel
from tests._compiles import n_distinct, sweep

pytestmark = [pytest.mark.filterwarnings("ignore::sparsestat.exceptions.PrivacyWarning"),
              pytest.mark.filterwarnings("ignore:the aggregated covariance is not positive definite:RuntimeWarning")]

N, D = 64, 4
EPS = [0.5, 1.0, 2.0, 4.0, 8.0]
DELTA = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2]
CLIP = [0.5, 1.0, 1.5, 2.0, 3.0]
KW = dict(x_clip_l2=2.0, x_clip=1.0, y_clip=1.0)


@pytest.fixture(scope="module")
def users():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    y = X @ np.array([0.5, 0.0, 0.0, -0.5]) + 0.1 * rng.standard_normal(N)
    return X, y


def stats(est):
    s = est.statistics_
    return (s["cov_triu"], s["xy"]) if "xy" in s else (s["grad_means"], est.coef_)


def test_ldp_sparse_regression(users):
    X, y = users
    fit = lambda **kw: stats(LDPSparseRegression(**{"epsilon": 1.0, **KW, "random_state": 0, **kw}).fit(X, y))  # noqa: E731
    assert n_distinct(sweep(lambda v: fit(epsilon=v), EPS)) == 5
    assert n_distinct(sweep(lambda v: fit(delta=v), DELTA)) == 5
    assert n_distinct(sweep(lambda v: fit(x_clip=v), CLIP)) == 5
    assert n_distinct(sweep(lambda v: fit(y_clip=v), CLIP)) == 5
    assert n_distinct(sweep(lambda v: fit(x_clip_l2=v), CLIP)) == 5
    coefs = sweep(lambda v: LDPSparseRegression(50.0, lam=v, random_state=0, **KW).fit(X, y).coef_,
                  [0.0, 0.01, 0.05, 0.1, 0.2])
    assert n_distinct(coefs) == 5
    coefs = sweep(lambda v: LDPSparseRegression(50.0, threshold="topk", n_nonzero_coefs=v, random_state=0, **KW)
                  .fit(X, y).coef_, [1, 2, 3, 4])
    assert [int(np.count_nonzero(c)) for c in coefs] == [1, 2, 3, 4]
    # pure epsilon-LDP (Laplace) and the public-covariance mode
    assert n_distinct(sweep(lambda v: fit(epsilon=v, delta=0.0, mechanism="laplace"), EPS)) == 5
    assert n_distinct(sweep(lambda v: fit(epsilon=v, x_clip_l2=None, public_X=X), EPS)) == 5


def test_interactive_ldp_sparse_regression(users):
    X, y = users
    fit = lambda **kw: stats(InteractiveLDPSparseRegression(**{  # noqa: E731
        "epsilon": 1.0, "n_nonzero_coefs": 2, "x_clip": 1.0, "y_clip": 1.0, "random_state": 0, **kw}).fit(X, y))
    assert n_distinct(sweep(lambda v: fit(epsilon=v), EPS)) == 5
    assert n_distinct(sweep(lambda v: fit(delta=v), DELTA)) == 5
    assert n_distinct(sweep(lambda v: fit(x_clip=v), CLIP)) == 5
    assert n_distinct(sweep(lambda v: fit(y_clip=v), CLIP)) == 5
    assert n_distinct(sweep(lambda v: fit(step_size=v), CLIP)) == 5
    assert n_distinct(sweep(lambda v: fit(radius=v, epsilon=50.0), [0.05, 0.1, 0.2, 0.3, 0.4])) == 5
    assert n_distinct(sweep(lambda v: fit(n_nonzero_coefs=v), [1, 2, 3, 4])) == 4


def test_protocol_cores(users, x64):
    X, y = users
    key = jax.random.PRNGKey(0)
    keys = rel.user_keys(key, 0, N)

    def release(**kw):
        m = rel.release_nldp(keys, X, y, **{"epsilon": 1.0, "delta": 1e-5, **KW, **kw})
        return m.cov_triu, m.xy

    assert n_distinct(sweep(lambda v: release(epsilon=v), EPS)) == 5
    assert n_distinct(sweep(lambda v: release(delta=v), DELTA)) == 5
    assert n_distinct(sweep(lambda v: release(x_clip=v), CLIP)) == 5
    assert n_distinct(sweep(lambda v: release(x_clip_l2=v), CLIP)) == 5

    def stream(**kw):
        s = agg.stream_nldp(key, [(X, y)], D, chunk_size=N, dtype=np.float64,
                            **{"epsilon": 1.0, "delta": 1e-5, **KW, **kw})
        return s.cov_triu, s.xy

    assert n_distinct(sweep(lambda v: stream(epsilon=v), EPS)) == 5
    assert n_distinct(sweep(lambda v: stream(y_clip=v), CLIP)) == 5
    assert n_distinct(sweep(lambda v: stream(epsilon=v, delta=0.0, mechanism="laplace"), EPS)) == 5

    sums = agg.stream_nldp(key, [(X, y)], D, chunk_size=N, dtype=np.float64, epsilon=50.0, delta=1e-5, **KW)
    outs = sweep(lambda v: estim.server_estimate(sums, sigmas=(1.0, 1.0), y_clip=1.0, lam=v).coef,
                 [0.0, 0.01, 0.05, 0.1, 0.2])
    assert n_distinct(outs) == 5

    theta = jnp.asarray([0.3, 0.0, 0.1, -0.3])
    outs = sweep(lambda v: rel.release_iht(keys, X, y, theta, epsilon=v, delta=1e-5, x_clip=1.0, y_clip=1.0), EPS)
    assert n_distinct(outs) == 5
    outs = sweep(lambda v: agg.stream_iht_round(key, X, y, np.arange(N), theta, sigma=v, x_clip=1.0, y_clip=1.0,
                                                chunk_size=N, dtype=np.float64), [0.1, 0.5, 1.0, 2.0, 4.0])
    assert n_distinct(outs) == 5
    outs = sweep(lambda v: agg.stream_iht_round(key, X, y, np.arange(N), theta, sigma=0.1, x_clip=v, y_clip=1.0,
                                                chunk_size=N, dtype=np.float64), CLIP)
    assert n_distinct(outs) == 5
    g = jnp.asarray([1.0, -2.0, 0.5, 0.25])
    outs = sweep(lambda v: estim.iht_step(theta, g, 10, step_size=v, n_nonzero_coefs=3, radius=10.0),
                 [0.1, 0.5, 1.0, 2.0, 4.0])
    assert n_distinct(outs) == 5
    outs = sweep(lambda v: estim.iht_step(theta, g, 10, step_size=1.0, n_nonzero_coefs=v, radius=10.0), [1, 2, 3, 4])
    assert n_distinct(outs) == 4
