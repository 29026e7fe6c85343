"""Boundary checks shared by the kernels: positions, means, covariances and scalar options."""

from __future__ import annotations

import numbers
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

__all__ = ["flatten_position", "MeanCov", "check_nu", "check_max_shrinks", "is_concrete"]


def is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def flatten_position(position, name: str = "position"):
    """(flat vector, unravel) of a pytree position; TypeError for integer/boolean leaves, ValueError if
    empty."""
    leaves = jax.tree_util.tree_leaves(position)
    if not leaves:
        raise ValueError(f"{name} is empty (no array leaves)")
    for leaf in leaves:
        dt = jnp.result_type(leaf)
        if not jnp.issubdtype(dt, jnp.floating):
            raise TypeError(f"{name} leaves must be floating-point arrays; got dtype {dt}")
    flat, unravel = ravel_pytree(position)
    if flat.size == 0:
        raise ValueError(f"{name} is empty (size 0)")
    return flat, unravel


def check_nu(nu) -> float:
    if isinstance(nu, bool) or not isinstance(nu, numbers.Real) or not np.isfinite(nu) or nu <= 0:
        raise ValueError(f"nu must be a finite number > 0; got {nu!r}")
    return float(nu)


def check_max_shrinks(max_shrinks) -> int:
    if isinstance(max_shrinks, bool) or not isinstance(max_shrinks, numbers.Integral) or max_shrinks < 1:
        raise ValueError(f"max_shrinks must be an integer >= 1; got {max_shrinks!r}")
    return int(max_shrinks)


class MeanCov:
    """A validated (mean, cov) pair, resolved to (mean vector, scale factor) once P is known.

    ``mean``: scalar or (P,). ``cov``: scalar > 0 (multiple of I), (P,) positive variances (diagonal) or
    (P, P) symmetric positive definite (dense; factorised once, here). ``dense=True`` always returns a
    2-D factor (the adaptive sampler needs one).
    """

    def __init__(self, mean, cov, *, mean_name="mean", cov_name="cov"):
        self.mean_name, self.cov_name = mean_name, cov_name
        self.concrete = is_concrete(mean) and is_concrete(cov)
        if not self.concrete:
            self.mean, self.cov = jnp.asarray(mean), jnp.asarray(cov)
            self._chol = None
            self.size = None
            return
        m = np.asarray(mean, dtype=np.float64)
        c = np.asarray(cov, dtype=np.float64)
        if m.ndim > 1:
            raise ValueError(f"{mean_name} must be a scalar or a 1-D vector; got shape {m.shape}")
        if not np.all(np.isfinite(m)):
            raise ValueError(f"{mean_name} must be finite")
        if c.ndim == 0:
            if not (np.isfinite(c) and c > 0):
                raise ValueError(f"{cov_name} as a scalar must be finite and > 0; got {float(c)!r}")
            chol = np.sqrt(c)
        elif c.ndim == 1:
            if not np.all(np.isfinite(c)) or np.any(c <= 0):
                raise ValueError(f"{cov_name} as a vector (diagonal variances) must have finite entries > 0")
            chol = np.sqrt(c)
        elif c.ndim == 2:
            if c.shape[0] != c.shape[1]:
                raise ValueError(f"{cov_name} must be a square (P, P) matrix; got shape {c.shape}")
            scale = max(np.max(np.abs(c)), np.finfo(np.float64).tiny)
            if np.max(np.abs(c - c.T)) > 1e-10 * scale:
                raise ValueError(f"{cov_name} must be symmetric (relative tolerance 1e-10)")
            try:
                chol = np.linalg.cholesky(0.5 * (c + c.T))
            except np.linalg.LinAlgError:
                chol = np.full_like(c, np.nan)
            if not np.all(np.isfinite(chol)):
                raise ValueError(f"{cov_name} must be positive definite (its Cholesky factorisation failed)")
        else:
            raise ValueError(f"{cov_name} must be a scalar, a vector or a matrix; got {c.ndim} dims")
        sizes = {s for s in (m.shape[0] if m.ndim == 1 else None, c.shape[0] if c.ndim >= 1 else None)
                 if s is not None}
        if len(sizes) > 1:
            raise ValueError(f"{mean_name} (size {m.shape}) and {cov_name} (shape {c.shape}) disagree on P")
        self.size = sizes.pop() if sizes else None
        self.mean, self.cov, self._chol = m, c, chol

    def check_dim(self, p: int):
        if self.size is not None and self.size != p:
            raise ValueError(f"{self.mean_name}/{self.cov_name} have dimension {self.size} but the position "
                             f"has {p} entries")

    def resolve(self, p: int, dtype, *, dense: bool = False):
        """(mean (P,), scale factor (P,) diagonal or (P, P) lower) in ``dtype``."""
        self.check_dim(p)
        if not self.concrete:
            mean = jnp.broadcast_to(self.mean, (p,)).astype(dtype)
            c = self.cov
            if c.ndim == 2:
                chol = jnp.linalg.cholesky(c).astype(dtype)
            else:
                chol = jnp.broadcast_to(jnp.sqrt(c), (p,)).astype(dtype)
                if dense:
                    chol = jnp.diag(chol)
            return mean, chol
        mean = np.broadcast_to(self.mean, (p,))
        chol = self._chol
        if np.ndim(chol) < 2:
            chol = np.broadcast_to(chol, (p,))
            if dense:
                chol = np.diag(chol)
        return jnp.asarray(mean, dtype=dtype), jnp.asarray(chol, dtype=dtype)


def check_finite_start(logdensity, name="log density", chain=None):
    """ValueError when the log density at a (concrete) starting point is not finite."""
    ld = np.asarray(logdensity)
    if ld.ndim == 0:
        ld = ld[None]
    bad = np.flatnonzero(~np.isfinite(ld))
    if bad.size:
        where = f" (chain {int(bad[0])})" if ld.size > 1 or chain is not None else ""
        raise ValueError(f"the {name} at the initial position is not finite{where}: {ld[bad[0]]!r}; "
                         "start inside the support")


def warn_float32(p: int, dtype, stacklevel: int = 3):
    if p >= 50 and jnp.dtype(dtype) == jnp.float32:
        warnings.warn(f"float32 positions with P = {p} >= 50: Mahalanobis distances and rank-one updates "
                      "lose accuracy; use float64 (sparsestat.enable_x64())", UserWarning, stacklevel=stacklevel)
