"""Depth: how well each MoE layer alone, and the first l layers together, separate the categories."""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from routesig.analysis.inputs import unit_vectors
from routesig.analysis.probe import cross_validate
from routesig.analysis.similarity import pair_stats
from routesig.signatures.store import Signatures


def _entry(
    sig: Signatures,
    y: np.ndarray,
    names: list[str],
    variant: str,
    layers: list[int],
    probe_rows: np.ndarray,
    folds: int,
    seed: int,
) -> dict:
    stats = pair_stats(unit_vectors(sig, variant, layers), y)
    X = sig.vectors(variant, layers)[probe_rows]
    acc = cross_validate(X, y[probe_rows], names, folds=folds, seed=seed, detail=False)["accuracy"]["mean"]
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
    progress: bool = False,
) -> dict:
    """Per-layer and cumulative separation, and the peak layer.

    Returns
    -------
    dict
        ``layers``: one entry per MoE layer
        ``{layer, position, gap, cohens_d, probe_accuracy, within, across}``
        (``layer`` is the decoder-layer index); ``cumulative``: first-l layers ``{n_layers, last_layer, gap,
        cohens_d, probe_accuracy}``; ``peak_layer``: highest probe accuracy, ties broken by the larger gap;
        ``peak``: ``{"by_probe", "by_cohens_d"}``.
    """
    rows = np.arange(len(y)) if probe_rows is None else probe_rows
    decoder = sig.moe_layers
    L = sig.num_layers
    per_layer, cumulative = [], []
    for pos in tqdm(range(L), desc="layers", disable=not progress, leave=False):
        e = _entry(sig, y, names, variant, [pos], rows, folds, seed)
        per_layer.append({"layer": int(decoder[pos]), "position": pos, **e})
        c = e if pos == 0 else _entry(sig, y, names, variant, list(range(pos + 1)), rows, folds, seed)
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
        "peak_layer": by_probe,
        "peak": {"by_probe": by_probe, "by_cohens_d": by_d},
    }
