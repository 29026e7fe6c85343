"""A new hyperparameter value never compiles: alpha, l1_ratio, gamma, tol, k and max_iter are traced.

Each test warms the shapes with one call, then counts compilations (lowerings of jitted programs,
tests/_compiles.py) over five further values and asserts none, and that the results changed (a value
that were ignored would pass the count). The problems are 40 x 60 (padded to 64 x 64: one working-set
bucket), so the whole file shares a handful of executables.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sparsestat.regression import (L0, L1, L1L2, MCP, SCAD, ElasticNet, L0Regression, Lasso, Logistic,
                                   MCPRegression, Quadratic, SCADRegression, SparseLogisticRegression,
                                   lasso_path, solve)
from tests._compiles import compile_counts


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 60))
    w = np.zeros(60)
    w[:4] = [2.0, -1.5, 1.0, 0.5]
    y = X @ w + 0.3 * rng.standard_normal(40)
    amax = np.max(np.abs(X.T @ (y - y.mean()))) / 40
    return X, y, amax


def _assert_once(counts, outputs):
    assert [c.n for c in counts[1:]] == [0] * (len(counts) - 1), counts
    distinct = {np.round(np.asarray(o, dtype=float), 10).tobytes() for o in outputs}
    assert len(distinct) == len(outputs), "results did not change with the hyperparameter"


FRACTIONS = [0.5, 0.3, 0.2, 0.1, 0.05, 0.03]


@pytest.mark.parametrize("make", [
    lambda a: Lasso(alpha=a),
    lambda a: ElasticNet(alpha=a, l1_ratio=0.7),
    lambda a: MCPRegression(alpha=a, gamma=3.0),
    lambda a: SCADRegression(alpha=a, gamma=3.7),
], ids=["Lasso", "ElasticNet", "MCP", "SCAD"])
def test_estimator_alpha(data, make):
    X, y, amax = data
    out = []
    counts = compile_counts(lambda f: out.append(make(f * amax).fit(X, y).coef_), FRACTIONS)
    _assert_once(counts, out)


@pytest.mark.parametrize("make, values, frac", [
    (lambda v, a: ElasticNet(alpha=a, l1_ratio=v), [0.9, 0.8, 0.6, 0.5, 0.3, 0.2], 0.05),
    (lambda v, a: MCPRegression(alpha=a, gamma=v), [1.5, 2.0, 3.0, 4.0, 6.0, 10.0], 0.3),
    (lambda v, a: SCADRegression(alpha=a, gamma=v), [2.5, 3.0, 3.7, 5.0, 8.0, 12.0], 0.3),
], ids=["l1_ratio", "mcp-gamma", "scad-gamma"])
def test_estimator_other_hyperparameters(data, make, values, frac):
    X, y, amax = data
    out = []
    counts = compile_counts(lambda v: out.append(make(v, frac * amax).fit(X, y).coef_), values)
    _assert_once(counts, out)


def test_estimator_tol_and_max_iter(data):
    X, y, amax = data
    rng = np.random.default_rng(0)
    Xc = X + 3.0 * rng.standard_normal((40, 1))  # strongly correlated columns: CD needs many epochs
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = compile_counts(
            lambda v: out.append([Lasso(alpha=0.01 * amax, tol=v[0], max_iter=v[1]).fit(Xc, y).dual_gap_]),
            [(1e-12, 5), (1e-12, 10), (1e-12, 20), (1e-12, 35), (1e-6, 100), (1e-12, 60)])
    _assert_once(counts, out)


def test_l0_regression_k(data):
    X, y, _ = data
    out = []
    # k in 5..8 share the polishing bucket (capacity 8): a new k in the bucket compiles nothing
    counts = compile_counts(lambda k: out.append(L0Regression(n_nonzero_coefs=k).fit(X, y).coef_),
                            [5, 6, 7, 8])
    _assert_once(counts, out)


def test_sparse_logistic_alpha(data):
    X, y, _ = data
    lab = (y > np.median(y)).astype(int)
    out = []
    counts = compile_counts(
        lambda a: out.append(SparseLogisticRegression(alpha=a).fit(X, lab).coef_),
        [0.1, 0.05, 0.03, 0.02, 0.01, 0.005])
    _assert_once(counts, out)


@pytest.mark.parametrize("pen", [
    lambda a: L1(a), lambda a: L1L2(a, 0.5), lambda a: MCP(a, 3.0), lambda a: SCAD(a, 3.7),
], ids=["L1", "L1L2", "MCP", "SCAD"])
@pytest.mark.parametrize("solver", ["auto", "fista"])
def test_solve_alpha(data, pen, solver):
    X, y, amax = data
    out = []
    counts = compile_counts(
        lambda f: out.append(solve(X, y, Quadratic(), pen(f * amax), solver=solver, tol=1e-6,
                                   max_iter=300).coef), FRACTIONS)
    _assert_once(counts, out)


def test_solve_logistic_and_l0(data):
    X, y, amax = data
    out = []
    counts = compile_counts(lambda a: out.append(solve(X, np.sign(y), Logistic(), L1(a)).coef),
                            [0.2, 0.1, 0.05, 0.03, 0.02])
    _assert_once(counts, out)
    out = []
    counts = compile_counts(lambda k: out.append(solve(X, y, Quadratic(), L0(k, capacity=8)).coef), [3, 4, 5, 6])
    _assert_once(counts, out)


def test_lasso_path_new_grid(data):
    X, y, amax = data
    out = []
    counts = compile_counts(lambda f: out.append(lasso_path(X, y, alphas=amax * f * np.array([1.0, 0.5, 0.2]))[1]),
                            [0.9, 0.7, 0.5, 0.3])
    _assert_once(counts, out)
