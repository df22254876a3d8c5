"""The capture engine: exact counts, batch invariance, generation, traces, chat template, truncation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import routesig
from routesig.capture.archs import RoutingLayout, Tap, resolve
from routesig.capture.batch import route_batch
from routesig.capture.engine import tokenize
from routesig.capture.model import load_model, load_tokenizer
from routesig.capture.recorder import Accumulator, RoutingRecorder
from routesig.errors import RoutesigError


def _route(model, token_lists, **kw):
    with torch.inference_mode(), RoutingRecorder(resolve(model), keep_traces=kw.pop("traces", False)) as rec:
        return route_batch(model, rec, token_lists, **kw)


def _tokens(folder: Path, texts: list[str]) -> list[list[int]]:
    return tokenize(load_tokenizer(str(folder)), texts, max_tokens=1024)[0]


# -- batch invariance ------------------------------------------------------------------------------
@pytest.mark.parametrize("arch_fixture", ["tiny_olmoe", "tiny_deepseek_v3"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_counts_identical_alone_and_in_mixed_length_batch(request, arch_fixture, side, prompt_texts):
    folder = request.getfixturevalue(arch_fixture)
    model = load_model(str(folder), dtype="float32", device="cpu")
    toks = _tokens(folder, prompt_texts[:6])
    assert len({len(t) for t in toks}) > 2  # the batch really needs padding
    batched = _route(model, toks, padding_side=side)
    for b, t in enumerate(toks):
        alone = _route(model, [t])
        np.testing.assert_array_equal(batched.counts[b], alone.counts[0])
        np.testing.assert_allclose(batched.weights[b], alone.weights[0], rtol=1e-5, atol=1e-6)
    # every routed prompt token picks top_k experts in every MoE layer
    k = resolve(model).top_k
    expected = np.repeat(k * np.array([len(t) for t in toks])[:, None], batched.counts.shape[1], axis=1)
    np.testing.assert_array_equal(batched.counts.sum(2), expected)


def test_left_padding_uses_mask_positions_bf16(tiny_olmoe, prompt_texts):
    """RoPE is relative, so wrong absolute positions only show through rounding: in bf16 the unshifted
    positions of a plain forward change a few choices (6 token-layers here), mask-derived ones none."""
    model = load_model(str(tiny_olmoe), dtype="bfloat16", device="cpu")
    toks = _tokens(tiny_olmoe, prompt_texts)
    batched = _route(model, toks, padding_side="left")
    for b, t in enumerate(toks):
        np.testing.assert_array_equal(batched.counts[b], _route(model, [t]).counts[0])


# -- the recorder on a hand-worked example -------------------------------------------------------
def test_recorder_counts_a_hand_worked_batch():
    """Two prompts, 4 rows (row 3 is padding), one layer of 4 experts, top-2; index 4 means "no expert"."""
    feed: dict[str, torch.Tensor] = {}

    def attach(module, fn):
        return module.register_forward_hook(lambda *_: fn(feed["idx"], feed["w"]))

    layer = torch.nn.Identity()
    layout = RoutingLayout(
        "toy",
        num_experts=4,
        top_k=2,
        num_decoder_layers=1,
        moe_layers=[0],
        taps=[Tap("layers.0", layer, attach)],
    )
    feed["idx"] = torch.tensor([[0, 1], [1, 3], [2, 4], [0, 1]])
    feed["w"] = torch.tensor([[0.5, 0.25], [0.75, 0.125], [1.0, 0.0], [9.0, 9.0]])
    with RoutingRecorder(layout) as rec:
        acc = Accumulator(2, 1, 4, torch.device("cpu"))
        rec.route_to(acc, torch.tensor([0, 0, 1, 2]))  # slot 2 = the dump slot
        layer(torch.zeros(1))
        rec.stop()
        layer(torch.zeros(1))  # not counted
    counts, weights = acc.to_numpy()
    np.testing.assert_array_equal(counts[:, 0], [[1, 2, 0, 1], [0, 0, 1, 0]])
    np.testing.assert_allclose(weights[:, 0], [[0.5, 1.0, 0, 0.125], [0, 0, 1.0, 0]])

    # a negative index is "no expert" too: never counted as expert 0 (nor wrapped to the last expert)
    feed["idx"] = torch.tensor([[-1, 2], [3, 5], [0, 0], [0, 0]])
    with RoutingRecorder(layout) as rec:
        acc = Accumulator(2, 1, 4, torch.device("cpu"))
        rec.route_to(acc, torch.tensor([0, 0, 2, 2]))
        layer(torch.zeros(1))
    counts, _ = acc.to_numpy()
    np.testing.assert_array_equal(counts[:, 0], [[0, 0, 1, 1], [0, 0, 0, 0]])


# -- an independent hand computation ---------------------------------------------------------------
def test_olmoe_counts_match_router_softmax_topk_by_hand(tiny_olmoe, prompt_texts):
    """Recompute OLMoE's choice from each gate's input and weight (softmax, top-k, renormalise) in numpy."""
    model = load_model(str(tiny_olmoe), dtype="float32", device="cpu")
    cfg = model.config
    toks = _tokens(tiny_olmoe, prompt_texts[:3])
    gate_inputs: dict[int, torch.Tensor] = {}
    handles = [
        layer.mlp.gate.register_forward_pre_hook(lambda m, a, i=i: gate_inputs.__setitem__(i, a[0].clone()))
        for i, layer in enumerate(model.model.layers)
    ]
    try:
        res = _route(model, toks, padding_side="right")
    finally:
        for h in handles:
            h.remove()
    width = max(map(len, toks))
    valid = np.concatenate([np.arange(width) < len(t) for t in toks])  # right padding, batch-major rows
    owner = np.repeat(np.arange(len(toks)), width)
    for li, layer in enumerate(model.model.layers):
        x = gate_inputs[li].reshape(-1, cfg.hidden_size).double().numpy()[valid]
        logits = x @ layer.mlp.gate.weight.detach().double().numpy().T
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        top = np.argsort(-probs, axis=1)[:, : cfg.num_experts_per_tok]
        top_p = np.take_along_axis(probs, top, 1)
        if cfg.norm_topk_prob:
            top_p /= top_p.sum(1, keepdims=True)
        counts = np.zeros((len(toks), cfg.num_experts), dtype=np.int64)
        weights = np.zeros((len(toks), cfg.num_experts))
        rows = np.repeat(owner[valid], cfg.num_experts_per_tok)
        np.add.at(counts, (rows, top.reshape(-1)), 1)
        np.add.at(weights, (rows, top.reshape(-1)), top_p.reshape(-1))
        np.testing.assert_array_equal(res.counts[:, li], counts)
        np.testing.assert_allclose(res.weights[:, li], weights, rtol=1e-5, atol=1e-6)


# -- generation ------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch_fixture", ["tiny_olmoe", "tiny_deepseek_v3"])
def test_generation_matches_hf_greedy_and_counts_topk_per_token(request, arch_fixture, prompt_texts):
    folder = request.getfixturevalue(arch_fixture)
    model = load_model(str(folder), dtype="float32", device="cpu")
    layout = resolve(model)
    toks = _tokens(folder, prompt_texts[:3])
    res = _route(model, toks, generate=4, traces=True)
    for b, t in enumerate(toks):
        ref = model.generate(
            torch.tensor([t]),
            attention_mask=torch.ones(1, len(t), dtype=torch.long),
            max_new_tokens=4,
            do_sample=False,
            eos_token_id=None,
            pad_token_id=0,
        )
        assert res.gen_tokens[b] == ref[0, len(t) :].tolist()
    np.testing.assert_array_equal(res.gen_counts.sum(2), np.full((3, len(layout.taps)), layout.top_k * 4))
    # the prompt's own counts are unchanged by decoding after it
    np.testing.assert_array_equal(res.counts, _route(model, toks).counts)


def test_generation_stops_counting_after_eos(tiny_olmoe, prompt_texts):
    model = load_model(str(tiny_olmoe), dtype="float32", device="cpu")
    toks = _tokens(tiny_olmoe, prompt_texts[:2])
    full = _route(model, toks, generate=5, traces=True)
    eos = full.gen_tokens[0][2]  # pretend prompt 0's third generated token is EOS
    stop = full.gen_tokens[0].index(eos)
    cut = _route(model, toks, generate=5, eos_ids=(eos,), traces=True)
    assert cut.gen_tokens[0] == full.gen_tokens[0][: stop + 1]
    # counts = the routing of exactly those tokens in the uninterrupted run (from its traces)
    n_prompt = len(toks[0])
    expected = np.zeros_like(cut.gen_counts[0])
    for layer_k in full.traces[0][n_prompt : n_prompt + stop + 1]:
        for layer, experts in enumerate(layer_k):
            np.add.at(expected[layer], experts, 1)
    np.testing.assert_array_equal(cut.gen_counts[0], expected)


# -- the whole pipeline: file in, files out --------------------------------------------------------
def test_capture_writes_signatures_and_traces_that_agree(tiny_olmoe, prompt_file, tmp_path):
    out = routesig.capture(
        str(tiny_olmoe),
        prompt_file,
        tmp_path / "sig.parquet",
        batch_size=4,
        generate=3,
        traces=True,
        dtype="float32",
        device="cpu",
    )
    sig = routesig.load_signatures(out)
    tr = routesig.load_traces(tmp_path / "sig.traces.parquet")
    assert sig.ids == tr.ids == [f"q{i:02d}" for i in range(15)]  # file order, not length order
    md = sig.metadata
    assert (md["architecture"], md["num_experts"], md["top_k"], md["moe_layers"]) == ("olmoe", 8, 2, [0, 1])
    assert md["tokens"] == "prompt" and md["generate"] == 3 and md["dtype"] == "float32"
    tok = load_tokenizer(str(tiny_olmoe))
    for i, pid in enumerate(sig.ids):
        token_ids, experts = tr.get(pid)
        n = int(tr.n_prompt_tokens[i])
        assert n == sig.n_tokens[i] and token_ids[:n].tolist() == tok(sig.texts[i])["input_ids"]
        assert len(token_ids) - n == sig.generated["n_tokens"][i] == 3
        for part, counts in ((experts[:n], sig.counts[i]), (experts[n:], sig.generated["counts"][i])):
            agg = np.zeros_like(counts)
            for layer in range(2):
                np.add.at(agg[layer], part[:, layer].astype(int).ravel(), 1)
            np.testing.assert_array_equal(agg, counts)
    assert sig.generated["texts"][0] == tok.decode(
        tr.token_ids[0][tr.n_prompt_tokens[0] :], skip_special_tokens=True
    )


def test_chat_template_and_truncation(tiny_olmoe, prompt_file, tmp_path):
    tok = load_tokenizer(str(tiny_olmoe))
    out = routesig.capture(
        str(tiny_olmoe), prompt_file, tmp_path / "chat.parquet", chat_template=True, max_tokens=20
    )
    sig = routesig.load_signatures(out)
    rendered = [
        tok.apply_chat_template([{"role": "user", "content": t}], tokenize=False, add_generation_prompt=True)
        for t in sig.texts
    ]
    lengths = np.array([len(tok(r, add_special_tokens=False)["input_ids"]) for r in rendered])
    assert rendered[0].startswith("<|user|>") and rendered[0].endswith("<|assistant|>")
    np.testing.assert_array_equal(sig.n_tokens, np.minimum(lengths, 20))
    np.testing.assert_array_equal(sig.truncated, lengths > 20)
    assert sig.truncated.any() and sig.metadata["tokens"] == "chat_template"


def test_rerun_of_finished_capture_is_a_no_op_unless_settings_differ(tiny_olmoe, prompt_file, tmp_path):
    out = routesig.capture(str(tiny_olmoe), prompt_file, tmp_path / "s.parquet")
    stamp = out.stat().st_mtime_ns
    assert routesig.capture(str(tiny_olmoe), prompt_file, out) == out
    assert out.stat().st_mtime_ns == stamp
    with pytest.raises(RoutesigError, match="other settings .*max_tokens.*--overwrite"):
        routesig.capture(str(tiny_olmoe), prompt_file, out, max_tokens=5)
    routesig.capture(str(tiny_olmoe), prompt_file, out, max_tokens=5, overwrite=True)
    assert routesig.load_signatures(out).n_tokens.max() == 5
