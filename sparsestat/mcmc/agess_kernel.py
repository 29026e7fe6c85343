"""The AGESS transition, blackjax-style: :func:`init` / :func:`init_chains` build an
:class:`AGESSState`, :func:`build_kernel` (or :func:`step`) moves it one iteration.

Iteration i (i = 2 on the first step) from x:

1. move type from a uniform u (shared by all chains: ``fold_in(schedule.key, i)``): for P >= 10 a
   sweep-only initial phase (i < ``params.sweep_only_until``), then adaptive GESS if u > epsilon + ssp,
   a coordinate sweep if u <= ssp, the fixed GESS step otherwise; for P < 10 adaptive if u > epsilon,
   fixed otherwise;
2. adaptive GESS with (mu_k, L_k), fixed GESS with (mu_0, L_0), or a sweep with the diagonal of L_k;
3. background update and AirMCMC refresh (:mod:`sparsestat.mcmc.adaptation`).

Every number lives in :class:`~sparsestat.mcmc.AGESSParams` (traced); only
:class:`~sparsestat.mcmc.AGESSConfig` fixes the program.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

from ._checks import check_finite_start, flatten_position, is_concrete, warn_float32
from .adaptation import Schedule, advance, is_refresh, new_schedule, refresh, update_background
from .agess_config import AGESSConfig, AGESSParams
from .generalized import gess_move
from .states import MCMCInfo
from .sweep import sweep_move

__all__ = ["AGESSState", "init", "init_chains", "build_kernel", "step", "ADAPTIVE", "SWEEP", "FIXED"]

ADAPTIVE, SWEEP, FIXED = 0, 1, 2


class AGESSState(NamedTuple):
    """Per-chain state (leading chain axis from :func:`init_chains`) and the shared schedule.

    ``chol_bg`` is the lower Cholesky factor of the background covariance with ``cov_update="rank1"``
    and the background covariance itself with ``cov_update="refactor"``.
    """

    position: object
    logdensity: jax.Array
    mu_bg: jax.Array
    chol_bg: jax.Array
    mu_k: jax.Array
    chol_k: jax.Array
    schedule: Schedule


def _move_type(schedule, key, p, prm: AGESSParams, cfg: AGESSConfig):
    if cfg.shared_move_type:
        u = jax.random.uniform(jax.random.fold_in(schedule.key, schedule.iteration))
    else:
        u = jax.random.uniform(jax.random.fold_in(key, 7))
    epsilon, ssp = prm.epsilon, prm.single_step_prop
    if p < 10:
        return jnp.where(u > epsilon, ADAPTIVE, FIXED).astype(jnp.int32)
    if cfg.variant == "case_study":
        other = jnp.where(u <= 0.5 * epsilon, SWEEP, FIXED)
        mv = jnp.where(u > epsilon, ADAPTIVE, other)
    else:
        mv = jnp.where(u > epsilon + ssp, ADAPTIVE, jnp.where(u <= ssp, SWEEP, FIXED))
    initial = schedule.iteration < prm.sweep_only_until
    return jnp.where(initial, SWEEP, mv).astype(jnp.int32)


def _chain_update(key, position, lp, mu_bg, chol_bg, mu_k, chol_k, schedule, move, logdensity_fn,
                  prm: AGESSParams, cfg: AGESSConfig):
    """One chain's move, background update and refresh (flat arrays inside, the pytree outside)."""
    x, unravel = ravel_pytree(position)
    p, dtype = x.shape[0], x.dtype
    l0 = jnp.asarray(prm.chol0, dtype)
    fixed_mu = jnp.asarray(prm.fixed_mean, dtype)
    lp_flat = lambda y: logdensity_fn(unravel(y))  # noqa: E731
    nu, t_dist, max_shrinks = prm.nu, cfg.t_dist, prm.max_shrinks

    def gess(k):
        # the adaptive and the fixed move are one GESS move on different (mean, factor): select the
        # parameters, not the move, so the program holds one slice loop (and one log density) for both
        use_fixed = move == FIXED
        mean = jnp.where(use_fixed, fixed_mu, mu_k)
        chol = jnp.where(use_fixed, l0, chol_k)
        xn, lpn, res, s = gess_move(k, x, lp, lp_flat, mean, chol, nu=nu, t_dist=t_dist,
                                    max_shrinks=max_shrinks)
        return xn, lpn, res.num_evals, res.theta, s, res.capped

    def sweep(k):
        xn, lpn, evals, capped, theta, s = sweep_move(k, x, lp, lp_flat, mu_k, jnp.diagonal(chol_k),
                                                      nu=nu, t_dist=t_dist, max_shrinks=max_shrinks)
        return xn, lpn, evals, theta, s, capped

    if p >= 10:
        xn, lpn, evals, theta, s, capped = lax.cond(move == SWEEP, sweep, gess, key)
    else:
        xn, lpn, evals, theta, s, capped = gess(key)

    mu_bg, chol_bg = update_background(xn, mu_bg, chol_bg, schedule, cfg.cov_update, prm.kappa)
    refreshing = is_refresh(schedule, prm)
    mu_k, chol_k = refresh(refreshing, mu_bg, chol_bg, mu_k, chol_k, cfg.cov_update)
    info = MCMCInfo(evals, move, theta, s, refreshing, capped)
    return unravel(xn), lpn, mu_bg, chol_bg, mu_k, chol_k, info


