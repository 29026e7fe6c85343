"""Stage 4 of the protocol, estimation: what the server computes from the aggregated sums.

Post-processing only (it costs no privacy):

- :func:`server_estimate` -- the NLDP estimate of Zhu, Ding, Aggarwal, Xu & Wang (ICLR 2024):
  u = Sigma^-1 b, soft threshold S_lam(u) (or top-k), optional stabilisation and refit.
- :func:`default_threshold` -- the default lambda of the soft threshold.
- :func:`iht_step` -- one LDP-IHT update (Wang & Xu 2019): Proj_{||.||_2 <= R}(H_k(theta - eta gbar)).
- :func:`triu_to_symmetric` -- the symmetric matrix of a row-major upper triangle.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ..linalg.cache import compiled_entry
from ..linalg.prox import keep_top_k, project_l2_ball, soft_threshold
from . import mechanisms as mech
from .aggregation import NLDPSums
from .calibration import check_clip
from .release import _triu_indices

__all__ = ["ServerEstimate", "THRESHOLDS", "STABILIZERS", "triu_to_symmetric", "default_threshold",
           "server_estimate", "iht_step"]

THRESHOLDS = ("soft", "topk")
STABILIZERS = (None, "ridge", "psd_floor")


class ServerEstimate(NamedTuple):
    """Server output: ``coef`` the thresholded estimate, ``u`` the pre-threshold solve Sigma^-1 b,
    ``lam`` the soft threshold used (None for top-k), ``stabilized`` the stabiliser applied (or None),
    ``fallback`` whether the least-squares fallback was needed, ``indefinite`` whether the
    aggregated covariance was not positive definite."""

    coef: np.ndarray
    u: np.ndarray
    lam: float | None
    stabilized: str | None
    fallback: bool
    indefinite: bool


def triu_to_symmetric(tri, d: int) -> np.ndarray:
    """The symmetric (d, d) matrix whose row-major upper triangle (diagonal included) is ``tri``."""
    tri = np.asarray(tri)
    if tri.shape != (d * (d + 1) // 2,):
        raise ValueError(f"tri must have shape ({d * (d + 1) // 2},) for d={d}, got {tri.shape}")
    i, j = _triu_indices(d)
    S = np.zeros((d, d), dtype=tri.dtype)
    S[i, j] = tri
    S[j, i] = tri
    return S


def default_threshold(n, d, sigmas, y_clip, *, radius=1.0, kappa=1.0) -> float:
    """Default soft threshold lambda = sqrt(2 ln 2d) sqrt((sigma2^2 + sigma1^2 R^2 + tau_y^2)/n) / kappa.

    ``sigmas`` = (sigma1, sigma2): per-user noise standard deviations of the covariance entries
    (0 or None with a public covariance) and of the cross term (sqrt(2) b for Laplace). R is an assumed
    bound on ||theta*||_2 and kappa on lambda_min(Sigma) (both public assumptions)."""
    n = mech._real(n, "n")
    if not n >= 1:
        raise ValueError(f"n must be >= 1, got {n}")
    s1, s2 = sigmas
    s1 = 0.0 if s1 is None else float(s1)
    R = check_clip(radius, "radius")
    kappa = check_clip(kappa, "kappa")
    ty = check_clip(y_clip, "y_clip")
    return math.sqrt(2.0 * math.log(2.0 * int(d))) * math.sqrt(
        (float(s2) ** 2 + s1 ** 2 * R ** 2 + ty ** 2) / n) / kappa


def _solve_spd_or_lu(A, b):
    """(solution, positive definite?) via Cholesky, LU when indefinite."""
    try:
        L = np.linalg.cholesky(A)
        z = np.linalg.solve(L, b)
        return np.linalg.solve(L.T, z), True
    except np.linalg.LinAlgError:
        pass
    try:
        return np.linalg.solve(A, b), False
    except np.linalg.LinAlgError:
        return np.full_like(b, np.nan), False


def _stabilized(A, mu, stabilize):
    """``"ridge"``: A + mu I; ``"psd_floor"``: eigenvalues floored at mu; None: A."""
    if stabilize == "ridge":
        return A + mu * np.eye(A.shape[0])
    if stabilize == "psd_floor":
        w, V = np.linalg.eigh(A)
        floor = max(mu, 1e-12 * max(float(np.max(np.abs(w))), 1.0))
        A = (V * np.maximum(w, floor)) @ V.T
        return (A + A.T) / 2
    return A


def _threshold(u, n, d, sigmas, y_clip, lam, threshold, n_nonzero_coefs, radius, kappa):
    """(coef, lambda used): S_lam(u) for ``"soft"``, H_k(u) for ``"topk"``."""
    if threshold == "soft":
        used_lam = default_threshold(n, d, sigmas, y_clip, radius=radius, kappa=kappa) \
            if lam is None else float(lam)
        if not used_lam >= 0:
            raise ValueError(f"lam must be >= 0, got {lam}")
        return np.asarray(soft_threshold(jnp.asarray(u), used_lam)), used_lam
    if n_nonzero_coefs is None:
        raise ValueError("n_nonzero_coefs is required with threshold='topk'")
    k = int(n_nonzero_coefs)
    if not 1 <= k <= d:
        raise ValueError(f"n_nonzero_coefs must be an integer in [1, {d}], got {n_nonzero_coefs}")
    return np.asarray(keep_top_k(jnp.asarray(u), k)), None


def _refit(coef, A, b):
    """Sigma_AA^-1 b_A on the support A of ``coef`` (zeros if A is empty)."""
    supp = np.flatnonzero(coef)
    out = np.zeros(coef.shape[0])
    if supp.size:
        sub, _ = _solve_spd_or_lu(A[np.ix_(supp, supp)], b[supp])
        if not np.all(np.isfinite(sub)):
            sub = np.linalg.lstsq(A[np.ix_(supp, supp)], b[supp], rcond=None)[0]
        out[supp] = sub
    return out


@compiled_entry
def server_estimate(sums: NLDPSums, *, sigmas, y_clip, public_cov=None, lam=None, threshold="soft",
                    n_nonzero_coefs=None, stabilize=None, refit=False, radius=1.0,
                    kappa=1.0) -> ServerEstimate:
    """Server estimate from aggregated sums (post-processing; costs no privacy).

    1. Sigma = (1/n) sym(sum Z_i) (or ``public_cov``), b = (1/n) sum w_i.
    2. Optional ``stabilize``: ``"ridge"`` Sigma + mu I, ``"psd_floor"`` eigenvalues floored at mu,
       mu = 2 sqrt(d) sigma1 / sqrt(n) (0 with a public covariance).
    3. u = Sigma^-1 b (Cholesky, LU if indefinite with a ``RuntimeWarning``; ``lstsq`` fallback with a
       ``RuntimeWarning`` if that is not finite).
    4. ``threshold="soft"``: S_lam(u) with lam from :func:`default_threshold` unless given;
       ``"topk"``: keep the ``n_nonzero_coefs`` largest |u_j| (ties to the smaller index).
    5. ``refit``: Sigma_AA^-1 b_A on the support A (zeros if A is empty).

    Parameters
    ----------
    sums : NLDPSums
    sigmas : (float or None, float)
        Per-user noise standard deviations (sigma1, sigma2) as in
        :attr:`~sparsestat.privacy.calibration.NLDPCalibration.sd_cov` and ``sd_xy``.
    y_clip : float
    public_cov : array (d, d), optional
        Public covariance X_pub^T X_pub / m; required when ``sums.cov_triu`` is None.
    lam : float, optional
        Soft threshold (>= 0).
    threshold : {"soft", "topk"}
    n_nonzero_coefs : int, optional
        k for ``"topk"``.
    stabilize : {None, "ridge", "psd_floor"}
    refit : bool
    radius, kappa : float
        Public assumptions used by the default lambda.

    Returns
    -------
    ServerEstimate
        Always finite.
    """
    mech.check_choice(threshold, "threshold", THRESHOLDS)
    mech.check_choice(stabilize, "stabilize", STABILIZERS)
    xy = np.asarray(sums.xy, dtype=np.float64)
    d = xy.shape[0]
    n = float(sums.n_users)
    if not n >= 1:
        raise ValueError("sums hold no users (n_users < 1)")
    b = xy / n
    s1 = 0.0 if sigmas[0] is None else float(sigmas[0])
    if public_cov is not None:
        A = np.asarray(public_cov, dtype=np.float64)
        if A.shape != (d, d):
            raise ValueError(f"public_cov must have shape ({d}, {d}), got {A.shape}")
        mu = 0.0
    else:
        if sums.cov_triu is None:
            raise ValueError("sums carry no covariance (public-covariance mode): pass public_cov")
        A = triu_to_symmetric(np.asarray(sums.cov_triu, dtype=np.float64), d) / n
        mu = 2.0 * math.sqrt(d) * s1 / math.sqrt(n)
    A = _stabilized(A, mu, stabilize)
    u, pd = _solve_spd_or_lu(A, b)
    indefinite = not pd
    if indefinite and stabilize is None:
        warnings.warn("the aggregated covariance is not positive definite (too few users for its noise); "
                      "solved by LU. Consider stabilize='ridge', public_X or LDP-IHT.", RuntimeWarning,
                      stacklevel=3)
    fallback = False
    if not np.all(np.isfinite(u)):
        warnings.warn("the covariance solve was not finite; fell back to least squares (lstsq)",
                      RuntimeWarning, stacklevel=3)
        u = np.linalg.lstsq(A, b, rcond=None)[0]
        fallback = True
        if not np.all(np.isfinite(u)):  # pragma: no cover - lstsq of finite input is finite
            u = np.zeros(d)
    coef, used_lam = _threshold(u, n, d, (s1, sigmas[1]), y_clip, lam, threshold, n_nonzero_coefs, radius, kappa)
    coef = np.array(coef, dtype=np.float64)
    if refit:
        coef = _refit(coef, A, b)
    return ServerEstimate(coef, np.asarray(u, np.float64), used_lam, stabilize, fallback, indefinite)


def iht_step(theta, grad_sum, n_group, *, step_size, n_nonzero_coefs, radius):
    """theta_t = Proj_{||.||_2 <= R}(H_k(theta - eta grad_sum / n_group)); pure and jit-able."""
    gbar = grad_sum / n_group
    return project_l2_ball(keep_top_k(theta - step_size * gbar, n_nonzero_coefs), radius)
