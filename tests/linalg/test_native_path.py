"""The native whole-path solver (sparsestat.linalg.native.cd_path): every grid point certified by a duality
gap recomputed here in numpy from its definition, solutions equal to scikit-learn's ElasticNet solved
tightly (sample weights, intercept, positive), closed-form ridge for l1 = 0, weight-0 rows that change
nothing, a batch equal to its problems solved one by one, float32, the iteration cap, named errors."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.linalg import enable_x64, native

pytestmark = pytest.mark.skipif(os.environ.get("SPARSESTAT_NATIVE", "1") == "0",
                                reason="native kernels disabled by SPARSESTAT_NATIVE=0")


def _problem(rng, n=60, p=90, weights=True, intercept=True):
    X = rng.standard_normal((n, p))
    X[:, 5] = 0.0                      # an empty column never enters the model
    w_true = np.zeros(p)
    w_true[:6] = [2.0, -1.5, 1.0, 0.8, -0.6, 0.5]
    y = X @ w_true + 0.3 * rng.standard_normal(n) + 1.0
    s = rng.random(n) + 0.2 if weights else np.ones(n)
    om = s / s.sum()
    xm = om @ X if intercept else np.zeros(p)
    ym = om @ y if intercept else 0.0
    return X, y, s, om, xm, y - ym


def _gap(X, om, xm, yc, w, l1, l2, v, positive):
    """Duality gap of the weighted, centred elastic net at w, written out from its definition
    (scikit-learn's gap: the residual rescaled into the dual feasible set; for l1 = 0 the ridge dual)."""
    r = yc - (X - xm) @ w
    corr = (X - xm).T @ (om * r)
    R2, ry = np.sum(om * r * r), np.sum(om * r * yc)
    primal = 0.5 * R2 + l1 * np.sum(v * np.abs(w)) + 0.5 * l2 * w @ w
    a = (corr - l2 * w) / v
    dn = np.max(a) if positive else np.max(np.abs(a))
    if l1 > 0 or l2 == 0:
        c = l1 / dn if dn > l1 else 1.0
        dual = c * ry - 0.5 * c * c * (R2 + l2 * w @ w)
    else:
        s = np.maximum(corr, 0) if positive else np.abs(corr)
        dual = ry - 0.5 * R2 - np.sum(s * s) / (2 * l2)
    return primal - dual


def _call(X, om, xm, yc, v, l1, l2, w0, target, max_iter=10_000, positive=False, dtype=np.float64):
    """One problem through the batched kernel; (W (A, p), gap (A,), n_iter (A,)) as numpy."""
    c = lambda a: np.asarray(a, dtype)[None]  # noqa: E731
    f = jax.jit(lambda *a: native.cd_path(*a, max_iter, positive=positive))
    W, gap, it = f(np.ascontiguousarray(X.T, dtype), c(xm), c(om), c(yc), c(v), c(l1), c(l2), c(w0),
                   np.asarray([target], dtype))
    return np.asarray(W[0]), np.asarray(gap[0]), np.asarray(it[0])


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_every_grid_point_is_certified(positive, ratio):
    rng = np.random.default_rng(0)
    with enable_x64():
        X, y, s, om, xm, yc = _problem(rng)
        p = X.shape[1]
        v = rng.random(p) + 0.5
        amax = np.max(np.abs((X - xm).T @ (om * yc)) / v) / ratio
        alphas = np.geomspace(amax, amax / 200, 12)
        scale = np.sum(om * yc * yc)
        target = 1e-7 * scale
        W, gap, it = _call(X, om, xm, yc, v, alphas * ratio, alphas * (1 - ratio), np.zeros(p), target,
                           positive=positive)
        assert np.all(it < 10_000)
        for k, a in enumerate(alphas):
            g = _gap(X, om, xm, yc, W[k], a * ratio, a * (1 - ratio), v, positive)
            # the kernel keeps the best dual value seen: its gap is at most the one at the final point
            assert gap[k] <= target and g >= gap[k] - 1e-12 * scale
            assert g <= 20 * target                   # the final point's own gap is of the same order
            assert W[k, 5] == 0.0
            if positive:
                assert np.all(W[k] >= 0)
        assert np.count_nonzero(W[0]) == 0 and np.count_nonzero(W[-1]) > 6


@pytest.mark.parametrize("positive", [False, True])
def test_equals_scikit_learn_elastic_net_with_weights_and_intercept(positive):
    from sklearn.linear_model import ElasticNet

    rng = np.random.default_rng(1)
    with enable_x64():
        X, y, s, om, xm, yc = _problem(rng)
        p = X.shape[1]
        alpha, ratio = 0.05, 0.7
        W, gap, _ = _call(X, om, xm, yc, np.ones(p), [alpha * ratio], [alpha * (1 - ratio)], np.zeros(p),
                          1e-14 * np.sum(om * yc * yc), positive=positive)
        sk = ElasticNet(alpha=alpha, l1_ratio=ratio, tol=1e-14, max_iter=100_000, positive=positive)
        sk.fit(X, y, sample_weight=s)
        np.testing.assert_allclose(W[0], sk.coef_, atol=1e-8)
        np.testing.assert_allclose(om @ y - xm @ W[0], sk.intercept_, atol=1e-8)


def test_ridge_without_l1_equals_the_closed_form():
    rng = np.random.default_rng(2)
    with enable_x64():
        X, y, s, om, xm, yc = _problem(rng, n=40, p=25)
        p = X.shape[1]
        lam = 0.3
        W, gap, _ = _call(X, om, xm, yc, np.ones(p), [0.0], [lam], np.zeros(p), 1e-14 * np.sum(om * yc * yc))
        Xc = X - xm
        H = Xc.T @ (om[:, None] * Xc) + lam * np.eye(p)
        exact = np.linalg.solve(H, Xc.T @ (om * yc))
        g = _gap(X, om, xm, yc, W[0], 0.0, lam, np.ones(p), False)
        assert gap[0] <= 1e-14 * np.sum(om * yc * yc) and g <= 1e-12
        # strong convexity: |w - w*|^2 <= 2 gap / lambda_min(H)
        assert np.sum((W[0] - exact) ** 2) <= 2 * g / np.linalg.eigvalsh(H)[0] * (1 + 1e-6) + 1e-24


def test_rows_without_weight_change_nothing():
    # interleaved weight-0 rows (a cross-validation fold as a mask: solved on a compact copy) and
    # trailing padding rows: the same solution as the problem with those rows removed
    rng = np.random.default_rng(3)
    with enable_x64():
        X, y, s, om, xm, yc = _problem(rng, n=80)
        keep = rng.random(80) < 0.7
        p = X.shape[1]
        grid = np.geomspace(0.5, 0.01, 8)
        target = 1e-9 * np.sum(om[keep] / om[keep].sum() * yc[keep] ** 2)

        def solve(Xa, oma, yca):
            oma = oma / oma.sum()
            xma = oma @ Xa
            yca = yca - oma @ yca
            return _call(Xa, oma, xma, yca, np.ones(p), grid, 0 * grid, np.zeros(p), target)

        ref = solve(X[keep], om[keep], yc[keep])
        masked = solve(X, np.where(keep, om, 0.0), yc)
        pad = np.zeros(24)
        padded = solve(np.vstack([X[keep], np.zeros((24, p))]), np.r_[om[keep], pad], np.r_[yc[keep], pad])
        for other in (masked, padded):
            # the same problem up to the rounding of its weighted means: solutions within the tolerance
            np.testing.assert_allclose(other[0], ref[0], atol=1e-6)
            assert np.all(other[1] <= target)


def test_a_batch_equals_its_problems_one_by_one():
    rng = np.random.default_rng(4)
    with enable_x64():
        X, y, s, om, xm, yc = _problem(rng)
        n, p = X.shape
        B = 5
        OM = rng.random((B, n)) * (rng.random((B, n)) < 0.8)
        OM /= OM.sum(1, keepdims=True)
        XM = OM @ X
        YC = np.stack([y - o @ y for o in OM])
        L1 = np.geomspace(0.4, 0.01, 6)[None] * (1 + np.arange(B))[:, None] / B
        f = jax.jit(lambda *a: native.cd_path(*a, 5000))
        W, gap, it = (np.asarray(a) for a in f(np.ascontiguousarray(X.T), XM, OM, YC, np.ones((B, p)), L1,
                                              np.zeros_like(L1), np.zeros((B, p)), np.full(B, 1e-8)))
        for b in range(B):
            Wb, gb, ib = _call(X, OM[b], XM[b], YC[b], np.ones(p), L1[b], 0 * L1[b], np.zeros(p), 1e-8,
                               max_iter=5000)
            np.testing.assert_array_equal(W[b], Wb)     # threads do not change a problem's arithmetic
            np.testing.assert_array_equal(gap[b], gb)
            np.testing.assert_array_equal(it[b], ib)


def test_float32_and_the_iteration_cap():
    rng = np.random.default_rng(5)
    X, y, s, om, xm, yc = _problem(rng)
    p = X.shape[1]
    scale = float(np.sum(om * yc * yc))
    W, gap, it = _call(X, om, xm, yc, np.ones(p), [0.02], [0.0], np.zeros(p), 1e-4 * scale, dtype=np.float32)
    assert W.dtype == np.float32 and gap[0] <= 1e-4 * scale
    with enable_x64():
        assert _gap(X, om, xm, yc, W[0].astype(np.float64), 0.02, 0.0, np.ones(p), False) <= 2e-4 * scale
        # a cap hit: the epochs stop there and the reported gap stays above the target
        W, gap, it = _call(X, om, xm, yc, np.ones(p), [0.002], [0.0], np.zeros(p), 1e-14 * scale, max_iter=7)
        assert it[0] <= 7 and gap[0] > 1e-14 * scale
        assert gap[0] <= _gap(X, om, xm, yc, W[0], 0.002, 0.0, np.ones(p), False) + 1e-12


def test_bad_arguments_are_named_errors():
    with enable_x64():
        XT = jnp.zeros((6, 4))
        ok = dict(xm=jnp.zeros((1, 6)), om=jnp.full((1, 4), 0.25), yc=jnp.zeros((1, 4)), v=jnp.ones((1, 6)),
                  l1=jnp.ones((1, 3)), l2=jnp.zeros((1, 3)), w0=jnp.zeros((1, 6)), target=jnp.zeros((1,)))
        with pytest.raises(ValueError, match="l1 must be 2-D"):
            native.cd_path(XT, **{**ok, "l1": jnp.ones(3)}, max_iter=5)
        with pytest.raises(ValueError, match="om must have shape"):
            native.cd_path(XT, **{**ok, "om": jnp.ones((1, 5))}, max_iter=5)
        with pytest.raises(ValueError, match="XT must be 2-D"):
            native.cd_path(jnp.zeros(6), **ok, max_iter=5)
        with pytest.raises(TypeError, match="float32 or float64"):
            native.cd_path(XT.astype(jnp.int32), **ok, max_iter=5)


def test_predicted_starts_through_sign_changes_and_long_grids():
    """From the third grid point the kernel starts from the last two solutions extrapolated: on a
    correlated design whose path has coefficients leaving the support (their extrapolation crosses
    zero and is set to zero by the prediction), every
    point of a long grid is certified and within its target of scikit-learn's lasso_path solved
    tightly."""
    from sklearn.linear_model import lasso_path

    rng = np.random.default_rng(7)
    n, p = 40, 60
    C = 0.9 ** np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
    X = rng.standard_normal((n, p)) @ np.linalg.cholesky(C).T
    w_true = np.zeros(p)
    w_true[[3, 4, 10, 11]] = [2.0, -1.8, 1.0, -1.2]
    y = X @ w_true + 0.5 * rng.standard_normal(n)
    with enable_x64():
        om = np.full(n, 1 / n)
        xm = om @ X
        yc = y - om @ y
        amax = np.max(np.abs((X - xm).T @ (om * yc)))
        alphas = np.geomspace(amax, amax * 1e-4, 60)
        scale = np.sum(om * yc * yc)
        target = 1e-11 * scale
        W, gap, it = _call(X, om, xm, yc, np.ones(p), alphas, np.zeros_like(alphas), np.zeros(p), target)
        assert np.all(it < 10_000) and np.all(gap <= target)
        leaves = (W[:-1] != 0) & (W[1:] == 0)   # a coefficient the prediction drives through zero
        assert leaves.any(), "the test wants a path on which coefficients leave the support"
        # each point's certificate is P(final point) - the best dual value seen at that grid point, so
        # the final point is within the target of the optimum: checked against scikit-learn's path at
        # tol 1e-14. (The residual dual of the final point alone can be much weaker - 3e4 x the target
        # at one point here, seed 7: the dual gap is first order in the KKT violation, the primal
        # suboptimality second order - which is why the kernels keep the best dual point.)
        _, sk, _ = lasso_path(X - xm, yc, alphas=alphas, tol=1e-14, max_iter=1_000_000)
        obj = lambda w, a: 0.5 * np.mean((yc - (X - xm) @ w) ** 2) + a * np.abs(w).sum()  # noqa: E731
        for k, a in enumerate(alphas):
            assert obj(W[k], a) <= obj(sk[:, k], a) + target
