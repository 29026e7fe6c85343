"""The compiled programs behind :func:`sparsestat.mcmc.sample`: option setup per kernel, the chain
start (keys, positions, first log densities: one program) and the chunk of ``lax.scan`` iterations (one
program per chunk length), kept in a small LRU keyed on the log density's code.

Numeric options and the arrays a log density closes over are traced arguments of both programs
(:mod:`sparsestat.mcmc._compile`), so a new value or a new dataset of the same shapes reuses them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from ..linalg.ordering import LAPACK_UNSPLIT_BATCH
from ..linalg.shapes import next_pow2
from ._checks import MeanCov, check_max_shrinks, check_nu
from ._compile import ProgramCache
from .agess_config import agess_setup
from .agess_kernel import AGESSState, build_kernel, init_chains
from .generalized import gess_step
from .plain_ess import ess_step
from .states import EllipSliceState

__all__ = ["kernel_setup", "programs", "default_chunk", "MAX_CHUNK"]


def kernel_setup(kernel, num_warmup, num_samples, kernel_kwargs, p, dtype):
    """Validate the kernel options; ``(static config, traced params)``."""
    kw = dict(kernel_kwargs)
    if kernel == "agess":
        num_steps = num_warmup + num_samples
        # the reference default (0.5): the first burnin * single_step_prop * num_steps iterations are sweeps,
        # as in the numpyro kernel. (burnin = num_warmup / num_steps, sizing the phase by the warm-up alone,
        # gave 3x less min bulk ESS per draw on logreg-100 at 5,000 + 20,000: 2,342 vs 7,554, the shorter
        # sweep phase starting the adaptation worse)
        kw.setdefault("burnin", 0.5)
        config, params_for = agess_setup(num_steps=max(num_steps, 2), _stacklevel=4, **kw)
        params_for.check_dim(p)
        return config, params_for(p, dtype)
    if "mean" not in kw or "cov" not in kw:
        raise ValueError(f"kernel={kernel!r} needs mean= and cov= keyword arguments")
    allowed = {"mean", "cov", "max_shrinks"} | ({"nu", "t_dist"} if kernel == "gess" else set())
    unknown = sorted(set(kw) - allowed)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) for kernel={kernel!r}: {', '.join(unknown)}")
    mc = MeanCov(kw["mean"], kw["cov"])
    mc.check_dim(p)
    mean, chol = mc.resolve(p, dtype)
    max_shrinks = check_max_shrinks(kw.get("max_shrinks", 100))
    if kernel == "gess":
        return ("gess", bool(kw.get("t_dist", True))), (mean, chol, check_nu(kw.get("nu", 6.0)), max_shrinks)
    return ("ess",), (mean, chol, max_shrinks)


def _init_batch(kernel, config, params, positions, sched_key, logdensity):
    if kernel == "agess":
        return init_chains(positions, logdensity, params, config, rng_key=sched_key)
    lp = jax.vmap(logdensity)(positions)
    dtype = ravel_pytree(jax.tree_util.tree_map(lambda a: a[0], positions))[0].dtype
    return EllipSliceState(positions, jnp.asarray(lp, dtype))


def _make_init(kernel, config, num_chains: int, batched: bool, rebuild):
    """The compiled start: chain keys, the (replicated) positions of the chains ``idx`` and their
    kernel state, in one program (eagerly, each of these is a small program of its own)."""

    def init(init_position, rng_key, idx, key_idx, params, consts):
        fn_consts, args = consts
        fn = rebuild(fn_consts)
        logdensity = (lambda q: fn(q, *args)) if args else fn
        k_sched, k_chains = jax.random.split(rng_key)
        keys = jax.random.split(k_chains, num_chains)[key_idx]   # chain c: key c of all the chains
        if batched:
            positions = jax.tree_util.tree_map(lambda a: jnp.asarray(a)[idx], init_position)
        else:
            positions = jax.tree_util.tree_map(
                lambda a: jnp.broadcast_to(jnp.asarray(a), (idx.shape[0],) + jnp.shape(a)), init_position)
        return _init_batch(kernel, config, params, positions, k_sched, logdensity), keys

    return init


def _step_batch(kernel, config):
    """``step(keys, state, logdensity, params)`` for a batch of chains."""
    if kernel == "agess":
        kern = build_kernel(config)
        return lambda keys, state, ld, prm: kern(keys, state, ld, prm)
    if kernel == "gess":
        t_dist = config[1]

        def gstep(keys, state, ld, prm):
            mean, chol, nu, ms = prm
            return jax.vmap(lambda k, s: gess_step(k, s, ld, mean, chol, nu, ms, t_dist=t_dist))(keys, state)

        return gstep

    def estep(keys, state, ld, prm):
        mean, chol, ms = prm
        return jax.vmap(lambda k, s: ess_step(k, s, ld, mean, chol, ms))(keys, state)

    return estep


def _make_chunk(step_batch, chunk: int, rebuild):
    """The compiled unit: ``chunk`` iterations of a scan; iterations t >= n_valid are skipped (a
    ``lax.cond`` on an unbatched predicate: no kernel work) and leave the state as it is."""

    def run_chunk(state, keys, n_valid, params, consts):
        fn_consts, args = consts
        fn = rebuild(fn_consts)
        logdensity = (lambda q: fn(q, *args)) if args else fn

        n_chains = keys.shape[0]

        def one(state, subkeys):
            # only what the run records leaves the step (fixed dtypes: the skip branch needs no trace
            # of the kernel to know them)
            state, info = step_batch(subkeys, state, logdensity, params)
            rec = (jnp.broadcast_to(info.num_evals, (n_chains,)).astype(jnp.int32),
                   jnp.broadcast_to(info.move_type, (n_chains,)).astype(jnp.int32),
                   jnp.broadcast_to(info.capped, (n_chains,)).astype(bool))
            return state, rec

        def skip(state, subkeys):
            zero = jnp.zeros((n_chains,), jnp.int32)
            return state, (zero, zero, jnp.zeros((n_chains,), bool))

        def body(carry, t):
            state, keys = carry
            pair = jax.vmap(lambda k: jax.random.split(k))(keys)
            valid = t < n_valid
            state, (evals, moves, capped) = jax.lax.cond(valid, one, skip, state, pair[:, 1])
            keys = jnp.where(valid, pair[:, 0], keys)
            flat = jax.vmap(lambda pos: ravel_pytree(pos)[0])(state.position)
            return (state, keys), (flat, state.logdensity, evals, moves, capped & valid)

        (state, keys), outs = jax.lax.scan(body, (state, keys), jnp.arange(chunk))
        return state, keys, outs

    return run_chunk


_PROGRAMS = ProgramCache(32)


MAX_CHUNK = 2048


def default_chunk(total: int) -> int:
    """Iterations per compiled chunk: the power of two >= ``total``, at most ``MAX_CHUNK`` (so every run
    uses one of 12 programs; the remainder of the last chunk is skipped, not run)."""
    return next_pow2(total, cap=MAX_CHUNK)


def programs(kernel, config, chain_method, num_chains, n_group, batched, chunk, fn_key, rebuild):
    """(init, chunk) jitted programs for these options, from a small LRU keyed on the log density's code."""
    n_dev = jax.local_device_count() if chain_method == "parallel" else 1
    key = (kernel, config, chain_method, n_dev, n_group if chain_method == "parallel" else None, chunk, fn_key)
    init = _PROGRAMS.get(("init", kernel, config, num_chains, batched, fn_key),
                         lambda: jax.jit(_make_init(kernel, config, num_chains, batched, rebuild)))

    def make():
        run_chunk = _make_chunk(_step_batch(kernel, config), chunk, rebuild)
        if chain_method != "parallel":
            return jax.jit(run_chunk)

        def prog(state, keys, n_valid, params, consts):
            return _parallel(run_chunk, state, n_group)(state, keys, n_valid, params, consts)

        return jax.jit(prog)

    return init, _PROGRAMS.get(key, make)


