"""AGESS's functional core (blackjax style) and the one meaning of ``num_warmup``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat.linalg import enable_x64
from sparsestat.mcmc import AGESS, AGESSConfig, AGESSParams, AGESSState, agess
from sparsestat.mcmc.sample_programs import kernel_setup


def _logpi(x):
    return -0.5 * jnp.sum(x ** 2)


@pytest.mark.slow   # compiles AGESS twice (the functional core and agess(...)): about 12 s cold
def test_functional_core_equals_the_algorithm():
    with enable_x64():
        config, params_for = agess.setup(num_steps=50, single_step_prop=0.3)
        assert isinstance(config, AGESSConfig)
        params = params_for(12, jnp.float64)
        assert isinstance(params, AGESSParams)
        x0 = jnp.full(12, 0.1)
        s1 = agess.init(x0, _logpi, params, config, rng_key=jax.random.PRNGKey(3))
        assert isinstance(s1, AGESSState)
        alg = agess(_logpi, num_steps=50, single_step_prop=0.3)
        s2 = alg.init(x0, jax.random.PRNGKey(3))
        step1 = jax.jit(agess.step, static_argnums=(2, 4))
        step2 = jax.jit(alg.step)
        for t in range(5):
            s1, _ = step1(jax.random.PRNGKey(t), s1, _logpi, params, config)
            s2, _ = step2(jax.random.PRNGKey(t), s2)
        np.testing.assert_array_equal(np.asarray(s1.position), np.asarray(s2.position))
        np.testing.assert_array_equal(np.asarray(s1.chol_k), np.asarray(s2.chol_k))


def _numpyro_params(num_warmup, **kw):
    kern = AGESS(potential_fn=lambda z: -_logpi(z), **kw)
    state = kern.init(jax.random.PRNGKey(0), num_warmup, jnp.zeros(12), (), {})
    return state.params


@pytest.mark.parametrize("num_warmup,num_samples", [(100, 100), (50, 300)])
def test_numpyro_sweep_phase_sized_as_sample(num_warmup, num_samples):
    """num_warmup = discarded iterations in both; the sweep-only phase is
    burnin * single_step_prop * (num_warmup + num_samples) in both."""
    with enable_x64():
        _, ref = kernel_setup("agess", num_warmup, num_samples, {"single_step_prop": 0.2}, 12, jnp.float64)
        prm = _numpyro_params(num_warmup, single_step_prop=0.2, num_steps=num_warmup + num_samples)
        assert float(prm.sweep_only_until) == float(ref.sweep_only_until) == 0.5 * 0.2 * (num_warmup + num_samples)
        if num_samples == num_warmup:      # the default num_steps = 2 * num_warmup
            assert float(_numpyro_params(num_warmup, single_step_prop=0.2).sweep_only_until) == \
                float(ref.sweep_only_until)
        prm = _numpyro_params(num_warmup, single_step_prop=0.2, burnin=0.25, num_steps=400)
        assert float(prm.sweep_only_until) == 0.25 * 0.2 * 400


def test_numpyro_burnin_and_num_steps_validated():
    with pytest.raises(ValueError, match="burnin"):
        AGESS(potential_fn=lambda z: 0.0, burnin=1.0)
    with pytest.raises(ValueError, match="num_steps"):
        AGESS(potential_fn=lambda z: 0.0, num_steps=1)


@pytest.mark.parametrize("old", ["adaptive", "ellipse", "elliptical"])
def test_old_module_paths_warn_and_resolve(old):
    import importlib
    import sys

    sys.modules.pop(f"sparsestat.mcmc.{old}", None)
    with pytest.warns(DeprecationWarning, match=f"sparsestat.mcmc.{old} is deprecated"):
        mod = importlib.import_module(f"sparsestat.mcmc.{old}")
    for name in mod.__all__:
        assert getattr(mod, name) is not None
