"""Operators against materialised numpy products, real and complex, 1-3 factors."""

from functools import reduce

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.linalg import ColumnScaled, Dense, Kronecker, enable_x64
from sparsestat.linalg.operators import aslinearoperator

SHAPES = [
    [(3, 4)],
    [(3, 4), (5, 2)],
    [(2, 3), (4, 2), (3, 3)],
]


def _rand(rng, shape, complex_):
    a = rng.standard_normal(shape)
    if complex_:
        a = a + 1j * rng.standard_normal(shape)
    return a


@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: f"{len(s)}factors")
@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
def test_kronecker_matches_np_kron(rng, x64, shapes, complex_):
    factors = [_rand(rng, s, complex_) for s in shapes]
    dense = reduce(np.kron, factors)
    op = Kronecker([jnp.asarray(f) for f in factors])
    assert op.shape == dense.shape
    x = _rand(rng, dense.shape[1], complex_)
    y = _rand(rng, dense.shape[0], complex_)
    X = _rand(rng, (dense.shape[1], 3), complex_)
    Y = _rand(rng, (dense.shape[0], 2), complex_)
    np.testing.assert_allclose(op.matvec(jnp.asarray(x)), dense @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.rmatvec(jnp.asarray(y)), dense.conj().T @ y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.matmat(jnp.asarray(X)), dense @ X, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.rmatmat(jnp.asarray(Y)), dense.conj().T @ Y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.gram_diag(), np.sum(np.abs(dense) ** 2, axis=0), rtol=1e-12)
    np.testing.assert_allclose(op.todense(), dense, rtol=1e-12)
    np.testing.assert_allclose(op.H.matvec(jnp.asarray(y)), dense.conj().T @ y, rtol=1e-12, atol=1e-12)
    gram = reduce(np.kron, [f.conj().T @ f for f in factors])
    np.testing.assert_allclose(reduce(jnp.kron, op.gram_factors()), gram, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op @ jnp.asarray(x), dense @ x, rtol=1e-12, atol=1e-12)


def test_kronecker_is_pytree_jit_and_vmap(rng, x64):
    A, B = rng.standard_normal((3, 4)), rng.standard_normal((2, 5))
    op = Kronecker([jnp.asarray(A), jnp.asarray(B)])
    xs = rng.standard_normal((7, 20))
    f = jax.jit(jax.vmap(lambda o, x: o.matvec(x), in_axes=(None, 0)))
    np.testing.assert_allclose(f(op, jnp.asarray(xs)), xs @ np.kron(A, B).T, rtol=1e-12)
    # a batch of operators (vmapped factors)
    As = rng.standard_normal((4, 3, 4))
    g = jax.vmap(lambda a, x: Kronecker([a, jnp.asarray(B)]).matvec(x))
    out = g(jnp.asarray(As), jnp.asarray(xs[:4]))
    for i in range(4):
        np.testing.assert_allclose(out[i], np.kron(As[i], B) @ xs[i], rtol=1e-12)


def test_float32_dtype_preserved(rng):
    A, B = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((2, 5)).astype(np.float32)
    op = Kronecker([jnp.asarray(A), jnp.asarray(B)])
    y = op.matvec(jnp.ones(20, jnp.float32))
    assert y.dtype == jnp.float32
    np.testing.assert_allclose(y, np.kron(A, B) @ np.ones(20), rtol=1e-5)


@pytest.mark.parametrize("complex_", [False, True])
def test_dense_and_column_scaled(rng, x64, complex_):
    A = _rand(rng, (6, 4), complex_)
    s = rng.uniform(0.5, 2.0, 4)
    op = ColumnScaled(Dense(jnp.asarray(A)), jnp.asarray(s))
    ref = A * s[None, :]
    x, y = _rand(rng, 4, complex_), _rand(rng, 6, complex_)
    np.testing.assert_allclose(op.matvec(jnp.asarray(x)), ref @ x, rtol=1e-12)
    np.testing.assert_allclose(op.rmatvec(jnp.asarray(y)), ref.conj().T @ y, rtol=1e-12)
    np.testing.assert_allclose(op.gram_diag(), np.sum(np.abs(ref) ** 2, 0), rtol=1e-12)
    np.testing.assert_allclose(op.todense(), ref, rtol=1e-12)
    K = ColumnScaled(Kronecker([jnp.asarray(A[:2, :2]), jnp.asarray(A[2:5, 2:4])]), jnp.asarray(s))
    dense = np.kron(A[:2, :2], A[2:5, 2:4]) * s[None, :]
    np.testing.assert_allclose(K.matvec(jnp.asarray(x)), dense @ x, rtol=1e-12)


def test_kronecker_validation():
    with pytest.raises(ValueError, match="factors"):
        Kronecker.from_factors([])
    with pytest.raises(ValueError, match=r"factors\[1\]"):
        Kronecker.from_factors([np.ones((2, 2)), np.ones(3)])
    with pytest.raises(ValueError, match=r"factors\[0\] contains NaN"):
        Kronecker.from_factors([np.full((2, 2), np.nan)])
    with pytest.raises(ValueError, match="2-D"):
        aslinearoperator(np.ones(3))
    assert isinstance(aslinearoperator([np.ones((2, 2)), np.ones((3, 3))]), Kronecker)
