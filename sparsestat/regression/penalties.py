"""Penalties Omega(w) = sum_j v_j omega(w_j) as small pytrees.

Every penalty exposes ``value(w)``, ``prox(z, step)`` (elementwise, ``step`` scalar or per
coordinate), ``subdiff_distance(w, grad)`` (distance of -grad to the Clarke subdifferential, per
coordinate; the stationarity measure), ``alpha_max(grad0)`` (smallest alpha with w = 0 stationary)
and ``take(idx)`` (the penalty restricted to the coordinates ``idx``, for working sets). ``alpha``
(and ``gamma``) are pytree leaves, so a penalty can be vmapped over a grid of regularisation values;
flags (``positive``) are static. The prox maps come from :mod:`sparsestat.linalg.prox`.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.tree_util import register_pytree_node_class

from ..linalg.shapes import next_pow2
from ..linalg.prox import mcp_penalty, prox_mcp, prox_scad, scad_penalty, soft_threshold

__all__ = ["L1", "L1L2", "MCP", "SCAD", "L0"]


def _sign(w):
    return jnp.sign(w)


class _Penalty:
    is_convex = True
    kind = "abstract"

    def _alpha_vec(self, w):
        a = jnp.asarray(self.alpha, dtype=w.dtype)
        w_ = getattr(self, "weights", None)
        return a if w_ is None else a * jnp.asarray(w_, dtype=w.dtype)

    def take(self, idx):
        w_ = getattr(self, "weights", None)
        if w_ is None:
            return self
        return self._replace_weights(jnp.take(w_, idx, axis=-1))

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in self._repr_fields())
        return f"{type(self).__name__}({fields})"


@register_pytree_node_class
class L1(_Penalty):
    """alpha * sum_j v_j |w_j| (v_j = ``weights``, default 1; with ``positive``, plus w >= 0).

    Parameters
    ----------
    alpha : float >= 0
        Regularisation strength.
    weights : array of shape (n_features,), optional
        Positive per-feature factors v_j (glmnet ``penalty.factor``, celer ``weights``).
    positive : bool
        Constrain the coefficients to be non-negative.
    """

    kind = "l1"

    def __init__(self, alpha, weights=None, positive: bool = False):
        self.alpha = alpha
        self.weights = weights
        self.positive = bool(positive)

    def tree_flatten(self):
        return (self.alpha, self.weights), (self.positive,)

    @classmethod
    def tree_unflatten(cls, aux, leaves):
        return cls(leaves[0], leaves[1], *aux)

    def _replace_weights(self, w):
        return L1(self.alpha, w, self.positive)

    def _repr_fields(self):
        return [("alpha", self.alpha), ("positive", self.positive)]

    def value(self, w):
        return jnp.sum(self._alpha_vec(w) * jnp.abs(w))

    def prox(self, z, step):
        a = self._alpha_vec(z) * step
        if self.positive:
            return jnp.maximum(z - a, 0.0)
        return soft_threshold(z, a)

    def subdiff_distance(self, w, grad):
        a = self._alpha_vec(w)
        if self.positive:
            at_zero = jnp.maximum(-grad - a, 0.0)
        else:
            at_zero = jnp.maximum(jnp.abs(grad) - a, 0.0)
        return jnp.where(w != 0, jnp.abs(grad + a * _sign(w)), at_zero)

    def alpha_max(self, grad0):
        v = 1.0 if self.weights is None else jnp.asarray(self.weights, grad0.dtype)
        g = -grad0 if self.positive else jnp.abs(grad0)
        return jnp.maximum(jnp.max(g / v), 0.0)

    # convex-dual helpers used by the certificates: l1 part, l2 part and per-feature factors
    def l1_l2(self, dtype):
        return jnp.asarray(self.alpha, dtype), jnp.zeros((), dtype)


@register_pytree_node_class
class L1L2(_Penalty):
    """Elastic net: alpha * sum_j v_j (l1_ratio |w_j| + (1 - l1_ratio) w_j^2 / 2) (scikit-learn's ElasticNet).

    Parameters
    ----------
    alpha : float >= 0
    l1_ratio : float in [0, 1]
    weights : array (n_features,), optional
        Positive per-feature factors on the l1 part.
    positive : bool
    """

    kind = "l1l2"

    def __init__(self, alpha, l1_ratio=0.5, weights=None, positive: bool = False):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.weights = weights
        self.positive = bool(positive)

    def tree_flatten(self):
        return (self.alpha, self.l1_ratio, self.weights), (self.positive,)

    @classmethod
    def tree_unflatten(cls, aux, leaves):
        return cls(leaves[0], leaves[1], leaves[2], *aux)

    def _replace_weights(self, w):
        return L1L2(self.alpha, self.l1_ratio, w, self.positive)

    def _repr_fields(self):
        return [("alpha", self.alpha), ("l1_ratio", self.l1_ratio), ("positive", self.positive)]

    def _l1_vec(self, w):
        return self._alpha_vec(w) * jnp.asarray(self.l1_ratio, w.dtype)

    def _l2(self, dtype):
        return jnp.asarray(self.alpha, dtype) * (1.0 - jnp.asarray(self.l1_ratio, dtype))

    def value(self, w):
        return jnp.sum(self._l1_vec(w) * jnp.abs(w)) + 0.5 * self._l2(w.dtype) * jnp.sum(w * w)

    def prox(self, z, step):
        a = self._l1_vec(z) * step
        num = jnp.maximum(z - a, 0.0) if self.positive else soft_threshold(z, a)
        return num / (1.0 + step * self._l2(z.dtype))

    def subdiff_distance(self, w, grad):
        g = grad + self._l2(w.dtype) * w
        return L1(jnp.asarray(self.alpha, w.dtype) * jnp.asarray(self.l1_ratio, w.dtype), self.weights,
                  self.positive).subdiff_distance(w, g)

    def alpha_max(self, grad0):
        return L1(1.0, self.weights, self.positive).alpha_max(grad0) / jnp.asarray(self.l1_ratio, grad0.dtype)

    def l1_l2(self, dtype):
        a = jnp.asarray(self.alpha, dtype)
        r = jnp.asarray(self.l1_ratio, dtype)
        return a * r, a * (1.0 - r)


@register_pytree_node_class
class MCP(_Penalty):
    """Minimax concave penalty: alpha|t| - t^2/(2 gamma) if |t| <= gamma alpha, gamma alpha^2/2 otherwise.

    Parameters
    ----------
    alpha : float >= 0
    gamma : float > 1
    positive : bool
    """

    kind = "mcp"
    is_convex = False

    def __init__(self, alpha, gamma=3.0, positive: bool = False):
        self.alpha = alpha
        self.gamma = gamma
        self.positive = bool(positive)

    def tree_flatten(self):
        return (self.alpha, self.gamma), (self.positive,)

    @classmethod
    def tree_unflatten(cls, aux, leaves):
        return cls(leaves[0], leaves[1], *aux)

    def _repr_fields(self):
        return [("alpha", self.alpha), ("gamma", self.gamma), ("positive", self.positive)]

    def value(self, w):
        return jnp.sum(mcp_penalty(w, jnp.asarray(self.alpha, w.dtype), jnp.asarray(self.gamma, w.dtype)))

    def prox(self, z, step):
        zz = jnp.maximum(z, 0.0) if self.positive else z
        return prox_mcp(zz, jnp.asarray(self.alpha, z.dtype), jnp.asarray(self.gamma, z.dtype), step)

    def subdiff_distance(self, w, grad):
        a = jnp.asarray(self.alpha, w.dtype)
        g_ = jnp.asarray(self.gamma, w.dtype)
        at_zero = jnp.maximum(-grad - a, 0.0) if self.positive else jnp.maximum(jnp.abs(grad) - a, 0.0)
        inner = jnp.abs(grad + a * _sign(w) - w / g_)
        return jnp.where(w == 0, at_zero, jnp.where(jnp.abs(w) < g_ * a, inner, jnp.abs(grad)))

    def alpha_max(self, grad0):
        return L1(1.0, None, self.positive).alpha_max(grad0)


@register_pytree_node_class
class SCAD(_Penalty):
    """Smoothly clipped absolute deviation (Fan & Li 2001), gamma > 2.

    Parameters
    ----------
    alpha : float >= 0
    gamma : float > 2
    """

    kind = "scad"
    is_convex = False
    positive = False

    def __init__(self, alpha, gamma=3.7):
        self.alpha = alpha
        self.gamma = gamma

    def tree_flatten(self):
        return (self.alpha, self.gamma), ()

    @classmethod
    def tree_unflatten(cls, aux, leaves):
        return cls(*leaves)

    def _repr_fields(self):
        return [("alpha", self.alpha), ("gamma", self.gamma)]

    def value(self, w):
        return jnp.sum(scad_penalty(w, jnp.asarray(self.alpha, w.dtype), jnp.asarray(self.gamma, w.dtype)))

    def prox(self, z, step):
        return prox_scad(z, jnp.asarray(self.alpha, z.dtype), jnp.asarray(self.gamma, z.dtype), step)

    def subdiff_distance(self, w, grad):
        a = jnp.asarray(self.alpha, w.dtype)
        g_ = jnp.asarray(self.gamma, w.dtype)
        aw = jnp.abs(w)
        s = _sign(w)
        d1 = jnp.abs(grad + a * s)
        d2 = jnp.abs(grad + (g_ * a * s - w) / (g_ - 1.0))
        nz = jnp.where(aw <= a, d1, jnp.where(aw <= g_ * a, d2, jnp.abs(grad)))
        return jnp.where(w == 0, jnp.maximum(jnp.abs(grad) - a, 0.0), nz)

    def alpha_max(self, grad0):
        return jnp.max(jnp.abs(grad0))


@register_pytree_node_class
class L0(_Penalty):
    """Sparsity constraint ||w||_0 <= n_nonzero_coefs (best-subset selection; solved by IHT).

    ``n_nonzero_coefs`` is a pytree leaf (a path over k reuses one executable); ``capacity`` (static, the
    next power of two) fixes the shapes of the least-squares polishing step.
    """

    kind = "l0"
    is_convex = False
    positive = False
    weights = None

    def __init__(self, n_nonzero_coefs, capacity: int | None = None):
        self.n_nonzero_coefs = n_nonzero_coefs
        if capacity is None:
            k = int(n_nonzero_coefs)
            capacity = next_pow2(k)
        self.capacity = int(capacity)  # static: power-of-two bucket >= k (shapes of the polishing step)

    def tree_flatten(self):
        return (self.n_nonzero_coefs,), (self.capacity,)

    @classmethod
    def tree_unflatten(cls, aux, leaves):
        return cls(leaves[0], *aux)

    def _repr_fields(self):
        return [("n_nonzero_coefs", self.n_nonzero_coefs)]

    def value(self, w):
        return jnp.where(jnp.sum(w != 0) <= self.n_nonzero_coefs, 0.0, jnp.inf).astype(w.dtype)

    def prox(self, z, step):
        from ..linalg.prox import keep_top_k

        return keep_top_k(z, self.n_nonzero_coefs)

    def subdiff_distance(self, w, grad):
        return jnp.where(w != 0, jnp.abs(grad), 0.0)

    def alpha_max(self, grad0):
        return jnp.max(jnp.abs(grad0))
