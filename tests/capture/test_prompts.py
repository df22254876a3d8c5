"""Prompt files: every format reads to the same prompts; bad files fail with one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from routesig.capture.prompts import read_prompts
from routesig.errors import RoutesigError

ROWS = [
    {"id": "a", "text": "def f(): pass", "category": "code"},
    {"id": "b", "text": "2 + 2 = 4, NA", "category": "math"},
    {"id": "c", "text": "Once, a fox.", "category": None},
]


def _write(tmp_path: Path, suffix: str, rows: list[dict]) -> Path:
    path = tmp_path / f"p{suffix}"
    df = pd.DataFrame(rows)
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix == ".parquet":
        df.to_parquet(path)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_tables_read_the_same(tmp_path, suffix):
    ps = read_prompts(_write(tmp_path, suffix, ROWS))
    assert ps.ids == ["a", "b", "c"]
    assert ps.texts == [r["text"] for r in ROWS]  # "NA" stays text in CSV
    assert ps.categories == ["code", "math", None]


def test_text_file_one_prompt_a_line_with_generated_ids(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("first prompt\nsecond prompt\n\n")
    ps = read_prompts(path)
    assert (ps.ids, ps.texts, ps.categories) == (
        ["p00000", "p00001"],
        ["first prompt", "second prompt"],
        [None, None],
    )


def test_optional_columns_and_renamed_text_column(tmp_path):
    path = _write(tmp_path, ".jsonl", [{"prompt": "x y"}, {"prompt": "z"}])
    ps = read_prompts(path, text_column="prompt")
    assert ps.ids == ["p00000", "p00001"] and ps.categories == [None, None]


@pytest.mark.parametrize(
    ("rows", "kwargs", "message"),
    [
        ([{"prompt": "x"}], {}, r"no text column 'text' \(columns found: prompt\): pass --text-column"),
        ([{"id": "a", "text": "x"}, {"id": "b", "text": "   "}], {}, r"prompt 'b' \(row 2\) is empty"),
        ([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}], {}, r"duplicate prompt id 'a' \(row 2\)"),
    ],
)
def test_bad_tables(tmp_path, rows, kwargs, message):
    with pytest.raises(RoutesigError, match=message):
        read_prompts(_write(tmp_path, ".jsonl", rows), **kwargs)


def test_blank_line_inside_text_file_is_named(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("one\n\nthree\n")
    with pytest.raises(RoutesigError, match=r"prompt 'p00001' \(line 2\) is empty"):
        read_prompts(path)


def test_missing_unknown_and_unreadable_files(tmp_path):
    with pytest.raises(RoutesigError, match="prompt file not found: .*nope.jsonl"):
        read_prompts(tmp_path / "nope.jsonl")
    (tmp_path / "p.xlsx").write_text("x")
    with pytest.raises(RoutesigError, match="unknown prompt file format '.xlsx'"):
        read_prompts(tmp_path / "p.xlsx")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(RoutesigError, match="could not read .*bad.parquet as parquet"):
        read_prompts(tmp_path / "bad.parquet")
    (tmp_path / "bad.jsonl").write_text('{"text": "a"}\n{broken\n')
    with pytest.raises(RoutesigError, match="could not read .*bad.jsonl as jsonl"):
        read_prompts(tmp_path / "bad.jsonl")
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(RoutesigError, match="holds no prompts"):
        read_prompts(tmp_path / "empty.txt")


def test_suite_name_resolves_through_routesig_data(tmp_path, monkeypatch):
    data = pytest.importorskip("routesig.data")
    if not hasattr(data, "suite_path"):
        pytest.skip("routesig.data.suite_path not written yet")
    names = list(data.list_suites())
    if not names:
        pytest.skip("no bundled suite yet")
    monkeypatch.chdir(tmp_path)  # so the name cannot be a file in the working directory
    ps = read_prompts(names[0])
    assert len(ps) == data.list_suites()[names[0]]["n_prompts"] and ps.source == f"suite:{names[0]}"
