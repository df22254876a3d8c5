"""Colours and number formats shared by the PNG/SVG figures and the HTML page.

Both outputs must agree (a category is the same colour in a paper figure and on the page, a number is
printed at the same precision), so the choices live here once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies. Black is kept for
# reference lines rather than categories.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999"]
INK = "#1f2328"
MUTED = "#6e7781"
# Sequential maps for heatmaps: viridis/cividis stay readable in grey scale and for colour-blind readers.
SEQUENTIAL = "viridis"


def category_colors(categories: Sequence[str]) -> dict[str, str]:
    """Map each category to an Okabe-Ito colour, cycling when there are more than eight.

    Examples
    --------
    >>> category_colors(["code", "math"])
    {'code': '#E69F00', 'math': '#56B4E9'}
    """
    return {c: OKABE_ITO[i % len(OKABE_ITO)] for i, c in enumerate(categories)}


def fmt(value: object, digits: int = 2, kind: str = "num") -> str:
    """Format a summary number for display.

    Parameters
    ----------
    value : number or None
        ``None`` / NaN display as an en dash (not computed).
    digits : int
        Decimal places shown.
    kind : {"num", "pct", "int", "p"}
        ``pct`` multiplies by 100 and appends ``%``; ``p`` is a p-value (``< 0.001`` below that).

    Examples
    --------
    >>> fmt(0.8435, 3), fmt(0.925, 1, "pct"), fmt(None), fmt(0.0002, kind="p")
    ('0.844', '92.5%', '–', '< 0.001')
    """
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    if isinstance(value, float) and not math.isfinite(value):
        return "–"
    if kind == "int":
        return f"{int(round(value)):,}"
    if kind == "pct":
        return f"{value * 100:.{digits}f}%"
    if kind == "p":
        return "< 0.001" if value < 0.001 else f"{value:.3f}"
    return f"{value:.{digits}f}"
