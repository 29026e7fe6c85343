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


# ---------------------------------------------------------------- the pool of large host blocks
@pytest.fixture
def small_pool(monkeypatch):
    """The pool from 64 KiB (instead of 64 MiB), emptied before and after."""
    from sparsestat.linalg import host

    if not host._POOLED:
        pytest.skip("no anonymous private mmap on this platform")
    host.release_host_buffers()
    monkeypatch.setattr(host, "POOL_MIN_BYTES", 1 << 16)
    yield host
    host.release_host_buffers()


def test_pool_reuses_a_block_once_its_last_view_is_gone(small_pool):
    host = small_pool
    a = aligned_empty((100, 200), np.float64)            # 160 KB: pooled
    assert a.ctypes.data % 4096 == 0 and a.flags.c_contiguous and a.flags.writeable
    ptr = a.ctypes.data
    view = a.T[10:]
    del a
    assert host._FREE == []                               # a view still uses the block
    b = aligned_empty((100, 200), np.float64)
    assert b.ctypes.data != ptr                           # so a new one is mapped
    del view
    assert len(host._FREE) == 1
    c = aligned_empty((90, 200), np.float64)              # fits, and is not 1.5x too large: reused
    assert c.ctypes.data == ptr and host._FREE == []
    small = aligned_empty((10, 10), np.float64)           # below the threshold: numpy memory
    assert small.ctypes.data % 64 == 0 and small.base is not None and small.base.base is None
    del b, c
    assert len(host._FREE) == 1                           # the pool keeps one free block
    host.release_host_buffers()
    assert host._FREE == []


def test_pool_block_much_larger_than_asked_is_not_reused(small_pool):
    host = small_pool
    a = aligned_empty((400, 200), np.float64)
    ptr = a.ctypes.data
    del a
    b = aligned_empty((100, 200), np.float64)             # the free block is 4x larger: unmapped
    assert b.ctypes.data != ptr and host._FREE == []


def test_pool_reused_block_gives_exact_layouts(small_pool, x64):
    """A reused block holds the previous array's values: the transposed, padded copy overwrites all of it
    (the padding zeroed), and the device array is an owned copy of the caller's values."""
    import gc

    host = small_pool
    junk = aligned_empty((130, 210), np.float64)
    junk[:] = np.nan
    ptr = junk.ctypes.data
    del junk
    X = np.random.default_rng(1).standard_normal((200, 120))
    H = host.to_host_layout(X, transpose=True, shape=(128, 208))
    assert H.ctypes.data == ptr
    np.testing.assert_array_equal(H[:120, :200], X.T)
    assert np.all(H[120:] == 0) and np.all(H[:, 200:] == 0)
    D = jax.device_put(H)                                 # zero-copy on CPU: D keeps the block
    del H
    gc.collect()
    assert host._FREE == []
    np.testing.assert_array_equal(np.asarray(D)[:120, :200], X.T)
    del D
    gc.collect()                                          # jax lets go of a zero-copy host array at a collection
    assert len(host._FREE) == 1
