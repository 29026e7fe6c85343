"""The native CPU kernels (sparsestat.linalg.native): each epoch against a coordinate-descent epoch
written out in numpy, float64 and float32, under jit and vmap; the sparse (ELL) kernel against the dense
one on the same centred, weighted columns; the pure-JAX fallback (SPARSESTAT_NATIVE=0) against the
native path on whole fits."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.linalg import enable_x64, native

pytestmark = pytest.mark.skipif(os.environ.get("SPARSESTAT_NATIVE", "1") == "0",
                                reason="native kernels disabled by SPARSESTAT_NATIVE=0")


def test_kernels_are_built_and_registered():
    # the install builds the extension (setup.py); a failed build would silently fall back to the
    # pure-JAX paths, so the test tier insists on it
    assert native.available(), native.load_error()
    assert native.use_native(jnp.float32) and native.use_native(jnp.float64)
    assert not native.use_native(jnp.int32)


def _numpy_epoch(Z, inv_L, l1, l2, w, r, m, h=None, positive=False):
    """Cyclic CD, one coordinate at a time, in plain numpy (the definition the kernel implements)."""
    w, r = w.copy(), r.copy()
    for j in range(m):
        s = inv_L[j]
        new = 0.0
        if s > 0:
            v = w[j] + (Z[j] @ r) * s
            t = l1[j] * s
            num = max(v - t, 0.0) if positive else np.sign(v) * max(abs(v) - t, 0.0)
            new = num / (1.0 + s * l2)
        d = new - w[j]
        r -= d * (Z[j] if h is None else h * Z[j])
        w[j] = new
    return w, r


def _problem(rng, B=48, n=37, m=40):
    Z = rng.standard_normal((B, n))
    Z[3] = 0.0   # an empty column: set to 0, residual unchanged
    w = rng.standard_normal(B) * (rng.random(B) < 0.4)
    w[3] = 0.7
    r = rng.standard_normal(n)
    h = rng.random(n) + 0.5
    l1 = 0.3 * (rng.random(B) + 0.5)
    return Z, w, r, h, l1, m


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("l2", [0.0, 0.4])
def test_cd_epoch_matches_numpy_float64(weighted, positive, l2):
    rng = np.random.default_rng(0)
    Z, w, r, h, l1, m = _problem(rng)
    hh = h if weighted else None
    L = ((Z * Z) @ (h if weighted else np.ones_like(h)))
    inv_L = np.where(L > 0, 1.0 / np.where(L > 0, L, 1.0), 0.0)
    w_ref, r_ref = _numpy_epoch(Z, inv_L, l1, l2, w, r, m, hh, positive)
    with enable_x64():
        f = jax.jit(lambda w, r, m: native.cd_epoch(Z, inv_L, l1, l2, w, r, m, h=hh, positive=positive))
        w_n, r_n = f(jnp.asarray(w), jnp.asarray(r), m)
        assert w_n.dtype == jnp.float64
        w_n, r_n = np.asarray(w_n), np.asarray(r_n)
    np.testing.assert_allclose(w_n, w_ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(r_n, r_ref, rtol=0, atol=1e-12)
    assert np.array_equal(w_n[m:], w[m:])   # rows past m untouched
    assert w_n[3] == 0.0


def test_cd_epoch_float32_and_traced_m():
    rng = np.random.default_rng(1)
    Z, w, r, _, l1, _ = _problem(rng)
    inv_L = 1.0 / np.maximum((Z * Z).sum(1), 1e-300)
    inv_L[3] = 0.0
    f = jax.jit(lambda w, r, m: native.cd_epoch(jnp.asarray(Z, jnp.float32), jnp.asarray(inv_L, jnp.float32),
                                                jnp.asarray(l1, jnp.float32), 0.1, w, r, m))
    for m in (0, 8, 48):   # one program, m traced
        w_ref, r_ref = _numpy_epoch(Z, inv_L, l1, 0.1, w, r, m)
        w32, r32 = f(jnp.asarray(w, jnp.float32), jnp.asarray(r, jnp.float32), m)
        assert w32.dtype == jnp.float32
        np.testing.assert_allclose(np.asarray(w32), w_ref, atol=2e-5)
        np.testing.assert_allclose(np.asarray(r32), r_ref, atol=2e-4)
    assert f._cache_size() == 1


def test_cd_epoch_under_vmap_equals_a_loop():
    rng = np.random.default_rng(2)
    Z, _, _, _, l1, m = _problem(rng)
    inv_L = 1.0 / np.maximum((Z * Z).sum(1), 1e-300)
    W = rng.standard_normal((3, Z.shape[0]))
    Rr = rng.standard_normal((3, Z.shape[1]))
    with enable_x64():
        one = lambda w, r: native.cd_epoch(Z, inv_L, l1, 0.0, w, r, m)  # noqa: E731
        wb, rb = jax.jit(jax.vmap(one))(jnp.asarray(W), jnp.asarray(Rr))
        for k in range(3):
            w_ref, r_ref = _numpy_epoch(Z, inv_L, l1, 0.0, W[k], Rr[k], m)
            np.testing.assert_allclose(np.asarray(wb[k]), w_ref, atol=1e-13)
            np.testing.assert_allclose(np.asarray(rb[k]), r_ref, atol=1e-12)


@pytest.mark.parametrize("positive", [False, True])
def test_ell_epoch_equals_the_dense_epoch_on_the_centred_columns(positive):
    """Columns with 0-4 nonzeros, implicit centring and sample weights: the ELL kernel's (w, u + c sq)
    equals the dense kernel's (w, r) on Z_j = sq o (x_j - xm_j)."""
    rng = np.random.default_rng(3)
    n, B, K, m = 30, 24, 4, 20
    X = np.zeros((n, B))
    R = np.zeros((B, K), np.int32)
    Xv = np.zeros((B, K))
    for j in range(B):
        cnt = j % (K + 1)
        rows = np.sort(rng.choice(n, cnt, replace=False))
        R[j, :cnt] = rows
        Xv[j, :cnt] = rng.standard_normal(cnt)
        X[rows, j] = Xv[j, :cnt]
    omega = rng.random(n) + 0.2
    omega[-2:] = 0.0   # zero-weight (padding) rows
    sq = np.sqrt(omega)
    xm = (omega @ X) / omega.sum()
    Z = ((X - xm) * sq[:, None]).T
    V = Xv * sq[R] * (np.arange(K)[None, :] < (np.arange(B) % (K + 1))[:, None])
    omx = (omega[:, None] * X).sum(0)
    y = rng.standard_normal(n)
    w = rng.standard_normal(B) * (rng.random(B) < 0.5)
    rt = sq * (y - omega @ y / omega.sum()) - Z.T @ w
    u = rt.copy()   # c = 0: r = u
    L = (Z * Z).sum(1)
    inv_L = np.where(L > 1e-14, 1.0 / np.where(L > 1e-14, L, 1.0), 0.0)
    l1 = np.full(B, 0.05)
    w_ref, r_ref = _numpy_epoch(Z, inv_L, l1, 0.2, w, rt, m, positive=positive)
    with enable_x64():
        w_e, u_e, c_e = jax.jit(lambda w, u: native.cd_epoch_ell(R, V, xm, omx, sq, omega.sum(), inv_L, l1, 0.2,
                                                                 w, u, 0.0, m, positive=positive))(w, u)
    np.testing.assert_allclose(np.asarray(w_e), w_ref, atol=1e-12)
    np.testing.assert_allclose(np.asarray(u_e) + float(c_e) * sq, r_ref, atol=1e-12)


