"""AGESS against numpyro NUTS, head to head (issue 21): same log density, same starts, 4 chains, float64.

Targets: Bayesian logistic regressions on data sets that ship with scikit-learn (breast cancer, 31
coefficients; digits, 62 strongly correlated coefficients), the horseshoe regression, and the
non-differentiable ReLU-logistic (where NUTS does not apply: AGESS against sparsestat's ESS with the
prior). AGESS runs with ``sample``'s defaults (chain_method "auto": sequential on CPU); NUTS runs both
vectorized and sequential, and the ratios are taken against the faster. Every (target, sampler) runs
in a fresh process, twice with different keys: the first call is the cold figure (compilation
included), the second the warm one; the warm draws give the ESS. For AGESS the worker also times the
pieces of one iteration in compiled loops (the profile table).

Metrics: min bulk ESS over the coordinates (ArviZ's rank-normalised estimator, via
``sparsestat.mcmc.bulk_ess``), max split R-hat, ESS per second (warm and cold), evaluations (AGESS:
log-density calls; NUTS: leapfrog steps, i.e. gradient evaluations) and ESS per 1,000 of them, the
largest posterior-mean difference between the samplers in posterior sd (NUTS's), and for AGESS the
microseconds per evaluation against the compiled density's own cost (one chain and 4 chains batched,
inside a compiled loop).

    python -m benchmarks mcmc_nuts [--targets breast_cancer,digits,horseshoe,relu]
        [--agess-warmup W] [--agess-samples S] [--nuts-warmup 1000] [--nuts-samples 2000]
        [--vectorized] [--out benchmarks/RESULTS.md]

``--vectorized`` adds AGESS with ``chain_method="vectorized"`` (the 4 chains in lock-step under vmap):
its microseconds per useful evaluation are read against the density evaluated for the 4 chains
batched (per chain), and ``lock-step`` is the batched evaluations over the useful ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from ._timing import machine_info
from .bench_mcmc import _fmt

CHAINS = 4
TARGETS = ("breast_cancer", "digits", "horseshoe", "relu")
# AGESS iterations per chain (warm-up, draws) unless --agess-warmup/--agess-samples are given: the
# horseshoe's density costs 1 us, so 4x the budget still runs in less time than NUTS's 1,000 + 2,000
AGESS_BUDGET = {"breast_cancer": (10000, 10000), "digits": (10000, 10000), "horseshoe": (40000, 40000),
                "relu": (10000, 10000)}


def _target(name):
    from sparsestat.datasets import mcmc_targets as T

    if name in ("breast_cancer", "digits"):
        return T.real_logistic(name)
    if name == "horseshoe":
        # 42 dims (z, log lambda, log tau, log sigma): the non-centred form, as NUTS users write it
        return T.horseshoe(p=20, parametrization="non-centred")
    if name == "relu":
        return T.relu_logistic(10)
    raise ValueError(f"unknown target {name!r}; valid: {', '.join(TARGETS)}")


def _loop_us(f, x, n=20000):
    """Microseconds per call of ``f(i, x)`` inside a compiled while loop of n iterations (x is nudged
    by the result so that nothing is hoisted out of the loop)."""
    import jax
    import jax.numpy as jnp

    def loop(x):
        def body(c):
            i, x, acc = c
            v = jnp.sum(f(i, x))
            return i + 1, x + 1e-12 * v, acc + v
        return jax.lax.while_loop(lambda c: c[0] < n, body, (0, x, jnp.zeros((), x.dtype)))[2]

    g = jax.jit(loop)
    g(x).block_until_ready()
    t0 = time.perf_counter()
    g(x).block_until_ready()
    return 1e6 * (time.perf_counter() - t0) / n


def _density_cost(logdensity, x0):
    """Microseconds per evaluation of the compiled density inside a compiled loop: one chain, and
    the chains batched with vmap (per chain)."""
    import jax

    one = _loop_us(lambda i, x: logdensity(x), x0[0], 4000)
    batched = _loop_us(lambda i, x: jax.vmap(logdensity)(x), x0, 4000) / x0.shape[0]
    return [one, batched]


def _iteration_profile(p, dtype):
    """Microseconds of the pieces of one AGESS iteration besides the density, each in a compiled loop:
    per shrink step (a uniform from fold_in), per GESS step (P normals, the t scale's gamma draw, one
    triangular solve), per iteration (the rank-one Cholesky update of the background factor)."""
    import jax
    import jax.numpy as jnp
    from jax.scipy.linalg import solve_triangular

    from sparsestat.linalg.solve import chol_update_vectorized

    key = jax.random.PRNGKey(0)
    L = jnp.asarray(np.linalg.cholesky(np.eye(p) + 0.1), dtype)
    pieces = {
        "uniform (per shrink)": lambda i, x: jax.random.uniform(jax.random.fold_in(key, i), (), dtype),
        "P normals": lambda i, x: jax.random.normal(jax.random.fold_in(key, i), (p,), dtype),
        "gamma draw": lambda i, x: jax.random.gamma(jax.random.fold_in(key, i), 0.5 * (6.0 + p), dtype=dtype),
        "triangular solve": lambda i, x: solve_triangular(L, x, lower=True),
        "rank-1 Cholesky update": lambda i, x: chol_update_vectorized(0.99 * L, x)[0],
    }
    return {name: _loop_us(f, jnp.full((p,), 0.01, dtype)) for name, f in pieces.items()}


def _lockstep(r):
    """Batched evaluations over useful ones of a vectorized run's draws (``num_evals``, chains x draws):
    at each iteration the batch evaluates as often as its busiest chain."""
    e = np.asarray(r.num_evals, np.float64)
    return float(e.max(axis=0).sum()) * e.shape[0] / float(e.sum())


def _worker(target, sampler, warmup, samples, seed, out_path):
    import jax
    import jax.numpy as jnp

    from sparsestat.linalg import enable_x64
    from sparsestat.mcmc import sample

    warnings.simplefilter("ignore")
    res = {}
    with enable_x64():
        tgt = _target(target)
        x0 = jnp.asarray(0.1 * np.random.default_rng(seed).standard_normal((CHAINS, tgt.dim)))
        for run, key in (("cold", seed + 1), ("warm", seed + 2)):
            t0 = time.perf_counter()
            if sampler.startswith("nuts"):
                from numpyro.infer import MCMC, NUTS

                mc = MCMC(NUTS(potential_fn=lambda b: -tgt.logdensity(b)), num_warmup=warmup,
                          num_samples=samples, num_chains=CHAINS, chain_method=sampler.split("-")[1],
                          progress_bar=False)
                mc.run(jax.random.PRNGKey(key), init_params=x0, extra_fields=("num_steps",))
                x = np.asarray(jax.block_until_ready(mc.get_samples(group_by_chain=True)))
                # numpyro's run returns before the device finishes: the timer stops after the draws exist
                wall = time.perf_counter() - t0
                steps = np.asarray(mc.get_extra_fields(group_by_chain=True)["num_steps"], np.float64)
                evals, evals_draws, run_s = None, float(steps.sum()), wall
            else:
                kw = dict(kernel="ess", mean=0.0, cov=1.0) if sampler == "ess" else {}
                if sampler == "agess-vectorized":
                    kw = dict(chain_method="vectorized")
                f = tgt.logdensity
                if sampler == "ess":   # ESS samples the likelihood against its N(0, I) prior
                    f = (lambda b, g=tgt.logdensity: g(b) + 0.5 * b @ b)
                r = sample(f, x0, num_warmup=warmup, num_samples=samples, num_chains=CHAINS,
                           rng_key=jax.random.PRNGKey(key), progress_bar=False, **kw)
                wall = time.perf_counter() - t0
                x = r.samples
                evals = float(r.num_evals.sum() + r.warmup_num_evals.sum())
                evals_draws, run_s = float(r.num_evals.sum()), r.run_time
            res[run] = {"wall_s": wall, "run_s": run_s, "evals": evals, "evals_draws": evals_draws}
            if sampler == "agess-vectorized":   # evaluations made in lock-step (every chain, every step)
                res[run]["lockstep"] = _lockstep(r)
        if sampler.startswith("agess"):
            res["density_us"] = _density_cost(tgt.logdensity, x0)
            res["profile_us"] = _iteration_profile(tgt.dim, x0.dtype)
    np.save(out_path, x)
    with open(out_path + ".json", "w") as fh:
        json.dump(res, fh)


def _one(target, sampler, warmup, samples, seed):
    """Run a (target, sampler) pair in a fresh process; (draws, metrics)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "draws.npy")
        cmd = [sys.executable, "-m", "benchmarks.bench_mcmc_nuts", "--worker", target, sampler, str(warmup),
               str(samples), str(seed), path]
        subprocess.run(cmd, check=True, env=dict(os.environ, SPARSESTAT_NO_PROGRESS="1"))
        x = np.load(path)
        with open(path + ".json") as fh:
            return x, json.load(fh)


