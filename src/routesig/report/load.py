"""Read an analysis directory (written by ``routesig analyze``) into what the report draws.

The layout is documented in ``docs/analysis-outputs.md``. Every number the report prints comes from
``summary.json``; the CSV tables only supply per-point plot data (projection coordinates, expert usage) and
the prompt texts shown on hover.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from routesig.errors import RoutesigError

# The keys the report cannot do without; everything else is optional and shown as "not computed".
REQUIRED_KEYS = (
    "similarity.within.mean",
    "similarity.within.std",
    "similarity.across.mean",
    "similarity.across.std",
    "similarity.cohens_d",
    "probe.accuracy.mean",
    "probe.accuracy.std",
    "probe.macro_f1",
    "layers",
    "peak_layer",
    "baselines.permutation.p_value",
    "baselines.load_balance.similarity",
    "baselines.frequency_matched.similarity",
    "controls.lexical.probe.accuracy.mean",
)


def get(tree: Any, dotted: str, default: Any = None) -> Any:
    """Value at a dotted path (``"a.b.0.c"``; integers index lists), or ``default`` when absent.

    Examples
    --------
    >>> get({"a": {"b": [{"c": 3}]}}, "a.b.0.c"), get({"a": None}, "a.b", "n/a")
    (3, 'n/a')
    """
    node = tree
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return default if node is None else node


@dataclass
class Analysis:
    """One analysis directory in memory.

    Attributes
    ----------
    dir : Path
    summary : dict
        ``summary.json``.
    projections : DataFrame or None
        ``projections.csv``: id, category, pca_1, pca_2 and optionally tsne_1/2, umap_1/2.
    expert_usage : DataFrame or None
        ``expert_usage.csv`` in long form: category, layer, expert, frequency.
    texts : dict
        Prompt id -> prompt text (possibly truncated), for hover labels; empty when unavailable.
    """

    dir: Path
    summary: dict[str, Any]
    projections: pd.DataFrame | None
    expert_usage: pd.DataFrame | None
    texts: dict[str, str]

    def get(self, dotted: str, default: Any = None) -> Any:
        """Shorthand for :func:`get` on the summary."""
        return get(self.summary, dotted, default)

    @property
    def categories(self) -> list[str]:
        """Categories in the order the analysis used (similarity matrix order)."""
        cats = self.get("similarity.matrix.categories") or self.get("probe.confusion.labels")
        if not cats:
            cats = list(self.get("input.categories", {}))
        return [str(c) for c in cats]


def load_analysis(directory: str | os.PathLike) -> Analysis:
    """Read ``summary.json`` and the CSV tables of an analysis directory.

    Raises
    ------
    RoutesigError
        The directory or ``summary.json`` is missing, unreadable, or lacks a required key.

    Examples
    --------
    >>> load_analysis("no/such/dir")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    routesig.errors.RoutesigError: analysis directory not found: no/such/dir (run `routesig analyze ...
    """
    d = Path(directory)
    if not d.is_dir():
        raise RoutesigError(f"analysis directory not found: {d} (run `routesig analyze SIG --out DIR` first)")
    path = d / "summary.json"
    if not path.is_file():
        raise RoutesigError(f"{d} has no summary.json: pass the --out directory of `routesig analyze`")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RoutesigError(f"{path} is not valid JSON ({e}): rerun `routesig analyze`") from None
    if not isinstance(summary, dict):
        raise RoutesigError(f"{path} is not a JSON object: rerun `routesig analyze`")
    missing = [k for k in REQUIRED_KEYS if get(summary, k) is None]
    if missing:
        raise RoutesigError(
            f"{path} lacks {', '.join(missing)}: it was written by another routesig version, "
            "rerun `routesig analyze`"
        )
    return Analysis(
        dir=d,
        summary=summary,
        projections=_read_csv(d / "projections.csv", ("id", "category", "pca_1", "pca_2")),
        expert_usage=_read_csv(d / "expert_usage.csv", ("category", "layer", "expert", "frequency")),
        texts=_prompt_texts(d, summary),
    )


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame | None:
    """A table the report can draw, or None when absent; a malformed table is a user error."""
    if not path.is_file():
        return None
    try:
        df = pd.read_csv(path, dtype={"id": str, "category": str}, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
        raise RoutesigError(
            f"{path} is not a readable CSV ({str(e).splitlines()[0]}): rerun `routesig analyze`"
        ) from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise RoutesigError(f"{path} lacks column(s) {', '.join(missing)}: rerun `routesig analyze`")
    return df


def _prompt_texts(d: Path, summary: dict[str, Any]) -> dict[str, str]:
    """Prompt texts for hover labels: ``prompts.csv`` if written, else the signature file, else none."""
    table = _read_csv(d / "prompts.csv", ("id", "text"))
    if table is not None:
        return dict(zip(table["id"].astype(str), table["text"].fillna("").astype(str), strict=True))
    sig_path = get(summary, "input.path")
    if sig_path:
        # The path is stored as given to `routesig analyze`: relative to where it ran, or to the directory.
        for candidate in (Path(sig_path), d / sig_path):
            if candidate.is_file():
                import pyarrow.parquet as pq

                try:
                    t = pq.read_table(candidate, columns=["id", "text"])
                except (OSError, ValueError):
                    break  # the hover text is a convenience; the report still builds without it
                return {
                    str(i): str(s or "")
                    for i, s in zip(t["id"].to_pylist(), t["text"].to_pylist(), strict=True)
                }
    return {}