_FIT = r"""
import json, sys, warnings
import numpy as np, scipy.sparse as sp
warnings.simplefilter("ignore")
from sparsestat.linalg import native
from sparsestat.regression import ElasticNet, Lasso, SparseLogisticRegression
rng = np.random.default_rng(0)
X = rng.standard_normal((60, 90)); X[:, 5] = 0.0
y = X[:, :4] @ np.array([2.0, -1.5, 1.0, 0.5]) + 0.3 * rng.standard_normal(60)
Xs = sp.random(120, 80, density=0.05, format="csc", random_state=1, data_rvs=rng.standard_normal)
ys = Xs @ np.r_[np.ones(5), np.zeros(75)] + 0.1 * rng.standard_normal(120)
out = {"native": native.available()}
out["lasso"] = Lasso(alpha=0.05, tol=1e-12).fit(X, y).coef_.tolist()
out["enet"] = ElasticNet(alpha=0.05, l1_ratio=0.6, positive=True, fit_intercept=False, tol=1e-12).fit(X, y).coef_.tolist()
out["sparse"] = Lasso(alpha=0.01, tol=1e-12).fit(Xs, ys).coef_.tolist()
out["logistic"] = SparseLogisticRegression(alpha=0.02, tol=1e-12).fit(X, (y > 0).astype(int)).coef_.ravel().tolist()
print(json.dumps(out))
"""


