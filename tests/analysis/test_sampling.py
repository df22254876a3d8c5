import itertools

import numpy as np
import pytest
from scipy.stats import chisquare

from routesig.analysis import sampling


def brute_force(w, k):
    """Every k-subset with probability proportional to the product of its weights (the CPS definition)."""
    subsets = list(itertools.combinations(range(len(w)), k))
    prob = np.array([np.prod(w[list(s)]) for s in subsets])
    return subsets, prob / prob.sum()


def test_esp_by_hand():
    # w = 1, 2, 3: e_1 = 6, e_2 = 1*2 + 1*3 + 2*3 = 11, e_3 = 6; suffix from j=1 (2, 3): e_1 = 5, e_2 = 6
    Z = sampling.suffix_esp(np.array([1.0, 2.0, 3.0]), 3)
    assert Z[0].tolist() == [1, 6, 11, 6] and Z[1].tolist() == [1, 5, 6, 0]


def test_inclusion_matches_enumeration():
    w = np.random.default_rng(0).random(6)
    subsets, prob = brute_force(w, 3)
    incl = np.zeros(6)
    for s, q in zip(subsets, prob, strict=True):
        incl[list(s)] += q
    np.testing.assert_allclose(sampling.cps_inclusion(w, 3), incl)


def test_weights_reach_target_inclusion():
    pi = np.array([0.9, 0.6, 0.3, 0.2])  # sums to k = 2
    np.testing.assert_allclose(sampling.cps_inclusion(sampling.cps_weights(pi, 2), 2), pi, atol=1e-9)


def test_single_tokens_follow_the_design():
    # one token per prompt: the simulated subsets must follow the enumerated CPS distribution
    rng = np.random.default_rng(1)
    w = rng.random(6)
    subsets, prob = brute_force(w, 3)
    pi = sampling.cps_inclusion(w, 3)
    counts = sampling.simulate_counts(np.ones(100_000, dtype=int), pi[None, :], rng)[:, 0]
    assert set(np.unique(counts)) == {0, 1} and (counts.sum(axis=1) == 3).all()
    index = {s: i for i, s in enumerate(subsets)}
    codes = [index[tuple(np.flatnonzero(row))] for row in counts]
    observed = np.bincount(codes, minlength=len(subsets))
    assert chisquare(observed, prob * len(codes)).pvalue > 0.001


def test_uniform_is_uniform_and_certain_experts_always_picked():
    counts = sampling.simulate_counts(np.full(4000, 1), np.full((1, 4), 0.5), np.random.default_rng(2))[:, 0]
    pairs = np.bincount([int("".join(map(str, row)), 2) for row in counts])
    observed = pairs[pairs > 0]
    assert len(observed) == 6  # all C(4, 2) pairs occur ...
    assert chisquare(observed).pvalue > 0.001  # ... equally often
    pi = np.array([[1.0, 0.5, 0.5, 0.0]])
    c = sampling.simulate_counts(np.array([5, 9]), pi, np.random.default_rng(3))[:, 0]
    assert c[:, 0].tolist() == [5, 9] and c[:, 3].tolist() == [0, 0]
    assert (c[:, 1] + c[:, 2] == [5, 9]).all()


@pytest.mark.parametrize("pi", [[0.5, 0.5, 0.5, 0.5], [0.9, 0.6, 0.3, 0.2]])
def test_many_tokens_keep_counts_and_rates(pi):
    pi = np.array([pi])
    n = np.full(50, 400)
    counts = sampling.simulate_counts(n, pi, np.random.default_rng(4))
    assert (counts.sum(axis=2) == 2 * n[:, None]).all()  # exactly k picks per token
    assert (counts <= n[:, None, None]).all()  # distinct experts: at most one pick per token
    # binomial SE of a rate <= sqrt(0.25 / 20000) = 0.0035; 4 SE tolerance
    np.testing.assert_allclose(counts.sum(axis=0) / n.sum(), pi, atol=0.014)
