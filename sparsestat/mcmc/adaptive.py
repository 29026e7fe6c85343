"""Deprecated alias (kept for one release): AGESS now lives in :mod:`~sparsestat.mcmc.agess_config`
(options), :mod:`~sparsestat.mcmc.adaptation` (schedule, background estimates),
:mod:`~sparsestat.mcmc.agess_kernel` (state, ``init``/``init_chains``/``step``/``build_kernel``) and
:mod:`~sparsestat.mcmc.agess_api` (``agess``). ``init_chain`` / ``init_chains`` keep their old
positional order here. Importing this module warns."""

import warnings

from . import agess_kernel as _kernel
from .adaptation import Schedule, adaptation_weight_exponent, freeze, refresh_times
from .agess_api import AGESSAlgorithm, agess
from .agess_config import AGESSConfig, AGESSParams, agess_setup
from .agess_kernel import AGESSState, build_kernel

warnings.warn("sparsestat.mcmc.adaptive is deprecated and will be removed in the next release: use "
              "sparsestat.mcmc.agess (agess.init / init_chains / step / build_kernel) or the modules "
              "agess_config, adaptation, agess_kernel", DeprecationWarning, stacklevel=2)


def init_chain(position, rng_key, logdensity_fn, params, config=AGESSConfig()):
    """Old order of :func:`sparsestat.mcmc.agess_kernel.init`."""
    return _kernel.init(position, logdensity_fn, params, config, rng_key=rng_key)


def init_chains(positions, rng_key, logdensity_fn, params, config=AGESSConfig()):
    """Old order of :func:`sparsestat.mcmc.agess_kernel.init_chains`."""
    return _kernel.init_chains(positions, logdensity_fn, params, config, rng_key=rng_key)


__all__ = ["Schedule", "AGESSState", "AGESSAlgorithm", "AGESSParams", "AGESSConfig", "agess", "agess_setup",
           "build_kernel", "init_chain", "init_chains", "adaptation_weight_exponent", "refresh_times", "freeze"]
