"""Stage 2 of the protocol, release: what each user sends (the local randomisers), and their keys.

- :func:`release_nldp` -- the NLDP randomiser (Zhu, Ding, Aggarwal, Xu & Wang, ICLR 2024): the noisy
  upper triangle of xbar xbar^T (xbar = x scaled into the l2 ball of radius r) and the noisy clipped
  cross term xtilde * ytilde. Clipping happens inside the randomiser.
- :func:`release_iht` -- one LDP-IHT report (Wang & Xu 2019): the noisy clipped gradient at a public theta.
- :func:`user_keys` -- per-user keys ``fold_in(key, i)`` on the global user index, so results do not
  depend on how users are chunked or sharded.

Both randomisers are pure and jit-able per user (``_release_one``, ``_iht_one``); the public functions
validate, calibrate (:mod:`~sparsestat.privacy.calibration`) and run a compiled batch whose noise scales
and clip levels are traced arguments.
"""

from __future__ import annotations

import warnings
from functools import lru_cache, partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..exceptions import PrivacyWarning
from ..linalg.cache import compiled_entry
from .calibration import check_clip, iht_sigma, nldp_calibration

__all__ = ["NLDPMessage", "user_keys", "release_nldp", "release_iht"]


def _warn_low_precision(dtype, stacklevel: int = 4) -> None:
    """float32 noise is drawn from 24-bit uniforms: its tails stop at about 5.42 sigma (mass 6e-8 per entry
    missing), so over d(d+1)/2 entries the release can miss delta = 1e-5. Releases should run in float64.
    ``stacklevel`` 4: the caller of a public function (under its ``compiled_entry`` wrapper)."""
    if np.dtype(dtype).itemsize < 8:
        warnings.warn(
            f"noise drawn in {np.dtype(dtype).name}: its tails are truncated at about 5.4 standard deviations "
            "(24-bit uniforms), which can exceed a small delta over many entries; run releases inside "
            "sparsestat.linalg.enable_x64() for the stated guarantee", PrivacyWarning, stacklevel=stacklevel)


# --------------------------------------------------------------------------------------------------
# keys
# --------------------------------------------------------------------------------------------------

def _split_index(index) -> tuple[np.ndarray, np.ndarray]:
    """Low and high 32-bit words of global user indices (uint32 each)."""
    idx = np.asarray(index, dtype=np.uint64)
    return (idx & np.uint64(0xFFFFFFFF)).astype(np.uint32), (idx >> np.uint64(32)).astype(np.uint32)


def _fold_user(key, lo, hi):
    # One fold-in on the global user index below 2^32, two (high word, then low word) past it.
    k_hi = jax.tree_util.tree_map(lambda a, b: jnp.where(hi == 0, a, b), key, jax.random.fold_in(key, hi))
    return jax.random.fold_in(k_hi, lo)


def _fold_users(key, lo, hi):
    """Per-user keys from the words of the global indices (inside compiled chunk steps)."""
    return jax.vmap(_fold_user, in_axes=(None, 0, 0))(key, lo, hi)


def user_keys(key, start: int, count: int):
    """Per-user keys ``fold_in(key, i)`` for global user indices i = start, ..., start + count - 1
    (two fold-ins for indices >= 2^32). Results therefore do not depend on how users are chunked."""
    start = int(start)
    lo, hi = _split_index(np.arange(start, start + int(count), dtype=np.uint64))
    return _fold_users(key, jnp.asarray(lo), jnp.asarray(hi))


def _is_single_key(key) -> bool:
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key.ndim == 0
    return key.ndim == 1


def _float_users(x):
    """x as a floating array (integers promoted to JAX's default float)."""
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float))


def _add_user_axis(key, x, y):
    """One user's key and data with a leading user axis of length 1."""
    return jax.tree_util.tree_map(lambda a: a[None], key), x[None], y[None]


# --------------------------------------------------------------------------------------------------
# NLDP randomiser
# --------------------------------------------------------------------------------------------------

class NLDPMessage(NamedTuple):
    """One user's (or a batch's) message: ``cov_triu`` (..., d(d+1)/2) row-major upper triangle of the
    noisy xbar xbar^T (None in public-X mode) and ``xy`` (..., d) the noisy clipped cross term."""

    cov_triu: jax.Array | None
    xy: jax.Array


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


def _release_users(keys, x, y, r, tx, ty, scale_cov, scale_xy, public_covariance, mechanism):
    """:func:`_release_one` over a leading user axis (one key per user)."""
    fn = lambda k, a, b: _release_one(k, a, b, r, tx, ty, scale_cov, scale_xy,  # noqa: E731
                                      public_covariance, mechanism)
    return jax.vmap(fn)(keys, x, y)


_release_batch = partial(jax.jit, static_argnames=("public_covariance", "mechanism"))(_release_users)


