"""Estimators: reproducibility, recovery hooks, warnings, validation, hygiene (no raw data, key or
noise-free statistic on the fitted object or in its pickle), LDP-IHT bookkeeping, scikit-learn checks."""

import math
import pickle
import warnings

import jax
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sparsestat.datasets import make_ldp_users
from sparsestat.datasets.ldp import ldp_public_bounds
from sparsestat.exceptions import PrivacyWarning
from sparsestat.privacy import InteractiveLDPSparseRegression, LDPSparseRegression, required_users
from sparsestat.privacy import aggregation as agg
from sparsestat.privacy import calibration as calib
from sparsestat.privacy import release as rel
from sparsestat.privacy.ldp_iht import iht_groups

D = 8
B = ldp_public_bounds(D)
KW = dict(x_clip_l2=B.x_clip_l2, x_clip=B.x_clip, y_clip=B.y_clip)


@pytest.fixture(scope="module")
def data():
    return make_ldp_users(600, D, 2, random_state=0)


def fit_quiet(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return est.fit(X, y)


def test_same_seed_bit_identical_and_different_seed_differs(data):
    X, y, _ = data
    a = fit_quiet(LDPSparseRegression(1e3, lam=0.0, random_state=3, **KW), X, y)
    b = fit_quiet(LDPSparseRegression(1e3, lam=0.0, random_state=3, **KW), X, y)
    c = fit_quiet(LDPSparseRegression(1e3, lam=0.0, random_state=4, **KW), X, y)
    assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.statistics_["xy"], b.statistics_["xy"])
    assert not np.array_equal(a.coef_, c.coef_)
    assert a.privacy_.seeded and a.intercept_ == 0.0 and a.n_features_in_ == D
    # random_state=None draws fresh OS entropy: two fits differ
    d1 = fit_quiet(LDPSparseRegression(1e3, lam=0.0, **KW), X, y)
    d2 = fit_quiet(LDPSparseRegression(1e3, lam=0.0, **KW), X, y)
    assert not np.array_equal(d1.coef_, d2.coef_) and not d1.privacy_.seeded


def test_estimator_matches_protocol(data):
    X, y, _ = data
    est = fit_quiet(LDPSparseRegression(2.0, threshold="topk", n_nonzero_coefs=2, random_state=5, **KW), X, y)
    from sparsestat.linalg import enable_x64

    with enable_x64():
        sums = agg.stream_nldp(jax.random.PRNGKey(5), [(X, y)], D, epsilon=2.0, delta=1e-5, chunk_size=600, **KW)
    np.testing.assert_allclose(est.statistics_["xy"], np.asarray(sums.xy) / 600, rtol=1e-10)
    np.testing.assert_allclose(est.statistics_["cov_triu"], np.asarray(sums.cov_triu) / 600, rtol=1e-10)
    cal = calib.nldp_calibration(D, epsilon=2.0, delta=1e-5, **KW)
    assert est.privacy_.sigmas == pytest.approx((cal.scale_cov, cal.scale_xy), rel=1e-12)
    assert est.privacy_.epsilon == 2.0 and est.privacy_.delta == 1e-5
    assert "local, non-interactive" in str(est.privacy_)
    assert np.count_nonzero(est.coef_) == 2


def test_public_x_recovers_with_huge_epsilon():
    X, y, coef = make_ldp_users(4000, D, 2, random_state=1)
    est = fit_quiet(LDPSparseRegression(1e6, public_X=X[:500], threshold="topk", n_nonzero_coefs=2, refit=True,
                                        random_state=0, x_clip=B.x_clip, y_clip=B.y_clip), X, y)
    assert set(np.flatnonzero(est.coef_)) == set(np.flatnonzero(coef))
    assert np.linalg.norm(est.coef_ - coef) < 0.15
    assert est.statistics_["cov_triu"] is None and est.privacy_.x_clip_l2 is None
    assert est.score(X, y) > 0.5
    np.testing.assert_allclose(est.predict(X[:3]), X[:3] @ est.coef_)


def test_soft_zero_when_lambda_large(data):
    X, y, _ = data
    est = fit_quiet(LDPSparseRegression(1.0, random_state=0, **KW), X, y)
    assert np.all(est.coef_ == 0.0) and est.lambda_ > 0  # the noise regime: the safe failure


def test_indefinite_private_covariance_warns_finite(data):
    X, y, _ = data
    with pytest.warns(RuntimeWarning, match="not positive definite"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PrivacyWarning)
            est = LDPSparseRegression(0.5, lam=0.0, random_state=0, **KW).fit(X, y)
    assert np.all(np.isfinite(est.coef_))


