"""AGESS adaptation: the shared schedule, the background estimates and the AirMCMC refreshes.

* Background update after every move, with w_i = i^-kappa (default kappa = 1, equal weights over the
  whole history; the reference's max(2/3, 1 - P^(-1/3)) with ``kappa="reference"``):
  Sigma_bg <- (1 - w) Sigma_bg + w (x - mu_bg)(x - mu_bg)^T (old mean; an O(P^2) rank-one Cholesky
  update of L_bg with ``cov_update="rank1"``), then mu_bg <- (1 - w) mu_bg + w x.
* AirMCMC refresh (Chimisov, Latuszynski & Roberts 2018, "adapt increasingly rarely"): when i == N,
  (mu_k, L_k) <- (mu_bg, L_bg), n <- n + 1, N <- N + floor(n^beta) (n = N = 2 initially: refreshes at
  2, 3, 5, 7, 9, 11, 13, 16, ...). Between refreshes the kernel is a fixed pi-invariant mixture.

The :class:`Schedule` (iteration, n, N, key) is shared by all chains of a batch and never batched, so the
refresh and the move-type choice run one branch for the whole batch.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..linalg.solve import chol_update_vectorized, cholesky
from .agess_config import AGESSParams, adaptation_weight_exponent

__all__ = ["Schedule", "new_schedule", "advance", "is_refresh", "update_background", "refresh",
           "adaptation_weight_exponent", "refresh_times", "freeze"]


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


def new_schedule(rng_key) -> Schedule:
    """The schedule before the first step (i = n = N = 2); ``rng_key`` None: ``PRNGKey(0)``."""
    key = jax.random.PRNGKey(0) if rng_key is None else rng_key
    two = jnp.asarray(2, jnp.int32)
    return Schedule(two, two, two, key, jnp.zeros((), bool))


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


def advance(schedule: Schedule, prm: AGESSParams) -> Schedule:
    """The schedule after iteration ``schedule.iteration`` (counters moved past a refresh; frozen once
    ``freeze_after`` steps are done)."""
    i = schedule.iteration
    refreshed = (i == schedule.next_refresh) & ~schedule.frozen
    n_new = jnp.where(refreshed, schedule.n + 1, schedule.n)
    big_n = jnp.where(refreshed, schedule.next_refresh + _int_pow_floor(n_new, prm.beta), schedule.next_refresh)
    frozen = schedule.frozen | (i >= prm.freeze_after + 1)
    return Schedule(i + 1, n_new, big_n, schedule.key, frozen)


def is_refresh(schedule: Schedule, prm: AGESSParams):
    """Whether this iteration copies the background estimates into the adaptive parameters: an AirMCMC
    refresh time, or the step at which the adaptation freezes."""
    i = schedule.iteration
    at_time = (i == schedule.next_refresh) & ~schedule.frozen
    return at_time | ((i == prm.freeze_after + 1) & ~schedule.frozen)


def update_background(x_new, mu_bg, chol_bg, schedule: Schedule, cov_update: str, kappa):
    """(mu_bg, chol_bg) after one draw ``x_new`` (old mean in the covariance update), with weight
    w_i = i^-kappa; unchanged once frozen. ``chol_bg`` is the Cholesky factor (``"rank1"``) or the
    covariance (``"refactor"``)."""
    dtype = x_new.dtype
    w = jnp.power(schedule.iteration.astype(dtype), -jnp.asarray(kappa, dtype))
    r = x_new - mu_bg
    if cov_update == "rank1":
        chol_new = chol_update_vectorized(jnp.sqrt(1.0 - w) * chol_bg, jnp.sqrt(w) * r)
    else:
        chol_new = (1.0 - w) * chol_bg + w * jnp.outer(r, r)
    mu_new = (1.0 - w) * mu_bg + w * x_new
    upd = ~schedule.frozen
    return jnp.where(upd, mu_new, mu_bg), jnp.where(upd, chol_new, chol_bg)


def refresh(refreshing, mu_bg, chol_bg, mu_k, chol_k, cov_update: str):
    """(mu_k, L_k): the background estimates where ``refreshing``, else unchanged. With ``"rank1"`` the
    background factor already is a Cholesky factor (a select); with ``"refactor"`` it is factorised here
    (jitter 1e-10 tr(Sigma)/P on failure)."""
    if cov_update == "rank1":
        return jnp.where(refreshing, mu_bg, mu_k), jnp.where(refreshing, chol_bg, chol_k)

    def do_refresh(_):
        c = 0.5 * (chol_bg + chol_bg.T)
        return mu_bg, cholesky(c, jitter=1e-10).L

    return lax.cond(refreshing, do_refresh, lambda _: (mu_k, chol_k), None)


def freeze(state, config=None):
    """Copy the background estimates into the adaptive parameters and stop adapting: the kernel is
    then a fixed, exactly pi-invariant mixture (used for Geweke tests and after warm-up).

    ``state`` is an :class:`~sparsestat.mcmc.AGESSState` (one chain or a batch); ``config`` the
    :class:`~sparsestat.mcmc.AGESSConfig` it runs under (None: the default, ``cov_update="rank1"``).
    With ``cov_update="refactor"`` the background holds the covariance, which is factorised here (as at
    a refresh). Returns the frozen state."""
    sched = state.schedule._replace(frozen=jnp.ones((), bool))
    chol = state.chol_bg
    if config is not None and config.cov_update == "refactor":
        one = lambda c: cholesky(0.5 * (c + c.T), jitter=1e-10).L  # noqa: E731
        chol = one(chol) if chol.ndim == 2 else jax.vmap(one)(chol)
    return state._replace(mu_k=state.mu_bg, chol_k=chol, schedule=sched)
