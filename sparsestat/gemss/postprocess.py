"""What a fitted GEMSS estimator does with its solutions: re-extraction under another rule,
prediction, probabilities and score from unpenalised refits (:mod:`~sparsestat.gemss.refit`), and the
feature mask. Host-side numpy post-processing of the core's results; a mixin of
:class:`~sparsestat.gemss.GEMSS`."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._validation import check_choice, check_int, check_nonnegative, check_positive, validate_data_named
from .extraction import EXTRACTIONS, Extraction, deduplicate, extract_solutions, search_checkpoints

__all__ = ["FittedSolutions"]


class FittedSolutions:
    """Mixin of :class:`~sparsestat.gemss.GEMSS`: everything after the fit (uses ``means_``,
    ``checkpoints_``, ``solutions_``, ``_refits``, ``best_solution_`` and the estimator's settings)."""

    def _validate_X(self, X, reset: bool, y=None):
        kw = dict(reset=reset, dtype=np.float64, ensure_all_finite="allow-nan")
        if y is None:
            X = validate_data_named(self, X, **kw)
        else:
            X, y = validate_data_named(self, X, y, y_numeric=True, **kw)
        if np.any(np.isinf(X)):
            raise ValueError("X contains infinity; all values must be finite (NaN only with missing='zero')")
        # NaN is a missing entry only with missing="zero" (gemss's handling); otherwise it is refused
        if getattr(self, "missing", "error") != "zero" and np.any(np.isnan(X)):
            raise ValueError("X contains NaN; pass missing='zero' to treat NaN as a missing entry (zero-filled, "
                             "as gemss does)")
        return X if y is None else (X, y)

    def _extract(self, extraction, tau, c) -> Extraction:
        rec_mu, rec_it = self._record_means, self.extraction_iterations_
        if extraction in ("top", "full") and tau != self.min_mu_threshold:
            warnings.warn("min_mu_threshold differs from the fit's: the backward search is "
                          "approximated on the checkpoints (every 100 iterations)", UserWarning, stacklevel=3)
            rec_mu, rec_it = search_checkpoints(self.checkpoints_["means"], self.checkpoints_["iteration"],
                                                self.means_, self.n_iter - 1, self.sparsity, tau)
        ext = extract_solutions(extraction, self.means_, rec_mu, rec_it, self.sparsity, tau, c)
        return deduplicate(ext) if self.deduplicate else ext

    def extract(self, extraction=None, min_mu_threshold=None, outlier_threshold=None):
        """Solutions under another extraction rule without refitting.

        A ``min_mu_threshold`` other than the fit's is approximate: the backward search runs on
        the checkpoints (every 100 iterations) and warns.

        Parameters
        ----------
        extraction : {"top", "full", "outlier", "outlier_median"} or None
            None: the fit's rule.
        min_mu_threshold, outlier_threshold : float or None
            None: the fit's values.

        Returns
        -------
        list of ndarray of int
        """
        check_is_fitted(self, "means_")
        extraction = check_choice(self.extraction if extraction is None else extraction, "extraction",
                                  EXTRACTIONS)
        tau = self.min_mu_threshold if min_mu_threshold is None else check_nonnegative(
            min_mu_threshold, "min_mu_threshold")
        c = self.outlier_threshold if outlier_threshold is None else check_positive(
            outlier_threshold, "outlier_threshold")
        return self._extract(extraction, tau, c).solutions

    def _solution_index(self, solution):
        check_is_fitted(self, "means_")
        if not self.solutions_:
            raise ValueError("the fit produced no solution to predict with")
        if solution is None:
            return self.best_solution_
        s = check_int(solution, "solution", lower=0)
        if s >= len(self.solutions_):
            raise ValueError(f"solution must be < {len(self.solutions_)}, got {s}")
        return s

    def _decision(self, X, solution):
        s = self._solution_index(solution)
        X = np.nan_to_num(self._validate_X(X, False), nan=0.0)
        b0, w, _ = self._refits[s]
        return b0 + X[:, self.solutions_[s]] @ w

    def predict(self, X, solution=None):
        """Predict with an unpenalised refit on one solution's columns (NaN zero-filled).

        Parameters
        ----------
        X : array-like (n_samples, n_features)
        solution : int or None
            Index into ``solutions_``; None uses ``best_solution_``.

        Returns
        -------
        ndarray (n_samples,)
            Least-squares predictions (gaussian likelihood) or 0/1 labels of the logistic refit.
        """
        f = self._decision(X, solution)
        return (f > 0).astype(int) if self.likelihood == "logistic" else f

    @available_if(lambda self: self.likelihood == "logistic")
    def predict_proba(self, X, solution=None):
        """Class probabilities (n, 2) of the logistic refit (only with ``likelihood="logistic"``)."""
        p1 = 0.5 * (1.0 + np.tanh(0.5 * self._decision(X, solution)))  # sigmoid, host-side
        return np.column_stack([1 - p1, p1])

    def score(self, X, y, solution=None):
        """R^2 (gaussian) or accuracy (logistic) of :meth:`predict`."""
        y = np.asarray(y, dtype=float)
        pred = self.predict(X, solution)
        if self.likelihood == "logistic":
            return float(np.mean(pred == y))
        ss = np.sum((y - y.mean()) ** 2)
        return float(1 - np.sum((y - pred) ** 2) / ss) if ss > 0 else 0.0

    def _get_support_mask(self):
        check_is_fitted(self, "means_")
        mask = np.zeros(self.n_features_in_, dtype=bool)
        for s in self.solutions_:
            mask[s] = True
        return mask
