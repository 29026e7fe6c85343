"""solve_path: a warm-started grid as one compiled program equals the loop of solves; bad input is refused
with named errors."""

import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.linalg import enable_x64
from sparsestat.regression import L1, MCPRegression, Quadratic, solve_path

from ._data import problem


@pytest.mark.slow   # compiles the single-solve programs at a shape of its own (about 7 s cold)
def test_path_equals_a_loop_of_warm_started_solves():
    from sparsestat.regression import solve_batch
    X, y, _ = problem(50, 300, seed=3)
    amax = np.max(np.abs(X.T @ y)) / 50
    grid = amax * np.geomspace(1, 1e-3, 12)
    with enable_x64():
        res = solve_path(X, y[None], Quadratic(), [L1(a) for a in grid], tol=1e-10, fit_intercept=False)
        W = None
        for k, a in enumerate(grid):
            one = solve_batch(X, y[None], Quadratic(), L1(a), tol=1e-10, W0=W, fit_intercept=False)
            W = np.asarray(one.coef)
            # the same solutions, not the same iterates: the path starts each alpha from a prediction
            # (the last two solutions extrapolated), a loop from the previous solution. Both are
            # certified to the gap target, so the objectives agree to it, and the coefficients to what
            # the objective's curvature on their joint support allows: 1/2 lam_min |w - w*|^2 <= gap
            # for each, lam_min the smallest eigenvalue of X_S^T X_S / n (8e-4 at the small alphas,
            # support = n = 50: up to 2.8e-3 apart; measured 1.2e-4)
            obj = lambda c: 0.5 * np.mean((y - X @ c) ** 2) + a * np.abs(c).sum()  # noqa: E731
            target = 1e-10 * float(np.mean(y ** 2))
            c = np.asarray(res.coef[k, 0])
            assert abs(obj(c) - obj(W[0])) <= target
            S = np.flatnonzero((c != 0) | (W[0] != 0))
            if S.size:
                assert S.size <= 50   # a support of at most n features: the curvature bound applies
                lam_min = np.linalg.eigvalsh(X[:, S].T @ X[:, S] / 50)[0]
                assert np.linalg.norm(c - W[0]) <= 2 * np.sqrt(2 * target / lam_min)
            assert res.gap[k, 0] <= 1e-10 * float(jnp.mean(jnp.asarray(y) ** 2)) * 1.0001
            assert bool(res.converged[k, 0])



@pytest.mark.parametrize("kwargs, err, match", [
    (dict(X=np.zeros(5)), ValueError, "X must be 2-D"),
    (dict(X=np.full((4, 3), np.nan)), ValueError, "X contains NaN"),
    (dict(Y=np.zeros((1, 5))), ValueError, "Y must have shape"),
    (dict(Y=np.full((1, 4), np.inf)), ValueError, "Y contains NaN"),
    (dict(W0=np.zeros((1, 2))), ValueError, "W0 must have shape"),
    (dict(tol=-1e-6), ValueError, "tol must be"),
    (dict(max_iter=0), ValueError, "max_iter must be"),
    (dict(penalties=[]), ValueError, "penalties is empty"),
    (dict(penalties=[L1(0.1), MCPRegression]), TypeError, "one kind"),
    (dict(datafit="quadratic"), TypeError, "datafit must be"),
])
def test_solve_path_rejects_bad_input(kwargs, err, match):
    args = dict(X=np.ones((4, 3)), Y=np.ones((1, 4)), datafit=Quadratic(), penalties=[L1(0.1)])
    opts = {k: kwargs.pop(k) for k in ("W0", "tol", "max_iter") if k in kwargs}
    args.update(kwargs)
    with pytest.raises(err, match=match):
        solve_path(args["X"], args["Y"], args["datafit"], args["penalties"], **opts)
