"""scikit-learn estimators for sparse linear regression under local differential privacy.

Both estimators *simulate* the protocol: ``fit`` plays every user's randomiser (one row = one user)
from ``random_state``, aggregates the reports chunk by chunk, and runs the server. A seeded fit is a
simulation (seed + ``statistics_`` lets anyone regenerate and subtract the noise); deployments use
``random_state=None`` or :func:`~sparsestat.privacy.protocol.release_nldp` with keys held on the users'
devices.

LDP is very expensive: at d = 50 the private-covariance estimator needs 1e8-5e9 users, and at
n <= 1e6, d >= 50 no LDP estimator clearly beats returning zero. :func:`required_users` gives the
number up front and ``fit`` warns (:class:`~sparsestat.exceptions.PrivacyWarning`) below it.
"""

from __future__ import annotations

import math
import secrets
import warnings
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import validate_estimator_data
from ..exceptions import PrivacyWarning
from ..linalg.cache import compiled_entry
from ..linalg.precision import enable_x64
from ..linalg.shapes import next_pow2
from . import mechanisms as mech
from . import protocol as proto
from .planning import _users_iht, _users_nldp

__all__ = ["LDPSparseRegression", "InteractiveLDPSparseRegression", "PrivacyRecord"]


@dataclass(frozen=True)
class PrivacyRecord:
    """The privacy guarantee of a fit, built from public parameters only.

    Attributes
    ----------
    model : str
        "local, non-interactive" or "local, sequentially interactive".
    epsilon, delta : float
        Total per-user guarantee.
    mechanism : str
    calibration : str or None
        None for Laplace.
    sigmas : tuple of float
        Per-user noise scale per release (Gaussian sigma or Laplace b); per round for LDP-IHT.
    sensitivities : tuple of float
        Sensitivity per release (l2 for Gaussian, l1 for Laplace); per round for LDP-IHT.
    composition : str
    x_clip_l2, x_clip, y_clip : float or None
    n_users : int
    seeded : bool
        True when ``random_state`` was an int: the fit is a reproducible simulation, not a deployment.
    """

    model: str
    epsilon: float
    delta: float
    mechanism: str
    calibration: str | None
    sigmas: tuple
    sensitivities: tuple
    composition: str
    x_clip_l2: float | None
    x_clip: float
    y_clip: float
    n_users: int
    seeded: bool

    def __str__(self) -> str:
        guarantee = f"({self.epsilon:g}, {self.delta:g})-LDP" if self.delta else f"{self.epsilon:g}-LDP (pure)"
        lines = [
            f"Privacy: {guarantee} per user, {self.model} model",
            f"  mechanism: {self.mechanism}" + (f" ({self.calibration} calibration)" if self.calibration else ""),
            f"  composition: {self.composition}",
            "  noise scale per release: " + ", ".join(f"{s:.6g}" for s in self.sigmas),
            "  sensitivity per release: " + ", ".join(f"{s:.6g}" for s in self.sensitivities),
            f"  clip levels: x_clip_l2={self.x_clip_l2}, x_clip={self.x_clip}, y_clip={self.y_clip}",
            f"  users: {self.n_users}",
        ]
        if self.seeded:
            lines.append("  SEEDED: a reproducible simulation; the seed and statistics_ reveal the noise. "
                         "Deploy with random_state=None or device-held keys.")
        lines.append("  note: floating-point noise is not hardened against floating-point attacks (Mironov 2012)")
        return "\n".join(lines)


def _root_key(random_state):
    """A PRNG key from ``random_state``: OS entropy (secrets) for None, reproducible for an int."""
    if random_state is None:
        return jnp.asarray([secrets.randbits(32), secrets.randbits(32)], dtype=jnp.uint32), False
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, (int, np.integer)):
        raise TypeError("random_state must be None or a non-negative int, got "
                        f"{type(random_state).__name__}")
    if int(random_state) < 0:
        raise ValueError(f"random_state must be a non-negative int, got {random_state}")
    return jax.random.PRNGKey(int(random_state)), True


