"""Writing the analysis: a byte-stable summary.json and CSV tables (floats rounded to ``DIGITS``)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from routesig.signatures.store import atomic_write_text

DIGITS = 6


def clean(obj: Any) -> Any:
    """JSON-ready copy: numpy scalars/arrays to Python, floats rounded, NaN/inf to None.

    Examples
    --------
    >>> clean({"a": np.float32(0.1234567891), "b": [np.nan, 2]})
    {'a': 0.123457, 'b': [None, 2]}
    """
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        x = float(obj)
        return round(x, DIGITS) + 0.0 if math.isfinite(x) else None  # + 0.0 turns -0.0 into 0.0
    return obj


def write_outputs(out: str | os.PathLike, summary: dict, tables: dict[str, pd.DataFrame]) -> Path:
    """Write ``summary.json`` and ``<name>.csv`` for every table into ``out`` (created if needed)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise_not_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, df in sorted(tables.items()):
        atomic_write_text(df.round(DIGITS).to_csv(index=False, lineterminator="\n"), out / f"{name}.csv")
    text = json.dumps(summary, sort_keys=True, indent=1, allow_nan=False) + "\n"
    atomic_write_text(text, out / "summary.json")
    return out / "summary.json"


def raise_not_dir(path: Path) -> None:
    from routesig.errors import RoutesigError

    raise RoutesigError(f"--out {path} is a file: give a directory for the analysis outputs")
