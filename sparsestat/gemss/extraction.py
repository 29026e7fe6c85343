"""Turning fitted component means into candidate solutions (gemss 1.1.2's ``recover_solutions``).

* ``"full"``: per component, the features with ``|mu_kj| > tau`` at the component's extraction
  iteration (the last iteration with at least ``sparsity`` of them), sorted by ``|mu|`` descending
  (ties to the smaller index).
* ``"top"``: the first ``sparsity`` features of "full".
* ``"outlier"`` / ``"outlier_median"``: last iteration only; feature j selected iff
  ``|mu_kj| > c * mean_j |mu_kj|`` (gemss "STD" with the centre forced to 0) or ``c * median_j |mu_kj|``
  (gemss "MAD"); components without outliers are dropped.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

__all__ = ["EXTRACTIONS", "Extraction", "sorted_by_magnitude", "threshold_solutions",
           "outlier_solutions", "extract_solutions", "backward_search", "search_checkpoints",
           "deduplicate"]

EXTRACTIONS = ("top", "full", "outlier", "outlier_median")


class Extraction(NamedTuple):
    """Solutions (int arrays, sorted by |mu| descending) and the component each came from."""

    solutions: list
    components: np.ndarray


def sorted_by_magnitude(mu_row: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """Indices ``selected`` ordered by ``|mu|`` descending, ties to the smaller index."""
    selected = np.asarray(selected, dtype=int)
    order = np.lexsort((selected, -np.abs(mu_row[selected])))
    return selected[order]


def backward_search(mu_history: np.ndarray, sparsity: int, tau: float) -> np.ndarray:
    """gemss's backward search on a history of means.

    Parameters
    ----------
    mu_history : ndarray (T, K, p)
        Component means, oldest first.
    sparsity : int
        D: the number of entries that must exceed ``tau``.
    tau : float
        Threshold on ``|mu|``.

    Returns
    -------
    ndarray of int (K,)
        For each component the last index t with at least ``sparsity`` entries ``|mu| > tau``;
        -1 if none (gemss raises IndexError there). The fit's extraction record
        (:class:`~sparsestat.gemss.core.MixtureFit`) is this search run inside the training scan.
    """
    ok = np.sum(np.abs(mu_history) > tau, axis=2) >= sparsity  # (T, K)
    if ok.shape[0] == 0:
        return np.full(ok.shape[1], -1)
    last = ok.shape[0] - 1 - np.argmax(ok[::-1], axis=0)
    return np.where(ok.any(axis=0), last, -1)


def search_checkpoints(checkpoint_means: np.ndarray, checkpoint_iteration: np.ndarray,
                       final_means: np.ndarray, final_iteration: int, sparsity: int, tau: float):
    """:func:`backward_search` on the checkpoints followed by the final means (another ``tau`` than
    the fit's, approximate to the checkpoint grid).

    Parameters
    ----------
    checkpoint_means : ndarray (C, K, p)
    checkpoint_iteration : ndarray of int (C,)
    final_means : ndarray (K, p)
    final_iteration : int
        Iteration of ``final_means`` (``n_iter - 1``).
    sparsity : int
    tau : float

    Returns
    -------
    record_means : ndarray (K, p)
        Means of each component at its found iteration (zeros where none).
    record_iteration : ndarray of int (K,)
        The found iteration (-1 where none).
    """
    hist = np.concatenate([checkpoint_means, final_means[None]], axis=0)
    its = np.concatenate([np.asarray(checkpoint_iteration, dtype=int), [int(final_iteration)]])
    last = backward_search(hist, sparsity, tau)
    found = last >= 0
    rec_mu = np.where(found[:, None], hist[last, np.arange(hist.shape[1])], 0.0)
    return rec_mu, np.where(found, its[last], -1)


def threshold_solutions(record_means: np.ndarray, record_iteration: np.ndarray, final_means: np.ndarray,
                        sparsity: int, tau: float, top: bool) -> Extraction:
    """"full" (``top=False``) or "top" solutions from the extraction record.

    A component that never had ``sparsity`` means above ``tau`` (``record_iteration < 0``) falls
    back to the ``sparsity`` largest ``|mu|`` at the last iteration, with a ``RuntimeWarning``."""
    sols, comps = [], []
    for k in range(record_means.shape[0]):
        if record_iteration[k] < 0:
            warnings.warn(f"component {k} never had {sparsity} means with |mu| > {tau}; "
                          f"taking its {sparsity} largest |mu| at the last iteration instead",
                          RuntimeWarning, stacklevel=3)
            mu = final_means[k]
            sel = sorted_by_magnitude(mu, np.arange(mu.shape[0]))[:sparsity]
        else:
            mu = record_means[k]
            sel = sorted_by_magnitude(mu, np.flatnonzero(np.abs(mu) > tau))
            if top:
                sel = sel[:sparsity]
        sols.append(sel)
        comps.append(k)
    return Extraction(sols, np.asarray(comps, dtype=int))


def outlier_solutions(final_means: np.ndarray, threshold: float, median: bool = False) -> Extraction:
    """Outlier rule on the last means: ``|mu_kj| > threshold * mean_j |mu_kj|`` (or median)."""
    if threshold <= 0:
        raise ValueError(f"outlier_threshold must be > 0, got {threshold}")
    sols, comps = [], []
    for k in range(final_means.shape[0]):
        a = np.abs(final_means[k])
        scale = np.median(a) if median else np.mean(a)
        sel = np.flatnonzero(a > threshold * scale)
        if sel.size:
            sols.append(sorted_by_magnitude(final_means[k], sel))
            comps.append(k)
    return Extraction(sols, np.asarray(comps, dtype=int))


def extract_solutions(extraction: str, final_means: np.ndarray, record_means: np.ndarray,
                      record_iteration: np.ndarray, sparsity: int, tau: float,
                      outlier_threshold: float) -> Extraction:
    """Solutions by the rule ``extraction`` (one of :data:`EXTRACTIONS`).

    Parameters
    ----------
    extraction : {"top", "full", "outlier", "outlier_median"}
        "top"/"full" read the extraction record (:func:`threshold_solutions`); "outlier" and
        "outlier_median" the final means (:func:`outlier_solutions`), with a ``RuntimeWarning``
        when no component has an outlier.
    final_means : ndarray (K, p)
        Means after the last iteration.
    record_means, record_iteration : ndarray (K, p), ndarray of int (K,)
        The extraction record (:class:`~sparsestat.gemss.core.MixtureFit` or
        :func:`search_checkpoints`); unused by the outlier rules.
    sparsity : int
        D.
    tau : float
        Threshold of "top"/"full" (the one the record was searched with).
    outlier_threshold : float
        Multiplier c of the outlier rules.

    Returns
    -------
    Extraction
    """
    if extraction in ("top", "full"):
        return threshold_solutions(record_means, record_iteration, final_means, sparsity, tau,
                                   top=extraction == "top")
    if extraction not in EXTRACTIONS:
        raise ValueError(f"extraction must be one of {', '.join(map(repr, EXTRACTIONS))}; got {extraction!r}")
    ext = outlier_solutions(final_means, outlier_threshold, median=extraction == "outlier_median")
    if not ext.solutions:
        warnings.warn("outlier extraction found no solution", RuntimeWarning, stacklevel=3)
    return ext


def deduplicate(extraction: Extraction) -> Extraction:
    """Keep the first of solutions with identical feature sets (an option; gemss does not)."""
    seen, sols, comps = set(), [], []
    for s, c in zip(extraction.solutions, extraction.components):
        key = frozenset(s.tolist())
        if key not in seen:
            seen.add(key)
            sols.append(s)
            comps.append(c)
    return Extraction(sols, np.asarray(comps, dtype=int))
