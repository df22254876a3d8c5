"""Publication figures (PNG + SVG) of an analysis, drawn with matplotlib.

Each ``plot_*`` function returns a :class:`matplotlib.figure.Figure` (or None when its data was not
computed); :func:`write_figures` saves them all. Figures are built without pyplot so that no global state or
GUI backend is involved, and saved with fixed metadata so that reruns give identical SVG files.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from routesig.report import series
from routesig.report.load import Analysis
from routesig.report.style import INK, MUTED, OKABE_ITO, SEQUENTIAL, category_colors, fmt

# Sized for a two-column paper at 1:1 (6.8 in wide); fonts stay >= 8 pt after scaling.
RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "text.color": INK,
    "svg.hashsalt": "routesig",  # stable element ids -> byte-identical SVGs on rerun
    "svg.fonttype": "none",  # keep text as text: editable and searchable in the SVG
}
DPI = 200
WITHIN, ACROSS = OKABE_ITO[4], OKABE_ITO[0]  # blue / orange: the pair every colour-blind reader separates


def plot_projections(a: Analysis) -> Figure | None:
    """PCA (and t-SNE / UMAP when computed) scatter of the signatures, coloured by category."""
    df = a.projections
    if df is None:
        return None
    panels = [
        (m, f"{m}_1", f"{m}_2") for m in ("pca", "tsne", "umap") if {f"{m}_1", f"{m}_2"} <= set(df.columns)
    ]
    panels = [p for p in panels if df[p[1]].notna().any()]
    fig = Figure(figsize=(3.3 * len(panels), 3.3), layout="constrained")
    colors = category_colors(a.categories or sorted(df["category"].unique()))
    evr = a.get("projections.pca.explained_variance_ratio", [])
    for ax, (method, x, y) in zip(np.atleast_1d(fig.subplots(1, len(panels))), panels, strict=True):
        for cat, color in colors.items():
            sub = df[df["category"] == cat]
            ax.scatter(sub[x], sub[y], s=14, color=color, label=cat, alpha=0.85, linewidths=0)
        if method == "pca" and len(evr) >= 2:
            ax.set(xlabel=f"PC1 ({fmt(evr[0], 1, 'pct')} var.)", ylabel=f"PC2 ({fmt(evr[1], 1, 'pct')} var.)")
        else:
            ax.set(xlabel=f"{method.upper()} 1", ylabel=f"{method.upper()} 2")
        ax.set_title({"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}[method])
    fig.legend(*fig.axes[0].get_legend_handles_labels(), loc="outside right center", frameon=False)
    return fig


def plot_similarity_matrix(a: Analysis) -> Figure | None:
    """Mean cosine similarity between the signatures of each pair of categories."""
    m = a.get("similarity.matrix")
    if not m:
        return None
    cats, values = m["categories"], np.asarray(m["values"], dtype=float)
    fig = Figure(figsize=(1.2 + 0.75 * len(cats), 0.8 + 0.7 * len(cats)), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(values, cmap=SEQUENTIAL, vmin=np.nanmin(values), vmax=np.nanmax(values))
    _annotate(ax, values, lambda v: fmt(v, 2))
    ax.set(xticks=range(len(cats)), yticks=range(len(cats)), xticklabels=cats, yticklabels=cats)
    ax.set_title("Mean cosine similarity")
    ax.spines[:].set_visible(False)
    fig.colorbar(im, ax=ax, shrink=0.8, label="cosine similarity")
    return fig


def plot_similarity_distributions(a: Analysis) -> Figure:
    """Within- vs across-category similarity: histogram, then beside the baselines and permutation null."""
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax_h, ax_b, ax_p = fig.subplots(1, 3, width_ratios=[1.3, 1.3, 0.8])
    h = series.hist(a)
    if h:
        edges = np.asarray(h["edges"], dtype=float)
        for key, color in (("within", WITHIN), ("across", ACROSS)):
            counts = np.asarray(h[key], dtype=float)
            dens = counts / max(counts.sum(), 1) / np.diff(edges)
            ax_h.stairs(dens, edges, fill=True, alpha=0.35, color=color)
            ax_h.stairs(dens, edges, color=color, linewidth=1.4, label=f"{key} category")
        ax_h.set(xlabel="cosine similarity of a prompt pair", ylabel="density", title="Routing signatures")
        ax_h.legend(frameon=False, loc="upper left")
    else:
        _not_computed(ax_h, "pair histogram")
    groups = series.similarity_groups(a)
    x = np.arange(len(groups))
    for off, key, color in ((-0.2, "within", WITHIN), (0.2, "across", ACROSS)):
        means = [g[f"{key}_mean"] if g[f"{key}_mean"] is not None else np.nan for g in groups]
        errs = [g[f"{key}_std"] or 0 for g in groups]
        ax_b.bar(x + off, means, 0.38, yerr=errs, color=color, label=key, capsize=2, error_kw={"lw": 0.8})
    ax_b.set(
        xticks=x, xticklabels=[g["label"] for g in groups], ylabel="mean cosine similarity", ylim=(0, 1.05)
    )
    ax_b.set_title("Against baselines", pad=22)
    ax_b.legend(frameon=False, ncols=2, loc="lower center", bbox_to_anchor=(0.5, 1.06), borderaxespad=0)
    null = a.get("baselines.permutation.null_gap")
    gap = a.get("similarity.gap")
    if isinstance(null, dict) and gap is not None:
        ax_p.errorbar(
            [0],
            [series.mean_of(null)],
            yerr=[2 * (series.std_of(null) or 0)],
            fmt="o",
            color=MUTED,
            capsize=4,
            label="shuffled labels ±2 sd",
        )
        ax_p.plot([1], [gap], "D", color=WITHIN, label="observed")
        ax_p.set(
            xticks=[0, 1],
            xticklabels=["null", "observed"],
            xlim=(-0.6, 1.6),
            ylabel="within − across gap",
            title=f"Permutation test (p {_p_text(a.get('baselines.permutation.p_value'))})",
        )
        ax_p.axhline(0, color=MUTED, lw=0.6)
    else:
        _not_computed(ax_p, "permutation null")
    return fig


def plot_layers(a: Analysis) -> Figure | None:
    """Category separation of each MoE layer on its own: gap, Cohen's d and probe accuracy."""
    s = series.layer_series(a)
    if not s["layer"]:
        return None
    fig = Figure(figsize=(6.8, 5.2), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    rows = (
        ("gap", "within − across\nsimilarity"),
        ("cohens_d", "Cohen's d"),
        ("probe_accuracy", "probe accuracy"),
    )
    for ax, (key, label), color in zip(axes, rows, (WITHIN, OKABE_ITO[5], OKABE_ITO[2]), strict=True):
        y = np.array([np.nan if v is None else v for v in s[key]], dtype=float)
        ax.plot(s["layer"], y, "o-", color=color, ms=3.5, lw=1.4)
        ax.set_ylabel(label)
        if s["peak"] is not None:
            ax.axvline(s["peak"], color=INK, ls="--", lw=0.8)
    chance = a.get("probe.chance")
    if chance is not None:
        axes[2].axhline(chance, color=MUTED, ls=":", lw=1)
        axes[2].annotate(
            "chance", (s["layer"][0], chance), xytext=(2, 3), textcoords="offset points", color=MUTED
        )
    if s["peak"] is not None:
        axes[0].annotate(
            f"peak: layer {s['peak']}",
            (s["peak"], 1),
            xycoords=("data", "axes fraction"),
            xytext=(4, 2),
            textcoords="offset points",
            va="bottom",
        )
    axes[-1].set_xlabel("decoder layer")
    axes[0].set_title("Separation by layer")
    return fig


def plot_expert_usage(a: Analysis) -> Figure | None:
    """Per-category mean selection frequency of every expert (rows: MoE layers, columns: experts)."""
    mats = series.usage_matrices(a)
    if not mats:
        return None
    layers = series.usage_layers(a)
    n = len(mats)
    ncols = min(n, 2)
    nrows = -(-n // ncols)
    L, E = next(iter(mats.values())).shape
    width = 6.8
    fig = Figure(figsize=(width, 0.9 + nrows * (width / ncols) * max(L / E, 0.25)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    vmax = max(np.nanmax(m) for m in mats.values())
    for ax, (cat, m) in zip(axes, mats.items(), strict=False):
        im = ax.imshow(m, aspect="auto", cmap=SEQUENTIAL, vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_title(cat)
        ax.set(xlabel="expert", ylabel="decoder layer")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if L <= 16:  # label every layer while the labels still fit
            ax.set_yticks(range(L), [str(x) for x in layers])
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.colorbar(im, ax=list(axes[:n]), shrink=0.8, label="mean selections per token")
    return fig


def plot_confusion(a: Analysis) -> Figure | None:
    """Cross-validated confusion matrix of the routing probe (rows: true category)."""
    c = a.get("probe.confusion")
    if not c:
        return None
    labels, m = c["labels"], np.asarray(c["matrix"], dtype=float)
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig = Figure(figsize=(1.2 + 0.75 * len(labels), 0.8 + 0.7 * len(labels)), layout="constrained")
    ax = fig.subplots()
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    _annotate(ax, m, lambda v: fmt(v, kind="int"), share, dark_high=True)
    ax.set(
        xticks=range(len(labels)),
        yticks=range(len(labels)),
        xticklabels=labels,
        yticklabels=labels,
        xlabel="predicted",
        ylabel="true",
        title="Probe confusion matrix",
    )
    ax.spines[:].set_visible(False)
    return fig


def plot_controls(a: Analysis) -> Figure:
    """Probe accuracy of the routing signature beside the lexical/length controls and the baselines."""
    bars = series.probe_bars(a)
    fig = Figure(figsize=(6.8, 0.6 + 0.38 * len(bars)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(bars))[::-1]
    colors = {"routing": WITHIN, "control": OKABE_ITO[0], "baseline": "#bbbbbb"}
    ax.barh(
        y,
        [b["mean"] for b in bars],
        xerr=[b["std"] or 0 for b in bars],
        capsize=2,
        color=[colors[b["group"]] for b in bars],
        error_kw={"lw": 0.8},
    )
    for yi, b in zip(y, bars, strict=True):
        ax.annotate(
            fmt(b["mean"], 1, "pct"),
            (b["mean"] + (b["std"] or 0), yi),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
        )
    chance = a.get("probe.chance")
    if chance is not None:
        ax.axvline(chance, color=INK, ls=":", lw=1)
        ax.annotate(
            "chance",
            (chance, 0),
            xycoords=("data", "axes fraction"),
            xytext=(3, 3),
            textcoords="offset points",
            color=MUTED,
        )
    ax.set(
        yticks=y,
        yticklabels=[b["label"] for b in bars],
        xlim=(0, 1.12),
        xlabel="cross-validated accuracy",
        title="What predicts the category?",
    )
    return fig


FIGURES = {
    "projections": plot_projections,
    "similarity_matrix": plot_similarity_matrix,
    "similarity_distributions": plot_similarity_distributions,
    "layers": plot_layers,
    "expert_usage": plot_expert_usage,
    "confusion": plot_confusion,
    "controls": plot_controls,
}


def write_figures(a: Analysis, out_dir: str | os.PathLike) -> list[Path]:
    """Save every figure whose data exists as ``NAME.png`` (200 dpi) and ``NAME.svg`` in ``out_dir``.

    Returns
    -------
    list of Path
        The files written, PNG then SVG for each figure.

    Examples
    --------
    >>> paths = write_figures(load_analysis("out/analysis"), "out/analysis/figures")  # doctest: +SKIP
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with mpl.rc_context(RC):
        for name, plot in FIGURES.items():
            fig = plot(a)
            if fig is None:
                continue
            for ext, meta in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
                path = out / f"{name}.{ext}"
                fig.savefig(path, dpi=DPI, metadata=meta)
                written.append(path)
    return written


# -- helpers ---------------------------------------------------------------------------------------
def _annotate(ax, values: np.ndarray, text, shade: np.ndarray | None = None, dark_high: bool = False) -> None:  # noqa: ANN001
    """Write each cell's value on a heatmap, white where the cell colour is dark.

    ``dark_high``: the colour map is dark at its high end (Blues) rather than its low end (viridis).
    """
    shade = values if shade is None else shade
    lo, hi = np.nanmin(shade), np.nanmax(shade)
    for (i, j), v in np.ndenumerate(values):
        t = (shade[i, j] - lo) / (hi - lo) if hi > lo else 0.5
        dark = t > 0.55 if dark_high else t < 0.45
        ax.text(j, i, text(v), ha="center", va="center", fontsize=8, color="white" if dark else INK)


def _not_computed(ax, what: str) -> None:  # noqa: ANN001
    ax.text(0.5, 0.5, f"{what}: not computed", ha="center", va="center", transform=ax.transAxes, color=MUTED)
    ax.set_axis_off()


def _p_text(p: float | None) -> str:
    s = fmt(p, kind="p")
    return s if s.startswith("<") else f"= {s}"
