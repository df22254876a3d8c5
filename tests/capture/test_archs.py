"""The per-architecture table: every supported arch, as a tiny random model saved and loaded back.

For each MoE layer the captured indices and weights must re-execute the block: routed experts with the
captured choice (plus shared experts) give the block's real output. A wrong hook point, a wrong index
order or top-k of raw logits on a bias-routed arch all fail that check.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM
from typer.testing import CliRunner

from routesig.capture.archs import ARCHS, RoutingLayout, base_model, resolve, supported_archs
from routesig.capture.model import load_model
from routesig.cli import app
from routesig.errors import RoutesigError

from .tiny_models import ARCH_NAMES, VOCAB, save_tiny_model, tiny_config

BATCH, SEQ = 3, 8

# Hand-worked from the configs in tiny_models.py: (experts, top-k, MoE decoder layers, decoder layers).
EXPECTED = {
    "olmoe": (8, 2, [0, 1], 2),
    "mixtral": (4, 2, [0, 1], 2),
    "qwen2_moe": (8, 2, [1, 3], 4),  # decoder_sparse_step=2: (i + 1) % 2 == 0
    "qwen3_moe": (8, 2, [1, 2], 3),  # mlp_only_layers=[0]
    "qwen3_next": (8, 2, [0, 1], 2),
    "deepseek_v2": (8, 2, [1, 2], 3),  # first_k_dense_replace=1
    "deepseek_v3": (8, 2, [1, 2], 3),
    "glm4_moe": (8, 2, [1, 2], 3),
    "dots1": (8, 2, [1, 2], 3),
    "ernie4_5_moe": (8, 2, [1, 2], 3),  # moe_layer_start_index=1
    "gpt_oss": (4, 2, [0, 1], 2),
    "granitemoe": (4, 2, [0, 1], 2),
    "granitemoeshared": (4, 2, [0, 1], 2),
    "phimoe": (4, 2, [0, 1], 2),
    "dbrx": (4, 2, [0, 1], 2),
    "jetmoe": (4, 2, [0, 1], 2),
    "llama4": (4, 2, [1], 2),  # interleave_moe_layer_step=2
    "hunyuan_v1_moe": (4, 2, [0, 1], 2),
    "flex_olmo": (4, 2, [0, 1], 2),
    "minimax_m2": (4, 2, [0, 1], 2),
    "afmoe": (8, 2, [1, 2], 3),  # num_dense_layers=1
    "exaone_moe": (8, 2, [1, 2], 3),  # mlp_layer_types
    "longcat_flash": (6, 2, [0, 1], 2),  # plus 2 zero-compute experts, indices 6 and 7
}
# Archs whose choice is NOT top-k of the raw router logits (bias and/or group-limited routing).
BIAS_ROUTED = {
    *("deepseek_v2", "deepseek_v3", "glm4_moe", "dots1", "ernie4_5_moe"),
    *("minimax_m2", "afmoe", "exaone_moe", "longcat_flash"),
}
# Archs with extra "zero-compute" experts: indices >= num_experts that the table's contract does not count.
ZERO_EXPERTS = {"longcat_flash": 2}


@dataclass
class Run:
    """One forward pass of a tiny model with every tap and every MoE block recorded."""

    arch: str
    model: nn.Module
    layout: RoutingLayout
    blocks: list[nn.Module]
    taps: list[tuple[torch.Tensor, torch.Tensor]]  # (indices, weights) per MoE layer
    block_in: list[torch.Tensor]  # [rows, H]
    block_out: list[torch.Tensor]  # [rows, H]


def _first(x: object) -> torch.Tensor:
    return x[0] if isinstance(x, tuple) else x  # gpt_oss / llama4 blocks also return router outputs


def forward_recorded(model: nn.Module, input_ids: torch.Tensor) -> Run:
    layout = resolve(model)
    # a tap's name is its module path; its block is the parent (experts / router sit right under it)
    assert all(model.get_submodule(t.name) is t.module for t in layout.taps)
    blocks = [model.get_submodule(t.name.rsplit(".", 1)[0]) for t in layout.taps]
    taps, block_in, block_out = [None] * len(blocks), [None] * len(blocks), [None] * len(blocks)
    handles = []
    for j, (tap, block) in enumerate(zip(layout.taps, blocks, strict=True)):
        handles.append(tap.attach(lambda i, w, j=j: taps.__setitem__(j, (i.clone(), w.clone()))))
        handles.append(
            block.register_forward_pre_hook(lambda m, a, j=j: block_in.__setitem__(j, a[0].detach()))
        )
        handles.append(
            block.register_forward_hook(lambda m, a, o, j=j: block_out.__setitem__(j, _first(o).detach()))
        )
    with torch.no_grad():
        model(input_ids=input_ids)
    for h in handles:
        h.remove()
    hidden = model.config.get_text_config().hidden_size
    flat = [t.reshape(-1, hidden) for t in block_in], [t.reshape(-1, hidden) for t in block_out]
    return Run(layout.arch, model, layout, blocks, taps, *flat)


@pytest.fixture(scope="module", params=ARCH_NAMES)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = save_tiny_model(request.param, tmp_path_factory.mktemp(request.param), with_tokenizer=False)
    model = load_model(str(folder), dtype="float32", device="cpu")  # the path users take
    ids = torch.randint(3, VOCAB, (BATCH, SEQ), generator=torch.Generator().manual_seed(0))
    result = forward_recorded(model, ids)
    result.arch = request.param
    return result


# -- re-executing a block from the captured routing ---------------------------------------------------
def _gathered_mlp(x: torch.Tensor, up: torch.Tensor, down: torch.Tensor, act, out_in: bool) -> torch.Tensor:
    """Each row's own expert GLU: ``up`` [rows, 2I, H] and ``down`` [rows, H, I] when ``out_in`` (nn.Linear
    layout), else [rows, H, 2I] and [rows, I, H]; the gate is the first half of ``up``."""
    gate, lin = torch.einsum("rh,rih->ri" if out_in else "rh,rhi->ri", x, up).chunk(2, dim=-1)
    return torch.einsum("ri,rhi->rh" if out_in else "ri,rih->rh", act(gate) * lin, down)


def routed(arch: str, block: nn.Module, h: torch.Tensor, idx: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Sum over the captured k of weight x expert(h); experts that never see indices are computed here."""
    if arch == "jetmoe":  # two ParallelExperts [E, out, in]; the gate scales the output; plus a bias
        up, down = block.input_linear.weight, block.output_linear.weight
        out = sum(
            w[:, j : j + 1] * _gathered_mlp(h, up[idx[:, j]], down[idx[:, j]], block.activation, True)
            for j in range(idx.shape[1])
        )
        return out + block.bias
    if arch == "llama4":  # every expert runs on hidden * score; unchosen experts see 0 and give 0
        ex = block.experts
        return sum(
            _gathered_mlp(
                h * w[:, j : j + 1], ex.gate_up_proj[idx[:, j]], ex.down_proj[idx[:, j]], ex.act_fn, False
            )
            for j in range(idx.shape[1])
        )
    return block.experts(h, idx, w).reshape(h.shape)  # the experts' own math, fed the captured choice


