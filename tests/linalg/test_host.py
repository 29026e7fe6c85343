"""linalg.host.to_device: an aligned, owned copy with the requested layout."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.linalg.host import aligned_empty, to_device


@pytest.mark.parametrize("shape", [(3,), (5, 7), (2, 3, 4)])
def test_aligned_empty(shape):
    a = aligned_empty(shape, np.float64)
    assert a.shape == shape and a.flags.c_contiguous and a.ctypes.data % 64 == 0


def test_to_device_layouts(x64):
    X = np.random.default_rng(0).standard_normal((5, 7))
    np.testing.assert_array_equal(np.asarray(to_device(X)), X)
    np.testing.assert_array_equal(np.asarray(to_device(X, transpose=True)), X.T)
    P = np.asarray(to_device(X, transpose=True, shape=(8, 6)))
    np.testing.assert_array_equal(P[:7, :5], X.T)
    assert np.all(P[7:] == 0) and np.all(P[:, 5:] == 0)
    # a jax input takes the same route through jnp
    J = to_device(jnp.asarray(X), transpose=True, shape=(8, 6))
    np.testing.assert_array_equal(np.asarray(J), P)


def test_to_device_owns_its_copy(x64):
    X = np.ones((4, 4))
    D = to_device(X)
    X[:] = 5.0  # later changes to the caller's array do not leak into the device array
    assert float(jnp.sum(D)) == 16.0


def test_to_device_dtype_and_errors():
    X = np.arange(6, dtype=np.float64).reshape(2, 3)
    assert to_device(X, dtype=np.float32).dtype == jnp.float32
    # float64 is canonicalised (float32) when x64 is off
    assert to_device(X).dtype == jax.dtypes.canonicalize_dtype(np.float64)
    with pytest.raises(ValueError, match="shape"):
        to_device(X, shape=(1, 3))
