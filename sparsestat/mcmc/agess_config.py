"""AGESS options: the static :class:`AGESSConfig` (fixes the compiled program), the traced
:class:`AGESSParams` (every number), and :func:`agess_setup`, which validates the options of
:func:`~sparsestat.mcmc.agess` once and builds both."""

from __future__ import annotations

import numbers
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._checks import MeanCov, check_max_shrinks, check_nu

__all__ = ["AGESSConfig", "AGESSParams", "agess_setup", "NEVER"]

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
    beta: as in :func:`~sparsestat.mcmc.agess`; sweep_only_until: the sweep-only phase lasts while
    i < this; max_shrinks: shrink cap; freeze_after: freeze after this many steps (``NEVER``: never);
    kappa: exponent of the background weights w_i = i^-kappa.
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
    kappa: float


def _check_prob(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0.0 <= value < 1.0):
        raise ValueError(f"{name} must be in [0, 1); got {value!r}")
    return float(value)


def _check_int(value, name, lo, *, allow_none=False):
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        none = "None or " if allow_none else ""
        raise ValueError(f"{name} must be {none}an integer >= {lo}; got {value!r}")
    return int(value)


DEFAULT_KAPPA = 1.0
REFERENCE_SSP = 0.05


def default_single_step_prop(p: int) -> float:
    """min(0.05, 0.5 / P): a sweep costs about 2P evaluations, so sweeps take about one evaluation per
    iteration on average whatever P (the reference's fixed 0.05 spends 6 of 13.6 evaluations per
    iteration on sweeps at P = 62, 10 of 14 at P = 100)."""
    return min(REFERENCE_SSP, 0.5 / max(int(p), 1))


def adaptation_weight_exponent(p: int) -> float:
    """The reference's kappa = max(2/3, 1 - P^(-1/3)) (weights w_i = i^-kappa; ``kappa="reference"``)."""
    return max(2.0 / 3.0, 1.0 - p ** (-1.0 / 3.0))


def _check_kappa(kappa):
    """None -> the default (1: equal weights over the whole history); "reference" -> the reference's
    P-dependent exponent; a float in (1/2, 1] (the stochastic-approximation conditions: sum w_i = inf,
    sum w_i^2 < inf)."""
    if kappa is None:
        return DEFAULT_KAPPA
    if isinstance(kappa, str):
        if kappa != "reference":
            raise ValueError(f"kappa must be None, 'reference' or a float in (0.5, 1]; got {kappa!r}")
        return kappa
    if isinstance(kappa, bool) or not isinstance(kappa, numbers.Real) or not (0.5 < kappa <= 1.0):
        raise ValueError(f"kappa must be None, 'reference' or a float in (0.5, 1]; got {kappa!r}")
    return float(kappa)


def agess_setup(*, num_steps: int, mean0=0.0, cov0=1.0, nu: float = 6.0, epsilon: float | None = None,
                single_step_prop: float | None = None, burnin: float = 0.5, beta: float = 0.5, t_dist: bool = True,
                shared_move_type: bool = True, cov_update: str = "rank1", max_shrinks: int = 100,
                variant: str = "package", freeze_after: int | None = None,
                sweep_only_until: float | None = None, kappa: float | str | None = None, _stacklevel: int = 1):
    """Validate the options of :func:`~sparsestat.mcmc.agess` (same names and meanings).

    Returns
    -------
    config : AGESSConfig
        The static part.
    params_for : callable
        ``params_for(p, dtype) -> AGESSParams`` (``mean0``/``cov0`` resolved for dimension P);
        ``params_for.check_dim(p)`` raises when they do not fit P.

    Examples
    --------
    >>> config, params_for = agess_setup(num_steps=1000)
    >>> params = params_for(3, jnp.float32)
    """
    if variant not in ("package", "case_study"):
        raise ValueError(f"variant must be 'package' or 'case_study'; got {variant!r}")
    if cov_update not in ("rank1", "refactor"):
        raise ValueError(f"cov_update must be 'rank1' or 'refactor'; got {cov_update!r}")
    if epsilon is None:
        epsilon = 0.1 if variant == "case_study" else 0.05
    epsilon = _check_prob(epsilon, "epsilon")
    ssp_given = None if single_step_prop is None else _check_prob(single_step_prop, "single_step_prop")
    if variant == "case_study" and ssp_given is None:
        ssp_given = REFERENCE_SSP
    ssp_bound = REFERENCE_SSP if ssp_given is None else ssp_given     # the default never exceeds 0.05
    if epsilon + ssp_bound > 1.0:
        raise ValueError(f"epsilon + single_step_prop must be <= 1; got {epsilon} + {ssp_bound}")
    burnin = _check_prob(burnin, "burnin")
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not (0.0 < beta <= 1.0):
        raise ValueError(f"beta must be in (0, 1]; got {beta!r}")
    beta = float(beta)
    nu = check_nu(nu)
    num_steps = _check_int(num_steps, "num_steps", 2)
    max_shrinks = check_max_shrinks(max_shrinks)
    freeze_after = _check_int(freeze_after, "freeze_after", 0, allow_none=True)
    kappa = _check_kappa(kappa)
    if epsilon == 0.0:
        warnings.warn("epsilon = 0 drops the fixed kernel component the ergodicity argument relies on",
                      UserWarning, stacklevel=_stacklevel + 1)
    config = AGESSConfig(bool(t_dist), bool(shared_move_type), cov_update, variant)
    mc = MeanCov(mean0, cov0, mean_name="mean0", cov_name="cov0")
    if sweep_only_until is None:
        # the reference's length of the sweep-only phase (its ssp = 0.05 unless one is given)
        sweep_only_until = burnin * (REFERENCE_SSP if ssp_given is None else ssp_given) * num_steps
    sweep_only_until = float(sweep_only_until)
    freeze = NEVER if freeze_after is None else min(freeze_after, NEVER)

    def params_for(p, dtype) -> AGESSParams:
        mu0, l0 = mc.resolve(p, dtype, dense=True)
        fixed_mu = jnp.zeros_like(mu0) if variant == "case_study" else mu0
        k = adaptation_weight_exponent(p) if kappa == "reference" else kappa
        ssp = default_single_step_prop(p) if ssp_given is None else ssp_given
        return AGESSParams(mu0, l0, fixed_mu, nu, epsilon, ssp, sweep_only_until, beta, max_shrinks, freeze, k)

    params_for.check_dim = mc.check_dim
    return config, params_for
