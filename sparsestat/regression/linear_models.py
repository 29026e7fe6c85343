"""scikit-learn estimators with the quadratic datafit: Lasso, ElasticNet (scikit-learn objectives and
``tol`` meaning), MCPRegression, SCADRegression (skglm objectives) and L0Regression (IHT)."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.sparse import issparse
from sklearn.base import RegressorMixin

from .._validation import check_in_interval, check_int, check_nonnegative, check_scalar_arg, store_params
from ..linalg.cache import compiled_entry
from ._base import SparseLinearBase, check_common, check_gram, check_input_layout, check_sklearn_options
from .datafits import Quadratic
from .penalties import L0, L1, L1L2, MCP, SCAD

__all__ = ["Lasso", "ElasticNet", "MCPRegression", "SCADRegression", "L0Regression"]


def _fit_penalised(est, X, y, sample_weight):
    """The fit of the penalised least-squares estimators: check the parameters, validate the data, solve
    (alpha = 0: ordinary least squares, with a warning)."""
    est._check_params()
    X, y, sw = est._validate(X, y, sample_weight)
    check_sklearn_options(est, X.shape[1])
    check_gram(est, X, sw)
    if float(est.alpha) == 0.0:
        return _least_squares(est, X, y, sw)
    if float(getattr(est, "l1_ratio", 1.0)) == 0.0:
        return _ridge(est, X, y, sw)
    return est._fit_core(X, y, sw, Quadratic(), est._make_penalty(), type(est).__name__)


class _WeightedCentred:
    """The direct solvers' problem min 1/2 |A w - B|^2 (+ ridge): A = sqrt(omega) X_c, B = sqrt(omega) Y_c
    (omega: normalised sample weights; centring only with an intercept), with the means (xm, ym) that
    give the intercept back. Dense X: A is formed; sparse X: A only acts through products, and its
    smaller Gram (p x p or n x n) is formed from X's nonzeros (X is never densified)."""

    def __init__(self, est, X, y, sw):
        s = np.ones(X.shape[0]) if sw is None else sw
        om = s / s.sum()
        Y = y if y.ndim == 2 else y[:, None]
        if est.fit_intercept:
            self.xm, self.ym = np.asarray(X.T @ om), om @ Y
        else:
            self.xm, self.ym = np.zeros(X.shape[1]), np.zeros(Y.shape[1])
        self.X, self.om, self.sq = X, om, np.sqrt(om)
        self.B = (Y - self.ym) * self.sq[:, None]
        self.A = None if issparse(X) else (X - self.xm) * self.sq[:, None]

    @property
    def shape(self):
        return self.X.shape

    def dot(self, U):
        """A U, U of shape (p, k)."""
        if self.A is not None:
            return self.A @ U
        return self.sq[:, None] * (self.X @ U - self.xm @ U)

    def tdot(self, V):
        """A^T V, V of shape (n, k)."""
        if self.A is not None:
            return self.A.T @ V
        return np.asarray(self.X.T @ (self.sq[:, None] * V)) - np.outer(self.xm, self.sq @ V)

    def gram(self):
        """A^T A (p <= n) or A A^T (p > n)."""
        n, p = self.shape
        if self.A is not None:
            return self.A.T @ self.A if p <= n else self.A @ self.A.T
        X, xm = self.X, self.xm
        if p <= n:   # sum_i omega_i (x_i - xm)(x_i - xm)^T
            return (X.T @ X.multiply(self.om[:, None])).toarray() - np.outer(xm, xm)
        Xxm = X @ xm
        K = (X @ X.T).toarray() - Xxm[:, None] - Xxm[None, :] + xm @ xm
        return K * np.outer(self.sq, self.sq)


def _store_direct(est, y, coef, b, certificate):
    """Fitted attributes of a direct (non-iterative) solve: coef (T, p), intercepts (T,), certificate (T,)."""
    if y.ndim == 1:
        est.coef_, est.intercept_ = coef[0], float(b[0]) if est.fit_intercept else 0.0
        est.certificate_, est.n_iter_ = float(certificate[0]), 1
    else:
        est.coef_, est.intercept_ = coef, b if est.fit_intercept else np.zeros(coef.shape[0])
        est.certificate_, est.n_iter_ = certificate, np.ones(coef.shape[0], dtype=np.int64)
    est.converged_ = True
    return est._cast_to_input_dtype()


