"""Where each MoE architecture keeps its routing: the one table of per-architecture knowledge.

Every supported ``config.model_type`` has one :class:`ArchSpec` row in :data:`ARCHS`. A row says where the
decoder layers are, which submodule of a layer is the MoE block, how many experts / top-k the config
declares, and the *hook point* that sees the experts each token really used.

The default hook point is a forward pre-hook on the block's experts module: in transformers 5.x most MoE
blocks call ``experts(hidden[B*T, H], top_k_index[B*T, k], top_k_weights[B*T, k])`` after the router has
applied biases, group limits and normalisation, so the arguments are exactly what ran. Top-k of raw router
logits would be wrong on bias- or group-routed archs (DeepSeek-V3 family, ERNIE 4.5, MiniMax-M2, AFMoE).
Where the experts never see indices (JetMoE, Llama 4) a small named hook on the router's output rebuilds
exactly the choice the block uses; it is referenced from the arch's row, like everything else here.

Nothing outside this module knows about architectures: the capture engine only sees :class:`RoutingLayout`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from routesig.errors import RoutesigError

# fn(indices [rows, k] int64, weights [rows, k] float); rows = batch * seq, flattened batch-major.
# An index >= num_experts means "no expert" (padding, LongCat's zero-compute experts) and is not counted.
RoutingCallback = Callable[[torch.Tensor, torch.Tensor], None]


AttachFn = Callable[[nn.Module, RoutingCallback], RemovableHandle]


@dataclass
class Tap:
    """A named hook point on one MoE layer that reports the routing each forward pass used.

    ``top_k`` / ``num_experts``, when set, make every report exactly ``top_k`` wide: a layer that routes
    fewer experts per token (per-layer top-k, e.g. Hunyuan's list ``moe_topk``) is padded with the
    "no expert" index ``num_experts`` and weight 0, so all layers stack into one ``[rows, L, k]`` trace.
    """

    name: str  # e.g. "model.layers.3.mlp.experts": model.get_submodule(name) is the hooked module
    module: nn.Module
    attach_fn: AttachFn
    top_k: int | None = None
    num_experts: int = 0

    def attach(self, fn: RoutingCallback) -> RemovableHandle:
        """Call ``fn(indices [rows, k], weights [rows, k])`` on every forward of this layer."""
        if self.top_k is None:
            return self.attach_fn(self.module, fn)
        k, pad_index = self.top_k, self.num_experts

        def padded(idx: torch.Tensor, w: torch.Tensor) -> None:
            missing = k - idx.shape[-1]
            if missing > 0:
                idx = torch.nn.functional.pad(idx, (0, missing), value=pad_index)
                w = torch.nn.functional.pad(w, (0, missing), value=0.0)
            fn(idx, w)

        return self.attach_fn(self.module, padded)


@dataclass
class RoutingLayout:
    """What capture needs to know about a loaded model."""

    arch: str
    num_experts: int
    top_k: int  # the largest top-k of any layer; reports are padded to it (see Tap)
    num_decoder_layers: int
    moe_layers: list[int]  # decoder-layer index of each tap
    taps: list[Tap]
    notes: str = ""


# -- hook points -----------------------------------------------------------------------------------
# Each takes the hook module and the callback and returns the torch hook handle. All report rows in the
# order of ``hidden.view(-1, H)`` (batch-major) and the weights that scale the experts' outputs (or inputs).
def _arg(args: tuple, kwargs: dict, pos: int, names: tuple[str, ...]) -> Any:
    if len(args) > pos:
        return args[pos]
    for n in names:
        if n in kwargs:
            return kwargs[n]
    raise RoutesigError(
        "routing hook could not find top-k indices in the experts call: architecture changed?"
    )


def experts_prehook(module: nn.Module, fn: RoutingCallback) -> RemovableHandle:
    """Pre-hook on ``experts(hidden, top_k_index, top_k_weights)``: the exact selection that ran."""

    def hook(_m: nn.Module, args: tuple, kwargs: dict) -> None:
        idx = _arg(args, kwargs, 1, ("top_k_index", "router_indices", "selected_experts"))
        w = _arg(args, kwargs, 2, ("top_k_weights", "routing_weights", "router_scores"))
        fn(idx.reshape(-1, idx.shape[-1]), w.reshape(-1, w.shape[-1]))

    return module.register_forward_pre_hook(hook, with_kwargs=True)


def jetmoe_router_hook(module: nn.Module, fn: RoutingCallback) -> RemovableHandle:
    """Forward hook on JetMoE's ``JetMoeTopKGating``, whose experts never receive per-token indices.

    The gate returns its choice sorted by expert: ``index_sorted_experts`` (positions in the flattened
    ``[tokens * k]`` choice), ``batch_gates`` (their weights) and ``expert_size`` (how many per expert).
    Scattering them back gives the ``[tokens, k]`` indices and weights the experts ran with.
    """

    def hook(m: nn.Module, _args: tuple, out: tuple) -> None:
        sorted_pos, _token, gates, expert_size, logits = out
        k = m.top_k
        experts = torch.repeat_interleave(
            torch.arange(len(expert_size), device=logits.device),
            torch.as_tensor(expert_size, device=logits.device),
        )
        idx = torch.empty(logits.shape[0] * k, dtype=torch.int64, device=logits.device)
        w = torch.empty(logits.shape[0] * k, dtype=gates.dtype, device=logits.device)
        idx[sorted_pos], w[sorted_pos] = experts, gates
        fn(idx.view(-1, k), w.view(-1, k))

    return module.register_forward_hook(hook)


def llama4_router_hook(module: nn.Module, fn: RoutingCallback) -> RemovableHandle:
    """Forward hook on ``Llama4Router``, which returns dense ``[tokens, E]`` scores (0 off the top-k).

    The experts run every expert on ``hidden * score`` and never see indices, so the choice is re-derived
    exactly as the router makes it (``topk`` of its own logits) and the weights are the scores it gave them.
    """

    def hook(m: nn.Module, _args: tuple, out: tuple) -> None:
        scores, logits = out
        idx = torch.topk(logits, m.top_k, dim=1).indices
        fn(idx, scores.gather(1, idx))

    return module.register_forward_hook(hook)


# -- the table -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArchSpec:
    """How one architecture (``config.model_type``) routes.

    A decoder layer is MoE when its block has both the ``router`` and the ``hook`` submodules: the dense
    MLPs that DeepSeek's ``first_k_dense_replace``, Qwen's ``mlp_only_layers`` / ``decoder_sparse_step``,
    ERNIE's ``moe_layer_*`` or Llama 4's ``interleave_moe_layer_step`` put at the same path have neither.

    Attributes
    ----------
    num_experts, top_k : config fields, first present wins (dotted paths allowed; a per-layer list: its max)
    layers : attribute path to the list of decoder layers, from the model or its ``model`` / ``transformer``
    block : attribute path from a decoder layer to its MoE block
    router : attribute path from the block to the module that chooses the experts
    hook : attribute path from the block to the module the hook sits on
    attach : the hook function (see :func:`experts_prehook`)
    notes : one line for ``routesig archs``
    """

    num_experts: tuple[str, ...]
    top_k: tuple[str, ...]
    layers: str = "layers"
    block: str = "mlp"
    router: str = "gate"
    hook: str = "experts"
    attach: AttachFn = experts_prehook
    notes: str = ""

    @property
    def hook_point(self) -> str:
        """Where the hook sits and what it reads, e.g. ``layers.N.mlp.experts (input)``."""
        reads = "input" if self.attach is experts_prehook else "output"
        return f"{self.layers}.N.{self.block}.{self.hook} ({reads})"


_E_TOK = ("num_experts_per_tok",)
_DEEPSEEK_V3 = ArchSpec(
    ("n_routed_experts",),
    _E_TOK,
    notes="sigmoid + e_score_correction_bias + group-limited top-k; shared experts",
)
ARCHS: dict[str, ArchSpec] = {
    "olmoe": ArchSpec(("num_experts",), _E_TOK, notes="softmax then top-k"),
    "mixtral": ArchSpec(("num_local_experts",), _E_TOK, notes="softmax top-k, renormalised"),
    "phimoe": ArchSpec(
        ("num_local_experts",), _E_TOK, router="router", notes="sparsemixer top-2 (eval mode)"
    ),
    "qwen2_moe": ArchSpec(
        ("num_experts",),
        _E_TOK,
        notes="softmax top-k; gated shared expert; mlp_only_layers / decoder_sparse_step dense",
    ),
    "qwen3_moe": ArchSpec(
        ("num_experts",), _E_TOK, notes="softmax top-k; mlp_only_layers / decoder_sparse_step dense"
    ),
    "qwen3_next": ArchSpec(
        ("num_experts",), _E_TOK, notes="softmax top-k; gated shared expert; hybrid attention"
    ),
    "deepseek_v2": ArchSpec(
        ("n_routed_experts",), _E_TOK, notes="softmax top-k, greedy or group_limited_greedy; shared experts"
    ),
    "deepseek_v3": _DEEPSEEK_V3,
    "glm4_moe": _DEEPSEEK_V3,
    "dots1": _DEEPSEEK_V3,
    "ernie4_5_moe": ArchSpec(
        ("moe_num_experts",), ("moe_k",), notes="softmax + moe_statics bias for the choice; moe_layer_* dense"
    ),
    "hunyuan_v1_moe": ArchSpec(
        ("num_experts",),
        ("moe_topk",),
        notes="softmax top-k; shared_mlp; per-layer moe_topk padded to its max",
    ),
    "gpt_oss": ArchSpec(
        ("num_local_experts",), _E_TOK, router="router", notes="top-k of biased logits, softmax"
    ),
    "granitemoe": ArchSpec(
        ("num_local_experts",),
        _E_TOK,
        block="block_sparse_moe",
        router="router",
        notes="top-k logits, softmax",
    ),
    "granitemoeshared": ArchSpec(
        ("num_local_experts",),
        _E_TOK,
        block="block_sparse_moe",
        router="router",
        notes="shared_mlp is outside the block",
    ),
    "flex_olmo": ArchSpec(("num_experts",), _E_TOK, notes="softmax top-k (OLMoE-like)"),
    "minimax_m2": ArchSpec(
        ("num_local_experts",), _E_TOK, notes="sigmoid + the block's e_score_correction_bias for the choice"
    ),
    "afmoe": ArchSpec(
        ("num_experts",),
        _E_TOK,
        router="router",
        notes="sigmoid + expert_bias for the choice; shared experts; num_dense_layers dense",
    ),
    "exaone_moe": ArchSpec(
        ("num_experts",), _E_TOK, notes="DeepSeek-V3-style biased group routing; mlp_layer_types dense"
    ),
    "longcat_flash": ArchSpec(
        ("n_routed_experts",),
        ("moe_topk",),
        router="router",
        notes="zero-compute experts (index >= n_routed_experts) not counted; the dense mlps not captured",
    ),
    "dbrx": ArchSpec(
        ("ffn_config.moe_num_experts",),
        ("ffn_config.moe_top_k",),
        layers="blocks",
        block="ffn",
        router="router",
        notes="router returns logits only; the choice is read at the experts",
    ),
    "jetmoe": ArchSpec(
        ("num_local_experts",),
        _E_TOK,
        router="router",
        hook="router",
        attach=jetmoe_router_hook,
        notes="MLP experts only (not the attention experts, self_attention.experts)",
    ),
    "llama4_text": ArchSpec(
        ("num_local_experts",),
        _E_TOK,
        block="feed_forward",
        router="router",
        hook="router",
        attach=llama4_router_hook,
        notes="Llama 4 text decoder; sigmoid scores scale the experts' input; shared expert",
    ),
}


# -- resolution ------------------------------------------------------------------------------------
def _getattr_path(obj: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def _has_path(obj: Any, path: str) -> bool:
    try:
        return isinstance(_getattr_path(obj, path), nn.Module)
    except (AttributeError, IndexError):
        return False


def _config_value(config: Any, names: tuple[str, ...], what: str, arch: str) -> int:
    for n in names:
        try:
            v = _getattr_path(config, n)
        except AttributeError:
            continue
        if isinstance(v, (list, tuple)):  # per-layer values (Hunyuan's moe_topk): the widest layer
            v = max(v, default=None)
        if v is not None:
            return int(v)
    raise RoutesigError(
        f"{arch} config has none of {', '.join(names)} ({what}): the checkpoint's config.json is incomplete"
    )


def supported_archs() -> list[str]:
    """Sorted ``model_type`` names routesig can capture."""
    return sorted(ARCHS)


def base_model(model: nn.Module) -> nn.Module:
    """The decoder stack without the LM head (``model.model`` for ``*ForCausalLM``)."""
    base = getattr(model, "base_model", model)
    # Llama 4's ForCausalLM declares base_model_prefix "language_model" but stores its decoder as ``model``
    return getattr(model, "model", model) if base is model else base


# Where the decoder stack may sit under the object given to resolve(): itself (a base model), the usual
# ``model`` / ``transformer`` of a *ForCausalLM, or the text half of a multimodal wrapper.
_ROOTS = ("", "model", "transformer", "language_model", "model.language_model")


def _decoder_layers(model: nn.Module, spec: ArchSpec, arch: str) -> tuple[str, nn.ModuleList]:
    for root in _ROOTS:
        path = f"{root}.{spec.layers}" if root else spec.layers
        if _has_path(model, path):
            return path, _getattr_path(model, path)
    raise RoutesigError(
        f"this {arch} model has no decoder layers at {spec.layers!r}: load it with AutoModelForCausalLM "
        "(routesig.capture.model.load_model)"
    )


def resolve(model: nn.Module) -> RoutingLayout:
    """Find every MoE layer of ``model`` and its hook point.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A causal LM (``*ForCausalLM``) or its base model, of an architecture in :data:`ARCHS`.

    Returns
    -------
    RoutingLayout
        One :class:`Tap` per MoE layer; dense layers are left out and ``moe_layers`` says which are kept.

    Raises
    ------
    RoutesigError
        For an architecture not in :data:`ARCHS` (dense or unknown), or one configured with no MoE layer.

    Examples
    --------
    >>> layout = resolve(model)                                  # doctest: +SKIP
    >>> layout.moe_layers, layout.num_experts, layout.top_k      # doctest: +SKIP
    ([1, 2], 64, 8)
    >>> handle = layout.taps[0].attach(lambda idx, w: print(idx.shape))  # doctest: +SKIP
    """
    config = getattr(model, "config", None)
    text_config = getattr(config, "get_text_config", lambda: config)()
    arch = (
        getattr(text_config, "model_type", None)
        or getattr(config, "model_type", None)
        or type(model).__name__
    )
    spec = ARCHS.get(arch) or ARCHS.get(getattr(config, "model_type", ""))
    if spec is None:
        raise RoutesigError(
            f"model type {arch!r} is not a supported MoE architecture (dense or unknown): "
            f"supported are {', '.join(supported_archs())} (see `routesig archs`)"
        )
    num_experts = _config_value(text_config, spec.num_experts, "number of experts", arch)
    top_k = _config_value(text_config, spec.top_k, "experts per token", arch)
    layers_path, layers = _decoder_layers(model, spec, arch)
    taps, moe_layers = [], []
    for i, layer in enumerate(layers):
        block = _getattr_path(layer, spec.block) if _has_path(layer, spec.block) else None
        if block is None or not (_has_path(block, spec.router) and _has_path(block, spec.hook)):
            continue  # dense layer: no block, or a plain MLP at the block's path
        taps.append(
            Tap(
                name=f"{layers_path}.{i}.{spec.block}.{spec.hook}",
                module=_getattr_path(block, spec.hook),
                attach_fn=spec.attach,
                top_k=top_k,
                num_experts=num_experts,
            )
        )
        moe_layers.append(i)
    if not taps:
        raise RoutesigError(f"no MoE layer found in this {arch} model: it is configured dense")
    return RoutingLayout(
        arch=arch,
        num_experts=num_experts,
        top_k=top_k,
        num_decoder_layers=len(layers),
        moe_layers=moe_layers,
        taps=taps,
        notes=spec.notes,
    )
