"""``sample``: run several chains of ESS / GESS / AGESS and return draws with diagnostics.

Chains are batched with ``vmap`` (``"vectorized"``, the default on accelerators: one shared AGESS
schedule, lock-step shrink loops), run one after another (``"sequential"``, the default on CPU: the same
schedule key, hence the same move types, so each chain equals its vectorized counterpart), or split
across devices (``"parallel"``: ``shard_map`` over a 1-D mesh, the schedule replicated). The run is a
chunked ``lax.scan`` compiled ahead of time (compile time reported apart) and driven from Python with a
tqdm progress bar between chunks. Compiled programs are shared between calls: numeric options and
closed-over data arrays are traced arguments (see :func:`sample`).
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._progress import progress
from ..linalg.cache import compiled_entry
from .._validation import check_prng_key
from ._checks import check_finite_start, warn_float32
from ._compile import LIFT_ERRORS, Identity, split_function
from .diagnostics import effective_sample_size, split_rhat
from .sample_programs import default_chunk, kernel_setup, programs

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
    kernel : "agess", "gess" or "ess" (what ``logdensity`` holds: the log target, or for "ess" the
        log-likelihood); None for a result built by hand.

    :meth:`to_inference_data` turns it into ArviZ data (ArviZ optional).
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
    kernel: str | None = None

    def to_inference_data(self, *, coords=None, dims=None):
        """The draws as ArviZ data, to read with ``az.summary``, ``az.plot_trace``, ``az.rhat``, ...

        Needs ArviZ, an optional dependency (``pip install arviz``, or ``pip install 'sparsestat[arviz]'``);
        without it this raises an ``ImportError`` saying so.

        Groups: ``posterior`` (one variable per leaf of ``samples``, dims ``("chain", "draw", ...)``,
        a leaf's own dimensions named ``{var}_dim_{i}`` unless ``dims`` names them) and ``sample_stats``
        (``lp``: the log density of each draw, ``loglik``, the log-likelihood, for ``kernel="ess"``;
        ``num_evals``: log-density evaluations since the previous kept draw; ``move_type`` for AGESS).
        Variable names: a dict's keys (nested keys joined by "."), ``x`` for a single array, ``x_0``,
        ``x_1``, ... for a tuple's items. Attributes: ``inference_library="sparsestat"``,
        ``sampling_time`` (``run_time``), ``compile_time``, ``sampler``.

        ArviZ's diagnostics then agree with this result's: ``az.rhat(idata, method="split")`` with
        ``diagnostics["rhat"]`` (:func:`~sparsestat.mcmc.split_rhat`; ArviZ's default is the
        rank-normalised R-hat) and ``az.ess(idata)`` (bulk) with :func:`~sparsestat.mcmc.bulk_ess` of the
        draws (``diagnostics["ess"]`` is numpyro's ESS, a different estimator).

        Parameters
        ----------
        coords : dict, optional
            ``{dim: values}``, as in ArviZ's converters.
        dims : dict, optional
            ``{variable: [dim, ...]}`` for the dimensions after chain and draw.

        Returns
        -------
        ``arviz.InferenceData`` (ArviZ < 1; an ``xarray.DataTree``, its successor, with ArviZ >= 1).

        Examples
        --------
        >>> res = sample(logpost, jnp.zeros((4, 3)), num_warmup=500, num_samples=500,
        ...              rng_key=jax.random.PRNGKey(0))                       # doctest: +SKIP
        >>> idata = res.to_inference_data(dims={"x": ["coef"]},
        ...                               coords={"coef": ["a", "b", "c"]})  # doctest: +SKIP
        >>> az.summary(idata)                                                # doctest: +SKIP
        """
        from .arviz_io import to_inference_data

        return to_inference_data(self, coords=coords, dims=dims)


_KERNELS = ("agess", "gess", "ess")
_METHODS = ("auto", "vectorized", "sequential", "parallel")


def resolve_chain_method(chain_method: str) -> str:
    """"auto": "sequential" on CPU, "vectorized" on accelerators. On CPU a vmapped batch runs its shrink
    loops in lock-step and each evaluation costs more: breast-cancer logistic (P = 31), AGESS, 1,000 +
    1,000 iterations, microseconds per useful evaluation sequential / vectorized: 11.5 / 15.3 with 4
    chains, 11.6 / 20.9 with 16, 11.6 / 17.5 with 64 (2-core CPU). The draws do not depend on it."""
    if chain_method != "auto":
        return chain_method
    return "sequential" if jax.default_backend() == "cpu" else "vectorized"


def _check_position_leaves(leaves, shapes, name):
    """What :func:`flatten_position` checks, on shapes and dtypes only (no device op)."""
    for leaf in leaves:
        dt = leaf.dtype if isinstance(leaf, jax.Array) else np.asarray(leaf).dtype
        if dt == object or not jnp.issubdtype(dt, jnp.floating):
            raise TypeError(f"{name} leaves must be floating-point arrays; got dtype {dt}")
        # host values only: a device array would cost a read (its log density is checked at the start)
        if not isinstance(leaf, jax.Array) and not np.all(np.isfinite(np.asarray(leaf))):
            raise ValueError(f"{name} contains NaN or infinity; start every chain at a finite position")
    if sum(int(np.prod(sh, dtype=np.int64)) for sh in shapes) == 0:
        raise ValueError(f"{name} is empty (size 0)")


@compiled_entry
def sample(logdensity_fn: Callable, init_position, *, kernel: str = "agess", num_samples: int,
           num_warmup: int, num_chains: int = 4, rng_key, chain_method: str = "auto",
           thinning: int = 1, chunk_size: int | None = None, progress_bar: bool | None = None,
           logdensity_args: tuple = (), distributed: bool = False, **kernel_kwargs) -> SampleResult:
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
        given (sweep-only phase: the first ``burnin * 0.05 * num_steps`` iterations, 0.05 replaced by
        ``single_step_prop`` if given; warm-up draws are discarded whatever ``burnin`` is); "gess" and
        "ess" need ``mean=`` and ``cov=``.
    num_samples, num_warmup : int
        Iterations kept (before thinning) and iterations discarded before them, per chain. ``num_warmup``
        means only that (as in numpyro and :class:`~sparsestat.mcmc.AGESS`); the AGESS sweep-only phase
        is sized from ``num_steps = num_warmup + num_samples`` and ``burnin`` (see ``kernel``), the same
        way as the numpyro kernel sizes it.
    num_chains : int, default 4
    rng_key : jax PRNG key
        Seeds the chains and the shared AGESS schedule.
    chain_method : {"auto", "vectorized", "sequential", "parallel"}, default "auto"
        "auto": "sequential" on CPU (faster per evaluation there, no lock-step waste), "vectorized" on
        accelerators. Every method gives the same draws.
    thinning : int, default 1
        Keep every ``thinning``-th iteration (num_samples // thinning draws).
    chunk_size : int, optional
        Iterations per compiled scan chunk (default: the power of two >= num_warmup + num_samples, at
        most 2048, so runs of any length share a dozen programs; iterations past the end of the last
        chunk are skipped, not run). Results do not depend on it.
    progress_bar : bool, optional
        tqdm bar over chunks (default: on unless SPARSESTAT_NO_PROGRESS is set).
    logdensity_args : tuple, default ()
        Extra arguments: the log density is ``logdensity_fn(position, *logdensity_args)``. They are
        traced arguments of the compiled program (pytrees of arrays or numbers).
    distributed : bool, default False
        Several processes (:mod:`sparsestat.distributed`): ``num_chains`` and a batched
        ``init_position`` are this process's block of chains (chains of process 0 first). Chain c uses
        the key of global chain c, so the draws equal one process running all the chains from the
        concatenated starts with the same key; every process returns every chain's draws, and R-hat
        and ESS are computed over all of them. ``final_state`` holds this process's chains only.
    **kernel_kwargs
        Passed to :func:`agess`, :func:`gess` or :func:`elliptical_slice`.

    Returns
    -------
    SampleResult

    Notes
    -----
    **What compiles.** One program per kernel, static options (``t_dist``, ``cov_update``, ``variant``,
    ``shared_move_type``), ``chain_method``, chunk length, array shapes and dtypes, and log-density
    *code*. Every numeric option is a traced argument: a new ``nu``, ``epsilon``, ``single_step_prop``,
    ``burnin``, ``beta``, ``mean``/``mean0``, ``cov``/``cov0`` (same form), ``max_shrinks``,
    ``num_warmup``/``num_samples`` (within the same chunk length), start or key reuses the compiled
    program (``compile_time`` is then ~0).

    **Data without recompiling.** Either pass the data as arguments::

        def logpost(beta, X, y):
            return -0.5 * jnp.sum((y - X @ beta) ** 2) - 0.5 * beta @ beta

        sample(logpost, b0, logdensity_args=(X, y), ...)      # a new (X, y) of the same shapes: no compile

    or close over it, as blackjax and numpyro users do::

        sample(lambda b: logpost(b, X, y), b0, ...)

    A closure is keyed on its code and the values it closes over: closed-over ``jax``/``numpy`` arrays
    (also through nested closures and ``functools.partial``) become traced arguments, Python scalars
    count by value, anything else (objects, callables) by identity, as with ``jax.jit``. So the same
    ``lambda`` (or a factory's inner function) over new arrays of the same shapes does not compile
    again. A log density that needs a closed-over array concretely (Python control flow on its values)
    is detected and compiled per closure, as before. Globals the code reads enter by identity:
    rebinding a global array compiles again; mutating a global numpy array in place between calls is
    not seen (close over it or pass it in ``logdensity_args``).
    """
    if kernel not in _KERNELS:
        raise ValueError(f"kernel must be one of {_KERNELS}; got {kernel!r}")
    check_prng_key(rng_key, "rng_key")
    if chain_method not in _METHODS:
        raise ValueError(f"chain_method must be one of {_METHODS}; got {chain_method!r}")
    chain_method = resolve_chain_method(chain_method)
    for name, val, lo in (("num_samples", num_samples, 1), ("num_warmup", num_warmup, 0),
                          ("num_chains", num_chains, 1), ("thinning", thinning, 1)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < lo:
            raise ValueError(f"{name} must be an integer >= {lo}; got {val!r}")
    if num_samples // thinning < 1:
        raise ValueError("num_samples // thinning must be >= 1")
    if not callable(logdensity_fn):
        raise TypeError("logdensity_fn must be callable")
    if not isinstance(logdensity_args, (tuple, list)):
        raise TypeError(f"logdensity_args must be a tuple of extra arguments of logdensity_fn; got "
                        f"{type(logdensity_args).__name__}")
    args = tuple(logdensity_args)
    offset, key_count = 0, num_chains
    if distributed:
        from ..linalg.multiprocess import as_local_block, block_sizes, process_index

        init_position = jax.tree_util.tree_map(as_local_block, init_position)
        sizes = block_sizes(int(num_chains))
        offset, key_count = int(sizes[:process_index()].sum()), int(sizes.sum())

    # positions: one (replicated) or a leading chain axis; checked on the host (shapes, dtypes, a host
    # copy): eager device ops would each be a small program of its own
    leaves = jax.tree_util.tree_leaves(init_position)
    if not leaves:
        raise ValueError("init_position is empty")
    batched = _looks_batched(init_position, num_chains)
    first_shapes = [jnp.shape(leaf)[1:] if batched else jnp.shape(leaf) for leaf in leaves]
    _check_position_leaves(leaves, first_shapes, "init_position")
    if batched:
        flat0 = np.concatenate([np.asarray(leaf).reshape(num_chains, -1) for leaf in leaves], axis=1)
        identical = num_chains > 1 and np.all(flat0 == flat0[:1])
    else:
        identical = num_chains > 1
    if identical and not distributed:
        warnings.warn("all chains start from the same position; R-hat is more reliable from dispersed "
                      "starts", UserWarning, stacklevel=3)
    if key_count == 1:
        warnings.warn("num_chains = 1: split R-hat is not reported (NaN)", UserWarning, stacklevel=3)

    first = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(init_position),
                                         [jax.ShapeDtypeStruct(sh, jnp.result_type(leaf))
                                          for sh, leaf in zip(first_shapes, leaves)])
    p = int(sum(int(np.prod(sh, dtype=np.int64)) for sh in first_shapes))
    dtype = jnp.result_type(*leaves)
    warn_float32(p, dtype, stacklevel=4)
    config, params = kernel_setup(kernel, num_warmup, num_samples, kernel_kwargs, p, dtype)
    total = num_warmup + num_samples
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
            raise ValueError(f"chunk_size must be None or an integer >= 1; got {chunk_size!r}")
        chunk = max(1, min(int(chunk_size), total))
    else:
        chunk = default_chunk(total)

    # the compiled programs are keyed on the log density's code; the arrays it closes over and
    # logdensity_args are traced arguments (a new dataset of the same shapes reuses the programs)
    fn_key, fn_consts, rebuild = split_function(logdensity_fn)
    consts = (fn_consts, args)

    # groups of chains run by one compiled program
    if chain_method == "sequential":
        groups = [np.arange(c, c + 1, dtype=np.int32) for c in range(num_chains)]
    else:
        groups = [np.arange(num_chains, dtype=np.int32)]
    n_group = len(groups[0])

    tc = time.perf_counter()
    try:
        init_prog, chunk_prog = programs(kernel, config, chain_method, key_count, n_group, batched, chunk,
                                          fn_key, rebuild)
        state, keys_g = init_prog(init_position, rng_key, groups[0], groups[0] + offset, params, consts)
        compiled = chunk_prog.lower(state, keys_g, np.int32(chunk), params, consts).compile()
    except LIFT_ERRORS:
        # the log density needs a closed-over value concretely: bake it in (compiles per closure)
        consts = ((), args)
        init_prog, chunk_prog = programs(kernel, config, chain_method, key_count, n_group, batched, chunk,
                                          ("baked", Identity(logdensity_fn)), lambda _c: logdensity_fn)
        state, keys_g = init_prog(init_position, rng_key, groups[0], groups[0] + offset, params, consts)
        compiled = chunk_prog.lower(state, keys_g, np.int32(chunk), params, consts).compile()
    compile_time = time.perf_counter() - tc

    results = []
    n_chunks = -(-total // chunk)
    bar_total = n_chunks * len(groups)
    bar = iter(progress(range(bar_total), desc=f"{kernel} ({chain_method})", total=bar_total,
                        enable=progress_bar))
    run_time = 0.0
    final_states = []
    for gi, g in enumerate(groups):
        if gi > 0:
            state, keys_g = init_prog(init_position, rng_key, g, g + offset, params, consts)
        check_finite_start(np.asarray(state.logdensity), "log-likelihood" if kernel == "ess" else "log density")
        outs_all = []
        tr = time.perf_counter()
        for c in range(n_chunks):
            n_valid = min(chunk, total - c * chunk)
            state, keys_g, outs = compiled(state, keys_g, np.int32(n_valid), params, consts)
            # one host read per chunk (all five records in one device_get), sliced on the host: no op per length
            outs = tuple(a[:n_valid] for a in jax.device_get(outs))
            outs_all.append(outs)
            next(bar, None)
        run_time += time.perf_counter() - tr
        final_states.append(state)
        results.append(tuple(np.concatenate(parts, axis=0) for parts in zip(*outs_all)))
    for _ in bar:
        pass

    # (steps, chains, ...) -> (chains, steps, ...)
    flat, logd, evals, moves, capped = (np.concatenate([r[i] for r in results], axis=1).swapaxes(0, 1)
                                        for i in range(5))
    warm_evals = evals[:, :num_warmup].sum(axis=1)
    keep = np.arange(num_warmup + thinning - 1, total, thinning)[: num_samples // thinning]
    cum = np.concatenate([np.zeros((num_chains, 1), evals.dtype), np.cumsum(evals, axis=1)], axis=1)
    prev = np.concatenate([[num_warmup - 1], keep[:-1]])
    draw_evals = cum[:, keep + 1] - cum[:, prev + 1]
    draws = flat[:, keep]
    logd, moves = logd[:, keep], moves[:, keep]
    if distributed:   # every chain's record on every process, in global chain order
        from ..linalg.multiprocess import allgather_blocks

        draws, logd, draw_evals, moves, warm_evals, evals, capped = allgather_blocks(
            (draws, logd, draw_evals, moves, warm_evals, evals, capped), "the chains' draws")
        num_chains = key_count
    samples = _unravel_host(draws, first)

    n_capped = int(capped.sum())
    if n_capped:
        warnings.warn(f"the shrink cap was hit {n_capped} times (the chain stayed put each time); raise "
                      "max_shrinks or check the support of logdensity_fn", RuntimeWarning, stacklevel=3)
    diagnostics = _diagnostics(draws, evals, chain_method, num_chains)
    diagnostics["num_capped"] = n_capped
    if num_chains > 1 and diagnostics["max_rhat"] > 1.01:
        p = draws.shape[-1]
        warnings.warn(f"max split R-hat = {diagnostics['max_rhat']:.3f} > 1.01: run longer (AGESS: at least "
                      f"2,000 * P = {2000 * p} iterations per chain)", UserWarning, stacklevel=3)
    final = final_states[0] if len(final_states) == 1 else final_states
    return SampleResult(samples, logd, draw_evals, moves, warm_evals, diagnostics,
                        compile_time, run_time, final, kernel)


def _unravel_host(draws, first):
    """(chains, draws, P) flat draws -> the position pytree with leaves (chains, draws, ...), in numpy
    (no device op whose shape depends on the number of draws)."""
    leaves, treedef = jax.tree_util.tree_flatten(first)
    out, start = [], 0
    for leaf in leaves:
        shape, size = jnp.shape(leaf), int(np.prod(jnp.shape(leaf), dtype=np.int64))
        part = draws[..., start:start + size].reshape(draws.shape[:2] + tuple(shape))
        out.append(part.astype(jnp.result_type(leaf)))
        start += size
    return jax.tree_util.tree_unflatten(treedef, out)


def _looks_batched(init_position, num_chains):
    """Rule: ``init_position`` holds one position per chain iff every leaf has >= 2 dims and leading
    axis ``num_chains`` (so a vector position of length num_chains is still one position)."""
    leaves = jax.tree_util.tree_leaves(init_position)
    return all(jnp.ndim(leaf) >= 2 and jnp.shape(leaf)[0] == num_chains for leaf in leaves)


def _diagnostics(draws, evals, chain_method, num_chains):
    x = np.asarray(draws, dtype=np.float64)
    ess = effective_sample_size(x)
    if num_chains > 1 and x.shape[1] >= 4:      # split R-hat needs >= 4 draws per chain
        rhat = split_rhat(x)
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
