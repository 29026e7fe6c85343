"""No host round trip per iteration: the number of device-to-host reads of a fit does not grow with the
number of iterations, rounds or alphas (issue 23).

Reads are counted at every Python entry point of a transfer (tests/_host_reads.py). The numbers of
464d757, where the host drove each round, for the cases below: a Lasso fit at alpha_max / 1000 on
60 x 300 made 419 reads (one per round), MCP 15, sparse logistic 24 (now 7 each), and a path's reads
grew with its grid (85 / 568 for 5 / 40 alphas on a 60 x 100 problem; now 2 / 2).
"""

import numpy as np
import pytest

from sparsestat.regression import Lasso, LassoCV, MCPRegression, SparseLogisticRegression, lasso_path
from sparsestat.sbl import SBLRegression

from .._host_reads import steady_state_reads as reads
from ..sbl._problems import small_kron_problem


def _data(n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X[:, :5] @ np.ones(5) + 0.1 * rng.standard_normal(n)
    return X, y


def test_single_fits_read_a_constant_handful():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 300))
    y = X[:, :40] @ rng.standard_normal(40) + 0.1 * rng.standard_normal(60)
    amax = np.max(np.abs((X - X.mean(0)).T @ (y - y.mean()))) / 60
    # one round (large alpha) or hundreds (alpha_max / 1000, tol 1e-10): the same few reads
    few = reads(lambda: Lasso(alpha=0.5 * amax).fit(X, y))
    many = reads(lambda: Lasso(alpha=0.001 * amax, tol=1e-10, max_iter=100000).fit(X, y))
    assert many == few <= 8
    assert reads(lambda: MCPRegression(alpha=0.01 * amax, tol=1e-10).fit(X, y)) <= 8
    assert reads(lambda: SparseLogisticRegression(alpha=0.001, tol=1e-10).fit(X, y > 0)) <= 8


@pytest.mark.slow  # 9 s cold; single fits' reads stay in the default tier
def test_a_path_is_one_program():
    X, y = _data(60, 100)
    # 5 or 40 alphas: the same reads (one transfer of the results, then the intercepts' inputs)
    r5 = reads(lambda: lasso_path(X, y, alphas=5))
    r40 = reads(lambda: lasso_path(X, y, alphas=40, eps=1e-4))
    assert r40 == r5 <= 4
    # CV: one path per fold, then the refit
    assert reads(lambda: LassoCV(cv=3, alphas=5).fit(X, y)) <= 3 * r5 + 8   # + a single fit's <= 8


def test_sbl_reads_do_not_grow_with_iterations():
    X, y = _data(60, 30)
    assert reads(lambda: SBLRegression(max_iter=20).fit(X, y)) == reads(
        lambda: SBLRegression(max_iter=400, tol=1e-14).fit(X, y))


# ---- the other modules' entry points: reads at two iteration counts (small shapes of their own tests) ----
# slow tier: each compiles its module's programs a second time at another iteration count (8-10 s cold)

@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sparsestat.exceptions.ConvergenceWarning")     # tol=0: at the cap
def test_kron_sbl_reads_do_not_grow_with_iterations(x64):
    from sparsestat.sbl import KroneckerSBL, kron_omp, kron_sbl

    facs, y = small_kron_problem()
    Y = np.stack([y, -y, 0.5 * y])
    # tol=0: every run goes to max_iter (5 or 300 EM iterations; "am" also runs its inner AM loop)
    for kw in (dict(method="svd"), dict(method="am"), dict(lanes=2)):
        yy = Y if "lanes" in kw else y
        assert int(np.max(kron_sbl(facs, yy, max_iter=300, tol=0.0, **kw).n_iter)) == 300
        assert reads(lambda: kron_sbl(facs, yy, max_iter=5, tol=0.0, **kw)) == reads(
            lambda: kron_sbl(facs, yy, max_iter=300, tol=0.0, **kw)), kw
    assert reads(lambda: KroneckerSBL(max_iter=5, tol=0.0).fit(facs, y)) == reads(
        lambda: KroneckerSBL(max_iter=300, tol=0.0).fit(facs, y))
    # OMP: 1 iteration (tol 0.9) or 5 (tol 0)
    assert reads(lambda: kron_omp(facs, y, max_per_mode=3, tol=0.9)) == reads(
        lambda: kron_omp(facs, y, max_per_mode=3, tol=0.0))


