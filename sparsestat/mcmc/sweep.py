"""Coordinate-wise GESS sweep: a one-dimensional GESS step on every coordinate, in a random order.

Coordinate j uses a 1-D t_nu auxiliary with location mean[j] and scale sd[j] (AGESS passes the diagonal
of its Cholesky factor, not sqrt(Sigma_jj)); s ~ InvGamma((nu + 1)/2, (nu + delta_j)/2) with
delta_j = ((x_j - mean_j)/sd_j)^2. Every proposal evaluates the full log density, so a sweep costs at
least P evaluations. Each coordinate update leaves pi invariant, hence so does the sweep.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._checks import MeanCov, check_max_shrinks, check_nu, flatten_position, is_concrete
from .shrinking_bracket import first_angle, shrink_on_ellipse
from .states import EllipSliceState, MCMCInfo, SamplingAlgorithm, init_state
from .t_auxiliary import draw_aux_scale, log_aux

__all__ = ["sweep_move", "coordinate_sweep"]


def sweep_move(key, x, logpi_x, logpi_flat, mean, sd, *, nu: float, t_dist: bool, max_shrinks: int):
    """One sweep on flat arrays. Returns (x', log pi(x'), num_evals, any_capped, last theta, last s).

    Every random number of the sweep that does not depend on log pi is drawn before the loop, for all
    coordinates at once (``vmap`` over the coordinate keys ``fold_in(k_coord, t)``: the same numbers as
    drawing them one coordinate at a time). That includes s_j: coordinate j is visited once per sweep,
    so x_j (hence delta_j) is still its value at the start of the sweep when j comes up. The loop body
    is then the slice search alone.
    """
    p = x.shape[0]
    k_perm, k_coord = jax.random.split(key)
    order = jax.random.permutation(k_perm, p)

    def coordinate_draws(t):
        j = order[t]
        k_s, k_eps, k_u, k_slice = jax.random.split(jax.random.fold_in(k_coord, t), 4)
        zj = (x[j] - mean[j]) / sd[j]
        delta = zj * zj
        s = draw_aux_scale(k_s, delta, 1, nu, t_dist)
        w = jnp.sqrt(s) * jax.random.normal(k_eps, (), x.dtype)
        # log pi(x) - log t(x_j) + log u, less log pi(x): log pi at the visit is added in the loop
        offset = -log_aux(delta, 1, nu, t_dist) + jnp.log(jax.random.uniform(k_u, (), x.dtype))
        theta0, k_shrink = first_angle(k_slice, x.dtype)
        return j, zj, s, w, offset, theta0, k_shrink

    draws = jax.vmap(coordinate_draws)(jnp.arange(p))

    def body(t, carry):
        x, lp, evals, capped, _, _ = carry
        j, zj, s, w, offset, theta0, k_shrink = jax.tree_util.tree_map(lambda a: a[t], draws)
        mj, sj = mean[j], sd[j]
        threshold = lp + offset

        def propose(theta):
            c, sn = jnp.cos(theta), jnp.sin(theta)
            zy = zj * c + w * sn
            y = x.at[j].set(mj + sj * zy)
            lpy = jnp.asarray(logpi_flat(y), x.dtype)
            return y, lpy - log_aux(zy * zy, 1, nu, t_dist), lpy

        res = shrink_on_ellipse(None, propose, threshold, max_shrinks=max_shrinks, dtype=x.dtype,
                                first=(theta0, k_shrink))
        x = jnp.where(res.capped, x, res.position)
        lp = jnp.where(res.capped, lp, res.logdensity)
        return x, lp, evals + res.num_evals, capped | res.capped, res.theta, s

    init = (x, logpi_x, jnp.zeros((), jnp.int32), jnp.zeros((), bool), jnp.zeros((), x.dtype),
            jnp.ones((), x.dtype))
    return lax.fori_loop(0, p, body, init)


def coordinate_sweep(logdensity_fn: Callable, *, mean=0.0, scale=1.0, nu: float = 6.0, t_dist: bool = True,
                     max_shrinks: int = 100) -> SamplingAlgorithm:
    """The AGESS coordinate sweep as a stand-alone kernel (e.g. a Gibbs block).

    Parameters
    ----------
    logdensity_fn : callable
        Position pytree -> scalar log target.
    mean : float or array (P,)
        Per-coordinate auxiliary locations.
    scale : float or array (P,)
        Per-coordinate auxiliary scales (> 0; standard deviations, not variances).
    nu, t_dist, max_shrinks : as in :func:`gess`.
    """
    if not callable(logdensity_fn):
        raise TypeError("logdensity_fn must be callable")
    if is_concrete(scale):
        sc = np.asarray(scale, dtype=np.float64)
        if sc.ndim > 1 or not np.all(np.isfinite(sc)) or np.any(sc <= 0):
            raise ValueError("scale must be a scalar or a vector of per-coordinate scales, finite and > 0")
        var = sc ** 2
    else:
        var = jnp.square(scale)
    mc = MeanCov(mean, var, cov_name="scale")
    nu = check_nu(nu)
    max_shrinks = check_max_shrinks(max_shrinks)

    def init(position):
        return init_state(position, logdensity_fn, mc)

    def step(rng_key, state):
        x, unravel = flatten_position(state.position)
        mu, sd = mc.resolve(x.size, x.dtype)
        lp_flat = lambda y: logdensity_fn(unravel(y))  # noqa: E731
        x_new, lp_new, evals, capped, theta, s = sweep_move(
            rng_key, x, jnp.asarray(state.logdensity, x.dtype), lp_flat, mu, sd, nu=nu, t_dist=bool(t_dist),
            max_shrinks=max_shrinks)
        info = MCMCInfo(evals, jnp.ones((), jnp.int32), theta, s, jnp.zeros((), bool), capped)
        return EllipSliceState(unravel(x_new), lp_new), info

    return SamplingAlgorithm(init, step)
