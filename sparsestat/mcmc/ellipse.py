"""The move every sampler of this module shares: a slice sampling step along an ellipse.

Given the current point x, an ellipse centre mu and a direction d (= v - mu for an auxiliary draw v),
proposals y(theta) = mu + (x - mu) cos(theta) + d sin(theta) are tried on a shrinking angle bracket
(Murray, Adams & MacKay 2010) until one lies above the slice threshold. Also here: the auxiliary
densities of generalized ESS (Nishihara, Murray & Adams 2014) and the scale-factor helpers.

A scale factor ``chol`` is either a 1-D vector (diagonal standard deviations) or a 2-D lower-triangular
Cholesky factor; every helper accepts both, so diagonal priors cost O(P) and dense ones O(P^2).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from ..linalg.solve import solve_triangular

__all__ = ["EllipseResult", "shrink_on_ellipse", "scale_mul", "whiten", "log_aux", "draw_aux_scale",
           "MCMCInfo", "gamma_draw"]

TWO_PI = 2.0 * math.pi


class MCMCInfo(NamedTuple):
    """What one transition did (fixed shapes for every kernel of the module).

    num_evals : log-density evaluations spent (the current point is never re-evaluated).
    move_type : 0 adaptive / plain ellipse move, 1 coordinate sweep, 2 fixed-component GESS move.
    theta : last accepted angle (0 when the shrink cap was hit).
    scale_s : the auxiliary scale s of the (last) ellipse (1 for a Gaussian auxiliary).
    refreshed : whether the adaptive parameters were refreshed after this transition.
    capped : whether a shrink loop hit ``max_shrinks`` (the chain stayed put for that move).
    """

    num_evals: jax.Array
    move_type: jax.Array
    theta: jax.Array
    scale_s: jax.Array
    refreshed: jax.Array
    capped: jax.Array


class EllipseResult(NamedTuple):
    """Outcome of one shrink loop: the new point, its cached values, the angle and the cost."""

    position: jax.Array
    value: jax.Array          # pseudo log-likelihood at the new point (compared to the threshold)
    logdensity: jax.Array     # log target at the new point
    theta: jax.Array
    num_evals: jax.Array
    capped: jax.Array


def scale_mul(chol: jax.Array, z: jax.Array) -> jax.Array:
    """chol @ z for a diagonal (1-D) or lower-triangular (2-D) scale factor."""
    return chol * z if chol.ndim == 1 else chol @ z


def whiten(chol: jax.Array, r: jax.Array) -> jax.Array:
    """chol^{-1} r (one triangular solve, O(P^2), or O(P) for a diagonal factor)."""
    return r / chol if chol.ndim == 1 else solve_triangular(chol, r, lower=True)


def log_aux(delta: jax.Array, dim: int, nu: float, t_dist: bool) -> jax.Array:
    """Log auxiliary density up to a constant as a function of the squared Mahalanobis distance.

    t auxiliary: -((nu + dim) / 2) log1p(delta / nu); Gaussian: -delta / 2.
    """
    if t_dist:
        return -0.5 * (nu + dim) * jnp.log1p(delta / nu)
    return -0.5 * delta


def draw_aux_scale(key: jax.Array, delta: jax.Array, dim: int, nu: float, t_dist: bool) -> jax.Array:
    """s | x ~ InvGamma((nu + dim)/2, (nu + delta)/2) for a t auxiliary (s = 1 for a Gaussian one)."""
    if not t_dist:
        return jnp.ones_like(delta)
    g = gamma_draw(key, 0.5 * (nu + dim), delta.dtype)
    return (nu + delta) / (2.0 * g)


def gamma_draw(key: jax.Array, shape_a, dtype) -> jax.Array:
    """One Gamma(a, 1) draw by Marsaglia & Tsang (2000) squeeze-free rejection (a < 1 boosted with
    U^(1/a)). Acceptance >= 95% per try; the loop stops after 64 tries (probability < 1e-80).
    Lighter to compile than ``jax.random.gamma`` (this sits in every GESS move)."""
    a = jnp.asarray(shape_a, dtype)
    boost = a < 1
    a1 = jnp.where(boost, a + 1, a)
    d = a1 - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * d)
    k_loop, k_boost = jax.random.split(key)

    def draw(k):
        kx, ku = jax.random.split(jax.random.fold_in(k_loop, k))
        # materialise the normal draw: fused with the runtime constant c (a traced shape) LLVM may
        # contract its last multiply into an FMA differently at different vmap widths, and a chain run
        # alone must equal the same chain in a batch (bit for bit)
        x = lax.optimization_barrier(jax.random.normal(kx, (), dtype))
        u = jax.random.uniform(ku, (), dtype)
        v = (1 + c * x) ** 3
        ok = (v > 0) & (jnp.log(u) < 0.5 * x * x + d - d * v + d * jnp.log(jnp.where(v > 0, v, 1.0)))
        return ok, d * v

    def body(carry):
        k, _, _ = carry
        ok, g = draw(k)
        return k + 1, ok, g

    ok0, g0 = draw(0)
    _, _, g = lax.while_loop(lambda cr: (~cr[1]) & (cr[0] < 64), body, (jnp.ones((), jnp.int32), ok0, g0))
    return jnp.where(boost, g * jax.random.uniform(k_boost, (), dtype) ** (1.0 / a), g)


def shrink_on_ellipse(key: jax.Array, propose: Callable, threshold: jax.Array, *, max_shrinks: int,
                      dtype) -> EllipseResult:
    """Shrinking-bracket slice search on an ellipse.

    ``propose(theta) -> (y, value, logdensity)``; a proposal is accepted iff ``value`` is finite and
    strictly above ``threshold`` (NaN and +-inf are rejections). The first angle is uniform on
    [0, 2 pi) with bracket [theta - 2 pi, theta]; a rejection at theta < 0 raises the lower end, at
    theta >= 0 lowers the upper end. The k-th shrink draws its angle from ``fold_in(key, k)`` so the
    search is deterministic given ``key``. After ``max_shrinks`` rejected shrinks the search stops and
    the caller keeps the current point (the theta -> 0 limit); ``capped`` reports it.
    """
    k_first, k_shrink = jax.random.split(key)
    theta0 = jax.random.uniform(k_first, (), dtype=dtype, minval=0.0, maxval=TWO_PI)
    y0, val0, lp0 = propose(theta0)

    def accepted(val):
        return jnp.isfinite(val) & (val > threshold)

    def cond(c):
        k, _, _, _, _, val, _ = c
        return (~accepted(val)) & (k < max_shrinks)

    def body(c):
        k, theta, lo, hi, _, _, _ = c
        lo = jnp.where(theta < 0, theta, lo)
        hi = jnp.where(theta < 0, hi, theta)
        theta = jax.random.uniform(jax.random.fold_in(k_shrink, k), (), dtype=dtype, minval=lo, maxval=hi)
        y, val, lp = propose(theta)
        return k + 1, theta, lo, hi, y, val, lp

    init = (jnp.zeros((), jnp.int32), theta0, theta0 - TWO_PI, theta0, y0, val0, lp0)
    k, theta, _, _, y, val, lp = lax.while_loop(cond, body, init)
    ok = accepted(val)
    return EllipseResult(y, val, lp, jnp.where(ok, theta, jnp.zeros_like(theta)), k + 1, ~ok)
