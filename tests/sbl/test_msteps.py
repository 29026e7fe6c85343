"""M-steps: SVD (Eckart-Young residual, exact on Kronecker input), AM (monotone Q, stationarity), NNLS."""

import numpy as np
import pytest
import scipy.optimize

from sparsestat.sbl.msteps import (am_mstep, am_sweep, block_am_mstep, coupling_matrix, nnls, q_value,
                                   svd_mstep)

from ._ref import dense_kron


def _masks(sizes):
    import jax.numpy as jnp

    return tuple(jnp.ones(n, bool) for n in sizes)


@pytest.mark.parametrize("warm", [False, True])
def test_svd_mstep_two_factors_is_eckart_young(x64, warm):
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    Lam = rng.uniform(0, 1, (7, 5)) ** 2
    gammas = (jnp.ones(7), jnp.asarray(rng.uniform(0.5, 1.5, 5))) if warm else None
    g1, g2 = svd_mstep(jnp.asarray(Lam.ravel()), (7, 5), _masks((7, 5)), gammas)
    s = np.linalg.svd(Lam, compute_uv=False)
    resid = np.linalg.norm(np.outer(g1, g2) - Lam)
    assert abs(resid - np.sqrt(np.sum(s[1:] ** 2))) <= 1e-10 * np.linalg.norm(Lam)
    assert abs(np.linalg.norm(g1) - 1.0) <= 1e-12
    assert np.all(np.asarray(g1) >= 0) and np.all(np.asarray(g2) >= 0)


@pytest.mark.parametrize("warm", [False, True])
@pytest.mark.parametrize("sizes", [(6, 4), (3, 4, 5)])
def test_svd_mstep_recovers_exact_kronecker(x64, sizes, warm):
    import jax.numpy as jnp

    rng = np.random.default_rng(1)
    parts = [rng.uniform(0.1, 2.0, n) for n in sizes]
    parts[0][2] = 0.0
    Lam = dense_kron(parts)
    gammas = tuple(jnp.ones(n) for n in sizes) if warm else None
    out = svd_mstep(jnp.asarray(Lam), sizes, _masks(sizes), gammas)
    assert np.allclose(dense_kron([np.asarray(o) for o in out]), Lam, rtol=0, atol=1e-12 * Lam.max())


def test_svd_mstep_power_iteration_equals_full_svd(x64):
    """The warm-started power-iteration M-step (what kron_sbl runs) equals the full-SVD M-step."""
    import jax.numpy as jnp

    rng = np.random.default_rng(5)
    for sizes in [(8, 6), (4, 5, 6)]:
        Lam = jnp.asarray(rng.uniform(0, 1, int(np.prod(sizes))) ** 3)
        gammas = tuple(jnp.asarray(rng.uniform(0.1, 1.0, n)) for n in sizes)
        ref = svd_mstep(Lam, sizes, _masks(sizes))
        got = svd_mstep(Lam, sizes, _masks(sizes), gammas)
        for a, b in zip(got, ref):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-8, atol=1e-10 * float(jnp.max(b)))


def test_am_sweeps_never_increase_q_and_reach_a_stationary_point(x64):
    import jax.numpy as jnp

    rng = np.random.default_rng(2)
    sizes = (5, 4, 3)
    Lam = jnp.asarray(rng.uniform(0.01, 1.0, int(np.prod(sizes))))
    masks = _masks(sizes)
    gs = tuple(jnp.asarray(rng.uniform(0.5, 2.0, n)) for n in sizes)
    import jax

    T = jnp.reshape(Lam, sizes)
    qf = jax.jit(q_value)
    sweep = jax.jit(am_sweep)
    q = float(qf(Lam, gs, masks))
    for _ in range(200):
        gs = sweep(T, gs, masks)
        q_new = float(qf(Lam, gs, masks))
        assert q_new <= q + 1e-12 * abs(q)
        q = q_new
    gs = jax.jit(am_mstep, static_argnums=(1, 4, 5))(Lam, sizes, gs, masks, 1e-14, 2000)
    q = float(qf(Lam, gs, masks))
    # +-1 % perturbations of every entry, evaluated in one vmapped call
    rows = []
    for i, n in enumerate(sizes):
        for j in range(n):
            for f in (0.99, 1.01):
                rows.append((i, j, f))
    perturbed = [jnp.stack([gs[k].at[j].multiply(f) if k == i else gs[k] for (i, j, f) in rows])
                 for k in range(len(sizes))]
    qs = jax.vmap(lambda *g: q_value(Lam, g, masks))(*perturbed)
    assert float(jnp.min(qs)) >= q - 1e-12 * abs(q)


def test_am_mstep_respects_masks(x64):
    import jax.numpy as jnp

    rng = np.random.default_rng(3)
    sizes = (4, 5)
    Lam = rng.uniform(0.01, 1.0, (4, 5))
    Lam[1, :] = 0.0
    Lam[:, 3] = 0.0
    masks = (jnp.asarray([True, False, True, True]), jnp.asarray([True, True, True, False, True]))
    gs = am_mstep(jnp.asarray(Lam.ravel()), sizes, (jnp.ones(4), jnp.ones(5)), masks, 1e-12, 1000)
    assert float(gs[0][1]) == 0.0 and float(gs[1][3]) == 0.0
    assert np.all(np.isfinite(np.asarray(gs[0]))) and np.all(np.asarray(gs[1]) >= 0)


@pytest.mark.parametrize("seed", range(4))
def test_nnls_matches_scipy(x64, seed):
    import jax.numpy as jnp

    rng = np.random.default_rng(seed)
    A = rng.standard_normal((12, 8)) if seed % 2 else np.asarray(coupling_matrix(8, 3, 0.8))
    b = rng.standard_normal(A.shape[0])
    ref, _ = scipy.optimize.nnls(A, b)
    got = np.asarray(nnls(jnp.asarray(A), jnp.asarray(b)))
    assert np.max(np.abs(got - ref)) <= 1e-8 * max(1.0, np.max(np.abs(ref)))


def test_coupling_matrix_band():
    C = np.asarray(coupling_matrix(5, 3, 0.5))
    expected = np.eye(5) + 0.5 * (np.eye(5, k=1) + np.eye(5, k=-1))
    assert np.array_equal(C, expected)
    assert np.array_equal(np.asarray(coupling_matrix(5, 1, 0.5)), np.eye(5))
