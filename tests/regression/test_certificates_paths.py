"""Certificate validity (independent numpy gap, seeded bug), paths and CV against scikit-learn."""

import numpy as np
import pytest
from sklearn.linear_model import LassoCV as SkLassoCV
from sklearn.linear_model import enet_path as sk_enet_path
from sklearn.linear_model import lasso_path as sk_lasso_path
from sklearn.model_selection import KFold

from sparsestat.linalg import enable_x64
from sparsestat.regression import L1, LassoCV, ElasticNetCV, Quadratic, certify, enet_path, lasso_path, solve
from sparsestat.regression import datafits as datafit_mod  # the conjugates (dual points) live with the datafits
from sparsestat.regression.cv import cv_mse_path

from ._data import alpha_max, numpy_gap, problem, weights


def _pstar(X, y, a, sw=None):
    r = solve(X, y, Quadratic(), L1(a), tol=1e-15, max_iter=100000, sample_weight=sw)
    return numpy_gap(X, y, np.asarray(r.coef), a, sw=sw)[1]


@pytest.mark.parametrize("weighted", [False, True])
def test_gap_is_a_true_bound_and_matches_numpy(weighted, x64):
    X, y, _ = problem(40, 60, seed=11)
    sw = weights(40) if weighted else None
    a = 0.1 * alpha_max(X, y, True, sw)
    Pstar = _pstar(X, y, a, sw)
    for max_iter in (5, 10, 20, 1000):
        r = solve(X, y, Quadratic(), L1(a), tol=1e-10, max_iter=max_iter, sample_weight=sw)
        w = np.asarray(r.coef)
        g_np, P, D = numpy_gap(X, y, w, a, sw=sw)
        gap = float(r.gap)
        assert gap >= P - Pstar - 1e-13  # upper bound on suboptimality
        assert gap <= g_np + 1e-13  # best dual point is at least as good as the residual one
        c = certify(X, y, w, float(r.intercept), Quadratic(), L1(a), sample_weight=sw, fit_intercept=True)
        np.testing.assert_allclose(float(c.gap), g_np, rtol=1e-9, atol=1e-14)
    # dual feasibility of the rescaled point
    Xc, yc = X - np.average(X, axis=0, weights=sw), y - np.average(y, weights=sw)
    s = np.ones(40) if sw is None else sw
    r_ = yc - Xc @ w
    c_ = min(1.0, a / np.max(np.abs(Xc.T @ (s * r_) / s.sum())))
    assert np.max(np.abs(Xc.T @ (s * c_ * r_) / s.sum())) <= a * (1 + 1e-12)


def test_seeded_bug_unscaled_dual_point_is_caught(monkeypatch, x64):
    """If the dual point is not rescaled into the feasible set, the 'gap' can fall below the true
    suboptimality; the bound check above must then fail."""
    X, y, _ = problem(40, 60, seed=11)
    a = 0.1 * alpha_max(X, y, True)
    Pstar = _pstar(X, y, a)
    monkeypatch.setattr(datafit_mod, "_dual_scale", lambda corr, w, pen: (1.0, pen.l1_l2(w.dtype)[1]))
    w = np.zeros(60)
    c = certify(X, y, w, 0.0, Quadratic(), L1(a), fit_intercept=True)
    P = numpy_gap(X, y, w, a)[1]
    assert not float(c.gap) >= P - Pstar  # the buggy certificate violates the bound


def test_lasso_enet_path_vs_sklearn():
    X, y, _ = problem(40, 60, seed=12)
    Xc, yc = X - X.mean(0), y - y.mean()
    alphas, coefs, gaps, iters = lasso_path(Xc, yc, alphas=8, tol=1e-12, return_n_iter=True)
    assert np.all(np.diff(alphas) < 0) and coefs.shape == (60, 8) and iters.shape == (8,)
    a2, c2, _ = sk_lasso_path(Xc, yc, alphas=alphas, tol=1e-13, max_iter=100000)
    np.testing.assert_allclose(coefs, c2, atol=1e-7)
    alphas, coefs, _ = enet_path(Xc, yc, l1_ratio=0.5, alphas=alphas[:4], tol=1e-12)
    _, c3, _ = sk_enet_path(Xc, yc, l1_ratio=0.5, alphas=alphas, tol=1e-13, max_iter=100000)
    np.testing.assert_allclose(coefs, c3, atol=1e-7)


def test_lassocv_vs_sklearn_and_batched_folds_equal_loop():
    X, y, _ = problem(40, 60, seed=13)
    ours = LassoCV(alphas=6, eps=1e-2, tol=1e-12, cv=5, max_iter=100000).fit(X, y)
    peer = SkLassoCV(alphas=6, eps=1e-2, tol=1e-13, cv=KFold(5), max_iter=200000).fit(X, y)
    np.testing.assert_allclose(ours.alphas_, peer.alphas_, rtol=1e-12)
    np.testing.assert_allclose(ours.mse_path_, peer.mse_path_, rtol=1e-6)
    assert ours.alpha_ == pytest.approx(peer.alpha_, rel=1e-12)
    assert ours.alpha_1se_ >= ours.alpha_
    folds = list(KFold(5).split(X))
    loop = cv_mse_path(X, y, ours.alphas_, folds, tol=1e-12, max_iter=100000, batched=False)
    np.testing.assert_allclose(ours.mse_path_, loop, rtol=1e-8)


def test_enetcv_l1_ratio_grid():
    from sklearn.linear_model import ElasticNetCV as SkENetCV

    X, y, _ = problem(40, 60, seed=14)
    ours = ElasticNetCV(l1_ratio=[0.5, 0.9], alphas=4, eps=1e-2, tol=1e-12, cv=3, max_iter=100000).fit(X, y)
    peer = SkENetCV(l1_ratio=[0.5, 0.9], alphas=4, eps=1e-2, tol=1e-13, cv=KFold(3), max_iter=200000).fit(X, y)
    assert ours.mse_path_.shape == (2, 4, 3)
    np.testing.assert_allclose(ours.mse_path_, peer.mse_path_, rtol=1e-6)
    assert ours.l1_ratio_ == peer.l1_ratio_ and ours.alpha_ == pytest.approx(peer.alpha_, rel=1e-12)