def _fit_in_subprocess(native_flag):
    env = dict(os.environ, SPARSESTAT_NATIVE=native_flag, JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", _FIT], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow   # two fresh processes compiling four fits each: 31 s of the default tier
def test_fallback_fits_equal_native_fits():
    """The pure-JAX path (SPARSESTAT_NATIVE=0) and the native path solve the same problems: dense and
    sparse Lasso, a positive elastic net, sparse logistic (prox-Newton's weighted epoch), at tol 1e-12."""
    on, off = _fit_in_subprocess("1"), _fit_in_subprocess("0")
    assert on["native"] and not off["native"]
    for key in ("lasso", "enet", "sparse", "logistic"):
        np.testing.assert_allclose(on[key], off[key], atol=1e-8, err_msg=key)
        assert np.count_nonzero(on[key]) > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transpose_into_any_strides(dtype, monkeypatch):
    from sparsestat.linalg import host
    from sparsestat.linalg.host import aligned_empty, to_device

    monkeypatch.setattr(host, "NATIVE_TRANSPOSE_MIN", 0)   # to_device below takes the native transpose

    rng = np.random.default_rng(4)
    X = rng.standard_normal((301, 517)).astype(dtype)   # > 2^16 entries: the threaded path
    for src in (X, np.asfortranarray(X), X[::2, 1::3], X[:7, :3]):
        out = aligned_empty((src.shape[1] + 5, src.shape[0] + 3), dtype)
        out[...] = 7
        assert native.transpose_into(src, out)
        assert np.array_equal(out[:src.shape[1], :src.shape[0]], src.T)
        assert (out[src.shape[1]:] == 7).all() and (out[:, src.shape[0]:] == 7).all()   # padding untouched
    assert not native.transpose_into(X, aligned_empty((517, 301), np.float16 if dtype == np.float32 else np.float32))
    with enable_x64():
        D = to_device(X, transpose=True, shape=(520, 304))
        assert D.dtype == dtype
        assert np.array_equal(np.asarray(D)[:517, :301], X.T) and not np.asarray(D)[517:].any()
        assert not np.asarray(D)[:, 301:].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transpose_into_column_sums(dtype, monkeypatch):
    """With ``sums`` the transpose also returns the column sums (in double, for any strides); a
    to_host_layout asked for them gets them from the native copy or, below its threshold, from numpy."""
    from sparsestat.linalg import host
    from sparsestat.linalg.host import aligned_empty, to_host_layout

    rng = np.random.default_rng(5)
    X = (rng.standard_normal((301, 517)) + 3.0).astype(dtype)
    for src in (X, np.asfortranarray(X), X[::2, 1::3]):
        out = aligned_empty((src.shape[1], src.shape[0]), dtype)
        sums = np.full(src.shape[1], np.nan)
        assert native.transpose_into(src, out, sums)
        assert np.array_equal(out, src.T)
        np.testing.assert_allclose(sums, src.astype(np.float64).sum(axis=0), rtol=1e-13)
    with pytest.raises(ValueError, match="sums"):
        native.transpose_into(X, aligned_empty((517, 301), dtype), np.zeros(3))
    with pytest.raises(ValueError, match="sums"):
        native.transpose_into(X, aligned_empty((517, 301), dtype), np.zeros(517, np.float32))
    with enable_x64():
        for threshold in (0, 2 ** 40):     # the native copy, then numpy's
            monkeypatch.setattr(host, "NATIVE_TRANSPOSE_MIN", threshold)
            sums = np.zeros(517)
            H = to_host_layout(X, transpose=True, shape=(520, 304), col_sums=sums)
            assert np.array_equal(H[:517, :301], X.T) and not H[517:].any() and not H[:, 301:].any()
            np.testing.assert_allclose(sums, X.astype(np.float64).sum(axis=0), rtol=1e-12)
        with pytest.raises(ValueError, match="col_sums"):
            to_host_layout(X, transpose=True, col_sums=np.zeros(301))


def test_another_jaxlib_minor_version_falls_back_with_a_reason():
    """An extension built against another jaxlib minor version is not registered (XLA's FFI is only
    known to be compatible within one), says why, and keeps the jaxlib-independent transpose."""
    code = ("import jax, jaxlib.version as v; v.__version__ = '0.1.0'\n"
            "import numpy as np\n"
            "from sparsestat.linalg import native\n"
            "out = np.empty((3, 2)); ok = native.transpose_into(np.arange(6.0).reshape(2, 3), out)\n"
            "print(native.available(), ok, repr(native.load_error()))")
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = proc.stdout.strip().splitlines()[-1]
    assert line.startswith("False True"), line
    assert "0.1.0" in line and "reinstall" in line


@pytest.mark.parametrize("positive", [False, True])
def test_rows_kernels_read_the_working_set_in_place(positive):
    """rows_stats / rows_matvec / rows_rmatvec / cd_epoch_rows on XT[idx] (unordered indices, rows past m
    ignored, zero-weight samples) against the explicit centred, weighted block and the dense epoch."""
    rng = np.random.default_rng(5)
    p, n, B, m = 40, 29, 16, 11
    XT = rng.standard_normal((p, n)) + 3.0   # features with means: the centring matters
    idx = rng.permutation(p)[:B].astype(np.int32)
    om = rng.random(n) + 0.3
    om[[2, 7]] = 0.0
    sq = np.sqrt(om)
    xm = rng.standard_normal(B)
    XW = XT[idx]
    Z = (XW - xm[:, None]) * sq[None, :]
    with enable_x64():
        c, L = native.rows_stats(jnp.asarray(XT), jnp.asarray(idx), m, xm, om)
        np.testing.assert_allclose(np.asarray(L)[:m], (Z[:m] ** 2).sum(1), rtol=1e-13)
        np.testing.assert_allclose(np.asarray(c)[:m], ((XW[:m] - xm[:m, None]) * om).sum(1), rtol=1e-12, atol=1e-12)
        assert not np.asarray(L)[m:].any() and not np.asarray(c)[m:].any()
        v = rng.standard_normal(n)
        u = np.asarray(native.rows_matvec(jnp.asarray(XT), jnp.asarray(idx), m, v))
        np.testing.assert_allclose(u[:m], XW[:m] @ v, rtol=1e-13)
        assert not u[m:].any()
        a = rng.standard_normal(B)
        np.testing.assert_allclose(np.asarray(native.rows_rmatvec(jnp.asarray(XT), jnp.asarray(idx), m, a)),
                                   a[:m] @ XW[:m], rtol=1e-12, atol=1e-12)
        # one epoch: the state t = om o r against the dense epoch on Z with rt = sq o r
        w = rng.standard_normal(B) * (rng.random(B) < 0.5)
        w[m:] = 0.0
        r = rng.standard_normal(n)
        inv_L = 1.0 / (Z ** 2).sum(1)
        l1 = np.full(B, 0.4)
        w_ref, rt_ref = _numpy_epoch(Z, inv_L, l1, 0.3, w, sq * r, m, positive=positive)
        w_n, t_n = native.cd_epoch_rows(jnp.asarray(XT), jnp.asarray(idx), m, xm, om, c, inv_L, l1, 0.3, w, om * r,
                                        positive=positive)
        w_n, t_n = np.asarray(w_n), np.asarray(t_n)
    np.testing.assert_allclose(w_n, w_ref, atol=1e-12)
    np.testing.assert_allclose(t_n, sq * rt_ref, atol=1e-12)   # t = om r = sq rt


def test_bad_arguments_are_named_errors():
    Z = jnp.ones((4, 3))
    with pytest.raises(ValueError, match="cd_epoch: r must have shape"):
        native.cd_epoch(Z, jnp.ones(4), 0.1, 0.0, jnp.zeros(4), jnp.zeros(5), 4)
    with pytest.raises(ValueError, match="cd_epoch: Z must be 2-D"):
        native.cd_epoch(jnp.ones(4), jnp.ones(4), 0.1, 0.0, jnp.zeros(4), jnp.zeros(4), 4)
    with pytest.raises(TypeError, match="float32 or float64"):
        native.cd_epoch(jnp.ones((4, 3), jnp.int32), jnp.ones(4), 0.1, 0.0, jnp.zeros(4), jnp.zeros(3), 4)
    with pytest.raises(ValueError, match="rows_matvec: idx must be a 1-D integer array"):
        native.rows_matvec(Z, jnp.ones(2), 2, jnp.ones(3))
    with pytest.raises(ValueError, match="rows_stats: om must have shape"):
        native.rows_stats(Z, jnp.arange(2), 2, 0.0, jnp.ones(4))
    with pytest.raises(ValueError, match="cd_epoch_ell: R must have V's shape"):
        native.cd_epoch_ell(jnp.zeros((2, 3), jnp.int32), jnp.ones((2, 2)), 0.0, 0.0, 1.0, 1.0, 1.0, 0.1, 0.0,
                            jnp.zeros(2), jnp.zeros(5), 0.0, 2)
