"""Datafits F(w, b) as small pytrees, with normalised sample weights omega_i = s_i / sum(s).

- :class:`Quadratic`: F = 1/2 sum_i omega_i (y_i - x_i^T w - b)^2 (scikit-learn's Lasso/ElasticNet scale,
  1/(2n) ||y - Xw - b||^2 without weights).
- :class:`Logistic`: F = sum_i omega_i log(1 + exp(-y_i (x_i^T w + b))), y_i in {-1, +1} (skglm's Logistic).

Both take an optional ``sample_weight`` (non-negative, not all zero); :func:`~sparsestat.regression.solve`'s
``sample_weight`` argument takes precedence.

**The interface every solver uses** (in the style of skglm's datafits; the solvers never ask which
datafit they hold). A datafit keeps one per-sample array ``lin`` for an iterate (w, b), from which its
value and gradient follow without touching X:

- ``lin(X, prob, w, b)``: the residual y_c - X_c w (quadratic; the intercept is profiled out by weighted
  centring) or the linear predictor X w + b (logistic);
- ``value(prob, lin)``, ``raw_grad(prob, lin)`` = dF/dz per sample, ``raw_hessian(prob, lin)`` = d2F/dz2;
- ``corr(X, prob, lin)`` = -dF/dw (centred when the intercept is), ``intercept_grad(prob, lin)`` = -dF/db
  for an explicit intercept coordinate (0 where centring profiles it out);
- ``curvature_bound``: sup d2F/dz2 per unit weight (1, 1/4): the gradient's Lipschitz constant is it
  times lambda_max(X_c^T diag(omega) X_c);
- ``intercept0(prob, fit_intercept)``: the null model's intercept; ``intercept(prob, w, b, ...)``: the
  reported one; ``encode(Y, xp)``: labels as the datafit wants them;
- ``scale(X, prob, fit_intercept)``: what ``tol`` is relative to (convex penalties);
  ``primal_dual(X, prob, lin, corr, w, pen, fit_intercept)``: primal and dual values for the duality gap
  (the conjugate of F at a rescaled residual), ``has_gap(pen)``: whether that gap is available;
- ``centred_intercept``: the intercept is handled by weighted centring (quadratic) rather than as a
  coordinate; ``exact_quadratic``: F is its own second-order model, so a working-set coordinate
  descent solves the subproblem exactly (else the solvers take prox-Newton steps).

The logistic loss itself comes from :mod:`sparsestat.linalg.losses` (shared with gemss and the mcmc
targets).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy
from jax.tree_util import register_pytree_node_class

from ..linalg.losses import logistic_curvature, logistic_grad, logistic_loss, squared_loss
from ._problem import Problem, prepare
from .penalties import L0, L1, L1L2, MCP, SCAD

__all__ = ["Quadratic", "Logistic", "check_pair", "quadratic_primal_dual", "logistic_primal_dual"]


class _Datafit:
    centred_intercept = False
    exact_quadratic = False
    curvature_bound = 1.0

    def __init__(self, sample_weight=None):
        self.sample_weight = sample_weight

    def tree_flatten(self):
        return (self.sample_weight,), ()

    @classmethod
    def tree_unflatten(cls, aux, leaves):
        return cls(*leaves)

    def __repr__(self):
        return f"{type(self).__name__}()"

    def unweighted(self):
        """The same datafit without its ``sample_weight`` leaf: a pytree with no leaves, so passing it
        to a compiled function keys the program on the datafit's type only."""
        return type(self)()

    def encode(self, Y, xp=jnp):
        return Y

    def prepare(self, X, y, sample_weight, fit_intercept: bool, xm=None) -> Problem:
        return prepare(X, y, sample_weight, center=self.centred_intercept and fit_intercept, xm=xm)

    def corr(self, X, prob: Problem, lin):
        """-dF/dw = -X_c^T raw_grad (prob.xm is zero unless the intercept is centred)."""
        g = self.raw_grad(prob, lin)
        return -(g @ X) + prob.xm * jnp.sum(g)


