"""Working-set solvers: ``ws_cd`` (datafits that are their own quadratic model, ``exact_quadratic``:
Anderson-accelerated coordinate descent on the working set) and ``ws_prox_newton`` (other datafits,
e.g. logistic: proximal Newton with coordinate-descent passes on the working-set quadratic model,
from the datafit's ``raw_grad`` / ``raw_hessian``). Reference design: skglm's AndersonCD / ProxNewton with working
sets (Bertrand et al. 2022), celer's working sets (Massias et al. 2018/2020).

X is held as a :class:`~sparsestat.regression._problem.Design` (stored transposed, so gathering the
working-set columns is a contiguous copy). One round (jitted per working-set bucket size B, vmapped
over a batch of problems sharing X):

1. W = supp(w) plus the features with the largest stationarity violation at the last certificate;
   the first m = :func:`solved_size` of them are solved, the rest of the bucket (|W| = B) only pads
   the compiled shape;
2. solve the subproblem on W by blocked cyclic CD with Anderson extrapolation (quadratic) or
   prox-Newton (logistic) to 0.3 x the current outer certificate, which also yields the full
   residual (all nonzeros are in W);
3. certify the new iterate on the full problem (one product X^T r; the duality gap keeps the best
   dual point seen, nonconvex penalties use stationarity) and score the features for the next round.

Every returned iterate is therefore certified. The host chooses B = min(p, next power of two >=
max(128, m)) between rounds (at most ceil(log2 p) + 1 compiled sizes) and reads four numbers per
problem per round, as celer/skglm do.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.sparse.linalg as jsla
import numpy as np
from jax import lax

from ..linalg.shapes import next_pow2
from ._problem import Problem
from .certificates import full_certificate
from .datafits import quadratic_primal_dual

ANDERSON_K = 5
SMALL_BN = 2 ** 21  # working-set size x samples below which XLA:CPU is bound by per-operation overhead
CG_ITERS = 3  # conjugate-gradient iterations of the support step after each Anderson block (0: off)
INNER_RATIO = 0.3
UNROLL = 8  # CD block (coordinates per loop iteration); working sets are multiples of it
P0 = 64  # smallest working set solved (skglm: p0 = 10; larger saves rounds here, B >= 128 anyway)


class WSState(NamedTuple):
    w: jax.Array          # (p,)
    b: jax.Array          # () logistic intercept (quadratic: unused, 0)
    lin: jax.Array        # (n,) residual y_c - X_c w (quadratic) or X w + b (logistic)
    score: jax.Array      # (p,) working-set priority: inf on supp(w), else stationarity violation
    corr: jax.Array       # (p,) -dF/dw at w (its product with X, reusable along a path)
    best_dual: jax.Array  # ()
    gap: jax.Array        # () certificate of the last certified iterate
    primal: jax.Array
    n_iter: jax.Array     # () int32 epochs so far
    converged: jax.Array  # () bool


MIN_BUCKET = 128
SINGLE_BUCKET_P = 512


def bucket_size(want: int, p: int) -> int:
    """min(p, next power of two >= max(want, MIN_BUCKET)): few compiled sizes. Problems with
    p <= SINGLE_BUCKET_P (padded) compile a single round of size p, so that no value of alpha (which
    sets the support size, hence the bucket) compiles a second program; the price is the full-size
    per-round products while m < p (measured +14-24 % per fit at 200 x 500 on the 2-core dev machine,
    against a 2-3 s compilation or a 0.2 s cache load per new bucket)."""
    if p <= SINGLE_BUCKET_P:
        return int(p)
    return next_pow2(want, lo=MIN_BUCKET, cap=p)


def solved_size(nnz, viol, xp=jnp):
    """Features solved in the next round: the support plus up to max(p0, nnz) KKT violators outside it
    (skglm's growth max(p0, 2 nnz) while features are being added; about nnz + #violators once a
    warm start holds the support)."""
    return xp.maximum(nnz + xp.minimum(xp.maximum(nnz, P0), viol), P0)


# ----------------------------------------------------------------------------- inner: quadratic CD
def _block_gram(Z):
    """Diagonal blocks of Z Z^T for consecutive groups of UNROLL rows: (B / UNROLL, UNROLL, UNROLL).

    XLA:CPU runs the batched einsum as many tiny products: 154 ms at B = 4096, n = 5000 against 36 ms
    for a loop of (UNROLL, n) x (n, UNROLL) products (same values, exactly); at B n <= 2^21 the einsum
    is the faster (1.7 vs 1.9 ms at 1024 x 1000)."""
    B, n = Z.shape
    nb = B // UNROLL
    if B * n <= SMALL_BN:
        Zb = Z.reshape(nb, UNROLL, n)
        return jnp.einsum("bin,bjn->bij", Zb, Zb)

    def body(i, G):
        Zi = lax.dynamic_slice_in_dim(Z, i * UNROLL, UNROLL)
        return G.at[i].set(Zi @ Zi.T)

    return lax.fori_loop(0, nb, body, jnp.zeros((nb, UNROLL, UNROLL), Z.dtype))


def _cd_epoch(Z, Gb, inv_L, wW, rt, pen_W, m):
    """One cyclic CD epoch over the first ``m`` rows of the working set (a traced count, a multiple of
    UNROLL) on 1/2 ||rt||^2 + pen(wW), rt = yt - Z^T wW, Z of shape (B, n); inv_L = 1/||Z_j||^2 (0 for
    empty rows, which then stay at 0). Rows past ``m`` are padding of the compiled bucket.

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
        g = Zi @ rt
        d = jnp.zeros_like(wb)
        for k in range(U):
            gk = g[k] - jnp.dot(G[k], d)
            new = pen_W.take(i * U + k).prox(wb[k] + gk * s[k], s[k])
            new = jnp.where(s[k] > 0, new, 0.0)
            d = d.at[k].set(new - wb[k])
        return lax.dynamic_update_slice_in_dim(wW, wb + d, i * U, 0), rt - d @ Zi

    return lax.fori_loop(0, m // U, body, (wW, rt))


def _anderson(iterates):
    """Anderson extrapolation of the last K iterates (rows): c = (U U^T)^-1 1 / 1^T (U U^T)^-1 1."""
    U = jnp.diff(iterates, axis=0)
    C = U @ U.T
    K1 = C.shape[0]
    C = C + 1e-12 * jnp.trace(C) * jnp.eye(K1, dtype=C.dtype) / K1
    z = jnp.linalg.solve(C, jnp.ones((K1,), C.dtype))
    s = jnp.sum(z)
    ok = jnp.isfinite(s) & (jnp.abs(s) > 0) & jnp.all(jnp.isfinite(z))
    c = z / jnp.where(ok, s, 1.0)
    return c @ iterates[1:], ok


def _support_cg_step(Z, wW, rt, pen_W, visited, iters):
    """A descent step on the support of wW: ``iters`` conjugate-gradient iterations on the smooth
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
    gpen = jax.grad(pen_W.value)

    def hvp(v):
        return Sf * (Z @ (v @ Z) + jax.jvp(gpen, (wW,), (v,))[1])

    g = Sf * (gpen(wW) - Z @ rt)
    # fixed iteration count (tol 0): a few Krylov steps are enough to leave CD's slow directions
    u, _ = jsla.cg(hvp, -g, maxiter=iters, tol=0.0)
    u = jnp.where(jnp.all(jnp.isfinite(u)), u, 0.0)  # a breakdown (0/0) proposes no step
    # largest t <= 1 keeping every sign: coordinates moving towards 0 stop there
    cross = (wW * u < 0)
    t_j = jnp.where(cross, -wW / jnp.where(cross, u, 1.0), 1.0)
    t = jnp.minimum(jnp.min(t_j), 1.0)
    t = jnp.where(jnp.isfinite(t), t, 0.0)
    new = wW + t * u
    new = jnp.where(cross & (t_j <= t), 0.0, new)  # the blocking coordinate(s) land exactly on 0
    return new


def _quad_inner(XW, prob: Problem, idx, m, w, pen, sub_target, budget, convex_gap: bool, converged):
    """CD on the working set; XW = X[:, idx].T (B, n). Returns (w, b, epochs, full residual)."""
    dtype = XW.dtype
    sq = jnp.sqrt(prob.omega)
    xmW = prob.xm[idx]
    Z = (XW - xmW[:, None]) * sq[None, :]  # (B, n), weighted and centred
    yt = sq * (prob.y - prob.ym)
    wW = w[idx]
    rt = yt - wW @ Z
    L = jnp.sum(Z * Z, axis=1)
    inv_L = jnp.where(L > 0, 1.0 / jnp.where(L > 0, L, 1.0), 0.0)
    Gb = _block_gram(Z)
    pen_W = pen.take(idx)
    visited = jnp.arange(idx.shape[0]) < m  # rows past m are bucket padding: never updated, not certified
    # the support step pays where CD epochs are bound by per-operation overhead (small B n: a CG
    # iteration, two matrix-vector products, costs a fraction of an epoch; path 1000 x 5000: -10 %);
    # where both are bound by memory bandwidth it costs an epoch per iteration and saved none
    # (path 5000 x 20000: +20 %)
    use_cg = CG_ITERS > 0 and pen.kind in ("l1", "l1l2") and Z.shape[0] * Z.shape[1] <= SMALL_BN

    def sub_obj(wW, rt):
        return 0.5 * jnp.dot(rt, rt) + pen_W.value(wW)

    def sub_pd(wW, rt):
        corr = jnp.where(visited, Z @ rt, 0.0)
        if convex_gap:
            return quadratic_primal_dual(jnp.dot(rt, rt), jnp.dot(rt, yt), corr, wW, pen_W)
        return jnp.max(pen_W.subdiff_distance(wW, -corr)), jnp.full((), -jnp.inf, dtype)

    def cond(state):
        ep, stop = state[-2:]
        return (~stop) & (ep < budget)

    def body(state):
        wW, rt, bd, ep, _ = state

        def one(carry, _):
            wW, rt = _cd_epoch(Z, Gb, inv_L, carry[0], carry[1], pen_W, m)
            return (wW, rt), wW

        (wW1, rt1), its = lax.scan(one, (wW, rt), None, length=ANDERSON_K)
        acc, ok = _anderson(its)
        rt_acc = yt - acc @ Z
        better = ok & (sub_obj(acc, rt_acc) < sub_obj(wW1, rt1))
        if pen_W.positive:
            better = better & jnp.all(acc >= 0)
        wW2 = jnp.where(better, acc, wW1)
        rt2 = jnp.where(better, rt_acc, rt1)
        if use_cg:
            wc = _support_cg_step(Z, wW2, rt2, pen_W, visited, CG_ITERS)
            rc = yt - wc @ Z
            take = sub_obj(wc, rc) < sub_obj(wW2, rt2)
            wW2 = jnp.where(take, wc, wW2)
            rt2 = jnp.where(take, rc, rt2)
        P2, D2 = sub_pd(wW2, rt2)
        if not convex_gap:
            return wW2, rt2, bd, ep + ANDERSON_K, P2 <= sub_target
        # dual extrapolation (celer) for the inner stopping test: the extrapolated residual is a dual
        # candidate even when the extrapolated primal point is rejected; the best dual pair seen is
        # kept. (The outer certificate stays the residual gap at the returned iterate, as scikit-learn
        # reports it: independently recomputable; extrapolating it too measured no faster.)
        _, Da = sub_pd(acc, rt_acc)
        Da = jnp.where(ok & jnp.isfinite(Da), Da, -jnp.inf)
        bd = jnp.maximum(bd, jnp.maximum(D2, Da))
        return wW2, rt2, bd, ep + ANDERSON_K, P2 - bd <= sub_target

    init = (wW, rt, jnp.full((), -jnp.inf, dtype), jnp.zeros((), jnp.int32), converged)
    wW, rt, _, ep, _ = lax.while_loop(cond, body, init)
    r = (prob.y - prob.ym) - (wW @ XW - jnp.dot(xmW, wW))  # every nonzero of w is in W
    return w.at[idx].set(wW), jnp.zeros((), dtype), ep, r


# ----------------------------------------------------------------------------- inner: prox-Newton
def _newton_inner(datafit, XW, prob: Problem, idx, w, b, pen, sub_target, budget, convex_gap: bool,
                  fit_intercept, converged):
    """Prox-Newton on the working set for a datafit whose ``lin`` is the linear predictor X w + b
    (logistic); XW = X[:, idx].T (B, n). Returns (w, b, epochs, X w + b)."""
    dtype = XW.dtype
    Z = XW
    wW = w[idx]
    pen_W = pen.take(idx)
    fi = 1.0 if fit_intercept else 0.0

    def objective(zlin, wW):
        return datafit.value(prob, zlin) + pen_W.value(wW)

    def sub_cert(zlin, wW):
        if convex_gap:
            P, D = datafit.primal_dual(Z.T, prob, zlin, None, wW, pen_W, fit_intercept)
            return P - D
        g = datafit.raw_grad(prob, zlin)
        st = jnp.max(pen_W.subdiff_distance(wW, Z @ g))
        return jnp.maximum(st, fi * jnp.abs(jnp.sum(g)))

    def newton_step(wW, b):
        zlin = wW @ Z + b
        gr = datafit.raw_grad(prob, zlin)
        h = datafit.raw_hessian(prob, zlin)
        Hb = jnp.sum(h)
        # the intercept is profiled out of the Newton model exactly: minimising the quadratic model over
        # db leaves the h-weighted centred columns Z - mu and gradient gr - h G / Hb, and
        # db = -(G + h . X d) / Hb afterwards. (As a separate coordinate, CD crawled when the features have
        # large means: every column is then nearly parallel to the intercept's.)
        Hb_safe = jnp.where(Hb > 0, Hb, 1.0)
        G = jnp.sum(gr)
        mu = fi * jnp.where(Hb > 0, (Z @ h) / Hb_safe, 0.0)
        Zc = Z - mu[:, None]
        grc = gr - fi * h * jnp.where(Hb > 0, G / Hb_safe, 0.0)
        H = (Zc * Zc) @ h

        def cd_pass(carry, _):
            d, Xd = carry

            def coord(j, c):
                d, Xd = c
                zj = Zc[j]
                hj = H[j]
                safe = jnp.where(hj > 0, hj, 1.0)
                gj = jnp.dot(zj, grc + h * Xd)
                cur = wW[j] + d[j]
                new = jnp.where(hj > 0, pen_W.take(j).prox(cur - gj / safe, 1.0 / safe), 0.0)
                delta = new - cur
                return d.at[j].add(delta), Xd + delta * zj

            d, Xd = lax.fori_loop(0, Z.shape[0], coord, (d, Xd))
            return (d, Xd), None

        init = (jnp.zeros_like(wW), jnp.zeros_like(zlin))
        (d, Xd), _ = lax.scan(cd_pass, init, None, length=ANDERSON_K)
        # back to the uncentred direction: z changes by Xd - G / Hb, the intercept by -G / Hb - mu . d
        shift = fi * jnp.where(Hb > 0, -G / Hb_safe, 0.0)
        db = shift - jnp.dot(mu, d)
        Xd = Xd + shift
        f0 = objective(zlin, wW)

        def ls_cond(c):
            t, k, ok = c
            return (~ok) & (k < 30)

        def ls_body(c):
            t, k, _ = c
            t2 = t * 0.5
            ok = objective(zlin + t2 * Xd, wW + t2 * d) <= f0
            return t2, k + 1, ok

        ok0 = objective(zlin + Xd, wW + d) <= f0
        t, _, ok = lax.while_loop(ls_cond, ls_body, (jnp.ones((), dtype), jnp.zeros((), jnp.int32), ok0))
        t = jnp.where(ok, t, 0.0)
        return wW + t * d, b + t * db, zlin + t * Xd

    def cond(state):
        _, _, ep, stop = state
        return (~stop) & (ep < budget)

    def body(state):
        wW, b, ep, _ = state
        wW, b, zlin = newton_step(wW, b)
        stop = sub_cert(zlin, wW) <= sub_target
        return wW, b, ep + ANDERSON_K, stop

    wW, b, ep, _ = lax.while_loop(cond, body, (wW, b, jnp.zeros((), jnp.int32), converged))
    return w.at[idx].set(wW), b, ep, wW @ Z + b


# ----------------------------------------------------------------------------- one round
def select_top(score, m, size: int):
    """Indices (size,) whose first min(m, p) entries are a set of the m largest scores, in increasing
    index order (ties broken towards the smaller index), followed by the other indices in order.

    A 64-step bisection on the scores' bit patterns (scores are >= 0, so the patterns are ordered as
    the values) finds the m-th largest value; selection and placement are then O(p) counts and one
    scatter. On XLA:CPU this is 0.55 ms at p = 5000 against 1.3-1.5 ms for lax.top_k (a full sort).
    """
    p = score.shape[0]
    itype = jnp.int64 if score.dtype == jnp.float64 else jnp.int32
    bits = lax.bitcast_convert_type(jnp.maximum(score, 0.0), itype)
    m = jnp.minimum(m, p)

    def halve(_, lh):  # invariant: count(bits > lo) >= m > count(bits > hi)
        lo, hi = lh
        mid = lo + (hi - lo) // 2
        below = jnp.sum(bits > mid) < m
        return jnp.where(below, lo, mid), jnp.where(below, mid, hi)

    _, u = lax.fori_loop(0, 8 * bits.dtype.itemsize, halve, (jnp.asarray(-1, itype), jnp.max(bits)))
    gt = bits > u  # u is the m-th largest pattern
    eq = bits == u
    sel = gt | (eq & (jnp.cumsum(eq) <= m - jnp.sum(gt)))
    nsel = jnp.sum(sel)
    pos = jnp.where(sel, jnp.cumsum(sel) - 1, nsel + jnp.cumsum(~sel) - 1)
    return jnp.zeros((size,), jnp.int32).at[pos].set(jnp.arange(p, dtype=jnp.int32), mode="drop")


def _certify(D, prob, pen, w, b, lin, best_dual, target, datafit, fit_intercept, corr=None):
    """Full certificate at (w, b) given the datafit's ``lin``; returns the WSState fields."""
    convex_gap = datafit.has_gap(pen)
    primal, dual, stat, corr = full_certificate(D, prob, w, b, pen, datafit, fit_intercept, lin=lin,
                                                corr=corr)
    if convex_gap:
        best = jnp.maximum(best_dual, jnp.where(jnp.isfinite(dual), dual, -jnp.inf))
        gap = primal - best
    else:
        best = best_dual
        gap = stat
    score = jnp.where(w != 0, jnp.inf, pen.subdiff_distance(w, -corr))
    return score, corr, best, gap, primal, gap <= target


