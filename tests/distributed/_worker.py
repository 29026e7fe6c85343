"""One process of a distributed test job (started by ``sparsestat launch``).

``python _worker.py OUT.json [WORKLOAD ...]``: every process joins the job, runs each workload on its
own block of the data (process 0 holds more than process 1: the blocks are unequal on purpose) and
then process 0 runs, on the whole concatenated data, the same call without ``distributed``. Process 0
writes, per workload, the largest relative difference between the two and whether every process ended
with the same full result. The pytest side (test_multiprocess.py) reads the file and holds the
differences to 1e-10.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import warnings

import jax
import numpy as np

import sparsestat.distributed as dist
from sparsestat.linalg.precision import enable_x64

WORKLOADS = {}


def workload(fn):
    WORKLOADS[fn.__name__] = fn
    return fn


def split(n):
    """This process's [lo, hi) of n items: process 0 takes one more than an even share."""
    P, k = dist.process_count(), dist.process_index()
    base = n // P
    sizes = [base] * P
    sizes[0] += n - base * P
    if P > 1 and sizes[-1] > 1:
        sizes[0] += 1
        sizes[-1] -= 1
    lo = sum(sizes[:k])
    return lo, lo + sizes[k]


def flat(tree):
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(tree)]


def rel_diff(a, b):
    a, b = flat(a), flat(b)
    if len(a) != len(b):
        return float("inf")
    worst = 0.0
    for x, y in zip(a, b):
        if x.shape != y.shape:
            return float("inf")
        if x.dtype.kind in "biu":
            worst = max(worst, float(np.max(x != y)) if x.size else 0.0)
            continue
        scale = max(1.0, float(np.max(np.abs(y))) if y.size else 1.0)
        worst = max(worst, float(np.max(np.abs(x - y))) / scale if x.size else 0.0)
    return worst


@workload
def kron_sbl_batch():
    from sparsestat.datasets import make_kronecker_sparse
    from sparsestat.sbl import kron_sbl

    p = make_kronecker_sparse([(4, 6), (4, 6)], [2, 2], 20.0, n_problems=5, shared_factors=True, random_state=0)
    factors, Y = p.factors, np.asarray(p.y)
    lo, hi = split(len(Y))
    got = kron_sbl(factors, Y[lo:hi], distributed=True)
    ref = reference(lambda: kron_sbl(factors, Y))
    return got, ref


@workload
def kron_sbl_global_array():
    """A global jax.Array of problems (equal blocks, one per process) instead of local numpy blocks."""
    from sparsestat.datasets import make_kronecker_sparse
    from sparsestat.sbl import kron_sbl

    P = dist.process_count()
    p = make_kronecker_sparse([(4, 6), (4, 6)], [2, 2], 20.0, n_problems=2 * P, shared_factors=True,
                              random_state=1)
    Y = np.asarray(p.y, np.float32)
    k = dist.process_index()
    y_global = dist.global_array(Y[2 * k:2 * k + 2])
    assert y_global.shape == Y.shape
    got = kron_sbl(p.factors, y_global, distributed=True)
    ref = reference(lambda: kron_sbl(p.factors, Y))
    return got, ref


@workload
def sbl_batch():
    from sparsestat.sbl import sbl

    rng = np.random.default_rng(0)
    B, M, N = 5, 12, 20
    Phi = rng.standard_normal((B, M, N))
    X = np.zeros((B, N))
    X[:, [2, 7]] = rng.standard_normal((B, 2))
    Y = np.einsum("bmn,bn->bm", Phi, X) + 0.01 * rng.standard_normal((B, M))
    lo, hi = split(B)
    got = sbl(Phi[lo:hi], Y[lo:hi], distributed=True)
    ref = reference(lambda: sbl(Phi, Y))
    return got, ref


