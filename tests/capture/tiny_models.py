"""Tiny random MoE models of real transformers classes, for tests (no model hub).

Each architecture gets a config small enough to build, save and reload in well under a second: top-2 of
4-8 experts, a dense layer where the arch supports one, and non-zero routing biases (random init leaves
them at zero, which would hide code that ignores them). Names are ``model_type``s, except ``llama4``: the
text decoder alone (``Llama4ForCausalLM``, model_type ``llama4_text``).

Example
-------
>>> folder = save_tiny_model("olmoe", tmp_path)             # doctest: +SKIP
>>> model = AutoModelForCausalLM.from_pretrained(folder)    # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

VOCAB = 512
_COMMON = dict(
    vocab_size=VOCAB,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=256,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
    tie_word_embeddings=False,
)

# model_type -> config overrides on top of _COMMON. Dense-layer switches are set so that resolve() must skip
# some layers; group routing is set so that the group limit changes choices (topk_group < needed groups).
_DEEPSEEK_V3_LIKE = dict(
    num_key_value_heads=4,  # MLA attention has as many kv heads as heads
    n_routed_experts=8,
    num_experts_per_tok=2,
    n_shared_experts=1,
    moe_intermediate_size=16,
    n_group=4,
    topk_group=2,
    first_k_dense_replace=1,
    num_hidden_layers=3,
    routed_scaling_factor=2.5,
    norm_topk_prob=True,
)
TINY_CONFIGS: dict[str, dict[str, Any]] = {
    "olmoe": dict(num_experts=8, num_experts_per_tok=2),
    "mixtral": dict(num_local_experts=4, num_experts_per_tok=2),
    # layers 0 and 2 dense through decoder_sparse_step=2: they still have an `mlp` (a plain one)
    "qwen2_moe": dict(
        num_hidden_layers=4,
        num_experts=8,
        num_experts_per_tok=2,
        moe_intermediate_size=16,
        shared_expert_intermediate_size=32,
        decoder_sparse_step=2,
        mlp_only_layers=[],
    ),
    "qwen3_moe": dict(
        num_hidden_layers=3,
        num_experts=8,
        num_experts_per_tok=2,
        moe_intermediate_size=16,
        mlp_only_layers=[0],
    ),
    "qwen3_next": dict(
        num_experts=8,
        num_experts_per_tok=2,
        moe_intermediate_size=16,
        shared_expert_intermediate_size=32,
        head_dim=8,
        layer_types=["linear_attention", "full_attention"],
        linear_key_head_dim=8,
        linear_value_head_dim=8,
        linear_num_key_heads=2,
        linear_num_value_heads=4,
        mlp_only_layers=[],
    ),
    "deepseek_v2": dict(
        num_key_value_heads=4,
        n_routed_experts=8,
        num_experts_per_tok=2,
        n_shared_experts=1,
        moe_intermediate_size=16,
        topk_method="group_limited_greedy",
        n_group=4,
        topk_group=1,  # top-2 inside one group: not plain top-2 whenever the best two sit in two groups
        first_k_dense_replace=1,
        num_hidden_layers=3,
        kv_lora_rank=16,
        q_lora_rank=16,
        qk_rope_head_dim=8,
        v_head_dim=8,
        qk_nope_head_dim=8,
    ),
    "deepseek_v3": dict(
        _DEEPSEEK_V3_LIKE,
        kv_lora_rank=16,
        q_lora_rank=16,
        qk_rope_head_dim=8,
        v_head_dim=8,
        qk_nope_head_dim=8,
    ),
    "glm4_moe": dict(_DEEPSEEK_V3_LIKE, head_dim=8),
    "dots1": dict(_DEEPSEEK_V3_LIKE, head_dim=8),
    "gpt_oss": dict(num_local_experts=4, num_experts_per_tok=2, head_dim=8, sliding_window=8),
    "granitemoe": dict(num_local_experts=4, num_experts_per_tok=2),
    "granitemoeshared": dict(num_local_experts=4, num_experts_per_tok=2, shared_intermediate_size=32),
    "phimoe": dict(
        num_local_experts=4, num_experts_per_tok=2, rope_parameters=dict(rope_type="default", rope_theta=1e4)
    ),
    "dbrx": dict(
        d_model=32,  # DBRX copies d_model (not the hidden_size alias) into ffn_config while initialising
        attn_config=dict(kv_n_heads=2, rope_theta=10000.0, clip_qkv=8.0),  # DBRX reads attn_config.rope_theta
        ffn_config=dict(ffn_hidden_size=32, moe_num_experts=4, moe_top_k=2),
    ),
    "jetmoe": dict(num_local_experts=4, num_experts_per_tok=2, kv_channels=8, num_key_value_heads=2),
    # Llama 4's text decoder alone (Llama4ForCausalLM); layer 0 dense through interleave_moe_layer_step=2
    "llama4": dict(
        model_type="llama4_text",
        num_local_experts=4,
        num_experts_per_tok=2,
        intermediate_size_mlp=64,
        head_dim=8,
        interleave_moe_layer_step=2,
        attention_chunk_size=64,
    ),
    "ernie4_5_moe": dict(
        num_hidden_layers=3,
        moe_num_experts=8,
        moe_k=2,
        moe_num_shared_experts=1,
        moe_intermediate_size=16,
        moe_layer_start_index=1,
        moe_layer_end_index=2,
    ),
    "hunyuan_v1_moe": dict(num_experts=4, moe_topk=2, head_dim=8),
    "flex_olmo": dict(num_experts=4, num_experts_per_tok=2),
    "minimax_m2": dict(num_local_experts=4, num_experts_per_tok=2, head_dim=8),  # bias on the block
    "afmoe": dict(
        num_hidden_layers=3,
        num_dense_layers=1,
        num_experts=8,
        num_experts_per_tok=2,
        num_shared_experts=1,
        moe_intermediate_size=16,
        head_dim=8,
        global_attn_every_n_layers=2,
        sliding_window=8,
    ),
    "exaone_moe": dict(
        num_hidden_layers=3,
        mlp_layer_types=["dense", "sparse", "sparse"],
        num_experts=8,
        num_experts_per_tok=2,
        num_shared_experts=1,
        moe_intermediate_size=16,
        n_group=4,
        topk_group=2,
        sliding_window=8,
    ),
    # 2 of the 6 experts are LongCat's zero-compute (identity) experts: index >= n_routed_experts
    "longcat_flash": dict(
        num_hidden_layers=4,  # = 2 x num_layers: each LongCat layer has two attention sublayers
        num_key_value_heads=4,
        ffn_hidden_size=64,
        n_routed_experts=6,
        zero_expert_num=2,
        moe_topk=2,
        expert_ffn_hidden_size=16,
        kv_lora_rank=16,
        q_lora_rank=16,
        qk_rope_head_dim=8,
        v_head_dim=8,
        qk_nope_head_dim=8,
        head_dim=8,
    ),
}
ARCH_NAMES: list[str] = sorted(TINY_CONFIGS)

# Names of routing-bias parameters / buffers that random init leaves at zero.
_ROUTING_BIASES = ("e_score_correction_bias", "moe_statics", "expert_bias")


def tiny_config(arch: str) -> PretrainedConfig:
    """A tiny random config of ``arch`` (a ``model_type`` in :data:`ARCH_NAMES`)."""
    kwargs = {**_COMMON, **TINY_CONFIGS[arch]}
    return AutoConfig.for_model(kwargs.pop("model_type", arch), **kwargs)


def build_tiny_model(arch: str, seed: int = 0) -> PreTrainedModel:
    """A randomly initialised tiny model of ``arch`` in eval mode, fp32, with non-zero routing biases."""
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(tiny_config(arch), dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            if any(b in name for b in _ROUTING_BIASES) or name.endswith("router.bias"):
                # big enough to change which experts win on many tokens (router logits are ~0.1 here)
                t.copy_(torch.randn(t.shape, generator=gen))
    return model.eval()


_TEXT = [
    "def add(a, b):\n    return a + b",
    "for i in range(10): print(i * i)",
    "import numpy as np; x = np.zeros((3, 4))",
    "SELECT name, count(*) FROM users GROUP BY name;",
    "Solve for x: 3x + 7 = 22, so x = 5.",
    "The derivative of x^2 is 2x; the integral of 1/x is ln|x|.",
    "What is 17 times 23? It is 391.",
    "Once upon a time a small fox lived at the edge of a dark forest.",
    "The dragon slept on a hoard of gold while the village waited.",
    "She opened the old letter and began to cry.",
    "Paris is the capital of France. Water boils at 100 degrees Celsius.",
    "The Pacific is the largest ocean on Earth; Mount Everest is the highest peak.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    "User: hello! Assistant: Hi, how can I help you today?",
    "Numbers 0 1 2 3 4 5 6 7 8 9 and symbols {}[]()<>!?@#$%^&*-_=+",
]
_CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def tiny_tokenizer(vocab_size: int = VOCAB) -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on a few hundred lines in well under a second (ids < ``vocab_size``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<s>", "</s>"],  # ids 0, 1, 2 = the configs' pad / bos / eos
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_TEXT * 20, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        chat_template=_CHAT_TEMPLATE,
    )


def save_tiny_model(arch: str, folder: str | Path, with_tokenizer: bool = True, seed: int = 0) -> Path:
    """Save a tiny ``arch`` model (safetensors) and, by default, a tiny tokenizer to ``folder``."""
    folder = Path(folder)
    build_tiny_model(arch, seed).save_pretrained(folder, safe_serialization=True)
    if with_tokenizer:
        tiny_tokenizer().save_pretrained(folder)
    return folder
