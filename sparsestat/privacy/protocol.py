"""The LDP protocol as pure functions: user-side releases, server-side aggregation and estimation.

Non-interactive (NLDP, Zhu et al. 2024):

- :func:`release_nldp` -- what one user (or a batch of users, one key each) sends: the noisy upper
  triangle of xbar xbar^T (xbar = x scaled into the l2 ball of radius r) and the noisy clipped cross
  term xtilde * ytilde. Clipping happens inside the randomiser.
- :func:`aggregate` -- adds a batch of messages to running sums (``psum`` over a device axis when
  called inside ``shard_map``); :func:`stream_nldp` drives release + aggregation over chunks of users
  and over devices with O(chunk d^2) memory whatever the number of users.
- :func:`server_estimate` -- u = Sigma^-1 b, soft or top-k threshold, optional stabilisation / refit.

Sequentially interactive LDP-IHT (Wang & Xu 2019, with the rectified sensitivity of Zhu et al.):
:func:`iht_groups`, :func:`release_iht`, :func:`iht_step`.

:func:`simulate_aggregate` draws the *sum* of n per-user noises at once (exact in distribution); it is a
simulator for experiments, never used by the estimators.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache, partial
from typing import Iterable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..exceptions import PrivacyWarning
from ..linalg.cache import compiled_entry
from ..linalg.prox import keep_top_k, project_l2_ball, soft_threshold
from ..linalg.sharding import make_mesh, shard_leading_axis
from . import mechanisms as mech

__all__ = [
    "NLDPCalibration",
    "NLDPMessage",
    "NLDPSums",
    "ServerEstimate",
    "nldp_calibration",
    "user_keys",
    "release_nldp",
    "aggregate",
    "stream_nldp",
    "triu_to_symmetric",
    "default_threshold",
    "server_estimate",
    "iht_groups",
    "iht_sigma",
    "release_iht",
    "iht_step",
    "simulate_aggregate",
    "check_clip",
    "stream_iht_round",
]

THRESHOLDS = ("soft", "topk")
STABILIZERS = (None, "ridge", "psd_floor")


class NLDPCalibration(NamedTuple):
    """Public noise calibration of the NLDP releases (per user).

    ``scale_*`` is what multiplies a standard draw (Gaussian sigma or Laplace b); ``sd_*`` the
    resulting standard deviation per entry (sigma, or sqrt(2) b). The covariance entries are None
    when the covariance is public (public-X mode)."""

    mechanism: str
    calibration: str | None
    epsilon_per_release: float
    delta_per_release: float
    sensitivity_cov: float | None
    sensitivity_xy: float
    scale_cov: float | None
    scale_xy: float
    sd_cov: float | None
    sd_xy: float
    composition: str


class NLDPMessage(NamedTuple):
    """One user's (or a batch's) message: ``cov_triu`` (..., d(d+1)/2) row-major upper triangle of the
    noisy xbar xbar^T (None in public-X mode) and ``xy`` (..., d) the noisy clipped cross term."""

    cov_triu: jax.Array | None
    xy: jax.Array


class NLDPSums(NamedTuple):
    """Running server totals: sums (not means) of the messages and the number of users."""

    cov_triu: jax.Array | None
    xy: jax.Array
    n_users: jax.Array


class ServerEstimate(NamedTuple):
    """Server output: ``coef`` the thresholded estimate, ``u`` the pre-threshold solve Sigma^-1 b,
    ``lam`` the soft threshold used (None for top-k), ``stabilized`` the stabiliser applied (or None),
    ``fallback`` whether the least-squares fallback was needed, ``indefinite`` whether the
    aggregated covariance was not positive definite."""

    coef: np.ndarray
    u: np.ndarray
    lam: float | None
    stabilized: str | None
    fallback: bool
    indefinite: bool


# --------------------------------------------------------------------------------------------------
# calibration and validation
# --------------------------------------------------------------------------------------------------

def _warn_low_precision(dtype, stacklevel: int = 4) -> None:
    """float32 noise is drawn from 24-bit uniforms: its tails stop at about 5.42 sigma (mass 6e-8 per entry
    missing), so over d(d+1)/2 entries the release can miss delta = 1e-5. Releases should run in float64.
    ``stacklevel`` 4: the caller of a public function (under its ``compiled_entry`` wrapper)."""
    if np.dtype(dtype).itemsize < 8:
        warnings.warn(
            f"noise drawn in {np.dtype(dtype).name}: its tails are truncated at about 5.4 standard deviations "
            "(24-bit uniforms), which can exceed a small delta over many entries; run releases inside "
            "sparsestat.linalg.enable_x64() for the stated guarantee", PrivacyWarning, stacklevel=stacklevel)


def check_clip(value, name: str) -> float:
    """A public clip level: a finite real > 0. Strings such as 'auto' or 'data' (bounds derived from
    the data) and None are refused: clip bounds must be public and data-independent."""
    if value is None:
        raise ValueError(f"{name} is required: LDP needs public, data-independent clip bounds "
                         f"(a finite number > 0); it is never derived from the data")
    if isinstance(value, str):
        raise ValueError(f"{name}={value!r} is not allowed: clip bounds must be public numbers fixed "
                         "before seeing the data (a finite number > 0), never derived from X or y")
    v = mech._real(value, name)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite real number > 0, got {v}")
    return v


def nldp_calibration(d: int, *, epsilon, delta, x_clip_l2=None, x_clip, y_clip,
                     public_covariance: bool = False, mechanism: str = "gaussian",
                     calibration: str = "analytic") -> NLDPCalibration:
    """Per-user noise scales of the NLDP releases from public parameters only.

    Private covariance: (epsilon/2, delta/2) on each of the two releases (basic composition).
    Public covariance: (epsilon, delta) on the cross term only. Laplace: pure epsilon, l1 sensitivities.

    Parameters
    ----------
    d : int
        Number of features.
    epsilon, delta : float
        Total per-user budget (delta = 0 for Laplace).
    x_clip_l2 : float, optional
        r, the l2 radius for the covariance release (required unless ``public_covariance``).
    x_clip, y_clip : float
        tau_x (coordinate-wise) and tau_y clip levels of the cross term.
    public_covariance : bool
        Public unlabelled X: only the cross term is released.
    mechanism : {"gaussian", "laplace"}
    calibration : {"analytic", "classic"}
        Gaussian calibration (ignored for Laplace).
    """
    d = int(d)
    if d < 1:
        raise ValueError(f"d must be a positive integer, got {d}")
    if mechanism not in mech.MECHANISMS:
        raise ValueError(f"mechanism must be one of {mech.MECHANISMS}, got {mechanism!r}")
    if calibration not in mech.CALIBRATIONS:
        raise ValueError(f"calibration must be one of {mech.CALIBRATIONS}, got {calibration!r}")
    eps = mech.check_epsilon(epsilon)
    dlt = mech.check_delta(delta, mechanism)
    tx, ty = check_clip(x_clip, "x_clip"), check_clip(y_clip, "y_clip")
    if public_covariance:
        e_r, d_r, comp = eps, dlt, "one release per user (public covariance)"
    else:
        r = check_clip(x_clip_l2, "x_clip_l2")
        e_r, d_r = eps / 2.0, dlt / 2.0
        comp = "basic composition of two releases at (epsilon/2, delta/2)"
    norm = "l2" if mechanism == "gaussian" else "l1"
    s_xy = mech.cross_sensitivity(d, tx, ty, norm)
    s_cov = None if public_covariance else mech.covariance_sensitivity(d, r, norm)
    if mechanism == "gaussian":
        if calibration == "classic" and e_r >= 1.0:
            raise ValueError(
                f"calibration='classic' is refused for a per-release epsilon >= 1 (per-release epsilon is "
                f"{e_r:g}{'' if public_covariance else ' = epsilon/2'}); use calibration='analytic'")
        scale = lambda s: mech.gaussian_sigma(s, e_r, d_r, calibration)  # noqa: E731
        sd = lambda b: b  # noqa: E731
        cal = calibration
    else:
        scale = lambda s: mech.laplace_scale(s, e_r)  # noqa: E731
        sd = lambda b: math.sqrt(2.0) * b  # noqa: E731
        cal = None
        comp = comp.replace(", delta/2", "").replace("(epsilon/2)", "epsilon/2")
    sc_xy = scale(s_xy)
    sc_cov = None if public_covariance else scale(s_cov)
    return NLDPCalibration(mechanism, cal, e_r, d_r, s_cov, s_xy, sc_cov, sc_xy,
                           None if sc_cov is None else sd(sc_cov), sd(sc_xy), comp)


# --------------------------------------------------------------------------------------------------
# keys
# --------------------------------------------------------------------------------------------------

def _split_index(start: int, count: int):
    idx = np.arange(start, start + count, dtype=np.uint64)
    return (idx & np.uint64(0xFFFFFFFF)).astype(np.uint32), (idx >> np.uint64(32)).astype(np.uint32)


def _fold_user(key, lo, hi):
    # One fold-in on the global user index below 2^32, two (high word, then low word) past it.
    k_hi = jax.tree_util.tree_map(lambda a, b: jnp.where(hi == 0, a, b), key, jax.random.fold_in(key, hi))
    return jax.random.fold_in(k_hi, lo)


def user_keys(key, start: int, count: int):
    """Per-user keys ``fold_in(key, i)`` for global user indices i = start, ..., start + count - 1
    (two fold-ins for indices >= 2^32). Results therefore do not depend on how users are chunked."""
    lo, hi = _split_index(int(start), int(count))
    return jax.vmap(_fold_user, in_axes=(None, 0, 0))(key, jnp.asarray(lo), jnp.asarray(hi))


# --------------------------------------------------------------------------------------------------
# user side
# --------------------------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _triu_indices(d: int):
    i, j = np.triu_indices(d)
    return i.astype(np.int32), j.astype(np.int32)


def _noise(key, shape, scale, mechanism, dtype):
    if mechanism == "gaussian":
        return scale * jax.random.normal(key, shape, dtype)
    return scale * jax.random.laplace(key, shape, dtype)


def _clean_one(x, y, r, tx, ty, public_covariance):
    d = x.shape[-1]
    xt = jnp.clip(x, -tx, tx)
    yt = jnp.clip(y, -ty, ty)
    xy = xt * yt
    if public_covariance:
        return None, xy
    nrm = jnp.sqrt(jnp.sum(x * x))
    factor = jnp.where(nrm > r, r / jnp.where(nrm > 0, nrm, 1.0), 1.0)
    xb = x * factor
    i, j = _triu_indices(d)
    return xb[i] * xb[j], xy


def _release_one(key, x, y, r, tx, ty, scale_cov, scale_xy, public_covariance, mechanism):
    # One standard draw of d(d+1)/2 + d entries per user key: the first d(d+1)/2 perturb the covariance
    # triangle, the last d the cross term (independent entries; one PRNG call keeps compile and run time low).
    cov, xy = _clean_one(x, y, r, tx, ty, public_covariance)
    d = xy.shape[-1]
    D = 0 if cov is None else cov.shape[-1]
    z = _noise(key, (D + d,), 1.0, mechanism, xy.dtype)
    xy = xy + scale_xy * z[D:]
    if cov is not None:
        cov = cov + scale_cov * z[:D]
    return NLDPMessage(cov, xy)


@partial(jax.jit, static_argnames=("public_covariance", "mechanism"))
def _release_batch(keys, x, y, r, tx, ty, scale_cov, scale_xy, *, public_covariance, mechanism):
    fn = lambda k, a, b: _release_one(k, a, b, r, tx, ty, scale_cov, scale_xy,  # noqa: E731
                                      public_covariance, mechanism)
    return jax.vmap(fn)(keys, x, y)


def _is_single_key(key) -> bool:
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key.ndim == 0
    return key.ndim == 1


@compiled_entry
def release_nldp(key, x, y, *, epsilon, delta, x_clip_l2=None, x_clip, y_clip,
                 public_covariance: bool = False, mechanism: str = "gaussian",
                 calibration: str = "analytic") -> NLDPMessage:
    """The NLDP randomiser: what a user sends.

    1. xbar = x min(1, r/||x||_2) (r = ``x_clip_l2``; x = 0 gives 0); Z = triu(xbar xbar^T) + N1 on the
       d(d+1)/2 entries (row-major packing), N1 i.i.d. N(0, sigma1^2) (or Laplace(b1)).
    2. xtilde = clip(x, +-tau_x), ytilde = clip(y, +-tau_y); w = xtilde ytilde + N2, N2 ~ N(0, sigma2^2 I).

    Private covariance: (epsilon/2, delta/2) per release; ``public_covariance=True`` sends only w at
    (epsilon, delta). See :func:`nldp_calibration`.

    Parameters
    ----------
    key : PRNG key or array of keys
        One key for one user (x of shape (d,)), or one key per user (shape (n,) typed keys or (n, 2)
        raw keys) for a batch x of shape (n, d).
    x : array (d,) or (n, d)
    y : scalar or array (n,)
    epsilon, delta, x_clip_l2, x_clip, y_clip, public_covariance, mechanism, calibration
        See :func:`nldp_calibration`. All must be public; clip bounds are never derived from data.

    Returns
    -------
    NLDPMessage
        ``cov_triu`` (None in public-covariance mode) and ``xy``, with a leading user axis for a batch.
    """
    x = jnp.asarray(x)
    if x.ndim not in (1, 2) or not jnp.issubdtype(x.dtype, jnp.floating) and not jnp.issubdtype(
            x.dtype, jnp.integer):
        raise ValueError(f"x must be a real array of shape (d,) or (n, d), got shape {x.shape}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    y = jnp.asarray(y, dtype=x.dtype)
    _warn_low_precision(x.dtype)
    single = x.ndim == 1
    if single:
        if y.ndim != 0:
            raise ValueError(f"y must be a scalar for one user (x of shape (d,)), got shape {y.shape}")
        if not _is_single_key(jnp.asarray(key) if not hasattr(key, "dtype") else key):
            raise ValueError("key must be a single PRNG key for one user")
        keys = jax.tree_util.tree_map(lambda a: a[None], key)
        x, y = x[None], y[None]
    else:
        if y.shape != (x.shape[0],):
            raise ValueError(f"y must have shape ({x.shape[0]},) to match x, got {y.shape}")
        keys = key
        kn = keys.shape[0] if keys.ndim >= 1 else 0
        if _is_single_key(keys) or kn != x.shape[0]:
            raise ValueError(f"key must hold one PRNG key per user ({x.shape[0]}), e.g. user_keys(key, 0, n)")
    cal = nldp_calibration(x.shape[-1], epsilon=epsilon, delta=delta, x_clip_l2=x_clip_l2, x_clip=x_clip,
                           y_clip=y_clip, public_covariance=public_covariance, mechanism=mechanism,
                           calibration=calibration)
    r = 1.0 if public_covariance else float(x_clip_l2)
    msg = _release_batch(keys, x, y, r, float(x_clip), float(y_clip),
                         0.0 if cal.scale_cov is None else cal.scale_cov, cal.scale_xy,
                         public_covariance=bool(public_covariance), mechanism=mechanism)
    if single:
        msg = jax.tree_util.tree_map(lambda a: a[0], msg)
    return msg


# --------------------------------------------------------------------------------------------------
# server side: aggregation
# --------------------------------------------------------------------------------------------------

def aggregate(messages: NLDPMessage, state: NLDPSums | None = None, *, axis_name=None,
              mask=None) -> NLDPSums:
    """Add a batch of messages (leading user axis) to the running sums ``state``.

    Parameters
    ----------
    messages : NLDPMessage
        A batch of messages (e.g. from :func:`release_nldp`).
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
    keys = jax.vmap(_fold_user, in_axes=(None, 0, 0))(key, lo, hi)
    fn = lambda k, a, b: _release_one(k, a, b, r, tx, ty, sc_cov, sc_xy,  # noqa: E731
                                      public_covariance, mechanism)
    msgs = jax.vmap(fn)(keys, x, y)
    return aggregate(msgs, mask=mask)


