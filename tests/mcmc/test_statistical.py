"""Geweke joint-distribution test (frozen AGESS mixture), conjugate Gaussian moments (full AGESS via
``sample``), numpyro AGESS against NUTS, and SBC (slow)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from sparsestat.linalg import enable_x64
from sparsestat.mcmc import agess, freeze, sample

from _mcmc_stats import batch_means_mcse


def test_geweke_logistic_frozen_agess():
    """10^5 successive-conditional iterations (frozen-AGESS step on theta | y, then y ~ p(y | theta)) vs 10^5
    marginal-conditional draws; test functions theta_j, theta_j^2, theta_j * ybar; all |z| < 4."""
    p, nobs, n = 5, 20, 100_000
    rng = np.random.default_rng(0)
    X = jnp.asarray(rng.standard_normal((nobs, p)))

    def loglik(theta, y):
        eta = X @ theta
        return jnp.sum(y * eta - jnp.logaddexp(0.0, eta))

    def logpost(theta, y):
        return loglik(theta, y) - 0.5 * theta @ theta

    with enable_x64():
        # adaptive component deliberately off-target, fixed component = prior
        mu_k = jnp.full(p, 0.3)
        L_k = jnp.linalg.cholesky(jnp.asarray(0.5 * np.eye(p) + 0.2))

        def step(carry, key):
            theta, y, state = carry
            k1, k2 = jax.random.split(key)
            alg = agess(lambda th: logpost(th, y), num_steps=10)
            state = state._replace(position=theta, logdensity=logpost(theta, y))
            state, _ = alg.step(k1, state)
            theta = state.position
            y = jax.random.bernoulli(k2, jax.nn.sigmoid(X @ theta)).astype(theta.dtype)
            return (theta, y, state), (theta, jnp.mean(y))

        alg0 = agess(lambda th: logpost(th, jnp.zeros(nobs)), num_steps=10)
        theta0 = jnp.asarray(rng.standard_normal(p))
        y0 = jnp.asarray((rng.random(nobs) < 0.5).astype(float))
        st = alg0.init(theta0, jax.random.PRNGKey(9))
        st = freeze(st._replace(mu_bg=mu_k, chol_bg=L_k))
        _, (th_sc, yb_sc) = jax.jit(lambda c: jax.lax.scan(step, c, jax.random.split(jax.random.PRNGKey(1), n)))(
            (theta0, y0, st))
    th_sc, yb_sc = np.asarray(th_sc), np.asarray(yb_sc)
    th_mc = rng.standard_normal((n, p))
    yb_mc = (rng.random((n, nobs)) < 1 / (1 + np.exp(-th_mc @ np.asarray(X).T))).mean(1)

    def funcs(th, yb):
        return np.concatenate([th, th ** 2, th * yb[:, None]], axis=1)

    f_sc, f_mc = funcs(th_sc, yb_sc), funcs(th_mc, yb_mc)
    z = [(f_sc[:, j].mean() - f_mc[:, j].mean()) / np.hypot(batch_means_mcse(f_sc[:, j]), f_mc[:, j].std() / np.sqrt(n))
         for j in range(f_sc.shape[1])]
    assert np.max(np.abs(z)) < 4, np.round(z, 2)


@pytest.mark.slow  # a statistical run (10 s cold); the invariance tests stay in the default tier
def test_conjugate_gaussian_d20_full_agess():
    """Linear-Gaussian posterior at d = 20: 4 chains x 2,000 P iterations, half burn-in; |z| < 4 (MCSE from
    ESS), sd ratios within 4 SE, max split R-hat < 1.01."""
    d, nobs = 20, 60
    rng = np.random.default_rng(3)
    X = rng.standard_normal((nobs, d))
    beta = rng.standard_normal(d) * (rng.random(d) < 0.3)
    y = X @ beta + rng.standard_normal(nobs)
    prec = X.T @ X + np.eye(d)
    C = np.linalg.inv(prec)
    m = C @ X.T @ y
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def logpost(b):
        return -0.5 * jnp.sum((yj - Xj @ b) ** 2) - 0.5 * b @ b

    with enable_x64():
        res = sample(logpost, jnp.asarray(0.1 * rng.standard_normal((4, d))), num_warmup=20_000,
                     num_samples=20_000, num_chains=4, rng_key=jax.random.PRNGKey(0), thinning=4,
                     progress_bar=False)
    x = res.samples.reshape(-1, d)
    ess = res.diagnostics["ess"]
    sd = np.sqrt(np.diag(C))
    z = (x.mean(0) - m) / (sd / np.sqrt(ess))
    ratio = x.std(0) / sd
    assert np.all(np.abs(z) < 4), z
    assert np.all(np.abs(ratio - 1) < 4 / np.sqrt(2 * ess)), ratio
    assert res.diagnostics["max_rhat"] < 1.01


@pytest.mark.slow  # a statistical run (13 s cold)
def test_numpyro_agess_matches_nuts():
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    from sparsestat.mcmc import AGESS

    def model(y):
        mu = numpyro.sample("mu", dist.Normal(0.0, 2.0))
        sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
        numpyro.sample("y", dist.Normal(mu, sigma), obs=y)

    y = np.random.default_rng(0).normal(1.0, 0.7, size=15)
    with enable_x64():
        runs = {}
        for cm in ("sequential", "vectorized"):
            mc = MCMC(AGESS(model), num_warmup=500, num_samples=3000, num_chains=2, chain_method=cm,
                      progress_bar=False)
            mc.run(jax.random.PRNGKey(1), y)
            s = mc.get_samples(group_by_chain=True)
            assert s["mu"].shape == (2, 3000) and s["sigma"].shape == (2, 3000)
            assert np.all(np.asarray(s["sigma"]) > 0)          # returned constrained
            mc.print_summary()
            runs[cm] = s
        nuts = MCMC(NUTS(model), num_warmup=500, num_samples=3000, num_chains=1, progress_bar=False)
        nuts.run(jax.random.PRNGKey(2), y)
        ref = nuts.get_samples(group_by_chain=True)
    from numpyro.diagnostics import effective_sample_size
    for cm, s in runs.items():
        for site in ("mu", "sigma"):
            a, b = np.asarray(s[site]), np.asarray(ref[site])
            se = np.hypot(a.std() / np.sqrt(effective_sample_size(a)), b.std() / np.sqrt(effective_sample_size(b)))
            assert abs(a.mean() - b.mean()) < 4 * se, (cm, site, a.mean(), b.mean(), se)


def _sbc(d, reps, seed):
    """Ranks of theta_j among 100 thinned AGESS draws for `reps` (theta, y) pairs, replications vmapped."""
    nobs = 2 * d
    rng = np.random.default_rng(seed)
    X = jnp.asarray(rng.standard_normal((nobs, d)))
    num_steps = max(4000, 2000 * d)
    with enable_x64():
        theta = jnp.asarray(rng.standard_normal((reps, d)))
        y = theta @ X.T + jnp.asarray(rng.standard_normal((reps, nobs)))

        def one_rep(th, yy, key):
            alg = agess(lambda b: -0.5 * jnp.sum((yy - X @ b) ** 2) - 0.5 * b @ b, num_steps=num_steps)
            st = alg.init(jnp.zeros(d), jax.random.fold_in(key, 1))
            keep = num_steps // 2 // 100

            def body(s, k):
                s, _ = alg.step(k, s)
                return s, s.position

            _, xs = jax.lax.scan(body, st, jax.random.split(key, num_steps))
            draws = xs[num_steps // 2:][keep - 1::keep][:100]
            return jnp.sum(draws < th, axis=0)

        ranks = jax.jit(jax.vmap(one_rep))(theta, y, jax.random.split(jax.random.PRNGKey(seed), reps))
    return np.asarray(ranks)


@pytest.mark.slow
@pytest.mark.parametrize("d", [3, 10])
def test_sbc_full_agess(d):
    reps = 500
    ranks = _sbc(d, reps, seed=d)
    for j in range(d):
        counts = np.bincount(ranks[:, j] * 20 // 101, minlength=20)
        assert stats.chisquare(counts).pvalue > 1e-3, (j, counts)
        # ECDF of the ranks (discrete, 0..100) against the uniform CDF at every rank value, inside a
        # simultaneous 99% band over the coordinates (DKW with alpha = 0.01 / d; conservative compared with
        # the Sailynoja-Burkner-Vehtari band)
        ecdf = np.array([np.mean(ranks[:, j] <= k) for k in range(101)])
        eps = np.sqrt(np.log(2 / (0.01 / d)) / (2 * reps))
        assert np.max(np.abs(ecdf - (np.arange(101) + 1) / 101)) < eps
