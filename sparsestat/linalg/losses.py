"""Losses several modules need, written once (floor 1).

Each is a small pure function of the linear predictor ``z`` (``eta``) and the labels, elementwise
unless it says it sums; weights multiply elementwise. Numerically stable for any ``z``
(``logaddexp``/``sigmoid``, never ``log(1 + exp(z))``).

- logistic loss with labels in {-1, +1}: ``logistic_loss`` (sum), ``logistic_grad`` (dF/dz),
  ``logistic_curvature`` (d2F/dz2, at most weight / 4); the regression datafit, certificates and solvers
  use these.
- Bernoulli log-likelihood with labels in {0, 1}: ``bernoulli_loglik`` (elementwise); the same function
  (log(1 + exp(-s z)) = softplus(z) - y z with s = 2y - 1), in the parametrisation GEMSS's
  likelihood and the MCMC targets use.
- ``squared_loss`` (1/2 sum w (y - z)^2) and its derivative ``squared_grad``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["logistic_loss", "logistic_grad", "logistic_curvature", "bernoulli_loglik", "squared_loss",
           "squared_grad"]


def logistic_loss(z, y, weight=1.0):
    """sum_i weight_i log(1 + exp(-y_i z_i)), y in {-1, +1}."""
    return jnp.sum(weight * jnp.logaddexp(0.0, -y * z))


def logistic_grad(z, y, weight=1.0):
    """d/dz_i of :func:`logistic_loss`: -weight_i y_i sigmoid(-y_i z_i)."""
    return -weight * y * jax.nn.sigmoid(-y * z)


def logistic_curvature(z, y, weight=1.0):
    """d2/dz_i2 of :func:`logistic_loss`: weight_i sigmoid(z_i) (1 - sigmoid(z_i)) (label-free, <= weight/4)."""
    del y
    s = jax.nn.sigmoid(z)
    return weight * s * (1.0 - s)


def bernoulli_loglik(eta, y01):
    """Elementwise log p(y | eta) = y eta - log(1 + exp(eta)) for y in {0, 1} (= -logistic loss with
    labels 2y - 1)."""
    return y01 * eta - jax.nn.softplus(eta)


def squared_loss(z, y, weight=1.0):
    """1/2 sum_i weight_i (y_i - z_i)^2."""
    r = y - z
    return 0.5 * jnp.sum(weight * r * r)


def squared_grad(z, y, weight=1.0):
    """d/dz_i of :func:`squared_loss`: weight_i (z_i - y_i)."""
    return weight * (z - y)
