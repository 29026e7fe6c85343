"""B1: logreg-100 and linreg-100 (spec agess.md section 5): sparsestat AGESS / ESS / GESS(Laplace t6) against
blackjax ``elliptical_slice`` (prior auxiliary) and numpyro NUTS, 4 chains, float64, compile time excluded.

Metrics: min bulk ESS (rank-normalised, ArviZ's estimator) over the coordinates, ESS of ||x - m||^2, max
split R-hat (rows before 2026-12-05 used ArviZ's rank-normalised R-hat), evaluations per iteration
(NUTS: leapfrog steps = gradient evaluations), min ESS per second and per 1000 evaluations, lock-step
overhead of the vectorized chains.

    python -m benchmarks mcmc [--targets logreg,linreg] [--warmup 5000] [--samples 20000] [--chains 4]
                              [--nuts-warmup 1000] [--nuts-samples 1000] [--out results/bench_mcmc.md]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from ._timing import machine_info


def _bulk(x):
    """Bulk ESS and split R-hat per coordinate: the package's own estimators, equal to ArviZ's
    ``az.ess(method="bulk")`` and ``az.rhat(method="split")`` (tested to 1e-8), so ArviZ is not needed."""
    from sparsestat.mcmc.diagnostics import bulk_ess, split_rhat

    x = np.asarray(x, np.float64)
    return bulk_ess(x), split_rhat(x)


def _sq_ess(x, m):
    from sparsestat.mcmc.diagnostics import bulk_ess

    d = np.sum((np.asarray(x) - m) ** 2, axis=-1)
    return float(bulk_ess(d[..., None])[0])


def _row(target, sampler, x, evals_total, n_iter_total, run_s, m, extra=None, sd_true=None, evals_draws=None):
    """``evals_total`` counts warm-up and kept draws; ``evals_draws`` only the kept draws' iterations (the
    spec's "/1k ev": its 0.154 for ESS with the prior on logreg = 131 / (4 x 20,000 x 10.6))."""
    ess, rhat = _bulk(x)
    row = {"target": target, "sampler": sampler, "draws/chain": x.shape[1],
           "min_bulk_ess": float(ess.min()), "ess_sq_dist": _sq_ess(x, m), "max_rhat": float(rhat.max()),
           "evals/iter": evals_total / n_iter_total, "min_ess/s": float(ess.min()) / run_s,
           "min_ess/1k_ev": 1000 * float(ess.min()) / evals_total,
           "min_ess/1k_ev_draws": (1000 * float(ess.min()) / evals_draws) if evals_draws else float("nan"),
           "run_s": run_s}
    if sd_true is not None:
        flat = x.reshape(-1, x.shape[-1])
        ratio = flat.std(0) / sd_true
        row["sd_ratio"] = f"{ratio.min():.3f}-{ratio.max():.3f}"
        row["max|z|"] = float(np.max(np.abs(flat.mean(0) - m) / (sd_true / np.sqrt(ess))))
    row.update(extra or {})
    return row


def _blackjax_ess(tgt, x0, warmup, samples, seed):
    import blackjax
    import jax
    import jax.numpy as jnp

    p = tgt.dim
    loglik = lambda b: tgt.logdensity(b) + 0.5 * b @ b  # noqa: E731  (prior N(0, I) removed)
    alg = blackjax.elliptical_slice(loglik, mean=jnp.zeros(p), cov=jnp.eye(p))
    n = warmup + samples

    def run(keys, x0):
        def one(key, x):
            st = alg.init(x)

            def body(s, k):
                s, info = alg.step(k, s)
                return s, (s.position, info.subiter)

            return jax.lax.scan(body, st, jax.random.split(key, n))[1]

        return jax.vmap(one)(keys, x0)

    keys = jax.random.split(jax.random.PRNGKey(seed), x0.shape[0])
    tc = time.perf_counter()
    f = jax.jit(run).lower(keys, x0).compile()
    comp = time.perf_counter() - tc
    t0 = time.perf_counter()
    xs, ev = jax.block_until_ready(f(keys, x0))
    run_s = time.perf_counter() - t0
    ev = np.asarray(ev)
    lock = float(ev.max(axis=0).sum() * ev.shape[0] / ev.sum())
    return np.asarray(xs)[:, warmup:], float(ev.sum()), run_s, comp, lock, float(ev[:, warmup:].sum())


