"""Native CPU kernels called from compiled programs through XLA's FFI (:func:`jax.ffi.ffi_call`).

Where XLA:CPU pays 0.2-1 us per operation, an inner loop of scalar updates (coordinate descent) is
bound by that overhead, not by its arithmetic; these kernels run such loops as one call. They are
built at install time (``setup.py``, the optional extension ``sparsestat.linalg._native_cd``, from
``_native/cd_kernels.cc``) and registered with XLA on import of this module. Every caller keeps a
pure-JAX path, used on accelerators, where the extension could not be built, and where the
environment variable ``SPARSESTAT_NATIVE=0`` disables the kernels (read when this module is imported).

:func:`use_native` tells a caller, at trace time, whether to take the native path. The kernels: the
coordinate-descent epochs :func:`cd_epoch` (explicit rows), :func:`cd_epoch_rows` (a working set's
rows read in place from the transposed design, centring and weights implicit, with
:func:`rows_stats`, :func:`rows_matvec` and :func:`rows_rmatvec`) and :func:`cd_epoch_ell` (padded
sparse columns); the whole-problem solver :func:`cd_path` (a grid of elastic-net penalties, each solved
to a duality-gap target in one call: ``_native/cd_solve.cc``); and the host-side :func:`transpose_into`.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp

__all__ = ["available", "use_native", "cd_epoch", "cd_epoch_ell", "cd_epoch_rows", "cd_path", "logreg_path",
           "rows_stats", "rows_matvec", "rows_rmatvec", "load_error", "transpose_into"]

_TARGETS = {}          # (kernel, dtype name) -> registered FFI target name
_LOAD_ERROR = None     # why the kernels are not available (None when they are)
_TRANSPOSE = None      # the extension's transpose_into, when loaded


def _load():
    global _LOAD_ERROR, _TRANSPOSE
    if os.environ.get("SPARSESTAT_NATIVE", "1").strip().lower() in ("0", "false", "no", "off"):
        _LOAD_ERROR = "disabled by SPARSESTAT_NATIVE"
        return
    try:
        from ._native_cd import handlers as _handlers, jaxlib_version as _built_with, transpose_into as _transpose_into
    except ImportError as exc:  # not built (no compiler or headers at install time)
        _LOAD_ERROR = f"extension not built ({exc})"
        return
    _TRANSPOSE = _transpose_into   # plain host code: independent of jaxlib's version
    from jaxlib.version import __version__ as running

    built = _built_with()
    if built.split(".")[:2] != running.split(".")[:2]:
        _LOAD_ERROR = (f"the extension was built against jaxlib {built} and jaxlib {running} is running; "
                       "reinstall sparsestat to rebuild it")
        return
    try:
        handlers = _handlers()
        for kernel in ("cd_epoch", "cd_epoch_ell", "cd_epoch_rows", "rows_stats", "rows_matvec", "rows_rmatvec",
                       "cd_path", "logreg_path"):
            for dtype in ("f64", "f32"):
                name = f"sparsestat_{kernel}_{dtype}"
                jax.ffi.register_ffi_target(name, handlers[f"{kernel}_{dtype}"], platform="cpu")
                _TARGETS[kernel, dtype] = name
    except Exception as exc:  # an incompatible jaxlib: keep the pure-JAX paths
        _TARGETS.clear()
        _LOAD_ERROR = f"registration failed ({exc})"


_load()


def available() -> bool:
    """Whether the native kernels are built, registered and enabled."""
    return bool(_TARGETS)


def load_error():
    """Why the native kernels are not available (None when they are)."""
    return _LOAD_ERROR


def use_native(dtype) -> bool:
    """Whether a program traced now should call the native kernels for arrays of ``dtype``: they are
    available, the default backend is the CPU, and the dtype is float32 or float64."""
    return available() and jax.default_backend() == "cpu" and jnp.dtype(dtype) in (jnp.float32, jnp.float64)


def transpose_into(src, dst, sums=None) -> bool:
    """dst[:p, :n] = src.T for a 2-D numpy ``src`` (n, p) of any strides and a C-contiguous, writable
    ``dst`` of the same 4- or 8-byte dtype, by tiles on up to 4 threads (host memory, no GIL); with
    ``sums`` (a C-contiguous float64 (p,) array) also sums[j] = src[:, j].sum(), accumulated in double
    while the column is in cache. Returns False, and writes nothing, where the extension is not loaded
    or the dtypes differ.

    numpy's strided copy of ``src.T`` reads across cache lines: 10 ms for a 1000 x 5000 float64
    array and 500 ms at 5000 x 20000 on the 2-core dev machine, against 7 and 150 ms here (fresh
    output buffers, page faults included)."""
    if _TRANSPOSE is None or src.dtype != dst.dtype or src.dtype.itemsize not in (4, 8) or src.ndim != 2:
        return False
    if sums is None:
        _TRANSPOSE(src, dst)
    else:
        _TRANSPOSE(src, dst, sums)
    return True


def _target(kernel, dt):
    if not available():
        raise RuntimeError(f"sparsestat's native kernels are not available: {load_error()}")
    if jnp.dtype(dt) not in (jnp.float32, jnp.float64):
        raise TypeError(f"the native kernels take float32 or float64 arrays, got {jnp.dtype(dt)}")
    return _TARGETS[kernel, "f64" if dt == jnp.float64 else "f32"]


def _arg(fn, name, a, shape, dt):
    """``a`` as a ``dt`` array of ``shape``: a scalar is broadcast, any other shape is a ValueError that
    names the argument (at trace time, before the kernel's generic shape error)."""
    a = jnp.asarray(a, dt)
    if a.ndim and a.shape != tuple(shape):
        raise ValueError(f"{fn}: {name} must have shape {tuple(shape)} (or be a scalar), got {a.shape}")
    return jnp.broadcast_to(a, shape)


def _matrix(fn, name, a):
    if jnp.ndim(a) != 2:
        raise ValueError(f"{fn}: {name} must be 2-D, got shape {tuple(jnp.shape(a))}")
    return a


def _rows_args(fn, XT, idx, m):
    XT = _matrix(fn, "XT", XT)
    if jnp.ndim(idx) != 1 or not jnp.issubdtype(jnp.asarray(idx).dtype, jnp.integer):
        raise ValueError(f"{fn}: idx must be a 1-D integer array, got {jnp.asarray(idx).dtype} of shape "
                         f"{tuple(jnp.shape(idx))}")
    return XT, jnp.asarray(idx, jnp.int32), jnp.asarray(m, jnp.int32)


def cd_epoch(Z, inv_L, l1, l2, w, r, m, *, h=None, positive: bool = False):
    """One cyclic coordinate-descent epoch over the first ``m`` rows of ``Z`` (native kernel).

    Minimises 1/2 ||r||_h^2 + sum_j l1_j |w_j| + l2/2 ||w||^2 (w >= 0 if ``positive``), r = y - Z^T w,
    coordinate by coordinate in row order: for row j, g = Z_j . r, w_j <- prox(w_j + g inv_L_j,
    inv_L_j) (inv_L_j = 0: the row is empty and w_j is set to 0), r <- r - delta h o Z_j.

    Only for :func:`use_native` programs (CPU).

    Parameters
    ----------
    Z : array (B, n)
        float32 or float64; row j is coordinate j's column (contiguous).
    inv_L : array (B,)
        Step sizes 1 / sum_i h_i Z_ji^2 (0 for an empty row).
    l1 : array (B,)
        l1 weight of each coordinate.
    l2 : float
        Ridge weight.
    w : array (B,)
        Coordinates.
    r : array (n,)
        Residual.
    m : int or int32 scalar
        May be traced; rows past it are left as they are.
    h : array (n,), optional
        Sample weights of the residual update.
    positive : bool
        Static.

    Returns
    -------
    tuple of arrays
        (w, r) after the epoch.
    """
    dt = jnp.dtype(Z.dtype)
    target = _target("cd_epoch", dt)
    B, n = _matrix("cd_epoch", "Z", Z).shape
    hv = jnp.zeros((0,), dt) if h is None else _arg("cd_epoch", "h", h, (n,), dt)
    call = jax.ffi.ffi_call(target, (jax.ShapeDtypeStruct((B,), dt), jax.ShapeDtypeStruct((n,), dt)),
                            vmap_method="sequential", input_output_aliases={5: 0, 6: 1})
    a = lambda name, v, shape: _arg("cd_epoch", name, v, shape, dt)  # noqa: E731
    return call(Z, a("inv_L", inv_L, (B,)), a("l1", l1, (B,)), a("l2", l2, ()), hv, a("w", w, (B,)),
                a("r", r, (n,)), jnp.asarray(m, jnp.int32), positive=bool(positive))


def rows_stats(XT, idx, m, xm, om):
    """For the working-set rows XT[idx[j]], j < m (read in place; 0 past m): c_j = sum_i om_i (x_ji - xm_j)
    and L_j = sum_i om_i (x_ji - xm_j)^2. ``XT`` (p, n), ``idx`` (B,) int32 in range, ``xm`` (B,),
    ``om`` (n,). Returns (c, L)."""
    XT, idx, m = _rows_args("rows_stats", XT, idx, m)
    dt = jnp.dtype(XT.dtype)
    B, n = idx.shape[0], XT.shape[1]
    call = jax.ffi.ffi_call(_target("rows_stats", dt), (jax.ShapeDtypeStruct((B,), dt),) * 2,
                            vmap_method="sequential")
    return call(XT, idx, m, _arg("rows_stats", "xm", xm, (B,), dt), _arg("rows_stats", "om", om, (n,), dt))


def rows_matvec(XT, idx, m, v):
    """(B,) u_j = XT[idx[j]] . v for j < m, 0 past m (rows read in place)."""
    XT, idx, m = _rows_args("rows_matvec", XT, idx, m)
    dt = jnp.dtype(XT.dtype)
    call = jax.ffi.ffi_call(_target("rows_matvec", dt), jax.ShapeDtypeStruct((idx.shape[0],), dt),
                            vmap_method="sequential")
    return call(XT, idx, m, _arg("rows_matvec", "v", v, (XT.shape[1],), dt))


def rows_rmatvec(XT, idx, m, a):
    """(n,) sum_{j < m} a_j XT[idx[j]] (rows read in place)."""
    XT, idx, m = _rows_args("rows_rmatvec", XT, idx, m)
    dt = jnp.dtype(XT.dtype)
    call = jax.ffi.ffi_call(_target("rows_rmatvec", dt), jax.ShapeDtypeStruct((XT.shape[1],), dt),
                            vmap_method="sequential")
    return call(XT, idx, m, _arg("rows_rmatvec", "a", a, (idx.shape[0],), dt))


def cd_epoch_rows(XT, idx, m, xm, om, c, inv_L, l1, l2, w, t, *, positive: bool = False):
    """:func:`cd_epoch` on the centred, weighted working-set columns Z_j = sqrt(om) o (XT[idx[j]] - xm_j),
    read in place from the transposed design ``XT`` (p, n): nothing of size B n is formed. The state is
    t = om o r (r the unscaled residual; the scaled residual is sqrt(om) o r): Z_j . rt = x_j . t -
    xm_j sum(t), and an update delta moves t by -delta om o (x_j - xm_j). ``c`` and 1 / ``inv_L`` from
    :func:`rows_stats`. Returns (w, t) after the epoch."""
    XT, idx, m = _rows_args("cd_epoch_rows", XT, idx, m)
    dt = jnp.dtype(XT.dtype)
    B, n = idx.shape[0], XT.shape[1]
    call = jax.ffi.ffi_call(_target("cd_epoch_rows", dt),
                            (jax.ShapeDtypeStruct((B,), dt), jax.ShapeDtypeStruct((n,), dt)),
                            vmap_method="sequential", input_output_aliases={9: 0, 10: 1})
    a = lambda name, v, shape: _arg("cd_epoch_rows", name, v, shape, dt)  # noqa: E731
    return call(XT, idx, m, a("xm", xm, (B,)), a("om", om, (n,)), a("c", c, (B,)), a("inv_L", inv_L, (B,)),
                a("l1", l1, (B,)), a("l2", l2, ()), a("w", w, (B,)), a("t", t, (n,)), positive=bool(positive))


def cd_epoch_ell(R, V, xm, omx, sq, som, inv_L, l1, l2, w, u, c, m, *, positive: bool = False):
    """:func:`cd_epoch` on sparse columns held padded (ELL), with implicit centring (native kernel).

    Row j's column is Z_j = sq o (x_j - xm_j), given by its rows ``R[j]`` (int32; entries outside
    [0, n) are padding) and values ``V[j]`` = sq[R_j] x_j[R_j]; ``omx`` (B,) = sum_i sq_i^2 x_ij,
    ``som`` = sum(sq^2). The residual is r = u + c sq (``u`` (n,), ``c`` scalar): an update delta of
    w_j moves u by -delta V_j at R_j and c by delta xm_j, so nothing of size B n is formed.

    Returns (w, u, c) after the epoch. Only for :func:`use_native` programs (CPU).
    """
    dt = jnp.dtype(V.dtype)
    B, K = _matrix("cd_epoch_ell", "V", V).shape
    if jnp.shape(R) != (B, K):
        raise ValueError(f"cd_epoch_ell: R must have V's shape {(B, K)}, got {tuple(jnp.shape(R))}")
    if jnp.ndim(u) != 1:
        raise ValueError(f"cd_epoch_ell: u must be 1-D, got shape {tuple(jnp.shape(u))}")
    n = jnp.shape(u)[0]
    call = jax.ffi.ffi_call(_target("cd_epoch_ell", dt),
                            (jax.ShapeDtypeStruct((B,), dt), jax.ShapeDtypeStruct((n,), dt),
                             jax.ShapeDtypeStruct((), dt)),
                            vmap_method="sequential", input_output_aliases={9: 0, 10: 1, 11: 2})
    a = lambda name, v, shape: _arg("cd_epoch_ell", name, v, shape, dt)  # noqa: E731
    return call(jnp.asarray(R, jnp.int32), V, a("xm", xm, (B,)), a("omx", omx, (B,)), a("sq", sq, (n,)),
                a("som", som, ()), a("inv_L", inv_L, (B,)), a("l1", l1, (B,)), a("l2", l2, ()), a("w", w, (B,)),
                a("u", u, (n,)), a("c", c, ()), jnp.asarray(m, jnp.int32), positive=bool(positive))


def _grid_args(fn, XT, l1):
    """The whole-solve kernels' common checks: (XT, dtype, target name, (p, n, B, A), arg) where
    ``arg(name, value, shape)`` is :func:`_arg` for ``fn`` and the dtype of XT."""
    XT = _matrix(fn, "XT", XT)
    dt = jnp.dtype(XT.dtype)
    name = _target(fn, dt)
    p, n = XT.shape
    if jnp.ndim(l1) != 2:
        raise ValueError(f"{fn}: l1 must be 2-D (problems, grid), got shape {tuple(jnp.shape(l1))}")
    B, A = jnp.shape(l1)
    return XT, dt, name, (p, n, B, A), lambda name_, val, shape: _arg(fn, name_, val, shape, dt)


def cd_path(XT, xm, om, yc, v, l1, l2, w0, target, max_iter, *, positive: bool = False):
    """A batch of B weighted, centred elastic nets sharing X, each solved along its grid of penalties in
    one native call.

    For problem b and each grid point a in turn (warm-started at the previous solution, from ``w0[b]``
    at the first):

        min_w 1/2 sum_i om_bi (yc_bi - sum_j w_j (x_ji - xm_bj))^2 + l1[b, a] sum_j v_bj |w_j|
              + l2[b, a] / 2 |w|^2

    (w >= 0 if ``positive``), X read in place from its transposed copy ``XT`` (p, n). Each point stops
    when its duality gap (:func:`~sparsestat.regression.datafits.quadratic_primal_dual`, the best dual
    value seen) is <= ``target[b]``, or after ``max_iter`` epochs: working-set coordinate descent with
    Anderson extrapolation, the working set being the support plus the largest KKT violators (the
    algorithm of :mod:`sparsestat.regression.working_set`, without XLA's per-operation cost). The
    problems run on up to 4 threads; each problem's result does not depend on their number. Rows past
    the last one with weight are skipped (padding costs nothing).

    Parameters
    ----------
    XT : array (p, n)
        float32 or float64; zero rows (padding) never enter the model.
    xm : array (B, p)
        Column means subtracted implicitly (zeros without an intercept).
    om : array (B, n)
        Sample weights summing to 1 (0 on padded or held-out rows).
    yc : array (B, n)
        Centred targets.
    v : array (B, p)
        Positive per-feature factors of the l1 part.
    l1, l2 : arrays (B, A)
        The grids, in the order solved.
    w0 : array (B, p)
        Starts.
    target : array (B,)
        Gap targets (objective units).
    max_iter : int
        Epochs per grid point.
    positive : bool
        Static.

    Returns
    -------
    tuple of arrays
        (W (B, A, p), gap (B, A), n_iter (B, A) int32). Only for :func:`use_native` programs (CPU).
    """
    XT, dt, name, (p, n, B, A), a = _grid_args("cd_path", XT, l1)
    call = jax.ffi.ffi_call(name, (jax.ShapeDtypeStruct((B, A, p), dt), jax.ShapeDtypeStruct((B, A), dt),
                                   jax.ShapeDtypeStruct((B, A), jnp.int32)), vmap_method="sequential")
    return call(XT, a("xm", xm, (B, p)), a("om", om, (B, n)), a("yc", yc, (B, n)), a("v", v, (B, p)),
                a("l1", l1, (B, A)), a("l2", l2, (B, A)), a("w0", w0, (B, p)), a("target", target, (B,)),
                jnp.asarray(max_iter, jnp.int32), positive=bool(positive))


def logreg_path(XT, om, y, l1, w0, b0, target, max_iter, *, positive: bool = False, fit_intercept: bool = True):
    """A batch of B weighted L1 logistic regressions sharing X, each solved along its grid of penalties
    in one native call.

    For problem b and each grid point a in turn (warm-started at the previous solution, from
    (``w0[b]``, ``b0[b]``) at the first):

        min_{w, c} sum_i om_bi log(1 + exp(-y_bi (x_i . w + c))) + l1[b, a] |w|_1

    (w >= 0 if ``positive``; the intercept c stays at ``b0[b]`` unless ``fit_intercept``), X read in
    place from its transposed copy ``XT`` (p, n). Each point stops when its duality gap
    (:func:`~sparsestat.regression.datafits.logistic_primal_dual`, the best dual value seen) is <=
    ``target[b]``, or after ``max_iter`` epochs (coordinate-descent passes on Newton models): the
    working-set prox-Newton of :mod:`sparsestat.regression.working_set` (the support plus the largest
    KKT violators, up to max(64, 2 nnz) features; Newton models with the intercept profiled out, 5 CD
    passes, a backtracking line search) without XLA's per-operation cost. The problems run on up to 4
    threads; each problem's result does not depend on their number. Rows past the last one with weight
    are skipped.

    Parameters
    ----------
    XT : array (p, n)
        float32 or float64.
    om : array (B, n)
        Sample weights summing to 1 (0 on padded rows).
    y : array (B, n)
        Labels in {-1, +1}.
    l1 : array (B, A)
        The grids, in the order solved.
    w0 : array (B, p)
        Starting coefficients.
    b0 : array (B,)
        Starting intercepts.
    target : array (B,)
        Gap targets (objective units).
    max_iter : int
        Epochs per grid point.
    positive, fit_intercept : bool
        Static.

    Returns
    -------
    tuple of arrays
        (W (B, A, p), intercept (B, A), gap (B, A), n_iter (B, A) int32). Only for :func:`use_native`
        programs (CPU).
    """
    XT, dt, name, (p, n, B, A), a = _grid_args("logreg_path", XT, l1)
    call = jax.ffi.ffi_call(name, (jax.ShapeDtypeStruct((B, A, p), dt), jax.ShapeDtypeStruct((B, A), dt),
                                   jax.ShapeDtypeStruct((B, A), dt), jax.ShapeDtypeStruct((B, A), jnp.int32)),
                            vmap_method="sequential")
    return call(XT, a("om", om, (B, n)), a("y", y, (B, n)), a("l1", l1, (B, A)), a("w0", w0, (B, p)),
                a("b0", b0, (B,)), a("target", target, (B,)), jnp.asarray(max_iter, jnp.int32),
                positive=bool(positive), fit_intercept=bool(fit_intercept))
