"""Publication figures: every figure written as a readable PNG of the intended size and a valid SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pytest
from PIL import Image

from routesig.report.figures import DPI, FIGURES, RC, write_figures
from routesig.report.load import load_analysis


def test_every_figure_written_as_png_and_svg(report_dir: Path) -> None:
    a = load_analysis(report_dir)
    with mpl.rc_context(RC):
        sizes = {name: plot(a).get_size_inches() for name, plot in FIGURES.items()}
    for name, (w, h) in sizes.items():
        png, svg = report_dir / "figures" / f"{name}.png", report_dir / "figures" / f"{name}.svg"
        with Image.open(png) as im:
            im.load()  # decodes the whole image: a truncated file fails here
            assert im.size == (round(w * DPI), round(h * DPI)), name
            assert np.unique(np.asarray(im.convert("L"))).size > 20  # something was drawn, not a blank canvas
        assert png.stat().st_size > 10_000
        root = ET.parse(svg).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        texts = "".join(root.itertext())
        assert len(texts) > 10  # labels kept as text (svg.fonttype none): editable in a paper


def test_figures_label_axes_and_categories(report_dir: Path) -> None:
    svg = (report_dir / "figures" / "projections.svg").read_text()
    for label in ("PC1", "t-SNE", "code", "math", "story", "factual"):
        assert label in svg
    layers = (report_dir / "figures" / "layers.svg").read_text()
    assert "decoder layer" in layers and "peak: layer" in layers and "chance" in layers


def test_svg_is_reproducible(report_dir: Path, tmp_path: Path) -> None:
    a = load_analysis(report_dir)
    first = {p.name: p.read_bytes() for p in write_figures(a, tmp_path / "one") if p.suffix == ".svg"}
    second = {p.name: p.read_bytes() for p in write_figures(a, tmp_path / "two") if p.suffix == ".svg"}
    assert first == second and len(first) == len(FIGURES)


def test_optional_figures_skipped(minimal_dir: Path) -> None:
    names = {p.stem for p in (minimal_dir / "figures").iterdir()}
    assert "expert_usage" not in names and "similarity_matrix" not in names
    assert {"projections", "layers", "confusion", "controls", "similarity_distributions"} <= names
    with Image.open(minimal_dir / "figures" / "projections.png") as im:  # PCA only: one square panel
        assert im.size[0] < 1.5 * im.size[1]


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_functions_return_figures(report_dir: Path, name: str) -> None:
    fig = FIGURES[name](load_analysis(report_dir))
    assert fig is not None and len(fig.axes) >= 1
