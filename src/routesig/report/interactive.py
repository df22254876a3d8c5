"""Interactive plotly figures for report.html, one per section.

Each ``fig_*`` returns a :class:`plotly.graph_objects.Figure` (or None when its data was not computed).
Text from the prompt file (ids, categories, prompt text) is untrusted: plotly renders hover text and labels
as a subset of HTML, so it is escaped with :func:`hover_text` before it reaches a figure.
"""

from __future__ import annotations

import html
import textwrap

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from routesig.report import series
from routesig.report.figures import ACROSS, WITHIN
from routesig.report.load import Analysis
from routesig.report.style import INK, OKABE_ITO, category_colors, fmt

PREVIEW_CHARS = 240  # prompt text shown on hover: enough to recognise the prompt, short enough to read
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def esc(value: object) -> str:
    """Escape text for plotly labels (``<`` ``>`` ``&`` ``"`` ``'``); plotly shows entities as plain text."""
    return html.escape(str(value), quote=True)


def hover_text(pid: str, category: str, text: str | None) -> str:
    """Hover label of one prompt: id, category and the start of its text, escaped and wrapped.

    Examples
    --------
    >>> hover_text("p1", "code", "<script>x</script>")
    '<b>p1</b> · code<br>&lt;script&gt;x&lt;/script&gt;'
    """
    head = f"<b>{esc(pid)}</b> · {esc(category)}"
    if not text:
        return head
    flat = " ".join(str(text).split())
    preview = flat[:PREVIEW_CHARS] + ("…" if len(flat) > PREVIEW_CHARS else "")
    # wrap before escaping so that a line break never splits an entity such as &lt;
    return head + "<br>" + "<br>".join(esc(line) for line in textwrap.wrap(preview, 60))


def _base(fig: go.Figure, height: int, **layout: object) -> go.Figure:
    """Shared look: white template, system font, Okabe-Ito colours; ``layout`` overrides any of it."""
    base = {
        "template": "simple_white",
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
        "font": {"family": FONT, "size": 13, "color": INK},
        "colorway": OKABE_ITO,
        "hoverlabel": {"font": {"family": FONT, "size": 12}, "align": "left"},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
    }
    fig.update_layout(**{**base, **layout})
    return fig


def fig_projection(a: Analysis, method: str) -> go.Figure | None:
    """2-D projection (``pca``, ``tsne`` or ``umap``) of the signatures, one trace per category."""
    df = a.projections
    x, y = f"{method}_1", f"{method}_2"
    if df is None or not {x, y} <= set(df.columns) or df[x].isna().all():
        return None
    fig = go.Figure()
    for cat, color in category_colors(a.categories or sorted(df["category"].unique())).items():
        sub = df[df["category"] == cat]
        labels = [hover_text(i, cat, a.texts.get(i)) for i in sub["id"]]
        fig.add_scatter(
            x=sub[x],
            y=sub[y],
            mode="markers",
            name=esc(cat),
            hovertext=labels,
            hoverinfo="text",
            marker={"color": color, "size": 9, "opacity": 0.85, "line": {"width": 0.5, "color": "white"}},
        )
    evr = a.get("projections.pca.explained_variance_ratio", [])
    if method == "pca" and len(evr) >= 2:
        titles = (f"PC1 ({fmt(evr[0], 1, 'pct')} of variance)", f"PC2 ({fmt(evr[1], 1, 'pct')})")
    else:
        name = {"tsne": "t-SNE", "umap": "UMAP"}.get(method, method)
        titles = (f"{name} 1", f"{name} 2")
    return _base(fig, 460, xaxis_title=titles[0], yaxis_title=titles[1], hovermode="closest")


def fig_similarity_matrix(a: Analysis) -> go.Figure | None:
    """Category x category mean cosine similarity heatmap."""
    m = a.get("similarity.matrix")
    if not m:
        return None
    cats = [esc(c) for c in m["categories"]]
    fig = go.Figure(
        go.Heatmap(
            z=m["values"],
            x=cats,
            y=cats,
            colorscale="Viridis",
            texttemplate="%{z:.2f}",
            hovertemplate="%{y} vs %{x}: %{z:.3f}<extra></extra>",
            colorbar={"title": {"text": "cosine"}},
        )
    )
    fig.update_yaxes(autorange="reversed", showline=False, ticks="")
    fig.update_xaxes(showline=False, ticks="")
    return _base(fig, 420, xaxis_scaleanchor="y")


