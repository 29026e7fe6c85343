"""Gradient-free MCMC: elliptical slice (ESS), generalized ESS (GESS) and adaptive GESS (AGESS).

blackjax-style kernels (pure ``init``/``step`` functions over NamedTuple states):
:func:`elliptical_slice`, :func:`gess`, :func:`coordinate_sweep`, :func:`agess`; numpyro kernels
:class:`GESS` and :class:`AGESS` (``numpyro.infer.MCMC``); the convenience driver :func:`sample`; and
the diagnostics it reports (:func:`split_rhat`, :func:`effective_sample_size`, numpy), with
:func:`bulk_ess` (ArviZ's default ESS); ``SampleResult.to_inference_data()`` exports to ArviZ (optional).

Where each piece lives: ``states`` (shared states and info), ``shrinking_bracket`` (the slice search on
an ellipse), ``t_auxiliary`` (the GESS auxiliary), ``plain_ess`` / ``generalized`` / ``sweep`` (the
fixed-parameter kernels), ``agess_config`` / ``adaptation`` / ``agess_kernel`` / ``agess_api`` (AGESS),
``numpyro_kernels``, ``sampling`` and ``sample_programs`` (the driver), ``diagnostics``, ``arviz_io``
(the ArviZ export).

.. note:: **Name clash.** ``numpyro.infer.ESS`` is *ensemble* slice sampling (Karamanis & Beutler 2021),
   a different algorithm; the elliptical samplers of this module are ``sparsestat.mcmc.GESS`` and
   ``sparsestat.mcmc.AGESS`` (and ``elliptical_slice`` for plain ESS).
"""

from __future__ import annotations

import importlib

# public name -> the submodule that defines it (imported on first use: importing sparsestat.mcmc
# imports neither numpyro nor the kernels)
_HOMES = {
    "sparsestat.mcmc.states": ("MCMCInfo", "EllipSliceState", "SamplingAlgorithm"),
    "sparsestat.mcmc.shrinking_bracket": ("shrink_on_ellipse",),
    "sparsestat.mcmc.plain_ess": ("elliptical_slice",),
    "sparsestat.mcmc.generalized": ("gess",),
    "sparsestat.mcmc.sweep": ("coordinate_sweep",),
    "sparsestat.mcmc.agess_api": ("agess",),
    "sparsestat.mcmc.agess_kernel": ("AGESSState",),
    "sparsestat.mcmc.agess_config": ("AGESSParams", "AGESSConfig"),
    "sparsestat.mcmc.adaptation": ("Schedule", "freeze", "refresh_times", "adaptation_weight_exponent"),
    "sparsestat.mcmc.numpyro_kernels": ("GESS", "AGESS"),
    "sparsestat.mcmc.sampling": ("sample", "SampleResult"),
    "sparsestat.mcmc.diagnostics": ("effective_sample_size", "bulk_ess", "split_rhat"),
}
_LAZY = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    try:
        home = importlib.import_module(_LAZY[name])
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value = getattr(home, name)
    return value


def __dir__():
    return __all__
