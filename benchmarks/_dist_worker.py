"""One process of ``python -m benchmarks distributed`` (started by ``sparsestat launch``).

``python -m benchmarks._dist_worker WORKLOAD SIZE OUT.json``: joins the job, builds the whole workload
from a fixed seed, keeps this process's block, runs the distributed call once (compilation) and then
``repeat`` times between barriers; process 0 writes the timings. ``ldp-stream N D OUT.json``: one run
of N users at d = D, each process generating and streaming its own users chunk by chunk, with its
time and peak memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings

import numpy as np

import sparsestat.distributed as dist
from sparsestat.linalg.precision import enable_x64


def _block(n):
    P, k = dist.process_count(), dist.process_index()
    cuts = np.linspace(0, n, P + 1).round().astype(int)
    return cuts[k], cuts[k + 1]


def sbl_job(size):
    from sparsestat.datasets import make_kronecker_sparse
    from sparsestat.sbl import kron_sbl

    B = int(size)
    p = make_kronecker_sparse([(8, 16), (8, 16)], [2, 2], 20.0, n_problems=B, shared_factors=True, random_state=0)
    lo, hi = _block(B)
    y, nv = np.asarray(p.y)[lo:hi], np.asarray(p.noise_var)[lo:hi]
    return lambda: kron_sbl(p.factors, y, noise_var=nv, distributed=True), f"{B} KroSBL problems 64 x 256"


def mcmc_job(size):
    import jax
    import jax.numpy as jnp

    from sparsestat.mcmc import sample

    C = int(size)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 10))
    y = (X @ rng.standard_normal(10) + rng.standard_normal(200) > 0).astype(float)

    def logpost(b, X, y):
        z = X @ b
        return jnp.sum(y * z - jnp.logaddexp(0.0, z)) - 0.5 * jnp.sum(b * b)

    starts = 0.1 * rng.standard_normal((C, 10))
    lo, hi = _block(C)

    def run():
        with enable_x64():
            return sample(logpost, starts[lo:hi], num_chains=hi - lo, num_warmup=1000, num_samples=1000,
                          rng_key=jax.random.PRNGKey(0), logdensity_args=(X, y), progress_bar=False,
                          distributed=True)

    return run, f"{C} AGESS chains x 2000 iterations, logistic posterior P = 10"


def ldp_job(size):
    from sparsestat.privacy import LDPSparseRegression

    n = int(float(size))
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (n, 10))
    y = X[:, :2].sum(axis=1) + 0.1 * rng.standard_normal(n)
    lo, hi = _block(n)
    Xl, yl = X[lo:hi], y[lo:hi]
    est = LDPSparseRegression(4.0, x_clip_l2=3.2, x_clip=1.0, y_clip=2.0, lam=0.1, random_state=0, distributed=True)
    return lambda: est.fit(Xl, yl), f"{n:.0e} users, d = 10, private covariance (release + aggregation)"


def lassocv_job(size):
    from sparsestat.regression import LassoCV

    n, p, K = (int(v) for v in size.split("x"))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:10] = rng.standard_normal(10)
    y = X @ w + 0.5 * rng.standard_normal(n)
    lo, hi = _block(n)
    est = LassoCV(cv=K, alphas=100, distributed=True)
    return lambda: est.fit(X[lo:hi], y[lo:hi]), f"LassoCV {n} x {p}, {K} folds x 100 alphas"


JOBS = {"sbl": sbl_job, "mcmc": mcmc_job, "ldp": ldp_job, "lassocv": lassocv_job}


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_job(name, size, out, repeat=3):
    fn, what = JOBS[name](size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dist.block_sizes(1)                       # barrier
        t0 = time.perf_counter()
        fn()
        first = time.perf_counter() - t0
        times = []
        for _ in range(repeat):
            dist.block_sizes(1)
            t0 = time.perf_counter()
            fn()
            dist.block_sizes(1)                   # the slowest process sets the time
            times.append(time.perf_counter() - t0)
    if dist.process_index() == 0:
        with open(out, "w") as f:
            json.dump({"what": what, "first": first, "times": times, "processes": dist.process_count()}, f)


def run_ldp_stream(n, d, out, chunk=1 << 16):
    """n users at d, each process generating its own users chunk by chunk (never all in memory)."""
    from sparsestat.privacy.aggregation import stream_nldp

    n = int(float(n))
    d = int(d)
    lo, hi = _block(n)
    w = np.zeros(d)
    w[:2] = [0.6, -0.4]

    def chunks():
        for s in range(lo, hi, chunk):
            m = min(chunk, hi - s)
            rng = np.random.default_rng([7, s])          # users' data, keyed by their global position
            x = rng.uniform(-1, 1, (m, d))
            yield x, x @ w + 0.1 * rng.standard_normal(m)

    import jax

    dist.block_sizes(1)
    t0 = time.perf_counter()
    with enable_x64():
        sums = stream_nldp(jax.random.PRNGKey(0), chunks(), d, epsilon=4.0, delta=1e-9, x_clip_l2=float(np.sqrt(d)),
                           x_clip=1.0, y_clip=2.0, chunk_size=chunk, distributed=True, local_users=hi - lo)
    elapsed = time.perf_counter() - t0
    mine = np.array([[elapsed, _peak_mb()]])
    both = dist.allgather_blocks(mine, "the timings")
    if dist.process_index() == 0:
        with open(out, "w") as f:
            json.dump({"users": n, "d": d, "processes": dist.process_count(), "seconds": both[:, 0].tolist(),
                       "peak_rss_mb": both[:, 1].tolist(), "n_users_summed": float(sums.n_users)}, f)


def main(argv):
    dist.initialize()
    if argv[0] == "ldp-stream":
        run_ldp_stream(argv[1], argv[2], argv[3])
    else:
        run_job(argv[0], argv[1], argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
