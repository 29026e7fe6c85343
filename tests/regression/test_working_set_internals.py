"""Working-set internals against plain references: the selection primitive, the blocked CD epoch,
path warm starts, odd feature counts (padding to the CD block)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.linear_model import Lasso as SkLasso

from sparsestat.linalg import enable_x64
from sparsestat.regression import L1, L1L2, Lasso, LassoCV, Quadratic, lasso_path, solve_batch
from sparsestat.regression import inner_cd, working_set as ws
from sparsestat.regression._problem import design

from ._data import alpha_max, numpy_gap, problem


@pytest.mark.parametrize("seed", range(6))
def test_select_top_is_a_top_m_set_in_index_order(seed, x64):
    rng = np.random.default_rng(seed)
    p, size = 300, 128
    s = rng.standard_normal(p) ** 2
    s[rng.integers(0, p, 20)] = np.inf           # the support
    if seed % 2:
        s[rng.random(p) < 0.7] = 0.0             # many exact ties at zero
        s = np.round(s, 1)                       # and ties elsewhere
    sel = jax.jit(ws.select_top, static_argnums=2)
    for m in (8, 40, 128):
        idx = np.asarray(sel(jnp.asarray(s), m, size))
        assert len(set(idx.tolist())) == size      # distinct: scatters back without conflicts
        chosen = idx[:m]
        assert np.all(np.diff(chosen) > 0)         # index order
        kth = np.sort(s)[::-1][m - 1]
        assert np.all(s[chosen] >= kth) and np.sum(s > kth) <= m
        assert np.all(np.isin(np.flatnonzero(np.isinf(s)), chosen)) or m < np.isinf(s).sum()


def test_blocked_cd_epoch_equals_coordinatewise_cd(x64):
    rng = np.random.default_rng(1)
    B, n, m = 32, 50, 24
    Z = rng.standard_normal((B, n)) / np.sqrt(n)
    Z[5] = 0.0  # an empty row stays at zero
    yt = rng.standard_normal(n)
    w = np.where(rng.random(B) < 0.5, rng.standard_normal(B), 0.0)
    w[5] = 0.0
    pen = L1L2(0.03 / 0.7, 0.7)  # l1 = alpha l1_ratio = 0.03, l2 = alpha (1 - l1_ratio)
    l1, l2 = 0.03, 0.03 / 0.7 * 0.3
    L = np.sum(Z * Z, axis=1)
    inv = np.where(L > 0, 1 / np.where(L > 0, L, 1), 0.0)
    out_w, out_r = inner_cd._cd_epoch(jnp.asarray(Z), inner_cd._block_gram(jnp.asarray(Z), m), jnp.asarray(inv), jnp.asarray(w),
                                jnp.asarray(yt - w @ Z), pen, m)
    # reference: one cyclic pass, one coordinate at a time, over the first m rows
    wr, r = w.copy(), yt - w @ Z
    for j in range(m):
        if L[j] == 0:
            wr[j] = 0.0
            continue
        z = wr[j] + Z[j] @ r / L[j]
        new = np.sign(z) * max(abs(z) - l1 / L[j], 0.0) / (1 + l2 / L[j])
        r -= (new - wr[j]) * Z[j]
        wr[j] = new
    np.testing.assert_allclose(np.asarray(out_w), wr, rtol=0, atol=1e-13)
    np.testing.assert_allclose(np.asarray(out_r), r, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(np.asarray(out_w)[m:], w[m:])  # padding rows untouched


def test_block_gram_blocks_of_the_solved_rows(x64):
    """The diagonal 8 x 8 blocks of Z Z^T for the first m rows, zero past m (bucket padding)."""
    Z = jnp.asarray(np.random.default_rng(2).standard_normal((64, 30)))
    G = np.asarray(inner_cd._block_gram(Z, 40))
    Zb = np.asarray(Z).reshape(8, 8, 30)
    np.testing.assert_allclose(G[:5], (Zb @ Zb.transpose(0, 2, 1))[:5], rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(G[5:], 0.0)


def _maps(Z):
    Zj = jnp.asarray(Z)
    return (lambda rt: Zj @ rt), (lambda d: d @ Zj)


@pytest.mark.parametrize("pen_kind", ["l1", "l1l2"])
def test_support_cg_step_solves_the_orthant_quadratic_and_never_ascends(pen_kind, x64):
    """With enough iterations the support step reaches the closed-form minimiser of the subproblem on the
    current signs (when that minimiser keeps the signs: it is then the Lasso/ENet solution restricted to
    the support); with few iterations, or signs that must change, it still never increases the objective
    and never moves a coordinate across zero."""
    rng = np.random.default_rng(4)
    B, n = 16, 40
    Z = rng.standard_normal((B, n)) / np.sqrt(n)
    w_true = np.zeros(B)
    w_true[:5] = [3.0, -2.0, 2.5, -3.0, 4.0]
    yt = w_true @ Z + 0.01 * rng.standard_normal(n)
    pen = L1(0.01) if pen_kind == "l1" else L1L2(0.02, 0.5)
    l1, l2 = (0.01, 0.0) if pen_kind == "l1" else (0.01, 0.01)
    visited = jnp.ones(B, bool)

    def obj(w):
        r = yt - w @ Z
        return 0.5 * r @ r + l1 * np.abs(w).sum() + 0.5 * l2 * w @ w

    S = np.arange(5)
    s = np.sign(w_true[S])
    ZS = Z[S]
    exact = np.linalg.solve(ZS @ ZS.T + l2 * np.eye(5), ZS @ yt - l1 * s)
    assert np.all(np.sign(exact) == s)
    w0 = w_true.copy()
    w0[S] *= 0.5  # same signs, far from the minimiser
    out = np.asarray(inner_cd._support_cg_step(*_maps(Z), jnp.asarray(w0), jnp.asarray(yt - w0 @ Z), pen, visited, 5))
    np.testing.assert_allclose(out[S], exact, rtol=1e-9, atol=1e-10)
    np.testing.assert_array_equal(out[5:], 0.0)
    for trial in range(20):  # random supports and signs: descent, no sign crossing
        w0 = np.where(rng.random(B) < 0.5, rng.standard_normal(B), 0.0)
        out = np.asarray(inner_cd._support_cg_step(*_maps(Z), jnp.asarray(w0), jnp.asarray(yt - w0 @ Z), pen, visited,
                                             int(rng.integers(1, 6))))
        assert obj(out) <= obj(w0) + 1e-12
        assert np.all(out * w0 >= 0) and np.all(out[w0 == 0] == 0)


@pytest.mark.slow  # compiles several bucket sizes; run with -m slow
def test_path_warm_start_equals_cold_solves(x64):
    X, y, _ = problem(40, 60, seed=3)
    amax = alpha_max(X, y, False)
    alphas = amax * np.geomspace(0.5, 0.02, 6)
    _, coefs, gaps = lasso_path(X, y, alphas=alphas, tol=1e-12, max_iter=100000)
    scale = np.mean(y * y)
    for k, a in enumerate(alphas):
        cold = solve_batch(X, y[None], Quadratic(), L1(float(a)), tol=1e-12, max_iter=100000, fit_intercept=False)
        w_cold = np.asarray(cold.coef[0])
        np.testing.assert_allclose(coefs[:, k], w_cold, atol=1e-6)
        g, P_warm, _ = numpy_gap(X, y, coefs[:, k], a, 1.0, False, None)
        _, P_cold, _ = numpy_gap(X, y, w_cold, a, 1.0, False, None)
        # the reported gap meets tol, never exceeds the residual gap recomputed in numpy (it keeps the
        # best dual point), and bounds the warm solution's excess over the cold one; slack: rounding of
        # a difference of O(P) numbers computed in two summation orders (jax vs numpy), 1e-14 P
        eps = 1e-14 * P_warm
        assert gaps[k] <= 1e-12 * scale * 1.01
        assert gaps[k] <= g + eps
        assert P_warm - P_cold <= gaps[k] + eps


@pytest.mark.slow  # compiles several bucket sizes; run with -m slow
def test_feature_count_not_a_multiple_of_the_cd_block():
    # n p > 2^16: no power-of-two padding; the design is padded to the shape ladder (eight sizes an octave,
    # multiples of the CD block of 8 features): 700 x 101 -> 704 x 104
    rng = np.random.default_rng(0)
    X = rng.standard_normal((700, 101))
    y = X[:, :5] @ np.ones(5) + 0.1 * rng.standard_normal(700)
    a = 0.02
    ours = Lasso(alpha=a, tol=1e-10).fit(X, y)
    peer = SkLasso(alpha=a, tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, peer.coef_, atol=1e-6)
    with enable_x64():
        assert design(X).shape == (704, 104)
        assert design(X, pad_small=False).shape == (700, 104)


@pytest.mark.slow  # compiles several bucket sizes; run with -m slow
def test_lassocv_n_alphas_is_the_old_name_of_an_integer_alphas():
    X, y, _ = problem(40, 60, seed=5)
    a = LassoCV(alphas=6, cv=3, tol=1e-8).fit(X, y)
    b = LassoCV(n_alphas=6, alphas=100, cv=3, tol=1e-8).fit(X, y)
    np.testing.assert_array_equal(a.alphas_, b.alphas_)
    assert a.alpha_ == b.alpha_
    with pytest.raises(ValueError, match="n_alphas"):
        LassoCV(n_alphas=0).fit(X, y)


@pytest.mark.parametrize("weighted", [False, True])
def test_intercept_column_means_from_the_transposed_copy(weighted, monkeypatch, x64):
    """Large unweighted fits with an intercept take X's column means from the native transpose (no pass
    over X in the compiled call); forced here at a small size, the fit equals the one that computes them
    in the program. Weighted fits ignore a design's unweighted means."""
    import importlib

    from sparsestat.linalg import host

    solve_mod = importlib.import_module("sparsestat.regression.solve")

    X, y, _ = problem(60, 150, seed=11)
    X = X + np.linspace(-2.0, 3.0, X.shape[1])            # columns far from centred
    y = y + 4.0
    sw = np.random.default_rng(2).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    a = alpha_max(X, y, True, sw) / 10
    kw = dict(solver="ws_cd", tol=1e-10, fit_intercept=True, sample_weights=None if sw is None else sw[None])
    ref = solve_batch(X, y[None], Quadratic(), L1(a), **kw)
    monkeypatch.setattr(solve_mod, "NATIVE_TRANSPOSE_MIN", 0)
    monkeypatch.setattr(host, "NATIVE_TRANSPOSE_MIN", 0)
    seen = []
    real = ws.ws_solve
    monkeypatch.setattr(solve_mod, "ws_solve", lambda *a_, **k: seen.append(k["xm"]) or real(*a_, **k))
    got = solve_batch(X, y[None], Quadratic(), L1(a), **kw)
    assert (seen[0] is None) == weighted
    if not weighted:
        np.testing.assert_allclose(seen[0][0, :X.shape[1]], X.mean(0), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(got.coef), np.asarray(ref.coef), atol=1e-9)
    np.testing.assert_allclose(np.asarray(got.intercept), np.asarray(ref.intercept), atol=1e-9)
    # a prepared design carrying unweighted means, used for a weighted fit: the means are not taken
    if weighted:
        D = design(X, col_means=True)
        assert D.col_means is not None
        got_d = solve_batch(D, y[None], Quadratic(), L1(a), **kw)
        assert seen[-1] is None
        np.testing.assert_allclose(np.asarray(got_d.coef), np.asarray(ref.coef), atol=1e-9)
