"""Kronecker-structured SBL (He & Joseph, IEEE TSP 2024): SVD-KroSBL, AM-KroSBL, the KSBL baseline and
block-sparse (pattern-coupled) AM-KroSBL, with the exact Kronecker E-step of :mod:`.posterior`."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_choice, check_in_interval, check_int, check_nonnegative
from ..linalg.cache import compiled_entry
from ..linalg.multiprocess import allgather_blocks, as_local_block
from ._checks import (check_common, check_kron_problem, check_noise_var, check_prune, local_batch, noise_var_array,
                      promote)
from .em import EMConfig, em_merge, em_split, initial_noise_var, per_device, resolve_lanes, run_em, run_em_pool
from .msteps import am_mstep, block_am_mstep, coupling_matrix, ksbl_mstep, svd_mstep
from .posterior import kron_estep

__all__ = ["kron_sbl", "KronConfig", "kron_sbl_core", "kron_parts", "DEFAULT_PRUNE"]

#: Default relative pruning thresholds of the authors' synthetic code, per method.
DEFAULT_PRUNE = {"svd": 1e-3, "am": 1e-2, "ksbl": 1e-2, "classic": 1e-3}
_BLOCK_EPS = 1e-5


class KronConfig(NamedTuple):
    """Options of :func:`kron_sbl_core`. ``method``, ``sizes``, ``init``, ``block_sizes`` and the EM
    switches choose the program (one compiled executable per value); ``am_tol``, ``am_max_inner``,
    ``coupling`` and the EM numbers are traced arguments of it (:func:`_split`), so a new value
    compiles nothing."""

    method: str
    sizes: tuple
    init: str
    am_tol: float
    am_max_inner: int
    block_sizes: tuple | None
    coupling: float
    em: EMConfig


def _init_gammas(sizes, init, dtype):
    I = len(sizes)
    if init == "ones":
        return tuple(jnp.ones(n, dtype) for n in sizes)
    gs = [jnp.full(n, n ** -0.5, dtype) for n in sizes[:-1]]
    gs.append(jnp.full(sizes[-1], float(np.prod(sizes[:-1])) ** 0.5, dtype))
    assert len(gs) == I
    return tuple(gs)


def kron_parts(factors: tuple, y: jax.Array, noise_var: jax.Array, cfg: KronConfig):
    """One problem's EM pieces (estep, mstep, gammas0, y, noise_var0) for :func:`em.run_em` and
    :func:`em.run_em_pool`; validated inputs of a common dtype."""
    rdtype = jnp.real(y).dtype
    sizes = cfg.sizes
    gammas0 = _init_gammas(sizes, cfg.init, rdtype)
    if cfg.block_sizes is not None:
        couplings = tuple(coupling_matrix(n, b, cfg.coupling, rdtype) if b > 1 else None
                          for n, b in zip(sizes, cfg.block_sizes))
        # the state of PC-KroSBL is the coupled prior gamma~_i = C_i gamma_i (authors' initialisation)
        gammas0 = tuple(g if C is None else C @ g for g, C in zip(gammas0, couplings))
    else:
        couplings = (None,) * len(sizes)

    def estep(gammas, masks, nv):
        return kron_estep(factors, gammas, y, nv)

    def mstep(Lam, gammas, masks, e, nv):
        if cfg.method == "svd":
            return svd_mstep(Lam, sizes, masks, gammas)
        if cfg.method == "ksbl":
            return ksbl_mstep(Lam, sizes, gammas, masks)
        if cfg.block_sizes is not None:
            return block_am_mstep(Lam, sizes, gammas, masks, couplings, tol=cfg.am_tol, max_inner=9, eps=_BLOCK_EPS)
        return am_mstep(Lam, sizes, gammas, masks, cfg.am_tol, cfg.am_max_inner)

    return estep, mstep, gammas0, y, initial_noise_var(y, noise_var, cfg.em)


def kron_sbl_core(factors: tuple, y: jax.Array, noise_var: jax.Array, cfg: KronConfig):
    """One problem, validated inputs of a common dtype; returns (SBLResult, SBLTrace | None)."""
    estep, mstep, gammas0, y, nv0 = kron_parts(factors, y, noise_var, cfg)
    return run_em(estep, mstep, gammas0, y, nv0, cfg.em)


def _split(cfg: KronConfig):
    """(key, numbers): the structural config that keys the compiled program and its traced numbers
    (weakly typed scalars: they promote as the Python literals they replace)."""
    em_key, em_nums = em_split(cfg.em)
    key = cfg._replace(am_tol=None, am_max_inner=None, coupling=None, em=em_key)
    nums = (em_nums, jnp.asarray(float(cfg.am_tol)), jnp.asarray(int(cfg.am_max_inner)),
            jnp.asarray(float(cfg.coupling)))
    return key, nums


def _merge(key: KronConfig, nums) -> KronConfig:
    em_nums, am_tol, am_max_inner, coupling = nums
    return key._replace(am_tol=am_tol, am_max_inner=am_max_inner, coupling=coupling, em=em_merge(key.em, em_nums))


@lru_cache(maxsize=64)
def _compiled(key: KronConfig, batched: bool, factor_axes: tuple, mesh, lanes: int = 0):
    """One program per structural config (shapes and dtypes aside); the numbers (tolerances, pruning
    thresholds, iteration caps, coupling, noise variance) are its traced arguments ``nums`` and ``nv``."""
    def single(factors, y, nv, nums):
        return kron_sbl_core(tuple(factors), y, nv, _merge(key, nums))

    if not batched:
        return jax.jit(single)

    def pooled(factors, y, nv, nums):
        cfg = _merge(key, nums)
        per = [f for f, a in zip(factors, factor_axes) if a is not None]

        def parts(prob):
            fb, yb, nvb = prob
            it = iter(fb)
            facs = tuple(f if a is None else next(it) for f, a in zip(factors, factor_axes))
            return kron_parts(facs, yb, nvb, cfg)

        return run_em_pool(parts, (per, y, nv), cfg.em, lanes)

    if mesh is None:
        return jax.jit(pooled)
    from ..linalg.sharding import sharded_batch

    # each device solves its block of problems on its own lanes
    fn = sharded_batch(lambda y, nv, nums, *f: pooled(list(f), y, nv, nums), mesh,
                       in_axes=(0, 0, None) + tuple(factor_axes))
    return lambda factors, y, nv, nums: fn(y, nv, nums, *factors)


@compiled_entry
def kron_sbl(factors, y, *, method: str = "svd", block_sizes=None, coupling: float = 0.8, noise_var=None,
             max_iter: int = 150, tol: float = 1e-4, prune=None, prune_abs: float = 0.0, init: str = "normalised",
             am_tol: float = 1e-5, am_max_inner: int = 1000, return_trace: bool = False, mesh=None, lanes=None,
             distributed: bool = False):
    """Kronecker-structured sparse Bayesian learning (KroSBL) for y = (H_1 kron ... kron H_I) x + n.

    The prior is x ~ N(0, diag(gamma_1 kron ... kron gamma_I)); the hyperparameters maximise the type-II
    likelihood by EM. The E-step never forms the Kronecker dictionary (factor eigendecompositions), so
    its cost is that of the factors.

    Parameters
    ----------
    factors : list of arrays (M_i, N_i) (real or complex, at least two) or ``sparsestat.linalg.Kronecker``
        With a batch of y, a factor may also be 3-D (B, M_i, N_i) (one dictionary per problem).
    y : array (M,) or (B, M)
        Measurements, M = prod M_i, row-major (``numpy.kron``) order. A leading batch axis is mapped with
        ``jax.vmap`` (finished problems are frozen, so batched results equal one-by-one results).
    method : {"svd", "am", "ksbl"}
        "svd": SVD-KroSBL (rank-one / sequential SVD M-step; fastest, exact when the values of x are
        themselves Kronecker). "am": AM-KroSBL (exact alternating minimisation, monotone cost; the robust
        choice when the values of x are not Kronecker). "ksbl": one AM sweep per EM iteration (the KSBL
        baseline of the authors' code).
    block_sizes : sequence of odd ints, optional (method="am" only)
        Pattern-coupled (block-sparse) AM-KroSBL: factor i's prior is 1e-5 + C_i gamma_i with C_i banded
        (1 on the diagonal, ``coupling`` within half-width (b_i - 1) / 2); 1 means no coupling.
    coupling : float in [0, 1)
        beta of the pattern coupling.
    noise_var : float, (B,) array or None
        Known noise variance, or None to learn it (EM update, started at 0.1 var(y)).
    max_iter : int
        EM iteration cap (150).
    tol : float
        Stop when ||gamma^(t) - gamma^(t-1)|| / ||gamma^(t-1)|| < tol (1e-4).
    prune : float, sequence of floats or None
        Relative pruning thresholds r_i: entry j of factor i is masked for good when
        gamma_i[j] < r_i max(gamma_i). None = method default (svd 1e-3, am/ksbl 1e-2); 0 disables.
    prune_abs : float
        Absolute threshold (mask gamma_i[j] < prune_abs); 0 disables.
    init : {"normalised", "ones"}
        "normalised": kron(gamma_i) = 1 with unit-norm leading factors; "ones": every gamma_i = 1.
    am_tol, am_max_inner : float, int
        Inner AM stopping rule (relative change of kron(gamma) < am_tol, at most am_max_inner sweeps).
    return_trace : bool
        Also return an :class:`SBLTrace` (cost and relative change per iteration).
    mesh : jax.sharding.Mesh, optional
        With a batch of y: split the problems across the mesh's devices (``linalg.sharding``); each
        device solves its block as ``lanes`` says.
    lanes : int or None
        With a batch of y: problems are solved on this many vmapped lanes (per device), each lane
        taking the next problem as soon as its own has stopped (so the batch costs about the sum of
        the iteration counts, not B times the largest). None = 1 on CPU (the problems in sequence in
        one compiled loop: fastest there, see ``docs/modules/sbl.md``), 1024 on accelerators.
    distributed : bool
        Several processes (:mod:`sparsestat.distributed`): ``y`` (and any per-problem factor and
        ``noise_var``) is this process's block of the batch; each process solves its block and every
        process returns the whole batch's results (numpy), in process order, equal to one process
        solving the concatenated batch. A global ``jax.Array`` of problems is taken as its local rows.

    Returns
    -------
    SBLResult(coef, gamma, noise_var, n_iter, converged)
        ``gamma`` is a tuple of the factors (0 = pruned). With ``return_trace``: (result, trace).

    Examples
    --------
    >>> from sparsestat.datasets import make_kronecker_sparse
    >>> from sparsestat.sbl import kron_sbl
    >>> p = make_kronecker_sparse([(16, 32), (16, 32)], [3, 3], 20.0, random_state=0)
    >>> res = kron_sbl(p.factors, p.y, noise_var=p.noise_var)
    """
    method = check_choice(method, "method", ("svd", "am", "ksbl"))
    init = check_choice(init, "init", ("normalised", "ones"))
    if distributed:
        y, noise_var = local_batch(y, noise_var)
        factors = [as_local_block(f) for f in factors] if isinstance(factors, (list, tuple)) else factors
    facs, y, B, factor_axes = check_kron_problem(
        factors, y, hint="; use sparsestat.sbl.sbl for a single dense dictionary")
    I = len(facs)
    batched = B is not None
    sizes = tuple(int(f.shape[-1]) for f in facs)
    nv = check_noise_var(noise_var, B)
    max_iter, tol, prune_abs = check_common(max_iter, tol, prune_abs)
    coupling = check_in_interval(coupling, "coupling", 0.0, 1.0, closed="left")
    if block_sizes is not None:
        if method != "am":
            raise ValueError(f"block_sizes needs method='am' (pattern-coupled AM-KroSBL), got method={method!r}")
        bs = tuple(check_int(b, "block_sizes entries", lower=1) for b in block_sizes)
        if len(bs) != I:
            raise ValueError(f"block_sizes must have one entry per factor ({I}), got {len(bs)}")
        for i, b in enumerate(bs):
            if b % 2 == 0:
                raise ValueError(f"block_sizes[{i}] must be odd (a centred band of half-width (b-1)/2), got {b}")
            if b > sizes[i]:
                raise ValueError(f"block_sizes[{i}] = {b} exceeds the factor's {sizes[i]} columns")
        block_sizes = bs
    prune_t = check_prune(DEFAULT_PRUNE[method] if prune is None else prune, I)
    am_tol = check_nonnegative(am_tol, "am_tol")
    am_max_inner = check_int(am_max_inner, "am_max_inner", lower=1)

    jy, jf, rdtype = promote(y, facs)
    jnv = noise_var_array(nv, B, rdtype)

    em = EMConfig(max_iter, float(tol), prune_t, float(prune_abs), nv is None, "em", bool(return_trace))
    key, nums = _split(KronConfig(method, sizes, init, float(am_tol), am_max_inner, block_sizes, float(coupling),
                                  em))
    nl = resolve_lanes(lanes, per_device(B, mesh)) if batched else 0
    fn = _compiled(key, batched, factor_axes, mesh if batched else None, nl)
    res, trace = fn(jf, jy, jnv, nums)
    if distributed:
        res, trace = allgather_blocks((res, trace), "the SBL results")
    return (res, trace) if return_trace else res
