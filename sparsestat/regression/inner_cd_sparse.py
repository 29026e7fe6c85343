"""Inner solver of the working-set CD on a sparse design: the same blocked cyclic coordinate descent
with Anderson extrapolation and dual-extrapolated stopping as :mod:`~sparsestat.regression.inner_cd`
(its :func:`~sparsestat.regression.inner_cd.anderson_cd` loop, on the residual as (u, c)),
but each coordinate costs O(nnz of its column) instead of O(n).

The working set's columns are held in padded form (rows R and values, (B, width)); the weighted,
centred columns Z_j = sqrt(omega) (x_j - xm_j) are never formed. The subproblem's residual
rt = yt - Z_W^T w is kept as rt = u + c sqrt(omega), with u = yt - sqrt(omega) (X_W w) (dense, updated
at the column's rows only) and the scalar c = xm_W . w; with su = sqrt(omega) . u and
omx_j = sum_i omega_i x_ij,

    Z_j . rt = V_j . u[R_j] + c omx_j - xm_j su - xm_j c sum(omega),   V_j = sqrt(omega)[R_j] x_j[R_j],

and an update delta of w_j moves u by -delta V_j (at R_j), c by delta xm_j and su by -delta omx_j.
The blocks' Gram matrices (UNROLL x UNROLL, for the exact in-block correction) come from searches in
the columns' sorted rows, so nothing of size B n is formed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ..linalg import native
from ._problem import Problem
from .datafits import quadratic_primal_dual
from .inner_cd import UNROLL, _inverse, _l1_l2_vec, anderson_cd, block_updates, use_native_epoch
from .sparse_design import SparseDesign

MAX_WIDTH = 64      # widest column (padded nonzero count) the padded-row solver takes (its per-block
#                     gathers grow with it); wider columns use the dense block of inner_cd
MIN_ROWS_PER_NNZ = 16  # and only where a column is sparse enough: width * 16 <= n (else the dense block's
#                        contiguous arithmetic is as cheap)


def use_sparse_inner(D) -> bool:
    """Whether the working-set CD on design ``D`` runs on padded sparse columns (static)."""
    return (isinstance(D, SparseDesign) and D.width <= MAX_WIDTH
            and D.width * MIN_ROWS_PER_NNZ <= D.shape[0])


def _block_gram_sparse(Rs, V, xm, omx, som, m):
    """Diagonal UNROLL x UNROLL blocks of Z_W Z_W^T for the first ``m`` columns, zero past m:
    sum_i omega_i x_ij x_ik, then the centring. ``Rs``: each column's rows in increasing order, its
    padding set to a sentinel past the last row. Column k's value at each row of column j is found by
    a search in column k's sorted rows (UNROLL^2 width^2 comparisons a block, no scratch of size n).
    Per block of 8 columns of width 32: 22 us; a (UNROLL, n) scratch scattered and cleared per block
    took 40 us (XLA copies the scratch), the padded rows matched as a float mask 55 us."""
    B, K = Rs.shape
    nb = B // UNROLL

    def body(i, G):
        Ri = lax.dynamic_slice_in_dim(Rs, i * UNROLL, UNROLL)
        Vi = lax.dynamic_slice_in_dim(V, i * UNROLL, UNROLL)
        xi = lax.dynamic_slice_in_dim(xm, i * UNROLL, UNROLL)
        oi = lax.dynamic_slice_in_dim(omx, i * UNROLL, UNROLL)
        q = Ri.reshape(-1)                                       # every row of the block's columns
        pos = jnp.minimum(jax.vmap(lambda r: jnp.searchsorted(r, q, method="compare_all"))(Ri), K - 1)
        hit = jnp.take_along_axis(Ri, pos, 1) == q[None, :]      # (U, U K): column k holds that row
        at = jnp.where(hit, jnp.take_along_axis(Vi, pos, 1), 0.0).reshape(UNROLL, UNROLL, K)
        P = jnp.einsum("jb,kjb->jk", Vi, at)
        Gi = P - xi[:, None] * oi[None, :] - oi[:, None] * xi[None, :] + som * xi[:, None] * xi[None, :]
        return G.at[i].set(Gi)

    return lax.fori_loop(0, m // UNROLL, body, jnp.zeros((nb, UNROLL, UNROLL), V.dtype))


def _sparse_cd_block(R, V, xm, omx, som, Gb, inv_L, pen_W):
    """The body of one CD epoch over blocks of UNROLL working-set columns (as
    :func:`~sparsestat.regression.inner_cd._cd_epoch`: one gradient gather and one residual scatter a
    block, the in-block updates corrected by the block's Gram), on the carry (w_W, u, c, su)."""
    U = UNROLL

    def body(i, carry):
        wW, u, c, su = carry
        Ri = lax.dynamic_slice_in_dim(R, i * U, U)
        Vi = lax.dynamic_slice_in_dim(V, i * U, U)
        xi = lax.dynamic_slice_in_dim(xm, i * U, U)
        oi = lax.dynamic_slice_in_dim(omx, i * U, U)
        G = Gb[i]
        s = lax.dynamic_slice_in_dim(inv_L, i * U, U)
        wb = lax.dynamic_slice_in_dim(wW, i * U, U)
        g = jnp.sum(Vi * u[Ri], axis=1) + c * oi - xi * su - xi * c * som
        d = block_updates(g, G, wb, s, pen_W, i * U)
        u = u.at[Ri].add(-d[:, None] * Vi)
        return (lax.dynamic_update_slice_in_dim(wW, wb + d, i * U, 0), u, c + jnp.dot(d, xi),
                su - jnp.dot(d, oi))

    return body


def sparse_quad_inner(D, prob: Problem, idx, m, w, pen, sub_target, budget, convex_gap: bool, converged):
    """CD on the working set ``idx`` of a sparse design (:func:`use_sparse_inner`). Same contract as
    :func:`~sparsestat.regression.inner_cd.quad_inner`: returns (w, b, epochs, full residual)."""
    R, Xv = D.ell_columns(idx)                       # (B, K)
    dtype = Xv.dtype
    om = prob.omega
    sq = jnp.sqrt(om)
    V = Xv * sq[R]
    xmW = prob.xm[idx]
    omx = jnp.sum(Xv * om[R], axis=1)
    som = jnp.sum(om)
    yc = prob.y - prob.ym
    yt = sq * yc
    sq_yt = jnp.dot(sq, yt)
    n = yt.shape[0]
    visited = jnp.arange(idx.shape[0]) < m

    def spread(A):   # sum_j A_j at rows R_j: (B, K) -> (n,)
        return jnp.zeros((n,), dtype).at[R].add(A)

    def residual(wW):   # (u, c) of rt = yt - Z_W^T wW
        return yt - spread(V * wW[:, None]), jnp.dot(xmW, wW)

    wW = w[idx]
    pen_W = pen.take(idx)
    if use_native_epoch(dtype, pen):
        # the kernel runs coordinate by coordinate: no block Grams, only their diagonal ||Z_j||^2
        L = jnp.sum(V * V, axis=1) - 2.0 * xmW * omx + som * xmW * xmW
        L = jnp.where(jnp.arange(idx.shape[0]) < m, L, 0.0)
        inv_L = _inverse(L)
        l1, l2 = _l1_l2_vec(pen_W, dtype)

        def epoch(wW, uc):
            wW, u, c = native.cd_epoch_ell(R, V, xmW, omx, sq, som, inv_L, l1, l2, wW, uc[0], uc[1], m,
                                           positive=pen_W.positive)
            return wW, (u, c)
    else:
        Rs = jnp.where(jnp.arange(D.width)[None, :] < D.count[idx][:, None], R, n)   # sorted, padding last
        Gb = _block_gram_sparse(Rs, V, xmW, omx, som, m)
        L = jnp.diagonal(Gb, axis1=1, axis2=2).reshape(-1)
        epoch_body = _sparse_cd_block(R, V, xmW, omx, som, Gb, _inverse(L), pen_W)

        def epoch(wW, uc):   # su = sqrt(omega) . u recomputed at each epoch's start (no drift)
            u, c = uc
            wW, u, c, _ = lax.fori_loop(0, m // UNROLL, epoch_body, (wW, u, c, jnp.dot(sq, u)))
            return wW, (u, c)

    def rt_terms(u, c):   # (|rt|^2, rt . yt, sqrt(omega) . u)
        su = jnp.dot(sq, u)
        return jnp.dot(u, u) + 2.0 * c * su + c * c * som, jnp.dot(u, yt) + c * sq_yt, su

    def sub_obj(wW, uc):
        R2, _, _ = rt_terms(*uc)
        return 0.5 * R2 + pen_W.value(wW)

    def sub_pd(wW, uc):
        u, c = uc
        R2, ry, su = rt_terms(u, c)
        corr = jnp.sum(V * u[R], axis=1) + c * omx - xmW * su - xmW * c * som
        corr = jnp.where(visited, corr, 0.0)
        if convex_gap:
            return quadratic_primal_dual(R2, ry, corr, wW, pen_W)
        return jnp.max(pen_W.subdiff_distance(wW, -corr)), jnp.full((), -jnp.inf, dtype)

    wW, _, ep = anderson_cd(epoch, residual, sub_obj, sub_pd, wW, residual(wW), sub_target, budget, convex_gap,
                            converged, pen_W.positive)
    r = yc - (spread(Xv * wW[:, None]) - jnp.dot(xmW, wW))   # every nonzero of w is in W
    return w.at[idx].set(wW), jnp.zeros((), dtype), ep, r
