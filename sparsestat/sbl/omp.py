"""N-way (Kronecker) OMP baseline (Caiafa & Cichocki, Neural Computation 2013), as run by He & Joseph.

Each iteration correlates the residual tensor with every H_i^H, takes the arg-max of the modulus and adds
its per-mode indices to the sets not yet holding them (up to ``max_per_mode[i]``); the coefficients are the
least-squares fit on the selected sub-dictionary, computed mode by mode with factor pseudo-inverses
((kron A_i)^+ = kron A_i^+). Index sets are boolean masks, so shapes stay static.
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._validation import check_nonnegative
from ..linalg.cache import compiled_entry
from ..linalg.modes import multi_mode
from ._checks import check_kron_problem, noise_var_array, promote
from .results import OMPResult

__all__ = ["kron_omp", "kron_omp_core"]


def _ls(factors, masks, Y):
    pinvs = [jnp.linalg.pinv(H * m[None, :].astype(H.dtype)) for H, m in zip(factors, masks)]
    X = multi_mode(Y, pinvs)
    R = Y - multi_mode(X, list(factors))
    return X, R


def kron_omp_core(factors, y, max_per_mode: tuple, tol, noise_var):
    """One problem (validated); ``noise_var`` <= 0 disables the noise-floor stop. ``max_per_mode``
    fixes shapes (static); ``tol`` and ``noise_var`` may be traced."""
    out_shape = tuple(int(f.shape[0]) for f in factors)
    sizes = tuple(int(f.shape[1]) for f in factors)
    I = len(factors)
    Y = jnp.reshape(y, out_shape)
    ynorm = jnp.linalg.norm(y)
    cap = int(sum(max_per_mode))
    caps = jnp.asarray(max_per_mode)
    M = y.shape[0]

    def stop_now(R):
        r2 = jnp.sum(jnp.abs(R) ** 2)
        small = jnp.sqrt(r2) < tol * ynorm
        floor = (noise_var > 0) & (r2 <= M * noise_var)
        return small | floor

    def cond(s):
        it, masks, orders, X, R, grew = s
        full = jnp.all(jnp.stack([jnp.sum(m) for m in masks]) >= caps)
        return (it < cap) & grew & ~full & ~stop_now(R)

    def body(s):
        it, masks, orders, X, R, _ = s
        proj = jnp.abs(multi_mode(R, [jnp.conj(H).T for H in factors]))
        pos = jnp.unravel_index(jnp.argmax(proj), sizes)
        new_masks, new_orders, grew = [], [], jnp.asarray(False)
        for i in range(I):
            m, o = masks[i], orders[i]
            cnt = jnp.sum(m)
            add = (~m[pos[i]]) & (cnt < caps[i])
            new_masks.append(m.at[pos[i]].set(m[pos[i]] | add))
            slot = jnp.minimum(cnt, o.shape[0] - 1)
            new_orders.append(jnp.where(add, o.at[slot].set(pos[i].astype(o.dtype)), o))
            grew = grew | add
        Xn, Rn = _ls(factors, new_masks, Y)
        X = jnp.where(grew, Xn, X)
        R = jnp.where(grew, Rn, R)
        return it + 1, tuple(new_masks), tuple(new_orders), X, R, grew

    masks0 = tuple(jnp.zeros(n, bool) for n in sizes)
    orders0 = tuple(-jnp.ones(k, jnp.int32) for k in max_per_mode)
    X0 = jnp.zeros(sizes, jnp.result_type(y, *factors))
    init = (jnp.zeros((), jnp.int32), masks0, orders0, X0, Y.astype(X0.dtype), ynorm > 0)
    it, masks, orders, X, R, _ = lax.while_loop(cond, body, init)
    return OMPResult(jnp.reshape(X, (-1,)), orders, it)


@lru_cache(maxsize=32)
def _compiled(max_per_mode, batched, factor_axes):
    """One program per (max_per_mode, batch layout); ``tol`` and ``noise_var`` are traced arguments."""
    fn = lambda f, y, nv, tol: kron_omp_core(tuple(f), y, max_per_mode, tol, nv)  # noqa: E731
    if batched:
        return jax.jit(jax.vmap(fn, in_axes=(list(factor_axes), 0, 0, None)))
    return jax.jit(fn)


@compiled_entry
def kron_omp(factors, y, *, max_per_mode, tol: float = 1e-2, noise_var=None) -> OMPResult:
    """Kronecker (N-way) orthogonal matching pursuit.

    Parameters
    ----------
    factors : list of arrays (M_i, N_i) or ``linalg.Kronecker`` (3-D per-problem factors with a batch of y)
    y : array (M,) or (B, M)
    max_per_mode : int or sequence of ints
        Maximum number of indices selected per mode (the paper uses 10), each in [1, min(M_i, N_i)].
    tol : float
        Stop when ||r|| / ||y|| < tol (1e-2, the paper's rule).
    noise_var : float, optional
        Also stop when ||r||^2 <= M noise_var (not in the paper).

    Returns
    -------
    OMPResult(coef, supports, n_iter); ``supports[i]`` lists the selected indices of mode i in the order
    chosen, padded with -1.
    """
    facs, y, B, axes = check_kron_problem(factors, y)
    batched = B is not None
    if np.ndim(max_per_mode) == 0:
        max_per_mode = [max_per_mode] * len(facs)
    mpm = tuple(int(k) for k in max_per_mode)
    if len(mpm) != len(facs):
        raise ValueError(f"max_per_mode must have one entry per factor ({len(facs)}), got {len(mpm)}")
    for i, (k, f) in enumerate(zip(mpm, facs)):
        hi = min(int(f.shape[-2]), int(f.shape[-1]))
        if not 1 <= k <= hi:
            raise ValueError(f"max_per_mode[{i}] must be in [1, {hi}] (min(M_i, N_i)), got {k}")
    tol = check_nonnegative(tol, "tol")
    if noise_var is not None and (np.any(np.asarray(noise_var) <= 0) or not np.all(np.isfinite(noise_var))):
        raise ValueError(f"noise_var must be > 0 (or None), got {noise_var!r}")
    jy, jf, rdtype = promote(y, facs)
    nv = noise_var_array(noise_var, B, rdtype, fill=-1.0)
    # tol as a weakly typed scalar: it promotes as the Python literal it replaces
    return _compiled(mpm, batched, axes)(jf, jy, nv, jnp.asarray(float(tol)))
