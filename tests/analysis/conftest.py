"""Signature sets built by hand or by a plain token-by-token simulation (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from routesig.signatures.store import Signatures

CATS = ["code", "factual", "math", "story"]


def make_sig(counts, categories, n_tokens=None, texts=None, **metadata) -> Signatures:
    counts = np.asarray(counts)
    N, L, E = counts.shape
    if n_tokens is None:
        n_tokens = counts.sum(axis=2).max(axis=1) // metadata.get("top_k", 2)
    md = {"num_layers": L, "num_experts": E, "top_k": 2, "moe_layers": list(range(L)), **metadata}
    return Signatures(
        counts=counts,
        weights=counts * 0.5,
        n_tokens=np.asarray(n_tokens),
        ids=[f"p{i}" for i in range(N)],
        categories=list(categories),
        texts=list(texts) if texts is not None else [f"prompt {i}" for i in range(N)],
        metadata=md,
    )


def routed(n_per_cat=20, L=2, E=8, k=2, strength=0.0, planted_layers=None, seed=0) -> Signatures:
    """Each token picks k distinct experts with np.random.choice; category c favours expert c (x strength)."""
    rng = np.random.default_rng(seed)
    planted = range(L) if planted_layers is None else planted_layers
    y = np.repeat(np.arange(len(CATS)), n_per_cat)
    n_tokens = rng.integers(15, 30, len(y))
    counts = np.zeros((len(y), L, E), dtype=np.int64)
    for i, c in enumerate(y):
        for layer in range(L):
            p = np.ones(E)
            if layer in planted:
                p[c] += strength
            for _ in range(n_tokens[i]):
                counts[i, layer, rng.choice(E, k, replace=False, p=p / p.sum())] += 1
    words = {"code": "def return", "factual": "capital year", "math": "sum equals", "story": "once upon"}
    texts = [f"{words[CATS[c]]} item {i}" for i, c in enumerate(y)]
    return make_sig(counts, [CATS[c] for c in y], n_tokens, texts, top_k=k)


@pytest.fixture(scope="session")
def planted() -> Signatures:
    return routed(strength=4.0, seed=1)


@pytest.fixture(scope="session")
def structureless() -> Signatures:
    return routed(strength=0.0, seed=2)


@pytest.fixture()
def hand4() -> Signatures:
    """4 prompts, 2 layers, 4 experts, k = 2, 2 tokens each (worked by hand in test_similarity.py)."""
    counts = [
        [[2, 2, 0, 0], [2, 2, 0, 0]],  # a: unit-length freq vector has 1/2 at positions 0 1 4 5
        [[2, 2, 0, 0], [2, 0, 2, 0]],  # a: 0 1 4 6
        [[0, 0, 2, 2], [0, 0, 2, 2]],  # b: 2 3 6 7
        [[0, 2, 2, 0], [0, 0, 2, 2]],  # b: 1 2 6 7
    ]
    return make_sig(counts, ["a", "a", "b", "b"], [2, 2, 2, 2])


@pytest.fixture(scope="session")
def build():
    """The builders above (``build.make_sig``, ``build.routed``) for tests that need their own sets."""

    class Builders:
        make_sig = staticmethod(make_sig)
        routed = staticmethod(routed)

    return Builders
