"""report.html in a real headless browser (Debian's chromium driven by playwright), offline.

Checks what only a browser can: the page runs without errors, every plot renders with the expected traces,
hovering a point shows its prompt, and the ``<script>`` prompt runs nothing.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from report.report_data import CATEGORIES, EVIL_ID, N_PER

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _unavailable(reason: str) -> None:
    """CI must run the browser tests: there a missing browser fails; elsewhere it skips with the fix."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(f"{reason}: run `make browser` and `pip install playwright` to run the browser tests")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} not found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page opened from a file URL, with everything noteworthy recorded: errors, dialogs, network."""

    def __init__(self, browser: object, html: Path) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on(
            "request", lambda r: None if r.url.startswith(("file:", "data:")) else self.requests.append(r.url)
        )
        self.page.goto(html.resolve().as_uri())
        self.page.wait_for_selector("body[data-plots-ready=true]", timeout=60_000)

    def traces(self, plot_id: str) -> list[dict]:
        """Type, name and number of x (or z rows) of each trace plotly drew in ``plot_id``."""
        return self.page.evaluate(
            # _fullData: the traces as drawn (numpy arrays arrive base64-encoded in .data)
            "id => document.getElementById(id)._fullData.map(t => ({type: t.type, name: t.name,"
            " n: (t.x || t.z || []).length}))",
            plot_id,
        )


@pytest.fixture(scope="module")
def page(browser: object, report_dir: Path) -> Iterator[Page]:
    p = Page(browser, report_dir / "report.html")
    yield p
    p.page.close()


def test_renders_every_plot_without_errors(page: Page, report_dir: Path) -> None:
    plot_ids = page.page.eval_on_selector_all("div.plot", "els => els.map(e => e.id)")
    assert len(plot_ids) == 8  # everything but UMAP (not installed) is drawn
    for plot_id in plot_ids:
        assert page.page.locator(f"#{plot_id} svg.main-svg").count() >= 1, plot_id
    n_cats = len(CATEGORIES)
    expected = {"plot-pca": n_cats, "plot-tsne": n_cats, "plot-similarity-matrix": 1, "plot-confusion": 1,
                "plot-layers": 3, "plot-expert-usage": n_cats, "plot-controls": 1,
                "plot-distributions": 4}  # fmt: skip
    assert {i: len(page.traces(i)) for i in plot_ids} == expected
    for plot_id in ("plot-pca", "plot-tsne"):  # every prompt is a point
        assert sum(t["n"] for t in page.traces(plot_id)) == n_cats * N_PER
    summary = json.loads((report_dir / "summary.json").read_text())
    assert page.traces("plot-layers")[0]["n"] == len(summary["layers"])
    assert page.errors == [] and page.requests == []
    assert page.page.title().startswith("Routing signatures")
    ARTIFACTS.mkdir(exist_ok=True)
    page.page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)


def _point_position(page: Page, plot_id: str, pid: str) -> dict:
    """Page coordinates of the point of prompt ``pid`` (found by its id at the start of the hover text)."""
    return page.page.evaluate(
        """([id, pid]) => {
          const el = document.getElementById(id), fl = el._fullLayout, box = el.getBoundingClientRect();
          for (const t of el._fullData) {
            const i = t.hovertext.findIndex(h => h.startsWith('<b>' + pid + '</b>'));
            if (i >= 0) return {x: box.left + fl.xaxis._offset + fl.xaxis.l2p(t.x[i]),
                                y: box.top + fl.yaxis._offset + fl.yaxis.l2p(t.y[i])};
          }
          return null;
        }""",
        [plot_id, pid],
    )


def _hover_text(page: Page, plot_id: str, pid: str) -> str:
    page.page.locator(f"#{plot_id}").scroll_into_view_if_needed()
    pos = _point_position(page, plot_id, pid)
    assert pos is not None, pid
    page.page.mouse.move(pos["x"], pos["y"])
    label = page.page.locator(f"#{plot_id} .hoverlayer .hovertext")
    label.wait_for(timeout=5_000)
    return label.text_content()


def test_hover_shows_prompt(page: Page, report_dir: Path) -> None:
    with open(report_dir / "prompts.csv", newline="") as fh:
        prompts = {row["id"]: row["text"] for row in csv.DictReader(fh)}
    text = _hover_text(page, "plot-pca", "math-3")
    assert text.startswith("math-3 · math")
    assert prompts["math-3"][:20] in text  # the start of the prompt (the first wrapped line holds 60 chars)


def test_script_prompt_is_shown_as_text_and_never_runs(page: Page) -> None:
    text = _hover_text(page, "plot-pca", EVIL_ID)
    # shown literally (lines are wrapped at spaces, which textContent drops)
    assert "<script>window.__pwned=1;alert(1)</script>" in text.replace(" ", "")
    assert page.page.evaluate("window.__pwned") is None
    assert page.dialogs == []
    assert page.page.locator("img").count() == 0  # the <img onerror> payload never became an element
    assert page.page.locator("script").count() == 3  # the page's own: data, plotly.js, drawing code


def test_partial_analysis_page(browser: object, minimal_dir: Path) -> None:
    p = Page(browser, minimal_dir / "report.html")
    try:
        assert p.errors == [] and p.requests == []
        assert p.page.locator(".not-computed").count() >= 5
        assert not p.page.locator("#plot-tsne").count()
        # without prompts.csv the hover text comes from the signature file named in summary.json
        text = _hover_text(p, "plot-pca", "story-1")
        assert text.startswith("story-1") and "Prompt 1:" in text
    finally:
        p.page.close()


def test_missing_browser_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI"):
        _unavailable("no browser")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="make browser"):
        _unavailable("no browser")
