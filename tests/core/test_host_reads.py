"""No host round trip per iteration: the number of device-to-host reads of a fit does not grow with the
number of iterations, rounds or alphas (issue 23).

Reads are counted at every Python entry point of a transfer (tests/_host_reads.py). The numbers of
464d757, where the host drove each round, for the cases below: a Lasso fit at alpha_max / 1000 on
60 x 300 made 419 reads (one per round), MCP 15, sparse logistic 24 (now 7 each), and a path's reads
grew with its grid (85 / 568 for 5 / 40 alphas on a 60 x 100 problem; now 2 / 2).
"""

import numpy as np

from sparsestat.regression import Lasso, LassoCV, MCPRegression, SparseLogisticRegression, lasso_path
from sparsestat.sbl import SBLRegression

from .._host_reads import steady_state_reads as reads


def _data(n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X[:, :5] @ np.ones(5) + 0.1 * rng.standard_normal(n)
    return X, y


def test_single_fits_read_a_constant_handful():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 300))
    y = X[:, :40] @ rng.standard_normal(40) + 0.1 * rng.standard_normal(60)
    amax = np.max(np.abs((X - X.mean(0)).T @ (y - y.mean()))) / 60
    # one round (large alpha) or hundreds (alpha_max / 1000, tol 1e-10): the same few reads
    few = reads(lambda: Lasso(alpha=0.5 * amax).fit(X, y))
    many = reads(lambda: Lasso(alpha=0.001 * amax, tol=1e-10, max_iter=100000).fit(X, y))
    assert many == few <= 8
    assert reads(lambda: MCPRegression(alpha=0.01 * amax, tol=1e-10).fit(X, y)) <= 8
    assert reads(lambda: SparseLogisticRegression(alpha=0.001, tol=1e-10).fit(X, y > 0)) <= 8


def test_a_path_is_one_program():
    X, y = _data(60, 100)
    # 5 or 40 alphas: the same reads (one transfer of the results, then the intercepts' inputs)
    r5 = reads(lambda: lasso_path(X, y, alphas=5))
    r40 = reads(lambda: lasso_path(X, y, alphas=40, eps=1e-4))
    assert r40 == r5 <= 4
    # CV: one path per fold, then the refit
    assert reads(lambda: LassoCV(cv=3, alphas=5).fit(X, y)) <= 3 * r5 + 8   # + a single fit's <= 8


def test_sbl_reads_do_not_grow_with_iterations():
    X, y = _data(60, 30)
    assert reads(lambda: SBLRegression(max_iter=20).fit(X, y)) == reads(
        lambda: SBLRegression(max_iter=400, tol=1e-14).fit(X, y))
