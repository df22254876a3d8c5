"""Where each MoE architecture keeps its routing: the one table of per-architecture knowledge.

Every supported ``config.model_type`` has one :class:`ArchSpec` row in :data:`ARCHS`. A row says where the
decoder layers are, which submodule of a layer is the MoE block, how many experts / top-k the config
declares, and the *hook point* that sees the experts each token really used.

The default hook point is a forward pre-hook on the block's experts module: in transformers 5.x most MoE
blocks call ``experts(hidden[B*T, H], top_k_index[B*T, k], top_k_weights[B*T, k])`` after the router has
applied biases, group limits and normalisation, so the arguments are exactly what ran. Top-k of raw router
logits would be wrong on bias- or group-routed archs (DeepSeek-V3 family, ERNIE 4.5).

Nothing outside this module knows about architectures: the capture engine only sees :class:`RoutingLayout`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from routesig.errors import RoutesigError

# fn(indices [rows, k] int64, weights [rows, k] float); rows = batch * seq, flattened batch-major.
# An index >= num_experts means "no expert" (dropped / zero expert) and is not counted.
RoutingCallback = Callable[[torch.Tensor, torch.Tensor], None]


@dataclass
class Tap:
    """A named hook point on one MoE layer that reports the routing each forward pass used."""

    name: str  # e.g. "model.layers.3.mlp.experts" (the module the hook sits on)
    module: nn.Module
    attach_fn: Callable[[nn.Module, RoutingCallback], RemovableHandle]

    def attach(self, fn: RoutingCallback) -> RemovableHandle:
        return self.attach_fn(self.module, fn)


@dataclass
class RoutingLayout:
    """What capture needs to know about a loaded model."""

    arch: str
    num_experts: int
    top_k: int
    num_decoder_layers: int
    moe_layers: list[int]  # decoder-layer index of each tap
    taps: list[Tap]
    notes: str = ""


# -- hook points -----------------------------------------------------------------------------------
def _arg(args: tuple, kwargs: dict, pos: int, names: tuple[str, ...]) -> Any:
    if len(args) > pos:
        return args[pos]
    for n in names:
        if n in kwargs:
            return kwargs[n]
    raise RoutesigError("routing hook could not find top-k indices in the experts call: architecture changed?")


def experts_prehook(module: nn.Module, fn: RoutingCallback) -> RemovableHandle:
    """Pre-hook on ``experts(hidden, top_k_index, top_k_weights)``: the exact selection that ran."""

    def hook(_m: nn.Module, args: tuple, kwargs: dict) -> None:
        idx = _arg(args, kwargs, 1, ("top_k_index", "router_indices", "selected_experts"))
        w = _arg(args, kwargs, 2, ("top_k_weights", "routing_weights", "router_scores"))
        fn(idx.reshape(-1, idx.shape[-1]), w.reshape(-1, w.shape[-1]))

    return module.register_forward_pre_hook(hook, with_kwargs=True)


# -- the table -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArchSpec:
    """How one architecture (``config.model_type``) routes.

    Attributes
    ----------
    layers : attribute path from the *base model* to the list of decoder layers
    block : attribute path from a decoder layer to its MoE block; a layer without it is dense and skipped
    hook : attribute path from the block to the module the hook sits on
    attach : the hook function (see :func:`experts_prehook`)
    num_experts, top_k : config fields, first present wins (dotted paths allowed)
    """

    num_experts: tuple[str, ...]
    top_k: tuple[str, ...]
    layers: str = "layers"
    block: str = "mlp"
    hook: str = "experts"
    attach: Callable[[nn.Module, RoutingCallback], RemovableHandle] = experts_prehook
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


ARCHS: dict[str, ArchSpec] = {
    "olmoe": ArchSpec(("num_experts",), ("num_experts_per_tok",), notes="softmax then top-k"),
    "mixtral": ArchSpec(("num_local_experts",), ("num_experts_per_tok",), notes="softmax top-k"),
}


# -- resolution ------------------------------------------------------------------------------------
def _getattr_path(obj: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def _config_value(config: Any, names: tuple[str, ...], what: str, arch: str) -> int:
    for n in names:
        try:
            v = _getattr_path(config, n)
        except AttributeError:
            continue
        if v is not None:
            return int(v)
    raise RoutesigError(f"{arch} config has none of {', '.join(names)} ({what}): the checkpoint's config.json is incomplete")


def supported_archs() -> list[str]:
    """Sorted ``model_type`` names routesig can capture."""
    return sorted(ARCHS)


def base_model(model: nn.Module) -> nn.Module:
    """The decoder stack without the LM head (``model.model`` for ``*ForCausalLM``)."""
    return getattr(model, "base_model", model)


def resolve(model: nn.Module) -> RoutingLayout:
    """Find every MoE layer of ``model`` and its hook point.

    Raises
    ------
    RoutesigError
        For an architecture not in :data:`ARCHS` (dense or unknown model).
    """
    config = model.config
    text_config = getattr(config, "get_text_config", lambda: config)()
    arch = getattr(text_config, "model_type", None) or getattr(config, "model_type", "?")
    spec = ARCHS.get(arch) or ARCHS.get(getattr(config, "model_type", ""))
    if spec is None:
        raise RoutesigError(
            f"model type {arch!r} is not a supported MoE architecture (dense or unknown): "
            f"supported are {', '.join(supported_archs())} (see `routesig archs`)"
        )
    layers = _getattr_path(base_model(model), spec.layers)
    taps, moe_layers = [], []
    for i, layer in enumerate(layers):
        try:
            block = _getattr_path(layer, spec.block)
            hook_module = _getattr_path(block, spec.hook)
        except (AttributeError, IndexError):
            continue  # dense layer
        taps.append(Tap(name=f"layers.{i}.{spec.block}.{spec.hook}", module=hook_module, attach_fn=spec.attach))
        moe_layers.append(i)
    if not taps:
        raise RoutesigError(f"no MoE layer found in this {arch} model: it is configured dense")
    return RoutingLayout(
        arch=arch,
        num_experts=_config_value(text_config, spec.num_experts, "number of experts", arch),
        top_k=_config_value(text_config, spec.top_k, "experts per token", arch),
        num_decoder_layers=len(layers),
        moe_layers=moe_layers,
        taps=taps,
        notes=spec.notes,
    )
