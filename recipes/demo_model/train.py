#!/usr/bin/env python
"""Train routesig's demo MoE model: a scaled-down OLMoE (`transformers.OlmoeForCausalLM`) with learned routing.

Trains on the four-domain corpus of build_corpus.py with the tokenizer of train_tokenizer.py, using the
standard auxiliary load-balancing loss (output_router_logits=True, router_aux_loss_coef), AdamW and a
warmup + cosine learning-rate schedule whose progress is max(step / max_steps, elapsed / time_budget),
so a wall-clock budget ends the run on a fully decayed schedule.  A resumable checkpoint is written to
--work-dir every --ckpt-every-min minutes (and every --ckpt-every steps); rerunning the same command
continues from it.  At the end (or with --export-only) the model is saved with
`save_pretrained(safe_serialization=True)` into --out together with the tokenizer and a MODEL_CARD.md
(per-domain validation loss and expert-usage statistics measured on held-out text).

Usage:
  .venv/bin/python recipes/demo_model/train.py --time-budget-min 60            # train (resumes if a ckpt exists)
  .venv/bin/python recipes/demo_model/train.py --export-only                   # export latest ckpt + model card
  .venv/bin/python recipes/demo_model/train.py --smoke --corpus DIR --tokenizer DIR --work-dir DIR --out DIR
"""

# ruff: noqa: E501  (long generated-text / model-card strings)
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

DOMAINS = ("code", "math", "story", "factual")
DOC_SEP = "\n\x1e\n"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "src/routesig/data/models/demo-olmoe"
BUILD_COMMAND = "make demo-model   (= bash recipes/demo_model/build_all.sh)"


def log(msg: str) -> None:
    print(f"[train {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------------
def tokenize_corpus(corpus: Path, tokenizer, cache: Path) -> dict[str, dict[str, np.ndarray]]:
    """{split: {domain: uint16 stream}}; documents joined with eos. Cached in `cache`."""
    cache.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, np.ndarray]] = {"train": {}, "valid": {}}
    for split in ("train", "valid"):
        for d in DOMAINS:
            src = corpus / f"{d}.{split}.txt"
            dst = cache / f"{d}.{split}.npy"
            if dst.exists() and dst.stat().st_mtime >= src.stat().st_mtime:
                out[split][d] = np.load(dst)
                continue
            docs = [x for x in src.read_text(encoding="utf-8").split(DOC_SEP) if x.strip()]
            ids: list[int] = []
            eos = tokenizer.eos_token_id
            for i in range(0, len(docs), 256):
                enc = tokenizer(docs[i : i + 256], add_special_tokens=False)["input_ids"]
                for e in enc:
                    ids.extend(e)
                    ids.append(eos)
            arr = np.asarray(ids, dtype=np.uint16 if len(tokenizer) < 65536 else np.int32)
            np.save(dst, arr)
            out[split][d] = arr
            log(f"tokenized {src.name}: {src.stat().st_size / 1e6:.2f} MB -> {len(arr) / 1e6:.2f} M tokens")
    return out


def sample_batch(
    streams: dict[str, np.ndarray], batch: int, seq_len: int, bos: int, rng: np.random.Generator
):
    """Domain-balanced batch: each row is bos + a random window of seq_len - 1 tokens of one domain."""
    rows = np.empty((batch, seq_len), dtype=np.int64)
    rows[:, 0] = bos
    doms = [DOMAINS[i % len(DOMAINS)] for i in range(batch)]
    rng.shuffle(doms)
    for i, d in enumerate(doms):
        s = streams[d]
        j = int(rng.integers(0, len(s) - seq_len))
        rows[i, 1:] = s[j : j + seq_len - 1]
    return torch.from_numpy(rows)


