"""ArviZ export of :func:`sparsestat.mcmc.sample` results (``SampleResult.to_inference_data``).

ArviZ is an optional dependency (``pip install arviz``, or the ``arviz`` extra of sparsestat): it is
imported only when :func:`to_inference_data` is called, and a clear ``ImportError`` says what to install
when it is missing. Nothing else in sparsestat needs it.

Groups written:

* ``posterior``: one variable per leaf of ``SampleResult.samples``, dims ``("chain", "draw", ...)``;
  a leaf's own dimensions are ``{name}_dim_{i}`` (ArviZ's default names) unless ``dims=`` names them.
* ``sample_stats``: ``lp`` (the log density of each draw: ArviZ's name for it; for ``kernel="ess"``,
  whose cached value is the log-likelihood, ``loglik`` instead: ArviZ reserves ``log_likelihood`` for
  pointwise values in a group of their own), ``num_evals`` (log-density
  evaluations since the previous kept draw: no ArviZ convention exists for a slice sampler's cost) and,
  for AGESS, ``move_type`` (0 adaptive GESS, 1 coordinate sweep, 2 fixed GESS). Slice samplers accept
  every draw, so there is no ``acceptance_rate``.

Variable names: a dict's keys (nested dicts joined with "."), a NamedTuple's field names, ``x`` for a
single array (ArviZ's name for an unnamed array), ``x_0``, ``x_1``, ... for the items of a tuple or list.
"""

from __future__ import annotations

import numpy as np

__all__ = ["to_inference_data", "posterior_dict", "sample_stats_dict", "import_arviz"]

INSTALL_HINT = "pip install arviz  (or: pip install 'sparsestat[arviz]')"


def import_arviz():
    """``import arviz``, or an ImportError that names the package to install."""
    try:
        import arviz
    except ImportError as err:
        raise ImportError(
            "SampleResult.to_inference_data() needs ArviZ, an optional dependency of sparsestat that is "
            f"not installed: {INSTALL_HINT}") from err
    return arviz


def _key_name(key) -> str:
    import jax

    tu = jax.tree_util
    if isinstance(key, tu.DictKey):
        return str(key.key)
    if isinstance(key, tu.GetAttrKey):
        return key.name
    if isinstance(key, tu.SequenceKey):
        return str(key.idx)
    if isinstance(key, tu.FlattenedIndexKey):
        return str(key.key)
    return str(key)


def posterior_dict(samples) -> dict:
    """``{name: (chains, draws, ...) numpy array}`` for the leaves of a samples pytree (see the module
    docstring for the names)."""
    import jax

    leaves, _ = jax.tree_util.tree_flatten_with_path(samples)
    out = {}
    for path, leaf in leaves:
        parts = [_key_name(k) for k in path]
        if not parts:
            name = "x"
        elif isinstance(path[0], jax.tree_util.SequenceKey):
            name = "x_" + ".".join(parts)
        else:
            name = ".".join(parts)
        arr = np.asarray(leaf)
        if arr.ndim < 2:
            raise ValueError(f"sample leaf {name!r} has shape {arr.shape}; expected (chains, draws, ...)")
        if name in out:
            raise ValueError(f"two sample leaves map to the variable name {name!r}")
        out[name] = arr
    return out


def sample_stats_dict(result) -> dict:
    """``{ArviZ name: (chains, draws) array}`` of the per-draw records of a ``SampleResult``."""
    kernel = getattr(result, "kernel", None)
    stats = {"loglik" if kernel == "ess" else "lp": np.asarray(result.logdensity),
             "num_evals": np.asarray(result.num_evals)}
    if kernel in ("agess", None):
        stats["move_type"] = np.asarray(result.move_type)
    return stats


def _attrs(result) -> dict:
    from .. import __version__

    attrs = {"inference_library": "sparsestat", "inference_library_version": str(__version__),
             "sampling_time": float(result.run_time), "compile_time": float(result.compile_time)}
    kernel = getattr(result, "kernel", None)
    if kernel is not None:
        attrs["sampler"] = str(kernel)
    return attrs


def to_inference_data(result, *, coords=None, dims=None):
    """``result`` (a :class:`~sparsestat.mcmc.SampleResult`) as ArviZ data: an ``arviz.InferenceData``
    (ArviZ < 1) or its successor, an ``xarray.DataTree`` (ArviZ >= 1), with groups ``posterior`` and
    ``sample_stats`` (see the module docstring).

    ``coords`` (``{dim: values}``) and ``dims`` (``{variable: [dim, ...]}`` for the dimensions after
    chain and draw) are passed to ArviZ's ``from_dict`` as in every ArviZ converter.
    """
    az = import_arviz()
    groups = {"posterior": posterior_dict(result.samples), "sample_stats": sample_stats_dict(result)}
    if hasattr(az, "InferenceData"):            # ArviZ 0.x: groups as keyword arguments
        data = az.from_dict(**groups, coords=coords, dims=dims)
    else:                                       # ArviZ >= 1: one mapping of groups -> xarray.DataTree
        data = az.from_dict(groups, coords=coords, dims=dims)
    # in every group, as ArviZ's own converters write them (from_dict's attrs= is not per group in 0.x)
    attrs = _attrs(result)
    for group in groups:
        data[group].attrs.update(attrs)
    return data
