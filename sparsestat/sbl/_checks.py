"""Boundary validation for the SBL public functions (cores assume validated input)."""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_array_arg, check_int, check_nonnegative

__all__ = ["as_factor_list", "check_y", "check_kron_problem", "check_noise_var", "check_prune", "check_common",
           "promote", "noise_var_array"]


def _finite_jax(a, name):
    if jnp.issubdtype(a.dtype, jnp.inexact) and not bool(jnp.all(jnp.isfinite(a))):
        bad = "NaN" if bool(jnp.any(jnp.isnan(a))) else "infinity"
        raise ValueError(f"{name} contains {bad}; all values must be finite")


def as_factor_list(factors, name: str = "factors", *, allow_batched: bool = False) -> list:
    """A list of 2-D (or, with ``allow_batched``, 3-D per-problem) numeric factor arrays."""
    from ..linalg.operators import Kronecker

    if isinstance(factors, Kronecker):
        facs = list(factors.factors)
    elif isinstance(factors, (list, tuple)):
        facs = list(factors)
    else:
        raise TypeError(f"{name} must be a list of 2-D arrays or a sparsestat.linalg.Kronecker, "
                        f"got {type(factors).__name__}")
    out = []
    for i, f in enumerate(facs):
        nd = (2, 3) if allow_batched else 2
        if isinstance(f, jax.Array):
            if f.ndim not in ((nd,) if isinstance(nd, int) else nd):
                raise ValueError(f"{name}[{i}] must be a 2-D array (M_i, N_i)"
                                 + (" or 3-D (B, M_i, N_i)" if allow_batched else "") + f", got shape {f.shape}")
            if f.size == 0:
                raise ValueError(f"{name}[{i}] is empty (shape {f.shape})")
            if not (jnp.issubdtype(f.dtype, jnp.number)):
                raise TypeError(f"{name}[{i}] must be numeric, got dtype {f.dtype}")
            _finite_jax(f, f"{name}[{i}]")
            out.append(f)
        else:
            arr = check_array_arg(f, f"{name}[{i}]", ndim=nd, allow_complex=True)
            out.append(arr)
    return out


def check_y(y, name: str = "y"):
    """y as a numeric 1-D (one problem) or 2-D (batch) array, finite."""
    if isinstance(y, jax.Array):
        if y.ndim not in (1, 2):
            raise ValueError(f"{name} must have 1 or 2 dimension(s), got shape {y.shape}")
        if y.size == 0:
            raise ValueError(f"{name} is empty (shape {y.shape})")
        _finite_jax(y, name)
        return y
    return check_array_arg(y, name, ndim=(1, 2), allow_complex=True)


def check_kron_problem(factors, y, *, hint: str = ""):
    """Validate a Kronecker problem: at least two factors, y (M,) or (B, M) with M = prod M_i.

    Parameters
    ----------
    factors : list of 2-D (M_i, N_i) or 3-D per-problem (B, M_i, N_i) arrays, or a ``linalg.Kronecker``
    y : array (M,) or (B, M)
    hint : str
        Appended to the message for fewer than two factors (e.g. where to go instead).

    Returns
    -------
    (factors, y, batch, factor_axes)
        The checked factors (list) and y; ``batch`` = B or None; ``factor_axes[i]`` = 0 for a per-problem
        (3-D) factor, None for a shared one.
    """
    facs = as_factor_list(factors, "factors", allow_batched=True)
    if len(facs) < 2:
        raise ValueError(f"factors must hold at least 2 matrices, got {len(facs)}{hint}")
    y = check_y(y)
    batch = int(y.shape[0]) if y.ndim == 2 else None
    factor_axes = []
    for i, f in enumerate(facs):
        if f.ndim == 3:
            if batch is None or f.shape[0] != batch:
                raise ValueError(f"factors[{i}] is 3-D (shape {tuple(f.shape)}); a per-problem factor needs a "
                                 f"batch of y with the same leading size, got y of shape {tuple(y.shape)}")
            factor_axes.append(0)
        else:
            factor_axes.append(None)
    M = int(np.prod([f.shape[-2] for f in facs]))
    if y.shape[-1] != M:
        raise ValueError(f"y must have length prod(M_i) = {M} (factor rows {[int(f.shape[-2]) for f in facs]}), "
                         f"got {y.shape[-1]}")
    return facs, y, batch, tuple(factor_axes)


