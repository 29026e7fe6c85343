"""Compile once (issue 16): a new value of a numeric hyperparameter (noise variance, tolerances, pruning
thresholds, iteration caps, coupling) is a traced argument of the compiled programs, so on the same data
shape it compiles nothing. Each sweep also checks that the value is used (the results change with it)."""

import numpy as np
import pytest

from sparsestat.sbl import KroneckerSBL, SBLRegression, dense_posterior, kron_omp, kron_posterior, kron_sbl, sbl
from tests._compiles import n_distinct, sweep
from tests.sbl._problems import small_kron_problem


@pytest.fixture(scope="module")
def dense():
    rng = np.random.default_rng(0)
    Phi = rng.standard_normal((12, 20))
    x = np.zeros(20)
    x[[2, 7, 13]] = [1.0, -1.5, 0.3]
    return Phi, Phi @ x + 0.05 * rng.standard_normal(12)


@pytest.fixture(scope="module")
def kron():
    return small_kron_problem()


NV = [0.002, 0.01, 0.03, 0.1, 0.3]


def test_sbl_core(dense, x64):
    Phi, y = dense
    outs = sweep(lambda v: sbl(Phi, y, noise_var=v, max_iter=8).coef, NV)
    assert n_distinct(outs) == 5
    outs = sweep(lambda v: sbl(Phi, y, noise_var=0.01, tol=v, max_iter=60).n_iter, [0.3, 0.1, 0.03, 1e-2, 1e-3])
    assert n_distinct(outs) >= 3
    outs = sweep(lambda v: sbl(Phi, y, noise_var=0.01, prune=v, max_iter=30).gamma, [0.0, 1e-3, 1e-2, 0.1, 0.5])
    assert n_distinct(outs) >= 3
    outs = sweep(lambda v: sbl(Phi, y, noise_var=0.01, prune_abs=v, max_iter=30).gamma, [0.0, 1e-4, 1e-2, 0.1, 0.5])
    assert n_distinct(outs) >= 3
    outs = sweep(lambda v: sbl(Phi, y, noise_var=0.01, tol=0.0, max_iter=v).n_iter, [1, 2, 3, 5, 8])
    assert [int(o) for o in outs] == [1, 2, 3, 5, 8]
    # a batch of problems (the lane pool): per-problem noise variances
    Y = np.stack([y, -y])
    outs = sweep(lambda v: sbl(Phi, Y, noise_var=[v, 2 * v], max_iter=8).coef, NV[:3])
    assert n_distinct(outs) == 3


def test_kron_sbl_core(kron, x64):
    facs, y = kron
    outs = sweep(lambda v: kron_sbl(facs, y, noise_var=v, max_iter=8).coef, NV)
    assert n_distinct(outs) == 5
    outs = sweep(lambda v: kron_sbl(facs, y, noise_var=1e-3, tol=v, max_iter=60).n_iter,
                 [0.3, 0.1, 0.03, 1e-2, 1e-3])
    assert n_distinct(outs) >= 3
    outs = sweep(lambda v: kron_sbl(facs, y, noise_var=1e-3, prune=v, max_iter=30).gamma, [0.0, 1e-3, 0.05, 0.2, 0.5])
    assert n_distinct(outs) >= 3
    outs = sweep(lambda v: kron_sbl(facs, y, method="am", noise_var=1e-3, am_tol=v, max_iter=3).coef,
                 [0.5, 0.1, 1e-2, 1e-4, 1e-8])
    assert n_distinct(outs) >= 3
    outs = sweep(lambda v: kron_sbl(facs, y, method="am", noise_var=1e-3, am_tol=0.0, am_max_inner=v, max_iter=3).coef,
                 [1, 2, 3, 5, 8])
    assert n_distinct(outs) >= 3
    outs = sweep(lambda v: kron_sbl(facs, y, method="am", block_sizes=(3, 3), coupling=v, noise_var=1e-3,
                                    max_iter=4).coef, [0.0, 0.2, 0.4, 0.6, 0.8])
    assert n_distinct(outs) == 5


def test_kron_omp_and_posteriors(kron, dense, x64):
    facs, y = kron
    outs = sweep(lambda v: kron_omp(facs, y, max_per_mode=3, tol=v).n_iter, [0.9, 0.5, 0.2, 0.05, 1e-6])
    assert n_distinct(outs) >= 3
    outs = sweep(lambda v: kron_omp(facs, y, max_per_mode=3, tol=0.0, noise_var=v).n_iter, [1e-4, 0.01, 0.1, 1, 10])
    assert n_distinct(outs) >= 2
    gam = [np.linspace(0.1, 1, 6), np.linspace(1, 0.1, 6)]
    outs = sweep(lambda v: kron_posterior(facs, gam, y, v).mean, NV)
    assert n_distinct(outs) == 5
    Phi, yd = dense
    outs = sweep(lambda v: dense_posterior(Phi, np.linspace(0.1, 1, 20), yd, v).mean, NV)
    assert n_distinct(outs) == 5


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sbl_regression(dense):
    Phi, y = dense
    outs = sweep(lambda v: SBLRegression(noise_var=v, max_iter=8).fit(Phi, y).coef_, NV)
    assert n_distinct(outs) == 5
    outs = sweep(lambda v: SBLRegression(noise_var=0.01, tol=v, max_iter=60).fit(Phi, y).n_iter_,
                 [0.3, 0.1, 0.03, 1e-2, 1e-3])
    assert n_distinct(outs) >= 3
    outs = sweep(lambda v: SBLRegression(noise_var=0.01, prune=v, max_iter=30).fit(Phi, y).gamma_,
                 [0.0, 1e-3, 1e-2, 0.1, 0.5])
    assert n_distinct(outs) >= 3
    outs = sweep(lambda v: SBLRegression(noise_var=0.01, prune_abs=v, max_iter=30).fit(Phi, y).gamma_,
                 [0.0, 1e-4, 1e-2, 0.1, 0.5])
    assert n_distinct(outs) >= 3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_kronecker_sbl(kron):
    facs, y = kron
    outs = sweep(lambda v: KroneckerSBL(noise_var=v, max_iter=8).fit(facs, y).coef_, NV)
    assert n_distinct(outs) == 5
    outs = sweep(lambda v: KroneckerSBL(noise_var=1e-3, tol=v, max_iter=60).fit(facs, y).n_iter_,
                 [0.3, 0.1, 0.03, 1e-2, 1e-3])
    assert n_distinct(outs) >= 3
    outs = sweep(lambda v: KroneckerSBL("am", block_sizes=(3, 3), coupling=v, noise_var=1e-3, max_iter=4)
                 .fit(facs, y).coef_, [0.0, 0.2, 0.4, 0.6, 0.8])
    assert n_distinct(outs) == 5
