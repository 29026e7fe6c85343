"""Multi-device helpers: a batch axis (chains, folds, problems, channel realisations) or a row axis
(samples, users) placed on a 1-D device mesh, with padding to a multiple of the device count.

- :func:`sharded_vmap` maps a per-problem function over a leading batch axis split across devices.
- :func:`sharded_batch` runs a batch function on each device's block of that axis (``shard_map``).
- :func:`sharded_row_sum` sums a per-row statistic over rows split across devices (``psum``).

On CPU, several devices can be simulated for tests with
``XLA_FLAGS=--xla_force_host_platform_device_count=4`` set before JAX starts. Nothing here queries
devices at import time.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

__all__ = [
    "make_mesh",
    "pad_axis",
    "shard_leading_axis",
    "sharded_vmap",
    "sharded_batch",
    "sharded_row_sum",
]


def make_mesh(n_devices: int | None = None, axis_name: str = "batch", devices=None) -> Mesh:
    """A 1-D mesh over the first ``n_devices`` devices (all by default)."""
    devs = list(jax.devices() if devices is None else devices)
    if n_devices is not None:
        if not isinstance(n_devices, int) or n_devices < 1:
            raise ValueError(f"n_devices must be a positive integer, got {n_devices!r}")
        if n_devices > len(devs):
            raise ValueError(f"n_devices={n_devices} but only {len(devs)} device(s) are available")
        devs = devs[:n_devices]
    return Mesh(np.array(devs), (axis_name,))


def pad_axis(x: Any, multiple: int, axis: int = 0):
    """Pad every leaf of a pytree with zeros along ``axis`` up to a multiple of ``multiple``.
    Returns (padded, original_size)."""
    leaves = jax.tree_util.tree_leaves(x)
    if not leaves:
        raise ValueError("x has no array leaves")
    size = int(leaves[0].shape[axis])
    pad = (-size) % multiple

    def _pad(a):
        a = jnp.asarray(a)
        if pad == 0:
            return a
        widths = [(0, 0)] * a.ndim
        widths[axis] = (0, pad)
        return jnp.pad(a, widths)

    return jax.tree_util.tree_map(_pad, x), size


def shard_leading_axis(x: Any, mesh: Mesh) -> Any:
    """Place the leading axis of every leaf of ``x`` across the mesh (it must divide evenly)."""
    axis = mesh.axis_names[0]
    sharding = NamedSharding(mesh, P(axis))
    return jax.tree_util.tree_map(lambda a: jax.device_put(a, sharding), x)


def _check_batch_args(args, axes):
    if len(axes) != len(args):
        raise ValueError("in_axes must have one entry per argument")
    batched = [a for a, ax in zip(args, axes) if ax is not None]
    if not batched:
        raise ValueError("at least one argument must be batched (in_axes not None)")
    for ax in axes:
        if ax not in (0, None):
            raise ValueError("in_axes entries must be 0 or None")
    sizes = {int(jax.tree_util.tree_leaves(a)[0].shape[0]) for a in batched}
    if len(sizes) != 1:
        raise ValueError(f"batched arguments have different leading sizes {sorted(sizes)}")
    return sizes.pop()


def sharded_batch(batch_fn: Callable, mesh: Mesh | None = None, *, in_axes=0) -> Callable:
    """Apply a *batch* function to a leading batch axis split across the mesh's devices.

    ``batch_fn(*args)`` takes arrays whose batched arguments (``in_axes`` 0) share a leading axis and
    returns a pytree whose every leaf has that leading axis (None leaves allowed); arguments with
    ``in_axes`` None are passed whole to every device. Each device runs ``batch_fn`` on its own block
    of problems (``shard_map``), so the function chooses how its block is computed: a ``vmap``, a
    sequential ``lax.map`` or a lane pool. The batch is zero-padded to a multiple of the device count
    and the padding dropped from the outputs.

    On CPU hosts with several (forced) devices, prefer a block function whose LAPACK calls are
    unbatched (a ``lax.map`` over problems): jaxlib < 0.11 runs a batched LAPACK call on the shared
    intra-op pool and blocks on it, and with one device thread per pool thread the devices can wait on
    each other forever (see ``linalg.ordering``).
    """
    from jax.sharding import PartitionSpec

    def wrapped(*args):
        m = mesh if mesh is not None else make_mesh()
        nd = m.devices.size
        axis = m.axis_names[0]
        axes = in_axes if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
        size = _check_batch_args(args, axes)
        new_args, specs = [], []
        for a, ax in zip(args, axes):
            if ax is None:
                new_args.append(a)
                specs.append(jax.tree_util.tree_map(lambda _: PartitionSpec(), a))
            else:
                padded, _ = pad_axis(a, nd)
                new_args.append(shard_leading_axis(padded, m))
                specs.append(jax.tree_util.tree_map(lambda _: PartitionSpec(axis), padded))
        key = (m, tuple(jax.tree_util.tree_structure(s) for s in specs))
        fn = _smap_cache.get(key)
        if fn is None:
            fn = jax.jit(_shard_map(batch_fn, m, tuple(specs), PartitionSpec(axis)))
            _smap_cache[key] = fn
        out = fn(*new_args)
        return jax.tree_util.tree_map(lambda o: o[:size], out)

    _smap_cache: dict = {}
    return wrapped


def _shard_map(f, mesh, in_specs, out_specs):
    # per-device loops (while/scan) carry values that are not "varying" across the mesh: the
    # varying-axis check is switched off (the blocks are independent problems)
    return jax.shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False)


def sharded_vmap(fn: Callable, mesh: Mesh | None = None, *, in_axes=0) -> Callable:
    """``jax.vmap(fn)`` over a leading batch axis whose problems are split across the mesh's devices.

    Arguments with ``in_axes`` None (per-argument tuple, as in vmap) are broadcast to every device.
    The batch is zero-padded to a multiple of the device count and the padding dropped from the
    outputs, so any batch size works. Results equal the single-device ``vmap`` (same programme per
    problem). See :func:`sharded_batch` for functions that hold batched LAPACK calls on CPU hosts.
    """
    return sharded_batch(jax.vmap(fn, in_axes=in_axes), mesh, in_axes=in_axes)


def sharded_row_sum(fn: Callable, arrays: Any, mesh: Mesh | None = None) -> Any:
    """Sum of ``fn(block, mask)`` over row blocks split across devices, reduced with ``psum``.

    ``arrays`` is a pytree of arrays sharing their leading (row) axis. ``fn(block, mask)`` receives a
    block of rows and a float mask (1 for real rows, 0 for padding) and returns a pytree of partial
    sums that must weight each row by ``mask``. The rows are padded to a multiple of the device count.
    """
    m = mesh if mesh is not None else make_mesh(axis_name="rows")
    axis = m.axis_names[0]
    nd = m.devices.size
    padded, n = pad_axis(arrays, nd)
    total = int(jax.tree_util.tree_leaves(padded)[0].shape[0])
    leaf_dtype = jax.tree_util.tree_leaves(padded)[0].dtype
    mdtype = jnp.finfo(leaf_dtype).dtype if jnp.issubdtype(leaf_dtype, jnp.inexact) else jnp.float32
    mask = (jnp.arange(total) < n).astype(mdtype)

    def local(block, msk):
        part = fn(block, msk)
        return jax.tree_util.tree_map(lambda v: jax.lax.psum(v, axis), part)

    in_specs = (jax.tree_util.tree_map(lambda _: P(axis), padded), P(axis))
    smap = jax.shard_map(local, mesh=m, in_specs=in_specs, out_specs=P())
    return jax.jit(smap)(shard_leading_axis(padded, m), shard_leading_axis(mask, m))
