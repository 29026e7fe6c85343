"""AGESS adaptation mechanics: refresh schedule, kappa, rank-one updates, move frequencies, convergence of
the adaptive parameters."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from sparsestat.linalg import enable_x64
from sparsestat.linalg.solve import chol_update_vectorized as chol_update
from sparsestat.mcmc import adaptation_weight_exponent, agess, freeze, refresh_times


def test_refresh_times_and_counts_match_spec():
    assert list(refresh_times(25)) == [2, 3, 5, 7, 9, 11, 13, 16, 19, 22, 25]
    assert len(refresh_times(100)) == 29
    assert len(refresh_times(10 ** 4)) == 618
    assert len(refresh_times(10 ** 5)) == 2847
    assert len(refresh_times(10 ** 6)) == 13159


def test_kappa_values():
    assert adaptation_weight_exponent(5) == pytest.approx(2 / 3)
    assert adaptation_weight_exponent(27) == pytest.approx(2 / 3)
    for p, k in [(38, 0.703), (100, 0.785), (202, 0.830), (500, 0.874)]:
        assert adaptation_weight_exponent(p) == pytest.approx(k, abs=5e-4)


def test_rank_one_recursion_equals_refactorisation():
    """10^4 background updates: L L^T from O(P^2) rank-one updates = the covariance recursion (1e-10)."""
    p, n = 6, 10_000
    kappa = adaptation_weight_exponent(p)
    with enable_x64():
        xs = jax.random.normal(jax.random.PRNGKey(0), (n, p)) * jnp.linspace(0.5, 3.0, p) + 1.0

        def body(c, xi):
            L, S, mu, i = c
            w = i ** (-kappa)
            r = xi - mu
            L = chol_update(jnp.sqrt(1 - w) * L, jnp.sqrt(w) * r)
            S = (1 - w) * S + w * jnp.outer(r, r)
            return (L, S, (1 - w) * mu + w * xi, i + 1.0), None

        (L, S, _, _), _ = jax.jit(lambda: jax.lax.scan(body, (jnp.eye(p), jnp.eye(p), jnp.zeros(p), 2.0), xs))()
        err = np.linalg.norm(np.asarray(L @ L.T - S)) / np.linalg.norm(np.asarray(S))
    assert err < 1e-10


@pytest.fixture(scope="module")
def gauss3_run():
    """Four AGESS chains (shared schedule) on a correlated 3-d Gaussian for 10^5 iterations."""
    p, n = 3, 100_000
    with enable_x64():
        m = np.array([1.0, -2.0, 0.5])
        A = np.array([[2.0, 0.0, 0.0], [1.2, 0.7, 0.0], [-0.5, 0.3, 0.4]])
        C = A @ A.T
        Ci = np.linalg.inv(C)
        alg = agess(lambda x: -0.5 * (x - m) @ Ci @ (x - m), num_steps=n)
        state = alg.init_chains(jnp.zeros((4, p)) + jnp.arange(4.0)[:, None], jax.random.PRNGKey(3))

        def body(st, k):
            st, info = alg.step(k, st)
            cov = jnp.einsum("cij,ckj->cik", st.chol_k, st.chol_k)
            return st, (info.refreshed[0], info.move_type[0], st.mu_k, cov, info.num_evals)

        _, out = jax.jit(lambda s: jax.lax.scan(body, s, jax.random.split(jax.random.PRNGKey(4), n)))(state)
        return m, C, [np.asarray(o) for o in out]


def test_schedule_in_the_kernel(gauss3_run):
    m, C, (refreshed, moves, mu_k, cov_k, _) = gauss3_run
    iters = np.flatnonzero(refreshed) + 2
    np.testing.assert_array_equal(iters, refresh_times(len(refreshed) + 1))
    assert not np.any(moves == 1)                       # P < 10: never a sweep
    counts = np.bincount(moves, minlength=3)
    # adaptive w.p. 0.95, fixed w.p. 0.05
    assert stats.chisquare([counts[0], counts[2]], len(moves) * np.array([0.95, 0.05])).pvalue > 1e-3


def test_adaptive_parameters_converge(gauss3_run):
    m, C, (refreshed, _, mu_k, cov_k, _) = gauss3_run
    errs = [np.mean(np.linalg.norm(cov_k[t] - C, axis=(1, 2))) / np.linalg.norm(C)
            for t in (10 ** 3, 10 ** 4, 10 ** 5 - 1)]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 0.05
    assert np.abs(mu_k[-1] - m).max() < 0.05 * np.sqrt(np.diag(C)).max()
    # jumps of Sigma_k at refreshes shrink (diminishing adaptation)
    idx = np.flatnonzero(refreshed)
    jumps = np.linalg.norm(np.diff(cov_k[idx], axis=0), axis=(2, 3)).mean(axis=1)
    q = len(jumps) // 4
    assert jumps[-q:].mean() < 0.25 * jumps[:q].mean()


def test_move_frequencies_and_initial_phase_p12():
    p, n = 12, 4000
    with enable_x64():
        alg = agess(lambda x: -0.5 * jnp.sum(x ** 2), num_steps=n)   # initial phase: i < 0.5*0.05*4000 = 100
        state = alg.init(jnp.zeros(p), jax.random.PRNGKey(0))

        def body(st, k):
            st, info = alg.step(k, st)
            return st, (info.move_type, info.num_evals)

        _, (moves, evals) = jax.jit(lambda s: jax.lax.scan(body, s, jax.random.split(jax.random.PRNGKey(1), n)))(state)
    moves, evals = np.asarray(moves), np.asarray(evals)
    i = np.arange(n) + 2
    assert np.all(moves[i < 100] == 1)
    assert np.all(evals[moves == 1] >= p)              # a sweep evaluates at least once per coordinate
    after = np.bincount(moves[i >= 100], minlength=3)
    expected = after.sum() * np.array([0.90, 0.05, 0.05])
    assert stats.chisquare(after, expected).pvalue > 1e-3


@pytest.mark.parametrize("kappa", [None, "reference", 0.8])
def test_background_mean_follows_the_configured_weights(kappa):
    """mu_bg after 300 steps equals the recursion mu <- (1 - w_i) mu + w_i x_i over the emitted states,
    w_i = i^-kappa (default 1: the running mean of mu0 and every state; "reference": the reference's
    max(2/3, 1 - P^(-1/3))), to 1e-12. P < 10 (no sweeps) keeps the program small."""
    p, n = 6, 300
    k = {None: 1.0, "reference": adaptation_weight_exponent(p), 0.8: 0.8}[kappa]
    with enable_x64():
        alg = agess(lambda x: -0.5 * jnp.sum((x - 1.0) ** 2 / jnp.linspace(0.5, 4.0, p)), num_steps=n, kappa=kappa)
        state = alg.init(jnp.zeros(p), jax.random.PRNGKey(0))

        def body(st, key):
            st, _ = alg.step(key, st)
            return st, st.position

        final, xs = jax.jit(lambda s: jax.lax.scan(body, s, jax.random.split(jax.random.PRNGKey(1), n)))(state)
        mu = np.zeros(p)
        for i, x in enumerate(np.asarray(xs), start=2):
            w = i ** (-k)
            mu = (1 - w) * mu + w * x
    np.testing.assert_allclose(np.asarray(final.mu_bg), mu, rtol=0, atol=1e-12)
    if kappa is None:   # equal weights: the running mean of the start mean (0) and the states
        np.testing.assert_allclose(mu, np.asarray(xs).sum(0) / (n + 1), atol=1e-12)


def test_kappa_is_checked():
    for bad in (0.5, 1.2, "fast", True):
        with pytest.raises(ValueError, match="kappa"):
            agess(lambda x: -0.5 * x @ x, num_steps=10, kappa=bad)


def test_freeze_factorises_a_refactor_background():
    """With cov_update="refactor" the background holds the covariance: freeze(state, config) puts its
    Cholesky factor into chol_k (before: the covariance itself); the default keeps the rank-one factor."""
    p = 6
    with enable_x64():
        for cov_update in ("rank1", "refactor"):
            alg = agess(lambda x: -0.5 * jnp.sum(x * x / jnp.linspace(0.5, 4.0, p)), num_steps=200,
                        cov_update=cov_update)
            config, _ = agess.setup(num_steps=200, cov_update=cov_update)
            state = alg.init_chains(jnp.zeros((2, p)), jax.random.PRNGKey(0))

            def body(st, key):
                return alg.step(key, st)[0], None

            state, _ = jax.jit(lambda s: jax.lax.scan(body, s, jax.random.split(jax.random.PRNGKey(1), 200)))(state)
            frozen = freeze(state, config)
            L, bg = np.asarray(frozen.chol_k), np.asarray(state.chol_bg)
            cov = bg if cov_update == "refactor" else np.einsum("cij,ckj->cik", bg, bg)
            np.testing.assert_allclose(np.einsum("cij,ckj->cik", L, L), cov, rtol=1e-10, atol=1e-12)
            assert np.allclose(np.triu(L, 1), 0.0) and bool(frozen.schedule.frozen)
