"""Sharded results equal single-device results, on 4 forced CPU devices in a subprocess."""

import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.linalg import make_mesh, pad_axis, sharded_batch, sharded_row_sum, sharded_vmap


def test_single_device_paths(rng, x64):
    X = rng.standard_normal((11, 3))
    np.testing.assert_allclose(sharded_row_sum(lambda b, m: (b * m[:, None]).sum(0), jnp.asarray(X)), X.sum(0),
                               rtol=1e-12)
    out = sharded_vmap(lambda a, b: a @ b, in_axes=(0, None))(jnp.asarray(X), jnp.ones(3))
    np.testing.assert_allclose(out, X.sum(1), rtol=1e-12)
    padded, n = pad_axis({"a": jnp.ones((5, 2))}, 4)
    assert n == 5 and padded["a"].shape == (8, 2) and float(padded["a"][5:].sum()) == 0.0
    with pytest.raises(ValueError, match="n_devices"):
        make_mesh(10_000)


def test_sharded_batch_input_errors(x64):
    f = sharded_batch(lambda a, b: a + b, in_axes=(0, 0))
    with pytest.raises(ValueError, match="different leading sizes"):
        f(jnp.ones((3, 2)), jnp.ones((4, 2)))
    with pytest.raises(ValueError, match="one entry per argument"):
        f(jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="0 or None"):
        sharded_batch(lambda a: a, in_axes=(1,))(jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="at least one argument"):
        sharded_batch(lambda a: a, in_axes=(None,))(jnp.ones((3, 2)))


def test_four_devices_equal_one(devices_runner):
    out = devices_runner(
        """
        import json, jax, numpy as np, jax.numpy as jnp
        from sparsestat.linalg import enable_x64, make_mesh, sharded_batch, sharded_row_sum, sharded_vmap, Kronecker
        assert jax.device_count() == 4
        rng = np.random.default_rng(0)
        with enable_x64():
            X = jnp.asarray(rng.standard_normal((103, 5)))          # 103 rows: padding needed
            y = jnp.asarray(rng.standard_normal(103))
            mesh = make_mesh(4, axis_name="rows")
            def stats(block, mask):
                Xb, yb = block
                w = mask[:, None] * Xb
                return {"gram": w.T @ Xb, "xty": w.T @ yb}
            sh = sharded_row_sum(stats, (X, y), mesh)
            gram_err = float(jnp.max(jnp.abs(sh["gram"] - X.T @ X)))
            xty_err = float(jnp.max(jnp.abs(sh["xty"] - X.T @ y)))
            # batch axis: 10 least-squares problems (not divisible by 4) on a shared design
            Y = jnp.asarray(rng.standard_normal((10, 103)))
            solve = lambda yy, XX: jnp.linalg.solve(XX.T @ XX, XX.T @ yy)
            shd = sharded_vmap(solve, make_mesh(4), in_axes=(0, None))(Y, X)
            one = jax.vmap(solve, in_axes=(0, None))(Y, X)
            batch_err = float(jnp.max(jnp.abs(shd - one)))
            # operators are pytrees: a batch of Kronecker problems across devices
            A = jnp.asarray(rng.standard_normal((6, 3, 4))); B = jnp.asarray(rng.standard_normal((2, 5)))
            xs = jnp.asarray(rng.standard_normal((6, 20)))
            f = lambda a, x: Kronecker([a, B]).matvec(x)
            kerr = float(jnp.max(jnp.abs(sharded_vmap(f, make_mesh(4))(A, xs) - jax.vmap(f)(A, xs))))
            ndev = len(shd.sharding.device_set) if hasattr(shd, "sharding") else 0
            # a batch function (sequential lax.map) on each device's block: equals numpy's solves
            seq = lambda YY, XX: jax.lax.map(lambda yy: solve(yy, XX), YY)
            out = sharded_batch(seq, make_mesh(4), in_axes=(0, None))(Y, X)
            ref = np.linalg.solve(np.asarray(X).T @ np.asarray(X), np.asarray(X).T @ np.asarray(Y).T).T
            seq_err = float(np.max(np.abs(np.asarray(out) - ref)))
            seq_shards = len(out.sharding.device_set)
        print(json.dumps({"gram": gram_err, "xty": xty_err, "batch": batch_err, "kron": kerr,
                          "seq": seq_err, "seq_shape": list(out.shape), "seq_shards": seq_shards}))
        """
    )
    assert out["gram"] < 1e-10 and out["xty"] < 1e-10
    assert out["batch"] < 1e-12
    assert out["kron"] < 1e-12
    assert out["seq"] < 1e-10 and out["seq_shape"] == [10, 5] and out["seq_shards"] == 4