def _chain_init(position, logdensity_fn, prm: AGESSParams, cfg: AGESSConfig):
    x, _ = flatten_position(position)
    p = x.shape[0]
    if is_concrete(x):      # under jit (sample's init program) the caller warns
        warn_float32(p, x.dtype)
    mu0 = jnp.asarray(prm.mean0, x.dtype)
    l0 = jnp.asarray(prm.chol0, x.dtype)
    bg = l0 if cfg.cov_update == "rank1" else l0 @ l0.T
    lp = jnp.asarray(logdensity_fn(position), x.dtype)
    return lp, mu0, bg, mu0, l0


def init(position, logdensity_fn: Callable, params: AGESSParams, config: AGESSConfig = AGESSConfig(), *,
         rng_key=None) -> AGESSState:
    """Single-chain :class:`AGESSState` at ``position``.

    Parameters
    ----------
    position : pytree of float arrays
    logdensity_fn : callable
        Position -> scalar log target (evaluated once, here; ``ValueError`` if not finite).
    params : AGESSParams
        From :func:`~sparsestat.mcmc.agess_config.agess_setup` (``params_for(p, dtype)``).
    config : AGESSConfig
    rng_key : jax PRNG key, optional
        Seeds the move-type schedule (default ``PRNGKey(0)``).
    """
    lp, mu0, bg, mk, lk = _chain_init(position, logdensity_fn, params, config)
    if is_concrete(lp):
        check_finite_start(lp)
    return AGESSState(position, lp, mu0, bg, mk, lk, new_schedule(rng_key))


def init_chains(positions, logdensity_fn: Callable, params: AGESSParams, config: AGESSConfig = AGESSConfig(),
                *, rng_key=None) -> AGESSState:
    """:class:`AGESSState` for a batch of chains (leading axis of every position leaf) with one shared,
    unbatched schedule; otherwise as :func:`init`."""
    leaves = jax.tree_util.tree_leaves(positions)
    if not leaves or jnp.ndim(leaves[0]) == 0:
        raise ValueError("positions must have a leading chain axis")
    c = jnp.shape(leaves[0])[0]
    if any(jnp.shape(leaf)[0] != c for leaf in leaves):
        raise ValueError("every leaf of positions must have the same leading (chain) axis")
    first = jax.tree_util.tree_map(lambda a: a[0], positions)
    flatten_position(first)  # validates dtypes and size
    lp, mu0, bg, mk, lk = jax.vmap(lambda q: _chain_init(q, logdensity_fn, params, config))(positions)
    if is_concrete(lp):
        check_finite_start(lp)
    return AGESSState(positions, lp, mu0, bg, mk, lk, new_schedule(rng_key))


def _chain_keys(rng_key, c):
    """One key per chain: ``rng_key`` as given when it holds ``c`` keys, else split ``c`` ways."""
    if jnp.ndim(rng_key) == (1 if jnp.issubdtype(rng_key.dtype, jax.dtypes.prng_key) else 2):
        if rng_key.shape[0] != c:
            raise ValueError(f"rng_key holds {rng_key.shape[0]} keys for {c} chains")
        return rng_key
    return jax.random.split(rng_key, c)


def build_kernel(config: AGESSConfig = AGESSConfig()):
    """``kernel(rng_key, state, logdensity_fn, params) -> (state, MCMCInfo)``: one AGESS iteration with
    every numeric hyperparameter in ``params`` (:class:`AGESSParams`, traced under ``jit``: a new value
    reuses the compiled program); only ``config`` (:class:`AGESSConfig`) fixes the program. ``state`` is
    one chain or a batch of chains (leading axis, shared schedule); ``rng_key`` one key (split per chain)
    or one per chain."""
    if not isinstance(config, AGESSConfig):
        raise TypeError(f"config must be an AGESSConfig; got {type(config).__name__}")

    def kernel(rng_key, state: AGESSState, logdensity_fn: Callable, params: AGESSParams):
        schedule = state.schedule
        if jnp.ndim(state.logdensity) == 0:
            p = ravel_pytree(state.position)[0].shape[0]
            move = _move_type(schedule, rng_key, p, params, config)
            out = _chain_update(rng_key, state.position, state.logdensity, state.mu_bg, state.chol_bg,
                                state.mu_k, state.chol_k, schedule, move, logdensity_fn, params, config)
            return AGESSState(*out[:6], advance(schedule, params)), out[6]
        c = state.logdensity.shape[0]
        keys = _chain_keys(rng_key, c)
        first = jax.tree_util.tree_map(lambda a: a[0], state.position)
        p = ravel_pytree(first)[0].shape[0]

        def update(key, position, lp, mu_bg, chol_bg, mu_k, chol_k, move):
            return _chain_update(key, position, lp, mu_bg, chol_bg, mu_k, chol_k, schedule, move,
                                 logdensity_fn, params, config)

        if config.shared_move_type:
            moves = _move_type(schedule, None, p, params, config)
            axes = (0, 0, 0, 0, 0, 0, 0, None)
        else:
            moves = jax.vmap(lambda k: _move_type(schedule, k, p, params, config))(keys)
            axes = (0, 0, 0, 0, 0, 0, 0, 0)
        out = jax.vmap(update, in_axes=axes)(keys, state.position, state.logdensity, state.mu_bg,
                                             state.chol_bg, state.mu_k, state.chol_k, moves)
        info = out[6]
        info = info._replace(move_type=jnp.broadcast_to(info.move_type, (c,)),
                             refreshed=jnp.broadcast_to(info.refreshed, (c,)))
        return AGESSState(*out[:6], advance(schedule, params)), info

    return kernel


def step(rng_key, state: AGESSState, logdensity_fn: Callable, params: AGESSParams,
         config: AGESSConfig = AGESSConfig()):
    """One AGESS iteration: ``build_kernel(config)(rng_key, state, logdensity_fn, params)``."""
    return build_kernel(config)(rng_key, state, logdensity_fn, params)