@functools.partial(jax.jit, static_argnames=("ws_size", "fit_intercept"))
def ws_round(D, probs: Problem, pens, state: WSState, targets, max_iter, *, ws_size: int, datafit,
             fit_intercept: bool):
    """One working-set round for a batch of problems (leading axis of ``probs``, ``pens``, ``state``).
    Problems already converged at entry are returned unchanged. ``datafit`` (without sample weights: a
    pytree with no leaves) selects the inner solver and fixes the program."""

    # solve on the m best features (:func:`solved_size`, the largest over the batch); the bucket B >= m
    # only fixes the compiled shape. m is kept unbatched on purpose: a
    # per-problem loop bound would make vmap turn every row access of the CD loop into a gather (3x).
    if datafit.exact_quadratic:
        nnz, viol = _support_counts(state)
        m = jnp.max(solved_size(nnz, viol))
        m = jnp.minimum(-(-m // UNROLL) * UNROLL, ws_size)
    else:
        m = ws_size

    def single(prob, pen, st: WSState, target):
        convex_gap = datafit.has_gap(pen)
        idx = select_top(st.score, m, ws_size)
        XW = D.columns(idx)
        budget = jnp.maximum(max_iter - st.n_iter, 0)
        sub_target = INNER_RATIO * jnp.maximum(st.gap, target)  # relative to the current gap (skglm, celer)
        if datafit.exact_quadratic:
            w, b, ep, lin = _quad_inner(XW, prob, idx, m, st.w, pen, sub_target, budget, convex_gap,
                                        st.converged)
        else:
            w, b, ep, lin = _newton_inner(datafit, XW, prob, idx, st.w, st.b, pen, sub_target, budget,
                                          convex_gap, fit_intercept, st.converged)
        score, corr, best, gap, primal, conv = _certify(D, prob, pen, w, b, lin, st.best_dual, target,
                                                        datafit, fit_intercept)
        new = WSState(w, b, lin, score, corr, best, gap, primal, st.n_iter + ep, conv)
        return jax.tree_util.tree_map(lambda a, o: jnp.where(st.converged, o, a), new, st)

    if probs.y.shape[0] == 1:  # one problem: no batch axis inside the loops (vmap costs ~10% there)
        first = functools.partial(jax.tree_util.tree_map, lambda a: a[0])
        return jax.tree_util.tree_map(lambda a: a[None], single(*first((probs, pens, state, targets))))
    return jax.vmap(single)(probs, pens, state, targets)


@functools.partial(jax.jit, static_argnames=("fit_intercept",))
def initial_state(D, probs: Problem, pens, w0, b0, targets, warm=None, *, datafit, fit_intercept: bool) -> WSState:
    """Certify the starting point of every problem (b0: intercepts, None for the null model's).
    ``warm`` = (lin, corr) of w0 from an earlier solve of the same data (a path's previous alpha):
    neither depends on the penalty, so the two products with X are skipped."""
    dtype = D.dtype
    if b0 is None:
        b0 = jax.vmap(lambda pr: datafit.intercept0(pr, fit_intercept))(probs)

    def single(prob, pen, w, b, target, lin, corr):
        if lin is None:
            lin = datafit.lin(D, prob, w, b)
        score, corr, best, gap, primal, conv = _certify(D, prob, pen, w, b, lin, jnp.full((), -jnp.inf, dtype),
                                                        target, datafit, fit_intercept, corr=corr)
        return WSState(w, b, lin, score, corr, best, gap, primal, jnp.zeros((), jnp.int32), conv)

    lin0, corr0 = (None, None) if warm is None else warm
    return jax.vmap(single)(probs, pens, w0, b0, targets, lin0, corr0)


@jax.jit
def _progress(state: WSState):
    nnz, viol = _support_counts(state)
    return jnp.stack([nnz, viol, state.n_iter, state.converged.astype(jnp.int32)])


def _support_counts(state: WSState):
    """Per problem: |supp w| and the number of KKT violators outside the support."""
    return jnp.sum(state.w != 0, axis=1), jnp.sum((state.score > 0) & (state.w == 0), axis=1)


def ws_solve(D, probs: Problem, pens, w0, targets, *, datafit, fit_intercept: bool, max_iter: int,
             b0=None, warm=None) -> WSState:
    """Host-driven working-set loop over a batch of problems sharing the design ``D`` (see module
    docstring). The returned iterates are certified (``gap``, ``converged``)."""
    p = D.shape[1]
    datafit = datafit.unweighted()
    state = initial_state(D, probs, pens, w0, b0, targets, warm, datafit=datafit, fit_intercept=fit_intercept)
    mi = np.int32(max_iter)
    while True:
        nnz, viol, n_it, done = np.asarray(_progress(state))
        active = (done == 0) & (n_it < max_iter)
        if not active.any():
            return state
        if datafit.exact_quadratic:
            B = bucket_size(solved_size(nnz[active], viol[active], xp=np).max(), p)
        else:
            B = bucket_size(max(P0, 2 * int(nnz[active].max())), p)  # prox-Newton solves all of B
        state = ws_round(D, probs, pens, state, targets, mi, ws_size=B, datafit=datafit,
                         fit_intercept=fit_intercept)
