"""Render report.html: one self-contained page (plotly.js, styles, figure data inline; no network).

Safety: prompt texts, ids and category names are untrusted. Jinja2 autoescaping covers everything written
into HTML; figure data travels as JSON inside ``<script type="application/json">`` with ``<``, ``>`` and
``&`` escaped as ``\\u003c`` etc. so that no string can close the script element; labels inside figures are
escaped by :mod:`routesig.report.interactive` because plotly renders them as a subset of HTML.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jinja2
import plotly.io as pio
from markupsafe import Markup, escape
from plotly.offline import get_plotlyjs

from routesig._version import __version__
from routesig.report import headline
from routesig.report.interactive import all_figures
from routesig.report.load import Analysis, get
from routesig.report.style import fmt

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(obj: Any) -> Markup:
    """JSON safe to place inside a ``<script>`` element: nothing in it can end the element.

    Examples
    --------
    >>> str(script_json({"t": "</script>"}))
    '{"t": "\\\\u003c/script\\\\u003e"}'
    """
    text = obj if isinstance(obj, str) else json.dumps(obj)
    return Markup("".join(_JSON_ESCAPES.get(ch, ch) for ch in text))


def number(summary: dict[str, Any], key: str, digits: int = 3, kind: str = "num") -> Markup:
    """A summary number as ``<span data-key=...>``: the page's only way of printing a number.

    The ``data-key`` / ``data-format`` attributes let a reader (and the tests) trace each number to
    ``summary.json``.
    """
    value = get(summary, key)
    if kind == "raw":
        shown = "–" if value is None else json.dumps(value) if isinstance(value, list | dict) else str(value)
    else:
        shown = fmt(value, digits, kind)
    return Markup('<span class="num" data-key="{}" data-format="{}">{}</span>').format(key, kind, shown)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("routesig.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a template typo fails loudly instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v, digits=1: fmt(v, digits, "pct")
    return env


def _asset(name: str) -> str:
    return resources.files("routesig.report").joinpath("assets", name).read_text(encoding="utf-8")


def render_html(a: Analysis, figure_files: list[str] | None = None) -> str:
    """The full report page as a string.

    Parameters
    ----------
    a : Analysis
        From :func:`routesig.report.load.load_analysis`.
    figure_files : list of str, optional
        Names of the PNG/SVG files written beside the page, linked from it.
    """
    figs = {k: v for k, v in all_figures(a).items() if v is not None}
    # plotly's encoder handles numpy arrays; the result is re-escaped for the <script> context
    specs = "{" + ",".join(f"{json.dumps(k)}:{pio.to_json(f, validate=False)}" for k, f in figs.items()) + "}"

    def num(key: str, digits: int = 3, kind: str = "num") -> Markup:
        return number(a.summary, key, digits, kind)

    def parts(items: list) -> Markup:
        return Markup("").join(num(*p) if isinstance(p, tuple) else escape(p) for p in items)

    template = _environment().get_template("report.html.j2")
    return template.render(
        a=a,
        s=a.summary,
        get=a.get,
        num=num,
        parts=parts,
        cards=headline.cards(a),
        plots=set(figs),
        figure_specs=script_json(specs),
        figure_files=figure_files or [],
        plotly_js=Markup(get_plotlyjs()),
        css=Markup(_asset("report.css")),
        js=Markup(_asset("report.js")),
        version=__version__,
    )
