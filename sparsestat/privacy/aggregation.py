"""Stage 3 of the protocol, aggregation: the server's sums of the users' messages.

- :func:`aggregate` -- adds a batch of NLDP messages to running sums (``psum`` over a device axis when
  called inside ``shard_map``); pure and jit-able.
- :func:`stream_nldp` -- release + aggregation over chunks of users and over devices with O(chunk d^2)
  memory whatever the number of users (:func:`stream_nldp_sums` when the calibration is already known).
- :func:`stream_iht_round` -- the sum of one LDP-IHT group's reports at a public theta, chunk by chunk.
- :func:`simulate_aggregate` -- SIMULATOR: the *sum* of n per-user noises in one draw (exact in
  distribution), for experiments at scale; never used by the estimators.

User i always uses the key ``fold_in(key, i)`` on its global index, so the sums depend on the chunking
or the device count only through the summation order. Every compiled chunk step takes the noise scales
and clip levels as traced arguments.
"""

from __future__ import annotations

import math
from functools import lru_cache, partial
from typing import Iterable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..linalg.cache import compiled_entry
from ..linalg.sharding import make_mesh, shard_leading_axis
from . import mechanisms as mech
from .calibration import NLDPCalibration, nldp_calibration
from .release import (NLDPMessage, _fold_users, _iht_users, _release_users, _split_index, _warn_low_precision,
                      nldp_release_params)

__all__ = ["NLDPSums", "aggregate", "stream_nldp", "stream_nldp_sums", "stream_iht_round",
           "simulate_aggregate"]


class NLDPSums(NamedTuple):
    """Running server totals: sums (not means) of the messages and the number of users."""

    cov_triu: jax.Array | None
    xy: jax.Array
    n_users: jax.Array


def aggregate(messages: NLDPMessage, state: NLDPSums | None = None, *, axis_name=None,
              mask=None) -> NLDPSums:
    """Add a batch of messages (leading user axis) to the running sums ``state``.

    Parameters
    ----------
    messages : NLDPMessage
        A batch of messages (e.g. from :func:`~sparsestat.privacy.release.release_nldp`).
    state : NLDPSums, optional
        Running totals; None starts from zero.
    axis_name : str, optional
        Inside ``shard_map`` over users, the mesh axis: partial sums are combined with ``psum``.
    mask : array (n,), optional
        1 for real users, 0 for padding rows.

    Returns
    -------
    NLDPSums
        Sums (not means) and the number of users; pure and jit-able.
    """
    xy = messages.xy
    w = jnp.ones(xy.shape[0], xy.dtype) if mask is None else jnp.asarray(mask, xy.dtype)
    cov = None if messages.cov_triu is None else w @ messages.cov_triu
    part = NLDPSums(cov, w @ xy, jnp.sum(w))
    if axis_name is not None:
        part = jax.tree_util.tree_map(lambda v: jax.lax.psum(v, axis_name), part)
    if state is None:
        return part
    return jax.tree_util.tree_map(lambda a, b: a + b.astype(a.dtype), state, part)


def _chunk_sums(key, x, y, lo, hi, mask, r, tx, ty, sc_cov, sc_xy, public_covariance, mechanism):
    msgs = _release_users(_fold_users(key, lo, hi), x, y, r, tx, ty, sc_cov, sc_xy, public_covariance, mechanism)
    return aggregate(msgs, mask=mask)


def _kahan_add(acc, comp, part):
    # compensated summation across chunks (exact enough in float32, harmless in float64)
    yv = part - comp
    t = acc + yv
    comp = (t - acc) - yv
    return t, comp


_MESHES: dict = {}


def _mesh_key(mesh):
    if mesh is None:
        return None
    k = (tuple(d.id for d in mesh.devices.flat), mesh.axis_names)
    _MESHES[k] = mesh
    return k


@lru_cache(maxsize=32)
def _chunk_step(public_covariance: bool, mechanism: str, mesh_key):
    mesh = _MESHES.get(mesh_key)

    if mesh is None:
        def sums(key, x, y, lo, hi, mask, params):
            return _chunk_sums(key, x, y, lo, hi, mask, *params, public_covariance, mechanism)
    else:
        axis = mesh.axis_names[0]
        P = jax.sharding.PartitionSpec

        def local(key, x, y, lo, hi, mask, params):
            part = _chunk_sums(key, x, y, lo, hi, mask, *params, public_covariance, mechanism)
            return jax.tree_util.tree_map(lambda v: jax.lax.psum(v, axis), part)

        sums = jax.shard_map(local, mesh=mesh,
                             in_specs=(P(), P(axis), P(axis), P(axis), P(axis), P(axis), P()),
                             out_specs=P())

    def step(acc, comp, key, x, y, lo, hi, mask, params):
        part = sums(key, x, y, lo, hi, mask, params)
        fields_acc, fields_comp = [], []
        for a, c, p in zip(acc, comp, part):
            if a is None:
                fields_acc.append(None)
                fields_comp.append(None)
                continue
            t, c2 = _kahan_add(a, c, p.astype(a.dtype))
            fields_acc.append(t)
            fields_comp.append(c2)
        acc, comp = NLDPSums(*fields_acc), NLDPSums(*fields_comp)
        return acc, comp

    return jax.jit(step, donate_argnums=(0, 1))


