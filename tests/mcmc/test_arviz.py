"""ArviZ export (issue 20, item 4): ``SampleResult.to_inference_data()`` and ``az.from_numpyro`` with the
numpyro kernels; ArviZ's diagnostics agree with the package's (split R-hat, bulk ESS) to 1e-8.

ArviZ is optional: the tests that need it skip without it; the others check the clear ImportError, that
sparsestat imports without it, and the ArviZ >= 1 call shape with a stand-in module.
"""

from __future__ import annotations

import subprocess
import sys
import types
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.linalg import enable_x64
from sparsestat.mcmc import SampleResult, bulk_ess, sample, split_rhat
from sparsestat.mcmc.arviz_io import posterior_dict
from _mcmc_stats import ar1

TOL = 1e-8
# the target, starts and lengths of test_reproducibility's sequential-vs-vectorized test: same programs
M3 = np.array([0.5, -1.0, 2.0])


def _logpi(x):
    return -0.5 * jnp.sum(((x - M3) / jnp.array([1.0, 0.5, 2.0])) ** 2) - 0.1 * jnp.sum(x ** 4) / 10


@pytest.fixture(scope="module")
def az():
    """ArviZ, or a skip (before any fixture after it in a test's arguments is built)."""
    return pytest.importorskip("arviz")


@pytest.fixture(scope="module")
def result():
    with enable_x64(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        starts = jnp.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5]])
        return sample(_logpi, starts, num_warmup=50, num_samples=100, num_chains=2,
                      rng_key=jax.random.PRNGKey(3), progress_bar=False)


def _hand_result(samples, kernel=None, chains=2, draws=6):
    """A SampleResult built by hand (no sampling): per-draw records with distinct values."""
    shape = (chains, draws)
    return SampleResult(samples, -np.arange(chains * draws, dtype=float).reshape(shape),
                        np.full(shape, 3), np.ones(shape, np.int32), np.zeros(chains), {}, 0.5, 1.5,
                        None, kernel)


# ---------------------------------------------------------------- without ArviZ

def test_to_inference_data_without_arviz_raises_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "arviz", None)          # `import arviz` now fails
    res = _hand_result(np.zeros((2, 6, 3)), kernel="agess")
    with pytest.raises(ImportError, match=r"pip install arviz") as err:
        res.to_inference_data()
    assert "sparsestat[arviz]" in str(err.value) and "to_inference_data" in str(err.value)


