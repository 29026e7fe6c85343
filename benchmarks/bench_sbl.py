"""sparsestat.sbl against a direct numpy/scipy implementation of the same rules (classic EM-SBL in Woodbury /
Cholesky form; KroSBL with the factor-eigendecomposition E-step), in one script, alternating.

    python -m benchmarks sbl [--quick] [--batch 1000] [--out results/bench_sbl.md]

K1: E-step alone (Kronecker vs dense Cholesky), K2: one problem end to end (svd, am, ksbl, classic),
K3: a batch of problems (kron_sbl on a batch: in sequence, lane pool, lock step, and split over one forced
host device per core; vs a loop over the jitted single call vs a numpy loop).
"""

from __future__ import annotations

import argparse
import os
import time
from functools import reduce

import numpy as np
import scipy.linalg as sla

from ._timing import Contender, compare, format_rows, machine_info

SIZES = {
    "16x32": dict(shapes=[(16, 32), (16, 32)], k=[3, 3], snr=20.0),
    "32x64": dict(shapes=[(32, 64), (32, 64)], k=[3, 3], snr=20.0),
    "3f 8x12x15->15^3": dict(shapes=[(8, 15), (12, 15), (15, 15)], k=[3, 3, 3], snr=25.0),
}
PRUNE = {"svd": 1e-3, "am": 1e-2, "ksbl": 1e-2, "classic": 1e-3}


_SHARDED_K3 = r"""
import json, sys, time
import jax, jax.numpy as jnp, numpy as np
from sparsestat.datasets import make_kronecker_sparse
from sparsestat.linalg import enable_x64, make_mesh
from sparsestat.sbl import kron_sbl
batch, shared, repeat = int(sys.argv[1]), sys.argv[2] == "1", int(sys.argv[3])
with enable_x64():
    pb = make_kronecker_sparse([(16, 32), (16, 32)], [3, 3], 20.0, n_problems=batch, shared_factors=shared,
                               random_state=7)
    jF = [jnp.asarray(f) for f in pb.factors]
    jy, jnv = jnp.asarray(pb.y), jnp.asarray(pb.noise_var)
    mesh = make_mesh()
    t0 = time.perf_counter()
    jax.block_until_ready(kron_sbl(jF, jy, noise_var=jnv, mesh=mesh).coef)
    first = time.perf_counter() - t0
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(kron_sbl(jF, jy, noise_var=jnv, mesh=mesh).coef)
        ts.append(time.perf_counter() - t0)
print(json.dumps({"first": first, "times": ts}))
"""


def _sharded_k3_row(ref_row, ndev, batch, shared, repeat):
    """The K3 batch split over ``ndev`` forced host devices (one per core); a separate process, because
    the device count is fixed when JAX starts. Timed after the other contenders, not alternated."""
    import json
    import statistics
    import subprocess
    import sys

    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={ndev} " + env.get("XLA_FLAGS", "")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", _SHARDED_K3, str(batch), "1" if shared else "0", str(repeat)],
                          capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"sharded K3 run failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    med = statistics.median(out["times"])
    key = [k for k in ref_row if k.startswith("ratio_vs_")][0]
    return {"task": ref_row["task"], "method": f"sparsestat batch of {batch} on {ndev} host devices (mesh, 1 lane each)",
            "median_s": med, "min_s": min(out["times"]), "first_call_s": out["first"],
            key: med / ref_row["median_s"]}


# ----------------------------------------------------------------------------------------- numpy reference
def np_mode(t, mats):
    for k, m in enumerate(mats):
        t = np.moveaxis(np.tensordot(m, t, axes=([1], [k])), 0, k)
    return t


def np_outer(vs):
    return reduce(lambda a, b: np.multiply.outer(a, b), vs)


