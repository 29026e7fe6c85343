"""Small and mid-size problems (issue 23): Lasso, ElasticNet, lasso_path, LassoCV and sparse logistic
regression against scikit-learn (and skglm / celer when installed), alternated in one run, at
100 x 200, 200 x 500, 500 x 2000 and 1000 x 5000, i.i.d. and correlated designs; plus the number of
device-to-host reads of one sparsestat call.

    python -m benchmarks small [--sizes 100x200,200x500] [--designs iid,corr] [--repeat 3]
                               [--tol default|matched] [--skip-cv-above N] [--out FILE]

``--tol default`` runs every method at its own default tolerance (what a user gets: sparsestat 1e-6,
scikit-learn 1e-4, both relative to ||y||^2 / n); ``--tol matched`` runs scikit-learn at sparsestat's
1e-6; ``--tol sklearn`` runs sparsestat at scikit-learn's 1e-4 (same meaning of tol). ``first_call_s`` is the first call in this process (compilation, or a load from the persistent
cache, included); ``median_s`` the steady state. Single fits at alpha = alpha_max / 20; paths and CV on
100 alphas, eps = 1e-3; logistic at alpha = alpha_max / 20 with scikit-learn's C = 1 / (n alpha)
(the same objective).
"""

from __future__ import annotations

import argparse
import importlib.util
import warnings

import numpy as np

from ._timing import Contender, compare, format_rows, machine_info


def _data(n, p, design, seed=0):
    from sparsestat.datasets import make_correlated_regression

    if design == "corr":
        X, y, _ = make_correlated_regression(n, p, 10, rho=0.5, snr=3.0, random_state=seed)
        return np.asarray(X), np.asarray(y)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:10] = rng.choice([-1.0, 1.0], 10)
    y = X @ w + rng.standard_normal(n) * np.linalg.norm(X @ w) / np.sqrt(n) / 3.0
    return X, y


def host_reads(fn) -> int:
    """Device-to-host reads of one steady-state call of ``fn`` (after a warm-up call); the counter of
    tests/_host_reads.py (every Python entry point of a transfer)."""
    from tests._host_reads import steady_state_reads

    return steady_state_reads(fn)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks small")
    ap.add_argument("--sizes", default="100x200,200x500,500x2000,1000x5000")
    ap.add_argument("--designs", default="iid,corr")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tol", default="default", choices=["default", "matched", "sklearn"])
    ap.add_argument("--skip-cv-above", type=int, default=2_000_000, help="skip CV when n * p exceeds this")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    from sklearn.linear_model import ElasticNet as SkENet
    from sklearn.linear_model import Lasso as SkLasso
    from sklearn.linear_model import LassoCV as SkLassoCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.linear_model import lasso_path as sk_lasso_path

    from sparsestat.regression import ElasticNet, Lasso, LassoCV, SparseLogisticRegression, lasso_path

    have_skglm = importlib.util.find_spec("skglm") is not None
    have_celer = importlib.util.find_spec("celer") is not None
    sk_tol = 1e-6 if args.tol == "matched" else 1e-4
    ss_tol = 1e-4 if args.tol == "sklearn" else 1e-6
    warnings.filterwarnings("ignore", category=FutureWarning)  # LogisticRegression(penalty=) in 1.8+
    lines = [f"# bench_small (tol: {args.tol}); {machine_info()}"]
    print(lines[0])
    rows, reads = [], []
    for size in args.sizes.split(","):
        n, p = (int(v) for v in size.split("x"))
        for design in args.designs.split(","):
            X, y = _data(n, p, design)
            Xc, yc = X - X.mean(0), y - y.mean()
            amax = np.max(np.abs(Xc.T @ yc)) / n
            a = amax / 20
            tag = f"{n}x{p} {design}"
            yb = (y > np.median(y)).astype(float)
            amax_log = np.max(np.abs(X.T @ (yb - yb.mean()))) / n
            a_log = amax_log / 20
            tasks = {
                "Lasso": [Contender("sparsestat", lambda: Lasso(alpha=a, tol=ss_tol).fit(X, y)),
                          Contender("sklearn", lambda: SkLasso(alpha=a, tol=sk_tol).fit(X, y))],
                "ElasticNet": [Contender("sparsestat", lambda: ElasticNet(alpha=a, l1_ratio=0.5, tol=ss_tol).fit(X, y)),
                               Contender("sklearn", lambda: SkENet(alpha=a, l1_ratio=0.5, tol=sk_tol).fit(X, y))],
                "lasso_path": [Contender("sparsestat", lambda: lasso_path(Xc, yc, alphas=100, tol=ss_tol)),
                               Contender("sklearn", lambda: sk_lasso_path(Xc, yc, n_alphas=100, tol=sk_tol))],
                "SparseLogistic": [
                    Contender("sparsestat", lambda: SparseLogisticRegression(alpha=a_log, tol=ss_tol).fit(X, yb)),
                    Contender("sklearn-liblinear", lambda: LogisticRegression(
                        penalty="l1", solver="liblinear", C=1.0 / (n * a_log), tol=sk_tol).fit(X, yb))],
            }
            if have_skglm:
                from skglm import Lasso as SkglmLasso
                tasks["Lasso"].append(Contender("skglm", lambda: SkglmLasso(alpha=a, tol=1e-6).fit(X, y)))
            if have_celer:
                from celer import Lasso as CelerLasso
                tasks["Lasso"].append(Contender("celer", lambda: CelerLasso(alpha=a, tol=1e-6).fit(X, y)))
            if n * p <= args.skip_cv_above:
                tasks["LassoCV"] = [Contender("sparsestat", lambda: LassoCV(cv=5, tol=ss_tol).fit(X, y)),
                                    Contender("sklearn", lambda: SkLassoCV(cv=5, tol=sk_tol).fit(X, y))]
            for task, cs in tasks.items():
                rep = args.repeat if (task != "LassoCV" or n * p <= 200_000) else 1
                rows += compare(f"{task} {tag}", cs, repeat=rep, reference="sparsestat", verbose=True)
                reads.append({"task": f"{task} {tag}", "sparsestat host reads per call": host_reads(cs[0].fn)})
    lines += [format_rows(rows), "", format_rows(reads)]
    if args.out:
        with open(args.out, "w") as fh:
            fh.write("\n".join(lines) + "\n")
    print(format_rows(reads))


if __name__ == "__main__":
    main()
