"""Reading an analysis directory: dotted lookups and one-line errors for every bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from routesig.errors import RoutesigError
from routesig.report.load import REQUIRED_KEYS, get, load_analysis


def test_get_walks_dicts_and_lists() -> None:
    tree = {"a": {"b": [{"c": 3}, {"c": None}]}, "n": 0}
    assert get(tree, "a.b.0.c") == 3
    assert get(tree, "a.b.-1.c", "x") == "x"  # null reads as absent
    assert get(tree, "a.b.2.c") is None and get(tree, "a.z") is None and get(tree, "n.q") is None
    assert get(tree, "n") == 0  # falsy values are values


def test_loads_real_analysis(analysis_dir: Path) -> None:
    a = load_analysis(analysis_dir)
    summary = json.loads((analysis_dir / "summary.json").read_text())
    assert a.categories == summary["similarity"]["matrix"]["categories"]
    assert len(a.texts) == summary["input"]["n_prompts"] and a.texts["story-1"].startswith("Prompt 1:")
    assert set(a.expert_usage["category"]) == set(a.categories) | {"__all__"}


def _copy(analysis_dir: Path, tmp_path: Path) -> Path:
    d = tmp_path / "an"
    shutil.copytree(analysis_dir, d)
    return d


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: shutil.rmtree(d), "analysis directory not found"),
        (lambda d: (d / "summary.json").unlink(), "has no summary.json"),
        (lambda d: (d / "summary.json").write_text("{oops"), "is not valid JSON"),
        (lambda d: (d / "summary.json").write_text("[1, 2]"), "is not a JSON object"),
        (lambda d: (d / "projections.csv").write_text("id,category\nx,y\n"), "lacks column(s) pca_1, pca_2"),
        (lambda d: (d / "expert_usage.csv").write_bytes(b"\xff\xfe\x00bad"), "is not a readable CSV"),
    ],
)
def test_bad_directories_raise_one_line(analysis_dir: Path, tmp_path: Path, damage, message: str) -> None:
    d = _copy(analysis_dir, tmp_path)
    damage(d)
    with pytest.raises(RoutesigError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        load_analysis(d)
    assert "\n" not in str(e.value) and "routesig analyze" in str(e.value)


def test_missing_required_key_is_named(analysis_dir: Path, tmp_path: Path) -> None:
    d = _copy(analysis_dir, tmp_path)
    summary = json.loads((d / "summary.json").read_text())
    del summary["controls"]["lexical"]
    summary["peak_layer"] = None
    (d / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(RoutesigError, match=r"lacks peak_layer, controls\.lexical\.probe\.accuracy\.mean"):
        load_analysis(d)
    assert "controls.lexical.probe.accuracy.mean" in REQUIRED_KEYS