def _pad_rows(a: np.ndarray, rows: int) -> np.ndarray:
    """``a`` with zero rows appended along its first axis up to ``rows``."""
    pad = rows - a.shape[0]
    return np.concatenate([a, np.zeros((pad,) + a.shape[1:], a.dtype)]) if pad else a


@compiled_entry
def stream_nldp(key, chunks: Iterable, d: int, *, epsilon, delta, x_clip_l2=None, x_clip, y_clip,
                public_covariance: bool = False, mechanism: str = "gaussian",
                calibration: str = "analytic", chunk_size: int = 4096, n_devices: int | None = 1,
                start_index: int = 0, dtype=None, distributed: bool = False,
                local_users: int | None = None) -> NLDPSums:
    """Release and aggregate users chunk by chunk (and across devices) with O(chunk d^2) memory.

    Each user i (global index, counted from ``start_index`` in arrival order) uses the key
    ``fold_in(key, i)``, so the sums depend on the chunking or the device count only through the
    summation order. Chunks are padded to ``chunk_size`` rows (a multiple of the device count), so a
    single programme is compiled; running totals are kept in the working dtype (float64 under
    ``enable_x64``) with compensated summation across chunks.

    Parameters
    ----------
    key : PRNG key
        Noise key (a deployment would keep keys on the users' devices).
    chunks : iterable of (x, y)
        Arrays of shape (m, d) and (m,), m <= chunk_size (larger chunks are split).
    d : int
        Number of features.
    epsilon, delta, x_clip_l2, x_clip, y_clip, public_covariance, mechanism, calibration
        See :func:`~sparsestat.privacy.release.release_nldp`.
    chunk_size : int
        Users per compiled step.
    n_devices : int or None
        Devices to shard users over (``psum`` of the partial sums); None uses all devices.
    start_index : int
        Global index of the first user.
    dtype : numpy dtype, optional
        Working dtype (default: JAX's default float in the current scope).
    distributed : bool
        Several processes (:mod:`sparsestat.distributed`): ``chunks`` stream this process's users and
        ``local_users`` says how many there are; the first one's global index is ``start_index`` plus
        the earlier processes' users, and the returned sums are over every process's users (numpy, the
        same on every process). Memory stays O(chunk d^2) per process.
    local_users : int
        With ``distributed``: the number of users this process streams (checked at the end).

    Returns
    -------
    NLDPSums
    """
    cal = nldp_calibration(d, epsilon=epsilon, delta=delta, x_clip_l2=x_clip_l2, x_clip=x_clip,
                           y_clip=y_clip, public_covariance=public_covariance, mechanism=mechanism,
                           calibration=calibration)
    return stream_nldp_sums(key, chunks, d, cal, x_clip_l2=x_clip_l2, x_clip=x_clip, y_clip=y_clip,
                            chunk_size=chunk_size, n_devices=n_devices, start_index=start_index, dtype=dtype,
                            distributed=distributed, local_users=local_users)


