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

Every returned iterate is therefore certified. The rounds run inside one compiled ``lax.while_loop``
at a bucket size B = min(p, next power of two >= max(128, m)) (at most ceil(log2 p) + 1 compiled
sizes; a single one, B = p, for p <= 512): the host is re-entered only when a problem's working set
outgrows B (it then picks the next bucket), not once per round as celer and skglm do. A path
(:func:`ws_path`) is one ``lax.scan`` over the decreasing alphas with warm starts inside that program.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..linalg.shapes import next_pow2
from ._problem import Problem
from .certificates import full_certificate, prepare_batch
from .inner_cd import UNROLL, quad_inner, quad_inner_rows, use_rows_inner
from .inner_cd_sparse import sparse_quad_inner, use_sparse_inner
from .inner_newton import newton_inner

INNER_RATIO = 0.3
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


# ----------------------------------------------------------------------------- one round
def select_top(score, m, size: int):
    """Indices (size,) whose first min(m, p) entries are a set of the m largest scores, in increasing
    index order (ties broken towards the smaller index), followed by the other indices in order.

    A bisection on the scores' bit patterns (scores are >= 0, so the patterns are ordered as the
    values) for the m-th largest value; selection and placement are then O(p) counts and one scatter.
    The bisection stops as soon as a midpoint has exactly m patterns above it (the m largest are then
    those), and is skipped when at most m scores are positive (the threshold is 0): late rounds, whose
    working set holds every violator, take one pass over the scores instead of 64. On XLA:CPU each
    pass costs 50 us at p = 50 000 (a full 64-step bisection 3.7 ms, lax.top_k more); at p = 5000 the
    64 steps took 0.55 ms against 1.3-1.5 ms for lax.top_k.
    """
    p = score.shape[0]
    itype = jnp.int64 if score.dtype == jnp.float64 else jnp.int32
    bits = lax.bitcast_convert_type(jnp.maximum(score, 0.0), itype)
    m = jnp.minimum(m, p)

    # invariant: count(bits > lo) >= m > count(bits > hi), or done with exactly m patterns above hi
    def cond(c):
        lo, hi, done = c
        return (~done) & (hi - lo > 1)

    def halve(c):
        lo, hi, _ = c
        mid = lo + (hi - lo) // 2
        above = jnp.sum(bits > mid)
        below = above <= m
        return jnp.where(below, lo, mid), jnp.where(below, mid, hi), above == m

    n_pos = jnp.sum(bits > 0)
    zero, one = jnp.asarray(0, itype), jnp.asarray(1, itype)
    start = (jnp.where(n_pos <= m, -one, zero), jnp.where(n_pos <= m, zero, jnp.max(bits)), n_pos == m)
    _, u, _ = lax.while_loop(cond, halve, start)
    gt = bits > u  # u is the m-th largest pattern (or has exactly m above it: nothing left to fill)
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


MAX_ROUNDS = 100_000  # safety cap per compiled call: every round of an active problem spends >= 1
#                       epoch of its max_iter budget, so max_iter ends the loop long before


