"""A batch of Kronecker problems split across 4 forced CPU devices equals the single-device vmap."""

import pytest


def test_sharded_batch_equals_vmap(devices_runner):
    out = devices_runner("""
        import json, numpy as np, jax
        from sparsestat.linalg import enable_x64, make_mesh
        from sparsestat.datasets import make_kronecker_sparse
        from sparsestat.sbl import kron_sbl
        with enable_x64():
            p = make_kronecker_sparse([(6, 10), (5, 8)], [2, 2], 15.0, n_problems=10, random_state=3)
            mesh = make_mesh(4)
            a = kron_sbl(p.factors, p.y, noise_var=p.noise_var, mesh=mesh)
            b = kron_sbl(p.factors, p.y, noise_var=p.noise_var)
            print(json.dumps({
                "n_devices": len(jax.devices()),
                "n_shards": len(a.coef.sharding.device_set) if hasattr(a.coef, "sharding") else 1,
                "coef": float(np.max(np.abs(np.asarray(a.coef) - np.asarray(b.coef)))),
                "iters": bool(np.array_equal(np.asarray(a.n_iter), np.asarray(b.n_iter))),
            }))
    """)
    assert out["n_devices"] == 4
    assert out["n_shards"] == 4
    assert out["coef"] <= 1e-10
    assert out["iters"]


@pytest.mark.slow  # a fresh 2-device process (8 s cold)
def test_two_host_devices_with_batched_lapack_blocks_finish(devices_runner):
    """16 problems of 16x32 factors per device: as one vmapped block, each device's batched eigh
    (16 x 4 * 16^3 flops > jaxlib's 2e5 threshold) went to the shared 2-thread pool and the two devices
    waited on each other forever (jaxlib 0.10). Each device now solves its block in sequence."""
    out = devices_runner("""
        import json, numpy as np, jax
        from sparsestat.linalg import enable_x64, make_mesh
        from sparsestat.datasets import make_kronecker_sparse
        from sparsestat.sbl import kron_sbl, sbl
        with enable_x64():
            p = make_kronecker_sparse([(16, 32), (16, 32)], [3, 3], 20.0, n_problems=32, random_state=4)
            mesh = make_mesh(2)
            a = kron_sbl(p.factors, p.y, noise_var=p.noise_var, mesh=mesh)
            b = kron_sbl(p.factors, p.y, noise_var=p.noise_var)
            rng = np.random.default_rng(0)
            Phi = rng.standard_normal((40, 60))
            Y = rng.standard_normal((32, 40))
            c = sbl(Phi, Y, noise_var=None, mesh=mesh, max_iter=20)
            d = sbl(Phi, Y, noise_var=None, max_iter=20)
            print(json.dumps({
                "n_shards": len(a.coef.sharding.device_set) if hasattr(a.coef, "sharding") else 1,
                "coef": float(np.max(np.abs(np.asarray(a.coef) - np.asarray(b.coef)))),
                "iters": bool(np.array_equal(np.asarray(a.n_iter), np.asarray(b.n_iter))),
                "classic": float(np.max(np.abs(np.asarray(c.coef) - np.asarray(d.coef)))),
                "classic_iters": bool(np.array_equal(np.asarray(c.n_iter), np.asarray(d.n_iter))),
            }))
    """, n_devices=2, timeout=240)
    assert out["n_shards"] == 2
    assert out["coef"] <= 1e-10 and out["iters"]
    assert out["classic"] <= 1e-10 and out["classic_iters"]
