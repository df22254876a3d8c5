"""Counting the experts each token used, from the taps of :func:`~routesig.capture.archs.resolve`.

Every MoE layer's tap calls the recorder with ``indices [rows, k]`` and ``weights [rows, k]`` for the rows
(batch x sequence, batch-major) of the current forward pass. Before each forward the engine says which prompt
slot each row belongs to; padding rows and finished sequences go to an extra "dump" slot that is dropped.
Counting is one ``scatter_add_`` per layer into a flat ``[(slots + 1) * L * (E + 1)]`` buffer (the extra
expert column takes indices >= E, "no expert"), so nothing leaves the device until the batch is done.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.hooks import RemovableHandle

from routesig.capture.archs import RoutingLayout
from routesig.errors import RoutesigError


class Accumulator:
    """Per-slot counts and weight sums of one phase (prompt or generated tokens) of one batch, on device."""

    def __init__(self, n_slots: int, num_layers: int, num_experts: int, device: torch.device) -> None:
        self.shape = (n_slots + 1, num_layers, num_experts + 1)
        size = int(np.prod(self.shape))
        self.counts = torch.zeros(size, dtype=torch.int64, device=device)
        self.weights = torch.zeros(size, dtype=torch.float32, device=device)

    def to_numpy(self) -> tuple[np.ndarray, np.ndarray]:
        """``(counts, weights)`` as [slots, L, E] int64 / float32 arrays; dump slot and column dropped."""
        c = self.counts.view(self.shape)[:-1, :, :-1]
        w = self.weights.view(self.shape)[:-1, :, :-1]
        return c.cpu().numpy(), w.cpu().numpy()


class RoutingRecorder:
    """Context manager that hooks every MoE layer of a resolved model and counts its routing.

    Parameters
    ----------
    layout : RoutingLayout
        From :func:`routesig.capture.archs.resolve`.
    keep_traces : bool
        Also keep each forward's per-token indices (see :meth:`trace`).

    Examples
    --------
    >>> with RoutingRecorder(resolve(model)) as rec:                        # doctest: +SKIP
    ...     acc = Accumulator(2, rec.num_layers, rec.num_experts, device)
    ...     rec.route_to(acc, slots)   # slots: [rows] prompt slot of each row, 2 = padding
    ...     model.model(input_ids, attention_mask=mask)
    """

    def __init__(self, layout: RoutingLayout, keep_traces: bool = False) -> None:
        self.layout = layout
        self.num_layers = len(layout.taps)
        self.num_experts = layout.num_experts
        self.keep_traces = keep_traces
        self._handles: list[RemovableHandle] = []
        self._target: Accumulator | None = None
        self._base: torch.Tensor | None = None
        self._step: list[torch.Tensor | None] = [None] * self.num_layers

    def __enter__(self) -> RoutingRecorder:
        self._handles = [tap.attach(self._hook_for(j)) for j, tap in enumerate(self.layout.taps)]
        return self

    def __exit__(self, *exc: object) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def route_to(self, target: Accumulator, slots: torch.Tensor) -> None:
        """Count the next forward's rows into ``target``; ``slots[r]`` is row r's slot (dump = last)."""
        self._target = target
        # offset of each row's slot in the flat buffer; the layer and expert are added per call
        stride = self.num_layers * (self.num_experts + 1)
        self._base = (slots.to(torch.int64) * stride).unsqueeze(1)
        self._step = [None] * self.num_layers

    def stop(self) -> None:
        """Count nothing until the next :meth:`route_to`."""
        self._target, self._base = None, None

    def _hook_for(self, layer: int):  # noqa: ANN202 - a RoutingCallback
        offset = layer * (self.num_experts + 1)

        def record(indices: torch.Tensor, weights: torch.Tensor) -> None:
            if self._target is None or self._base is None:
                return  # a forward nobody asked to count (e.g. a user's own call between batches)
            if indices.shape[0] != self._base.shape[0]:
                raise RoutesigError(
                    f"MoE layer {layer} routed {indices.shape[0]} rows, the batch has {self._base.shape[0]}: "
                    "this architecture's hook point does not see batch x sequence rows"
                )
            idx = indices.to(torch.int64)
            # "no expert" (an index < 0 or >= E) goes to the extra column that is dropped, never to expert 0
            idx = torch.where((idx < 0) | (idx > self.num_experts), self.num_experts, idx)
            flat = (self._base + offset + idx).reshape(-1)
            self._target.counts.scatter_add_(0, flat, torch.ones_like(flat))
            self._target.weights.scatter_add_(0, flat, weights.reshape(-1).to(torch.float32))
            if self.keep_traces:
                self._step[layer] = indices

        return record

    def trace(self) -> torch.Tensor:
        """Indices of the last forward as ``[rows, L, k]`` (on device); needs ``keep_traces=True``."""
        if any(t is None for t in self._step):
            raise RoutesigError("some MoE layer did not report its routing in the last forward pass")
        return torch.stack([t.to(torch.int64) for t in self._step], dim=1)  # type: ignore[union-attr]