def run(targets, agess_warmup, agess_samples, nuts_warmup, nuts_samples, seed=0, vectorized=False, nuts=True):
    from sparsestat.mcmc.diagnostics import bulk_ess, split_rhat

    rows, checks, profile = [], [], []
    for target in targets:
        samplers = ("agess", "ess") if target == "relu" else ("agess", "nuts-vectorized", "nuts-sequential")
        if not nuts:
            samplers = ("agess",)
        if vectorized:
            samplers = samplers[:1] + ("agess-vectorized",) + samplers[1:]
        draws = {}
        for s in samplers:
            if s.startswith("nuts"):
                w, n = nuts_warmup, nuts_samples
            else:
                w, n = AGESS_BUDGET[target]
                w, n = agess_warmup or w, agess_samples or n
            x, m = _one(target, s, w, n, seed)
            draws[s] = x
            ess = bulk_ess(x)
            warm, cold = m["warm"], m["cold"]
            evals = warm["evals"] if warm["evals"] is not None else warm["evals_draws"] * (w + n) / n
            row = {"target": target, "dim": x.shape[-1], "sampler": s, "warm-up + draws": f"{w} + {n}",
                   "min bulk ESS": float(ess.min()), "max R-hat": float(np.max(split_rhat(x))),
                   "warm s": warm["wall_s"], "cold s": cold["wall_s"],
                   "ESS/s warm": float(ess.min()) / warm["wall_s"], "ESS/s cold": float(ess.min()) / cold["wall_s"],
                   "evals/iter": evals / (CHAINS * (w + n)), "ESS per 1k evals": 1000 * float(ess.min()) / evals}
            if "density_us" in m:
                vec = s == "agess-vectorized"
                row["us/eval"] = 1e6 * warm["run_s"] / evals
                row["density us (1 chain / 4 batched)"] = "{:.2f} / {:.2f}".format(*m["density_us"])
                row["us/eval / density"] = row["us/eval"] / m["density_us"][1 if vec else 0]
                if vec:
                    row["lock-step"] = warm["lockstep"]
            if s == "agess":
                profile.append({"target": target, "dim": x.shape[-1], "density": m["density_us"][0],
                                **m["profile_us"]})
            rows.append(row)
            print("row:", row, flush=True)
        ra = {r["sampler"]: r for r in rows if r["target"] == target}
        if "nuts-vectorized" in draws:
            # against NUTS's faster chain method (both give the same kind of draws)
            best = max(("nuts-vectorized", "nuts-sequential"), key=lambda k: ra[k]["ESS/s warm"])
            a = draws["agess"].reshape(-1, draws["agess"].shape[-1])
            b = draws[best].reshape(-1, draws[best].shape[-1])
            z = np.abs(a.mean(0) - b.mean(0)) / b.std(0)
            checks.append({"target": target, "NUTS (faster)": best,
                           "AGESS/NUTS ESS/s warm": ra["agess"]["ESS/s warm"] / ra[best]["ESS/s warm"],
                           "AGESS/NUTS ESS/s cold": ra["agess"]["ESS/s cold"] / ra[best]["ESS/s cold"],
                           "AGESS/NUTS ESS per eval": ra["agess"]["ESS per 1k evals"] / ra[best]["ESS per 1k evals"],
                           "max |mean diff| / sd": float(z.max())})
        elif "ess" in draws:
            checks.append({"target": target,
                           "AGESS/ESS ESS/s warm": ra["agess"]["ESS/s warm"] / ra["ess"]["ESS/s warm"],
                           "AGESS/ESS ESS per eval": ra["agess"]["ESS per 1k evals"] / ra["ess"]["ESS per 1k evals"]})
    return rows, checks, profile


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--worker":
        t, s, w, n, seed, path = argv[1:7]
        _worker(t, s, int(w), int(n), int(seed), path)
        return 0
    ap = argparse.ArgumentParser(prog="python -m benchmarks mcmc_nuts")
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--agess-warmup", type=int, default=None, help="default: per target (AGESS_BUDGET)")
    ap.add_argument("--agess-samples", type=int, default=None, help="default: per target (AGESS_BUDGET)")
    ap.add_argument("--nuts-warmup", type=int, default=1000)
    ap.add_argument("--nuts-samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vectorized", action="store_true", help="also AGESS with chain_method='vectorized'")
    ap.add_argument("--nuts", default="both", choices=["both", "none"],
                    help="'none': AGESS rows only (no NUTS runs, no NUTS ratios)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    rows, checks, profile = run(a.targets.split(","), a.agess_warmup, a.agess_samples, a.nuts_warmup,
                                a.nuts_samples, a.seed, vectorized=a.vectorized, nuts=a.nuts != "none")
    text = ("## bench_mcmc_nuts (issue 21)\n\n" + f"`python -m benchmarks mcmc_nuts {' '.join(argv)}`\n\n"
            + machine_info() + "\n\n" + _fmt(rows)
            + ("\n\nRatios and agreement:\n\n" + _fmt(checks) if checks else "")
            + "\n\nPieces of an AGESS iteration, microseconds each (compiled loops, one chain):\n\n" + _fmt(profile)
            + "\n")
    print(text)
    if a.out:
        with open(a.out, "a") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