def eval_windows(stream: np.ndarray, n: int, seq_len: int, bos: int) -> torch.Tensor:
    """n evenly spaced, non-overlapping held-out windows (deterministic)."""
    n = max(1, min(n, (len(stream) - 1) // (seq_len - 1)))
    starts = np.linspace(0, len(stream) - seq_len, n).astype(np.int64)
    rows = np.empty((n, seq_len), dtype=np.int64)
    rows[:, 0] = bos
    for i, j in enumerate(starts):
        rows[i, 1:] = stream[j : j + seq_len - 1]
    return torch.from_numpy(rows)


# --------------------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------------------
def make_config(args, tokenizer):
    from transformers import OlmoeConfig

    return OlmoeConfig(
        vocab_size=len(tokenizer),
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.heads,
        num_experts=args.experts,
        num_experts_per_tok=args.top_k,
        norm_topk_prob=False,
        max_position_embeddings=max(512, args.seq_len),
        rope_parameters={"rope_theta": 10000.0, "rope_type": "default"},
        tie_word_embeddings=True,
        router_aux_loss_coef=args.aux_coef,
        output_router_logits=False,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        dtype="float32",
    )


def lr_at(progress: float, step: int, args) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    p = min(1.0, progress)
    return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))


@torch.no_grad()
def evaluate(
    model, valid: dict[str, np.ndarray], seq_len: int, bos: int, n_windows: int, batch: int = 16
) -> dict:
    """Per-domain LM loss (no aux term) and per-domain expert usage [L, E] (fraction of top-k picks)."""
    was_training = model.training
    model.eval()
    k = model.config.num_experts_per_tok
    res: dict = {"loss": {}, "usage": {}, "seq_sig": {}, "prob": {}, "router_entropy": {}}
    E = model.config.num_experts
    for d in DOMAINS:
        x = eval_windows(valid[d], n_windows, seq_len, bos)
        tot, cnt, sigs = 0.0, 0, []
        usage = None
        psum, ent_sum, ntok = 0.0, 0.0, 0
        for i in range(0, len(x), batch):
            xb = x[i : i + batch]
            out = model(input_ids=xb, output_router_logits=True)
            logits = out.logits[:, :-1].float()
            tgt = xb[:, 1:]
            ce = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.size(-1)), tgt.reshape(-1), reduction="sum"
            )
            tot += ce.item()
            cnt += tgt.numel()
            per_layer = []
            probs = torch.stack([rl.float().softmax(-1) for rl in out.router_logits])  # [L, B*T, E]
            psum = psum + probs.sum(1)
            ent_sum += (-(probs * probs.clamp_min(1e-12).log()).sum(-1) / math.log(E)).mean(0).sum().item()
            ntok += probs.shape[1]
            for rl in out.router_logits:
                top = rl.float().topk(k, dim=-1).indices  # [B*T, k]
                oh = torch.zeros(rl.shape[0], rl.shape[1]).scatter_(1, top, 1.0)
                per_layer.append(oh.view(xb.shape[0], xb.shape[1], -1).sum(1))  # [B, E]
            sig = torch.stack(per_layer, 1)  # [B, L, E] counts
            sigs.append(sig)
            usage = sig.sum(0) if usage is None else usage + sig.sum(0)
        res["loss"][d] = tot / cnt
        res["usage"][d] = (usage / usage.sum(-1, keepdim=True)).numpy()
        res["prob"][d] = (psum / ntok).numpy()
        res["router_entropy"][d] = ent_sum / ntok
        s = torch.cat(sigs)
        res["seq_sig"][d] = (s / s.sum(-1, keepdim=True)).numpy()
    model.train(was_training)
    return res


