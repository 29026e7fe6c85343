"""The GEMSS fit (:func:`fit`): Adam on the Monte-Carlo objective, one jitted ``lax.scan``.

:func:`fit` is the functional core of the method (``sparsestat.gemss.fit``): a pure function of
arrays and an explicit PRNG key that returns a :class:`MixtureFit`; the ``GEMSS`` estimator is a thin
shell over it. ``fit_mixture`` and ``train`` are deprecated aliases kept for one release.

Compile once: the jitted program is specialised only on what sets shapes or code paths (number of
components, batch size, iteration count, number of prior supports, checkpoint period, sparsity, and
the prior / likelihood / Jaccard-union choices). Every numeric hyperparameter (learning rate, Jaccard
weight, prior variances, weights and Student parameters, extraction threshold) is a traced argument,
so a new value reuses the compiled program.

Memory-light history: instead of gemss's per-iteration copies of (mu, s2, alpha) (n_iter x K x p),
the scan keeps the objective and mean Jaccard per iteration, an *extraction record* (for each
component the last iteration at which at least ``sparsity`` means exceed ``min_mu_threshold`` in
absolute value, and the parameters there: exactly what gemss's backward search finds) and
checkpoints of the parameters every ``checkpoint_every`` iterations.
"""

from __future__ import annotations

import functools
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..linalg.cache import compiled_entry
from .jaccard import JACCARD_UNIONS
from .likelihood import LIKELIHOODS
from .mixture import MixtureParams, init_mixture, mixture_log_weights, mixture_variances, mixture_weights
from .objective import ObjectiveConfig, objective_terms
from .priors import PRIORS, PriorParams, all_supports, draw_supports

__all__ = ["TrainConfig", "MixtureFit", "fit", "fit_mixture", "prepare_data", "train"]


class TrainConfig(NamedTuple):
    """Settings of the training loop. ``lr`` is a number (traced: a new value does not recompile);
    the other fields set shapes and loop lengths (static)."""

    n_components: int = 8
    batch_size: int = 16
    n_iter: int = 5000
    lr: float = 2e-3
    n_prior_supports: int = 100
    checkpoint_every: int = 100


class MixtureFit(NamedTuple):
    """Result of :func:`fit` (all arrays; leading restart axis when vmapped).

    Attributes
    ----------
    params : MixtureParams
        Final unconstrained parameters.
    means, variances, weights : arrays (K, p), (K, p), (K,)
        Final mixture (after the last step).
    objective : array (n_iter,)
        Pre-step regularised objective at each iteration.
    jaccard : array (n_iter,)
        Pre-step mean pairwise soft Jaccard similarity of the draws.
    record_iteration : int array (K,)
        Last iteration (0-based, post-step parameters) at which component k had at least ``sparsity``
        means above the threshold; -1 if never.
    record_means, record_variances, record_weights : arrays (K, p), (K, p), (K,)
        Parameters of component k at ``record_iteration[k]`` (zeros if never).
    checkpoint_iteration : int array (C,)
        Iterations of the checkpoints (post-step).
    checkpoint_means, checkpoint_variances, checkpoint_weights : arrays (C, K, p), (C, K, p), (C, K)
    first_nonfinite : int array ()
        First iteration whose objective was not finite (its update and all later ones skipped); -1 if none.
    """

    params: MixtureParams
    means: jax.Array
    variances: jax.Array
    weights: jax.Array
    objective: jax.Array
    jaccard: jax.Array
    record_iteration: jax.Array
    record_means: jax.Array
    record_variances: jax.Array
    record_weights: jax.Array
    checkpoint_iteration: jax.Array
    checkpoint_means: jax.Array
    checkpoint_variances: jax.Array
    checkpoint_weights: jax.Array
    first_nonfinite: jax.Array


class _Carry(NamedTuple):
    params: MixtureParams
    opt_state: object
    key: jax.Array
    t: jax.Array
    bad: jax.Array
    rec_iter: jax.Array
    rec_mu: jax.Array
    rec_var: jax.Array
    rec_w: jax.Array


def prepare_data(X, y, dtype=jnp.float32):
    """Zero-fill NaN in X and build the row mask (1 where a row has an observed feature)."""
    X = jnp.asarray(X)
    observed = ~jnp.isnan(X)
    row_mask = jnp.any(observed, axis=1).astype(dtype)
    return jnp.where(observed, X, 0.0).astype(dtype), jnp.asarray(y, dtype), row_mask


def _fixed_supports(n_features: int, sparsity: int):
    """The reference enumerates all supports (instead of sampling) when p <= 10 and D <= 3."""
    if n_features <= 10 and sparsity <= 3:
        return jnp.asarray(all_supports(n_features, sparsity))
    return None


