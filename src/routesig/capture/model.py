"""Loading a model and its tokenizer for capture, with safe defaults and one-line errors.

Weights load from safetensors only unless the user opts in to pickle files (``allow_pickle``), remote code
runs only with ``trust_remote_code``, and every failure a user can cause (no weights, missing folder, no
network, unknown dtype/device) becomes a :class:`~routesig.errors.RoutesigError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from routesig.errors import RoutesigError

DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` -> cuda if available, else mps, else cpu; otherwise the named device, checked.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise RoutesigError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RoutesigError(f"device {device!r} requested but CUDA is not available here: use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise RoutesigError(
            f"device {device!r} does not exist: this machine has {torch.cuda.device_count()} GPU(s)"
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise RoutesigError(f"device {device!r} requested but MPS is not available here: use --device cpu")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise RoutesigError(f"unsupported device {device!r}: use auto, cpu, cuda, cuda:N or mps")
    return dev


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``auto`` -> bfloat16 on GPU, float32 on CPU; otherwise one of :data:`DTYPES`.

    Examples
    --------
    >>> resolve_dtype("auto", torch.device("cpu"))
    torch.float32
    """
    if dtype == "auto":
        return torch.float32 if device.type == "cpu" else torch.bfloat16
    if dtype not in DTYPES:
        raise RoutesigError(f"unknown dtype {dtype!r}: use auto, float32, bfloat16 or float16")
    return DTYPES[dtype]


def _check_local_folder(path: Path, allow_pickle: bool) -> None:
    if not path.is_dir():
        raise RoutesigError(
            f"model path {path} is a file: pass the folder holding config.json and the weights"
        )
    if not (path / "config.json").exists():
        raise RoutesigError(f"{path} has no config.json: it is not a transformers model folder")
    safetensors = list(path.glob("*.safetensors")) or list(path.glob("*.safetensors.index.json"))
    pickles = [p for p in path.glob("*.bin") if p.name != "training_args.bin"] or list(
        path.glob("*.bin.index.json")
    )
    if safetensors or (pickles and allow_pickle):
        return
    if pickles:
        raise RoutesigError(
            f"{path} has only pickle weights ({pickles[0].name}), which can run arbitrary code: "
            "convert them to safetensors, or pass --allow-pickle if you trust the source"
        )
    raise RoutesigError(
        f"{path} has no model weights (*.safetensors): save the model there with save_pretrained"
    )


def _looks_local(model: str) -> bool:
    # hub ids are "name" or "org/name"; anything else (./x, /abs, ~/x, a/b/c, x\y) is meant as a path
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or "\\" in model


def _load_error(model: str, e: Exception) -> RoutesigError:
    first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
    return RoutesigError(
        f"could not load model {model!r}: not a local folder and the hub is unreachable or has no such model "
        f"({first}); pass a local folder, or check the id and your network"
    )


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No "Loading weights" bar: capture has its own progress bar, and errors must stay one line."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _pretrained_kwargs(revision: str | None, trust_remote_code: bool) -> dict[str, Any]:
    kw: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if revision is not None:
        kw["revision"] = revision
    return kw


def load_model(
    model: str,
    *,
    dtype: str = "auto",
    device: str = "auto",
    revision: str | None = None,
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
) -> torch.nn.Module:
    """Load a causal LM for capture, in eval mode, on ``device``.

    Parameters
    ----------
    model : str
        Hub id or local folder.
    dtype : {"auto", "float32", "bfloat16", "float16"}
        ``auto`` is bfloat16 on a GPU and float32 on CPU.
    device : str
        ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    revision : str, optional
        Branch, tag or commit on the hub.
    trust_remote_code : bool
        Run the model repository's own Python code (needed by some architectures).
    allow_pickle : bool
        Also accept ``pytorch_model.bin`` weights (pickle can run arbitrary code).

    Returns
    -------
    transformers.PreTrainedModel

    Examples
    --------
    >>> model = load_model("path/to/olmoe", dtype="float32", device="cpu")  # doctest: +SKIP
    """
    from transformers import AutoModelForCausalLM

    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    local = Path(model).expanduser()
    if local.exists():
        _check_local_folder(local, allow_pickle)
        model = str(local)
    elif _looks_local(model):
        raise RoutesigError(f"model folder not found: {model}: pass an existing folder or a hub id")
    try:
        with _quiet_transformers():
            net = AutoModelForCausalLM.from_pretrained(
                model,
                dtype=torch_dtype,
                use_safetensors=None if allow_pickle else True,
                **_pretrained_kwargs(revision, trust_remote_code),
            )
    except ValueError as e:
        if "trust_remote_code" in str(e):
            raise RoutesigError(
                f"model {model!r} needs its own code: pass --trust-remote-code if you trust the repository"
            ) from None
        if "Unrecognized" in str(e) or "does not recognize" in str(e):
            raise RoutesigError(
                f"model {model!r} is not a causal LM transformers can load ({str(e).splitlines()[0]})"
            ) from None
        raise
    except OSError as e:
        if local.exists():
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise RoutesigError(f"could not load model from {local} ({first})") from None
        raise _load_error(model, e) from None
    return net.to(dev).eval()


def load_tokenizer(model: str, *, revision: str | None = None, trust_remote_code: bool = False) -> Any:
    """The model's tokenizer (from the same id or folder).

    Raises
    ------
    RoutesigError
        When the folder or hub repo has no tokenizer.

    Examples
    --------
    >>> tok = load_tokenizer("path/to/olmoe")  # doctest: +SKIP
    """
    from transformers import AutoTokenizer

    local = Path(model).expanduser()
    try:
        return AutoTokenizer.from_pretrained(
            str(local) if local.exists() else model, **_pretrained_kwargs(revision, trust_remote_code)
        )
    except (OSError, ValueError, TypeError) as e:
        if local.exists():
            raise RoutesigError(
                f"{local} has no usable tokenizer: save one there with tokenizer.save_pretrained"
            ) from None
        raise _load_error(model, e) from None


def model_revision(model: torch.nn.Module, revision: str | None) -> str | None:
    """The commit hash the weights came from when known, else the requested revision."""
    return getattr(model.config, "_commit_hash", None) or revision
