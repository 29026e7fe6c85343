"""Adaptive generalized elliptical slice sampling (AGESS; Marco & Tokdar, arXiv:2605.21659), following the
reference package AdaptEllipticalSliceSampler.jl v0.2.1 as condensed in the project spec.

Iteration i (i = 2 on the first step) from x:

1. move type from a uniform u (shared by all chains: ``fold_in(schedule.key, i)``): for P >= 10 a
   sweep-only initial phase (i < burnin * single_step_prop * num_steps), then adaptive GESS if
   u > epsilon + ssp, a coordinate sweep if u <= ssp, the fixed GESS step otherwise; for P < 10 adaptive
   if u > epsilon, fixed otherwise;
2. adaptive GESS with (mu_k, L_k), fixed GESS with (mu_0, L_0), or a sweep with the diagonal of L_k;
3. background update with w_i = i^-kappa, kappa = max(2/3, 1 - P^(-1/3)):
   Sigma_bg <- (1 - w) Sigma_bg + w (x - mu_bg)(x - mu_bg)^T (old mean; an O(P^2) rank-one Cholesky
   update), then mu_bg <- (1 - w) mu_bg + w x;
4. AirMCMC refresh (Chimisov, Latuszynski & Roberts 2018): when i == N, (mu_k, L_k) <- (mu_bg, L_bg),
   n <- n + 1, N <- N + floor(n^beta) (n = N = 2 initially: refreshes at 2, 3, 5, 7, 9, 11, 13, 16, ...).

Between refreshes the kernel is a fixed mixture of pi-invariant kernels. The schedule (iteration, n, N,
key) is *unbatched* when chains are batched (``init_chains``): the refresh ``cond`` and the move
``switch`` then run one branch for all chains instead of every branch for every chain.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.flatten_util import ravel_pytree

from ..linalg.solve import chol_update_vectorized, cholesky
from ._checks import (MeanCov, check_finite_start, check_max_shrinks, check_nu, flatten_position,
                      is_concrete, warn_float32)
from .ellipse import MCMCInfo
from .generalized import gess_move
from .sweep import sweep_move

__all__ = ["Schedule", "AGESSState", "AGESSAlgorithm", "AGESSParams", "AGESSConfig", "agess",
           "agess_setup", "build_kernel", "init_chain", "init_chains", "adaptation_weight_exponent",
           "refresh_times", "freeze"]

ADAPTIVE, SWEEP, FIXED = 0, 1, 2


class Schedule(NamedTuple):
    """Adaptation schedule shared by all chains of a batch (never batched).

    iteration : i of the next step (2 on the first step).
    n, next_refresh : AirMCMC counters (the next refresh happens at i == next_refresh).
    key : the key of the move-type uniforms (``fold_in(key, i)``).
    frozen : when True the background estimates are no longer updated and no refresh happens.
    """

    iteration: jax.Array
    n: jax.Array
    next_refresh: jax.Array
    key: jax.Array
    frozen: jax.Array


class AGESSState(NamedTuple):
    """Per-chain state (leading chain axis from ``init_chains``) and the shared schedule.

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


class AGESSAlgorithm(NamedTuple):
    """``init(position, rng_key=None)``, ``init_chains(positions, rng_key=None)`` and
    ``step(rng_key, state) -> (state, MCMCInfo)`` (single chain, or a batch of chains with a batch of
    keys or one key to split)."""

    init: Callable
    init_chains: Callable
    step: Callable


def adaptation_weight_exponent(p: int) -> float:
    """kappa = max(2/3, 1 - P^(-1/3)) (weights w_i = i^-kappa)."""
    return max(2.0 / 3.0, 1.0 - p ** (-1.0 / 3.0))


def _int_pow_floor(n, beta):
    """floor(n^beta) for integer n, robust to pow rounding (exact for beta = 1/2 at perfect squares)."""
    nf = n.astype(jnp.float32)
    r = jnp.floor(jnp.power(nf, beta) + 1e-6).astype(n.dtype)
    return jnp.maximum(r, 1)


def refresh_times(num_steps: int, beta: float = 0.5) -> np.ndarray:
    """The iterations i (counted from 2) at which AGESS refreshes its adaptive parameters."""
    out, n, big_n = [], 2, 2
    while big_n <= num_steps:
        out.append(big_n)
        n += 1
        big_n += max(int(np.floor(n ** beta + 1e-6)), 1)
    return np.asarray(out, dtype=np.int64)


