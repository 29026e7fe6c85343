"""Inner solver of the working-set CD (``ws_cd``) for datafits that are their own quadratic model:
blocked cyclic coordinate descent on the working-set columns with Anderson extrapolation (skglm's
AndersonCD), a conjugate-gradient support step where per-operation overhead bounds the epochs, and
celer's dual extrapolation for the inner stopping test."""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from ..linalg import native
from ..linalg.solve import cho_solve
from ._problem import Design, Problem
from .datafits import quadratic_primal_dual

ANDERSON_K = 5
SMALL_BN = 2 ** 20  # bucket size x samples up to which the CG support step pays: there a CG iteration (two
#                     products with the bucket) costs a fraction of an epoch, which per-operation overhead
#                     bounds. At B n = 2^21 (B = 2048, n = 1000) one iteration costs about an epoch:
#                     1000 x 5000 at alpha_max / 100 (816 nonzeros) took 501 ms with it, 372 ms without
CG_ITERS = 3  # conjugate-gradient iterations of the support step after each Anderson block (0: off)
CG_ITERS_ILL = 20  # ... once the support holds half of the samples or more (ill-conditioned: the tail
#                    of a path, nnz -> n): 100-alpha paths at 100x200 .. 500x2000 took 3-7x fewer epochs
#                    and 2-3x less time than with 3; single fits at alpha_max / 20 never get there
CG_ILL_FRACTION = 0.5
UNROLL = 8  # CD block (coordinates per loop iteration); working sets are multiples of it


