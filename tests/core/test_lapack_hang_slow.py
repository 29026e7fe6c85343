"""Stress tests for the jaxlib batched-LAPACK hang (issue 20, item 5).

jaxlib (<= 0.10) splits a batched LAPACK call of more than 128 problems over XLA:CPU's intra-op pool and
blocks the calling pool thread until the pieces finish; two such calls at once on a 2-thread pool wait on
each other forever (``sparsestat.linalg.ordering``). Each batched path of the package runs here above that
size on 2 forced host devices (2 pool threads), in a subprocess with a timeout: a hang fails the test
instead of stalling the suite. Each result is also checked against the unbatched or one-device answer.
"""

import pytest

pytestmark = pytest.mark.slow

TIMEOUT = 400.0


def test_mcmc_parallel_1024_chains(devices_runner):
    # before the sub-block guard this hung: 512 chains per device, P = 20 (the per-chain Cholesky splits)
    out = devices_runner("""
        import json, numpy as np, jax, jax.numpy as jnp
        from sparsestat.linalg import enable_x64
        from sparsestat.mcmc import sample
        P = 20
        lp = lambda q: -0.5 * jnp.sum(q * q / jnp.arange(1.0, P + 1.0))
        diffs = {}
        for B in (6, 1024):        # 3 chains a device (one block), 512 (4 sub-blocks of 128)
            starts = np.random.default_rng(0).standard_normal((B, P))
            with enable_x64():
                kw = dict(num_chains=B, num_warmup=100, num_samples=100, rng_key=jax.random.PRNGKey(0),
                          progress_bar=False)
                a = sample(lp, starts, chain_method="parallel", **kw)
                b = sample(lp, starts, chain_method="vectorized", **kw)
            diffs[B] = float(np.max(np.abs(np.asarray(a.samples) - np.asarray(b.samples))))
        print(json.dumps({"n_dev": len(jax.devices()), "diff": diffs}))
    """, n_devices=2, timeout=TIMEOUT)
    assert out["n_dev"] == 2
    assert max(out["diff"].values()) <= 1e-10, out


def test_solve_batch_2048_problems(devices_runner):
    out = devices_runner("""
        import json, numpy as np
        from sparsestat.linalg import enable_x64
        from sparsestat.regression import L0, L1, Logistic, Quadratic, solve, solve_batch
        rng = np.random.default_rng(0)
        X = rng.standard_normal((60, 40))
        Y = (X[:, :3] @ rng.standard_normal((3, 2048))).T + 0.1 * rng.standard_normal((2048, 60))
        errs = {}
        with enable_x64():
            for name, df, pen, T, tol in (("l1", Quadratic(), L1(0.05), 2048, 1e-12),
                                           ("l0", Quadratic(), L0(3), 2048, 1e-12),
                                           ("logistic", Logistic(), L1(0.02), 512, 1e-10)):
                Yt = Y[:T] if name != "logistic" else (Y[:T] > 0).astype(float)
                r = solve_batch(X, Yt, df, pen, tol=tol)
                one = [solve(X, Yt[t], df, pen, tol=tol).coef for t in (0, T // 2, T - 1)]
                errs[name] = float(max(np.max(np.abs(np.asarray(r.coef)[t] - np.asarray(c)))
                                       for t, c in zip((0, T // 2, T - 1), one)))
        print(json.dumps(errs))
    """, n_devices=2, timeout=TIMEOUT)
    assert out["l1"] <= 1e-8 and out["l0"] <= 1e-8 and out["logistic"] <= 1e-6, out


def test_cv_200_folds_batched(devices_runner):
    out = devices_runner("""
        import json, numpy as np
        from sklearn.model_selection import KFold
        from sparsestat.regression.cv import cv_mse_path
        from sparsestat.regression.path import alpha_grid
        rng = np.random.default_rng(0)
        X = rng.standard_normal((200, 30)); y = X[:, 0] - X[:, 1] + 0.1 * rng.standard_normal(200)
        folds = list(KFold(200).split(X))      # leave-one-out: a batch of 200 folds
        grid = alpha_grid(X, y, n_alphas=5)
        a = cv_mse_path(X, y, grid, folds, batched=True, tol=1e-12)
        b = cv_mse_path(X, y, grid, folds, batched=False, tol=1e-12)
        print(json.dumps({"diff": float(np.max(np.abs(a - b)))}))
    """, n_devices=2, timeout=TIMEOUT)
    assert out["diff"] <= 1e-8
