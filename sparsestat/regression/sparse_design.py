"""A sparse design matrix for the solvers: scipy.sparse CSR/CSC input, never densified whole.

:class:`SparseDesign` stores X's nonzeros in column order (CSC): values, row indices and column
indices, zero-padded to a bucket of the shape ladder so that datasets of similar size and density
share compiled programs. It acts as X for the three operations every solver uses - ``D @ w`` = X w,
``v @ D`` = X^T v (O(nnz) each) and ``D.columns(idx)``, the working set's columns as a dense
(len(idx), n) block - so the working-set solvers run on it unchanged: the full gradient and the
certificates cost O(nnz), and the inner coordinate descent runs on the working set's dense block
(B n numbers, formed once per round). Centring for the intercept stays implicit (X_c w = X w - xm.w),
as with a dense X.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp

from ..linalg.host import to_device
from ..linalg.shapes import ladder, next_pow2

__all__ = ["SparseDesign", "sparse_design", "is_sparse", "as_csc"]


def is_sparse(X) -> bool:
    """True for a scipy.sparse matrix or array (any format)."""
    return sp.issparse(X)


def as_csc(X, dtype=np.float64, name: str = "X"):
    """A canonical CSC copy of a scipy.sparse X (any format is converted; duplicates summed, indices
    sorted), checked: 2-D, finite values. Raises ValueError naming ``name`` otherwise."""
    if not sp.issparse(X):
        raise TypeError(f"{name} must be a scipy.sparse matrix or array, got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    C = sp.csc_matrix(X, dtype=dtype, copy=True)
    C.sum_duplicates()
    C.sort_indices()
    if not np.all(np.isfinite(C.data)):
        raise ValueError(f"{name} contains NaN or infinity")
    return C


@jax.tree_util.register_pytree_node_class
class SparseDesign:
    """X (n, p) sparse: nonzeros in CSC order, padded to ``nnz_pad`` entries (value 0, row 0, last
    column), plus each column's first position and count. ``shape`` is the padded (n_pad, p_pad) the
    compiled programs see (padded rows carry weight 0, padded columns are empty); ``width`` is a
    power of two >= the largest column count (the static bound of a column gather)."""

    def __init__(self, data, rows, cols, start, count, shape, width: int, n=None, p=None):
        self.data, self.rows, self.cols, self.start, self.count = data, rows, cols, start, count
        self._shape = tuple(shape)
        self.width = int(width)
        self.n = self._shape[0] if n is None else n
        self.p = self._shape[1] if p is None else p

    @property
    def shape(self):
        return self._shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def nnz(self):
        """Stored entries, padding included (the static length of the nonzero arrays)."""
        return self.data.shape[0]

    def __matmul__(self, w):
        """X w, (n_pad,): a scatter-add of the nonzeros' contributions into their rows."""
        return jnp.zeros((self._shape[0],), jnp.result_type(self.data, w)).at[self.rows].add(
            self.data * w[self.cols])

    def __rmatmul__(self, v):
        """X^T v, (p_pad,): a sorted segment sum over the columns."""
        return jax.ops.segment_sum(self.data * v[self.rows], self.cols, num_segments=self._shape[1],
                                   indices_are_sorted=True)

    def ell_columns(self, idx):
        """The columns ``idx`` in padded form: row indices and values, each (len(idx), width), the
        entries past a column's count set to row 0 and value 0 (len(idx) x width numbers gathered
        through the columns' CSC ranges)."""
        k = jnp.arange(self.width)
        pos = self.start[idx][:, None] + k[None, :]
        ok = k[None, :] < self.count[idx][:, None]
        pos = jnp.where(ok, pos, 0)
        return jnp.where(ok, self.rows[pos], 0), jnp.where(ok, self.data[pos], 0.0)

    def columns(self, idx):
        """X[:, idx].T as a dense (len(idx), n_pad) block (idx distinct). Each column's nonzeros are
        gathered through its CSC range (:meth:`ell_columns`) when that is fewer than the nonzeros,
        otherwise every nonzero is routed to its slot (one pass over nnz)."""
        B = idx.shape[0]
        n_pad = self._shape[0]
        if B * self.width <= self.nnz:
            rows, vals = self.ell_columns(idx)
            return jnp.zeros((B, n_pad), self.dtype).at[jnp.arange(B)[:, None], rows].add(vals)
        slot = jnp.full((self._shape[1],), B, jnp.int32).at[idx].set(jnp.arange(B, dtype=jnp.int32))
        out = jnp.zeros((B + 1, n_pad), self.dtype).at[slot[self.cols], self.rows].add(self.data)
        return out[:B]

    def todense(self):
        """X as a dense (n_pad, p_pad) array (tests and small fallbacks only)."""
        return jnp.zeros(self._shape, self.dtype).at[self.rows, self.cols].add(self.data)

    def tree_flatten(self):
        # the padded shape and the gather width key the compiled programs; (n, p) stay on the host
        return (self.data, self.rows, self.cols, self.start, self.count), (self._shape, self.width)

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children, aux[0], aux[1])


def sparse_design(X, *, shape=None, dtype=None) -> SparseDesign:
    """Move a scipy.sparse X (n, p) to the device as a :class:`SparseDesign`: CSC order, nonzeros
    padded to the shape ladder, padded to ``shape`` = (n_pad, p_pad) (default: p to a multiple of 8,
    the CD block). Checks as :func:`as_csc`."""
    dt = jax.dtypes.canonicalize_dtype(np.float64 if dtype is None else dtype)
    C = as_csc(X, dtype=np.float64)
    n, p = C.shape
    n_pad, p_pad = (n, -(-p // 8) * 8) if shape is None else shape
    nnz = C.nnz
    nnz_pad = max(ladder(max(nnz, 1)), 8)
    data = np.zeros(nnz_pad, dt)
    data[:nnz] = C.data
    rows = np.zeros(nnz_pad, np.int32)
    rows[:nnz] = C.indices
    cols = np.full(nnz_pad, p_pad - 1, np.int32)  # padding sits at the end of the last column: still sorted
    counts = np.diff(C.indptr).astype(np.int32)
    cols[:nnz] = np.repeat(np.arange(p, dtype=np.int32), counts)
    start = np.zeros(p_pad, np.int32)
    start[:p] = C.indptr[:-1]
    count = np.zeros(p_pad, np.int32)
    count[:p] = counts
    width = next_pow2(int(counts.max()) if p else 1, lo=1, cap=max(n_pad, 1))
    leaves = [to_device(a) for a in (data, rows, cols, start, count)]
    return SparseDesign(*leaves, (n_pad, p_pad), width, n, p)
