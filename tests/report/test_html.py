"""report.html: printed numbers equal summary.json, untrusted text is inert, the page is self-contained."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from report.report_data import EVIL_TEXT
from routesig.report.html import script_json
from routesig.report.interactive import hover_text
from routesig.report.load import REQUIRED_KEYS, get


class _Numbers(HTMLParser):
    """Collects (data-key, data-format, shown text) of every number span, and every <script> body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.numbers: list[tuple[str, str, str]] = []
        self.scripts: list[str] = []
        self._open: list[str] | None = None
        self._script: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if "data-key" in a:
            self._open = [a["data-key"], a.get("data-format", "num"), ""]
        if tag == "script":
            self._script = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[2] += data
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open is not None:
            self.numbers.append(tuple(self._open))
            self._open = None
        if tag == "script" and self._script is not None:
            self.scripts.append("".join(self._script))
            self._script = None


def parse(path: Path) -> _Numbers:
    p = _Numbers()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def shown_matches(value: object, kind: str, shown: str) -> bool:
    """Whether ``shown`` is ``value`` at the precision shown (checked without routesig's own formatter)."""
    if value is None:
        return shown == "–"
    if kind == "raw":
        return shown == str(value)
    if kind == "p":
        return value < 0.001 if shown == "< 0.001" else abs(float(shown) - value) <= 0.0005 + 1e-12
    if kind == "int":
        return int(shown.replace(",", "")) == round(value)
    number = shown.removesuffix("%")
    scale = 100 if kind == "pct" else 1
    decimals = len(number.partition(".")[2])
    return abs(float(number) - value * scale) <= 0.5 * 10**-decimals + 1e-9


@pytest.mark.parametrize("which", ["report_dir", "minimal_dir"])
def test_every_number_shown_is_summary_json(which: str, request: pytest.FixtureRequest) -> None:
    d = request.getfixturevalue(which)
    summary = json.loads((d / "summary.json").read_text())
    numbers = parse(d / "report.html").numbers
    assert len(numbers) > 40
    wrong = [
        (k, kind, shown, get(summary, k))
        for k, kind, shown in numbers
        if not shown_matches(get(summary, k), kind, shown)
    ]
    assert not wrong
    shown_keys = {k for k, _, _ in numbers}
    # the headline numbers of the issue are all on the page
    for key in [k for k in REQUIRED_KEYS if k != "layers"] + ["probe.chance", "baselines.permutation.n"]:
        if isinstance(get(summary, key), int | float):
            assert key in shown_keys, key


def test_matcher_rejects_wrong_numbers() -> None:
    # the comparison above must be able to fail
    assert shown_matches(0.8435, "num", "0.844") and not shown_matches(0.8435, "num", "0.845")
    assert shown_matches(0.925, "pct", "92.5%") and not shown_matches(0.925, "pct", "92.6%")
    assert shown_matches(0.0004, "p", "< 0.001") and not shown_matches(0.002, "p", "< 0.001")
    assert shown_matches(1000, "int", "1,000") and not shown_matches(None, "num", "0.000")


def test_headline_values(report_dir: Path) -> None:
    summary = json.loads((report_dir / "summary.json").read_text())
    html = (report_dir / "report.html").read_text()
    cohens_d = re.search(r'<span class="num" data-key="similarity.cohens_d" data-format="num">([^<]+)<', html)
    assert cohens_d and float(cohens_d.group(1)) == round(summary["similarity"]["cohens_d"], 2)
    # planted structure: a real effect, so the plain-language readings say so
    assert "route more alike than prompts of different categories" in html
    assert "A large effect" in html


def test_prompt_text_is_never_markup(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text()
    figure_data = parse(report_dir / "report.html").scripts[0]  # the JSON block comes first
    assert "<" not in figure_data and ">" not in figure_data  # nothing in it can close the <script>
    labels = json.dumps(json.loads(figure_data))
    assert "&lt;script&gt;window.__pwned = 1; alert(1)&lt;/script&gt;" in labels  # shown as text by plotly
    assert "<script>" not in labels and "<img" not in labels
    outside_scripts = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)
    assert "window.__pwned" not in outside_scripts and "<img" not in outside_scripts


def test_script_json_round_trips_and_cannot_close_script() -> None:
    obj = {"t": EVIL_TEXT, "u": "a\u2028b & <!-- -->"}
    text = str(script_json(obj))
    assert json.loads(text) == obj
    assert not re.search(r"[<>&\u2028]", text)


def test_hover_text_escapes_html_and_keeps_our_breaks() -> None:
    label = hover_text("<b>id</b>", "c&d", EVIL_TEXT + " " + "word " * 100)
    assert label.startswith("<b>&lt;b&gt;id&lt;/b&gt;</b> · c&amp;d<br>&lt;script&gt;window.__pwned")
    tags = re.findall(r"<[^>]*>", label)
    assert set(tags) == {"<b>", "</b>", "<br>"}  # the only markup is ours
    assert label.endswith("…")  # long prompts are cut


def test_self_contained(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text()
    from plotly.offline import get_plotlyjs

    head = get_plotlyjs()[:200]
    assert html.count(head) == 1  # plotly.js inlined exactly once for all figures
    page = re.sub(r"<script>.*?</script>", "", html, flags=re.S)  # plotly.js's own strings aside
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing loaded from the network
    assert "<link" not in page and "@import" not in page and "<script src" not in page


def test_optional_sections_show_not_computed(minimal_dir: Path, report_dir: Path) -> None:
    html = (minimal_dir / "report.html").read_text()
    for what in (
        "t-SNE of routing signatures",
        "Category similarity heatmap",
        "Expert usage per category",
        "Held-out evaluation",
        "Category-specific experts",
        "Per-category scores",
    ):
        assert f"{what}: not computed" in html, what
    full = (report_dir / "report.html").read_text()
    assert "t-SNE of routing signatures: not computed" not in full
    assert 'id="plot-tsne"' in full and 'id="plot-tsne"' not in html
