"""Reading prompt sets: JSONL, CSV, Parquet, plain text (one prompt a line) or a bundled suite name.

Every reader returns the same three lists (ids, texts, categories) and every problem a user can cause
(missing file, unknown format, missing column, empty prompt, duplicate id) is a one-line
:class:`~routesig.errors.RoutesigError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from routesig.errors import RoutesigError

TEXT_SUFFIXES = (".txt", ".text")
TABLE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".pq")


@dataclass
class PromptSet:
    """Prompts to capture, in file order.

    Attributes
    ----------
    ids : list of str
        Unique ids (from the id column, else ``p00000``, ``p00001``, ...).
    texts : list of str
    categories : list of str or None
        Task labels, or ``None`` where the file has none.
    source : str
        Where the prompts came from (a path or ``suite:<name>``).
    """

    ids: list[str]
    texts: list[str]
    categories: list[str | None]
    source: str

    def __len__(self) -> int:
        return len(self.ids)


def read_prompts(
    source: str | os.PathLike,
    *,
    text_column: str = "text",
    category_column: str = "category",
    id_column: str = "id",
) -> PromptSet:
    """Read a prompt file or a bundled suite.

    Parameters
    ----------
    source : str or path
        A ``.jsonl``/``.csv``/``.tsv``/``.parquet`` table, a ``.txt`` file with one prompt a line, or the name
        of a bundled suite (see ``routesig suites``).
    text_column, category_column, id_column : str
        Column names; the text column is required, the other two optional (ids are then generated as
        ``p00000``... and categories left null).

    Returns
    -------
    PromptSet

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "p.txt")
    >>> _ = open(p, "w").write("first prompt\\nsecond prompt\\n")
    >>> read_prompts(p).ids
    ['p00000', 'p00001']
    """
    path = Path(source)
    label = str(source)
    if not path.exists():
        path, label = _suite_or_missing(str(source)), f"suite:{source}"
    if path.is_dir():
        raise RoutesigError(
            f"{path} is a directory: pass a prompt file (.jsonl, .csv, .parquet, .txt) or a suite name"
        )
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return _validated(_read_text(path), label)
    if suffix not in TABLE_SUFFIXES:
        raise RoutesigError(
            f"unknown prompt file format {suffix or '(no suffix)'!r} for {path}: "
            "use .jsonl, .csv, .tsv, .parquet or .txt"
        )
    df = _read_table(path, suffix)
    if text_column not in df.columns:
        found = ", ".join(map(str, df.columns)) or "none"
        raise RoutesigError(
            f"{path} has no text column {text_column!r} (columns found: {found}): pass --text-column NAME"
        )
    n = len(df)
    texts = [_cell(v) for v in df[text_column]]
    ids = [_cell(v) for v in df[id_column]] if id_column in df.columns else _generated_ids(n)
    cats = [_cell(v) for v in df[category_column]] if category_column in df.columns else [None] * n
    return _validated(PromptSet(ids, texts, cats, label), label, row_word="row")


def _suite_or_missing(name: str) -> Path:
    looks_like_path = os.sep in name or "." in Path(name).name
    try:
        from routesig.data import list_suites, suite_path
    except ImportError:  # the data package is optional for capture itself
        suite_path = list_suites = None
    if suite_path is not None and not looks_like_path:
        try:
            return Path(suite_path(name))
        except (KeyError, FileNotFoundError, RoutesigError):
            pass
    hint = ""
    if list_suites is not None:
        try:
            hint = f" (bundled suites: {', '.join(list_suites())})"
        except Exception:  # noqa: BLE001 - the hint is a courtesy; never mask the real error
            hint = ""
    raise RoutesigError(f"prompt file not found: {name}: pass an existing file or a bundled suite name{hint}")


def _read_text(path: Path) -> PromptSet:
    lines = _decode(path).splitlines()
    # one prompt per line; a trailing blank line is not a prompt, but a blank line in between is an error
    while lines and not lines[-1].strip():
        lines.pop()
    return PromptSet(_generated_ids(len(lines)), lines, [None] * len(lines), str(path))


def _decode(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise RoutesigError(f"{path} is not UTF-8 text (byte {e.start}): re-save it as UTF-8") from None


def _read_table(path: Path, suffix: str) -> pd.DataFrame:
    try:
        if suffix in (".jsonl", ".ndjson"):
            df = pd.read_json(path, lines=True, dtype=False)
        elif suffix == ".json":
            df = pd.read_json(path, dtype=False)
        elif suffix in (".csv", ".tsv"):
            # keep_default_na=False: a prompt reading "NA" or "null" is text, not a missing value
            df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=False)
        else:
            df = pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise RoutesigError(
            f"could not read {path} as {suffix[1:]} ({first}): check the file's format"
        ) from None
    return df


def _cell(v: object) -> str | None:
    if v is None or (isinstance(v, float) and v != v):  # NaN from a missing JSON/Parquet field
        return None
    return str(v)


def _generated_ids(n: int) -> list[str]:
    return [f"p{i:05d}" for i in range(n)]


def _validated(ps: PromptSet, label: str, row_word: str = "line") -> PromptSet:
    if not ps.ids:
        raise RoutesigError(f"{label} holds no prompts: add at least one")
    for i, (pid, text) in enumerate(zip(ps.ids, ps.texts, strict=True)):
        if pid is None or not pid.strip():
            raise RoutesigError(
                f"{label}: {row_word} {i + 1} has an empty id: give every prompt an id or drop the column"
            )
        if text is None or not text.strip():
            raise RoutesigError(
                f"{label}: prompt {pid!r} ({row_word} {i + 1}) is empty or whitespace: remove it"
            )
    seen: set[str] = set()
    for i, pid in enumerate(ps.ids):
        if pid in seen:
            raise RoutesigError(
                f"{label}: duplicate prompt id {pid!r} ({row_word} {i + 1}): ids must be unique"
            )
        seen.add(pid)
    ps.categories = [None if c is None or not c.strip() else c for c in ps.categories]
    return ps
