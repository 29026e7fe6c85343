"""Host-to-device transfer of large numpy arrays without the slow path.

On CPU, ``jnp.asarray`` of a numpy array that is not 64-byte aligned copies it element by element
(~1 GB/s: 46 ms for a 1000 x 5000 float64 design on the 2-core dev machine), while
``jax.device_put`` of an aligned, C-contiguous buffer is zero-copy (0.1 ms). :func:`to_device` makes
one aligned copy with numpy (7 ms for the same array) and hands it over; a transposed copy of a large
array (2^24 entries or more) goes through the native tiled transpose where it is built
(:func:`sparsestat.linalg.native.transpose_into`: 150 ms against numpy's 500 ms at 5000 x 20000).
The copy is owned by the returned jax array, so later changes to the caller's array cannot leak in.
On accelerators this is an ordinary transfer.
"""

from __future__ import annotations

import jax
import numpy as np

from .native import transpose_into

__all__ = ["aligned_empty", "to_device", "to_host_layout"]

ALIGNMENT = 64
NATIVE_TRANSPOSE_MIN = 2 ** 24   # elements from which transposed copies use the native threaded transpose:
#                                  at 1000 x 5000 its threads met XLA's (still spinning after the previous
#                                  fit) and the page faults of the fresh buffer, and repeated fits took
#                                  22-26 ms against 20 ms with numpy's copy; at 5000 x 20000 it copies in
#                                  150 ms against numpy's 500


def aligned_empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous numpy array whose data pointer is a multiple of 64 bytes."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64))
    buf = np.empty(size * dtype.itemsize + ALIGNMENT, dtype=np.uint8)
    off = (-buf.ctypes.data) % ALIGNMENT
    return buf[off:off + size * dtype.itemsize].view(dtype).reshape(shape)


def to_device(a, *, dtype=None, transpose: bool = False, shape=None) -> jax.Array:
    """Copy a 2-D (or any) numpy array to the default device as a fresh, aligned buffer.

    Parameters
    ----------
    a : array_like
        Host array (a jax array is returned as is, transposed or padded with jnp if asked).
    dtype : dtype, optional
        Target dtype (default: ``a``'s dtype, canonicalised by jax: float64 becomes float32 unless
        float64 is enabled).
    transpose : bool
        Store ``a.T`` (2-D only): column gathers of ``a`` become contiguous row gathers.
    shape : tuple, optional
        Zero-pad to this shape (after transposing); each axis must be >= the data's.
    """
    if isinstance(a, jax.Array):
        import jax.numpy as jnp

        out = a.T if transpose else a
        if dtype is not None:
            out = out.astype(dtype)
        if shape is not None and tuple(shape) != out.shape:
            out = jnp.pad(out, [(0, s - d) for s, d in zip(shape, out.shape)])
        return out
    return jax.device_put(to_host_layout(a, dtype=dtype, transpose=transpose, shape=shape))


def to_host_layout(a, *, dtype=None, transpose: bool = False, shape=None) -> np.ndarray:
    """The host array :func:`to_device` copies to the device: a fresh, aligned, C-contiguous copy of
    ``a`` (numpy), transposed and zero-padded as asked. Handed to a compiled function as an argument,
    it goes to the device with the call (on CPU cheaper than a separate ``jax.device_put``: 0.02
    against 0.08 ms for a 256 x 128 design)."""
    a = np.asarray(a)
    dt = jax.dtypes.canonicalize_dtype(a.dtype if dtype is None else dtype)
    src = a.T if transpose else a
    shape = src.shape if shape is None else tuple(shape)
    if len(shape) != src.ndim or any(s < d for s, d in zip(shape, src.shape)):
        raise ValueError(f"shape must have {src.ndim} axes, each >= {src.shape}, got {shape}")
    out = aligned_empty(shape, dt)
    native = transpose and src.ndim == 2 and src.size >= NATIVE_TRANSPOSE_MIN
    if not (native and transpose_into(a, out)):   # the native tiled transpose where built, for large arrays
        out[tuple(slice(0, d) for d in src.shape)] = src
    for ax, d in enumerate(src.shape):  # zero only the padding (one pass over the data, not two)
        if shape[ax] > d:
            out[(slice(None),) * ax + (slice(d, None),)] = 0
    return out
