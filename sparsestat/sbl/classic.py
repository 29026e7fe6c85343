"""Classic sparse Bayesian learning (Tipping, JMLR 2001; Wipf & Rao, IEEE TSP 2004): one free prior
variance per coefficient, EM (gamma <- Lambda) or MacKay (gamma <- |mu|^2 / (1 - Sigma_nn / gamma)) updates."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._validation import check_array_arg, check_choice
from ..linalg.cache import compiled_entry
from ..linalg.multiprocess import allgather_blocks, as_local_block
from ._checks import check_common, check_noise_var, check_prune, check_y, local_batch, noise_var_array, promote
from .em import EMConfig, em_merge, em_split, initial_noise_var, per_device, resolve_lanes, run_em, run_em_pool
from .posterior import dense_estep

__all__ = ["sbl", "sbl_core", "sbl_parts", "ClassicConfig"]


class ClassicConfig(NamedTuple):
    """Options of :func:`sbl_core`: the gamma ``update`` rule ("em" or "mackay") and the EM loop's."""

    update: str
    em: EMConfig


def sbl_parts(Phi: jax.Array, y: jax.Array, noise_var: jax.Array, cfg: ClassicConfig):
    """One problem's EM pieces (estep, mstep, gammas0, y, noise_var0) for :func:`em.run_em` and
    :func:`em.run_em_pool`; validated inputs of a common dtype."""
    rdtype = jnp.real(y).dtype
    N = Phi.shape[1]

    def estep(gammas, masks, nv):
        return dense_estep(Phi, gammas[0], y, nv)

    def mstep(Lam, gammas, masks, e, nv):
        if cfg.update == "em":
            return (Lam,)
        g, m = gammas[0], masks[0]
        act = m & (g > 0)
        ratio = jnp.where(act, e.var / jnp.where(act, g, 1.0), 1.0)
        denom = 1.0 - ratio
        ok = act & (denom > 0)
        return (jnp.where(ok, jnp.abs(e.mean) ** 2 / jnp.where(ok, denom, 1.0), 0.0).astype(rdtype),)

    return estep, mstep, (jnp.ones(N, rdtype),), y, initial_noise_var(y, noise_var, cfg.em)


def sbl_core(Phi: jax.Array, y: jax.Array, noise_var: jax.Array, cfg: ClassicConfig):
    """One problem, validated inputs of a common dtype; returns (SBLResult, SBLTrace | None).

    ``gamma`` of the result is a 1-tuple internally; :func:`sbl` unwraps it."""
    res, trace = run_em(*sbl_parts(Phi, y, noise_var, cfg), cfg.em)
    return res._replace(gamma=res.gamma[0]), trace


def _split(cfg: ClassicConfig):
    """(key, numbers): the structural config that keys the compiled program and its traced numbers."""
    key, nums = em_split(cfg.em)
    return cfg._replace(em=key), nums


def _merge(key: ClassicConfig, nums) -> ClassicConfig:
    return key._replace(em=em_merge(key.em, nums))


@lru_cache(maxsize=64)
def _compiled(key: ClassicConfig, batched: bool, phi_axis, mesh, lanes: int = 0):
    """One program per structural config (shapes and dtypes aside); the numbers (tolerances, pruning
    thresholds, iteration cap, noise variance) are its traced arguments ``nums`` and ``nv``."""
    def single(Phi, y, nv, nums):
        return sbl_core(Phi, y, nv, _merge(key, nums))

    if not batched:
        return jax.jit(single)

    def pooled(Phi, y, nv, nums):
        cfg = _merge(key, nums)

        def parts(prob):
            yb, nvb, Pb = prob
            return sbl_parts(Phi if Pb is None else Pb, yb, nvb, cfg)

        per_problem = Phi if phi_axis is not None else None   # None: an empty pytree leaf, Phi shared
        res, trace = run_em_pool(parts, (y, nv, per_problem), cfg.em, lanes)
        return res._replace(gamma=res.gamma[0]), trace

    if mesh is None:
        return jax.jit(pooled)
    from ..linalg.sharding import sharded_batch

    # each device solves its block of problems on its own lanes
    return sharded_batch(pooled, mesh, in_axes=(phi_axis, 0, 0, None))


