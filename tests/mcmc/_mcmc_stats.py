"""Statistical helpers for the mcmc tests: exact targets, two-sample checks and batch-means MCSE."""

from __future__ import annotations

import numpy as np
from scipy import stats


def corr_cov(p, rho=0.6, scales=None):
    """AR(1)-correlated covariance with varied scales."""
    idx = np.arange(p)
    R = rho ** np.abs(idx[:, None] - idx[None, :])
    s = np.linspace(0.5, 2.0, p) if scales is None else np.asarray(scales)
    return R * np.outer(s, s)


def two_sample_checks(x, y, *, alpha, n_tests, m=None, C=None):
    """Per-coordinate two-sample KS (Bonferroni alpha / n_tests), mean and variance z with two-sample SEs
    (|z| < 4.5), and, when (m, C) are given, a KS test of the squared Mahalanobis distance
    (x - m)^T C^-1 (x - m) (joint / radial structure). Returns (ok, details)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    n, p = x.shape
    k = y.shape[0]
    cols_x, cols_y = [x[:, j] for j in range(p)], [y[:, j] for j in range(p)]
    if m is not None:
        Ci = np.linalg.inv(C)
        cols_x.append(np.einsum("ni,ij,nj->n", x - m, Ci, x - m))
        cols_y.append(np.einsum("ni,ij,nj->n", y - m, Ci, y - m))
    ks_p = np.array([stats.ks_2samp(a, b).pvalue for a, b in zip(cols_x, cols_y)])
    zm = (x.mean(0) - y.mean(0)) / np.sqrt(x.var(0) / n + y.var(0) / k)
    cx = (x - x.mean(0)) ** 2
    cy = (y - y.mean(0)) ** 2
    zv = (cx.mean(0) - cy.mean(0)) / np.sqrt(cx.var(0) / n + cy.var(0) / k)
    out = {"ks_min_p": float(ks_p.min()), "max_abs_z_mean": float(np.abs(zm).max()),
           "max_abs_z_var": float(np.abs(zv).max())}
    ok = out["ks_min_p"] > alpha / n_tests and out["max_abs_z_mean"] < 4.5 and out["max_abs_z_var"] < 4.5
    return ok, out


def batch_means_mcse(x, n_batches=50):
    """Batch-means Monte Carlo standard error of the mean of a 1-D series."""
    x = np.asarray(x, np.float64)
    b = len(x) // n_batches
    means = x[: b * n_batches].reshape(n_batches, b).mean(1)
    return means.std(ddof=1) / np.sqrt(n_batches)


def ar1(rng, chains, draws, dim, phi):
    """AR(1) chains (chains, draws, dim): x_t = phi x_{t-1} + e_t, standard normal innovations."""
    x = np.zeros((chains, draws, dim))
    e = rng.standard_normal((chains, draws, dim))
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x