def _state_specs(state, batch_spec, rep_spec):
    """shard_map specs: per-chain leaves split over the mesh, the AGESS schedule replicated."""
    if isinstance(state, AGESSState):
        chain = jax.tree_util.tree_map(lambda _: batch_spec, state._replace(schedule=None))
        return chain._replace(schedule=jax.tree_util.tree_map(lambda _: rep_spec, state.schedule))
    return jax.tree_util.tree_map(lambda _: batch_spec, state)


def _in_sub_blocks(run_chunk, n_chains: int):
    """``run_chunk`` over sub-blocks of at most ``LAPACK_UNSPLIT_BATCH`` chains, one after another.

    With several CPU devices each device runs its block at the same time; a block of more than 128 chains
    makes every device's per-chain Cholesky a split batched LAPACK call, and with one such call per pool
    thread the devices wait on each other forever (measured: 1024 chains, P = 20, on 2 forced host
    devices hung; 256 ran). Sub-blocks keep each call unsplit. The chains are independent given the
    shared schedule, so each chain's draws are those of the whole block."""
    m = next(k for k in range(-(-n_chains // LAPACK_UNSPLIT_BATCH), n_chains + 1) if n_chains % k == 0)
    if m == 1:
        return run_chunk

    def run(state, keys, n_valid, params, consts):
        c = keys.shape[0]
        sub = c // m
        split = lambda a: a.reshape((m, sub) + a.shape[1:])  # noqa: E731
        merge = lambda a: a.reshape((c,) + a.shape[2:])      # noqa: E731
        shared = isinstance(state, AGESSState)
        schedule = state.schedule if shared else None
        chains = state._replace(schedule=None) if shared else state

        def one(block):
            st, ks = block
            st, ks, outs = run_chunk(st._replace(schedule=schedule) if shared else st, ks, n_valid, params, consts)
            sched = st.schedule if shared else None
            return (st._replace(schedule=None) if shared else st), ks, outs, sched

        st, ks, outs, sched = jax.lax.map(one, (jax.tree_util.tree_map(split, chains), split(keys)))
        st = jax.tree_util.tree_map(merge, st)
        if shared:   # every sub-block advanced the same schedule
            st = st._replace(schedule=jax.tree_util.tree_map(lambda a: a[0], sched))
        # records: (m, steps, sub, ...) -> (steps, chains, ...)
        outs = tuple(o.swapaxes(0, 1).reshape((o.shape[1], c) + o.shape[3:]) for o in outs)
        return st, merge(ks), outs

    return run


def _parallel(run_chunk, state, n_chains):
    from jax.sharding import PartitionSpec as P

    from ..linalg.sharding import make_mesh

    # this process's devices: with several processes, each runs its own block of chains
    n_dev = jax.local_device_count()
    d = max(k for k in range(1, n_dev + 1) if n_chains % k == 0)
    if d == 1:
        return run_chunk
    mesh = make_mesh(d, axis_name="chains", devices=jax.local_devices())
    if jax.default_backend() == "cpu":
        run_chunk = _in_sub_blocks(run_chunk, n_chains // d)
    b, r = P("chains"), P()
    state_specs = _state_specs(state, b, r)
    out_specs = (state_specs, b, (P(None, "chains"),) * 5)
    return jax.shard_map(run_chunk, mesh=mesh, in_specs=(state_specs, b, r, r, r), out_specs=out_specs,
                         check_vma=False)

