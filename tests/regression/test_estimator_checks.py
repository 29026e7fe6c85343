"""scikit-learn's estimator checks on every estimator (zero expected failures).

Lasso and SparseLogisticRegression run by default; the other estimators share the same plumbing and run
under ``-m slow`` (each costs 30-60 s of compilation for the many small shapes the checks use).
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sparsestat.regression import (ElasticNet, ElasticNetCV, L0Regression, Lasso, LassoCV, MCPRegression,
                                   PreconditionedLasso, SCADRegression, SparseLogisticRegression)

DEFAULT = [Lasso(), SparseLogisticRegression(alpha=0.01)]
# the CV estimators and the standardized PreconditionedLasso run to a tight tolerance: scikit-learn's
# sample-weight check compares predictions of two fits (weights vs repeated rows) to rtol 1e-7, tighter
# than two solutions certified at the default tol agree (the standardized one differed by 7.9e-7 once
# the support step took more CG iterations: both fits certified, on different sides of the optimum)
SLOW = [ElasticNet(), MCPRegression(), SCADRegression(), L0Regression(), LassoCV(alphas=5, max_iter=20000, tol=1e-10),
        ElasticNetCV(alphas=5, max_iter=20000, tol=1e-10), PreconditionedLasso(),
        PreconditionedLasso(alpha=0.1, preconditioner="standardize", max_iter=20000, tol=1e-10)]


@parametrize_with_checks(DEFAULT)
def test_sklearn_checks(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks(SLOW)
def test_sklearn_checks_slow(estimator, check):
    check(estimator)
