"""Model loading: safe defaults (safetensors only), dtype/device choice, one-line errors."""

from __future__ import annotations

import shutil

import pytest
import torch
from transformers import AutoModelForCausalLM

from routesig.capture.model import load_model, load_tokenizer, model_revision, resolve_device, resolve_dtype
from routesig.errors import RoutesigError


def test_auto_dtype_and_device_on_cpu():
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    assert resolve_dtype("auto", torch.device("cuda")) == torch.bfloat16
    assert resolve_dtype("bf16", torch.device("cpu")) == torch.bfloat16
    if not torch.cuda.is_available():
        assert resolve_device("auto").type in ("cpu", "mps")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dtype": "float8"}, "unknown dtype 'float8': use auto, float32, bfloat16 or float16"),
        ({"device": "gpu0"}, "unknown device 'gpu0'"),
        ({"device": "xla"}, "unsupported device 'xla'"),
    ],
)
def test_bad_dtype_and_device(tiny_olmoe, kwargs, message):
    with pytest.raises(RoutesigError, match=message):
        load_model(str(tiny_olmoe), **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_requested_without_cuda(tiny_olmoe):
    with pytest.raises(RoutesigError, match="CUDA is not available here: use --device cpu"):
        load_model(str(tiny_olmoe), device="cuda")


def test_loads_in_eval_mode_with_requested_dtype(tiny_olmoe):
    model = load_model(str(tiny_olmoe), dtype="bfloat16", device="cpu")
    assert not model.training
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    ref = AutoModelForCausalLM.from_pretrained(tiny_olmoe)
    torch.testing.assert_close(model.lm_head.weight.float(), ref.lm_head.weight.bfloat16().float())
    assert load_tokenizer(str(tiny_olmoe)).eos_token == "</s>"


def test_pickle_weights_need_allow_pickle(tiny_olmoe, tmp_path):
    folder = tmp_path / "bin"  # transformers 5 only saves safetensors: write the old pickle layout by hand
    folder.mkdir()
    shutil.copy(tiny_olmoe / "config.json", folder)
    torch.save(AutoModelForCausalLM.from_pretrained(tiny_olmoe).state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(RoutesigError, match=r"only pickle weights \(pytorch_model.bin\).*--allow-pickle"):
        load_model(str(folder), device="cpu")
    model = load_model(str(folder), device="cpu", allow_pickle=True)
    ref = load_model(str(tiny_olmoe), device="cpu")
    torch.testing.assert_close(model.model.layers[0].mlp.gate.weight, ref.model.layers[0].mlp.gate.weight)


def test_folder_without_weights_and_missing_folder(tiny_olmoe, tmp_path):
    folder = tmp_path / "config_only"
    folder.mkdir()
    shutil.copy(tiny_olmoe / "config.json", folder)
    with pytest.raises(RoutesigError, match=r"has no model weights \(\*.safetensors\)"):
        load_model(str(folder))
    with pytest.raises(RoutesigError, match="has no config.json"):
        load_model(str(tmp_path))
    with pytest.raises(RoutesigError, match="model folder not found: ./no/such/model"):
        load_model("./no/such/model")


def test_hub_id_without_network_is_one_line(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(
        huggingface_hub.constants, "HF_HUB_OFFLINE", True
    )  # no network here anyway; skip retries
    with pytest.raises(RoutesigError) as err:
        load_model("no-such-org/no-such-model", device="cpu")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(
        "could not load model 'no-such-org/no-such-model': not a local folder"
    )


def test_revision_is_the_commit_hash_when_known(tiny_olmoe):
    model = load_model(str(tiny_olmoe), device="cpu")
    assert model_revision(model, "v1") == "v1"  # a local folder has no commit hash
    model.config._commit_hash = "abc123"
    assert model_revision(model, "v1") == "abc123"
