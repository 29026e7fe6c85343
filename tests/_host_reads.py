"""Count device-to-host reads made from Python: every ``np.asarray`` / ``np.array`` / ``jax.device_get``
call whose argument holds a jax array, and every ``float()`` / ``int()`` / ``bool()`` / ``.item()`` /
``.tolist()`` of one. (On CPU ``np.asarray`` of a jax array goes through the buffer protocol in C, so
hooks on ``jax.Array`` alone miss it: the numpy and jax entry points are patched instead.) Each such call
waits for the device, so the count is the number of host round trips of a call.

Shared by tests/core/test_host_reads.py and ``python -m benchmarks small``.
"""

from __future__ import annotations

import contextlib

import jax
import numpy as np
from jax._src import array as jax_array


def _holds_array(x) -> bool:
    return any(isinstance(leaf, jax.Array) for leaf in jax.tree_util.tree_leaves(x))


@contextlib.contextmanager
def counting_host_reads():
    """Context manager yielding a one-element list whose entry counts the reads made inside it."""
    count = [0]
    patched = []

    def patch(owner, name, make):
        orig = getattr(owner, name)
        patched.append((owner, name, orig))
        setattr(owner, name, make(orig))

    def entry(orig):
        def counted(x, *args, **kwargs):
            if _holds_array(x):
                count[0] += 1
            return orig(x, *args, **kwargs)
        return counted

    def method(orig):
        def counted(self, *args, **kwargs):
            count[0] += 1
            return orig(self, *args, **kwargs)
        return counted

    patch(np, "asarray", entry)
    patch(np, "array", entry)
    patch(np, "ascontiguousarray", entry)
    patch(jax, "device_get", entry)
    for name in ("__float__", "__int__", "__bool__", "__index__", "item", "tolist"):
        if hasattr(jax_array.ArrayImpl, name):
            patch(jax_array.ArrayImpl, name, method)
    try:
        yield count
    finally:
        for owner, name, orig in reversed(patched):
            setattr(owner, name, orig)


def steady_state_reads(fn) -> int:
    """Reads of the second call of ``fn`` (the first compiles)."""
    fn()
    with counting_host_reads() as count:
        fn()
    return count[0]
