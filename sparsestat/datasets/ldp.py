"""Synthetic user populations for local differential privacy (the data model of Zhu et al. 2024's
experiments as fixed in the sparsestat spec): x ~ N(0, I_d), theta* with k entries +-1/sqrt(k)
(||theta*||_2 = 1, so an l2 error of 1.0 equals returning zero), y = <x, theta*> + N(0, noise^2).
"""

from __future__ import annotations

import math
from typing import Iterator, NamedTuple

import numpy as np

__all__ = ["make_ldp_users", "ldp_user_chunks", "ldp_public_bounds", "LDPBounds"]


class LDPBounds(NamedTuple):
    """Public, data-independent clip levels for the data model: tau_x, tau_y, r."""

    x_clip: float
    y_clip: float
    x_clip_l2: float


def ldp_public_bounds(n_features: int, noise: float = 0.5) -> LDPBounds:
    """The spec's public bounds for this data model: tau_x = 3, tau_y = 3 sqrt(1 + noise^2),
    r = sqrt(d) + 2.5 (chosen from the model, never from data)."""
    return LDPBounds(3.0, 3.0 * math.sqrt(1.0 + noise ** 2), math.sqrt(n_features) + 2.5)


def _coef(rng, d, k):
    coef = np.zeros(d)
    support = np.sort(rng.choice(d, size=k, replace=False))
    coef[support] = rng.choice([-1.0, 1.0], size=k) / math.sqrt(k)
    return coef


def _check(n_users, n_features, n_nonzero, noise):
    from .._validation import check_int, check_nonnegative

    check_int(n_users, "n_users", lower=1)
    n_features = check_int(n_features, "n_features", lower=1)
    check_int(n_nonzero, "n_nonzero", lower=1, upper=n_features)
    check_nonnegative(noise, "noise")


def make_ldp_users(n_users: int = 10000, n_features: int = 50, n_nonzero: int = 5, *, noise: float = 0.5,
                   random_state=None):
    """One row per user from the LDP data model.

    Parameters
    ----------
    n_users, n_features, n_nonzero : int
        n, d and k.
    noise : float
        Standard deviation of the label noise (0.5 in the spec).
    random_state : int or None

    Returns
    -------
    X : ndarray (n_users, n_features)
    y : ndarray (n_users,)
    coef : ndarray (n_features,)
        theta*, with ||theta*||_2 = 1.
    """
    _check(n_users, n_features, n_nonzero, noise)
    rng = np.random.default_rng(random_state)
    coef = _coef(rng, int(n_features), int(n_nonzero))
    X = rng.standard_normal((int(n_users), int(n_features)))
    y = X @ coef + noise * rng.standard_normal(int(n_users))
    return X, y, coef


def ldp_user_chunks(n_users: int, n_features: int = 50, n_nonzero: int = 5, *, noise: float = 0.5,
                    chunk_size: int = 100_000, random_state=None, coef=None) -> tuple[np.ndarray, Iterator]:
    """Stream a population too large for memory: returns (coef, iterator of (X_chunk, y_chunk)).

    The draws depend on ``chunk_size`` (each chunk is generated in one call); memory is
    O(chunk_size * n_features).
    """
    _check(n_users, n_features, n_nonzero, noise)
    rng = np.random.default_rng(random_state)
    if coef is None:
        coef = _coef(rng, int(n_features), int(n_nonzero))
    coef = np.asarray(coef, dtype=np.float64)

    def gen():
        left = int(n_users)
        while left > 0:
            m = min(left, int(chunk_size))
            X = rng.standard_normal((m, int(n_features)))
            yield X, X @ coef + noise * rng.standard_normal(m)
            left -= m

    return coef, gen()