def _ridge(est, X, y, sw):
    """l1_ratio = 0: the elastic net is ridge regression, solved exactly (Cholesky of the smaller of
    the p x p and n x n Gram systems, weighted and centred), certified by scikit-learn's ridge gap
    (formulation B: the elastic-net dual at theta = r)."""
    from scipy.linalg import cho_factor, cho_solve

    A = _WeightedCentred(est, X, y, sw)      # min 1/2 |A w - B|^2 + l2/2 |w|^2
    B = A.B
    l2 = float(est.alpha)
    n, p = A.shape
    G = A.gram()
    if p <= n:
        coef = cho_solve(cho_factor(G + l2 * np.eye(p)), A.tdot(B)).T
    else:
        coef = A.tdot(cho_solve(cho_factor(G + l2 * np.eye(n)), B)).T
    if est.positive and np.any(coef < 0):   # the constraint is active: coordinate descent
        return est._fit_core(X, y, sw, Quadratic(), est._make_penalty(), type(est).__name__)
    R = B - A.dot(coef.T)                    # sqrt(omega) residuals
    corr = A.tdot(R)                         # X_c^T (omega r)
    primal = 0.5 * np.sum(R * R, axis=0) + 0.5 * l2 * np.sum(coef * coef, axis=1)
    dual = np.sum(R * B, axis=0) - 0.5 * np.sum(R * R, axis=0) - np.sum(corr * corr, axis=0) / (2 * l2)
    return _store_direct(est, y, coef, A.ym - coef @ A.xm, primal - dual)


def _least_squares(est, X, y, sw):
    """alpha = 0: (weighted) least squares, minimum norm when rank-deficient, certified by the largest
    |gradient| (no dual gap exists). Sparse X: through the smaller Gram (minimum norm as well)."""
    warnings.warn(f"{type(est).__name__} with alpha=0 is ordinary least squares. With alpha=0, this algorithm "
                  "does not converge well. You are advised to use the LinearRegression estimator "
                  "(sparsestat solves the least-squares problem directly).", UserWarning, stacklevel=5)
    A = _WeightedCentred(est, X, y, sw)
    B = A.B
    n, p = A.shape
    if A.A is not None:
        coef = np.linalg.lstsq(A.A, B, rcond=None)[0].T
    elif p <= n:   # the minimum-norm solution of the normal equations is the minimum-norm least squares
        coef = np.linalg.lstsq(A.gram(), A.tdot(B), rcond=None)[0].T
    else:
        coef = A.tdot(np.linalg.lstsq(A.gram(), B, rcond=None)[0]).T
    g = A.tdot(B - A.dot(coef.T))
    _store_direct(est, y, coef, A.ym - coef @ A.xm, np.max(np.abs(g), axis=0))
    est.dual_gap_ = est.certificate_
    return est


class Lasso(RegressorMixin, SparseLinearBase):
    """Lasso: min 1/(2 n) ||y - Xw - b||^2 + alpha ||w||_1 (scikit-learn's objective and ``tol`` meaning:
    stop when the duality gap <= tol ||y_c||^2 / n), certified by the duality gap.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength (>= 0; 0 falls back to least squares with a warning).
    fit_intercept : bool, default=True
    positive : bool, default=False
        Constrain coefficients to be non-negative.
    max_iter : int, default=1000
        Cap on coordinate-descent epochs (summed over working-set rounds); ``n_iter_`` never exceeds it.
    tol : float >= 0, default=1e-6
        Relative duality-gap tolerance (0: run to ``max_iter``).
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    precompute : bool, 'auto' or array (n_features, n_features), default=False
        scikit-learn's Gram option. A Gram matrix is checked against X (shape, one entry, as
        scikit-learn does); the working-set solver forms the Gram blocks it needs itself, so the
        solution does not depend on this option.
    copy_X : bool, default=True
        Accepted for scikit-learn compatibility: X is never modified (it is copied to the device).
    random_state : int, RandomState or None, default=None
        Unused (see ``selection``).
    selection : {'cyclic', 'random'}, default='cyclic'
        Accepted; the working-set CD visits each working set in index order either way (the same
        solution to ``tol``).

    Attributes
    ----------
    coef_ : ndarray (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray (n_targets,)
    dual_gap_, certificate_ : duality gap(s) at the solution (objective units)
    n_iter_ : int or ndarray
    converged_ : bool
    """

    _multi_output = True

    def __init__(self, alpha=1.0, *, fit_intercept=True, precompute=False, copy_X=True, max_iter=1000, tol=1e-6,
                 warm_start=False, positive=False, random_state=None, selection="cyclic"):
        store_params(self, locals())

    def _make_penalty(self):
        return L1(float(self.alpha), None, bool(self.positive))

    def _check_params(self):
        check_nonnegative(self.alpha, "alpha")
        check_common(self)

    @compiled_entry
    def fit(self, X, y, sample_weight=None, check_input=True):
        """Fit on X (n_samples, n_features; dense or scipy.sparse), y (n_samples,) or (n_samples, n_targets).
        ``check_input=False`` keeps scikit-learn's contract: a dense X read directly by the solver (no
        sample weights, no Gram matrix) must be Fortran-ordered, else a ValueError; the input is
        validated either way."""
        check_input_layout(X, check_input, sample_weight, self.precompute)
        _fit_penalised(self, X, y, sample_weight)
        if float(self.alpha) != 0.0:
            self.dual_gap_ = self.certificate_
        return self


