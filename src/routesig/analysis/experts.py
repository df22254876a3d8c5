"""Which experts each category uses: enrichment, routing entropy, load imbalance, dead experts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from routesig.signatures.store import Signatures

MIN_SHARE = 0.1  # rank only experts selected at least 10% as often as under uniform routing (k / E)
CHUNK = 16384


def category_frequency(sig: Signatures, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Selections per token of every (layer, expert), per category [C, L, E] and over all prompts [L, E]."""
    sums = np.zeros((n_classes, sig.num_layers, sig.num_experts))
    tokens = np.bincount(y, weights=sig.n_tokens, minlength=n_classes)
    flat = sums.reshape(n_classes, -1)
    for lo in range(0, len(y), CHUNK):  # chunks avoid a float copy of all counts
        onehot = np.eye(n_classes)[y[lo : lo + CHUNK]]
        flat += onehot.T @ sig.counts[lo : lo + CHUNK].reshape(len(onehot), -1)
    per_cat = sums / np.maximum(tokens, 1)[:, None, None]
    overall = sums.sum(axis=0) / max(tokens.sum(), 1)
    return per_cat, overall


def expert_tables(sig: Signatures, y: np.ndarray, names: list[str], top: int = 20) -> tuple[dict, dict]:
    """Summary dict and the ``expert_usage`` / ``experts_specific`` tables (pandas DataFrames).

    Enrichment of expert e in layer l for category c = frequency within c / frequency over all prompts;
    frequency = selections per routed token (0..1; a layer's frequencies sum to top_k).
    Entropy is the entropy of a category's expert distribution in a layer divided by log(E) (1 = uniform).
    ``load_cv`` = std / mean of each layer's total expert load.
    """
    C, L, E = len(names), sig.num_layers, sig.num_experts
    per_cat, overall = category_frequency(sig, y, C)
    decoder = np.asarray(sig.moe_layers)
    c_idx, l_idx, e_idx = np.meshgrid(np.arange(C), np.arange(L), np.arange(E), indexing="ij")
    usage = pd.DataFrame(
        {
            "layer": np.r_[decoder[l_idx].ravel(), decoder[l_idx[0]].ravel()],
            "position": np.r_[l_idx.ravel(), l_idx[0].ravel()],
            "expert": np.r_[e_idx.ravel(), e_idx[0].ravel()],
            "category": np.r_[
                np.asarray(names, dtype=object)[c_idx.ravel()], np.full(L * E, "__all__", dtype=object)
            ],
            "frequency": np.r_[per_cat.ravel(), overall.ravel()],
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        enrich = np.where(overall > 0, per_cat / overall, np.nan)
    specific = pd.DataFrame(
        {
            "layer": decoder[l_idx].ravel(),
            "position": l_idx.ravel(),
            "expert": e_idx.ravel(),
            "category": np.asarray(names, dtype=object)[c_idx.ravel()],
            "enrichment": enrich.ravel(),
            "frequency": per_cat.ravel(),
            "overall": np.broadcast_to(overall, per_cat.shape).ravel(),
        }
    )
    k = overall.sum(axis=1).mean()
    specific = (
        specific[specific["overall"] >= MIN_SHARE * k / E]
        .sort_values(
            ["enrichment", "frequency", "position", "expert", "category"],
            ascending=[False, False, True, True, True],
            kind="mergesort",
        )
        .reset_index(drop=True)
    )
    dist = per_cat / np.maximum(per_cat.sum(axis=2, keepdims=True), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.nansum(np.where(dist > 0, dist * np.log(dist), 0.0), axis=2) / np.log(E)
    load = overall
    cv = load.std(axis=1) / np.maximum(load.mean(axis=1), 1e-300)
    never = {
        int(decoder[pos]): np.flatnonzero(load[pos] == 0).tolist()
        for pos in range(L)
        if (load[pos] == 0).any()
    }
    summary = {
        "top_specific": specific.head(top).to_dict(orient="records"),
        "min_overall_frequency": float(MIN_SHARE * k / E),
        "entropy": {
            "categories": names,
            "layers": decoder.tolist(),
            "values": ent.T.tolist(),
            "normalized": True,
        },
        "load_cv": cv.tolist(),
        "never_selected": {str(k_): v for k_, v in never.items()},
        "n_never_selected": int(sum(len(v) for v in never.values())),
    }
    return summary, {"expert_usage": usage, "experts_specific": specific}
