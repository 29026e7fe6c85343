"""Inner solver of the working-set prox-Newton (``ws_prox_newton``) for datafits whose ``lin`` is the
linear predictor (logistic): Newton models from the datafit's ``raw_grad`` / ``raw_hessian``, the
intercept profiled out of each model, coordinate-descent passes on the model, a backtracking line
search (skglm's ProxNewton)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from ._problem import Problem
from .inner_cd import ANDERSON_K, _block_gram, _cd_epoch, _inverse, native_epoch, use_native_epoch


LINE_SEARCH_SLACK = 64   # the line search accepts f <= f0 + 64 eps |f0| (_native/logreg_solve.cc: kSlack)


def newton_inner(datafit, XW, prob: Problem, idx, m, w, b, pen, sub_target, budget, convex_gap: bool,
                  fit_intercept, converged):
    """Prox-Newton on the first ``m`` features of the working set (a traced multiple of UNROLL; the
    rest of the bucket is padding, left out of the subproblem) for a datafit whose ``lin`` is the
    linear predictor X w + b (logistic); XW = X[:, idx].T (B, n). Returns (w, b, epochs, X w + b)."""
    dtype = XW.dtype
    Z = jnp.where((jnp.arange(idx.shape[0]) < m)[:, None], XW, 0.0)
    wW = w[idx]
    pen_W = pen.take(idx)
    fi = 1.0 if fit_intercept else 0.0
    native_cd = use_native_epoch(dtype, pen)

    def objective(zlin, wW):
        return datafit.value(prob, zlin) + pen_W.value(wW)

    def sub_cert(zlin, wW):
        if convex_gap:
            P, D = datafit.primal_dual(Z.T, prob, zlin, None, wW, pen_W, fit_intercept)
            return P - D
        g = datafit.raw_grad(prob, zlin)
        st = jnp.max(pen_W.subdiff_distance(wW, Z @ g))
        return jnp.maximum(st, fi * jnp.abs(jnp.sum(g)))

    def newton_step(wW, b, left):
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
        # coordinate descent on the model, blocked as the quadratic solver's (same iterates as one
        # coordinate at a time): the model is 1/2 ||.||^2 weighted by h, its residual rt = -(grc + h Xd)
        if native_cd:
            H = jnp.where(jnp.arange(Zc.shape[0]) < m, (Zc * Zc) @ h, 0.0)
            epoch = native_epoch(Zc, _inverse(H), pen_W, m, h)
        else:
            Gb = _block_gram(Zc, m, h)
            H = jnp.diagonal(Gb, axis1=1, axis2=2).reshape(-1)
            epoch = functools.partial(_cd_epoch, Zc, Gb, _inverse(H), pen_W=pen_W, m=m, h=h)

        def cd_pass(carry, k):  # passes past the epoch cap are computed but not kept
            new = epoch(carry[0], carry[1])
            return jax.tree_util.tree_map(lambda a, c: jnp.where(k < left, a, c), new, carry), None

        (v, _), _ = lax.scan(cd_pass, (wW, -grc), jnp.arange(ANDERSON_K))
        d = v - wW
        Xd = d @ Zc
        # back to the uncentred direction: z changes by Xd - G / Hb, the intercept by -G / Hb - mu . d
        shift = fi * jnp.where(Hb > 0, -G / Hb_safe, 0.0)
        db = shift - jnp.dot(mu, d)
        Xd = Xd + shift
        f0 = objective(zlin, wW)
        # rounding allowed: near the optimum a step lowers the objective by the square of what it lowers
        # the gap by, below the objective's rounding, and a strict f <= f0 then rejects full steps by
        # chance (the native kernel stalled at gaps of 5e-12 f0 at tol 1e-12 that way)
        f_ok = f0 + LINE_SEARCH_SLACK * jnp.finfo(dtype).eps * jnp.abs(f0)

        def ls_cond(c):
            t, k, ok = c
            return (~ok) & (k < 30)

        def ls_body(c):
            t, k, _ = c
            t2 = t * 0.5
            ok = objective(zlin + t2 * Xd, wW + t2 * d) <= f_ok
            return t2, k + 1, ok

        ok0 = objective(zlin + Xd, wW + d) <= f_ok
        t, _, ok = lax.while_loop(ls_cond, ls_body, (jnp.ones((), dtype), jnp.zeros((), jnp.int32), ok0))
        t = jnp.where(ok, t, 0.0)
        return wW + t * d, b + t * db, zlin + t * Xd

    def cond(state):
        _, _, ep, stop = state
        return (~stop) & (ep < budget)

    def body(state):
        wW, b, ep, _ = state
        left = budget - ep
        wW, b, zlin = newton_step(wW, b, left)
        stop = sub_cert(zlin, wW) <= sub_target
        return wW, b, ep + jnp.minimum(ANDERSON_K, left), stop

    wW, b, ep, _ = lax.while_loop(cond, body, (wW, b, jnp.zeros((), jnp.int32), converged))
    return w.at[idx].set(wW), b, ep, wW @ Z + b
