"""``solve_path``: T problems sharing X solved along a sequence of penalties (decreasing
regularisation), each warm-started at the previous solution, as one compiled program.

On CPU, for a dense design, least squares and an l1 / l1l2 penalty (or the logistic loss and an
unweighted l1 penalty), each problem's whole path is one native call
(:mod:`~sparsestat.regression.native_cd`). Elsewhere the working-set solvers run the whole
grid as one ``lax.scan`` (:func:`~sparsestat.regression.working_set.ws_path`):
no host round trip per alpha or per round; the host is re-entered only when a working set outgrows its
bucket (the scan then resumes at that alpha with the next bucket, same program length). Other solvers
(FISTA, IHT) are looped over :func:`~sparsestat.regression.solve.solve_batch`, warm-started the same way.
This is what ``lasso_path`` / ``enet_path`` and the cross-validation estimators run.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from ..linalg.cache import compiled_entry
from ._problem import Problem, design, is_design
from .sparse_design import as_csc, is_sparse
from .datafits import check_pair
from .native_cd import native_path, use_native_fit, use_native_solver
from .solve import _pick_solver, _prepare_batch, solve_batch
from .working_set import bucket_size, first_bucket, ws_path

__all__ = ["solve_path", "PathResult"]


class PathResult(NamedTuple):
    """coef (A, T, p), intercept (A, T), gap (A, T) certificates, n_iter (A, T), converged (A, T); A the
    grid, T the problems. numpy arrays."""

    coef: np.ndarray
    intercept: np.ndarray
    gap: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray


def _stack(penalties, T, p_pad, dtype):
    """The grid as one penalty whose leaves have leading axes (A, T) (host numpy); weights padded."""
    flat = [jax.tree_util.tree_flatten(pen) for pen in penalties]
    treedef = flat[0][1]
    if any(td != treedef for _, td in flat):
        raise ValueError("penalties: every penalty of a path must be of the same kind (type and options)")

    def stacked(vals):   # one leaf over the grid: (A, T, ...)
        v = np.asarray(vals, dtype)
        return np.ascontiguousarray(np.broadcast_to(v[:, None], (v.shape[0], T) + v.shape[1:]))

    grid = jax.tree_util.tree_unflatten(treedef, [stacked(vals) for vals in zip(*(leaves for leaves, _ in flat))])
    w = getattr(grid, "weights", None)
    if w is not None and w.shape[-1] != p_pad:
        grid = grid._replace_weights(np.pad(w, ((0, 0), (0, 0), (0, p_pad - w.shape[-1])), constant_values=1.0))
    return grid


def _one_weighting(grid) -> bool:
    """The grid's per-feature penalty factors are the same at every penalty (what the native path takes)."""
    w = getattr(grid, "weights", None)
    return w is None or bool(np.all(w == w[:1]))