def test_warnings_thresholds():
    X, y, _ = make_ldp_users(600, 4, 1, random_state=2)
    kw = dict(x_clip=3.0, y_clip=3.4, public_X=X[:50], random_state=0)
    need = required_users(4, 1, 1e3, 1e-5, 1.0, public_X=True, x_clip=3.0, y_clip=3.4)
    assert 10 * need <= 600  # 600 users are >= 10x the requirement at epsilon = 1000
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyWarning)
        with pytest.warns(PrivacyWarning, match="epsilon=1000 > 10"):
            LDPSparseRegression(1e3, **kw).fit(X, y)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        LDPSparseRegression(8.0, delta=1e-5, **kw).fit(X[:30], y[:30])
    msgs = [str(w.message) for w in rec if issubclass(w.category, PrivacyWarning)]
    assert any("required_users" in m and "n_users=30" in m for m in msgs)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        LDPSparseRegression(5.0, delta=0.1, **kw).fit(X, y)
    assert any("delta=0.1 > 1/n_users" in str(w.message) for w in rec)
    # 10x above the requirement: no PrivacyWarning
    n_ok = required_users(4, 1, 8.0, 1e-5, 1.0, public_X=True, x_clip=3.0, y_clip=3.4)
    Xb, yb, _ = make_ldp_users(10 * n_ok, 4, 1, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyWarning)
        LDPSparseRegression(8.0, x_clip=3.0, y_clip=3.4, public_X=X[:50], random_state=0).fit(Xb, yb)


@pytest.mark.parametrize("params,match,exc", [
    (dict(epsilon=0.0), "epsilon", ValueError),
    (dict(epsilon=float("nan")), "epsilon", ValueError),
    (dict(epsilon=float("inf")), "epsilon", ValueError),
    (dict(epsilon="1"), "epsilon", TypeError),
    (dict(delta=0.0), "delta", ValueError),
    (dict(delta=1.0), "delta", ValueError),
    (dict(mechanism="laplace"), "delta", ValueError),
    (dict(calibration="classic", epsilon=2.0), "classic", ValueError),
    (dict(x_clip=None), "x_clip", ValueError),
    (dict(y_clip="auto"), "y_clip", ValueError),
    (dict(x_clip_l2="data"), "x_clip_l2", ValueError),
    (dict(x_clip_l2=None), "x_clip_l2", ValueError),
    (dict(x_clip=-1.0), "x_clip", ValueError),
    (dict(lam=-0.1), "lam", ValueError),
    (dict(threshold="topk"), "n_nonzero_coefs", ValueError),
    (dict(n_nonzero_coefs=0), "n_nonzero_coefs", ValueError),
    (dict(n_nonzero_coefs=D + 1), "n_nonzero_coefs", ValueError),
    (dict(threshold="hard"), "threshold", ValueError),
    (dict(mechanism="exp"), "mechanism", ValueError),
    (dict(calibration="rdp"), "calibration", ValueError),
    (dict(stabilize="big"), "stabilize", ValueError),
    (dict(public_X=np.ones((20, D - 1))), "public_X", ValueError),
    (dict(public_X=np.full((20, D), np.nan)), "public_X", ValueError),
    (dict(public_X=np.ones((D - 1, D))), "public_X", ValueError),
    (dict(public_X=np.ones((20, D))), "public_X", ValueError),
])
def test_bad_parameters(data, params, match, exc):
    X, y, _ = data
    kw = dict(epsilon=1.0, **KW)
    kw.update(params)
    with pytest.raises(exc, match=match):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            LDPSparseRegression(**kw).fit(X, y)


def test_bad_data_and_unfitted(data):
    X, y, _ = data
    est = LDPSparseRegression(1.0, **KW)
    with pytest.raises(NotFittedError):
        est.predict(X)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(Xn, y)
    yi = y.copy()
    yi[0] = np.inf
    with pytest.raises(ValueError, match="[Ii]nf"):
        est.fit(X, yi)
    with pytest.raises(ValueError):
        est.fit(X[:, 0], y)
    with pytest.raises(ValueError):
        est.fit(X[:0], y[:0])
    with pytest.raises(ValueError):
        est.fit(X, np.c_[y, y])
    with pytest.raises(TypeError, match="sample_weight"):
        est.fit(X, y, sample_weight=np.ones(len(y)))
    fit_quiet(est, X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :3])


