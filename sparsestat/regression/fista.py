"""FISTA with adaptive (gradient) restart on the full problem: the traceable solver.

Pure ``lax.while_loop``: jit-able and vmap-able (folds, penalty grids, targets, problems run in
lockstep with identical control flow), so it is what ``solve`` uses under ``jax.jit``/``jax.vmap``
and on accelerators. Step 1/L with L = 1.02 x the datafit's curvature bound x a 30-step power-iteration
estimate (:func:`sparsestat.linalg.power_iteration`) of lambda_max(X_c^T diag(omega) X_c) (intercept
column included when the intercept is a coordinate, as for the logistic datafit);
momentum reset when <y_k - w_{k+1}, w_{k+1} - w_k> > 0 (O'Donoghue & Candes 2015) or when the
objective rises; certificate (best dual point kept) every ``check_every`` iterations.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from ..linalg.operators import LinearOperator
from ..linalg.spectral import power_iteration
from ._problem import Problem
from .certificates import full_certificate

CHECK_EVERY = 10


class FistaState(NamedTuple):
    w: jax.Array
    b: jax.Array
    v: jax.Array   # momentum point (coefficients)
    vb: jax.Array  # momentum point (intercept)
    t: jax.Array
    obj: jax.Array
    best_dual: jax.Array
    gap: jax.Array
    n_iter: jax.Array
    converged: jax.Array


class _WeightedDesign(LinearOperator):
    """diag(sqrt(omega)) [X_c, 1] as an operator (the intercept column only when ``with_b``): its squared
    norm is lambda_max(X_c^T diag(omega) X_c), the datafit's curvature aside."""

    def __init__(self, X, prob: Problem, with_b: bool):
        self.X, self.prob, self.with_b = X, prob, with_b
        self.sq = jnp.sqrt(prob.omega)
        p = X.shape[1]
        self.shape = (X.shape[0], p + (1 if with_b else 0))
        self.dtype = X.dtype

    def matvec(self, v):
        p = self.X.shape[1]
        w = v[:p]
        z = self.X @ w - jnp.dot(self.prob.xm, w)
        if self.with_b:
            z = z + v[p]
        return self.sq * z

    def rmatvec(self, u):
        su = self.sq * u
        out = su @ self.X - self.prob.xm * jnp.sum(su)
        return jnp.concatenate([out, jnp.sum(su)[None]]) if self.with_b else out


def lipschitz(X, prob: Problem, datafit, fit_intercept: bool, n_iter: int = 30):
    """1.02 x power-iteration estimate of the datafit's gradient Lipschitz constant."""
    with_b = fit_intercept and not datafit.centred_intercept
    sigma = power_iteration(_WeightedDesign(X, prob, with_b), n_iter=n_iter)
    return jnp.maximum(1.02 * datafit.curvature_bound * sigma * sigma, jnp.finfo(X.dtype).tiny)


def _grad_obj(X, prob, w, b, pen, datafit):
    """(-dF/dw, -dF/db, objective) at (w, b)."""
    lin = datafit.lin(X, prob, w, b)
    return (datafit.corr(X, prob, lin), datafit.intercept_grad(prob, lin),
            datafit.value(prob, lin) + pen.value(w))


def fista_solve(X, prob: Problem, pen, w0, b0, target, *, datafit, fit_intercept: bool, max_iter):
    """Restarted FISTA for one problem (vmap it for batches). Returns a FistaState."""
    dtype = X.dtype
    L = lipschitz(X, prob, datafit, fit_intercept)
    step = 1.0 / L
    use_b = fit_intercept and not datafit.centred_intercept
    convex_gap = datafit.has_gap(pen)

    def certify(w, b, best):
        primal, dual, stat, _ = full_certificate(X, prob, w, b, pen, datafit, fit_intercept)
        if convex_gap:
            best = jnp.maximum(best, jnp.where(jnp.isfinite(dual), dual, -jnp.inf))
            return primal - best, best
        return stat, best

    def it(st: FistaState, _):
        corr, cb, _ = _grad_obj(X, prob, st.v, st.vb, pen, datafit)
        w_new = pen.prox(st.v + step * corr, step)
        b_new = st.vb + step * cb if use_b else st.vb
        _, _, obj_new = _grad_obj(X, prob, w_new, b_new, pen, datafit)
        restart = (jnp.dot(st.v - w_new, w_new - st.w) + (st.vb - b_new) * (b_new - st.b) > 0) | (obj_new > st.obj)
        t = jnp.where(restart, 1.0, st.t)
        t_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_new
        v = w_new + beta * (w_new - st.w)
        vb = b_new + beta * (b_new - st.b)
        return st._replace(w=w_new, b=b_new, v=jnp.where(restart, w_new, v), vb=jnp.where(restart, b_new, vb),
                           t=jnp.where(restart, 1.0, t_new), obj=obj_new, n_iter=st.n_iter + 1), None

    def cond(st):
        return (~st.converged) & (st.n_iter < max_iter)

    def body(st):
        st, _ = lax.scan(it, st, None, length=CHECK_EVERY)
        gap, best = certify(st.w, st.b, st.best_dual)
        return st._replace(gap=gap, best_dual=best, converged=gap <= target)

    _, _, obj0 = _grad_obj(X, prob, w0, b0, pen, datafit)
    gap0, best0 = certify(w0, b0, jnp.full((), -jnp.inf, dtype))
    st0 = FistaState(w0, b0, w0, b0, jnp.ones((), dtype), obj0, best0, gap0, jnp.zeros((), jnp.int32),
                     gap0 <= target)
    return lax.while_loop(cond, body, st0)
