"""The headline panel: the key numbers of an analysis, each with a one-sentence plain-language reading.

Readings are chosen from the numbers (never hard-coded claims), so a null result reads as one. A card's
numbers are given as ``(summary key, digits, kind)`` triples; the page renders them with their ``data-key``
so that every number shown can be traced back to ``summary.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from routesig.report.load import Analysis
from routesig.report.series import mean_of

Num = tuple[str, int, str]  # (summary key, decimal places, kind for style.fmt)


@dataclass
class Card:
    """One headline number: a title, a value line mixing text and numbers, and its reading."""

    title: str
    parts: list[str | Num]
    reading: str
    sub: list[str | Num] = field(default_factory=list)


def _effect_size(d: float) -> str:
    d = abs(d)
    return "large" if d >= 0.8 else "medium" if d >= 0.5 else "small" if d >= 0.2 else "negligible"


def cards(a: Analysis) -> list[Card]:
    """The six headline cards (similarity, effect size, probe, permutation, peak layer, lexical control)."""
    gap = a.get("similarity.within.mean") - a.get("similarity.across.mean")
    out = [
        Card(
            "Within vs across category",
            [("similarity.within.mean", 3, "num"), " vs ", ("similarity.across.mean", 3, "num")],
            "Prompts of the same category route more alike than prompts of different categories."
            if gap > 0
            else "Prompts of the same category route no more alike than prompts of different ones.",
            [
                "± ",
                ("similarity.within.std", 3, "num"),
                " vs ± ",
                ("similarity.across.std", 3, "num"),
                " mean cosine similarity",
            ],
        ),
    ]
    d = a.get("similarity.cohens_d")
    size = _effect_size(d)
    out.append(
        Card(
            "Effect size (Cohen's d)",
            [("similarity.cohens_d", 2, "num")],
            f"A {size} effect: "
            + (
                "the two similarity distributions barely overlap."
                if size == "large"
                else "the two similarity distributions overlap a lot."
                if size != "negligible"
                else "no real difference between them."
            ),
        )
    )
    acc, std, chance = (a.get(k) for k in ("probe.accuracy.mean", "probe.accuracy.std", "probe.chance"))
    above = chance is None or acc - std > chance
    out.append(
        Card(
            "Probe accuracy",
            [("probe.accuracy.mean", 1, "pct"), " ± ", ("probe.accuracy.std", 1, "pct")],
            "A linear classifier reads the category from routing alone, well above chance."
            if above
            else "A linear classifier barely beats chance: routing says little about the category.",
            ["chance ", ("probe.chance", 1, "pct"), " · macro-F1 ", ("probe.macro_f1", 2, "num")],
        )
    )
    p = a.get("baselines.permutation.p_value")
    out.append(
        Card(
            "Permutation test",
            ["p " if p < 0.001 else "p = ", ("baselines.permutation.p_value", 3, "p")],  # "p < 0.001"
            "Shuffled category labels almost never give a gap this large: it is not chance."
            if p < 0.01
            else "Shuffled labels rarely give a gap this large."
            if p < 0.05
            else "Shuffled labels often give a gap this large: the separation may be chance.",
            [("baselines.permutation.n", 0, "int"), " label shuffles"]
            if a.get("baselines.permutation.n") is not None
            else [],
        )
    )
    n_dec = a.get("input.metadata.num_decoder_layers")
    out.append(
        Card(
            "Peak layer",
            ["layer ", ("peak_layer", 0, "int")],
            "Categories separate most clearly here when each MoE layer is taken on its own.",
            ["of ", ("input.metadata.num_decoder_layers", 0, "int"), " decoder layers"] if n_dec else [],
        )
    )
    lex = mean_of(a.get("controls.lexical.probe.accuracy"))
    if lex > acc + (std or 0):
        lex_reading = "The prompts' words alone predict the category better than routing does."
    elif lex < acc - (std or 0):
        lex_reading = (
            "Routing predicts the category better than the prompts' words alone: it is more than vocabulary."
        )
    else:
        lex_reading = (
            "The words alone predict the category about as well: routing may largely mirror vocabulary."
        )
    out.append(
        Card(
            "Lexical control",
            [("controls.lexical.probe.accuracy.mean", 1, "pct"), " from words"],
            lex_reading,
            ["vs ", ("probe.accuracy.mean", 1, "pct"), " from routing"],
        )
    )
    return out
