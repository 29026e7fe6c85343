"""scikit-learn estimators over the SBL cores: :class:`SBLRegression` (classic SBL / ARD) and
:class:`KroneckerSBL` (KroSBL with a Kronecker-structured dictionary)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import store_params, validate_estimator_data
from ..exceptions import warn_not_converged
from ..linalg.cache import compiled_entry
from ..linalg.modes import kron_matvec
from ..linalg.operators import Kronecker
from ..linalg.precision import enable_x64

__all__ = ["SBLRegression", "KroneckerSBL"]


def _factor_arrays(X) -> list:
    """The factors of a Kronecker dictionary (a ``linalg.Kronecker`` or a list of arrays) as numpy arrays."""
    return [np.asarray(f) for f in (X.factors if isinstance(X, Kronecker) else X)]


class SBLRegression(RegressorMixin, BaseEstimator):
    """Sparse Bayesian learning regression (relevance vector / ARD prior), fitted by EM.

    Model: y = X w + b + n, n ~ N(0, sigma^2 I), w_j ~ N(0, gamma_j) independently; gamma and sigma^2
    maximise the marginal likelihood. Same model as :class:`sklearn.linear_model.ARDRegression` (which
    uses MacKay updates and Gamma hyperpriors); ``update="mackay"`` uses MacKay's gamma update here too.
    Coefficients whose gamma falls below ``prune * max(gamma)`` are pruned (exactly 0).

    Parameters
    ----------
    update : {"em", "mackay"}
        gamma_j <- Sigma_jj + mu_j^2 (EM, monotone) or gamma_j <- mu_j^2 / (1 - Sigma_jj / gamma_j).
    noise_var : float or None
        Known noise variance, or None to learn it.
    max_iter : int
        Iteration cap (300); a ``ConvergenceWarning`` is raised when it is hit.
    tol : float
        Stop when the relative change of gamma is below ``tol``.
    prune : float in [0, 1)
        Relative pruning threshold (1e-3); 0 disables pruning.
    prune_abs : float
        Absolute threshold: prune gamma_j < prune_abs (ARDRegression's ``threshold_lambda`` = 1e4 is
        ``prune_abs=1e-4``); 0 disables.
    fit_intercept : bool
        Centre X and y before fitting (as ARDRegression) and set ``intercept_``.

    Attributes
    ----------
    coef_ : ndarray (n_features,)
    intercept_ : float
    gamma_ : ndarray (n_features,) prior variances (0 = pruned)
    lambda_ : ndarray (n_features,) prior precisions 1 / gamma (inf where pruned), as ARDRegression
    noise_var_ : float
    alpha_ : float, noise precision 1 / noise_var_
    sigma_ : ndarray (n_kept, n_kept), posterior covariance of the kept coefficients
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sparsestat import SBLRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 10)); w = np.zeros(10); w[:3] = [1.0, -2.0, 0.5]
    >>> model = SBLRegression().fit(X, X @ w + 0.1 * rng.standard_normal(100))
    """

    def __init__(self, *, update: str = "em", noise_var=None, max_iter: int = 300, tol: float = 1e-4,
                 prune: float = 1e-3, prune_abs: float = 0.0, fit_intercept: bool = True):
        store_params(self, locals())

    @compiled_entry
    def fit(self, X, y):
        """Fit the model to X (n_samples, n_features) and y (n_samples,). Returns self."""
        from .classic import sbl

        if y is None:
            raise ValueError("SBLRegression requires y to be passed, but the target y is None")
        X, y = validate_estimator_data(self, X, y, y_numeric=True)
        if self.fit_intercept:
            x_mean = X.mean(axis=0)
            y_mean = float(y.mean())
        else:
            x_mean = np.zeros(X.shape[1])
            y_mean = 0.0
        Xc = X - x_mean
        yc = y - y_mean
        with enable_x64():
            res = sbl(Xc, yc, noise_var=self.noise_var, max_iter=self.max_iter, tol=self.tol, prune=self.prune,
                      prune_abs=self.prune_abs, update=self.update)
            coef = np.asarray(res.coef, dtype=np.float64)
            gamma = np.asarray(res.gamma, dtype=np.float64)
            nv = float(res.noise_var)
            self.n_iter_ = int(res.n_iter)
            self.converged_ = bool(res.converged)
        if not self.converged_:
            warn_not_converged("SBLRegression", self.n_iter_, self.max_iter, tol=self.tol, stacklevel=4)
        self.coef_ = coef
        self.gamma_ = gamma
        with np.errstate(divide="ignore"):
            self.lambda_ = np.where(gamma > 0, 1.0 / np.where(gamma > 0, gamma, 1.0), np.inf)
        self.noise_var_ = nv
        self.alpha_ = 1.0 / nv
        keep = gamma > 0
        Xk = Xc[:, keep]
        prec = Xk.T @ Xk / nv + np.diag(1.0 / gamma[keep])
        self.sigma_ = np.linalg.pinv(prec, hermitian=True) if keep.any() else np.zeros((0, 0))
        self._keep = keep
        self.intercept_ = float(y_mean - x_mean @ coef) if self.fit_intercept else 0.0
        return self

    def predict(self, X, return_std: bool = False):
        """Predictive mean (and standard deviation sqrt(noise_var + x^T Sigma x) with ``return_std``)."""
        check_is_fitted(self)
        X = validate_estimator_data(self, X, reset=False)
        mean = X @ self.coef_ + self.intercept_
        if not return_std:
            return mean
        Xk = X[:, self._keep]
        var = self.noise_var_ + np.sum((Xk @ self.sigma_) * Xk, axis=1)
        return mean, np.sqrt(var)


class KroneckerSBL(BaseEstimator):
    """Kronecker-structured sparse Bayesian learning (KroSBL) as an estimator.

    ``fit(X, y)`` takes the dictionary as a :class:`sparsestat.linalg.Kronecker` operator or a list of factor
    matrices H_1, ..., H_I (never the materialised product) and y of length prod(M_i), or a batch (B, M).
    See :func:`sparsestat.sbl.kron_sbl` for the model and the parameters. AM (``method="am"``) is the robust
    choice when the values of x are not themselves Kronecker; SVD (default) is the fastest and the most
    accurate when they are.

    Attributes
    ----------
    coef_ : ndarray (N,) or (B, N)
    gamma_ : tuple of ndarrays (N_i,) or (B, N_i); 0 = pruned
    support_ : tuple of per-factor index arrays of the kept entries (one problem), or a list of them (batch)
    noise_var_ : float or ndarray (B,)
    n_iter_ : int or ndarray (B,)
    converged_ : bool or ndarray (B,)
    """

    def __init__(self, method: str = "svd", *, block_sizes=None, coupling: float = 0.8, noise_var=None,
                 max_iter: int = 150, tol: float = 1e-4, prune=None, prune_abs: float = 0.0,
                 init: str = "normalised"):
        store_params(self, locals())

    @compiled_entry
    def fit(self, X, y):
        """Fit to the Kronecker dictionary X (operator or list of factors) and measurements y. Returns self."""
        from .kron_sbl import kron_sbl

        with enable_x64():
            res = kron_sbl(X, y, method=self.method, block_sizes=self.block_sizes, coupling=self.coupling,
                           noise_var=self.noise_var, max_iter=self.max_iter, tol=self.tol, prune=self.prune,
                           prune_abs=self.prune_abs, init=self.init)
            self.coef_ = np.asarray(res.coef)
            self.gamma_ = tuple(np.asarray(g, dtype=np.float64) for g in res.gamma)
            nv = np.asarray(res.noise_var, dtype=np.float64)
            it = np.asarray(res.n_iter)
            cv = np.asarray(res.converged)
        batched = self.coef_.ndim == 2
        self.noise_var_ = nv if batched else float(nv)
        self.n_iter_ = it if batched else int(it)
        self.converged_ = cv if batched else bool(cv)
        if batched:
            self.support_ = [tuple(np.flatnonzero(g[b] > 0) for g in self.gamma_) for b in range(self.coef_.shape[0])]
        else:
            self.support_ = tuple(np.flatnonzero(g > 0) for g in self.gamma_)
        self._factors = _factor_arrays(X)
        self.n_features_in_ = int(np.prod([f.shape[-1] for f in self._factors]))
        if not np.all(cv):
            warn_not_converged(f"KroneckerSBL(method={self.method!r})", int(np.max(it)), self.max_iter, tol=self.tol,
                               stacklevel=4)
        return self

    def predict(self, X=None):
        """H coef_ with the fitted dictionary (X=None) or another Kronecker dictionary X."""
        check_is_fitted(self, "coef_")
        facs = self._factors if X is None else _factor_arrays(X)
        # numpy on the host (numpy in, numpy out, float64 whatever JAX's x64 flag): linalg.modes with xp=np
        if self.coef_.ndim == 1:
            return kron_matvec(facs, self.coef_, xp=np)
        return np.stack([kron_matvec([f[b] if f.ndim == 3 else f for f in facs], self.coef_[b], xp=np)
                         for b in range(self.coef_.shape[0])])
