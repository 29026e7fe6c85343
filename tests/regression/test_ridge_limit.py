"""The ridge limit of the elastic net (l1_ratio = 0 and tiny l1_ratio): solved exactly, certified by a
dual that accounts for the l2 term, no false ConvergenceWarning (issue 22). Compared with scikit-learn's
Ridge (a closed-form solve) and with the elastic net's own optimality conditions."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold

from sparsestat.regression import ElasticNet, ElasticNetCV, L1L2, Quadratic, certify, enet_path

from ._data import problem


def _fit_quietly(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning (or any other) fails the test
        return est.fit(X, y)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_l1_ratio_zero_is_ridge(fit_intercept):
    """ElasticNet(alpha, l1_ratio=0) minimises 1/(2n)|r|^2 + alpha/2 |w|^2 = Ridge(alpha n): same
    coefficients (before the fix 36 of 100 stayed at exactly 0, up to 18.2 away), converged well
    before max_iter, certificate <= tol ||y_c||^2 / n."""
    X, y, _ = problem(60, 100, seed=3)
    n = len(y)
    alpha = 0.3
    m = _fit_quietly(ElasticNet(alpha=alpha, l1_ratio=0.0, fit_intercept=fit_intercept), X, y)
    r = Ridge(alpha=alpha * n, fit_intercept=fit_intercept, solver="cholesky").fit(X, y)
    # a direct (Cholesky) solve on both sides: equal to rounding
    np.testing.assert_allclose(m.coef_, r.coef_, rtol=0, atol=1e-10 * np.abs(r.coef_).max())
    assert abs(m.intercept_ - r.intercept_) <= 1e-10 * max(1.0, abs(r.intercept_))
    assert np.count_nonzero(m.coef_) == X.shape[1]
    assert m.converged_ and m.n_iter_ < m.max_iter
    yc = y - y.mean() if fit_intercept else y
    assert 0 <= m.dual_gap_ + 1e-14 and m.dual_gap_ <= m.tol * np.mean(yc * yc)


def test_ridge_certificate_closes_at_the_closed_form():
    """certify() of the closed-form ridge solution: the gap is rounding-level (the scikit-learn dual
    alone would report the whole primal: its l1 ball has radius 0)."""
    X, y, _ = problem(60, 100, seed=3)
    n = len(y)
    alpha = 0.3
    r = Ridge(alpha=alpha * n, fit_intercept=True, solver="cholesky").fit(X, y)
    c = certify(X, y, r.coef_, r.intercept_, Quadratic(), L1L2(alpha, 0.0), fit_intercept=True)
    assert float(c.primal) > 0.1
    assert abs(float(c.gap)) <= 1e-10 * float(c.primal)


@pytest.mark.parametrize("l1_ratio", [1e-8, 1e-3])
def test_tiny_l1_ratio_converges_and_is_optimal(l1_ratio):
    """Near the ridge limit the fit converges without warning and satisfies the elastic net's
    optimality conditions: |x_j^T r / n - l2 w_j| <= l1 (= l1 sign(w_j) on the support)."""
    X, y, _ = problem(60, 100, seed=3)
    n = len(y)
    alpha = 0.3
    m = _fit_quietly(ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-10, max_iter=5000), X, y)
    l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
    Xc, yc = X - X.mean(0), y - y.mean()
    g = Xc.T @ (yc - Xc @ m.coef_) / n - l2 * m.coef_
    on = m.coef_ != 0
    scale = np.abs(Xc.T @ yc).max() / n
    assert np.all(np.abs(g[~on]) <= l1 + 1e-6 * scale)
    np.testing.assert_allclose(g[on], l1 * np.sign(m.coef_[on]), rtol=0, atol=1e-6 * scale)


def test_enet_path_ridge_needs_alphas_and_matches_ridge():
    X, y, _ = problem(60, 100, seed=3)
    n = len(y)
    Xc, yc = X - X.mean(0), y - y.mean()
    with pytest.raises(ValueError, match="l1_ratio=0"):
        enet_path(Xc, yc, l1_ratio=0.0)
    alphas, coefs, gaps = enet_path(Xc, yc, l1_ratio=0.0, alphas=[1.0, 0.3, 0.1], tol=1e-12)
    for k, a in enumerate(alphas):
        ref = Ridge(alpha=a * n, fit_intercept=False, solver="cholesky").fit(Xc, yc).coef_
        np.testing.assert_allclose(coefs[:, k], ref, rtol=0, atol=1e-6 * np.abs(ref).max())
    assert np.all(gaps <= 1e-12 * np.mean(yc * yc))


def test_elastic_net_cv_ridge_with_alphas():
    """ElasticNetCV(l1_ratio=0) with a grid: the fold errors are those of Ridge (closed form) and the
    refit is Ridge at the chosen alpha; without a grid it refuses (no alpha_max exists)."""
    X, y, _ = problem(60, 100, seed=3)
    n = len(y)
    cv = KFold(3)
    grid = np.array([3.0, 1.0, 0.3, 0.1])
    # tol 1e-14: at n_train = 40 < p = 100 the small alphas leave flat directions (curvature ~ alpha),
    # along which a solution certified at gap <= tol moves by ~ sqrt(2 gap / alpha): at the default 1e-6
    # the held-out errors moved by up to 2e-3 (relative), at 1e-12 by 1.4e-6, at 1e-14 within the 1e-6
    # compared below
    m = _fit_quietly(ElasticNetCV(l1_ratio=0.0, alphas=grid, cv=cv, tol=1e-14), X, y)
    ref = np.empty((len(grid), 3))
    for k, (tr, te) in enumerate(cv.split(X)):
        for i, a in enumerate(grid):
            r = Ridge(alpha=a * len(tr), solver="cholesky").fit(X[tr], y[tr])
            ref[i, k] = np.mean((y[te] - r.predict(X[te])) ** 2)
    np.testing.assert_allclose(m.mse_path_, ref, rtol=1e-6)
    assert m.alpha_ == grid[np.argmin(ref.mean(axis=1))]
    r = Ridge(alpha=m.alpha_ * n, solver="cholesky").fit(X, y)
    np.testing.assert_allclose(m.coef_, r.coef_, rtol=0, atol=1e-6 * np.abs(r.coef_).max())
    with pytest.raises(ValueError, match="l1_ratio=0"):
        ElasticNetCV(l1_ratio=0.0, cv=cv).fit(X, y)