def _round(D, probs: Problem, pens, state: WSState, targets, max_iter, ws_size: int, datafit,
           fit_intercept: bool, in_place: bool = True):
    """One working-set round for a batch of problems (leading axis of ``probs``, ``pens``, ``state``).
    Problems already done at entry are returned unchanged. ``datafit`` (without sample weights: a
    pytree with no leaves) selects the inner solver."""

    # solve on the m best features (:func:`solved_size`, the largest over the batch); the bucket B >= m
    # only fixes the compiled shape. m is kept unbatched on purpose: a
    # per-problem loop bound would make vmap turn every row access of the CD loop into a gather (3x).
    nnz, viol = _support_counts(state)
    m = jnp.max(_wanted(nnz, viol, datafit))
    m = jnp.minimum(-(-m // UNROLL) * UNROLL, ws_size)

    def single(prob, pen, st: WSState, target):
        convex_gap = datafit.has_gap(pen)
        idx = select_top(st.score, m, ws_size)
        budget = jnp.maximum(max_iter - st.n_iter, 0)
        sub_target = INNER_RATIO * jnp.maximum(st.gap, target)  # relative to the current gap (skglm, celer)
        # no violator left outside the support: the working set holds every feature the solution needs,
        # so this round aims at the final target (0.3x, for the certificate's weaker dual point) instead
        # of 0.3x the current gap, which cost a round (gather, products, certificate) per 5 epochs at
        # 1000 x 5000, alpha_max / 100: 26 -> 17 rounds, 0.25 -> 0.17 s
        all_in = jnp.sum((st.score > 0) & (st.w == 0)) == 0
        sub_target = jnp.where(all_in, jnp.minimum(sub_target, INNER_RATIO * target), sub_target)
        if datafit.exact_quadratic and use_sparse_inner(D):    # sparse X: O(nnz) a coordinate, no dense block
            w, b, ep, lin = sparse_quad_inner(D, prob, idx, m, st.w, pen, sub_target, budget, convex_gap,
                                              st.converged)
        elif datafit.exact_quadratic and use_rows_inner(D, pen):   # CPU: rows read in place, no (B, n) copy
            w, b, ep, lin = quad_inner_rows(D.XT, prob, idx, m, st.w, pen, sub_target, budget, convex_gap,
                                            st.converged, in_place=in_place)
        elif datafit.exact_quadratic:
            XW = D.columns(idx)
            w, b, ep, lin = quad_inner(XW, prob, idx, m, st.w, pen, sub_target, budget, convex_gap,
                                       st.converged)
        else:
            XW = D.columns(idx)
            w, b, ep, lin = newton_inner(datafit, XW, prob, idx, m, st.w, st.b, pen, sub_target, budget,
                                         convex_gap, fit_intercept, st.converged)
        score, corr, best, gap, primal, conv = _certify(D, prob, pen, w, b, lin, st.best_dual, target,
                                                        datafit, fit_intercept)
        new = WSState(w, b, lin, score, corr, best, gap, primal, st.n_iter + ep, conv)
        done = st.converged | (st.n_iter >= max_iter)
        return jax.tree_util.tree_map(lambda a, o: jnp.where(done, o, a), new, st)

    if probs.y.shape[0] == 1:  # one problem: no batch axis inside the loops (vmap costs ~10% there)
        first = functools.partial(jax.tree_util.tree_map, lambda a: a[0])
        return jax.tree_util.tree_map(lambda a: a[None], single(*first((probs, pens, state, targets))))
    return jax.vmap(single)(probs, pens, state, targets)


def _initial_state(D, probs: Problem, pens, w0, b0, targets, warm, datafit, fit_intercept: bool) -> WSState:
    """Certify the starting point of every problem (b0: intercepts, None for the null model's).
    ``warm`` = (lin, corr) of (w0, b0) known to the caller (a path's previous alpha): neither depends
    on the penalty, so the two products with X are skipped."""
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


def _support_counts(state: WSState):
    """Per problem: |supp w| and the number of KKT violators outside the support."""
    return jnp.sum(state.w != 0, axis=1), jnp.sum((state.score > 0) & (state.w == 0), axis=1)


def _wanted(nnz, viol, datafit, xp=jnp):
    """The working-set size a round wants: :func:`solved_size` (CD solves the first m of the bucket),
    or max(P0, 2 nnz) for prox-Newton (which solves all of it)."""
    return solved_size(nnz, viol, xp=xp) if datafit.exact_quadratic else xp.maximum(P0, 2 * nnz)


def _need(state: WSState, max_iter, datafit):
    """(any problem still active, the largest size an active problem wants)."""
    nnz, viol = _support_counts(state)
    active = (~state.converged) & (state.n_iter < max_iter)
    return jnp.any(active), jnp.max(jnp.where(active, _wanted(nnz, viol, datafit), 0))


def _rounds(D, probs, pens, state, targets, max_iter, ws_size: int, datafit, fit_intercept: bool,
            sub_bucket: bool = False, in_place: bool = True):
    """Rounds at bucket ``ws_size`` until every problem is done or one wants a larger bucket.
    Returns (state, outgrown): outgrown when an active problem wants more than ``ws_size`` < p.

    ``sub_bucket``: in a single-bucket program (ws_size = p <= SINGLE_BUCKET_P) also compile the round
    at MIN_BUCKET and take it while what a round solves fits there: a round's gathers and products
    scale with its bucket, and most alphas of a path solve 64-128 of p <= 512 features (200 x 500
    100-alpha path: -15-20 %). Paths and CV take it; a single fit does not (a second round body
    costs a fresh process 1.2 s of compilation or 0.2 s of loading, more than a fit saves).

    ``in_place``: dense rounds on CPU read the working set's rows in place (single fits); paths pass
    False and gather each round's block, as their many short, CG-heavy rounds want XLA's multi-threaded
    products (:func:`~sparsestat.regression.inner_cd.quad_inner_rows`)."""
    p = D.shape[1]

    def cond(c):
        st, k = c
        active, need = _need(st, max_iter, datafit)
        return active & ((need <= ws_size) | (ws_size >= p)) & (k < MAX_ROUNDS)

    def round_at(size, st):
        return _round(D, probs, pens, st, targets, max_iter, size, datafit, fit_intercept, in_place=in_place)

    def body(c):
        st, k = c
        if sub_bucket and MIN_BUCKET < ws_size == p <= SINGLE_BUCKET_P:
            small = _need(st, max_iter, datafit)[1] <= MIN_BUCKET
            st = lax.cond(small, functools.partial(round_at, MIN_BUCKET), functools.partial(round_at, ws_size), st)
        else:
            st = round_at(ws_size, st)
        return st, k + 1

    state, _ = lax.while_loop(cond, body, (state, jnp.zeros((), jnp.int32)))
    active, need = _need(state, max_iter, datafit)
    return state, jnp.stack([active.astype(jnp.int32), need.astype(jnp.int32)])


def _results(probs: Problem, state: WSState, datafit, fit_intercept: bool):
    """What a caller reads back: (coef, intercept, gap, n_iter, converged), batched."""
    b = datafit.intercept(probs, state.w, state.b, fit_intercept)
    return state.w, b, state.gap, state.n_iter, state.converged


@functools.partial(jax.jit, static_argnames=("ws_size", "fit_intercept"))
def ws_fit(D, Y, S, pens, w0, tol, warm, max_iter, xm=None, *, ws_size: int, datafit, fit_intercept: bool):
    """The first compiled call of a solve: prepare the problems (weights, centring, stopping targets),
    certify the start, run rounds at bucket ``ws_size``. Returns ``(state, [active, need], probs,
    targets, results)`` (:func:`_results`). One program, so that a small fit is one dispatch. ``xm``
    (T, p): the problems' column means when the caller has them (no pass over X for them)."""
    probs, targets = prepare_batch(D, Y, S, pens, tol, datafit, fit_intercept, xm=xm)
    state = _initial_state(D, probs, pens, w0, None, targets, warm, datafit, fit_intercept)
    state, flags = _rounds(D, probs, pens, state, targets, max_iter, ws_size, datafit, fit_intercept)
    return state, flags, probs, targets, _results(probs, state, datafit, fit_intercept)


@functools.partial(jax.jit, static_argnames=("ws_size", "fit_intercept"))
def ws_continue(D, probs: Problem, pens, state: WSState, targets, max_iter, *, ws_size: int, datafit,
                fit_intercept: bool):
    """More rounds from ``state`` at a larger bucket: ``(state, [active, need], results)``."""
    state, flags = _rounds(D, probs, pens, state, targets, max_iter, ws_size, datafit, fit_intercept)
    return state, flags, _results(probs, state, datafit, fit_intercept)


def first_bucket(w0_host, p: int, datafit) -> int:
    """The bucket of the first compiled call, from the start's support (host numpy, or None for zeros):
    the largest size the first round can want (viol <= max(nnz, P0))."""
    nnz = 0 if w0_host is None else int(np.max(np.count_nonzero(np.asarray(w0_host), axis=-1), initial=0))
    want = nnz + max(nnz, P0) if datafit.exact_quadratic else max(P0, 2 * nnz)
    return bucket_size(want, p)


def ws_solve(D, Y, S, pens, w0, tol, *, datafit, fit_intercept: bool, max_iter: int, warm=None,
             w0_host=None, xm=None):
    """The working-set solve of a batch of problems sharing the design ``D`` (see the module
    docstring): one compiled call (:func:`ws_fit`), plus one per bucket a working set outgrows.
    ``Y``, ``S`` (T, n) targets and sample weights, ``pens`` (leading axis T), ``w0`` (T, p) may be
    numpy (handed over with the call). ``w0_host``: the start on the host, if the caller has it (sizes
    the first bucket without a device read). ``xm`` (T, p): the column means of the problems' centring,
    when the caller has them (``Design.col_means`` of an unweighted fit).

    Returns ``(state, probs, results)``: the final :class:`WSState` (on the device; its iterates are
    certified), the prepared problems, and (coef, intercept, gap, n_iter, converged) as numpy arrays,
    read back in the one device read of each compiled call."""
    p = D.shape[1]
    datafit = datafit.unweighted()
    mi = np.int32(max_iter)
    B = first_bucket(w0_host, p, datafit)
    state, flags, probs, targets, out = ws_fit(D, Y, S, pens, w0, tol, warm, mi, xm, ws_size=B, datafit=datafit,
                                               fit_intercept=fit_intercept)
    while True:
        (active, need), out_h = jax.device_get((flags, out))
        if not active:
            return state, probs, out_h
        B = max(B, bucket_size(int(need), p))
        state, flags, out = ws_continue(D, probs, pens, state, targets, mi, ws_size=B, datafit=datafit,
                                        fit_intercept=fit_intercept)


# ----------------------------------------------------------------------------- paths
@functools.partial(jax.jit, static_argnames=("ws_size", "fit_intercept"))
def ws_path(D, probs: Problem, pen_grid, w0, b0, targets, max_iter, start, *, ws_size: int, datafit,
            fit_intercept: bool):
    """A grid of penalties (leading axis of ``pen_grid``'s leaves, decreasing regularisation) solved in
    one ``lax.scan`` from grid index ``start`` (traced: a resumed path reuses the program), each problem
    warm-started at the previous solution (its ``lin`` and ``corr`` reused: they do not depend on the
    penalty). An alpha at which a working set outgrows ``ws_size`` stops the scan: it and the later ones
    are flagged ``stopped`` and the host resumes there with a larger bucket. Returns (w, b, gap, n_iter,
    converged, stopped, need), each with a leading grid axis (entries before ``start`` are not computed)."""
    dtype = D.dtype
    if b0 is None:
        b0 = jax.vmap(lambda pr: datafit.intercept0(pr, fit_intercept))(probs)
    lin0 = jax.vmap(lambda pr, w, b: datafit.lin(D, pr, w, b))(probs, w0, b0)
    corr0 = jax.vmap(lambda pr, ln: datafit.corr(D, pr, ln))(probs, lin0)
    T = w0.shape[0]
    A = jax.tree_util.tree_leaves(pen_grid)[0].shape[0]

    def step(carry, xs):
        pen, k = xs
        w, b, lin, corr, stopped = carry

        def run(_):
            st = _initial_state(D, probs, pen, w, b, targets, (lin, corr), datafit, fit_intercept)
            return _rounds(D, probs, pen, st, targets, max_iter, ws_size, datafit, fit_intercept, sub_bucket=True,
                           in_place=False)

        def skip(_):
            z = jnp.zeros((T,), dtype)
            st = WSState(w, b, lin, jnp.zeros_like(w), corr, z, jnp.full((T,), jnp.inf, dtype), z,
                         jnp.zeros((T,), jnp.int32), jnp.zeros((T,), bool))
            return st, jnp.zeros((2,), jnp.int32)

        idle = stopped | (k < start)
        st, (active, need) = lax.cond(idle, skip, run, None)
        outgrown = (active > 0) & ~idle          # resume from this alpha with a larger bucket
        stopped = stopped | outgrown
        return (st.w, st.b, st.lin, st.corr, stopped), (st.w, st.b, st.gap, st.n_iter, st.converged, stopped,
                                                        need)

    init = (w0, b0, lin0, corr0, jnp.zeros((), bool))
    _, outs = lax.scan(step, init, (pen_grid, jnp.arange(A)))
    return outs