def np_kron_estep(factors, gammas, y, nv):
    Us, ps, Gs = [], [], []
    for H, g in zip(factors, gammas):
        HG = H * g
        p, U = np.linalg.eigh(HG @ H.conj().T)
        Us.append(U)
        ps.append(np.maximum(p, 0))
        Gs.append(HG.conj().T @ U)
    P = np_outer(ps)
    d = 1.0 / (nv + P)
    z = np_mode(y.reshape([f.shape[0] for f in factors]), [U.conj().T for U in Us])
    mean = np_mode(d * z, Gs).ravel()
    var = (np_outer(gammas) - np_mode(d, [np.abs(G) ** 2 for G in Gs])).ravel()
    return mean, var


def np_dense_estep(Phi, g, y, nv):
    S = (Phi * g) @ Phi.conj().T
    S[np.diag_indices_from(S)] += nv
    L = np.linalg.cholesky(S)
    alpha = sla.cho_solve((L, True), y)
    W = sla.solve_triangular(L, Phi, lower=True)
    return g * (Phi.conj().T @ alpha), g - g * g * np.sum(np.abs(W) ** 2, axis=0)


def np_prune(gs, masks, r):
    out = []
    for g, m in zip(gs, masks):
        k = m & (g >= r * g.max())
        out.append(k if k.any() else m)
    return out


def np_am_sweep(T, gs, masks):
    gs = [g.copy() for g in gs]
    I = len(gs)
    for i in range(I):
        ws = [np.where(m & (g > 0), 1.0 / np.where(m & (g > 0), g, 1.0), 0.0) for g, m in zip(gs, masks)]
        t = T
        for k in range(I - 1, -1, -1):
            if k != i:
                t = np.tensordot(t, ws[k], axes=([k], [0]))
        cnt = np.prod([m.sum() for k, m in enumerate(masks) if k != i])
        gs[i] = np.where(masks[i], t / max(cnt, 1), 0.0)
    s = 1.0
    for i in range(I - 1):
        n = np.linalg.norm(gs[i])
        if n > 0:
            gs[i] /= n
            s *= n
    gs[-1] *= s
    return gs


def np_kron_sbl(factors, y, nv, method, max_iter=150, tol=1e-4, am_tol=1e-5, am_max=1000):
    sizes = [f.shape[1] for f in factors]
    gs = [np.full(n, n ** -0.5) for n in sizes[:-1]] + [np.full(sizes[-1], np.prod(sizes[:-1]) ** 0.5)]
    masks = [np.ones(n, bool) for n in sizes]
    r = PRUNE[method]
    t = 0
    while t < max_iter:
        old = reduce(np.kron, gs)
        masks = np_prune(gs, masks, r)
        gs = [np.where(m, g, 0.0) for g, m in zip(gs, masks)]
        mean, var = np_kron_estep(factors, gs, y, nv)
        lam = np.where(reduce(np.kron, [m.astype(float) for m in masks]) > 0, np.maximum(var, 0) + np.abs(mean) ** 2, 0)
        if method == "svd":
            rest = lam
            new = []
            for k in range(len(sizes) - 1):
                U, s, Vh = np.linalg.svd(rest.reshape(sizes[k], -1), full_matrices=False)
                new.append(np.abs(U[:, 0]))
                rest = s[0] * np.abs(Vh[0])
            new.append(rest)
        else:
            T = lam.reshape(sizes)
            new = np_am_sweep(T, gs, masks)
            if method == "am":
                for _ in range(am_max - 1):
                    prev = reduce(np.kron, new)
                    new = np_am_sweep(T, new, masks)
                    if np.linalg.norm(reduce(np.kron, new) - prev) < am_tol * np.linalg.norm(prev):
                        break
        new = [np.where(m, g, 0.0) for g, m in zip(new, masks)]
        t += 1
        ch = np.linalg.norm(reduce(np.kron, new) - old) / np.linalg.norm(old)
        gs = new
        if ch < tol:
            break
    return np_kron_estep(factors, gs, y, nv)[0], t