def freeze(state: AGESSState) -> AGESSState:
    """Copy the background estimates into the adaptive parameters and stop adapting: the kernel is
    then a fixed, exactly pi-invariant mixture (used for Geweke tests and after warm-up)."""
    sched = state.schedule._replace(frozen=jnp.ones((), bool))
    return state._replace(mu_k=state.mu_bg, chol_k=state.chol_bg, schedule=sched)


def _check_prob(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0.0 <= value < 1.0):
        raise ValueError(f"{name} must be in [0, 1); got {value!r}")
    return float(value)


NEVER = 2 ** 31 - 2   # freeze_after sentinel: no freeze (the int32 iteration never reaches it)


class AGESSConfig(NamedTuple):
    """What fixes the program's structure (static under ``jit``): auxiliary family, where the move type
    comes from, how the background covariance is kept, and the variant's move rule."""

    t_dist: bool = True
    shared_move_type: bool = True
    cov_update: str = "rank1"
    variant: str = "package"


class AGESSParams(NamedTuple):
    """The numeric hyperparameters of AGESS, all traced (a new value reuses the compiled program).

    mean0 (P,), chol0 (P, P): initial adaptive parameters (chol0 = chol cov0); fixed_mean (P,): the
    fixed component's mean (mean0; zeros for ``variant="case_study"``); nu, epsilon, single_step_prop,
    beta: as in :func:`agess`; sweep_only_until: the sweep-only phase lasts while i < this;
    max_shrinks: shrink cap; freeze_after: freeze after this many steps (``NEVER``: never).
    """

    mean0: jax.Array
    chol0: jax.Array
    fixed_mean: jax.Array
    nu: float
    epsilon: float
    single_step_prop: float
    sweep_only_until: float
    beta: float
    max_shrinks: int
    freeze_after: int


def agess_setup(*, num_steps: int, mean0=0.0, cov0=1.0, nu: float = 6.0, epsilon: float | None = None,
                single_step_prop: float = 0.05, burnin: float = 0.5, beta: float = 0.5, t_dist: bool = True,
                shared_move_type: bool = True, cov_update: str = "rank1", max_shrinks: int = 100,
                variant: str = "package", freeze_after: int | None = None,
                sweep_only_until: float | None = None, _stacklevel: int = 1):
    """Validate :func:`agess`'s options. Returns ``(config, params_for)``: the static
    :class:`AGESSConfig` and ``params_for(p, dtype) -> AGESSParams`` (mean0/cov0 resolved for P)."""
    if variant not in ("package", "case_study"):
        raise ValueError(f"variant must be 'package' or 'case_study'; got {variant!r}")
    if cov_update not in ("rank1", "refactor"):
        raise ValueError(f"cov_update must be 'rank1' or 'refactor'; got {cov_update!r}")
    if epsilon is None:
        epsilon = 0.1 if variant == "case_study" else 0.05
    epsilon = _check_prob(epsilon, "epsilon")
    ssp = _check_prob(single_step_prop, "single_step_prop")
    if epsilon + ssp > 1.0:
        raise ValueError(f"epsilon + single_step_prop must be <= 1; got {epsilon} + {ssp}")
    burnin = _check_prob(burnin, "burnin")
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not (0.0 < beta <= 1.0):
        raise ValueError(f"beta must be in (0, 1]; got {beta!r}")
    beta = float(beta)
    nu = check_nu(nu)
    if isinstance(num_steps, bool) or not isinstance(num_steps, numbers.Integral) or num_steps < 2:
        raise ValueError(f"num_steps must be an integer >= 2; got {num_steps!r}")
    max_shrinks = check_max_shrinks(max_shrinks)
    if freeze_after is not None and (isinstance(freeze_after, bool) or not isinstance(freeze_after, numbers.Integral)
                                     or freeze_after < 0):
        raise ValueError(f"freeze_after must be None or an integer >= 0; got {freeze_after!r}")
    if epsilon == 0.0:
        warnings.warn("epsilon = 0 drops the fixed kernel component the ergodicity argument relies on",
                      UserWarning, stacklevel=_stacklevel + 1)
    config = AGESSConfig(bool(t_dist), bool(shared_move_type), cov_update, variant)
    mc = MeanCov(mean0, cov0, mean_name="mean0", cov_name="cov0")
    if sweep_only_until is None:
        sweep_only_until = burnin * ssp * num_steps
    sweep_only_until = float(sweep_only_until)
    freeze = NEVER if freeze_after is None else min(int(freeze_after), NEVER)

    def params_for(p, dtype) -> AGESSParams:
        mu0, l0 = mc.resolve(p, dtype, dense=True)
        fixed_mu = jnp.zeros_like(mu0) if variant == "case_study" else mu0
        return AGESSParams(mu0, l0, fixed_mu, nu, epsilon, ssp, sweep_only_until, beta, max_shrinks, freeze)

    params_for.check_dim = mc.check_dim
    return config, params_for


