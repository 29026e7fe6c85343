"""E-steps: the Gaussian posterior of x given prior variances gamma and noise variance sigma^2.

Kronecker E-step (never forms H = H_1 kron ... kron H_I nor any M x M / N x N matrix):

1. C_i = H_i diag(gamma_i) H_i^H = U_i diag(p_i) U_i^H (Hermitian eigendecomposition, p_i >= 0);
2. P = kron(p_i), d = 1 / (sigma^2 + P), z = kron(U_i)^H y by mode products;
3. G_i = diag(gamma_i) H_i^H U_i: mean = kron(G_i) (d * z), diag Sigma = gamma - kron(|G_i|^2) d.

By-products: log|Sigma_y| = sum log(sigma^2 + P), y^H Sigma_y^{-1} y = sum d |z|^2,
||y - H mean||^2 = sigma^4 sum d^2 |z|^2 and sum_active (1 - Sigma_nn / gamma_n) = sum P d. No 1/gamma
appears, so gamma = 0 (pruned) is exact.

Dense E-step (classic SBL): Cholesky of sigma^2 I + Phi Gamma Phi^H when M <= N, of
I + Gamma^{1/2} Phi^H Phi Gamma^{1/2} / sigma^2 otherwise; both safe at gamma = 0.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
from jax.scipy.linalg import cho_solve, solve_triangular

from ..linalg.cache import compiled_entry
from ..linalg.modes import kron_vectors, multi_mode
from ..linalg.ordering import eigh_each
from ._checks import as_factor_list, promote
from .results import Posterior

__all__ = ["kron_posterior", "dense_posterior", "EStep", "kron_estep", "dense_estep"]


class EStep(NamedTuple):
    """Everything an M-step or a noise update needs from one E-step (internal)."""

    mean: jax.Array       # (N,) posterior mean
    var: jax.Array        # (N,) diag Sigma (real)
    cost: jax.Array       # log|Sigma_y| + y^H Sigma_y^{-1} y
    resid_sq: jax.Array   # ||y - H mean||^2
    dof: jax.Array        # sum_n (1 - Sigma_nn / gamma_n) over active n


def kron_estep(factors: Sequence[jax.Array], gammas: Sequence[jax.Array], y: jax.Array,
               noise_var: jax.Array) -> EStep:
    """Exact posterior for H = kron(factors), gamma = kron(gammas), through factor eigendecompositions."""
    out_shape = tuple(int(f.shape[0]) for f in factors)
    in_shape = tuple(int(f.shape[1]) for f in factors)
    Us, ps, Gs = [], [], []
    HGs, Cs = [], []
    for H, g in zip(factors, gammas):
        HG = H * g[None, :].astype(H.dtype)
        C = HG @ jnp.conj(H).T
        HGs.append(HG)
        Cs.append(0.5 * (C + jnp.conj(C).T))
    # in turn: concurrent batched LAPACK calls can deadlock XLA:CPU's thread pool (linalg.ordering)
    for HG, (p, U) in zip(HGs, eigh_each(Cs)):
        Us.append(U)
        ps.append(jnp.maximum(p, 0.0))
        Gs.append(jnp.conj(HG).T @ U)            # diag(gamma) H^H U  (gamma real)
    sig = jnp.asarray(noise_var, dtype=ps[0].dtype)
    P = jnp.reshape(kron_vectors(ps), out_shape)
    d = 1.0 / (sig + P)
    z = multi_mode(jnp.reshape(y, out_shape), [jnp.conj(U).T for U in Us])
    dz = d * z
    mean = multi_mode(dz.astype(jnp.result_type(dz, *Gs)), Gs)
    gram = multi_mode(d, [jnp.abs(G) ** 2 for G in Gs])
    gamma_full = jnp.reshape(kron_vectors(list(gammas)), in_shape)
    var = gamma_full - gram
    az2 = jnp.abs(z) ** 2
    cost = jnp.sum(jnp.log(sig + P)) + jnp.sum(d * az2)
    resid_sq = sig ** 2 * jnp.sum(d * d * az2)
    dof = jnp.sum(P * d)
    return EStep(jnp.reshape(mean, (-1,)), jnp.reshape(var, (-1,)), cost, resid_sq, dof)


def dense_estep(Phi: jax.Array, gamma: jax.Array, y: jax.Array, noise_var: jax.Array) -> EStep:
    """Exact posterior for a dense dictionary by Cholesky (static branch on M <= N)."""
    M, N = Phi.shape
    rdtype = jnp.real(Phi).dtype
    sig = jnp.asarray(noise_var, dtype=rdtype)
    g = gamma.astype(rdtype)
    if M <= N:
        S = (Phi * g[None, :].astype(Phi.dtype)) @ jnp.conj(Phi).T
        S = 0.5 * (S + jnp.conj(S).T) + sig * jnp.eye(M, dtype=Phi.dtype)
        L = jnp.linalg.cholesky(S)
        alpha = cho_solve((L, True), y)
        W = solve_triangular(L, Phi, lower=True)
        colw = jnp.sum(jnp.abs(W) ** 2, axis=0)
        mean = g.astype(Phi.dtype) * (jnp.conj(Phi).T @ alpha)
        var = g - g * g * colw
        cost = 2.0 * jnp.sum(jnp.log(jnp.real(jnp.diagonal(L)))) + jnp.real(jnp.vdot(y, alpha))
        resid_sq = sig ** 2 * jnp.sum(jnp.abs(alpha) ** 2)
        dof = jnp.sum(g * colw)
        return EStep(mean, var, cost, resid_sq, dof)
    sg = jnp.sqrt(g)
    A = Phi * sg[None, :].astype(Phi.dtype)
    B = (jnp.conj(A).T @ A) / sig
    B = 0.5 * (B + jnp.conj(B).T) + jnp.eye(N, dtype=Phi.dtype)
    L = jnp.linalg.cholesky(B)
    Linv = solve_triangular(L, jnp.eye(N, dtype=Phi.dtype), lower=True)
    Binv_diag = jnp.sum(jnp.abs(Linv) ** 2, axis=0)
    b = jnp.conj(A).T @ y / sig
    mean = sg.astype(Phi.dtype) * cho_solve((L, True), b)
    var = g * Binv_diag
    phy = jnp.conj(Phi).T @ y
    cost = (M * jnp.log(sig) + 2.0 * jnp.sum(jnp.log(jnp.real(jnp.diagonal(L))))
            + (jnp.sum(jnp.abs(y) ** 2) - jnp.real(jnp.vdot(phy, mean))) / sig)
    r = y - Phi @ mean
    resid_sq = jnp.sum(jnp.abs(r) ** 2)
    dof = jnp.sum(1.0 - Binv_diag)
    return EStep(mean, var, cost, resid_sq, dof)


_kron_estep_jit = jax.jit(kron_estep)
_dense_estep_jit = jax.jit(dense_estep)


@compiled_entry
def kron_posterior(factors, gammas, y, noise_var) -> Posterior:
    """Posterior N(mean, Sigma) of x for y = (H_1 kron ... kron H_I) x + n, x ~ N(0, diag(kron(gammas))).

    Computed through factor-wise Hermitian eigendecompositions; no Kronecker product of the factors is
    formed. Differentiable in ``y``, ``factors`` and ``gammas`` (away from repeated eigenvalues).

    Parameters
    ----------
    factors : sequence of arrays (M_i, N_i) or a ``linalg.Kronecker``
    gammas : sequence of non-negative arrays (N_i,)
    y : array (M,), M = prod M_i
    noise_var : positive scalar

    Returns
    -------
    Posterior(mean (N,), var (N,) = diag Sigma, cost = log|Sigma_y| + y^H Sigma_y^{-1} y)
    """
    facs = as_factor_list(factors, "factors")
    if len(gammas) != len(facs):
        raise ValueError(f"gammas must have one vector per factor ({len(facs)}), got {len(gammas)}")
    gs = []
    for i, (f, g) in enumerate(zip(facs, gammas)):
        g = jnp.asarray(g)
        if g.shape != (f.shape[1],):
            raise ValueError(f"gammas[{i}] must have shape ({f.shape[1]},), got {g.shape}")
        gs.append(g.astype(jnp.real(f).dtype))
    y = jnp.asarray(y)
    M = 1
    for f in facs:
        M *= int(f.shape[0])
    if y.shape != (M,):
        raise ValueError(f"y must have shape ({M},) (prod of the factors' rows), got {y.shape}")
    y, facs, rdtype = promote(y, facs)
    e = _kron_estep_jit(facs, gs, y, jnp.asarray(noise_var, rdtype))
    return Posterior(e.mean, e.var, e.cost)


@compiled_entry
def dense_posterior(Phi, gamma, y, noise_var) -> Posterior:
    """Posterior N(mean, Sigma) of x for y = Phi x + n, x ~ N(0, diag(gamma)), by Cholesky.

    Parameters
    ----------
    Phi : array (M, N), real or complex
    gamma : non-negative array (N,)
    y : array (M,)
    noise_var : positive scalar

    Returns
    -------
    Posterior(mean (N,), var (N,) = diag Sigma, cost = log|Sigma_y| + y^H Sigma_y^{-1} y)
    """
    y, (Phi,), rdtype = promote(y, [Phi])
    # noise_var as an array of the real dtype (what dense_estep makes of it first): a traced argument
    e = _dense_estep_jit(Phi, jnp.asarray(gamma), y, jnp.asarray(noise_var, rdtype))
    return Posterior(e.mean, e.var, e.cost)