def _scan(obj, seen=None, path="est"):
    """Yield (path, value) for every array / scalar reachable from the fitted estimator."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, (np.ndarray, jax.Array)):
        yield path, np.asarray(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _scan(v, seen, f"{path}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _scan(v, seen, f"{path}[{i}]")
    elif isinstance(obj, (int, float, np.generic)):
        yield path, np.asarray(obj, dtype=float)
    elif hasattr(obj, "__dict__"):
        for k, v in vars(obj).items():
            yield from _scan(v, seen, f"{path}.{k}")
    elif hasattr(obj, "__dataclass_fields__"):
        for k in obj.__dataclass_fields__:
            yield from _scan(getattr(obj, k), seen, f"{path}.{k}")


@pytest.mark.parametrize("interactive", [False, True])
def test_hygiene_no_raw_data_key_or_clean_statistic(data, interactive):
    X, y, _ = data
    X = X.copy()
    planted = 12345.678901234
    X[17, 3] = planted
    if interactive:
        est = InteractiveLDPSparseRegression(2.0, n_nonzero_coefs=2, x_clip=B.x_clip, y_clip=B.y_clip,
                                             random_state=7)
    else:
        est = LDPSparseRegression(2.0, random_state=7, **KW)
    params = est.get_params()
    fit_quiet(est, X, y)
    assert est.get_params() == params  # fit never mutates parameters
    n = X.shape[0]
    key = np.asarray(jax.random.PRNGKey(7))
    cov0, xy0 = [np.asarray(a) for a in jax.vmap(lambda a, b: rel._clean_one(a, b, B.x_clip_l2, B.x_clip,
                                                                                 B.y_clip, False))(X, y)]
    clean = [cov0.mean(0), xy0.mean(0), cov0.sum(0), xy0.sum(0)]
    for path, v in _scan({k: v for k, v in vars(est).items() if k.endswith("_")}):
        assert v.ndim == 0 or v.shape[0] != n, f"{path} has n rows"
        assert v.dtype != np.uint32 and not np.array_equal(v.ravel()[:2], key), f"{path} looks like a key"
        assert not np.any(np.isclose(v, planted, rtol=1e-9)), f"{path} holds the planted value"
        for c in clean:
            if v.shape == c.shape:
                assert not np.allclose(v, c, rtol=1e-6, atol=0), f"{path} equals a clean statistic"
    blob = pickle.dumps(est)
    assert np.float64(planted).tobytes() not in blob
    assert np.float32(planted).tobytes() not in blob
    assert repr(planted).encode() not in blob
    # privacy_ depends on public parameters only: identical for another data set of equal n
    X2, y2, _ = make_ldp_users(n, D, 2, random_state=99)
    other = fit_quiet(type(est)(**params), X2, y2)
    if not interactive:
        assert other.privacy_ == est.privacy_
    else:
        # LDP-IHT calibrates round t at the broadcast (public) theta_{t-1}: round 1 is data-free, later
        # rounds depend on the public iterates only; everything else is identical
        from dataclasses import replace

        assert other.privacy_.sigmas[0] == est.privacy_.sigmas[0]
        assert replace(other.privacy_, sigmas=(), sensitivities=()) == replace(est.privacy_, sigmas=(),
                                                                              sensitivities=())


def test_interactive_bookkeeping(data):
    X, y, _ = data
    est = fit_quiet(InteractiveLDPSparseRegression(3.0, n_nonzero_coefs=2, n_rounds=4, x_clip=B.x_clip,
                                                   y_clip=B.y_clip, random_state=1), X, y)
    sizes = est.statistics_["group_sizes"]
    assert sizes.sum() == X.shape[0] and sizes.max() - sizes.min() <= 1 and len(sizes) == 4
    p = est.privacy_
    assert (p.epsilon, p.delta) == (3.0, 1e-5) and "one report per user" in p.composition
    assert len(p.sigmas) == 4 and p.model == "local, sequentially interactive"
    # sigma_t matches Delta_t = 2 sqrt(d) tau_x (tau_x ||theta_{t-1}||_1 + tau_y) at analytic calibration
    from sparsestat.privacy import gaussian_sigma

    unit = gaussian_sigma(1.0, 3.0, 1e-5)
    for s, dl in zip(p.sigmas, p.sensitivities):
        assert s == pytest.approx(unit * dl, rel=1e-12)
    assert p.sensitivities[0] == pytest.approx(2 * math.sqrt(D) * B.x_clip * B.y_clip, rel=1e-12)
    assert np.count_nonzero(est.coef_) <= 2 and np.linalg.norm(est.coef_) <= 1 + 1e-12
    # the partition depends only on (key, n, T): each user reports exactly once
    k_part, _ = jax.random.split(jax.random.PRNGKey(1))
    groups = iht_groups(k_part, X.shape[0], 4)
    np.testing.assert_array_equal(np.sort(np.concatenate(groups)), np.arange(X.shape[0]))
    np.testing.assert_array_equal([len(g) for g in groups], sizes)
    with pytest.raises(ValueError, match="n_rounds"):
        InteractiveLDPSparseRegression(3.0, n_nonzero_coefs=2, n_rounds=601, x_clip=1.0, y_clip=1.0).fit(X, y)
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        InteractiveLDPSparseRegression(3.0, n_nonzero_coefs=0, x_clip=1.0, y_clip=1.0).fit(X, y)
    with pytest.raises(ValueError, match="x_clip"):
        InteractiveLDPSparseRegression(3.0, n_nonzero_coefs=1, y_clip=1.0).fit(X, y)


def test_interactive_recovers_with_huge_epsilon():
    X, y, coef = make_ldp_users(3000, D, 2, random_state=4)
    est = fit_quiet(InteractiveLDPSparseRegression(1e7, n_nonzero_coefs=2, n_rounds=10, x_clip=B.x_clip,
                                                   y_clip=B.y_clip, random_state=0), X, y)
    assert np.linalg.norm(est.coef_ - coef) < 0.1
