"""Benchmark targets of issue 21: the non-centred horseshoe is the centred one after a change of
variables, and the real-data logistic posteriors are the stated models."""

import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.datasets.mcmc_targets import horseshoe, real_logistic
from sparsestat.linalg import enable_x64


def test_noncentred_horseshoe_is_the_centred_density_times_the_jacobian():
    """beta = z lambda tau sigma: log pi_nc(z, ...) = log pi_c(beta, ...) + sum_j log(lambda_j tau sigma)."""
    p = 8
    with enable_x64():
        c, nc = horseshoe(p=p, n=20), horseshoe(p=p, n=20, parametrization="non-centred")
        rng = np.random.default_rng(0)
        for _ in range(5):
            z = jnp.asarray(rng.standard_normal(2 * p + 2) * 0.7)
            logsd = z[p:2 * p] + z[2 * p] + z[2 * p + 1]
            centred = z.at[:p].set(z[:p] * jnp.exp(logsd))
            assert float(nc.logdensity(z)) == pytest.approx(float(c.logdensity(centred) + jnp.sum(logsd)),
                                                            rel=1e-12, abs=1e-10)
    with pytest.raises(ValueError, match="parametrization"):
        horseshoe(p=p, parametrization="noncentered")


@pytest.mark.parametrize("name, dim, n", [("breast_cancer", 31, 569), ("digits", 62, 1797)])
def test_real_logistic_is_the_stated_model(name, dim, n):
    with enable_x64():
        t = real_logistic(name)
        X, y = t.data["X"], t.data["y"]
        assert t.dim == dim and X.shape == (n, dim) and np.all(X[:, 0] == 1.0)
        np.testing.assert_allclose(X[:, 1:].mean(0), 0.0, atol=1e-12)
        np.testing.assert_allclose(X[:, 1:].std(0), 1.0, atol=1e-12)
        b = np.random.default_rng(1).standard_normal(dim) * 0.3
        z = X @ b
        want = np.sum(y * z - np.logaddexp(0.0, z)) - 0.5 * (b @ b) / 4.0     # prior N(0, 2^2)
        assert float(t.logdensity(jnp.asarray(b))) == pytest.approx(want, rel=1e-12)
    with pytest.raises(ValueError, match="name"):
        real_logistic("iris")
