"""The move every sampler of this module shares: a slice search on an ellipse with a shrinking angle
bracket (Murray, Adams & MacKay, AISTATS 2010).

Given the current point x, an ellipse centre mu and a direction d (= v - mu for an auxiliary draw v),
proposals y(theta) = mu + (x - mu) cos(theta) + d sin(theta) are tried on a shrinking angle bracket until
one lies above the slice threshold. The caller supplies ``propose(theta)``; the auxiliary densities
that build the threshold and the direction live in :mod:`sparsestat.mcmc.t_auxiliary`.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["EllipseResult", "shrink_on_ellipse", "first_angle", "TWO_PI"]

TWO_PI = 2.0 * math.pi


class EllipseResult(NamedTuple):
    """Outcome of one shrink loop: the new point, its cached values, the angle and the cost."""

    position: jax.Array
    value: jax.Array          # pseudo log-likelihood at the new point (compared to the threshold)
    logdensity: jax.Array     # log target at the new point
    theta: jax.Array
    num_evals: jax.Array
    capped: jax.Array


def first_angle(key: jax.Array, dtype):
    """(first angle, shrink key) of :func:`shrink_on_ellipse` for ``key``: drawn ahead of the loop (e.g.
    for every coordinate of a sweep at once, under ``vmap``), then passed as ``first=``."""
    k_first, k_shrink = jax.random.split(key)
    return jax.random.uniform(k_first, (), dtype=dtype, minval=0.0, maxval=TWO_PI), k_shrink


def shrink_on_ellipse(key: jax.Array, propose: Callable, threshold: jax.Array, *, max_shrinks: int,
                      dtype, first=None) -> EllipseResult:
    """Shrinking-bracket slice search on an ellipse.

    ``propose(theta) -> (y, value, logdensity)``; a proposal is accepted iff ``value`` is finite and
    strictly above ``threshold`` (NaN and +-inf are rejections). The first angle is uniform on
    [0, 2 pi) with bracket [theta - 2 pi, theta]; a rejection at theta < 0 raises the lower end, at
    theta >= 0 lowers the upper end. The k-th shrink draws its angle from ``fold_in(key, k)`` so the
    search is deterministic given ``key``. After ``max_shrinks`` rejected shrinks the search stops and
    the caller keeps the current point (the theta -> 0 limit); ``capped`` reports it. ``first``:
    ``first_angle(key, dtype)`` computed ahead by the caller (``key`` is then unused); same result.
    """
    theta0, k_shrink = first_angle(key, dtype) if first is None else first
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
