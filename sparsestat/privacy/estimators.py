"""scikit-learn estimators for sparse linear regression under local differential privacy.

Both estimators are thin shells over the functional cores :func:`~sparsestat.privacy.nldp` and
:func:`~sparsestat.privacy.ldp_iht`: ``fit`` validates its input, calibrates epsilon -> sigma once
(:mod:`~sparsestat.privacy.calibration`), runs the core in float64 and stores numpy results. The core
*simulates* the protocol: it plays every user's randomiser (one row = one user) from ``random_state``,
aggregates the reports chunk by chunk, and runs the server. A seeded fit is a simulation (seed +
``statistics_`` lets anyone regenerate and subtract the noise); deployments use ``random_state=None`` or
:func:`~sparsestat.privacy.release.release_nldp` with keys held on the users' devices.

LDP is very expensive: at d = 50 the private-covariance estimator needs 1e8-5e9 users, and at
n <= 1e6, d >= 50 no LDP estimator clearly beats returning zero. :func:`required_users` gives the
number up front and ``fit`` warns (:class:`~sparsestat.exceptions.PrivacyWarning`) below it.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import store_params
from ..linalg.cache import compiled_entry
from ..linalg.precision import enable_x64
from ..linalg.shapes import next_pow2
from . import mechanisms as mech
from ._estimator_base import (LDPBase, check_k, check_nldp_params, chunk_for, global_users, public_covariance,
                              root_key, validate_Xy, warn_fit)
from .calibration import check_clip, iht_unit_sigma, nldp_calibration
from .ldp_iht import ldp_iht
from .nldp import nldp
from .planning import _users_iht, _users_nldp
from .record import PrivacyRecord

__all__ = ["LDPSparseRegression", "InteractiveLDPSparseRegression", "PrivacyRecord"]


class LDPSparseRegression(LDPBase):
    """Non-interactive LDP sparse linear regression (Zhu, Ding, Aggarwal, Xu & Wang, ICLR 2024).

    Each row is one user who sends the noisy upper triangle of xbar xbar^T (xbar = x in the l2 ball of
    radius ``x_clip_l2``) and the noisy clipped cross term clip(x) clip(y); the server solves
    u = Sigma^-1 b and thresholds it. With ``public_X`` (public unlabelled rows) only the cross term is
    released and the covariance is public: a sqrt(d) better rate.

    A thin shell over the functional core :func:`~sparsestat.privacy.nldp`.

    LDP is very expensive: the private-covariance estimator needs ~1e8-5e9 users at d = 50 (see
    :func:`required_users`); ``fit`` warns with a :class:`PrivacyWarning` below the requirement.

    Parameters
    ----------
    epsilon : float
        Per-user privacy budget (> 0).
    delta : float, default 1e-5
        In (0, 1) for Gaussian; 0 with ``mechanism="laplace"``.
    x_clip_l2 : float
        Public l2 radius r for the covariance release (required unless ``public_X``).
    x_clip, y_clip : float
        Public coordinate-wise clip levels tau_x, tau_y (required; never derived from data).
    threshold : {"soft", "topk"}, default "soft"
        Soft threshold at ``lam`` (the paper) or keep the ``n_nonzero_coefs`` largest entries.
    lam : float, optional
        Soft threshold; default sqrt(2 ln 2d) sqrt((sigma2^2 + sigma1^2 + tau_y^2)/n).
    n_nonzero_coefs : int, optional
        k for ``"topk"`` (also used by the planner's signal_min = 1/sqrt(k)).
    public_X : array (m, d), optional
        Public unlabelled rows (m >= d, full rank).
    mechanism : {"gaussian", "laplace"}
    calibration : {"analytic", "classic"}
        Gaussian calibration; classic is refused for per-release epsilon >= 1.
    stabilize : {None, "ridge", "psd_floor"}
    refit : bool
        Re-solve on the selected support.
    random_state : int or None
        None draws OS entropy (a deployment-like fit); an int gives a reproducible *simulation*.
    distributed : bool, default False
        Several processes (:mod:`sparsestat.distributed`): ``fit`` takes this process's users (its
        block of rows; user indices continue from the earlier processes' blocks), each process
        releases and sums its own users, the sums are added across processes and every process ends
        with the same fit, equal to one process fitting all the users with the same ``random_state``.

    Attributes
    ----------
    coef_ : ndarray (n_features,)
    intercept_ : float
        Always 0.0.
    lambda_ : float or None
        Soft threshold used.
    statistics_ : dict
        The noisy aggregated statistics only: ``cov_triu`` (mean noisy upper triangle, None with
        public_X), ``xy`` (mean noisy cross term) and ``n_users``.
    privacy_ : PrivacyRecord
    n_features_in_ : int
    """

    def __init__(self, epsilon, delta=1e-5, *, x_clip_l2=None, x_clip=None, y_clip=None, threshold="soft",
                 lam=None, n_nonzero_coefs=None, public_X=None, mechanism="gaussian",
                 calibration="analytic", stabilize=None, refit=False, random_state=None, distributed=False):
        store_params(self, locals())

    @compiled_entry
    def fit(self, X, y, **kwargs):
        """Simulate every user's release (one row = one user), aggregate and estimate.

        Parameters
        ----------
        X : array (n_users, n_features)
        y : array (n_users,)

        Returns
        -------
        self
        """
        X, y = validate_Xy(self, X, y, kwargs)
        n, d = global_users(self, X)
        eps, dlt, lam, k = check_nldp_params(self, d)
        public = self.public_X is not None
        r = None if public else self.x_clip_l2
        # the one calibration of the fit: it serves the planner, the releases and the server
        cal = nldp_calibration(d, epsilon=eps, delta=dlt, x_clip_l2=r, x_clip=self.x_clip, y_clip=self.y_clip,
                               public_covariance=public, mechanism=self.mechanism, calibration=self.calibration)
        pub_cov = public_covariance(self.public_X, d) if public else None
        key, seeded = root_key(self.random_state, self.distributed)
        need = _users_nldp(d, cal, 1.0 / math.sqrt(k or 1), float(self.y_clip), 1.0, 1.0, public)
        warn_fit(eps, dlt, n, need, "LDPSparseRegression")
        with enable_x64():
            res = nldp(key, X, y, cal, x_clip_l2=r, x_clip=self.x_clip, y_clip=self.y_clip, public_cov=pub_cov,
                       lam=lam, threshold=self.threshold, n_nonzero_coefs=k, stabilize=self.stabilize,
                       refit=bool(self.refit), chunk_size=min(chunk_for(d), next_pow2(n)), dtype=np.float64,
                       distributed=bool(self.distributed))
        self.coef_ = np.asarray(res.coef, dtype=np.float64)
        self.intercept_ = 0.0
        self.lambda_ = res.lam
        self.statistics_ = {
            "cov_triu": None if res.sums.cov_triu is None else np.asarray(res.sums.cov_triu) / n,
            "xy": np.asarray(res.sums.xy) / n,
            "n_users": int(n),
        }
        if public:
            sigmas, sens = (cal.scale_xy,), (cal.sensitivity_xy,)
        else:
            sigmas, sens = (cal.scale_cov, cal.scale_xy), (cal.sensitivity_cov, cal.sensitivity_xy)
        self.privacy_ = PrivacyRecord(
            model="local, non-interactive", epsilon=eps, delta=dlt, mechanism=self.mechanism,
            calibration=cal.calibration, sigmas=tuple(float(s) for s in sigmas),
            sensitivities=tuple(float(s) for s in sens), composition=cal.composition,
            x_clip_l2=None if public else float(self.x_clip_l2), x_clip=float(self.x_clip),
            y_clip=float(self.y_clip), n_users=int(n), seeded=seeded)
        return self


class InteractiveLDPSparseRegression(LDPBase):
    """Sequentially interactive LDP-IHT (Wang & Xu 2019) with the rectified sensitivity of Zhu et al.

    Users are split into ``n_rounds`` disjoint groups by a public permutation (independent of the
    data); in round t each user of group t sends one noisy gradient at the broadcast theta_{t-1}, and
    theta_t = Proj_{||.||_2 <= R}(H_k(theta_{t-1} - eta * mean gradient)). Every user reports once, so
    the total guarantee is (epsilon, delta), not T times it. A thin shell over the functional core
    :func:`~sparsestat.privacy.ldp_iht`.

    Parameters
    ----------
    epsilon : float
    delta : float, default 1e-5
    n_nonzero_coefs : int
        k (required).
    n_rounds : int, optional
        T (default 3, the measured setting; 1 <= T <= n_users).
    step_size : float, default 1.0
    radius : float, default 1.0
        R, the l2 ball of the iterates.
    x_clip, y_clip : float
        Public clip levels (required).
    random_state : int or None
    distributed : bool, default False
        Several processes (:mod:`sparsestat.distributed`): ``fit`` takes this process's users; the
        groups are drawn over all the users, each process reports for its members, the round sums are
        added across processes, and every process ends with the fit of one process on all the users.

    Attributes
    ----------
    coef_, intercept_, n_features_in_
    n_rounds_ : int
    statistics_ : dict
        ``grad_means`` (T, d) noisy mean gradients per round, ``group_sizes``.
    privacy_ : PrivacyRecord
    """

    def __init__(self, epsilon, delta=1e-5, *, n_nonzero_coefs, n_rounds=None, step_size=1.0, radius=1.0,
                 x_clip=None, y_clip=None, random_state=None, distributed=False):
        store_params(self, locals())

    @compiled_entry
    def fit(self, X, y, **kwargs):
        """Run the T rounds of LDP-IHT over the users (rows of X, y). Returns self."""
        X, y = validate_Xy(self, X, y, kwargs)
        n, d = global_users(self, X)
        eps = mech.check_epsilon(self.epsilon)
        dlt = mech.check_delta(self.delta, "gaussian")
        k = check_k(self.n_nonzero_coefs, d)
        T = 3 if self.n_rounds is None else self.n_rounds
        if isinstance(T, (bool, np.bool_)) or not isinstance(T, (int, np.integer)) or not 1 <= int(T) <= n:
            raise ValueError(f"n_rounds must be an integer in [1, n_users={n}], got {self.n_rounds!r}")
        T = int(T)
        eta = check_clip(self.step_size, "step_size")
        R = check_clip(self.radius, "radius")
        tx = check_clip(self.x_clip, "x_clip")
        ty = check_clip(self.y_clip, "y_clip")
        key, seeded = root_key(self.random_state, self.distributed)
        # the one calibration of the fit: a report's sigma is unit(epsilon, delta) * sensitivity(theta)
        unit = iht_unit_sigma(eps, dlt)
        need = _users_iht(d, T, unit * mech.gradient_sensitivity(d, tx, ty, math.sqrt(k) * R), R / math.sqrt(k))
        warn_fit(eps, dlt, n, need, "InteractiveLDPSparseRegression")
        with enable_x64():
            res = ldp_iht(key, X, y, unit_sigma=unit, x_clip=tx, y_clip=ty, n_nonzero_coefs=k, n_rounds=T,
                          step_size=eta, radius=R, dtype=np.float64, distributed=bool(self.distributed))
            coef = np.asarray(res.coef, dtype=np.float64)
        self.coef_ = coef
        self.intercept_ = 0.0
        self.n_rounds_ = T
        self.statistics_ = {"grad_means": res.grad_sums / res.group_sizes[:, None],
                            "group_sizes": res.group_sizes, "n_users": int(n)}
        self.privacy_ = PrivacyRecord(
            model="local, sequentially interactive", epsilon=eps, delta=dlt, mechanism="gaussian",
            calibration="analytic", sigmas=res.sigmas, sensitivities=res.sensitivities,
            composition=f"one report per user (disjoint groups over {T} rounds): ({eps:g}, {dlt:g}) in total",
            x_clip_l2=None, x_clip=tx, y_clip=ty, n_users=int(n), seeded=seeded)
        return self
