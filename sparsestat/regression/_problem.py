"""Prepared data shared by the solvers: normalised weights, weighted centring for the quadratic
intercept (never materialised: X_c w = Xw - (xbar^T w)), the transposed design the working-set
solvers gather from, and the shape buckets. (What a datafit computes from them lives in datafits.py.)

A :class:`Problem` is a pytree; a batch of problems sharing one X is a Problem whose y, omega, xm, ym
have a leading batch axis (X is passed separately, so it is never copied per problem).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..linalg.host import to_device, to_host_layout
from ..linalg.shapes import ladder, next_pow2
from .sparse_design import SparseDesign, is_sparse, sparse_design


class Problem(NamedTuple):
    """Per-problem arrays. X is kept outside so batches share it.

    y : (n,) targets (quadratic) or labels in {-1, +1} (logistic)
    omega : (n,) normalised sample weights, sum 1
    xm : (p,) weighted column means (zeros without a quadratic intercept)
    ym : () weighted mean of y (zero without a quadratic intercept)
    """

    y: jax.Array
    omega: jax.Array
    xm: jax.Array
    ym: jax.Array


def prepare(X, y, sample_weight, *, center: bool, xm=None) -> Problem:
    """Normalise the weights and (for the quadratic intercept) compute the weighted means. ``xm``: the
    weighted column means when the caller has them (:attr:`Design.col_means` of an unweighted fit), so
    that no pass over X is made here."""
    dtype = X.dtype
    n, p = X.shape
    s = jnp.ones((n,), dtype) if sample_weight is None else jnp.asarray(sample_weight, dtype)
    omega = s / jnp.sum(s)
    if center:
        xm = omega @ X if xm is None else jnp.asarray(xm, dtype)
        ym = jnp.sum(omega * y)
    else:
        xm = jnp.zeros((p,), dtype)
        ym = jnp.zeros((), dtype)
    return Problem(jnp.asarray(y, dtype), omega, xm, ym)


@jax.tree_util.register_pytree_node_class
class Design:
    """The design X (n, p) stored transposed, ``XT`` of shape (p, n), C-contiguous.

    The working-set solvers gather columns of X every round; stored this way a gather is a contiguous
    row copy (0.4 ms for 1024 of 5000 columns at n = 1000, against 5.4 ms on a row-major X). It acts
    as X for the two products the solvers use: ``D @ w`` = X w and ``v @ D`` = X^T v.
    """

    def __init__(self, XT, n=None, p=None, col_means=None):
        self.XT = XT
        self.n = XT.shape[1] if n is None else n  # the data's size; XT may be zero-padded past it
        self.p = XT.shape[0] if p is None else p
        # host float64 (p_pad,): X's column means over its n rows (``design(..., col_means=True)``); not
        # a pytree leaf: inside compiled code a Design is its XT only
        self.col_means = col_means

    @property
    def shape(self):
        return (self.XT.shape[1], self.XT.shape[0])

    @property
    def dtype(self):
        return self.XT.dtype

    def __matmul__(self, w):
        return w @ self.XT

    def __rmatmul__(self, v):
        return self.XT @ v

    def columns(self, idx):
        """X[:, idx].T, shape (len(idx), n); ``idx`` in range (a working set). (The default "fill" mode
        of ``jnp.take`` added a select over the whole (len(idx), n) block for out-of-range indices: a
        second copy, 0.9 ms a round at 2048 x 1000.)"""
        return self.XT.at[idx].get(mode="promise_in_bounds")

    def tree_flatten(self):
        # the data's (n, p) stay on the host: as static aux data they would key the compiled programs
        # on the exact shape and defeat the buckets (inside a program only the padded shape exists)
        return (self.XT,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(children[0])


SMALL = 2 ** 16  # n p at or below which both axes are padded to powers of two
LARGE = 2 ** 22  # n p above which only p is rounded up (to the CD block): the padding's arithmetic (up to
#                  12.5 % an axis) costs more there than a compilation amortised over seconds-long fits


def padded_shape(n: int, p: int) -> tuple[int, int]:
    """(n, p) rounded up to the shape buckets that compiled programs are built for: powers of two for
    small problems (n p <= 2^16: many small fits share executables), the :func:`~sparsestat.linalg.shapes.ladder` up to n p = 2^22
    (an n that lands on a power of two >= 256 gets 8 more rows: a power-of-two stride is slow to gather),
    and beyond that p only to a multiple of 8 (the CD block): at 1000 x 5000 the ladder's 1032 x 5120
    cost 5-8 % per fit.
    Padding is exact: padded rows get weight 0, padded columns are zero and never enter a support."""
    if n * p <= SMALL:
        return next_pow2(n, lo=8), next_pow2(p, lo=8)
    if n * p > LARGE:
        return n, -(-p // 8) * 8
    n_pad = ladder(n)
    if n_pad >= 256 and n_pad & (n_pad - 1) == 0:
        # X is stored transposed, rows of n_pad numbers: a power-of-two row stride (8 KiB at 1024) maps
        # the rows a working-set gather reads onto the same cache sets (1000 x 5000 Lasso: 49 ms at
        # n_pad = 1024 against 44-45 ms at 1000 or 1032)
        n_pad += 8
    return n_pad, ladder(p)


def is_design(X) -> bool:
    """True for a prepared design (dense :class:`Design` or :class:`SparseDesign`)."""
    return isinstance(X, (Design, SparseDesign))


def column_block(X, idx):
    """X[:, idx].T, shape (len(idx), n), for a dense array or a prepared design."""
    return X.columns(idx) if is_design(X) else jnp.take(X, idx, axis=1).T


def design(X, *, pad_small: bool = True, dtype=None, on_host: bool = False,
           col_means: bool = False) -> Design | SparseDesign:
    """Move X (numpy or jax, (n, p)) to the device once, transposed, as the working-set solvers want it,
    zero-padded to :func:`padded_shape` (``pad_small=False``: only to a multiple of 8 features, the CD
    block), so that datasets of similar size reuse compiled programs. A scipy.sparse X becomes a
    :class:`~sparsestat.regression.sparse_design.SparseDesign` (its nonzeros only, never densified).
    ``on_host=True`` (a dense numpy X used by one compiled call) keeps the transposed copy on the host:
    it goes to the device with that call. ``col_means=True`` (dense numpy X) also stores X's column
    means (float64, zero-padded) as ``col_means``: the native transpose sums the columns as it copies
    them, so an unweighted fit with an intercept needs no pass over X for them (5000 x 20000: 21 ms,
    8-10 % of an alpha_max / 5 fit)."""
    n, p = X.shape
    if pad_small:
        n_pad, p_pad = padded_shape(n, p)
    else:
        n_pad, p_pad = n, -(-p // 8) * 8
    if is_sparse(X):
        return sparse_design(X, shape=(n_pad, p_pad), dtype=dtype)
    if isinstance(X, jax.Array):
        return Design(to_device(X, dtype=dtype, transpose=True, shape=(p_pad, n_pad)), n, p)
    sums = np.zeros(p_pad) if col_means else None
    host = to_host_layout(X, dtype=dtype, transpose=True, shape=(p_pad, n_pad),
                          col_sums=None if sums is None else sums[:p])
    means = None if sums is None else sums / n
    return Design(host if on_host else jax.device_put(host), n, p, col_means=means)