def _block_gram(Z, m, h=None):
    """Diagonal blocks of Z diag(h) Z^T (h = 1 if None) for the first ``m`` rows (a traced multiple of
    UNROLL), by consecutive groups of UNROLL rows: (B / UNROLL, UNROLL, UNROLL), zero past ``m``
    (bucket padding, never updated).

    A loop of (UNROLL, n) x (n, UNROLL) products over the solved blocks only. (The batched einsum over
    all B rows was XLA:CPU's slowest operation of a round: 0.45 ms at B = 512, n = 208 as one YNNPACK
    fusion, where the m = 64 rows of a first round need 8 products; at B = 4096, n = 5000 it ran as
    many tiny products, 154 ms against 36 ms for the loop.)"""
    B, n = Z.shape
    nb = B // UNROLL

    def body(i, G):
        Zi = lax.dynamic_slice_in_dim(Z, i * UNROLL, UNROLL)
        return G.at[i].set(Zi @ (Zi if h is None else Zi * h).T)

    return lax.fori_loop(0, m // UNROLL, body, jnp.zeros((nb, UNROLL, UNROLL), Z.dtype))


def block_updates(g, G, wb, s, pen_W, base):
    """The exact cyclic CD updates (deltas) of one block of UNROLL coordinates whose gradients at the
    block's start are ``g``: each coordinate's gradient corrected by the block's Gram ``G`` for the
    updates before it, then its prox step (step sizes ``s``; 0 keeps an empty column at 0).
    ``base``: the block's first index in the working set (for per-coordinate penalty weights)."""
    d = jnp.zeros_like(wb)
    for k in range(UNROLL):
        gk = g[k] - jnp.dot(G[k], d)
        new = pen_W.take(base + k).prox(wb[k] + gk * s[k], s[k])
        new = jnp.where(s[k] > 0, new, 0.0)
        d = d.at[k].set(new - wb[k])
    return d


def _cd_epoch(Z, Gb, inv_L, wW, rt, pen_W, m, h=None):
    """One cyclic CD epoch over the first ``m`` rows of the working set (a traced count, a multiple of
    UNROLL) on 1/2 ||rt||^2_h + pen(wW), rt = yt - Z^T wW, Z of shape (B, n), with sample weights h
    (1 if None; prox-Newton passes its model's Hessian weights and keeps rt = -(gradient) / h implicit:
    the gradient of coordinate j is Z_j . rt and an update delta moves rt by -h delta Z_j);
    inv_L = 1 / sum_i h_i Z_ji^2 (0 for empty rows, which then stay at 0); Gb from
    :func:`_block_gram` with the same h. Rows past ``m`` are padding of the compiled bucket.

    Exact cyclic CD, organised by blocks of UNROLL consecutive coordinates: one product Z_blk rt gives
    the block's gradients, the coordinates are then updated one after the other with the block's Gram
    ``Gb`` correcting each gradient for the updates before it, and one product Z_blk^T delta updates
    the residual. Same iterates as coordinate-at-a-time CD (to rounding) with 2 vector operations per
    block instead of 2 per coordinate: XLA's per-operation overhead, not arithmetic, bounds these small
    updates (1.1 us per coordinate against 1.75 at n = 1000 on the 2-core dev machine)."""
    U = UNROLL

    def body(i, carry):
        wW, rt = carry
        Zi = lax.dynamic_slice_in_dim(Z, i * U, U)
        G = Gb[i]
        s = lax.dynamic_slice_in_dim(inv_L, i * U, U)
        wb = lax.dynamic_slice_in_dim(wW, i * U, U)
        d = block_updates(Zi @ rt, G, wb, s, pen_W, i * U)
        step = d @ Zi
        return lax.dynamic_update_slice_in_dim(wW, wb + d, i * U, 0), rt - (step if h is None else h * step)

    return lax.fori_loop(0, m // U, body, (wW, rt))


def _inverse(L):
    """1 / L where L > 0, else 0 (the step sizes of empty rows, which CD sets to 0)."""
    return jnp.where(L > 0, 1.0 / jnp.where(L > 0, L, 1.0), 0.0)


def use_native_epoch(dtype, pen) -> bool:
    """Whether the epoch runs as the native CPU kernel (:func:`sparsestat.linalg.native.cd_epoch`):
    compiled for the CPU with the kernels built, and an l1 / elastic-net penalty (the kernel's prox).
    On XLA:CPU the blocked JAX epoch costs 1.1 us a coordinate at n = 1000, the kernel its arithmetic
    (1000 x 5000 at alpha_max / 100: 205 epochs, 0.21 ms each in the final rounds)."""
    return native.use_native(dtype) and pen.kind in ("l1", "l1l2")


def _l1_l2_vec(pen_W, dtype):
    """(per-coordinate l1 weights, l2) of an l1 / l1l2 penalty, as the native kernels take them."""
    l1, l2 = pen_W.l1_l2(dtype)
    if pen_W.weights is not None:
        l1 = l1 * jnp.asarray(pen_W.weights, dtype)
    return l1, l2


def native_epoch(Z, inv_L, pen_W, m, h=None):
    """``epoch(wW, rt)`` of :func:`_cd_epoch`'s meaning (same iterates, to rounding) as one native call,
    for an l1 / l1l2 penalty ``pen_W`` on the working set."""
    l1, l2 = _l1_l2_vec(pen_W, Z.dtype)

    def epoch(wW, rt):
        return native.cd_epoch(Z, inv_L, l1, l2, wW, rt, m, h=h, positive=pen_W.positive)

    return epoch


def _anderson(iterates):
    """Anderson extrapolation of the last K iterates (rows): c = (U U^T)^-1 1 / 1^T (U U^T)^-1 1
    (U U^T is regularised to positive definite: a Cholesky solve, lighter to compile than an LU one)."""
    U = jnp.diff(iterates, axis=0)
    C = U @ U.T
    K1 = C.shape[0]
    C = C + 1e-12 * jnp.trace(C) * jnp.eye(K1, dtype=C.dtype) / K1
    z = cho_solve(jnp.linalg.cholesky(C), jnp.ones((K1,), C.dtype))
    s = jnp.sum(z)
    ok = jnp.isfinite(s) & (jnp.abs(s) > 0) & jnp.all(jnp.isfinite(z))
    c = z / jnp.where(ok, s, 1.0)
    return c @ iterates[1:], ok


def _cg(matvec, b, iters):
    """``iters`` (traced) conjugate-gradient iterations for matvec(x) = b from x = 0; a breakdown
    (p^T A p <= 0, or a zero residual) stops moving. (``jax.scipy.sparse.linalg.cg`` computes the same
    iterates but is several times heavier to trace: pytree operators, preconditioner, tolerance loop;
    with it a fresh process's first Lasso fit spent 0.04 s more in tracing and lowering.)"""
    def body(_, c):
        x, r, p, rs = c
        Ap = matvec(p)
        pAp = jnp.dot(p, Ap)
        a = jnp.where(pAp > 0, rs / jnp.where(pAp > 0, pAp, 1.0), 0.0)
        x = x + a * p
        r = r - a * Ap
        rs_new = jnp.dot(r, r)
        beta = jnp.where(rs > 0, rs_new / jnp.where(rs > 0, rs, 1.0), 0.0)
        return x, r, r + beta * p, rs_new

    zero = jnp.zeros_like(b)
    return lax.fori_loop(0, iters, body, (zero, b, b, jnp.dot(b, b)))[0]


def _support_cg_step(Z_mul, Zt_res, wW, res, pen_W, visited, iters):
    """A descent step on the support of wW (the working set's columns Z through ``Z_mul(res)`` = Z rt and
    ``Zt_res(d)``, the residual representation of Z^T d; see :class:`QuadOps`): ``iters``
    conjugate-gradient iterations on the smooth
    quadratic that the subproblem equals inside the current orthant (signs and zeros of wW fixed),
    then cut back to the orthant's boundary (the first coordinate reaching 0 is set to 0).

    Inside the orthant the L1 / L1L2 subproblem is 1/2 ||rt - Z_S^T u||^2 + (its linear and ridge
    terms), so CG from u = 0 minimises it over growing Krylov spaces; along the segment [0, u] that
    convex quadratic does not increase, and the cut keeps the segment in the orthant, so the true
    objective does not increase either (the caller still compares). Coordinate descent on the same
    quadratic is Gauss-Seidel: it needs O(condition number) epochs where CG needs O(sqrt); late on a
    path (supports close to n) CD took 40-80 epochs per alpha."""
    dtype = wW.dtype
    Sf = ((wW != 0) & visited).astype(dtype)
    # inside the orthant the penalty is l1 v . sign(w) w + l2 / 2 |w|^2: gradient and Hessian in closed form
    l1, l2 = pen_W.l1_l2(dtype)
    v = 1.0 if pen_W.weights is None else jnp.asarray(pen_W.weights, dtype)

    def hvp(d):
        return Sf * (Z_mul(Zt_res(d)) + l2 * d)

    g = Sf * (l1 * v * jnp.sign(wW) + l2 * wW - Z_mul(res))
    # fixed iteration count: a few Krylov steps are enough to leave CD's slow directions
    u = _cg(hvp, -g, iters)
    u = jnp.where(jnp.all(jnp.isfinite(u)), u, 0.0)  # a breakdown (0/0) proposes no step
    # largest t <= 1 keeping every sign: coordinates moving towards 0 stop there
    cross = (wW * u < 0)
    t_j = jnp.where(cross, -wW / jnp.where(cross, u, 1.0), 1.0)
    t = jnp.minimum(jnp.min(t_j), 1.0)
    t = jnp.where(jnp.isfinite(t), t, 0.0)
    new = wW + t * u
    new = jnp.where(cross & (t_j <= t), 0.0, new)  # the blocking coordinate(s) land exactly on 0
    return new


def anderson_cd(epoch, residual, sub_obj, sub_pd, wW, res, sub_target, budget, convex_gap: bool, converged,
                positive: bool, support_step=None):
    """The inner loop of the working-set CD, for any residual representation ``res`` (a pytree: the
    dense residual, or the sparse solver's (u, c)): blocks of ANDERSON_K epochs (``epoch(wW, res)``),
    Anderson extrapolation of the block's iterates kept when it lowers ``sub_obj`` (and stays >= 0 for a
    positive penalty), an optional ``support_step(wW, res)``, then the stopping test: the subproblem's
    gap against the best dual value seen, including celer's extrapolated dual point (convex), or its
    stationarity (``sub_pd`` returns (primal or stationarity, dual)). Epochs past ``budget`` are
    computed but not kept, so the count never exceeds it. Returns (wW, res, epochs)."""
    dtype = wW.dtype

    def cond(state):
        ep, stop = state[-2:]
        return (~stop) & (ep < budget)

    def body(state):
        wW, res, bd, ep, _ = state
        left = budget - ep

        def one(carry, k):
            new = epoch(*carry)
            carry = jax.tree_util.tree_map(lambda a, b: jnp.where(k < left, a, b), new, carry)
            return carry, carry[0]

        (wW1, res1), its = lax.scan(one, (wW, res), jnp.arange(ANDERSON_K))
        n_ep = jnp.minimum(ANDERSON_K, left)
        acc, ok = _anderson(its)
        res_acc = residual(acc)
        better = ok & (sub_obj(acc, res_acc) < sub_obj(wW1, res1))
        if positive:
            better = better & jnp.all(acc >= 0)
        wW2, res2 = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), (acc, res_acc), (wW1, res1))
        if support_step is not None:
            wW2, res2 = support_step(wW2, res2)
        P2, D2 = sub_pd(wW2, res2)
        if not convex_gap:
            return wW2, res2, bd, ep + n_ep, P2 <= sub_target
        # dual extrapolation (celer) for the inner stopping test: the extrapolated residual is a dual
        # candidate even when the extrapolated primal point is rejected; the best dual pair seen is
        # kept. (The outer certificate stays the residual gap at the returned iterate, as scikit-learn
        # reports it: independently recomputable; extrapolating it too measured no faster.)
        _, Da = sub_pd(acc, res_acc)
        Da = jnp.where(ok & jnp.isfinite(Da), Da, -jnp.inf)
        bd = jnp.maximum(bd, jnp.maximum(D2, Da))
        return wW2, res2, bd, ep + n_ep, P2 - bd <= sub_target

    init = (wW, res, jnp.full((), -jnp.inf, dtype), jnp.zeros((), jnp.int32), converged)
    wW, res, _, ep, _ = lax.while_loop(cond, body, init)
    return wW, res, ep


