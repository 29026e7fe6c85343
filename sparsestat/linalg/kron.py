"""Kronecker helpers: vec/unvec, nearest Kronecker (rank-one) approximation, and solves with
Kronecker-structured matrices through factor eigendecompositions. Kronecker products of vectors
(``kron_vectors``) and the Kronecker apply itself live in :mod:`.modes`.

Layout: C order by default (``numpy.kron`` and ``numpy.reshape``); pass ``order="F"`` for the
column-major layout of MATLAB, where ``kron(A, B) @ vec(X) == vec(B @ X @ A.T)``.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import check_square
from .modes import kron_vectors
from .operators import Kronecker
from .ordering import eigh_each

__all__ = [
    "vec",
    "unvec",
    "nearest_kronecker",
    "KronEigh",
    "kron_eigh",
    "kron_eigh_solve",
    "kron_shifted_solve",
    "kron_solve",
]


def vec(X: jax.Array, order: str = "C") -> jax.Array:
    """Stack the entries of ``X`` into a vector (C order: rows first; F order: columns first)."""
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', got {order!r}")
    X = jnp.asarray(X)
    return jnp.ravel(X) if order == "C" else jnp.ravel(jnp.transpose(X))


def unvec(x: jax.Array, shape: Sequence[int], order: str = "C") -> jax.Array:
    """Inverse of :func:`vec`: reshape a vector to ``shape``."""
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', got {order!r}")
    shape = tuple(int(s) for s in shape)
    x = jnp.asarray(x)
    if int(np.prod(shape)) != x.shape[-1] or x.ndim != 1:
        raise ValueError(f"x of shape {x.shape} cannot be unvec'd to shape {shape}")
    if order == "C":
        return jnp.reshape(x, shape)
    return jnp.transpose(jnp.reshape(x, shape[::-1]))


def _normalise_phase(u: jax.Array, r: jax.Array):
    """Make the largest-modulus entry of ``u`` real positive; move the phase onto ``r``."""
    i = jnp.argmax(jnp.abs(u))
    ph = u[i] / jnp.maximum(jnp.abs(u[i]), jnp.finfo(jnp.abs(u).dtype).tiny)
    ph = jnp.where(jnp.abs(u[i]) > 0, ph, jnp.ones_like(ph))
    return u * jnp.conj(ph), r * ph


def _leading_left(M: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Leading singular triplet (s, u, v^H row) of a matrix."""
    U, S, Vh = jnp.linalg.svd(M, full_matrices=False)
    return S[0], U[:, 0], Vh[0]


def nearest_kronecker(x: jax.Array, sizes: Sequence[int], *, method: str = "sequential",
                      n_iter: int = 0) -> tuple[jax.Array, ...]:
    """Vectors (u_1, ..., u_K) with kron(u_1, ..., u_K) close to ``x`` in the Euclidean norm.

    ``x`` has prod(sizes) entries (a vector or a tensor of shape ``sizes``), real or complex.

    method="sequential"
        Unfold to n_1 x (rest), keep the leading singular triplet (s, u, v): u_1 = u; reshape s v^H to
        n_2 x (rest) and repeat; the last factor carries the scale. For K = 2 this is the
        Eckart-Young best rank-one fit (the SVD-KroSBL M-step).
    method="hosvd"
        u_k = leading left singular vector of the mode-k unfolding; the scale (contraction of x with
        all u_k) goes on the last factor; ``n_iter`` higher-order power (HOOI) sweeps refine it.

    Every factor but the last is unit-norm with its largest-modulus entry real and positive.
    """
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) == 0 or any(s < 1 for s in sizes):
        raise ValueError(f"sizes must be a non-empty sequence of positive integers, got {sizes}")
    x = jnp.asarray(x)
    if x.size != int(np.prod(sizes)):
        raise ValueError(f"x has {x.size} entries but sizes {sizes} need {int(np.prod(sizes))}")
    if method not in ("sequential", "hosvd"):
        raise ValueError(f"method must be 'sequential' or 'hosvd', got {method!r}")
    K = len(sizes)
    if K == 1:
        return (jnp.reshape(x, (-1,)),)
    if method == "sequential":
        factors = []
        rest = jnp.reshape(x, (-1,))
        for k in range(K - 1):
            M = jnp.reshape(rest, (sizes[k], -1))
            s, u, vh = _leading_left(M)
            u, vh = _normalise_phase(u, vh)
            factors.append(u)
            rest = s * vh
        factors.append(rest)
        return tuple(factors)
    T = jnp.reshape(x, sizes)
    us = []
    for k in range(K):
        unf = jnp.reshape(jnp.moveaxis(T, k, 0), (sizes[k], -1))
        _, u, _ = _leading_left(unf)
        us.append(u)

    def contract_except(us, skip):
        t = T
        for j in range(K - 1, -1, -1):  # contract from the back so axis indices stay valid
            if j == skip:
                continue
            t = jnp.tensordot(t, jnp.conj(us[j]), axes=([j], [0]))
        return t

    for _ in range(int(n_iter)):
        for k in range(K):
            v = contract_except(us, k)
            us[k] = v / jnp.maximum(jnp.linalg.norm(v), jnp.finfo(jnp.abs(v).dtype).tiny)
    scale = contract_except(us, K - 1) @ jnp.conj(us[K - 1])
    out = []
    carry = jnp.ones((), dtype=jnp.result_type(T.dtype, us[0].dtype))
    for k in range(K - 1):
        u, c = _normalise_phase(us[k], carry)
        out.append(u)
        carry = c
    out.append(us[K - 1] * scale * carry)
    return tuple(out)


