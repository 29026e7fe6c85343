"""Convergence diagnostics of a set of chains, in numpy: split R-hat and effective sample sizes.

Two ESS estimators, for two audiences:

* :func:`effective_sample_size` is numpyro's (Geyer's initial monotone sequence on the raw draws, chains
  not split), so the numbers :func:`sparsestat.mcmc.sample` reports agree with what a numpyro user reads
  (tested to 1e-10). It is not any of ArviZ's methods: ``az.ess(method="identity")`` adds Stan's
  correction for the truncated sum, ``"mean"`` also splits the chains (differences of order 1e-3).
* :func:`bulk_ess` is ArviZ's and Stan's default, the bulk ESS of Vehtari et al. (2021): chains split in
  halves, draws rank-normalised, Stan's estimator. It equals ``az.ess(idata, method="bulk")`` (tested to
  1e-8).

:func:`split_rhat` is numpyro's ``split_gelman_rubin`` and ArviZ's ``az.rhat(method="split")`` (ArviZ's
default is the rank-normalised R-hat). They live here, in numpy, because importing numpyro costs about
0.3 s, a third of a warm ``sample`` call, and ArviZ is optional.

References: Gelman et al., *Bayesian Data Analysis*, 3rd ed., ch. 11; Geyer (1992); Vehtari, Gelman,
Simpson, Carpenter & Bürkner (2021), "Rank-normalization, folding, and localization: an improved R-hat",
*Bayesian Analysis* 16(2).

Arrays are ``(chains, draws, ...)``; the result has the trailing shape.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["effective_sample_size", "bulk_ess", "split_rhat", "rhat"]


def _as_chains(x, min_draws: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"x must have shape (chains, draws, ...); got shape {x.shape}")
    if x.shape[1] < min_draws:
        raise ValueError(f"x needs at least {min_draws} draws per chain; got {x.shape[1]}")
    return x


def _variances(x: np.ndarray):
    """(within-chain variance W, pooled estimate var+ = (N-1)/N W + B/N) over axis 0 (chains), 1 (draws)."""
    n = x.shape[1]
    within = x.var(axis=1, ddof=1).mean(axis=0)
    pooled = within * (n - 1) / n
    if x.shape[0] > 1:
        pooled = pooled + x.mean(axis=1).var(axis=0, ddof=1)
    else:
        within = pooled
    return within, pooled


def rhat(x) -> np.ndarray:
    """Potential scale reduction sqrt(var+ / W) over >= 2 chains."""
    x = _as_chains(x, 2)
    if x.shape[0] < 2:
        raise ValueError("R-hat needs at least 2 chains")
    within, pooled = _variances(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(pooled / within)


def split_rhat(x) -> np.ndarray:
    """R-hat after cutting every chain into its first and last halves (>= 4 draws per chain)."""
    x = _as_chains(x, 4)
    half = x.shape[1] // 2
    return rhat(np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0))


def _autocovariance(x: np.ndarray) -> np.ndarray:
    """Biased autocovariance along axis 1 (lags 0..N-1), by FFT with zero padding to >= 2N (exact
    linear, not circular, correlation)."""
    n = x.shape[1]
    centred = x - x.mean(axis=1, keepdims=True)
    size = 1 << int(2 * n - 1).bit_length()
    spec = np.fft.rfft(centred, n=size, axis=1)
    acov = np.fft.irfft(spec * np.conj(spec), n=size, axis=1)
    return acov[:, :n] / n


def effective_sample_size(x) -> np.ndarray:
    """Multi-chain ESS: chains * draws / tau, tau = -1 + 2 sum of Geyer's initial monotone sequence of
    paired autocorrelations (combined across chains as rho_t = 1 - (W - mean_c acov_t) / var+)."""
    x = _as_chains(x, 2)
    within, pooled = _variances(x)
    with np.errstate(invalid="ignore", divide="ignore"):      # a constant chain: NaN, as numpyro gives
        rho = 1.0 - (within - _autocovariance(x).mean(axis=0)) / pooled
    rho[0] = 1.0
    pairs = rho[:-1:2] + rho[1::2]
    # initial positive, then monotone: clip at 0 and take the running minimum from lag pair 1 on
    pairs[1:] = np.minimum.accumulate(np.clip(pairs[1:], 0.0, None), axis=0)
    tau = -1.0 + 2.0 * pairs.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return x.shape[0] * x.shape[1] / tau


def _split_chains(x: np.ndarray) -> np.ndarray:
    """(C, N, ...) -> (2C, N // 2, ...): first and last halves of every chain (the middle draw of an odd
    N dropped), as :func:`split_rhat` cuts them."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)