@register_pytree_node_class
class Quadratic(_Datafit):
    """Least squares: F(z) = 1/2 sum_i omega_i (y_i - z_i)^2 with z = Xw + b; ``lin`` is the residual."""

    centred_intercept = True
    exact_quadratic = True
    curvature_bound = 1.0

    def lin(self, X, prob: Problem, w, b=None):
        """r = y_c - X_c w."""
        return (prob.y - prob.ym) - (X @ w - jnp.dot(prob.xm, w))

    def value(self, prob: Problem, lin):
        return squared_loss(0.0, lin, prob.omega)

    def raw_grad(self, prob: Problem, lin):
        return -prob.omega * lin

    def raw_hessian(self, prob: Problem, lin):
        return prob.omega

    def intercept_grad(self, prob: Problem, lin):
        return jnp.zeros((), lin.dtype)

    def intercept0(self, prob: Problem, fit_intercept: bool):
        return jnp.zeros((), prob.y.dtype)

    def intercept(self, prob: Problem, w, b, fit_intercept: bool, xp=jnp):
        """The optimal intercept given w: ym - xm . w (weighted centring)."""
        if not fit_intercept:
            return xp.zeros(xp.shape(w)[:-1], w.dtype)
        return prob.ym - xp.sum(w * prob.xm, axis=-1)

    def scale(self, X, prob: Problem, fit_intercept: bool):
        """<y_c, y_c>_omega (scikit-learn's)."""
        yc = prob.y - prob.ym
        return jnp.sum(prob.omega * yc * yc)

    def has_gap(self, pen) -> bool:
        return bool(pen.is_convex)

    def primal_dual(self, X, prob: Problem, lin, corr, w, pen, fit_intercept: bool):
        R2 = jnp.sum(prob.omega * lin * lin)
        ry = jnp.sum(prob.omega * lin * (prob.y - prob.ym))
        return quadratic_primal_dual(R2, ry, corr, w, pen)


@register_pytree_node_class
class Logistic(_Datafit):
    """Logistic loss: F(z) = sum_i omega_i log(1 + exp(-y_i z_i)), y_i in {-1, +1}; ``lin`` is z."""

    curvature_bound = 0.25

    def encode(self, Y, xp=jnp):
        return xp.where(Y > 0, 1.0, -1.0).astype(Y.dtype)

    def lin(self, X, prob: Problem, w, b):
        """z = X w + b."""
        return X @ w + b

    def value(self, prob: Problem, lin):
        return logistic_loss(lin, prob.y, prob.omega)

    def raw_grad(self, prob: Problem, lin):
        return logistic_grad(lin, prob.y, prob.omega)

    def raw_hessian(self, prob: Problem, lin):
        return logistic_curvature(lin, prob.y, prob.omega)

    def intercept_grad(self, prob: Problem, lin):
        return -jnp.sum(self.raw_grad(prob, lin))

    def intercept0(self, prob: Problem, fit_intercept: bool):
        """The null model's intercept: the logit of the weighted fraction of y = +1 (0 without one)."""
        if not fit_intercept:
            return jnp.zeros((), prob.y.dtype)
        f = jnp.clip(jnp.sum(prob.omega * (prob.y > 0)), 1e-12, 1 - 1e-12)
        return jnp.log(f) - jnp.log1p(-f)

    def intercept(self, prob: Problem, w, b, fit_intercept: bool, xp=jnp):
        return b if fit_intercept else xp.zeros(xp.shape(w)[:-1], w.dtype)

    def scale(self, X, prob: Problem, fit_intercept: bool):
        """F(0, b0), floored at rounding level: with one effective class (e.g. zero weight on the other)
        F(0, b0) is ~0, the optimum sits at an infinite intercept and tol F(0, b0) would be unreachable."""
        b0 = self.intercept0(prob, fit_intercept)
        floor = 16 * jnp.finfo(X.dtype).eps * jnp.sum(prob.omega)
        return jnp.maximum(logistic_loss(b0, prob.y, prob.omega), floor)

    def has_gap(self, pen) -> bool:
        return bool(pen.is_convex and isinstance(pen, L1))

    def primal_dual(self, X, prob: Problem, lin, corr, w, pen, fit_intercept: bool):
        return logistic_primal_dual(lin, prob.y, prob.omega, lambda v: v @ X, w, pen, fit_intercept)


def check_pair(datafit, penalty):
    """TypeError unless ``datafit`` and ``penalty`` are ones the solvers know; L0 is quadratic only."""
    if not isinstance(datafit, (Quadratic, Logistic)):
        raise TypeError(f"datafit must be Quadratic() or Logistic(), got {type(datafit).__name__}")
    if not isinstance(penalty, (L1, L1L2, MCP, SCAD, L0)):
        raise TypeError(f"penalty must be one of L1, L1L2, MCP, SCAD, L0, got {type(penalty).__name__}")
    if isinstance(penalty, L0) and isinstance(datafit, Logistic):
        raise NotImplementedError("the L0 constraint is implemented for the Quadratic datafit only (IHT)")
    check_penalty_values(penalty)


