"""MCMC benchmark targets (spec agess.md, sections 5 and 6.2).

Each function returns an :class:`MCMCTarget`: a JAX log density over a flat vector, its dimension, the data
(numpy arrays drawn from ``numpy.random.default_rng(random_state)``) and, where known, the exact mean and
covariance. Data generation is backend independent; the log densities are pure JAX (jit/vmap-able).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

__all__ = ["MCMCTarget", "logreg_100", "linreg_100", "gaussian", "volcano", "banana", "twin_banana",
           "relu_logistic", "horseshoe", "deep_gp", "real_logistic"]


class MCMCTarget(NamedTuple):
    """A benchmark target: ``logdensity(x)`` on a flat float vector of length ``dim``."""

    name: str
    dim: int
    logdensity: Callable
    data: dict
    mean: np.ndarray | None = None
    cov: np.ndarray | None = None


def logreg_100(random_state=0, n=1000, p=100) -> MCMCTarget:
    """Bayesian logistic regression: X ~ N(0, 1), beta ~ N(0, 0.3^2), y ~ Bern(sigmoid(X beta)), prior N(0, I)."""
    import jax.numpy as jnp

    from ..linalg.losses import bernoulli_loglik

    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n, p))
    beta = 0.3 * rng.standard_normal(p)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-X @ beta))).astype(float)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def logdensity(b):
        eta = Xj @ b
        return jnp.sum(bernoulli_loglik(eta, yj)) - 0.5 * b @ b

    return MCMCTarget("logreg-100", p, logdensity, {"X": X, "y": y, "beta_true": beta})


def linreg_100(random_state=1, n=200, p=100, rho=0.5) -> MCMCTarget:
    """Gaussian linear regression with an AR(1) design (rho = 0.5), beta_j = N(0,1) Bern(0.2), unit noise,
    prior N(0, I): the posterior is exactly N(mean, cov)."""
    import jax.numpy as jnp

    rng = np.random.default_rng(random_state)
    X = np.empty((n, p))
    X[:, 0] = rng.standard_normal(n)
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho ** 2) * rng.standard_normal(n)
    beta = rng.standard_normal(p) * (rng.random(p) < 0.2)
    y = X @ beta + rng.standard_normal(n)
    prec = X.T @ X + np.eye(p)
    cov = np.linalg.inv(prec)
    mean = cov @ X.T @ y
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def logdensity(b):
        r = yj - Xj @ b
        return -0.5 * r @ r - 0.5 * b @ b

    return MCMCTarget("linreg-100", p, logdensity, {"X": X, "y": y, "beta_true": beta}, mean, cov)


def gaussian(p: int) -> MCMCTarget:
    """Standard normal N(0, I_P)."""
    import jax.numpy as jnp

    return MCMCTarget(f"gaussian-{p}", p, lambda x: -0.5 * jnp.sum(x ** 2), {}, np.zeros(p), np.eye(p))


def volcano(p: int) -> MCMCTarget:
    """Volcano density pi(x) proportional to exp(||x|| - ||x||^2 / 2) (mass on a shell of radius ~ sqrt(P))."""
    import jax.numpy as jnp

    def logdensity(x):
        r2 = jnp.sum(x ** 2)
        return jnp.sqrt(r2) - 0.5 * r2

    return MCMCTarget(f"volcano-{p}", p, logdensity, {})


def banana(random_state=0, n=100) -> MCMCTarget:
    """Banana: y_i ~ N((t1 - m1) + (t2 - m2)^2, 1), data y ~ N(1, 1); priors t1 ~ N(0, 2^2), t2 ~ N(0.5, 2^2);
    offsets m ~ N(0, 3^2 I) per replicate."""
    rng = np.random.default_rng(random_state)
    mu = 3.0 * rng.standard_normal(2)
    y = 1.0 + rng.standard_normal(n)
    s, ss = float(y.sum()), float((y ** 2).sum())

    def logdensity(t):
        f = (t[0] - mu[0]) + (t[1] - mu[1]) ** 2
        loglik = -0.5 * (ss - 2 * f * s + n * f ** 2)
        return loglik - 0.5 * (t[0] / 2.0) ** 2 - 0.5 * ((t[1] - 0.5) / 2.0) ** 2

    return MCMCTarget("banana", 2, logdensity, {"y": y, "offset": mu})


def twin_banana(random_state=0, n=100) -> MCMCTarget:
    """Twin banana (bimodal): y_i ~ N(0.1 a^2 - 0.5 b^4 - 10 a b, 10^2), a = t1 - m1, b = t2 - m2, data
    y ~ N(100, 10^2); prior N(0, 2^2 I); offsets m ~ N(0, 3^2 I)."""
    import jax.numpy as jnp

    rng = np.random.default_rng(random_state)
    mu = 3.0 * rng.standard_normal(2)
    y = 100.0 + 10.0 * rng.standard_normal(n)
    s, ss = float(y.sum()), float((y ** 2).sum())

    def logdensity(t):
        a, b = t[0] - mu[0], t[1] - mu[1]
        f = 0.1 * a ** 2 - 0.5 * b ** 4 - 10.0 * a * b
        return -0.5 * (ss - 2 * f * s + n * f ** 2) / 100.0 - 0.5 * jnp.sum((t / 2.0) ** 2)

    return MCMCTarget("twin-banana", 2, logdensity, {"y": y, "offset": mu})


def relu_logistic(p: int, random_state=0, n=1000) -> MCMCTarget:
    """ReLU-logistic regression y ~ Bern(sigmoid(max(0, x^T beta))), prior N(0, I) (non-differentiable).

    beta_true = N(0, I) (2 log P)^(1/4) sqrt(Gamma(3, scale 1/3)); X = N(0, 1) plus one shared N(0, 0.5^2) shift.
    """
    import jax.numpy as jnp

    from ..linalg.losses import bernoulli_loglik

    rng = np.random.default_rng(random_state)
    beta = rng.standard_normal(p) * (2 * np.log(max(p, 2))) ** 0.25 * np.sqrt(rng.gamma(3.0, 1.0 / 3.0))
    X = rng.standard_normal((n, p)) + 0.5 * rng.standard_normal()
    eta = np.maximum(0.0, X @ beta)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def logdensity(b):
        e = jnp.maximum(0.0, Xj @ b)
        return jnp.sum(bernoulli_loglik(e, yj)) - 0.5 * b @ b

    return MCMCTarget(f"relu-logistic-{p}", p, logdensity, {"X": X, "y": y, "beta_true": beta})


def horseshoe(random_state=0, n=50, p=100, rho=0.8, parametrization="centred") -> MCMCTarget:
    """Horseshoe regression sampled on (beta, log lambda, log tau, log sigma) (2p + 2 = 202 dims at p = 100).

    Design AR(1) rho = 0.8, 95% zero coefficients, non-zero |beta| uniform on [1, 4] with random signs; unit
    noise. Model: y ~ N(X beta, sigma^2), beta_j ~ N(0, lambda_j^2 tau^2 sigma^2), lambda_j, tau ~ C+(0, 1),
    sigma ~ C+(0, 1); log-Jacobians included. ``parametrization="non-centred"`` samples
    z_j = beta_j / (lambda_j tau sigma) ~ N(0, 1) in place of beta (the funnel between beta and the
    scales removed, as NUTS users write it); the first p coordinates are then z.
    """
    if parametrization not in ("centred", "non-centred"):
        raise ValueError(f"parametrization must be 'centred' or 'non-centred'; got {parametrization!r}")
    import jax.numpy as jnp

    rng = np.random.default_rng(random_state)
    X = np.empty((n, p))
    X[:, 0] = rng.standard_normal(n)
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho ** 2) * rng.standard_normal(n)
    beta = np.zeros(p)
    k = max(1, int(round(0.05 * p)))
    idx = rng.choice(p, k, replace=False)
    beta[idx] = rng.uniform(1.0, 4.0, k) * rng.choice([-1.0, 1.0], k)
    y = X @ beta + rng.standard_normal(n)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def half_cauchy_log(logv):          # log density of log v for v ~ C+(0, 1)
        return -jnp.log1p(jnp.exp(2 * logv)) + logv

    centred = parametrization == "centred"

    def logdensity(z):
        first, loglam, logtau, logsig = z[:p], z[p:2 * p], z[2 * p], z[2 * p + 1]
        sig2 = jnp.exp(2 * logsig)
        logsd = loglam + logtau + logsig
        b = first if centred else first * jnp.exp(logsd)
        r = yj - Xj @ b
        ll = -0.5 * r @ r / sig2 - n * logsig
        lb = jnp.sum(-0.5 * (b * jnp.exp(-logsd)) ** 2 - logsd) if centred else -0.5 * (first @ first)
        return ll + lb + jnp.sum(half_cauchy_log(loglam)) + half_cauchy_log(logtau) + half_cauchy_log(logsig)

    name = "horseshoe" if centred else "horseshoe-noncentred"
    return MCMCTarget(name, 2 * p + 2, logdensity, {"X": X, "y": y, "beta_true": beta})


def deep_gp(random_state=0, n=35) -> MCMCTarget:
    """Two-layer deep-GP surrogate (38 dims at n = 35): f(x) = sin x + 2 exp(-30 x^2) at n equispaced inputs on
    [-5, 5]; latent warping W ~ N(0, K(x; l1)); Y | W ~ t_6(0, K([x, W]; l2, l3) + 1e-8 I) (the output scale tau
    integrated out under an inverse-gamma(3, 3) prior, hence t_6); squared-exponential kernels with nugget
    1e-8; log length-scales with Gamma(1, rate 2) priors on the length-scales (log-Jacobian included).

    This is a reconstruction of the case-study model (the paper body is not readable): the warping / outer
    ARD layout is documented in docs/modules/mcmc.md.
    """
    import jax.numpy as jnp

    from ..linalg.ordering import after
    from ..linalg.solve import solve_triangular

    x = np.linspace(-5.0, 5.0, n)
    y = np.sin(x) + 2.0 * np.exp(-30.0 * x ** 2)
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    eye = jnp.eye(n)
    nu = 6.0

    def se(d2, ell):
        return jnp.exp(-0.5 * d2 / ell ** 2)

    def logdensity(z):
        w, loglen = z[:n], z[n:n + 3]
        ell = jnp.exp(loglen)
        dx2 = (xj[:, None] - xj[None, :]) ** 2
        K1 = se(dx2, ell[0]) + 1e-8 * eye
        L1 = jnp.linalg.cholesky(K1)
        a = solve_triangular(L1, w)
        lw = -0.5 * a @ a - jnp.sum(jnp.log(jnp.diagonal(L1)))
        dw2 = (w[:, None] - w[None, :]) ** 2
        K2 = jnp.exp(-0.5 * dx2 / ell[1] ** 2 - 0.5 * dw2 / ell[2] ** 2) + 1e-8 * eye
        # second factorisation strictly after the first: under vmap over > 128 chains two independent
        # batched LAPACK calls can deadlock XLA:CPU's thread pool (sparsestat.linalg.ordering)
        L2 = jnp.linalg.cholesky(after(K2, a))
        b = solve_triangular(L2, yj)
        ly = -0.5 * (nu + n) * jnp.log1p(b @ b / nu) - jnp.sum(jnp.log(jnp.diagonal(L2)))
        lp = jnp.sum(-2.0 * ell + loglen)    # Gamma(1, rate 2) on each length-scale, in log space
        out = lw + ly + lp
        return jnp.where(jnp.isfinite(out), out, -jnp.inf)

    return MCMCTarget("deep-gp", n + 3, logdensity, {"x": x, "y": y})


def real_logistic(name: str = "breast_cancer", prior_sd: float = 2.0) -> MCMCTarget:
    """Bayesian logistic regression on a data set that ships with scikit-learn (no download), features
    standardised, an intercept column, prior N(0, prior_sd^2 I) on every coefficient.

    * ``"breast_cancer"``: 569 x 30, diagnosis (31 coefficients; issue 21's posterior);
    * ``"digits"``: 1797 x 8 x 8 images, the 61 pixels that are not constant, label digit >= 5
      (62 coefficients, neighbouring pixels strongly correlated; rare pixels make some coefficients
      prior-dominated and skewed).

    The data enter the log density as closed-over constants.
    """
    import jax.numpy as jnp
    from sklearn.datasets import load_breast_cancer, load_digits

    from ..linalg.losses import bernoulli_loglik

    if name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
    elif name == "digits":
        X, y = load_digits(return_X_y=True)
        X = X[:, X.std(axis=0) > 0]
        y = (y >= 5)
    else:
        raise ValueError(f"name must be 'breast_cancer' or 'digits'; got {name!r}")
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    X = np.hstack([np.ones((X.shape[0], 1)), X])
    y = np.asarray(y, dtype=np.float64)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    prec = 1.0 / float(prior_sd) ** 2

    def logdensity(b):
        return jnp.sum(bernoulli_loglik(Xj @ b, yj)) - 0.5 * prec * (b @ b)

    return MCMCTarget(f"{name.replace('_', '-')}-logistic", X.shape[1], logdensity, {"X": X, "y": y})