class QuadOps(NamedTuple):
    """The working-set subproblem 1/2 ||rt||^2 + pen(wW), rt = yt - Z^T wW (Z the weighted, centred
    working-set columns), through a residual representation ``res``: the explicit rt, or t = omega o r
    where Z is never formed (:func:`quad_inner_rows`)."""

    epoch: Callable       # (wW, res) -> (wW, res): one CD epoch
    residual: Callable    # wW -> res
    Z_mul: Callable       # res -> Z rt (B,)
    Zt_res: Callable      # d -> the res of the vector Z^T d (Z_mul(Zt_res(d)) = Z Z^T d)
    sq_norm: Callable     # res -> ||rt||^2
    dot_yt: Callable      # res -> rt . yt
    full_r: Callable      # wW -> unscaled residual (y - ym) - (X w - xm . w) of the full problem


def _solve_subproblem(ops: QuadOps, prob: Problem, idx, m, w, pen_W, sub_target, budget, convex_gap: bool,
                      converged, use_cg: bool):
    """Anderson CD (and the CG support step) on the subproblem ``ops``; (w, b, epochs, full residual)."""
    dtype = w.dtype
    wW = w[idx]
    visited = jnp.arange(idx.shape[0]) < m  # rows past m are bucket padding: never updated, not certified
    n_eff = jnp.sum(prob.omega > 0)   # samples with weight (padding rows and held-out folds have none)

    def sub_obj(wW, res):
        return 0.5 * ops.sq_norm(res) + pen_W.value(wW)

    def sub_pd(wW, res):
        corr = jnp.where(visited, ops.Z_mul(res), 0.0)
        if convex_gap:
            return quadratic_primal_dual(ops.sq_norm(res), ops.dot_yt(res), corr, wW, pen_W)
        return jnp.max(pen_W.subdiff_distance(wW, -corr)), jnp.full((), -jnp.inf, dtype)

    def support_step(wW2, res2):
        ill = jnp.sum((wW2 != 0) & visited) >= CG_ILL_FRACTION * n_eff
        wc = _support_cg_step(ops.Z_mul, ops.Zt_res, wW2, res2, pen_W, visited,
                              jnp.where(ill, CG_ITERS_ILL, CG_ITERS))
        rc = ops.residual(wc)
        take = sub_obj(wc, rc) < sub_obj(wW2, res2)
        return jax.tree_util.tree_map(lambda a, b: jnp.where(take, a, b), (wc, rc), (wW2, res2))

    wW, _, ep = anderson_cd(ops.epoch, ops.residual, sub_obj, sub_pd, wW, ops.residual(wW), sub_target, budget,
                            convex_gap, converged, pen_W.positive, support_step if use_cg else None)
    return w.at[idx].set(wW), jnp.zeros((), dtype), ep, ops.full_r(wW)   # every nonzero of w is in W


