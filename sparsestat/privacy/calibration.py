"""Stage 1 of the protocol, calibration: public parameters (epsilon, delta, clip levels) -> noise scales.

- :func:`nldp_calibration` -- the per-user noise scales of the two NLDP releases (Zhu, Ding, Aggarwal,
  Xu & Wang, ICLR 2024): (epsilon/2, delta/2) on each with a private covariance, (epsilon, delta) on the
  cross term alone with a public one; Laplace with l1 sensitivities for pure epsilon.
- :func:`iht_unit_sigma`, :func:`iht_sigma` -- the Gaussian sigma of an LDP-IHT gradient report (Wang &
  Xu 2019, rectified sensitivity of Zhu et al.): ``iht_unit_sigma(epsilon, delta)`` times the
  sensitivity at the broadcast theta.
- :func:`check_clip` -- a public clip level (never derived from the data).

Calibration is host-side float64 arithmetic on public parameters only. A fit computes it once and hands
the result to the cores (:func:`~sparsestat.privacy.nldp`, :func:`~sparsestat.privacy.ldp_iht`),
whose compiled programs take the scales as traced arguments: a new epsilon compiles nothing.
The mechanisms themselves (analytic / classic Gaussian, Laplace, sensitivities) are in
:mod:`~sparsestat.privacy.mechanisms`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from . import mechanisms as mech

__all__ = ["NLDPCalibration", "nldp_calibration", "iht_unit_sigma", "iht_sigma", "check_clip"]


class NLDPCalibration(NamedTuple):
    """Public noise calibration of the NLDP releases (per user).

    ``scale_*`` is what multiplies a standard draw (Gaussian sigma or Laplace b); ``sd_*`` the
    resulting standard deviation per entry (sigma, or sqrt(2) b). The covariance entries are None
    when the covariance is public (public-X mode)."""

    mechanism: str
    calibration: str | None
    epsilon_per_release: float
    delta_per_release: float
    sensitivity_cov: float | None
    sensitivity_xy: float
    scale_cov: float | None
    scale_xy: float
    sd_cov: float | None
    sd_xy: float
    composition: str

    @property
    def public_covariance(self) -> bool:
        """True when only the cross term is released (public unlabelled X)."""
        return self.scale_cov is None


def check_clip(value, name: str) -> float:
    """A public clip level: a finite real > 0. Strings such as 'auto' or 'data' (bounds derived from
    the data) and None are refused: clip bounds must be public and data-independent."""
    if value is None:
        raise ValueError(f"{name} is required: LDP needs public, data-independent clip bounds "
                         f"(a finite number > 0); it is never derived from the data")
    if isinstance(value, str):
        raise ValueError(f"{name}={value!r} is not allowed: clip bounds must be public numbers fixed "
                         "before seeing the data (a finite number > 0), never derived from X or y")
    return mech._positive(value, name)


def nldp_calibration(d: int, *, epsilon, delta, x_clip_l2=None, x_clip, y_clip,
                     public_covariance: bool = False, mechanism: str = "gaussian",
                     calibration: str = "analytic") -> NLDPCalibration:
    """Per-user noise scales of the NLDP releases from public parameters only.

    Private covariance: (epsilon/2, delta/2) on each of the two releases (basic composition).
    Public covariance: (epsilon, delta) on the cross term only. Laplace: pure epsilon, l1 sensitivities.

    Parameters
    ----------
    d : int
        Number of features.
    epsilon, delta : float
        Total per-user budget (delta = 0 for Laplace).
    x_clip_l2 : float, optional
        r, the l2 radius for the covariance release (required unless ``public_covariance``).
    x_clip, y_clip : float
        tau_x (coordinate-wise) and tau_y clip levels of the cross term.
    public_covariance : bool
        Public unlabelled X: only the cross term is released.
    mechanism : {"gaussian", "laplace"}
    calibration : {"analytic", "classic"}
        Gaussian calibration (ignored for Laplace).

    Returns
    -------
    NLDPCalibration
    """
    d = int(d)
    if d < 1:
        raise ValueError(f"d must be a positive integer, got {d}")
    mech.check_choice(mechanism, "mechanism", mech.MECHANISMS)
    mech.check_choice(calibration, "calibration", mech.CALIBRATIONS)
    eps = mech.check_epsilon(epsilon)
    dlt = mech.check_delta(delta, mechanism)
    tx, ty = check_clip(x_clip, "x_clip"), check_clip(y_clip, "y_clip")
    if public_covariance:
        e_r, d_r, comp = eps, dlt, "one release per user (public covariance)"
    else:
        r = check_clip(x_clip_l2, "x_clip_l2")
        e_r, d_r = eps / 2.0, dlt / 2.0
        comp = "basic composition of two releases at (epsilon/2, delta/2)"
    norm = "l2" if mechanism == "gaussian" else "l1"
    s_xy = mech.cross_sensitivity(d, tx, ty, norm)
    s_cov = None if public_covariance else mech.covariance_sensitivity(d, r, norm)
    if mechanism == "gaussian":
        if calibration == "classic" and e_r >= 1.0:
            raise ValueError(
                f"calibration='classic' is refused for a per-release epsilon >= 1 (per-release epsilon is "
                f"{e_r:g}{'' if public_covariance else ' = epsilon/2'}); use calibration='analytic'")
        scale = lambda s: mech.gaussian_sigma(s, e_r, d_r, calibration)  # noqa: E731
        sd = lambda b: b  # noqa: E731
        cal = calibration
    else:
        scale = lambda s: mech.laplace_scale(s, e_r)  # noqa: E731
        sd = lambda b: math.sqrt(2.0) * b  # noqa: E731
        cal = None
        comp = comp.replace(", delta/2", "").replace("(epsilon/2)", "epsilon/2")
    sc_xy = scale(s_xy)
    sc_cov = None if public_covariance else scale(s_cov)
    return NLDPCalibration(mechanism, cal, e_r, d_r, s_cov, s_xy, sc_cov, sc_xy,
                           None if sc_cov is None else sd(sc_cov), sd(sc_xy), comp)


def iht_unit_sigma(epsilon, delta, calibration: str = "analytic") -> float:
    """Gaussian sigma of an LDP-IHT report per unit of sensitivity at (epsilon, delta): each user reports
    once, at the whole budget. Multiply by :func:`~.mechanisms.gradient_sensitivity` at the broadcast
    theta for the report's sigma (:func:`iht_sigma`)."""
    return mech.gaussian_sigma(1.0, epsilon, delta, calibration)


def iht_sigma(d: int, theta_l1, *, epsilon, delta, x_clip, y_clip, calibration="analytic"):
    """Per-user Gaussian sigma of an LDP-IHT gradient report at a public theta (at (epsilon, delta)):
    sigma_unit(epsilon, delta) * 2 sqrt(d) tau_x (tau_x ||theta||_1 + tau_y). ``theta_l1`` may be traced."""
    unit = iht_unit_sigma(epsilon, delta, calibration)
    return unit * mech.gradient_sensitivity(d, x_clip, y_clip, theta_l1)
