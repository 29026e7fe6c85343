"""Several processes (hosts, or one process per GPU) on JAX's multi-controller runtime.

Every process runs the same program on its *local block* of a batch (users, rows, problems, chains).
The global order is process 0's block, then process 1's, and so on. The collectives here are JAX's own
(``jax.experimental.multihost_utils.process_allgather`` over ``jax.distributed``; gloo on CPU):

- :func:`initialize` connects the processes (cluster auto-detection, explicit arguments, or the
  environment that ``sparsestat launch`` sets) with bounded timeouts;
- :func:`block_sizes` / :func:`block_offset` place a local block in the global order (the global index
  keys the randomness, so a distributed run draws what one process draws on the concatenated input);
- :func:`allgather_blocks` concatenates local blocks of any (unequal) sizes in process order on every
  process; :func:`allreduce_sum` sums per-process partial sums; both check that shapes and dtypes agree
  across processes and name the process that differs;
- :func:`global_mesh` and :func:`global_array` build the global mesh and a global ``jax.Array`` from
  local blocks for users who write their own ``shard_map``; :func:`as_local_block` goes back.

In a single process (not initialized, or one process) every helper is the identity, so code written
for several processes runs unchanged in one. Nothing here touches JAX at import time.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import jax
import numpy as np

__all__ = [
    "DistributedError",
    "initialize",
    "is_initialized",
    "shutdown",
    "process_index",
    "process_count",
    "block_sizes",
    "block_offset",
    "allgather_blocks",
    "allreduce_sum",
    "broadcast",
    "global_mesh",
    "global_array",
    "as_local_block",
    "ENV_COORDINATOR",
    "ENV_NUM_PROCESSES",
    "ENV_PROCESS_ID",
    "ENV_TIMEOUT",
]

ENV_COORDINATOR = "SPARSESTAT_COORDINATOR"
ENV_NUM_PROCESSES = "SPARSESTAT_NUM_PROCESSES"
ENV_PROCESS_ID = "SPARSESTAT_PROCESS_ID"
ENV_TIMEOUT = "SPARSESTAT_DISTRIBUTED_TIMEOUT"

_META_LEN = 12          # ndim, dtype code, up to 10 dimensions
_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "complex64", "complex128")


class DistributedError(RuntimeError):
    """A collective between processes failed, or the processes disagree about the data they hold."""


def is_initialized() -> bool:
    """True once ``jax.distributed`` connects this process to others (by :func:`initialize` or the user)."""
    return bool(jax.distributed.is_initialized())


def process_index() -> int:
    """This process's index in ``0 .. process_count() - 1`` (0 in a single process)."""
    return int(jax.process_index()) if is_initialized() else 0


def process_count() -> int:
    """The number of connected processes (1 in a single process)."""
    return int(jax.process_count()) if is_initialized() else 1


def _env_int(name):
    v = os.environ.get(name)
    if v is None or v == "":
        return None
    try:
        return int(v)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {v!r}") from None