def nldp_release_params(cal, x_clip_l2, x_clip, y_clip) -> tuple:
    """(r, tau_x, tau_y, scale_cov, scale_xy): the numbers a compiled NLDP release takes as traced
    arguments, from a calibration ``cal`` and its (validated) clip levels."""
    return (1.0 if cal.public_covariance else float(x_clip_l2), float(x_clip), float(y_clip),
            0.0 if cal.scale_cov is None else cal.scale_cov, cal.scale_xy)


@compiled_entry
def release_nldp(key, x, y, *, epsilon, delta, x_clip_l2=None, x_clip, y_clip,
                 public_covariance: bool = False, mechanism: str = "gaussian",
                 calibration: str = "analytic") -> NLDPMessage:
    """The NLDP randomiser: what a user sends.

    1. xbar = x min(1, r/||x||_2) (r = ``x_clip_l2``; x = 0 gives 0); Z = triu(xbar xbar^T) + N1 on the
       d(d+1)/2 entries (row-major packing), N1 i.i.d. N(0, sigma1^2) (or Laplace(b1)).
    2. xtilde = clip(x, +-tau_x), ytilde = clip(y, +-tau_y); w = xtilde ytilde + N2, N2 ~ N(0, sigma2^2 I).

    Private covariance: (epsilon/2, delta/2) per release; ``public_covariance=True`` sends only w at
    (epsilon, delta). See :func:`~sparsestat.privacy.calibration.nldp_calibration`.

    Parameters
    ----------
    key : PRNG key or array of keys
        One key for one user (x of shape (d,)), or one key per user (shape (n,) typed keys or (n, 2)
        raw keys) for a batch x of shape (n, d).
    x : array (d,) or (n, d)
    y : scalar or array (n,)
    epsilon, delta, x_clip_l2, x_clip, y_clip, public_covariance, mechanism, calibration
        See :func:`~sparsestat.privacy.calibration.nldp_calibration`. All must be public; clip bounds
        are never derived from data.

    Returns
    -------
    NLDPMessage
        ``cov_triu`` (None in public-covariance mode) and ``xy``, with a leading user axis for a batch.
    """
    x = jnp.asarray(x)
    if x.ndim not in (1, 2) or not jnp.issubdtype(x.dtype, jnp.floating) and not jnp.issubdtype(
            x.dtype, jnp.integer):
        raise ValueError(f"x must be a real array of shape (d,) or (n, d), got shape {x.shape}")
    x = _float_users(x)
    y = jnp.asarray(y, dtype=x.dtype)
    _warn_low_precision(x.dtype)
    single = x.ndim == 1
    if single:
        if y.ndim != 0:
            raise ValueError(f"y must be a scalar for one user (x of shape (d,)), got shape {y.shape}")
        if not _is_single_key(jnp.asarray(key) if not hasattr(key, "dtype") else key):
            raise ValueError("key must be a single PRNG key for one user")
        keys, x, y = _add_user_axis(key, x, y)
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
    msg = _release_batch(keys, x, y, *nldp_release_params(cal, x_clip_l2, x_clip, y_clip),
                         public_covariance=bool(public_covariance), mechanism=mechanism)
    if single:
        msg = jax.tree_util.tree_map(lambda a: a[0], msg)
    return msg


# --------------------------------------------------------------------------------------------------
# LDP-IHT randomiser
# --------------------------------------------------------------------------------------------------

def _iht_one(key, x, y, theta, tx, ty, sigma):
    xt = jnp.clip(x, -tx, tx)
    yt = jnp.clip(y, -ty, ty)
    g = xt * (jnp.dot(xt, theta) - yt)
    return g + sigma * jax.random.normal(key, g.shape, g.dtype)


def _iht_users(keys, x, y, theta, tx, ty, sigma):
    """:func:`_iht_one` over a leading user axis (one key per user) at the public ``theta``."""
    return jax.vmap(_iht_one, in_axes=(0, 0, 0, None, None, None, None))(keys, x, y, theta, tx, ty, sigma)


_iht_batch = jax.jit(_iht_users)


@compiled_entry
def release_iht(key, x, y, theta, *, epsilon, delta, x_clip, y_clip, calibration="analytic"):
    """One LDP-IHT report: g = xtilde (<xtilde, theta> - ytilde) + N(0, sigma^2 I), sigma calibrated at
    (epsilon, delta) for Delta = 2 sqrt(d) tau_x (tau_x ||theta||_1 + tau_y) (theta is public).

    ``key`` and ``x`` as in :func:`release_nldp` (one user, or one key per user for a batch)."""
    x = jnp.asarray(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"x must have shape (d,) or (n, d), got {x.shape}")
    x = _float_users(x)
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
    if not single and y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},), got {y.shape}")
    keys, xb, yb = _add_user_axis(key, x, y) if single else (key, x, y)
    g = _iht_batch(keys, xb, yb, theta, tx, ty, sigma)
    return g[0] if single else g
