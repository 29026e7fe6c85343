"""PreconditionedLasso: a Lasso solved in a preconditioned basis (right: X S, coef = S v) or on
preconditioned rows (left: F X, F y), the hook for two-phase methods such as "Sparse Linear Regression
is Easy on Random Supports" (Chandrasekaran, Meka, Stavropoulos 2025; Phase 1 builds a preconditioner
from X alone, Phase 2 solves a Lasso-type problem in the new basis).

Built-ins: ``"identity"`` (equals :class:`Lasso`), ``"standardize"`` (right, S = diag(1/sd_j), zero-sd
columns -> 0), ``"puffer"`` (left; Jia & Rohe 2015: X_c = U D V^T, F = U D^-1 U^T so F X_c = U V^T has
orthonormal rows; needs n <= p and full row rank), or a callable ``f(X) -> (side, matrix)``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

from .._validation import check_nonnegative, store_params, validate_data_named
from ..linalg.cache import compiled_entry
from ._base import SparseLinearBase, check_common, check_sample_weight
from .linear_models import Lasso

__all__ = ["PreconditionedLasso"]

_BUILTIN = ("identity", "standardize", "puffer")


class PreconditionedLasso(RegressorMixin, SparseLinearBase):
    """Lasso in a preconditioned basis.

    Parameters
    ----------
    alpha : float >= 0, default=1.0
        Lasso penalty in the preconditioned problem.
    preconditioner : {"identity", "standardize", "puffer"} or callable, default="identity"
        A callable receives the (centred, if ``fit_intercept``) design and returns ``("right", S)`` with
        S (n_features, n_features) or ``("left", F)`` with F (m, n_samples).
    fit_intercept, max_iter, tol : as :class:`Lasso`

    Attributes
    ----------
    coef_ : coefficients in the original basis
    coef_preconditioned_ : the Lasso solution v in the preconditioned problem
    preconditioner_ : (side, matrix) used
    intercept_, dual_gap_, n_iter_, converged_
    """

    def __init__(self, alpha=1.0, *, preconditioner="identity", fit_intercept=True, max_iter=1000, tol=1e-6):
        store_params(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False   # a preconditioner is a dense transform of X
        return tags

    def _build(self, Xc, n_eff, s):
        pc = self.preconditioner
        n, p = Xc.shape
        if isinstance(pc, str):
            if pc not in _BUILTIN:
                raise ValueError(f"preconditioner must be one of {_BUILTIN} or a callable, got {pc!r}")
            if pc == "identity":
                return "right", None
            if pc == "standardize":
                # the weighted standard deviation: an integer weight must act as that many copies
                sd = np.sqrt(s @ (Xc * Xc) / s.sum())
                return "right", np.where(sd > 0, 1.0 / np.where(sd > 0, sd, 1.0), 0.0)
            # puffer
            if n > p:
                raise ValueError(f"preconditioner='puffer' needs n_samples <= n_features, got {n} > {p}; "
                                 "use preconditioner='standardize'")
            U, d, _ = np.linalg.svd(Xc, full_matrices=False)
            r = n_eff
            if d.size < r or d[r - 1] <= d[0] * max(n, p) * np.finfo(float).eps:
                raise ValueError("preconditioner='puffer' needs X of full row rank (after centring); "
                                 "use preconditioner='standardize'")
            U, d = U[:, :r], d[:r]
            return "left", (U / d) @ U.T
        if not callable(pc):
            raise TypeError(f"preconditioner must be a string or a callable, got {type(pc).__name__}")
        out = pc(Xc)
        if not (isinstance(out, tuple) and len(out) == 2 and out[0] in ("left", "right")):
            raise ValueError("a preconditioner callable must return ('left', F) or ('right', S)")
        side, M = out[0], np.asarray(out[1], dtype=np.float64)
        if not np.all(np.isfinite(M)):
            raise ValueError("the preconditioner matrix contains NaN or infinity")
        want = (p, p) if side == "right" else (None, n)
        if M.ndim != 2 or (side == "right" and M.shape != want) or (side == "left" and M.shape[1] != n):
            raise ValueError(f"the {side} preconditioner must have shape {want}, got {M.shape}")
        if side == "right":
            s = np.linalg.svd(M, compute_uv=False)
            if s[-1] <= s[0] * p * np.finfo(float).eps:
                raise ValueError("the right preconditioner is singular")
        return side, M

    @compiled_entry
    def fit(self, X, y, sample_weight=None):
        """Fit the preconditioned Lasso and map the coefficients back."""
        check_nonnegative(self.alpha, "alpha")
        check_common(self)
        X, y = validate_data_named(self, X, y, dtype=np.float64, y_numeric=True)
        sw = check_sample_weight(sample_weight, X)
        s = np.ones(X.shape[0]) if sw is None else sw
        if self.fit_intercept:
            xm = s @ X / s.sum()
            ym = s @ y / s.sum()
        else:
            xm, ym = np.zeros(X.shape[1]), 0.0
        Xc, yc = X - xm, y - ym
        n_eff = int(np.sum(s > 0)) - (1 if self.fit_intercept else 0)
        side, M = self._build(Xc, max(n_eff, 1), s)
        lasso = Lasso(alpha=self.alpha, fit_intercept=False, max_iter=self.max_iter, tol=self.tol)
        if side == "right":
            if M is None:
                Z = Xc
            elif M.ndim == 1:
                Z = Xc * M
            else:
                Z = Xc @ M
            lasso.fit(Z, yc, sample_weight=sw)
            v = lasso.coef_
            coef = v if M is None else (M * v if M.ndim == 1 else M @ v)
        else:
            sq = np.sqrt(s)
            FX = M @ (Xc * sq[:, None])
            Fy = M @ (yc * sq)
            lasso.fit(FX, Fy)
            v = lasso.coef_
            coef = v
        self.preconditioner_ = (side, M)
        self.coef_preconditioned_ = v
        self.coef_ = coef
        self.intercept_ = float(ym - xm @ coef) if self.fit_intercept else 0.0
        for attr in ("dual_gap_", "certificate_", "n_iter_", "converged_"):
            setattr(self, attr, getattr(lasso, attr))
        return self