def promote(y, arrays):
    """Cast ``y`` and ``arrays`` to one inexact dtype: their common type, integers promoted to floating.

    The one dtype rule of the SBL entry points (mixed real/complex and integer inputs are promoted; a
    core computes in the dtype it is given).

    Parameters
    ----------
    y : array
    arrays : sequence of arrays (dictionary or factors)

    Returns
    -------
    (y, arrays, rdtype)
        jax arrays of the common dtype (``arrays`` as a list) and its real counterpart.
    """
    jy = jnp.asarray(y)
    ja = [jnp.asarray(a) for a in arrays]
    dtype = jnp.result_type(jy, *ja)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.result_type(dtype, jnp.float32)
    jy = jy.astype(dtype)
    return jy, [a.astype(dtype) for a in ja], jnp.real(jy).dtype


def noise_var_array(noise_var, batch: int | None, rdtype, fill: float = 0.0):
    """The checked ``noise_var`` (or ``fill`` where it is None) as a traced array: () or (B,) of ``rdtype``."""
    shape = () if batch is None else (batch,)
    if noise_var is None:
        return jnp.full(shape, fill, rdtype)
    return jnp.broadcast_to(jnp.asarray(noise_var, rdtype), shape)


def check_noise_var(noise_var, batch: int | None):
    """None (learn) or a positive scalar / (B,) array."""
    if noise_var is None:
        return None
    arr = np.asarray(noise_var)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"noise_var must be a positive real number (or None to learn it), got {noise_var!r}")
    if arr.ndim == 1 and batch is not None:
        if arr.shape[0] != batch:
            raise ValueError(f"noise_var must be a scalar or have shape ({batch},), got {arr.shape}")
    elif arr.ndim != 0:
        raise ValueError(f"noise_var must be a scalar (or one per problem in a batch), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"noise_var must be > 0 and finite (or None to learn it), got {noise_var!r}")
    return arr.astype(np.float64)


def check_prune(prune, n_factors: int, name: str = "prune") -> tuple:
    """A relative threshold in [0, 1), or one per factor."""
    if isinstance(prune, (numbers.Real, np.floating, np.integer)) and not isinstance(prune, bool):
        vals = [float(prune)] * n_factors
    elif isinstance(prune, (list, tuple, np.ndarray)):
        vals = [float(v) for v in prune]
        if len(vals) != n_factors:
            raise ValueError(f"{name} must be a float or have one entry per factor ({n_factors}), got {len(vals)}")
    else:
        raise TypeError(f"{name} must be a float in [0, 1) or a sequence of them, got {type(prune).__name__}")
    for v in vals:
        if not (0.0 <= v < 1.0):
            raise ValueError(f"{name} entries must be in [0, 1), got {v}")
    return tuple(vals)


def check_common(max_iter, tol, prune_abs):
    """``max_iter`` >= 1, ``tol`` >= 0 and ``prune_abs`` >= 0, checked."""
    max_iter = check_int(max_iter, "max_iter", lower=1)
    tol = check_nonnegative(tol, "tol")
    prune_abs = check_nonnegative(prune_abs, "prune_abs")
    return max_iter, tol, prune_abs


def local_batch(y, noise_var):
    """``distributed=True``: this process's block of problems (a global ``jax.Array`` gives its local
    rows) and its per-problem noise variances."""
    from ..linalg.multiprocess import as_local_block

    y = as_local_block(y)
    if np.ndim(y) != 2:
        raise ValueError("distributed=True needs a batch of problems: y of shape (B_local, M), this process's "
                         f"block; got shape {np.shape(y)}")
    if noise_var is not None and np.ndim(noise_var) == 1:
        noise_var = as_local_block(noise_var)
    return y, noise_var