SHARED = {
    "qwen2_moe": lambda b, h: torch.sigmoid(b.shared_expert_gate(h)) * b.shared_expert(h),
    "qwen3_next": lambda b, h: torch.sigmoid(b.shared_expert_gate(h)) * b.shared_expert(h),
    "deepseek_v2": lambda b, h: b.shared_experts(h),
    "deepseek_v3": lambda b, h: b.shared_experts(h),
    "glm4_moe": lambda b, h: b.shared_experts(h),
    "dots1": lambda b, h: b.shared_experts(h),
    "ernie4_5_moe": lambda b, h: b.shared_experts(h),
    "hunyuan_v1_moe": lambda b, h: b.shared_mlp(h),
    "llama4": lambda b, h: b.shared_expert(h),
    "afmoe": lambda b, h: b.shared_experts(h),
    "exaone_moe": lambda b, h: b.shared_experts(h),
}


def test_captured_routing_reexecutes_every_moe_block(run: Run) -> None:
    with torch.no_grad():
        for block, (idx, w), h, real in zip(run.blocks, run.taps, run.block_in, run.block_out, strict=True):
            experts_out = routed(run.arch, block, h, idx, w)
            shared_out = SHARED[run.arch](block, h) if run.arch in SHARED else 0.0
            torch.testing.assert_close(experts_out + shared_out, real, rtol=1e-5, atol=1e-6)
            # and the captured weights matter: zeroing all but each token's first choice changes the output
            first_only = w * torch.tensor([1.0] + [0.0] * (w.shape[1] - 1))
            assert not torch.allclose(routed(run.arch, block, h, idx, first_only), experts_out, atol=1e-6)