def _kahan_add(acc, comp, part):
    # compensated summation across chunks (exact enough in float32, harmless in float64)
    yv = part - comp
    t = acc + yv
    comp = (t - acc) - yv
    return t, comp


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


_MESHES: dict = {}


def _mesh_key(mesh):
    if mesh is None:
        return None
    k = (tuple(d.id for d in mesh.devices.flat), mesh.axis_names)
    _MESHES[k] = mesh
    return k


@compiled_entry
def stream_nldp(key, chunks: Iterable, d: int, *, epsilon, delta, x_clip_l2=None, x_clip, y_clip,
                public_covariance: bool = False, mechanism: str = "gaussian",
                calibration: str = "analytic", chunk_size: int = 4096, n_devices: int | None = 1,
                start_index: int = 0, dtype=None) -> NLDPSums:
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
        See :func:`release_nldp`.
    chunk_size : int
        Users per compiled step.
    n_devices : int or None
        Devices to shard users over (``psum`` of the partial sums); None uses all devices.
    start_index : int
        Global index of the first user.
    dtype : numpy dtype, optional
        Working dtype (default: JAX's default float in the current scope).

    Returns
    -------
    NLDPSums
    """
    cal = nldp_calibration(d, epsilon=epsilon, delta=delta, x_clip_l2=x_clip_l2, x_clip=x_clip,
                           y_clip=y_clip, public_covariance=public_covariance, mechanism=mechanism,
                           calibration=calibration)
    return _stream_nldp(key, chunks, d, cal, x_clip_l2=x_clip_l2, x_clip=x_clip, y_clip=y_clip,
                        public_covariance=public_covariance, mechanism=mechanism, chunk_size=chunk_size,
                        n_devices=n_devices, start_index=start_index, dtype=dtype)


def _stream_nldp(key, chunks: Iterable, d: int, cal: NLDPCalibration, *, x_clip_l2, x_clip, y_clip,
                 public_covariance: bool, mechanism: str, chunk_size: int, n_devices, start_index: int,
                 dtype) -> NLDPSums:
    """:func:`stream_nldp` with the calibration ``cal`` already computed from the same (validated)
    public parameters (the estimators calibrate once per fit)."""
    from ..linalg.precision import default_float

    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size}")
    dtype = np.dtype(dtype or default_float())
    _warn_low_precision(dtype, stacklevel=5)
    mesh = None
    nd = 1
    if n_devices is None or n_devices > 1:
        mesh = make_mesh(n_devices, axis_name="users")
        nd = mesh.devices.size
        chunk_size = -(-chunk_size // nd) * nd
    step = _chunk_step(bool(public_covariance), mechanism, _mesh_key(mesh))
    D = d * (d + 1) // 2
    zeros = lambda: NLDPSums(None if public_covariance else jnp.zeros(D, dtype),  # noqa: E731
                             jnp.zeros(d, dtype), jnp.zeros((), dtype))
    acc, comp = zeros(), zeros()
    params = (1.0 if public_covariance else float(x_clip_l2), float(x_clip), float(y_clip),
              0.0 if cal.scale_cov is None else cal.scale_cov, cal.scale_xy)
    params = tuple(jnp.asarray(p, dtype) for p in params)
    put = (lambda a: shard_leading_axis(a, mesh)) if mesh is not None else jnp.asarray
    pos = int(start_index)
    for xc, yc in chunks:
        xc = np.asarray(xc, dtype=dtype)
        yc = np.asarray(yc, dtype=dtype).reshape(-1)
        if xc.ndim != 2 or xc.shape[1] != d or yc.shape[0] != xc.shape[0]:
            raise ValueError(f"each chunk must be (x of shape (m, {d}), y of shape (m,)), got "
                             f"{xc.shape} and {yc.shape}")
        for s in range(0, xc.shape[0], chunk_size):
            xb, yb = xc[s:s + chunk_size], yc[s:s + chunk_size]
            m = xb.shape[0]
            pad = chunk_size - m
            lo, hi = _split_index(pos, chunk_size)
            mask = (np.arange(chunk_size) < m).astype(dtype)
            if pad:
                xb = np.concatenate([xb, np.zeros((pad, d), dtype)])
                yb = np.concatenate([yb, np.zeros(pad, dtype)])
            acc, comp = step(acc, comp, key, put(xb), put(yb), put(lo), put(hi), put(mask), params)
            pos += m
    return acc


# --------------------------------------------------------------------------------------------------
# server side: estimation
# --------------------------------------------------------------------------------------------------

def triu_to_symmetric(tri, d: int) -> np.ndarray:
    """The symmetric (d, d) matrix whose row-major upper triangle (diagonal included) is ``tri``."""
    tri = np.asarray(tri)
    if tri.shape != (d * (d + 1) // 2,):
        raise ValueError(f"tri must have shape ({d * (d + 1) // 2},) for d={d}, got {tri.shape}")
    i, j = _triu_indices(d)
    S = np.zeros((d, d), dtype=tri.dtype)
    S[i, j] = tri
    S[j, i] = tri
    return S


def default_threshold(n, d, sigmas, y_clip, *, radius=1.0, kappa=1.0) -> float:
    """Default soft threshold lambda = sqrt(2 ln 2d) sqrt((sigma2^2 + sigma1^2 R^2 + tau_y^2)/n) / kappa.

    ``sigmas`` = (sigma1, sigma2): per-user noise standard deviations of the covariance entries
    (0 or None with a public covariance) and of the cross term (sqrt(2) b for Laplace). R is an assumed
    bound on ||theta*||_2 and kappa on lambda_min(Sigma) (both public assumptions)."""
    n = mech._real(n, "n")
    if not n >= 1:
        raise ValueError(f"n must be >= 1, got {n}")
    s1, s2 = sigmas
    s1 = 0.0 if s1 is None else float(s1)
    R = check_clip(radius, "radius")
    kappa = check_clip(kappa, "kappa")
    ty = check_clip(y_clip, "y_clip")
    return math.sqrt(2.0 * math.log(2.0 * int(d))) * math.sqrt(
        (float(s2) ** 2 + s1 ** 2 * R ** 2 + ty ** 2) / n) / kappa


def _solve_spd_or_lu(A, b):
    """(solution, positive definite?) via Cholesky, LU when indefinite."""
    try:
        L = np.linalg.cholesky(A)
        z = np.linalg.solve(L, b)
        return np.linalg.solve(L.T, z), True
    except np.linalg.LinAlgError:
        pass
    try:
        return np.linalg.solve(A, b), False
    except np.linalg.LinAlgError:
        return np.full_like(b, np.nan), False


@compiled_entry
def server_estimate(sums: NLDPSums, *, sigmas, y_clip, public_cov=None, lam=None, threshold="soft",
                    n_nonzero_coefs=None, stabilize=None, refit=False, radius=1.0,
                    kappa=1.0) -> ServerEstimate:
    """Server estimate from aggregated sums (post-processing; costs no privacy).

    1. Sigma = (1/n) sym(sum Z_i) (or ``public_cov``), b = (1/n) sum w_i.
    2. Optional ``stabilize``: ``"ridge"`` Sigma + mu I, ``"psd_floor"`` eigenvalues floored at mu,
       mu = 2 sqrt(d) sigma1 / sqrt(n) (0 with a public covariance).
    3. u = Sigma^-1 b (Cholesky, LU if indefinite with a ``RuntimeWarning``; ``lstsq`` fallback with a
       ``RuntimeWarning`` if that is not finite).
    4. ``threshold="soft"``: S_lam(u) with lam from :func:`default_threshold` unless given;
       ``"topk"``: keep the ``n_nonzero_coefs`` largest |u_j| (ties to the smaller index).
    5. ``refit``: Sigma_AA^-1 b_A on the support A (zeros if A is empty).

    Parameters
    ----------
    sums : NLDPSums
    sigmas : (float or None, float)
        Per-user noise standard deviations (sigma1, sigma2) as in :attr:`NLDPCalibration.sd_cov`,
        :attr:`NLDPCalibration.sd_xy`.
    y_clip : float
    public_cov : array (d, d), optional
        Public covariance X_pub^T X_pub / m; required when ``sums.cov_triu`` is None.
    lam : float, optional
        Soft threshold (>= 0).
    threshold : {"soft", "topk"}
    n_nonzero_coefs : int, optional
        k for ``"topk"``.
    stabilize : {None, "ridge", "psd_floor"}
    refit : bool
    radius, kappa : float
        Public assumptions used by the default lambda.

    Returns
    -------
    ServerEstimate
        Always finite.
    """
    check_choice_ = lambda v, n, c: v if v in c else (_ for _ in ()).throw(  # noqa: E731
        ValueError(f"{n} must be one of {c}, got {v!r}"))
    check_choice_(threshold, "threshold", THRESHOLDS)
    check_choice_(stabilize, "stabilize", STABILIZERS)
    xy = np.asarray(sums.xy, dtype=np.float64)
    d = xy.shape[0]
    n = float(sums.n_users)
    if not n >= 1:
        raise ValueError("sums hold no users (n_users < 1)")
    b = xy / n
    s1 = 0.0 if sigmas[0] is None else float(sigmas[0])
    if public_cov is not None:
        A = np.asarray(public_cov, dtype=np.float64)
        if A.shape != (d, d):
            raise ValueError(f"public_cov must have shape ({d}, {d}), got {A.shape}")
        mu = 0.0
    else:
        if sums.cov_triu is None:
            raise ValueError("sums carry no covariance (public-covariance mode): pass public_cov")
        A = triu_to_symmetric(np.asarray(sums.cov_triu, dtype=np.float64), d) / n
        mu = 2.0 * math.sqrt(d) * s1 / math.sqrt(n)
    if stabilize == "ridge":
        A = A + mu * np.eye(d)
    elif stabilize == "psd_floor":
        w, V = np.linalg.eigh(A)
        floor = max(mu, 1e-12 * max(float(np.max(np.abs(w))), 1.0))
        A = (V * np.maximum(w, floor)) @ V.T
        A = (A + A.T) / 2
    u, pd = _solve_spd_or_lu(A, b)
    indefinite = not pd
    if indefinite and stabilize is None:
        warnings.warn("the aggregated covariance is not positive definite (too few users for its noise); "
                      "solved by LU. Consider stabilize='ridge', public_X or LDP-IHT.", RuntimeWarning,
                      stacklevel=3)
    fallback = False
    if not np.all(np.isfinite(u)):
        warnings.warn("the covariance solve was not finite; fell back to least squares (lstsq)",
                      RuntimeWarning, stacklevel=3)
        u = np.linalg.lstsq(A, b, rcond=None)[0]
        fallback = True
        if not np.all(np.isfinite(u)):  # pragma: no cover - lstsq of finite input is finite
            u = np.zeros(d)
    used_lam = None
    if threshold == "soft":
        used_lam = default_threshold(n, d, (s1, sigmas[1]), y_clip, radius=radius, kappa=kappa) \
            if lam is None else float(lam)
        if not used_lam >= 0:
            raise ValueError(f"lam must be >= 0, got {lam}")
        coef = np.asarray(soft_threshold(jnp.asarray(u), used_lam))
    else:
        if n_nonzero_coefs is None:
            raise ValueError("n_nonzero_coefs is required with threshold='topk'")
        k = int(n_nonzero_coefs)
        if not 1 <= k <= d:
            raise ValueError(f"n_nonzero_coefs must be an integer in [1, {d}], got {n_nonzero_coefs}")
        coef = np.asarray(keep_top_k(jnp.asarray(u), k))
    coef = np.array(coef, dtype=np.float64)
    if refit:
        supp = np.flatnonzero(coef)
        coef = np.zeros(d)
        if supp.size:
            sub, _ = _solve_spd_or_lu(A[np.ix_(supp, supp)], b[supp])
            if not np.all(np.isfinite(sub)):
                sub = np.linalg.lstsq(A[np.ix_(supp, supp)], b[supp], rcond=None)[0]
            coef[supp] = sub
    return ServerEstimate(coef, np.asarray(u, np.float64), used_lam, stabilize, fallback, indefinite)


# --------------------------------------------------------------------------------------------------
# LDP-IHT
# --------------------------------------------------------------------------------------------------

def iht_groups(key, n_users: int, n_rounds: int) -> list[np.ndarray]:
    """Disjoint, data-independent user groups for LDP-IHT: a public permutation of 0..n-1 drawn from
    ``key`` (a stream separate from the noise) cut into ``n_rounds`` groups whose sizes differ by at
    most 1 (the first n mod T groups one larger). Depends only on (key, n, T), never on the data."""
    n = int(n_users)
    T = int(n_rounds)
    if T < 1 or T > n:
        raise ValueError(f"n_rounds must be an integer in [1, n_users={n}], got {n_rounds}")
    perm = np.asarray(jax.random.permutation(key, n))
    base, extra = divmod(n, T)
    sizes = [base + (1 if t < extra else 0) for t in range(T)]
    cuts = np.cumsum([0] + sizes)
    return [np.sort(perm[cuts[t]:cuts[t + 1]]) for t in range(T)]


def iht_sigma(d: int, theta_l1, *, epsilon, delta, x_clip, y_clip, calibration="analytic"):
    """Per-user Gaussian sigma of an LDP-IHT gradient report at a public theta (at (epsilon, delta)):
    sigma_unit(epsilon, delta) * 2 sqrt(d) tau_x (tau_x ||theta||_1 + tau_y). ``theta_l1`` may be traced."""
    unit = mech.gaussian_sigma(1.0, epsilon, delta, calibration)
    return unit * mech.gradient_sensitivity(d, x_clip, y_clip, theta_l1)


def _iht_one(key, x, y, theta, tx, ty, sigma):
    xt = jnp.clip(x, -tx, tx)
    yt = jnp.clip(y, -ty, ty)
    g = xt * (jnp.dot(xt, theta) - yt)
    return g + sigma * jax.random.normal(key, g.shape, g.dtype)


@jax.jit
def _iht_batch(keys, x, y, theta, tx, ty, sigma):
    return jax.vmap(_iht_one, in_axes=(0, 0, 0, None, None, None, None))(keys, x, y, theta, tx, ty, sigma)


@compiled_entry
def release_iht(key, x, y, theta, *, epsilon, delta, x_clip, y_clip, calibration="analytic"):
    """One LDP-IHT report: g = xtilde (<xtilde, theta> - ytilde) + N(0, sigma^2 I), sigma calibrated at
    (epsilon, delta) for Delta = 2 sqrt(d) tau_x (tau_x ||theta||_1 + tau_y) (theta is public).

    ``key`` and ``x`` as in :func:`release_nldp` (one user, or one key per user for a batch)."""
    x = jnp.asarray(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"x must have shape (d,) or (n, d), got {x.shape}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    y = jnp.asarray(y, x.dtype)
    _warn_low_precision(x.dtype)
    theta = jnp.asarray(theta, x.dtype)
    d = x.shape[-1]
    if theta.shape != (d,):
        raise ValueError(f"theta must have shape ({d},), got {theta.shape}")
    tx, ty = check_clip(x_clip, "x_clip"), check_clip(y_clip, "y_clip")
    sigma = iht_sigma(d, float(jnp.sum(jnp.abs(theta))), epsilon=epsilon, delta=delta, x_clip=tx,
                      y_clip=ty, calibration=calibration)
    single = x.ndim == 1
    keys = jax.tree_util.tree_map(lambda a: a[None], key) if single else key
    xb, yb = (x[None], y[None]) if single else (x, y)
    if not single and y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},), got {y.shape}")
    g = _iht_batch(keys, xb, yb, theta, tx, ty, sigma)
    return g[0] if single else g


def iht_step(theta, grad_sum, n_group, *, step_size, n_nonzero_coefs, radius):
    """theta_t = Proj_{||.||_2 <= R}(H_k(theta - eta grad_sum / n_group)); pure and jit-able."""
    gbar = grad_sum / n_group
    return project_l2_ball(keep_top_k(theta - step_size * gbar, n_nonzero_coefs), radius)


# --------------------------------------------------------------------------------------------------
# simulator
# --------------------------------------------------------------------------------------------------

def simulate_aggregate(key, clipped_sums: NLDPSums, n, sigmas, mechanism="gaussian") -> NLDPSums:
    """SIMULATOR: add the sum of n per-user noises to clean (clipped, noise-free) sums in one draw.

    Gaussian: N(0, n sigma^2) per entry; Laplace (``sigmas`` are the scales b): Gamma(n, b) - Gamma(n, b),
    the exact law of a sum of n Laplace(b). Exact in distribution, for experiments at scale only;
    estimators always release per user. ``sigmas`` = (scale_cov or None, scale_xy)."""
    if mechanism not in mech.MECHANISMS:
        raise ValueError(f"mechanism must be one of {mech.MECHANISMS}, got {mechanism!r}")
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


@partial(jax.jit, donate_argnums=(0,))
def _iht_chunk_step(acc, key, x, y, lo, hi, mask, theta, tx, ty, sigma):
    keys = jax.vmap(_fold_user, in_axes=(None, 0, 0))(key, lo, hi)
    g = jax.vmap(_iht_one, in_axes=(0, 0, 0, None, None, None, None))(keys, x, y, theta, tx, ty, sigma)
    return acc + mask @ g


@compiled_entry
def stream_iht_round(key, x, y, user_index, theta, *, sigma, x_clip, y_clip, chunk_size: int = 4096,
                     dtype=None):
    """Sum of the LDP-IHT reports of one group of users (rows ``x``, ``y`` with global indices
    ``user_index``; user i uses the key ``fold_in(key, i)``) at the public ``theta``, chunk by chunk.

    Returns the (d,) sum of the noisy gradients (divide by the group size for the mean)."""
    from ..linalg.precision import default_float

    dtype = np.dtype(dtype or default_float())
    _warn_low_precision(dtype)
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
        m = xb.shape[0]
        pad = chunk_size - m
        mask = (np.arange(chunk_size) < m).astype(dtype)
        if pad:
            xb = np.concatenate([xb, np.zeros((pad, d), dtype)])
            yb = np.concatenate([yb, np.zeros(pad, dtype)])
            ib = np.concatenate([ib, np.zeros(pad, np.uint64)])
        lo = (ib & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        hi = (ib >> np.uint64(32)).astype(np.uint32)
        acc = _iht_chunk_step(acc, key, jnp.asarray(xb), jnp.asarray(yb), jnp.asarray(lo), jnp.asarray(hi),
                              jnp.asarray(mask), th, *scal)
    return acc
