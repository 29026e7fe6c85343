"""Elliptical slice samplers (ESS, GESS, AGESS): the case-study suites of Marco & Tokdar (adapted sizes).

Every experiment runs sparsestat.mcmc.sample (vectorized chains, float64) and reports efficiency per
iteration and per log-density evaluation. ``--quick`` runs reduced sizes (documented in each row).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._common import ExperimentResult, figure, write_csv

EXPERIMENTS = {
    "agess-gaussian": ("run_gaussian", "N(0, I_P): ESS/iteration of ||x|| vs P, mismatched ESS vs AGESS; "
                                       "self-correction curve"),
    "agess-volcano": ("run_volcano", "Volcano exp(||x|| - ||x||^2/2): ESS/iteration vs P, mismatched ESS vs AGESS"),
    "agess-banana": ("run_banana", "banana and twin banana: KL(true || KDE) on a grid, mode visits"),
    "agess-relu": ("run_relu", "ReLU-logistic regression (non-differentiable), P = 2, 10, 50: ESS, R-hat"),
    "agess-horseshoe": ("run_horseshoe", "horseshoe regression, p = 100 (202-d): ESS of beta per evaluation"),
    "agess-deepgp": ("run_deepgp", "38-d deep-GP surrogate: ESS of the posterior-predictive mean"),
}
DEMO = "demo"


def _sample(logdensity, p, kernel, n_iter, n_chains, seed, **kw):
    import jax
    import jax.numpy as jnp

    from ..mcmc import sample

    rng = np.random.default_rng(seed)
    x0 = jnp.asarray(0.1 * rng.standard_normal((n_chains, p)))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sample(logdensity, x0, kernel=kernel, num_warmup=0, num_samples=n_iter, num_chains=n_chains,
                      rng_key=jax.random.PRNGKey(seed), progress_bar=False, **kw)


def _ess(x):
    """ESS of a (chains, draws) array by numpyro's estimator (:func:`sparsestat.mcmc.effective_sample_size`:
    unsplit chains, no rank normalisation; ArviZ's default bulk ESS is :func:`sparsestat.mcmc.bulk_ess`)."""
    from ..mcmc import effective_sample_size

    return float(effective_sample_size(np.asarray(x, np.float64)[..., None])[0])


def _rhat(x):
    from ..mcmc import split_rhat

    return float(np.max(split_rhat(np.asarray(x, np.float64))))


# --------------------------------------------------------------------------- N(0, I) and Volcano
def _scaling(name, make, quick, out_dir):
    import jax.numpy as jnp

    from ..datasets import mcmc_targets as T
    from ..linalg import enable_x64

    dims = [10, 50] if quick else [10, 100, 500]
    rows, curves = [], {}
    with enable_x64():
        for p in dims:
            tgt = make(T, p)
            n_iter = (3000 if quick else 10_000 * p if p < 500 else 5_000 * p)
            burn = n_iter // 4
            prior_var = 2.0

            def loglik(x, f=tgt.logdensity):
                return f(x) + 0.5 * jnp.sum(x ** 2) / prior_var

            runs = {
                f"ess(prior var {prior_var:g})": ("ess", loglik, dict(mean=0.0, cov=prior_var)),
                "agess-t (cov0 = 10 I)": ("agess", tgt.logdensity, dict(cov0=10.0)),
            }
            if not quick:
                runs["agess-normal (cov0 = 10 I)"] = ("agess", tgt.logdensity, dict(cov0=10.0, t_dist=False))
                runs["ess(exact-scale prior)"] = ("ess", lambda x, f=tgt.logdensity: f(x) + 0.5 * jnp.sum(x ** 2),
                                                  dict(mean=0.0, cov=1.0))
            for label, (kernel, fn, kw) in runs.items():
                res = _sample(fn, p, kernel, n_iter, 2, seed=p, **kw)
                r = np.linalg.norm(res.samples, axis=-1)
                ess = _ess(r[:, burn:])
                evals = float(res.num_evals[:, burn:].mean())
                rows.append({"target": name, "P": p, "sampler": label, "iterations": n_iter, "chains": 2,
                             "ess_norm_per_iter": ess / (2 * (n_iter - burn)),
                             "ess_norm_per_1k_evals": 1000 * ess / (2 * (n_iter - burn) * evals),
                             "evals_per_iter": evals, "mean_sq_norm_over_P": float((r[:, burn:] ** 2).mean() / p),
                             "run_s": res.run_time})
                if p == dims[-1]:
                    curves[label] = (r[0] ** 2) / p
    files = [write_csv(rows, out_dir / f"{name}.csv")]

    def draw(axes):
        ax0, ax1 = axes[0, 0], axes[0, 1]
        for label in {r["sampler"] for r in rows}:
            sub = [r for r in rows if r["sampler"] == label]
            ax0.semilogx([r["P"] for r in sub], [r["ess_norm_per_iter"] for r in sub], "o-", label=label)
        ax0.set_xlabel("P")
        ax0.set_ylabel("ESS of ||x|| per iteration")
        ax0.legend(fontsize=7)
        w = 200
        for label, c in curves.items():
            ax1.plot(np.convolve(c, np.ones(w) / w, mode="valid"), label=label)
        ax1.set_xlabel("iteration")
        ax1.set_ylabel(f"running mean of ||x||^2 / P (window {w}), P = {dims[-1]}")
        ax1.legend(fontsize=7)

    fig = figure(out_dir / f"{name}.png", draw, ncols=2)
    if fig is not None:
        files.append(fig)
    big = [r for r in rows if r["P"] == dims[-1]]
    best = {r["sampler"]: r["ess_norm_per_iter"] for r in big}
    checks = {"agess_over_mismatched_ess_at_max_P": best["agess-t (cov0 = 10 I)"] / best["ess(prior var 2)"]}
    return ExperimentResult(name, rows, files, checks)


