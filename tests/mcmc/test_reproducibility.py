"""Reproducibility (bit-identical for a key), vmapped chains == single chains, evaluation accounting, and
ESS against the blackjax peer."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from sparsestat.linalg import enable_x64
from sparsestat.mcmc import agess, elliptical_slice

from _mcmc_stats import batch_means_mcse

M3 = np.array([0.5, -1.0, 2.0])


def _logpi(x):
    return -0.5 * jnp.sum(((x - M3) / jnp.array([1.0, 0.5, 2.0])) ** 2) - 0.1 * jnp.sum(x ** 4) / 10


def _scan(alg, state, key, n):
    def body(st, k):
        st, info = alg.step(k, st)
        return st, (st.position, info.num_evals)

    return jax.lax.scan(body, state, jax.random.split(key, n))


def test_same_key_bit_identical_and_vmapped_equals_single():
    with enable_x64():
        alg = agess(_logpi, num_steps=200)
        sk = jax.random.PRNGKey(7)
        run = jax.jit(lambda s, k: _scan(alg, s, k, 60))
        a = run(alg.init(jnp.zeros(3), sk), jax.random.PRNGKey(1))
        b = run(alg.init(jnp.zeros(3), sk), jax.random.PRNGKey(1))
        np.testing.assert_array_equal(np.asarray(a[1][0]), np.asarray(b[1][0]))

        # three chains batched with a shared schedule == each chain alone with the same keys
        starts = jnp.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5], [-0.5, 0.2, 3.0]])
        keys = jax.random.split(jax.random.PRNGKey(2), 3)
        n = 40

        def batched(state):
            def body(st, t):
                st, info = alg.step(jax.vmap(lambda k: jax.random.fold_in(k, t))(keys), st)
                return st, st.position
            return jax.lax.scan(body, state, jnp.arange(n))[1]

        def single(state, key):
            def body(st, t):
                st, info = alg.step(jax.random.fold_in(key, t), st)
                return st, st.position
            return jax.lax.scan(body, state, jnp.arange(n))[1]

        xb = np.asarray(jax.jit(batched)(alg.init_chains(starts, sk)))
        for c in range(3):
            xs = np.asarray(jax.jit(single)(alg.init(starts[c], sk), keys[c]))
            np.testing.assert_allclose(xb[:, c], xs, rtol=1e-12, atol=1e-12)


@pytest.mark.slow
def test_eager_step_is_reproducible():
    """Eager (op-by-op) AGESS steps: same key, same result (slow: every primitive compiles separately)."""
    with enable_x64():
        alg = agess(_logpi, num_steps=200)
        s1 = s2 = alg.init(jnp.zeros(3), jax.random.PRNGKey(7))
        for t in range(2):
            s1, _ = alg.step(jax.random.PRNGKey(5 + t), s1)
            s2, _ = alg.step(jax.random.PRNGKey(5 + t), s2)
    np.testing.assert_array_equal(np.asarray(s1.position), np.asarray(s2.position))


def test_num_evals_equals_external_counter_for_every_move_type():
    calls = {"n": 0}

    def count(_):
        calls["n"] += 1

    p = 10

    def logpi(x):
        jax.debug.callback(count, x[0])
        return -0.5 * jnp.sum(x ** 2) - 0.05 * jnp.sum(x ** 4)

    with enable_x64():
        alg = agess(logpi, num_steps=400, epsilon=0.3, single_step_prop=0.3)   # i < 60: sweeps
        step = jax.jit(alg.step)
        state = alg.init(jnp.zeros(p), jax.random.PRNGKey(0))
        jax.effects_barrier()
        seen = set()
        for t in range(80):
            before = calls["n"]
            state, info = step(jax.random.PRNGKey(100 + t), state)
            jax.block_until_ready(state)
            jax.effects_barrier()
            assert calls["n"] - before == int(info.num_evals), (t, int(info.move_type))
            seen.add(int(info.move_type))
    assert seen == {0, 1, 2}


def test_ess_matches_blackjax_elliptical_slice():
    """Same target (prior N(0, I), Gaussian likelihood): KS on thinned draws and evaluations/iteration."""
    blackjax = pytest.importorskip("blackjax")  # a [bench] peer, not a test dependency
    n, thin = 50_000, 5
    y = jnp.array([1.5, -0.5, 0.8])

    def loglik(x):
        return -0.5 * jnp.sum((x - y) ** 2) / 0.3 ** 2

    with enable_x64():
        ours = elliptical_slice(loglik, mean=0.0, cov=1.0)
        st = ours.init(jnp.zeros(3))
        _, (xa, ea) = jax.jit(lambda s: _scan(ours, s, jax.random.PRNGKey(0), n))(st)
        bj = blackjax.elliptical_slice(loglik, mean=jnp.zeros(3), cov=jnp.eye(3))
        sb = bj.init(jnp.zeros(3))

        def body(s, k):
            s, info = bj.step(k, s)
            return s, (s.position, info.subiter)

        _, (xb, eb) = jax.jit(lambda s: jax.lax.scan(body, s, jax.random.split(jax.random.PRNGKey(1), n)))(sb)
    xa, xb = np.asarray(xa)[::thin], np.asarray(xb)[::thin]
    for j in range(3):
        assert stats.ks_2samp(xa[:, j], xb[:, j]).pvalue > 1e-3 / 3
    ea, eb = np.asarray(ea, float), np.asarray(eb, float)
    se = np.hypot(batch_means_mcse(ea), batch_means_mcse(eb))
    assert abs(ea.mean() - eb.mean()) < 3 * se, (ea.mean(), eb.mean(), se)
    # the exact posterior is N(y / (1 + 0.09), 0.09 / 1.09): check against it too
    post_sd = np.sqrt(0.09 / 1.09)
    z = (xa.mean(0) - np.asarray(y) / 1.09) / (post_sd / np.sqrt(len(xa) / 2))
    assert np.all(np.abs(z) < 4.5)


def test_sample_sequential_equals_vectorized():
    """`sample` gives each chain the same schedule key and chain key whatever the chain method,
    "auto" included."""
    import warnings

    from sparsestat.mcmc import sample

    starts = jnp.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5]])
    out = {}
    with enable_x64(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cm in ("vectorized", "sequential", "auto"):
            r = sample(_logpi, starts, num_warmup=50, num_samples=100, num_chains=2, chain_method=cm,
                       rng_key=jax.random.PRNGKey(3), progress_bar=False)
            out[cm] = r
    np.testing.assert_allclose(out["vectorized"].samples, out["sequential"].samples, rtol=1e-12, atol=1e-12)
    # "auto" (the default) is sequential on CPU and vectorized on accelerators: the same draws either way
    auto = "sequential" if jax.default_backend() == "cpu" else "vectorized"
    np.testing.assert_array_equal(out["auto"].samples, out[auto].samples)
    assert out["auto"].diagnostics["lockstep_overhead"] == out[auto].diagnostics["lockstep_overhead"]
    np.testing.assert_array_equal(out["vectorized"].num_evals, out["sequential"].num_evals)
    assert out["vectorized"].samples.shape == (2, 100, 3)
    assert out["sequential"].diagnostics["lockstep_overhead"] == 1.0
    assert out["vectorized"].diagnostics["lockstep_overhead"] >= 1.0
