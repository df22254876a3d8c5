import numpy as np
import pytest

from routesig.analysis import bootstrap
from routesig.analysis.inputs import labels_of, unit_vectors


def test_weighted_pairs_match_an_explicit_resample():
    rng = np.random.default_rng(0)
    X = rng.random((12, 5))
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    y = np.repeat([0, 1, 2], 4)
    w = bootstrap.stratified_weights(y, 1, rng)[:, 0]
    assert (np.bincount(y, weights=w) == 4).all()  # stratified: each category keeps its size
    rows = np.repeat(np.arange(12), w.astype(int))  # the resample, copies included
    within = total = 0.0
    for a in range(len(rows)):
        for b in range(a + 1, len(rows)):
            if rows[a] == rows[b]:
                continue  # copies of one prompt are not a pair
            s = U[rows[a]] @ U[rows[b]]
            total += s
            within += s if y[rows[a]] == y[rows[b]] else 0.0
    masks = np.stack([y == c for c in range(3)]).astype(float)
    got_w, got_t = bootstrap._weighted_pairs(U @ U.T, w[:, None], masks)
    assert got_w[0] == pytest.approx(within)
    assert got_t[0] == pytest.approx(total)


def test_similarity_ci_brackets_the_estimate(planted):
    from routesig.analysis.similarity import pair_stats

    y, _ = labels_of(planted)
    U = unit_vectors(planted)
    s = pair_stats(U, y)
    ci = bootstrap.similarity_ci(U, y, n_resamples=200, seed=0)
    point = {"within": s["within"]["mean"], "across": s["across"]["mean"], "cohens_d": s["cohens_d"]}
    for key, value in point.items():
        lo, hi = ci[key]
        assert lo < value < hi
    assert ci["gap"][0] > 0


def test_probe_ci(planted):
    y, _ = labels_of(planted)
    res = bootstrap.probe_ci(planted.vectors(), y, n_resamples=5, folds=3, seed=0)
    lo, hi = res["probe_accuracy"]
    assert 0.8 <= lo <= hi <= 1.0
    assert res["probe_skipped"] == 0
