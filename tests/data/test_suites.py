"""The bundled prompt suites (core, heldout) and the routesig.data helpers."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from routesig.data import (
    CATEGORIES,
    SUITES_DIR,
    demo_model_path,
    list_suites,
    suite_path,
)
from routesig.errors import RoutesigError

SUITES = ("core", "heldout")
MIN_PER_CATEGORY = {"core": 55, "heldout": 28}
ID_RE = {name: re.compile(rf"^{name}-(code|math|story|factual)-\d{{3}}$") for name in SUITES}
LONG_CHARS = 400
NEAR_DUP_JACCARD = 0.5


def _load(name: str) -> list[dict]:
    path = SUITES_DIR / f"{name}.jsonl"
    records = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"{name}.jsonl:{lineno}: blank line"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:  # pragma: no cover - failure path
            pytest.fail(f"{name}.jsonl:{lineno}: invalid JSON: {exc}")
        assert isinstance(record, dict), f"{name}.jsonl:{lineno}: not an object"
        records.append(record)
    return records


@pytest.fixture(scope="module")
def suites() -> dict[str, list[dict]]:
    return {name: _load(name) for name in SUITES}


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def _shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _jaccard(a: set, b: set) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


# --- file format -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SUITES)
def test_records_have_exactly_id_category_text(suites, name):
    for record in suites[name]:
        assert set(record) == {"id", "category", "text"}, record
        assert all(isinstance(record[k], str) for k in record), record


@pytest.mark.parametrize("name", SUITES)
def test_ids_follow_scheme_and_match_category(suites, name):
    for record in suites[name]:
        match = ID_RE[name].match(record["id"])
        assert match, f"bad id {record['id']!r}"
        assert match.group(1) == record["category"], record["id"]


def test_ids_unique_within_and_across_suites(suites):
    all_ids = [r["id"] for name in SUITES for r in suites[name]]
    dupes = [i for i, c in Counter(all_ids).items() if c > 1]
    assert not dupes, dupes


@pytest.mark.parametrize("name", SUITES)
def test_categories_are_exactly_the_four(suites, name):
    assert {r["category"] for r in suites[name]} == set(CATEGORIES)
    assert set(CATEGORIES) == {"code", "math", "story", "factual"}


@pytest.mark.parametrize("name", SUITES)
def test_per_category_minimum_counts(suites, name):
    counts = Counter(r["category"] for r in suites[name])
    for cat in CATEGORIES:
        assert counts[cat] >= MIN_PER_CATEGORY[name], (name, cat, counts[cat])


@pytest.mark.parametrize("name", SUITES)
def test_no_empty_or_padded_text(suites, name):
    for record in suites[name]:
        text = record["text"]
        assert text.strip(), record["id"]
        assert text == text.strip(), f"{record['id']}: leading/trailing whitespace"


# --- content -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SUITES)
@pytest.mark.parametrize("cat", CATEGORIES)
def test_lengths_vary_within_each_category(suites, name, cat):
    lengths = [len(r["text"]) for r in suites[name] if r["category"] == cat]
    assert max(lengths) >= 8 * min(lengths), (name, cat, min(lengths), max(lengths))
    n_long = sum(n > LONG_CHARS for n in lengths)
    assert n_long >= 0.10 * len(lengths), (name, cat, n_long, len(lengths))
    n_multi_paragraph = sum("\n\n" in r["text"] for r in suites[name] if r["category"] == cat)
    assert n_multi_paragraph >= 3, (name, cat, n_multi_paragraph)


@pytest.mark.parametrize("name", SUITES)
def test_no_duplicate_texts_within_suite(suites, name):
    texts = Counter(_normalise(r["text"]) for r in suites[name])
    dupes = [t[:60] for t, c in texts.items() if c > 1]
    assert not dupes, dupes


def test_no_shared_texts_across_suites(suites):
    core = {_normalise(r["text"]) for r in suites["core"]}
    heldout = {_normalise(r["text"]) for r in suites["heldout"]}
    assert not core & heldout


def test_no_near_duplicates_across_suites(suites):
    core = [(r["id"], _shingles(r["text"])) for r in suites["core"]]
    heldout = [(r["id"], _shingles(r["text"])) for r in suites["heldout"]]
    worst = max(
        ((_jaccard(a, b), ia, ib) for (ia, a), (ib, b) in itertools.product(core, heldout)),
        default=(0.0, "", ""),
    )
    assert worst[0] < NEAR_DUP_JACCARD, f"{worst[1]} and {worst[2]} overlap (5-gram Jaccard {worst[0]:.2f})"


@pytest.mark.parametrize("name", SUITES)
def test_no_near_duplicates_within_suite(suites, name):
    shingled = [(r["id"], _shingles(r["text"])) for r in suites[name]]
    for (ia, a), (ib, b) in itertools.combinations(shingled, 2):
        j = _jaccard(a, b)
        assert j < NEAR_DUP_JACCARD, f"{ia} and {ib} overlap (5-gram Jaccard {j:.2f})"


# --- routesig.data helpers ---------------------------------------------------------------------------


def test_list_suites_describes_bundled_suites(suites):
    listed = list_suites()
    assert set(SUITES) <= set(listed)
    for name in SUITES:
        info = listed[name]
        assert set(info) == {"path", "n_prompts", "categories", "description"}
        assert isinstance(info["path"], Path) and info["path"].is_file()
        assert info["path"] == suite_path(name)
        assert info["n_prompts"] == len(suites[name])
        assert info["categories"] == dict(Counter(r["category"] for r in suites[name]))
        assert isinstance(info["description"], str) and info["description"]
        assert "\n" not in info["description"]


def test_suite_path_returns_jsonl_inside_package():
    for name in SUITES:
        path = suite_path(name)
        assert path == SUITES_DIR / f"{name}.jsonl"
        assert path.is_file()
    assert SUITES_DIR.name == "suites" and SUITES_DIR.parent.name == "data"


@pytest.mark.parametrize("bad", ["x", "Core", "core.jsonl", "", "../core"])
def test_unknown_suite_raises_one_line_error(bad):
    with pytest.raises(RoutesigError) as excinfo:
        suite_path(bad)
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith(f"unknown prompt suite {bad!r}: choose one of core, heldout")
    assert message.endswith("(see `routesig suites`)")


def test_demo_model_path(tmp_path, monkeypatch):
    import routesig.data as data

    missing = tmp_path / "models" / "demo-olmoe"
    monkeypatch.setattr(data, "DEMO_MODEL_DIR", missing)
    with pytest.raises(RoutesigError) as excinfo:
        data.demo_model_path()
    assert "make demo-model" in str(excinfo.value)
    assert "\n" not in str(excinfo.value)

    missing.mkdir(parents=True)
    (missing / "config.json").write_text("{}")
    assert data.demo_model_path() == missing


def test_demo_model_path_points_into_package():
    try:
        path = demo_model_path()
    except RoutesigError as exc:
        assert "make demo-model" in str(exc)
    else:
        assert (path / "config.json").is_file()
        assert path.parts[-3:] == ("data", "models", "demo-olmoe")