class _Structure(NamedTuple):
    """What the compiled training program is specialised on (hashable; the jit static argument)."""

    prior: str
    sparsity: int
    likelihood: str
    jaccard_union: str
    n_components: int
    batch_size: int
    n_iter: int
    n_prior_supports: int
    checkpoint_every: int


class _Hyper(NamedTuple):
    """The numeric hyperparameters of the training program (a pytree of scalars; traced)."""

    lr: jax.Array
    lambda_jaccard: jax.Array
    prior_params: PriorParams


def _split_configs(config: ObjectiveConfig, train_config: TrainConfig, dtype):
    """Split the public configs into the static structure and the traced numbers (scalars of ``dtype``)."""
    tc = train_config
    structure = _Structure(str(config.prior), int(config.sparsity), str(config.likelihood),
                           str(config.jaccard_union), int(tc.n_components), int(tc.batch_size),
                           int(tc.n_iter), int(tc.n_prior_supports), int(tc.checkpoint_every))
    num = lambda v: jnp.asarray(v, dtype)
    hyper = _Hyper(num(tc.lr), num(config.lambda_jaccard),
                   PriorParams(*(num(v) for v in config.prior_params)))
    return structure, hyper


def _train_impl(X, y, row_mask, key, tau, hyper: _Hyper, s: _Structure) -> MixtureFit:
    """The whole optimisation for one key (pure; traced under jit, vmappable)."""
    n, p = X.shape
    dtype = X.dtype
    config = ObjectiveConfig(s.prior, s.sparsity, s.likelihood, hyper.lambda_jaccard, s.jaccard_union,
                             hyper.prior_params)
    k_init, k_loop = jax.random.split(key)
    params = init_mixture(k_init, s.n_components, p, dtype)
    # the learning rate is a traced scalar: optax's adam scales its direction by -lr (no recompile)
    opt = optax.adam(hyper.lr, b1=0.9, b2=0.999, eps=1e-8)
    opt_state = opt.init(params)
    fixed = _fixed_supports(p, s.sparsity) if s.prior == "sss" else None
    sparsity = s.sparsity

    def loss_fn(prm, comps, eps, supports):
        terms = objective_terms(prm, X, y, row_mask, comps, eps, supports, config)
        return -terms.objective, terms

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def step(c: _Carry, _):
        key, k_comp, k_eps, k_sup = jax.random.split(c.key, 4)
        logw = jax.lax.stop_gradient(mixture_log_weights(c.params))
        comps = jax.random.categorical(k_comp, logw, shape=(s.batch_size,))
        eps = jax.random.normal(k_eps, (s.batch_size, p), dtype)
        if s.prior == "sss":
            supports = fixed if fixed is not None else draw_supports(k_sup, s.n_prior_supports, p, sparsity)
        else:
            supports = None
        (_, terms), grads = grad_fn(c.params, comps, eps, supports)
        updates, new_opt = opt.update(grads, c.opt_state, c.params)
        new_params = optax.apply_updates(c.params, updates)
        ok = jnp.isfinite(terms.objective) & (c.bad < 0)
        keep = lambda a, b: jax.tree_util.tree_map(lambda u, v: jnp.where(ok, u, v), a, b)
        params = keep(new_params, c.params)
        opt_state = keep(new_opt, c.opt_state)
        bad = jnp.where((c.bad < 0) & ~jnp.isfinite(terms.objective), c.t, c.bad)
        # extraction record: last iteration with >= D means above tau, per component
        hit = jnp.sum(jnp.abs(params.mu) > tau, axis=1) >= sparsity
        var = mixture_variances(params)
        w = mixture_weights(params)
        carry = _Carry(params, opt_state, key, c.t + 1, bad,
                       jnp.where(hit, c.t, c.rec_iter),
                       jnp.where(hit[:, None], params.mu, c.rec_mu),
                       jnp.where(hit[:, None], var, c.rec_var),
                       jnp.where(hit, w, c.rec_w))
        return carry, (terms.objective, terms.jaccard)

    def chunk(c, _):
        c, trace = jax.lax.scan(step, c, None, length=s.checkpoint_every)
        ck = (c.t - 1, c.params.mu, mixture_variances(c.params), mixture_weights(c.params))
        return c, (trace, ck)

    K = s.n_components
    zeros = jnp.zeros((K, p), dtype)
    carry = _Carry(params, opt_state, k_loop, jnp.zeros((), jnp.int32), jnp.full((), -1, jnp.int32),
                   jnp.full((K,), -1, jnp.int32), zeros, zeros, jnp.zeros((K,), dtype))
    n_chunks, rem = divmod(s.n_iter, s.checkpoint_every)
    carry, ((obj_a, jac_a), (ck_t, ck_mu, ck_var, ck_w)) = jax.lax.scan(chunk, carry, None, length=n_chunks)
    obj, jac = obj_a.reshape(-1), jac_a.reshape(-1)
    if rem:
        carry, (obj_b, jac_b) = jax.lax.scan(step, carry, None, length=rem)
        obj = jnp.concatenate([obj, obj_b])
        jac = jnp.concatenate([jac, jac_b])
    prm = carry.params
    return MixtureFit(prm, prm.mu, mixture_variances(prm), mixture_weights(prm), obj, jac,
                      carry.rec_iter, carry.rec_mu, carry.rec_var, carry.rec_w,
                      ck_t, ck_mu, ck_var, ck_w, carry.bad)


