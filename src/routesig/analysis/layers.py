"""Depth: how well each MoE layer alone, and the first l layers together, separate the categories."""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from routesig.analysis.inputs import random_subsample, unit_vectors
from routesig.analysis.probe import cross_validate
from routesig.analysis.similarity import pair_stats
from routesig.signatures.store import Signatures


def _entry(
    sig: Signatures,
    y: np.ndarray,
    probe_sig: Signatures,
    yp: np.ndarray,
    names: list[str],
    variant: str,
    layers: list[int],
    folds: int,
    seed: int,
) -> dict:
    stats = pair_stats(unit_vectors(sig, variant, layers), y)
    X = probe_sig.vectors(variant, layers)
    acc = cross_validate(X, yp, names, folds=folds, seed=seed, detail=False)["accuracy"]["mean"]
    return {
        "gap": stats["gap"],
        "cohens_d": stats["cohens_d"],
        "probe_accuracy": acc,
        "within": stats["within"]["mean"],
        "across": stats["across"]["mean"],
    }


def layerwise(
    sig: Signatures,
    y: np.ndarray,
    names: list[str],
    variant: str = "frequency",
    folds: int = 5,
    seed: int = 0,
    probe_rows: np.ndarray | None = None,
    max_pair_prompts: int | None = None,
    progress: bool = False,
) -> dict:
    """Per-layer and cumulative separation, and the peak layer.

    Per-layer similarity uses all prompts; the cumulative slices (up to L * E wide, O(N D^2) each) use a
    seeded random subsample of ``max_pair_prompts`` prompts when N is larger (``cumulative_subsample``).
    Probe accuracies use the ``probe_rows`` prompts.

    Returns
    -------
    dict
        ``layers``: one entry per MoE layer
        ``{layer, position, gap, cohens_d, probe_accuracy, within, across}``
        (``layer`` is the decoder-layer index); ``cumulative``: first-l layers ``{n_layers, last_layer, gap,
        cohens_d, probe_accuracy}``; ``peak_layer``: highest probe accuracy, ties broken by the larger gap;
        ``peak``: ``{"by_probe", "by_cohens_d"}``; ``cumulative_subsample``: None or its size.
    """
    rows = np.arange(len(y)) if probe_rows is None else probe_rows
    probe_sig, yp = sig.subset(rows), y[rows]
    pair_rows = random_subsample(len(y), max_pair_prompts or len(y), seed)
    subsampled = len(pair_rows) < len(y)
    cum_sig, yc = (sig.subset(pair_rows), y[pair_rows]) if subsampled else (sig, y)
    decoder = sig.moe_layers
    per_layer, cumulative = [], []
    for pos in tqdm(range(sig.num_layers), desc="layers", disable=not progress, leave=False):
        e = _entry(sig, y, probe_sig, yp, names, variant, [pos], folds, seed)
        per_layer.append({"layer": int(decoder[pos]), "position": pos, **e})
        if pos == 0 and not subsampled:
            c = e  # the first cumulative slice is layer 0 alone
        else:
            c = _entry(cum_sig, yc, probe_sig, yp, names, variant, list(range(pos + 1)), folds, seed)
        cumulative.append(
            {
                "n_layers": pos + 1,
                "last_layer": int(decoder[pos]),
                **{k: c[k] for k in ("gap", "cohens_d", "probe_accuracy")},
            }
        )
    by_probe = max(per_layer, key=lambda r: (r["probe_accuracy"], r["gap"]))["layer"]
    by_d = max(per_layer, key=lambda r: (np.nan_to_num(r["cohens_d"], nan=-np.inf), r["gap"]))["layer"]
    return {
        "layers": per_layer,
        "cumulative": cumulative,
        "cumulative_subsample": int(len(pair_rows)) if subsampled else None,
        "peak_layer": by_probe,
        "peak": {"by_probe": by_probe, "by_cohens_d": by_d},
    }