def run_gaussian(quick: bool, out_dir: Path) -> ExperimentResult:
    return _scaling("agess-gaussian", lambda T, p: T.gaussian(p), quick, Path(out_dir))


def run_volcano(quick: bool, out_dir: Path) -> ExperimentResult:
    return _scaling("agess-volcano", lambda T, p: T.volcano(p), quick, Path(out_dir))


# --------------------------------------------------------------------------- banana / twin banana
def _grid_density(logdensity, center, half, n):
    import jax
    import jax.numpy as jnp

    g0 = np.linspace(center[0] - half[0], center[0] + half[0], n)
    g1 = np.linspace(center[1] - half[1], center[1] + half[1], n)
    G = np.stack(np.meshgrid(g0, g1, indexing="ij"), -1).reshape(-1, 2)
    lp = np.asarray(jax.jit(jax.vmap(logdensity))(jnp.asarray(G))).reshape(n, n)
    lp = np.where(np.isfinite(lp), lp, -np.inf)
    w = np.exp(lp - lp.max())
    return g0, g1, w / w.sum()


def _kl_true_kde(samples, g0, g1, ptrue):
    from scipy.ndimage import gaussian_filter

    n = len(g0)
    H, _, _ = np.histogram2d(samples[:, 0], samples[:, 1], bins=[n, n],
                             range=[[g0[0] - (g0[1] - g0[0]) / 2, g0[-1] + (g0[1] - g0[0]) / 2],
                                    [g1[0] - (g1[1] - g1[0]) / 2, g1[-1] + (g1[1] - g1[0]) / 2]])
    sd = samples.std(0)
    bw = sd * len(samples) ** (-1.0 / 6.0)               # Scott's rule in 2-D
    sig = np.maximum(bw / np.array([g0[1] - g0[0], g1[1] - g1[0]]), 0.5)
    q = gaussian_filter(H, sig) + 1e-12
    q /= q.sum()
    m = ptrue > 0
    return float(np.sum(ptrue[m] * np.log(ptrue[m] / q[m])))


