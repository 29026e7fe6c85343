"""The native L1-logistic solver (sparsestat.linalg.native.logreg_path): every grid point certified by a
duality gap recomputed here in numpy from its definition, solutions equal to scikit-learn's
LogisticRegression (liblinear, L1) solved tightly, with and without intercept, sample weights, the
positive constraint, weight-0 padding rows and empty columns that change nothing, a batch equal to its
problems solved one by one (bitwise), float32, the iteration cap, named errors."""

import os

import jax
import numpy as np
import pytest

from sparsestat.linalg import enable_x64, native

pytestmark = pytest.mark.skipif(os.environ.get("SPARSESTAT_NATIVE", "1") == "0",
                                reason="native kernels disabled by SPARSESTAT_NATIVE=0")


def _problem(rng, n=80, p=120, weights=True):
    X = rng.standard_normal((n, p))
    X[:, 7] = 0.0                       # an empty column never enters the model
    w_true = np.zeros(p)
    w_true[:5] = [2.0, -1.5, 1.0, 0.8, -0.6]
    z = X @ w_true + 0.5
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-z)), 1.0, -1.0)
    s = rng.random(n) + 0.2 if weights else np.ones(n)
    return X, y, s / s.sum()


def _loss(z, y, om):
    return np.sum(om * np.logaddexp(0.0, -y * z))


def _gap(X, y, om, w, b, l1, intercept, positive=False):
    """P - D of the L1 logistic problem at (w, b): the entropy dual at u = sigmoid(-y z), rebalanced so that
    sum om y u = 0 with an intercept, rescaled into the l1 ball; written out from the definition."""
    z = X @ w + b
    u = 1 / (1 + np.exp(y * z))
    if intercept:
        pos, neg = np.sum(om * u * (y > 0)), np.sum(om * u * (y < 0))
        u = u * np.where(y > 0, min(1.0, neg / pos), min(1.0, pos / neg))
    corr = X.T @ (om * y * u)
    dn = np.max(corr) if positive else np.max(np.abs(corr))
    c = min(1.0, l1 / dn)
    a = c * u
    ent = np.sum(om * (np.where(a > 0, a * np.log(np.where(a > 0, a, 1)), 0)
                       + np.where(a < 1, (1 - a) * np.log(np.where(a < 1, 1 - a, 1)), 0)))
    return _loss(z, y, om) + l1 * np.sum(np.abs(w)) + ent


def _call(X, y, om, l1, w0, b0, target, max_iter=10_000, positive=False, intercept=True, dtype=np.float64):
    c = lambda a: np.asarray(a, dtype)[None]  # noqa: E731
    f = jax.jit(lambda *a: native.logreg_path(*a, max_iter, positive=positive, fit_intercept=intercept))
    W, b, gap, it = f(np.ascontiguousarray(X.T, dtype), c(om), c(y), c(l1), c(w0), np.asarray([b0], dtype),
                      np.asarray([target], dtype))
    return np.asarray(W[0]), np.asarray(b[0]), np.asarray(gap[0]), np.asarray(it[0])


def _null_intercept(y, om):
    f = np.sum(om * (y > 0))
    return np.log(f) - np.log1p(-f)


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("positive", [False, True])
def test_every_grid_point_is_certified(intercept, positive):
    rng = np.random.default_rng(0)
    with enable_x64():
        X, y, om = _problem(rng)
        p = X.shape[1]
        b0 = _null_intercept(y, om) if intercept else 0.0
        u0 = 1 / (1 + np.exp(y * b0))
        amax = np.max(np.abs(X.T @ (om * y * u0)))
        alphas = np.geomspace(amax, amax / 50, 10)
        scale = _loss(np.full(len(y), b0), y, om)
        target = 1e-8 * scale
        W, b, gap, it = _call(X, y, om, alphas, np.zeros(p), b0, target, positive=positive, intercept=intercept)
        assert np.all(it < 10_000)
        for k, a in enumerate(alphas):
            g = _gap(X, y, om, W[k], b[k], a, intercept, positive)
            # the kernel keeps the best dual value seen: its gap is at most the final point's
            assert gap[k] <= target and g >= gap[k] - 1e-12
            assert g <= 50 * target
            assert W[k, 7] == 0.0
            if positive:
                assert np.all(W[k] >= 0)
            if not intercept:
                assert b[k] == 0.0
        assert np.count_nonzero(W[-1]) > np.count_nonzero(W[1])


