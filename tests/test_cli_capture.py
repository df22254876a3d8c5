"""`routesig capture` on the command line: a good run, bad inputs (one line, exit 2), resume after kill -9."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
from typer.testing import CliRunner

import routesig
from routesig.cli import app


def _capture(*args: str | Path):
    return CliRunner().invoke(app, ["capture", *map(str, args)])


def _one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def test_capture_writes_file_and_rerun_says_complete(tiny_olmoe, prompt_file, tmp_path):
    out = tmp_path / "sig.parquet"
    first = _capture("--model", tiny_olmoe, "--prompts", prompt_file, "--out", out, "--batch-size", "4")
    assert first.exit_code == 0, first.output
    assert f"wrote {out}" in first.stdout and "tok/s" in first.stderr
    assert routesig.load_signatures(out).n_prompts == 15
    again = _capture("--model", tiny_olmoe, "--prompts", prompt_file, "--out", out, "--batch-size", "4")
    assert again.exit_code == 0 and "exists and is complete" in again.stderr


def test_generate_traces_and_chat_template_flags(tiny_olmoe, prompt_file, tmp_path):
    out = tmp_path / "gen.parquet"
    flags = ["--generate", "3", "--traces", "--chat-template", "--max-tokens", "12"]
    result = _capture("--model", tiny_olmoe, "--prompts", prompt_file, "--out", out, *flags)
    assert result.exit_code == 0, result.output
    assert "truncated" in result.stderr
    sig = routesig.load_signatures(out)
    md = sig.metadata
    assert (md["tokens"], md["generate"], md["max_tokens"], md["traces"]) == ("chat_template", 3, 12, True)
    assert sig.n_tokens.max() == 12 and sig.truncated.sum() == (sig.n_tokens == 12).sum()
    gen = sig.generated
    np.testing.assert_array_equal(gen["counts"].sum(2), md["top_k"] * gen["n_tokens"][:, None].repeat(2, 1))
    traces = routesig.load_traces(tmp_path / "gen.traces.parquet")
    assert [len(t) for t in traces.token_ids] == (sig.n_tokens + gen["n_tokens"]).tolist()
    with pytest.raises(routesig.RoutesigError, match="not a routesig traces file"):
        routesig.load_traces(out)


@pytest.fixture(scope="module")
def dense_model(tmp_path_factory, tiny_olmoe) -> Path:
    folder = tmp_path_factory.mktemp("llama")
    cfg = LlamaConfig(
        vocab_size=512,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    LlamaForCausalLM(cfg).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_olmoe).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def no_template_model(tmp_path_factory, tiny_olmoe) -> Path:
    folder = tmp_path_factory.mktemp("no_template")
    shutil.copy(tiny_olmoe / "config.json", folder)
    shutil.copy(tiny_olmoe / "model.safetensors", folder)
    tok = AutoTokenizer.from_pretrained(tiny_olmoe)
    tok.chat_template = None
    tok.save_pretrained(folder)
    return folder


def _file(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_bad_inputs_are_one_line_errors(tiny_olmoe, prompt_file, dense_model, no_template_model, tmp_path):
    out = tmp_path / "o.parquet"
    no_weights = tmp_path / "no_weights"
    no_weights.mkdir()
    shutil.copy(tiny_olmoe / "config.json", no_weights)
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(tiny_olmoe / "config.json", pickled)
    torch.save({}, pickled / "pytorch_model.bin")
    cases = [
        ({"--prompts": tmp_path / "nope.jsonl"}, ["prompt file not found", "nope.jsonl"]),
        ({"--prompts": _file(tmp_path, "p.parquet", b"junk")}, ["could not read", "p.parquet"]),
        ({"--prompts": _file(tmp_path, "p.yaml", "a: b")}, ["unknown prompt file format '.yaml'"]),
        (
            {"--prompts": _file(tmp_path, "c.jsonl", '{"prompt": "x", "label": "y"}\n')},
            ["no text column 'text'", "columns found: prompt, label", "--text-column"],
        ),
        (
            {
                "--prompts": _file(
                    tmp_path, "e.jsonl", '{"id": "a", "text": "x"}\n{"id": "zz", "text": " "}\n'
                )
            },
            ["'zz'", "empty or whitespace"],
        ),
        (
            {"--prompts": _file(tmp_path, "d.jsonl", '{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n')},
            ["duplicate prompt id 'a'"],
        ),
        ({"--model": no_weights}, ["no model weights"]),
        ({"--model": pickled}, ["only pickle weights", "--allow-pickle"]),
        ({"--model": tmp_path / "missing_model"}, ["model folder not found"]),
        ({"--model": dense_model}, ["'llama' is not a supported MoE architecture"]),
        ({"--batch-size": "0"}, ["--batch-size must be an integer >= 1, got 0"]),
        ({"--max-tokens": "0"}, ["--max-tokens must be an integer >= 1"]),
        ({"--generate": "-1"}, ["--generate must be an integer >= 0"]),
        ({"--dtype": "float8"}, ["unknown dtype 'float8'"]),
        ({"--device": "tpu9"}, ["device 'tpu9'"]),
        (
            {"--model": no_template_model, "--chat-template": None},
            ["no chat template", "drop --chat-template"],
        ),
    ]
    for overrides, fragments in cases:
        opts = {"--model": tiny_olmoe, "--prompts": prompt_file, "--out": out, **overrides}
        args = [a for k, v in opts.items() for a in ((k,) if v is None else (k, v))]
        _one_line_error(_capture(*args), *fragments)
    assert not out.exists()


# -- resume after kill -9 ---------------------------------------------------------------------------
@pytest.mark.slow
def test_killed_capture_resumes_to_the_uninterrupted_result(tiny_olmoe, prompt_texts, tmp_path):
    rng = np.random.default_rng(0)
    rows = [{"id": f"r{i:04d}", "text": " ".join(rng.choice(prompt_texts, 2))} for i in range(600)]
    prompts = _file(tmp_path, "many.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "sig.parquet"
    cmd = [
        sys.executable,
        "-m",
        "routesig.cli",
        "capture",
        "--model",
        str(tiny_olmoe),
        "--prompts",
        str(prompts),
        "--out",
        str(out),
        "--batch-size",
        "1",
        "--traces",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    partial = tmp_path / "sig.parquet.partial"
    deadline = time.monotonic() + 120
    while not list(partial.glob("part-*.parquet")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "the capture finished before it could be killed: use more prompts"
    n_before = len(list(partial.glob("part-*.parquet")))
    assert n_before >= 1

    rerun = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming:" in rerun.stderr and "of 600 prompts already captured" in rerun.stderr
    assert not partial.exists()

    resumed = routesig.load_signatures(out)
    whole = routesig.load_signatures(
        routesig.capture(str(tiny_olmoe), prompts, tmp_path / "whole.parquet", batch_size=16, traces=True)
    )
    assert resumed.ids == whole.ids == [r["id"] for r in rows]  # each prompt exactly once, in file order
    np.testing.assert_array_equal(resumed.counts, whole.counts)
    np.testing.assert_array_equal(resumed.n_tokens, whole.n_tokens)
    tr_resumed, tr_whole = (
        routesig.load_traces(tmp_path / "sig.traces.parquet"),
        routesig.load_traces(tmp_path / "whole.traces.parquet"),
    )
    assert tr_resumed.ids == tr_whole.ids
    for a, b in zip(tr_resumed.experts, tr_whole.experts, strict=True):
        np.testing.assert_array_equal(np.sort(a, axis=-1), np.sort(b, axis=-1))
