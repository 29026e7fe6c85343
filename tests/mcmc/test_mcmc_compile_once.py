"""Compile once (issue 16): a new value of a numeric hyperparameter, a new start, key or dataset of the
same shapes reuses the compiled programs of ``mcmc.sample`` and of the numpyro kernels.

Every case calls with 5 values on a tiny target (a few iterations): the first call may compile, every
later one must compile nothing, and the draws must depend on the value.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sparsestat import enable_x64
from sparsestat.mcmc import AGESS, GESS, sample
from tests._compiles import compile_counts, count_compiles

KEY = jax.random.PRNGKey(0)
SCALES3 = np.array([1.0, 0.5, 2.0])


def _logpi3(x):
    return -0.5 * jnp.sum((x / SCALES3) ** 2)


def _logpi10(x):
    return -0.5 * jnp.sum((x - 0.3) ** 2 / 0.2)


def _narrow(x):      # narrow posterior: shrink loops run long (max_shrinks matters)
    return -0.5 * jnp.sum((x - 1.0) ** 2) / 1e-4


def _starts(p):
    return jnp.asarray(0.1 * np.arange(2 * p, dtype=np.float64).reshape(2, p))


def _run(fn=_logpi3, p=3, **kw):
    opts = dict(num_warmup=3, num_samples=4, num_chains=2, rng_key=KEY, progress_bar=False)
    opts.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sample(fn, _starts(p), **opts)


def _check(counts, outs, min_distinct=2):
    assert all(c.n == 0 for c in counts[1:]), [repr(c) for c in counts]
    distinct = {b"".join(np.asarray(a).tobytes() for a in jax.tree_util.tree_leaves(o)) for o in outs}
    assert len(distinct) >= min_distinct, f"results do not depend on the value ({len(distinct)} distinct)"


SAMPLE_CASES = [
    ("agess nu", dict(), "nu", [1.5, 3.0, 6.0, 12.0, 50.0]),
    ("agess epsilon", dict(), "epsilon", [0.01, 0.2, 0.4, 0.6, 0.9]),
    ("agess kappa", dict(), "kappa", [None, "reference", 0.6, 0.8, 0.95]),
    ("agess beta", dict(num_warmup=4), "beta", [0.1, 0.3, 0.6, 0.8, 1.0]),
    ("agess mean0", dict(), "mean0", [0.0, 0.5, -1.0, np.array([0.1, 0.2, 0.3]), 2.0]),
    ("agess cov0", dict(), "cov0", [1.0, 0.1, 4.0, 0.5, 9.0]),
    ("gess nu", dict(kernel="gess", mean=0.0, cov=1.0), "nu", [1.5, 3.0, 6.0, 12.0, 50.0]),
    ("gess mean", dict(kernel="gess", cov=1.0), "mean", [0.0, 0.5, -1.0, 0.2, 2.0]),
    ("gess cov", dict(kernel="gess", mean=0.0), "cov", [1.0, 0.1, 4.0, 0.5, 9.0]),
    ("ess mean", dict(kernel="ess", cov=1.0), "mean", [0.0, 0.5, -1.0, 0.2, 2.0]),
    ("ess cov", dict(kernel="ess", mean=0.0), "cov", [1.0, 0.1, 4.0, 0.5, 9.0]),
]


# each of these compiles a program of its own (P = 10 sweeps, another target): slow tier
SLOW_SAMPLE_CASES = [
    ("agess single_step_prop", dict(p=10, fn=_logpi10, burnin=0.0), "single_step_prop",
     [0.0, 0.2, 0.4, 0.6, 0.9]),
    ("agess burnin", dict(p=10, fn=_logpi10, single_step_prop=0.5, num_warmup=13), "burnin",
     [0.0, 0.3, 0.5, 0.7, 0.9]),
    ("agess max_shrinks", dict(fn=_narrow), "max_shrinks", [1, 2, 3, 5, 100]),
]
SAMPLE_CASES += [pytest.param(*c, marks=pytest.mark.slow, id=c[0]) for c in SLOW_SAMPLE_CASES]


@pytest.mark.parametrize("name,base,param,values", SAMPLE_CASES,
                         ids=[c[0] if isinstance(c, tuple) else None for c in SAMPLE_CASES])
def test_sample_hyperparameters_compile_once(name, base, param, values):
    outs = []

    def call(v):
        r = _run(**base, **{param: v})
        outs.append((r.samples, r.logdensity))

    with enable_x64():
        counts = compile_counts(call, values)
    _check(counts, outs)


def test_sample_starts_keys_and_lengths_compile_once():
    outs = []
    with enable_x64():
        counts = compile_counts(lambda s: outs.append(_run(rng_key=jax.random.PRNGKey(s)).samples), range(5))
        _check(counts, outs, 5)
        # lengths sharing the chunk length (8) and a chunk_size that leaves remainders: one program
        lens = [(3, 4), (1, 7), (2, 4), (0, 5), (2, 6)]
        counts = compile_counts(lambda nm: _run(num_warmup=nm[0], num_samples=nm[1]), lens)
        assert all(c.n == 0 for c in counts[1:]), [repr(c) for c in counts]
        counts = compile_counts(lambda n: _run(num_warmup=1, num_samples=n, chunk_size=4), [5, 6, 9, 10, 11])
        assert all(c.n == 0 for c in counts[1:]), [repr(c) for c in counts]


def _make_closure(data):
    return lambda x: -0.5 * jnp.sum((x - data) ** 2)


def _logpost_args(x, data, scale):
    return -0.5 * jnp.sum((x - data) ** 2) / scale


def test_new_data_does_not_compile():
    """A new closure over new arrays (same code, same shapes), and new logdensity_args, reuse the program."""
    with enable_x64():
        datas = [jnp.asarray(np.full(3, v)) for v in (0.0, 1.0, -2.0, 0.5, 3.0)]
        outs = []
        counts = compile_counts(lambda d: outs.append(_run(fn=_make_closure(d)).logdensity), datas)
        _check(counts, outs, 5)
        lifted = outs
        outs = []
        counts = compile_counts(lambda d: outs.append(_run(fn=lambda x: -0.5 * jnp.sum((x - d) ** 2)).logdensity),
                                [np.asarray(d) for d in datas])
        _check(counts, outs, 5)
        outs = []
        counts = compile_counts(lambda d: outs.append(_run(fn=_logpost_args, logdensity_args=(d, 1.0)).logdensity),
                                datas)
        _check(counts, outs, 5)
        # the same numbers as a program with the data baked in (a callable object keys by identity)
        baked = [_run(fn=_Baked(d)).logdensity for d in datas[:2]]
        for a, b, c in zip(lifted, outs, baked):
            np.testing.assert_allclose(a, c, rtol=1e-12)
            np.testing.assert_allclose(b, c, rtol=1e-12)


class _Baked:
    def __init__(self, data):
        self.data = data

    def __call__(self, x):
        return -0.5 * jnp.sum((x - self.data) ** 2)


def test_closure_needing_concrete_values_still_works():
    n = np.asarray(3)

    def logpi(x):
        return -0.5 * sum(x[i] ** 2 for i in range(int(n)))   # Python control flow on a closed-over array

    with enable_x64():
        r = _run(fn=logpi)
    assert np.all(np.isfinite(r.logdensity))


# ----------------------------------------------------------------------------------------- numpyro
def _pot(z):
    return 0.5 * jnp.sum((z["x"] / SCALES3) ** 2)


def _numpyro_case(make_kernel, values, z0=None, length=5):
    """init with each value (compiles nothing after the first), then ``length`` steps of one jitted
    driver."""
    z0 = {"x": jnp.asarray([0.1, -0.2, 0.3])} if z0 is None else z0
    drive = None
    outs, counts = [], []
    for v in values:
        kern = make_kernel(v)
        with count_compiles() as c:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                state = kern.init(KEY, 4, z0, (), {})
            if drive is None:
                # one compiled sample program; every numeric hyperparameter comes with the state
                drive = jax.jit(lambda s, k=kern: jax.lax.scan(lambda st, _: (k.sample(st, (), {}),) * 2, s,
                                                               None, length=length)[1].z["x"])
            outs.append(np.asarray(drive(state)))
        counts.append(c)
    _check(counts, outs)


NUMPYRO_CASES = [
    ("GESS nu", lambda v: GESS(potential_fn=_pot, nu=v), [1.5, 3.0, 6.0, 12.0, 50.0]),
    ("GESS mean", lambda v: GESS(potential_fn=_pot, mean=v), [0.0, 0.5, -1.0, 0.2, 2.0]),
    ("GESS cov", lambda v: GESS(potential_fn=_pot, cov=v), [1.0, 0.1, 4.0, 0.5, 9.0]),
    ("GESS max_shrinks", lambda v: GESS(potential_fn=lambda z: 1e4 * jnp.sum((z["x"] - 1.0) ** 2),
                                        max_shrinks=v), [1, 2, 3, 5, 100]),
    ("AGESS nu", lambda v: AGESS(potential_fn=_pot, nu=v), [1.5, 3.0, 6.0, 12.0, 50.0]),
] + [pytest.param(*c, marks=pytest.mark.slow, id=c[0]) for c in [
    ("AGESS epsilon", lambda v: AGESS(potential_fn=_pot, epsilon=v), [0.01, 0.2, 0.4, 0.6, 0.9]),
    ("AGESS beta", lambda v: AGESS(potential_fn=_pot, beta=v), [0.1, 0.3, 0.6, 0.8, 1.0]),
    ("AGESS mean0", lambda v: AGESS(potential_fn=_pot, mean0=v), [0.0, 0.5, -1.0, 0.2, 2.0]),
    ("AGESS cov0", lambda v: AGESS(potential_fn=_pot, cov0=v), [1.0, 0.1, 4.0, 0.5, 9.0]),
]]


@pytest.mark.parametrize("name,make,values", NUMPYRO_CASES,
                         ids=[c[0] if isinstance(c, tuple) else None for c in NUMPYRO_CASES])
def test_numpyro_kernels_compile_once(name, make, values):
    with enable_x64():
        _numpyro_case(make, values)


@pytest.mark.slow
def test_numpyro_single_step_prop_compile_once():
    def pot(z):
        return 0.5 * jnp.sum((z["x"] - 0.3) ** 2 / 0.2)

    with enable_x64():  # P = 10: the single-step moves are in play
        _numpyro_case(lambda v: AGESS(potential_fn=pot, single_step_prop=v), [0.0, 0.2, 0.4, 0.6, 0.9],
                      z0={"x": jnp.asarray(0.1 * np.arange(10.0))}, length=3)
