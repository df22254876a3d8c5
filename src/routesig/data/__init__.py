"""Data shipped with routesig: the bundled prompt suites and the demo model location.

Prompt suites are JSONL files in :data:`SUITES_DIR`, one prompt per line::

    {"id": "core-code-001", "category": "code", "text": "Write a Python function that ..."}

The two bundled suites, ``core`` and ``heldout``, cover four task categories (``code``, ``math``,
``story``, ``factual``) and were written independently of each other, so that a probe trained on
``core`` can be tested on ``heldout``. See ``suites/README.md`` for the schema, counts and licence.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from routesig.errors import RoutesigError

__all__ = [
    "CATEGORIES",
    "DEMO_MODEL_DIR",
    "SUITES_DIR",
    "SUITE_DESCRIPTIONS",
    "demo_model_path",
    "list_suites",
    "suite_path",
]

_DATA_DIR = Path(__file__).resolve().parent

SUITES_DIR: Path = _DATA_DIR / "suites"
"""Folder holding the bundled prompt suites (``<name>.jsonl``)."""

DEMO_MODEL_DIR: Path = _DATA_DIR / "models" / "demo-olmoe"
"""Where ``make demo-model`` puts the small demo MoE checkpoint."""

CATEGORIES: tuple[str, ...] = ("code", "math", "story", "factual")
"""Task categories used by the bundled suites."""

SUITE_DESCRIPTIONS: dict[str, str] = {
    "core": (
        "Main suite: code, math, story and factual prompts of widely varying length and style; "
        "the default data of the study."
    ),
    "heldout": (
        "Independently written suite with different topics and phrasings from core, "
        "for train-on-core, test-on-heldout checks."
    ),
}
"""One-line description of each bundled suite, keyed by suite name."""


def _suite_names() -> list[str]:
    """Names of the suites present in :data:`SUITES_DIR`, bundled ones first."""
    present = {p.stem for p in SUITES_DIR.glob("*.jsonl")} if SUITES_DIR.is_dir() else set()
    known = [name for name in SUITE_DESCRIPTIONS if name in present]
    return known + sorted(present - set(known))


def suite_path(name: str) -> Path:
    """Path of a bundled prompt suite.

    Parameters
    ----------
    name : str
        Suite name, e.g. ``"core"`` or ``"heldout"`` (see :func:`list_suites`).

    Returns
    -------
    Path
        The suite's JSONL file.

    Raises
    ------
    RoutesigError
        If no suite of that name is bundled.
    """
    names = _suite_names()
    if name not in names:
        choices = ", ".join(names) if names else "(none installed)"
        raise RoutesigError(f"unknown prompt suite {name!r}: choose one of {choices} (see `routesig suites`)")
    return SUITES_DIR / f"{name}.jsonl"


def list_suites() -> dict[str, dict]:
    """Describe the bundled prompt suites.

    Returns
    -------
    dict of str to dict
        Maps each suite name to a dict with keys

        ``path`` : Path
            The suite's JSONL file.
        ``n_prompts`` : int
            Number of prompts (non-blank lines).
        ``categories`` : dict of str to int
            Prompts per category, in order of first appearance.
        ``description`` : str
            One-line description (empty for a suite without one).

    Raises
    ------
    RoutesigError
        If a suite file holds a line that is not a JSON object.
    """
    suites: dict[str, dict] = {}
    for name in _suite_names():
        path = SUITES_DIR / f"{name}.jsonl"
        categories: Counter[str] = Counter()
        n_prompts = 0
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise RoutesigError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise RoutesigError(f"{path}:{lineno}: expected a JSON object per line")
                n_prompts += 1
                category = record.get("category")
                if category is not None:
                    categories[str(category)] += 1
        suites[name] = {
            "path": path,
            "n_prompts": n_prompts,
            "categories": dict(categories),
            "description": SUITE_DESCRIPTIONS.get(name, ""),
        }
    return suites


def demo_model_path() -> Path:
    """Folder of the small demo MoE model used by the quick-start and the end-to-end tests.

    Returns
    -------
    Path
        ``src/routesig/data/models/demo-olmoe``, which holds a Hugging Face ``config.json``.

    Raises
    ------
    RoutesigError
        If the folder has no ``config.json`` yet (build it with ``make demo-model``).
    """
    if not (DEMO_MODEL_DIR / "config.json").is_file():
        raise RoutesigError(
            f"demo model not found in {DEMO_MODEL_DIR} (no config.json): build it with `make demo-model`"
        )
    return DEMO_MODEL_DIR
