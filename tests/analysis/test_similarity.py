import numpy as np
import pytest
from scipy.spatial.distance import pdist

from routesig.analysis import similarity
from routesig.analysis.inputs import labels_of, unit_vectors


def test_reference_study_cohens_d():
    # pooled over pairs: sqrt((760 * 0.00772641 + 2400 * 0.02845969) / 3160) = sqrt(0.0234732) = 0.153210
    pooled = np.sqrt((760 * 0.0879**2 + 2400 * 0.1687**2) / 3160)
    assert pooled == pytest.approx(0.153210, abs=1e-6)
    d = similarity.cohens_d(0.8435, 0.0879, 760, 0.6225, 0.1687, 2400)
    assert d == pytest.approx(0.2210 / 0.153210, abs=1e-4)  # = 1.4425
    assert round(d, 2) == 1.44


@pytest.mark.parametrize("dense_limit", [4096, 0])  # N x N path, and the per-category Gram path
def test_hand_worked_pairs(hand4, monkeypatch, dense_limit):
    monkeypatch.setattr(similarity, "DENSE_LIMIT", dense_limit)
    y, _ = labels_of(hand4, folds=2)
    s = similarity.pair_stats(unit_vectors(hand4), y)
    # vectors: 4 entries of 1/2 each; cos = shared positions / 4
    # within: p0.p1 = 3/4, p2.p3 = 3/4        across: p0.p2 = 0, p0.p3 = 1/4, p1.p2 = 1/4, p1.p3 = 2/4
    assert s["within"] == pytest.approx({"mean": 0.75, "std": 0.0, "n_pairs": 2})
    across_sd = np.sqrt((0.25**2 + 0 + 0 + 0.25**2) / 4)  # deviations from 0.25: -1/4, 0, 0, +1/4
    assert s["across"] == pytest.approx({"mean": 0.25, "std": across_sd, "n_pairs": 4})
    pooled = np.sqrt((2 * 0 + 4 * across_sd**2) / 6)
    assert s["gap"] == pytest.approx(0.5)
    assert s["cohens_d"] == pytest.approx(0.5 / pooled)
    assert s["cohens_d"] == pytest.approx(2 * np.sqrt(3))


def test_hand_worked_matrix_and_nearest(hand4):
    y, _ = labels_of(hand4, folds=2)
    U = unit_vectors(hand4)
    M = similarity.category_matrix(U, y, 2)
    # a-b: mean(0, 1/4, 1/4, 2/4) = 1/4
    np.testing.assert_allclose(M, [[0.75, 0.25], [0.25, 0.75]])
    sims, nearest = similarity.nearest_category(U, y, 2)
    # p0: other a = 3/4; b = mean(0, 1/4) = 1/8.   p3: a = mean(1/4, 2/4) = 3/8; other b = 3/4
    np.testing.assert_allclose(sims[0], [0.75, 0.125])
    np.testing.assert_allclose(sims[3], [0.375, 0.75])
    assert nearest.tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("dense_limit", [4096, 0])
def test_matches_brute_force(dense_limit, monkeypatch):
    monkeypatch.setattr(similarity, "DENSE_LIMIT", dense_limit)
    rng = np.random.default_rng(3)
    X = rng.random((40, 12))
    y = rng.integers(0, 3, 40)
    cos = 1 - pdist(X, "cosine")  # scipy's pair order is i < j, row-major
    i, j = np.triu_indices(40, 1)
    same = y[i] == y[j]
    s = similarity.pair_stats(X / np.linalg.norm(X, axis=1, keepdims=True), y)
    assert s["within"]["mean"] == pytest.approx(cos[same].mean())
    assert s["within"]["std"] == pytest.approx(cos[same].std())
    assert s["across"]["mean"] == pytest.approx(cos[~same].mean())
    assert s["across"]["std"] == pytest.approx(cos[~same].std())
    assert s["within"]["n_pairs"] == same.sum()


def test_histogram_exact_and_sampled_agree():
    rng = np.random.default_rng(4)
    X = rng.random((60, 8))
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    y = rng.integers(0, 2, 60)
    exact = similarity.pair_histogram(U, y, seed=0, max_prompts=100)
    n_w = int(sum(n * (n - 1) // 2 for n in np.bincount(y)))
    assert sum(exact["within"]) == n_w and sum(exact["across"]) == 60 * 59 // 2 - n_w
    sampled = similarity.pair_histogram(U, y, seed=0, max_prompts=10, n_sample=200_000)
    # the sampled within-share of pairs estimates the exact one
    share = sum(sampled["within"]) / sampled["sampled_pairs"]
    assert share == pytest.approx(n_w / (60 * 59 / 2), abs=0.01)
