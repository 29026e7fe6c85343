"""Extraction rules on hand-made means; union metrics on hand-computed cases."""

import warnings

import numpy as np
import pytest

from sparsestat.gemss import metrics
from sparsestat.gemss.extraction import (backward_search, deduplicate, extract_solutions, outlier_solutions,
                                         search_checkpoints, threshold_solutions)

MU = np.array([[0.1, -3.0, 0.25, 2.0, 0.0, -0.05],
               [1.0, 1.0, -1.0, 0.1, 0.1, 0.1],
               [0.01, 0.02, 0.03, 0.5, 0.0, 0.0]])


def test_full_and_top():
    it = np.array([10, 11, -1])
    with pytest.warns(RuntimeWarning, match="component 2"):
        full = threshold_solutions(MU, it, MU, 2, 0.2, top=False)
    assert [s.tolist() for s in full.solutions[:2]] == [[1, 3, 2], [0, 1, 2]]
    assert full.solutions[2].tolist() == [3, 2]  # fallback: D largest |mu| at the last iteration
    with pytest.warns(RuntimeWarning):
        top = threshold_solutions(MU, it, MU, 2, 0.2, top=True)
    assert [s.tolist() for s in top.solutions] == [[1, 3], [0, 1], [3, 2]]


def test_outlier_rules():
    mu = np.array([[5.0, 0.1, 0.2, -0.1, 0.1, 0.15, 0.05, 0.1, -4.0, 0.1]])
    mean_rule = outlier_solutions(mu, 2.0)  # mean |mu| = 0.99 -> threshold 1.98
    assert mean_rule.solutions[0].tolist() == [0, 8]
    med_rule = outlier_solutions(mu, 1.4, median=True)  # median |mu| = 0.1 -> threshold 0.14
    assert med_rule.solutions[0].tolist() == [0, 8, 2, 5]
    none = outlier_solutions(np.ones((2, 5)), 3.0)
    assert none.solutions == [] and none.components.size == 0


def test_no_dedup_by_default_and_dedup_option():
    mu = np.array([[3.0, 2.0, 0.0], [2.0, 3.0, 0.0]])
    ext = threshold_solutions(mu, np.array([1, 1]), mu, 2, 0.2, top=True)
    assert len(ext.solutions) == 2
    assert len(deduplicate(ext).solutions) == 1


def test_run_a_top_metrics():
    truth = [[130, 17, 154], [17, 139, 170], [104, 194, 147]]
    found = [list(range(0, 2)) + [130], [17, 154, 139], [170, 104, 194]]
    r = metrics.coverage_report(found, truth, 200)
    assert (r["n_found"], r["n_correct"], r["n_true"]) == (9, 7, 8)
    assert r["recall"] == pytest.approx(0.875)
    assert r["precision"] == pytest.approx(7 / 9)
    assert r["f1"] == pytest.approx(0.8235294117647)
    assert r["jaccard"] == pytest.approx(0.7)
    assert r["success_index"] == pytest.approx(21.875)
    assert r["adjusted_success_index"] == pytest.approx(17.0138888889)
    assert r["global_fdr"] == pytest.approx(2 / 200)
    assert r["global_miss_rate"] == pytest.approx(1 / 200)
    assert r["fdr"] == pytest.approx(2 / 9) and r["miss_rate"] == pytest.approx(0.125)
    assert metrics.performance_band(r["f1"]) == "good"


def test_empty_conventions():
    assert metrics.precision([], [[1, 2]]) == 1.0
    assert metrics.precision([], [[1, 2]], zero_division=0.0) == 0.0
    assert metrics.recall([], [[1, 2]]) == 0.0
    assert metrics.fdr([], [[1]]) == 0.0
    assert metrics.dissimilarity([[1, 2]]) == 0.0
    assert metrics.dissimilarity([[1, 2], [2, 3], [1, 2]]) == pytest.approx((2 / 3 + 0 + 2 / 3) / 3)


def test_consensus_matches_sklearn_clustering():
    from sklearn.cluster import AgglomerativeClustering

    rng = np.random.default_rng(0)
    base = [list(range(0, 5)), list(range(10, 15)), list(range(20, 25))]
    sols = []
    for _ in range(12):
        b = list(base[rng.integers(3)])
        b[rng.integers(5)] = int(rng.integers(30, 40))
        sols.append(sorted(b))
    out = metrics.consensus_solutions(sols, 3, 5)
    uniq = sorted({tuple(s) for s in sols}, key=lambda s: (-sols.count(list(s)), s))
    feats = sorted(set().union(*uniq))
    B = np.array([[f in u for f in feats] for u in uniq])
    lab = AgglomerativeClustering(n_clusters=3, metric="jaccard", linkage="average").fit_predict(B)
    groups = {}
    for u, l in zip(uniq, lab):
        groups.setdefault(l, []).append(u)
    expect = []
    for g in groups.values():
        freq = {}
        for u in g:
            for f in u:
                freq[f] = freq.get(f, 0) + sols.count(list(u))
        expect.append(sorted(sorted(freq, key=lambda f: (-freq[f], f))[:5]))
    assert sorted(o.tolist() for o in out) == sorted(expect)
    assert len(metrics.consensus_solutions([[1, 2], [1, 2]], 3, 2)) == 1


def test_backward_search_and_checkpoint_search_brute_force():
    rng = np.random.default_rng(0)
    hist = rng.normal(0, 1, (40, 4, 9)) * np.linspace(0.2, 2.0, 40)[:, None, None]
    hist[:, 3] *= 0.01  # a component that never qualifies
    for tau in (0.0, 0.5, 1.5):
        last = backward_search(hist, 3, tau)
        for k in range(4):
            t = [i for i in range(40) if np.sum(np.abs(hist[i, k]) > tau) >= 3]
            assert last[k] == (t[-1] if t else -1)
        its = np.arange(9, 400, 10)[:39]
        mu, it = search_checkpoints(hist[:-1], its, hist[-1], 399, 3, tau)
        full_its = np.r_[its, 399]
        for k in range(4):
            expect = full_its[last[k]] if last[k] >= 0 else -1
            assert it[k] == expect
            np.testing.assert_array_equal(mu[k], hist[last[k], k] if last[k] >= 0 else 0.0)
    assert backward_search(np.zeros((0, 2, 3)), 1, 0.1).tolist() == [-1, -1]


def test_extract_solutions_dispatch():
    it = np.array([10, 11, 12])
    assert [s.tolist() for s in extract_solutions("top", MU, MU, it, 2, 0.2, 3.0).solutions] == \
        [[1, 3], [0, 1], [3]]  # component 2 has only one |mu| > 0.2 at its record: "top" keeps it
    assert extract_solutions("outlier_median", MU, MU, it, 2, 0.2, 1.4).solutions[0].tolist() == \
        outlier_solutions(MU, 1.4, median=True).solutions[0].tolist()
    with pytest.warns(RuntimeWarning, match="no solution"):
        assert extract_solutions("outlier", np.ones((2, 5)), None, None, 2, 0.2, 3.0).solutions == []
    with pytest.raises(ValueError, match="extraction"):
        extract_solutions("best", MU, MU, it, 2, 0.2, 3.0)
