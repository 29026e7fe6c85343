"""What every kernel of the module shares: the NamedTuple state of the fixed-parameter kernels, the
``info`` every transition returns, the blackjax-style ``(init, step)`` pair, and the common ``init``."""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from ._checks import MeanCov, check_finite_start, flatten_position, is_concrete

__all__ = ["EllipSliceState", "SamplingAlgorithm", "MCMCInfo", "init_state"]


class EllipSliceState(NamedTuple):
    """Position (any pytree of float arrays) and the cached log density at it.

    For :func:`~sparsestat.mcmc.elliptical_slice` ``logdensity`` is the log-likelihood (as in blackjax);
    for :func:`~sparsestat.mcmc.gess` and :func:`~sparsestat.mcmc.coordinate_sweep` it is the log target.
    """

    position: object
    logdensity: jax.Array


class SamplingAlgorithm(NamedTuple):
    """``init(position) -> state`` and ``step(rng_key, state) -> (state, info)`` (blackjax style)."""

    init: Callable
    step: Callable


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


def init_state(position, density_fn: Callable, mc: MeanCov, what: str = "log density") -> EllipSliceState:
    """The state at ``position`` of a fixed-parameter kernel: checks the dimension against ``mc`` and
    caches ``density_fn(position)`` (``ValueError`` when it is not finite at a concrete start; ``what``
    names it in the message)."""
    x, _ = flatten_position(position)
    mc.check_dim(x.size)
    value = jnp.asarray(density_fn(position), x.dtype)
    if is_concrete(value):
        check_finite_start(value, what)
    return EllipSliceState(position, value)