def _check_timeout(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not v >= 1:
        raise ValueError(f"{name} must be a number of seconds >= 1, got {v!r}")
    return int(np.ceil(float(v)))


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, *, local_device_ids=None, timeout_s: float | None = None,
               heartbeat_timeout_s: float | None = None, exit_on_error: bool = True) -> None:
    """Connect this process to the others with ``jax.distributed.initialize``.

    Where the arguments are None they come from the environment ``sparsestat launch`` sets
    (``SPARSESTAT_COORDINATOR``, ``SPARSESTAT_NUM_PROCESSES``, ``SPARSESTAT_PROCESS_ID``), and failing
    that from JAX's cluster auto-detection (SLURM, Open MPI, Kubernetes, TPU pods). On CPU the
    collectives go over gloo. Calling it again once connected does nothing.

    Parameters
    ----------
    coordinator_address : str, optional
        ``host:port`` of process 0, which runs the coordination service.
    num_processes, process_id : int, optional
        The number of processes and this one's index.
    local_device_ids : int or sequence of int, optional
        The devices this process drives (e.g. one GPU per process); default all visible ones.
    timeout_s : float, optional
        How long to wait for every process to join (default ``$SPARSESTAT_DISTRIBUTED_TIMEOUT`` or
        300 s). A process that never joins makes the others stop after this time: they print which
        rendezvous failed and exit (JAX's coordination client ends the process; it cannot be caught).
    heartbeat_timeout_s : float, optional
        How long a silent (dead) process goes unnoticed (default ``timeout_s`` capped at 100 s). A
        process that dies mid-run makes the others stop: at once inside a collective
        (:class:`DistributedError`), after this time otherwise.
    exit_on_error : bool
        An uncaught exception ends this process at once (exit code 1, after its traceback is printed)
        instead of waiting in JAX's shutdown barrier for partners that wait on it: they then fail in
        their next collective rather than after a timeout.

    Notes
    -----
    Once connected, every process takes part in one barrier, so that a partner's failure later shows
    up in the next collective (the CPU collectives are set up while everyone is alive).
    """
    if is_initialized():
        return
    coordinator_address = coordinator_address or os.environ.get(ENV_COORDINATOR) or None
    if num_processes is None:
        num_processes = _env_int(ENV_NUM_PROCESSES)
    if process_id is None:
        process_id = _env_int(ENV_PROCESS_ID)
    if timeout_s is None:
        env = os.environ.get(ENV_TIMEOUT)
        timeout_s = float(env) if env else 300
    timeout = _check_timeout(timeout_s, "timeout_s")
    heartbeat = _check_timeout(min(timeout, 100) if heartbeat_timeout_s is None else heartbeat_timeout_s,
                               "heartbeat_timeout_s")
    for name, v in (("num_processes", num_processes), ("process_id", process_id)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0):
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
    if num_processes is not None and num_processes < 1:
        raise ValueError(f"num_processes must be >= 1, got {num_processes}")
    if num_processes is not None and process_id is not None and process_id >= num_processes:
        raise ValueError(f"process_id={process_id} must be below num_processes={num_processes}")
    if jax.config.jax_cpu_collectives_implementation in (None, "none", ""):
        # CPU collectives across processes need an implementation; gloo ships with jaxlib
        jax.config.update("jax_cpu_collectives_implementation", "gloo")

    # JAX's client ends the process when the rendezvous times out, without a Python exception: say
    # first, on stderr, which rendezvous failed
    where = coordinator_address or "the auto-detected coordinator"
    who = f"process {process_id}" if process_id is not None else "this process"

    def _explain():
        sys.stderr.write(
            f"sparsestat.distributed: {who} waited {timeout} s at {where} and not all "
            f"{num_processes if num_processes is not None else ''} processes joined; check that every "
            "process was started with the same coordinator address and process count "
            f"(timeout_s or ${ENV_TIMEOUT} sets the wait)\n")
        sys.stderr.flush()

    timer = threading.Timer(max(timeout - 0.5, 0.5), _explain)
    timer.daemon = True
    timer.start()
    try:
        jax.distributed.initialize(coordinator_address, num_processes, process_id,
                                   local_device_ids=local_device_ids, initialization_timeout=timeout,
                                   heartbeat_timeout_seconds=heartbeat, shutdown_timeout_seconds=timeout)
    finally:
        timer.cancel()
    if exit_on_error:
        _install_exit_on_error()
    if process_count() > 1:
        _gather_stacked(np.zeros(1, np.int32), "the start-up barrier")


def _install_exit_on_error() -> None:
    previous = sys.excepthook
    if getattr(previous, "_sparsestat_exit_on_error", False):
        return

    def hook(exc_type, exc, tb):
        try:
            previous(exc_type, exc, tb)
            sys.stderr.write(f"sparsestat.distributed: process {process_index()} failed; leaving the job now\n")
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(1)

    hook._sparsestat_exit_on_error = True
    sys.excepthook = hook


