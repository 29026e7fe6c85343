"""scikit-learn estimator around the GEMSS core."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import as_prng_key, check_choice, check_int, check_nonnegative, check_positive
from ..linalg.cache import compiled_entry
from ..linalg.shapes import next_pow2
from .extraction import EXTRACTIONS, Extraction, deduplicate, outlier_solutions, threshold_solutions
from .priors import PRIORS

__all__ = ["GEMSS"]


class GEMSS(SelectorMixin, BaseEstimator):
    """Multiple sparse solutions by a variational spike-and-slab mixture (gemss 1.1.2 in JAX).

    A K-component diagonal-Gaussian mixture q(beta) is fitted by Adam to a structured spike-and-slab
    posterior for the linear model ``y ~ X beta`` (sigma 1, no intercept; or a logistic model); each
    component's large-|mu| features form one candidate solution. Defaults are those of gemss's
    ``BayesianFeatureSelector``; reproductions of the report pass its settings explicitly
    (e.g. ``n_components=6, lambda_jaccard=1000, n_iter=3500``).

    Parameters
    ----------
    n_components : int, default 8
        K, the number of mixture components (candidate solutions).
    sparsity : int, default 3
        D: support size of the structured prior and of "top" extraction.
    prior : {"sss", "sss_exact", "ss", "student"}, default "sss"
        "sss": gemss's structured spike-and-slab averaged over ``n_prior_supports`` random supports
        redrawn every iteration; "sss_exact": the same prior averaged over all supports (exact);
        "ss": independent spike-and-slab; "student": Student-t.
    var_slab, var_spike : float, default 100.0, 0.1
        Slab/spike scales (used as sds in the square and 0.5 log v, as gemss).
    weight_slab, weight_spike : float, default 0.9, 0.1
        Weights of the "ss" prior.
    student_df, student_scale : float, default 1.0, 1.0
        Student-t prior parameters.
    n_prior_supports : int, default 100
        M random supports per iteration ("sss").
    likelihood : {"gaussian", "logistic"}, default "gaussian"
        gemss's L2 likelihood (also used on 0/1 labels) or a Bernoulli-logit likelihood (y in {0, 1}).
    lambda_jaccard : float, default 0.0
        Weight of the soft-Jaccard penalty on the draws (0: off).
    jaccard_union : {"soft", "p"}, default "soft"
        Denominator of the soft Jaccard ("p": the report-era version).
    lr : float, default 2e-3
        Adam learning rate.
    batch_size : int, default 16
        Monte-Carlo draws per iteration (not a data minibatch).
    n_iter : int, default 5000
        Iterations (no early stopping).
    extraction : {"top", "full", "outlier", "outlier_median"}, default "top"
        How solutions are read off the means (see :mod:`sparsestat.gemss.extraction`).
    min_mu_threshold : float, default 0.2
        tau for "top"/"full" (the report's value; gemss's function default is 1e-6).
    outlier_threshold : float, default 3.0
        Multiplier c of the outlier rules.
    deduplicate : bool, default False
        Drop solutions with the same feature set (gemss keeps them).
    random_state : int, numpy Generator, JAX key or None
        Seed; fixed -> identical results on one backend.

    Attributes
    ----------
    solutions_ : list of ndarray of int
        Candidate supports, each sorted by |mu| descending.
    solution_components_ : ndarray of int
        Component of each solution.
    means_, variances_ : ndarray (K, n_features)
        Final component means and variances.
    weights_ : ndarray (K,)
        Final mixture weights.
    objective_history_ : ndarray (n_iter,)
        Pre-step regularised objective.
    jaccard_history_ : ndarray (n_iter,)
        Pre-step mean pairwise soft Jaccard of the draws.
    extraction_iterations_ : ndarray (K,)
        Iteration from which each component's "top"/"full" solution was read (-1: fallback).
    checkpoints_ : dict
        ``iteration``, ``means``, ``variances``, ``weights`` every 100 iterations.
    best_solution_ : int
        Index of the solution with the smallest training RSS (logistic: deviance) after refitting.
    n_features_in_ : int
    feature_names_in_ : ndarray of str (if X had feature names)
    """

    def __init__(self, n_components=8, sparsity=3, *, prior="sss", var_slab=100.0, var_spike=0.1,
                 weight_slab=0.9, weight_spike=0.1, student_df=1.0, student_scale=1.0,
                 n_prior_supports=100, likelihood="gaussian", lambda_jaccard=0.0, jaccard_union="soft",
                 lr=2e-3, batch_size=16, n_iter=5000, extraction="top", min_mu_threshold=0.2,
                 outlier_threshold=3.0, deduplicate=False, random_state=None):
        self.n_components = n_components
        self.sparsity = sparsity
        self.prior = prior
        self.var_slab = var_slab
        self.var_spike = var_spike
        self.weight_slab = weight_slab
        self.weight_spike = weight_spike
        self.student_df = student_df
        self.student_scale = student_scale
        self.n_prior_supports = n_prior_supports
        self.likelihood = likelihood
        self.lambda_jaccard = lambda_jaccard
        self.jaccard_union = jaccard_union
        self.lr = lr
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.extraction = extraction
        self.min_mu_threshold = min_mu_threshold
        self.outlier_threshold = outlier_threshold
        self.deduplicate = deduplicate
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = True
        return tags

    # ------------------------------------------------------------------ validation
    def _check_params(self, n_features: int) -> None:
        check_int(self.n_components, "n_components", lower=1)
        check_int(self.sparsity, "sparsity", lower=1, upper=n_features)
        check_choice(self.prior, "prior", PRIORS)
        check_choice(self.likelihood, "likelihood", ("gaussian", "logistic"))
        check_choice(self.jaccard_union, "jaccard_union", ("soft", "p"))
        check_choice(self.extraction, "extraction", EXTRACTIONS)
        check_positive(self.var_slab, "var_slab")
        check_positive(self.var_spike, "var_spike")
        ws = check_nonnegative(self.weight_slab, "weight_slab")
        wp = check_nonnegative(self.weight_spike, "weight_spike")
        if ws == 0 and wp == 0:
            raise ValueError("weight_slab and weight_spike must not both be 0")
        check_positive(self.student_df, "student_df")
        check_positive(self.student_scale, "student_scale")
        check_int(self.n_prior_supports, "n_prior_supports", lower=1)
        lam = check_nonnegative(self.lambda_jaccard, "lambda_jaccard")
        check_positive(self.lr, "lr")
        b = check_int(self.batch_size, "batch_size", lower=1)
        if lam > 0 and b < 2:
            raise ValueError("batch_size must be >= 2 when lambda_jaccard > 0 (the penalty needs pairs of draws)")
        check_int(self.n_iter, "n_iter", lower=1)
        check_nonnegative(self.min_mu_threshold, "min_mu_threshold")
        check_positive(self.outlier_threshold, "outlier_threshold")

    def _validate_X(self, X, reset: bool, y=None):
        kw = dict(reset=reset, dtype=np.float64, ensure_all_finite="allow-nan")
        if y is None:
            X = validate_data(self, X, **kw)
        else:
            X, y = validate_data(self, X, y, y_numeric=True, **kw)
        if np.any(np.isinf(X)):
            raise ValueError("X contains infinity; NaN (missing) is allowed, infinity is not")
        return X if y is None else (X, y)

    # ------------------------------------------------------------------ fit
    @compiled_entry
    def fit(self, X, y):
        """Fit the mixture and extract the solutions.

        Parameters
        ----------
        X : array-like (n_samples, n_features)
            Raw design; NaN marks a missing entry (zero-filled, as gemss).
        y : array-like (n_samples,)
            Response (0/1 labels for ``likelihood="logistic"``); NaN not allowed.

        Returns
        -------
        self
        """
        import jax
        import jax.numpy as jnp

        from .core import fit_mixture

        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        X, y = self._validate_X(X, True, y)
        n, p = X.shape
        self._check_params(p)
        observed_rows = np.any(~np.isnan(X), axis=1)
        if not observed_rows.any():
            raise ValueError("X has no row with an observed (non-NaN) feature")
        if not observed_rows.all():
            warnings.warn(f"{int((~observed_rows).sum())} rows of X have no observed feature and are "
                          "left out of the likelihood", RuntimeWarning, stacklevel=2)
        if self.likelihood == "logistic" and not np.all(np.isin(y, (0.0, 1.0))):
            raise ValueError("likelihood='logistic' needs y in {0, 1}")
        key = as_prng_key(self.random_state)
        res = fit_mixture(
            X, y, key, n_components=self.n_components, sparsity=self.sparsity, prior=self.prior,
            var_slab=self.var_slab, var_spike=self.var_spike, weight_slab=self.weight_slab,
            weight_spike=self.weight_spike, student_df=self.student_df, student_scale=self.student_scale,
            n_prior_supports=self.n_prior_supports, likelihood=self.likelihood,
            lambda_jaccard=self.lambda_jaccard, jaccard_union=self.jaccard_union, lr=self.lr,
            batch_size=self.batch_size, n_iter=self.n_iter, min_mu_threshold=self.min_mu_threshold,
            dtype=jnp.float32)
        res = jax.device_get(res)
        bad = int(res.first_nonfinite)
        if bad >= 0:
            warnings.warn(f"the objective was not finite at iteration {bad}; the parameters were "
                          "frozen at their last finite values", RuntimeWarning, stacklevel=2)
        self.means_ = np.asarray(res.means, dtype=np.float64)
        self.variances_ = np.asarray(res.variances, dtype=np.float64)
        self.weights_ = np.asarray(res.weights, dtype=np.float64)
        self.objective_history_ = np.asarray(res.objective, dtype=np.float64)
        self.jaccard_history_ = np.asarray(res.jaccard, dtype=np.float64)
        self.extraction_iterations_ = np.asarray(res.record_iteration, dtype=int)
        self._record_means = np.asarray(res.record_means, dtype=np.float64)
        self.checkpoints_ = {
            "iteration": np.asarray(res.checkpoint_iteration, dtype=int),
            "means": np.asarray(res.checkpoint_means, dtype=np.float64),
            "variances": np.asarray(res.checkpoint_variances, dtype=np.float64),
            "weights": np.asarray(res.checkpoint_weights, dtype=np.float64),
        }
        self._X_train = np.nan_to_num(X, nan=0.0)
        self._y_train = y
        ext = self._extract(self.extraction, self.min_mu_threshold, self.outlier_threshold)
        self.solutions_ = ext.solutions
        self.solution_components_ = ext.components
        self._refits = [self._refit(s) for s in self.solutions_]
        if self.solutions_:
            self.best_solution_ = int(np.argmin([r[2] for r in self._refits]))
        else:
            self.best_solution_ = None
        return self

    def _extract(self, extraction, tau, c) -> Extraction:
        if extraction in ("top", "full"):
            if tau == self.min_mu_threshold:
                rec_mu, rec_it = self._record_means, self.extraction_iterations_
            else:
                warnings.warn("min_mu_threshold differs from the fit's: the backward search is "
                              "approximated on the checkpoints (every 100 iterations)", UserWarning,
                              stacklevel=3)
                rec_mu, rec_it = self._search_checkpoints(tau)
            ext = threshold_solutions(rec_mu, rec_it, self.means_, self.sparsity, tau,
                                      top=extraction == "top")
        else:
            ext = outlier_solutions(self.means_, c, median=extraction == "outlier_median")
            if not ext.solutions:
                warnings.warn("outlier extraction found no solution", RuntimeWarning, stacklevel=3)
        return deduplicate(ext) if self.deduplicate else ext

    def _search_checkpoints(self, tau):
        ck = self.checkpoints_["means"]
        hist = np.concatenate([ck, self.means_[None]], axis=0)
        its = np.concatenate([self.checkpoints_["iteration"], [self.n_iter - 1]])
        K = self.means_.shape[0]
        rec_mu = np.zeros_like(self.means_)
        rec_it = np.full(K, -1)
        ok = np.sum(np.abs(hist) > tau, axis=2) >= self.sparsity
        for k in range(K):
            idx = np.flatnonzero(ok[:, k])
            if idx.size:
                rec_it[k] = its[idx[-1]]
                rec_mu[k] = hist[idx[-1], k]
        return rec_mu, rec_it

    def extract(self, extraction=None, min_mu_threshold=None, outlier_threshold=None):
        """Solutions under another extraction rule without refitting.

        A ``min_mu_threshold`` other than the fit's is approximate: the backward search runs on
        the checkpoints (every 100 iterations) and warns.

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

    # ------------------------------------------------------------------ refits and prediction
    def _refit(self, support):
        """Refit on the training columns ``support``: (intercept, coef, loss)."""
        import jax.numpy as jnp

        from ..linalg import enable_x64, lstsq

        Xs = self._X_train[:, support]
        y = self._y_train
        A = np.column_stack([np.ones(len(y)), Xs])
        with enable_x64():
            if self.likelihood == "gaussian":
                # zero columns up to a bucketed width, so that solutions of new sizes (e.g. "full"
                # extraction under another hyperparameter) reuse a few compiled programs; the
                # minimum-norm solution puts exactly 0 on a zero column, and the width stays <= n
                # when k <= n, so lstsq's default cutoff eps * max(n, width) is unchanged
                k = A.shape[1]
                width = next_pow2(k, cap=max(len(y), k))
                Ap = np.zeros((len(y), width))
                Ap[:, :k] = A
                w = np.asarray(lstsq(jnp.asarray(Ap), jnp.asarray(y)))[:k]
                loss = float(np.sum((y - A @ w) ** 2))
            else:
                w = _newton_logistic(A, y)
                eta = A @ w
                loss = float(2 * np.sum(np.logaddexp(0, eta) - y * eta))
        return float(w[0]), w[1:], loss

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
        X = self._validate_X(X, False)
        X = np.nan_to_num(X, nan=0.0)
        b0, w, _ = self._refits[s]
        return b0 + X[:, self.solutions_[s]] @ w

    def predict(self, X, solution=None):
        """Predict with an unpenalised refit on one solution's columns (NaN zero-filled).

        Gaussian likelihood: least squares with intercept; logistic: 0/1 labels of a Newton logistic
        refit. ``solution=None`` uses ``best_solution_``.
        """
        f = self._decision(X, solution)
        return (f > 0).astype(int) if self.likelihood == "logistic" else f

    @available_if(lambda self: self.likelihood == "logistic")
    def predict_proba(self, X, solution=None):
        """Class probabilities (n, 2) of the logistic refit (only with ``likelihood="logistic"``)."""
        p1 = 0.5 * (1.0 + np.tanh(0.5 * self._decision(X, solution)))
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


def _newton_logistic(A, y, n_iter: int = 30, tol: float = 1e-9):
    """Unpenalised logistic regression by Newton's method (ridge 1e-6 keeps separable data finite)."""
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
