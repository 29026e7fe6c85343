"""One-step (and ten-step) invariance: start from exact draws, apply the kernel, compare with fresh exact
draws. Auxiliaries are deliberately mismatched (shifted 1 sd, covariance x0.1 and x10, nu = 3, 30): the
kernels must leave the target invariant whatever the auxiliary.

Checks per case: per-coordinate two-sample KS (Bonferroni alpha = 1e-3 over all coordinates of all cases),
mean and variance z (|z| < 4.5) and a KS test of the squared Mahalanobis distance (joint structure).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.special import logsumexp

from sparsestat.linalg import enable_x64
from sparsestat.mcmc import agess, freeze
from sparsestat.mcmc.plain_ess import ess_move
from sparsestat.mcmc.generalized import gess_move
from sparsestat.mcmc.sweep import sweep_move

from _mcmc_stats import corr_cov, two_sample_checks

N = 15_000  # keep vmapped batches < 16384: see the report (XLA CPU while_loop batch issue)
P = 5
ALPHA = 1e-3
N_TESTS = 40 * (P + 1)  # Bonferroni budget across the cases of this file


def _target(name, p=P):
    m = np.linspace(-1.0, 1.0, p)
    C = corr_cov(p)
    L = np.linalg.cholesky(C)
    Ci = np.linalg.inv(C)

    if name == "gauss":
        def logpi(x):
            r = x - m
            return -0.5 * r @ Ci @ r

        def exact(rng, n):
            return m + rng.standard_normal((n, p)) @ L.T
    elif name == "t5":
        nu = 5.0

        def logpi(x):
            r = x - m
            return -0.5 * (nu + p) * jnp.log1p(r @ Ci @ r / nu)

        def exact(rng, n):
            w = np.sqrt(nu / rng.chisquare(nu, size=(n, 1)))
            return m + w * (rng.standard_normal((n, p)) @ L.T)
    else:  # two-component mixture with well separated modes along coordinate 0
        a = np.zeros(p)
        a[0] = 1.5
        Ch = 0.5 * C
        Chi = np.linalg.inv(Ch)
        Lh = np.linalg.cholesky(Ch)

        def logpi(x):
            r1, r2 = x - m - a, x - m + a
            return logsumexp(jnp.stack([-0.5 * r1 @ Chi @ r1, -0.5 * r2 @ Chi @ r2]))

        def exact(rng, n):
            sgn = np.where(rng.random((n, 1)) < 0.5, 1.0, -1.0)
            return m + sgn * a + rng.standard_normal((n, p)) @ Lh.T
    return m, C, logpi, exact


def _gess_runner(logpi, t_dist=True):
    """jit(vmap) of `steps` GESS moves; mean, chol, nu and steps are traced (one compilation)."""
    def one(key, x, mean, chol, nu, steps):
        lp = logpi(x)

        def body(t, c):
            x, lp, ncap = c
            x, lp, res, _ = gess_move(jax.random.fold_in(key, t), x, lp, logpi, mean, chol, nu=nu, t_dist=t_dist,
                                      max_shrinks=200)
            return x, lp, ncap + res.capped

        x, _, ncap = jax.lax.fori_loop(0, steps, body, (x, lp, jnp.zeros((), jnp.int32)))
        return x, ncap

    run = jax.jit(jax.vmap(one, in_axes=(0, 0, None, None, None, None)))

    def call(x0, mean, chol, nu, steps, seed):
        """Moved draws; asserts that no shrink loop hit its cap (a wrong bracket shows up here: with
        [theta, theta + 2 pi] the bracket never closes on the current point)."""
        keys = jax.random.split(jax.random.PRNGKey(seed), x0.shape[0])
        x, ncap = run(keys, jnp.asarray(x0), jnp.asarray(mean), jnp.asarray(chol), jnp.asarray(nu),
                      jnp.asarray(steps, jnp.int32))
        assert int(np.sum(ncap)) == 0, f"{int(np.sum(ncap))} capped shrink loops"
        return np.asarray(x)

    return call


@pytest.mark.parametrize("target", ["gauss", pytest.param("t5", marks=pytest.mark.slow),
                                    pytest.param("mix", marks=pytest.mark.slow)])
def test_gess_invariance_mismatched(target):
    with enable_x64():
        m, C, logpi, exact = _target(target)
        sd = np.sqrt(np.diag(C))
        L = np.linalg.cholesky(C)
        rng = np.random.default_rng(1)
        cases = [("shift1sd", m + sd, L, 6.0), ("cov_x0.1", m, np.sqrt(0.1) * L, 6.0),
                 ("cov_x10", m, np.sqrt(10.0) * L, 6.0), ("nu3", m, L, 3.0), ("nu30", m, L, 30.0)]
        run = _gess_runner(logpi)
        failures = {}
        for i, (name, mean, chol, nu) in enumerate(cases):
            x0 = exact(rng, N)
            for steps in (1, 10):
                x1 = run(x0, mean, chol, nu, steps, seed=10 * i + steps)
                ok, det = two_sample_checks(x1, exact(rng, N), alpha=ALPHA, n_tests=N_TESTS, m=m, C=C)
                if not ok:
                    failures[(name, steps)] = det
        assert not failures, failures


def test_ess_invariance_mismatched_prior():
    """ESS on pi = N(prior) * (pi / N(prior)) with a shifted and an inflated Gaussian prior (t5 target)."""
    with enable_x64():
        m, C, logpi, exact = _target("t5")
        sd = np.sqrt(np.diag(C))
        rng = np.random.default_rng(2)
        failures = {}
        for i, (mean, cov) in enumerate([(m + sd, C), (m, 10.0 * C)]):
            Li = np.linalg.inv(np.linalg.cholesky(cov))
            mean_j, chol_j = jnp.asarray(mean), jnp.asarray(np.linalg.cholesky(cov))

            def loglik(x, mean=mean, Li=Li):
                z = Li @ (x - mean)
                return logpi(x) + 0.5 * z @ z

            def one(key, x):
                ll = loglik(x)

                def body(t, c):
                    x, ll = c
                    x, ll, _ = ess_move(jax.random.fold_in(key, t), x, ll, loglik, mean_j, chol_j, max_shrinks=200)
                    return x, ll

                return jax.lax.fori_loop(0, 1, body, (x, ll))[0]

            x0 = jnp.asarray(exact(rng, N))
            x1 = np.asarray(jax.jit(jax.vmap(one))(jax.random.split(jax.random.PRNGKey(i), N), x0))
            ok, det = two_sample_checks(x1, exact(rng, N), alpha=ALPHA, n_tests=N_TESTS, m=m, C=C)
            if not ok:
                failures[i] = det
        assert not failures, failures


@pytest.mark.slow  # a statistical run (12 s cold)
def test_sweep_and_frozen_agess_invariance_p12():
    """The coordinate sweep (shifted, shrunk scales) and the frozen AGESS mixture at P = 12."""
    p, n = 12, 6_000
    with enable_x64():
        m, C, logpi, exact = _target("gauss", p)
        sd = np.sqrt(np.diag(C))
        rng = np.random.default_rng(3)

        def sweep_one(key, x):
            x1, _, _, _, _, _ = sweep_move(key, x, logpi(x), logpi, jnp.asarray(m + sd), jnp.asarray(np.sqrt(0.1) * sd),
                                           nu=3.0, t_dist=True, max_shrinks=200)
            return x1

        x0 = jnp.asarray(exact(rng, n))
        x1 = np.asarray(jax.jit(jax.vmap(sweep_one))(jax.random.split(jax.random.PRNGKey(5), n), x0))
        ok, det = two_sample_checks(x1, exact(rng, n), alpha=ALPHA, n_tests=N_TESTS, m=m, C=C)
        assert ok, ("sweep", det)

        # frozen AGESS mixture: adaptive (m + sd, 10 C), fixed (0, I), sweeps; 10 steps of the mixture
        alg = agess(logpi, num_steps=1000, burnin=0.0)
        x0 = jnp.asarray(exact(rng, n))
        state = alg.init_chains(x0, jax.random.PRNGKey(11))
        Lk = jnp.asarray(np.sqrt(10.0) * np.linalg.cholesky(C))
        state = state._replace(mu_bg=jnp.broadcast_to(jnp.asarray(m + sd), (n, p)),
                               chol_bg=jnp.broadcast_to(Lk, (n, p, p)))
        state = freeze(state)

        def run(state, key):
            def body(st, k):
                st, info = alg.step(k, st)
                return st, info.move_type[0]

            return jax.lax.scan(body, state, jax.random.split(key, 10))

        state, moves = jax.jit(run)(state, jax.random.PRNGKey(4))
        ok, det = two_sample_checks(np.asarray(state.position), exact(rng, n), alpha=ALPHA, n_tests=N_TESTS,
                                    m=m, C=C)
        assert ok, ("agess-mixture", det, np.asarray(moves))
        # the adaptive parameters stayed frozen
        np.testing.assert_array_equal(np.asarray(state.mu_k[0]), m + sd)