@compiled_entry
def sbl(Phi, y, *, noise_var=None, max_iter: int = 150, tol: float = 1e-4, prune=1e-3, prune_abs: float = 0.0,
        update: str = "em", return_trace: bool = False, mesh=None, lanes=None, distributed: bool = False):
    """Classic EM sparse Bayesian learning for y = Phi x + n, x ~ N(0, diag(gamma)).

    The E-step uses a Cholesky factor of sigma^2 I + Phi Gamma Phi^H (M <= N) or of
    I + Gamma^{1/2} Phi^H Phi Gamma^{1/2} / sigma^2 (M > N); pruned coefficients are masked (gamma = 0
    exactly), never removed, so shapes stay static.

    Parameters
    ----------
    Phi : array (M, N), real or complex; (B, M, N) for one dictionary per problem of a batch
    y : array (M,) or (B, M)
    noise_var : float, (B,) array or None
        Known noise variance, or None to learn it (EM update; MacKay update with ``update="mackay"``).
    max_iter : int
        Iteration cap (150).
    tol : float
        Stop when ||gamma^(t) - gamma^(t-1)|| / ||gamma^(t-1)|| < tol (1e-4).
    prune : float in [0, 1)
        Mask gamma_n < prune * max(gamma) (1e-3, the authors' default); 0 disables.
    prune_abs : float
        Mask gamma_n < prune_abs.
    update : {"em", "mackay"}
        gamma <- diag Sigma + |mu|^2 (EM), or gamma <- |mu|^2 / (1 - Sigma_nn / gamma) (MacKay, as
        scikit-learn's ARDRegression).
    return_trace : bool
        Also return an :class:`SBLTrace`.
    mesh : jax.sharding.Mesh, optional
        Split a batch of problems across devices (each device solves its block as ``lanes`` says).
    lanes : int or None
        With a batch: vmapped lanes (per device), each taking the next problem as soon as its own has
        stopped. None = 1 on CPU (the problems in sequence in one compiled loop), 1024 on accelerators.
    distributed : bool
        Several processes (:mod:`sparsestat.distributed`): ``y`` (and a 3-D ``Phi``, ``noise_var``) is
        this process's block of the batch; every process returns the whole batch's results (numpy),
        equal to one process solving the concatenated batch.

    Returns
    -------
    SBLResult(coef, gamma, noise_var, n_iter, converged); with ``return_trace``: (result, trace).
    """
    update = check_choice(update, "update", ("em", "mackay"))
    if distributed:
        y, noise_var = local_batch(y, noise_var)
        Phi = as_local_block(Phi)
    y = check_y(y)
    batched = y.ndim == 2
    B = int(y.shape[0]) if batched else None
    if isinstance(Phi, jax.Array):
        if Phi.ndim not in (2, 3) or Phi.size == 0:
            raise ValueError(f"Phi must be a non-empty 2-D array (M, N) or 3-D (B, M, N), got shape {Phi.shape}")
        if jnp.issubdtype(Phi.dtype, jnp.inexact) and not bool(jnp.all(jnp.isfinite(Phi))):
            raise ValueError("Phi contains NaN or infinity; all values must be finite")
    else:
        Phi = check_array_arg(Phi, "Phi", ndim=(2, 3), allow_complex=True)
    if Phi.ndim == 3 and (not batched or Phi.shape[0] != B):
        raise ValueError(f"Phi is 3-D (shape {tuple(Phi.shape)}); a per-problem dictionary needs a batch of y "
                         f"with the same leading size, got y of shape {tuple(y.shape)}")
    M = int(Phi.shape[-2])
    if y.shape[-1] != M:
        raise ValueError(f"y must have length {M} (the rows of Phi), got {y.shape[-1]}")
    nv = check_noise_var(noise_var, B)
    max_iter, tol, prune_abs = check_common(max_iter, tol, prune_abs)
    prune_t = check_prune(prune, 1)

    jy, (jP,), rdtype = promote(y, [Phi])
    jnv = noise_var_array(nv, B, rdtype)
    em = EMConfig(max_iter, float(tol), prune_t, float(prune_abs), nv is None, update, bool(return_trace))
    key, nums = _split(ClassicConfig(update, em))
    nl = resolve_lanes(lanes, per_device(B, mesh)) if batched else 0
    fn = _compiled(key, batched, 0 if Phi.ndim == 3 else None, mesh if batched else None, nl)
    res, trace = fn(jP, jy, jnv, nums)
    if distributed:
        res, trace = allgather_blocks((res, trace), "the SBL results")
    return (res, trace) if return_trace else res
