"""Unpenalised refits on one solution's columns (post-processing for the estimator's predictions;
the GEMSS model itself has no intercept and is not refitted).

``likelihood="gaussian"``: ordinary least squares with intercept (:func:`sparsestat.linalg.lstsq`),
loss the residual sum of squares. ``likelihood="logistic"``: logistic regression with intercept by
Newton's method on the shared logistic loss (:mod:`sparsestat.linalg.losses`, labels 2y - 1; a ridge
of 1e-6 keeps separable data finite), loss the deviance ``-2 sum bernoulli_loglik(eta, y)``. Both
run in float64 and pad the design with zero columns to a power-of-two width, so solutions of new
sizes reuse a few compiled programs (a zero column gets exactly 0: the minimum-norm least-squares
solution, and a zero gradient with curvature ``ridge`` in the Newton step).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..linalg import enable_x64, lstsq
from ..linalg.losses import bernoulli_loglik, logistic_curvature, logistic_grad
from ..linalg.shapes import next_pow2

__all__ = ["refit", "newton_logistic"]

NEWTON_RIDGE = 1e-6
NEWTON_MAX_ITER = 30
NEWTON_TOL = 1e-9


@jax.jit
def _newton_logistic_jit(A, y01):
    labels = 2.0 * y01 - 1.0
    eye = jnp.eye(A.shape[1], dtype=A.dtype)

    def step(c):
        i, w, _ = c
        eta = A @ w
        g = -(A.T @ logistic_grad(eta, labels)) - NEWTON_RIDGE * w  # ascent direction of the loglik
        H = (A * logistic_curvature(eta, labels)[:, None]).T @ A + NEWTON_RIDGE * eye
        delta = jnp.linalg.solve(H, g)
        w = w + delta
        return i + 1, w, jnp.max(jnp.abs(delta)) < NEWTON_TOL * (1 + jnp.max(jnp.abs(w)))

    init = (jnp.zeros((), jnp.int32), jnp.zeros(A.shape[1], A.dtype), jnp.zeros((), bool))
    _, w, _ = jax.lax.while_loop(lambda c: (c[0] < NEWTON_MAX_ITER) & ~c[2], step, init)
    return w, -2.0 * jnp.sum(bernoulli_loglik(A @ w, y01))


def newton_logistic(A, y01):
    """Unpenalised logistic regression of labels ``y01`` in {0, 1} on the columns of ``A``.

    Newton's method (at most 30 steps, stopped when the step is below 1e-9 relative) on the shared
    logistic loss with a 1e-6 ridge; runs in float64.

    Parameters
    ----------
    A : ndarray (n, k)
        Design (include a column of ones for an intercept).
    y01 : ndarray (n,)
        Labels in {0, 1}.

    Returns
    -------
    coef : ndarray (k,)
    deviance : float
        ``-2 sum_i bernoulli_loglik(a_i^T coef, y_i)``.
    """
    with enable_x64():
        w, dev = _newton_logistic_jit(jnp.asarray(A, jnp.float64), jnp.asarray(y01, jnp.float64))
        return np.asarray(w), float(dev)


def refit(X, y, support, likelihood: str):
    """Refit with intercept on the columns ``support`` of the zero-filled training ``X``.

    Parameters
    ----------
    X : ndarray (n, p)
        Zero-filled training design.
    y : ndarray (n,)
        Response (labels in {0, 1} for "logistic").
    support : ndarray of int
        Columns of the solution.
    likelihood : {"gaussian", "logistic"}

    Returns
    -------
    intercept : float
    coef : ndarray (len(support),)
    loss : float
        Residual sum of squares ("gaussian") or deviance ("logistic").
    """
    n = len(y)
    A = np.column_stack([np.ones(n), X[:, support]])
    k = A.shape[1]
    # the width stays <= n when k <= n, so lstsq's default cutoff eps * max(n, width) is unchanged
    Ap = np.zeros((n, next_pow2(k, cap=max(n, k))))
    Ap[:, :k] = A
    if likelihood == "logistic":
        w, loss = newton_logistic(Ap, y)
        w = w[:k]
    else:
        with enable_x64():
            w = np.asarray(lstsq(jnp.asarray(Ap), jnp.asarray(y)))[:k]
        loss = float(np.sum((y - A @ w) ** 2))  # host-side: a few k-column products
    return float(w[0]), w[1:], loss
