"""The functional core: ``solve(X, y, datafit, penalty)`` -> :class:`SolveResult`.

Solvers (``solver=``): ``"ws_cd"`` (working sets + Anderson CD; quadratic, CPU default),
``"ws_prox_newton"`` (logistic, CPU default), ``"fista"`` (restarted FISTA on the full problem;
traceable), ``"ws_fista"`` (FISTA on bucketed working sets; accelerators), ``"iht"`` (L0).
``"auto"`` picks iht for L0, fista when called under ``jax.jit``/``jax.vmap`` (the working-set
solvers drive their outer loop from the host), ws_cd / ws_prox_newton otherwise.

Compilation: one executable per (shape, datafit, penalty kind, working-set bucket); buckets are
powers of two, so at most ceil(log2 p) + 1 sizes. Small problems (n * p <= 2**16) are zero-padded
(rows with weight 0, zero columns) to power-of-two shapes so that many small fits share executables.
JAX's persistent compilation cache (``jax.config.update("jax_compilation_cache_dir", path)``) keeps
them across processes.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_array_arg, check_int, check_weights
from ..linalg import native
from ..linalg.cache import compiled_entry
from ..linalg.host import NATIVE_TRANSPOSE_MIN, to_device
from ._problem import Problem, design, is_design, padded_shape
from .sparse_design import SparseDesign, as_csc, is_sparse
from .certificates import prepare_batch
from .datafits import check_pair
from .fista import fista_solve
from .iht import iht_solve
from .native_cd import native_fit, native_fit_solves, native_solves, unpack_fit, use_native_fit
from .penalties import L0
from .working_set import ws_solve

__all__ = ["solve", "solve_batch", "SolveResult", "SOLVERS"]

SOLVERS = ("auto", "native_cd", "ws_cd", "ws_prox_newton", "fista", "ws_fista", "iht")


class SolveResult(NamedTuple):
    """coef (p,), intercept (), gap (certificate, objective units), n_iter (), converged ()."""

    coef: jax.Array
    intercept: jax.Array
    gap: jax.Array
    n_iter: jax.Array
    converged: jax.Array


def _is_traced(*xs):
    return any(isinstance(x, jax.core.Tracer) for x in xs if x is not None)


def _pick_solver(solver, datafit, penalty, traced):
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(map(repr, SOLVERS))}; got {solver!r}")
    if isinstance(penalty, L0):
        if solver not in ("auto", "iht"):
            raise ValueError(f"the L0 penalty is solved by solver='iht', got {solver!r}")
        return "iht"
    if solver == "iht":
        raise ValueError("solver='iht' needs the L0 penalty")
    if solver == "auto":
        if traced or jax.default_backend() != "cpu":
            return "fista" if traced else "ws_fista"
        return "ws_cd" if datafit.exact_quadratic else "ws_prox_newton"
    if solver == "native_cd":
        if traced or not (datafit.exact_quadratic and datafit.centred_intercept
                          and getattr(penalty, "kind", None) in ("l1", "l1l2") and native.use_native(jnp.float64)):
            raise ValueError("solver='native_cd' solves least squares with an l1 / l1l2 penalty on a dense X, "
                             "untraced, on CPU with the native kernels built "
                             f"({native.load_error() or 'available'}); use solver='auto'")
        return "ws_cd"   # the working-set flow, whose design then goes to the native solver
    if solver in ("ws_cd", "ws_prox_newton", "ws_fista") and traced:
        raise ValueError(f"solver={solver!r} drives its working-set loop from the host and cannot run under "
                         "jax.jit/jax.vmap; use solver='fista' (or 'auto') there, or solve_batch for batches")
    if solver in ("ws_cd", "ws_prox_newton"):     # the working-set solver the datafit takes
        return "ws_cd" if datafit.exact_quadratic else "ws_prox_newton"
    return solver


@functools.partial(jax.jit, static_argnames=("fit_intercept",))
def _prepare_batch(X, Y, S, pens, tol, datafit, *, fit_intercept):
    return prepare_batch(X, Y, S, pens, tol, datafit, fit_intercept)


@functools.partial(jax.jit, static_argnames=("fit_intercept",))
def _fista_batch(X, probs, pens, W, targets, max_iter, datafit, *, fit_intercept):
    def one(pr, pen, w0, target):
        b0 = datafit.intercept0(pr, fit_intercept)
        return fista_solve(X, pr, pen, w0, b0, target, datafit=datafit, fit_intercept=fit_intercept,
                           max_iter=max_iter)

    return jax.vmap(one)(probs, pens, W, targets)


@functools.partial(jax.jit, static_argnames=("cap",))
def _iht_batch(X, probs, W, k, tol, max_iter, *, cap):
    return jax.vmap(lambda pr, w0: iht_solve(X, pr, k, w0, tol, max_iter=max_iter, cap=cap))(probs, W)


def _pad_last(a, size: int, xp, value=0.0):
    """``a`` (T, k) padded with ``value`` to (T, size) (numpy: one allocation and copy, a few times
    cheaper than np.pad on these small arrays)."""
    if xp is not np:
        return xp.pad(a, ((0, 0), (0, size - a.shape[1])), constant_values=value)
    out = np.full((a.shape[0], size), value, dtype=a.dtype)
    out[:, :a.shape[1]] = a
    return out


@compiled_entry
def solve_batch(X, Y, datafit, penalties, *, solver="auto", tol=1e-6, max_iter=1000, W0=None,
                sample_weights=None, fit_intercept=True, pad_small=True, warm=None, return_warm=False,
                distributed=False):
    """Solve T problems sharing X: ``Y`` (T, n), ``penalties`` a penalty whose leaves have a leading
    axis T (or are scalars, broadcast), ``sample_weights`` (T, n) or (n,) or None, ``W0`` (T, p).
    ``X`` may be a :class:`~sparsestat.regression._problem.Design` (from ``design(X)``) to pay the
    device copy once over many calls.

    Working-set solvers run one host loop for the whole batch (vmapped rounds, common bucket); FISTA
    and IHT are vmapped. Returns a SolveResult whose fields have a leading axis T.

    Paths: with ``return_warm=True`` the working-set solvers also return an opaque ``warm`` value
    (the residuals and correlations of the solutions); passing it back with ``W0`` = those solutions
    on the same X, Y and weights (another penalty) skips two products with X per problem.

    ``distributed=True`` (several processes, :mod:`sparsestat.distributed`): ``Y`` and the per-problem
    ``penalties`` leaves, ``W0`` and (T, n) ``sample_weights`` are this process's block of problems;
    X is the same on every process. Each process solves its block and every process returns every
    problem's result (numpy), in process order. Not with ``return_warm``.
    """
    if distributed:
        return _solve_batch_distributed(X, Y, datafit, penalties, solver=solver, tol=tol, max_iter=max_iter,
                                        W0=W0, sample_weights=sample_weights, fit_intercept=fit_intercept,
                                        pad_small=pad_small, warm=warm, return_warm=return_warm)
    return _solve_batch(X, Y, datafit, penalties, solver=solver, tol=tol, max_iter=max_iter, W0=W0,
                        sample_weights=sample_weights, fit_intercept=fit_intercept, pad_small=pad_small,
                        warm=warm, return_warm=return_warm, to_host=False)


def _solve_batch_distributed(X, Y, datafit, penalties, *, W0, sample_weights, return_warm, warm, **kwargs):
    from ..linalg.multiprocess import allgather_blocks, as_local_block

    if return_warm or warm is not None:
        raise ValueError("distributed=True does not take warm or return_warm (a warm value is one process's)")
    Y = np.asarray(as_local_block(Y))
    if Y.ndim != 2:
        raise ValueError(f"Y must be (T_local, n_samples), this process's block of problems; got shape {Y.shape}")
    if Y.shape[0] == 0:
        raise ValueError("each process needs at least one problem (Y has 0 rows here)")
    penalties = jax.tree_util.tree_map(as_local_block, penalties)
    W0 = None if W0 is None else as_local_block(W0)
    if sample_weights is not None and np.ndim(sample_weights) == 2:
        sample_weights = as_local_block(sample_weights)
    res = _solve_batch(X, Y, datafit, penalties, W0=W0, sample_weights=sample_weights, to_host=True, **kwargs)
    return SolveResult(*allgather_blocks(tuple(np.asarray(f) for f in res), "the solutions"))


@compiled_entry
def solve_batch_host(X, Y, datafit, penalties, **kwargs):
    """:func:`solve_batch` whose untraced results are numpy arrays (what the estimators store): no
    transfer back to the device."""
    return _solve_batch(X, Y, datafit, penalties, to_host=True, **kwargs)


def _solve_batch(X, Y, datafit, penalties, *, solver="auto", tol=1e-6, max_iter=1000, W0=None,
                 sample_weights=None, fit_intercept=True, pad_small=True, warm=None, return_warm=False,
                 to_host=False):
    traced = _is_traced(X, Y, W0, sample_weights, *jax.tree_util.tree_leaves(penalties))
    name = _pick_solver(solver, datafit, penalties, traced)
    working_set = name in ("ws_cd", "ws_prox_newton")
    if is_design(X):
        D = X
        n, p = D.n, D.p
        dtype = D.dtype
    elif is_sparse(X):   # a scipy.sparse X: its nonzeros go to the device (never densified)
        D = None
        n, p = X.shape
        dtype = jax.dtypes.canonicalize_dtype(X.dtype if np.issubdtype(X.dtype, np.inexact) else float)
    else:
        D = None
        X = X if isinstance(X, jax.Array) else np.asarray(X)
        n, p = X.shape
        dtype = jax.dtypes.canonicalize_dtype(X.dtype if jnp.issubdtype(X.dtype, jnp.inexact) else float)
    # untraced calls prepare every small array with numpy and hand each to the device once: an eager
    # jnp operation compiles a program of its own on first use (a dozen of them cost ~0.4 s in a fresh
    # process, and each holds memory mappings)
    xp = jnp if traced else np
    Y = xp.asarray(Y, dtype)
    T = Y.shape[0]
    df = datafit.unweighted()   # no leaves: the compiled programs key on the datafit's type
    Y = df.encode(Y, xp)
    sw = sample_weights if sample_weights is not None else datafit.sample_weight
    S = xp.ones((T, n), dtype) if sw is None else xp.broadcast_to(xp.asarray(sw, dtype), (T, n))

    def bcast(leaf):
        leaf = xp.asarray(leaf, dtype) if not traced or not isinstance(leaf, jax.Array) else leaf
        if leaf.ndim >= 1 and leaf.shape[0] == T and not (leaf.ndim == 1 and leaf.shape[0] == p and T != p):
            return leaf
        return xp.broadcast_to(leaf, (T,) + leaf.shape)

    pens = jax.tree_util.tree_map(bcast, penalties)
    W = xp.zeros((T, p), dtype) if W0 is None else xp.broadcast_to(xp.asarray(W0, dtype), (T, p))

    # an unweighted least-squares fit with an intercept centres by X's plain column means, which a large
    # dense design's transposed copy can compute as it copies (design(col_means=True))
    plain_means = fit_intercept and df.centred_intercept and sw is None and not traced

    # zero-pad to the shape ladder (weight-0 rows, zero columns): similar shapes share executables
    if D is None and (working_set or is_sparse(X)):
        # the native solver's design goes to the device with its one call (cheaper than a device_put)
        on_host = working_set and ((solver == "auto" and native_fit_solves(dtype, df, pens, (n, p)))
                                   or (solver == "native_cd" and native_solves(dtype, df, pens)))
        means = (plain_means and working_set and not on_host and not is_sparse(X)
                 and n * p >= NATIVE_TRANSPOSE_MIN)
        D = design(X, pad_small=pad_small and not traced, dtype=dtype, on_host=on_host, col_means=means)
    if D is not None:
        n_pad, p_pad = D.shape
        if not working_set:
            # a dense Design handed to a FISTA/IHT solver: materialise X once; a sparse one acts as X
            X = D if isinstance(D, SparseDesign) else D.XT.T
    else:
        n_pad, p_pad = (padded_shape(n, p) if pad_small and not traced else (n, p))
        X = to_device(X, dtype=dtype, shape=(n_pad, p_pad)) if not traced else jnp.asarray(X, dtype)
    if (n_pad, p_pad) != (n, p):
        Y = _pad_last(Y, n_pad, xp)
        S = _pad_last(S, n_pad, xp)
        W = _pad_last(W, p_pad, xp)
        if getattr(pens, "weights", None) is not None:
            pens = pens._replace_weights(_pad_last(pens.weights, p_pad, xp, value=1.0))
    W_host = None if traced else W
    if working_set:  # the numpy arrays go to the device with the first compiled call
        Y, S, W = np.ascontiguousarray(Y), np.ascontiguousarray(S), np.ascontiguousarray(W)
        if solver in ("auto", "native_cd") and use_native_fit(D, df, pens, any_size=solver == "native_cd"):
            # CPU, dense, least squares with l1 / l1l2 or logistic with l1: the whole solve as one native
            # call (solver="ws_cd" / "ws_prox_newton" keep the JAX rounds)
            out = unpack_fit(np.asarray(native_fit(D, Y, S, pens, W, tol, np.int32(max_iter), df,
                                                   fit_intercept=fit_intercept)))
            warm_out = None
        else:
            if solver == "native_cd":
                raise ValueError("solver='native_cd' takes a dense X; got a sparse one (use solver='auto')")
            # a path's warm (lin, corr) holds when lin depends on w alone (the intercept centred out)
            cm = getattr(D, "col_means", None)   # (a prepared Design may carry them for a weighted fit)
            xm = np.broadcast_to(np.asarray(cm, dtype), (T, p_pad)) if plain_means and cm is not None else None
            st, _, out = ws_solve(D, Y, S, pens, W, tol, datafit=df, fit_intercept=fit_intercept,
                                  max_iter=max_iter, warm=warm if df.centred_intercept else None, w0_host=W_host,
                                  xm=xm)
            warm_out = (st.lin, st.corr)
        coef_h, b_h, gap_h, n_iter_h, conv_h = out
        res = SolveResult(np.ascontiguousarray(coef_h[:, :p]), np.asarray(b_h, dtype), gap_h, n_iter_h, conv_h)
        if not to_host:
            res = SolveResult(*jax.device_put(tuple(res)))
        return (res, warm_out) if return_warm else res

    if not traced:
        Y, S, W, pens = jax.device_put((np.ascontiguousarray(Y), np.ascontiguousarray(S),
                                        np.ascontiguousarray(W), pens))
    probs, targets = _prepare_batch(X, Y, S, pens, tol, df, fit_intercept=fit_intercept)
    if name in ("fista", "ws_fista"):
        st = _fista_batch(X, probs, pens, W, targets, np.int32(max_iter) if not traced else max_iter, df,
                          fit_intercept=fit_intercept)
        coef, b, gap, n_iter, conv = st.w, st.b, st.gap, st.n_iter, st.converged
    else:  # iht
        k = penalties.n_nonzero_coefs
        st = _iht_batch(X, probs, W, np.int32(k) if not _is_traced(k) else k.astype(jnp.int32), tol,
                        np.int32(max_iter) if not traced else max_iter, cap=min(penalties.capacity, p_pad))
        coef, b, gap, n_iter, conv = st.w, None, st.gap, st.n_iter, st.converged

    if traced:
        b = df.intercept(probs, coef, jnp.zeros((T,), dtype) if b is None else b, fit_intercept)
        res = SolveResult(coef[:, :p], b, gap, n_iter, conv)
    else:  # the intercept and the unpadded view on the host; one transfer back of each result
        coef_h, xm, ym, b_h, gap, n_iter, conv = jax.device_get((coef, probs.xm, probs.ym, b, gap, n_iter, conv))
        coef_h = np.asarray(coef_h)
        b_h = np.zeros((T,), dtype) if b_h is None else b_h
        b_h = df.intercept(Problem(None, None, xm, ym), coef_h, b_h, fit_intercept, xp=np)
        res = SolveResult(np.ascontiguousarray(coef_h[:, :p]), np.asarray(b_h, dtype), gap, n_iter, conv)
        if not to_host:
            res = SolveResult(*jax.device_put(tuple(res)))
    return (res, None) if return_warm else res


@compiled_entry
def solve(X, y, datafit, penalty, *, solver="auto", tol=1e-6, max_iter=1000, w0=None, sample_weight=None,
          fit_intercept=True) -> SolveResult:
    """Minimise F(w, b) + Omega(w) for one problem and certify the result.

    Parameters
    ----------
    X : array (n_samples, n_features) or scipy.sparse matrix
        Design; its dtype sets the computation dtype. Sparse X (any scipy.sparse format, converted to
        CSC) is never densified: products cost O(nnz), the working-set CD runs on the working set's
        sparse columns (see :mod:`~sparsestat.regression.sparse_design`).
    y : array (n_samples,)
        Targets (Quadratic) or labels (Logistic: y > 0 is the positive class).
    datafit : Quadratic or Logistic
    penalty : L1, L1L2, MCP, SCAD or L0
    solver : {"auto", "native_cd", "ws_cd", "ws_prox_newton", "fista", "ws_fista", "iht"}
        "auto": on CPU, least squares with an l1 / l1l2 penalty on a dense X of up to 2^24 entries runs
        as one native call ("native_cd", :mod:`~sparsestat.regression.native_cd`, which takes any size
        when named), and so does logistic regression with an unweighted l1 penalty there (the
        prox-Newton of :func:`sparsestat.linalg.native.logreg_path`); other problems on CPU run the
        working-set solvers ("ws_cd": its rounds compiled with XLA, "ws_prox_newton"; naming either
        keeps them); accelerators and traced calls run FISTA.
    tol : float >= 0
        Stop when the certificate <= tol x scale: duality gap <= tol <y_c, y_c>_omega (scikit-learn's
        scale) or tol F(0, b0) (logistic); stationarity <= tol alpha_max (MCP, SCAD, L0).
    max_iter : int >= 1
        Cap on CD epochs (working-set solvers, summed over rounds), FISTA or IHT iterations.
    w0 : array (n_features,), optional
        Warm start (zeros by default; nonconvex penalties return a stationary point that depends on it).
    sample_weight : array (n_samples,), optional
        Non-negative weights, not all zero.
    fit_intercept : bool
        Fit an unpenalised intercept (quadratic: weighted centring; logistic: extra coordinate).

    Returns
    -------
    SolveResult
        ``coef``, ``intercept``, ``gap`` (certificate), ``n_iter``, ``converged``.
    """
    check_pair(datafit, penalty)
    traced = _is_traced(X, y, w0, sample_weight)
    if is_sparse(X):
        X = as_csc(X, dtype=X.dtype if np.issubdtype(X.dtype, np.inexact) else np.float64)
    elif not isinstance(X, jax.Array):   # numpy stays on the host until the solver's copy
        X = check_array_arg(X, "X", ndim=2, finite=not traced)
    if len(X.shape) != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one sample and one feature, got shape {X.shape}")
    dtype = jax.dtypes.canonicalize_dtype(X.dtype if jnp.issubdtype(X.dtype, jnp.inexact) else float)
    if not isinstance(y, jax.Array):
        y = check_array_arg(y, "y", ndim=1, allow_empty=True)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
    y = jnp.asarray(y, dtype) if isinstance(y, jax.Array) else np.asarray(y, dtype)
    if not traced:
        if isinstance(tol, bool) or not (isinstance(tol, (int, float, np.floating)) and 0 <= tol < np.inf):
            raise ValueError(f"tol must be a finite non-negative number (0: run to max_iter), got {tol!r}")
        check_int(max_iter, "max_iter", lower=1)
        if sample_weight is not None:
            check_weights(sample_weight, X.shape[0])
    W0 = None if w0 is None else jnp.asarray(w0, dtype)[None]
    sw = None if sample_weight is None else jnp.asarray(sample_weight, dtype)[None]
    res = solve_batch(X, y[None], datafit, penalty, solver=solver, tol=tol, max_iter=max_iter, W0=W0,
                      sample_weights=sw, fit_intercept=fit_intercept)
    return SolveResult(*(f[0] for f in res))