# the hyperparameters a penalty may carry: (name, lower bound, lower bound allowed, upper bound)
_BOUNDS = {"alpha": (0.0, True, None), "l1_ratio": (0.0, True, 1.0), "weights": (0.0, True, None)}


def check_penalty_values(penalty):
    """ValueError/TypeError naming the hyperparameter when a concrete (untraced) one is not a finite
    number in its range: alpha >= 0, l1_ratio in [0, 1], weights >= 0, MCP gamma > 1, SCAD gamma > 2,
    L0 n_nonzero_coefs an integer >= 1. Traced values (inside jit or vmap) are the caller's."""
    import numpy as np

    bounds = dict(_BOUNDS)
    if isinstance(penalty, (MCP, SCAD)):
        bounds["gamma"] = (1.0 if isinstance(penalty, MCP) else 2.0, False, None)
    for name, (lo, lo_ok, hi) in bounds.items():
        v = getattr(penalty, name, None)
        if v is None or isinstance(v, jax.core.Tracer):
            continue
        try:
            a = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number or an array of numbers, got {v!r}") from None
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite, got {v!r}")
        if np.any(a < lo) or (not lo_ok and np.any(a == lo)) or (hi is not None and np.any(a > hi)):
            rng = f"in [{lo:g}, {hi:g}]" if hi is not None else (f">= {lo:g}" if lo_ok else f"> {lo:g}")
            raise ValueError(f"{name} must be {rng}, got {v!r}")
    if isinstance(penalty, L0):
        k = penalty.n_nonzero_coefs
        if not isinstance(k, jax.core.Tracer):
            a = np.asarray(k)
            if a.dtype.kind not in "iu" or np.any(a < 1):
                raise ValueError(f"n_nonzero_coefs must be an integer >= 1, got {k!r}")


# ----------------------------------------------------------------------------- conjugates (duality gaps)
def _dual_scale(corr_l1, w, pen):
    """c = min(1, alpha_l1 / dual_norm) with the per-feature factors and the positive constraint."""
    l1, l2 = pen.l1_l2(w.dtype)
    v = 1.0 if getattr(pen, "weights", None) is None else jnp.asarray(pen.weights, w.dtype)
    a = (corr_l1 - l2 * w) / v
    dn = jnp.max(a) if pen.positive else jnp.max(jnp.abs(a))
    return jnp.where(dn > l1, l1 / jnp.where(dn > 0, dn, 1.0), 1.0), l2


def quadratic_primal_dual(R2, ry, corr, w, pen):
    """Primal and dual values of the (elastic-net) Lasso from sufficient statistics:
    R2 = <r, r>_omega, ry = <r, y_c>_omega, corr = X_c^T (omega r). scikit-learn's two gaps:

    - l1 > 0 (formulation A): the elastic net as the Lasso of [X; sqrt(l2) I], dual point c r rescaled
      into the l1 ball;
    - l1 = 0, l2 > 0 (ridge, formulation B): the elastic net's own Fenchel dual at theta = r,
      D(r) = <r, y_c> - |r|^2 / 2 - |corr|^2 / (2 l2), finite because the l2 term makes the penalty's
      conjugate finite. (A's scale c = l1 / |corr - l2 w|_inf is 0 there: that gap would equal the
      primal and never close.)"""
    c, l2 = _dual_scale(corr, w, pen)
    l1, _ = pen.l1_l2(w.dtype)
    primal = 0.5 * R2 + pen.value(w)
    ww = jnp.sum(w * w)
    dual_a = c * ry - 0.5 * c * c * (R2 + l2 * ww)
    s = jnp.maximum(corr, 0.0) if pen.positive else jnp.abs(corr)
    dual_b = ry - 0.5 * R2 - jnp.sum(s * s) / (2.0 * jnp.where(l2 > 0, l2, 1.0))
    return primal, jnp.where((l1 > 0) | ~(l2 > 0), dual_a, dual_b)


def logistic_primal_dual(zlin, y, omega, corr_fn, w, pen, fit_intercept):
    """Primal and dual (entropy) values of L1 logistic regression at z = Xw + b; ``corr_fn(v)`` returns
    X^T v. With an intercept the dual point is rebalanced so that sum_i theta_i = 0."""
    u = jax.nn.sigmoid(-y * zlin)
    primal = logistic_loss(zlin, y, omega) + pen.value(w)
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