# -------------------------------------------------------------------- move type and schedule
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


def _advance(schedule, prm: AGESSParams):
    i = schedule.iteration
    refresh = (i == schedule.next_refresh) & ~schedule.frozen
    n_new = jnp.where(refresh, schedule.n + 1, schedule.n)
    big_n = jnp.where(refresh, schedule.next_refresh + _int_pow_floor(n_new, prm.beta), schedule.next_refresh)
    frozen = schedule.frozen | (i >= prm.freeze_after + 1)
    return Schedule(i + 1, n_new, big_n, schedule.key, frozen), refresh


# -------------------------------------------------------------------- per-chain transition
def _chain_update(key, position, lp, mu_bg, chol_bg, mu_k, chol_k, schedule, move, logdensity_fn,
                  prm: AGESSParams, cfg: AGESSConfig):
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

    # background update (old mean in the covariance update), skipped once frozen
    i = schedule.iteration
    kappa = adaptation_weight_exponent(p)
    w = jnp.power(i.astype(dtype), -kappa)
    r = xn - mu_bg
    if cfg.cov_update == "rank1":
        chol_new = chol_update_vectorized(jnp.sqrt(1.0 - w) * chol_bg, jnp.sqrt(w) * r)
    else:
        chol_new = (1.0 - w) * chol_bg + w * jnp.outer(r, r)
    mu_new = (1.0 - w) * mu_bg + w * xn
    upd = ~schedule.frozen
    mu_bg = jnp.where(upd, mu_new, mu_bg)
    chol_bg = jnp.where(upd, chol_new, chol_bg)

    refresh = (i == schedule.next_refresh) & ~schedule.frozen
    refresh = refresh | ((i == prm.freeze_after + 1) & ~schedule.frozen)

    if cfg.cov_update == "rank1":     # the background factor is already a Cholesky factor: a select
        mu_k = jnp.where(refresh, mu_bg, mu_k)
        chol_k = jnp.where(refresh, chol_bg, chol_k)
    else:
        def do_refresh(_):
            c = 0.5 * (chol_bg + chol_bg.T)
            return mu_bg, cholesky(c, jitter=1e-10).L

        mu_k, chol_k = lax.cond(refresh, do_refresh, lambda _: (mu_k, chol_k), None)
    info = MCMCInfo(evals, move, theta, s, refresh, capped)
    return unravel(xn), lpn, mu_bg, chol_bg, mu_k, chol_k, info


# -------------------------------------------------------------------- functional core
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


def _schedule(rng_key):
    key = jax.random.PRNGKey(0) if rng_key is None else rng_key
    two = jnp.asarray(2, jnp.int32)
    return Schedule(two, two, two, key, jnp.zeros((), bool))


def init_chain(position, rng_key, logdensity_fn, params: AGESSParams, config: AGESSConfig = AGESSConfig()):
    """Single-chain :class:`AGESSState` (``rng_key`` seeds the move-type schedule; None: ``PRNGKey(0)``)."""
    lp, mu0, bg, mk, lk = _chain_init(position, logdensity_fn, params, config)
    if is_concrete(lp):
        check_finite_start(lp)
    return AGESSState(position, lp, mu0, bg, mk, lk, _schedule(rng_key))


def init_chains(positions, rng_key, logdensity_fn, params: AGESSParams, config: AGESSConfig = AGESSConfig()):
    """:class:`AGESSState` for a batch of chains (leading axis of every position leaf), one shared
    schedule."""
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
    return AGESSState(positions, lp, mu0, bg, mk, lk, _schedule(rng_key))


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
            new_schedule, _ = _advance(schedule, params)
            return AGESSState(*out[:6], new_schedule), out[6]
        c = state.logdensity.shape[0]
        keys = rng_key
        if jnp.ndim(keys) == (1 if jnp.issubdtype(keys.dtype, jax.dtypes.prng_key) else 2):
            if keys.shape[0] != c:
                raise ValueError(f"rng_key holds {keys.shape[0]} keys for {c} chains")
        else:
            keys = jax.random.split(keys, c)
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
        new_schedule, _ = _advance(schedule, params)
        info = out[6]
        info = info._replace(move_type=jnp.broadcast_to(info.move_type, (c,)),
                             refreshed=jnp.broadcast_to(info.refreshed, (c,)))
        return AGESSState(*out[:6], new_schedule), info

    return kernel



