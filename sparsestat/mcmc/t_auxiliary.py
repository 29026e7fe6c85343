"""The auxiliary of generalized ESS (Nishihara, Murray & Adams, JMLR 2014): a t_nu (or Gaussian)
density written through the squared Mahalanobis distance, the draw of its scale s | x, and the
scale-factor products that build ellipse directions and distances.

A scale factor ``chol`` is either a 1-D vector (diagonal standard deviations) or a 2-D lower-triangular
Cholesky factor; every helper accepts both, so diagonal auxiliaries cost O(P) and dense ones O(P^2).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ..linalg.solve import solve_triangular

__all__ = ["scale_mul", "whiten", "log_aux", "draw_aux_scale", "gamma_draw"]


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