def _validate_Xy(est, X, y):
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y is None")
    return validate_estimator_data(est, X, y)


def _reject_fit_params(kwargs):
    if kwargs:
        names = ", ".join(sorted(kwargs))
        raise TypeError(f"fit() got unsupported argument(s) {names}: sample_weight is not supported "
                        "(weights would change the per-user sensitivity and void the guarantee)")


def _check_k(k, d, name="n_nonzero_coefs"):
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= d:
        raise ValueError(f"{name} must be an integer in [1, n_features={d}], got {k!r}")
    return int(k)


def _chunk_for(d: int) -> int:
    # keep a chunk's messages around 2^22 entries: O(chunk d^2) memory, independent of n
    D = d * (d + 1) // 2 + d
    c = max(16, min(4096, (1 << 22) // D))
    return 1 << (c.bit_length() - 1)


def _common_warnings(epsilon, delta, n, n_needed, what):
    if epsilon > 10:
        warnings.warn(f"epsilon={epsilon:g} > 10 gives a weak privacy guarantee", PrivacyWarning, stacklevel=4)
    if delta > 1.0 / n:
        warnings.warn(f"delta={delta:g} > 1/n_users={1.0 / n:.3g}: a mechanism may then leak whole records",
                      PrivacyWarning, stacklevel=4)
    if n < n_needed:
        warnings.warn(
            f"{what}: n_users={n} is below the {n_needed} users required_users() says are needed before the "
            "privacy noise stops dominating; expect an estimate no better than zero. Consider public_X "
            "(public unlabelled features), LDP-IHT, a larger epsilon or more users.",
            PrivacyWarning, stacklevel=4)


class _LDPBase(RegressorMixin, BaseEstimator):
    def predict(self, X):
        """Linear prediction X @ coef_ (no intercept: centre with public or separately privatised means)."""
        check_is_fitted(self, "coef_")
        X = validate_estimator_data(self, X, reset=False)
        return X @ self.coef_ + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = True
        return tags


class LDPSparseRegression(_LDPBase):
    """Non-interactive LDP sparse linear regression (Zhu, Ding, Aggarwal, Xu & Wang, ICLR 2024).

    Each row is one user who sends the noisy upper triangle of xbar xbar^T (xbar = x in the l2 ball of
    radius ``x_clip_l2``) and the noisy clipped cross term clip(x) clip(y); the server solves
    u = Sigma^-1 b and thresholds it. With ``public_X`` (public unlabelled rows) only the cross term is
    released and the covariance is public: a sqrt(d) better rate.

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
                 calibration="analytic", stabilize=None, refit=False, random_state=None):
        self.epsilon = epsilon
        self.delta = delta
        self.x_clip_l2 = x_clip_l2
        self.x_clip = x_clip
        self.y_clip = y_clip
        self.threshold = threshold
        self.lam = lam
        self.n_nonzero_coefs = n_nonzero_coefs
        self.public_X = public_X
        self.mechanism = mechanism
        self.calibration = calibration
        self.stabilize = stabilize
        self.refit = refit
        self.random_state = random_state

    def _check_params(self, d):
        if self.threshold not in proto.THRESHOLDS:
            raise ValueError(f"threshold must be one of {proto.THRESHOLDS}, got {self.threshold!r}")
        if self.stabilize not in proto.STABILIZERS:
            raise ValueError(f"stabilize must be one of {proto.STABILIZERS}, got {self.stabilize!r}")
        if self.mechanism not in mech.MECHANISMS:
            raise ValueError(f"mechanism must be one of {mech.MECHANISMS}, got {self.mechanism!r}")
        if self.calibration not in mech.CALIBRATIONS:
            raise ValueError(f"calibration must be one of {mech.CALIBRATIONS}, got {self.calibration!r}")
        eps = mech.check_epsilon(self.epsilon)
        dlt = mech.check_delta(self.delta, self.mechanism)
        lam = None
        if self.lam is not None:
            lam = mech._real(self.lam, "lam")
            if not (math.isfinite(lam) and lam >= 0):
                raise ValueError(f"lam must be a finite number >= 0, got {lam}")
        k = None
        if self.n_nonzero_coefs is not None:
            k = _check_k(self.n_nonzero_coefs, d)
        elif self.threshold == "topk":
            raise ValueError("n_nonzero_coefs is required with threshold='topk'")
        if not isinstance(self.refit, (bool, np.bool_)):
            raise ValueError(f"refit must be a bool, got {self.refit!r}")
        return eps, dlt, lam, k

    def _check_public_X(self, d):
        P = np.asarray(self.public_X)
        if P.dtype.kind not in "biuf":
            raise TypeError(f"public_X must be a real numeric array, got dtype {P.dtype}")
        P = P.astype(np.float64)
        if P.ndim != 2 or P.shape[1] != d:
            raise ValueError(f"public_X must have shape (m, n_features={d}), got {P.shape}")
        if not np.all(np.isfinite(P)):
            raise ValueError("public_X contains NaN or infinity; all values must be finite")
        if P.shape[0] < d:
            raise ValueError(f"public_X needs at least n_features={d} rows, got {P.shape[0]}")
        cov = P.T @ P / P.shape[0]
        if np.linalg.matrix_rank(cov) < d:
            raise ValueError("public_X is rank deficient: its covariance X^T X / m is singular")
        return cov

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
        _reject_fit_params(kwargs)
        X, y = _validate_Xy(self, X, y)
        n, d = X.shape
        eps, dlt, lam, k = self._check_params(d)
        public = self.public_X is not None
        cal = proto.nldp_calibration(d, epsilon=eps, delta=dlt, x_clip_l2=None if public else self.x_clip_l2,
                                     x_clip=self.x_clip, y_clip=self.y_clip, public_covariance=public,
                                     mechanism=self.mechanism, calibration=self.calibration)
        pub_cov = self._check_public_X(d) if public else None
        key, seeded = _root_key(self.random_state)
        # the calibration above serves the planner and the releases too (required_users and stream_nldp
        # would each compute it again from the same public parameters)
        need = _users_nldp(d, cal, 1.0 / math.sqrt(k or 1), float(self.y_clip), 1.0, 1.0, public)
        _common_warnings(eps, dlt, n, need, "LDPSparseRegression")
        chunk = _chunk_for(d)
        with enable_x64():
            chunks = ((X[s:s + chunk], y[s:s + chunk]) for s in range(0, n, chunk))
            sums = proto._stream_nldp(key, chunks, d, cal, x_clip_l2=None if public else self.x_clip_l2,
                                      x_clip=self.x_clip, y_clip=self.y_clip, public_covariance=public,
                                      mechanism=self.mechanism, chunk_size=min(chunk, next_pow2(n)), n_devices=1,
                                      start_index=0, dtype=np.float64)
            sums = proto.NLDPSums(None if sums.cov_triu is None else np.asarray(sums.cov_triu),
                                  np.asarray(sums.xy), np.asarray(sums.n_users))
            est = proto.server_estimate(sums, sigmas=(cal.sd_cov, cal.sd_xy), y_clip=self.y_clip,
                                        public_cov=pub_cov, lam=lam, threshold=self.threshold,
                                        n_nonzero_coefs=k, stabilize=self.stabilize, refit=bool(self.refit))
        self.coef_ = np.asarray(est.coef, dtype=np.float64)
        self.intercept_ = 0.0
        self.lambda_ = est.lam
        self.statistics_ = {
            "cov_triu": None if sums.cov_triu is None else np.asarray(sums.cov_triu) / n,
            "xy": np.asarray(sums.xy) / n,
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


class InteractiveLDPSparseRegression(_LDPBase):
    """Sequentially interactive LDP-IHT (Wang & Xu 2019) with the rectified sensitivity of Zhu et al.

    Users are split into ``n_rounds`` disjoint groups by a public permutation (independent of the
    data); in round t each user of group t sends one noisy gradient at the broadcast theta_{t-1}, and
    theta_t = Proj_{||.||_2 <= R}(H_k(theta_{t-1} - eta * mean gradient)). Every user reports once, so
    the total guarantee is (epsilon, delta), not T times it.

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

    Attributes
    ----------
    coef_, intercept_, n_features_in_
    n_rounds_ : int
    statistics_ : dict
        ``grad_means`` (T, d) noisy mean gradients per round, ``group_sizes``.
    privacy_ : PrivacyRecord
    """

    def __init__(self, epsilon, delta=1e-5, *, n_nonzero_coefs, n_rounds=None, step_size=1.0, radius=1.0,
                 x_clip=None, y_clip=None, random_state=None):
        self.epsilon = epsilon
        self.delta = delta
        self.n_nonzero_coefs = n_nonzero_coefs
        self.n_rounds = n_rounds
        self.step_size = step_size
        self.radius = radius
        self.x_clip = x_clip
        self.y_clip = y_clip
        self.random_state = random_state

    @compiled_entry
    def fit(self, X, y, **kwargs):
        """Run the T rounds of LDP-IHT over the users (rows of X, y). Returns self."""
        _reject_fit_params(kwargs)
        X, y = _validate_Xy(self, X, y)
        n, d = X.shape
        eps = mech.check_epsilon(self.epsilon)
        dlt = mech.check_delta(self.delta, "gaussian")
        k = _check_k(self.n_nonzero_coefs, d)
        T = 3 if self.n_rounds is None else self.n_rounds
        if isinstance(T, (bool, np.bool_)) or not isinstance(T, (int, np.integer)) or not 1 <= int(T) <= n:
            raise ValueError(f"n_rounds must be an integer in [1, n_users={n}], got {self.n_rounds!r}")
        T = int(T)
        eta = proto.check_clip(self.step_size, "step_size")
        R = proto.check_clip(self.radius, "radius")
        tx = proto.check_clip(self.x_clip, "x_clip")
        ty = proto.check_clip(self.y_clip, "y_clip")
        key, seeded = _root_key(self.random_state)
        # sigma of a report = unit(epsilon, delta) * sensitivity(theta): the calibration once per fit
        unit = mech.gaussian_sigma(1.0, eps, dlt)
        need = _users_iht(d, T, unit * mech.gradient_sensitivity(d, tx, ty, math.sqrt(k) * R), R / math.sqrt(k))
        _common_warnings(eps, dlt, n, need, "InteractiveLDPSparseRegression")
        k_part, k_noise = jax.random.split(key)
        groups = proto.iht_groups(k_part, n, T)
        sigmas, sens, means = [], [], []
        with enable_x64():
            theta = jnp.zeros(d)
            for g in groups:
                l1 = float(jnp.sum(jnp.abs(theta)))
                s = unit * mech.gradient_sensitivity(d, tx, ty, l1)   # = proto.iht_sigma(d, l1, ...)
                sigmas.append(float(s))
                sens.append(float(mech.gradient_sensitivity(d, tx, ty, l1)))
                gsum = proto.stream_iht_round(k_noise, X[g], y[g], g, theta, sigma=s, x_clip=tx, y_clip=ty,
                                              chunk_size=min(4096, next_pow2(len(g))), dtype=np.float64)
                means.append(np.asarray(gsum) / len(g))
                theta = proto.iht_step(theta, gsum, len(g), step_size=eta, n_nonzero_coefs=k, radius=R)
            coef = np.asarray(theta, dtype=np.float64)
        self.coef_ = coef
        self.intercept_ = 0.0
        self.n_rounds_ = T
        self.statistics_ = {"grad_means": np.stack(means), "group_sizes": np.array([len(g) for g in groups]),
                            "n_users": int(n)}
        self.privacy_ = PrivacyRecord(
            model="local, sequentially interactive", epsilon=eps, delta=dlt, mechanism="gaussian",
            calibration="analytic", sigmas=tuple(sigmas), sensitivities=tuple(sens),
            composition=f"one report per user (disjoint groups over {T} rounds): ({eps:g}, {dlt:g}) in total",
            x_clip_l2=None, x_clip=tx, y_clip=ty, n_users=int(n), seeded=seeded)
        return self
