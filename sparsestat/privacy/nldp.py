"""The non-interactive LDP sparse linear regression estimator (NLDP) as one function: :func:`nldp`.

L. Zhu, M. Ding, V. Aggarwal, J. Xu, D. Wang, "Improved Analysis of Sparse Linear Regression in Local
Differential Privacy Model", arXiv:2310.07367 (ICLR 2024), Algorithm 1, and its public-unlabelled-X
variant. The four stages of the protocol, each in its own module:

1. calibration (:func:`~sparsestat.privacy.calibration.nldp_calibration`, computed once by the caller),
2. release: every user's randomiser (:mod:`~sparsestat.privacy.release`),
3. aggregation: the server's streamed sums (:mod:`~sparsestat.privacy.aggregation`),
4. estimation: S_lam(Sigma^-1 b) or top-k (:func:`~sparsestat.privacy.estimation.server_estimate`).

:class:`~sparsestat.privacy.LDPSparseRegression` is the scikit-learn shell over this function.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..linalg.cache import compiled_entry
from .aggregation import NLDPSums, stream_nldp_sums
from .calibration import NLDPCalibration
from .estimation import server_estimate

__all__ = ["NLDPResult", "nldp"]


class NLDPResult(NamedTuple):
    """Output of :func:`nldp`: ``coef`` the estimate, ``u`` the pre-threshold solve Sigma^-1 b, ``lam``
    the soft threshold used (None for top-k), ``sums`` the noisy aggregated sums (numpy; the only
    statistics the server ever holds), ``stabilized``, ``fallback`` and ``indefinite`` as in
    :class:`~sparsestat.privacy.estimation.ServerEstimate`."""

    coef: np.ndarray
    u: np.ndarray
    lam: float | None
    sums: NLDPSums
    stabilized: str | None
    fallback: bool
    indefinite: bool


@compiled_entry
def nldp(key, x, y, calibration: NLDPCalibration, *, x_clip_l2=None, x_clip, y_clip, public_cov=None,
         lam=None, threshold="soft", n_nonzero_coefs=None, stabilize=None, refit=False, radius=1.0,
         kappa=1.0, chunk_size: int = 4096, n_devices: int | None = 1, dtype=None,
         distributed: bool = False) -> NLDPResult:
    """NLDP sparse linear regression (Zhu, Ding, Aggarwal, Xu & Wang, ICLR 2024) over the users' rows.

    Every row is one user: user i releases its message with the key ``fold_in(key, i)``
    (:func:`~sparsestat.privacy.release.release_nldp`), the messages are summed chunk by chunk with
    O(chunk d^2) memory (:func:`~sparsestat.privacy.aggregation.stream_nldp_sums`) and the server
    returns S_lam(Sigma^-1 b) or its top-k (:func:`~sparsestat.privacy.estimation.server_estimate`).
    The noise scales and clip levels enter the compiled programs as traced values: a new epsilon
    compiles nothing.

    Parameters
    ----------
    key : PRNG key
        Noise key (a simulation: a deployment keeps keys on the users' devices).
    x : array (n, d)
        One row per user.
    y : array (n,)
    calibration : NLDPCalibration
        From :func:`~sparsestat.privacy.calibration.nldp_calibration` with the same public parameters
        (computed once per fit; it fixes the mechanism and whether the covariance is public).
    x_clip_l2, x_clip, y_clip : float
        The public clip levels of the calibration (``x_clip_l2`` unused with a public covariance).
    public_cov : array (d, d), optional
        Public covariance X_pub^T X_pub / m (required with a public-covariance calibration).
    lam, threshold, n_nonzero_coefs, stabilize, refit, radius, kappa
        Server options, see :func:`~sparsestat.privacy.estimation.server_estimate`.
    chunk_size : int
        Users per compiled step.
    n_devices : int or None
        Devices to shard users over; None uses all.
    dtype : numpy dtype, optional
        Working dtype of the releases (default: JAX's default float in the current scope).
    distributed : bool
        Several processes (:mod:`sparsestat.distributed`): ``x``, ``y`` are this process's users
        (global indices continue from the earlier processes' blocks); each process releases and sums
        its own users and the sums are added across processes, so every process returns what one
        process returns on all the users with the same key.

    Returns
    -------
    NLDPResult
    """
    if not isinstance(calibration, NLDPCalibration):
        raise TypeError("calibration must be an NLDPCalibration (from privacy.calibration.nldp_calibration); "
                        f"got {type(calibration).__name__}")
    if distributed:
        from ..linalg.multiprocess import as_local_block

        x, y = as_local_block(x), as_local_block(y)
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 2 or x.shape[0] == 0 or y.shape != (x.shape[0],):
        raise ValueError(f"x must be (n_users, d) and y (n_users,); got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite")
    sums = stream_nldp_sums(key, [(x, y)], x.shape[1], calibration, x_clip_l2=x_clip_l2, x_clip=x_clip,
                            y_clip=y_clip, chunk_size=chunk_size, n_devices=n_devices, dtype=dtype,
                            distributed=distributed, local_users=x.shape[0] if distributed else None)
    sums = NLDPSums(None if sums.cov_triu is None else np.asarray(sums.cov_triu),
                    np.asarray(sums.xy), np.asarray(sums.n_users))
    est = server_estimate(sums, sigmas=(calibration.sd_cov, calibration.sd_xy), y_clip=y_clip,
                          public_cov=public_cov, lam=lam, threshold=threshold, n_nonzero_coefs=n_nonzero_coefs,
                          stabilize=stabilize, refit=refit, radius=radius, kappa=kappa)
    return NLDPResult(est.coef, est.u, est.lam, sums, est.stabilized, est.fallback, est.indefinite)
