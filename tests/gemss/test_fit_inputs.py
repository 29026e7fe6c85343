"""gemss.fit refuses bad input with named errors before compiling (NaN in X is allowed: missing values)."""

import jax
import numpy as np
import pytest

from sparsestat.gemss import fit

X = np.random.default_rng(0).standard_normal((12, 5))
Y = X[:, 0]


@pytest.mark.parametrize("args, kw, match", [
    ((np.zeros(5), Y), {}, "X must be a non-empty 2-D"),
    ((X, Y[:10]), {}, "y must have shape"),
    ((X, np.full(12, np.nan)), {}, "y contains NaN"),
    ((X, Y), dict(n_components=0), "n_components must be"),
    ((X, Y), dict(sparsity=6), "sparsity must be <= n_features"),
    ((X, Y), dict(n_iter=2.5), "n_iter must be"),
])
def test_bad_input(args, kw, match):
    opts = dict(n_components=2, sparsity=2, n_iter=10) | kw
    with pytest.raises(ValueError, match=match):
        fit(*args, jax.random.key(0), **opts)
