"""How many users an LDP estimator needs: :func:`required_users`.

LDP is very expensive. The planner turns the public parameters into the number of users below which
the estimate is dominated by the privacy noise; estimators emit a :class:`PrivacyWarning` below it.
The terms are *necessary* conditions only (exact support appeared at about 3x the threshold term in the
measurements of the spec).
"""

from __future__ import annotations

import math

from ..exceptions import PrivacyWarning
from . import mechanisms as mech
from .calibration import check_clip, iht_sigma, nldp_calibration

__all__ = ["required_users", "PrivacyWarning"]


def required_users(d, k, epsilon, delta, signal_min, *, public_X=False, interactive=False, n_rounds=3,
                   x_clip_l2=None, x_clip, y_clip, radius=1.0, kappa=1.0, mechanism="gaussian",
                   calibration="analytic", return_details=False):
    """Number of users needed before an LDP sparse regression can separate a signal of size
    ``signal_min`` from the privacy noise.

    Terms (sigma's are per-user noise standard deviations from :func:`~.calibration.nldp_calibration`):

    - threshold, lambda(n) < signal_min: n_thr = 2 ln(2d) (sigma2^2 + sigma1^2 R^2 + tau_y^2) /
      (kappa^2 signal_min^2) (sigma1 = 0 with public X);
    - private-covariance invertibility, 2 sqrt(d) sigma1 / sqrt(n) <= kappa / 2: n_inv = 16 d sigma1^2 / kappa^2;
    - LDP-IHT (``interactive=True``; a heuristic): n_iht = T 2 ln(2d) sigma_max^2 / signal_min^2 with
      sigma_max the report sigma at ||theta||_1 = sqrt(k) R.

    Parameters
    ----------
    d, k : int
        Features and sparsity (1 <= k <= d).
    epsilon, delta : float
        Per-user budget (delta = 0 with Laplace).
    signal_min : float
        Smallest |theta*_j| to detect (> 0).
    public_X, interactive : bool
        Public unlabelled X (NLDP) or LDP-IHT.
    n_rounds : int
        T for LDP-IHT.
    x_clip_l2, x_clip, y_clip : float
        Public clip levels (x_clip_l2 needed for the private covariance).
    radius, kappa : float
        Assumed bound R on ||theta*||_2 and on lambda_min(Sigma).
    mechanism, calibration : str
        As in :func:`~.release.release_nldp` (LDP-IHT is Gaussian only).
    return_details : bool
        Also return a dict of the terms and sigmas.

    Returns
    -------
    int or (int, dict)
        The largest applicable term, rounded up.
    """
    if isinstance(d, bool) or not isinstance(d, int) and not (hasattr(d, "__index__")) or int(d) < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    d = int(d)
    if isinstance(k, bool) or not hasattr(k, "__index__") or not 1 <= int(k) <= d:
        raise ValueError(f"k must be an integer in [1, {d}], got {k!r}")
    k = int(k)
    smin = check_clip(signal_min, "signal_min")
    R = check_clip(radius, "radius")
    kap = check_clip(kappa, "kappa")
    if interactive:
        if mechanism != "gaussian":
            raise ValueError("LDP-IHT uses the Gaussian mechanism; mechanism must be 'gaussian'")
        T = int(n_rounds)
        if T < 1:
            raise ValueError(f"n_rounds must be >= 1, got {n_rounds}")
        mech.check_epsilon(epsilon)
        mech.check_delta(delta)
        s_max = iht_sigma(d, math.sqrt(k) * R, epsilon=epsilon, delta=delta, x_clip=x_clip, y_clip=y_clip,
                          calibration=calibration)
        return _users_iht(d, T, s_max, smin, return_details)
    cal = nldp_calibration(d, epsilon=epsilon, delta=delta, x_clip_l2=x_clip_l2, x_clip=x_clip,
                           y_clip=y_clip, public_covariance=bool(public_X), mechanism=mechanism,
                           calibration=calibration)
    return _users_nldp(d, cal, smin, float(y_clip), R, kap, bool(public_X), return_details)


def _users_iht(d: int, T: int, s_max: float, smin: float, return_details: bool = False):
    """The LDP-IHT term from the report sigma ``s_max`` at ||theta||_1 = sqrt(k) R (validated inputs)."""
    log_term = 2.0 * math.log(2.0 * d)
    n_iht = T * log_term * s_max ** 2 / smin ** 2
    n = int(math.ceil(n_iht))
    return (n, {"sigma_max": s_max, "n_iht": n_iht}) if return_details else n


def _users_nldp(d: int, cal, smin: float, ty: float, R: float, kap: float, public_X: bool,
                return_details: bool = False):
    """The NLDP terms from a calibration ``cal`` of :func:`~.calibration.nldp_calibration` (validated
    inputs); the estimators pass the calibration of their fit rather than computing it again."""
    s1 = 0.0 if cal.sd_cov is None else cal.sd_cov
    s2 = cal.sd_xy
    log_term = 2.0 * math.log(2.0 * d)
    n_thr = log_term * (s2 ** 2 + s1 ** 2 * R ** 2 + ty ** 2) / (kap ** 2 * smin ** 2)
    details = {"sigma1": cal.sd_cov, "sigma2": s2, "n_thr": n_thr}
    n = n_thr
    if not public_X:
        n_inv = 16.0 * d * s1 ** 2 / kap ** 2
        details["n_inv"] = n_inv
        n = max(n, n_inv)
    n = int(math.ceil(n))
    return (n, details) if return_details else n