def routing_stats(ev: dict) -> dict:
    """Summaries of expert usage: balance (normalised entropy of pooled usage), mean pairwise
    Jensen-Shannon divergence (bits) between domains per layer, and leave-one-out nearest-centroid accuracy
    of per-window routing signatures."""
    U = np.stack([ev["usage"][d] for d in DOMAINS])  # [D, L, E]
    D, L, E = U.shape
    pooled = U.mean(0)
    ent = -(pooled * np.log(np.clip(pooled, 1e-12, None))).sum(-1) / np.log(E)

    def js(p, q):
        m = 0.5 * (p + q)

        def kl(a, b):
            return (a * (np.log2(np.clip(a, 1e-12, None)) - np.log2(np.clip(b, 1e-12, None)))).sum(-1)

        return 0.5 * kl(p, m) + 0.5 * kl(q, m)

    pair = {}
    per_layer = np.zeros(L)
    n = 0
    for i in range(D):
        for j in range(i + 1, D):
            v = js(U[i], U[j])  # [L]
            pair[f"{DOMAINS[i]}-{DOMAINS[j]}"] = float(v.mean())
            per_layer += v
            n += 1
    per_layer /= n
    tv = float(np.mean([0.5 * np.abs(U[i] - U[j]).sum(-1).mean() for i in range(D) for j in range(i + 1, D)]))
    # nearest centroid, leave one out
    X = np.concatenate([ev["seq_sig"][d].reshape(len(ev["seq_sig"][d]), -1) for d in DOMAINS])
    y = np.concatenate([np.full(len(ev["seq_sig"][d]), i) for i, d in enumerate(DOMAINS)])
    sums = np.stack([X[y == c].sum(0) for c in range(D)])
    counts = np.array([(y == c).sum() for c in range(D)])
    correct = 0
    for idx in range(len(X)):
        cent = sums.copy()
        cnts = counts.copy().astype(float)
        cent[y[idx]] -= X[idx]
        cnts[y[idx]] -= 1
        cent = cent / np.maximum(cnts, 1)[:, None]
        cn = cent / np.linalg.norm(cent, axis=1, keepdims=True)
        xv = X[idx] / np.linalg.norm(X[idx])
        correct += int(np.argmax(cn @ xv) == y[idx])
    return {
        "balance_entropy_per_layer": [float(x) for x in ent],
        "js_bits_mean": float(per_layer.mean()),
        "js_bits_per_layer": [float(x) for x in per_layer],
        "js_bits_pairs": pair,
        "tv_mean": tv,
        "nearest_centroid_acc": correct / len(X),
        "n_windows": int(len(X)),
        "router_prob_tv_mean": float(
            np.mean(
                [
                    0.5 * np.abs(ev["prob"][a] - ev["prob"][b]).sum(-1).mean()
                    for i, a in enumerate(DOMAINS)
                    for b in DOMAINS[i + 1 :]
                ]
            )
        ),
        "router_entropy": {d: float(v) for d, v in ev["router_entropy"].items()},
    }


# --------------------------------------------------------------------------------------------------
# checkpoint / export
# --------------------------------------------------------------------------------------------------
def save_ckpt(path: Path, model, opt, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "opt": opt.state_dict(),
            "state": state,
            "config": model.config.to_dict(),
        },
        tmp,
    )
    os.replace(tmp, path)