def test_sparsestat_imports_without_arviz():
    code = ("import sys; sys.modules['arviz'] = None\n"
            "import sparsestat, sparsestat.mcmc\n"
            "from sparsestat.mcmc import sample, SampleResult, GESS, AGESS, bulk_ess\n"
            "import sparsestat.mcmc.arviz_io\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_variable_names_of_pytree_samples():
    a, b = np.zeros((2, 5, 3)), np.ones((2, 5))
    assert list(posterior_dict(a)) == ["x"]
    nested = posterior_dict({"beta": a, "noise": {"log_sigma": b}})
    assert list(nested) == ["beta", "noise.log_sigma"]
    np.testing.assert_array_equal(nested["noise.log_sigma"], b)
    assert list(posterior_dict((a, b))) == ["x_0", "x_1"]
    with pytest.raises(ValueError, match="chains, draws"):
        posterior_dict({"bad": np.zeros(5)})


def test_arviz_1x_call_shape(monkeypatch):
    """ArviZ >= 1 has no InferenceData class and takes the groups as one mapping (an xarray.DataTree
    comes back): checked with a stand-in module that records the call."""
    calls = []

    class _Node:
        def __init__(self):
            self.attrs = {}

    def from_dict(groups, **kw):
        calls.append((groups, kw))
        return {name: _Node() for name in groups}

    monkeypatch.setitem(sys.modules, "arviz", types.SimpleNamespace(from_dict=from_dict))
    res = _hand_result({"beta": np.zeros((2, 6, 3))}, kernel="ess")
    out = res.to_inference_data(dims={"beta": ["coef"]})
    (groups, kw), = calls
    assert set(groups) == {"posterior", "sample_stats"} and kw["dims"] == {"beta": ["coef"]}
    assert list(groups["sample_stats"]) == ["loglik", "num_evals"]   # "ess": no lp, no move_type
    np.testing.assert_array_equal(groups["sample_stats"]["loglik"], res.logdensity)
    assert out["posterior"].attrs["sampler"] == "ess" and out["sample_stats"].attrs["sampling_time"] == 1.5


def _golden_draws():
    """Deterministic autocorrelated draws (no RNG), 3 chains x 41 draws x 2 coordinates."""
    t = np.arange(41)[None, :, None]
    c = np.arange(3)[:, None, None]
    k = np.arange(2)[None, None, :]
    return np.sin(0.37 * t * (k + 1) + c) + 0.1 * ((t * 7919 + c * 104729 + k * 13) % 97) / 97


# az.ess(az.convert_to_inference_data(_golden_draws()), method="bulk") with ArviZ 0.23.4
GOLDEN_BULK_ESS = np.array([28.089558002453494, 55.97939010782625])


def test_bulk_ess_golden_values_from_arviz():
    """ArviZ 0.23.4's az.ess(method="bulk") of _golden_draws(), so bulk_ess is checked without ArviZ."""
    np.testing.assert_allclose(bulk_ess(_golden_draws()), GOLDEN_BULK_ESS, rtol=1e-10)


# ---------------------------------------------------------------- with ArviZ

def test_to_inference_data_posterior_and_sample_stats(az, result):
    idata = result.to_inference_data(dims={"x": ["coef"]}, coords={"coef": ["a", "b", "c"]})
    assert isinstance(idata, az.InferenceData)
    assert {"posterior", "sample_stats"} <= set(idata.groups())
    x = idata.posterior["x"]
    assert x.dims == ("chain", "draw", "coef") and x.shape == (2, 100, 3)
    assert list(x.coords["coef"].values) == ["a", "b", "c"]
    np.testing.assert_array_equal(x.values, result.samples)
    st = idata.sample_stats
    assert set(st.data_vars) == {"lp", "num_evals", "move_type"}
    assert st["lp"].dims == ("chain", "draw")
    # lp is the log density of each draw: recompute it from the draws
    with enable_x64():
        lp = np.asarray(jax.vmap(jax.vmap(_logpi))(jnp.asarray(result.samples, jnp.float64)))
    np.testing.assert_allclose(st["lp"].values, lp, rtol=1e-5, atol=1e-5)   # float32 draws
    np.testing.assert_array_equal(st["num_evals"].values, result.num_evals)
    np.testing.assert_array_equal(st["move_type"].values, result.move_type)
    assert st["num_evals"].values.min() >= 1 and set(np.unique(st["move_type"].values)) <= {0, 2}
    for group in (idata.posterior, st):
        assert group.attrs["inference_library"] == "sparsestat" and group.attrs["sampler"] == "agess"
        assert group.attrs["sampling_time"] == result.run_time


def test_default_dim_names_and_loglik_for_ess(az):
    res = _hand_result({"beta": np.arange(36.0).reshape(2, 6, 3)}, kernel="ess")
    idata = res.to_inference_data()
    assert idata.posterior["beta"].dims == ("chain", "draw", "beta_dim_0")
    assert set(idata.sample_stats.data_vars) == {"loglik", "num_evals"}
    np.testing.assert_array_equal(idata.sample_stats["loglik"].values, res.logdensity)


def test_arviz_diagnostics_agree_with_the_package(az, result):
    idata = result.to_inference_data()
    x = np.asarray(result.samples, np.float64)
    # R-hat: the package's is split R-hat (ArviZ's default is the rank-normalised one)
    rhat_az = az.rhat(idata, method="split")["x"].values
    assert np.max(np.abs(rhat_az - result.diagnostics["rhat"])) < TOL
    assert np.max(np.abs(rhat_az - split_rhat(x))) < TOL
    # ESS: ArviZ's default is bulk ESS = sparsestat.mcmc.bulk_ess
    ess_az = az.ess(idata)["x"].values
    np.testing.assert_allclose(ess_az, az.ess(idata, method="bulk")["x"].values, rtol=0)
    assert np.max(np.abs(ess_az - bulk_ess(x)) / ess_az) < TOL
    assert np.all(np.abs(ess_az - result.diagnostics["ess"]) > 0)   # numpyro's ESS: another estimator




@pytest.mark.parametrize("chains,draws", [(1, 4), (2, 9), (4, 100), (3, 1001)])
@pytest.mark.parametrize("phi", [0.0, 0.9, -0.8])
def test_bulk_ess_and_split_rhat_equal_arviz(az, chains, draws, phi):
    rng = np.random.default_rng(chains * draws)
    x = ar1(rng, chains, draws, 4, phi) + rng.normal(size=(chains, 1, 4))
    x[..., 2] = np.round(x[..., 2])        # ties among the ranks
    x[..., 3] = 1.5                        # a constant coordinate: ArviZ gives the number of draws
    idata = az.convert_to_inference_data(x)
    ref = az.ess(idata, method="bulk")["x"].values
    np.testing.assert_allclose(bulk_ess(x), ref, rtol=TOL)
    if chains >= 2:                        # ArviZ's split R-hat needs 2 chains (numpyro's does not)
        with np.errstate(invalid="ignore", divide="ignore"):
            np.testing.assert_allclose(split_rhat(x)[:3], az.rhat(idata, method="split")["x"].values[:3],
                                       rtol=TOL)


def test_bulk_ess_golden_values_are_arviz(az):
    ref = az.ess(az.convert_to_inference_data(_golden_draws()), method="bulk")["x"].values
    np.testing.assert_allclose(GOLDEN_BULK_ESS, ref, rtol=1e-10)


def _model(y):
    import numpyro
    import numpyro.distributions as dist

    mu = numpyro.sample("mu", dist.Normal(0.0, 2.0))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
    numpyro.sample("y", dist.Normal(mu, sigma), obs=y)


@pytest.mark.parametrize("kernel,chain_method", [("AGESS", "vectorized"), ("GESS", "sequential")])
def test_from_numpyro(az, kernel, chain_method):
    from numpyro.infer import MCMC
    from scipy import stats

    from sparsestat import mcmc

    y = np.random.default_rng(0).normal(1.0, 0.7, size=15)
    with enable_x64():
        mc = MCMC(getattr(mcmc, kernel)(_model), num_warmup=100, num_samples=200, num_chains=2,
                  chain_method=chain_method, progress_bar=False)
        mc.run(jax.random.PRNGKey(1), y)
        # inside the x64 scope: from_numpyro evaluates the model's log-likelihood on the float64 draws
        idata = az.from_numpyro(mc)
    assert {"posterior", "sample_stats", "log_likelihood", "observed_data"} <= set(idata.groups())
    mu, sigma = idata.posterior["mu"].values, idata.posterior["sigma"].values
    assert idata.posterior["mu"].dims == ("chain", "draw") and mu.shape == (2, 200)
    assert np.all(sigma > 0)                                      # constrained values
    st = idata.sample_stats
    expected = {"lp", "num_evals"} | ({"move_type"} if kernel == "AGESS" else set())
    assert set(st.data_vars) == expected
    # lp = the log density numpyro samples in: unconstrained (mu, log sigma), Jacobian log sigma included
    lp = (stats.norm.logpdf(mu, 0, 2) + stats.halfnorm.logpdf(sigma) + np.log(sigma)
          + stats.norm.logpdf(y[None, None, :], mu[..., None], sigma[..., None]).sum(-1))
    np.testing.assert_allclose(st["lp"].values, lp, rtol=1e-10)
    assert st["num_evals"].values.min() >= 1
    # ArviZ's diagnostics on the numpyro run equal the package's
    for site in ("mu", "sigma"):
        draws = idata.posterior[site].values
        assert abs(float(az.rhat(idata, method="split")[site]) - float(split_rhat(draws))) < TOL
        ess = float(az.ess(idata)[site])
        assert abs(ess - float(bulk_ess(draws))) / ess < TOL
