"""Iterative hard thresholding with least-squares polishing for ||w||_0 <= k (Beck & Eldar 2013).

From w0 (zeros), w <- H_k(w - grad F(w) / L); once the support has been unchanged for 3 iterations,
w_A <- argmin F on A (Cholesky of X_A^T diag(omega) X_A, weighted centring for the intercept; jitter
if singular). Stops when a polished iterate is L-stationary (w = H_k(w - grad/L) support-wise:
max_{j not in A} |g_j| / L <= min_{j in A} |w_j|) with ||g_A||_inf <= tol * alpha_max, or at max_iter.
``k`` may be traced; ``cap`` >= k (static) fixes the shapes of the polishing step. Pure ``lax``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from ..linalg.prox import top_k_mask
from ..linalg.solve import spd_solve
from ._problem import Problem, column_block
from .datafits import Quadratic
from .fista import lipschitz

_QUAD = Quadratic()


class IHTState(NamedTuple):
    w: jax.Array
    mask: jax.Array
    stable: jax.Array
    obj: jax.Array
    gap: jax.Array
    n_iter: jax.Array
    converged: jax.Array


def l_stationarity(w, corr, L, k):
    """max(0, max_{j not in A} |g_j| / L - min_{j in A} |w_j|) with A = supp(w) (|A| <= k)."""
    inA = w != 0
    outside = jnp.max(jnp.where(inA, 0.0, jnp.abs(corr))) / L
    nA = jnp.sum(inA)
    inside = jnp.where(nA >= k, jnp.min(jnp.where(inA, jnp.abs(w), jnp.inf)), 0.0)
    return jnp.maximum(outside - inside, 0.0)


def _polish(X, prob: Problem, mask, cap):
    """Least squares on the (at most ``cap``) features of ``mask`` (weighted, centred when an intercept is
    fitted); slots of the capacity not in the mask get a unit diagonal and a zero coefficient."""
    idx = jnp.sort(lax.top_k(mask.astype(X.dtype) + 0.0, cap)[1])
    m = mask[idx].astype(X.dtype)
    sq = jnp.sqrt(prob.omega)
    Z = (column_block(X, idx).T - prob.xm[idx]) * sq[:, None] * m
    yt = sq * (prob.y - prob.ym)
    G = Z.T @ Z + jnp.diag(1.0 - m)
    wA = spd_solve(G, Z.T @ yt)  # adaptive jitter only when the Cholesky factor fails
    return jnp.zeros(X.shape[1], X.dtype).at[idx].set(wA)


def iht_solve(X, prob: Problem, k, w0, tol, *, max_iter, cap: int):
    """IHT + polishing for one problem (quadratic datafit). Returns an IHTState."""
    dtype = X.dtype
    L = lipschitz(X, prob, _QUAD, False)
    amax = jnp.max(jnp.abs(_QUAD.corr(X, prob, prob.y - prob.ym)))
    gtol = tol * jnp.where(amax > 0, amax, 1.0)

    def obj(w):
        return _QUAD.value(prob, _QUAD.lin(X, prob, w))

    def body(st: IHTState):
        corr = _QUAD.corr(X, prob, _QUAD.lin(X, prob, st.w))
        z = st.w + corr / L
        mask = top_k_mask(z, k) & (z != 0)
        w = jnp.where(mask, z, 0.0)
        same = jnp.all(mask == st.mask)
        stable = jnp.where(same, st.stable + 1, 0)
        do_polish = stable >= 3
        w = lax.cond(do_polish, lambda: _polish(X, prob, mask, cap) * mask, lambda: w)
        o = obj(w)
        corr_new = _QUAD.corr(X, prob, _QUAD.lin(X, prob, w))
        gap = l_stationarity(w, corr_new, L, k)
        ga = jnp.max(jnp.where(w != 0, jnp.abs(corr_new), 0.0))
        rel = jnp.abs(st.obj - o) <= tol * jnp.maximum(jnp.abs(o), jnp.finfo(dtype).tiny)
        conv = do_polish & (gap <= 0.0) & (ga <= gtol) & rel
        return IHTState(w, mask, stable, o, gap, st.n_iter + 1, conv)

    def cond(st):
        return (~st.converged) & (st.n_iter < max_iter)

    st0 = IHTState(w0, w0 != 0, jnp.zeros((), jnp.int32), obj(w0), jnp.full((), jnp.inf, dtype),
                   jnp.zeros((), jnp.int32), jnp.zeros((), bool))
    return lax.while_loop(cond, body, st0)