@workload
def mcmc_chains():
    import jax.numpy as jnp

    from sparsestat.mcmc import sample

    def logdensity(q):
        return -0.5 * jnp.sum((q - 1.0) ** 2 / jnp.arange(1.0, 4.0)) - 0.1 * jnp.sum(q ** 4)

    C = 4
    starts = np.random.default_rng(3).standard_normal((C, 3))
    lo, hi = split(C)
    kw = dict(kernel="agess", num_samples=64, num_warmup=64, rng_key=jax.random.PRNGKey(7), progress_bar=False)
    with enable_x64():
        got = sample(logdensity, starts[lo:hi], num_chains=hi - lo, distributed=True, **kw)
        ref = reference(lambda: sample(logdensity, starts, num_chains=C, **kw))
    pick = lambda r: (r.samples, r.logdensity, r.num_evals, r.move_type, r.warmup_num_evals,  # noqa: E731
                      r.diagnostics["rhat"], r.diagnostics["ess"])
    return pick(got), ref and pick(ref)


def _ldp_data(n=3000, d=4):
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, (n, d))
    w = np.zeros(d)
    w[[0, 2]] = [0.8, -0.5]
    return X, X @ w + 0.1 * rng.standard_normal(n)


def _fit_both(make, X, y):
    lo, hi = split(X.shape[0])
    got = make(distributed=True).fit(X[lo:hi], y[lo:hi])
    ref = reference(lambda: make(distributed=False).fit(X, y))
    pick = lambda e: (e.coef_, {k: v for k, v in e.statistics_.items() if v is not None})  # noqa: E731
    return pick(got), ref and pick(ref)


@workload
def ldp_nldp():
    from sparsestat.privacy import LDPSparseRegression

    X, y = _ldp_data()
    return _fit_both(lambda **kw: LDPSparseRegression(4.0, x_clip_l2=2.0, x_clip=1.0, y_clip=2.0, lam=0.05,
                                                      random_state=11, **kw), X, y)


@workload
def new_values_compile_nothing():
    """A distributed fit with a new epsilon (LDP) or alpha (solve_batch) compiles nothing on any process,
    the collectives included: each process reports its count, every count must be 0."""
    import os

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from sparsestat.privacy import LDPSparseRegression
    from sparsestat.regression import L1, Quadratic, solve_batch
    from tests._compiles import count_compiles

    X, y = _ldp_data()
    lo, hi = split(X.shape[0])
    Xr, _ = _regression_data()
    Y = np.random.default_rng(2).standard_normal((5, Xr.shape[0]))
    plo, phi = split(5)

    def fits(eps, alpha):
        LDPSparseRegression(eps, x_clip_l2=2.0, x_clip=1.0, y_clip=2.0, lam=0.05, random_state=11,
                            distributed=True).fit(X[lo:hi], y[lo:hi])
        with enable_x64():
            solve_batch(Xr, Y[plo:phi], Quadratic(), L1(np.full(phi - plo, alpha)), distributed=True)

    fits(4.0, 0.1)                              # compiles the shapes
    with count_compiles() as c:
        fits(2.5, 0.07)
        fits(7.0, 0.2)
    counts = dist.allgather_blocks(np.array([c.n]), "the compile counts")
    return counts.astype(float), np.zeros_like(counts, dtype=float)


@workload
def ldp_nldp_public():
    from sparsestat.privacy import LDPSparseRegression

    X, y = _ldp_data()
    pub = np.random.default_rng(9).uniform(-1, 1, (50, X.shape[1]))
    return _fit_both(lambda **kw: LDPSparseRegression(4.0, x_clip=1.0, y_clip=2.0, public_X=pub,
                                                      threshold="topk", n_nonzero_coefs=2, random_state=3, **kw),
                     X, y)


@workload
def ldp_iht():
    from sparsestat.privacy import InteractiveLDPSparseRegression

    X, y = _ldp_data()
    return _fit_both(lambda **kw: InteractiveLDPSparseRegression(4.0, n_nonzero_coefs=2, n_rounds=3, x_clip=1.0,
                                                                 y_clip=2.0, random_state=2, **kw), X, y)


