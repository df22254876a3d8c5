import numpy as np
import pytest

from routesig.analysis import baselines
from routesig.analysis.inputs import labels_of, unit_vectors


def test_p_value_plus_one():
    # 2 of 3 null values >= 0.5: (1 + 2) / (1 + 3)
    assert baselines.p_value(np.array([0.1, 0.5, 0.9]), 0.5) == 0.75
    assert baselines.p_value(np.array([0.1, 0.2]), 5.0) == pytest.approx(1 / 3)


def test_permutation_null_hand_worked(hand4):
    # Labels [a, a, b, b] can be permuted into 3 pairings, each with probability 1/3:
    #   {01|23}: within (3/4, 3/4) -> 3/4, across (0, 1/4, 1/4, 2/4) -> 1/4, gap +1/2   (the observed one)
    #   {02|13}: within (0, 2/4) -> 1/4, across (3/4, 1/4, 1/4, 3/4) -> 1/2, gap -1/4
    #   {03|12}: within (1/4, 1/4) -> 1/4, across (3/4, 0, 2/4, 3/4) -> 1/2, gap -1/4
    # so null gaps are +1/2 or -1/4, their mean is 0, and P(null >= observed) = 1/3.
    y, _ = labels_of(hand4, folds=2)
    res = baselines.permutation_gap(unit_vectors(hand4), y, n_permutations=3000, seed=0)
    assert res["observed_gap"] == pytest.approx(0.5)
    assert res["null_gap"]["mean"] == pytest.approx(0.0, abs=0.03)
    # sd of {1/2, -1/4, -1/4}: sqrt((1/4 + 1/16 + 1/16) / 3) = sqrt(1/8)
    assert res["null_gap"]["std"] == pytest.approx(np.sqrt(1 / 8), abs=0.02)
    assert res["p_value"] == pytest.approx(1 / 3, abs=0.03)


def test_permutation_subsample_is_recorded(planted):
    y, _ = labels_of(planted)
    res = baselines.permutation_gap(unit_vectors(planted), y, n_permutations=50, seed=0, max_prompts=40)
    assert res["subsample"] == 40
    assert res["p_value"] == pytest.approx(1 / 51)  # planted structure: no shuffle reaches the observed gap


def test_inclusion_probabilities_from_counts():
    # one layer, selections 4, 2, 2, 0 of 8 (k = 2): shares 1/2, 1/4, 1/4, 0 -> pi = 1, 1/2, 1/2, 0
    counts = np.array([[[3, 1, 1, 0]], [[1, 1, 1, 0]]])
    np.testing.assert_allclose(baselines.inclusion_probabilities(counts, 2), [[1.0, 0.5, 0.5, 0.0]])


def test_infer_top_k(hand4):
    assert baselines.infer_top_k(hand4.counts, hand4.n_tokens, {}) == 2  # 4 picks per prompt-layer / 2 tokens
    with pytest.raises(Exception, match="top_k"):
        baselines.infer_top_k(hand4.counts, hand4.n_tokens, {"top_k": 9})
