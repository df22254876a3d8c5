"""Routing signatures in memory and on disk.

One capture is one Parquet file, one row per prompt::

    id        string         unique prompt id
    category  string | null  task label, if the prompt file had one
    text      string         the prompt as given (before any chat template)
    n_tokens  int32          prompt tokens routed (padding excluded, after truncation)
    truncated bool           the prompt was cut to --max-tokens
    counts    list<int32>    per MoE layer and expert, tokens that selected it; layer-major, length L*E
    weights   list<float32>  per MoE layer and expert, sum of the routing weights it received; same layout

and, when tokens were generated (``--generate N``), the same three for the generated tokens:
``gen_n_tokens``, ``gen_counts``, ``gen_weights`` (plus ``gen_text``).

The file's schema metadata holds one JSON document under the key ``routesig`` describing the layout:
``num_layers`` (L, the MoE layers stored), ``num_experts`` (E), ``top_k``, ``moe_layers`` (the decoder-layer
index of each stored layer), ``num_decoder_layers``, ``model``, ``revision``, ``architecture``, ``dtype``,
``tokens`` and ``routesig_version``.

Counts are kept raw; every signature variant derives from them without re-running the model
(:meth:`Signatures.vectors`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from routesig.errors import RoutesigError

META_KEY = b"routesig"
FORMAT_VERSION = 1
VARIANTS = ("frequency", "gate", "binary")


@dataclass
class Signatures:
    """Per-prompt routing counts of one capture.

    Parameters
    ----------
    counts : ndarray of shape (N, L, E), integer
        Tokens of each prompt that selected each expert of each MoE layer.
    weights : ndarray of shape (N, L, E), float
        Sum of the routing weights each expert received from the prompt's tokens.
    n_tokens : ndarray of shape (N,), integer
        Routed tokens per prompt (padding excluded).
    ids : list of str
    categories : list of str or None
    texts : list of str
    metadata : dict
        Layout and provenance; see the module docstring.
    truncated : ndarray of shape (N,), bool, optional
    generated : dict, optional
        ``{"counts", "weights", "n_tokens", "texts"}`` for generated tokens, when any were recorded.

    Examples
    --------
    >>> import numpy as np
    >>> sig = Signatures(counts=np.array([[[2, 0, 1, 1]]]), weights=np.ones((1, 1, 4)),
    ...                  n_tokens=np.array([2]), ids=["p0"], categories=["code"], texts=["x = 1"],
    ...                  metadata={"num_layers": 1, "num_experts": 4, "top_k": 2, "moe_layers": [0]})
    >>> sig.vectors("frequency").tolist()
    [[1.0, 0.0, 0.5, 0.5]]
    """

    counts: np.ndarray
    weights: np.ndarray
    n_tokens: np.ndarray
    ids: list[str]
    categories: list[str | None]
    texts: list[str]
    metadata: dict[str, Any]
    truncated: np.ndarray | None = None
    generated: dict[str, Any] | None = field(default=None)

    def __post_init__(self) -> None:
        self.counts = np.asarray(self.counts)
        self.weights = np.asarray(self.weights, dtype=np.float32)
        self.n_tokens = np.asarray(self.n_tokens)
        if self.truncated is None:
            self.truncated = np.zeros(len(self.ids), dtype=bool)
        self.truncated = np.asarray(self.truncated, dtype=bool)
        _validate(self)

    # -- shape -------------------------------------------------------------------------------------
    @property
    def n_prompts(self) -> int:
        return int(self.counts.shape[0])

    @property
    def num_layers(self) -> int:
        """L, the number of MoE layers stored."""
        return int(self.counts.shape[1])

    @property
    def num_experts(self) -> int:
        return int(self.counts.shape[2])

    @property
    def top_k(self) -> int:
        return int(self.metadata.get("top_k", 0))

    @property
    def moe_layers(self) -> list[int]:
        """Decoder-layer index of each stored MoE layer."""
        return list(self.metadata.get("moe_layers", range(self.num_layers)))

    # -- derived signatures -----------------------------------------------------------------------
    def vectors(self, variant: str = "frequency", layers: Sequence[int] | None = None) -> np.ndarray:
        """Signature vectors, one row per prompt, flattened layer-major.

        Parameters
        ----------
        variant : {"frequency", "gate", "binary"}
            ``frequency``: counts / n_tokens (each layer's row sums to top_k).
            ``gate``: summed routing weights / n_tokens (gate-weighted frequency).
            ``binary``: 1 where the expert was selected at least once.
        layers : sequence of int, optional
            Positions (0..L-1) of the MoE layers to keep; all by default.

        Returns
        -------
        ndarray of shape (N, len(layers) * E), float64
        """
        if variant not in VARIANTS:
            raise RoutesigError(f"unknown signature variant {variant!r}: use one of {', '.join(VARIANTS)}")
        sel = slice(None) if layers is None else list(layers)
        if layers is not None:
            bad = [i for i in layers if not 0 <= int(i) < self.num_layers]
            if bad:
                raise RoutesigError(
                    f"layer positions {bad} out of range: "
                    f"this file has {self.num_layers} MoE layers (0..{self.num_layers - 1})"
                )
        denom = np.maximum(self.n_tokens, 1).astype(np.float64)[:, None, None]
        if variant == "frequency":
            v = self.counts[:, sel, :].astype(np.float64) / denom
        elif variant == "gate":
            v = self.weights[:, sel, :].astype(np.float64) / denom
        else:
            v = (self.counts[:, sel, :] > 0).astype(np.float64)
        return v.reshape(v.shape[0], -1)

    def subset(self, index: Sequence[int] | np.ndarray) -> Signatures:
        """Rows ``index`` as a new :class:`Signatures`."""
        idx = np.asarray(index, dtype=np.int64)
        gen = None
        if self.generated is not None:
            gen = {
                k: (np.asarray(v)[idx] if k != "texts" else [v[i] for i in idx])
                for k, v in self.generated.items()
            }
        return Signatures(
            counts=self.counts[idx],
            weights=self.weights[idx],
            n_tokens=self.n_tokens[idx],
            ids=[self.ids[i] for i in idx],
            categories=[self.categories[i] for i in idx],
            texts=[self.texts[i] for i in idx],
            metadata=dict(self.metadata),
            truncated=self.truncated[idx],
            generated=gen,
        )

    def to_pandas(self):  # noqa: ANN201 - pandas is optional at import time
        """One row per prompt, the same columns as the Parquet file."""
        return to_table(self).to_pandas()


# -- validation ------------------------------------------------------------------------------------
def _validate(sig: Signatures) -> None:
    c = sig.counts
    if c.ndim != 3:
        raise RoutesigError(f"counts must have shape [N, L, E], got {c.shape}")
    n = c.shape[0]
    for name, val in (("ids", sig.ids), ("categories", sig.categories), ("texts", sig.texts)):
        if len(val) != n:
            raise RoutesigError(f"{name} has {len(val)} entries but counts has {n} prompts")
    if sig.weights.shape != c.shape:
        raise RoutesigError(f"weights shape {sig.weights.shape} differs from counts shape {c.shape}")
    if sig.n_tokens.shape != (n,):
        raise RoutesigError(f"n_tokens must have shape ({n},), got {sig.n_tokens.shape}")
    if not np.issubdtype(c.dtype, np.integer):
        if not np.all(np.isfinite(c)):
            raise RoutesigError("counts contain NaN or infinite values: recapture the file")
        if not np.all(c == np.round(c)):
            raise RoutesigError("counts must be whole numbers of tokens: recapture the file")
        sig.counts = c.astype(np.int64)
    if not np.all(np.isfinite(sig.weights)):
        raise RoutesigError("weights contain NaN or infinite values: recapture the file")
    if (sig.counts < 0).any() or (sig.n_tokens < 0).any():
        raise RoutesigError("counts and n_tokens must be non-negative: recapture the file")
    md = sig.metadata
    for key, actual in (("num_layers", c.shape[1]), ("num_experts", c.shape[2])):
        if key in md and md[key] is not None and int(md[key]) != actual:
            raise RoutesigError(
                f"metadata {key}={md[key]} does not match the stored counts ({actual}): "
                "the file is inconsistent, recapture it"
            )
    if "moe_layers" in md and md["moe_layers"] is not None and len(md["moe_layers"]) != c.shape[1]:
        raise RoutesigError(
            f"metadata lists {len(md['moe_layers'])} moe_layers but counts have {c.shape[1]} layers: "
            "recapture the file"
        )
    k = md.get("top_k")
    if k and n:
        # each routed token selects exactly top_k experts per layer (some archs may drop; never more)
        per_layer = sig.counts.sum(axis=2)
        if (per_layer > sig.n_tokens[:, None] * int(k)).any():
            raise RoutesigError(
                f"counts exceed n_tokens x top_k ({k}) for some prompt: metadata top_k or n_tokens is wrong"
            )
    if len(set(sig.ids)) != len(sig.ids):
        dup = next(i for i in sig.ids if sig.ids.count(i) > 1)
        raise RoutesigError(f"duplicate prompt id {dup!r}: ids must be unique")


# -- Arrow / Parquet -------------------------------------------------------------------------------
def _schema(metadata: dict[str, Any], generated: bool) -> pa.Schema:
    fields = [
        pa.field("id", pa.string()),
        pa.field("category", pa.string()),
        pa.field("text", pa.string()),
        pa.field("n_tokens", pa.int32()),
        pa.field("truncated", pa.bool_()),
        pa.field("counts", pa.list_(pa.int32())),
        pa.field("weights", pa.list_(pa.float32())),
    ]
    if generated:
        fields += [
            pa.field("gen_n_tokens", pa.int32()),
            pa.field("gen_counts", pa.list_(pa.int32())),
            pa.field("gen_weights", pa.list_(pa.float32())),
            pa.field("gen_text", pa.string()),
        ]
    return pa.schema(fields, metadata={META_KEY: json.dumps(metadata, sort_keys=True).encode()})


def _list_column(arr: np.ndarray, dtype: pa.DataType) -> pa.Array:
    n = arr.shape[0]
    flat = arr.reshape(n, -1)
    width = flat.shape[1]
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * width, type=pa.int32())
    values = pa.array(flat.reshape(-1).astype(dtype.to_pandas_dtype()), type=dtype)
    return pa.ListArray.from_arrays(offsets, values)


def to_table(sig: Signatures) -> pa.Table:
    """The Arrow table written by :func:`save_signatures`."""
    md = dict(sig.metadata)
    md.update(num_layers=sig.num_layers, num_experts=sig.num_experts, format_version=FORMAT_VERSION)
    md.setdefault("moe_layers", list(range(sig.num_layers)))
    cols: dict[str, pa.Array] = {
        "id": pa.array(sig.ids, type=pa.string()),
        "category": pa.array(sig.categories, type=pa.string()),
        "text": pa.array(sig.texts, type=pa.string()),
        "n_tokens": pa.array(sig.n_tokens.astype(np.int32), type=pa.int32()),
        "truncated": pa.array(sig.truncated, type=pa.bool_()),
        "counts": _list_column(sig.counts, pa.int32()),
        "weights": _list_column(sig.weights, pa.float32()),
    }
    gen = sig.generated is not None
    if gen:
        g = sig.generated
        cols["gen_n_tokens"] = pa.array(np.asarray(g["n_tokens"]).astype(np.int32), type=pa.int32())
        cols["gen_counts"] = _list_column(np.asarray(g["counts"]), pa.int32())
        cols["gen_weights"] = _list_column(np.asarray(g["weights"]), pa.float32())
        cols["gen_text"] = pa.array(list(g.get("texts") or [""] * sig.n_prompts), type=pa.string())
    schema = _schema(md, gen)
    return pa.table([cols[f.name] for f in schema], schema=schema)


def _atomic_write(path: str | os.PathLike, write: Any) -> Path:
    """Call ``write(tmp)`` on a temporary sibling, fsync it, then rename it to ``path``: a reader (or a run
    killed half-way) never sees a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def atomic_write_table(table: pa.Table, path: str | os.PathLike) -> Path:
    """Write ``table`` to ``path`` as Parquet, atomically."""
    return _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def atomic_write_text(text: str, path: str | os.PathLike) -> Path:
    """Write ``text`` to ``path`` as UTF-8, atomically."""
    return _atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_signatures(sig: Signatures, path: str | os.PathLike) -> Path:
    """Write ``sig`` as one Parquet file, atomically.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> sig = Signatures(counts=np.zeros((1, 2, 4), int), weights=np.zeros((1, 2, 4)), n_tokens=[0],
    ...                  ids=["a"], categories=[None], texts=["hi"], metadata={"top_k": 2})
    >>> p = save_signatures(sig, os.path.join(tempfile.mkdtemp(), "s.parquet"))
    >>> load_signatures(p).counts.shape
    (1, 2, 4)
    """
    return atomic_write_table(to_table(sig), path)


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The routesig metadata of a signature file, without reading its rows."""
    schema = _read_schema(Path(path))
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise RoutesigError(
            f"{path} has no routesig metadata: "
            "it was not written by `routesig capture` (or lost its metadata)"
        )
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise RoutesigError(
            f"{path}: routesig metadata is not valid JSON ({e.msg}): recapture the file"
        ) from None


def _read_schema(path: Path) -> pa.Schema:
    if not path.exists():
        raise RoutesigError(f"signature file not found: {path}")
    if path.is_dir():
        raise RoutesigError(f"{path} is a directory: pass the .parquet file written by `routesig capture`")
    try:
        return pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise RoutesigError(f"{path} is not a readable Parquet file ({str(e).splitlines()[0]})") from None


def _stack_lists(col: pa.ChunkedArray, n: int, width: int, name: str, path: Path) -> np.ndarray:
    arr = col.combine_chunks()
    if arr.null_count:
        raise RoutesigError(f"{path}: column {name!r} has null rows: recapture the file")
    lengths = np.asarray(arr.value_lengths())
    if n and (lengths != width).any():
        bad = int(np.flatnonzero(lengths != width)[0])
        raise RoutesigError(
            f"{path}: row {bad} of {name!r} has {lengths[bad]} values "
            f"but metadata says num_layers x num_experts = {width}"
        )
    values = arr.flatten().to_numpy(zero_copy_only=False)
    return values.reshape(n, width)


def load_signatures(path: str | os.PathLike) -> Signatures:
    """Read a signature file written by ``routesig capture``.

    Returns
    -------
    Signatures
        ``counts`` [N, L, E], ``weights`` [N, L, E], ``n_tokens`` [N], ``ids``, ``categories``, ``texts``
        and ``metadata``.

    Raises
    ------
    RoutesigError
        Missing or unreadable file, missing columns, or content inconsistent with its metadata.
    """
    path = Path(path)
    md = read_metadata(path)
    table = pq.read_table(path)
    names = set(table.column_names)
    missing = [c for c in ("id", "text", "n_tokens", "counts") if c not in names]
    if missing:
        raise RoutesigError(
            f"{path} lacks column(s) {', '.join(missing)}: it is not a routesig signature file"
        )
    for key in ("num_layers", "num_experts"):
        if not isinstance(md.get(key), int) or md[key] <= 0:
            raise RoutesigError(
                f"{path}: metadata {key} is missing or not a positive integer: recapture the file"
            )
    L, E, n = md["num_layers"], md["num_experts"], table.num_rows
    counts = _stack_lists(table["counts"], n, L * E, "counts", path).reshape(n, L, E)
    if "weights" in names:
        weights = _stack_lists(table["weights"], n, L * E, "weights", path).reshape(n, L, E)
    else:
        weights = np.zeros((n, L, E), dtype=np.float32)
    n_tokens = table["n_tokens"].to_numpy()
    if n and not np.issubdtype(n_tokens.dtype, np.integer):
        if not np.all(np.isfinite(n_tokens)):
            raise RoutesigError(f"{path}: n_tokens has NaN or null values: recapture the file")
        n_tokens = n_tokens.astype(np.int64)
    cats = table["category"].to_pylist() if "category" in names else [None] * n
    generated = None
    if "gen_counts" in names:
        generated = {
            "counts": _stack_lists(table["gen_counts"], n, L * E, "gen_counts", path).reshape(n, L, E),
            "weights": _stack_lists(table["gen_weights"], n, L * E, "gen_weights", path).reshape(n, L, E),
            "n_tokens": table["gen_n_tokens"].to_numpy(),
            "texts": table["gen_text"].to_pylist() if "gen_text" in names else [""] * n,
        }
    try:
        return Signatures(
            counts=counts,
            weights=weights,
            n_tokens=n_tokens,
            ids=[str(i) for i in table["id"].to_pylist()],
            categories=[None if c is None else str(c) for c in cats],
            texts=table["text"].to_pylist(),
            metadata=md,
            truncated=table["truncated"].to_numpy(zero_copy_only=False) if "truncated" in names else None,
            generated=generated,
        )
    except RoutesigError as e:
        raise RoutesigError(f"{path}: {e}") from None


# -- resumable capture: shards ---------------------------------------------------------------------
class ShardWriter:
    """Resumable writer: each finished batch becomes an atomically written shard in ``<out>.partial/``.

    A rerun with the same settings reads :meth:`done_ids` and skips those prompts; :meth:`finalize`
    merges the shards, in the order of ``all_ids``, into ``out`` (atomic) and removes the shard folder.
    A killed run therefore never leaves a partial ``out``: ``out`` appears only when complete.

    Parameters
    ----------
    out : path of the final Parquet file
    settings : dict
        Everything that determines the result (model, dtype, token selection, ...). A rerun with different
        settings refuses to mix results and says how to start over.
    """

    def __init__(self, out: str | os.PathLike, settings: dict[str, Any]) -> None:
        self.out = Path(out)
        self.dir = self.out.with_name(self.out.name + ".partial")
        self.settings = json.loads(json.dumps(settings, sort_keys=True, default=str))
        manifest = self.dir / "manifest.json"
        if self.dir.exists() and manifest.exists():
            old = json.loads(manifest.read_text())
            if old != self.settings:
                diff = sorted(k for k in set(old) | set(self.settings) if old.get(k) != self.settings.get(k))
                raise RoutesigError(
                    f"{self.dir} holds an unfinished capture with other settings ({', '.join(diff)}): "
                    f"rerun with the same settings to resume, or delete {self.dir} to start over"
                )
        else:
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp = manifest.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.settings, sort_keys=True, indent=1))
            os.replace(tmp, manifest)

    def _shards(self) -> list[Path]:
        return sorted(self.dir.glob("part-*.parquet"))

    def done_ids(self) -> set[str]:
        """Ids of prompts already stored in complete shards."""
        done: set[str] = set()
        for p in self._shards():
            done.update(pq.read_table(p, columns=["id"])["id"].to_pylist())
        return done

    def write(self, sig: Signatures) -> Path:
        """Store one finished batch."""
        n = len(self._shards())
        while (self.dir / f"part-{n:06d}.parquet").exists():
            n += 1
        return atomic_write_table(to_table(sig), self.dir / f"part-{n:06d}.parquet")

    def finalize(self, all_ids: Iterable[str], metadata: dict[str, Any]) -> Path:
        """Merge shards into the final file, ordered as ``all_ids``; remove the shard folder."""
        shards = self._shards()
        tables = [pq.read_table(p) for p in shards]
        order = list(all_ids)
        if tables:
            table = pa.concat_tables(
                [t.replace_schema_metadata(None) for t in tables], promote_options="default"
            )
        else:
            table = to_table(_empty(metadata)).replace_schema_metadata(None)
        pos = {i: k for k, i in enumerate(table["id"].to_pylist())}
        missing = [i for i in order if i not in pos]
        if missing:
            raise RoutesigError(
                f"capture incomplete: {len(missing)} prompts have no stored result; rerun to resume"
            )
        table = table.take(pa.array([pos[i] for i in order], type=pa.int64()))
        md = dict(metadata)
        md["format_version"] = FORMAT_VERSION
        table = table.replace_schema_metadata({META_KEY: json.dumps(md, sort_keys=True).encode()})
        atomic_write_table(table, self.out)
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.out


def _empty(metadata: dict[str, Any]) -> Signatures:
    L, E = int(metadata.get("num_layers", 1)), int(metadata.get("num_experts", 1))
    z = np.zeros((0, L, E))
    return Signatures(z.astype(np.int64), z, np.zeros(0, np.int64), [], [], [], dict(metadata))
