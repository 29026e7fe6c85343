"""M-steps of Kronecker-structured SBL: minimise Q(gamma) = sum_n [log gamma_n + Lambda_n / gamma_n] over
gamma = kron(gamma_1, ..., gamma_I) >= 0, with Lambda = diag Sigma + |mu|^2 from the E-step.

- :func:`svd_mstep` (SVD-KroSBL): sequential leading singular triplets of the unfolded Lambda
  (``linalg.kron.nearest_kronecker``); the best rank-one fit for I = 2, exact when Lambda is Kronecker.
- :func:`am_sweep` / :func:`am_mstep` (AM-KroSBL): exact block-coordinate minimisation of Q, factor by
  factor (Gauss-Seidel), repeated until kron(gamma) settles; Q never increases.
- KSBL baseline: one :func:`am_sweep` per EM iteration.
- :func:`block_am_mstep` (PC-KroSBL): AM with banded pattern coupling; each factor's closed form is
  projected by non-negative least squares (:func:`nnls`).

Pruned entries (mask False) are held at exactly 0; 1/gamma is only taken under the mask.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
from jax import lax

from ..linalg.kron import nearest_kronecker
from ..linalg.modes import kron_vectors as _kron_full
from ..linalg.spectral import leading_singular_triplet

__all__ = ["svd_mstep", "am_sweep", "am_mstep", "q_value", "normalise_factors", "nnls", "coupling_matrix",
           "block_am_mstep"]


def _tiny(dtype):
    return jnp.finfo(dtype).tiny


def normalise_factors(gammas: Sequence[jax.Array]) -> tuple:
    """Rescale so every factor but the last has unit norm (the product is unchanged)."""
    gs = list(gammas)
    scale = jnp.ones((), gs[0].dtype)
    for i in range(len(gs) - 1):
        n = jnp.linalg.norm(gs[i])
        ok = n > 0
        gs[i] = jnp.where(ok, gs[i] / jnp.where(ok, n, 1.0), gs[i])
        scale = scale * jnp.where(ok, n, 1.0)
    gs[-1] = gs[-1] * scale
    return tuple(gs)


def svd_mstep(Lam: jax.Array, sizes: Sequence[int], masks: Sequence[jax.Array],
              gammas: Sequence[jax.Array] | None = None) -> tuple:
    """SVD-KroSBL M-step: gamma_1 = |u| of the leading triplet of Lambda unfolded to N_1 x (rest); s|v|
    is unfolded to N_2 x (rest) and so on; the last factor carries the scale.

    With ``gammas`` (the current factors) the triplets come from warm-started power iteration
    (``linalg.leading_singular_triplet``, residual 1.5e-10 in float64): Lambda >= 0, so the leading
    pair is the Perron pair and the current kron(gamma_{k+1}, ...) is a close start; without, from a full
    SVD (``linalg.nearest_kronecker``). The two agree to the power-iteration tolerance."""
    if gammas is None:
        fac = nearest_kronecker(Lam, sizes, method="sequential")
        return tuple(jnp.where(m, jnp.abs(f), 0.0).astype(Lam.dtype) for f, m in zip(fac, masks))
    rest = jnp.reshape(Lam, (-1,))
    out = []
    for k in range(len(sizes) - 1):
        M = jnp.reshape(rest, (sizes[k], -1))
        trip = leading_singular_triplet(M, _kron_full([jnp.abs(g) for g in gammas[k + 1:]]))
        out.append(jnp.abs(trip.u))
        rest = trip.s * jnp.abs(trip.v)
    out.append(rest)
    return tuple(jnp.where(m, f, 0.0).astype(Lam.dtype) for f, m in zip(out, masks))


def _contract_except(T: jax.Array, ws: Sequence[jax.Array], skip: int) -> jax.Array:
    """Contract tensor T with vectors ws[k] along every mode k != skip."""
    t = T
    for k in range(len(ws) - 1, -1, -1):
        if k == skip:
            continue
        t = jnp.tensordot(t, ws[k], axes=([k], [0]))
    return t


def _inv_masked(g, m):
    return jnp.where(m, 1.0 / jnp.where(m, g, 1.0), 0.0)


def am_factor_update(T: jax.Array, gammas: Sequence[jax.Array], masks: Sequence[jax.Array], i: int) -> jax.Array:
    """Closed-form minimiser of Q over factor i, others fixed:
    gamma_i[j] = (prod_{k != i} n_k)^{-1} sum_{n: n_i = j} Lambda_n / prod_{k != i} gamma_k[n_k]."""
    ws = [_inv_masked(g, m) for g, m in zip(gammas, masks)]
    cnt = jnp.ones((), T.dtype)
    for k, m in enumerate(masks):
        if k != i:
            cnt = cnt * jnp.sum(m).astype(T.dtype)
    g = _contract_except(T, ws, i) / jnp.maximum(cnt, 1.0)
    return jnp.where(masks[i], g, 0.0)


def am_sweep(T: jax.Array, gammas: Sequence[jax.Array], masks: Sequence[jax.Array]) -> tuple:
    """One Gauss-Seidel sweep of exact factor updates (then normalised)."""
    gs = list(gammas)
    for i in range(len(gs)):
        gs[i] = am_factor_update(T, gs, masks, i)
    return normalise_factors(gs)


def q_value(Lam: jax.Array, gammas: Sequence[jax.Array], masks: Sequence[jax.Array]) -> jax.Array:
    """Q(gamma) = sum over active n of log gamma_n + Lambda_n / gamma_n (gamma = kron(gammas))."""
    g = _kron_full(list(gammas))
    m = _kron_full([mk.astype(Lam.dtype) for mk in masks]) > 0
    gs = jnp.where(m, g, 1.0)
    return jnp.sum(jnp.where(m, jnp.log(gs) + Lam / gs, 0.0))


def _sweep_until(sweep, gammas: Sequence[jax.Array], tol, max_inner, dtype) -> tuple:
    """Repeat ``gammas <- sweep(gammas)`` until ||kron(gamma) change|| / ||kron(gamma)|| < ``tol`` or
    ``max_inner`` sweeps (the inner loop of AM- and PC-KroSBL; ``tol`` and ``max_inner`` may be traced).
    ``dtype`` is the real dtype of the change (that of Lambda)."""

    def cond(c):
        k, _, ch = c
        return (k < max_inner) & (ch >= tol)

    def body(c):
        k, gs, _ = c
        old = _kron_full(list(gs))
        new = sweep(gs)
        nf = _kron_full(list(new))
        ch = jnp.linalg.norm(nf - old) / jnp.maximum(jnp.linalg.norm(old), _tiny(dtype))
        return k + 1, new, ch

    init = (jnp.zeros((), jnp.int32), tuple(gammas), jnp.asarray(jnp.inf, dtype))
    _, gs, _ = lax.while_loop(cond, body, init)
    return gs


def am_mstep(Lam: jax.Array, sizes: Sequence[int], gammas: Sequence[jax.Array], masks: Sequence[jax.Array],
             tol: float, max_inner: int) -> tuple:
    """AM-KroSBL M-step: sweeps until ||kron(gamma) change|| / ||kron(gamma)|| < tol or ``max_inner`` sweeps."""
    T = jnp.reshape(Lam, tuple(sizes))
    return _sweep_until(lambda gs: am_sweep(T, gs, masks), gammas, tol, max_inner, Lam.dtype)


def ksbl_mstep(Lam: jax.Array, sizes: Sequence[int], gammas: Sequence[jax.Array],
               masks: Sequence[jax.Array]) -> tuple:
    """KSBL baseline: a single AM sweep per EM iteration (no inner loop)."""
    return am_sweep(jnp.reshape(Lam, tuple(sizes)), gammas, masks)


def coupling_matrix(n: int, block_size: int, coupling: float, dtype=None) -> jax.Array:
    """Banded C (n x n): 1 on the diagonal, ``coupling`` within half-width (block_size - 1) / 2."""
    h = (int(block_size) - 1) // 2
    idx = jnp.arange(n)
    dist = jnp.abs(idx[:, None] - idx[None, :])
    out = jnp.where(dist == 0, 1.0, jnp.where(dist <= h, coupling, 0.0))
    return out if dtype is None else out.astype(dtype)


def nnls(A: jax.Array, b: jax.Array, max_iter: int = 0) -> jax.Array:
    """min_{x >= 0} ||A x - b||_2 by the Lawson-Hanson active-set method with static shapes.

    ``max_iter`` caps the outer iterations (default 3 n). Each passive-set least-squares problem is solved
    on the masked normal equations (inactive coordinates pinned to 0).
    """
    n = A.shape[1]
    cap = 3 * n if max_iter <= 0 else int(max_iter)
    AtA = A.T @ A
    Atb = A.T @ b
    eps = 10 * jnp.finfo(A.dtype).eps * jnp.maximum(jnp.max(jnp.abs(AtA)), 1.0) * n

    def ls_on(P):
        Pf = P.astype(A.dtype)
        K = AtA * Pf[:, None] * Pf[None, :] + jnp.diag(1.0 - Pf)
        return jnp.linalg.solve(K, Atb * Pf)

    def outer_cond(s):
        it, x, P = s
        w = Atb - AtA @ x
        return (it < cap) & jnp.any(~P & (w > eps))

    def outer_body(s):
        it, x, P = s
        w = Atb - AtA @ x
        j = jnp.argmax(jnp.where(~P, w, -jnp.inf))
        P = P.at[j].set(True)
        z = ls_on(P)

        def icond(st):
            k, x, P, z = st
            return jnp.any(P & (z <= 0)) & (k < n)

        def ibody(st):
            k, x, P, z = st
            bad = P & (z <= 0)
            ratio = jnp.where(bad, x / jnp.where(bad, x - z, 1.0), jnp.inf)
            alpha = jnp.min(ratio)
            x = x + alpha * (z - x)
            P = P & ~(bad & (ratio <= alpha)) & (x > 0)
            x = jnp.where(P, x, 0.0)
            return k + 1, x, P, ls_on(P)

        _, x, P, z = lax.while_loop(icond, ibody, (0, x, P, z))
        return it + 1, jnp.where(P, z, 0.0), P

    x0 = jnp.zeros(n, A.dtype)
    P0 = jnp.zeros(n, bool)
    _, x, _ = lax.while_loop(outer_cond, outer_body, (0, x0, P0))
    return x


def block_am_mstep(Lam: jax.Array, sizes: Sequence[int], gammas: Sequence[jax.Array], masks: Sequence[jax.Array],
                   couplings: Sequence[jax.Array | None], tol: float = 1e-4, max_inner: int = 9,
                   eps: float = 1e-5) -> tuple:
    """PC-KroSBL M-step (the authors' ``kroSBL_am_pc``). The state is the coupled prior gamma~_i = eps + C_i g_i
    of each factor. Gauss-Seidel sweeps: factor i takes the AM closed form h_i (computed with the current
    gamma~ of the other factors); a coupled factor solves g_i = argmin_{g >= 0} ||C_i g - h_i|| (C_i restricted
    to the kept entries) and sets gamma~_i = eps + C_i g_i. At most ``max_inner`` sweeps, stopping when
    kron(gamma~) changes by less than ``tol`` (relative). No monotonicity guarantee."""
    T = jnp.reshape(Lam, tuple(sizes))
    Cm = [None if C is None else C * (m[:, None] & m[None, :]).astype(C.dtype) for C, m in zip(couplings, masks)]

    def sweep(gs):
        gs = list(gs)
        for i in range(len(gs)):
            h = am_factor_update(T, gs, masks, i)
            if Cm[i] is not None:
                g = nnls(Cm[i], h)
                h = jnp.where(masks[i], eps + Cm[i] @ g, 0.0)
            gs[i] = h
        return normalise_factors(gs)

    return _sweep_until(sweep, gammas, tol, max_inner, Lam.dtype)
