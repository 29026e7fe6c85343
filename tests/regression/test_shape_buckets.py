"""Shape buckets: n_samples and n_features are zero-padded to a ladder of sizes, so a dataset of a
similar size reuses the compiled programs, and the padding is exact (weight-0 rows, zero columns)."""

from __future__ import annotations

import numpy as np
import pytest

from sparsestat.linalg import enable_x64
from sparsestat.regression import L1, MCP, Lasso, Logistic, Quadratic, solve_batch
from sparsestat.linalg.shapes import ladder, next_pow2
from sparsestat.regression._problem import padded_shape
from tests._compiles import count_compiles


def test_ladder_properties():
    sizes = np.arange(1, 70000)
    out = np.array([ladder(m) for m in sizes])
    assert np.all(out >= sizes)
    assert np.all(np.diff(out) >= 0)                        # monotone
    assert np.all(out[64:] % 8 == 0)                        # CD blocks of 8 past 64
    assert np.max(out[64:] / sizes[64:]) <= 1.125 + 1e-12   # at most 12.5 % padding
    assert len(np.unique(out[1000:2000])) <= 9              # eight sizes an octave
    assert [next_pow2(m) for m in (1, 2, 3, 64, 65)] == [1, 2, 4, 64, 128]
    assert next_pow2(3, lo=8) == 8 and next_pow2(300, cap=256) == 256
    assert padded_shape(40, 60) == (64, 64)                 # small: powers of two
    assert padded_shape(200, 500) == padded_shape(201, 507) == (208, 512)
    assert padded_shape(1000, 1000) == (1032, 1024)        # no power-of-two row stride
    assert padded_shape(1000, 5000) == (1000, 5000)        # large: p to a multiple of 8 only


def _problem(n, p, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X[:, :5] @ np.array([2.0, -1.0, 1.0, 0.5, -0.5]) + rng.standard_normal(n)
    return X, y, np.max(np.abs(X.T @ (y - y.mean()))) / n


def test_new_shape_in_bucket_compiles_nothing():
    X, y, amax = _problem(70, 1000, 0)
    Lasso(alpha=0.1 * amax).fit(X, y)
    for n, p, seed in [(71, 1001, 1), (66, 993, 2), (72, 1024, 3)]:
        X, y, amax = _problem(n, p, seed)
        with count_compiles() as c:
            est = Lasso(alpha=0.1 * amax).fit(X, y)
        assert c.n == 0, (n, p, c)
        assert est.coef_.shape == (p,) and np.count_nonzero(est.coef_) > 0


@pytest.mark.parametrize("n, p, kind", [
    (130, 600, "lasso"), (90, 100, "logistic"),
    pytest.param(90, 100, "lasso", marks=pytest.mark.slow), pytest.param(130, 600, "mcp", marks=pytest.mark.slow),
    pytest.param(90, 100, "mcp", marks=pytest.mark.slow), pytest.param(130, 600, "logistic", marks=pytest.mark.slow),
], ids=["lasso-ladder", "logistic-pow2", "lasso-pow2", "mcp-ladder", "mcp-pow2", "logistic-ladder"])
def test_padding_is_exact(n, p, kind):
    X, y, amax = _problem(n, p, 5)
    df, pen, yy = {"lasso": (Quadratic(), L1(0.05 * amax), y),
                   "mcp": (Quadratic(), MCP(0.1 * amax, 3.0), y),
                   "logistic": (Logistic(), L1(0.02), np.sign(y))}[kind]
    with enable_x64():
        padded, plain = (solve_batch(X, yy[None], df, pen, tol=1e-15, max_iter=20000, pad_small=ps)
                         for ps in (True, False))
    assert padded.coef.shape == plain.coef.shape == (1, p)
    np.testing.assert_allclose(padded.coef, plain.coef, rtol=0, atol=1e-12)
    np.testing.assert_allclose(padded.intercept, plain.intercept, rtol=0, atol=1e-12)
    assert np.count_nonzero(np.asarray(plain.coef)) > 0
