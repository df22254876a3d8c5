"""The data series both renderers draw, pulled from an :class:`Analysis` in one place.

The PNG/SVG figures (matplotlib) and the interactive page (plotly) show the same things; extracting the
series here keeps them from drifting apart and keeps each renderer about drawing only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from routesig.report.load import Analysis


def mean_of(value: Any) -> float | None:
    """A summary entry that is either a number or ``{"mean": ...}``, as a float (None when absent)."""
    if isinstance(value, dict):
        value = value.get("mean")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def std_of(value: Any) -> float | None:
    """The ``std`` of a ``{"mean", "std"}`` entry, or None."""
    return mean_of(value.get("std")) if isinstance(value, dict) else None


def similarity_groups(a: Analysis) -> list[dict[str, Any]]:
    """Within/across similarity of the routing signatures and of each baseline, in display order."""
    groups = [
        {
            "label": "routing",
            "key": "similarity",
            "within": a.get("similarity.within"),
            "across": a.get("similarity.across"),
            "gap": a.get("similarity.gap"),
            "d": a.get("similarity.cohens_d"),
        },
    ]
    for key, label in (("load_balance", "load-balance"), ("frequency_matched", "frequency-matched")):
        sim = a.get(f"baselines.{key}.similarity", {})
        groups.append(
            {
                "label": label,
                "key": f"baselines.{key}.similarity",
                "within": sim.get("within"),
                "across": sim.get("across"),
                "gap": sim.get("gap"),
                "d": sim.get("cohens_d"),
            }
        )
    for g in groups:
        g["within_mean"], g["within_std"] = mean_of(g["within"]), std_of(g["within"])
        g["across_mean"], g["across_std"] = mean_of(g["across"]), std_of(g["across"])
    return groups


def probe_bars(a: Analysis) -> list[dict[str, Any]]:
    """Probe accuracies to compare with the routing probe: controls, baselines and the permutation null.

    Each entry: ``label``, ``key`` (summary path of the accuracy), ``mean``, ``std``, ``group``.
    Entries whose accuracy was not computed are left out.
    """
    rows = [
        ("routing signature", "probe.accuracy", "routing"),
        ("lexical (bag of tokens)", "controls.lexical.probe.accuracy", "control"),
        ("prompt length", "controls.length.probe.accuracy", "control"),
        ("load-balance baseline", "baselines.load_balance.probe.accuracy", "baseline"),
        ("frequency-matched baseline", "baselines.frequency_matched.probe.accuracy", "baseline"),
        ("shuffled labels (null)", "baselines.permutation.null_accuracy", "baseline"),
    ]
    out = []
    for label, key, group in rows:
        value = a.get(key)
        if mean_of(value) is not None:
            out.append(
                {"label": label, "key": key, "mean": mean_of(value), "std": std_of(value), "group": group}
            )
    return out


def layer_series(a: Analysis) -> dict[str, Any]:
    """Per-layer separation: x (decoder-layer index) and the gap, Cohen's d and probe accuracy curves."""
    rows = a.get("layers", [])
    return {
        "layer": [r.get("layer") for r in rows],
        "gap": [mean_of(r.get("gap")) for r in rows],
        "cohens_d": [mean_of(r.get("cohens_d")) for r in rows],
        "probe_accuracy": [mean_of(r.get("probe_accuracy")) for r in rows],
        "peak": a.get("peak_layer"),
    }


def usage_matrices(a: Analysis) -> dict[str, np.ndarray] | None:
    """Per-category mean selection frequency as an [L, E] array (rows in layer order), or None."""
    df = a.expert_usage
    if df is None or df.empty:
        return None
    layers = sorted(df["layer"].unique())
    experts = sorted(df["expert"].unique())
    out = {}
    for cat in a.categories or sorted(df["category"].unique()):
        sub = df[df["category"] == cat]
        if sub.empty:
            continue
        grid = sub.pivot_table(index="layer", columns="expert", values="frequency", aggfunc="mean")
        out[cat] = grid.reindex(index=layers, columns=experts).to_numpy(dtype=float)
    return out or None


def usage_layers(a: Analysis) -> list[int]:
    """The layer labels (rows) of :func:`usage_matrices`."""
    return [] if a.expert_usage is None else [int(x) for x in sorted(a.expert_usage["layer"].unique())]


def hist(a: Analysis, key: str = "similarity") -> dict[str, list[float]] | None:
    """Histogram of within/across pair similarities (``edges``, ``within``, ``across``), or None."""
    h = a.get(f"{key}.hist")
    if not isinstance(h, dict) or not {"edges", "within", "across"} <= set(h):
        return None
    return h
