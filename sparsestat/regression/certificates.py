"""Optimality certificates, always in objective units.

- Convex penalties (L1, L1L2): duality gap P(w) - D(theta) at a rescaled residual dual point (the
  datafit's ``primal_dual``), the best dual value seen being kept by the solvers (``best_dual``).
  Quadratic: scikit-learn's Lasso/ElasticNet gap; logistic (L1): the entropy dual, with the dual point
  rebalanced so that sum_i theta_i = 0 when an intercept is fitted.
- Nonconvex penalties (MCP, SCAD): the stationarity measure max_j dist(-grad_j, d omega(w_j)).

:func:`certify` checks any (coef, intercept) - a peer's included - against a datafit and penalty.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..linalg.cache import compiled_entry
from ._problem import Problem
from .datafits import check_pair
from .sparse_design import is_sparse, sparse_design

__all__ = ["certify", "Certificate", "stopping_target", "full_certificate", "prepare_batch"]


class Certificate(NamedTuple):
    """gap: duality gap (convex) or stationarity (nonconvex); primal: P(w, b); dual: D (nan if nonconvex);
    target: the value ``gap`` is compared with for ``tol``."""

    gap: jax.Array
    primal: jax.Array
    dual: jax.Array
    target: jax.Array


def stopping_target(X, prob: Problem, pen, datafit, fit_intercept: bool, tol):
    """tol times the problem's scale: the datafit's ``scale`` (convex: <y_c, y_c>_omega, F(0, b0)) or
    alpha_max, the largest |dF/dw_j| of the null model (nonconvex; scale-free in y)."""
    if not pen.is_convex:
        b0 = datafit.intercept0(prob, fit_intercept)
        corr0 = datafit.corr(X, prob, datafit.lin(X, prob, jnp.zeros((X.shape[1],), X.dtype), b0))
        return tol * jnp.max(jnp.abs(corr0))
    return tol * datafit.scale(X, prob, fit_intercept)


def prepare_batch(X, Y, S, pens, tol, datafit, fit_intercept: bool, xm=None):
    """The problems of a batch sharing X (``Y``, ``S``: (T, n); ``pens``: leaves with a leading T) and
    their stopping targets (:func:`stopping_target`). Traceable; the solvers run it inside their first
    compiled program. ``xm`` (T, p): the weighted column means, when the caller has them."""
    if xm is None:
        probs = jax.vmap(lambda y, s: datafit.prepare(X, y, s, fit_intercept))(Y, S)
    else:
        probs = jax.vmap(lambda y, s, m: datafit.prepare(X, y, s, fit_intercept, xm=m))(Y, S, xm)
    targets = jax.vmap(lambda pr, pen: stopping_target(X, pr, pen, datafit, fit_intercept, tol))(probs, pens)
    return probs, targets


def full_certificate(X, prob: Problem, w, b, pen, datafit, fit_intercept: bool, lin=None, corr=None):
    """(primal, dual or nan, stationarity, corr) at (w, b) on the full problem; corr = -dF/dw.
    ``lin`` (the datafit's per-sample array at (w, b)) and ``corr``, if the caller knows them, each
    save one product with X."""
    lin = datafit.lin(X, prob, w, b) if lin is None else lin
    corr = datafit.corr(X, prob, lin) if corr is None else corr
    stat = jnp.max(pen.subdiff_distance(w, -corr))
    if fit_intercept and not datafit.centred_intercept:
        stat = jnp.maximum(stat, jnp.abs(datafit.intercept_grad(prob, lin)))
    if datafit.has_gap(pen):
        primal, dual = datafit.primal_dual(X, prob, lin, corr, w, pen, fit_intercept)
    else:
        primal = datafit.value(prob, lin) + pen.value(w)
        dual = jnp.full((), jnp.nan, X.dtype)
    return primal, dual, stat, corr


@compiled_entry
def certify(X, y, coef, intercept, datafit, penalty, *, sample_weight=None, fit_intercept=None, tol=1e-6):
    """Certificate of any solution (ours or a peer's) for ``datafit`` + ``penalty``.

    For the quadratic datafit with ``fit_intercept`` the intercept is taken as its optimal value given
    ``coef`` (weighted centring), as scikit-learn does. Logistic labels must be in {-1, +1}.

    Returns
    -------
    Certificate
        ``gap`` = P - D (convex) or the stationarity measure (nonconvex), ``primal``, ``dual`` and the
        ``target`` tol * scale used by the solvers.
    """
    X = sparse_design(X, shape=X.shape) if is_sparse(X) else jnp.asarray(X)
    check_pair(datafit, penalty)
    if fit_intercept is None:
        fit_intercept = bool(intercept is not None and intercept != 0)
    sw = sample_weight if sample_weight is not None else datafit.sample_weight
    df = datafit.unweighted()
    prob = df.prepare(X, jnp.asarray(y, X.dtype), sw, fit_intercept)
    w = jnp.asarray(coef, X.dtype)
    b = jnp.asarray(0.0 if intercept is None else intercept, X.dtype)
    primal, dual, stat, _ = full_certificate(X, prob, w, b, penalty, df, fit_intercept)
    target = stopping_target(X, prob, penalty, df, fit_intercept, tol)
    gap = primal - dual if penalty.is_convex else stat
    return Certificate(gap, primal, dual, target)