class ElasticNet(Lasso):
    """Elastic net: min 1/(2n) ||y - Xw - b||^2 + alpha l1_ratio ||w||_1 + alpha (1 - l1_ratio) ||w||^2 / 2
    (scikit-learn's objective), certified by scikit-learn's elastic-net duality gap.

    Parameters
    ----------
    alpha : float, default=1.0
    l1_ratio : float in [0, 1], default=0.5
    fit_intercept, precompute, max_iter, copy_X, tol, warm_start, positive, random_state, selection : as
        :class:`Lasso`
    """

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, precompute=False, max_iter=1000,
                 copy_X=True, tol=1e-6, warm_start=False, positive=False, random_state=None, selection="cyclic"):
        store_params(self, locals())

    def _check_params(self):
        super()._check_params()
        check_in_interval(self.l1_ratio, "l1_ratio", 0.0, 1.0)

    def _make_penalty(self):
        return L1L2(float(self.alpha), float(self.l1_ratio), None, bool(self.positive))


class MCPRegression(RegressorMixin, SparseLinearBase):
    """Least squares with the minimax concave penalty (skglm's MCPRegression objective):
    min 1/(2n) ||y - Xw - b||^2 + sum_j MCP_{alpha, gamma}(w_j); returns a stationary point from zeros
    (or ``coef_`` with ``warm_start``), certified by the stationarity measure <= tol * alpha_max.

    Parameters
    ----------
    alpha : float >= 0, default=1.0
    gamma : float > 1, default=3.0
    fit_intercept, positive, max_iter, tol, warm_start : as :class:`Lasso`
    """

    def __init__(self, alpha=1.0, gamma=3.0, *, fit_intercept=True, positive=False, max_iter=1000, tol=1e-6,
                 warm_start=False):
        store_params(self, locals())

    _gamma_min = 1.0     # gamma must exceed it (MCP: 1, SCAD: 2)

    def _check_params(self):
        check_nonnegative(self.alpha, "alpha")
        check_scalar_arg(self.gamma, "gamma", lower=self._gamma_min, lower_inclusive=False)
        check_common(self)

    def _make_penalty(self):
        return MCP(float(self.alpha), float(self.gamma), bool(self.positive))

    @compiled_entry
    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features), y (n_samples,)."""
        return _fit_penalised(self, X, y, sample_weight)


class SCADRegression(MCPRegression):
    """Least squares with the SCAD penalty (Fan & Li 2001; skglm's SCAD):
    min 1/(2n) ||y - Xw - b||^2 + sum_j SCAD_{alpha, gamma}(w_j), stationary point certified as MCPRegression.

    Parameters
    ----------
    alpha : float >= 0, default=1.0
    gamma : float > 2, default=3.7
    fit_intercept, max_iter, tol, warm_start : as :class:`Lasso`
    """

    def __init__(self, alpha=1.0, gamma=3.7, *, fit_intercept=True, max_iter=1000, tol=1e-6, warm_start=False):
        store_params(self, locals())

    _gamma_min = 2.0

    def _make_penalty(self):
        return SCAD(float(self.alpha), float(self.gamma))


class L0Regression(RegressorMixin, SparseLinearBase):
    """Best-subset least squares min 1/(2n) ||y - Xw - b||^2 s.t. ||w||_0 <= k by iterative hard
    thresholding with least-squares polishing (Beck & Eldar 2013); certified L-stationary.

    Parameters
    ----------
    n_nonzero_coefs : int or None, default=None
        k; None -> max(1, floor(0.1 n_features)) as OrthogonalMatchingPursuit.
    fit_intercept, max_iter, tol, warm_start : as :class:`Lasso` (max_iter counts IHT iterations)
    """

    def __init__(self, n_nonzero_coefs=None, *, fit_intercept=True, max_iter=1000, tol=1e-6, warm_start=False):
        store_params(self, locals())

    @compiled_entry
    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features), y (n_samples,)."""
        check_common(self)
        X, y, sw = self._validate(X, y, sample_weight)
        p = X.shape[1]
        k = max(1, int(0.1 * p)) if self.n_nonzero_coefs is None else check_int(
            self.n_nonzero_coefs, "n_nonzero_coefs", lower=1, upper=p)
        self._solver_name = "iht"
        return self._fit_core(X, y, sw, Quadratic(), L0(k), type(self).__name__)
