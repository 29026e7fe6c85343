"""The sequentially interactive LDP-IHT estimator as one function: :func:`ldp_iht`.

D. Wang & J. Xu, "On sparse linear regression in the local differential privacy model" (ICML 2019;
IEEE Trans. Inf. Theory 2021), with the rectified sensitivity of L. Zhu, M. Ding, V. Aggarwal, J. Xu,
D. Wang, "Improved Analysis of Sparse Linear Regression in Local Differential Privacy Model"
(ICLR 2024). Users are split into T disjoint groups (:func:`iht_groups`); in round t each user of
group t sends one noisy gradient at the broadcast theta_{t-1}
(:func:`~sparsestat.privacy.release.release_iht`), the server sums them
(:func:`~sparsestat.privacy.aggregation.stream_iht_round`) and steps
theta_t = Proj_{||.||_2 <= R}(H_k(theta_{t-1} - eta gbar_t))
(:func:`~sparsestat.privacy.estimation.iht_step`). Each user reports once: (epsilon, delta) in total.

:class:`~sparsestat.privacy.InteractiveLDPSparseRegression` is the scikit-learn shell over this function.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..linalg.cache import compiled_entry
from ..linalg.shapes import next_pow2
from . import mechanisms as mech
from .aggregation import _iht_round_sum
from .estimation import iht_step

__all__ = ["LDPIHTResult", "iht_groups", "ldp_iht"]


class LDPIHTResult(NamedTuple):
    """Output of :func:`ldp_iht`: ``coef`` theta_T, and per round t: ``grad_sums`` (T, d) the sum of
    the group's noisy gradients, ``group_sizes`` (T,), ``sigmas`` the report sigma and
    ``sensitivities`` its l2 sensitivity at theta_{t-1} (public values)."""

    coef: jax.Array
    grad_sums: np.ndarray
    group_sizes: np.ndarray
    sigmas: tuple
    sensitivities: tuple


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


@compiled_entry
def ldp_iht(key, x=None, y=None, *, unit_sigma, x_clip, y_clip, n_nonzero_coefs, n_rounds: int = 3,
            step_size=1.0, radius=1.0, groups=None, rounds: Iterable | None = None, d: int | None = None,
            chunk_size: int | None = None, dtype=None, distributed: bool = False) -> LDPIHTResult:
    """LDP-IHT (Wang & Xu 2019) with the rectified sensitivity of Zhu et al. (ICLR 2024).

    Round t = 1..T: every user i of group t reports g_i = xtilde_i (<xtilde_i, theta> - ytilde_i) +
    N(0, sigma_t^2 I) with the key ``fold_in(key_noise, i)``, sigma_t = ``unit_sigma`` * 2 sqrt(d) tau_x
    (tau_x ||theta_{t-1}||_1 + tau_y); then theta_t = Proj_{||.||_2 <= R}(H_k(theta_{t-1} - eta gbar_t)).
    theta_0 = 0. The report sigma and clip levels enter the compiled chunk step as traced values.

    Users come either in memory (``x``, ``y``; groups from ``groups`` or :func:`iht_groups`) or streamed
    (``rounds`` and ``d``), which holds O(chunk d) memory whatever the number of users.

    Parameters
    ----------
    key : PRNG key
        With ``x``, ``y`` and no ``groups``: split into a partition key (:func:`iht_groups`) and the
        noise key. Otherwise the noise key itself.
    x : array (n, d), optional
        One row per user (user i is row i).
    y : array (n,), optional
    unit_sigma : float
        Report sigma per unit of sensitivity, :func:`~sparsestat.privacy.calibration.iht_unit_sigma`
        (epsilon, delta), computed once by the caller.
    x_clip, y_clip : float
        Public clip levels tau_x, tau_y.
    n_nonzero_coefs : int
        k of the hard threshold H_k.
    n_rounds : int
        T, when the groups are drawn here.
    step_size, radius : float
        eta and R.
    groups : list of int arrays, optional
        Disjoint public groups of row indices, one per round (default :func:`iht_groups`).
    rounds : iterable, optional
        Instead of ``x``, ``y``: one iterable per round of (x, y, user_index) pieces (global user
        indices); round t + 1 is read only after round t is summed, so rounds may be lazy generators
        over a stream of users.
    d : int, optional
        Number of features (required with ``rounds``).
    chunk_size : int, optional
        Users per compiled step; default min(4096, next_pow2(piece length)) for each piece.
    dtype : numpy dtype, optional
        Working dtype (default: JAX's default float in the current scope).
    distributed : bool
        Several processes (:mod:`sparsestat.distributed`). With ``x``, ``y``: this process's users,
        whose global indices continue from the earlier processes' blocks; the groups are drawn over all
        the users (``groups``, if given, hold global indices) and each process reports for its own
        members. With ``rounds``: each process streams its own pieces (global user indices). Each round's
        sum and group size are added across processes, so every process returns what one process
        returns on all the users with the same key.

    Returns
    -------
    LDPIHTResult
    """
    from ..linalg.precision import default_float

    if not (np.isfinite(unit_sigma) and unit_sigma > 0):
        raise ValueError(f"unit_sigma must be a finite number > 0 (iht_unit_sigma(epsilon, delta)); got {unit_sigma!r}")
    if isinstance(n_nonzero_coefs, bool) or not isinstance(n_nonzero_coefs, (int, np.integer)) or n_nonzero_coefs < 1:
        raise ValueError(f"n_nonzero_coefs must be an integer >= 1; got {n_nonzero_coefs!r}")
    if distributed:
        from ..linalg.multiprocess import allreduce_sum, as_local_block, block_sizes, process_index
    if rounds is None:
        if distributed:
            x, y = as_local_block(x), as_local_block(y)
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim != 2 or x.shape[0] == 0 or y.shape != (x.shape[0],):
            raise ValueError(f"x must be (n_users, d) and y (n_users,); got {x.shape} and {y.shape}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError("x and y must be finite")
        d = x.shape[1]
        n_all, lo = x.shape[0], 0
        if distributed:
            sizes = block_sizes(x.shape[0])
            n_all, lo = int(sizes.sum()), int(sizes[:process_index()].sum())
        if groups is None:
            k_part, key = jax.random.split(key)
            groups = iht_groups(k_part, n_all, n_rounds)
        # this process's members of each group (global indices lo .. lo + n_local - 1)
        mine = [np.asarray(g)[(np.asarray(g) >= lo) & (np.asarray(g) < lo + x.shape[0])] for g in groups]
        rounds = ([(x[g - lo], y[g - lo], g)] if len(g) else [] for g in mine)
    elif d is None:
        raise ValueError("d (the number of features) is required with rounds")
    dtype = np.dtype(dtype or default_float())
    theta = jnp.zeros(int(d), dtype)
    sums, sizes, sigmas, sens = [], [], [], []
    for pieces in rounds:
        sensitivity = mech.gradient_sensitivity(d, x_clip, y_clip, float(jnp.sum(jnp.abs(theta))))
        sigma = unit_sigma * sensitivity
        gsum, m = None, 0
        for xp, yp, ip in pieces:
            cs = min(4096, next_pow2(len(ip))) if chunk_size is None else chunk_size
            part = _iht_round_sum(key, xp, yp, ip, theta, sigma=sigma, x_clip=x_clip, y_clip=y_clip,
                                  chunk_size=cs, dtype=dtype)
            gsum = part if gsum is None else gsum + part
            m += len(ip)
        if distributed:   # the round's sum over every process's members of the group
            gsum = np.zeros(int(d), dtype) if gsum is None else np.asarray(gsum)
            gsum, m = allreduce_sum((gsum, np.asarray(m, np.int64)), "the LDP-IHT round sums")
            gsum, m = jnp.asarray(gsum), int(m)
        theta = iht_step(theta, gsum, m, step_size=step_size, n_nonzero_coefs=n_nonzero_coefs, radius=radius)
        sums.append(gsum)     # stays on the device: read once after the last round
        sizes.append(m)
        sigmas.append(float(sigma))
        sens.append(float(sensitivity))
    # the round's one host read is ||theta_{t-1}||_1 above: the report sigma of round t is a public value
    # computed on the host (in double precision), as the users' devices would receive it
    return LDPIHTResult(theta, np.stack(jax.device_get(sums)), np.asarray(sizes), tuple(sigmas), tuple(sens))
