"""Training loop (``sparsestat.gemss.fit``): one step = a hand-computed Adam step, trace semantics,
extraction record vs the backward search on a full history, determinism, vmapped restarts and data
sets, and the deprecated aliases ``fit_mixture`` / ``train``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.datasets import make_multi_solution
from sparsestat import gemss
from sparsestat.gemss import ObjectiveConfig, PriorParams, TrainConfig, backward_search, fit, objective_terms
from sparsestat.gemss.core import prepare_data
from sparsestat.gemss.mixture import init_mixture
from sparsestat.gemss.priors import draw_supports

KW = dict(n_components=3, sparsity=2, lambda_jaccard=10.0, batch_size=4, lr=0.05)


@pytest.fixture(scope="module")
def data():
    X, y, S, _ = make_multi_solution(20, 12, 2, 2, noise_std=0.1, binarize=False, random_state=0)
    return X, y


def test_one_step_is_a_hand_adam_step(data, x64):
    X, y = data
    key = jax.random.PRNGKey(3)
    res = fit(X, y, key, n_iter=1, dtype=jnp.float64, **KW)
    k_init, k_loop = jax.random.split(key)
    params = init_mixture(k_init, 3, X.shape[1], jnp.float64)
    _, k_comp, k_eps, k_sup = jax.random.split(k_loop, 4)
    logw = jnp.log(jnp.ones(3) / 3)
    comps = jax.random.categorical(k_comp, logw, shape=(4,))
    eps = jax.random.normal(k_eps, (4, X.shape[1]), jnp.float64)
    sup = draw_supports(k_sup, 100, X.shape[1], 2)
    cfg = ObjectiveConfig("sss", 2, "gaussian", 10.0, "soft", PriorParams())
    f = lambda prm: objective_terms(prm, jnp.asarray(X), jnp.asarray(y), jnp.ones(20), comps, eps, sup,
                                    cfg).objective
    val, g = jax.value_and_grad(f)(params)
    np.testing.assert_allclose(res.objective[0], val, rtol=1e-12)
    # Adam, first step, on the loss -f: m_hat = -g, v_hat = g^2; update = -lr m_hat / (sqrt(v_hat) + eps)
    for new, old, gg in zip(res.params, params, g):
        gg = np.asarray(gg)
        expect = np.asarray(old) + 0.05 * gg / (np.abs(gg) + 1e-8)
        np.testing.assert_allclose(new, expect, rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def history_fit(data):
    X, y = data
    return fit(X, y, jax.random.PRNGKey(0), n_iter=150, checkpoint_every=1, min_mu_threshold=0.3, **KW)


def test_trace_and_record_match_backward_search(history_fit, data):
    res = history_fit
    assert res.objective.shape == (150,) and res.jaccard.shape == (150,)
    hist = np.asarray(res.checkpoint_means)  # checkpoint_every=1: the full history of means
    assert hist.shape == (150, 3, 12)
    np.testing.assert_array_equal(res.checkpoint_iteration, np.arange(150))
    np.testing.assert_array_equal(hist[-1], res.means)
    last = backward_search(hist, 2, 0.3)
    assert np.all(last >= 0)
    np.testing.assert_array_equal(res.record_iteration, last)
    for k in range(3):
        np.testing.assert_array_equal(res.record_means[k], hist[last[k], k])


def test_backward_search_several_thresholds(data):
    X, y = data
    for tau in (0.5, 1.5, 5.0):  # tau is traced: no recompilation
        res = fit(X, y, jax.random.PRNGKey(1), n_iter=150, checkpoint_every=1, min_mu_threshold=tau, **KW)
        last = backward_search(np.asarray(res.checkpoint_means), 2, tau)
        np.testing.assert_array_equal(res.record_iteration, last)
    assert np.any(last < 0) or np.all(last >= 0)


@pytest.mark.slow  # 130 iterations, 3 restarts (10 s cold)
def test_determinism_checkpoints_and_vmapped_restarts(data):
    X, y = data
    keys = jax.random.split(jax.random.PRNGKey(5), 3)
    a = fit(X, y, keys[1], n_iter=130, checkpoint_every=50, **KW)
    b = fit(X, y, keys[1], n_iter=130, checkpoint_every=50, **KW)
    np.testing.assert_array_equal(a.checkpoint_iteration, [49, 99])
    assert a.objective.shape == (130,)
    np.testing.assert_array_equal(a.means, b.means)
    np.testing.assert_array_equal(a.objective, b.objective)
    v = fit(X, y, keys, n_iter=130, checkpoint_every=50, **KW)
    assert v.means.shape == (3, 3, 12)
    np.testing.assert_allclose(v.means[1], a.means, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(v.objective[1], a.objective, rtol=1e-3)


def test_single_component_has_unit_weight(data):
    X, y = data
    r = fit(X, y, jax.random.PRNGKey(0), n_components=1, sparsity=2, n_iter=20)
    np.testing.assert_array_equal(r.weights, [1.0])


def test_nonfinite_objective_freezes_parameters(data):
    X, y = data
    r = fit(X * 1e25, y, jax.random.PRNGKey(0), n_iter=150, checkpoint_every=1, **KW)
    assert int(r.first_nonfinite) == 0
    assert np.all(np.isfinite(r.means))
    np.testing.assert_array_equal(r.checkpoint_means[0], r.checkpoint_means[-1])


def _assert_same(a, b):
    for name, u, v in zip(a._fields, jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v), err_msg=name)


def test_deprecated_aliases_warn_and_equal_fit(data):
    X, y = data
    key = jax.random.PRNGKey(4)
    ref = fit(X, y, key, n_iter=30, checkpoint_every=10, min_mu_threshold=0.3, **KW)
    with pytest.warns(DeprecationWarning, match="fit_mixture"):
        old = gemss.fit_mixture(X, y, key, n_iter=30, checkpoint_every=10, min_mu_threshold=0.3, **KW)
    _assert_same(ref, old)
    Xf, yf, mask = prepare_data(X, y)
    cfg = ObjectiveConfig("sss", 2, "gaussian", 10.0, "soft", PriorParams())
    tc = TrainConfig(3, 4, 30, 0.05, 100, 10)
    with pytest.warns(DeprecationWarning, match="train"):
        old = gemss.train(Xf, yf, mask, key, 0.3, config=cfg, train_config=tc)
    _assert_same(ref, old)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_fit_vmapped_over_data_sets_equals_train(data):
    """The experiments vmap ``fit`` over data sets; the same numbers as ``train`` on prepared data."""
    X, y = data
    Xs = jnp.stack([jnp.asarray(X), jnp.asarray(X[::-1])])
    ys = jnp.stack([jnp.asarray(y), jnp.asarray(y[::-1])])
    keys = jax.random.split(jax.random.PRNGKey(6), 2)
    new = jax.vmap(lambda a, b, k: fit(a, b, k, n_iter=30, checkpoint_every=10, min_mu_threshold=0.0,
                                       **KW))(Xs, ys, keys)
    prep = [prepare_data(np.asarray(a), np.asarray(b)) for a, b in zip(Xs, ys)]
    cfg = ObjectiveConfig("sss", 2, "gaussian", 10.0, "soft", PriorParams())
    tc = TrainConfig(3, 4, 30, 0.05, 100, 10)
    old = jax.vmap(lambda a, b, m, k: gemss.train(a, b, m, k, jnp.float32(0.0), config=cfg, train_config=tc))(
        *(jnp.stack([p[i] for p in prep]) for i in range(3)), keys)
    _assert_same(new, old)
