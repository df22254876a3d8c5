"""Synthetic signatures with planted structure for the report tests (see conftest.py for the fixtures).

The signatures have planted structure (each category prefers its own expert in every layer), so the report
shows a real, non-trivial result; one prompt carries an HTML/script payload to prove that prompt text is
shown as text and never run.
"""

from __future__ import annotations

import numpy as np

from routesig import Signatures

CATEGORIES = ("code", "math", "story", "factual")
N_PER, LAYERS, EXPERTS, TOP_K = 10, 4, 8, 2
EVIL_ID = "code-0"
EVIL_TEXT = (
    '<script>window.__pwned = 1; alert(1)</script></script><img src=x onerror="window.__pwned = 2"> & friends'
)
# Small but complete: every section of the analysis runs, in ~15 s on 2 shared cores.
ANALYSIS_SETTINGS = dict(folds=3, permutations=100, probe_permutations=5, bootstrap=50, probe_bootstrap=3)


def planted_signatures(seed: int = 0) -> Signatures:
    """40 prompts, 4 categories; category c routes 2.5x more often to expert 2c in every layer."""
    rng = np.random.default_rng(seed)
    counts, n_tokens, ids, cats, texts = [], [], [], [], []
    words = ["alpha", "beta", "gamma", "delta", "omega"]  # shared by all categories: no lexical shortcut
    for ci, cat in enumerate(CATEGORIES):
        for i in range(N_PER):
            n_tok = int(rng.integers(8, 20))
            p = np.ones((LAYERS, EXPERTS))
            p[:, 2 * ci] += 1.5
            p /= p.sum(axis=1, keepdims=True)
            # top-k routing: each token picks TOP_K distinct experts, so a layer sums to n_tok * TOP_K
            sel = np.stack([rng.multinomial(n_tok * TOP_K, p[layer]) for layer in range(LAYERS)])
            counts.append(np.minimum(sel, n_tok))  # never more than once per token
            n_tokens.append(n_tok)
            ids.append(f"{cat}-{i}")
            cats.append(cat)
            texts.append(f"Prompt {i}: " + " ".join(rng.choice(words, 8)))
    texts[ids.index(EVIL_ID)] = EVIL_TEXT
    counts = np.array(counts)
    return Signatures(
        counts,
        counts * 0.4,
        np.array(n_tokens),
        ids,
        cats,
        texts,
        {
            "num_layers": LAYERS,
            "num_experts": EXPERTS,
            "top_k": TOP_K,
            "architecture": "olmoe",
            "moe_layers": list(range(1, LAYERS + 1)),
            "num_decoder_layers": LAYERS + 1,
        },
    )
