"""The native whole-problem solver (solver="auto" / "native_cd" on CPU: sparsestat.regression.native_cd)
against the compiled working-set rounds (solver="ws_cd") on the same problems: single fits, batches,
paths and cross-validation give the same certified solutions; what it does not take is refused by name."""

import os

import numpy as np
import pytest
import scipy.sparse as sp

from sparsestat.linalg import enable_x64, native
from sparsestat.regression import L1, L1L2, MCP, Logistic, Quadratic, certify, solve, solve_batch, solve_path

pytestmark = pytest.mark.skipif(not native.available() or os.environ.get("SPARSESTAT_NATIVE", "1") == "0",
                                reason="native kernels not available")


def _data(seed=0, n=50, p=80):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:5] = [1.5, -1.0, 0.8, 0.5, -0.4]
    y = X @ w + 0.2 * rng.standard_normal(n) + 0.7
    return X, y, rng


@pytest.mark.parametrize("pen", [L1(0.05), L1(0.05, positive=True), L1L2(0.08, 0.5),
                                 L1(0.05, weights=np.linspace(0.5, 2.0, 80))],
                         ids=["l1", "positive", "enet", "weights"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_single_fit_equals_the_working_set_solver(pen, fit_intercept):
    X, y, rng = _data()
    s = rng.random(50) + 0.3
    with enable_x64():
        kw = dict(tol=1e-12, max_iter=100_000, sample_weight=s, fit_intercept=fit_intercept)
        a = solve(X, y, Quadratic(), pen, solver="native_cd", **kw)
        b = solve(X, y, Quadratic(), pen, solver="ws_cd", **kw)
        auto = solve(X, y, Quadratic(), pen, **kw)
        assert bool(a.converged) and bool(b.converged)
        np.testing.assert_allclose(a.coef, b.coef, atol=1e-8)
        np.testing.assert_allclose(a.intercept, b.intercept, atol=1e-8)
        np.testing.assert_array_equal(np.asarray(auto.coef), np.asarray(a.coef))   # auto takes it on CPU
        cert = certify(X, y, np.asarray(a.coef), float(a.intercept), Quadratic(), pen, sample_weight=s,
                       fit_intercept=fit_intercept, tol=1e-12)
        assert float(cert.gap) <= float(cert.target)


def test_a_batch_and_a_path_equal_the_working_set_solver():
    X, y, rng = _data(1)
    Y = np.stack([y, y[::-1], 2 * y])
    with enable_x64():
        pens = L1(np.array([0.02, 0.05, 0.1]))
        a = solve_batch(X, Y, Quadratic(), pens, solver="auto", tol=1e-12, max_iter=100_000)
        b = solve_batch(X, Y, Quadratic(), pens, solver="ws_cd", tol=1e-12, max_iter=100_000)
        np.testing.assert_allclose(np.asarray(a.coef), np.asarray(b.coef), atol=1e-8)
        grid = [L1L2(a_, 0.7) for a_ in np.geomspace(0.5, 0.005, 15)]
        pa = solve_path(X, Y, Quadratic(), grid, tol=1e-12, max_iter=100_000)
        pb = solve_path(X, Y, Quadratic(), grid, solver="ws_cd", tol=1e-12, max_iter=100_000)
        assert pa.converged.all() and pb.converged.all()
        np.testing.assert_allclose(pa.coef, pb.coef, atol=1e-7)
        np.testing.assert_allclose(pa.intercept, pb.intercept, atol=1e-7)


def test_what_it_does_not_take_is_refused_by_name():
    X, y, _ = _data(2)
    with pytest.raises(ValueError, match="native_cd"):
        solve(X, y, Quadratic(), MCP(0.1), solver="native_cd")
    with pytest.raises(ValueError, match="native_cd"):
        solve(X, np.sign(y), Logistic(), L1(0.01), solver="native_cd")
    with pytest.raises(ValueError, match="dense X"):
        solve(sp.csc_matrix(X), y, Quadratic(), L1(0.1), solver="native_cd")
    with pytest.raises(ValueError, match="dense X"):
        solve_path(sp.csc_matrix(X), y[None], Quadratic(), [L1(0.1), L1(0.05)], solver="native_cd")


@pytest.mark.parametrize("pen", [L1(0.01), L1(0.01, positive=True)], ids=["l1", "positive"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_logistic_fit_equals_the_working_set_prox_newton(pen, fit_intercept):
    """solver="auto" on CPU solves sparse logistic regression (unweighted l1) by one native call
    (linalg.native.logreg_path); solver="ws_prox_newton" keeps the compiled rounds. Same certified
    solutions, batches too; weighted l1 stays on the compiled rounds."""
    X, y, rng = _data(3)
    yb = np.where(y > np.median(y), 1.0, -1.0)
    s = rng.random(50) + 0.3
    with enable_x64():
        kw = dict(tol=1e-12, max_iter=100_000, sample_weight=s, fit_intercept=fit_intercept)
        a = solve(X, yb, Logistic(), pen, **kw)
        b = solve(X, yb, Logistic(), pen, solver="ws_prox_newton", **kw)
        assert bool(a.converged) and bool(b.converged)
        np.testing.assert_allclose(a.coef, b.coef, atol=1e-7)
        np.testing.assert_allclose(a.intercept, b.intercept, atol=1e-7)
        cert = certify(X, yb, np.asarray(a.coef), float(a.intercept), Logistic(), pen, sample_weight=s,
                       fit_intercept=fit_intercept, tol=1e-12)
        assert float(cert.gap) <= float(cert.target)
        Y = np.stack([yb, -yb, yb[::-1]])
        pens = L1(np.array([0.005, 0.01, 0.03]), positive=pen.positive)
        ba = solve_batch(X, Y, Logistic(), pens, tol=1e-12, max_iter=100_000, fit_intercept=fit_intercept)
        bb = solve_batch(X, Y, Logistic(), pens, solver="ws_prox_newton", tol=1e-12, max_iter=100_000,
                         fit_intercept=fit_intercept)
        np.testing.assert_allclose(np.asarray(ba.coef), np.asarray(bb.coef), atol=1e-7)
        for k in range(3):   # each problem of the batch as it is alone
            one = solve(X, Y[k], Logistic(), L1(float(pens.alpha[k]), positive=pen.positive), tol=1e-12,
                        max_iter=100_000, fit_intercept=fit_intercept)
            np.testing.assert_array_equal(np.asarray(ba.coef)[k], np.asarray(one.coef))


def test_logistic_path_equals_the_working_set_prox_newton():
    """solve_path with the logistic datafit and an unweighted l1 grid: one native call on CPU, the
    same certified path as the compiled rounds (ws_prox_newton), intercepts included."""
    X, y, rng = _data(4)
    Y = np.stack([np.where(y > np.median(y), 1.0, -1.0), np.where(y > np.mean(y) + 0.3, 1.0, -1.0)])
    s = rng.random(50) + 0.3
    grid = [L1(a) for a in np.geomspace(0.1, 0.002, 12)]
    with enable_x64():
        for fit_intercept in (True, False):
            kw = dict(tol=1e-11, max_iter=100_000, sample_weights=s, fit_intercept=fit_intercept)
            pa = solve_path(X, Y, Logistic(), grid, **kw)
            pb = solve_path(X, Y, Logistic(), grid, solver="ws_prox_newton", **kw)
            assert pa.converged.all() and pb.converged.all()
            np.testing.assert_allclose(pa.coef, pb.coef, atol=1e-6)
            np.testing.assert_allclose(pa.intercept, pb.intercept, atol=1e-6)
            for k in (0, 5, 11):
                cert = certify(X, Y[1], pa.coef[k, 1], float(pa.intercept[k, 1]), Logistic(), grid[k],
                               sample_weight=s, fit_intercept=fit_intercept, tol=1e-11)
                assert float(cert.gap) <= float(cert.target)
