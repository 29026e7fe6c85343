"""sparsestat.mcmc's numpy diagnostics equal numpyro's (the estimators users read chains with)."""

import numpy as np
import pytest
from numpyro.diagnostics import effective_sample_size as np_ess
from numpyro.diagnostics import gelman_rubin, split_gelman_rubin

from sparsestat.mcmc import effective_sample_size, split_rhat
from sparsestat.mcmc.diagnostics import rhat
from _mcmc_stats import ar1




@pytest.mark.parametrize("chains,draws", [(1, 7), (4, 100), (3, 1001), (2, 4)])
@pytest.mark.parametrize("phi", [0.0, 0.9, -0.5])
def test_equal_to_numpyro(chains, draws, phi):
    rng = np.random.default_rng(chains * draws)
    x = ar1(rng, chains, draws, 3, phi) + rng.normal(size=(chains, 1, 3))
    np.testing.assert_allclose(effective_sample_size(x), np_ess(x), rtol=1e-10)
    if draws >= 4 and chains >= 1:
        np.testing.assert_allclose(split_rhat(x), split_gelman_rubin(x), rtol=1e-12)
    if chains >= 2:
        np.testing.assert_allclose(rhat(x), gelman_rubin(x), rtol=1e-12)


def test_ess_known_values():
    # i.i.d. draws: ESS ~ the number of draws; AR(1) with phi: ~ n (1 - phi) / (1 + phi)
    rng = np.random.default_rng(0)
    n = 4 * 20000
    iid = rng.standard_normal((4, 20000, 1))
    assert abs(effective_sample_size(iid)[0] / n - 1) < 0.1
    ar = ar1(rng, 4, 20000, 1, 0.8)
    assert abs(effective_sample_size(ar)[0] / (n * 0.2 / 1.8) - 1) < 0.15
    # chains stuck in different places: R-hat far above 1
    stuck = iid + 3.0 * np.arange(4)[:, None, None]   # R-hat = sqrt(1 + 15) = 4
    assert 3.5 < split_rhat(stuck)[0] < 4.5


def test_bad_shapes():
    with pytest.raises(ValueError, match="chains, draws"):
        effective_sample_size(np.zeros(10))
    with pytest.raises(ValueError, match="at least 4 draws"):
        split_rhat(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="2 chains"):
        rhat(np.zeros((1, 10)))
