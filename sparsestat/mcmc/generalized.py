"""Generalized elliptical slice sampling (Nishihara, Murray & Adams, JMLR 2014) with fixed parameters.

The target pi is written as T_nu(x; mu, Sigma) * R(x) with a multivariate t (or Gaussian) auxiliary.
Each step draws the auxiliary scale s | x ~ InvGamma((nu + P)/2, (nu + delta(x))/2), delta the squared
Mahalanobis distance, then runs one elliptical slice step with ellipse vector v = mu + sqrt(s) L eps
on the pseudo log-likelihood log pi - log t. No factorisation happens per step: L is computed once,
delta(x) costs one triangular solve and the whitened proposal is a combination of two whitened
vectors, so every proposal costs one log pi evaluation and O(P) extra work.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from ._checks import MeanCov, check_max_shrinks, check_nu, flatten_position
from .shrinking_bracket import shrink_on_ellipse
from .states import EllipSliceState, MCMCInfo, SamplingAlgorithm, init_state
from .t_auxiliary import draw_aux_scale, log_aux, scale_mul, whiten

__all__ = ["gess", "gess_move", "gess_step", "build_gess_kernel"]


def gess_move(key, x, logpi_x, logpi_flat, mean, chol, *, nu: float, t_dist: bool, max_shrinks: int):
    """One GESS transition on flat arrays with auxiliary t_nu(mean, chol chol^T) (or Gaussian).

    Returns (x', log pi(x'), EllipseResult, s).
    """
    p = x.shape[0]
    k_s, k_eps, k_u, k_slice = jax.random.split(key, 4)
    offset = x - mean
    z = whiten(chol, offset)
    delta = z @ z
    s = draw_aux_scale(k_s, delta, p, nu, t_dist)
    w = jnp.sqrt(s) * jax.random.normal(k_eps, x.shape, x.dtype)   # whitened v - mean
    direction = scale_mul(chol, w)
    threshold = logpi_x - log_aux(delta, p, nu, t_dist) + jnp.log(jax.random.uniform(k_u, (), x.dtype))

    def propose(theta):
        c, sn = jnp.cos(theta), jnp.sin(theta)
        y = mean + offset * c + direction * sn
        zy = z * c + w * sn
        lp = jnp.asarray(logpi_flat(y), x.dtype)
        return y, lp - log_aux(zy @ zy, p, nu, t_dist), lp

    res = shrink_on_ellipse(k_slice, propose, threshold, max_shrinks=max_shrinks, dtype=x.dtype)
    x_new = jnp.where(res.capped, x, res.position)
    lp_new = jnp.where(res.capped, logpi_x, res.logdensity)
    return x_new, lp_new, res, s


def gess_step(rng_key, state: EllipSliceState, logdensity_fn: Callable, mean, chol, nu, max_shrinks, *,
              t_dist: bool = True):
    """One GESS step with every numeric parameter an argument (traced under ``jit``: a new ``nu``,
    ``mean``, scale factor ``chol`` ((P,) diagonal or (P, P) lower) or ``max_shrinks`` reuses the
    compiled program); only ``t_dist`` is static."""
    x, unravel = flatten_position(state.position)
    lp_flat = lambda y: logdensity_fn(unravel(y))  # noqa: E731
    x_new, lp_new, res, s = gess_move(rng_key, x, jnp.asarray(state.logdensity, x.dtype), lp_flat,
                                      jnp.asarray(mean, x.dtype), jnp.asarray(chol, x.dtype), nu=nu,
                                      t_dist=bool(t_dist), max_shrinks=max_shrinks)
    info = MCMCInfo(res.num_evals, jnp.zeros((), jnp.int32), res.theta, s, jnp.zeros((), bool),
                    res.capped)
    return EllipSliceState(unravel(x_new), lp_new), info


def build_gess_kernel(mean, cov, *, nu: float = 6.0, t_dist: bool = True, max_shrinks: int = 100):
    """``kernel(rng_key, state, logdensity_fn) -> (state, info)`` for composition (e.g. Gibbs).
    (:func:`gess_step` takes the numeric parameters as arguments instead.)"""
    mc = mean if isinstance(mean, MeanCov) else MeanCov(mean, cov)
    nu = check_nu(nu)
    max_shrinks = check_max_shrinks(max_shrinks)
    t_dist = bool(t_dist)

    def kernel(rng_key, state: EllipSliceState, logdensity_fn: Callable):
        x, _ = flatten_position(state.position)
        mu, chol = mc.resolve(x.size, x.dtype)
        return gess_step(rng_key, state, logdensity_fn, mu, chol, nu, max_shrinks, t_dist=t_dist)

    return kernel


def gess(logdensity_fn: Callable, *, mean, cov, nu: float = 6.0, t_dist: bool = True,
         max_shrinks: int = 100) -> SamplingAlgorithm:
    """Generalized elliptical slice sampler with a fixed t_nu(mean, cov) auxiliary.

    Parameters
    ----------
    logdensity_fn : callable
        Position pytree -> scalar log target density (unnormalised). NaN/+-inf proposals are rejected;
        -inf outside an open support is allowed.
    mean, cov : as in :func:`elliptical_slice`
        Location and scale matrix of the auxiliary (ideally close to the target's mean and covariance).
    nu : float, default 6.0
        Degrees of freedom of the t auxiliary.
    t_dist : bool, default True
        False uses a Gaussian auxiliary (s = 1), which makes the step an ESS step on pi / N(mean, cov).
    max_shrinks : int, default 100
        Shrink cap; when hit the chain stays put and ``info.capped`` is set.

    Returns
    -------
    SamplingAlgorithm
        ``init(position) -> EllipSliceState`` (``logdensity`` = log target) and
        ``step(rng_key, state) -> (state, MCMCInfo)``.
    """
    if not callable(logdensity_fn):
        raise TypeError("logdensity_fn must be callable")
    mc = MeanCov(mean, cov)
    kernel = build_gess_kernel(mc, None, nu=nu, t_dist=t_dist, max_shrinks=max_shrinks)

    def init(position):
        return init_state(position, logdensity_fn, mc)

    def step(rng_key, state):
        return kernel(rng_key, state, logdensity_fn)

    return SamplingAlgorithm(init, step)


gess.build_kernel = build_gess_kernel
