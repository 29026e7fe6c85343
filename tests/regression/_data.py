"""Shared small problems (few distinct shapes so compiled executables are reused across tests)."""

import numpy as np


def problem(n, p, k=5, seed=0, noise=0.5, offset=1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1] = 0.7 * X[:, 0] + 0.3 * X[:, 1]
    w = np.zeros(p)
    w[rng.choice(p, k, replace=False)] = rng.choice([-1.0, 1.0], k) * rng.uniform(0.5, 2.0, k)
    y = X @ w + noise * rng.standard_normal(n) + offset
    return X, y, w


def weights(n, seed=1):
    return np.random.default_rng(seed).uniform(0.2, 2.0, n)


def quad_objective(X, y, w, b, alpha, l1_ratio=1.0, sw=None):
    s = np.ones(len(y)) if sw is None else np.asarray(sw) / np.mean(sw)
    r = y - X @ w - b
    return 0.5 * np.mean(s * r * r) + alpha * l1_ratio * np.abs(w).sum() + 0.5 * alpha * (1 - l1_ratio) * w @ w


def alpha_max(X, y, fit_intercept, sw=None, l1_ratio=1.0):
    s = np.ones(len(y)) if sw is None else np.asarray(sw, float)
    if fit_intercept:
        Xc = X - s @ X / s.sum()
        yc = y - s @ y / s.sum()
    else:
        Xc, yc = X, y
    return np.max(np.abs(Xc.T @ (s * yc))) / s.sum() / l1_ratio


def numpy_gap(X, y, w, alpha, l1_ratio=1.0, fit_intercept=True, sw=None, positive=False):
    """Independent duality gap (scikit-learn's formulas, weighted), objective units, intercept optimal:
    formulation A for l1 > 0, the ridge formulation B (elastic-net dual at theta = r) for l1 = 0."""
    n = len(y)
    s = np.ones(n) if sw is None else np.asarray(sw, float)
    om = s / s.sum()
    if fit_intercept:
        Xc = X - om @ X
        yc = y - om @ y
    else:
        Xc, yc = X, y
    r = yc - Xc @ w
    l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
    xta = Xc.T @ (om * r) - l2 * w
    dn = xta.max() if positive else np.abs(xta).max()
    c = min(1.0, l1 / dn) if dn > 0 else 1.0
    R2 = om @ (r * r)
    primal = 0.5 * R2 + l1 * np.abs(w).sum() + 0.5 * l2 * w @ w
    dual = c * (om @ (r * yc)) - 0.5 * c * c * (R2 + l2 * w @ w)
    if l1 == 0 and l2 > 0:
        corr = Xc.T @ (om * r)
        s_ = np.maximum(corr, 0.0) if positive else np.abs(corr)
        dual = om @ (r * yc) - 0.5 * R2 - s_ @ s_ / (2 * l2)
    return primal - dual, primal, dual
