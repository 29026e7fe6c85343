"""Gradient-free MCMC: elliptical slice (ESS), generalized ESS (GESS) and adaptive GESS (AGESS).

blackjax-style kernels (pure ``init``/``step`` functions over NamedTuple states):
:func:`elliptical_slice`, :func:`gess`, :func:`coordinate_sweep`, :func:`agess`; numpyro kernels
:class:`GESS` and :class:`AGESS` (``numpyro.infer.MCMC``); the convenience driver :func:`sample`; and
the diagnostics it reports (:func:`split_rhat`, :func:`effective_sample_size`, numpy).

.. note:: **Name clash.** ``numpyro.infer.ESS`` is *ensemble* slice sampling (Karamanis & Beutler 2021),
   a different algorithm; the elliptical samplers of this module are ``sparsestat.mcmc.GESS`` and
   ``sparsestat.mcmc.AGESS`` (and ``elliptical_slice`` for plain ESS).
"""

from __future__ import annotations

import importlib

_LAZY = {
    "MCMCInfo": "sparsestat.mcmc.ellipse",
    "shrink_on_ellipse": "sparsestat.mcmc.ellipse",
    "EllipSliceState": "sparsestat.mcmc.elliptical",
    "SamplingAlgorithm": "sparsestat.mcmc.elliptical",
    "elliptical_slice": "sparsestat.mcmc.elliptical",
    "gess": "sparsestat.mcmc.generalized",
    "coordinate_sweep": "sparsestat.mcmc.sweep",
    "agess": "sparsestat.mcmc.adaptive",
    "AGESSState": "sparsestat.mcmc.adaptive",
    "AGESSParams": "sparsestat.mcmc.adaptive",
    "AGESSConfig": "sparsestat.mcmc.adaptive",
    "Schedule": "sparsestat.mcmc.adaptive",
    "freeze": "sparsestat.mcmc.adaptive",
    "refresh_times": "sparsestat.mcmc.adaptive",
    "adaptation_weight_exponent": "sparsestat.mcmc.adaptive",
    "GESS": "sparsestat.mcmc.numpyro_kernels",
    "AGESS": "sparsestat.mcmc.numpyro_kernels",
    "sample": "sparsestat.mcmc.sampling",
    "effective_sample_size": "sparsestat.mcmc.diagnostics",
    "split_rhat": "sparsestat.mcmc.diagnostics",
    "SampleResult": "sparsestat.mcmc.sampling",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'sparsestat.mcmc' has no attribute {name!r}")
    value = getattr(importlib.import_module(target), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
