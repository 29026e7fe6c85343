"""Run dense factorisations one after another inside a compiled program.

Why: jaxlib's CPU LAPACK kernels (``eigh``, ``svd``, ``cholesky``, ... through the typed FFI) split a large
batch over XLA's intra-op thread pool and then block that pool thread until the pieces finish. When the
compiled program holds two *independent* batched factorisations (say the eigendecompositions of two
Kronecker factors under ``vmap``), XLA's thunk executor may start both at once; with as many such calls
as pool threads (two on a 2-core machine) every pool thread waits for work that no thread is free to
run, and the program hangs with the CPU idle. Observed on jax/jaxlib 0.10.2 with a batch of 129
16 x 16 ``eigh`` pairs on 2 cores; a batch of 128 or fewer is not split and runs.

:func:`after` adds a data dependency that XLA cannot fold away (``x + 0 * d[0]`` for one entry ``d[0]`` of
each dependency; floating-point ``0 * d`` is not simplified because d may be NaN or inf), so a chain of
factorisations runs in turn. ``lax.optimization_barrier`` does not do it: XLA:CPU removes the barrier
before scheduling. The cost is one fused elementwise add; on accelerators the calls were serialised on
the stream anyway.

Where the package guards against it (stress tests: ``tests/core/test_lapack_hang_slow.py`` and
``tests/sbl/test_sharding.py``, slow tier):
- sbl: a Kronecker problem's factor eigendecompositions run in turn (:func:`eigh_each`); on several CPU
  devices each device solves its block of problems in sequence;
- mcmc: ``sample(chain_method="parallel")`` on several CPU devices runs each device's chains in
  sub-blocks of at most 128 (1024 chains at P = 20 on 2 devices hung before);
- a single device's batched paths (vectorized chains, ``solve_batch``, batched CV) hold one LAPACK call
  at a time; they were run above the split size (1024 chains, 2048 problems, 200 folds) and finish.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

__all__ = ["after", "eigh_each", "LAPACK_UNSPLIT_BATCH"]

# jaxlib (<= 0.10) splits a batched LAPACK call of more than this many problems over XLA:CPU's intra-op
# pool and blocks the calling pool thread until the pieces finish; at most this many are never split
LAPACK_UNSPLIT_BATCH = 128


def after(x, *deps):
    """``x`` unchanged, but not available before every array in ``deps`` has been computed."""
    if not deps:
        return x
    zero = sum(jnp.real(jnp.ravel(d)[0]) for d in deps) * 0
    return x + zero.astype(x.dtype)


def eigh_each(mats: Sequence[jax.Array]) -> tuple[tuple[jax.Array, jax.Array], ...]:
    """``jnp.linalg.eigh`` of each matrix, strictly in turn (see the module note); returns ((w, q), ...)."""
    out = []
    prev = ()
    for m in mats:
        w, q = jnp.linalg.eigh(after(m, *prev))
        out.append((w, q))
        prev = (q,)
    return tuple(out)
