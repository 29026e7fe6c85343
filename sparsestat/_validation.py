"""Input validation shared by every public function and estimator.

All checks raise early with a message that names the argument and the expected form. Estimators
use :func:`validate_estimator_data` (a wrapper of scikit-learn's ``validate_data`` that also sets
``n_features_in_``), public array functions use :func:`check_array_arg` and the scalar checks.
"""

from __future__ import annotations

import numbers
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = [
    "store_params",
    "check_array_arg",
    "check_finite",
    "check_scalar_arg",
    "check_positive",
    "check_nonnegative",
    "check_in_interval",
    "check_probability",
    "check_int",
    "check_choice",
    "check_same_length",
    "check_random_state",
    "as_prng_key",
    "check_prng_key",
    "check_weights",
    "validate_data_named",
    "validate_estimator_data",
]


def _is_array_like(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype") or isinstance(x, (list, tuple))


def check_finite(x: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if ``x`` contains NaN or infinity."""
    if x.size and not np.all(np.isfinite(x)):
        bad = "NaN" if np.any(np.isnan(x)) else "infinity"
        raise ValueError(f"{name} contains {bad}; all values must be finite")


def check_array_arg(x: Any, name: str, *, ndim: int | Sequence[int] | None = None,
                    shape: Sequence[int | None] | None = None, allow_complex: bool = False,
                    allow_empty: bool = False, finite: bool = True,
                    dtype: Any = None) -> np.ndarray:
    """Convert ``x`` to a numeric numpy array and check it.

    Parameters
    ----------
    x : array-like
        The value to check (numpy, JAX or nested lists).
    name : str
        Argument name used in error messages.
    ndim : int or sequence of int, optional
        Allowed numbers of dimensions.
    shape : sequence of int or None, optional
        Expected shape; ``None`` entries match any size.
    allow_complex : bool
        Whether complex values are accepted.
    allow_empty : bool
        Whether arrays with a zero-length axis are accepted.
    finite : bool
        Reject NaN and infinity.
    dtype : numpy dtype, optional
        Cast to this dtype after checking.
    """
    if x is None:
        raise ValueError(f"{name} is required, got None")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise TypeError(f"{name} must be array-like, got {type(x).__name__}") from exc
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.dtype.kind == "c" and not allow_complex:
        raise TypeError(f"{name} must be real; complex values are not supported here")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, allowed))} dimension(s), got shape {arr.shape}"
            )
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); at least one element is required")
    if finite and arr.dtype.kind in "fc":
        check_finite(arr, name)
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    return arr


def check_scalar_arg(value: Any, name: str, *, lower: float | None = None, upper: float | None = None,
                     lower_inclusive: bool = True, upper_inclusive: bool = True,
                     integer: bool = False) -> float | int:
    """Check a real scalar against an interval and return it as a Python number."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.generic)) and not (
        hasattr(value, "shape") and np.ndim(value) == 0
    ):
        kind = "an integer" if integer else "a real number"
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}")
    v = value.item() if hasattr(value, "item") else value
    if isinstance(v, complex):
        raise TypeError(f"{name} must be real, got a complex number")
    if integer:
        if not float(v).is_integer():
            raise TypeError(f"{name} must be an integer, got {v!r}")
        v = int(v)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if lower is not None and (v < lower or (v == lower and not lower_inclusive)):
        op = ">=" if lower_inclusive else ">"
        raise ValueError(f"{name} must be {op} {lower}, got {v}")
    if upper is not None and (v > upper or (v == upper and not upper_inclusive)):
        op = "<=" if upper_inclusive else "<"
        raise ValueError(f"{name} must be {op} {upper}, got {v}")
    return v


def check_positive(value: Any, name: str) -> float:
    """A finite real number > 0."""
    return float(check_scalar_arg(value, name, lower=0.0, lower_inclusive=False))


def check_nonnegative(value: Any, name: str) -> float:
    """A finite real number >= 0."""
    return float(check_scalar_arg(value, name, lower=0.0))


def check_in_interval(value: Any, name: str, lower: float, upper: float, *,
                      closed: str = "both") -> float:
    """A finite real in an interval; ``closed`` is 'both', 'left', 'right' or 'neither'."""
    if closed not in ("both", "left", "right", "neither"):
        raise ValueError(f"closed must be 'both', 'left', 'right' or 'neither', got {closed!r}")
    return float(check_scalar_arg(value, name, lower=lower, upper=upper,
                                  lower_inclusive=closed in ("both", "left"),
                                  upper_inclusive=closed in ("both", "right")))


def check_probability(value: Any, name: str, *, open_interval: bool = True) -> float:
    """A probability in (0, 1) (or [0, 1] with ``open_interval=False``)."""
    return check_in_interval(value, name, 0.0, 1.0, closed="neither" if open_interval else "both")


