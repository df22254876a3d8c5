"""Per-token routing traces: the experts each token selected, stored beside the signature file.

``<out stem>.traces.parquet`` holds one row per prompt::

    id               string
    n_prompt_tokens  int32              the first n_prompt_tokens are prompt tokens, the rest generated
    token_ids        list<int32>        [n_tokens]
    experts          list<uint8|int16>  [n_tokens, L, k] flattened row-major (token, layer, slot)

``experts`` is uint8 when the model has at most 256 experts, else int16 (the layout of vLLM's routed-experts
output). The order of the k experts of one token is the model's, not meaningful. Metadata key ``routesig``
holds ``num_layers``, ``top_k``, ``num_experts``, ``moe_layers`` and ``experts_shape``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from routesig.errors import RoutesigError
from routesig.signatures.store import META_KEY, atomic_write_table

SHARD_PREFIX = "traces-"


def traces_path(out: str | os.PathLike) -> Path:
    """``sig.parquet`` -> ``sig.traces.parquet``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.traces.parquet")


def expert_dtype(num_experts: int) -> np.dtype:
    return np.dtype(np.uint8) if num_experts <= 256 else np.dtype(np.int16)


@dataclass
class Traces:
    """Per-token experts of each prompt.

    Attributes
    ----------
    ids : list of str
    token_ids : list of ndarray [n_tokens] int32
    experts : list of ndarray [n_tokens, L, k]
    n_prompt_tokens : ndarray [N] int
        Tokens of each prompt before the generated ones.
    metadata : dict
    """

    ids: list[str]
    token_ids: list[np.ndarray]
    experts: list[np.ndarray]
    n_prompt_tokens: np.ndarray
    metadata: dict[str, Any]

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, prompt_id: str) -> tuple[np.ndarray, np.ndarray]:
        """``(token_ids, experts)`` of one prompt."""
        try:
            i = self.ids.index(prompt_id)
        except ValueError:
            raise RoutesigError(f"no prompt {prompt_id!r} in these traces") from None
        return self.token_ids[i], self.experts[i]


def traces_table(
    ids: list[str],
    token_ids: list[list[int]],
    experts: list[np.ndarray],
    n_prompt: list[int],
    num_experts: int,
) -> pa.Table:
    """Arrow table of one batch (no metadata)."""
    dt = expert_dtype(num_experts)
    # indices >= E mean "no expert"; store them as the dtype's largest value
    flat = [np.minimum(e, np.iinfo(dt).max).astype(dt).reshape(-1) for e in experts]
    return pa.table(
        {
            "id": pa.array(ids, type=pa.string()),
            "n_prompt_tokens": pa.array(n_prompt, type=pa.int32()),
            "token_ids": pa.array(token_ids, type=pa.list_(pa.int32())),
            "experts": pa.array(flat, type=pa.list_(pa.from_numpy_dtype(dt))),
        }
    )


class TraceShards:
    """Resumable trace writing: shards live beside the signature shards in ``<out>.partial/``."""

    def __init__(self, folder: Path) -> None:
        self.dir = folder

    def _shards(self) -> list[Path]:
        return sorted(self.dir.glob(f"{SHARD_PREFIX}*.parquet"))

    def done_ids(self) -> set[str]:
        done: set[str] = set()
        for p in self._shards():
            done.update(pq.read_table(p, columns=["id"])["id"].to_pylist())
        return done

    def write(self, table: pa.Table) -> Path:
        n = len(self._shards())
        while (self.dir / f"{SHARD_PREFIX}{n:06d}.parquet").exists():
            n += 1
        return atomic_write_table(table, self.dir / f"{SHARD_PREFIX}{n:06d}.parquet")

    def finalize(self, path: Path, all_ids: Iterable[str], metadata: dict[str, Any]) -> Path:
        """Merge shards into ``path`` in ``all_ids`` order; a prompt redone after a kill appears once."""
        table = pa.concat_tables([pq.read_table(p) for p in self._shards()])
        pos = {i: k for k, i in enumerate(table["id"].to_pylist())}  # last write of an id wins
        order = list(all_ids)
        missing = [i for i in order if i not in pos]
        if missing:
            raise RoutesigError(f"traces incomplete: {len(missing)} prompts have none; rerun to resume")
        table = table.take(pa.array([pos[i] for i in order], type=pa.int64()))
        table = table.replace_schema_metadata({META_KEY: json.dumps(metadata, sort_keys=True).encode()})
        return atomic_write_table(table, path)


def _split_lists(col: pa.ChunkedArray, dtype: np.dtype) -> list[np.ndarray]:
    """A list<...> column as one numpy array per row, without a Python object per value."""
    arr = col.combine_chunks()
    values = arr.flatten().to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    offsets = arr.offsets.to_numpy() - arr.offsets[0].as_py()
    return [values[offsets[i] : offsets[i + 1]] for i in range(len(arr))]


def load_traces(path: str | os.PathLike) -> Traces:
    """Read a ``*.traces.parquet`` file written by ``routesig capture --traces``.

    Examples
    --------
    >>> tr = load_traces("sig.traces.parquet")   # doctest: +SKIP
    >>> token_ids, experts = tr.get("p00000")    # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise RoutesigError(f"traces file not found: {path} (write one with `routesig capture --traces`)")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise RoutesigError(f"{path} is not a readable Parquet file ({str(e).splitlines()[0]})") from None
    raw = (table.schema.metadata or {}).get(META_KEY)
    if raw is None or not {"id", "token_ids", "experts"} <= set(table.column_names):
        raise RoutesigError(f"{path} is not a routesig traces file (no metadata or columns)")
    md = json.loads(raw)
    L, k = int(md["num_layers"]), int(md["top_k"])
    ids = table["id"].to_pylist()
    token_ids = _split_lists(table["token_ids"], np.int32)
    flat = _split_lists(table["experts"], expert_dtype(int(md["num_experts"])))
    experts = []
    for pid, toks, e in zip(ids, token_ids, flat, strict=True):
        if e.size != toks.size * L * k:
            raise RoutesigError(f"{path}: prompt {pid!r} has {e.size} experts, expected {toks.size}x{L}x{k}")
        experts.append(e.reshape(toks.size, L, k))
    return Traces(
        ids=ids,
        token_ids=token_ids,
        experts=experts,
        n_prompt_tokens=table["n_prompt_tokens"].to_numpy(),
        metadata=md,
    )
