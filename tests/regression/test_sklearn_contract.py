"""scikit-learn's contract for the estimators' outputs (issue 22): float32 in, float32 out; n_iter_
never above max_iter; tol = 0 accepted (runs to max_iter)."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sparsestat.regression import ElasticNet, Lasso, LassoCV

from ._data import problem


@pytest.mark.parametrize("make", [lambda: Lasso(alpha=0.05), lambda: ElasticNet(alpha=0.05, l1_ratio=0.5),
                                  lambda: LassoCV(alphas=[0.2, 0.05], cv=3)])
def test_float32_in_float32_out(make):
    """The solve runs in float64 on the float32 data (exactly representable): the float32 fit is the
    float64 fit of the same numbers, rounded to float32 at the end."""
    X, y, _ = problem(60, 100, seed=3)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    m32 = make().fit(X32, y32)
    m64 = make().fit(X32.astype(np.float64), y32.astype(np.float64))
    assert m32.coef_.dtype == np.float32
    np.testing.assert_array_equal(m32.coef_, m64.coef_.astype(np.float32))
    assert m32.predict(X32).dtype == np.float32
    assert m64.coef_.dtype == np.float64


@pytest.mark.parametrize("max_iter", [1, 3, 7])
def test_n_iter_never_exceeds_max_iter(max_iter):
    """The CD runs blocks of 5 epochs (Anderson); epochs past the cap are not kept nor counted
    (before: max_iter=1 reported 5)."""
    X, y, _ = problem(60, 100, seed=3)
    with pytest.warns(ConvergenceWarning):
        m = Lasso(alpha=0.01, max_iter=max_iter, tol=1e-12).fit(X, y)
    assert 1 <= m.n_iter_ <= max_iter and not m.converged_
    # the iterate after max_iter epochs is better than after fewer
    with pytest.warns(ConvergenceWarning):
        m1 = Lasso(alpha=0.01, max_iter=1, tol=1e-12).fit(X, y)
    assert m.dual_gap_ <= m1.dual_gap_


def test_tol_zero_runs_to_max_iter():
    """tol = 0 stops only at max_iter (with a ConvergenceWarning), or earlier if the gap reaches 0
    exactly in floating point."""
    X, y, _ = problem(60, 100, seed=3)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        m = Lasso(alpha=0.05, tol=0.0, max_iter=200).fit(X, y)
    warned = any(issubclass(r.category, ConvergenceWarning) for r in rec)
    assert (m.n_iter_ == 200 and not m.converged_ and warned) or (m.converged_ and m.dual_gap_ <= 0 and not warned)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = Lasso(alpha=0.05, tol=1e-12, max_iter=5000).fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=0, atol=1e-8)


def test_check_input_false_keeps_sklearns_layout_contract():
    """check_input=False promises a Fortran-ordered dense X: the same fit as check_input=True when
    kept, scikit-learn's ValueError when broken (X read directly: no sample weights, no Gram)."""
    from sparsestat.regression import enet_path
    X, y, _ = problem(60, 100, seed=3)
    ref = ElasticNet(alpha=0.05).fit(X, y)
    fast = ElasticNet(alpha=0.05).fit(np.asfortranarray(X), y, check_input=False)
    np.testing.assert_array_equal(fast.coef_, ref.coef_)
    with pytest.raises(ValueError, match="Fortran"):
        ElasticNet(alpha=0.05).fit(np.ascontiguousarray(X), y, check_input=False)
    with pytest.raises(ValueError, match="Fortran"):
        enet_path(np.ascontiguousarray(X), y, alphas=[0.2, 0.05], check_input=False)   # n < p: no Gram
    # where scikit-learn's solver reads a weighted copy or the Gram matrix, any layout is accepted
    w = ElasticNet(alpha=0.05).fit(X, y, sample_weight=np.ones(60), check_input=False)
    np.testing.assert_allclose(w.coef_, ref.coef_, atol=1e-8)
    ElasticNet(alpha=0.05, precompute=True).fit(X, y, check_input=False)


def test_plain_arrays_skip_validation_with_the_same_result():
    """A contiguous float64 X and 1-D float64 y skip scikit-learn's validation (what it would return
    unchanged): the fit equals the one from lists and from a non-contiguous copy (both validated), and
    what validation does besides converting still happens: n_features_in_ set, a previous fit's
    feature_names_in_ dropped, NaN / inf / overflowing entries refused with scikit-learn's messages."""
    pd = pytest.importorskip("pandas")
    X, y, _ = problem(60, 100, seed=3)
    plain = Lasso(alpha=0.05).fit(X, y)
    listed = Lasso(alpha=0.05).fit(X.tolist(), y.tolist())
    wide = np.zeros((60, 200))
    wide[:, ::2] = X
    strided = Lasso(alpha=0.05).fit(wide[:, ::2], y)
    np.testing.assert_array_equal(plain.coef_, listed.coef_)
    np.testing.assert_allclose(plain.coef_, strided.coef_, rtol=0, atol=1e-12)
    assert plain.n_features_in_ == 100
    m = Lasso(alpha=0.05).fit(pd.DataFrame(X, columns=[f"f{j}" for j in range(100)]), y)
    assert len(m.feature_names_in_) == 100
    m.fit(X, y)
    assert not hasattr(m, "feature_names_in_")
    for bad, msg in [(np.nan, "NaN"), (np.inf, "infinity"), (1e300, "overflow")]:
        Xb = X.copy()
        Xb[3, 4] = bad
        with pytest.raises(ValueError, match=msg):
            Lasso(alpha=0.05).fit(Xb, y)
    yb = y.copy()
    yb[0] = np.nan
    with pytest.raises(ValueError, match="y.*NaN|NaN.*y"):
        Lasso(alpha=0.05).fit(X, yb)
    # the logistic estimator: integer labels skip validation, lists do not; same fit, same classes_
    from sparsestat.regression import SparseLogisticRegression

    lab = (y > np.median(y)).astype(np.int64)
    a = SparseLogisticRegression(alpha=0.01).fit(X, lab)
    b = SparseLogisticRegression(alpha=0.01).fit(X.tolist(), lab.tolist())
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.classes_, b.classes_)
    assert a.n_features_in_ == 100
    with pytest.raises(ValueError, match="classes|class"):
        SparseLogisticRegression(alpha=0.01).fit(X, lab * 0 + 3)     # one class
    with pytest.raises(ValueError, match="Unknown label type|continuous"):
        SparseLogisticRegression(alpha=0.01).fit(X, y)               # continuous y: validated, refused
