"""``build_report``: an analysis directory -> ``report.html`` + ``figures/*.png|svg``."""

from __future__ import annotations

import os
from pathlib import Path

from routesig.report.figures import write_figures
from routesig.report.html import render_html
from routesig.report.load import load_analysis
from routesig.signatures.store import atomic_write_text


def build_report(analysis_dir: str | os.PathLike, figures: bool = True) -> Path:
    """Write ``report.html`` (self-contained, interactive) and publication figures into an analysis directory.

    Parameters
    ----------
    analysis_dir : path
        The ``--out`` directory of ``routesig analyze`` (holds ``summary.json`` and the CSV tables).
    figures : bool, default True
        Also write ``figures/NAME.png`` and ``figures/NAME.svg`` for papers.

    Returns
    -------
    Path
        The ``report.html`` written.

    Raises
    ------
    RoutesigError
        The directory is not a readable analysis directory.

    Examples
    --------
    >>> import routesig
    >>> routesig.build_report("routesig-out/analysis")  # doctest: +SKIP
    PosixPath('routesig-out/analysis/report.html')
    """
    analysis = load_analysis(analysis_dir)
    names: list[str] = []
    if figures:
        names = [p.name for p in write_figures(analysis, analysis.dir / "figures")]
    # atomic: a browser open on the old report never sees a half-written page
    return atomic_write_text(render_html(analysis, names), analysis.dir / "report.html")
