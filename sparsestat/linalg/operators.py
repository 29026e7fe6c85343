"""Linear operators as matvec/rmatvec views (pytrees, jit- and vmap-able).

Every operator has ``shape``, ``dtype``, ``matvec(x)`` (A x), ``rmatvec(y)`` (A^H y, the conjugate
transpose), ``matmat``/``rmatmat`` (the same on the columns of a matrix), ``gram_diag()``
(diag(A^H A), the squared column norms) and ``todense()``. ``Kronecker`` never forms the product:
it applies its factors by the mode products of :mod:`.modes`.

Layout convention (C order, the same as ``numpy.kron`` with ``numpy.reshape``): for factors
A_1 (m_1 x n_1), ..., A_K (m_K x n_K),

    kron(A_1, ..., A_K) @ x  ==  (A_1 x_1 A_2 x_2 ... A_K applied mode-wise to x.reshape(n_1, ..., n_K)).ravel()

so for two factors ``kron(A, B) @ X.ravel() == (A @ X @ B.T).ravel()``.
"""

from __future__ import annotations

from functools import reduce
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .modes import kron_matvec, kron_vectors

__all__ = ["LinearOperator", "Dense", "Kronecker", "ColumnScaled", "aslinearoperator"]


class LinearOperator:
    """Base class: subclasses define ``shape``, ``dtype``, ``matvec``, ``rmatvec``, ``gram_diag``, ``todense``.

    A subclass registered as a pytree (``jax.tree_util.register_pytree_node_class``) names its
    array (or operator) attributes in ``_children``; flattening and unflattening follow from it.
    """

    shape: tuple[int, int]
    _children: tuple[str, ...] = ()

    def tree_flatten(self):
        return tuple(getattr(self, name) for name in self._children), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        for name, child in zip(cls._children, children):
            setattr(obj, name, child)
        return obj

    def matmat(self, X: jax.Array) -> jax.Array:
        """A @ X for a matrix X of shape (n, k)."""
        return jax.vmap(self.matvec, in_axes=1, out_axes=1)(X)

    def rmatmat(self, Y: jax.Array) -> jax.Array:
        """A^H @ Y for a matrix Y of shape (m, k)."""
        return jax.vmap(self.rmatvec, in_axes=1, out_axes=1)(Y)

    def __matmul__(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        return self.matvec(x) if x.ndim == 1 else self.matmat(x)

    @property
    def H(self) -> "LinearOperator":
        """The adjoint (conjugate transpose) as an operator."""
        return _Adjoint(self)

    def adjoint(self) -> "LinearOperator":
        return self.H

    @property
    def ndim(self) -> int:
        return 2


@jax.tree_util.register_pytree_node_class
class Dense(LinearOperator):
    """A dense matrix seen as an operator."""

    _children = ("matrix",)

    def __init__(self, matrix: jax.Array):
        self.matrix = matrix

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.matrix.shape)

    @property
    def dtype(self):
        return self.matrix.dtype

    def matvec(self, x):
        return self.matrix @ x

    def rmatvec(self, y):
        return jnp.conj(self.matrix).T @ y

    def matmat(self, X):
        return self.matrix @ X

    def rmatmat(self, Y):
        return jnp.conj(self.matrix).T @ Y

    def gram_diag(self):
        return jnp.sum(jnp.abs(self.matrix) ** 2, axis=0)

    def todense(self):
        return self.matrix

    def __repr__(self):
        return f"Dense(shape={self.shape}, dtype={self.dtype})"


