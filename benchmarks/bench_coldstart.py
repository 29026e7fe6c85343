"""Cold start: what a user waits for in a fresh Python process.

``python -m benchmarks coldstart [--cases a,b] [--repeat 1] [--out FILE]``

For each estimator and main functional call, in fresh subprocesses:

- ``import_s``: ``import sparsestat.<module>`` (and jax) in a new interpreter;
- ``cold_s``: the first call with an empty persistent compilation cache (everything compiles);
- ``warm_s``: the first call of a new process whose cache holds the programs (the cold run's);
- ``new_value_s``: in that process, a second call with a new hyperparameter value, and the number of
  programs it compiled (``new_value_compiles``: the target is 0);
- ``new_shape_s``: then a call on data of a slightly different shape (regression: in the same shape
  bucket; sbl, GEMSS: their shapes are not padded, so this compiles; mcmc: a new dataset of another
  size closed over by the same log-density code), with its count.

Peers in fresh processes too: scikit-learn's Lasso, LassoCV and LogisticRegression(l1, liblinear), and
skglm's Lasso (numba compiles on first call; it caches to disk when asked to, which skglm does not), when
installed. Every subprocess runs on data generated in the subprocess, outside the timed region.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import json, time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
{imports}
import_s = time.perf_counter() - t0
import numpy as np
import jax.monitoring as _mon
_n = [0]
_mon.register_event_duration_secs_listener(
    lambda e, d, **k: _n.__setitem__(0, _n[0] + (e == "/jax/core/compile/jaxpr_to_mlir_module_duration")))
rng = np.random.default_rng(0)
def data(n, p):
    X = rng.standard_normal((n, p)); w = np.zeros(p); w[:10] = rng.choice([-1.0, 1.0], 10) * rng.uniform(1, 2, 10)
    return X, X @ w + 0.5 * rng.standard_normal(n)
{setup}
def timed(fn):
    c0 = _n[0]; t = time.perf_counter(); fn(); return time.perf_counter() - t, _n[0] - c0
first = timed(lambda: {first})
out = {{"import_s": import_s, "first_s": first[0], "first_compiles": first[1]}}
if {with_more}:
    v = timed(lambda: {second}); s = timed(lambda: {new_shape})
    out.update(new_value_s=v[0], new_value_compiles=v[1], new_shape_s=s[0], new_shape_compiles=s[1])
print(json.dumps(out))
"""