def fig_distributions(a: Analysis) -> go.Figure:
    """Histogram of within/across pair similarities, then within/across beside the baselines."""
    fig = make_subplots(
        1,
        2,
        column_widths=[0.55, 0.45],
        horizontal_spacing=0.1,
        subplot_titles=("Routing signatures: all prompt pairs", "Against baselines"),
    )
    h = series.hist(a)
    if h:
        edges = np.asarray(h["edges"], dtype=float)
        mids, widths = (edges[1:] + edges[:-1]) / 2, np.diff(edges)
        for key, color in (("within", WITHIN), ("across", ACROSS)):
            counts = np.asarray(h[key], dtype=float)
            share = counts / max(counts.sum(), 1)
            fig.add_bar(
                x=mids,
                y=share,
                width=widths,
                name=f"{key} category",
                marker_color=color,
                opacity=0.55,
                legendgroup=key,
                customdata=counts,
                hovertemplate=f"{key}: %{{customdata:.0f}} pairs near %{{x:.2f}}<extra></extra>",
                row=1,
                col=1,
            )
        fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text="cosine similarity of a prompt pair", row=1, col=1)
    fig.update_yaxes(title_text="share of pairs", row=1, col=1)
    groups = series.similarity_groups(a)
    for key, color in (("within", WITHIN), ("across", ACROSS)):
        fig.add_bar(
            x=[g["label"] for g in groups],
            y=[g[f"{key}_mean"] for g in groups],
            marker_color=color,
            error_y={"type": "data", "array": [g[f"{key}_std"] or 0 for g in groups], "thickness": 1},
            name=key,
            legendgroup=key,
            showlegend=h is None,
            offsetgroup=key,
            hovertemplate=f"{key}: %{{y:.3f}}<extra>%{{x}}</extra>",
            row=1,
            col=2,
        )
    fig.update_yaxes(title_text="mean cosine similarity", range=[0, 1.05], row=1, col=2)
    fig.update_annotations(yshift=12)  # subplot titles clear of the legend row
    return _base(
        fig,
        440,
        bargroupgap=0.05,
        margin={"l": 60, "r": 20, "t": 80, "b": 50},
        legend={"orientation": "h", "y": 1.2, "yanchor": "bottom", "x": 0},
    )


def fig_layers(a: Analysis) -> go.Figure | None:
    """Gap, Cohen's d and probe accuracy of each MoE layer alone, with the peak layer marked."""
    s = series.layer_series(a)
    if not s["layer"]:
        return None
    fig = make_subplots(3, 1, shared_xaxes=True, vertical_spacing=0.06)
    rows = (
        ("gap", "gap", WITHIN),
        ("cohens_d", "Cohen's d", OKABE_ITO[5]),
        ("probe_accuracy", "probe acc.", OKABE_ITO[2]),
    )
    for r, (key, label, color) in enumerate(rows, start=1):
        fig.add_scatter(
            x=s["layer"],
            y=s[key],
            mode="lines+markers",
            name=label,
            line={"color": color},
            hovertemplate=f"layer %{{x}}: {label} %{{y:.3f}}<extra></extra>",
            row=r,
            col=1,
        )
        fig.update_yaxes(title_text=label, row=r, col=1)
    chance = a.get("probe.chance")
    if chance is not None:
        fig.add_hline(
            chance, line={"dash": "dot", "color": INK, "width": 1.5}, annotation_text="chance", row=3, col=1
        )
    fig.update_yaxes(range=[0, 1.05], row=3, col=1)  # accuracy on its full scale, chance line in view
    if s["peak"] is not None:
        fig.add_vline(s["peak"], line={"dash": "dash", "color": INK, "width": 1})
        fig.add_annotation(
            x=s["peak"], y=1, yref="paper", yanchor="bottom", text=f"peak: layer {s['peak']}", showarrow=False
        )
    fig.update_xaxes(title_text="decoder layer", row=3, col=1)
    if len(s["layer"]) <= 24:  # one tick per layer while they fit (no "layer 2.5")
        fig.update_xaxes(tickmode="array", tickvals=s["layer"])
    return _base(fig, 560, showlegend=False)


