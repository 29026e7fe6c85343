"""The one Kronecker apply (linalg.modes) against materialised numpy products, jax and numpy forms."""

from functools import reduce

import numpy as np
import pytest

from sparsestat.linalg import Kronecker, enable_x64, kron_matvec, kron_vectors, mode_product, multi_mode


def _factors(rng, shapes, complex_):
    fs = [rng.standard_normal(s) for s in shapes]
    if complex_:
        fs = [f + 1j * rng.standard_normal(f.shape) for f in fs]
    return fs


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("shapes", [[(3, 4)], [(3, 4), (5, 2)], [(2, 3), (4, 4), (3, 5)]])
def test_kron_matvec_matches_numpy_kron(shapes, complex_):
    rng = np.random.default_rng(0)
    fs = _factors(rng, shapes, complex_)
    dense = reduce(np.kron, fs)
    x = rng.standard_normal(dense.shape[1])
    X = rng.standard_normal((dense.shape[1], 3))
    host = kron_matvec(fs, x, xp=np)
    assert isinstance(host, np.ndarray)
    np.testing.assert_allclose(host, dense @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(kron_matvec(fs, X, xp=np), dense @ X, rtol=1e-12, atol=1e-12)
    with enable_x64():
        np.testing.assert_allclose(np.asarray(kron_matvec(fs, x)), dense @ x, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.asarray(Kronecker(fs).matvec(x)), host, rtol=1e-12, atol=1e-12)


def test_mode_product_and_multi_mode():
    rng = np.random.default_rng(1)
    T = rng.standard_normal((3, 4, 5))
    A = rng.standard_normal((2, 4))
    np.testing.assert_allclose(mode_product(T, A, 1, xp=np), np.einsum("ij,ajb->aib", A, T), rtol=1e-12)
    mats = [rng.standard_normal((2, 3)), rng.standard_normal((6, 4))]
    out = multi_mode(T, mats, xp=np)    # trailing axis carried along
    np.testing.assert_allclose(out, np.einsum("ia,jb,abc->ijc", *mats, T), rtol=1e-12)
    with enable_x64():
        np.testing.assert_allclose(np.asarray(multi_mode(T, mats)), out, rtol=1e-12)


def test_kron_vectors_both_namespaces():
    vs = [np.arange(1.0, 4.0), np.array([2.0, -1.0]), np.array([0.5, 1.5, 3.0])]
    np.testing.assert_array_equal(kron_vectors(vs, xp=np), reduce(np.kron, vs))
    with enable_x64():
        np.testing.assert_array_equal(np.asarray(kron_vectors(vs)), reduce(np.kron, vs))
    with pytest.raises(ValueError, match="non-empty"):
        kron_vectors([])
