"""Optimality certificates, always in objective units.

- Convex penalties (L1, L1L2): duality gap P(w) - D(theta) at a rescaled residual dual point, the best
  dual value seen being kept by the solvers (``best_dual``). Quadratic: scikit-learn's Lasso/ElasticNet
  gap (the elastic net as the Lasso of [X; sqrt(beta) I]); logistic (L1): the entropy dual, with the
  dual point rebalanced so that sum_i theta_i = 0 when an intercept is fitted.
- Nonconvex penalties (MCP, SCAD): the stationarity measure max_j dist(-grad_j, d omega(w_j)).

:func:`certify` checks any (coef, intercept) - a peer's included - against a datafit and penalty.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy

from ..linalg.cache import compiled_entry
from ._problem import Problem, logistic_intercept0, prepare, quad_corr, quad_residual

__all__ = ["certify", "Certificate", "quadratic_primal_dual", "logistic_primal_dual", "stopping_target"]


class Certificate(NamedTuple):
    """gap: duality gap (convex) or stationarity (nonconvex); primal: P(w, b); dual: D (nan if nonconvex);
    target: the value ``gap`` is compared with for ``tol``."""

    gap: jax.Array
    primal: jax.Array
    dual: jax.Array
    target: jax.Array


def _dual_scale(corr_l1, w, pen):
    """c = min(1, alpha_l1 / dual_norm) with the per-feature factors and the positive constraint."""
    l1, l2 = pen.l1_l2(w.dtype)
    v = 1.0 if getattr(pen, "weights", None) is None else jnp.asarray(pen.weights, w.dtype)
    a = (corr_l1 - l2 * w) / v
    dn = jnp.max(a) if pen.positive else jnp.max(jnp.abs(a))
    return jnp.where(dn > l1, l1 / jnp.where(dn > 0, dn, 1.0), 1.0), l2


def quadratic_primal_dual(R2, ry, corr, w, pen):
    """Primal and dual values of the (elastic-net) Lasso from sufficient statistics:
    R2 = <r, r>_omega, ry = <r, y_c>_omega, corr = X_c^T (omega r)."""
    c, l2 = _dual_scale(corr, w, pen)
    primal = 0.5 * R2 + pen.value(w)
    ww = jnp.sum(w * w)
    dual = c * ry - 0.5 * c * c * (R2 + l2 * ww)
    return primal, dual


def logistic_primal_dual(zlin, y, omega, corr_fn, w, pen, fit_intercept):
    """Primal and dual values of L1 logistic regression at z = Xw + b; ``corr_fn(v)`` returns X^T v."""
    u = jax.nn.sigmoid(-y * zlin)
    primal = jnp.sum(omega * jnp.logaddexp(0.0, -y * zlin)) + pen.value(w)
    if fit_intercept:
        pos = jnp.sum(jnp.where(y > 0, omega * u, 0.0))
        neg = jnp.sum(jnp.where(y > 0, 0.0, omega * u))
        fpos = jnp.where(pos > neg, neg / jnp.where(pos > 0, pos, 1.0), 1.0)
        fneg = jnp.where(neg > pos, pos / jnp.where(neg > 0, neg, 1.0), 1.0)
        u = u * jnp.where(y > 0, fpos, fneg)
    corr = corr_fn(omega * y * u)
    c, _ = _dual_scale(corr, w, pen)
    uc = c * u
    dual = -jnp.sum(omega * (xlogy(uc, uc) + xlogy(1.0 - uc, 1.0 - uc)))
    return primal, dual


def stopping_target(X, prob: Problem, pen, datafit_kind: str, fit_intercept: bool, tol):
    """tol times the problem's scale: <y_c, y_c>_omega (quadratic, convex), F(0, b0) (logistic, convex; at
    least 16 eps sum(omega)), alpha_max (nonconvex; scale-free in y)."""
    if not pen.is_convex:
        if datafit_kind == "quadratic":
            corr0 = quad_corr(X, prob, prob.y - prob.ym)
        else:
            b0 = logistic_intercept0(prob) if fit_intercept else jnp.zeros((), X.dtype)
            corr0 = (prob.omega * prob.y * jax.nn.sigmoid(-prob.y * b0)) @ X
        return tol * jnp.max(jnp.abs(corr0))
    if datafit_kind == "quadratic":
        yc = prob.y - prob.ym
        return tol * jnp.sum(prob.omega * yc * yc)
    b0 = logistic_intercept0(prob) if fit_intercept else jnp.zeros((), X.dtype)
    # floor at rounding level: with one effective class (e.g. zero weight on the other) F(0, b0) is ~0,
    # the optimum sits at an infinite intercept, and tol * F(0, b0) would be unreachable
    floor = 16 * jnp.finfo(X.dtype).eps * jnp.sum(prob.omega)
    return jnp.maximum(tol * jnp.sum(prob.omega * jnp.logaddexp(0.0, -prob.y * b0)), floor)


def full_certificate(X, prob: Problem, w, b, pen, datafit_kind: str, fit_intercept: bool, lin=None, corr=None):
    """(primal, dual or nan, stationarity, corr) at (w, b) on the full problem; corr = -dF/dw.
    ``lin``, if given, is the residual y_c - X_c w (quadratic) or X w + b (logistic) at (w, b), and
    ``corr`` (quadratic only) its correlation X_c^T (omega r), already known to the caller: each saves
    one product with X."""
    if datafit_kind == "quadratic":
        r = quad_residual(X, prob, w) if lin is None else lin
        corr = quad_corr(X, prob, r) if corr is None else corr
        if pen.is_convex:
            R2 = jnp.sum(prob.omega * r * r)
            ry = jnp.sum(prob.omega * r * (prob.y - prob.ym))
            primal, dual = quadratic_primal_dual(R2, ry, corr, w, pen)
        else:
            primal = 0.5 * jnp.sum(prob.omega * r * r) + pen.value(w)
            dual = jnp.full((), jnp.nan, X.dtype)
        stat = jnp.max(pen.subdiff_distance(w, -corr))
        return primal, dual, stat, corr
    zlin = X @ w + b if lin is None else lin
    u = jax.nn.sigmoid(-prob.y * zlin)
    corr = (prob.omega * prob.y * u) @ X
    stat = jnp.max(pen.subdiff_distance(w, -corr))
    if fit_intercept:
        stat = jnp.maximum(stat, jnp.abs(jnp.sum(prob.omega * prob.y * u)))
    if pen.is_convex:
        primal, dual = logistic_primal_dual(zlin, prob.y, prob.omega, lambda v: v @ X, w, pen, fit_intercept)
    else:
        primal = jnp.sum(prob.omega * jnp.logaddexp(0.0, -prob.y * zlin)) + pen.value(w)
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
    from .solve import _check_pair  # local import: solve imports this module

    X = jnp.asarray(X)
    kind = datafit.kind
    _check_pair(datafit, penalty)
    if fit_intercept is None:
        fit_intercept = bool(intercept is not None and intercept != 0)
    sw = sample_weight if sample_weight is not None else datafit.sample_weight
    prob = prepare(X, jnp.asarray(y, X.dtype), sw, center=(kind == "quadratic" and fit_intercept))
    w = jnp.asarray(coef, X.dtype)
    b = jnp.asarray(0.0 if intercept is None else intercept, X.dtype)
    primal, dual, stat, _ = full_certificate(X, prob, w, b, penalty, kind, fit_intercept)
    target = stopping_target(X, prob, penalty, kind, fit_intercept, tol)
    gap = primal - dual if penalty.is_convex else stat
    return Certificate(gap, primal, dual, target)
