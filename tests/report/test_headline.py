"""Headline readings follow the numbers: a real effect and a null result read differently."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from routesig.report.headline import cards
from routesig.report.load import Analysis


def _analysis(summary: dict) -> Analysis:
    return Analysis(dir=Path("."), summary=summary, projections=None, expert_usage=None, texts={})


def _readings(summary: dict) -> dict[str, str]:
    return {c.title: c.reading for c in cards(_analysis(summary))}


def test_null_result_reads_as_null(analysis_dir: Path) -> None:
    real = json.loads((analysis_dir / "summary.json").read_text())
    null = copy.deepcopy(real)
    null["similarity"].update(cohens_d=0.05)
    null["similarity"]["within"]["mean"] = null["similarity"]["across"]["mean"] - 0.01
    null["probe"]["accuracy"].update(mean=0.27, std=0.05)
    null["baselines"]["permutation"]["p_value"] = 0.4
    null["controls"]["lexical"]["probe"]["accuracy"]["mean"] = 0.9
    got, want = _readings(null), _readings(real)
    assert (
        "no more alike" in got["Within vs across category"]
        and "more alike" in want["Within vs across category"]
    )
    assert got["Effect size (Cohen's d)"].startswith("A negligible effect")
    assert want["Effect size (Cohen's d)"].startswith("A large effect")  # planted structure: d > 0.8
    assert "barely beats chance" in got["Probe accuracy"] and "well above chance" in want["Probe accuracy"]
    assert "may be chance" in got["Permutation test"]
    assert "better than routing" in got["Lexical control"]


def test_effect_size_bands(analysis_dir: Path) -> None:
    s = json.loads((analysis_dir / "summary.json").read_text())
    for d, word in ((0.9, "large"), (-0.6, "medium"), (0.3, "small"), (0.1, "negligible")):
        s["similarity"]["cohens_d"] = d
        assert _readings(s)["Effect size (Cohen's d)"].startswith(f"A {word} effect")


def test_every_card_number_has_a_summary_key(analysis_dir: Path) -> None:
    s = json.loads((analysis_dir / "summary.json").read_text())
    for card in cards(_analysis(s)):
        keys = [p[0] for p in card.parts + card.sub if isinstance(p, tuple)]
        assert keys, card.title
        literal = "".join(p for p in card.parts + card.sub if isinstance(p, str)).replace("F1", "")
        assert not any(ch.isdigit() for ch in literal)  # no number printed without its key
