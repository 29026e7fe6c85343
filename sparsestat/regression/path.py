"""Regularisation paths ``lasso_path`` / ``enet_path`` (scikit-learn's signature and conventions: no
intercept - centre beforehand -, alphas decreasing, warm starts along the path)."""

from __future__ import annotations

import numpy as np

from .._validation import check_array_arg, check_in_interval, check_int, check_nonnegative, check_positive, check_weights
from ..linalg.cache import compiled_entry
from ..linalg.precision import enable_x64
from ._base import check_input_layout
from .datafits import Quadratic
from .penalties import L1, L1L2
from .sparse_design import as_csc, is_sparse

__all__ = ["lasso_path", "enet_path", "alpha_grid"]


def alpha_grid(X, y, *, l1_ratio=1.0, eps=1e-3, n_alphas=100, fit_intercept=False, sample_weight=None,
               positive=False):
    """scikit-learn's grid: geomspace(alpha_max, eps alpha_max, n_alphas), alpha_max =
    max_j |x_cj^T (s (y - ybar))| / (sum(s) l1_ratio) (max over targets for 2-D y)."""
    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    Y = y if y.ndim == 2 else y[:, None]
    if fit_intercept:   # X_c^T (s (Y - ym)) = X^T (s (Y - ym)): the weighted residuals sum to 0
        ym = s @ Y / s.sum()
        V = s[:, None] * (Y - ym)
        Xy = np.asarray(X.T @ V) - np.outer(np.asarray(X.T @ s) / s.sum(), V.sum(axis=0))
    else:
        Xy = np.asarray(X.T @ (s[:, None] * Y))
    Xy = Xy / s.sum()
    if l1_ratio <= 0:
        raise ValueError("Automatic alpha grid generation is not supported for l1_ratio=0. Please supply a "
                         "grid by providing your estimator with the appropriate `alphas=` argument.")
    amax = (Xy.max() if positive else np.abs(Xy).max()) / l1_ratio
    if amax <= np.finfo(float).resolution:
        return np.full(n_alphas, np.finfo(float).resolution)
    return np.geomspace(amax, amax * eps, num=n_alphas)


def _resolve_alphas(X, y, alphas, eps, l1_ratio, positive, n_alphas_default=100):
    if alphas is None or isinstance(alphas, (int, np.integer)):
        n_alphas = n_alphas_default if alphas is None else check_int(alphas, "alphas", lower=1)
        return alpha_grid(X, y, l1_ratio=l1_ratio, eps=eps, n_alphas=n_alphas, positive=positive)
    a = _check_alphas(alphas)
    return np.sort(a)[::-1]


def _check_alphas(alphas):
    """An explicit grid, with scikit-learn's errors: ``alphas[i] must be an instance of float, not
    str`` (TypeError), ``alphas[i] == -1, must be >= 0.0.`` (ValueError)."""
    from numbers import Real

    vals = list(np.ravel(np.asarray(alphas, dtype=object))) if np.ndim(alphas) else [alphas]
    for i, v in enumerate(vals):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (Real, np.number)):
            raise TypeError(f"alphas[{i}] must be an instance of float, not {type(v).__name__}.")
        if not np.isfinite(v):
            raise ValueError(f"alphas[{i}] == {v}, must be a finite number.")
        if v < 0:
            raise ValueError(f"alphas[{i}] == {v}, must be >= 0.0.")
    return check_array_arg(np.asarray(vals, dtype=np.float64), "alphas", ndim=1)


@compiled_entry
def enet_path(X, y, *, l1_ratio=0.5, eps=1e-3, n_alphas=None, alphas=None, precompute="auto", Xy=None, copy_X=True,
              coef_init=None, verbose=False, return_n_iter=False, positive=False, check_input=True, tol=1e-6,
              max_iter=1000, sample_weight=None, solver="auto"):
    """Elastic-net path by working-set coordinate descent with warm starts, the whole grid as one
    compiled program (:func:`~sparsestat.regression.solve_path.solve_path`).

    Parameters
    ----------
    X : array (n_samples, n_features) or scipy.sparse matrix (never densified)
    y : array (n_samples,) or (n_samples, n_targets)
    l1_ratio : float in [0, 1]
        0 (ridge) needs an explicit ``alphas`` array (no alpha_max exists).
    eps : float > 0
        alpha_min / alpha_max when the grid is built here.
    alphas : None, int or array
        None -> 100 values, int -> that many values on scikit-learn's log grid, array -> used (sorted
        decreasing).
    n_alphas : int, optional
        The grid size under scikit-learn's older name (used when ``alphas`` is None).
    precompute, Xy, copy_X, verbose, check_input : scikit-learn's options, accepted: the solution does
        not depend on them (the solver forms the Gram blocks it needs; X is never modified; the input is
        always checked). ``check_input=False`` keeps scikit-learn's contract: a dense X that its solver
        would read directly (no Gram matrix, no sample weights) must be Fortran-ordered, else a ValueError.
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

    if not check_input and isinstance(precompute, str) and precompute == "auto" and np.ndim(X) == 2:
        precompute = X.shape[0] > X.shape[1]                 # scikit-learn's resolution of "auto"
    check_input_layout(X, check_input, sample_weight, precompute)
    X = as_csc(X) if is_sparse(X) else check_array_arg(X, "X", ndim=2, dtype=np.float64)
    y = check_array_arg(y, "y", ndim=(1, 2), dtype=np.float64)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y have inconsistent numbers of samples: {X.shape[0]} and {y.shape[0]}")
    l1_ratio = check_in_interval(l1_ratio, "l1_ratio", 0.0, 1.0)
    check_positive(eps, "eps")
    check_nonnegative(tol, "tol")
    check_int(max_iter, "max_iter", lower=1)
    if alphas is None and n_alphas is not None:
        alphas = check_int(n_alphas, "n_alphas", lower=1)
    alphas = _resolve_alphas(X, y, alphas, eps, l1_ratio, positive)
    Y = y[None, :] if y.ndim == 1 else y.T
    T, p = Y.shape[0], X.shape[1]
    W = None if coef_init is None else np.broadcast_to(
        check_array_arg(coef_init, "coef_init", shape=(p,), dtype=np.float64), (T, p))
    sw = None if sample_weight is None else check_weights(sample_weight, X.shape[0])[None]
    pens = [L1(float(a), None, bool(positive)) if l1_ratio == 1.0 else L1L2(float(a), float(l1_ratio), None,
                                                                            bool(positive)) for a in alphas]
    with enable_x64():
        Xs = design(X) if solver in ("auto", "native_cd", "ws_cd") else X  # one device copy for the whole path
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
def lasso_path(X, y, *, eps=1e-3, n_alphas=None, alphas=None, precompute="auto", Xy=None, copy_X=True, coef_init=None,
               verbose=False, return_n_iter=False, positive=False, tol=1e-6, max_iter=1000, sample_weight=None,
               solver="auto"):
    """Lasso path: :func:`enet_path` with l1_ratio = 1 (same parameters and returns)."""
    return enet_path(X, y, l1_ratio=1.0, eps=eps, n_alphas=n_alphas, alphas=alphas, precompute=precompute, Xy=Xy,
                     copy_X=copy_X, verbose=verbose, coef_init=coef_init, positive=positive, tol=tol,
                     max_iter=max_iter, return_n_iter=return_n_iter, sample_weight=sample_weight, solver=solver)
