"""scikit-learn estimator around the GEMSS core: validate, call :func:`sparsestat.gemss.fit`, store
numpy results. Re-extraction, refits and prediction are in :mod:`~sparsestat.gemss.postprocess`."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin

from .._validation import as_prng_key, check_choice, check_int, check_nonnegative, check_positive, store_params
from ..linalg.cache import compiled_entry
from .core import fit as fit_core
from .extraction import EXTRACTIONS
from .jaccard import JACCARD_UNIONS
from .likelihood import LIKELIHOODS
from .postprocess import FittedSolutions
from .priors import PRIORS
from .refit import refit

__all__ = ["GEMSS"]

# the estimator's settings that :func:`sparsestat.gemss.fit` takes under the same name
_CORE_PARAMS = ("n_components", "sparsity", "prior", "var_slab", "var_spike", "weight_slab",
                "weight_spike", "student_df", "student_scale", "n_prior_supports", "likelihood",
                "lambda_jaccard", "jaccard_union", "lr", "batch_size", "n_iter", "min_mu_threshold")


class GEMSS(FittedSolutions, SelectorMixin, BaseEstimator):
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
    missing : {"error", "zero"}, default "error"
        NaN in X: "error" refuses it (ValueError), as every other estimator does; "zero" treats it as a
        missing entry that drops out of its row (zero-filled, gemss's handling, which its reproduction
        tiers with missing values use).
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
                 outlier_threshold=3.0, deduplicate=False, missing="error", random_state=None):
        store_params(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.missing == "zero"
        tags.target_tags.required = True
        return tags

    @compiled_entry
    def fit(self, X, y):
        """Fit the mixture and extract the solutions.

        Parameters
        ----------
        X : array-like (n_samples, n_features)
            Raw design. NaN is refused, unless ``missing="zero"``: then it marks a missing entry
            (zero-filled, as gemss).
        y : array-like (n_samples,)
            Response (0/1 labels for ``likelihood="logistic"``); NaN not allowed.

        Returns
        -------
        self
        """
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        check_choice(self.missing, "missing", ("error", "zero"))
        X, y = self._validate_X(X, True, y)
        _check_params(self, X, y)
        res = jax.device_get(fit_core(X, y, as_prng_key(self.random_state), dtype=jnp.float32, missing=self.missing,
                                      **{name: getattr(self, name) for name in _CORE_PARAMS}))
        if int(res.first_nonfinite) >= 0:
            warnings.warn(f"the objective was not finite at iteration {int(res.first_nonfinite)}; the "
                          "parameters were frozen at their last finite values", RuntimeWarning, stacklevel=2)
        f64 = lambda a: np.asarray(a, dtype=np.float64)
        self.means_, self.variances_, self.weights_ = f64(res.means), f64(res.variances), f64(res.weights)
        self.objective_history_, self.jaccard_history_ = f64(res.objective), f64(res.jaccard)
        self.extraction_iterations_ = np.asarray(res.record_iteration, dtype=int)
        self._record_means = f64(res.record_means)
        self.checkpoints_ = {"iteration": np.asarray(res.checkpoint_iteration, dtype=int),
                             "means": f64(res.checkpoint_means), "variances": f64(res.checkpoint_variances),
                             "weights": f64(res.checkpoint_weights)}
        self._X_train, self._y_train = np.nan_to_num(X, nan=0.0), y
        ext = self._extract(self.extraction, self.min_mu_threshold, self.outlier_threshold)
        self.solutions_, self.solution_components_ = ext.solutions, ext.components
        self._refits = [refit(self._X_train, y, s, self.likelihood) for s in self.solutions_]
        self.best_solution_ = int(np.argmin([r[2] for r in self._refits])) if self.solutions_ else None
        return self


def _check_params(est: GEMSS, X, y) -> None:
    """Validate the estimator's settings against the data (``ValueError`` naming the argument) and
    warn about rows without an observed feature."""
    n_features = X.shape[1]
    check_int(est.n_components, "n_components", lower=1)
    check_int(est.sparsity, "sparsity", lower=1, upper=n_features)
    check_choice(est.prior, "prior", PRIORS)
    check_choice(est.likelihood, "likelihood", LIKELIHOODS)
    check_choice(est.jaccard_union, "jaccard_union", JACCARD_UNIONS)
    check_choice(est.extraction, "extraction", EXTRACTIONS)
    check_positive(est.var_slab, "var_slab")
    check_positive(est.var_spike, "var_spike")
    ws = check_nonnegative(est.weight_slab, "weight_slab")
    wp = check_nonnegative(est.weight_spike, "weight_spike")
    if ws == 0 and wp == 0:
        raise ValueError("weight_slab and weight_spike must not both be 0")
    check_positive(est.student_df, "student_df")
    check_positive(est.student_scale, "student_scale")
    check_int(est.n_prior_supports, "n_prior_supports", lower=1)
    lam = check_nonnegative(est.lambda_jaccard, "lambda_jaccard")
    check_positive(est.lr, "lr")
    b = check_int(est.batch_size, "batch_size", lower=1)
    if lam > 0 and b < 2:
        raise ValueError("batch_size must be >= 2 when lambda_jaccard > 0 (the penalty needs pairs of draws)")
    check_int(est.n_iter, "n_iter", lower=1)
    check_nonnegative(est.min_mu_threshold, "min_mu_threshold")
    check_positive(est.outlier_threshold, "outlier_threshold")
    observed_rows = np.any(~np.isnan(X), axis=1)
    if not observed_rows.any():
        raise ValueError("X has no row with an observed (non-NaN) feature")
    if not observed_rows.all():
        warnings.warn(f"{int((~observed_rows).sum())} rows of X have no observed feature and are "
                      "left out of the likelihood", RuntimeWarning, stacklevel=4)
    if est.likelihood == "logistic" and not np.all(np.isin(y, (0.0, 1.0))):
        raise ValueError("likelihood='logistic' needs y in {0, 1}")
