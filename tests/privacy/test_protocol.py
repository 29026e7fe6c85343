"""Protocol: sensitivities by brute force, empirical noise scales, clipping with outliers, per-user vs
simulator, chunking / device invariance, server estimate, LDP-IHT pieces."""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.linalg import enable_x64
from sparsestat.privacy import mechanisms as mech
from sparsestat.privacy import aggregation as agg
from sparsestat.privacy import calibration as calib
from sparsestat.privacy import estimation as estim
from sparsestat.privacy import release as rel
from sparsestat.privacy.ldp_iht import iht_groups

DELTA = 1e-5


def clean_messages(x, y, r, tx, ty, public=False):
    with enable_x64():
        f = jax.vmap(lambda a, b: rel._clean_one(a, b, r, tx, ty, public))
        cov, xy = f(jnp.asarray(x), jnp.asarray(y))
        return (None if cov is None else np.asarray(cov)), np.asarray(xy)


def extreme_points(rng, d, tx, r, n_rand=200):
    pts = [np.full(d, tx), -np.full(d, tx), np.r_[np.full(d // 2, tx), -np.full(d - d // 2, tx)],
           np.zeros(d), 50 * rng.standard_normal(d), r * np.eye(d)[0], -r * np.eye(d)[0]]
    pts += list(rng.standard_normal((n_rand, d)) * rng.choice([0.3, 1, 3, 50], size=(n_rand, 1)))
    return np.array(pts)


@pytest.mark.parametrize("d", [3, 8])
def test_sensitivity_brute_force(d):
    rng = np.random.default_rng(1)
    tx, ty, r = 1.5, 2.0, 2.5
    X = extreme_points(rng, d, tx, r)
    Y = np.concatenate([[ty, ty, 0, 100, -100, ty, -ty], 3 * rng.standard_normal(len(X) - 7)])
    cov, xy = clean_messages(X, Y, r, tx, ty)
    dc = cov[:, None, :] - cov[None, :, :]
    dx = xy[:, None, :] - xy[None, :, :]
    l2c, l1c = np.sqrt((dc ** 2).sum(-1)).max(), np.abs(dc).sum(-1).max()
    l2x, l1x = np.sqrt((dx ** 2).sum(-1)).max(), np.abs(dx).sum(-1).max()
    assert 0 < l2c <= mech.covariance_sensitivity(d, r) * (1 + 1e-12)
    assert l2c <= math.sqrt(2) * r * r * (1 + 1e-9)  # exact worst case
    assert 0 < l1c <= mech.covariance_sensitivity(d, r, "l1") * (1 + 1e-12)
    assert 0 < l2x <= mech.cross_sensitivity(d, tx, ty) * (1 + 1e-12)
    assert 0 < l1x <= mech.cross_sensitivity(d, tx, ty, "l1") * (1 + 1e-12)
    # the vertex pair (tx,..,tx; ty) vs (-tx,..,-tx; ty) attains the cross-term bound exactly
    assert l2x == pytest.approx(mech.cross_sensitivity(d, tx, ty), rel=1e-12)
    # gradient at a public theta
    theta = rng.standard_normal(d)
    with enable_x64():
        g = np.asarray(jax.vmap(lambda a, b: rel._iht_one(jax.random.PRNGKey(0), a, b, jnp.asarray(theta),
                                                          tx, ty, 0.0))(jnp.asarray(X), jnp.asarray(Y)))
    dg = g[:, None, :] - g[None, :, :]
    l1t = np.abs(theta).sum()
    assert 0 < np.sqrt((dg ** 2).sum(-1)).max() <= mech.gradient_sensitivity(d, tx, ty, l1t) * (1 + 1e-12)
    assert np.abs(dg).sum(-1).max() <= mech.gradient_sensitivity(d, tx, ty, l1t, "l1") * (1 + 1e-12)


def test_clipping_with_injected_outliers():
    rng = np.random.default_rng(2)
    n, d = 20000, 50
    tx, ty, r = 3.0, 3.0 * math.sqrt(1.25), math.sqrt(d) + 2.5
    X = rng.standard_normal((n, d))
    y = X[:, :5].sum(1) / math.sqrt(5) + 0.5 * rng.standard_normal(n)
    X[rng.choice(n, 10, replace=False)] *= 50
    y[rng.choice(n, 10, replace=False)] *= 100
    theta = np.zeros(d)
    theta[:5] = 1 / math.sqrt(5)
    for s in range(0, n, 4000):
        cov, xy = clean_messages(X[s:s + 4000], y[s:s + 4000], r, tx, ty)
        # ||xbar xbar^T||_F = ||xbar||^2 <= r^2, from the packed triangle
        frob2 = 2 * (cov ** 2).sum(1) - (cov[:, np.cumsum(np.r_[0, np.arange(d, 1, -1)])] ** 2).sum(1)
        assert np.all(np.sqrt(frob2) <= r * r * (1 + 1e-12))
        assert np.all(np.linalg.norm(xy, axis=1) <= math.sqrt(d) * tx * ty * (1 + 1e-12))
        with enable_x64():
            g = np.asarray(rel.release_iht(rel.user_keys(jax.random.PRNGKey(0), s, len(xy)), X[s:s + 4000],
                                           y[s:s + 4000], theta, epsilon=1e9, delta=0.5, x_clip=tx,
                                           y_clip=ty))
        # epsilon = 1e9 makes the noise negligible (sigma ~ 1e-8 Delta); bound with that slack
        bound = math.sqrt(d) * tx * (tx * np.abs(theta).sum() + ty)
        assert np.all(np.linalg.norm(g, axis=1) <= bound * (1 + 1e-6))


def test_outlier_and_clipped_image_release_identically():
    rng = np.random.default_rng(3)
    d, tx, ty, r = 6, 1.0, 1.0, 2.0
    x = 50 * rng.standard_normal(d)
    y = 100.0
    key = jax.random.PRNGKey(7)
    kw = dict(epsilon=1.0, delta=DELTA, x_clip=tx, y_clip=ty)
    with enable_x64():
        a = rel.release_nldp(key, x, y, public_covariance=True, **kw)
        b = rel.release_nldp(key, np.clip(x, -tx, tx), ty * np.sign(y), public_covariance=True, **kw)
        assert np.array_equal(np.asarray(a.xy), np.asarray(b.xy))  # bit-identical
        c = rel.release_nldp(key, x, y, x_clip_l2=r, **kw)
        img = x * r / np.linalg.norm(x)
        e = rel.release_nldp(key, img, y, x_clip_l2=r, **kw)
        # the l2 image is re-scaled by a factor 1 +- 1 ulp: equal to rounding
        np.testing.assert_allclose(np.asarray(c.cov_triu), np.asarray(e.cov_triu), rtol=0, atol=1e-12)


def test_empirical_noise_scale_gaussian():
    d, M = 10, 20000
    x = np.linspace(-1, 1.4, d)
    y = 0.7
    kw = dict(epsilon=2.0, delta=DELTA, x_clip_l2=2.0, x_clip=1.0, y_clip=1.0)
    cal = calib.nldp_calibration(d, **kw)
    with enable_x64():
        keys = rel.user_keys(jax.random.PRNGKey(11), 0, M)
        msg = rel.release_nldp(keys, np.tile(x, (M, 1)), np.full(M, y), **kw)
        cov0, xy0 = clean_messages(x[None], np.array([y]), 2.0, 1.0, 1.0)
    for noisy, clean, sd in [(np.asarray(msg.cov_triu), cov0[0], cal.sd_cov), (np.asarray(msg.xy), xy0[0],
                                                                               cal.sd_xy)]:
        z = noisy - clean
        assert np.std(z) / sd == pytest.approx(1.0, abs=0.01)  # pooled, within 1%
        assert np.all(np.abs(np.std(z, axis=0) / sd - 1) < 0.03)  # each entry within 3%
        assert np.all(np.abs(z.mean(0)) < 5 * sd / math.sqrt(M))  # mean within 5 standard errors


def test_empirical_noise_scale_laplace():
    d, M = 10, 20000
    kw = dict(epsilon=1.0, delta=0.0, x_clip=1.0, y_clip=1.0, public_covariance=True, mechanism="laplace")
    cal = calib.nldp_calibration(d, **kw)
    x = np.ones(d) * 0.5
    with enable_x64():
        msg = rel.release_nldp(rel.user_keys(jax.random.PRNGKey(12), 0, M), np.tile(x, (M, 1)),
                               np.full(M, 0.5), **kw)
    z = np.asarray(msg.xy) - 0.25
    assert np.mean(np.abs(z)) / cal.scale_xy == pytest.approx(1.0, abs=0.02)  # E|Laplace(b)| = b


def test_aggregate_sd_over_repetitions():
    # sqrt(n) sd(bdot - clean) = sigma2 within 3% over 200 repetitions (n = 50 users, d = 50: the pooled
    # sd of 10^4 values has a relative standard error of 0.7%, so 3% is a 4-sigma band)
    n, d, reps = 50, 50, 200
    rng = np.random.default_rng(4)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    kw = dict(epsilon=1.0, delta=DELTA, x_clip=2.0, y_clip=2.0, public_covariance=True)
    cal = calib.nldp_calibration(d, **kw)
    _, xy0 = clean_messages(X, y, 1.0, 2.0, 2.0, public=True)
    with enable_x64():
        keys = rel.user_keys(jax.random.PRNGKey(5), 0, n * reps)
        msg = rel.release_nldp(keys, np.tile(X, (reps, 1)), np.tile(y, reps), **kw)
    means = np.asarray(msg.xy).reshape(reps, n, d).mean(1) - xy0.mean(0)
    assert math.sqrt(n) * np.std(means) / cal.sd_xy == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize("mechanism", ["gaussian", "laplace"])
def test_per_user_vs_simulator_in_distribution(mechanism):
    n, d, reps = 400, 4, 300
    rng = np.random.default_rng(6)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    kw = dict(epsilon=1.0, delta=DELTA if mechanism == "gaussian" else 0.0, x_clip_l2=2.0, x_clip=1.5,
              y_clip=1.5, mechanism=mechanism)
    cal = calib.nldp_calibration(d, **kw)
    cov0, xy0 = clean_messages(X, y, 2.0, 1.5, 1.5)
    clean = agg.NLDPSums(jnp.asarray(cov0.sum(0)), jnp.asarray(xy0.sum(0)), jnp.asarray(float(n)))
    with enable_x64():
        msg = rel.release_nldp(rel.user_keys(jax.random.PRNGKey(8), 0, n * reps), np.tile(X, (reps, 1)),
                               np.tile(y, reps), **kw)
        per_user = np.concatenate([np.asarray(msg.cov_triu).reshape(reps, n, -1).sum(1),
                                   np.asarray(msg.xy).reshape(reps, n, d).sum(1)], axis=1)
        sims = []
        for i in range(reps):
            s = agg.simulate_aggregate(jax.random.PRNGKey(1000 + i), clean, n, (cal.scale_cov, cal.scale_xy),
                                       mechanism)
            sims.append(np.concatenate([np.asarray(s.cov_triu), np.asarray(s.xy)]))
        sims = np.array(sims)
    centre = np.concatenate([cov0.sum(0), xy0.sum(0)])
    sd_expected = math.sqrt(n) * np.r_[np.full(cov0.shape[1], cal.sd_cov), np.full(d, cal.sd_xy)]
    for draws in (per_user, sims):
        z = (draws.mean(0) - centre) / (sd_expected / math.sqrt(reps))
        assert np.max(np.abs(z)) < 4.0
        ratio = draws.std(0) / sd_expected
        assert np.all((ratio > 0.83) & (ratio < 1.18))
    # the two paths agree with each other (two-sample): sd ratio and mean difference
    sd_ratio = per_user.std(0) / sims.std(0)
    assert np.all((sd_ratio > 0.75) & (sd_ratio < 1.33))


def _stream(X, y, chunk, key=jax.random.PRNGKey(3), **extra):
    kw = dict(epsilon=1.0, delta=DELTA, x_clip_l2=3.0, x_clip=2.0, y_clip=2.0)
    kw.update(extra)
    with enable_x64():
        s = agg.stream_nldp(key, [(X, y)], X.shape[1], chunk_size=chunk, **kw)
        return np.concatenate([np.asarray(s.cov_triu), np.asarray(s.xy), [float(s.n_users)]])


def test_chunking_invariance_and_batch_agreement():
    rng = np.random.default_rng(9)
    n, d = 60, 4
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    ref = _stream(X, y, n)
    for c in (1, 7, 4096):
        np.testing.assert_allclose(_stream(X, y, c), ref, rtol=1e-12, atol=1e-9)
    # per-user batch release + aggregate gives the same sums as the streamed path
    with enable_x64():
        msg = rel.release_nldp(rel.user_keys(jax.random.PRNGKey(3), 0, n), X, y, epsilon=1.0, delta=DELTA,
                               x_clip_l2=3.0, x_clip=2.0, y_clip=2.0)
        s = agg.aggregate(msg)
        one = rel.release_nldp(rel.user_keys(jax.random.PRNGKey(3), 5, 1)[0], X[5], y[5], epsilon=1.0,
                               delta=DELTA, x_clip_l2=3.0, x_clip=2.0, y_clip=2.0)
    np.testing.assert_allclose(np.r_[np.asarray(s.cov_triu), np.asarray(s.xy), float(s.n_users)], ref,
                               rtol=1e-12, atol=1e-9)
    assert np.array_equal(np.asarray(one.xy), np.asarray(msg.xy[5]))
    # same key -> bit-identical; streamed start_index continues the user numbering
    assert np.array_equal(_stream(X, y, 7), _stream(X, y, 7))
    with enable_x64():
        a = agg.stream_nldp(jax.random.PRNGKey(3), [(X[:25], y[:25])], d, chunk_size=7, epsilon=1.0,
                            delta=DELTA, x_clip_l2=3.0, x_clip=2.0, y_clip=2.0)
        b = agg.stream_nldp(jax.random.PRNGKey(3), [(X[25:], y[25:])], d, chunk_size=7, epsilon=1.0,
                            delta=DELTA, x_clip_l2=3.0, x_clip=2.0, y_clip=2.0, start_index=25)
    np.testing.assert_allclose(np.asarray(a.xy) + np.asarray(b.xy), ref[-d - 1:-1], rtol=1e-12)


def test_user_keys_past_two_to_the_32():
    key = jax.random.PRNGKey(0)
    ks = np.asarray(rel.user_keys(key, 2 ** 32 - 1, 3))
    assert np.array_equal(ks[0], np.asarray(jax.random.fold_in(key, 2 ** 32 - 1)))
    assert np.array_equal(ks[1], np.asarray(jax.random.fold_in(jax.random.fold_in(key, 1), 0)))
    assert len({tuple(k) for k in ks}) == 3


def test_different_keys_uncorrelated():
    rng = np.random.default_rng(10)
    X, y = rng.standard_normal((60, 4)), rng.standard_normal(60)  # same shapes as the chunking test: no recompile
    a = _stream(X, y, 60, key=jax.random.PRNGKey(1))[:-1]
    b = _stream(X, y, 60, key=jax.random.PRNGKey(2))[:-1]
    with enable_x64():
        _, xy0 = clean_messages(X, y, 3.0, 2.0, 2.0)
        cov0, _ = clean_messages(X, y, 3.0, 2.0, 2.0)
    c = np.r_[cov0.sum(0), xy0.sum(0)]
    za, zb = a - c, b - c
    M = za.size
    assert abs(np.corrcoef(za, zb)[0, 1]) < 4 / math.sqrt(M)


@pytest.mark.slow  # a fresh 4-device process (8 s cold); tests/distributed covers users split over processes
def test_sharded_four_devices_equal_one(devices_runner):
    out = devices_runner("""
        import json, jax, numpy as np
        from sparsestat.linalg import enable_x64
        from sparsestat.privacy import aggregation as agg
        rng = np.random.default_rng(0)
        X, y = rng.standard_normal((203, 5)), rng.standard_normal(203)
        res = {}
        with enable_x64():
            for nd in (1, 4):
                for pub in (False, True):
                    s = agg.stream_nldp(jax.random.PRNGKey(4), [(X, y)], 5, epsilon=2.0, delta=1e-5,
                                        x_clip_l2=None if pub else 3.0, x_clip=2.0, y_clip=2.0,
                                        public_covariance=pub, chunk_size=64, n_devices=nd)
                    v = np.asarray(s.xy).tolist() + ([] if pub else np.asarray(s.cov_triu).tolist())
                    res[f"{nd}-{pub}"] = v + [float(s.n_users)]
        print(json.dumps({"devices": jax.device_count(), **res}))
    """)
    assert out["devices"] == 4
    for pub in ("False", "True"):
        one, four = np.array(out[f"1-{pub}"]), np.array(out[f"4-{pub}"])
        assert four[-1] == 203
        np.testing.assert_allclose(four, one, rtol=1e-12, atol=1e-9)


def _sums_from(A, b, n=1.0, d=None):
    d = len(b)
    iu = np.triu_indices(d)
    return agg.NLDPSums(A[iu] * n, np.asarray(b) * n, float(n))


def test_noise_free_hook_topk_recovers_theta():
    rng = np.random.default_rng(11)
    n, d, k = 5000, 12, 3
    theta = np.zeros(d)
    theta[[1, 5, 9]] = [0.6, -0.5, 0.62]
    X = rng.standard_normal((n, d))
    y = X @ theta + 0.1 * rng.standard_normal(n)
    cov, xy = clean_messages(X, y, 100.0, 100.0, 100.0)  # clip levels far above the data: no clipping
    sums = agg.NLDPSums(cov.sum(0), xy.sum(0), float(n))
    est = estim.server_estimate(sums, sigmas=(0.0, 0.0), y_clip=100.0, threshold="topk", n_nonzero_coefs=k)
    assert set(np.flatnonzero(est.coef)) == {1, 5, 9}
    np.testing.assert_allclose(est.u, np.linalg.solve(X.T @ X, X.T @ y), rtol=1e-8)
    ref = estim.server_estimate(sums, sigmas=(0.0, 0.0), y_clip=100.0, threshold="topk", n_nonzero_coefs=k,
                                refit=True)
    A, b = X.T @ X / n, X.T @ y / n
    S = [1, 5, 9]
    np.testing.assert_allclose(ref.coef[S], np.linalg.solve(A[np.ix_(S, S)], b[S]), rtol=1e-10)
    assert np.all(ref.coef[np.setdiff1d(np.arange(d), S)] == 0)


def test_soft_exact_zero_and_refit_empty():
    A = np.eye(4) * 2.0
    b = np.array([0.1, -0.3, 0.2, 0.05])
    sums = _sums_from(A, b)
    est = estim.server_estimate(sums, sigmas=(0.0, 0.0), y_clip=1.0, lam=0.16, refit=True)
    assert np.all(est.coef == 0.0) and est.lam == 0.16
    est = estim.server_estimate(sums, sigmas=(0.0, 0.0), y_clip=1.0, lam=0.1)
    np.testing.assert_allclose(est.coef, [0.0, -0.05, 0.0, 0.0], atol=1e-15)


def test_topk_ties_go_to_smaller_index():
    sums = _sums_from(np.eye(4), [0.5, -0.5, 0.5, 0.1])
    est = estim.server_estimate(sums, sigmas=(0.0, 0.0), y_clip=1.0, threshold="topk", n_nonzero_coefs=2)
    np.testing.assert_array_equal(np.flatnonzero(est.coef), [0, 1])


def test_indefinite_covariance_warns_and_stays_finite():
    A = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, -0.5]])
    sums = _sums_from(A, [1.0, 0.5, 0.2])
    with pytest.warns(RuntimeWarning, match="not positive definite"):
        est = estim.server_estimate(sums, sigmas=(1.0, 1.0), y_clip=1.0, lam=0.0)
    np.testing.assert_allclose(est.u, np.linalg.solve(A, [1.0, 0.5, 0.2]))
    assert est.indefinite and np.all(np.isfinite(est.coef))
    # singular: lstsq fallback with a warning, finite
    S = np.array([[1.0, 1.0], [1.0, 1.0]])
    with pytest.warns(RuntimeWarning):
        est = estim.server_estimate(_sums_from(S, [1.0, 1.0]), sigmas=(0.0, 0.0), y_clip=1.0, lam=0.0)
    assert np.all(np.isfinite(est.coef))
    np.testing.assert_allclose(est.u, [0.5, 0.5])
    # stabilize: ridge adds mu = 2 sqrt(d) sigma1 / sqrt(n); psd_floor floors eigenvalues at mu
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = estim.server_estimate(sums, sigmas=(3.0, 1.0), y_clip=1.0, lam=0.0, stabilize="ridge")
    mu = 2 * math.sqrt(3) * 3.0
    np.testing.assert_allclose(r.u, np.linalg.solve(A + mu * np.eye(3), [1.0, 0.5, 0.2]))
    f = estim.server_estimate(sums, sigmas=(0.1, 1.0), y_clip=1.0, lam=0.0, stabilize="psd_floor")
    w, V = np.linalg.eigh(A)
    Af = (V * np.maximum(w, 2 * math.sqrt(3) * 0.1)) @ V.T
    np.testing.assert_allclose(f.u, np.linalg.solve(Af, [1.0, 0.5, 0.2]), rtol=1e-10)


