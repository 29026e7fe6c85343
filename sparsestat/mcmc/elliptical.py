"""Deprecated alias (kept for one release): plain elliptical slice sampling is in
:mod:`~sparsestat.mcmc.plain_ess`, its state types in :mod:`~sparsestat.mcmc.states`. Importing this
module warns."""

import warnings

from .plain_ess import build_ess_kernel, elliptical_slice, ess_move, ess_step
from .states import EllipSliceState, SamplingAlgorithm

warnings.warn("sparsestat.mcmc.elliptical is deprecated and will be removed in the next release: import from "
              "sparsestat.mcmc.plain_ess or .states (or sparsestat.mcmc)", DeprecationWarning, stacklevel=2)

__all__ = ["EllipSliceState", "SamplingAlgorithm", "elliptical_slice", "ess_move", "ess_step", "build_ess_kernel"]
