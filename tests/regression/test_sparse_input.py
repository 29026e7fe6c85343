"""scipy.sparse X (issues 19 and 22): the same solutions as the dense X to 1e-10 for every estimator,
path and CV, never densified whole, and bad sparse input refused like dense input.

The sparse design is an operator over the nonzeros (:class:`SparseDesign`); the solvers run on it
unchanged, so the iterates match the dense ones to rounding. The default tier checks the operator,
one Lasso fit on each inner solver (dense block, padded sparse columns), bad input and compilation;
the rest (logistic, certify, every estimator, path, FISTA) is in the slow tier."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sparsestat.linalg.precision import enable_x64
from sparsestat.regression import (ElasticNet, ElasticNetCV, L0Regression, Lasso, LassoCV, MCPRegression,
                                   SCADRegression, SparseLogisticRegression, certify, enet_path, lasso_path, solve)
from sparsestat.regression.datafits import Logistic, Quadratic
from sparsestat.regression.penalties import L1, L1L2, MCP, SCAD

from ._data import numpy_gap, weights

N, P = 60, 100   # one small shape for the default tier: its programs are shared by these tests
TOL = 1e-14      # the sparse and dense products round differently, so the iterates differ at rounding
#                  level and stop at different epochs; solved this tightly both are within 1e-10 of the
#                  one optimum (4e-13 measured; at 1e-12 one no-intercept fit differed by 2e-10)


def sparse_problem(n=N, p=P, density=0.08, seed=0, fmt="csr"):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format=fmt, random_state=seed,
                  data_rvs=lambda k: rng.standard_normal(k))
    w = np.zeros(p)
    w[:6] = rng.choice([-2.0, 2.0], 6)
    y = X @ w + 0.1 * rng.standard_normal(n) + 1.0
    return X, y


# ------------------------------------------------------------------------------- the operator
def test_sparse_design_products_and_gathers_equal_dense():
    """X w, X^T v and both column-gather branches against the dense X, with padded shapes."""
    import jax.numpy as jnp

    from sparsestat.regression._problem import design

    rng = np.random.default_rng(3)
    X = sp.random(37, 53, density=0.1, format="lil", random_state=3)
    X[:, 5] = 0.0                       # an empty column
    X[0, :] = rng.standard_normal(53)   # a dense row: the largest column counts differ
    X = X.tocsc()
    Xd = X.toarray()
    with enable_x64():
        D = design(X)
        n_pad, p_pad = D.shape
        assert (n_pad, p_pad) == (64, 64) and (D.n, D.p) == (37, 53)
        Dd = np.zeros((n_pad, p_pad))
        Dd[:37, :53] = Xd
        w = rng.standard_normal(p_pad)
        v = rng.standard_normal(n_pad)
        np.testing.assert_allclose(np.asarray(D @ jnp.asarray(w)), Dd @ w, rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.asarray(jnp.asarray(v) @ D), Dd.T @ v, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(np.asarray(D.todense()), Dd)
        for B in (2, 40):   # few columns: gathered through their ranges; many: every nonzero routed
            idx = np.sort(rng.choice(p_pad, B, replace=False)).astype(np.int32)
            assert (B * D.width <= D.nnz) == (B == 2)
            np.testing.assert_array_equal(np.asarray(D.columns(jnp.asarray(idx))), Dd[:, idx].T)


def test_sparse_design_holds_only_the_nonzeros():
    """A 2000 x 200 000 design with 4000 nonzeros: the device holds O(nnz + p) numbers, not n p."""
    from sparsestat.regression._problem import design

    rng = np.random.default_rng(0)   # (sp.random draws its positions slowly at this size: 30 s)
    X = sp.csr_matrix((rng.standard_normal(4000), (rng.integers(0, 2000, 4000), rng.integers(0, 200_000, 4000))),
                      shape=(2000, 200_000))
    D = design(X)
    held = sum(a.size for a in (D.data, D.rows, D.cols, D.start, D.count))
    assert held <= 4 * X.nnz + 2 * D.shape[1] + 64
    assert held < X.shape[0] * X.shape[1] / 500


def _inner_problem(seed=1):
    """400 x 800 at density 1 %: narrow columns (width 16 <= n / 16), so the working-set CD runs on
    padded sparse columns (inner_cd_sparse) instead of a dense block."""
    rng = np.random.default_rng(seed)
    X = sp.random(400, 800, density=0.01, format="csc", random_state=seed, data_rvs=rng.standard_normal)
    w = np.zeros(800)
    w[:10] = 2.0
    return X, X @ w + 0.1 * rng.standard_normal(400) + 1.0, rng.uniform(0.5, 2.0, 400)


def _check_sparse_inner(pen, fit_intercept):
    from sparsestat.regression._problem import design
    from sparsestat.regression.inner_cd_sparse import use_sparse_inner

    X, y, sw = _inner_problem()
    with enable_x64():
        assert use_sparse_inner(design(X))
        a = solve(X, y, Quadratic(), pen, fit_intercept=fit_intercept, tol=TOL, sample_weight=sw, max_iter=100_000)
        b = solve(X.toarray(), y, Quadratic(), pen, fit_intercept=fit_intercept, tol=TOL, sample_weight=sw,
                  max_iter=100_000)
    assert bool(a.converged) and np.count_nonzero(np.asarray(a.coef)) >= 10
    np.testing.assert_allclose(np.asarray(a.coef), np.asarray(b.coef), rtol=0, atol=1e-10)
    assert abs(float(a.intercept) - float(b.intercept)) <= 1e-10


def test_sparse_inner_cd_equals_dense():
    """The padded-sparse-column CD (implicit centring through a scalar offset, weights, block Grams
    from matched rows) reaches the dense solution."""
    _check_sparse_inner(L1(0.002), True)


@pytest.mark.slow
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("pen", [L1(0.002), L1(0.002, None, True), L1L2(0.002, 0.5), MCP(0.005, 3.0),
                                 SCAD(0.005, 3.7)], ids=["l1", "l1+", "l1l2", "mcp", "scad"])
def test_sparse_inner_cd_equals_dense_all(pen, fit_intercept):
    _check_sparse_inner(pen, fit_intercept)


# ------------------------------------------------------------------------------ estimators
@pytest.mark.parametrize("fit_intercept", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_lasso_sparse_equals_dense(fit_intercept):
    X, y = sparse_problem()
    sw = weights(N)
    a = Lasso(alpha=0.02, fit_intercept=fit_intercept, tol=TOL).fit(X, y, sample_weight=sw)
    b = Lasso(alpha=0.02, fit_intercept=fit_intercept, tol=TOL).fit(X.toarray(), y, sample_weight=sw)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=0, atol=1e-10)
    assert abs(a.intercept_ - b.intercept_) <= 1e-10
    assert np.count_nonzero(a.coef_) >= 3
    # re-certified independently, in numpy, on the dense copy, at the requested tolerance
    om = sw / sw.sum()
    yc = y - om @ y if fit_intercept else y
    assert numpy_gap(X.toarray(), y, a.coef_, 0.02, fit_intercept=fit_intercept, sw=sw)[0] <= TOL * (om @ (yc * yc))
    np.testing.assert_allclose(a.predict(X), b.predict(X.toarray()), rtol=0, atol=1e-10)


def test_sparse_new_alpha_compiles_nothing():
    """alpha is traced for sparse X as for dense: a second alpha (and a second matrix with the same
    shape bucket, nonzero bucket and column width) reuses the programs of the first fit."""
    from tests._compiles import count_compiles

    X, y = sparse_problem()
    Lasso(alpha=0.02).fit(X, y)
    X2 = X.copy()
    X2.data = X2.data * 1.5
    with count_compiles() as c:
        Lasso(alpha=0.013).fit(X, y)
        Lasso(alpha=0.02).fit(X2, y)
    assert c.n == 0, c


@pytest.mark.slow
def test_sparse_logistic_equals_dense():
    X, y = sparse_problem()
    yc = (y > np.median(y)).astype(int)
    a = SparseLogisticRegression(alpha=0.005, tol=TOL).fit(X, yc)
    b = SparseLogisticRegression(alpha=0.005, tol=TOL).fit(X.toarray(), yc)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(a.predict(X), b.predict(X.toarray()))


@pytest.mark.slow
def test_certify_accepts_sparse():
    X, y = sparse_problem()
    fit = Lasso(alpha=0.02, tol=TOL).fit(X, y)
    with enable_x64():
        c_s = certify(X, y, fit.coef_, fit.intercept_, Quadratic(), L1(0.02), fit_intercept=True)
        c_d = certify(X.toarray(), y, fit.coef_, fit.intercept_, Quadratic(), L1(0.02), fit_intercept=True)
    np.testing.assert_allclose(float(c_s.gap), float(c_d.gap), rtol=0, atol=1e-12)
    assert float(c_s.gap) <= float(c_s.target)


# ------------------------------------------------------------------------------ bad input
def test_sparse_bad_input_is_refused():
    X, y = sparse_problem()
    bad = X.copy()
    bad.data[3] = np.nan
    with pytest.raises(ValueError, match="NaN|infinity"):
        Lasso(alpha=0.02).fit(bad, y)
    bad.data[3] = np.inf
    with pytest.raises(ValueError, match="NaN|infinity"):
        Lasso(alpha=0.02).fit(bad, y)
    with enable_x64(), pytest.raises(ValueError, match="X contains NaN or infinity"):
        solve(bad, y, Quadratic(), L1(0.02))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Lasso(alpha=0.02).fit(X, y[:-1])
    ynan = y.copy()
    ynan[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Lasso(alpha=0.02).fit(X, ynan)
    big = X.copy()
    big.data[0] = 1e300
    with pytest.raises(ValueError, match="overflow"):
        Lasso(alpha=0.02).fit(big, y)


def test_other_sparse_formats_are_converted():
    """COO, LIL, DOK and BSR are converted (scikit-learn's rule); the solution is the CSR one."""
    X, y = sparse_problem()
    ref = Lasso(alpha=0.02).fit(X, y).coef_
    for fmt in ("coo", "lil", "dok", "bsr"):
        np.testing.assert_allclose(Lasso(alpha=0.02).fit(X.asformat(fmt), y).coef_, ref, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------ slow: the cross product
def _fit_both(est, X, y, sw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = est.fit(X, y, sample_weight=sw)
        ca, ia = np.array(a.coef_), np.array(a.intercept_)
        b = est.fit(X.toarray(), y, sample_weight=sw)
    return ca, ia, np.array(b.coef_), np.array(b.intercept_)


SLOW_ESTIMATORS = [
    ElasticNet(alpha=0.02, l1_ratio=0.3, tol=TOL),
    ElasticNet(alpha=0.02, l1_ratio=0.0),           # ridge: the direct solve through the sparse Gram
    Lasso(alpha=0.0),                                # least squares, minimum norm (p > n)
    Lasso(alpha=0.02, positive=True, tol=TOL),
    MCPRegression(alpha=0.05, tol=TOL),
    SCADRegression(alpha=0.05, tol=TOL),
    L0Regression(n_nonzero_coefs=6),
    LassoCV(cv=3, tol=TOL),
    ElasticNetCV(cv=3, l1_ratio=[0.5, 1.0], tol=TOL),
]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("est", SLOW_ESTIMATORS, ids=lambda e: repr(e).replace(" ", ""))
def test_estimators_sparse_equal_dense(est, fit_intercept, fmt):
    X, y = sparse_problem(n=90, p=150, fmt=fmt, seed=1)
    ca, ia, cb, ib = _fit_both(est.set_params(fit_intercept=fit_intercept), X, y, weights(90))
    np.testing.assert_allclose(ca, cb, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ia, ib, rtol=0, atol=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("p", [60, 150])   # p <= n and p > n: the two Gram sides of the direct solves
def test_direct_solves_sparse_equal_dense(p):
    X, y = sparse_problem(n=90, p=p, seed=2)
    for est in (ElasticNet(alpha=0.05, l1_ratio=0.0), Lasso(alpha=0.0)):
        ca, ia, cb, ib = _fit_both(est, X, y, weights(90))
        np.testing.assert_allclose(ca, cb, rtol=0, atol=1e-9)
        np.testing.assert_allclose(ia, ib, rtol=0, atol=1e-9)


@pytest.mark.slow
def test_paths_and_float32_sparse():
    X, y = sparse_problem(n=90, p=150, seed=3)
    for path in (lasso_path, lambda X, y, **k: enet_path(X, y, l1_ratio=0.7, **k)):
        a, ca, ga = path(X, y, tol=TOL, alphas=20)
        b, cb, gb = path(X.toarray(), y, tol=TOL, alphas=20)
        np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(ca, cb, rtol=0, atol=1e-10)
    # float32 in, float32 out; the solve itself in float64, so the same solution to float32 rounding
    f32 = Lasso(alpha=0.02).fit(X.astype(np.float32), y)
    assert f32.coef_.dtype == np.float32
    np.testing.assert_allclose(f32.coef_, Lasso(alpha=0.02).fit(X, y).coef_, rtol=0, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("solver", ["fista", "ws_cd"])
def test_solve_sparse_equals_dense_core(solver):
    """The functional core on sparse X: the working-set CD and the full-problem FISTA (which uses only
    products with X) give the dense answers."""
    X, y = sparse_problem(n=90, p=150, seed=4)
    with enable_x64():
        for df, pen, yy in ((Quadratic(), L1L2(0.03, 0.6), y), (Logistic(), L1(0.004), np.sign(y - np.median(y)))):
            if solver == "ws_cd" and isinstance(df, Logistic):
                solver_ = "ws_prox_newton"
            else:
                solver_ = solver
            a = solve(X, yy, df, pen, solver=solver_, tol=TOL, max_iter=20000)
            b = solve(X.toarray(), yy, df, pen, solver=solver_, tol=TOL, max_iter=20000)
            assert bool(a.converged)
            np.testing.assert_allclose(np.asarray(a.coef), np.asarray(b.coef), rtol=0, atol=1e-10)
