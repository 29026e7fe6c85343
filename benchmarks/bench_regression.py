"""Regression benchmarks (spec regression.md §6.2: B1 single alpha, B2 50-alpha path, B3 L0, B6 LassoCV,
B7 first call) against scikit-learn, celer, skglm and abess, alternated in one run, every solution
re-certified by one numpy duality-gap routine.

    python -m benchmarks regression [--size small|large|sparse] [--repeat 3] [--skip-cv] [--skip-path]
                                    [--divs 20] [--intercept] [--out FILE]

``--divs 5,20,100`` runs B1 at alpha_max / 5, / 20 and / 100 (issue 19's regimes); ``--intercept`` adds
each B1 with ``fit_intercept=True`` for every contender (re-certified on the centred data) and, on dense
designs, sparsestat on the same problem written without an intercept (X and y centred beforehand,
``fit_intercept=False``): ``intercept_overhead`` is the intercept fit's time over that one's, minus 1
(the two solve the same problem to the same certificate; the fit without intercept on the raw data
solves another problem, at another alpha_max).
``--size sparse``: a scipy.sparse CSC design, 10 000 x 50 000 at density 0.1 % (Gaussian nonzeros, 20
true features), B1 and B2 only (issue 19's sparse target); every contender gets the same CSC matrix.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ._timing import Contender, compare, format_rows, machine_info


def numpy_rel_gap(X, y, w, alpha, center=False):
    """Lasso duality gap / (||y_c||^2 / n), the scikit-learn/celer scale; ``center``: the intercept's
    problem (X and y centred; implicitly, so a sparse X stays sparse)."""
    n = len(y)
    xm = np.asarray(X.mean(axis=0)).ravel() if center else np.zeros(X.shape[1])
    if center:
        y = y - y.mean()
    r = y - (X @ w - xm @ w)
    dn = np.max(np.abs(X.T @ r - xm * r.sum())) / n
    c = min(1.0, alpha / dn) if dn > 0 else 1.0
    P = 0.5 * r @ r / n + alpha * np.abs(w).sum()
    D = c * (r @ y) / n - 0.5 * c * c * (r @ r) / n
    return (P - D) / (y @ y / n), P


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="small", choices=["small", "large", "sparse"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-cv", action="store_true")
    ap.add_argument("--skip-path", action="store_true")
    ap.add_argument("--divs", default="20", help="B1 at alpha_max / d for each d of this comma list")
    ap.add_argument("--intercept", action="store_true", help="also run B1 with fit_intercept=True")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    import celer
    import skglm
    from sklearn.linear_model import Lasso as SkLasso
    from sklearn.linear_model import LassoCV as SkLassoCV
    from sklearn.linear_model import lasso_path as sk_lasso_path

    from sparsestat.datasets import make_correlated_regression
    from sparsestat.regression import L0Regression, Lasso, LassoCV, lasso_path

    if args.size == "sparse":
        import scipy.sparse as sp

        n, p = 10_000, 50_000
        rng = np.random.default_rng(0)
        X = sp.random(n, p, density=1e-3, format="csc", random_state=0, data_rvs=rng.standard_normal)
        w_true = np.zeros(p)
        w_true[rng.choice(p, 20, replace=False)] = rng.choice([-1.0, 1.0], 20) * rng.uniform(1, 3, 20)
        y = X @ w_true
        y = y + np.std(y) / 3.0 * rng.standard_normal(n)
        args.skip_cv = True
    else:
        n, p = (1000, 5000) if args.size == "small" else (5000, 20000)
        X, y, w_true = make_correlated_regression(n, p, 20, rho=0.5, snr=3.0, random_state=0)
        X = np.asfortranarray(X)
    amax = np.max(np.abs(X.T @ y)) / n
    a = amax / 20
    lines = [f"# bench_regression ({n}x{p}); {machine_info()}", f"alpha_max = {amax:.6g}, alpha = {a:.6g}"]
    print("\n".join(lines))
    out_rows = []

    # B7 first call (compilation included) in this process
    t0 = time.perf_counter()
    Lasso(alpha=a, fit_intercept=False, tol=1e-6).fit(X, y)
    first = time.perf_counter() - t0
    lines.append(f"B7 first sparsestat Lasso call in this process (compile + run): {first:.2f} s")

    # B1 single alpha (alpha_max / d for each d; with and without an intercept)
    yc = y - y.mean()
    Xc = None if (args.size == "sparse" or not args.intercept) else np.asfortranarray(X - X.mean(axis=0))
    amax_c = np.max(np.abs(X.T @ yc - np.asarray(X.mean(axis=0)).ravel() * yc.sum())) / n
    for d in (float(v) for v in args.divs.split(",")):
        for fi in ((False, True) if args.intercept else (False,)):
            ad = amax / d
            if fi:   # the intercept case: alpha_max of the centred problem, same divisor
                ad = amax_c / d
            cs = [
                Contender("sparsestat", lambda: Lasso(alpha=ad, fit_intercept=fi, tol=1e-6).fit(X, y).coef_),
                Contender("skglm", lambda: skglm.Lasso(alpha=ad, fit_intercept=fi, tol=1e-5 * ad).fit(X, y).coef_),
                Contender("celer", lambda: celer.Lasso(alpha=ad, fit_intercept=fi, tol=1e-6).fit(X, y).coef_),
                Contender("sklearn", lambda: SkLasso(alpha=ad, fit_intercept=fi, tol=1e-6, max_iter=10000).fit(X, y).coef_),
            ]
            if fi and Xc is not None:
                cs.append(Contender("sparsestat centred, no intercept",
                                    lambda: Lasso(alpha=ad, fit_intercept=False, tol=1e-6).fit(Xc, yc).coef_))
            tag = f"B1 lasso {n}x{p} alpha_max/{d:g}" + (" intercept" if fi else "")
            rows = compare(tag, cs, repeat=args.repeat, verbose=False)
            for r, c in zip(rows, cs):
                g, P = numpy_rel_gap(X, y, np.ravel(c.result), ad, center=fi)
                r["rel_gap"], r["objective"], r["nnz"] = g, P, int(np.sum(np.ravel(c.result) != 0))
                r["ratio_vs_skglm"] = r["median_s"] / rows[1]["median_s"]
            if len(rows) == 5:
                rows[0]["intercept_overhead"] = rows[0]["median_s"] / rows[4]["median_s"] - 1.0
            out_rows += rows
            lines.append(format_rows(rows))
            print(lines[-1])

    if not args.skip_path:
        alphas = amax * np.geomspace(1, 1e-2, 50)

        def ours_path():
            return lasso_path(X, y, alphas=alphas, tol=1e-6)[1]

        def celer_path():
            return celer.celer_path(X, y, "lasso", alphas=alphas, tol=1e-6)[1]

        def sk_path():
            return sk_lasso_path(X, y, alphas=alphas, tol=1e-6, max_iter=10000)[1]

        cs = [Contender("sparsestat", ours_path), Contender("celer", celer_path), Contender("sklearn", sk_path)]
        rows = compare(f"B2 lasso path 50 alphas {n}x{p}", cs, repeat=args.repeat, verbose=False)
        for r, c in zip(rows, cs):
            gaps = [numpy_rel_gap(X, y, c.result[:, i], al)[0] for i, al in enumerate(alphas)]
            r["max_rel_gap"] = float(np.max(gaps))
            r["obj_last"] = numpy_rel_gap(X, y, c.result[:, -1], alphas[-1])[1]
            r["ratio_vs_celer"] = r["median_s"] / rows[1]["median_s"]
        out_rows += rows
        lines.append(format_rows(rows))
        print(lines[-1])

    # B3 L0 at k = 20 (dense designs)
    try:
        if args.size == "sparse":
            raise ImportError("B3 runs on the dense designs only")
        import abess

        def f1(w):
            s, t = w != 0, w_true != 0
            tp = np.sum(s & t)
            return 0.0 if tp == 0 else 2 * tp / (s.sum() + t.sum())

        from sklearn.linear_model import OrthogonalMatchingPursuit

        cs = [Contender("sparsestat L0", lambda: L0Regression(20, fit_intercept=False).fit(X, y).coef_),
              Contender("abess k=20", lambda: abess.LinearRegression(support_size=[20], fit_intercept=False).fit(X, y).coef_),
              Contender("sklearn OMP", lambda: OrthogonalMatchingPursuit(n_nonzero_coefs=20, fit_intercept=False).fit(X, y).coef_)]
        rows = compare(f"B3 L0 k=20 {n}x{p}", cs, repeat=1, verbose=False)
        for r, c in zip(rows, cs):
            r["f1"] = f1(np.ravel(c.result))
            r["objective"] = 0.5 * np.mean((y - X @ np.ravel(c.result)) ** 2)
        out_rows += rows
        lines.append(format_rows(rows))
        print(lines[-1])
    except ImportError:  # pragma: no cover
        lines.append("B3 skipped: abess not installed" if args.size != "sparse" else "B3: dense designs only")

    if not args.skip_cv:
        cs = [Contender("sparsestat LassoCV", lambda: LassoCV(alphas=50, cv=5, tol=1e-6, fit_intercept=False).fit(X, y).alpha_),
              Contender("sklearn LassoCV n_jobs=1", lambda: SkLassoCV(alphas=50, cv=5, tol=1e-6, fit_intercept=False,
                                                                        max_iter=10000).fit(X, y).alpha_)]
        rows = compare(f"B6 LassoCV 5 folds x 50 alphas {n}x{p}", cs, repeat=1, verbose=False)
        for r, c in zip(rows, cs):
            r["alpha_"] = float(c.result)
            r["speedup_vs_sklearn"] = rows[1]["median_s"] / r["median_s"]
        out_rows += rows
        lines.append(format_rows(rows))
        print(lines[-1])

    if args.out:
        with open(args.out, "w") as fh:
            fh.write("\n\n".join(lines) + "\n")
    return 0
