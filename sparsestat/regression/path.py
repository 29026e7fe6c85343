"""Regularisation paths ``lasso_path`` / ``enet_path`` (scikit-learn's signature and conventions: no
intercept - centre beforehand -, alphas decreasing, warm starts along the path)."""

from __future__ import annotations

import numpy as np

from .._validation import check_array_arg, check_in_interval, check_int, check_positive
from ..linalg.cache import compiled_entry
from ..linalg.precision import enable_x64
from .datafits import Quadratic
from .penalties import L1, L1L2

__all__ = ["lasso_path", "enet_path", "alpha_grid"]


def alpha_grid(X, y, *, l1_ratio=1.0, eps=1e-3, n_alphas=100, fit_intercept=False, sample_weight=None,
               positive=False):
    """scikit-learn's grid: geomspace(alpha_max, eps alpha_max, n_alphas), alpha_max =
    max_j |x_cj^T (s (y - ybar))| / (sum(s) l1_ratio) (max over targets for 2-D y)."""
    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    Y = y if y.ndim == 2 else y[:, None]
    if fit_intercept:
        xm = s @ X / s.sum()
        ym = s @ Y / s.sum()
        Xy = (X - xm).T @ (s[:, None] * (Y - ym))
    else:
        Xy = X.T @ (s[:, None] * Y)
    Xy = Xy / s.sum()
    amax = (Xy.max() if positive else np.abs(Xy).max()) / max(l1_ratio, 1e-3)
    if amax <= np.finfo(float).resolution:
        return np.full(n_alphas, np.finfo(float).resolution)
    return np.geomspace(amax, amax * eps, num=n_alphas)


def _resolve_alphas(X, y, alphas, eps, l1_ratio, positive, n_alphas_default=100):
    if alphas is None or isinstance(alphas, (int, np.integer)):
        n_alphas = n_alphas_default if alphas is None else check_int(alphas, "alphas", lower=1)
        return alpha_grid(X, y, l1_ratio=l1_ratio, eps=eps, n_alphas=n_alphas, positive=positive)
    a = check_array_arg(alphas, "alphas", ndim=1)
    if np.any(a < 0):
        raise ValueError("alphas must be non-negative")
    return np.sort(a)[::-1]


@compiled_entry
def enet_path(X, y, *, l1_ratio=0.5, eps=1e-3, alphas=None, coef_init=None, positive=False, tol=1e-6,
              max_iter=1000, return_n_iter=False, sample_weight=None, solver="auto"):
    """Elastic-net path by working-set coordinate descent with warm starts, the whole grid as one
    compiled program (:func:`~sparsestat.regression.solve_path.solve_path`).

    Parameters
    ----------
    X : array (n_samples, n_features)
    y : array (n_samples,) or (n_samples, n_targets)
    l1_ratio : float in (0, 1]
    eps : float > 0
        alpha_min / alpha_max when the grid is built here.
    alphas : None, int or array
        None -> 100 values, int -> that many values on scikit-learn's log grid, array -> used (sorted
        decreasing).
    coef_init : array (n_features,), optional
        Warm start at the first alpha.
    positive : bool
    tol, max_iter : as :class:`Lasso` (per alpha)
    return_n_iter : bool

    Returns
    -------
    alphas : (n_alphas,)
    coefs : (n_features, n_alphas) or (n_targets, n_features, n_alphas)
    dual_gaps : (n_alphas,) or (n_targets, n_alphas), objective units
    n_iters : (n_alphas,) or (n_targets, n_alphas), if ``return_n_iter``
    """
    from ._problem import design
    from .solve_path import solve_path

    X = check_array_arg(X, "X", ndim=2, dtype=np.float64)
    y = check_array_arg(y, "y", ndim=(1, 2), dtype=np.float64)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y have inconsistent numbers of samples: {X.shape[0]} and {y.shape[0]}")
    l1_ratio = check_in_interval(l1_ratio, "l1_ratio", 0.0, 1.0, closed="right")
    check_positive(eps, "eps")
    check_positive(tol, "tol")
    check_int(max_iter, "max_iter", lower=1)
    alphas = _resolve_alphas(X, y, alphas, eps, l1_ratio, positive)
    Y = y[None, :] if y.ndim == 1 else y.T
    T, p = Y.shape[0], X.shape[1]
    W = None if coef_init is None else np.broadcast_to(
        check_array_arg(coef_init, "coef_init", shape=(p,), dtype=np.float64), (T, p))
    sw = None if sample_weight is None else np.asarray(sample_weight, float)[None]
    pens = [L1(float(a), None, bool(positive)) if l1_ratio == 1.0 else L1L2(float(a), float(l1_ratio), None,
                                                                            bool(positive)) for a in alphas]
    with enable_x64():
        Xs = design(X) if solver in ("auto", "ws_cd") else X  # one device copy for the whole path
        res = solve_path(Xs, Y, Quadratic(), pens, solver=solver, tol=tol, max_iter=max_iter, W0=W,
                         sample_weights=sw, fit_intercept=False)
    coefs = np.moveaxis(np.asarray(res.coef, np.float64), 0, -1)      # (T, p, A)
    gaps = np.asarray(res.gap, np.float64).T
    iters = np.asarray(res.n_iter, np.int64).T
    if y.ndim == 1:
        coefs, gaps, iters = coefs[0], gaps[0], iters[0]
    if return_n_iter:
        return alphas, coefs, gaps, iters
    return alphas, coefs, gaps


@compiled_entry
def lasso_path(X, y, *, eps=1e-3, alphas=None, coef_init=None, positive=False, tol=1e-6, max_iter=1000,
               return_n_iter=False, sample_weight=None, solver="auto"):
    """Lasso path: :func:`enet_path` with l1_ratio = 1 (same parameters and returns)."""
    return enet_path(X, y, l1_ratio=1.0, eps=eps, alphas=alphas, coef_init=coef_init, positive=positive, tol=tol,
                     max_iter=max_iter, return_n_iter=return_n_iter, sample_weight=sample_weight, solver=solver)
