"""Host-to-device transfer of large numpy arrays without the slow path.

On CPU, ``jnp.asarray`` of a numpy array that is not 64-byte aligned copies it element by element
(~1 GB/s: 46 ms for a 1000 x 5000 float64 design on the 2-core dev machine), while
``jax.device_put`` of an aligned, C-contiguous buffer is zero-copy (0.1 ms). :func:`to_device` makes
one aligned copy with numpy (7 ms for the same array) and hands it over; a transposed copy of a large
array (2^24 entries or more) goes through the native tiled transpose where it is built
(:func:`sparsestat.linalg.native.transpose_into`: 150 ms against numpy's 500 ms at 5000 x 20000).
The copy is owned by the returned jax array, so later changes to the caller's array cannot leak in.
On accelerators this is an ordinary transfer.

Large copies (:data:`POOL_MIN_BYTES` and up: a 5000 x 20000 design is 800 MB) are written into a
reused host block instead of fresh memory. A fresh buffer is zeroed page by page by the kernel on first
touch, and on a virtual machine each page may fault in the hypervisor too: the transposed copy of a
5000 x 20000 float64 design took 0.12-0.28 s into fresh memory and 0.085 s into a reused block, and
inside fits (after other large frees) the fresh copy took up to 0.54 s. The block returns to the pool
when the last array viewing it (numpy view or zero-copy jax array) is gone; the pool keeps the most
recent block only, marked ``MADV_FREE`` (the kernel takes its pages back under memory pressure), and
:func:`release_host_buffers` unmaps it.
"""

from __future__ import annotations

import mmap
import weakref

import jax
import numpy as np

from .native import transpose_into

__all__ = ["aligned_empty", "to_device", "to_host_layout", "release_host_buffers"]

ALIGNMENT = 64
NATIVE_TRANSPOSE_MIN = 2 ** 24   # elements from which transposed copies use the native threaded transpose:
#                                  at 1000 x 5000 its threads met XLA's (still spinning after the previous
#                                  fit) and the page faults of the fresh buffer, and repeated fits took
#                                  22-26 ms against 20 ms with numpy's copy; at 5000 x 20000 it copies in
#                                  150 ms against numpy's 500


POOL_MIN_BYTES = 1 << 26   # arrays from 64 MiB up come from the block pool (see the module docstring)
_POOLED = hasattr(mmap, "MAP_PRIVATE") and hasattr(mmap, "MAP_ANONYMOUS")
_FREE: list = []           # at most one free block (an anonymous private mmap), reused while large enough


def _advise(mm, name):
    advice = getattr(mmap, name, None)
    if advice is not None:
        try:
            mm.madvise(advice)
        except (OSError, ValueError):   # pragma: no cover - kernels without the advice
            pass


def _close(mm):
    try:
        mm.close()
    except BufferError:   # pragma: no cover - still exported: unmapped when the export goes
        pass


def _release(mm):
    """A block's last view is gone: keep it as the pool's free block (the previous one is unmapped).
    (Runs from a finalizer, possibly on another thread: list appends and pops are atomic.)"""
    _advise(mm, "MADV_FREE")
    _FREE.append(mm)
    while len(_FREE) > 1:
        try:
            _close(_FREE.pop(0))
        except IndexError:   # pragma: no cover - another thread took it
            break


def _pooled_bytes(nbytes: int) -> np.ndarray:
    """A uint8 array of ``nbytes`` on a page-aligned block of the pool (reused when the free block is
    at least as large and at most 1.5x larger; otherwise the free block is unmapped, a new one mapped)."""
    mm = None
    try:
        cand = _FREE.pop()
    except IndexError:
        cand = None
    if cand is not None:
        if nbytes <= len(cand) <= nbytes + nbytes // 2:
            mm = cand
        else:
            _close(cand)
    if mm is None:
        mm = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        _advise(mm, "MADV_HUGEPAGE")
    owner = np.frombuffer(mm, dtype=np.uint8, count=nbytes)   # the base of every view of the block
    weakref.finalize(owner, _release, mm).atexit = False
    return owner


def release_host_buffers() -> None:
    """Unmap the pool's free host block (up to the size of the largest design copied since; blocks in
    use are unmapped when their arrays are gone and another block is free)."""
    while _FREE:
        try:
            _close(_FREE.pop())
        except IndexError:   # pragma: no cover - another thread took it
            break


def aligned_empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous numpy array whose data pointer is a multiple of 64 bytes (from
    :data:`POOL_MIN_BYTES` up, on a reused page-aligned block of the host pool)."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64))
    if _POOLED and size * dtype.itemsize >= POOL_MIN_BYTES:
        return _pooled_bytes(size * dtype.itemsize).view(dtype).reshape(shape)
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


def to_host_layout(a, *, dtype=None, transpose: bool = False, shape=None, col_sums=None) -> np.ndarray:
    """The host array :func:`to_device` copies to the device: a fresh, aligned, C-contiguous copy of
    ``a`` (numpy), transposed and zero-padded as asked. Handed to a compiled function as an argument,
    it goes to the device with the call (on CPU cheaper than a separate ``jax.device_put``: 0.02
    against 0.08 ms for a 256 x 128 design). ``col_sums``: a float64 array of one entry per column of
    the 2-D ``a`` that receives the column sums (in double); the native transpose computes them while
    it copies (no second pass over ``a``)."""
    a = np.asarray(a)
    dt = jax.dtypes.canonicalize_dtype(a.dtype if dtype is None else dtype)
    src = a.T if transpose else a
    shape = src.shape if shape is None else tuple(shape)
    if len(shape) != src.ndim or any(s < d for s, d in zip(shape, src.shape)):
        raise ValueError(f"shape must have {src.ndim} axes, each >= {src.shape}, got {shape}")
    if col_sums is not None and (a.ndim != 2 or col_sums.shape != (a.shape[1],) or col_sums.dtype != np.float64):
        raise ValueError(f"col_sums must be a float64 array of shape ({a.shape[-1]},) for a 2-D array")
    out = aligned_empty(shape, dt)
    native = transpose and src.ndim == 2 and src.size >= NATIVE_TRANSPOSE_MIN
    if not (native and transpose_into(a, out, col_sums)):   # the native tiled transpose where built
        out[tuple(slice(0, d) for d in src.shape)] = src
        if col_sums is not None:
            np.sum(a, axis=0, dtype=np.float64, out=col_sums)
    for ax, d in enumerate(src.shape):  # zero only the padding (one pass over the data, not two)
        if shape[ax] > d:
            out[(slice(None),) * ax + (slice(d, None),)] = 0
    return out
