"""Boundary checks for linalg functions that stay valid under jit.

Shapes are static, so shape checks always run. Value checks (signs of thresholds, radii, k) run only
when the value is concrete (a Python or numpy number, or a JAX array outside a trace); under ``jit``
or ``vmap`` the caller is responsible for valid values.
"""

from __future__ import annotations

import jax
import numpy as np


def is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def _value(x):
    try:
        return np.asarray(x)
    except Exception:  # pragma: no cover
        return None


def check_square(A, name: str) -> None:
    shape = getattr(A, "shape", None)
    if shape is None or len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"{name} must be a square 2-D matrix, got shape {shape}")


def check_matrix(A, name: str) -> None:
    shape = getattr(A, "shape", None)
    if shape is None or len(shape) != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {shape}")


def as_numeric(x, name: str):
    """``x`` itself if it is a JAX array (or tracer); otherwise a numeric numpy array, or a TypeError
    naming ``name`` (JAX's own message for strings or objects does not)."""
    if isinstance(x, jax.Array):
        return x
    v = _value(x)
    if v is None or v.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}"
                        + (f" of dtype {v.dtype}" if v is not None else ""))
    return v


def check_nonneg_value(x, name: str, *, strict: bool = False) -> None:
    if not is_concrete(x):
        return
    v = _value(x)
    if v is None or v.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a number, got {x!r}")
    bad = np.any(v <= 0) if strict else np.any(v < 0)
    if bad or np.any(np.isnan(v)):
        raise ValueError(f"{name} must be {'> 0' if strict else '>= 0'}, got {v if v.ndim == 0 else 'an array with violations'}")


def check_greater(x, name: str, bound: float) -> None:
    if not is_concrete(x):
        return
    v = _value(x)
    if v is not None and v.dtype.kind in "biuf" and (np.any(v <= bound) or np.any(np.isnan(v))):
        raise ValueError(f"{name} must be > {bound}, got {v if v.ndim == 0 else 'an array with violations'}")


def check_k(k, size: int, name: str = "k") -> None:
    if not is_concrete(k):
        return
    v = _value(k)
    if v is None:
        return
    if v.ndim != 0 or v.dtype.kind not in "iu" and not (v.dtype.kind == "f" and float(v).is_integer()):
        raise ValueError(f"{name} must be an integer, got {k!r}")
    if not 0 <= int(v) <= size:
        raise ValueError(f"{name} must be between 0 and the size of the last axis ({size}), got {int(v)}")
