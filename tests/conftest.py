"""Shared fixtures: tiny saved MoE models (random weights, built here, no hub) and a small prompt file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from capture.tiny_models import _TEXT, save_tiny_model

CATEGORIES = (
    "code",
    "code",
    "code",
    "code",
    "math",
    "math",
    "math",
    "story",
    "story",
    "story",
    "factual",
    "factual",
    "factual",
    "chat",
    "misc",
)


@pytest.fixture(scope="session")
def tiny_olmoe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with a 2-layer, 8-expert top-2 OLMoE (safetensors) and a tiny BPE tokenizer (chat template)."""
    return save_tiny_model("olmoe", tmp_path_factory.mktemp("olmoe"))


@pytest.fixture(scope="session")
def tiny_deepseek_v3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3-layer DeepSeek-V3: first layer dense, group-limited routing, random non-zero correction bias."""
    from routesig.capture.archs import ARCHS

    if "deepseek_v3" not in ARCHS:
        pytest.skip("deepseek_v3 is not in the architecture table yet")
    return save_tiny_model("deepseek_v3", tmp_path_factory.mktemp("deepseek_v3"))


@pytest.fixture(scope="session")
def prompt_texts() -> list[str]:
    """15 prompts of 13-26 tokens (mixed lengths, so batches need padding)."""
    return list(_TEXT)


@pytest.fixture
def prompt_file(tmp_path: Path, prompt_texts: list[str]) -> Path:
    """JSONL with id, text and category for every prompt."""
    path = tmp_path / "prompts.jsonl"
    rows = [
        {"id": f"q{i:02d}", "text": t, "category": c}
        for i, (t, c) in enumerate(zip(prompt_texts, CATEGORIES, strict=True))
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