# name: (imports, setup, first call, call with a new hyperparameter value, call with a new shape)
CASES = {
    "Lasso": ("from sparsestat.regression import Lasso",
              "X, y = data(200, 500); X2, y2 = data(201, 507)",
              "Lasso(alpha=0.1).fit(X, y)", "Lasso(alpha=0.05).fit(X, y)", "Lasso(alpha=0.1).fit(X2, y2)"),
    "ElasticNet": ("from sparsestat.regression import ElasticNet",
                   "X, y = data(200, 500); X2, y2 = data(201, 507)",
                   "ElasticNet(alpha=0.1, l1_ratio=0.5).fit(X, y)", "ElasticNet(alpha=0.05, l1_ratio=0.7).fit(X, y)",
                   "ElasticNet(alpha=0.1, l1_ratio=0.5).fit(X2, y2)"),
    "LassoCV": ("from sparsestat.regression import LassoCV",
                "X, y = data(200, 500); X2, y2 = data(201, 507)",
                "LassoCV(cv=5).fit(X, y)", "LassoCV(cv=5, eps=2e-3).fit(X, y)", "LassoCV(cv=5).fit(X2, y2)"),
    "SparseLogisticRegression": (
        "from sparsestat.regression import SparseLogisticRegression",
        "X, y = data(200, 500); X2, y2 = data(201, 507); y = y > 0; y2 = y2 > 0",
        "SparseLogisticRegression(alpha=0.02).fit(X, y)", "SparseLogisticRegression(alpha=0.01).fit(X, y)",
        "SparseLogisticRegression(alpha=0.02).fit(X2, y2)"),
    # scipy.sparse CSC, 10 000 x 50 000 at 0.1 % density (the sparse design of bench_regression), alpha_max / 20
    "Lasso-sparse": ("from sparsestat.regression import Lasso",
                     "import scipy.sparse as sp\n"
                     "def sdata(n, p):\n"
                     "    k = n * p // 1000\n"
                     "    X = sp.csc_matrix((rng.standard_normal(k), (rng.integers(0, n, k), rng.integers(0, p, k))),"
                     " shape=(n, p))\n"
                     "    w = np.zeros(p); w[:20] = 2.0\n"
                     "    return X, X @ w + 0.1 * rng.standard_normal(n)\n"
                     "X, y = sdata(10000, 50000); X2, y2 = sdata(10000, 50003)\n"
                     "a = np.max(np.abs(X.T @ y)) / 10000 / 20",
                     "Lasso(alpha=a).fit(X, y)", "Lasso(alpha=0.8 * a).fit(X, y)", "Lasso(alpha=a).fit(X2, y2)"),
    "L0Regression": ("from sparsestat.regression import L0Regression",
                     "X, y = data(200, 500); X2, y2 = data(201, 507)",
                     "L0Regression(n_nonzero_coefs=10).fit(X, y)", "L0Regression(n_nonzero_coefs=12).fit(X, y)",
                     "L0Regression(n_nonzero_coefs=10).fit(X2, y2)"),
    "LDPSparseRegression": (
        "from sparsestat.privacy import LDPSparseRegression",
        "X, y = data(20000, 20); X2, y2 = data(20100, 20); X, X2 = np.clip(X, -3, 3), np.clip(X2, -3, 3)\n"
        "kw = dict(x_clip_l2=3 * 20 ** 0.5, x_clip=3.0, y_clip=10.0, random_state=0)",
        "LDPSparseRegression(4.0, **kw).fit(X, y)", "LDPSparseRegression(2.0, delta=1e-6, **kw).fit(X, y)",
        "LDPSparseRegression(4.0, **kw).fit(X2, y2)"),
    "SBLRegression": ("from sparsestat.sbl import SBLRegression",
                      "X, y = data(100, 200); X2, y2 = data(101, 200)",
                      "SBLRegression().fit(X, y)", "SBLRegression(tol=1e-5).fit(X, y)", "SBLRegression().fit(X2, y2)"),
    "kron_sbl": ("from sparsestat.sbl import kron_sbl\nfrom sparsestat.datasets import make_kronecker_sparse",
                 "prob = make_kronecker_sparse([(16, 32), (16, 32)], (3, 3), snr_db=20, random_state=0)\n"
                 "prob2 = make_kronecker_sparse([(16, 32), (15, 32)], (3, 3), snr_db=20, random_state=1)",
                 "kron_sbl(prob.factors, prob.y)", "kron_sbl(prob.factors, prob.y, tol=1e-5, coupling=0.7)",
                 "kron_sbl(prob2.factors, prob2.y)"),
    "mcmc.sample": ("import jax, jax.numpy as jnp\nfrom sparsestat import mcmc",
                    "A = jnp.asarray(rng.standard_normal((50, 10))); b = jnp.asarray(rng.integers(0, 2, 50) * 2.0 - 1)\n"
                    "def make(A, b): return lambda x: -jnp.sum(jnp.logaddexp(0.0, -b * (A @ x))) - 0.5 * jnp.sum(x ** 2)\n"
                    "logp = make(A, b); A2 = jnp.asarray(rng.standard_normal((60, 10))); logp2 = make(A2, jnp.ones(60))\n"
                    "kw = dict(num_samples=500, num_warmup=500, num_chains=4, progress_bar=False)",
                    "mcmc.sample(logp, jnp.zeros(10), rng_key=jax.random.key(0), **kw)",
                    "mcmc.sample(logp, jnp.zeros(10), rng_key=jax.random.key(1), epsilon=0.2, nu=3.0, **kw)",
                    "mcmc.sample(logp2, jnp.zeros(10), rng_key=jax.random.key(2), **kw)"),
    "GEMSS": ("from sparsestat.gemss import GEMSS",
              "X, y = data(100, 40); X2, y2 = data(101, 40)",
              "GEMSS(n_components=4, sparsity=3, n_iter=1000, random_state=0).fit(X, y)",
              "GEMSS(n_components=4, sparsity=3, n_iter=1000, lr=1e-2, lambda_jaccard=5.0, random_state=0).fit(X, y)",
              "GEMSS(n_components=4, sparsity=3, n_iter=1000, random_state=0).fit(X2, y2)"),
}

