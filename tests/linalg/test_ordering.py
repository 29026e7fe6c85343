"""linalg.ordering: factorisations in turn (the XLA:CPU LAPACK thread-pool deadlock)."""

import subprocess

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.linalg import kron_eigh
from sparsestat.linalg.ordering import after, eigh_each


def test_after_leaves_values_unchanged(rng):
    x = jnp.asarray(rng.standard_normal((3, 4)))
    d = jnp.asarray(rng.standard_normal(5))
    np.testing.assert_array_equal(np.asarray(jax.jit(after)(x, d)), np.asarray(x))
    np.testing.assert_array_equal(np.asarray(after(x)), np.asarray(x))


def test_after_keeps_a_real_dependency():
    """The dependency must survive XLA's simplifier: it is a data edge into x, so a NaN in the dependency
    shows up (an optimisation barrier would vanish; a folded 0 * d would not propagate it)."""
    out = jax.jit(after)(jnp.ones(3), jnp.array([jnp.nan]))
    assert np.all(np.isnan(np.asarray(out)))


def test_eigh_each_equals_eigh(rng):
    mats = []
    for n in (3, 5, 4):
        a = rng.standard_normal((n, n))
        mats.append(jnp.asarray(a + a.T))
    for (w, q), m in zip(jax.jit(eigh_each)(mats), mats):
        w0, q0 = np.linalg.eigh(np.asarray(m))
        np.testing.assert_allclose(np.asarray(w), w0, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.abs(np.asarray(q).T @ q0), np.eye(len(w0)), atol=1e-4)
    k = kron_eigh(mats[:2])
    np.testing.assert_allclose(np.asarray(k.eigenvalues[1]), np.linalg.eigh(np.asarray(mats[1]))[0], atol=1e-5)


def test_batched_kron_sbl_over_128_problems_does_not_hang(devices_runner):
    """Before linalg.ordering, the two factor eigendecompositions of a batch of 129 problems ran at once,
    each split over XLA:CPU's intra-op pool, and on a 2-core machine the program hung with the CPU idle
    (jax 0.10.2). Run in a subprocess so a regression fails by timeout instead of hanging the suite."""
    code = """
        import json
        import jax, jax.numpy as jnp, numpy as np
        from sparsestat.linalg import enable_x64
        from sparsestat.sbl import kron_sbl
        with enable_x64():
            rng = np.random.default_rng(0)
            F = [jnp.asarray(rng.standard_normal((16, 32))) for _ in range(2)]
            Y = jnp.asarray(rng.standard_normal((129, 256)))
            r = kron_sbl(F, Y, noise_var=0.1, max_iter=3)
            ok = bool(np.all(np.isfinite(np.asarray(r.coef))))
        print(json.dumps({"finite": ok, "n_iter": int(np.max(np.asarray(r.n_iter)))}))
    """
    try:
        out = devices_runner(code, n_devices=1, timeout=180)
    except subprocess.TimeoutExpired:  # pragma: no cover - the failure this test exists for
        pytest.fail("batched kron_sbl (129 problems) hung: concurrent batched LAPACK calls deadlocked")
    assert out["finite"] and out["n_iter"] == 3
