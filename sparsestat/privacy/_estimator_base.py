"""What the two LDP estimator shells share: input checks at the boundary, the root key from
``random_state``, the privacy warnings of a fit, and the scikit-learn base class (predict, tags)."""

from __future__ import annotations

import math
import secrets
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import validate_estimator_data
from ..exceptions import PrivacyWarning
from . import mechanisms as mech
from .estimation import STABILIZERS, THRESHOLDS


def root_key(random_state, distributed=False):
    """A PRNG key from ``random_state``: OS entropy (secrets) for None, reproducible for an int. With
    several processes, process 0's entropy goes to all (the LDP-IHT groups must agree)."""
    if random_state is None:
        bits = np.asarray([secrets.randbits(32), secrets.randbits(32)], dtype=np.uint32)
        if distributed:
            from ..linalg.multiprocess import broadcast

            bits = broadcast(bits, "the root key")
        return jnp.asarray(bits, dtype=jnp.uint32), False
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, (int, np.integer)):
        raise TypeError("random_state must be None or a non-negative int, got "
                        f"{type(random_state).__name__}")
    if int(random_state) < 0:
        raise ValueError(f"random_state must be a non-negative int, got {random_state}")
    return jax.random.PRNGKey(int(random_state)), True


def validate_Xy(est, X, y, kwargs):
    """Refuse fit parameters (sample_weight would change the sensitivity) and validate X, y."""
    if kwargs:
        names = ", ".join(sorted(kwargs))
        raise TypeError(f"fit() got unsupported argument(s) {names}: sample_weight is not supported "
                        "(weights would change the per-user sensitivity and void the guarantee)")
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y is None")
    return validate_estimator_data(est, X, y)


def global_users(est, X):
    """(n_users over every process, d): ``X`` is the local block when ``est.distributed``."""
    if not isinstance(est.distributed, (bool, np.bool_)):
        raise ValueError(f"distributed must be a bool, got {est.distributed!r}")
    n, d = X.shape
    if est.distributed:
        from ..linalg.multiprocess import allgather_blocks, block_sizes

        n = int(block_sizes(n).sum())
        widths = allgather_blocks(np.array([d], np.int64), "the number of features")
        if np.any(widths != d):
            raise ValueError(f"X has {d} features here but {widths.tolist()} across the processes; every "
                             "process must hold the same features")
    return n, d


def check_k(k, d, name="n_nonzero_coefs"):
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= d:
        raise ValueError(f"{name} must be an integer in [1, n_features={d}], got {k!r}")
    return int(k)


def check_nldp_params(est, d):
    """(epsilon, delta, lam, k) of an :class:`~sparsestat.privacy.LDPSparseRegression`, validated."""
    mech.check_choice(est.threshold, "threshold", THRESHOLDS)
    mech.check_choice(est.stabilize, "stabilize", STABILIZERS)
    mech.check_choice(est.mechanism, "mechanism", mech.MECHANISMS)
    mech.check_choice(est.calibration, "calibration", mech.CALIBRATIONS)
    eps = mech.check_epsilon(est.epsilon)
    dlt = mech.check_delta(est.delta, est.mechanism)
    lam = None
    if est.lam is not None:
        lam = mech._real(est.lam, "lam")
        if not (math.isfinite(lam) and lam >= 0):
            raise ValueError(f"lam must be a finite number >= 0, got {lam}")
    k = None
    if est.n_nonzero_coefs is not None:
        k = check_k(est.n_nonzero_coefs, d)
    elif est.threshold == "topk":
        raise ValueError("n_nonzero_coefs is required with threshold='topk'")
    if not isinstance(est.refit, (bool, np.bool_)):
        raise ValueError(f"refit must be a bool, got {est.refit!r}")
    return eps, dlt, lam, k


def public_covariance(public_X, d):
    """X_pub^T X_pub / m of public unlabelled rows (m >= d, finite, full rank)."""
    P = np.asarray(public_X)
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


def chunk_for(d: int) -> int:
    # keep a chunk's messages around 2^22 entries: O(chunk d^2) memory, independent of n
    D = d * (d + 1) // 2 + d
    c = max(16, min(4096, (1 << 22) // D))
    return 1 << (c.bit_length() - 1)


def warn_fit(epsilon, delta, n, n_needed, what):
    """PrivacyWarning for a weak epsilon, a delta above 1/n and fewer users than required_users."""
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


class LDPBase(RegressorMixin, BaseEstimator):
    """predict and scikit-learn tags of the LDP estimators."""

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
