"""Thresholding and proximal maps, projections.

For a step eta > 0 and a penalty omega, prox_{eta omega}(z) = argmin_t 1/2 (t - z)^2 + eta omega(t).
All maps act elementwise (top-k and the l1/l2 projections act on the last axis), are jit- and
vmap-able, keep the dtype, and accept complex input where a modulus makes sense (soft, hard, top-k,
l2 ball).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._checks import check_greater, check_k, check_nonneg_value, as_numeric

__all__ = [
    "soft_threshold",
    "hard_threshold",
    "firm_threshold",
    "prox_l1",
    "prox_elastic_net",
    "mcp_penalty",
    "scad_penalty",
    "prox_mcp",
    "prox_scad",
    "keep_top_k",
    "top_k_mask",
    "project_l2_ball",
    "project_l1_ball",
    "project_box",
]


def soft_threshold(x: jax.Array, threshold) -> jax.Array:
    """sign(x) max(|x| - threshold, 0); for complex x, x max(1 - threshold/|x|, 0)."""
    check_nonneg_value(threshold, "threshold")
    x = jnp.asarray(as_numeric(x, "x"))
    if jnp.iscomplexobj(x):
        ax = jnp.abs(x)
        scale = jnp.maximum(1.0 - threshold / jnp.where(ax > 0, ax, 1.0), 0.0)
        return x * jnp.where(ax > 0, scale, 0.0).astype(x.dtype)
    return jnp.sign(x) * jnp.maximum(jnp.abs(x) - threshold, 0.0)


def hard_threshold(x: jax.Array, threshold) -> jax.Array:
    """x where |x| > threshold, else 0 (the prox of threshold^2/2 * 1[t != 0])."""
    check_nonneg_value(threshold, "threshold")
    x = jnp.asarray(as_numeric(x, "x"))
    return jnp.where(jnp.abs(x) > threshold, x, jnp.zeros_like(x))


def firm_threshold(x: jax.Array, lam, mu) -> jax.Array:
    """Firm shrinkage (Gao & Bruce 1997), lam < mu: 0 if |x| <= lam, x if |x| > mu, else
    sign(x) mu (|x| - lam) / (mu - lam). It is the MCP prox with alpha = lam, gamma = mu/lam, step 1."""
    check_nonneg_value(lam, "lam")
    if not isinstance(lam, jax.core.Tracer) and not isinstance(mu, jax.core.Tracer) and not (
        jnp.all(jnp.asarray(mu) > jnp.asarray(lam))
    ):
        raise ValueError(f"mu must be > lam, got lam={lam}, mu={mu}")
    x = jnp.asarray(as_numeric(x, "x"))
    ax = jnp.abs(x)
    mid = jnp.sign(x) * mu * (ax - lam) / (mu - lam)
    return jnp.where(ax <= lam, jnp.zeros_like(x), jnp.where(ax > mu, x, mid))


def prox_l1(z: jax.Array, alpha, step=1.0, positive: bool = False) -> jax.Array:
    """prox of step * alpha |t| (with ``positive``, plus the indicator of t >= 0)."""
    if positive:
        return jnp.maximum(z - step * alpha, 0.0)
    return soft_threshold(z, step * alpha)


def prox_elastic_net(z: jax.Array, alpha, l1_ratio, step=1.0) -> jax.Array:
    """prox of step * (alpha rho |t| + alpha (1 - rho) t^2 / 2): soft(z, step alpha rho) / (1 + step alpha (1 - rho))."""
    return soft_threshold(z, step * alpha * l1_ratio) / (1.0 + step * alpha * (1.0 - l1_ratio))


def mcp_penalty(t: jax.Array, alpha, gamma) -> jax.Array:
    """MCP: alpha |t| - t^2 / (2 gamma) if |t| <= gamma alpha, gamma alpha^2 / 2 otherwise."""
    at = jnp.abs(t)
    return jnp.where(at <= gamma * alpha, alpha * at - at ** 2 / (2 * gamma), gamma * alpha ** 2 / 2)


def scad_penalty(t: jax.Array, alpha, gamma) -> jax.Array:
    """SCAD: alpha|t| (|t| <= alpha); (2 gamma alpha |t| - t^2 - alpha^2) / (2 (gamma - 1)) (alpha < |t| <= gamma alpha);
    alpha^2 (gamma + 1) / 2 otherwise."""
    at = jnp.abs(t)
    mid = (2 * gamma * alpha * at - at ** 2 - alpha ** 2) / (2 * (gamma - 1))
    return jnp.where(at <= alpha, alpha * at, jnp.where(at <= gamma * alpha, mid, alpha ** 2 * (gamma + 1) / 2))


def _best_candidate(z, candidates, penalty, step):
    """Pick the candidate with the smallest 1/2 (t - z)^2 + step * penalty(t); ties -> smaller |t|."""
    C = jnp.stack(candidates)
    V = 0.5 * (C - z) ** 2 + step * penalty(C)
    vmin = jnp.min(V, axis=0)
    score = jnp.where(V <= vmin, jnp.abs(C), jnp.inf)
    idx = jnp.argmin(score, axis=0)
    return jnp.take_along_axis(C, idx[None], axis=0)[0]


def _folded_input(z, alpha, gamma, step, *, gamma_min: float):
    """Check the MCP/SCAD parameters (alpha >= 0, gamma > ``gamma_min``, step > 0); return z, sign(z), |z|."""
    check_nonneg_value(alpha, "alpha")
    check_greater(gamma, "gamma", gamma_min)
    check_nonneg_value(step, "step", strict=True)
    z = jnp.asarray(z)
    return z, jnp.sign(z), jnp.abs(z)


def prox_mcp(z: jax.Array, alpha, gamma, step=1.0) -> jax.Array:
    """Exact prox of step * MCP(alpha, gamma) for any step > 0 (including step >= gamma, where the 1-D
    problem is nonconvex): the best of 0, the middle-branch stationary point, sign(z) gamma alpha and z."""
    z, s, az = _folded_input(z, alpha, gamma, step, gamma_min=1.0)
    denom = 1.0 - step / gamma
    mid = jnp.where(denom > 0, jnp.clip((az - step * alpha) / jnp.where(denom > 0, denom, 1.0), 0.0, gamma * alpha), 0.0)
    cands = [jnp.zeros_like(z), s * mid, s * gamma * alpha * jnp.ones_like(z), z]
    return _best_candidate(z, cands, lambda t: mcp_penalty(t, alpha, gamma), step)


def prox_scad(z: jax.Array, alpha, gamma, step=1.0) -> jax.Array:
    """Exact prox of step * SCAD(alpha, gamma): the best of the closed-form candidates (soft threshold,
    middle branch, z) and the branch boundaries, ties towards the smaller |t| (Gong et al. 2013)."""
    z, s, az = _folded_input(z, alpha, gamma, step, gamma_min=2.0)
    t1 = jnp.clip(az - step * alpha, 0.0, alpha)
    d = gamma - 1.0 - step
    t2 = jnp.where(d > 0, jnp.clip(((gamma - 1.0) * az - step * gamma * alpha) / jnp.where(d > 0, d, 1.0),
                                    alpha, gamma * alpha), alpha)
    ones = jnp.ones_like(z)
    cands = [jnp.zeros_like(z), s * t1, s * t2, s * alpha * ones, s * gamma * alpha * ones, z]
    return _best_candidate(z, cands, lambda t: scad_penalty(t, alpha, gamma), step)


def top_k_mask(x: jax.Array, k) -> jax.Array:
    """Boolean mask of the k largest |x| along the last axis, ties broken towards the smaller index.
    ``k`` may be a traced integer (shapes stay static)."""
    x = jnp.asarray(x)
    if x.ndim == 0:
        raise ValueError("x must have at least one axis")
    check_k(k, x.shape[-1])
    order = jnp.argsort(-jnp.abs(x), axis=-1, stable=True)
    ranks = jnp.argsort(order, axis=-1, stable=True)
    return ranks < k


def keep_top_k(x: jax.Array, k) -> jax.Array:
    """H_k(x): keep the k largest-modulus entries of the last axis, zero the rest (ties -> smaller index)."""
    x = jnp.asarray(x)
    return jnp.where(top_k_mask(x, k), x, jnp.zeros_like(x))


def project_l2_ball(x: jax.Array, radius) -> jax.Array:
    """Euclidean projection of the last axis onto {v : ||v||_2 <= radius}."""
    check_nonneg_value(radius, "radius", strict=True)
    x = jnp.asarray(x)
    nrm = jnp.linalg.norm(x, axis=-1, keepdims=True)
    scale = jnp.minimum(1.0, radius / jnp.where(nrm > 0, nrm, 1.0))
    return x * scale.astype(x.dtype)


def project_l1_ball(x: jax.Array, radius) -> jax.Array:
    """Euclidean projection of the last axis onto {v : ||v||_1 <= radius} (Duchi et al. 2008, O(p log p))."""
    check_nonneg_value(radius, "radius", strict=True)
    x = jnp.asarray(x)
    ax = jnp.abs(x)
    u = -jnp.sort(-ax, axis=-1)
    css = jnp.cumsum(u, axis=-1)
    j = jnp.arange(1, x.shape[-1] + 1, dtype=x.dtype)
    cond = u - (css - radius) / j > 0
    rho = jnp.sum(cond, axis=-1, keepdims=True)
    rho = jnp.maximum(rho, 1)
    theta = (jnp.take_along_axis(css, rho - 1, axis=-1) - radius) / rho.astype(x.dtype)
    theta = jnp.maximum(theta, 0.0)
    inside = jnp.sum(ax, axis=-1, keepdims=True) <= radius
    proj = jnp.sign(x) * jnp.maximum(ax - theta, 0.0)
    return jnp.where(inside, x, proj)


def project_box(x: jax.Array, lower, upper) -> jax.Array:
    """Projection onto the box lower <= v <= upper (elementwise clip)."""
    if not isinstance(lower, jax.core.Tracer) and not isinstance(upper, jax.core.Tracer) and bool(
        jnp.any(jnp.asarray(lower) > jnp.asarray(upper))
    ):
        raise ValueError("lower must be <= upper everywhere")
    return jnp.clip(x, lower, upper)
