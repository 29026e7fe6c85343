"""GEMSS estimator: bad input, attributes, NaN handling, prediction, extraction, determinism."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sparsestat import GEMSS
from sparsestat.datasets import make_multi_solution
from sparsestat.gemss import metrics

SMALL = dict(n_components=3, sparsity=2, n_iter=200, lr=0.05, lambda_jaccard=10.0, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y, S, _ = make_multi_solution(30, 15, 2, 2, noise_std=0.1, binarize=False, random_state=1)
    return X, y, S


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _ = data
    return GEMSS(**SMALL).fit(X, y)


def test_attributes(fitted, data):
    X, y, S = data
    m = fitted
    assert m.means_.shape == (3, 15) and m.variances_.shape == (3, 15) and m.weights_.shape == (3,)
    assert np.all(m.variances_ > 0) and m.weights_.sum() == pytest.approx(1.0, abs=1e-6)
    assert m.objective_history_.shape == (200,) and m.jaccard_history_.shape == (200,)
    assert len(m.solutions_) == 3 and all(len(s) == 2 for s in m.solutions_)
    for s, k in zip(m.solutions_, m.solution_components_):
        it = m.extraction_iterations_[k]
        assert 0 <= it < 200
    mask = m.get_support()
    assert mask.sum() == len(set(np.concatenate(m.solutions_).tolist()))
    assert m.transform(X).shape == (30, mask.sum())
    # the objective improves a lot from the start
    assert m.objective_history_[-20:].mean() > m.objective_history_[:5].mean()


def test_predict_is_least_squares_refit(fitted, data):
    X, y, _ = data
    m = fitted
    for s, sol in enumerate(m.solutions_):
        A = np.column_stack([np.ones(30), X[:, sol]])
        w = np.linalg.lstsq(A, y, rcond=None)[0]
        np.testing.assert_allclose(m.predict(X, solution=s), A @ w, rtol=1e-8, atol=1e-8)
    rss = [np.sum((y - m.predict(X, solution=s)) ** 2) for s in range(len(m.solutions_))]
    assert m.best_solution_ == int(np.argmin(rss))
    np.testing.assert_allclose(m.predict(X), m.predict(X, solution=m.best_solution_))
    assert m.score(X, y) == pytest.approx(1 - min(rss) / np.sum((y - y.mean()) ** 2))
    with pytest.raises(ValueError, match="solution"):
        m.predict(X, solution=10)
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :5])


def test_extract_modes(fitted):
    m = fitted
    full = m.extract("full")
    top = m.extract("top")
    for f, t in zip(full, top):
        assert f[:2].tolist() == t.tolist()
    out = m.extract("outlier", outlier_threshold=2.0)
    for s in out:
        k = np.argmax([np.array_equal(s, x) for x in out])
        assert len(s) >= 1
    with pytest.warns(UserWarning, match="checkpoints"):
        m.extract("top", min_mu_threshold=0.5)


def test_determinism(fitted, data):
    X, y, _ = data
    m2 = GEMSS(**SMALL).fit(X, y)
    np.testing.assert_array_equal(m2.means_, fitted.means_)
    np.testing.assert_array_equal(m2.objective_history_, fitted.objective_history_)


def test_nan_rows_warn_and_run(data):
    X, y, _ = data
    X = X.copy()
    X[0, :] = np.nan
    X[1, 3] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN.*missing='zero'"):   # refused by default
        GEMSS(**SMALL).fit(X, y)
    with pytest.warns(RuntimeWarning, match="1 rows"):
        m = GEMSS(**SMALL, missing="zero").fit(X, y)
    assert np.all(np.isfinite(m.means_))
    assert np.all(np.isfinite(m.predict(X)))


def test_not_fitted():
    with pytest.raises(NotFittedError):
        GEMSS().predict(np.ones((2, 3)))


@pytest.mark.parametrize("kw, match", [
    (dict(sparsity=0), "sparsity"), (dict(sparsity=16), "sparsity"), (dict(n_components=0), "n_components"),
    (dict(prior="laplace"), "prior"), (dict(likelihood="poisson"), "likelihood"),
    (dict(extraction="best"), "extraction"), (dict(jaccard_union="x"), "jaccard_union"),
    (dict(var_slab=0.0), "var_slab"), (dict(var_spike=-1.0), "var_spike"), (dict(lr=0.0), "lr"),
    (dict(batch_size=0), "batch_size"), (dict(n_iter=0), "n_iter"),
    (dict(lambda_jaccard=-1.0), "lambda_jaccard"), (dict(lambda_jaccard=1.0, batch_size=1), "batch_size"),
    (dict(weight_slab=0.0, weight_spike=0.0), "weight"), (dict(student_df=0.0), "student_df"),
    (dict(n_prior_supports=0), "n_prior_supports"), (dict(min_mu_threshold=-0.1), "min_mu_threshold"),
    (dict(outlier_threshold=0.0), "outlier_threshold"),
])
def test_bad_parameters(data, kw, match):
    X, y, _ = data
    with pytest.raises(ValueError, match=match):
        GEMSS(**{**SMALL, **kw}).fit(X, y)


def test_bad_data(data):
    X, y, _ = data
    with pytest.raises(ValueError, match="NaN"):
        GEMSS(**SMALL).fit(X, np.where(np.arange(30) == 0, np.nan, y))
    Xi = X.copy(); Xi[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GEMSS(**SMALL).fit(Xi, y)
    with pytest.raises(ValueError, match="observed"):
        GEMSS(**SMALL, missing="zero").fit(np.full_like(X, np.nan), y)
    with pytest.raises(ValueError, match="missing"):
        GEMSS(**SMALL, missing="drop").fit(X, y)
    with pytest.raises(ValueError, match="logistic"):
        GEMSS(**{**SMALL, "likelihood": "logistic"}).fit(X, y)


def test_logistic_refit_and_proba(data):
    X, y, _ = data
    yb = (y > np.median(y)).astype(float)
    m = GEMSS(**{**SMALL, "likelihood": "logistic"}).fit(X, yb)
    proba = m.predict_proba(X)
    assert proba.shape == (30, 2) and np.allclose(proba.sum(1), 1)
    np.testing.assert_array_equal(m.predict(X), (proba[:, 1] > 0.5).astype(int))
    assert m.score(X, yb) == np.mean(m.predict(X) == yb)
    # the Newton refit solves the score equations of the logistic likelihood (tiny ridge)
    b0, w, _ = m._refits[0]
    A = np.column_stack([np.ones(30), X[:, m.solutions_[0]]])
    mu = 1 / (1 + np.exp(-(A @ np.r_[b0, w])))
    if np.all((mu > 1e-6) & (mu < 1 - 1e-6)):  # not separated
        np.testing.assert_allclose(A.T @ (yb - mu), 1e-6 * np.r_[b0, w], atol=1e-6)
    assert not hasattr(GEMSS(**SMALL), "predict_proba")  # gaussian likelihood: no probabilities


def _numpy_newton_logistic(A, y, n_iter=30, tol=1e-9):
    """The estimator's former numpy Newton refit (the reference for the shared-loss one)."""
    ridge = 1e-6
    w = np.zeros(A.shape[1])
    for _ in range(n_iter):
        eta = np.clip(A @ w, -500, 500)
        mu = 0.5 * (1.0 + np.tanh(0.5 * eta))
        g = A.T @ (y - mu) - ridge * w
        H = (A * (mu * (1 - mu))[:, None]).T @ A + ridge * np.eye(A.shape[1])
        step = np.linalg.solve(H, g)
        w = w + step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(w))):
            break
    return w


@pytest.mark.parametrize("separable", [False, True])
def test_newton_refit_on_shared_loss_matches_numpy_newton(separable):
    from sparsestat.gemss.refit import newton_logistic, refit

    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] + (0 if separable else rng.normal(size=40)) > 0).astype(float)
    A = np.column_stack([np.ones(40), X])
    w_ref = _numpy_newton_logistic(A, y)
    w, dev = newton_logistic(A, y)
    np.testing.assert_allclose(w, w_ref, rtol=1e-7, atol=1e-7 * (1 + np.abs(w_ref).max()))
    eta = A @ w
    assert dev == pytest.approx(2 * np.sum(np.logaddexp(0, eta) - y * eta), rel=1e-10)
    # the padded refit (zero columns up to a power-of-two width) gives the same coefficients
    b0, coef, loss = refit(X, y, np.array([2, 0, 1]), "logistic")
    w3 = _numpy_newton_logistic(A[:, [0, 3, 1, 2]], y)
    np.testing.assert_allclose(np.r_[b0, coef], w3, rtol=1e-7, atol=1e-7 * (1 + np.abs(w3).max()))
