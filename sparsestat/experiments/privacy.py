"""LDP sparse regression (Zhu, Ding, Aggarwal, Xu & Wang, ICLR 2024): error and pre-threshold noise vs
the number of users n and vs epsilon, on streamed synthetic users, with a non-private Lasso reference.

One streaming pass per seed serves every n (nested prefixes of one arrival-ordered population) and
every epsilon: the public-X release of user i at budget epsilon is clip(x_i) clip(y_i) + sigma(epsilon) z_i
with z_i the standard draw of the user's key, so the released sums are clean_sum + sigma(epsilon) sum z_i
exactly (common random numbers across epsilon; identical to ``aggregation.stream_nldp`` with that key).
The server step of the NLDP core is ``estimation.server_estimate`` on those sums; the private-covariance
NLDP estimator is evaluated with ``aggregation.simulate_aggregate`` (flagged ``simulated=True`` in the
CSV). LDP-IHT is the core ``privacy.ldp_iht`` with per-user reports in arrival-order groups.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ._common import ExperimentResult, figure, write_csv

EXPERIMENTS = {
    "ldp-rates": ("run_rates", "LDP sparse regression: l2 error and pre-threshold noise vs n and epsilon "
                               "(NLDP, public-X, Laplace, LDP-IHT) against a non-private Lasso"),
}
DEMO = "demo"

DELTA = 1e-5
K = 5


def _lasso_gram(G, b, alpha, n_iter=2000, tol=1e-12):
    """Coordinate descent for 1/2 t'Gt - b't + alpha ||t||_1 (the Lasso from Gram statistics)."""
    d = len(b)
    t = np.zeros(d)
    diag = np.diag(G).copy()
    for _ in range(n_iter):
        delta = 0.0
        for j in range(d):
            rj = b[j] - G[j] @ t + diag[j] * t[j]
            new = np.sign(rj) * max(abs(rj) - alpha, 0.0) / diag[j]
            delta = max(delta, abs(new - t[j]))
            t[j] = new
        if delta < tol:
            break
    return t


def _slope(xs, ys):
    xs, ys = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    return float(np.polyfit(xs, ys, 1)[0])


def _stream_pass(d, n_grid, seed, chunk, public_m):
    """One pass over max(n_grid) users; returns clean/unit-noise sums at each checkpoint."""
    import jax
    import jax.numpy as jnp

    from ..datasets.ldp import ldp_public_bounds, ldp_user_chunks
    from ..linalg import enable_x64
    from ..privacy import release as rel

    b = ldp_public_bounds(d)
    n_max = max(n_grid)
    coef, chunks = ldp_user_chunks(n_max, d, K, chunk_size=chunk, random_state=seed)
    rng_pub = np.random.default_rng(10_000 + seed)
    iu = np.triu_indices(d)
    out = {}
    with enable_x64():
        key_g = jax.random.PRNGKey(2 * seed + 1)
        key_l = jax.random.PRNGKey(2 * seed + 2)

        @jax.jit
        def stats(kg, kl, x, y):
            xt = jnp.clip(x, -b.x_clip, b.x_clip)
            yt = jnp.clip(y, -b.y_clip, b.y_clip)
            nrm = jnp.linalg.norm(x, axis=1, keepdims=True)
            xb = x * jnp.minimum(1.0, b.x_clip_l2 / jnp.maximum(nrm, 1e-300))
            zg = jax.vmap(lambda k: jax.random.normal(k, (d,), x.dtype))(kg)
            zl = jax.vmap(lambda k: jax.random.laplace(k, (d,), x.dtype))(kl)
            return (xt.T @ yt, zg.sum(0), zl.sum(0), xb.T @ xb, x.T @ x, x.T @ y)

        acc = None
        pub = np.zeros((d, d))
        pos, m_pub = 0, 0
        for X, y in chunks:
            m = X.shape[0]
            kg = rel.user_keys(key_g, pos, m)
            kl = rel.user_keys(key_l, pos, m)
            s = [np.asarray(v) for v in stats(kg, kl, jnp.asarray(X), jnp.asarray(y))]
            acc = s if acc is None else [a + v for a, v in zip(acc, s)]
            if m_pub < public_m:
                P = rng_pub.standard_normal((min(m, public_m - m_pub), d))
                pub += P.T @ P
                m_pub += P.shape[0]
            pos += m
            if pos in n_grid:
                out[pos] = dict(xy=acc[0].copy(), zg=acc[1].copy(), zl=acc[2].copy(), cov_clip=acc[3][iu].copy(),
                                gram=acc[4].copy(), xy_raw=acc[5].copy(), pub=pub / m_pub)
    return coef, out


def _arrival_rounds(chunks, sizes):
    """The users of a stream of (X, y) chunks cut, in arrival order, into consecutive groups of the given
    sizes: one lazy iterable of (x, y, user_index) pieces per round (round t + 1 reads on from where
    round t stopped, so it must be consumed after it, as :func:`~sparsestat.privacy.ldp_iht` does)."""
    it = iter(chunks)
    cur = {"X": None, "y": None, "s": 0, "pos": 0}

    def one_round(size):
        left = size
        while left > 0:
            if cur["X"] is None or cur["s"] == cur["X"].shape[0]:
                cur["X"], cur["y"] = next(it)
                cur["s"] = 0
            s, pos = cur["s"], cur["pos"]
            take = min(cur["X"].shape[0] - s, left)
            yield cur["X"][s:s + take], cur["y"][s:s + take], np.arange(pos, pos + take)
            cur["s"], cur["pos"], left = s + take, pos + take, left - take

    for size in sizes:
        yield one_round(size)


def _iht_errors(d, n_grid, eps_list, seed, chunk):
    """LDP-IHT (T = 3, eta = 1, R = 1, k = 5) with arrival-order groups and per-user reports, streamed
    through the core :func:`sparsestat.privacy.ldp_iht`."""
    import jax

    from ..datasets.ldp import ldp_public_bounds, ldp_user_chunks
    from ..linalg import enable_x64
    from ..privacy import iht_unit_sigma, ldp_iht

    b = ldp_public_bounds(d)
    res = {}
    with enable_x64():
        for eps in eps_list:
            unit = iht_unit_sigma(eps, DELTA)
            for n in n_grid:
                coef, chunks = ldp_user_chunks(n, d, K, chunk_size=chunk, random_state=seed)
                key = jax.random.fold_in(jax.random.PRNGKey(3 * seed + 7), int(eps * 1000))
                sizes = [n // 3 + (1 if t < n % 3 else 0) for t in range(3)]
                fit = ldp_iht(key, rounds=_arrival_rounds(chunks, sizes), d=d, unit_sigma=unit, x_clip=b.x_clip,
                              y_clip=b.y_clip, n_nonzero_coefs=K, step_size=1.0, radius=1.0, chunk_size=chunk)
                res[(eps, n)] = float(np.linalg.norm(np.asarray(fit.coef) - coef))
    return res


def _rows_for(d, n_grid, eps_list, seeds, chunk, iht_max_n, public_m):
    import jax

    from ..datasets.ldp import ldp_public_bounds
    from ..linalg import enable_x64
    from ..privacy import aggregation as agg
    from ..privacy import calibration as calib
    from ..privacy import estimation as estim

    b = ldp_public_bounds(d)
    rows = []
    for seed in seeds:
        t0 = time.perf_counter()
        coef, snaps = _stream_pass(d, n_grid, seed, chunk, public_m)
        iht = _iht_errors(d, [n for n in n_grid if n <= iht_max_n], eps_list, seed, chunk)
        elapsed = time.perf_counter() - t0
        for n in n_grid:
            s = snaps[n]
            alpha = 0.5 * math.sqrt(2 * math.log(d) / n)
            lasso = _lasso_gram(s["gram"] / n, s["xy_raw"] / n, alpha)
            u_clean = np.linalg.solve(s["pub"], s["xy"] / n)
            for eps in eps_list:
                g = calib.nldp_calibration(d, epsilon=eps, delta=DELTA, x_clip=b.x_clip, y_clip=b.y_clip,
                                           public_covariance=True)
                lap = calib.nldp_calibration(d, epsilon=eps, delta=0.0, x_clip=b.x_clip, y_clip=b.y_clip,
                                             public_covariance=True, mechanism="laplace")
                priv = calib.nldp_calibration(d, epsilon=eps, delta=DELTA, x_clip_l2=b.x_clip_l2, x_clip=b.x_clip,
                                              y_clip=b.y_clip)
                row = dict(d=d, n=n, epsilon=eps, seed=seed)
                for name, cal, z in (("pubx", g, s["zg"]), ("pubx_laplace", lap, s["zl"])):
                    sums = agg.NLDPSums(None, s["xy"] + cal.scale_xy * z, float(n))
                    soft = estim.server_estimate(sums, sigmas=(None, cal.sd_xy), y_clip=b.y_clip, public_cov=s["pub"])
                    top = estim.server_estimate(sums, sigmas=(None, cal.sd_xy), y_clip=b.y_clip, public_cov=s["pub"],
                                                threshold="topk", n_nonzero_coefs=K)
                    row[f"{name}_soft"] = float(np.linalg.norm(soft.coef - coef))
                    row[f"{name}_topk"] = float(np.linalg.norm(top.coef - coef))
                    row[f"{name}_linf_pre"] = float(np.max(np.abs(soft.u - u_clean)))
                    if name == "pubx":
                        row["pubx_exact_support"] = bool(set(np.flatnonzero(top.coef)) == set(np.flatnonzero(coef)))
                with enable_x64():
                    sim = agg.simulate_aggregate(
                        jax.random.fold_in(jax.random.PRNGKey(100 + seed), n * 10 + int(eps * 8)),
                        agg.NLDPSums(s["cov_clip"], s["xy"], float(n)), n, (priv.scale_cov, priv.scale_xy))
                sim = agg.NLDPSums(np.asarray(sim.cov_triu), np.asarray(sim.xy), float(n))
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    for stab in (None, "ridge"):
                        est = estim.server_estimate(sim, sigmas=(priv.sd_cov, priv.sd_xy), y_clip=b.y_clip,
                                                    stabilize=stab)
                        row["nldp_soft" if stab is None else "nldp_ridge"] = float(np.linalg.norm(est.coef - coef))
                    est = estim.server_estimate(sim, sigmas=(priv.sd_cov, priv.sd_xy), y_clip=b.y_clip,
                                                threshold="topk", n_nonzero_coefs=K)
                row["nldp_topk"] = float(np.linalg.norm(est.coef - coef))
                row["nldp_simulated"] = True
                row["ldp_iht"] = iht.get((eps, n), float("nan"))
                row["lasso_nonprivate"] = float(np.linalg.norm(lasso - coef))
                row["pass_seconds"] = elapsed
                rows.append(row)
    return rows


def _median_by(rows, key, n=None, eps=None, d=None):
    sel = [r[key] for r in rows if (n is None or r["n"] == n) and (eps is None or r["epsilon"] == eps)
           and (d is None or r["d"] == d)]
    return float(np.median(sel))


def run_rates(quick: bool, out_dir: Path) -> ExperimentResult:
    """Quick: d = 50, n in {1e5, 3e5, 1e6, 3e6, 1e7} streamed, epsilon in {0.5, 1, 2, 4}, 2 seeds; LDP-IHT
    at n <= 1e6. Full: adds d = 200 (n <= 1e7) and d = 50 streamed to 1e8, LDP-IHT at every n."""
    out_dir = Path(out_dir)
    eps_list = [0.5, 1.0, 2.0, 4.0]
    grid = [100_000, 300_000, 1_000_000, 3_000_000, 10_000_000]
    if quick:
        configs = [(50, grid, 1_000_000)]
    else:
        configs = [(50, grid + [30_000_000, 100_000_000], 100_000_000), (200, grid, 10_000_000)]
    rows = []
    for d, ng, iht_max in configs:
        rows += _rows_for(d, ng, eps_list, seeds=(0, 1), chunk=100_000, iht_max_n=iht_max,
                          public_m=1_000_000)
    files = [write_csv(rows, out_dir / "ldp_rates.csv")]
    checks = {}
    for d, ng, _ in configs:
        sl_n = [_slope(ng, [_median_by(rows, "pubx_linf_pre", n, e, d) for n in ng]) for e in eps_list]
        n_ref = 10_000_000
        sl_e = _slope(eps_list, [_median_by(rows, "pubx_linf_pre", n_ref, e, d) for e in eps_list])
        sl_e_lap = _slope(eps_list, [_median_by(rows, "pubx_laplace_linf_pre", n_ref, e, d) for e in eps_list])
        lasso_sl = _slope(ng, [_median_by(rows, "lasso_nonprivate", n, 4.0, d) for n in ng])
        checks[f"d{d}_pubx_linf_slope_n"] = [round(v, 3) for v in sl_n]
        checks[f"d{d}_pubx_linf_slope_n_ok"] = all(-0.60 <= v <= -0.43 for v in sl_n)
        checks[f"d{d}_pubx_linf_slope_eps_at_1e7"] = round(sl_e, 3)
        checks[f"d{d}_pubx_linf_slope_eps_ok"] = -1.15 <= sl_e <= -0.75
        checks[f"d{d}_laplace_linf_slope_eps_at_1e7"] = round(sl_e_lap, 3)
        checks[f"d{d}_lasso_slope_n"] = round(lasso_sl, 3)
        checks[f"d{d}_lasso_slope_ok"] = abs(lasso_sl + 0.5) <= 0.05
        checks[f"d{d}_pubx_topk_1e7_eps4"] = round(_median_by(rows, "pubx_topk", n_ref, 4.0, d), 4)
        if d == 50:
            checks["d50_pubx_topk_1e7_eps4_within_30pct_of_0.15"] = abs(
                checks["d50_pubx_topk_1e7_eps4"] - 0.15) <= 0.3 * 0.15

    def draw(axes):
        ax1, ax2 = axes[0, 0], axes[0, 1]
        d0, ng0 = configs[0][0], configs[0][1]
        for e in eps_list:
            ax1.loglog(ng0, [_median_by(rows, "pubx_linf_pre", n, e, d0) for n in ng0], "o-",
                       label=f"public-X noise, eps={e:g}")
        ax1.loglog(ng0, [_median_by(rows, "pubx_topk", n, 4.0, d0) for n in ng0], "s--", label="public-X top-k l2, eps=4")
        ax1.loglog(ng0, [_median_by(rows, "lasso_nonprivate", n, 4.0, d0) for n in ng0], "k^-", label="Lasso (non-private)")
        ax1.axhline(1.0, color="grey", lw=0.8)
        ax1.set_xlabel("users n")
        ax1.set_ylabel("error")
        ax1.set_title(f"d = {d0}: error vs n")
        ax1.legend(fontsize=7)
        n_ref = 10_000_000
        for key, lab in (("pubx_linf_pre", "public-X Gaussian noise"), ("pubx_laplace_linf_pre", "public-X Laplace noise"),
                         ("pubx_topk", "public-X top-k l2"), ("nldp_soft", "private-cov NLDP soft l2 (sim.)"),
                         ("ldp_iht", "LDP-IHT l2")):
            vals = [_median_by(rows, key, n_ref if key != "ldp_iht" else 1_000_000, e, d0) for e in eps_list]
            ax2.loglog(eps_list, vals, "o-", label=lab + (" (n=1e6)" if key == "ldp_iht" else ""))
        ax2.set_xlabel("epsilon")
        ax2.set_title(f"d = {d0}: error vs epsilon at n = 1e7")
        ax2.legend(fontsize=7)

    fig = figure(out_dir / "ldp_rates.png", draw, ncols=2)
    if fig is not None:
        files.append(fig)
    return ExperimentResult("ldp-rates", rows, files, checks)


def demo() -> list[dict]:
    """Public-X LDP regression on 1e5 users (d = 20, epsilon = 8) and the planner's verdict."""
    import warnings

    from ..datasets import make_ldp_users
    from ..datasets.ldp import ldp_public_bounds
    from ..exceptions import PrivacyWarning
    from ..privacy import LDPSparseRegression, required_users

    d, n = 20, 100_000
    X, y, coef = make_ldp_users(n, d, 2, random_state=0)
    b = ldp_public_bounds(d)
    Xpub = np.random.default_rng(1).standard_normal((20_000, d))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        est = LDPSparseRegression(8.0, x_clip=b.x_clip, y_clip=b.y_clip, public_X=Xpub, threshold="topk",
                                  n_nonzero_coefs=2, random_state=0).fit(X, y)
    t = time.perf_counter() - t0
    b50 = ldp_public_bounds(50)
    need = required_users(50, 5, 1.0, DELTA, 1 / math.sqrt(5), x_clip_l2=b50.x_clip_l2, x_clip=b50.x_clip,
                          y_clip=b50.y_clip)
    return [
        {"module": "privacy", "task": f"public-X LDP regression, {n:.0e} users, d={d}, eps=8",
         "result": f"l2 error {np.linalg.norm(est.coef_ - coef):.3f} (zero: 1.0); support "
                   f"{'exact' if set(np.flatnonzero(est.coef_)) == set(np.flatnonzero(coef)) else 'missed'}",
         "time": f"{t:.2f} s ({n / t:.2e} users/s incl. compile)"},
        {"module": "privacy", "task": "users needed, private covariance, d=50, eps=1",
         "result": f"{need:.3e} users (required_users)", "time": "-"},
    ]