def shutdown() -> None:
    """Disconnect (``jax.distributed.shutdown``); every process must call it. A no-op when not connected."""
    if is_initialized():
        jax.distributed.shutdown()


def _gather_stacked(x: np.ndarray, what: str) -> np.ndarray:
    """(process_count, ...) stack of every process's ``x`` (same shape and dtype everywhere)."""
    from jax.experimental import multihost_utils

    from .precision import enable_x64

    try:
        with enable_x64():   # float64 / int64 blocks cross as they are
            return np.asarray(multihost_utils.process_allgather(x, tiled=False))
    except Exception as exc:  # gloo and the coordination service raise ValueError / XlaRuntimeError
        raise DistributedError(
            f"process {process_index()} of {process_count()}: the collective gathering {what} failed; "
            f"another process has probably died or left the computation ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})") from exc


def _meta(a: np.ndarray) -> np.ndarray:
    if a.ndim > _META_LEN - 2:
        raise ValueError(f"blocks of more than {_META_LEN - 2} dimensions are not supported, got {a.ndim}")
    name = np.dtype(a.dtype).name
    code = _DTYPES.index(name) if name in _DTYPES else -1
    if code < 0:
        raise TypeError(f"a block of dtype {name} cannot be exchanged between processes")
    out = np.full(_META_LEN, -1, np.int64)
    out[0], out[1] = a.ndim, code
    out[2:2 + a.ndim] = a.shape
    return out


def _describe(m) -> str:
    nd = int(m[0])
    return f"shape {tuple(int(s) for s in m[2:2 + nd])}, dtype {_DTYPES[int(m[1])]}"


def _check_agree(metas: np.ndarray, name: str, leading_free: bool) -> None:
    """Raise naming the first process whose block disagrees with process 0's (the leading axis may
    differ when ``leading_free``)."""
    ref = metas[0]
    for k in range(1, metas.shape[0]):
        m = metas[k]
        same = m[0] == ref[0] and m[1] == ref[1]
        if same:
            start = 3 if leading_free else 2
            same = np.array_equal(m[start:2 + int(m[0])], ref[start:2 + int(ref[0])])
        if not same:
            kind = "trailing shape or dtype" if leading_free else "shape or dtype"
            raise ValueError(f"{name}: process {k} holds {_describe(m)} but process 0 holds {_describe(ref)}; "
                             f"the {kind} must agree across processes")


def _leaves(tree):
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return [np.asarray(leaf) for leaf in leaves], treedef


def block_sizes(n_local: int) -> np.ndarray:
    """Every process's local block size, in process order (``[n_local]`` in a single process)."""
    if isinstance(n_local, bool) or not isinstance(n_local, (int, np.integer)) or n_local < 0:
        raise ValueError(f"n_local must be a non-negative integer, got {n_local!r}")
    if process_count() == 1:
        return np.array([int(n_local)], np.int64)
    return _gather_stacked(np.array([int(n_local)], np.int64), "the block sizes").reshape(-1)


def block_offset(n_local: int) -> int:
    """Global index of this process's first element (the sum of the earlier processes' blocks)."""
    sizes = block_sizes(n_local)
    return int(sizes[:process_index()].sum())


def allgather_blocks(tree: Any, name: str = "the local blocks") -> Any:
    """Concatenate every process's local blocks along their leading axis, in process order; every
    process gets the whole result (numpy). Blocks may differ in length, not in trailing shape or
    dtype: a mismatch raises ``ValueError`` naming the process. The identity in a single process."""
    leaves, treedef = _leaves(tree)
    if process_count() == 1:
        return jax.tree_util.tree_unflatten(treedef, leaves)
    for a in leaves:
        if a.ndim == 0:
            raise ValueError(f"{name}: every leaf needs a leading block axis, got a scalar")
    metas = _gather_stacked(np.stack([_meta(a) for a in leaves]) if leaves else np.zeros((0, _META_LEN), np.int64),
                            f"the shapes of {name}")
    for i in range(len(leaves)):
        _check_agree(metas[:, i], f"{name} (leaf {i})" if len(leaves) > 1 else name, leading_free=True)
    out = []
    for i, a in enumerate(leaves):
        sizes = metas[:, i, 2].astype(int)
        m = int(sizes.max())
        pad = np.zeros((m - a.shape[0],) + a.shape[1:], a.dtype)
        stacked = _gather_stacked(np.concatenate([a, pad]) if pad.shape[0] else a, name)
        out.append(np.concatenate([stacked[k, :sizes[k]] for k in range(len(sizes))]))
    return jax.tree_util.tree_unflatten(treedef, out)


