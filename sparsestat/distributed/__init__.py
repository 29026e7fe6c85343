"""Past one machine: several processes on JAX's multi-controller runtime (``jax.distributed``).

One process per host (or per GPU), every process running the same script on its *local block* of the
work: users for the LDP estimators, rows for LassoCV, problems for SBL batches and ``solve_batch``,
chains for ``mcmc.sample``. The global order is process 0's block, then process 1's, and so on;
randomness is keyed by the global index, so a run over P processes returns what one process returns
on the concatenated input with the same seed, and every process ends with the full result.

>>> import sparsestat.distributed as dist
>>> dist.initialize()                  # doctest: +SKIP
>>> # ... each process passes its own block to an estimator built with distributed=True

Start P local processes with ``sparsestat launch --processes P -- python script.py``; on a cluster,
``initialize()`` auto-detects SLURM, Open MPI, Kubernetes and TPU pods. See "Running on a cluster" in
the docs. The collectives are in :mod:`sparsestat.linalg.multiprocess`; this module re-exports them and
adds :func:`launch`.
"""

from ..linalg.multiprocess import (DistributedError, allgather_blocks, allreduce_sum, as_local_block, block_offset,
                                   block_sizes, broadcast, global_array, global_mesh, initialize, is_initialized,
                                   process_count, process_index, shutdown)
from .launch import launch

__all__ = ["DistributedError", "initialize", "is_initialized", "shutdown", "process_index", "process_count",
           "block_sizes", "block_offset", "allgather_blocks", "allreduce_sum", "broadcast", "global_mesh",
           "global_array",
           "as_local_block", "launch"]
