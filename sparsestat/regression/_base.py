"""Shared estimator plumbing: validation, scoped float64, calling the core, fitted attributes."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._validation import check_int, check_positive
from ..exceptions import warn_not_converged
from ..linalg.precision import enable_x64

__all__ = ["SparseLinearBase"]


def check_sample_weight(sample_weight, X):
    if sample_weight is None:
        return None
    sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    if not np.any(sw > 0):
        raise ValueError("sample_weight must not be all zero (at least one sample needs a positive weight)")
    return sw


def check_common(est):
    check_positive(est.tol, "tol")
    check_int(est.max_iter, "max_iter", lower=1)
    if not isinstance(est.fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be a bool, got {est.fit_intercept!r}")


class SparseLinearBase(BaseEstimator):
    """Fit/predict plumbing for the quadratic-datafit estimators (thin layer over ``solve_batch``)."""

    _multi_output = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.multi_output = self._multi_output
        tags.target_tags.single_output = True
        return tags

    # subclasses: _penalty(n_features) -> penalty; _solver_name; _check_params()
    _solver_name = "auto"

    def _validate(self, X, y, sample_weight):
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=self._multi_output, y_numeric=True)
        sw = check_sample_weight(sample_weight, X)
        return X, y, sw

    def _warm_coef(self, n_targets, n_features):
        if not getattr(self, "warm_start", False) or not hasattr(self, "coef_"):
            return None
        c = np.atleast_2d(np.asarray(self.coef_, dtype=np.float64))
        if c.shape != (n_targets, n_features):
            warnings.warn(f"warm_start: previous coef_ has shape {np.shape(self.coef_)}, incompatible with the "
                          f"data ({n_targets} target(s), {n_features} features); starting from zeros",
                          UserWarning, stacklevel=5)
            return None
        return c

    def _fit_core(self, X, y, sw, datafit, penalty, what):
        from .solve import solve_batch_host

        Y = y[None, :] if y.ndim == 1 else y.T
        W0 = self._warm_coef(Y.shape[0], X.shape[1])
        with enable_x64():
            res = solve_batch_host(X, Y, datafit, penalty, solver=self._solver_name, tol=float(self.tol),
                              max_iter=int(self.max_iter), W0=W0,
                              sample_weights=None if sw is None else sw[None, :],
                              fit_intercept=bool(self.fit_intercept))
            coef = np.array(res.coef, dtype=np.float64)
            b = np.array(res.intercept, dtype=np.float64)
            gap = np.array(res.gap, dtype=np.float64)
            n_iter = np.array(res.n_iter, dtype=np.int64)
            conv = np.array(res.converged, dtype=bool)
        if y.ndim == 1:
            self.coef_ = coef[0]
            self.intercept_ = float(b[0])
            self.certificate_ = float(gap[0])
            self.n_iter_ = int(n_iter[0])
            self.converged_ = bool(conv[0])
        else:
            self.coef_ = coef
            self.intercept_ = b
            self.certificate_ = gap
            self.n_iter_ = n_iter
            self.converged_ = bool(conv.all())
        if not conv.all():
            warn_not_converged(what, int(n_iter.max()), int(self.max_iter), float(gap.max()), None, stacklevel=5)
        return self

    def predict(self, X):
        """Predicted values X coef_^T + intercept_."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ np.asarray(self.coef_).T + self.intercept_
