"""Plain elliptical slice sampling (Murray, Adams & MacKay, AISTATS 2010) for a Gaussian prior times a
likelihood, blackjax-style: ``elliptical_slice(loglikelihood_fn, mean=, cov=)`` -> ``.init`` / ``.step``.

Target pi(x) proportional to N(x; mean, cov) L(x). The state caches log L at the current point (as
blackjax), so one step costs 1 + (number of shrinks) likelihood evaluations.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from ._checks import MeanCov, check_max_shrinks, flatten_position
from .shrinking_bracket import shrink_on_ellipse
from .states import EllipSliceState, MCMCInfo, SamplingAlgorithm, init_state
from .t_auxiliary import scale_mul

__all__ = ["elliptical_slice", "ess_move", "ess_step", "build_ess_kernel"]


def ess_move(key, x, loglik_x, loglik_flat, mean, chol, *, max_shrinks: int):
    """One ESS transition on flat arrays. Returns (x', loglik(x'), EllipseResult)."""
    k_eps, k_u, k_slice = jax.random.split(key, 3)
    eps = jax.random.normal(k_eps, x.shape, x.dtype)
    direction = scale_mul(chol, eps)
    threshold = loglik_x + jnp.log(jax.random.uniform(k_u, (), x.dtype))
    offset = x - mean

    def propose(theta):
        y = mean + offset * jnp.cos(theta) + direction * jnp.sin(theta)
        ll = loglik_flat(y)
        return y, ll, ll

    res = shrink_on_ellipse(k_slice, propose, threshold, max_shrinks=max_shrinks, dtype=x.dtype)
    x_new = jnp.where(res.capped, x, res.position)
    ll_new = jnp.where(res.capped, loglik_x, res.value)
    return x_new, ll_new, res


def ess_step(rng_key, state: EllipSliceState, loglikelihood_fn: Callable, mean, chol, max_shrinks):
    """One ESS step with the prior's ``mean`` and scale factor ``chol`` ((P,) diagonal or (P, P) lower)
    and ``max_shrinks`` as arguments (traced under ``jit``: new values reuse the compiled program)."""
    x, unravel = flatten_position(state.position)
    ll_flat = lambda y: jnp.asarray(loglikelihood_fn(unravel(y)), x.dtype)  # noqa: E731
    x_new, ll_new, res = ess_move(rng_key, x, jnp.asarray(state.logdensity, x.dtype), ll_flat,
                                  jnp.asarray(mean, x.dtype), jnp.asarray(chol, x.dtype), max_shrinks=max_shrinks)
    info = MCMCInfo(res.num_evals, jnp.zeros((), jnp.int32), res.theta, jnp.ones((), x.dtype),
                    jnp.zeros((), bool), res.capped)
    return EllipSliceState(unravel(x_new), ll_new), info


def build_ess_kernel(mean, cov, *, max_shrinks: int = 100):
    """``kernel(rng_key, state, loglikelihood_fn) -> (state, info)`` for composition (e.g. Gibbs).
    (:func:`ess_step` takes the numeric parameters as arguments instead.)"""
    mc = mean if isinstance(mean, MeanCov) else MeanCov(mean, cov)
    max_shrinks = check_max_shrinks(max_shrinks)

    def kernel(rng_key, state: EllipSliceState, loglikelihood_fn: Callable):
        x, _ = flatten_position(state.position)
        mu, chol = mc.resolve(x.size, x.dtype)
        return ess_step(rng_key, state, loglikelihood_fn, mu, chol, max_shrinks)

    return kernel


def elliptical_slice(loglikelihood_fn: Callable, *, mean, cov, max_shrinks: int = 100) -> SamplingAlgorithm:
    """Elliptical slice sampler for ``N(mean, cov) * exp(loglikelihood_fn)``.

    Parameters
    ----------
    loglikelihood_fn : callable
        Position pytree -> scalar log-likelihood. NaN or +-inf at a proposal count as a rejection.
    mean : float or array (P,)
        Prior mean (scalars broadcast).
    cov : float, array (P,) or array (P, P)
        Prior covariance: a multiple of the identity, diagonal variances, or a dense SPD matrix
        (factorised once, here).
    max_shrinks : int, default 100
        Cap on shrinks per step; when hit the chain stays put and ``info.capped`` is set.

    Returns
    -------
    SamplingAlgorithm
        ``init(position)`` and ``step(rng_key, state) -> (EllipSliceState, MCMCInfo)``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> alg = elliptical_slice(lambda x: -0.5 * jnp.sum((x - 1.0) ** 2), mean=0.0, cov=1.0)
    >>> state = alg.init(jnp.zeros(3))
    >>> state, info = jax.jit(alg.step)(jax.random.key(0), state)
    """
    if not callable(loglikelihood_fn):
        raise TypeError("loglikelihood_fn must be callable")
    mc = MeanCov(mean, cov)
    kernel = build_ess_kernel(mc, None, max_shrinks=max_shrinks)

    def init(position):
        return init_state(position, loglikelihood_fn, mc, "log-likelihood")

    def step(rng_key, state):
        return kernel(rng_key, state, loglikelihood_fn)

    return SamplingAlgorithm(init, step)


elliptical_slice.build_kernel = build_ess_kernel
