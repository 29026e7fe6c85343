"""JAX semantics (jit, vmap, determinism, x64 scope, 4-device sharding), sample weights, bad input,
convergence reporting, L0 against abess."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.exceptions import ConvergenceWarning
from sparsestat.linalg import enable_x64
from sparsestat.regression import (L0, L1, MCP, SCAD, ElasticNet, L0Regression, Lasso, LassoCV, MCPRegression,
                                   PreconditionedLasso, Quadratic, SCADRegression, SparseLogisticRegression, solve)

from ._data import alpha_max, problem, weights


def test_jit_equals_eager_and_vmap_equals_loop(x64):
    X, y, _ = problem(40, 60, seed=20)
    amax = alpha_max(X, y, True)
    f = lambda a: solve(X, y, Quadratic(), L1(a), solver="fista", tol=1e-13, max_iter=20000).coef
    eager = f(0.2 * amax)
    jitted = jax.jit(f)(0.2 * amax)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), atol=1e-10)
    alphas = jnp.array([0.5, 0.2, 0.1]) * amax
    batched = jax.vmap(f)(alphas)
    for i, a in enumerate(alphas):
        ref = solve(X, y, Quadratic(), L1(float(a)), tol=1e-13).coef
        np.testing.assert_allclose(np.asarray(batched[i]), np.asarray(ref), atol=1e-8)
    # vmap over problems (different targets)
    Y = jnp.stack([jnp.asarray(y), jnp.asarray(y[::-1])])
    g = lambda yy: solve(X, yy, Quadratic(), L1(0.2 * amax), tol=1e-13, max_iter=20000).coef
    out = jax.vmap(g)(Y)
    ref1 = solve(X, y[::-1], Quadratic(), L1(0.2 * amax), tol=1e-13).coef
    np.testing.assert_allclose(np.asarray(out[1]), np.asarray(ref1), atol=1e-8)


def test_estimator_attributes_numpy_deterministic_and_scoped_x64():
    X, y, _ = problem(40, 60, seed=21)
    flag = jax.config.read("jax_enable_x64")
    m1 = Lasso(alpha=0.05).fit(X, y)
    m2 = Lasso(alpha=0.05).fit(X, y)
    assert jax.config.read("jax_enable_x64") == flag
    assert type(m1.coef_) is np.ndarray and isinstance(m1.intercept_, float)
    assert np.array_equal(m1.coef_, m2.coef_)
    Y = np.column_stack([y, 2 * y])
    mm = Lasso(alpha=0.05, tol=1e-12).fit(X, Y)
    assert mm.coef_.shape == (2, 60)
    np.testing.assert_allclose(mm.coef_[0], Lasso(alpha=0.05, tol=1e-12).fit(X, y).coef_, atol=1e-9)


def test_sample_weight_semantics():
    X, y, _ = problem(40, 60, seed=22)
    rng = np.random.default_rng(0)
    sw = rng.integers(0, 3, 40).astype(float)
    sw[0] = 2.0
    m = Lasso(alpha=0.05, tol=1e-13).fit(X, y, sample_weight=sw)
    rep = np.repeat(np.arange(40), sw.astype(int))
    m_rep = Lasso(alpha=0.05, tol=1e-13).fit(X[rep], y[rep])
    np.testing.assert_allclose(m.coef_, m_rep.coef_, atol=1e-8)
    np.testing.assert_allclose(m.intercept_, m_rep.intercept_, atol=1e-8)
    m_scaled = Lasso(alpha=0.05, tol=1e-13).fit(X, y, sample_weight=7.5 * sw)
    np.testing.assert_allclose(m.coef_, m_scaled.coef_, atol=1e-10)
    keep = sw > 0
    m_del = Lasso(alpha=0.05, tol=1e-13).fit(X[keep], y[keep], sample_weight=sw[keep])
    np.testing.assert_allclose(m.coef_, m_del.coef_, atol=1e-8)


def test_bad_input_raises():
    X, y, _ = problem(40, 60, seed=23)
    with pytest.raises(ValueError, match="alpha"):
        Lasso(alpha=-1).fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio"):
        ElasticNet(l1_ratio=1.5).fit(X, y)
    with pytest.raises(ValueError, match="gamma"):
        MCPRegression(gamma=1.0).fit(X, y)
    with pytest.raises(ValueError, match="gamma"):
        SCADRegression(gamma=2.0).fit(X, y)
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        L0Regression(n_nonzero_coefs=61).fit(X, y)
    with pytest.raises(ValueError, match="tol"):
        Lasso(tol=-1e-4).fit(X, y)
    with pytest.raises(ValueError, match="max_iter"):
        Lasso(max_iter=0).fit(X, y)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Lasso().fit(Xn, y)
    with pytest.raises(ValueError, match="(?i)sample.?weight"):
        Lasso().fit(X, y, sample_weight=np.zeros(40))
    with pytest.raises(ValueError, match="(?i)negative"):
        Lasso().fit(X, y, sample_weight=-np.ones(40))
    with pytest.raises(ValueError, match="class"):
        SparseLogisticRegression().fit(X, np.ones(40))
    with pytest.raises(ValueError, match="binary"):
        SparseLogisticRegression().fit(X, np.arange(40) % 3)
    with pytest.raises(ValueError):
        LassoCV(cv=1).fit(X, y)
    with pytest.raises(ValueError, match="puffer"):
        PreconditionedLasso(preconditioner="puffer").fit(X[:, :20], y)
    with pytest.raises(ValueError, match="singular"):
        PreconditionedLasso(preconditioner=lambda A: ("right", np.zeros((60, 60)))).fit(X, y)
    from sparsestat.regression import Logistic

    with pytest.raises(NotImplementedError):
        solve(X, y, Logistic(), L0(3))


def test_convergence_warning_and_alpha_zero():
    X, y, _ = problem(40, 60, seed=24)
    with pytest.warns(ConvergenceWarning, match="certificate"):
        m = Lasso(alpha=0.01, max_iter=1).fit(X, y)
    assert not m.converged_
    with pytest.warns(UserWarning, match="LinearRegression"):
        m = Lasso(alpha=0.0).fit(X[:, :10], y)
    np.testing.assert_allclose(m.coef_, np.linalg.lstsq(X[:, :10] - X[:, :10].mean(0), y - y.mean(), rcond=None)[0],
                               atol=1e-10)


def test_l0_support_recovery_vs_abess():
    from sparsestat.datasets import make_correlated_regression

    X, y, w = make_correlated_regression(300, 120, 8, random_state=0)
    m = L0Regression(n_nonzero_coefs=8, fit_intercept=False, tol=1e-10).fit(X, y)
    assert m.converged_
    assert set(np.flatnonzero(m.coef_)) == set(np.flatnonzero(w))
    P = lambda c: 0.5 * np.mean((y - X @ c) ** 2)
    abess = pytest.importorskip("abess")
    ab = abess.LinearRegression(support_size=[8], fit_intercept=False).fit(X, y)
    assert set(np.flatnonzero(ab.coef_)) == set(np.flatnonzero(m.coef_))
    assert P(m.coef_) <= P(ab.coef_) * (1 + 1e-9)


def test_preconditioned_lasso():
    X, y, _ = problem(40, 60, seed=25)
    a = 0.05
    ident = PreconditionedLasso(alpha=a, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(ident.coef_, Lasso(alpha=a, tol=1e-12).fit(X, y).coef_, atol=1e-12)
    st = PreconditionedLasso(alpha=a, preconditioner="standardize", tol=1e-12).fit(X, y)
    sd = X.std(0)
    ref = Lasso(alpha=a, tol=1e-12).fit(X / sd, y)
    np.testing.assert_allclose(st.coef_, ref.coef_ / sd, atol=1e-10)
    pf = PreconditionedLasso(alpha=0.01, preconditioner="puffer", tol=1e-10).fit(X, y)
    side, F = pf.preconditioner_
    FX = F @ (X - X.mean(0))
    G = FX @ FX.T
    # orthonormal rows on the (n - 1)-dimensional centred row space
    evals = np.linalg.eigvalsh(G)
    np.testing.assert_allclose(evals[1:], 1.0, atol=1e-10)
    assert abs(evals[0]) < 1e-10


@pytest.mark.slow  # a fresh 4-device process (8 s cold); the sbl sharding tests stay in the default tier
def test_sharded_batch_4_devices(devices_runner):
    out = devices_runner("""
        import json, numpy as np, jax, jax.numpy as jnp
        from sparsestat.linalg import enable_x64, make_mesh, sharded_vmap
        from sparsestat.regression import solve, Quadratic, L1
        rng = np.random.default_rng(0)
        X = rng.standard_normal((30, 20)); y = X[:, :3] @ np.ones(3) + 0.1 * rng.standard_normal(30)
        with enable_x64():
            alphas = jnp.array([0.5, 0.3, 0.2, 0.1, 0.05])
            f = lambda a: solve(X, y, Quadratic(), L1(a), solver="fista", tol=1e-12, max_iter=50000).coef
            sh = sharded_vmap(f, make_mesh(4))(alphas)
            loop = np.stack([np.asarray(solve(X, y, Quadratic(), L1(float(a)), tol=1e-13).coef) for a in alphas])
            print(json.dumps({"n_dev": len(jax.devices()), "err": float(np.abs(np.asarray(sh) - loop).max())}))
    """)
    assert out["n_dev"] == 4 and out["err"] < 1e-8


def test_sparse_logistic_intercept_with_uncentred_features():
    """Shifting every feature by c changes only the intercept (b -> b - c sum(w)); the coefficients are the
    same. Before the intercept was profiled out of the prox-Newton model, features of mean ~100 made the
    solver hit max_iter (the intercept's coordinate is then nearly parallel to every column)."""
    X, y, _ = problem(80, 30, seed=8)
    yb = (y > np.median(y)).astype(int)
    a = 0.02
    ref = SparseLogisticRegression(alpha=a, tol=1e-10).fit(X, yb)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning
        far = SparseLogisticRegression(alpha=a, tol=1e-10).fit(X + 100.0, yb)
    assert ref.converged_ and far.converged_
    assert np.count_nonzero(ref.coef_) >= 2
    np.testing.assert_allclose(far.coef_, ref.coef_, rtol=0, atol=1e-5)
    assert far.intercept_[0] == pytest.approx(ref.intercept_[0] - 100.0 * ref.coef_.sum(), abs=1e-3)