def run_banana(quick: bool, out_dir: Path) -> ExperimentResult:
    import jax.numpy as jnp

    from ..datasets import mcmc_targets as T
    from ..linalg import enable_x64

    out_dir = Path(out_dir)
    reps = 1 if quick else 100
    n_iter = {"banana": 20_000 if quick else 200_000, "twin-banana": 20_000 if quick else 500_000}
    ngrid = 200 if quick else 1000
    rows = []
    keep_for_plot = {}
    with enable_x64():
        for which in ("banana", "twin-banana"):
            for rep in range(reps):
                tgt = T.banana(rep) if which == "banana" else T.twin_banana(rep)
                prior_mean = np.array([0.0, 0.5]) if which == "banana" else np.zeros(2)

                def loglik(x, f=tgt.logdensity, pm=prior_mean):
                    return f(x) + 0.5 * jnp.sum(((x - pm) / 2.0) ** 2)

                samplers = {
                    "ess": ("ess", loglik, dict(mean=prior_mean, cov=4.0)),
                    "gess": ("gess", tgt.logdensity, dict(mean=prior_mean, cov=4.0)),
                    "agess": ("agess", tgt.logdensity, dict(mean0=prior_mean, cov0=4.0)),
                }
                # grid around the bulk of the target (from a long AGESS pilot = the agess run itself)
                results = {k: _sample(fn, 2, kern, n_iter[which], 1, seed=rep, **kw)
                           for k, (kern, fn, kw) in samplers.items()}
                pooled = np.concatenate([results[k].samples[0, n_iter[which] // 2:] for k in results])
                lo, hi = np.percentile(pooled, 0.1, axis=0), np.percentile(pooled, 99.9, axis=0)
                center, half = (lo + hi) / 2, (hi - lo) / 2 * 1.3 + 0.05
                g0, g1, ptrue = _grid_density(tgt.logdensity, center, half, ngrid)
                a_true = None
                if which == "twin-banana":
                    A = np.meshgrid(g0, g1, indexing="ij")[0] - tgt.data["offset"][0]
                    a_true = float(ptrue[A > 0].sum())
                for k, res in results.items():
                    s = res.samples[0, n_iter[which] // 2:]
                    row = {"target": which, "replicate": rep, "sampler": k, "iterations": n_iter[which],
                           "kl_true_kde": _kl_true_kde(s, g0, g1, ptrue),
                           "evals_per_iter": float(res.num_evals.mean()), "run_s": res.run_time}
                    if a_true is not None:
                        frac = float(np.mean(s[:, 0] - tgt.data["offset"][0] > 0))
                        row.update(mode_fraction=frac, true_mode_fraction=a_true,
                                   both_modes_visited=bool(0 < frac < 1))
                    rows.append(row)
                    if rep == 0:
                        keep_for_plot[(which, k)] = (s[::10], g0, g1, ptrue)
    files = [write_csv(rows, out_dir / "agess-banana.csv")]

    def draw(axes):
        for i, which in enumerate(("banana", "twin-banana")):
            for j, k in enumerate(("ess", "gess", "agess")):
                ax = axes[i, j]
                s, g0, g1, pt = keep_for_plot[(which, k)]
                ax.contour(g0, g1, pt.T, levels=6, colors="k", linewidths=0.6)
                ax.plot(s[:, 0], s[:, 1], ",", alpha=0.3)
                ax.set_title(f"{which}: {k}", fontsize=8)

    fig = figure(out_dir / "agess-banana.png", draw, ncols=3, nrows=2, figsize=(3.2, 3.0))
    if fig is not None:
        files.append(fig)
    ban = [r for r in rows if r["target"] == "banana"]
    wins = sum(1 for rep in range(reps)
               if min(r["kl_true_kde"] for r in ban if r["replicate"] == rep and r["sampler"] == "agess")
               <= min(r["kl_true_kde"] for r in ban if r["replicate"] == rep and r["sampler"] != "agess"))
    twin = [r for r in rows if r["target"] == "twin-banana" and r["sampler"] == "agess"]
    checks = {"banana_agess_best_kl_fraction": wins / reps,
              "twin_agess_both_modes_fraction": float(np.mean([r["both_modes_visited"] for r in twin]))}
    return ExperimentResult("agess-banana", rows, files, checks)


# --------------------------------------------------------------------------- ReLU-logistic
def run_relu(quick: bool, out_dir: Path) -> ExperimentResult:
    from ..datasets import mcmc_targets as T
    from ..linalg import enable_x64

    out_dir = Path(out_dir)
    dims = [2, 10] if quick else [2, 10, 50]
    reps = 1 if quick else 100
    rows = []
    with enable_x64():
        for p in dims:
            n_iter = (1000 * p if quick else 10_000 * p)
            burn = n_iter // 4
            for rep in range(reps):
                tgt = T.relu_logistic(p, random_state=rep)
                for k, kern, kw in (("ess", "ess", dict(mean=0.0, cov=1.0)), ("agess", "agess", {})):
                    fn = tgt.logdensity
                    if kern == "ess":
                        import jax.numpy as jnp

                        fn = (lambda x, f=tgt.logdensity: f(x) + 0.5 * jnp.sum(x ** 2))
                    res = _sample(fn, p, kern, max(n_iter, 2000), 2, seed=rep, **kw)
                    x = res.samples[:, burn:]
                    from ..mcmc import effective_sample_size, split_rhat

                    ess = np.asarray(effective_sample_size(x))
                    rhat = float(np.max(split_rhat(x)))
                    rows.append({"P": p, "replicate": rep, "sampler": k, "iterations": max(n_iter, 2000),
                                 "min_ess": float(ess.min()), "max_rhat": rhat, "converged": rhat < 1.05,
                                 "min_ess_per_1k_evals": 1000 * float(ess.min()) / float(res.num_evals[:, burn:].sum()),
                                 "evals_per_iter": float(res.num_evals.mean())})
    files = [write_csv(rows, out_dir / "agess-relu.csv")]

    def draw(ax):
        for k in ("ess", "agess"):
            ax.semilogy(dims, [np.median([r["min_ess_per_1k_evals"] for r in rows if r["P"] == p and r["sampler"] == k])
                               for p in dims], "o-", label=k)
        ax.set_xlabel("P")
        ax.set_ylabel("median min ESS per 1k evaluations")
        ax.legend()

    fig = figure(out_dir / "agess-relu.png", draw)
    if fig is not None:
        files.append(fig)
    checks = {f"nonconverged_{k}": int(sum(not r["converged"] for r in rows if r["sampler"] == k))
              for k in ("ess", "agess")}
    return ExperimentResult("agess-relu", rows, files, checks)


# --------------------------------------------------------------------------- horseshoe
def run_horseshoe(quick: bool, out_dir: Path) -> ExperimentResult:
    import jax.numpy as jnp

    from ..datasets import mcmc_targets as T
    from ..linalg import enable_x64

    out_dir = Path(out_dir)
    reps = 1 if quick else 25
    n_iter = 3000 if quick else 1_500_000
    burn = n_iter // 6
    rows = []
    trace = None
    with enable_x64():
        for rep in range(reps):
            tgt = T.horseshoe(rep)
            p = tgt.data["X"].shape[1]
            import jax

            x0 = np.concatenate([np.zeros(p), np.zeros(p), [0.0], [0.0]])
            from ..mcmc import sample

            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = sample(tgt.logdensity, jnp.asarray(x0 + 0.01 * np.random.default_rng(rep).standard_normal((2, x0.size))),
                             num_warmup=burn, num_samples=n_iter - burn, num_chains=2, rng_key=jax.random.PRNGKey(rep),
                             progress_bar=False, thinning=max(1, (n_iter - burn) // 5000))
            b = res.samples[..., :p]
            from ..mcmc import effective_sample_size

            ess = np.asarray(effective_sample_size(b))
            bhat = b.reshape(-1, p).mean(0)
            evals = float(res.num_evals.sum() + res.warmup_num_evals.sum())
            rows.append({"replicate": rep, "sampler": "agess", "dim": tgt.dim, "iterations": n_iter,
                         "min_ess_beta": float(ess.min()), "median_ess_beta": float(np.median(ess)),
                         "min_ess_beta_per_1k_evals": 1000 * float(ess.min()) / evals,
                         "beta_rmse": float(np.sqrt(np.mean((bhat - tgt.data["beta_true"]) ** 2))),
                         "evals_per_iter": evals / (2 * n_iter), "run_s": res.run_time,
                         "compile_s": res.compile_time})
            if rep == 0:
                trace = (b[0], tgt.data["beta_true"])
    files = [write_csv(rows, out_dir / "agess-horseshoe.csv")]

    def draw(ax):
        b, bt = trace
        idx = np.argsort(-np.abs(bt))[:6]
        for j in idx:
            ax.plot(b[:, j], lw=0.5, label=f"beta_{j} (true {bt[j]:.2f})")
        ax.set_xlabel("kept draw")
        ax.legend(fontsize=6)

    fig = figure(out_dir / "agess-horseshoe.png", draw)
    if fig is not None:
        files.append(fig)
    checks = {"median_beta_rmse": float(np.median([r["beta_rmse"] for r in rows]))}
    return ExperimentResult("agess-horseshoe", rows, files, checks)


# --------------------------------------------------------------------------- deep GP
def _predictive_means(draws, x, y, xs):
    import jax
    import jax.numpy as jnp

    from ..linalg.ordering import after

    n = len(x)

    def one(z):
        w, ell = z[:n], jnp.exp(z[n:n + 3])
        dx2 = (x[:, None] - x[None, :]) ** 2
        K1 = jnp.exp(-0.5 * dx2 / ell[0] ** 2) + 1e-8 * jnp.eye(n)
        k1s = jnp.exp(-0.5 * (xs[:, None] - x[None, :]) ** 2 / ell[0] ** 2)
        ws = k1s @ jnp.linalg.solve(K1, w)
        K2 = jnp.exp(-0.5 * dx2 / ell[1] ** 2 - 0.5 * (w[:, None] - w[None, :]) ** 2 / ell[2] ** 2) + 1e-8 * jnp.eye(n)
        # the two batched LU solves must not run at once on XLA:CPU (see linalg.ordering): 2,000 draws hung
        K2 = after(K2, ws)
        k2s = jnp.exp(-0.5 * (xs[:, None] - x[None, :]) ** 2 / ell[1] ** 2
                      - 0.5 * (ws[:, None] - w[None, :]) ** 2 / ell[2] ** 2)
        return k2s @ jnp.linalg.solve(K2, y)

    return np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(draws)))


def run_deepgp(quick: bool, out_dir: Path) -> ExperimentResult:
    from ..datasets import mcmc_targets as T
    from ..linalg import enable_x64

    out_dir = Path(out_dir)
    reps = 1 if quick else 10
    n_iter = 16_000 if quick else 250_000
    burn = n_iter // 2
    xs = np.linspace(-5, 5, 20)
    rows, curves = [], {}
    with enable_x64():
        for rep in range(reps):
            tgt = T.deep_gp(rep)
            for k, kern, kw in (("gess", "gess", dict(mean=0.0, cov=1.0)), ("agess", "agess", {})):
                res = _sample(tgt.logdensity, tgt.dim, kern, n_iter, 2, seed=rep, **kw)
                d = res.samples[:, burn:][:, :: max(1, (n_iter - burn) // 1000)]
                pm = _predictive_means(d.reshape(-1, tgt.dim), tgt.data["x"], tgt.data["y"], xs)
                pm = pm.reshape(2, -1, len(xs))
                from ..mcmc import effective_sample_size

                ess = np.asarray(effective_sample_size(pm))
                evals = float(res.num_evals[:, burn:].sum())
                thin = (n_iter - burn) / d.shape[1]
                rows.append({"replicate": rep, "sampler": k, "iterations": n_iter,
                             "min_ess_pred_mean": float(ess.min()),
                             "min_ess_pred_per_1k_evals": 1000 * float(ess.min()) / evals,
                             "thinning": thin, "evals_per_iter": float(res.num_evals.mean()),
                             "run_s": res.run_time})
                if rep == 0:
                    curves[k] = pm.reshape(-1, len(xs)).mean(0)
    files = [write_csv(rows, out_dir / "agess-deepgp.csv")]

    def draw(ax):
        x = np.linspace(-5, 5, 400)
        ax.plot(x, np.sin(x) + 2 * np.exp(-30 * x ** 2), "k-", lw=0.8, label="f")
        for k, c in curves.items():
            ax.plot(xs, c, "o-", ms=3, label=f"{k} posterior-predictive mean")
        ax.legend(fontsize=7)

    fig = figure(out_dir / "agess-deepgp.png", draw)
    if fig is not None:
        files.append(fig)
    checks = {f"min_ess_pred_per_1k_evals_{k}": float(np.median([r["min_ess_pred_per_1k_evals"] for r in rows
                                                                  if r["sampler"] == k])) for k in ("gess", "agess")}
    return ExperimentResult("agess-deepgp", rows, files, checks)


# --------------------------------------------------------------------------- demo
def demo() -> list[dict]:
    """AGESS on a correlated 6-d Gaussian (4 vectorized chains, 2,000 + 2,000 iterations)."""
    import time
    import warnings

    import jax
    import jax.numpy as jnp

    from ..linalg import enable_x64
    from ..mcmc import sample

    p = 6
    idx = np.arange(p)
    C = 0.7 ** np.abs(idx[:, None] - idx[None, :]) * np.outer(np.linspace(0.5, 3, p), np.linspace(0.5, 3, p))
    Ci = np.linalg.inv(C)
    t0 = time.perf_counter()
    with enable_x64(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sample(lambda x: -0.5 * x @ Ci @ x, jnp.asarray(np.random.default_rng(0).standard_normal((4, p))),
                     num_warmup=2000, num_samples=2000, rng_key=jax.random.PRNGKey(0), progress_bar=False)
    total = time.perf_counter() - t0
    sd_ratio = res.samples.reshape(-1, p).std(0) / np.sqrt(np.diag(C))
    d = res.diagnostics
    return [{
        "module": "mcmc",
        "task": "AGESS, correlated 6-d Gaussian, 4 chains x 4,000 it.",
        "result": f"max R-hat {d['max_rhat']:.3f}; min ESS {d['min_ess']:.0f}; sd ratios "
                  f"{sd_ratio.min():.2f}-{sd_ratio.max():.2f}; {d['evals_per_iter']:.1f} evals/it",
        "time": f"{res.run_time:.2f} s run + {res.compile_time:.1f} s compile ({total:.1f} s total)",
    }]
