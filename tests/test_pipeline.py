"""`routesig run`, the main job, end to end on 5 prompts per category so CI catches a broken default."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from routesig.data import demo_model_path
from routesig.signatures.store import load_signatures

Run = tuple[Path, subprocess.CompletedProcess]

FAST = ["--per-category", "5", "--permutations", "20", "--bootstrap", "20"]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "routesig.cli", "run", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """`routesig run` with no model/prompt arguments, from an empty working directory."""
    cwd = tmp_path_factory.mktemp("run")
    return cwd, _run(FAST, cwd)


def test_default_run_writes_everything_under_cwd(default_run: Run) -> None:
    cwd, proc = default_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = cwd / "routesig-out"
    for rel in ("signatures.parquet", "heldout.parquet", "analysis/summary.json", "analysis/report.html"):
        assert (out / rel).is_file(), rel
    assert any((out / "analysis" / "figures").glob("*.png"))


def test_default_run_uses_demo_model_and_both_suites(default_run: Run) -> None:
    cwd, _ = default_run
    out = cwd / "routesig-out"
    sig = load_signatures(out / "signatures.parquet")
    held = load_signatures(out / "heldout.parquet")
    assert Path(sig.metadata["model"]).resolve() == demo_model_path().resolve()
    assert sig.metadata["architecture"] == "olmoe"
    # 5 prompts of each of the four categories, from two disjoint suites
    for s, prefix in ((sig, "core-"), (held, "heldout-")):
        assert sorted(set(s.categories)) == ["code", "factual", "math", "story"]
        assert all(s.categories.count(c) == 5 for c in set(s.categories))
        assert all(i.startswith(prefix) for i in s.ids)
    # every token selects top_k experts in every MoE layer
    assert (sig.counts.sum(axis=2) == sig.n_tokens[:, None] * sig.top_k).all()


def test_headline_numbers_match_summary(default_run: Run) -> None:
    cwd, proc = default_run
    summary = json.loads((cwd / "routesig-out" / "analysis" / "summary.json").read_text())
    text = proc.stdout
    assert f"{summary['similarity']['within']['mean']:.4f}" in text
    assert f"{summary['similarity']['across']['mean']:.4f}" in text
    assert f"{summary['similarity']['cohens_d']:.2f}" in text
    assert f"{100 * summary['probe']['accuracy']['mean']:.1f}%" in text
    assert f"peak layer       {summary['peak_layer']}" in text
    assert f"{100 * summary['controls']['lexical']['probe']['accuracy']['mean']:.1f}%" in text
    assert summary["heldout"] is not None and summary["heldout"]["n_test"] == 20
    assert "report.html" in text


def test_rerun_resumes_without_recapturing(default_run: Run) -> None:
    cwd, _ = default_run
    sig_file = cwd / "routesig-out" / "signatures.parquet"
    before = sig_file.stat().st_mtime_ns
    proc = _run(FAST, cwd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sig_file.stat().st_mtime_ns == before  # the finished capture was reused, not redone
    assert "complete" in proc.stderr + proc.stdout


def test_run_on_own_prompt_file(tmp_path: Path) -> None:
    prompts = tmp_path / "mine.csv"
    rows = ["id,category,text"]
    for i in range(6):
        rows.append(f"a{i},alpha,def function_{i}(x): return x * {i}")
        rows.append(f"b{i},beta,Once upon a time there lived a fox number {i} in the woods.")
    prompts.write_text("\n".join(rows) + "\n")
    proc = _run(["--prompts", str(prompts), "--out", str(tmp_path / "o"), "--permutations", "20",
                 "--bootstrap", "20"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "o" / "analysis" / "summary.json").read_text())
    assert summary["input"]["categories"] == {"alpha": 6, "beta": 6}
    assert summary["heldout"] is None  # no held-out set unless asked for
    assert not (tmp_path / "o" / "heldout.parquet").exists()


def test_bad_per_category_is_one_line_error(tmp_path: Path) -> None:
    proc = _run(["--per-category", "0", "--out", str(tmp_path / "o")], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "per-category" in proc.stderr