def agess(logdensity_fn: Callable, *, num_steps: int, mean0=0.0, cov0=1.0, nu: float = 6.0,
          epsilon: float | None = None, single_step_prop: float = 0.05, burnin: float = 0.5,
          beta: float = 0.5, t_dist: bool = True, shared_move_type: bool = True, cov_update: str = "rank1",
          max_shrinks: int = 100, variant: str = "package", freeze_after: int | None = None,
          sweep_only_until: float | None = None) -> AGESSAlgorithm:
    """Adaptive generalized elliptical slice sampler.

    Parameters
    ----------
    logdensity_fn : callable
        Position pytree -> scalar log target (unnormalised; -inf outside the support, NaN rejected).
    num_steps : int (>= 2)
        Planned total number of iterations; sizes the initial sweep-only phase
        (``burnin * single_step_prop * num_steps`` iterations, P >= 10 only). Stepping past it is allowed.
    mean0, cov0 : scalar, (P,) or (P, P)
        Initial adaptive parameters **and** the fixed mixture component (scalars broadcast; cov0 scalar or
        vector = diagonal).
    nu : float, default 6.0
        Degrees of freedom of the t auxiliary (not adapted).
    epsilon : float, default 0.05 (0.1 for ``variant="case_study"``)
        Probability of a fixed-component GESS step (the minorisation the theory relies on).
    single_step_prop : float, default 0.05
        Probability of a coordinate sweep (P >= 10).
    burnin : float in [0, 1), default 0.5
        Fraction of ``num_steps`` that sizes the initial sweep-only phase (nothing is discarded).
    beta : float in (0, 1], default 0.5
        AirMCMC gap exponent: refresh gaps grow as floor(n^beta).
    t_dist : bool, default True
        t auxiliary (True) or Gaussian (False).
    shared_move_type : bool, default True
        Draw the move type from the shared schedule key (batched chains run one branch); False draws it
        per chain (independent chains; under vmap every branch then runs for every chain).
    cov_update : {"rank1", "refactor"}
        O(P^2) rank-one Cholesky update of the background factor every iteration (refresh = copy), or keep
        the covariance and factorise only at refreshes (jitter 1e-10 tr(Sigma)/P on failure).
    max_shrinks : int, default 100
        Shrink-loop cap per ellipse; when hit the move keeps the current point and ``info.capped`` is set.
    variant : {"package", "case_study"}
        "case_study": the ndmarco/AGESS copy behind the paper's figures (epsilon 0.1; after the initial
        phase, non-adaptive moves split 50/50 between sweep and fixed step; fixed component mean 0).
    freeze_after : int or None
        Freeze the adaptation (see :func:`freeze`) after this many steps (None: never).
    sweep_only_until : float or None
        Override the length of the initial sweep-only phase (numpyro kernels pass
        ``single_step_prop * num_warmup``).

    Returns
    -------
    AGESSAlgorithm
    """
    if not callable(logdensity_fn):
        raise TypeError("logdensity_fn must be callable")
    config, params_for = agess_setup(
        num_steps=num_steps, mean0=mean0, cov0=cov0, nu=nu, epsilon=epsilon, single_step_prop=single_step_prop,
        burnin=burnin, beta=beta, t_dist=t_dist, shared_move_type=shared_move_type, cov_update=cov_update,
        max_shrinks=max_shrinks, variant=variant, freeze_after=freeze_after, sweep_only_until=sweep_only_until,
        _stacklevel=2)
    kernel = build_kernel(config)

    def _params(position):
        x, _ = flatten_position(position)
        params_for.check_dim(x.shape[0])
        return params_for(x.shape[0], x.dtype)

    def init(position, rng_key=None):
        """Single-chain state; ``rng_key`` seeds the move-type schedule (default ``PRNGKey(0)``)."""
        return init_chain(position, rng_key, logdensity_fn, _params(position), config)

    def init_chains_(positions, rng_key=None):
        """State for a batch of chains (leading axis of every position leaf) with one shared schedule."""
        leaves = jax.tree_util.tree_leaves(positions)
        if not leaves or jnp.ndim(leaves[0]) == 0:
            raise ValueError("positions must have a leading chain axis")
        first = jax.tree_util.tree_map(lambda a: a[0], positions)
        return init_chains(positions, rng_key, logdensity_fn, _params(first), config)

    def step(rng_key, state: AGESSState):
        first = state.position if jnp.ndim(state.logdensity) == 0 else \
            jax.tree_util.tree_map(lambda a: a[0], state.position)
        return kernel(rng_key, state, logdensity_fn, _params(first))

    return AGESSAlgorithm(init, init_chains_, step)


agess.build_kernel = build_kernel