def stream_nldp_sums(key, chunks: Iterable, d: int, cal: NLDPCalibration, *, x_clip_l2, x_clip, y_clip,
                     chunk_size: int = 4096, n_devices: int | None = 1, start_index: int = 0,
                     dtype=None, distributed: bool = False, local_users: int | None = None) -> NLDPSums:
    """:func:`stream_nldp` with the calibration ``cal`` already computed (by
    :func:`~sparsestat.privacy.calibration.nldp_calibration`) from the same public parameters: the mode
    (public covariance or not) and the mechanism are read from ``cal``. Cores and estimators call this
    so that a fit calibrates once."""
    from ..linalg.precision import default_float

    public_covariance = cal.public_covariance
    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size}")
    dtype = np.dtype(dtype or default_float())
    _warn_low_precision(dtype, stacklevel=5)
    mesh = None
    if n_devices is None or n_devices > 1:
        mesh = make_mesh(n_devices, axis_name="users")
        nd = mesh.devices.size
        chunk_size = -(-chunk_size // nd) * nd
    step = _chunk_step(public_covariance, cal.mechanism, _mesh_key(mesh))
    D = d * (d + 1) // 2
    zeros = lambda: NLDPSums(None if public_covariance else jnp.zeros(D, dtype),  # noqa: E731
                             jnp.zeros(d, dtype), jnp.zeros((), dtype))
    acc, comp = zeros(), zeros()
    params = tuple(jnp.asarray(p, dtype) for p in nldp_release_params(cal, x_clip_l2, x_clip, y_clip))
    put = (lambda a: shard_leading_axis(a, mesh)) if mesh is not None else jnp.asarray
    pos = int(start_index)
    if distributed:
        from ..linalg.multiprocess import block_offset

        if isinstance(local_users, bool) or not isinstance(local_users, (int, np.integer)) or local_users < 0:
            raise ValueError("distributed=True needs local_users, the number of users this process streams "
                             f"(an integer >= 0); got {local_users!r}")
        pos += block_offset(int(local_users))
    first = pos
    for xc, yc in chunks:
        xc = np.asarray(xc, dtype=dtype)
        yc = np.asarray(yc, dtype=dtype).reshape(-1)
        if xc.ndim != 2 or xc.shape[1] != d or yc.shape[0] != xc.shape[0]:
            raise ValueError(f"each chunk must be (x of shape (m, {d}), y of shape (m,)), got "
                             f"{xc.shape} and {yc.shape}")
        for s in range(0, xc.shape[0], chunk_size):
            xb, yb = xc[s:s + chunk_size], yc[s:s + chunk_size]
            m = xb.shape[0]
            lo, hi = _split_index(np.arange(pos, pos + chunk_size, dtype=np.uint64))
            mask = (np.arange(chunk_size) < m).astype(dtype)
            xb, yb = _pad_rows(xb, chunk_size), _pad_rows(yb, chunk_size)
            acc, comp = step(acc, comp, key, put(xb), put(yb), put(lo), put(hi), put(mask), params)
            pos += m
    if distributed:
        from ..linalg.multiprocess import allreduce_sum, process_index

        if pos - first != local_users:
            raise ValueError(f"process {process_index()}: local_users={local_users} but its chunks held "
                             f"{pos - first} users")
        acc = NLDPSums(*allreduce_sum(tuple(jax.device_get(acc)), "the LDP sums"))
    return acc


@partial(jax.jit, donate_argnums=(0,))
def _iht_chunk_step(acc, key, x, y, lo, hi, mask, theta, tx, ty, sigma):
    return acc + mask @ _iht_users(_fold_users(key, lo, hi), x, y, theta, tx, ty, sigma)


@compiled_entry
def stream_iht_round(key, x, y, user_index, theta, *, sigma, x_clip, y_clip, chunk_size: int = 4096,
                     dtype=None):
    """Sum of the LDP-IHT reports of one group of users (rows ``x``, ``y`` with global indices
    ``user_index``; user i uses the key ``fold_in(key, i)``) at the public ``theta``, chunk by chunk.

    Returns the (d,) sum of the noisy gradients (divide by the group size for the mean)."""
    return _iht_round_sum(key, x, y, user_index, theta, sigma=sigma, x_clip=x_clip, y_clip=y_clip,
                          chunk_size=chunk_size, dtype=dtype)


def _iht_round_sum(key, x, y, user_index, theta, *, sigma, x_clip, y_clip, chunk_size, dtype):
    """:func:`stream_iht_round` without the entry-point hook (for the LDP-IHT core)."""
    from ..linalg.precision import default_float

    dtype = np.dtype(dtype or default_float())
    _warn_low_precision(dtype, stacklevel=5)
    x = np.asarray(x, dtype)
    y = np.asarray(y, dtype)
    idx = np.asarray(user_index, dtype=np.uint64)
    d = x.shape[1]
    chunk_size = int(chunk_size)
    acc = jnp.zeros(d, dtype)
    th = jnp.asarray(theta, dtype)
    scal = [jnp.asarray(v, dtype) for v in (x_clip, y_clip, sigma)]
    for s in range(0, x.shape[0], chunk_size):
        xb, yb, ib = x[s:s + chunk_size], y[s:s + chunk_size], idx[s:s + chunk_size]
        mask = (np.arange(chunk_size) < xb.shape[0]).astype(dtype)
        lo, hi = _split_index(_pad_rows(ib, chunk_size))
        acc = _iht_chunk_step(acc, key, jnp.asarray(_pad_rows(xb, chunk_size)), jnp.asarray(_pad_rows(yb, chunk_size)),
                              jnp.asarray(lo), jnp.asarray(hi), jnp.asarray(mask), th, *scal)
    return acc


def simulate_aggregate(key, clipped_sums: NLDPSums, n, sigmas, mechanism="gaussian") -> NLDPSums:
    """SIMULATOR: add the sum of n per-user noises to clean (clipped, noise-free) sums in one draw.

    Gaussian: N(0, n sigma^2) per entry; Laplace (``sigmas`` are the scales b): Gamma(n, b) - Gamma(n, b),
    the exact law of a sum of n Laplace(b). Exact in distribution, for experiments at scale only;
    estimators always release per user. ``sigmas`` = (scale_cov or None, scale_xy)."""
    mech.check_choice(mechanism, "mechanism", mech.MECHANISMS)
    n = float(n)
    k_cov, k_xy = jax.random.split(key)

    def draw(k, like, scale):
        like = jnp.asarray(like)
        if mechanism == "gaussian":
            return like + scale * math.sqrt(n) * jax.random.normal(k, like.shape, like.dtype)
        k1, k2 = jax.random.split(k)
        g = jax.random.gamma(k1, n, like.shape, like.dtype) - jax.random.gamma(k2, n, like.shape, like.dtype)
        return like + scale * g

    cov = None if clipped_sums.cov_triu is None else draw(k_cov, clipped_sums.cov_triu, sigmas[0])
    return NLDPSums(cov, draw(k_xy, clipped_sums.xy, sigmas[1]), jnp.asarray(n))