def _rank_normalise(x: np.ndarray) -> np.ndarray:
    """Normal scores of the ranks pooled over chains and draws, per coordinate: Phi^-1((r - 3/8) /
    (S + 1/4)), average ranks for ties (Blom's offset, as ArviZ and Stan)."""
    c, n = x.shape[:2]
    flat = x.reshape(c * n, -1)
    ranks = stats.rankdata(flat, method="average", axis=0)
    return stats.norm.ppf((ranks - 0.375) / (c * n + 0.25)).reshape(x.shape)


def _stan_ess(x: np.ndarray) -> np.ndarray:
    """Stan's multi-chain ESS of (C, N, K) finite, non-constant draws, exactly as ArviZ computes it (its
    ``_ess``): Geyer's initial positive sequence over the paired autocorrelations, the next even lag
    added when positive (Stan's correction of the truncation), the monotone sequence, and tau bounded
    below by 1 / log10(C N)."""
    c, n, k = x.shape
    acov = _autocovariance(x)                                  # (C, N, K)
    mean_var = acov[:, 0].mean(axis=0) * n / (n - 1.0)        # W
    var_plus = mean_var * (n - 1.0) / n
    if c > 1:
        var_plus = var_plus + x.mean(axis=1).var(axis=0, ddof=1)
    rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus    # (N, K); rho[0] is replaced by 1
    rho[0] = 1.0
    # pairs P_j = rho[2j] + rho[2j+1], j = 0..kcap: ArviZ's loop computes P_1, P_2, ... while the last
    # one was > 0 and its lag stays below N - 3
    kcap = max((n - 3) // 2, 0)
    pairs = rho[0:2 * kcap + 1:2] + rho[1:2 * kcap + 2:2]   # (kcap + 1, K)
    nonpos = pairs <= 0.0
    stop = np.where(nonpos.any(axis=0), nonpos.argmax(axis=0), kcap)     # K_k: index of the last pair computed
    stop = np.minimum(stop, kcap)
    cols = np.arange(k)
    # running minimum over the pairs kept (0..stop-1), then tau = -1 + 2 sum + the last even lag
    mono = np.minimum.accumulate(pairs, axis=0)
    kept = np.arange(kcap + 1)[:, None] < stop[None, :]
    tau = -1.0 + 2.0 * np.where(kept, mono, 0.0).sum(axis=0)
    last_even = rho[2 * stop, cols]
    last_pair = pairs[stop, cols]
    add = np.where(stop == 0, 1.0, np.where((last_pair >= 0.0) | (last_even > 0.0), last_even, 0.0))
    tau = np.maximum(tau + add, 1.0 / np.log10(c * n))
    return c * n / tau


def bulk_ess(x) -> np.ndarray:
    """Bulk effective sample size (Vehtari et al. 2021; ArviZ's and Stan's default ESS).

    Every chain is split in halves, the draws of each coordinate are replaced by the normal scores of
    their ranks (pooled over chains and draws), and Stan's multi-chain ESS is computed on them. Equals
    ``arviz.ess(data, method="bulk")`` (tested to 1e-8), so it is what an ArviZ user reads from
    :meth:`SampleResult.to_inference_data() <sparsestat.mcmc.SampleResult.to_inference_data>`.

    Parameters
    ----------
    x : array (chains, draws, ...), at least 4 draws per chain.

    Returns
    -------
    array of the trailing shape: NaN where a coordinate has a non-finite draw; the number of draws where
    it is constant (as ArviZ).
    """
    x = _as_chains(x, 4)
    trailing = x.shape[2:]
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    out = np.full(flat.shape[2], np.nan)
    finite = np.isfinite(flat).all(axis=(0, 1))
    split = _split_chains(flat)
    z = _rank_normalise(split[..., finite])
    constant = np.ptp(z, axis=(0, 1)) < np.finfo(float).resolution
    ess = np.full(z.shape[2], float(z.shape[0] * z.shape[1]))
    if (~constant).any():
        ess[~constant] = _stan_ess(z[..., ~constant])
    out[finite] = ess
    return out.reshape(trailing)