@jax.tree_util.register_pytree_node_class
class Kronecker(LinearOperator):
    """kron(A_1, ..., A_K) for any number K >= 1 of factors, real or complex, never materialised.

    ``matvec`` costs sum_k (prod of the other sizes) * m_k * n_k operations instead of
    prod(m_k) * prod(n_k); the memory is that of the factors.
    """

    def __init__(self, factors: Sequence[jax.Array]):
        self.factors = tuple(factors)

    @classmethod
    def from_factors(cls, factors: Sequence) -> "Kronecker":
        """Validate and build: each factor must be a finite 2-D array."""
        from .._validation import check_array_arg

        if isinstance(factors, Kronecker):
            return factors
        if not isinstance(factors, (list, tuple)) or len(factors) == 0:
            raise ValueError("factors must be a non-empty list of 2-D arrays")
        checked = []
        for i, f in enumerate(factors):
            if isinstance(f, (jax.Array,)):
                if f.ndim != 2 or f.size == 0:
                    raise ValueError(f"factors[{i}] must be a non-empty 2-D array, got shape {f.shape}")
                checked.append(f)
            else:
                checked.append(jnp.asarray(check_array_arg(f, f"factors[{i}]", ndim=2, allow_complex=True)))
        return cls(checked)

    @property
    def in_shape(self) -> tuple[int, ...]:
        """Tensor shape (n_1, ..., n_K) of the input."""
        return tuple(int(f.shape[1]) for f in self.factors)

    @property
    def out_shape(self) -> tuple[int, ...]:
        """Tensor shape (m_1, ..., m_K) of the output."""
        return tuple(int(f.shape[0]) for f in self.factors)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(np.prod(self.out_shape)), int(np.prod(self.in_shape)))

    @property
    def dtype(self):
        return jnp.result_type(*self.factors)

    def _check_in(self, x, name, n):
        if x.shape[:1] != (n,):
            raise ValueError(f"{name} must have {n} rows to match the operator of shape {self.shape}, got shape {x.shape}")

    def _apply(self, mats, v, name, n):
        self._check_in(v, name, n)
        return kron_matvec(mats, v)

    def _adjoint_factors(self):
        return [jnp.conj(f).T for f in self.factors]

    def matvec(self, x):
        return self._apply(self.factors, x, "x", self.shape[1])

    def rmatvec(self, y):
        return self._apply(self._adjoint_factors(), y, "y", self.shape[0])

    def matmat(self, X):
        return self._apply(self.factors, X, "X", self.shape[1])

    def rmatmat(self, Y):
        return self._apply(self._adjoint_factors(), Y, "Y", self.shape[0])

    def gram_diag(self):
        return kron_vectors([jnp.sum(jnp.abs(f) ** 2, axis=0) for f in self.factors])

    def gram_factors(self) -> tuple[jax.Array, ...]:
        """Factors of A^H A = kron(A_1^H A_1, ..., A_K^H A_K)."""
        return tuple(jnp.conj(f).T @ f for f in self.factors)

    def todense(self):
        return reduce(jnp.kron, self.factors)

    def tree_flatten(self):
        return self.factors, None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(children)

    def __repr__(self):
        shapes = " x ".join(f"{f.shape[0]}x{f.shape[1]}" for f in self.factors)
        return f"Kronecker({shapes}, shape={self.shape})"


@jax.tree_util.register_pytree_node_class
class ColumnScaled(LinearOperator):
    """A @ diag(scale): column j of ``op`` multiplied by ``scale[j]`` (standardisation, preconditioning)."""

    _children = ("op", "scale")

    def __init__(self, op, scale: jax.Array):
        self.op = aslinearoperator(op)
        self.scale = scale

    @property
    def shape(self):
        return self.op.shape

    @property
    def dtype(self):
        return jnp.result_type(self.op.dtype, self.scale.dtype)

    def matvec(self, x):
        return self.op.matvec(self.scale * x)

    def rmatvec(self, y):
        return jnp.conj(self.scale) * self.op.rmatvec(y)

    def matmat(self, X):
        return self.op.matmat(self.scale[:, None] * X)

    def rmatmat(self, Y):
        return jnp.conj(self.scale)[:, None] * self.op.rmatmat(Y)

    def gram_diag(self):
        return jnp.abs(self.scale) ** 2 * self.op.gram_diag()

    def todense(self):
        return self.op.todense() * self.scale[None, :]

    def __repr__(self):
        return f"ColumnScaled({self.op!r})"


@jax.tree_util.register_pytree_node_class
class _Adjoint(LinearOperator):
    _children = ("op",)

    def __init__(self, op):
        self.op = op

    @property
    def shape(self):
        return (self.op.shape[1], self.op.shape[0])

    @property
    def dtype(self):
        return self.op.dtype

    def matvec(self, x):
        return self.op.rmatvec(x)

    def rmatvec(self, y):
        return self.op.matvec(y)

    def matmat(self, X):
        return self.op.rmatmat(X)

    def rmatmat(self, Y):
        return self.op.matmat(Y)

    def gram_diag(self):
        # diag(A A^H): squared row norms; computed by probing is O(m * cost), so only dense is allowed
        return jnp.sum(jnp.abs(self.op.todense()) ** 2, axis=1)

    def todense(self):
        return jnp.conj(self.op.todense()).T

    @property
    def H(self):
        return self.op


def aslinearoperator(A) -> LinearOperator:
    """Return ``A`` if it is an operator, a ``Kronecker`` for a list/tuple of factors, else ``Dense(A)``."""
    if isinstance(A, LinearOperator):
        return A
    if isinstance(A, (list, tuple)):
        return Kronecker.from_factors(A)
    A = jnp.asarray(A)
    if A.ndim != 2:
        raise ValueError(f"A must be a 2-D array or a linear operator, got shape {A.shape}")
    return Dense(A)
