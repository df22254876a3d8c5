"""What does routing capture cost? Tokens/s of three ways to run the same batches of one random OLMoE model.

1. bare:    the base model forward (no LM head), nothing captured: the floor
2. capture: routesig's engine (experts pre-hooks, on-device counts, one host copy per batch)
3. logits:  the common alternative, the full LM with ``output_router_logits=True`` then top-k of the logits

Each repeat runs the three in turn (interleaved, so load from other processes hits all alike); the best of
``--repeats`` is reported. Not a test: run ``python benchmarks/capture_overhead.py`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from transformers import OlmoeConfig, OlmoeForCausalLM

from routesig.capture.archs import resolve
from routesig.capture.batch import pad_batch, route_batch
from routesig.capture.recorder import RoutingRecorder


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--intermediate", type=int, default=256, help="per-expert MLP width")
    p.add_argument("--experts", type=int, default=32)
    p.add_argument("--top-k", type=int, default=4)
    p.add_argument("--prompts", type=int, default=32)
    p.add_argument(
        "--max-len", type=int, default=128, help="prompt lengths are uniform in [max_len/2, max_len]"
    )
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    return p.parse_args()


def build(args: argparse.Namespace) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = OlmoeConfig(
        vocab_size=8192,
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=max(args.hidden // 64, 1),
        num_key_value_heads=max(args.hidden // 64, 1),
        num_experts=args.experts,
        num_experts_per_tok=args.top_k,
        max_position_embeddings=4096,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    return OlmoeForCausalLM(cfg).to(getattr(torch, args.dtype)).eval()


def bare(model: torch.nn.Module, batches: list[list[list[int]]]) -> None:
    for batch in batches:
        ids, mask = pad_batch(batch, 0, "left", torch.device("cpu"))
        model.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
            use_cache=False,
        )


def capture(model: torch.nn.Module, batches: list[list[list[int]]]) -> None:
    with RoutingRecorder(resolve(model)) as rec:
        for batch in batches:
            route_batch(model, rec, batch)


def router_logits(model: torch.nn.Module, batches: list[list[list[int]]]) -> None:
    E, k = model.config.num_experts, model.config.num_experts_per_tok
    for batch in batches:
        ids, mask = pad_batch(batch, 0, "left", torch.device("cpu"))
        out = model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
            output_router_logits=True,
            use_cache=False,
        )
        rows = torch.arange(len(batch)).repeat_interleave(ids.shape[1])[mask.reshape(-1).bool()]
        counts = torch.stack(
            [
                torch.zeros(len(batch), E, dtype=torch.long).index_put_(
                    (rows.unsqueeze(1).expand(-1, k), logits[mask.reshape(-1).bool()].topk(k, -1).indices),
                    torch.ones(1, dtype=torch.long),
                    accumulate=True,
                )
                for logits in out.router_logits
            ],
            1,
        )
        counts.numpy()


def main() -> None:
    args = parse_args()
    torch.set_grad_enabled(False)
    model = build(args)
    rng = np.random.default_rng(0)
    lengths = sorted(rng.integers(args.max_len // 2, args.max_len + 1, args.prompts), reverse=True)
    prompts = [rng.integers(3, 8192, n).tolist() for n in lengths]
    batches = [prompts[i : i + args.batch_size] for i in range(0, len(prompts), args.batch_size)]
    n_tokens = sum(lengths)
    methods = {
        "bare base-model forward": bare,
        "routesig capture": capture,
        "output_router_logits + full LM": router_logits,
    }
    best = dict.fromkeys(methods, float("inf"))
    with torch.inference_mode():
        for fn in methods.values():  # warm-up
            fn(model, batches[:1])
        for _ in range(args.repeats):
            for name, fn in methods.items():
                t0 = time.perf_counter()
                fn(model, batches)
                best[name] = min(best[name], time.perf_counter() - t0)
    print(
        f"OLMoE-shaped: {args.layers} layers, hidden {args.hidden}, {args.experts} experts top-{args.top_k}, "
        f"{args.dtype}; {args.prompts} prompts, {n_tokens} tokens, batch {args.batch_size}; "
        f"best of {args.repeats}, {torch.get_num_threads()} threads"
    )
    base = n_tokens / best["bare base-model forward"]
    for name in methods:
        tps = n_tokens / best[name]
        print(f"  {name:<32} {tps:>9,.0f} tok/s   {tps / base:5.3f}x bare")


if __name__ == "__main__":
    main()