@functools.partial(jax.jit, static_argnames=("structure",))
def _train_one(X, y, row_mask, key, tau, hyper, *, structure):
    return _train_impl(X, y, row_mask, key, tau, hyper, structure)


@functools.partial(jax.jit, static_argnames=("structure",))
def _train_many(X, y, row_mask, keys, tau, hyper, *, structure):
    """Restarts: the training loop vmapped over a leading axis of keys (one program)."""
    return jax.vmap(lambda k: _train_impl(X, y, row_mask, k, tau, hyper, structure))(keys)


@functools.partial(jax.jit, static_argnames=("dtype",))
def _prepare_jit(X, y, dtype):
    return prepare_data(X, y, dtype)


@compiled_entry
def fit(X, y, key, *, n_components: int, sparsity: int, prior: str = "sss", var_slab: float = 100.0,
        var_spike: float = 0.1, weight_slab: float = 0.9, weight_spike: float = 0.1,
        student_df: float = 1.0, student_scale: float = 1.0, n_prior_supports: int = 100,
        likelihood: str = "gaussian", lambda_jaccard: float = 0.0, jaccard_union: str = "soft",
        lr: float = 2e-3, batch_size: int = 16, n_iter: int = 5000, min_mu_threshold: float = 0.2,
        checkpoint_every: int = 100, dtype=jnp.float32, missing: str = "error") -> MixtureFit:
    """The GEMSS fit: gemss's variational mixture fitted to ``(X, y)``.

    The functional core of :mod:`sparsestat.gemss` (pure; explicit key). ``jax.vmap`` it over keys
    (or pass a batch of keys) for restarts, and over data sets for several problems of one shape;
    either way the training loop compiles once.

    Compiled once per data shape and structure (``n_components``, ``sparsity``, ``prior``,
    ``likelihood``, ``jaccard_union``, ``n_prior_supports``, ``batch_size``, ``n_iter``,
    ``checkpoint_every``, ``dtype``, one key or a batch of keys); the numeric hyperparameters
    (``lr``, ``lambda_jaccard``, the prior parameters, ``min_mu_threshold``) are traced, so sweeping
    them reuses the compiled program.

    Parameters
    ----------
    X : array (n, p)
        Design (raw scale: gemss never scales). NaN is refused unless ``missing="zero"``.
    y : array (n,)
        Response (labels in {0, 1} for ``likelihood="logistic"``).
    key : PRNG key
        Randomness (initial means, component draws, noise, prior supports). ``vmap`` over keys for
        restarts with one compile.
    n_components, sparsity : int
        K components; D the support size of the structured prior (and of "top" extraction).
    prior : {"sss", "sss_exact", "ss", "student"}
    var_slab, var_spike, weight_slab, weight_spike, student_df, student_scale : float
        Prior hyperparameters (see :mod:`sparsestat.gemss.priors`).
    n_prior_supports : int
        M random supports per iteration for "sss" (all of them when p <= 10 and D <= 3).
    likelihood : {"gaussian", "logistic"}
    lambda_jaccard : float
        Weight of the mean pairwise soft Jaccard penalty (0: off).
    jaccard_union : {"soft", "p"}
    lr : float
        Adam learning rate (b1 0.9, b2 0.999, eps 1e-8).
    batch_size : int
        Monte-Carlo draws per iteration.
    n_iter : int
        Iterations (fixed; no early stopping).
    min_mu_threshold : float
        tau of the extraction record.
    checkpoint_every : int
        Checkpoint period (iterations).
    dtype : jnp dtype
        Working precision (float32 as the reference).
    missing : {"error", "zero"}
        "error" (default): NaN in X raises ValueError. "zero": NaN marks a missing entry, which drops
        out of its row (zero-filled, as gemss does).

    Returns
    -------
    MixtureFit
    """
    if missing not in ("error", "zero"):
        raise ValueError(f"missing must be 'error' or 'zero'; got {missing!r}")
    if missing == "error" and not isinstance(X, jax.core.Tracer):
        Xa = np.asarray(X)
        if Xa.dtype.kind in "fc" and np.isnan(Xa).any():
            raise ValueError("X contains NaN; pass missing='zero' to treat NaN as a missing entry "
                             "(zero-filled, as gemss does)")
    for value, name, choices in ((prior, "prior", PRIORS), (likelihood, "likelihood", LIKELIHOODS),
                                 (jaccard_union, "jaccard_union", JACCARD_UNIONS)):
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    _check_fit_args(X, y, n_components, sparsity, batch_size, n_iter, n_prior_supports, checkpoint_every)
    Xf, yf, mask = _prepare_jit(X, y, dtype=jnp.dtype(dtype))
    dtype = Xf.dtype
    checkpoint_every = int(min(checkpoint_every, n_iter))
    # numbers stay numbers (floats or JAX scalars): they are traced, never baked into the program
    config = ObjectiveConfig(prior, int(sparsity), likelihood, lambda_jaccard, jaccard_union,
                             PriorParams(var_slab, var_spike, weight_slab, weight_spike, student_df,
                                         student_scale))
    tc = TrainConfig(int(n_components), int(batch_size), int(n_iter), lr, int(n_prior_supports),
                     checkpoint_every)
    structure, hyper = _split_configs(config, tc, dtype)
    tau = jnp.asarray(min_mu_threshold, dtype)
    if jnp.ndim(key) > 1 or (hasattr(key, "dtype") and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
                              and jnp.ndim(key) > 0):
        return _train_many(Xf, yf, mask, key, tau, hyper, structure=structure)
    return _train_one(Xf, yf, mask, key, tau, hyper, structure=structure)