@pytest.mark.parametrize("intercept", [True, False])
def test_equals_scikit_learn_liblinear(intercept):
    """scikit-learn's L1 LogisticRegression (liblinear, tol 1e-10) minimises C sum_i loss_i + |w|_1 (the
    intercept penalised unless intercept_scaling is large): without weights, alpha = 1 / (n C)."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    with enable_x64():
        X, y, om = _problem(rng, weights=False)
        n, p = X.shape
        alpha = 0.02
        b0 = _null_intercept(y, om) if intercept else 0.0
        W, b, gap, it = _call(X, y, om, [alpha], np.zeros(p), b0, 1e-13, intercept=intercept)
        sk = LogisticRegression(l1_ratio=1.0, solver="liblinear", C=1 / (n * alpha), tol=1e-10, max_iter=100_000,
                                fit_intercept=intercept, intercept_scaling=1e6).fit(X, y)
        obj = lambda w, c: _loss(X @ w + c, y, om) + alpha * np.sum(np.abs(w))  # noqa: E731
        ours, theirs = obj(W[0], b[0]), obj(sk.coef_[0], sk.intercept_[0] if intercept else 0.0)
        assert ours <= theirs + 1e-10
        assert abs(ours - theirs) <= 1e-7 * theirs
        np.testing.assert_allclose(W[0], sk.coef_[0], atol=2e-4)


def test_padding_rows_and_warm_start():
    """Weight-0 rows (padding, at the end or inside) change nothing; a warm start at the solution of
    one grid point certifies at once."""
    rng = np.random.default_rng(2)
    with enable_x64():
        X, y, om = _problem(rng)
        n, p = X.shape
        b0 = _null_intercept(y, om)
        a = [0.01]
        W, b, gap, it = _call(X, y, om, a, np.zeros(p), b0, 1e-10)
        Xp = np.vstack([X, rng.standard_normal((7, p))])
        yp = np.concatenate([y, np.ones(7)])
        omp = np.concatenate([om, np.zeros(7)])
        W2, b2, gap2, _ = _call(Xp, yp, omp, a, np.zeros(p), b0, 1e-10)
        np.testing.assert_array_equal(W2, W)
        assert b2[0] == b[0]
        W3, b3, gap3, it3 = _call(X, y, om, a, W[0], b[0], 1e-10)
        assert it3[0] <= 5 and gap3[0] <= 1e-10
        np.testing.assert_allclose(W3, W, atol=1e-8)


def test_batch_equals_problems_one_by_one():
    rng = np.random.default_rng(3)
    with enable_x64():
        X, y, om = _problem(rng)
        p = X.shape[1]
        ys = np.stack([y, -y, np.where(rng.random(len(y)) < 0.5, 1.0, -1.0)])
        oms = np.stack([om, np.full(len(y), 1 / len(y)), om[::-1] / om.sum()])
        l1 = np.array([[0.05, 0.01], [0.04, 0.02], [0.03, 0.005]])
        b0 = np.array([_null_intercept(ys[k], oms[k]) for k in range(3)])
        f = jax.jit(lambda *a: native.logreg_path(*a, 10_000, fit_intercept=True))
        out = f(np.ascontiguousarray(X.T), oms, ys, l1, np.zeros((3, p)), b0, np.full(3, 1e-10))
        for k in range(3):
            one = _call(X, ys[k], oms[k], l1[k], np.zeros(p), b0[k], 1e-10)
            for got, want in zip(out, one):
                np.testing.assert_array_equal(np.asarray(got[k]), want)


def test_float32_and_the_cap():
    rng = np.random.default_rng(4)
    X, y, om = _problem(rng)
    p = X.shape[1]
    b0 = _null_intercept(y, om)
    W, b, gap, it = _call(X, y, om, [0.01], np.zeros(p), b0, 1e-5, dtype=np.float32)
    assert W.dtype == np.float32 and gap[0] <= 1e-5
    with enable_x64():
        g = _gap(X, y, om, W[0].astype(np.float64), float(b[0]), 0.01, True)
    assert g <= 1e-4
    with enable_x64():
        W, b, gap, it = _call(X, y, om, [0.001], np.zeros(p), b0, 1e-14, max_iter=7)
    assert it[0] <= 7 and gap[0] > 1e-14


def test_named_errors():
    with enable_x64(), pytest.raises(ValueError, match="XT must be 2-D"):
        native.logreg_path(np.ones(3), np.ones((1, 3)), np.ones((1, 3)), np.ones((1, 1)), np.zeros((1, 1)),
                           np.zeros(1), np.ones(1), 10)
    with enable_x64(), pytest.raises(ValueError, match="y must have shape"):
        native.logreg_path(np.ones((2, 3)), np.ones((1, 3)), np.ones((1, 4)), np.ones((1, 1)), np.zeros((1, 2)),
                           np.zeros(1), np.ones(1), 10)