def test_server_estimate_bad_input():
    sums = _sums_from(np.eye(3), [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="threshold"):
        estim.server_estimate(sums, sigmas=(0, 0), y_clip=1.0, threshold="hard")
    with pytest.raises(ValueError, match="stabilize"):
        estim.server_estimate(sums, sigmas=(0, 0), y_clip=1.0, stabilize="shrink")
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        estim.server_estimate(sums, sigmas=(0, 0), y_clip=1.0, threshold="topk")
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        estim.server_estimate(sums, sigmas=(0, 0), y_clip=1.0, threshold="topk", n_nonzero_coefs=4)
    with pytest.raises(ValueError, match="lam"):
        estim.server_estimate(sums, sigmas=(0, 0), y_clip=1.0, lam=-1.0)


def test_release_bad_input(x64):
    key = jax.random.PRNGKey(0)
    kw = dict(epsilon=1.0, delta=DELTA, x_clip_l2=1.0, x_clip=1.0, y_clip=1.0)
    with pytest.raises(ValueError, match="one PRNG key per user"):
        rel.release_nldp(key, np.ones((3, 2)), np.ones(3), **kw)
    with pytest.raises(ValueError, match="y must"):
        rel.release_nldp(key, np.ones(2), np.ones(2), **kw)
    with pytest.raises(ValueError, match="x_clip"):
        rel.release_nldp(key, np.ones(2), 1.0, epsilon=1.0, delta=DELTA, x_clip_l2=1.0, x_clip="auto",
                         y_clip=1.0)


def test_iht_groups_and_step():
    g = iht_groups(jax.random.PRNGKey(0), 11, 3)
    assert [len(a) for a in g] == [4, 4, 3]
    allu = np.sort(np.concatenate(g))
    np.testing.assert_array_equal(allu, np.arange(11))
    g2 = iht_groups(jax.random.PRNGKey(0), 11, 3)
    assert all(np.array_equal(a, b) for a, b in zip(g, g2))
    with pytest.raises(ValueError, match="n_rounds"):
        iht_groups(jax.random.PRNGKey(0), 2, 3)
    theta = jnp.array([0.0, 0.0, 0.0])
    out = estim.iht_step(theta, jnp.array([-4.0, 1.0, -6.0]), 2, step_size=1.0, n_nonzero_coefs=2, radius=1.0)
    np.testing.assert_allclose(out, np.array([2.0, 0.0, 3.0]) / math.sqrt(13), rtol=1e-6)


def test_float32_release_warns_about_truncated_tails():
    from sparsestat.exceptions import PrivacyWarning

    key = jax.random.PRNGKey(0)
    with enable_x64(False):
        with pytest.warns(PrivacyWarning, match="truncated"):
            rel.release_nldp(key, np.ones(3, np.float32), 1.0, epsilon=1.0, delta=DELTA, x_clip=1.0, y_clip=1.0,
                             public_covariance=True)