@compiled_entry
def solve_path(X, Y, datafit, penalties, *, solver="auto", tol=1e-6, max_iter=1000, W0=None,
               sample_weights=None, fit_intercept=True) -> PathResult:
    """Solve T problems sharing X along ``penalties`` (a sequence of A penalties of one kind, decreasing
    regularisation), warm-starting each at the previous solution.

    ``X`` (n, p) array, scipy.sparse matrix or a prepared design (``design(X)``); ``Y`` (T, n);
    ``sample_weights`` (T, n), (n,) or None; ``W0`` (T, p) start at the first penalty. ``tol`` and
    ``max_iter`` are per penalty, as in :func:`~sparsestat.regression.solve_batch`. Returns a
    :class:`PathResult` (host arrays).

    Raises ``ValueError`` (X not 2-D or not finite, Y not (T, n) or not finite, W0 of the wrong width,
    tol < 0, max_iter < 1, no penalties) or ``TypeError`` (an unknown datafit or penalty, or a grid
    mixing penalty kinds) before anything is compiled.
    """
    penalties = list(penalties)
    if not penalties:
        raise ValueError("penalties is empty")
    if any(type(pen) is not type(penalties[0]) for pen in penalties):
        raise TypeError("penalties must all be of one kind (a grid of one penalty)")
    check_pair(datafit, penalties[0])
    if is_sparse(X):
        X = as_csc(X, dtype=X.dtype if np.issubdtype(X.dtype, np.inexact) else np.float64)  # checks finiteness
    shape = (X.n, X.p) if is_design(X) else tuple(X.shape) if is_sparse(X) else np.shape(X)
    if len(shape) != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {shape}")
    n, p = shape
    if not is_design(X) and not is_sparse(X) and not np.all(np.isfinite(np.asarray(X))):
        raise ValueError("X contains NaN or infinity")
    Yh = np.asarray(Y)
    if Yh.ndim != 2 or Yh.shape[1] != n:
        raise ValueError(f"Y must have shape (n_problems, {n}); got {Yh.shape}")
    if not np.all(np.isfinite(Yh)):
        raise ValueError("Y contains NaN or infinity")
    if W0 is not None and np.shape(W0)[-1] != p:
        raise ValueError(f"W0 must have shape (n_problems, {p}); got {np.shape(W0)}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not tol >= 0:
        raise ValueError(f"tol must be a number >= 0; got {tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1; got {max_iter!r}")
    name = _pick_solver(solver, datafit, penalties[0], False)
    if name not in ("ws_cd", "ws_prox_newton"):
        return _loop(X, Y, datafit, penalties, name, tol, max_iter, W0, sample_weights, fit_intercept)

    D = X if is_design(X) else None
    if D is None:
        X = X if is_sparse(X) else np.asarray(X)
        dtype = jax.dtypes.canonicalize_dtype(X.dtype if np.issubdtype(X.dtype, np.inexact) else float)
        D = design(X, dtype=dtype)
    dtype, (n, p), (n_pad, p_pad) = D.dtype, (D.n, D.p), D.shape
    df = datafit.unweighted()
    Y = df.encode(np.asarray(Y, dtype), np)
    T = Y.shape[0]
    sw = sample_weights if sample_weights is not None else datafit.sample_weight
    S = np.ones((T, n), dtype) if sw is None else np.broadcast_to(np.asarray(sw, dtype), (T, n))
    W = np.zeros((T, p_pad), dtype)
    if W0 is not None:
        W[:, :p] = np.broadcast_to(np.asarray(W0, dtype), (T, p))
    Y = np.pad(Y, ((0, 0), (0, n_pad - n)))
    S = np.pad(S, ((0, 0), (0, n_pad - n)))
    grid = _stack(penalties, T, p_pad, dtype)
    A = len(penalties)
    if (((solver == "auto" and use_native_fit(D, df, penalties[0]))
         or (solver == "native_cd" and use_native_solver(D, df, penalties[0], any_size=True)))
            and _one_weighting(grid)):
        # CPU, dense, least squares with l1 / l1l2 or logistic with l1: each problem's whole path is one
        # native call, in one compiled program
        coef, b, gap, n_iter, conv = jax.device_get(native_path(D, Y, S, grid, W, tol, np.int32(max_iter), df,
                                                                fit_intercept=fit_intercept))
        return PathResult(np.ascontiguousarray(coef[:, :, :p]), np.asarray(b, dtype), gap, n_iter, conv)
    if solver == "native_cd":
        raise ValueError("solver='native_cd' takes a dense X and one per-feature weighting along the grid "
                         "(use solver='auto')")
    first = jax.tree_util.tree_map(lambda a: a[0], grid)
    Yd, Sd, Wd, grid_d, first_d = jax.device_put((Y, S, W, grid, first))
    probs, targets = _prepare_batch(D, Yd, Sd, first_d, tol, df, fit_intercept=fit_intercept)

    B = first_bucket(W, p_pad, df)
    mi = np.int32(max_iter)
    start, b0 = 0, None
    coef = np.zeros((A, T, p_pad), dtype)
    b = np.zeros((A, T), dtype)
    gap = np.zeros((A, T), dtype)
    n_iter = np.zeros((A, T), np.int32)
    conv = np.zeros((A, T), bool)
    while True:
        outs = ws_path(D, probs, grid_d, Wd, b0, targets, mi, np.int32(start), ws_size=B, datafit=df,
                       fit_intercept=fit_intercept)
        w_o, b_o, g_o, it_o, c_o, stopped, need = jax.device_get(outs)   # the only device read
        k = int(np.argmax(stopped)) if stopped.any() else A             # first alpha that outgrew B
        sl = slice(start, k)
        coef[sl], b[sl], gap[sl], n_iter[sl], conv[sl] = w_o[sl], b_o[sl], g_o[sl], it_o[sl], c_o[sl]
        if k >= A:
            break
        # resume at alpha k from its partial iterate (a warm start), with the bucket it wants
        Wd, b0 = jax.device_put((w_o[k], b_o[k]))
        B = max(B, bucket_size(int(need[k]), p_pad))
        start = k
    xm, ym = jax.device_get((probs.xm, probs.ym))
    b = np.stack([df.intercept(Problem(None, None, xm, ym), coef[a], b[a], fit_intercept, xp=np) for a in range(A)])
    return PathResult(coef[:, :, :p], np.asarray(b, dtype), gap, n_iter, conv)


def _loop(X, Y, datafit, penalties, name, tol, max_iter, W0, sample_weights, fit_intercept):
    """Non-working-set solvers: one warm-started :func:`solve_batch` per penalty."""
    out = []
    W = W0
    for pen in penalties:
        res = solve_batch(X, Y, datafit, pen, solver=name, tol=tol, max_iter=max_iter, W0=W,
                          sample_weights=sample_weights, fit_intercept=fit_intercept)
        W = np.asarray(res.coef)
        out.append(jax.device_get(res))
    return PathResult(*(np.stack([np.asarray(getattr(r, f)) for r in out]) for f in
                        ("coef", "intercept", "gap", "n_iter", "converged")))
