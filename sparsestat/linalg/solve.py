"""Dense solves: Cholesky with adaptive jitter, triangular solves, Woodbury (matrix inversion lemma)
solves, rank-one Cholesky update/downdate in O(p^2), and (ridge) least squares.

All functions are pure, jit- and vmap-able and compute in the dtype of their inputs. Real and complex
Hermitian matrices are supported except where noted (rank-one update/downdate are real).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jax import lax

from ._checks import check_matrix, check_nonneg_value, check_square

__all__ = [
    "CholeskyResult",
    "cholesky",
    "cho_solve",
    "solve_triangular",
    "spd_solve",
    "woodbury_solve",
    "WoodburyResult",
    "chol_update",
    "chol_downdate",
    "lstsq",
]


class CholeskyResult(NamedTuple):
    """Lower Cholesky factor of A + jitter I and the jitter that was needed (0 when none)."""

    L: jax.Array
    jitter: jax.Array


def cholesky(A: jax.Array, *, jitter: float | None = None, max_tries: int = 10) -> CholeskyResult:
    """Lower Cholesky factor with adaptive jitter.

    Tries A first; while the factor is not finite, adds ``jitter * 10**t * mean(|diag A|) * I``
    (t = 0, 1, ...; default base jitter: 10 * machine epsilon of the dtype) for at most
    ``max_tries`` attempts. Returns the factor and the absolute jitter used, so callers can report it.
    If every attempt fails the factor contains NaN (check ``jnp.isfinite(L).all()``).
    """
    A = jnp.asarray(A)
    check_square(A, "A")
    if not jnp.issubdtype(A.dtype, jnp.inexact):
        A = A.astype(jnp.result_type(float))
    n = A.shape[-1]
    real_dtype = jnp.finfo(A.dtype).dtype
    base = (10 * jnp.finfo(A.dtype).eps) if jitter is None else jitter
    scale = jnp.maximum(jnp.mean(jnp.abs(jnp.diagonal(A))), jnp.finfo(real_dtype).tiny)
    eye = jnp.eye(n, dtype=A.dtype)

    L0 = jnp.linalg.cholesky(A)

    def cond(state):
        L, t, _ = state
        return jnp.logical_and(~jnp.all(jnp.isfinite(L)), t < max_tries)

    def body(state):
        _, t, _ = state
        j = (base * scale * (10.0 ** t)).astype(real_dtype)
        return jnp.linalg.cholesky(A + j * eye), t + 1, j

    L, _, used = lax.while_loop(cond, body, (L0, jnp.zeros((), jnp.int32), jnp.zeros((), real_dtype)))
    return CholeskyResult(L, used)


def solve_triangular(L: jax.Array, b: jax.Array, *, lower: bool = True, adjoint: bool = False) -> jax.Array:
    """Solve L x = b (or L^H x = b with ``adjoint=True``) for triangular L."""
    return jsl.solve_triangular(L, b, lower=lower, trans="C" if adjoint else 0)


def cho_solve(L: jax.Array, b: jax.Array) -> jax.Array:
    """Solve (L L^H) x = b given the lower Cholesky factor L."""
    return jsl.cho_solve((L, True), b)


def spd_solve(A: jax.Array, b: jax.Array, *, jitter: float | None = None) -> jax.Array:
    """Solve A x = b for Hermitian positive (semi)definite A through :func:`cholesky`."""
    return cho_solve(cholesky(A, jitter=jitter).L, b)


class WoodburyResult(NamedTuple):
    """Solution of (D + A^H B A) x = rhs and, if asked, diag((D + A^H B A)^{-1})."""

    x: jax.Array
    inverse_diag: jax.Array | None


def _as_inverse_middle(B, m, dtype):
    """B^{-1} as an (m, m) matrix for scalar, vector (diagonal) or matrix B."""
    B = jnp.asarray(B, dtype=dtype) if not hasattr(B, "dtype") else B
    if B.ndim == 0:
        return jnp.eye(m, dtype=dtype) / B
    if B.ndim == 1:
        return jnp.diag(1.0 / B).astype(dtype)
    return cho_solve(cholesky(B).L, jnp.eye(m, dtype=B.dtype)).astype(dtype)


def woodbury_solve(d: jax.Array, A: jax.Array, B, rhs: jax.Array, *,
                   return_inverse_diag: bool = False) -> WoodburyResult:
    """Solve (diag(d) + A^H B A) x = rhs through the matrix inversion lemma.

    ``d``: (p,) positive diagonal; ``A``: (m, p); ``B``: scalar, (m,) diagonal or (m, m) Hermitian
    positive definite; ``rhs``: (p,) or (p, k). Cost O(m^2 p + m^3) instead of O(p^3): the form of
    SBL posteriors (d = 1/gamma, A = Phi, B = I/sigma^2) when p > m.
    """
    check_matrix(A, "A")
    m, p = A.shape
    if jnp.shape(d) != (p,):
        raise ValueError(f"d must have shape ({p},) to match A of shape {A.shape}, got {jnp.shape(d)}")
    if jnp.shape(rhs)[:1] != (p,) or jnp.ndim(rhs) > 2:
        raise ValueError(f"rhs must have shape ({p},) or ({p}, k), got {jnp.shape(rhs)}")
    if jnp.ndim(B) == 1 and jnp.shape(B) != (m,) or jnp.ndim(B) == 2 and jnp.shape(B) != (m, m) or jnp.ndim(B) > 2:
        raise ValueError(f"B must be a scalar, shape ({m},) or ({m}, {m}), got {jnp.shape(B)}")
    check_nonneg_value(d, "d", strict=True)
    dtype = jnp.result_type(d, A, rhs)
    Binv = _as_inverse_middle(B, m, dtype)
    dinv = (1.0 / d).astype(dtype)
    AD = A * dinv[None, :]                       # A D^{-1}, (m, p)
    C = Binv + AD @ jnp.conj(A).T                # B^{-1} + A D^{-1} A^H, (m, m)
    C = 0.5 * (C + jnp.conj(C).T)
    L = cholesky(C).L
    vec = rhs.ndim == 1
    r = rhs[:, None] if vec else rhs
    Dr = dinv[:, None] * r
    x = Dr - jnp.conj(AD).T @ cho_solve(L, A @ Dr)
    x = x[:, 0] if vec else x
    diag = None
    if return_inverse_diag:
        W = solve_triangular(L, AD)              # L^{-1} A D^{-1}
        diag = jnp.real(dinv) - jnp.sum(jnp.abs(W) ** 2, axis=0)
    return WoodburyResult(x, diag)


def _rank_one(L: jax.Array, x: jax.Array, sign: float) -> jax.Array:
    check_square(L, "L")
    if jnp.shape(x) != (L.shape[0],):
        raise ValueError(f"x must have shape ({L.shape[0]},), got {jnp.shape(x)}")
    if jnp.iscomplexobj(L) or jnp.iscomplexobj(x):
        raise TypeError("rank-one Cholesky update/downdate supports real matrices only")
    n = L.shape[0]
    idx = jnp.arange(n)

    def body(k, carry):
        L, x = carry
        Lkk = L[k, k]
        r = jnp.sqrt(Lkk ** 2 + sign * x[k] ** 2)
        c = r / Lkk
        s = x[k] / Lkk
        below = idx > k
        col = L[:, k]
        new_col = jnp.where(below, (col + sign * s * x) / c, col)
        new_col = new_col.at[k].set(r)
        x = jnp.where(below, c * x - s * new_col, x)
        L = L.at[:, k].set(new_col)
        return L, x

    L, _ = lax.fori_loop(0, n, body, (L, x))
    return L


def chol_update(L: jax.Array, x: jax.Array) -> jax.Array:
    """Lower Cholesky factor of L L^T + x x^T in O(p^2) (real matrices)."""
    return _rank_one(L, x, 1.0)


def chol_downdate(L: jax.Array, x: jax.Array) -> jax.Array:
    """Lower Cholesky factor of L L^T - x x^T in O(p^2) (real; NaN if the result is not positive definite)."""
    return _rank_one(L, x, -1.0)


def lstsq(X: jax.Array, y: jax.Array, *, ridge: float = 0.0) -> jax.Array:
    """Least squares min ||y - X w||^2 + ridge ||w||^2.

    ``ridge = 0``: minimum-norm solution through the SVD (``jnp.linalg.lstsq``). ``ridge > 0``: Cholesky
    on the smaller of X^H X + ridge I (primal) and X X^H + ridge I (dual).
    """
    check_matrix(X, "X")
    n, p = X.shape
    if jnp.shape(y)[:1] != (n,):
        raise ValueError(f"y must have {n} rows to match X of shape {X.shape}, got shape {jnp.shape(y)}")
    check_nonneg_value(ridge, "ridge")
    if isinstance(ridge, (int, float)) and ridge == 0.0:
        return jnp.linalg.lstsq(X, y)[0]
    Xh = jnp.conj(X).T
    if p <= n:
        return spd_solve(Xh @ X + ridge * jnp.eye(p, dtype=X.dtype), Xh @ y)
    return Xh @ spd_solve(X @ Xh + ridge * jnp.eye(n, dtype=X.dtype), y)


def chol_update_vectorized(L: jax.Array, x: jax.Array) -> jax.Array:
    """Lower Cholesky factor of L L^T + x x^T in O(p^2) without a sequential loop (real matrices).

    With z = L^{-1} x (one triangular solve), I + z z^T = C C^T for the lower-triangular
    C = diag(d) + strict_lower(z a^T), t_0 = 1, t_j = t_{j-1} + z_j^2, d_j = sqrt(t_j / t_{j-1}),
    a_j = z_j / sqrt(t_j t_{j-1}) (the product form of Gill, Golub, Murray & Saunders 1974). Then
    L C = L diag(d) + S diag(a), where column j of S is the suffix sum sum_{i>j} z_i L[:, i]: a reversed
    cumulative sum, so the whole update is a few vectorized O(p^2) passes (much faster than
    :func:`chol_update`'s p sequential column steps on CPU/GPU). Updates only (no downdates).
    """
    z = solve_triangular(L, x, lower=True)
    t = 1.0 + jnp.cumsum(z * z)
    t_prev = jnp.concatenate([jnp.ones((1,), t.dtype), t[:-1]])
    d = jnp.sqrt(t / t_prev)
    a = z / jnp.sqrt(t * t_prev)
    M = L * z[None, :]
    # sum_{i >= j}: a reversed associative scan (log p vectorized passes); jnp.cumsum lowers to a
    # reduce-window, O(p^3) on CPU (15.9 vs 10.3 us at p = 62, 37 vs 20 us at p = 100)
    suffix = lax.associative_scan(jnp.add, M, reverse=True, axis=1)
    S = jnp.concatenate([suffix[:, 1:], jnp.zeros_like(suffix[:, :1])], axis=1)   # sum_{i > j}
    return L * d[None, :] + S * a[None, :]
