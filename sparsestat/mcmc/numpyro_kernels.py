"""numpyro kernels: ``GESS`` and ``AGESS`` as ``numpyro.infer.mcmc.MCMCKernel`` subclasses.

Use them as any numpyro kernel::

    mcmc = numpyro.infer.MCMC(AGESS(model), num_warmup=2000, num_samples=2000, num_chains=4,
                              chain_method="vectorized")
    mcmc.run(jax.random.key(0), X, y)
    mcmc.print_summary()
    idata = arviz.from_numpyro(mcmc)     # sample_stats: lp, num_evals (and move_type for AGESS)

Sampling happens in numpyro's unconstrained space with log density -potential_fn. With
``chain_method="vectorized"`` the kernel receives a batch of keys and runs the chains itself with one
shared AGESS schedule (one move type per iteration for all chains); "sequential" and "parallel" give
each chain its own schedule.

``num_warmup`` means what it means everywhere in numpyro and in :func:`sparsestat.mcmc.sample`: the
iterations discarded before the kept draws. The AGESS sweep-only phase is sized as in ``sample``:
``burnin * 0.05 * num_steps`` iterations (0.05: ``single_step_prop`` if given) with
``num_steps = num_warmup + num_samples``
(numpyro does not tell a kernel ``num_samples``: give ``num_steps=`` to :class:`AGESS`, default
``2 * num_warmup``).

Every numeric hyperparameter (``nu``, ``mean``/``cov``, ``mean0``/``cov0``, ``epsilon``,
``single_step_prop``, ``burnin``, ``beta``, ``max_shrinks``, and ``num_warmup`` where it sizes the schedule) lives in
the kernel state (``state.params``), not in the traced ``sample``: one compiled ``sample`` serves every
value (only ``t_dist``, ``adapt_during_sampling`` and, for AGESS, the move rule fix the program).

.. note:: ``numpyro.infer.ESS`` is *ensemble* slice sampling (Karamanis & Beutler 2021), not elliptical
   slice sampling; the two are unrelated algorithms despite the name.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer.initialization import init_to_uniform
from numpyro.infer.mcmc import MCMCKernel
from numpyro.infer.util import initialize_model
from numpyro.util import identity, is_prng_key

from jax.flatten_util import ravel_pytree

from ..linalg.cache import compiled_entry
from ._checks import MeanCov, check_finite_start, check_max_shrinks, check_nu
from .agess_config import AGESSParams, agess_setup
from .agess_kernel import AGESSState, build_kernel, init, init_chains
from .generalized import gess_step
from .states import EllipSliceState, MCMCInfo

__all__ = ["GESS", "AGESS", "GESSKernelState", "AGESSKernelState"]


class GESSKernelState(NamedTuple):
    """numpyro state of :class:`GESS`: unconstrained sample ``z``, its log density, key, last info."""

    z: object
    logdensity: jax.Array
    rng_key: jax.Array
    num_evals: jax.Array
    capped: jax.Array
    params: tuple = ()   # (mean, scale factor, nu, max_shrinks): traced, unbatched

    @property
    def potential_energy(self):
        """-log density of ``z`` (numpyro's name; ``az.from_numpyro`` turns it into ``lp``)."""
        return -self.logdensity


class AGESSKernelState(NamedTuple):
    """numpyro state of :class:`AGESS`: ``z``, the core :class:`~sparsestat.mcmc.AGESSState`, key, last
    info (evaluations, move type, refreshed, capped)."""

    z: object
    core: AGESSState
    rng_key: jax.Array
    num_evals: jax.Array
    move_type: jax.Array
    refreshed: jax.Array
    capped: jax.Array
    params: AGESSParams | tuple = ()   # traced, unbatched

    @property
    def potential_energy(self):
        """-log density of ``z`` (numpyro's name; ``az.from_numpyro`` turns it into ``lp``)."""
        return -self.core.logdensity


def _check_discrete(model, model_args, model_kwargs):
    import numpyro.handlers as handlers

    tr = handlers.trace(handlers.seed(model, 0)).get_trace(*model_args, **model_kwargs)
    for name, site in tr.items():
        if site["type"] == "sample" and not site["is_observed"]:
            support = getattr(site["fn"], "support", None)
            if support is not None and getattr(support, "is_discrete", False):
                raise NotImplementedError(
                    f"site {name!r} is discrete; elliptical slice samplers need continuous latent sites "
                    "(marginalise it or use numpyro's DiscreteHMCGibbs/MixedHMC)")


class _EllipticalKernel(MCMCKernel):
    sample_field = "z"
    # collected by MCMC.run besides z (get_extra_fields), so az.from_numpyro(mcmc) has sample_stats
    # lp (from potential_energy) and num_evals without extra_fields=
    _stat_fields = ("potential_energy", "num_evals")

    @property
    def default_fields(self):
        return (self.sample_field,) + self._stat_fields

    def __init__(self, model=None, potential_fn=None, *, init_strategy=init_to_uniform, max_shrinks=100):
        if (model is None) == (potential_fn is None):
            raise ValueError("give exactly one of model= and potential_fn=")
        self._model, self._potential_fn, self._init_strategy = model, potential_fn, init_strategy
        self._max_shrinks = max_shrinks
        self._postprocess_fn = self._logdensity = None   # set by _setup

    @property
    def model(self):
        return self._model

    def _setup(self, rng_key, init_params, model_args, model_kwargs):
        if self._model is not None:
            _check_discrete(self._model, model_args, model_kwargs)
            info = initialize_model(rng_key, self._model, init_strategy=self._init_strategy,
                                    dynamic_args=True, model_args=model_args, model_kwargs=model_kwargs)
            z = info.param_info.z if init_params is None else init_params
            pe_fn = info.potential_fn(*model_args, **model_kwargs)
            self._postprocess_fn = info.postprocess_fn
        else:
            if init_params is None:
                raise ValueError("init_params must be given with potential_fn=")
            z = init_params
            pe_fn = self._potential_fn
        self._logdensity = lambda q: -pe_fn(q)
        return z

    @staticmethod
    def _first_flat(z, batched):
        """The flat unconstrained position of the first chain (sets P and the dtype)."""
        return ravel_pytree(jax.tree_util.tree_map(lambda a: a[0], z) if batched else z)[0]

    def postprocess_fn(self, args, kwargs):
        if self._postprocess_fn is None:
            return identity
        return self._postprocess_fn(*args, **kwargs)

    def get_diagnostics_str(self, state):
        return f"{int(state.num_evals)} evals/it"


class GESS(_EllipticalKernel):
    """Generalized elliptical slice sampling with a fixed t_nu(mean, cov) auxiliary, as a numpyro kernel.

    Parameters
    ----------
    model : callable, optional
        numpyro model (continuous latent sites). Exactly one of ``model`` and ``potential_fn``.
    potential_fn : callable, optional
        Unconstrained pytree -> potential energy (-log density); needs ``init_params`` in ``MCMC.run``.
    mean, cov : scalar, (P,) or (P, P)
        Auxiliary location and scale matrix in the unconstrained, flattened space.
    nu, t_dist, max_shrinks : see :func:`sparsestat.mcmc.gess`.
    init_strategy : numpyro init strategy, default ``init_to_uniform``.

    ``MCMC.get_extra_fields()`` has ``potential_energy`` and ``num_evals`` per draw (``az.from_numpyro``
    reads them as sample stats ``lp`` and ``num_evals``).
    """

    def __init__(self, model=None, potential_fn=None, *, mean=0.0, cov=1.0, nu=6.0, t_dist=True,
                 init_strategy=init_to_uniform, max_shrinks=100):
        super().__init__(model, potential_fn, init_strategy=init_strategy, max_shrinks=max_shrinks)
        self._mc = MeanCov(mean, cov)
        self._nu = check_nu(nu)
        self._max_shrinks = check_max_shrinks(max_shrinks)
        self._t_dist = bool(t_dist)

    @compiled_entry
    def init(self, rng_key, num_warmup, init_params, model_args, model_kwargs):
        z = self._setup(rng_key, init_params, model_args, model_kwargs)
        batched = not is_prng_key(rng_key)
        ld = jax.vmap(self._logdensity)(z) if batched else self._logdensity(z)
        check_finite_start(np.asarray(ld))
        ld = jnp.asarray(ld)
        zero = jnp.zeros(jnp.shape(ld), jnp.int32)
        x0 = self._first_flat(z, batched)
        mean, chol = self._mc.resolve(x0.shape[0], x0.dtype)
        params = (mean, chol, jnp.asarray(self._nu), jnp.asarray(self._max_shrinks, jnp.int32))
        return GESSKernelState(z, ld, rng_key, zero, jnp.zeros(jnp.shape(ld), bool), params)

    def _one(self, z, ld, key, params):
        mean, chol, nu, max_shrinks = params
        key, sub = jax.random.split(key)
        st, info = gess_step(sub, EllipSliceState(z, ld), self._logdensity, mean, chol, nu, max_shrinks,
                             t_dist=self._t_dist)
        return GESSKernelState(st.position, st.logdensity, key, info.num_evals, info.capped, params)

    def sample(self, state, model_args, model_kwargs):
        if is_prng_key(state.rng_key):
            return self._one(state.z, state.logdensity, state.rng_key, state.params)
        return jax.vmap(self._one, in_axes=(0, 0, 0, None), out_axes=GESSKernelState(0, 0, 0, 0, 0, None))(
            state.z, state.logdensity, state.rng_key, state.params)


class AGESS(_EllipticalKernel):
    """Adaptive generalized elliptical slice sampling (Marco & Tokdar) as a numpyro kernel.

    ``MCMC.get_extra_fields()`` has ``potential_energy``, ``num_evals`` and ``move_type`` per draw
    (``az.from_numpyro(mcmc)`` reads them as sample stats ``lp``, ``num_evals``, ``move_type``).

    ``num_warmup`` (of ``MCMC``) is the number of iterations discarded before the kept draws, as in
    :func:`sparsestat.mcmc.sample`, and the sweep-only initial phase (P >= 10) is sized the same way:
    the iterations i < ``burnin * 0.05 * num_steps`` (0.05: ``single_step_prop`` if given),
    ``num_steps = num_warmup + num_samples``. numpyro does not tell a kernel ``num_samples``, so give
    ``num_steps`` for a run with ``num_samples != num_warmup``; the default ``2 * num_warmup`` gives the
    phase ``0.05 * num_warmup`` iterations (the sizing of earlier releases).

    Parameters
    ----------
    model, potential_fn, init_strategy, max_shrinks : as in :class:`GESS`.
    mean0, cov0, nu, epsilon, single_step_prop, beta, t_dist, kappa : see :func:`sparsestat.mcmc.agess`.
    burnin : float in [0, 1), default 0.5
        Fraction of ``num_steps`` that sizes the sweep-only phase (nothing is discarded by it; numpyro
        discards ``num_warmup``).
    num_steps : int or None, default None
        Planned total iterations ``num_warmup + num_samples`` (None: ``2 * num_warmup``).
    adapt_during_sampling : bool, default True
        True: the reference behaviour (adaptation continues, diminishing). False: at the end of warm-up the
        background estimates are copied into the adaptive parameters and frozen, leaving a fixed,
        exactly invariant mixture for the sampling phase.
    """

    _stat_fields = ("potential_energy", "num_evals", "move_type")

    def __init__(self, model=None, potential_fn=None, *, mean0=0.0, cov0=1.0, nu=6.0, epsilon=0.05,
                 single_step_prop=None, beta=0.5, t_dist=True, adapt_during_sampling=True,
                 init_strategy=init_to_uniform, max_shrinks=100, burnin=0.5, num_steps=None, kappa=None):
        super().__init__(model, potential_fn, init_strategy=init_strategy, max_shrinks=max_shrinks)
        self._opts = dict(mean0=mean0, cov0=cov0, nu=nu, epsilon=epsilon, single_step_prop=single_step_prop,
                          burnin=burnin, beta=beta, t_dist=t_dist, max_shrinks=max_shrinks, kappa=kappa)
        self._adapt_during_sampling = bool(adapt_during_sampling)
        # validate the options now (errors at construction, not at run); the static part fixes the program
        self._config, _ = agess_setup(num_steps=2 if num_steps is None else num_steps, _stacklevel=2,
                                      **self._opts)
        self._num_steps = num_steps
        self._kernel = build_kernel(self._config)

    @compiled_entry
    def init(self, rng_key, num_warmup, init_params, model_args, model_kwargs):
        z = self._setup(rng_key, init_params, model_args, model_kwargs)
        num_warmup = int(num_warmup)
        num_steps = max(2 * num_warmup, 2) if self._num_steps is None else self._num_steps
        _, params_for = agess_setup(num_steps=num_steps,
                                    freeze_after=None if self._adapt_during_sampling else num_warmup, **self._opts)
        batched = not is_prng_key(rng_key)
        x0 = self._first_flat(z, batched)
        params_for.check_dim(x0.shape[0])
        prm = params_for(x0.shape[0], x0.dtype)
        # scalars as (weakly typed) arrays: state leaves, traced in numpyro's loop
        prm = prm._replace(**{f: jnp.asarray(getattr(prm, f)) for f in AGESSParams._fields[3:]})
        if batched:
            sched_key = jax.random.fold_in(rng_key[0], 1)
            core = init_chains(z, self._logdensity, prm, self._config, rng_key=sched_key)
        else:
            sched_key = jax.random.fold_in(rng_key, 1)
            core = init(z, self._logdensity, prm, self._config, rng_key=sched_key)
        shape = jnp.shape(core.logdensity)
        return AGESSKernelState(z, core, rng_key, jnp.zeros(shape, jnp.int32), jnp.zeros(shape, jnp.int32),
                                jnp.zeros(shape, bool), jnp.zeros(shape, bool), prm)

    def sample(self, state, model_args, model_kwargs):
        if is_prng_key(state.rng_key):
            key, sub = jax.random.split(state.rng_key)
        else:
            pair = jax.vmap(jax.random.split)(state.rng_key)
            key, sub = pair[:, 0], pair[:, 1]
        core, info = self._kernel(sub, state.core, self._logdensity, state.params)
        info: MCMCInfo
        return AGESSKernelState(core.position, core, key, info.num_evals, info.move_type, info.refreshed,
                                info.capped, state.params)

    def get_diagnostics_str(self, state):
        return f"{int(jnp.sum(state.num_evals))} evals/it, refresh n={int(state.core.schedule.n)}"
