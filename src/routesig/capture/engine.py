"""The capture engine: model + prompts -> one routing signature per prompt, written resumably to Parquet.

Flow: read and validate prompts, load the model, :func:`~routesig.capture.archs.resolve` its MoE layers,
tokenize, sort by length, and run batches under :func:`torch.inference_mode`; each finished batch is an
atomic shard in ``<out>.partial/`` (:class:`~routesig.signatures.store.ShardWriter`), and the final file
appears only when every prompt is done. Rerunning a killed capture resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from tqdm.auto import tqdm

from routesig._version import __version__
from routesig.capture.archs import RoutingLayout, resolve
from routesig.capture.batch import BatchResult, route_batch
from routesig.capture.model import load_model, load_tokenizer, model_revision, resolve_device, resolve_dtype
from routesig.capture.prompts import PromptSet, read_prompts
from routesig.capture.recorder import RoutingRecorder
from routesig.capture.traces import TraceShards, expert_dtype, traces_path, traces_table
from routesig.errors import RoutesigError
from routesig.signatures.store import ShardWriter, Signatures, read_metadata


def capture(
    model: str,
    prompts: str | os.PathLike,
    out: str | os.PathLike,
    *,
    batch_size: int = 8,
    dtype: str = "auto",
    device: str = "auto",
    max_tokens: int = 1024,
    chat_template: bool = False,
    generate: int = 0,
    traces: bool = False,
    text_column: str = "text",
    category_column: str = "category",
    id_column: str = "id",
    revision: str | None = None,
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Capture the experts every prompt token used and write one routing signature per prompt.

    Parameters
    ----------
    model : str
        Hub id or local folder of a transformers MoE causal LM.
    prompts : str or path
        JSONL / CSV / Parquet / text file, or a bundled suite name.
    out : str or path
        The signature file (Parquet) to write; with ``traces``, also ``<stem>.traces.parquet`` beside it.
    batch_size : int
        Prompts per forward pass (batches are formed from length-sorted prompts).
    dtype, device : str
        ``auto`` picks bfloat16 on GPU and float32 on CPU.
    max_tokens : int
        Longer prompts keep their first ``max_tokens`` tokens (reported, and stored as ``truncated``).
    chat_template : bool
        Wrap each prompt as a user message in the tokenizer's chat template (generation prompt added).
    generate : int
        Also decode this many tokens greedily and store their routing apart (``Signatures.generated``).
    traces : bool
        Also store each token's selected experts (see :mod:`routesig.capture.traces`).
    text_column, category_column, id_column : str
        Columns of the prompt file.
    revision, trust_remote_code, allow_pickle
        Passed to :func:`routesig.capture.model.load_model`.
    overwrite : bool
        Capture again even if ``out`` already holds a complete capture.
    progress : bool
        Show a progress bar and status lines on stderr.

    Returns
    -------
    Path
        ``out``.

    Examples
    --------
    >>> import routesig
    >>> path = routesig.capture("allenai/OLMoE-1B-7B-0924", "core", "sig.parquet")  # doctest: +SKIP
    >>> routesig.load_signatures(path).counts.shape                                 # doctest: +SKIP
    (80, 16, 64)
    """
    _check_ints(batch_size=batch_size, max_tokens=max_tokens, generate=generate)
    out = Path(out)
    say = _sayer(progress)
    ps = read_prompts(prompts, text_column=text_column, category_column=category_column, id_column=id_column)
    dev = resolve_device(device)
    settings = {
        "model": str(model),
        "revision": revision,  # replaced by the commit hash once the model is loaded, when the hub gives one
        "dtype": str(resolve_dtype(dtype, dev)).removeprefix("torch."),
        "device": dev.type,
        "tokens": "chat_template" if chat_template else "prompt",
        "max_tokens": max_tokens,
        "generate": generate,
        "traces": traces,
        "prompts_sha256": _digest(ps),
    }
    # checked before loading the model: a finished capture of a large model is answered in a second
    if out.exists() and not overwrite and _complete(out, settings, say):
        return out
    net = load_model(
        model,
        dtype=dtype,
        device=device,
        revision=revision,
        trust_remote_code=trust_remote_code,
        allow_pickle=allow_pickle,
    )
    settings["revision"] = model_revision(net, revision)
    layout = resolve(net)
    tokenizer = load_tokenizer(model, revision=revision, trust_remote_code=trust_remote_code)
    tokens, truncated = tokenize(tokenizer, ps.texts, max_tokens=max_tokens, chat_template=chat_template)
    partial = out.with_name(out.name + ".partial")
    if overwrite and partial.exists():
        shutil.rmtree(partial)
    writer = ShardWriter(out, settings)
    job = _Job(
        net,
        tokenizer,
        layout,
        ps,
        tokens,
        truncated,
        generate,
        _metadata(layout, settings, max_tokens),
        writer,
        TraceShards(writer.dir) if traces else None,
    )
    done = job.done_ids()
    if done:
        say(f"resuming: {len(done)} of {len(ps)} prompts already captured in {writer.dir}, skipping them")
    todo = sorted((i for i in range(len(ps)) if ps.ids[i] not in done), key=lambda i: -len(tokens[i]))
    job.run(todo, batch_size, progress, n_done=len(done))
    job.finalize(out)
    if truncated.any():
        say(f"truncated {int(truncated.sum())} of {len(ps)} prompts to --max-tokens {max_tokens}")
    return out


