"""The one Kronecker apply: mode products of a tensor, and Kronecker products of vectors.

Every Kronecker-structured product in sparsestat goes through :func:`mode_product`: the
``Kronecker`` operator (:mod:`.operators`), the factor-wise solves (:mod:`.kron`), the KroSBL E-step
and Kronecker OMP (:mod:`sparsestat.sbl`) and the data generators (:mod:`sparsestat.datasets`).

Layout (C order, ``numpy.kron`` with ``numpy.reshape``): for factors A_1 (m_1 x n_1), ..., A_K
(m_K x n_K) and x of length prod(n_k),

    kron(A_1, ..., A_K) @ x == multi_mode(x.reshape(n_1, ..., n_K), [A_1, ..., A_K]).ravel()

Each function takes the array namespace ``xp``: ``jax.numpy`` (default; traced, jit- and
vmap-able) or ``numpy``. The numpy form is for host paths that must not touch a device and must keep
float64 whatever JAX's x64 flag says: the dataset generators (backend-independent data from
``numpy.random.default_rng``) and ``KroneckerSBL.predict`` (numpy in, numpy out). It is the same code,
not a copy.
"""

from __future__ import annotations

from functools import reduce
from typing import Sequence

import jax
import jax.numpy as jnp

__all__ = ["mode_product", "multi_mode", "kron_matvec", "kron_vectors"]


def mode_product(tensor: jax.Array, matrix: jax.Array, mode: int, *, xp=jnp) -> jax.Array:
    """Multiply ``tensor`` along axis ``mode`` by ``matrix``.

    Parameters
    ----------
    tensor : array (..., n, ...)
        Axis ``mode`` has length n = ``matrix.shape[1]``.
    matrix : array (m, n)
    mode : int
    xp : module
        ``jax.numpy`` (default) or ``numpy`` (host computation, see the module docstring).

    Returns
    -------
    array (..., m, ...)
        out[..., i, ...] = sum_j matrix[i, j] tensor[..., j, ...].
    """
    return xp.moveaxis(xp.tensordot(matrix, tensor, axes=([1], [mode])), 0, mode)


def multi_mode(tensor: jax.Array, mats: Sequence[jax.Array], *, xp=jnp) -> jax.Array:
    """Apply ``mats[k]`` along axis k of ``tensor`` for every k (a Kronecker product applied to a tensor).

    Axes after ``len(mats)`` (e.g. a trailing axis of right-hand sides) are carried along.

    Parameters
    ----------
    tensor : array (n_1, ..., n_K, ...)
    mats : sequence of arrays (m_k, n_k)
    xp : module
        ``jax.numpy`` (default) or ``numpy``.

    Returns
    -------
    array (m_1, ..., m_K, ...)
    """
    t = tensor
    for k, m in enumerate(mats):
        t = mode_product(t, m, k, xp=xp)
    return t


def kron_matvec(factors: Sequence[jax.Array], x: jax.Array, *, xp=jnp) -> jax.Array:
    """kron(A_1, ..., A_K) @ x without forming the product (C order).

    Parameters
    ----------
    factors : sequence of arrays (m_k, n_k)
    x : array (prod n_k,), or (prod n_k, r) for r right-hand sides
    xp : module
        ``jax.numpy`` (default) or ``numpy``.

    Returns
    -------
    array (prod m_k,) or (prod m_k, r)
    """
    in_shape = tuple(int(f.shape[1]) for f in factors)
    extra = tuple(x.shape[1:])
    t = multi_mode(xp.reshape(x, in_shape + extra), factors, xp=xp)
    return xp.reshape(t, (-1,) + extra)


def kron_vectors(vectors: Sequence[jax.Array], *, xp=jnp) -> jax.Array:
    """kron(v_1, ..., v_K) of 1-D arrays, in C order (``numpy.kron`` order).

    Parameters
    ----------
    vectors : non-empty sequence of 1-D arrays
    xp : module
        ``jax.numpy`` (default) or ``numpy``.

    Returns
    -------
    array (prod len(v_k),)
    """
    if len(vectors) == 0:
        raise ValueError("vectors must be a non-empty sequence")
    return reduce(lambda a, b: (a[:, None] * b[None, :]).reshape(-1), [xp.asarray(v) for v in vectors])
