"""Noise calibration and sensitivities of the LDP releases.

- :func:`gaussian_sigma`: the Gaussian mechanism's standard deviation for an l2 sensitivity, either the
  *analytic* calibration of Balle & Wang (ICML 2018; default, exact for every epsilon) or the *classic*
  sigma = Delta sqrt(2 ln(1.25/delta)) / epsilon (only proven for epsilon < 1, refused otherwise).
- :func:`gaussian_delta`: the exact delta(epsilon) of a Gaussian mechanism with a given sigma.
- :func:`laplace_scale`: the Laplace scale b = Delta_1 / epsilon for pure epsilon-LDP.
- Sensitivities (l2 and l1) of the three releases after clipping: :func:`covariance_sensitivity`,
  :func:`cross_sensitivity`, :func:`gradient_sensitivity`.

Calibration is host-side float64 arithmetic on public parameters (it never sees data); the result
is a Python float that the jit-compiled releases take as an argument. The Gaussian sigma is linear in
the sensitivity, so ``gaussian_sigma(D, ...) == D * gaussian_sigma(1, ...)`` up to rounding.

Float noise is not hardened against floating-point attacks on the least significant bits (Mironov,
CCS 2012); see the module guide.
"""

from __future__ import annotations

import math
import numbers
from functools import lru_cache

import numpy as np
from scipy.special import log_ndtr, ndtr

__all__ = [
    "check_epsilon",
    "check_delta",
    "check_choice",
    "gaussian_delta",
    "gaussian_sigma",
    "laplace_scale",
    "laplace_sd",
    "covariance_sensitivity",
    "cross_sensitivity",
    "gradient_sensitivity",
    "MECHANISMS",
    "CALIBRATIONS",
]

MECHANISMS = ("gaussian", "laplace")
CALIBRATIONS = ("analytic", "classic")