def _use_cg(pen, B, n) -> bool:
    # the support step pays where CD epochs are bound by per-operation overhead (small B n: a CG
    # iteration, two matrix-vector products, costs a fraction of an epoch; path 1000 x 5000: -10 %);
    # where both are bound by memory bandwidth it costs an epoch per iteration and saved none
    # (path 5000 x 20000: +20 %)
    return CG_ITERS > 0 and pen.kind in ("l1", "l1l2") and B * n <= SMALL_BN


def quad_inner(XW, prob: Problem, idx, m, w, pen, sub_target, budget, convex_gap: bool, converged):
    """CD on the working set; XW = X[:, idx].T (B, n). Returns (w, b, epochs, full residual)."""
    dtype = XW.dtype
    sq = jnp.sqrt(prob.omega)
    xmW = prob.xm[idx]
    Z = (XW - xmW[:, None]) * sq[None, :]  # (B, n), weighted and centred
    yt = sq * (prob.y - prob.ym)
    pen_W = pen.take(idx)
    if use_native_epoch(dtype, pen):
        L = jnp.where(jnp.arange(Z.shape[0]) < m, jnp.sum(Z * Z, axis=1), 0.0)
        epoch = native_epoch(Z, _inverse(L), pen_W, m)
    else:
        Gb = _block_gram(Z, m)
        L = jnp.diagonal(Gb, axis1=1, axis2=2).reshape(-1)  # ||Z_j||^2 of the solved rows, 0 past m
        inv_L = _inverse(L)
        epoch = lambda wW, rt: _cd_epoch(Z, Gb, inv_L, wW, rt, pen_W, m)  # noqa: E731
    ops = QuadOps(epoch, residual=lambda a: yt - a @ Z, Z_mul=lambda rt: Z @ rt, Zt_res=lambda d: d @ Z,
                  sq_norm=lambda rt: jnp.dot(rt, rt), dot_yt=lambda rt: jnp.dot(rt, yt),
                  full_r=lambda a: (prob.y - prob.ym) - (a @ XW - jnp.dot(xmW, a)))
    return _solve_subproblem(ops, prob, idx, m, w, pen_W, sub_target, budget, convex_gap, converged,
                             _use_cg(pen, *XW.shape))


