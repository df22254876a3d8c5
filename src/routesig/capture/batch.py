"""One batch through the model: padding, position ids, optional greedy decoding, routing counts.

A prompt's counts must not depend on its batch: padding rows are routed too but go to the recorder's dump
slot, and position ids come from the attention mask so that left padding does not shift positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from routesig.capture.archs import base_model
from routesig.capture.recorder import Accumulator, RoutingRecorder


@dataclass
class BatchResult:
    """Routing of one batch, on the host; arrays are per prompt, in the order given."""

    counts: np.ndarray  # [B, L, E] int64
    weights: np.ndarray  # [B, L, E] float32
    gen_counts: np.ndarray | None = None
    gen_weights: np.ndarray | None = None
    gen_tokens: list[list[int]] = field(default_factory=list)  # generated ids that were routed, EOS included
    traces: list[np.ndarray] = field(default_factory=list)  # per prompt [n_prompt + n_gen, L, k]


def pad_batch(
    token_lists: list[list[int]], pad_id: int, side: str, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask)`` of shape [B, T], padded on ``side`` ("left" or "right")."""
    width = max(len(t) for t in token_lists)
    ids = torch.full((len(token_lists), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(token_lists), width), dtype=torch.long)
    for b, toks in enumerate(token_lists):
        sl = slice(width - len(toks), width) if side == "left" else slice(0, len(toks))
        ids[b, sl] = torch.tensor(toks, dtype=torch.long)
        mask[b, sl] = 1
    return ids.to(device), mask.to(device)


def route_batch(
    model: torch.nn.Module,
    recorder: RoutingRecorder,
    token_lists: list[list[int]],
    *,
    pad_id: int = 0,
    padding_side: str = "left",
    generate: int = 0,
    eos_ids: tuple[int, ...] = (),
) -> BatchResult:
    """Run one batch and return each prompt's routing counts (and those of ``generate`` greedy tokens).

    Without generation only the base model runs (no LM head). With generation the batch is left padded,
    the prompt is prefilled with the KV cache, and each greedy token is fed back and routed; a sequence
    stops counting after it emits one of ``eos_ids`` (the EOS token itself is counted).
    """
    device = next(model.parameters()).device
    if generate:
        padding_side = "left"  # new tokens must follow every prompt directly
    ids, mask = pad_batch(token_lists, pad_id, padding_side, device)
    B, L, E = len(token_lists), recorder.num_layers, recorder.num_experts
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    prompt_acc = Accumulator(B, L, E, device)
    slot_of_row = torch.arange(B, device=device).unsqueeze(1).expand_as(mask)
    recorder.route_to(prompt_acc, torch.where(mask.bool(), slot_of_row, B).reshape(-1))
    net = model if generate else base_model(model)
    kwargs = {"logits_to_keep": 1} if generate else {}
    out = net(
        input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=bool(generate), **kwargs
    )
    prompt_trace = recorder.trace()[mask.reshape(-1).bool()] if recorder.keep_traces else None

    result = BatchResult(*prompt_acc.to_numpy())
    step_traces: list[torch.Tensor] = []
    alive_steps: list[torch.Tensor] = []
    gen_steps: list[torch.Tensor] = []
    if generate:
        gen_acc = Accumulator(B, L, E, device)
        eos = torch.tensor(list(eos_ids) or [-1], device=device)
        alive = torch.ones(B, dtype=torch.bool, device=device)
        last_pos = position_ids[:, -1]
        past = out.past_key_values
        for step in range(generate):
            nxt = out.logits[:, -1].argmax(-1)
            nxt = torch.where(alive, nxt, pad_id)
            mask = torch.cat([mask, alive.long().unsqueeze(1)], dim=1)
            recorder.route_to(gen_acc, torch.where(alive, torch.arange(B, device=device), B))
            out = model(
                input_ids=nxt.unsqueeze(1),
                attention_mask=mask,
                position_ids=(last_pos + 1 + step).unsqueeze(1),
                past_key_values=past,
                use_cache=True,
                logits_to_keep=1,
            )
            past = out.past_key_values
            gen_steps.append(nxt)
            alive_steps.append(alive)
            if recorder.keep_traces:
                step_traces.append(recorder.trace())
            alive = alive & ~torch.isin(nxt, eos)
            if not bool(alive.any()):  # one host sync per step: stop early when every sequence ended
                break
        result.gen_counts, result.gen_weights = gen_acc.to_numpy()
        toks = torch.stack(gen_steps, 1).cpu().numpy()
        alive_m = torch.stack(alive_steps, 1).cpu().numpy()
        result.gen_tokens = [toks[b][alive_m[b]].tolist() for b in range(B)]
    recorder.stop()
    if prompt_trace is not None:
        result.traces = _split_traces(prompt_trace, [len(t) for t in token_lists], step_traces, alive_steps)
    return result


def _split_traces(
    prompt_trace: torch.Tensor,
    lengths: list[int],
    step_traces: list[torch.Tensor],
    alive_steps: list[torch.Tensor],
) -> list[np.ndarray]:
    host = prompt_trace.cpu().numpy()
    starts = np.concatenate([[0], np.cumsum(lengths)])
    traces = [host[starts[b] : starts[b + 1]] for b in range(len(lengths))]
    if step_traces:
        gen = torch.stack(step_traces, 1).cpu().numpy()  # [B, steps, L, k]
        alive = torch.stack(alive_steps, 1).cpu().numpy()
        traces = [np.concatenate([traces[b], gen[b][alive[b]]]) for b in range(len(lengths))]
    return traces