def _numpyro_nuts(tgt, x0, warmup, samples, seed):
    import jax
    from numpyro.infer import MCMC, NUTS

    mc = MCMC(NUTS(potential_fn=lambda b: -tgt.logdensity(b)), num_warmup=warmup, num_samples=samples,
              num_chains=x0.shape[0], chain_method="vectorized", progress_bar=False)
    t0 = time.perf_counter()
    mc.run(jax.random.PRNGKey(seed), init_params=x0, extra_fields=("num_steps",))
    # MCMC.run returns before the device has finished (asynchronous dispatch): stop the timer once the
    # draws exist (before this, the NUTS rows timed only the dispatch when the run was long)
    x = np.asarray(jax.block_until_ready(mc.get_samples(group_by_chain=True)))
    total = time.perf_counter() - t0
    steps = np.asarray(mc.get_extra_fields(group_by_chain=True)["num_steps"])
    # compile time: a second identical short run is not affordable here; report total and mark it
    return x, float(steps.sum()) * (warmup + samples) / samples, total, float(steps.sum())


class _Rows(list):
    """A list that prints each row as it arrives (long runs on shared machines)."""

    def append(self, row):
        super().append(row)
        print("row:", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)


def run(targets, warmup, samples, chains, nuts_warmup, nuts_samples, seed=0, agess_only=False):
    import jax
    import jax.numpy as jnp

    from sparsestat.datasets import mcmc_targets as T
    from sparsestat.linalg import enable_x64
    from sparsestat.mcmc import sample

    rows = _Rows()
    with enable_x64(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in targets:
            tgt = T.logreg_100() if name == "logreg" else T.linreg_100()
            p = tgt.dim
            x0 = jnp.asarray(0.1 * np.random.default_rng(seed).standard_normal((chains, p)))
            if tgt.mean is not None:
                m, C = tgt.mean, tgt.cov
            else:   # Laplace approximation (Newton) for logreg: centre for ||x - m||^2 and the GESS ceiling
                g = jax.jit(jax.grad(tgt.logdensity))
                h = jax.jit(jax.hessian(tgt.logdensity))
                m = np.zeros(p)
                for _ in range(30):
                    m = m - np.linalg.solve(np.asarray(h(jnp.asarray(m))), np.asarray(g(jnp.asarray(m))))
                C = np.linalg.inv(-np.asarray(h(jnp.asarray(m))))
            sd_true = np.sqrt(np.diag(C)) if tgt.mean is not None else None
            n_it = chains * (warmup + samples)
            # sparsestat AGESS (defaults)
            r = sample(tgt.logdensity, x0, num_warmup=warmup, num_samples=samples, num_chains=chains,
                       rng_key=jax.random.PRNGKey(seed), progress_bar=False)
            ev = float(r.num_evals.sum() + r.warmup_num_evals.sum())
            rows.append(_row(name, "sparsestat agess", r.samples, ev, n_it, r.run_time, m,
                             {"compile_s": r.compile_time, "lockstep": r.diagnostics["lockstep_overhead"]},
                             sd_true, evals_draws=float(r.num_evals.sum())))
            if agess_only:   # the long 2,000*P runs: AGESS alone
                continue
            # sparsestat ESS with the prior (same setting as blackjax)
            loglik = lambda b, f=tgt.logdensity: f(b) + 0.5 * b @ b  # noqa: E731
            r = sample(loglik, x0, kernel="ess", mean=0.0, cov=1.0, num_warmup=warmup, num_samples=samples,
                       num_chains=chains, rng_key=jax.random.PRNGKey(seed + 1), progress_bar=False)
            ev = float(r.num_evals.sum() + r.warmup_num_evals.sum())
            rows.append(_row(name, "sparsestat ess (prior)", r.samples, ev, n_it, r.run_time, m,
                             {"compile_s": r.compile_time, "lockstep": r.diagnostics["lockstep_overhead"]}, sd_true,
                             evals_draws=float(r.num_evals.sum())))
            # sparsestat GESS with the Laplace / exact t6 auxiliary (a ceiling, not out of the box)
            r = sample(tgt.logdensity, x0, kernel="gess", mean=m, cov=C, num_warmup=warmup // 5,
                       num_samples=samples // 4, num_chains=chains, rng_key=jax.random.PRNGKey(seed + 2),
                       progress_bar=False)
            ev = float(r.num_evals.sum() + r.warmup_num_evals.sum())
            rows.append(_row(name, "sparsestat gess (Laplace t6)", r.samples, ev,
                             chains * (warmup // 5 + samples // 4), r.run_time, m,
                             {"compile_s": r.compile_time, "lockstep": r.diagnostics["lockstep_overhead"]}, sd_true,
                             evals_draws=float(r.num_evals.sum())))
            # blackjax elliptical_slice (prior)
            xs, ev, run_s, comp, lock, ev_draws = _blackjax_ess(tgt, x0, warmup, samples, seed + 3)
            rows.append(_row(name, "blackjax elliptical_slice (prior)", xs, ev, n_it, run_s, m,
                             {"compile_s": comp, "lockstep": lock}, sd_true, evals_draws=ev_draws))
            # numpyro NUTS
            xs, ev, total, ev_draws = _numpyro_nuts(tgt, x0, nuts_warmup, nuts_samples, seed + 4)
            rows.append(_row(name, "numpyro NUTS", xs, ev, chains * (nuts_warmup + nuts_samples), total, m,
                             {"compile_s": float("nan"), "lockstep": float("nan")}, sd_true, evals_draws=ev_draws))
    return rows


def _fmt(rows):
    cols = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)

    def f(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(f(r.get(c, "")) for c in cols) + " |")
    return "\n".join(lines)


def _ratios(rows):
    out = []
    for t in sorted({r["target"] for r in rows}):
        sub = {r["sampler"]: r for r in rows if r["target"] == t}
        if len(sub) < 5:   # a --samplers subset: no ratios
            continue
        a, b, n = sub["sparsestat agess"], sub["blackjax elliptical_slice (prior)"], sub["numpyro NUTS"]
        out.append({"target": t, "agess/blackjax ESS per s": a["min_ess/s"] / b["min_ess/s"],
                    "agess/blackjax ESS per 1k ev": a["min_ess/1k_ev"] / b["min_ess/1k_ev"],
                    "agess/blackjax ESS per 1k ev (draws)": a["min_ess/1k_ev_draws"] / b["min_ess/1k_ev_draws"],
                    "agess/NUTS ESS per s": a["min_ess/s"] / n["min_ess/s"],
                    "agess/NUTS ESS per 1k ev": a["min_ess/1k_ev"] / n["min_ess/1k_ev"],
                    "ss-ess/blackjax ESS per s": sub["sparsestat ess (prior)"]["min_ess/s"] / b["min_ess/s"]})
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks mcmc")
    ap.add_argument("--targets", default="logreg,linreg")
    ap.add_argument("--warmup", type=int, default=5000)
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--nuts-warmup", type=int, default=1000)
    ap.add_argument("--nuts-samples", type=int, default=1000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--samplers", default="all", help="'all' or 'agess' (AGESS alone, for the long 2,000*P runs)")
    a = ap.parse_args(argv)
    if a.samplers not in ("all", "agess"):
        ap.error("--samplers takes 'all' or 'agess'")
    rows = run(a.targets.split(","), a.warmup, a.samples, a.chains, a.nuts_warmup, a.nuts_samples,
               agess_only=a.samplers == "agess")
    text = ("## bench_mcmc (B1)\n\n" + f"`python -m benchmarks mcmc {' '.join(argv or [])}`\n\n" + machine_info()
            + "\n\n" + _fmt(rows) + "\n\nRatios:\n\n" + _fmt(_ratios(rows)) + "\n")
    print(text)
    if a.out:
        with open(a.out, "a") as fh:
            fh.write(text + "\n")
    return 0
