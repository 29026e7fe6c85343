"""Count JAX compilations: ``with count_compiles() as c: ...; assert c.n == 1``.

A compilation here is a lowering of a jitted program to XLA (JAX's in-memory cache missed), counted
with JAX's own monitoring event; it is counted whether the executable then comes from XLA or from the
persistent cache, so the count does not depend on the state of the cache directory. ``c.names`` lists
the lowered programs (``jit_<name>``), for failure messages.
"""

from __future__ import annotations

import contextlib

import jax.monitoring as mon

_EVENT = "/jax/core/compile/jaxpr_to_mlir_module_duration"
_active: list = []


def _listener(event, duration, **kwargs):
    if event == _EVENT:
        for c in _active:
            c.n += 1
            c.names.append(kwargs.get("fun_name", "?"))


mon.register_event_duration_secs_listener(_listener)


class Count:
    def __init__(self):
        self.n = 0
        self.names: list[str] = []

    def __repr__(self):
        return f"{self.n} compilations: {self.names}"


@contextlib.contextmanager
def count_compiles():
    """Count lowerings (compilations) inside the block; ``.names`` has the programs' names.

    The bound on in-memory programs (``sparsestat.linalg.cache``) is suspended inside the block: in a
    long test process it may drop every compiled program at an entry point, and the recompilations
    that follow would be counted against the call being measured."""
    from sparsestat.linalg import cache

    c = Count()
    _active.append(c)
    limit, cache.MAP_LIMIT = cache.MAP_LIMIT, 10 ** 9
    try:
        yield c
    finally:
        cache.MAP_LIMIT = limit
        _active.remove(c)


def compile_counts(fn, values):
    """Call ``fn(v)`` for each value in turn; the Count of each call. For a traced hyperparameter
    every call after the first (which compiles for the shapes) must count 0."""
    from sparsestat.linalg import cache

    cache.release_executables_if_needed()  # release now, if due, rather than during the sweep
    out = []
    for v in values:
        with count_compiles() as c:
            fn(v)
        out.append(c)
    return out


def sweep(fn, values, ignore_warnings=()):
    """``fn(v)`` for each value; asserts that every call after the first compiled nothing; the outputs.
    ``ignore_warnings``: warning categories silenced during the calls."""
    import warnings

    outs = []
    with warnings.catch_warnings():
        for category in ignore_warnings:
            warnings.simplefilter("ignore", category)
        counts = compile_counts(lambda v: outs.append(fn(v)), values)
    assert [c.n for c in counts[1:]] == [0] * (len(values) - 1), \
        f"recompiled for a new value: {[c.n for c in counts]}; {counts[1:]}"
    return outs


def n_distinct(outs):
    """Number of distinct results (each a value or a tuple of arrays, compared exactly; None skipped)."""
    import numpy as np

    seen = []
    for o in outs:
        parts = [x for x in (o if isinstance(o, tuple) else (o,)) if x is not None]
        a = np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in parts])
        if not any(a.shape == b.shape and np.array_equal(a, b) for b in seen):
            seen.append(a)
    return len(seen)
