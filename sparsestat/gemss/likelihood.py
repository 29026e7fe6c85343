"""Log likelihoods of a batch of coefficient draws (gemss's Gaussian one and a logistic one).

``X`` is the zero-filled design (NaN -> 0, so a missing feature drops out of its row) and
``row_mask`` is 1 for rows with at least one observed feature, 0 otherwise (those rows are skipped).
"""

from __future__ import annotations

import jax.numpy as jnp

from ..linalg.losses import bernoulli_loglik

__all__ = ["gaussian_log_likelihood", "logistic_log_likelihood", "LIKELIHOODS", "log_likelihood"]

LIKELIHOODS = ("gaussian", "logistic")


def gaussian_log_likelihood(Z, X, y, row_mask):
    """``-0.5 * sum_i m_i (x_i^T z_b - y_i)^2`` for each row ``z_b`` of ``Z`` (sigma = 1, no
    intercept, no constant: as gemss 1.1.2). Returns shape ``(B,)``."""
    resid = Z @ X.T - y[None, :]
    return -0.5 * jnp.sum(row_mask[None, :] * resid**2, axis=-1)


def logistic_log_likelihood(Z, X, y, row_mask):
    """Bernoulli log likelihood with logit ``eta = X z_b`` and labels ``y`` in {0, 1}:
    ``sum_i m_i (y_i eta_i - log(1 + exp(eta_i)))`` (the shared
    :func:`sparsestat.linalg.losses.bernoulli_loglik`). Returns shape ``(B,)``."""
    eta = Z @ X.T
    return jnp.sum(row_mask[None, :] * bernoulli_loglik(eta, y[None, :]), axis=-1)


def log_likelihood(name: str):
    """The log-likelihood function called ``name`` ("gaussian" or "logistic")."""
    if name == "gaussian":
        return gaussian_log_likelihood
    if name == "logistic":
        return logistic_log_likelihood
    raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {name!r}")