def np_classic(Phi, y, nv, max_iter=150, tol=1e-4, r=1e-3):
    g = np.ones(Phi.shape[1])
    m = np.ones_like(g, bool)
    t = 0
    while t < max_iter:
        old = g
        m = np_prune([g], [m], r)[0]
        g = np.where(m, g, 0.0)
        mean, var = np_dense_estep(Phi, g, y, nv)
        new = np.where(m, np.maximum(var, 0) + np.abs(mean) ** 2, 0.0)
        t += 1
        ch = np.linalg.norm(new - old) / np.linalg.norm(old)
        g = new
        if ch < tol:
            break
    return np_dense_estep(Phi, g, y, nv)[0], t


# ----------------------------------------------------------------------------------------------- helpers
def nmse_db(a, b):
    return float(10 * np.log10(np.sum(np.abs(np.asarray(a) - b) ** 2) / np.sum(np.abs(b) ** 2)))


def main(argv=None):
    import jax
    import jax.numpy as jnp

    from sparsestat.datasets import make_kronecker_sparse
    from sparsestat.linalg import enable_x64
    from sparsestat.sbl import kron_sbl, sbl
    from sparsestat.sbl.posterior import dense_estep, kron_estep

    ap = argparse.ArgumentParser(prog="python -m benchmarks sbl")
    ap.add_argument("--quick", action="store_true", help="16x32 only, small batch")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="results/bench_sbl.md")
    ap.add_argument("--sizes", default="", help="comma-separated subset of 16x32,32x64,3f")
    ap.add_argument("--no-batch", action="store_true", help="skip K3")
    ap.add_argument("--classic-iters", type=int, default=5, help="classic iterations timed at the large sizes")
    ap.add_argument("--classic-full-iters", type=int, default=30)
    args = ap.parse_args(argv)
    sizes = ["16x32"] if args.quick else list(SIZES)
    if args.sizes:
        sizes = [s for s in SIZES if s.split()[0] in args.sizes.split(",") or s in args.sizes.split(",")]
    batch = min(args.batch, 50) if args.quick else args.batch
    rep = args.repeat
    lines = ["# sparsestat.sbl benchmark", "", f"Command: `python -m benchmarks sbl {' '.join(argv or [])}`".rstrip(),
             "", f"Machine: {machine_info()}", "",
             "Peer: a direct numpy/scipy implementation of the same rules in benchmarks/bench_sbl.py (classic "
             "EM-SBL with a Cholesky/Woodbury E-step; KroSBL with the factor-eigendecomposition E-step). Times are "
             "medians after a warm-up call (compile time in first_call_s); float64.", ""]
    summary = []

    def flush():
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out, "w") as fh:
            fh.write("\n".join(lines + ["## Summary so far (speed-up ratios, higher is better)", "",
                                         format_rows(summary), ""]))

    with enable_x64():
        for name in sizes:
            cfg = SIZES[name]
            p = make_kronecker_sparse(cfg["shapes"], cfg["k"], cfg["snr"], random_state=1)
            F = [np.asarray(f) for f in p.factors]
            H = reduce(np.kron, F)
            y, nv = p.y, float(p.noise_var)
            jF = [jnp.asarray(f) for f in F]
            jH = jnp.asarray(H)
            jy = jnp.asarray(y)
            print(f"\n== {name}: M={H.shape[0]}, N={H.shape[1]}")
            lines += [f"## {name} (M = {H.shape[0]}, N = {H.shape[1]}, K = {cfg['k']}, {cfg['snr']:g} dB)", ""]
            # K1: E-step alone
            gs = [np.abs(np.random.default_rng(0).standard_normal(f.shape[1])) for f in F]
            gfull = reduce(np.kron, gs)
            ke = jax.jit(lambda g: kron_estep(jF, g, jy, nv).mean)
            de = jax.jit(lambda g: dense_estep(jH, g, jy, nv).mean)
            jgs = [jnp.asarray(g) for g in gs]
            jgf = jnp.asarray(gfull)
            rows = compare(f"K1 E-step {name}", [
                Contender("sparsestat kron E-step", lambda: ke(jgs)),
                Contender("numpy kron E-step", lambda: np_kron_estep(F, gs, y, nv)[0]),
                Contender("sparsestat dense E-step", lambda: de(jgf)),
                Contender("numpy dense E-step", lambda: np_dense_estep(H, gfull, y, nv)[0]),
            ], repeat=rep)
            err = np.max(np.abs(np.asarray(rows and ke(jgs)) - np_dense_estep(H, gfull, y, nv)[0]))
            lines += ["### K1: E-step alone", "", format_rows(rows), "", f"max |kron - dense| = {err:.1e}", ""]
            med = {r["method"]: r["median_s"] for r in rows}
            summary.append({"size": name, "quantity": "E-step kron vs dense (sparsestat)",
                            "ratio": med["sparsestat dense E-step"] / med["sparsestat kron E-step"]})
            summary.append({"size": name, "quantity": "E-step kron vs dense (numpy)",
                            "ratio": med["numpy dense E-step"] / med["numpy kron E-step"]})
            # K2: end to end
            conts, info = [], {}
            for m in ("svd", "am", "ksbl"):
                conts.append(Contender(f"sparsestat {m}", (lambda m=m: kron_sbl(jF, jy, method=m, noise_var=nv))))
                conts.append(Contender(f"numpy {m}", (lambda m=m: np_kron_sbl(F, y, nv, m))))
            big = name != "16x32"
            # at the large sizes classic SBL costs seconds per iteration: time a fixed number of iterations
            # (tol = 0) and report the per-iteration cost; per-problem = per-iteration x iterations to converge
            ckw = dict(max_iter=args.classic_iters, tol=0.0) if big else {}
            conts.append(Contender("sparsestat classic", lambda: sbl(jH, jy, noise_var=nv, **ckw)))
            conts.append(Contender("numpy classic", lambda: np_classic(H, y, nv, **ckw)))
            rows = compare(f"K2 end to end {name}", conts, repeat=1 if big else rep)
            for c in conts:
                res = c.result
                coef, it = (res.coef, int(res.n_iter)) if hasattr(res, "coef") else res
                info[c.name] = (nmse_db(coef, p.coef), it)
            for r in rows:
                r["nmse_db"], r["n_iter"] = info[r["method"]]
                r["s_per_iter"] = r["median_s"] / max(r["n_iter"], 1)
            lines += [f"### K2: one problem end to end (repeats: {1 if big else rep})", "", format_rows(rows), ""]
            med = {r["method"]: r["median_s"] for r in rows}
            if big:
                for who in ("sparsestat classic", "numpy classic"):
                    med[who] = med[who] / args.classic_iters * args.classic_full_iters
                lines += [f"Classic rows ran {args.classic_iters} iterations (tol = 0); the ratios below use "
                          f"per-iteration time x {args.classic_full_iters} iterations (the classic iteration "
                          "count measured at 16x32, spec section 5.1: 30), an estimate.", ""]
            for m in ("svd", "am", "ksbl"):
                summary.append({"size": name, "quantity": f"{m} vs sparsestat classic",
                                "ratio": med["sparsestat classic"] / med[f"sparsestat {m}"]})
                summary.append({"size": name, "quantity": f"{m} vs numpy classic",
                                "ratio": med["numpy classic"] / med[f"sparsestat {m}"]})
                summary.append({"size": name, "quantity": f"{m}: sparsestat vs numpy same rules",
                                "ratio": med[f"numpy {m}"] / med[f"sparsestat {m}"]})
            flush()
        # K3: batch at 16x32
        cfg = SIZES["16x32"]
        for shared in (() if args.no_batch else (True, False)):
            pb = make_kronecker_sparse(cfg["shapes"], cfg["k"], cfg["snr"], n_problems=batch, shared_factors=shared,
                                       random_state=7)
            jF = [jnp.asarray(f) for f in pb.factors]
            jy = jnp.asarray(pb.y)
            jnv = jnp.asarray(pb.noise_var)
            nloop = min(batch, 200)

            def one_by_one():
                out = []
                for b in range(nloop):
                    fb = jF if shared else [f[b] for f in jF]
                    out.append(kron_sbl(fb, jy[b], noise_var=float(pb.noise_var[b])).coef)
                return out

            def numpy_loop():
                out = []
                for b in range(nloop):
                    fb = [np.asarray(f) for f in pb.factors] if shared else [f[b] for f in pb.factors]
                    out.append(np_kron_sbl(fb, pb.y[b], float(pb.noise_var[b]), "svd")[0])
                return out

            tag = "shared" if shared else "per-problem"
            rows = compare(f"K3 batch {batch} ({tag} factors) svd", [
                Contender(f"sparsestat batch of {batch} (default on CPU: 1 lane, in sequence)",
                          lambda: kron_sbl(jF, jy, noise_var=jnv)),
                Contender(f"sparsestat batch of {batch} (lane pool, 128 lanes)",
                          lambda: kron_sbl(jF, jy, noise_var=jnv, lanes=128)),
                Contender(f"sparsestat batch of {batch} (lock step, {batch} lanes)",
                          lambda: kron_sbl(jF, jy, noise_var=jnv, lanes=batch)),
                Contender(f"sparsestat loop of {nloop} jitted single calls", one_by_one),
                Contender(f"numpy loop of {nloop}", numpy_loop),
            ], repeat=max(1, rep - 1))
            ndev = os.cpu_count() or 1
            if ndev > 1:
                rows.append(_sharded_k3_row(rows[0], ndev, batch, shared, max(1, rep - 1)))
            for r in rows:
                n = nloop if "loop" in r["method"] else batch
                r["s_per_problem"] = r["median_s"] / n
            res = rows[0]
            bres = kron_sbl(jF, jy, noise_var=jnv)
            e = [nmse_db(np.asarray(bres.coef[b]), pb.coef[b]) for b in range(batch)]
            lines += [f"### K3: batch of {batch}, {tag} factors, SVD-KroSBL (loops timed on {nloop} problems)", "",
                      format_rows(rows), "",
                      f"batched mean NMSE {10 * np.log10(np.mean(10 ** (np.asarray(e) / 10))):.2f} dB, "
                      f"mean n_iter {float(np.mean(np.asarray(bres.n_iter))):.1f}", ""]
            per = {r["method"]: r["s_per_problem"] for r in rows}
            seq = [v for k, v in per.items() if "1 lane" in k][0]
            pool = [v for k, v in per.items() if "lane pool" in k][0]
            ls = [v for k, v in per.items() if "lock step" in k][0]
            lp = [v for k, v in per.items() if "jitted" in k][0]
            npl = [v for k, v in per.items() if "numpy" in k][0]
            summary.append({"size": "16x32", "quantity": f"batch (default) vs jitted loop ({tag})", "ratio": lp / seq})
            shd = [v for k, v in per.items() if "host devices" in k]
            if shd:
                summary.append({"size": "16x32", "quantity": f"batch on {ndev} host devices vs jitted loop ({tag})",
                                "ratio": lp / shd[0]})
            summary.append({"size": "16x32", "quantity": f"batch (default) vs numpy loop ({tag})", "ratio": npl / seq})
            summary.append({"size": "16x32", "quantity": f"batch: 1 lane vs 128-lane pool ({tag})", "ratio": pool / seq})
            summary.append({"size": "16x32", "quantity": f"batch: 128-lane pool vs lock step ({tag})", "ratio": ls / pool})
            flush()
    lines += ["## Summary (speed-up ratios, higher is better)", "", format_rows(summary), ""]
    text = "\n".join(lines)
    print("\n" + format_rows(summary))
    with open(args.out, "w") as fh:
        fh.write(text)
    print(f"wrote {args.out}")
    return 0
