"""What does routing capture cost? Tokens/s of three ways to run the same batches of one random OLMoE model.

1. bare:    the base model forward (no LM head), nothing captured: the floor
2. capture: routesig's engine (experts pre-hooks, on-device counts, one host copy per batch)
3. logits:  the common alternative, the full LM with ``output_router_logits=True`` then top-k of the logits
4. bare again: an A/A check; its distance from 1.000x is the noise of this measurement

The methods alternate batch by batch in random order (so load from other processes hits all alike); the
best and the median of ``--repeats`` runs of each batch are summed.
Not a test: run ``python benchmarks/capture_overhead.py`` (or ``make bench``).
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
    p.add_argument("--repeats", type=int, default=8)
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


def bare(model: torch.nn.Module, batch: list[list[int]]) -> None:
    ids, mask = pad_batch(batch, 0, "left", torch.device("cpu"))
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    model.model(input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=False)


def router_logits(model: torch.nn.Module, batch: list[list[int]]) -> None:
    """Full LM with ``output_router_logits=True``, then per-prompt counts of top-k of each layer's logits."""
    E, k = model.config.num_experts, model.config.num_experts_per_tok
    ids, mask = pad_batch(batch, 0, "left", torch.device("cpu"))
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=position_ids,
        output_router_logits=True,
        use_cache=False,
    )
    real = mask.reshape(-1).bool()
    rows = torch.arange(len(batch)).repeat_interleave(ids.shape[1])[real].unsqueeze(1).expand(-1, k)
    for logits in out.router_logits:
        counts = torch.zeros(len(batch), E, dtype=torch.long)
        counts.index_put_(
            (rows, logits[real].topk(k, -1).indices), torch.ones(1, dtype=torch.long), accumulate=True
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
    with torch.inference_mode(), RoutingRecorder(resolve(model)) as rec:
        methods = {
            "bare base-model forward": lambda b: bare(model, b),
            "routesig capture": lambda b: route_batch(model, rec, b),
            "output_router_logits + full LM": lambda b: router_logits(model, b),
            "bare again (noise check)": lambda b: bare(model, b),
        }
        # every time of each batch under each method; the methods alternate batch by batch so that load from
        # other processes (this machine is shared) falls on all of them alike
        times: dict[str, list[list[float]]] = {name: [[] for _ in batches] for name in methods}
        for fn in methods.values():  # warm-up
            fn(batches[-1])
        names = list(methods)
        for _ in range(args.repeats):
            for j, batch in enumerate(batches):
                # a fresh random order each time: which method runs first or after the full LM varies
                for name in rng.permutation(names):
                    fn = methods[name]
                    t0 = time.perf_counter()
                    fn(batch)
                    times[name][j].append(time.perf_counter() - t0)
    print(
        f"OLMoE-shaped: {args.layers} layers, hidden {args.hidden}, {args.experts} experts top-{args.top_k}, "
        f"{args.dtype}; {args.prompts} prompts, {n_tokens} tokens, batch {args.batch_size}; "
        f"{torch.get_num_threads()} threads"
    )
    # best-of-N is the usual figure; the median is steadier when the machine is busy
    for stat in (min, np.median):
        total = {name: sum(stat(t) for t in per_batch) for name, per_batch in times.items()}
        print(f"{'best' if stat is min else 'median'} of {args.repeats} per batch:")
        bare_total = total["bare base-model forward"]
        for name in methods:
            print(
                f"  {name:<32} {n_tokens / total[name]:>9,.0f} tok/s   {bare_total / total[name]:5.3f}x bare"
            )


if __name__ == "__main__":
    main()
