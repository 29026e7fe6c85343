"""The shared losses against their definitions and finite differences."""

import jax
import jax.numpy as jnp
import numpy as np

from sparsestat.linalg import (bernoulli_loglik, enable_x64, logistic_curvature, logistic_grad, logistic_loss,
                               squared_grad, squared_loss)


def test_logistic_against_definition_and_derivatives():
    with enable_x64():
        rng = np.random.default_rng(0)
        z = rng.normal(size=20) * 3
        y = np.where(rng.random(20) > 0.5, 1.0, -1.0)
        w = rng.random(20)
        np.testing.assert_allclose(logistic_loss(z, y, w), np.sum(w * np.log1p(np.exp(-y * z))), rtol=1e-13)
        g = jax.grad(lambda t: logistic_loss(t, y, w))(jnp.asarray(z))
        np.testing.assert_allclose(logistic_grad(z, y, w), g, rtol=1e-12)
        h = jax.vmap(lambda i: jax.grad(lambda t: logistic_grad(t, y, w)[i])(jnp.asarray(z))[i])(jnp.arange(20))
        np.testing.assert_allclose(logistic_curvature(z, y, w), h, rtol=1e-12)
        # stable far out: no overflow, loss ~ -y z where y z << 0
        assert np.isfinite(float(logistic_loss(jnp.asarray([800.0]), jnp.asarray([-1.0]))))
        np.testing.assert_allclose(logistic_loss(jnp.asarray([800.0]), jnp.asarray([-1.0])), 800.0)


def test_bernoulli_is_minus_logistic():
    with enable_x64():
        rng = np.random.default_rng(1)
        eta = rng.normal(size=30) * 4
        y01 = (rng.random(30) > 0.5).astype(float)
        np.testing.assert_allclose(-np.sum(bernoulli_loglik(eta, y01)), logistic_loss(eta, 2 * y01 - 1), rtol=1e-13)


def test_squared():
    z, y, w = np.array([1.0, 2.0]), np.array([0.0, 4.0]), np.array([2.0, 0.5])
    np.testing.assert_allclose(squared_loss(z, y, w), 0.5 * (2 * 1 + 0.5 * 4))
    np.testing.assert_allclose(squared_grad(z, y, w), [2.0, -1.0])