def allreduce_sum(tree: Any, name: str = "the partial sums") -> Any:
    """Sum of every process's arrays (same shapes and dtypes on all), added in process order so that
    every process gets bitwise the same result (numpy). The identity in a single process."""
    leaves, treedef = _leaves(tree)
    if process_count() == 1:
        return jax.tree_util.tree_unflatten(treedef, leaves)
    metas = _gather_stacked(np.stack([_meta(a) for a in leaves]), f"the shapes of {name}")
    for i in range(len(leaves)):
        _check_agree(metas[:, i], f"{name} (leaf {i})" if len(leaves) > 1 else name, leading_free=False)
    out = []
    for a in leaves:
        stacked = _gather_stacked(a, name)
        acc = stacked[0].copy()
        for k in range(1, stacked.shape[0]):
            acc = acc + stacked[k]
        out.append(acc)
    return jax.tree_util.tree_unflatten(treedef, out)


def broadcast(tree: Any, name: str = "process 0's value") -> Any:
    """Process 0's arrays on every process (numpy; same shapes and dtypes on all): e.g. a key drawn
    from OS entropy, which each process would otherwise draw differently. The identity in a single
    process."""
    leaves, treedef = _leaves(tree)
    if process_count() == 1:
        return jax.tree_util.tree_unflatten(treedef, leaves)
    metas = _gather_stacked(np.stack([_meta(a) for a in leaves]), f"the shapes of {name}")
    for i in range(len(leaves)):
        _check_agree(metas[:, i], name, leading_free=False)
    return jax.tree_util.tree_unflatten(treedef, [_gather_stacked(a, name)[0] for a in leaves])


def global_mesh(axis_name: str = "batch"):
    """A 1-D mesh over every device of every process (``jax.devices()``), in process order."""
    from jax.sharding import Mesh

    devs = sorted(jax.devices(), key=lambda d: (d.process_index, d.id))
    return Mesh(np.array(devs), (axis_name,))


def global_array(local_block, mesh=None):
    """A global ``jax.Array`` whose leading axis is the concatenation of the processes' local blocks,
    sharded over ``mesh`` (default :func:`global_mesh`). JAX needs equal blocks per device: each
    process's block must split evenly over its local devices and every process's block be the same
    size (pad and mask otherwise)."""
    from jax.sharding import NamedSharding, PartitionSpec

    m = global_mesh() if mesh is None else mesh
    a = np.asarray(local_block)
    sizes = block_sizes(a.shape[0] if a.ndim else 0)
    if a.ndim == 0:
        raise ValueError("local_block needs a leading block axis")
    if len(set(sizes.tolist())) != 1:
        raise ValueError(f"global_array needs equal local blocks; the processes hold {sizes.tolist()} rows "
                         "(pad to the largest and carry a mask)")
    sharding = NamedSharding(m, PartitionSpec(m.axis_names[0]))
    return jax.make_array_from_process_local_data(sharding, a)


def as_local_block(x):
    """This process's rows of a global ``jax.Array`` sharded along its leading axis (its addressable
    shards, in order), as numpy; anything else is returned as it is."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        shards = sorted(x.addressable_shards, key=lambda s: s.index[0].start or 0)
        seen, parts = set(), []
        for s in shards:
            start = s.index[0].start or 0
            if start in seen:   # replicated copies of the same rows on several local devices
                continue
            seen.add(start)
            parts.append(np.asarray(s.data))
        return np.concatenate(parts)
    return x