def use_rows_inner(D, pen) -> bool:
    """Whether the working-set CD on the dense design ``D`` reads its rows in place (native CPU kernels:
    :func:`quad_inner_rows`) instead of gathering and centring a (B, n) block each round."""
    return isinstance(D, Design) and use_native_epoch(D.XT.dtype, pen)


def quad_inner_rows(XT, prob: Problem, idx, m, w, pen, sub_target, budget, convex_gap: bool, converged, *,
                    in_place: bool = True):
    """:func:`quad_inner` on CPU with native kernels (:mod:`sparsestat.linalg.native`) and the centring
    and weights implicit: the residual is held as t = omega o r (r unscaled), so that Z_j . rt =
    x_j . t - xm_j sum(t), and no centred (B, n) block is formed (0.7 ms a round at 2048 x 1000).

    ``in_place``: the epochs and products read the working set's rows from the transposed design ``XT``
    (p, n) through ``idx`` (no gather either: single fits, 1000 x 5000 at alpha_max / 20 24.5-28.5 ms
    against 28.4-35 ms gathered); False gathers the (B, n) block once a round and leaves the products to
    XLA, whose matrix-vector products use every core (paths: their ill-conditioned tails run 20-iteration
    conjugate-gradient steps, two products each; 50-alpha path 0.455 s gathered against 0.62 s in place)."""
    dtype = XT.dtype
    om = prob.omega
    yc = prob.y - prob.ym
    xmW = prob.xm[idx]
    pen_W = pen.take(idx)
    if in_place:
        rows, ridx = XT, idx
    else:
        rows, ridx = XT.at[idx].get(mode="promise_in_bounds"), jnp.arange(idx.shape[0], dtype=jnp.int32)
    c, L = native.rows_stats(rows, ridx, m, xmW, om)
    inv_L = _inverse(L)
    l1, l2 = _l1_l2_vec(pen_W, dtype)

    def combine(a):   # sum_j a_j (x_j - xm_j): X_W^T a, centred
        lin = native.rows_rmatvec(XT, idx, m, a) if in_place else a @ rows
        return lin - jnp.dot(xmW, a)

    def zmul(t):      # X_W t
        return native.rows_matvec(XT, idx, m, t) if in_place else rows @ t

    def epoch(wW, t):
        return native.cd_epoch_rows(rows, ridx, m, xmW, om, c, inv_L, l1, l2, wW, t, positive=pen_W.positive)

    ops = QuadOps(epoch, residual=lambda a: om * (yc - combine(a)),
                  Z_mul=lambda t: zmul(t) - xmW * jnp.sum(t),
                  Zt_res=lambda d: om * combine(d),
                  sq_norm=lambda t: jnp.sum(jnp.where(om > 0, t * t / jnp.where(om > 0, om, 1.0), 0.0)),
                  dot_yt=lambda t: jnp.dot(t, yc), full_r=lambda a: yc - combine(a))
    return _solve_subproblem(ops, prob, idx, m, w, pen_W, sub_target, budget, convex_gap, converged,
                             _use_cg(pen, idx.shape[0], XT.shape[1]))
