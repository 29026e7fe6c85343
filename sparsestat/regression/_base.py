"""Shared estimator plumbing: validation, scoped float64, calling the core, fitted attributes."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from .._validation import check_int, check_nonnegative, validate_data_named
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


SELECTIONS = ("cyclic", "random")


def check_sklearn_options(est, n_features=None):
    """scikit-learn's solver options, accepted with their meaning where sparsestat has one:
    ``selection`` in {"cyclic", "random"} (the working-set CD visits each working set in index order
    in both cases: same solution to ``tol``; ``random_state`` is then unused), ``precompute`` a bool,
    "auto" or a Gram matrix (checked for shape, finiteness and, once X is known, one entry against
    X, as scikit-learn does; the solver forms the Gram blocks it needs itself), ``copy_X`` (X is never
    modified: it is copied to the device)."""
    sel = getattr(est, "selection", "cyclic")
    if sel not in SELECTIONS:
        raise ValueError(f"selection must be 'cyclic' or 'random', got {sel!r}")
    pre = getattr(est, "precompute", False)
    if not (isinstance(pre, (bool, np.bool_)) or (isinstance(pre, str) and pre == "auto")):
        if isinstance(pre, str):
            raise ValueError(f"precompute must be a bool, 'auto' or a Gram matrix, got {pre!r}")
        G = np.asarray(pre)
        if G.ndim != 2 or G.shape[0] != G.shape[1] or (n_features is not None and G.shape[0] != n_features):
            raise ValueError(f"precompute (a Gram matrix) must have shape (n_features, n_features) = "
                             f"({n_features}, {n_features}), got {G.shape}")
        if not np.all(np.isfinite(G)):
            raise ValueError("precompute (a Gram matrix) contains NaN or infinity")
    if not isinstance(getattr(est, "copy_X", True), (bool, np.bool_)):
        raise TypeError(f"copy_X must be a bool, got {est.copy_X!r}")


def check_input_layout(X, check_input, sample_weight=None, precompute=False):
    """scikit-learn's contract for ``check_input=False``: the caller promises X already in the
    coordinate-descent layout (Fortran-ordered when dense), and scikit-learn's solver raises a
    ValueError on a C-ordered X that it would read directly (no sample weights, no Gram matrix).
    sparsestat would compute the right answer anyway; it raises the same error so that code written
    against either library meets the same contract. ``check_input=True`` accepts every layout."""
    if check_input or issparse(X) or sample_weight is not None or precompute is not False:
        return
    X = np.asarray(X)
    if X.ndim == 2 and not X.flags.f_contiguous:
        raise ValueError("X must be Fortran-ordered (np.asfortranarray(X)) when check_input=False: "
                         "check_input=False promises data in the solver's layout, as in scikit-learn")


def check_gram(est, X, sw):
    """A user Gram matrix (``precompute``) must be X_c^T diag(s) X_c for the data being fitted:
    one entry is checked (scikit-learn's test, same tolerances)."""
    pre = getattr(est, "precompute", False)
    if isinstance(pre, (bool, np.bool_, str)):
        return
    G = np.asarray(pre)
    p = X.shape[1]
    f1 = p // 2
    f2 = min(f1 + 1, p - 1)
    # scikit-learn's convention: weights normalised to sum n, the Gram of the centred, weighted X
    s = np.ones(X.shape[0]) if sw is None else np.asarray(sw, float) * (X.shape[0] / np.sum(sw))
    if est.fit_intercept and not np.allclose(X.T @ s / s.sum(), 0.0):
        warnings.warn("Gram matrix was provided but X was centered to fit intercept: recomputing Gram matrix.",
                      UserWarning, stacklevel=5)
        return
    Xf = X[:, [f1, f2]]
    Xf = (Xf.toarray() if issparse(Xf) else Xf) * np.sqrt(s)[:, None]
    expected = Xf[:, 0] @ Xf[:, 1]
    rtol = 1e-4 if G.dtype == np.float32 else 1e-7
    if not np.isclose(expected, G[f1, f2], rtol=rtol, atol=1e-5):
        raise ValueError("Gram matrix passed in via 'precompute' parameter did not pass validation when a "
                         f"single element was checked - please check that it was computed properly. For "
                         f"element ({f1},{f2}) we computed {expected} but the user-supplied value was "
                         f"{G[f1, f2]}.")


def _bounded(vals, n_samples) -> bool:
    """Every entry of the contiguous array ``vals`` finite and small enough that a column's squared norm
    (over ``n_samples`` rows) stays finite in float64: one BLAS pass, sum x^2 < big^2 bounds every entry
    (0.5 ms at 1000 x 5000, against 1.8 ms for max and min); False for NaN and inf as well."""
    big = np.sqrt(np.finfo(np.float64).max / max(n_samples, 1))
    flat = vals.ravel(order="K")
    # below 2^20 entries in slices of 8192, under OpenBLAS's threading threshold for dot: a threaded
    # dot wakes its worker threads, which then spin for milliseconds on the core the solver's
    # compiled program wants (perf: 40 % of a loop of 100 x 200 fits in blas_thread_server)
    step = 8192 if flat.size < 2 ** 20 else flat.size
    with np.errstate(over="ignore", invalid="ignore"):
        ss = sum(float(np.dot(flat[i:i + step], flat[i:i + step])) for i in range(0, flat.size, step))
    return ss < big * big


def check_not_overflowing(X):
    """Entries so large that a column's squared norm overflows float64 make coordinate descent
    meaningless (scikit-learn raises on the non-finite iterates that follow; here, before solving)."""
    vals = X.data if issparse(X) else X
    if vals.size == 0:
        return
    big = np.sqrt(np.finfo(np.float64).max / max(X.shape[0], 1))
    if (vals.flags.c_contiguous or vals.flags.f_contiguous) and _bounded(vals, X.shape[0]):
        return
    top = max(float(vals.max()), -float(vals.min()))
    if top > big:
        raise ValueError("Coordinate descent iterations resulted in non-finite parameter values (scikit-learn's "
                         f"error; here not attempted): X has entries up to {top:.3g} in absolute value, so the "
                         "squared norms of its columns overflow float64. Rescale X (e.g. StandardScaler).")


def plain_data(X, y, int_labels: bool = False) -> bool:
    """X a contiguous 2-D float64 ndarray and y a 1-D float64 ndarray (or, with ``int_labels``, of an
    integer dtype) of as many samples (at least one), both finite, X without entries large enough to
    overflow (:func:`check_not_overflowing`): data that scikit-learn's validation would return unchanged."""
    return (type(X) is np.ndarray and type(y) is np.ndarray and X.dtype == np.float64
            and (y.dtype == np.float64 or (int_labels and y.dtype.kind in "iu"))
            and X.ndim == 2 and y.ndim == 1 and X.shape[0] == y.shape[0] and X.size > 0
            and (X.flags.c_contiguous or X.flags.f_contiguous) and _bounded(X, X.shape[0])
            and bool(np.isfinite(y).all()))


def skip_validation(est, X):
    """What scikit-learn's ``validate_data(reset=True)`` does besides converting, for a plain ndarray X."""
    est.n_features_in_ = X.shape[1]
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_


def check_common(est):
    check_nonnegative(est.tol, "tol")  # 0: run to max_iter (scikit-learn accepts it)
    check_int(est.max_iter, "max_iter", lower=1)
    if not isinstance(est.fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be a bool, got {est.fit_intercept!r}")


class SparseLinearBase(BaseEstimator):
    """Fit/predict plumbing for the quadratic-datafit estimators (thin layer over ``solve_batch``)."""

    _multi_output = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = self._multi_output
        tags.target_tags.single_output = True
        return tags

    # subclasses: _penalty(n_features) -> penalty; _solver_name; _check_params()
    _solver_name = "auto"

    def _validate(self, X, y, sample_weight):
        """float32 and float64 X are accepted, dense or scipy.sparse (CSR and CSC kept; other formats
        converted to CSR; the solvers use its nonzeros only); the solve runs in float64 and the fitted
        coefficients are returned in X's dtype (scikit-learn's contract)."""
        if sample_weight is None and plain_data(X, y):
            # what scikit-learn's validation would return unchanged (0.2 ms of a 0.7 ms fit at 100 x 200);
            # anything else (NaN, inf, lists, frames, other dtypes, shapes) takes the full path below
            skip_validation(self, X)
            self._input_dtype = X.dtype
            return X, y, None
        X, y = validate_data_named(self, X, y, dtype=[np.float64, np.float32], multi_output=self._multi_output,
                             y_numeric=True, accept_sparse=("csr", "csc"))
        self._input_dtype = X.dtype
        X = X.astype(np.float64, copy=False)
        check_not_overflowing(X)
        y = np.asarray(y, dtype=np.float64)
        sw = check_sample_weight(sample_weight, X)
        return X, y, sw

    def _cast_to_input_dtype(self):
        dt = getattr(self, "_input_dtype", np.dtype(np.float64))
        self.coef_ = np.asarray(self.coef_).astype(dt, copy=False)
        if isinstance(self.intercept_, np.ndarray):
            self.intercept_ = self.intercept_.astype(dt, copy=False)
        return self

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
        if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(gap))):
            raise ValueError("Coordinate descent iterations resulted in non-finite parameter values. The input "
                             "data may contain large values and need to be preprocessed (the objective "
                             "overflows in float64).")
        if not conv.all():
            warn_not_converged(what, int(n_iter.max()), int(self.max_iter), float(gap.max()), None, stacklevel=5)
        return self._cast_to_input_dtype()

    def predict(self, X):
        """Predicted values X coef_^T + intercept_."""
        check_is_fitted(self)
        X = validate_data_named(self, X, dtype=[np.float64, np.float32], reset=False, accept_sparse=("csr", "csc"))
        return X @ np.asarray(self.coef_).T + self.intercept_
