"""Estimates of the largest singular value ||A||_2 of a matrix or operator (Lipschitz constants).

Both estimators work on A^H A through matvec/rmatvec only, so they apply to ``Kronecker`` and other
operators without forming them. They under-estimate ||A||_2 (Ritz values are lower bounds); the
``safety`` factor (e.g. 1.02 for FISTA steps) multiplies the estimate.

:func:`leading_singular_triplet` returns the leading singular triplet of a dense matrix to a residual
tolerance by warm-started power iteration (the SVD-KroSBL M-step: many times cheaper than a full SVD
when the top singular value is well separated, as it is there).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from .operators import aslinearoperator

__all__ = ["spectral_norm", "power_iteration", "lanczos_top_eigenvalue", "SingularTriplet",
           "leading_singular_triplet"]


def _start(op, key, dtype):
    n = op.shape[1]
    if key is None:
        key = jax.random.PRNGKey(0)
    real = jnp.finfo(dtype).dtype
    v = jax.random.normal(key, (n,), dtype=real)
    if jnp.issubdtype(dtype, jnp.complexfloating):
        v = v + 1j * jax.random.normal(jax.random.fold_in(key, 1), (n,), dtype=real)
    return (v / jnp.linalg.norm(v)).astype(dtype)


def power_iteration(A, *, n_iter: int = 30, key=None) -> jax.Array:
    """sigma_max estimate after ``n_iter`` power iterations on A^H A (monotone lower bound)."""
    op = aslinearoperator(A)
    dtype = jnp.result_type(op.dtype, jnp.float32)
    v = _start(op, key, dtype)

    def body(_, v):
        w = op.rmatvec(op.matvec(v))
        nrm = jnp.linalg.norm(w)
        return jnp.where(nrm > 0, w / jnp.where(nrm > 0, nrm, 1.0), v)

    v = lax.fori_loop(0, n_iter, body, v)
    return jnp.linalg.norm(op.matvec(v))


def lanczos_top_eigenvalue(A, *, n_iter: int = 20, key=None) -> jax.Array:
    """sigma_max estimate from ``n_iter`` Lanczos steps on A^H A with full reorthogonalisation.

    Converges much faster than power iteration when the top singular values are close.
    """
    op = aslinearoperator(A)
    n = op.shape[1]
    k = int(min(n_iter, n))
    dtype = jnp.result_type(op.dtype, jnp.float32)
    real = jnp.finfo(dtype).dtype
    v0 = _start(op, key, dtype)
    V = jnp.zeros((k, n), dtype=dtype).at[0].set(v0)
    alphas = jnp.zeros((k,), dtype=real)
    betas = jnp.zeros((k,), dtype=real)

    def body(j, carry):
        V, alphas, betas = carry
        v = V[j]
        w = op.rmatvec(op.matvec(v))
        a = jnp.real(jnp.vdot(v, w))
        # full reorthogonalisation against the basis built so far (rows > j are still zero)
        mask = (jnp.arange(k) <= j).astype(real)
        coeffs = (jnp.conj(V) @ w) * mask
        w = w - coeffs @ V
        coeffs2 = (jnp.conj(V) @ w) * mask
        w = w - coeffs2 @ V
        b = jnp.linalg.norm(w)
        nxt = jnp.where(b > 1e3 * jnp.finfo(real).eps, w / jnp.where(b > 0, b, 1.0), jnp.zeros_like(w))
        V = jnp.where(j + 1 < k, V.at[jnp.minimum(j + 1, k - 1)].set(nxt), V)
        return V, alphas.at[j].set(a), betas.at[j].set(b)

    V, alphas, betas = lax.fori_loop(0, k, body, (V, alphas, betas))
    T = jnp.diag(alphas) + jnp.diag(betas[:-1], 1) + jnp.diag(betas[:-1], -1)
    lam = jnp.linalg.eigvalsh(T)[-1]
    return jnp.sqrt(jnp.maximum(lam, 0.0))


def spectral_norm(A, *, method: str = "lanczos", n_iter: int | None = None, safety: float = 1.0,
                  key=None) -> jax.Array:
    """Estimate ||A||_2 (largest singular value) of a matrix or linear operator.

    Parameters
    ----------
    A : array (m, n) or LinearOperator (``Dense``, ``Kronecker``, ``ColumnScaled``)
    method : {"lanczos", "power"}
    n_iter : int, optional
        Iterations (default 20 for Lanczos, 30 for power iteration).
    safety : float
        Multiplier >= 1 applied to the estimate (an upper-bound margin for step sizes).
    key : jax PRNG key, optional
        Start vector seed (default: a fixed key, so results are deterministic).
    """
    if method not in ("lanczos", "power"):
        raise ValueError(f"method must be 'lanczos' or 'power', got {method!r}")
    if not (isinstance(safety, (int, float)) and safety >= 1.0):
        raise ValueError(f"safety must be a number >= 1, got {safety!r}")
    if n_iter is not None and (not isinstance(n_iter, int) or n_iter < 1):
        raise ValueError(f"n_iter must be a positive integer, got {n_iter!r}")
    if method == "lanczos":
        est = lanczos_top_eigenvalue(A, n_iter=n_iter or 20, key=key)
    else:
        est = power_iteration(A, n_iter=n_iter or 30, key=key)
    return est * safety


class SingularTriplet(NamedTuple):
    """Leading singular triplet M v = s u, M^H u = s v (unit u, v) and how it was reached."""

    s: jax.Array
    u: jax.Array
    v: jax.Array
    n_iter: jax.Array      # power steps taken
    converged: jax.Array   # residual ||M^H u - s v|| <= tol * s reached within max_iter


def leading_singular_triplet(M: jax.Array, v0: jax.Array | None = None, *, tol: float | None = None,
                             max_iter: int = 1000, check_every: int = 4) -> SingularTriplet:
    """Leading singular triplet of a dense (m, n) matrix by power iteration on M^H M.

    Starts from ``v0`` (a warm start, e.g. the previous iterate's right vector; default the all-ones
    vector, which is never orthogonal to the Perron vector of a non-negative matrix) and stops when the
    relative residual ||M^H u - s v|| / s <= ``tol`` (default 4 eps^(2/3): 1.5e-10 in float64, 1e-4 in
    float32), checked every ``check_every`` steps, or after ``max_iter`` steps (reported in
    ``converged``). The error contracts by (s_2 / s_1)^2 per step, so a well-separated top singular value
    takes a handful of steps; with s_2 ~ s_1 the result is a vector of the (near-degenerate) top pair.
    Jit- and vmap-able; s = 0 (M = 0) returns s = 0 with the start vectors.
    """
    M = jnp.asarray(M)
    if M.ndim != 2:
        raise ValueError(f"M must be a 2-D matrix, got shape {M.shape}")
    dtype = jnp.result_type(M.dtype, jnp.float32)
    M = M.astype(dtype)
    real = jnp.finfo(dtype).dtype
    m, n = M.shape
    tol = float(4 * jnp.finfo(real).eps ** (2 / 3)) if tol is None else float(tol)
    tiny = jnp.finfo(real).tiny
    ones = jnp.full((n,), 1.0 / jnp.sqrt(n), dtype)
    if v0 is None:
        v = ones
    else:
        v0 = jnp.asarray(v0, dtype)
        if v0.shape != (n,):
            raise ValueError(f"v0 must have shape ({n},) (the columns of M), got {v0.shape}")
        nrm = jnp.linalg.norm(v0)
        v = jnp.where(nrm > 0, v0 / jnp.where(nrm > 0, nrm, 1.0), ones)
    # a start in the null space (M v = 0 but M != 0) would stall: fall back to the ones vector
    v = jnp.where(jnp.linalg.norm(M @ v) > 0, v, ones)

    def step(v):
        u = M @ v
        s = jnp.linalg.norm(u)
        u = u / jnp.maximum(s, tiny)
        w = jnp.conj(M).T @ u
        s2 = jnp.linalg.norm(w)
        return u, w / jnp.maximum(s2, tiny), s2, w

    def cond(c):
        k, _, _, _, res = c
        return (k < max_iter) & (res > tol)

    def body(c):
        k, v, _, _, _ = c
        for _ in range(check_every - 1):
            _, v, _, _ = step(v)
        u, v_new, s, w = step(v)
        res = jnp.linalg.norm(w - s * v) / jnp.maximum(s, tiny)
        return k + check_every, v_new, u, s, jnp.where(s > 0, res, 0.0)

    init = (jnp.zeros((), jnp.int32), v, jnp.zeros((m,), dtype), jnp.zeros((), real), jnp.asarray(jnp.inf, real))
    k, v, u, s, res = lax.while_loop(cond, body, init)
    return SingularTriplet(s, u, v, k, res <= tol)
