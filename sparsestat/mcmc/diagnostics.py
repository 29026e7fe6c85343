"""Convergence diagnostics of a set of chains, in numpy: split R-hat and the effective sample size.

The estimators are the standard ones (Gelman et al., *Bayesian Data Analysis*, 3rd ed., ch. 11; Stan
reference manual; Geyer 1992 for the initial monotone sequence), the same as numpyro's and ArviZ's
"bulk" versions without rank normalisation, so the numbers :func:`sparsestat.mcmc.sample` reports agree
with what a numpyro user reads (tested to 1e-10). They live here, in numpy, because importing numpyro
costs about 0.3 s, a third of a warm ``sample`` call.

Arrays are ``(chains, draws, ...)``; the result has the trailing shape.
"""

from __future__ import annotations

import numpy as np

__all__ = ["effective_sample_size", "split_rhat", "rhat"]


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