def export(
    ckpt_path: Path, tokenizer_dir: Path, corpus: Path, cache: Path, out: Path, n_windows: int
) -> dict:
    from transformers import AutoTokenizer, OlmoeConfig, OlmoeForCausalLM

    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    cfg = OlmoeConfig(
        **{k: v for k, v in ck["config"].items() if k not in ("architectures", "transformers_version")}
    )
    model = OlmoeForCausalLM(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    st = ck["state"]
    data = tokenize_corpus(corpus, tok, cache)
    seq_len = st["args"]["seq_len"]
    log(f"evaluating step {st['step']} on held-out text ({n_windows} windows x {seq_len} tokens per domain)")
    ev = evaluate(model, data["valid"], seq_len, tok.bos_token_id, n_windows)
    stats = routing_stats(ev)
    torch.manual_seed(0)
    rand = OlmoeForCausalLM(cfg).eval()
    ev_r = evaluate(rand, data["valid"], seq_len, tok.bos_token_id, n_windows)
    stats_r = routing_stats(ev_r)
    out.mkdir(parents=True, exist_ok=True)
    for f in out.glob("*.safetensors"):
        f.unlink()
    model.config.architectures = ["OlmoeForCausalLM"]
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    wfile = out / "model.safetensors"
    wfile.chmod(0o644)
    report = {
        "step": st["step"],
        "tokens_seen": st["tokens"],
        "train_seconds": st["elapsed"],
        "final": st.get("final", False),
        "val_loss": ev["loss"],
        "val_loss_random_init": ev_r["loss"],
        "routing": stats,
        "routing_random_init": stats_r,
        "usage": {d: ev["usage"][d].round(4).tolist() for d in DOMAINS},
        "n_params": n_params,
        "weights_bytes": wfile.stat().st_size,
        "args": st["args"],
        "hardware": st.get("hardware"),
        "history": st.get("history", [])[-20:],
        "corpus_tokens": {s: {d: int(len(data[s][d])) for d in DOMAINS} for s in data},
    }
    (out / "training_report.json").write_text(json.dumps(report, indent=1))
    sources = (
        json.loads((corpus / "SOURCES.json").read_text()) if (corpus / "SOURCES.json").exists() else None
    )
    (out / "MODEL_CARD.md").write_text(model_card(model.config, report, sources))
    log(
        f"exported step {st['step']} to {out} ({wfile.stat().st_size / 1e6:.2f} MB); val loss "
        + ", ".join(f"{d}={v:.3f}" for d, v in ev["loss"].items())
        + f"; JS(domains)={stats['js_bits_mean']:.4f} bits vs random-init {stats_r['js_bits_mean']:.4f}; "
        f"nearest-centroid acc={stats['nearest_centroid_acc']:.3f}"
    )
    return report


def model_card(cfg, r: dict, sources: dict | None) -> str:
    a = r["args"]
    hrs = r["train_seconds"] / 3600
    lines = [
        "# demo-olmoe: routesig's demo Mixture-of-Experts model",
        "",
        "A small OLMoE-architecture causal LM (`transformers.OlmoeForCausalLM`, `model_type: olmoe`) trained from "
        "scratch, offline, on a four-domain corpus (code, math, story, factual) so that routesig's routing study runs "
        "without a model hub on a model whose routing is *learned* (trained with the usual load-balancing loss).",
        "It is a toy: it writes locally plausible text in each domain but knows little. Do not use it for anything "
        "but testing and demonstrating routing analysis.",
        "",
        "Load with `AutoModelForCausalLM.from_pretrained(folder)` and `AutoTokenizer.from_pretrained(folder)`; "
        "weights are fp32 safetensors.",
        "",
        "## Architecture",
        "",
        "| field | value |",
        "|---|---|",
        f"| layers (all MoE) | {cfg.num_hidden_layers} |",
        f"| hidden size | {cfg.hidden_size} |",
        f"| attention heads (q / kv) | {cfg.num_attention_heads} / {cfg.num_key_value_heads} |",
        f"| experts per layer | {cfg.num_experts} |",
        f"| experts per token (top-k) | {cfg.num_experts_per_tok} (softmax then top-k, norm_topk_prob={cfg.norm_topk_prob}) |",
        f"| expert intermediate size | {cfg.intermediate_size} |",
        f"| vocabulary | {cfg.vocab_size} (byte-level BPE), tied input/output embeddings |",
        f"| router aux loss coefficient | {cfg.router_aux_loss_coef} |",
        f"| parameters | {r['n_params']:,} ({r['n_params'] / 1e6:.2f} M) |",
        f"| weights file | model.safetensors, {r['weights_bytes'] / 1e6:.2f} MB (fp32) |",
        "",
        "Tokenizer: special tokens `<|pad|>` (id 0, pad), `<|bos|>` (1, prepended by the tokenizer), "
        "`<|endoftext|>` (2, eos, separates documents in training), `<|unk|>`, and chat role tokens "
        "`<|system|>`, `<|user|>`, `<|assistant|>`. Chat template: `<|bos|><|user|>\\n{content}\\n<|assistant|>\\n` "
        "(about 4% of training documents were wrapped in this format). Every training window starts with `<|bos|>` "
        "and holds no padding; the tokenizer pads on the right by default, which leaves real tokens' positions "
        "unchanged (with left padding pass position_ids = cumsum(attention_mask) - 1).",
        "",
        "## Training data",
        "",
    ]
    if sources:
        lines += [
            "Built offline from package-registry content only (never from routesig's prompt suites or any "
            "benchmark). Documents were split 98/2 into train / held-out validation by a hash of their text.",
            "",
            "| domain | source | characters used |",
            "|---|---|---|",
        ]
        for d in DOMAINS:
            for src, n in sources["domains"][d]["chars_by_source"].items():
                lines.append(f"| {d} | {src} | {n / 1e6:.2f} M |")
        lines += [
            "",
            "| domain | train MB | valid MB | train tokens | valid tokens |",
            "|---|---|---|---|---|",
        ]
        for d in DOMAINS:
            s = sources["domains"][d]
            lines.append(
                f"| {d} | {s['train_bytes'] / 1e6:.2f} | {s['valid_bytes'] / 1e6:.3f} | "
                f"{r['corpus_tokens']['train'][d] / 1e6:.2f} M | {r['corpus_tokens']['valid'][d] / 1e3:.0f} k |"
            )
        lines += ["", "### Sources and licences", ""]
        for k, v in sources["licences"].items():
            lines.append(f"- **{k}**: {v}")
        lines += [
            "",
            "Debian package versions: "
            + ", ".join(f"{k} {v}" for k, v in sources["debian_packages"].items())
            + f"; Python stdlib from `{sources['python_stdlib']}`; downloads: "
            + ", ".join(f"{v}" for v in sources["downloads"].values())
            + ".",
            "The model weights are a statistical summary of this text; if you redistribute them, keep this "
            "list (GCIDE is GPL-2.0+, Wikipedia text CC-BY-SA).",
        ]
    lines += [
        "",
        "## Training",
        "",
        f"- steps: {r['step']:,} of batch {a['batch_size']} x {a['seq_len']} tokens (domain-balanced: each batch "
        f"draws equally from the four domains), {r['tokens_seen'] / 1e6:.1f} M tokens seen",
        f"- wall time: {r['train_seconds'] / 60:.1f} min ({hrs:.2f} h), {r['tokens_seen'] / max(r['train_seconds'], 1):.0f} "
        f"tokens/s on {r.get('hardware') or 'CPU'}",
        f"- optimiser: AdamW (lr {a['lr']}, betas (0.9, 0.95), weight decay {a['weight_decay']}), {a['warmup']} warmup "
        f"steps, cosine decay to {a['min_lr_frac']} x lr over max(step / {a['max_steps']}, time / "
        f"{a['time_budget_min']} min), grad-norm clip 1.0, seed {a['seed']}",
        f"- loss: next-token cross-entropy + {cfg.router_aux_loss_coef} x load-balancing aux loss",
        f"- run finished normally: {r['final']}",
        "",
        "## Evaluation on held-out text",
        "",
        f"Per-domain next-token loss (nats/token) on {r['routing']['n_windows'] // 4} held-out windows of "
        f"{a['seq_len']} tokens per domain; log(vocab) = {math.log(cfg.vocab_size):.2f}. The math loss is low "
        "because most math text is procedurally generated from templates (numbers are the hard part); the story "
        "and factual domains are natural text and the hardest.",
        "",
        "| domain | trained | random init |",
        "|---|---|---|",
    ]
    for d in DOMAINS:
        lines.append(f"| {d} | {r['val_loss'][d]:.3f} | {r['val_loss_random_init'][d]:.3f} |")
    rs, rr = r["routing"], r["routing_random_init"]
    lines += [
        "",
        "### Routing",
        "",
        "Expert usage = fraction of top-k selections per expert, per layer, per domain, on the held-out windows.",
        "",
        "| statistic | trained | random init (same config) |",
        "|---|---|---|",
        f"| mean pairwise Jensen-Shannon divergence between domains' usage (bits, averaged over layers) | "
        f"{rs['js_bits_mean']:.4f} | {rr['js_bits_mean']:.4f} |",
        f"| mean pairwise total-variation distance between domains' usage | {rs['tv_mean']:.3f} | {rr['tv_mean']:.3f} |",
        f"| mean pairwise total-variation distance between domains' mean router probabilities | "
        f"{rs['router_prob_tv_mean']:.3f} | {rr['router_prob_tv_mean']:.3f} |",
        f"| router softmax entropy per token, normalised by log(E) (1 = uniform), mean over domains | "
        f"{np.mean(list(rs['router_entropy'].values())):.3f} | {np.mean(list(rr['router_entropy'].values())):.3f} |",
        f"| nearest-centroid domain accuracy of per-window routing signatures (leave-one-out) | "
        f"{rs['nearest_centroid_acc']:.3f} | {rr['nearest_centroid_acc']:.3f} |",
        f"| load balance: normalised entropy of pooled usage, min over layers (1 = uniform) | "
        f"{min(rs['balance_entropy_per_layer']):.3f} | {min(rr['balance_entropy_per_layer']):.3f} |",
        "",
        "JS divergence per layer (trained): " + ", ".join(f"{x:.3f}" for x in rs["js_bits_per_layer"]) + ".",
        "",
        "JS divergence per domain pair (trained, bits): "
        + ", ".join(f"{k} {v:.3f}" for k, v in rs["js_bits_pairs"].items())
        + ".",
        "",
        "Full numbers (usage matrices, history) are in `training_report.json`.",
        "",
        "## How it was built",
        "",
        "```",
        BUILD_COMMAND,
        "# i.e.",
        ".venv/bin/python recipes/demo_model/build_corpus.py          # -> build/corpus (apt-get/npm/pip download)",
        ".venv/bin/python recipes/demo_model/train_tokenizer.py       # -> build/tokenizer",
        f".venv/bin/python recipes/demo_model/train.py --time-budget-min {a['time_budget_min']} --max-steps "
        f"{a['max_steps']} --threads {a['threads']} --seed {a['seed']}",
        "```",
        "",
        f"Trained on {r.get('hardware') or 'CPU'}; the run is resumable (rerun the same command) and stops on "
        "whichever of the step or time budget comes first, so a rebuild on other hardware gives a similar but not "
        "bit-identical model.",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------
def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(REPO / "build/corpus"))
    ap.add_argument("--tokenizer", default=str(REPO / "build/tokenizer"))
    ap.add_argument("--work-dir", default=str(REPO / "build/demo_train"))
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=192)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--experts", type=int, default=32)
    ap.add_argument("--top-k", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=48)
    ap.add_argument("--aux-coef", type=float, default=0.01)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--max-steps", type=int, default=20000)
    ap.add_argument(
        "--time-budget-min", type=float, default=60.0, help="wall-clock training budget (minutes)"
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads. 1 is the default: on a 2-core machine shared with other jobs, 2 OpenMP "
        "threads measured 2-10x slower per step (threads stall at barriers when one is preempted); use 2 on an idle box",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--ckpt-every", type=int, default=500)
    ap.add_argument("--ckpt-every-min", type=float, default=5.0)
    ap.add_argument(
        "--export-first-ckpt", action="store_true", help="export to --out after the first checkpoint"
    )
    ap.add_argument(
        "--eval-windows", type=int, default=48, help="held-out windows per domain for the model card"
    )
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--export-only", action="store_true", help="export the latest checkpoint and exit")
    ap.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    ap.add_argument("--smoke", action="store_true", help="tiny model / few steps (tests)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.layers, args.hidden, args.heads, args.experts, args.top_k, args.intermediate = 2, 32, 2, 4, 2, 16
        args.seq_len, args.batch_size, args.warmup, args.eval_windows = 32, 4, 2, 4
        args.max_steps = min(args.max_steps, 6)
        args.log_every, args.ckpt_every = 2, 3
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from transformers import AutoTokenizer, OlmoeForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    ckpt = work / "ckpt.pt"
    cache = work / "tokens"
    if args.export_only:
        export(ckpt, Path(args.tokenizer), Path(args.corpus), cache, Path(args.out), args.eval_windows)
        return 0

    tok = AutoTokenizer.from_pretrained(args.tokenizer)
    data = tokenize_corpus(Path(args.corpus), tok, cache)
    torch.manual_seed(args.seed)
    cfg = make_config(args, tok)
    model = OlmoeForCausalLM(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "embed" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.95),
        eps=1e-8,
    )
    hardware = f"{platform.processor() or platform.machine()} CPU, {args.threads} threads (torch {torch.__version__})"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                hardware = (
                    f"{line.split(':', 1)[1].strip()}, {args.threads} threads (torch {torch.__version__})"
                )
                break
    except OSError:
        pass
    state = {"step": 0, "tokens": 0, "elapsed": 0.0, "args": vars(args), "history": [], "hardware": hardware}
    if ckpt.exists() and not args.fresh:
        ck = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state.update(ck["state"])
        state["args"] = {
            **ck["state"]["args"],
            "max_steps": args.max_steps,
            "time_budget_min": args.time_budget_min,
        }
        log(f"resumed from {ckpt} at step {state['step']} ({state['elapsed'] / 60:.1f} min trained)")
    log(
        f"model: {n_params / 1e6:.2f} M params, {args.layers} layers, hidden {args.hidden}, {args.experts} experts "
        f"top-{args.top_k}, intermediate {args.intermediate}; batch {args.batch_size} x {args.seq_len}; "
        f"budget {args.max_steps} steps / {args.time_budget_min} min"
    )
    model.train()
    budget_s = args.time_budget_min * 60
    t_last_ckpt = time.time()
    exported_first = False
    t0, elapsed0 = time.time(), state["elapsed"]
    win_loss, win_aux, win_tok, win_t = 0.0, 0.0, 0, time.time()
    while True:
        step = state["step"]
        progress = max(step / args.max_steps, state["elapsed"] / budget_s)
        if progress >= 1.0:
            break
        lr = lr_at(progress, step, args)
        for g in opt.param_groups:
            g["lr"] = lr
        x = sample_batch(
            data["train"],
            args.batch_size,
            args.seq_len,
            tok.bos_token_id,
            np.random.default_rng([args.seed, step]),
        )
        out = model(input_ids=x, labels=x, output_router_logits=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        aux = out.aux_loss.item() if out.aux_loss is not None else 0.0
        win_loss += out.loss.item() - args.aux_coef * aux
        win_aux += aux
        win_tok += x.numel()
        state["step"] = step + 1
        state["tokens"] += x.numel()
        state["elapsed"] = elapsed0 + (time.time() - t0)
        if state["step"] % args.log_every == 0:
            n = args.log_every
            dt = time.time() - win_t
            p = max(state["step"] / args.max_steps, state["elapsed"] / budget_s)
            rate = p / max(state["elapsed"], 1e-9)
            eta = (1 - p) / rate if rate > 0 else float("nan")
            rec = {
                "step": state["step"],
                "loss": round(win_loss / n, 4),
                "aux": round(win_aux / n, 4),
                "lr": lr,
                "tok_s": round(win_tok / dt),
                "elapsed_min": round(state["elapsed"] / 60, 2),
            }
            state["history"].append(rec)
            log(
                f"step {state['step']} loss {win_loss / n:.4f} aux {win_aux / n:.3f} lr {lr:.2e} "
                f"{win_tok / dt:.0f} tok/s tokens {state['tokens'] / 1e6:.2f}M elapsed {state['elapsed'] / 60:.1f} min "
                f"ETA {eta / 60:.1f} min (finish ~{(_dt.datetime.now() + _dt.timedelta(seconds=eta)).strftime('%H:%M')})"
            )
            win_loss, win_aux, win_tok, win_t = 0.0, 0.0, 0, time.time()
        if state["step"] % args.ckpt_every == 0 or time.time() - t_last_ckpt > args.ckpt_every_min * 60:
            save_ckpt(ckpt, model, opt, state)
            t_last_ckpt = time.time()
            log(f"checkpoint saved at step {state['step']} -> {ckpt}")
            if args.export_first_ckpt and not exported_first and not args.no_export:
                exported_first = True
                export(
                    ckpt,
                    Path(args.tokenizer),
                    Path(args.corpus),
                    cache,
                    Path(args.out),
                    min(args.eval_windows, 16),
                )
                t0, elapsed0 = time.time(), state["elapsed"]  # do not count the export as training time
    state["final"] = True
    save_ckpt(ckpt, model, opt, state)
    log(
        f"training done: {state['step']} steps, {state['tokens'] / 1e6:.2f} M tokens, {state['elapsed'] / 60:.1f} min"
    )
    if not args.no_export:
        export(ckpt, Path(args.tokenizer), Path(args.corpus), cache, Path(args.out), args.eval_windows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