def check_int(value: Any, name: str, *, lower: int | None = None, upper: int | None = None) -> int:
    """An integer in [lower, upper]."""
    return int(check_scalar_arg(value, name, lower=lower, upper=upper, integer=True))


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """``value`` must be one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_same_length(*pairs: tuple[str, Any]) -> int:
    """Check that arrays have the same first dimension; ``pairs`` are (name, array)."""
    lengths = [(n, np.shape(a)[0]) for n, a in pairs]
    if len({l for _, l in lengths}) > 1:
        desc = ", ".join(f"{n} has {l}" for n, l in lengths)
        raise ValueError(f"inconsistent numbers of samples: {desc}")
    return lengths[0][1]


def check_random_state(random_state: Any) -> np.random.Generator:
    """Turn ``None``, an int or a ``numpy.random.Generator`` into a ``numpy.random.Generator``."""
    if random_state is None or isinstance(random_state, (numbers.Integral, np.integer)):
        if random_state is not None and int(random_state) < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {random_state}")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise TypeError(
        "random_state must be None, a non-negative int or a numpy.random.Generator, "
        f"got {type(random_state).__name__}"
    )


def as_prng_key(random_state: Any):
    """Turn an estimator's ``random_state`` into a JAX PRNG key.

    ``None`` draws fresh entropy (as scikit-learn does); an int gives a reproducible key; a JAX key
    is returned unchanged.
    """
    import jax

    if hasattr(random_state, "dtype") and hasattr(random_state, "shape") and (
        jax.dtypes.issubdtype(random_state.dtype, jax.dtypes.prng_key)
        or (np.dtype(random_state.dtype) == np.uint32 and tuple(random_state.shape) == (2,))
    ):
        return random_state
    if random_state is None:
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))
    elif isinstance(random_state, np.random.Generator):
        seed = int(random_state.integers(0, 2**31 - 1))
    elif isinstance(random_state, np.random.RandomState):
        seed = int(random_state.randint(0, 2**31 - 1))
    else:
        seed = check_int(random_state, "random_state", lower=0)
    return jax.random.PRNGKey(seed)


def check_prng_key(key: Any, name: str = "rng_key"):
    """``key`` if it is a JAX PRNG key: a typed key (``jax.random.key``) or raw key data, an unsigned
    32-bit array whose last axis is 2 (``jax.random.PRNGKey``); otherwise a TypeError or ValueError
    naming ``name``."""
    import jax

    if isinstance(key, jax.core.Tracer):
        return key
    dtype = getattr(key, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return key
    if dtype is None or not np.issubdtype(np.dtype(dtype), np.unsignedinteger):
        raise TypeError(f"{name} must be a JAX PRNG key (jax.random.key(seed) or jax.random.PRNGKey(seed)), "
                        f"got {type(key).__name__}" + (f" of dtype {dtype}" if dtype is not None else ""))
    if np.ndim(key) < 1 or np.shape(key)[-1] != 2:
        raise ValueError(f"{name} must be a JAX PRNG key: raw key data has a last axis of 2 (jax.random.PRNGKey), "
                         f"got shape {np.shape(key)}")
    return key


def check_weights(weights: Any, n: int, name: str = "sample_weight") -> np.ndarray:
    """Per-sample weights: shape (n,), finite, non-negative, not all zero (float64 numpy)."""
    w = check_array_arg(weights, name, ndim=1)
    if w.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {w.shape}")
    if np.any(w < 0):
        raise ValueError(f"{name} must be non-negative")
    if not w.sum() > 0:
        raise ValueError(f"{name} must not be all zero")
    return w.astype(np.float64, copy=False)


def _blame(exc: Exception, X: Any, y: Any) -> str | None:
    """Which data argument a scikit-learn validation error is about (None when its message says)."""
    import re

    msg = str(exc)
    if re.search(r"\b(X|y)\b", msg):
        return None
    if "inconsistent numbers of samples" in msg:
        return "X and y"
    if y is None:
        return "X"
    try:   # X alone a non-empty 2-D numeric array: then the error is y's
        import scipy.sparse as sp

        ok = sp.issparse(X) or (np.asarray(X, dtype=float).ndim == 2 and np.asarray(X).size > 0)
    except (TypeError, ValueError):
        ok = False
    return "y" if ok else "X"


def validate_data_named(estimator: Any, X: Any, y: Any = "no_validation", **kwargs: Any):
    """scikit-learn's ``validate_data``, whose errors always name the argument they are about: a message
    that names neither X nor y ("Expected 2D array", "could not convert string to float", "0 sample(s)")
    is prefixed with "X: " or "y: " (the same exception type and the original text after it)."""
    from sklearn.utils.validation import validate_data

    try:
        return validate_data(estimator, X, y, **kwargs)
    except (ValueError, TypeError) as exc:
        who = _blame(exc, X, None if isinstance(y, str) and y == "no_validation" else y)
        if who is None:
            raise
        try:
            renamed = type(exc)(f"{who}: {exc}")
        except Exception:  # pragma: no cover - an exception type with another constructor
            raise exc from None
        raise renamed from exc


def validate_estimator_data(estimator: Any, X: Any, y: Any = None, *, reset: bool = True,
                            multi_output: bool = False, y_numeric: bool = True,
                            allow_complex: bool = False, **kwargs: Any):
    """Validate ``X`` (and ``y``) for an estimator, as scikit-learn's ``validate_data`` does.

    Rejects NaN/inf, empty data and mismatched lengths with scikit-learn's messages, sets
    ``n_features_in_`` on ``reset`` and checks it otherwise. Returns float64 arrays.
    """
    dtype = [np.float64, np.complex128] if allow_complex else np.float64
    if y is None or (isinstance(y, str) and y == "no_validation"):
        return validate_data_named(estimator, X, reset=reset, dtype=dtype, **kwargs)
    return validate_data_named(estimator, X, y, reset=reset, dtype=dtype, multi_output=multi_output,
                               y_numeric=y_numeric, **kwargs)


def store_params(estimator: Any, params: dict) -> None:
    """Set each ``__init__`` argument as an attribute of the same name, unchanged (scikit-learn's rule:
    no logic in ``__init__``). Call as ``store_params(self, locals())`` first thing in ``__init__``."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)
