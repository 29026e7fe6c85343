"""Working-set buckets at small sizes: one bucket of size p (p <= 512 padded, the default: a new alpha
never compiles a second round) against the power-of-two ladder (fewer products per round, a new bucket
compiles). ``python -m benchmarks buckets [--repeat 7]``: median ms per Lasso fit, alternated in one
process after every program is compiled."""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None):
    from benchmarks._timing import machine_info
    from sparsestat.datasets import make_correlated_regression
    from sparsestat.regression import Lasso
    import sparsestat.regression.working_set as ws

    ap = argparse.ArgumentParser(prog="python -m benchmarks buckets")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    default = ws.SINGLE_BUCKET_P
    print(f"Machine: {machine_info()}\n")
    print("| n x p | alpha / alpha_max | single bucket ms | ladder ms | ratio |\n|---|---|---|---|---|")
    for n, p in [(100, 200), (200, 500)]:
        X, y, _ = make_correlated_regression(n, p, 10, random_state=0)
        amax = np.max(np.abs(X.T @ (y - y.mean()))) / n
        fracs = [0.5, 0.2, 0.1, 0.05, 0.02]
        times = {}
        for sb in (default, 0):  # compile both variants first
            ws.SINGLE_BUCKET_P = sb
            for f in fracs:
                Lasso(alpha=f * amax).fit(X, y)
        for _ in range(args.repeat):
            for sb in (default, 0):
                ws.SINGLE_BUCKET_P = sb
                for f in fracs:
                    t = time.perf_counter()
                    Lasso(alpha=f * amax).fit(X, y)
                    times.setdefault((sb, f), []).append(1e3 * (time.perf_counter() - t))
        ws.SINGLE_BUCKET_P = default
        for f in fracs:
            a, b = np.median(times[(default, f)]), np.median(times[(0, f)])
            print(f"| {n} x {p} | {f} | {a:.2f} | {b:.2f} | {a / b:.2f} |")
    return 0