def fig_expert_usage(a: Analysis) -> go.Figure | None:
    """Per-category L x E heatmaps of mean expert selections per token, on one colour scale."""
    mats = series.usage_matrices(a)
    if not mats:
        return None
    layers = series.usage_layers(a)
    ncols = min(len(mats), 2)
    nrows = -(-len(mats) // ncols)
    fig = make_subplots(
        nrows, ncols, subplot_titles=[esc(c) for c in mats], horizontal_spacing=0.08, vertical_spacing=0.12
    )
    vmax = max(float(np.nanmax(m)) for m in mats.values())
    for k, (cat, m) in enumerate(mats.items()):
        fig.add_heatmap(
            z=m,
            y=layers,
            colorscale="Viridis",
            zmin=0,
            zmax=vmax,
            showscale=k == 0,
            colorbar={"title": {"text": "selections<br>per token"}},
            name=esc(cat),
            hovertemplate="layer %{y}, expert %{x}: %{z:.3f}<extra>%{fullData.name}</extra>",
            row=k // ncols + 1,
            col=k % ncols + 1,
        )
    fig.update_yaxes(autorange="reversed")
    fig.update_yaxes(title_text="layer", col=1)
    fig.update_xaxes(title_text="expert", row=nrows)
    return _base(fig, 80 + nrows * 300)


def fig_confusion(a: Analysis) -> go.Figure | None:
    """Cross-validated confusion matrix, coloured by the share of each true category."""
    c = a.get("probe.confusion")
    if not c:
        return None
    m = np.asarray(c["matrix"], dtype=float)
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    labels = [esc(x) for x in c["labels"]]
    fig = go.Figure(
        go.Heatmap(
            z=share,
            x=labels,
            y=labels,
            text=m,
            texttemplate="%{text:.0f}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "share of row"}},
            hovertemplate="true %{y}, predicted %{x}: %{text:.0f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title_text="true category", showline=False, ticks="")
    fig.update_xaxes(title_text="predicted category", showline=False, ticks="")
    return _base(fig, 420, xaxis_scaleanchor="y")


def fig_controls(a: Analysis) -> go.Figure:
    """Routing probe accuracy beside the lexical/length controls, baselines and shuffled-label null."""
    bars = series.probe_bars(a)[::-1]  # plotly draws horizontal bars bottom-up
    colors = {"routing": WITHIN, "control": OKABE_ITO[0], "baseline": "#bbbbbb"}
    fig = go.Figure(
        go.Bar(
            y=[b["label"] for b in bars],
            x=[b["mean"] for b in bars],
            orientation="h",
            error_x={"type": "data", "array": [b["std"] or 0 for b in bars], "thickness": 1},
            marker_color=[colors[b["group"]] for b in bars],
            text=[fmt(b["mean"], 1, "pct") for b in bars],
            # the value inside the bar, at its base: never collides with the error bar
            textposition="inside",
            insidetextanchor="start",
            textfont={"color": ["white" if b["group"] == "routing" else INK for b in bars]},
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    chance = a.get("probe.chance")
    if chance is not None:
        fig.add_vline(chance, line={"dash": "dot", "color": INK, "width": 1.5}, layer="above")
        fig.add_annotation(x=chance, y=1, yref="paper", yanchor="bottom", text="chance", showarrow=False)
    return _base(
        fig,
        120 + 40 * len(bars),
        xaxis={"range": [0, 1.1], "title": {"text": "cross-validated accuracy"}},
        showlegend=False,
    )


def all_figures(a: Analysis) -> dict[str, go.Figure | None]:
    """Every interactive figure, keyed by the id of the page element that shows it."""
    return {
        "plot-pca": fig_projection(a, "pca"),
        "plot-tsne": fig_projection(a, "tsne"),
        "plot-umap": fig_projection(a, "umap"),
        "plot-similarity-matrix": fig_similarity_matrix(a),
        "plot-distributions": fig_distributions(a),
        "plot-layers": fig_layers(a),
        "plot-expert-usage": fig_expert_usage(a),
        "plot-confusion": fig_confusion(a),
        "plot-controls": fig_controls(a),
    }