def test_layout_matches_config(run: Run) -> None:
    num_experts, top_k, moe_layers, n_layers = EXPECTED[run.arch]
    assert (run.layout.num_experts, run.layout.top_k) == (num_experts, top_k)
    assert run.layout.moe_layers == moe_layers
    assert run.layout.num_decoder_layers == n_layers
    assert len(run.layout.taps) == len(moe_layers)
    assert len({id(t.module) for t in run.layout.taps}) == len(moe_layers)


def test_one_row_per_token_with_top_k_distinct_experts(run: Run) -> None:
    n_experts, zero = run.layout.num_experts, ZERO_EXPERTS.get(run.arch, 0)
    for idx, w in run.taps:
        assert idx.shape == w.shape == (BATCH * SEQ, run.layout.top_k)
        assert idx.dtype == torch.int64 and w.is_floating_point()
        assert int(idx.min()) >= 0 and int(idx.max()) < n_experts + zero
        assert all(len(set(row)) == run.layout.top_k for row in idx.tolist())
    all_idx = torch.cat([i.reshape(-1) for i, _ in run.taps])
    # zero-compute experts are really chosen (so "not counted" is exercised), and real ones too
    assert bool((all_idx >= n_experts).any()) == bool(zero)
    assert bool((all_idx < n_experts).any())
    if not zero:  # counts as routesig stores them: every token contributes top_k
        counts = torch.stack([torch.bincount(i.reshape(-1), minlength=n_experts) for i, _ in run.taps])
        assert counts.sum(dim=1).tolist() == [BATCH * SEQ * run.layout.top_k] * len(run.taps)


def _raw_top_k(run: Run, block: nn.Module, h: torch.Tensor) -> torch.Tensor:
    router = block.get_submodule(ARCHS[run.layout.arch].router)
    linear = (
        router
        if isinstance(getattr(router, "weight", None), torch.Tensor)
        else next(m for m in router.modules() if isinstance(m, nn.Linear))
    )
    logits = F.linear(h.float(), linear.weight.float(), getattr(linear, "bias", None))
    return logits.topk(run.layout.top_k, dim=-1).indices


def test_bias_routed_archs_differ_from_top_k_of_raw_logits(run: Run) -> None:
    differ = total = 0
    for block, (idx, _), h in zip(run.blocks, run.taps, run.block_in, strict=True):
        raw = _raw_top_k(run, block, h)
        differ += sum(set(a) != set(b) for a, b in zip(idx.tolist(), raw.tolist(), strict=True))
        total += idx.shape[0]
    if run.arch in BIAS_ROUTED:
        assert differ > 0, "captured choice equals raw top-k: the test would not catch a raw-logit capture"
    else:
        assert differ == 0, f"{differ}/{total} tokens differ from top-k of the router logits"


# -- table-wide properties ------------------------------------------------------------------------
def test_every_supported_arch_has_a_tiny_model() -> None:
    tested = {tiny_config(a).model_type for a in ARCH_NAMES}
    assert tested == set(supported_archs()) == set(ARCHS)


