"""The per-iteration Monte-Carlo objective of gemss 1.1.2 (ELBO estimate minus the Jaccard penalty).

``L = mean_b [log p(y | z_b) + log p(z_b) - log q(z_b)] - lambda * J_bar`` with
``z_b = mu_{c_b} + sqrt(s2_{c_b}) eps_b``. The component draw ``c`` and the noise ``eps`` (and, for the
sampled ``"sss"`` prior, the supports) are inputs, so the objective is a deterministic differentiable
function of the parameters; the weights receive gradient only through ``-log q`` (as the reference).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .jaccard import mean_pairwise_jaccard
from .likelihood import log_likelihood
from .mixture import MixtureParams, mixture_log_density, reparameterize
from .priors import (
    PriorParams,
    sss_exact_log_prior,
    sss_log_prior,
    ss_log_prior,
    student_log_prior,
)

__all__ = ["ObjectiveConfig", "ObjectiveTerms", "log_prior_batch", "objective", "objective_terms"]


class ObjectiveConfig(NamedTuple):
    """Settings of the objective.

    ``prior``, ``sparsity``, ``likelihood`` and ``jaccard_union`` set the program's structure (static
    under ``jit``); ``lambda_jaccard`` and the fields of ``prior_params`` are numbers that may be
    Python floats or (traced) JAX scalars, so a new value does not recompile the training loop.
    """

    prior: str = "sss"
    sparsity: int = 3
    likelihood: str = "gaussian"
    lambda_jaccard: float = 0.0
    jaccard_union: str = "soft"
    prior_params: PriorParams = PriorParams()


class ObjectiveTerms(NamedTuple):
    """Batch means of the objective's terms (for diagnostics and tests)."""

    objective: jax.Array
    elbo: jax.Array
    log_likelihood: jax.Array
    log_prior: jax.Array
    log_q: jax.Array
    jaccard: jax.Array


def log_prior_batch(Z, config: ObjectiveConfig, supports=None):
    """Log prior of each row of ``Z`` (B, p) under ``config.prior``; ``supports`` (M, D) for "sss"."""
    pp = config.prior_params
    if config.prior == "sss":
        return jax.vmap(lambda z: sss_log_prior(z, supports, pp.var_slab, pp.var_spike))(Z)
    if config.prior == "sss_exact":
        return jax.vmap(lambda z: sss_exact_log_prior(z, config.sparsity, pp.var_slab, pp.var_spike))(Z)
    if config.prior == "ss":
        return jax.vmap(lambda z: ss_log_prior(z, pp.var_slab, pp.var_spike, pp.weight_slab,
                                               pp.weight_spike))(Z)
    if config.prior == "student":
        return jax.vmap(lambda z: student_log_prior(z, pp.student_df, pp.student_scale))(Z)
    raise ValueError(f"unknown prior {config.prior!r}")


def objective_terms(params: MixtureParams, X, y, row_mask, comps, eps, supports,
                    config: ObjectiveConfig) -> ObjectiveTerms:
    """All terms of the objective for fixed draws ``comps`` (B,), ``eps`` (B, p) and ``supports``."""
    Z = reparameterize(params, comps, eps)
    loglik = log_likelihood(config.likelihood)(Z, X, y, row_mask)
    logp = log_prior_batch(Z, config, supports)
    logq = mixture_log_density(params, Z)
    elbo = jnp.mean(loglik + logp - logq)
    jac = mean_pairwise_jaccard(Z, config.jaccard_union)
    # always subtracted (lambda may be traced); lambda = 0 gives elbo exactly (jac is finite, in [0, 1])
    obj = elbo - jnp.asarray(config.lambda_jaccard, elbo.dtype) * jac
    return ObjectiveTerms(obj, elbo, jnp.mean(loglik), jnp.mean(logp), jnp.mean(logq), jac)


def objective(params: MixtureParams, X, y, row_mask, comps, eps, supports, config: ObjectiveConfig):
    """The regularised ELBO estimate (to be maximised) for fixed draws; see :func:`objective_terms`."""
    return objective_terms(params, X, y, row_mask, comps, eps, supports, config).objective
