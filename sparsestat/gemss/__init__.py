"""GEMSS: multiple sparse solutions by a variational spike-and-slab mixture.

A JAX reimplementation of gemss 1.1.2 (``kat-er-ina/gemss``, arXiv:2602.08913): a K-component
diagonal-Gaussian mixture is fitted to a structured spike-and-slab posterior and each component's
large-|mu| features form one candidate solution.

The functional core is :func:`fit` (``sparsestat.gemss.fit``: arrays and an explicit PRNG key in, a
:class:`MixtureFit` out; the training loop is one jitted ``lax.scan``, vmappable over keys and data
sets); :class:`GEMSS` is the scikit-learn estimator over it. ``fit_mixture`` and ``train`` are
deprecated aliases (one release).
"""

from . import metrics
from .core import MixtureFit, TrainConfig, fit, fit_mixture, train
from .estimator import GEMSS
from .extraction import backward_search, outlier_solutions, threshold_solutions
from .jaccard import mean_pairwise_jaccard, soft_support
from .likelihood import gaussian_log_likelihood, logistic_log_likelihood
from .mixture import MixtureParams, init_mixture, mixture_log_density, sample_mixture
from .objective import ObjectiveConfig, ObjectiveTerms, objective, objective_terms
from .priors import (PriorParams, draw_supports, log_elementary_symmetric, sss_exact_log_prior,
                     sss_log_prior, ss_log_prior, student_log_prior)

__all__ = [
    "GEMSS", "MixtureFit", "MixtureParams", "ObjectiveConfig", "ObjectiveTerms", "PriorParams",
    "TrainConfig", "backward_search", "draw_supports", "fit", "fit_mixture", "gaussian_log_likelihood",
    "init_mixture", "log_elementary_symmetric", "logistic_log_likelihood", "mean_pairwise_jaccard",
    "metrics", "mixture_log_density", "objective", "objective_terms", "outlier_solutions",
    "sample_mixture", "soft_support", "sss_exact_log_prior", "sss_log_prior", "ss_log_prior",
    "student_log_prior", "threshold_solutions", "train",
]
