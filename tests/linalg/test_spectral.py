"""Spectral norm estimates against numpy's exact 2-norm."""

from functools import reduce

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.linalg import Kronecker, spectral_norm


@pytest.mark.parametrize("method", ["lanczos", "power"])
@pytest.mark.parametrize("complex_", [False, True])
def test_dense_matches_numpy(rng, x64, method, complex_):
    A = rng.standard_normal((30, 20)) + (1j * rng.standard_normal((30, 20)) if complex_ else 0)
    exact = np.linalg.norm(A, 2)
    est = float(spectral_norm(jnp.asarray(A), method=method, n_iter=20 if method == "lanczos" else 200))
    assert est <= exact * (1 + 1e-10)  # Ritz values never exceed the truth
    assert est >= exact * (1 - (1e-8 if method == "lanczos" else 1e-3))


def test_kronecker_operator_and_safety(rng, x64):
    fs = [rng.standard_normal((5, 4)), rng.standard_normal((3, 6)), rng.standard_normal((4, 4))]
    exact = np.linalg.norm(reduce(np.kron, fs), 2)
    est = float(spectral_norm(Kronecker([jnp.asarray(f) for f in fs])))
    np.testing.assert_allclose(est, exact, rtol=1e-8)
    assert float(spectral_norm(jnp.asarray(fs[0]), safety=1.02)) == pytest.approx(1.02 * np.linalg.norm(fs[0], 2),
                                                                                  rel=1e-8)


def test_float32_and_jit(rng):
    A = rng.standard_normal((40, 25)).astype(np.float32)
    est = jax.jit(lambda a: spectral_norm(a))(jnp.asarray(A))
    assert est.dtype == jnp.float32
    np.testing.assert_allclose(float(est), np.linalg.norm(A.astype(np.float64), 2), rtol=1e-4)


def test_validation():
    with pytest.raises(ValueError, match="method"):
        spectral_norm(jnp.ones((2, 2)), method="qr")
    with pytest.raises(ValueError, match="safety"):
        spectral_norm(jnp.ones((2, 2)), safety=0.5)
    with pytest.raises(ValueError, match="n_iter"):
        spectral_norm(jnp.ones((2, 2)), n_iter=0)


@pytest.mark.parametrize("shape", [(6, 9), (9, 6), (1, 5)])
def test_leading_singular_triplet_matches_svd(rng, x64, shape):
    from sparsestat.linalg import leading_singular_triplet

    A = np.abs(rng.standard_normal(shape)) + 0.1   # non-negative: a separated Perron pair
    t = leading_singular_triplet(jnp.asarray(A))
    U, S, Vh = np.linalg.svd(A)
    assert bool(t.converged)
    assert float(t.s) == pytest.approx(S[0], rel=1e-12)
    np.testing.assert_allclose(np.abs(np.asarray(t.u)), np.abs(U[:, 0]), atol=1e-9)
    np.testing.assert_allclose(np.abs(np.asarray(t.v)), np.abs(Vh[0]), atol=1e-9)
    np.testing.assert_allclose(A.T @ np.asarray(t.u), float(t.s) * np.asarray(t.v), atol=1e-9 * S[0])


def test_leading_singular_triplet_warm_start_cap_and_edge_cases(rng, x64):
    from sparsestat.linalg import leading_singular_triplet

    A = rng.standard_normal((8, 7))
    U, S, Vh = np.linalg.svd(A)
    cold = leading_singular_triplet(jnp.asarray(A))
    warm = leading_singular_triplet(jnp.asarray(A), jnp.asarray(Vh[0] + 1e-3))
    assert bool(warm.converged) and int(warm.n_iter) < int(cold.n_iter)
    assert float(warm.s) == pytest.approx(S[0], rel=1e-12)
    capped = leading_singular_triplet(jnp.asarray(A), max_iter=4, tol=1e-300)
    assert int(capped.n_iter) == 4 and not bool(capped.converged)
    # a start in the null space of the top pair's complement: M v0 = 0 falls back to ones
    B = np.zeros((3, 4)); B[0, 0] = 2.0
    t = leading_singular_triplet(jnp.asarray(B), jnp.asarray([0.0, 1.0, 0.0, 0.0]))
    assert float(t.s) == pytest.approx(2.0) and abs(float(t.v[0])) == pytest.approx(1.0)
    z = leading_singular_triplet(jnp.zeros((3, 4)))
    assert float(z.s) == 0.0 and np.all(np.isfinite(np.asarray(z.v)))
    with pytest.raises(ValueError, match="v0"):
        leading_singular_triplet(jnp.asarray(A), jnp.ones(3))
    with pytest.raises(ValueError, match="M must"):
        leading_singular_triplet(jnp.ones(3))