@pytest.mark.slow
def test_gemss_reads_do_not_grow_with_iterations():
    import jax

    from sparsestat.datasets import make_multi_solution
    from sparsestat.gemss import GEMSS, fit

    # the 20 x 12 problem and settings of tests/gemss/test_gemss_compile_once.py; GEMSS(...).fit runs
    # the same compiled programs as fit(...)
    X, y, _, _ = make_multi_solution(20, 12, 2, 2, noise_std=0.1, binarize=False, random_state=0)
    kw = dict(n_components=3, sparsity=2, lambda_jaccard=10.0, batch_size=4, lr=0.05)
    key = jax.random.PRNGKey(0)
    few = reads(lambda: jax.block_until_ready(fit(X, y, key, n_iter=200, **kw)))
    assert reads(lambda: jax.block_until_ready(fit(X, y, key, n_iter=1000, **kw))) == few <= 1
    assert reads(lambda: GEMSS(n_iter=200, random_state=0, **kw).fit(X, y)) == reads(
        lambda: GEMSS(n_iter=1000, random_state=0, **kw).fit(X, y))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")     # R-hat of a short run
def test_mcmc_sample_reads_once_per_chunk():
    import jax
    import jax.numpy as jnp

    from sparsestat.mcmc import sample

    scales = np.array([1.0, 0.5, 2.0])     # the 3-d target and starts of tests/mcmc/test_mcmc_compile_once.py
    starts = jnp.asarray(0.1 * np.arange(6.0).reshape(2, 3))
    opts = dict(num_warmup=3, num_chains=2, rng_key=jax.random.PRNGKey(0), progress_bar=False)

    def run(num_samples, **kw):
        return lambda: sample(lambda x: -0.5 * jnp.sum((x / scales) ** 2), starts, num_samples=num_samples,
                              **opts, **kw)

    # default chunking: 203 or 1003 iterations are one chunk each, the same reads (the start's, then the
    # chunk's records in one transfer), per batch of chains
    vec = dict(chain_method="vectorized")
    few = reads(run(200, **vec))
    assert reads(run(1000, **vec)) == few <= 3
    # chunks of 64 iterations: 4 or 16 chunks, exactly one read per chunk
    assert reads(run(1000, chunk_size=64, **vec)) - reads(run(200, chunk_size=64, **vec)) == 16 - 4
    # sequential chains (the default on CPU): the same, once per chain
    seq = dict(chain_method="sequential")
    few = reads(run(200, **seq))
    assert reads(run(1000, **seq)) == few <= 3 * 2
    assert reads(run(1000, chunk_size=64, **seq)) - reads(run(200, chunk_size=64, **seq)) == 2 * (16 - 4)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sparsestat.exceptions.PrivacyWarning",
                            "ignore:the aggregated covariance is not positive definite:RuntimeWarning")
def test_ldp_reads_do_not_grow_with_rounds_or_chunks(x64):
    import jax

    from sparsestat.privacy import iht_unit_sigma, ldp_iht, nldp, nldp_calibration

    rng = np.random.default_rng(0)     # d = 4 users of tests/privacy/test_compile_once.py
    X = rng.standard_normal((640, 4))
    y = X @ np.array([0.5, 0.0, 0.0, -0.5]) + 0.1 * rng.standard_normal(640)
    key = jax.random.PRNGKey(0)
    # NLDP: no solver iterations; 4 or 40 chunks of 16 users are summed on the device, the same reads
    cal = nldp_calibration(4, epsilon=1.0, delta=1e-5, x_clip_l2=2.0, x_clip=1.0, y_clip=1.0)
    kw = dict(x_clip_l2=2.0, x_clip=1.0, y_clip=1.0, chunk_size=16)
    assert reads(lambda: nldp(key, X[:64], y[:64], cal, **kw)) == reads(lambda: nldp(key, X, y, cal, **kw))
    # LDP-IHT on 64 users in chunks of 4 (16 chunks either way): 4 or 16 rounds. A round's only read is
    # ||theta_{t-1}||_1, which sets the round's public report sigma (computed on the host, sent to the
    # users); the rounds' gradient sums are read once at the end
    iht = dict(unit_sigma=iht_unit_sigma(1.0, 1e-5), x_clip=1.0, y_clip=1.0, n_nonzero_coefs=2, chunk_size=4)
    r4 = reads(lambda: ldp_iht(key, X[:64], y[:64], n_rounds=4, **iht))
    r16 = reads(lambda: ldp_iht(key, X[:64], y[:64], n_rounds=16, **iht))
    assert r16 - r4 == 16 - 4
