"""``sample``: run several chains of ESS / GESS / AGESS and return draws with diagnostics.

Chains are batched with ``vmap`` (``"vectorized"``: one shared AGESS schedule, lock-step shrink loops),
run one after another (``"sequential"``: the same schedule key, hence the same move types, so each chain
equals its vectorized counterpart), or split across devices (``"parallel"``: ``shard_map`` over a 1-D
mesh, the schedule replicated). The run is a chunked ``lax.scan`` compiled once ahead of time (compile
time reported apart) and driven from Python with a tqdm progress bar between chunks.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._progress import progress
from ._checks import check_finite_start, flatten_position
from .adaptive import AGESSState, agess
from .elliptical import elliptical_slice
from .generalized import gess

__all__ = ["SampleResult", "sample"]


class SampleResult(NamedTuple):
    """Draws and bookkeeping of :func:`sample`.

    samples : pytree with leaves of shape (num_chains, num_draws, ...).
    logdensity : (num_chains, num_draws) cached log density of each draw (log-likelihood for "ess").
    num_evals : (num_chains, num_draws) log-density evaluations spent since the previous kept draw.
    move_type : (num_chains, num_draws) move of the kept iteration (0 adaptive/plain, 1 sweep, 2 fixed).
    warmup_num_evals : (num_chains,) evaluations spent during warm-up.
    diagnostics : dict with ``rhat`` and ``ess`` per coordinate (numpyro split R-hat and ESS), ``max_rhat``,
        ``min_ess``, ``evals_per_iter``, ``lockstep_overhead`` (evaluations a lock-step batch runs over
        the useful ones; 1 for sequential runs), ``num_capped``.
    compile_time, run_time : seconds (run time excludes compilation).
    final_state : the kernel state after the last iteration (to continue a run).
    """

    samples: Any
    logdensity: np.ndarray
    num_evals: np.ndarray
    move_type: np.ndarray
    warmup_num_evals: np.ndarray
    diagnostics: dict
    compile_time: float
    run_time: float
    final_state: Any


_KERNELS = ("agess", "gess", "ess")
_METHODS = ("vectorized", "sequential", "parallel")


def _build(kernel, logdensity_fn, num_warmup, num_samples, kernel_kwargs):
    kw = dict(kernel_kwargs)
    if kernel == "agess":
        num_steps = num_warmup + num_samples
        # the reference default (0.5): the first burnin * single_step_prop * num_steps iterations are sweeps.
        # (num_warmup / num_steps, the numpyro kernel's identification, gave 3x less min bulk ESS per draw on
        # logreg-100 at 5,000 + 20,000: 2,342 vs 7,554, the shorter sweep phase starting the adaptation worse)
        kw.setdefault("burnin", 0.5)
        alg = agess(logdensity_fn, num_steps=max(num_steps, 2), **kw)
        return alg, True
    if "mean" not in kw or "cov" not in kw:
        raise ValueError(f"kernel={kernel!r} needs mean= and cov= keyword arguments")
    if kernel == "gess":
        return gess(logdensity_fn, **kw), False
    return elliptical_slice(logdensity_fn, **kw), False


def _batch_init(alg, is_agess, positions, sched_key):
    if is_agess:
        return alg.init_chains(positions, sched_key)
    state = jax.vmap(alg.init)(positions)
    check_finite_start(np.asarray(state.logdensity))
    return state


def _batch_step(alg, is_agess):
    if is_agess:
        return alg.step
    return jax.vmap(alg.step)


def _make_chunk(step_batch, chunk: int, thinning: int):
    def run_chunk(state, keys, n_valid):
        def body(carry, t):
            state, keys = carry
            pair = jax.vmap(lambda k: jax.random.split(k))(keys)
            new_state, info = step_batch(pair[:, 1], state)
            valid = t < n_valid
            state = jax.tree_util.tree_map(lambda a, b: jnp.where(valid, a, b), new_state, state)
            keys = jnp.where(valid, pair[:, 0], keys)
            flat = jax.vmap(lambda pos: ravel_pytree(pos)[0])(state.position)
            evals = jnp.where(valid, info.num_evals, 0)
            return (state, keys), (flat, state.logdensity, evals, info.move_type, info.capped & valid)

        (state, keys), outs = jax.lax.scan(body, (state, keys), jnp.arange(chunk))
        return state, keys, outs

    return run_chunk


def _state_specs(state, batch_spec, rep_spec):
    def spec_for(path_is_schedule, leaf):
        return rep_spec if path_is_schedule else batch_spec

    if isinstance(state, AGESSState):
        chain = jax.tree_util.tree_map(lambda _: batch_spec, state._replace(schedule=None))
        return chain._replace(schedule=jax.tree_util.tree_map(lambda _: rep_spec, state.schedule))
    return jax.tree_util.tree_map(lambda _: batch_spec, state)


def sample(logdensity_fn: Callable, init_position, *, kernel: str = "agess", num_samples: int,
           num_warmup: int, num_chains: int = 4, rng_key, chain_method: str = "vectorized",
           thinning: int = 1, chunk_size: int | None = None, progress_bar: bool | None = None,
           **kernel_kwargs) -> SampleResult:
    """Run ``num_chains`` chains of an elliptical slice sampler.

    Parameters
    ----------
    logdensity_fn : callable
        Position pytree -> scalar log target (for ``kernel="ess"``: the log-likelihood, with the Gaussian
        prior given by ``mean=``/``cov=``).
    init_position : pytree
        One position (replicated to every chain; a ``UserWarning`` says so) or one per chain: the latter
        iff every leaf has >= 2 dims and leading axis ``num_chains`` (e.g. shape (num_chains, P)).
    kernel : {"agess", "gess", "ess"}
        AGESS gets ``num_steps = num_warmup + num_samples`` and the reference's ``burnin = 0.5`` unless
        given (sweep-only phase: the first ``burnin * single_step_prop * num_steps`` iterations; warm-up
        draws are discarded whatever ``burnin`` is); "gess" and "ess" need ``mean=`` and ``cov=``.
    num_samples, num_warmup : int
        Iterations kept (before thinning) and discarded per chain.
    num_chains : int, default 4
    rng_key : jax PRNG key
        Seeds the chains and the shared AGESS schedule.
    chain_method : {"vectorized", "sequential", "parallel"}
    thinning : int, default 1
        Keep every ``thinning``-th iteration (num_samples // thinning draws).
    chunk_size : int, optional
        Iterations per compiled scan chunk (default min(total, 2000)).
    progress_bar : bool, optional
        tqdm bar over chunks (default: on unless SPARSESTAT_NO_PROGRESS is set).
    **kernel_kwargs
        Passed to :func:`agess`, :func:`gess` or :func:`elliptical_slice`.

    Returns
    -------
    SampleResult
    """
    if kernel not in _KERNELS:
        raise ValueError(f"kernel must be one of {_KERNELS}; got {kernel!r}")
    if chain_method not in _METHODS:
        raise ValueError(f"chain_method must be one of {_METHODS}; got {chain_method!r}")
    for name, val, lo in (("num_samples", num_samples, 1), ("num_warmup", num_warmup, 0),
                          ("num_chains", num_chains, 1), ("thinning", thinning, 1)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < lo:
            raise ValueError(f"{name} must be an integer >= {lo}; got {val!r}")
    if num_samples // thinning < 1:
        raise ValueError("num_samples // thinning must be >= 1")
    if not callable(logdensity_fn):
        raise TypeError("logdensity_fn must be callable")

    # positions: one (replicated) or a leading chain axis
    leaves = jax.tree_util.tree_leaves(init_position)
    if not leaves:
        raise ValueError("init_position is empty")
    if _looks_batched(init_position, num_chains):
        positions = jax.tree_util.tree_map(jnp.asarray, init_position)
        flatten_position(jax.tree_util.tree_map(lambda a: a[0], positions), "init_position")
        flat0 = np.asarray(jax.vmap(lambda q: ravel_pytree(q)[0])(positions))
        identical = num_chains > 1 and np.all(flat0 == flat0[:1])
    else:
        flatten_position(init_position, "init_position")
        positions = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(jnp.asarray(a), (num_chains,) +
                                                                      jnp.shape(a)), init_position)
        identical = num_chains > 1
    if identical:
        warnings.warn("all chains start from the same position; R-hat is more reliable from dispersed "
                      "starts", UserWarning, stacklevel=2)
    if num_chains == 1:
        warnings.warn("num_chains = 1: split R-hat is not reported (NaN)", UserWarning, stacklevel=2)

    alg, is_agess = _build(kernel, logdensity_fn, num_warmup, num_samples, kernel_kwargs)
    k_sched, k_chains = jax.random.split(rng_key)
    keys = jax.random.split(k_chains, num_chains)
    step_batch = _batch_step(alg, is_agess)
    total = num_warmup + num_samples
    chunk = int(chunk_size) if chunk_size is not None else min(total, 2000)
    chunk = max(1, min(chunk, total))
    run_chunk = _make_chunk(step_batch, chunk, thinning)

    # groups of chains run by one compiled program
    if chain_method == "sequential":
        groups = [np.arange(c, c + 1) for c in range(num_chains)]
    else:
        groups = [np.arange(num_chains)]

    t0 = time.perf_counter()
    compiled = None
    compile_time = 0.0
    results = []
    n_chunks = -(-total // chunk)
    bar_total = n_chunks * len(groups)
    bar = iter(progress(range(bar_total), desc=f"{kernel} ({chain_method})", total=bar_total,
                        enable=progress_bar))
    run_time = 0.0
    final_states = []
    for g in groups:
        pos_g = jax.tree_util.tree_map(lambda a: a[g], positions)
        state = _batch_init(alg, is_agess, pos_g, k_sched)
        keys_g = keys[g]
        if compiled is None:
            tc = time.perf_counter()
            fn = run_chunk
            if chain_method == "parallel":
                fn = _parallel(run_chunk, state, len(g))
            compiled = jax.jit(fn).lower(state, keys_g, jnp.asarray(chunk, jnp.int32)).compile()
            compile_time = time.perf_counter() - tc
        outs_all = []
        tr = time.perf_counter()
        for c in range(n_chunks):
            n_valid = min(chunk, total - c * chunk)
            state, keys_g, outs = compiled(state, keys_g, jnp.asarray(n_valid, jnp.int32))
            outs = jax.tree_util.tree_map(lambda a: np.asarray(a[:n_valid]), outs)
            outs_all.append(outs)
            next(bar, None)
        run_time += time.perf_counter() - tr
        final_states.append(state)
        results.append(tuple(np.concatenate(parts, axis=0) for parts in zip(*outs_all)))
    for _ in bar:
        pass
    del t0

    # (steps, chains, ...) -> (chains, steps, ...)
    flat, logd, evals, moves, capped = (np.concatenate([r[i] for r in results], axis=1).swapaxes(0, 1)
                                        for i in range(5))
    warm_evals = evals[:, :num_warmup].sum(axis=1)
    keep = np.arange(num_warmup + thinning - 1, total, thinning)[: num_samples // thinning]
    cum = np.concatenate([np.zeros((num_chains, 1), evals.dtype), np.cumsum(evals, axis=1)], axis=1)
    prev = np.concatenate([[num_warmup - 1], keep[:-1]])
    draw_evals = cum[:, keep + 1] - cum[:, prev + 1]
    draws = flat[:, keep]
    first = jax.tree_util.tree_map(lambda a: a[0], positions)
    _, unravel = ravel_pytree(first)
    samples = jax.vmap(jax.vmap(unravel))(jnp.asarray(draws))
    samples = jax.tree_util.tree_map(np.asarray, samples)

    n_capped = int(capped.sum())
    if n_capped:
        warnings.warn(f"the shrink cap was hit {n_capped} times (the chain stayed put each time); raise "
                      "max_shrinks or check the support of logdensity_fn", RuntimeWarning, stacklevel=2)
    diagnostics = _diagnostics(draws, evals, chain_method, num_chains)
    diagnostics["num_capped"] = n_capped
    if num_chains > 1 and diagnostics["max_rhat"] > 1.01:
        p = draws.shape[-1]
        warnings.warn(f"max split R-hat = {diagnostics['max_rhat']:.3f} > 1.01: run longer (AGESS: at least "
                      f"2,000 * P = {2000 * p} iterations per chain)", UserWarning, stacklevel=2)
    final = final_states[0] if len(final_states) == 1 else final_states
    return SampleResult(samples, logd[:, keep], draw_evals, moves[:, keep], warm_evals, diagnostics,
                        compile_time, run_time, final)


def _looks_batched(init_position, num_chains):
    """Rule: ``init_position`` holds one position per chain iff every leaf has >= 2 dims and leading
    axis ``num_chains`` (so a vector position of length num_chains is still one position)."""
    leaves = jax.tree_util.tree_leaves(init_position)
    return all(jnp.ndim(leaf) >= 2 and jnp.shape(leaf)[0] == num_chains for leaf in leaves)


def _parallel(run_chunk, state, n_chains):
    from jax.sharding import PartitionSpec as P

    from ..linalg.sharding import make_mesh

    n_dev = jax.device_count()
    d = max(k for k in range(1, n_dev + 1) if n_chains % k == 0)
    if d == 1:
        return run_chunk
    mesh = make_mesh(d, axis_name="chains")
    b, r = P("chains"), P()
    state_specs = _state_specs(state, b, r)
    out_specs = (state_specs, b, (P(None, "chains"),) * 5)
    return jax.shard_map(run_chunk, mesh=mesh, in_specs=(state_specs, b, r), out_specs=out_specs,
                         check_vma=False)


def _diagnostics(draws, evals, chain_method, num_chains):
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    x = np.asarray(draws, dtype=np.float64)
    ess = np.asarray(effective_sample_size(x))
    if num_chains > 1 or x.shape[1] >= 4:
        rhat = np.asarray(split_gelman_rubin(x)) if num_chains > 1 else np.full(x.shape[-1], np.nan)
    else:
        rhat = np.full(x.shape[-1], np.nan)
    total = evals.sum()
    steps = evals.shape[1]
    if chain_method == "vectorized" and num_chains > 1:
        lock = float(evals.max(axis=0).sum() * num_chains / max(total, 1))
    else:
        lock = 1.0
    return {
        "rhat": rhat, "ess": ess,
        "max_rhat": float(np.nanmax(rhat)) if np.isfinite(rhat).any() else float("nan"),
        "min_ess": float(np.min(ess)),
        "evals_per_iter": float(total / (num_chains * steps)),
        "lockstep_overhead": lock,
    }
