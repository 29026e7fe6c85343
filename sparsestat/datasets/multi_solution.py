"""Data with several sparse solutions (GEMSS generators).

``make_multi_solution`` reproduces ``gemss.data_handling.generate_artificial_dataset`` (gemss 1.1.2)
number for number: the same numpy ``default_rng`` calls in the same order, so a seed gives gemss's X, y
and supports. ``make_overlapping_solutions`` follows the companion study's harder generator
(``kat-er-ina/gemss_testing``, ``hard_data_factory.generate_overlapping_dataset``) where the supports
share a common core and all lie in a low-rank latent space.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_in_interval, check_int, check_nonnegative

__all__ = ["make_multi_solution", "make_overlapping_solutions"]


def _seed_rng(random_state):
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is not None:
        random_state = check_int(random_state, "random_state", lower=0)
    return np.random.default_rng(random_state)


def _binarize(y_latent: np.ndarray, ratio: float) -> np.ndarray:
    prob = 1.0 / (1.0 + np.exp(-y_latent))
    return (prob > np.quantile(prob, 1.0 - ratio)).astype(int)


def _check_noise_options(noise_std, nan_ratio, binarize, binary_response_ratio):
    """``noise_std`` >= 0, ``nan_ratio`` in [0, 1] and, with ``binarize``, ``binary_response_ratio`` in (0, 1)."""
    noise_std = check_nonnegative(noise_std, "noise_std")
    nan_ratio = check_in_interval(nan_ratio, "nan_ratio", 0.0, 1.0)
    if binarize:
        binary_response_ratio = check_in_interval(binary_response_ratio, "binary_response_ratio",
                                                  0.0, 1.0, closed="neither")
    return noise_std, nan_ratio, binary_response_ratio


def make_multi_solution(n_samples: int = 100, n_features: int = 200, n_solutions: int = 3,
                        sparsity: int = 3, *, noise_std: float = 0.1, nan_ratio: float = 0.0,
                        binarize: bool = False, binary_response_ratio: float = 0.5,
                        random_state=None):
    """Design with ``n_solutions`` different ``sparsity``-subsets that each explain y exactly.

    The first support's columns are standard normal and carry the latent response
    ``y_lat = X[:, S_0] @ w_0`` with ``w_0 ~ U(2, 10)``; every further support's columns are random
    signed mixtures ``X[:, S_k] = X[:, S_0] C_k`` of the *current* S_0 columns (a column shared with an
    earlier support has already been overwritten, as in the reference) (so ``y_lat`` is an exact linear function of
    each support, with weights ``pinv(X[:, S_k]) y_lat``); the remaining columns are ``N(0, noise_std)``,
    and ``N(0, noise_std)`` noise is added to all of X afterwards. Number for number as gemss 1.1.2's
    generator (``numpy.random.default_rng(random_state)``, same call order).

    Parameters
    ----------
    n_samples, n_features : int
        Shape of X.
    n_solutions : int
        Number of generating supports (drawn independently; they may overlap).
    sparsity : int
        Size of each support (``<= n_features``).
    noise_std : float
        Standard deviation of the noise columns and of the noise added to X (>= 0).
    nan_ratio : float
        Fraction of X entries set to NaN, in [0, 1]. **Documented difference:** the mask is drawn from
        the seeded generator after everything else (gemss uses the unseeded global ``np.random``), so
        X, y and the supports agree with gemss for every ``nan_ratio``; only the mask differs.
    binarize : bool
        Return 0/1 labels ``1[sigmoid(y_lat) > quantile(sigmoid(y_lat), 1 - binary_response_ratio)]``
        instead of the (noise-free) latent response.
    binary_response_ratio : float
        Fraction of ones when ``binarize``, in (0, 1).
    random_state : int, numpy Generator or None
        Seed.

    Returns
    -------
    X : ndarray (n_samples, n_features)
    y : ndarray (n_samples,)
        float latent response, or int labels when ``binarize``.
    supports : list of ndarray of int
        The generating supports in draw order (not sorted).
    coefs : list of ndarray
        The weights of each support (``w_0`` as drawn, then least-squares weights).

    Notes
    -----
    All supports lie in one ``sparsity``-dimensional column space (any full-rank subset of their union
    is also a solution), and the column standard deviations give the signal away (about 1 for S_0,
    10-90 for the dependent supports, 0.14 for noise); both are features of the reference generator.
    """
    n = check_int(n_samples, "n_samples", lower=1)
    p = check_int(n_features, "n_features", lower=1)
    m = check_int(n_solutions, "n_solutions", lower=1)
    d = check_int(sparsity, "sparsity", lower=1)
    if d > p:
        raise ValueError(f"sparsity must be <= n_features ({p}), got {d}")
    noise_std, nan_ratio, binary_response_ratio = _check_noise_options(noise_std, nan_ratio, binarize,
                                                                       binary_response_ratio)
    rng = _seed_rng(random_state)

    supports = [rng.choice(p, d, replace=False) for _ in range(m)]
    X = np.zeros((n, p))
    coefs = []
    w0 = rng.uniform(2, 10, size=d)
    X[:, supports[0]] = rng.normal(0, 1, size=(n, d))
    y_lat = X[:, supports[0]] @ w0
    coefs.append(w0)
    for k in range(1, m):
        mix = rng.uniform(2, 10, size=(d, d))
        signs = rng.choice([-1, 1], size=d)
        mix = mix * signs
        X[:, supports[k]] = X[:, supports[0]] @ mix
        coefs.append(np.linalg.pinv(X[:, supports[k]]) @ y_lat)
    used = set(np.concatenate(supports).tolist())
    # CPython's iteration order of the set difference (as the reference); ascending for p > ~10
    for j in set(range(p)) - used:
        X[:, j] = rng.normal(0, noise_std, size=n)
    X = X + rng.normal(0, noise_std, size=(n, p))
    y = _binarize(y_lat, binary_response_ratio) if binarize else y_lat
    if nan_ratio > 0:
        mask = rng.random((n, p)) < nan_ratio
        X[mask] = np.nan
    return X, y, supports, coefs


def make_overlapping_solutions(n_samples: int = 100, n_features: int = 200, n_solutions: int = 3,
                               sparsity: int = 5, latent_rank: int = 2, overlap: int = 2, *,
                               noise_std: float = 0.05, nan_ratio: float = 0.0, binarize: bool = True,
                               binary_response_ratio: float = 0.5, standardize: bool = True,
                               random_state=42):
    """Supports that share ``overlap`` core features, all spanning one rank-``latent_rank`` space.

    Follows the companion study's ``generate_overlapping_dataset`` (same ``default_rng`` call order):
    ``Z ~ N(0, I_r)``, ``y_lat = Z b`` with ``|b| ~ U(2, 10)`` and random signs; ``overlap +
    n_solutions (sparsity - overlap)`` signal columns drawn without replacement (the first ``overlap``
    form the shared core, then one private block per solution), each signal column a random
    combination ``Z c`` of the latent factors overwriting a standard-normal column; N(0, noise_std)
    noise added to X, then (optionally) column z-scores.

    Parameters
    ----------
    n_samples, n_features, n_solutions, sparsity : int
        Shape, number of solutions and size of each support (``sparsity >= latent_rank``).
    latent_rank : int
        Rank r of the latent space.
    overlap : int
        Number of features every support shares, in ``[0, sparsity)``.
    noise_std : float
        Standard deviation of the noise added to X.
    nan_ratio : float
        Fraction of X entries set to NaN (seeded mask drawn last), in [0, 1].
    binarize : bool
        Binary labels (as in :func:`make_multi_solution`) instead of the latent response.
    binary_response_ratio : float
        Fraction of ones when ``binarize``.
    standardize : bool
        Z-score the columns (ddof 0; constant columns give 0).
    random_state : int, numpy Generator or None
        Seed.

    Returns
    -------
    X : ndarray (n_samples, n_features)
    y : ndarray (n_samples,) of float
    true_support : ndarray of int
        Sorted union of the supports.
    supports : list of ndarray of int
        Each sorted support (core plus its private block).
    """
    n = check_int(n_samples, "n_samples", lower=1)
    p = check_int(n_features, "n_features", lower=1)
    m = check_int(n_solutions, "n_solutions", lower=1)
    d = check_int(sparsity, "sparsity", lower=1)
    r = check_int(latent_rank, "latent_rank", lower=1)
    ov = check_int(overlap, "overlap", lower=0)
    if d < r:
        raise ValueError(f"sparsity ({d}) must be >= latent_rank ({r})")
    if ov >= d:
        raise ValueError(f"overlap must be in [0, sparsity), got {ov} with sparsity {d}")
    n_signal = ov + m * (d - ov)
    if n_signal > p:
        raise ValueError(f"the union of the supports ({n_signal} features) exceeds n_features ({p})")
    noise_std, nan_ratio, binary_response_ratio = _check_noise_options(noise_std, nan_ratio, binarize,
                                                                       binary_response_ratio)
    rng = _seed_rng(random_state)

    Z = rng.standard_normal((n, r))
    b = rng.uniform(2, 10, r) * rng.choice([-1.0, 1.0], r)
    y_lat = Z @ b
    signal = rng.choice(p, n_signal, replace=False)
    core = signal[:ov]
    supports = []
    for k in range(m):
        block = signal[ov + k * (d - ov): ov + (k + 1) * (d - ov)]
        supports.append(np.array(sorted(set(core.tolist()) | set(block.tolist())), dtype=int))
    X = rng.standard_normal((n, p))
    for j in set(signal.tolist()):
        c = rng.standard_normal(r)
        X[:, j] = Z @ c
    X = X + rng.normal(0, noise_std, (n, p))
    if standardize:
        from sklearn.preprocessing import StandardScaler  # the companion's scaler (same rounding)

        X = np.nan_to_num(StandardScaler().fit_transform(X), nan=0.0)
    y = _binarize(y_lat, binary_response_ratio).astype(float) if binarize else y_lat
    if nan_ratio > 0:
        mask = rng.random((n, p)) < nan_ratio
        X[mask] = np.nan
    true_support = np.array(sorted(set(signal.tolist())), dtype=int)
    return X, y, true_support, supports