class KronEigh(NamedTuple):
    """Eigendecompositions A_k = Q_k diag(w_k) Q_k^H of Hermitian factors."""

    eigenvalues: tuple
    eigenvectors: tuple

    def kron_eigenvalues(self) -> jax.Array:
        """The eigenvalues of kron(A_1, ..., A_K), in the order of kron(Q_1, ..., Q_K)'s columns."""
        return kron_vectors(self.eigenvalues)


def kron_eigh(factors: Sequence[jax.Array]) -> KronEigh:
    """Factor-wise ``eigh`` of Hermitian factors (cost sum n_k^3 instead of (prod n_k)^3)."""
    if len(factors) == 0:
        raise ValueError("factors must be a non-empty sequence of square matrices")
    for i, f in enumerate(factors):
        check_square(f, f"factors[{i}]")
    # in turn, not concurrently: see linalg.ordering (batched LAPACK calls can deadlock XLA:CPU's pool)
    pairs = eigh_each(list(factors))
    return KronEigh(tuple(w for w, _ in pairs), tuple(q for _, q in pairs))


def kron_eigh_solve(eig: KronEigh, b: jax.Array, shift=0.0, diag_scale=None) -> jax.Array:
    """Solve (kron(A_1..A_K) + shift I) x = b given :func:`kron_eigh` of the factors.

    With ``diag_scale`` = d (a vector in the eigenbasis, e.g. from a Kronecker-structured prior),
    solves Q (diag(w) + shift) Q^H x = b where the spectrum is ``kron(w) * d``. ``b`` may have a
    trailing axis of right-hand sides.
    """
    Q = Kronecker(eig.eigenvectors)
    if jnp.shape(b)[:1] != (Q.shape[1],):
        raise ValueError(f"b must have {Q.shape[1]} rows (the product of the factor sizes), got shape {jnp.shape(b)}")
    lam = eig.kron_eigenvalues()
    if diag_scale is not None:
        lam = lam * diag_scale
    denom = lam + shift
    if b.ndim == 1:
        return Q.matvec(Q.rmatvec(b) / denom)
    return Q.matmat(Q.rmatmat(b) / denom[:, None])


def kron_shifted_solve(factors: Sequence[jax.Array], b: jax.Array, shift=0.0) -> jax.Array:
    """Solve (kron(A_1, ..., A_K) + shift I) x = b for Hermitian factors, never forming the product."""
    return kron_eigh_solve(kron_eigh(factors), b, shift)


def kron_solve(factors: Sequence[jax.Array], b: jax.Array) -> jax.Array:
    """Solve kron(A_1, ..., A_K) x = b for square nonsingular factors by mode-wise LU solves."""
    shapes = tuple(int(f.shape[0]) for f in factors)
    for i, f in enumerate(factors):
        if f.ndim != 2 or f.shape[0] != f.shape[1]:
            raise ValueError(f"factors[{i}] must be square, got shape {f.shape}")
    if b.shape[:1] != (int(np.prod(shapes)),):
        raise ValueError(f"b must have {int(np.prod(shapes))} rows (the product of the factor sizes), got shape {b.shape}")
    extra = b.shape[1:]
    t = jnp.reshape(b, shapes + extra)
    for k, f in enumerate(factors):
        moved = jnp.moveaxis(t, k, 0)
        sh = moved.shape
        sol = jnp.linalg.solve(f, jnp.reshape(moved, (sh[0], -1)))
        t = jnp.moveaxis(jnp.reshape(sol, sh), 0, k)
    return jnp.reshape(t, b.shape)