def tokenize(
    tokenizer: Any, texts: list[str], *, max_tokens: int, chat_template: bool = False
) -> tuple[list[list[int]], np.ndarray]:
    """Token ids of each prompt, cut to ``max_tokens``, and which prompts were cut.

    With ``chat_template`` each text becomes one user message with the generation prompt appended; the
    template supplies the special tokens, so none are added on top.

    Examples
    --------
    >>> ids, cut = tokenize(tokenizer, ["a b c d"], max_tokens=2)  # doctest: +SKIP
    """
    if chat_template:
        if not getattr(tokenizer, "chat_template", None):
            raise RoutesigError(
                "this tokenizer has no chat template: drop --chat-template or use a chat model"
            )
        texts = [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": t}], tokenize=False, add_generation_prompt=True
            )
            for t in texts
        ]
    ids = tokenizer(texts, add_special_tokens=not chat_template)["input_ids"]
    for i, t in enumerate(ids):
        if not t:
            raise RoutesigError(f"prompt {i + 1} ({texts[i][:40]!r}) tokenizes to no tokens: remove it")
    truncated = np.array([len(t) > max_tokens for t in ids], dtype=bool)
    return [list(t[:max_tokens]) for t in ids], truncated


@dataclass
class _Job:
    """One capture in progress: what every batch needs, and where its shards go."""

    net: torch.nn.Module
    tokenizer: Any
    layout: RoutingLayout
    ps: PromptSet
    tokens: list[list[int]]
    truncated: np.ndarray
    generate: int
    metadata: dict[str, Any]
    writer: ShardWriter
    trace_shards: TraceShards | None

    def done_ids(self) -> set[str]:
        done = self.writer.done_ids()
        if self.trace_shards is not None:
            done &= self.trace_shards.done_ids()  # a batch killed between its two shards is redone
        return done

    def run(self, todo: list[int], batch_size: int, progress: bool, n_done: int) -> None:
        """Route the prompts ``todo`` (indices) in batches, writing a shard (or two) per batch."""
        pad_id = _first_int(self.tokenizer.pad_token_id, self.tokenizer.eos_token_id, 0)
        eos_ids = _eos_ids(self.net, self.tokenizer)
        bar = tqdm(
            total=len(self.ps),
            initial=n_done,
            unit="prompt",
            file=sys.stderr,
            disable=not progress,
            dynamic_ncols=True,
            desc="capture",
        )
        n_tok, t0 = 0, time.perf_counter()
        with (
            torch.inference_mode(),
            RoutingRecorder(self.layout, keep_traces=self.trace_shards is not None) as rec,
        ):
            for start in range(0, len(todo), batch_size):
                rows = todo[start : start + batch_size]
                toks = [self.tokens[i] for i in rows]
                res = route_batch(self.net, rec, toks, pad_id=pad_id, generate=self.generate, eos_ids=eos_ids)
                if self.trace_shards is not None:  # written first: a signature shard implies its traces
                    self.trace_shards.write(self._traces(res, rows))
                self.writer.write(self._signatures(res, rows))
                n_tok += sum(map(len, toks)) + sum(map(len, res.gen_tokens))
                bar.update(len(rows))
                bar.set_postfix_str(f"{n_tok / max(time.perf_counter() - t0, 1e-9):,.0f} tok/s")
        bar.close()

    def finalize(self, out: Path) -> None:
        """Merge the shards; the signature file goes last, so its presence means everything is done."""
        if self.trace_shards is not None:
            md = {k: self.metadata[k] for k in ("num_layers", "num_experts", "top_k", "moe_layers", "model")}
            md["experts_dtype"] = str(expert_dtype(self.layout.num_experts))
            md["experts_shape"] = "[n_tokens, num_layers, top_k] row-major"
            self.trace_shards.finalize(traces_path(out), self.ps.ids, md)
        self.writer.finalize(self.ps.ids, self.metadata)

    def _traces(self, res: BatchResult, rows: list[int]) -> pa.Table:
        gen = res.gen_tokens or [[] for _ in rows]
        return traces_table(
            [self.ps.ids[i] for i in rows],
            [self.tokens[i] + g for i, g in zip(rows, gen, strict=True)],
            res.traces,
            [len(self.tokens[i]) for i in rows],
            self.layout.num_experts,
        )

    def _signatures(self, res: BatchResult, rows: list[int]) -> Signatures:
        generated = None
        if self.generate:
            generated = {
                "counts": res.gen_counts,
                "weights": res.gen_weights,
                "n_tokens": np.array([len(g) for g in res.gen_tokens]),
                "texts": [self.tokenizer.decode(g, skip_special_tokens=True) for g in res.gen_tokens],
            }
        return Signatures(
            counts=res.counts,
            weights=res.weights,
            n_tokens=np.array([len(self.tokens[i]) for i in rows]),
            ids=[self.ps.ids[i] for i in rows],
            categories=[self.ps.categories[i] for i in rows],
            texts=[self.ps.texts[i] for i in rows],
            metadata=self.metadata,
            truncated=self.truncated[rows],
            generated=generated,
        )