def _real(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got bool")
    if isinstance(value, str) or not isinstance(value, (numbers.Real, np.generic)) and not (
        hasattr(value, "shape") and np.ndim(value) == 0
    ):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = value.item() if hasattr(value, "item") else value
    if isinstance(v, complex):
        raise TypeError(f"{name} must be real, got a complex number")
    return float(v)


def check_choice(value, name: str, choices: tuple):
    """``value`` if it is one of ``choices``; a ValueError naming the parameter otherwise."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_epsilon(epsilon, name: str = "epsilon") -> float:
    """A finite real epsilon > 0 (rejects 0, negatives, NaN, infinities, bools and strings)."""
    v = _real(epsilon, name)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite real number > 0 (the privacy budget), got {v}")
    return v


def check_delta(delta, mechanism: str = "gaussian", name: str = "delta") -> float:
    """delta in (0, 1) for the Gaussian mechanism, exactly 0 for Laplace."""
    check_choice(mechanism, "mechanism", MECHANISMS)
    v = _real(delta, name)
    if mechanism == "laplace":
        if v != 0.0:
            raise ValueError(f"{name} must be 0 with mechanism='laplace' (pure epsilon-LDP), got {v}")
        return 0.0
    if not (math.isfinite(v) and 0.0 < v < 1.0):
        raise ValueError(f"{name} must be in the open interval (0, 1) with mechanism='gaussian', got {v}")
    return v


def _positive(value, name: str) -> float:
    """A finite real number > 0 (clip levels, sensitivities, radii)."""
    v = _real(value, name)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite real number > 0, got {v}")
    return v


def _check_sensitivity(sensitivity) -> float:
    return _positive(sensitivity, "sensitivity")


def _delta_unit(sigma: float, epsilon: float) -> float:
    # Balle & Wang (2018), Theorem 8, for sensitivity 1:
    # delta(sigma) = Phi(1/(2 sigma) - eps sigma) - e^eps Phi(-1/(2 sigma) - eps sigma),
    # second term as exp(eps + log Phi(.)) so it stays finite for large eps.
    a = 1.0 / (2.0 * sigma)
    b = epsilon * sigma
    return float(ndtr(a - b) - math.exp(epsilon + float(log_ndtr(-a - b))))


def gaussian_delta(sigma, epsilon, sensitivity=1.0) -> float:
    """Exact delta at which a Gaussian mechanism N(0, sigma^2 I) with l2 sensitivity ``sensitivity`` is
    (epsilon, delta)-DP (Balle & Wang 2018, Theorem 8).

    Parameters
    ----------
    sigma : float
        Standard deviation of the noise (> 0).
    epsilon : float
        Privacy parameter (> 0).
    sensitivity : float
        l2 sensitivity Delta of the released statistic.

    Returns
    -------
    float
        delta(sigma) = Phi(Delta/(2 sigma) - eps sigma/Delta) - e^eps Phi(-Delta/(2 sigma) - eps sigma/Delta).
    """
    eps = check_epsilon(epsilon)
    s = _positive(sigma, "sigma")
    return max(_delta_unit(s / _check_sensitivity(sensitivity), eps), 0.0)


@lru_cache(maxsize=4096)
def _analytic_unit_sigma(epsilon: float, delta: float) -> float:
    # delta(sigma) is decreasing in sigma; bracket on log sigma, then bisect until hi/lo < 1 + 1e-10
    # and return hi (the conservative end: delta(hi) <= delta).
    lo, hi = 1e-3, 1.0
    while _delta_unit(hi, epsilon) > delta:
        lo, hi = hi, hi * 2.0
    while _delta_unit(lo, epsilon) <= delta:
        hi, lo = lo, lo / 2.0
        if lo < 1e-300:  # pragma: no cover - delta >= 1 is rejected earlier
            return hi
    while hi / lo >= 1.0 + 1e-10:
        mid = math.sqrt(lo * hi)
        if _delta_unit(mid, epsilon) > delta:
            lo = mid
        else:
            hi = mid
    return hi


def gaussian_sigma(sensitivity, epsilon, delta, calibration: str = "analytic") -> float:
    """Standard deviation of the Gaussian mechanism for an l2 sensitivity at (epsilon, delta).

    Parameters
    ----------
    sensitivity : float
        l2 sensitivity Delta of the released statistic (> 0).
    epsilon : float
        Privacy parameter of this release (> 0).
    delta : float
        In (0, 1).
    calibration : {"analytic", "classic"}
        ``"analytic"`` (default): the smallest sigma with
        Phi(Delta/(2 sigma) - eps sigma/Delta) - e^eps Phi(-Delta/(2 sigma) - eps sigma/Delta) <= delta
        (Balle & Wang 2018), found by float64 bisection on log sigma to a relative width 1e-10 and
        rounded up. ``"classic"``: Delta sqrt(2 ln(1.25/delta)) / epsilon, proven only for epsilon < 1
        and refused for epsilon >= 1.

    Returns
    -------
    float
        sigma.

    Examples
    --------
    >>> round(gaussian_sigma(1.0, 1.0, 1e-5), 6)
    3.730632
    """
    sens = _check_sensitivity(sensitivity)
    eps = check_epsilon(epsilon)
    dlt = check_delta(delta, "gaussian")
    check_choice(calibration, "calibration", CALIBRATIONS)
    if calibration == "classic":
        if eps >= 1.0:
            raise ValueError(
                f"calibration='classic' is refused for a per-release epsilon >= 1 (got epsilon={eps:g}): the "
                "classic bound sqrt(2 ln(1.25/delta))/epsilon is only proven for epsilon < 1. Use "
                "calibration='analytic' (exact for every epsilon, and smaller)."
            )
        return sens * math.sqrt(2.0 * math.log(1.25 / dlt)) / eps
    return sens * _analytic_unit_sigma(eps, dlt)


def laplace_scale(sensitivity, epsilon) -> float:
    """Scale b = Delta_1 / epsilon of the Laplace mechanism (pure epsilon-DP) for an l1 sensitivity.

    The noise standard deviation is sqrt(2) b (:func:`laplace_sd`).
    """
    return _check_sensitivity(sensitivity) / check_epsilon(epsilon)


def laplace_sd(sensitivity, epsilon) -> float:
    """Standard deviation sqrt(2) Delta_1 / epsilon of the Laplace mechanism."""
    return math.sqrt(2.0) * laplace_scale(sensitivity, epsilon)


def covariance_sensitivity(d: int, x_clip_l2, norm: str = "l2") -> float:
    """Sensitivity of the upper triangle (diagonal included) of xbar xbar^T, ||xbar||_2 <= r.

    l2: 2 r^2 (the paper's bound; the exact worst case is sqrt(2) r^2). l1: (d + 1) r^2, since
    sum_{i<=j} |x_i x_j| = (||x||_1^2 + ||x||_2^2)/2 <= (d + 1) r^2 / 2 for one message.
    """
    r = _positive(x_clip_l2, "x_clip_l2")
    if norm == "l2":
        return 2.0 * r * r
    if norm == "l1":
        return (int(d) + 1) * r * r
    raise ValueError(f"norm must be 'l2' or 'l1', got {norm!r}")


def cross_sensitivity(d: int, x_clip, y_clip, norm: str = "l2") -> float:
    """Sensitivity of xtilde * ytilde with |xtilde_j| <= tau_x, |ytilde| <= tau_y:
    l2 2 sqrt(d) tau_x tau_y, l1 2 d tau_x tau_y."""
    tx, ty = _positive(x_clip, "x_clip"), _positive(y_clip, "y_clip")
    if norm == "l2":
        return 2.0 * math.sqrt(d) * tx * ty
    if norm == "l1":
        return 2.0 * d * tx * ty
    raise ValueError(f"norm must be 'l2' or 'l1', got {norm!r}")


def gradient_sensitivity(d: int, x_clip, y_clip, theta_l1, norm: str = "l2"):
    """Sensitivity of the LDP-IHT gradient xtilde (<xtilde, theta> - ytilde) at a public theta:
    l2 2 sqrt(d) tau_x (tau_x ||theta||_1 + tau_y), l1 2 d tau_x (tau_x ||theta||_1 + tau_y).

    ``theta_l1`` may be a traced JAX scalar (the value is then returned as an array)."""
    tx, ty = _positive(x_clip, "x_clip"), _positive(y_clip, "y_clip")
    factor = 2.0 * math.sqrt(d) if norm == "l2" else 2.0 * d if norm == "l1" else None
    if factor is None:
        raise ValueError(f"norm must be 'l2' or 'l1', got {norm!r}")
    return factor * tx * (tx * theta_l1 + ty)