PEERS = {
    "sklearn Lasso": ("from sklearn.linear_model import Lasso", "X, y = data(200, 500)",
                      "Lasso(alpha=0.1).fit(X, y)"),
    "sklearn LassoCV": ("from sklearn.linear_model import LassoCV", "X, y = data(200, 500)",
                        "LassoCV(cv=5).fit(X, y)"),
    "sklearn LogisticRegression(l1)": (
        "from sklearn.linear_model import LogisticRegression", "X, y = data(200, 500); y = y > 0",
        "LogisticRegression(penalty='l1', solver='liblinear', C=1 / (200 * 0.02)).fit(X, y)"),
    "skglm Lasso": ("from skglm import Lasso", "X, y = data(200, 500)", "Lasso(alpha=0.1).fit(X, y)"),
}


def _run(imports, setup, first, second=None, new_shape=None, cache=None):
    code = PRELUDE.format(imports=imports, setup=setup, first=first, second=second or "None",
                          new_shape=new_shape or "None", with_more=bool(second))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env["SPARSESTAT_CACHE_DIR"] = cache or "off"
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          timeout=1800)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1][:120]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt(x, digits=3):
    return "-" if x is None else (f"{x:.{digits}f}" if isinstance(x, float) else str(x))


def main(argv=None):
    from benchmarks._timing import machine_info

    ap = argparse.ArgumentParser(prog="python -m benchmarks coldstart")
    ap.add_argument("--cases", default="", help="comma-separated subset of: " + ", ".join(CASES))
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--out", default="results/bench_coldstart.md")
    args = ap.parse_args(argv)
    names = [c for c in CASES if not args.cases or c in args.cases.split(",")]
    rows = []
    for name in names:
        imports, setup, first, second, new_shape = CASES[name]
        with tempfile.TemporaryDirectory(prefix="sparsestat-coldstart-") as d:
            cold = _run(imports, setup, first, cache=d)
            warm = _run(imports, setup, first, second, new_shape, cache=d)
        row = {"call": name, "import_s": warm.get("import_s"), "cold_s": cold.get("first_s"),
               "cold_compiles": cold.get("first_compiles"), "warm_s": warm.get("first_s"),
               "new_value_s": warm.get("new_value_s"), "new_value_compiles": warm.get("new_value_compiles"),
               "new_shape_s": warm.get("new_shape_s"), "new_shape_compiles": warm.get("new_shape_compiles"),
               "error": cold.get("error") or warm.get("error")}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if not args.no_peers:
        for name, (imports, setup, first) in PEERS.items():
            a = _run(imports, setup, first)
            b = _run(imports, setup, first)
            rows.append({"call": name, "import_s": a.get("import_s"), "cold_s": a.get("first_s"),
                         "warm_s": b.get("first_s"), "error": a.get("error")})
            print(json.dumps(rows[-1]), flush=True)
    cols = ["call", "import_s", "cold_s", "cold_compiles", "warm_s", "new_value_s", "new_value_compiles",
            "new_shape_s", "new_shape_compiles"]
    lines = ["# Cold start", "", f"Command: `python -m benchmarks coldstart {' '.join(argv or [])}`".rstrip(), "",
             f"Machine: {machine_info()}", "",
             "Fresh process per column group: `cold` with an empty persistent cache, `warm` a new process on the "
             "cache the cold run filled; `new_value` and `new_shape` follow `warm` in the same process. Peers: two "
             "fresh processes (cold = first, warm = second: OS file cache warm). Seconds; compiles = programs "
             "lowered.", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [_fmt(r.get(c)) if c != "call" else r["call"] + (f" (error: {r['error']})" if r.get("error") else "")
                 for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