# -- helpers ---------------------------------------------------------------------------------------
def _check_ints(**values: int) -> None:
    for name, v in values.items():
        low = 0 if name == "generate" else 1
        if not isinstance(v, int) or isinstance(v, bool) or v < low:
            flag = "--" + name.replace("_", "-")
            raise RoutesigError(f"{flag} must be an integer >= {low}, got {v!r}")


def _sayer(progress: bool):  # noqa: ANN202
    def say(msg: str) -> None:
        if progress:
            tqdm.write(msg, file=sys.stderr)

    return say


def _digest(ps: PromptSet) -> str:
    h = hashlib.sha256()
    for row in zip(ps.ids, ps.texts, ps.categories, strict=True):
        h.update(json.dumps(row).encode())
    return h.hexdigest()


def _metadata(layout: RoutingLayout, settings: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    return {
        "model": settings["model"],
        "revision": settings["revision"],
        "architecture": layout.arch,
        "num_layers": len(layout.taps),
        "num_experts": layout.num_experts,
        "top_k": layout.top_k,
        "moe_layers": list(layout.moe_layers),
        "num_decoder_layers": layout.num_decoder_layers,
        "dtype": settings["dtype"],
        "device": settings["device"],
        "tokens": settings["tokens"],
        "max_tokens": max_tokens,
        "generate": settings["generate"],
        "traces": settings["traces"],
        "capture_settings": settings,
        "routesig_version": __version__,
    }


def _complete(out: Path, settings: dict[str, Any], say: Any) -> bool:
    """True when ``out`` already holds this very capture; an error when it holds something else."""
    try:
        md = read_metadata(out)
    except RoutesigError:
        raise RoutesigError(
            f"{out} exists and is not a routesig signature file: choose another --out"
        ) from None
    old = md.get("capture_settings") or {}
    # the revision is known only after loading; a hub commit hash stands in for the requested revision there
    keys = (set(old) | set(settings)) - {"revision"}
    diff = sorted(k for k in keys if old.get(k) != settings.get(k))
    if diff:
        raise RoutesigError(
            f"{out} exists from a capture with other settings ({', '.join(diff)}): "
            "pass --overwrite or choose another --out"
        )
    shutil.rmtree(out.with_name(out.name + ".partial"), ignore_errors=True)  # killed after the final rename
    say(f"{out} exists and is complete: nothing to do (pass --overwrite to capture again)")
    return True


def _first_int(*values: Any) -> int:
    for v in values:
        if isinstance(v, list):
            v = v[0] if v else None
        if v is not None:
            return int(v)
    return 0


def _eos_ids(net: torch.nn.Module, tokenizer: Any) -> tuple[int, ...]:
    ids: set[int] = set()
    gen_cfg = getattr(net, "generation_config", None)
    for v in (getattr(gen_cfg, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(v, int):
            ids.add(v)
        elif isinstance(v, list | tuple):
            ids.update(int(x) for x in v)
    return tuple(sorted(ids))
