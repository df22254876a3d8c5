"""``routesig run``: capture -> analyze -> report in one resumable go.

With no arguments it runs the whole study offline: the bundled demo model on the ``core`` suite, with the
``heldout`` suite as the train-on-one, test-on-the-other check. Every step writes under ``out``:

    out/signatures.parquet   routing signatures of the main prompts
    out/heldout.parquet      signatures of the held-out prompts (when a held-out set is used)
    out/analysis/            summary.json, CSV tables, figures/, report.html

Rerunning the same command resumes: a finished capture is reused, an interrupted one continues.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from routesig.errors import RoutesigError
from routesig.signatures.store import atomic_write_text

DEFAULT_OUT = Path("routesig-out")


def _subset_suite(source: str, per_category: int, dest: Path) -> str:
    """Write the first ``per_category`` prompts of each category of ``source`` to ``dest`` (JSONL)."""
    from routesig.capture.prompts import read_prompts

    ps = read_prompts(source)
    kept, seen = [], {}
    for pid, text, cat in zip(ps.ids, ps.texts, ps.categories, strict=True):
        if seen.get(cat, 0) < per_category:
            seen[cat] = seen.get(cat, 0) + 1
            kept.append({"id": pid, "category": cat, "text": text})
    atomic_write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in kept), dest)
    return str(dest)


def run(
    model: str | None = None,
    prompts: str | None = None,
    out: str | Path | None = None,
    *,
    heldout: str | None = None,
    per_category: int | None = None,
    batch_size: int = 8,
    dtype: str = "auto",
    device: str = "auto",
    max_tokens: int = 1024,
    chat_template: bool = False,
    seed: int = 0,
    permutations: int = 1000,
    bootstrap: int = 1000,
    progress: bool = True,
) -> dict[str, Any]:
    """Capture, analyse and report; return the analysis summary.

    Parameters
    ----------
    model : hub id or local folder; default the bundled demo model
    prompts : prompt file or suite name; default ``core`` (with ``heldout`` as the held-out set)
    out : output folder; default ``./routesig-out``
    heldout : a second prompt file or suite to test a probe trained on ``prompts``
    per_category : keep only the first N prompts of each category (quick runs)

    Returns
    -------
    dict
        The content of ``out/analysis/summary.json`` plus ``report_path``.

    Examples
    --------
    >>> summary = run(per_category=10, out="quick")  # doctest: +SKIP
    >>> summary["similarity"]["cohens_d"]  # doctest: +SKIP
    """
    from routesig.analysis.pipeline import analyze
    from routesig.capture.engine import capture
    from routesig.data import demo_model_path
    from routesig.report.build import build_report

    if model is None:
        model = str(demo_model_path())
    if prompts is None:
        prompts = "core"
        heldout = heldout if heldout is not None else "heldout"
    out = Path(out) if out is not None else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    if per_category is not None:
        if per_category < 1:
            raise RoutesigError(f"--per-category must be >= 1, got {per_category}")
        prompts = _subset_suite(prompts, per_category, out / "prompts.jsonl")
        if heldout is not None:
            heldout = _subset_suite(heldout, per_category, out / "heldout-prompts.jsonl")

    capture_kwargs = dict(
        batch_size=batch_size,
        dtype=dtype,
        device=device,
        max_tokens=max_tokens,
        chat_template=chat_template,
        progress=progress,
    )
    # capture() is idempotent and resumable: a finished file is reused, an interrupted one continues
    sig_path = capture(model=model, prompts=prompts, out=out / "signatures.parquet", **capture_kwargs)
    heldout_path = None
    if heldout is not None:
        heldout_path = capture(model=model, prompts=heldout, out=out / "heldout.parquet", **capture_kwargs)

    analysis_dir = out / "analysis"
    summary = analyze(
        sig_path,
        out=analysis_dir,
        heldout=heldout_path,
        seed=seed,
        permutations=permutations,
        bootstrap=bootstrap,
        progress=progress,
    )
    report_path = build_report(analysis_dir)
    summary = dict(summary)
    summary["report_path"] = str(report_path)
    return summary


def headline(summary: dict[str, Any]) -> str:
    """The few numbers that answer the study's question, as plain lines."""

    from routesig.report.load import get

    def g(path: str) -> Any:
        return get(summary, path)

    def pct(x: Any) -> str:
        return "n/a" if x is None else f"{100 * x:.1f}%"

    def num(x: Any, fmt: str = ".4f") -> str:
        return "n/a" if x is None else format(x, fmt)

    cats = ", ".join(f"{k} {v}" for k, v in (g("input.categories") or {}).items())
    lines = [
        f"prompts          {num(g('input.n_prompts'), 'd')} ({cats})",
        f"cosine within    {num(g('similarity.within.mean'))} ± {num(g('similarity.within.std'))}",
        f"cosine across    {num(g('similarity.across.mean'))} ± {num(g('similarity.across.std'))}",
        f"Cohen's d        {num(g('similarity.cohens_d'), '.2f')}   "
        f"(permutation p = {num(g('baselines.permutation.p_value'), '.4g')})",
        f"probe accuracy   {pct(g('probe.accuracy.mean'))} ± {pct(g('probe.accuracy.std'))}   "
        f"macro-F1 {num(g('probe.macro_f1'), '.2f')}   chance {pct(g('probe.chance'))}",
        f"peak layer       {num(g('peak_layer'), 'd')}",
        f"lexical control  {pct(g('controls.lexical.probe.accuracy.mean'))} (bag-of-tokens probe)   "
        f"length-only {pct(g('controls.length.probe.accuracy.mean'))}",
    ]
    held = g("heldout.probe.accuracy")
    if held is not None:
        held = held.get("mean", held) if isinstance(held, dict) else held
        lines.append(f"held-out probe   {pct(held)} (fit on the main prompts, scored on held-out ones)")
    if summary.get("report_path"):
        lines.append(f"report           {summary['report_path']}")
    return "\n".join(lines)