def test_per_layer_top_k_is_padded_with_no_expert() -> None:
    config = tiny_config("hunyuan_v1_moe")
    config.moe_topk = [1, 2]  # layer 0 routes one expert, layer 1 two
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    r = forward_recorded(model, torch.randint(3, VOCAB, (2, 5)))
    assert r.layout.top_k == 2
    (idx0, w0), (idx1, _) = r.taps
    assert (idx0[:, 1] == r.layout.num_experts).all() and (w0[:, 1] == 0).all()
    assert (idx0[:, 0] < r.layout.num_experts).all() and (idx1 < r.layout.num_experts).all()
    # the padded choice still re-executes the block (the experts skip index == num_experts)
    out = r.blocks[0].experts(r.block_in[0], idx0, w0) + r.blocks[0].shared_mlp(r.block_in[0])
    torch.testing.assert_close(out, r.block_out[0])


def _one_line_error(model: nn.Module) -> str:
    with pytest.raises(RoutesigError) as e:
        resolve(model)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_dense_model_is_refused() -> None:
    cfg = AutoConfig.for_model(
        "llama",
        vocab_size=64,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
    )
    msg = _one_line_error(AutoModelForCausalLM.from_config(cfg))
    assert "'llama'" in msg and "not a supported MoE" in msg and "routesig archs" in msg


def test_unknown_model_is_refused() -> None:
    class Net(nn.Module):
        config = AutoConfig.for_model("olmoe")
        config.model_type = "my_moe"  # instance attribute: the class default stays olmoe

    msg = _one_line_error(Net())
    assert "'my_moe'" in msg and "olmoe" in msg


def test_moe_arch_configured_dense_is_refused() -> None:
    config = tiny_config("qwen3_moe")
    config.mlp_only_layers = list(range(config.num_hidden_layers))
    msg = _one_line_error(AutoModelForCausalLM.from_config(config))
    assert "no MoE layer" in msg and "qwen3_moe" in msg


def test_config_without_expert_count_is_refused() -> None:
    model = AutoModelForCausalLM.from_config(tiny_config("dots1"))
    model.config.n_routed_experts = None  # optional in Dots1Config: a hand-edited config.json may lack it
    msg = _one_line_error(model)
    assert "n_routed_experts" in msg and "config.json" in msg


def test_base_model_resolves_like_the_lm(run: Run) -> None:
    # capture runs the decoder without the LM head: it must find the very same modules
    base = base_model(run.model)
    assert base is not run.model and not hasattr(base, "lm_head")
    layout = resolve(base)
    assert layout.moe_layers == run.layout.moe_layers
    assert [t.module for t in layout.taps] == [t.module for t in run.layout.taps]


def test_decoder_found_under_a_multimodal_wrapper() -> None:
    lm = AutoModelForCausalLM.from_config(tiny_config("olmoe"))
    wrapper = nn.Module()  # the layout of *ForConditionalGeneration: model.language_model.layers
    wrapper.config, wrapper.model = lm.config, nn.Module()
    wrapper.model.language_model = lm.model
    layout = resolve(wrapper)
    assert [t.name for t in layout.taps] == [f"model.language_model.layers.{i}.mlp.experts" for i in (0, 1)]
    assert [t.module for t in layout.taps] == [t.module for t in resolve(lm).taps]


def test_archs_command_lists_the_table() -> None:
    result = CliRunner().invoke(app, ["archs"])
    assert result.exit_code == 0
    header, *lines = result.output.strip().splitlines()
    assert header.split()[:2] == ["model_type", "hook"]
    assert [line.split()[0] for line in lines] == supported_archs()
    rows = {line.split()[0]: line for line in lines}
    assert "blocks.N.ffn.experts (input)" in rows["dbrx"]
    assert "layers.N.feed_forward.router (output)" in rows["llama4_text"]
    assert "self_attention.experts" in rows["jetmoe"]  # says which experts it does not capture