@workload
def ldp_stream():
    from sparsestat.privacy.aggregation import stream_nldp

    X, y = _ldp_data(5000, 3)
    lo, hi = split(X.shape[0])
    kw = dict(epsilon=2.0, delta=1e-6, x_clip_l2=1.8, x_clip=1.0, y_clip=2.0, chunk_size=512)
    key = jax.random.PRNGKey(4)
    with enable_x64():
        # this process's users arrive in pieces of 700 (not a multiple of the chunk)
        pieces = ((X[s:min(s + 700, hi)], y[s:min(s + 700, hi)]) for s in range(lo, hi, 700))
        got = stream_nldp(key, pieces, 3, distributed=True, local_users=hi - lo, **kw)
        ref = reference(lambda: stream_nldp(key, [(X, y)], 3, **kw))
    return tuple(got), ref and tuple(ref)


def _regression_data(n=60, p=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:4] = [2.0, -1.5, 1.0, 0.5]
    return X, X @ w + 0.3 * rng.standard_normal(n)


@workload
def solve_batch_problems():
    from sparsestat.regression import L1, Quadratic, solve_batch

    X, _ = _regression_data()
    rng = np.random.default_rng(1)
    T = 5
    Y = X[:, :3] @ rng.standard_normal((3, T)) + 0.1 * rng.standard_normal((X.shape[0], T))
    Y = Y.T
    alphas = np.linspace(0.05, 0.3, T)
    lo, hi = split(T)
    with enable_x64():
        got = solve_batch(X, Y[lo:hi], Quadratic(), L1(alphas[lo:hi]), tol=1e-12, distributed=True)
        ref = reference(lambda: solve_batch(X, Y, Quadratic(), L1(alphas), tol=1e-12))
    return (got.coef, got.intercept), ref and (ref.coef, ref.intercept)


@workload
def lasso_cv_folds():
    from sparsestat.regression import LassoCV

    X, y = _regression_data(80, 40)
    return _cv_both(lambda **kw: LassoCV(alphas=10, cv=5, tol=1e-10, **kw), X, y)   # 5 folds: 3 + 2


@workload
def enet_cv_ratios():
    """Several l1_ratios: the (l1_ratio, fold) paths are spread over the processes."""
    from sparsestat.regression import ElasticNetCV

    X, y = _regression_data(80, 40)
    return _cv_both(lambda **kw: ElasticNetCV(l1_ratio=[0.5, 0.9], alphas=5, cv=3, tol=1e-10, **kw), X, y)


def _cv_both(make, X, y):
    lo, hi = split(X.shape[0])
    pick = lambda e: (e.mse_path_, e.alpha_, e.coef_, e.intercept_)  # noqa: E731
    got = make(distributed=True).fit(X[lo:hi], y[lo:hi])
    ref = reference(lambda: make().fit(X, y))
    return pick(got), ref and pick(ref)


def reference(fn):
    """The one-process run, on process 0 only (the others would only repeat it)."""
    return fn() if dist.process_index() == 0 else None


def main(argv):
    out_path, names = argv[0], argv[1:] or list(WORKLOADS)
    dist.initialize()
    report = {"process_count": dist.process_count()}
    for name in names:
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got, ref = WORKLOADS[name]()
            # every process must hold the same full result: compare against process 0's
            mine = np.concatenate([a.ravel().astype(np.complex128) for a in flat(got)]) if flat(got) else np.zeros(0)
            all_same = dist.allgather_blocks(mine[None, :], "the results")
            same = bool(np.all(all_same == all_same[:1]))
            report[name] = {"rel_diff": rel_diff(got, ref) if dist.process_index() == 0 else None,
                            "same_on_all": same,
                            "seconds": round(time.perf_counter() - t0, 2)}
        except Exception:
            report[name] = {"error": traceback.format_exc()}
    if dist.process_index() == 0:
        with open(out_path, "w") as f:
            json.dump(report, f, indent=1)
    print(json.dumps({k: v for k, v in report.items()}, default=str)[:2000])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
