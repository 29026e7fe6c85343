"""L1/L3: throughput (users/s) of per-user LDP release + streamed aggregation, sparsestat (JAX) vs a numpy
reference implementing the same protocol (spec ldp.md §5.5), and peak memory vs n.

Each configuration runs in its own subprocess so its peak RSS is its own. Data generation is excluded
for both (one fixed chunk of users is re-released with fresh per-user noise); compile time is reported
separately (the first chunk). The numpy reference runs at <= its ``--np-users`` and is compared in users/s.

    python -m benchmarks privacy                 # the default grid (about 10 minutes on 2 cores)
    python -m benchmarks privacy --one jax public 50 1000000 4096 float32
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

GRID = [
    # (path, d, jax users list, numpy users)
    ("public", 50, [1_000_000, 10_000_000], 1_000_000),
    ("public", 200, [1_000_000, 10_000_000], 300_000),
    ("private", 50, [200_000, 1_000_000], 100_000),
    ("private", 200, [20_000, 100_000], 10_000),
]
CHUNK = {("public", 50): 8192, ("public", 200): 4096, ("private", 50): 2048, ("private", 200): 256}


def _bounds(d):
    return 3.0, 3.0 * np.sqrt(1.25), np.sqrt(d) + 2.5


def run_numpy(path, d, n, chunk):
    """numpy reference: per chunk, clip, outer products, fresh Gaussian noise per user, sum (float64)."""
    from sparsestat.privacy import calibration as calib

    tx, ty, r = _bounds(d)
    cal = calib.nldp_calibration(d, epsilon=1.0, delta=1e-5, x_clip_l2=None if path == "public" else r,
                                 x_clip=tx, y_clip=ty, public_covariance=path == "public")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((chunk, d))
    y = rng.standard_normal(chunk)
    iu = np.triu_indices(d)
    acc_xy = np.zeros(d)
    acc_cov = np.zeros(len(iu[0]))
    t0 = time.perf_counter()
    done = 0
    while done < n:
        m = min(chunk, n - done)
        xt = np.clip(X[:m], -tx, tx)
        yt = np.clip(y[:m], -ty, ty)
        w = xt * yt[:, None] + cal.scale_xy * rng.standard_normal((m, d))
        acc_xy += w.sum(0)
        if path == "private":
            nrm = np.linalg.norm(X[:m], axis=1, keepdims=True)
            xb = X[:m] * np.minimum(1.0, r / np.maximum(nrm, 1e-300))
            Z = xb[:, iu[0]] * xb[:, iu[1]] + cal.scale_cov * rng.standard_normal((m, len(iu[0])))
            acc_cov += Z.sum(0)
        done += m
    return time.perf_counter() - t0, float("nan")


def run_jax(path, d, n, chunk, dtype):
    import jax

    from sparsestat.linalg import enable_x64
    from sparsestat.privacy import aggregation as agg

    tx, ty, r = _bounds(d)
    with enable_x64(dtype == "float64"):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((chunk, d)).astype(dtype)
        y = rng.standard_normal(chunk).astype(dtype)
        kw = dict(epsilon=1.0, delta=1e-5, x_clip_l2=None if path == "public" else r, x_clip=tx, y_clip=ty,
                  public_covariance=path == "public", chunk_size=chunk, dtype=dtype)
        key = jax.random.PRNGKey(0)
        t0 = time.perf_counter()
        jax.block_until_ready(agg.stream_nldp(key, [(X, y)], d, **kw))  # compile + one chunk
        compile_s = time.perf_counter() - t0
        n_chunks = max(1, n // chunk)

        def chunks():
            for _ in range(n_chunks):
                yield X, y

        t0 = time.perf_counter()
        s = agg.stream_nldp(key, chunks(), d, **kw)
        jax.block_until_ready(s)
        return time.perf_counter() - t0, compile_s, n_chunks * chunk


def one(argv):
    impl, path, d, n, chunk, dtype = argv[0], argv[1], int(argv[2]), int(argv[3]), int(argv[4]), argv[5]
    from benchmarks._timing import peak_rss_mb

    if impl == "numpy":
        t, c = run_numpy(path, d, n, chunk)
        users = n
    else:
        t, c, users = run_jax(path, d, n, chunk, dtype)
    print(json.dumps(dict(impl=impl, path=path, d=d, n=users, chunk=chunk, dtype=dtype, seconds=t,
                          compile_s=c, users_per_s=users / t, peak_rss_mb=peak_rss_mb())))


def main(argv=()):
    argv = list(argv)
    if argv and argv[0] == "--one":
        one(argv[1:])
        return 0
    from benchmarks._timing import machine_info

    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    rows = []
    only = set(argv)
    for path, d, jax_ns, np_n in GRID:
        if only and f"{path}{d}" not in only:
            continue
        chunk = CHUNK[(path, d)]
        jobs = [("numpy", np_n, "float64")] + [("jax", n, dt) for n in jax_ns for dt in ("float32", "float64")]
        for impl, n, dt in jobs:
            if impl == "jax" and dt == "float32" and n != jax_ns[0]:
                continue  # float32 at the first size only (time budget)
            out = subprocess.run([sys.executable, "-m", "benchmarks", "privacy", "--one", impl, path, str(d), str(n),
                                  str(chunk), dt], capture_output=True, text=True, env=env, cwd=root)
            if out.returncode:
                print(out.stderr[-2000:], file=sys.stderr)
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), flush=True)
    ref = {(r["path"], r["d"]): r["users_per_s"] for r in rows if r["impl"] == "numpy"}
    print("\nmachine:", machine_info())
    print("| path | d | impl | dtype | users | chunk | users/s | ratio vs numpy | compile s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = r["users_per_s"] / ref.get((r["path"], r["d"]), float("nan"))
        print(f"| {r['path']} | {r['d']} | {r['impl']} | {r['dtype']} | {r['n']:.0e} | {r['chunk']} | "
              f"{r['users_per_s']:.3g} | {ratio:.2f} | {r['compile_s']:.2f} | {r['peak_rss_mb']:.0f} |")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