def _check_fit_args(X, y, n_components, sparsity, batch_size, n_iter, n_prior_supports, checkpoint_every):
    """Named errors before anything compiles (shapes always; values only when concrete: ``fit`` is vmapped
    over data sets). NaN in X is checked by the caller (``missing``); y must be finite."""
    if jnp.ndim(X) != 2 or jnp.shape(X)[0] == 0 or jnp.shape(X)[1] == 0:
        raise ValueError(f"X must be a non-empty 2-D array (n_samples, n_features); got shape {jnp.shape(X)}")
    if jnp.shape(y) != jnp.shape(X)[:1]:
        raise ValueError(f"y must have shape ({jnp.shape(X)[0]},); got {jnp.shape(y)}")
    if not isinstance(y, jax.core.Tracer) and not bool(jnp.all(jnp.isfinite(jnp.asarray(y)))):
        raise ValueError("y contains NaN or infinity")
    for value, name in ((n_components, "n_components"), (sparsity, "sparsity"), (batch_size, "batch_size"),
                        (n_iter, "n_iter"), (n_prior_supports, "n_prior_supports"),
                        (checkpoint_every, "checkpoint_every")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    if sparsity > jnp.shape(X)[1]:
        raise ValueError(f"sparsity must be <= n_features ({jnp.shape(X)[1]}); got {sparsity}")


def fit_mixture(*args, **kwargs) -> MixtureFit:
    """Deprecated alias of :func:`fit` (kept for one release; same arguments, same result)."""
    warnings.warn("sparsestat.gemss.fit_mixture is deprecated; use sparsestat.gemss.fit",
                  DeprecationWarning, stacklevel=2)
    return fit(*args, **kwargs)


@compiled_entry
def train(X, y, row_mask, key, tau, *, config: ObjectiveConfig, train_config: TrainConfig) -> MixtureFit:
    """Deprecated: the training loop on prepared data (use :func:`fit`; kept for one release).

    ``X`` zero-filled (n, p), ``y`` (n,), ``row_mask`` (n,) as :func:`prepare_data` returns them,
    ``key`` a PRNG key, ``tau`` the extraction threshold; ``config`` and ``train_config`` carry the
    settings :func:`fit` takes as keywords. The same compiled program as :func:`fit`.
    """
    warnings.warn("sparsestat.gemss.train is deprecated; use sparsestat.gemss.fit (jax.vmap it over "
                  "data sets or keys)", DeprecationWarning, stacklevel=2)
    X = jnp.asarray(X)
    dtype = X.dtype
    structure, hyper = _split_configs(config, train_config, dtype)
    return _train_one(X, jnp.asarray(y, dtype), jnp.asarray(row_mask, dtype), key, jnp.asarray(tau, dtype),
                      hyper, structure=structure)
