"""The shipped demo MoE model (src/routesig/data/models/demo-olmoe) and its training recipe."""

# ruff: noqa: E501  (long generated-text / model-card strings)
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = REPO / "src" / "routesig" / "data" / "models" / "demo-olmoe"
TRAIN_PY = REPO / "recipes" / "demo_model" / "train.py"

# Held-out style texts written for this test (not from the training corpus, not from routesig's suites).
TEXTS = {
    "code": "def mean(values):\n    total = 0\n    for v in values:\n        total += v\n    return total / len(values)\n",
    "math": "Solve for x: 4x + 7 = 31.\nSolution:\nSubtract 7 from both sides: 4x = 24.\nDivide both sides by 4: x = 6.",
    "story": "She walked slowly down the lane, wondering whether her sister would ever forgive her for what she had "
    "said at dinner the evening before.",
    "factual": "Copper (noun): a ductile reddish-brown metallic element that is an excellent conductor of heat and "
    "electricity.",
}
NATURAL_SENTENCE = (
    "It was a cold morning in the village, and the children ran down the road to see the old man "
    "who lived by the river."
)


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(MODEL_DIR)


@pytest.fixture(scope="module")
def model():
    from transformers import AutoModelForCausalLM

    m = AutoModelForCausalLM.from_pretrained(MODEL_DIR)
    m.eval()
    return m


@pytest.fixture(scope="module")
def random_model(model):
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(0)
    m = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(MODEL_DIR))
    m.eval()
    return m


def test_folder_is_a_normal_hf_folder():
    assert (MODEL_DIR / "config.json").is_file()
    assert (MODEL_DIR / "MODEL_CARD.md").is_file()
    cfg = json.loads((MODEL_DIR / "config.json").read_text())
    assert cfg["model_type"] == "olmoe"
    assert cfg["architectures"] == ["OlmoeForCausalLM"]
    weights = list(MODEL_DIR.glob("*.safetensors"))
    assert weights, "no safetensors weights"
    assert sum(w.stat().st_size for w in weights) <= 30 * 1000 * 1000
    assert not list(MODEL_DIR.glob("*.bin")), "weights must be safetensors only"


def test_model_loads_fp32(model):
    assert model.config.model_type == "olmoe"
    assert model.config.num_experts >= 8 and 1 < model.config.num_experts_per_tok < model.config.num_experts
    assert next(model.parameters()).dtype == torch.float32


def test_tokenizer_pad_roundtrip_and_chat_template(tok):
    assert tok.pad_token is not None and tok.pad_token_id is not None
    assert tok.bos_token_id is not None and tok.eos_token_id is not None
    assert len({tok.pad_token_id, tok.bos_token_id, tok.eos_token_id}) == 3
    for text in [*TEXTS.values(), "Unicode: café, naïve, 東京, 🙂"]:
        ids = tok(text)["input_ids"]
        assert tok.decode(ids, skip_special_tokens=True) == text
    batch = tok(list(TEXTS.values()), padding=True, return_tensors="pt")
    assert (batch["input_ids"][batch["attention_mask"] == 0] == tok.pad_token_id).all()
    chat = tok.apply_chat_template(
        [{"role": "user", "content": "What is 2 + 2?"}], tokenize=False, add_generation_prompt=True
    )
    assert "<|user|>" in chat and "What is 2 + 2?" in chat and chat.rstrip().endswith("<|assistant|>")


def test_short_forward_and_batched_padding(model, tok):
    batch = tok(list(TEXTS.values()), padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(**batch, output_router_logits=True)
    B, T = batch["input_ids"].shape
    assert out.logits.shape == (B, T, model.config.vocab_size)
    assert torch.isfinite(out.logits).all()
    assert len(out.router_logits) == model.config.num_hidden_layers
    assert out.router_logits[0].shape == (B * T, model.config.num_experts)
    # right padding does not change the real tokens' logits
    single = tok(TEXTS["code"], return_tensors="pt")
    with torch.no_grad():
        o1 = model(**single).logits[0]
    n = single["input_ids"].shape[1]
    assert torch.allclose(o1, out.logits[0, :n], atol=1e-4)


def _lm_loss(model, tok, text: str) -> float:
    enc = tok(text, return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc).logits[0, :-1]
    return float(torch.nn.functional.cross_entropy(logits, enc["input_ids"][0, 1:]))


def test_lm_loss_well_below_uniform(model, random_model, tok):
    log_v = math.log(model.config.vocab_size)
    trained = _lm_loss(model, tok, NATURAL_SENTENCE)
    rand = _lm_loss(random_model, tok, NATURAL_SENTENCE)
    assert rand > log_v - 0.5  # a random init is about uniform
    assert trained < 0.7 * log_v, (trained, log_v)


# A few more held-out texts per domain for the routing statistics (written for this test).
MORE = {
    "code": [
        "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n"
        "        self.items.append(item)\n\n    def pop(self):\n        if not self.items:\n"
        "            raise IndexError('pop from empty stack')\n        return self.items.pop()\n",
        "import os\n\n\ndef list_files(root):\n    result = []\n    for name in sorted(os.listdir(root)):\n"
        "        path = os.path.join(root, name)\n        if os.path.isfile(path):\n            result.append(path)\n"
        "    return result\n",
    ],
    "math": [
        "A train travels 180 km in 3 hours. What is its average speed?\nSolution:\nSpeed = distance / time = "
        "180 km / 3 h = 60 km/h.",
        "Find the derivative of f(x) = 3x^2 + 5x - 2.\nDifferentiate term by term: d/dx(3x^2) = 6x and "
        "d/dx(5x) = 5. So f'(x) = 6x + 5.",
    ],
    "story": [
        "The old captain stood at the window for a long time without speaking. At last he turned to the boy and "
        "said that the ship would sail at dawn, whether the storm had passed or not.",
        '"I had not thought to see you here," said Mrs. Bennet, rising from her chair, "and least of all on such '
        'a morning as this."',
    ],
    "factual": [
        "Paris is the capital and largest city of France. It is situated on the river Seine, in the north of the "
        "country, and has been a major centre of finance, diplomacy, commerce and science since the 17th century.",
        "Granite (noun): a hard, coarse-grained igneous rock composed chiefly of quartz, feldspar and mica, widely "
        "used as a building stone.",
    ],
}


def _router_outputs(model, tok):
    """{domain: list of [T, E] router-logit tensors per layer, tokens of all the domain's texts stacked}."""
    res = {}
    with torch.no_grad():
        for d in TEXTS:
            per_layer = None
            for text in [TEXTS[d], *MORE[d]]:
                enc = tok(text, return_tensors="pt")
                rl = model(**enc, output_router_logits=True).router_logits
                per_layer = (
                    list(rl)
                    if per_layer is None
                    else [torch.cat([a, b]) for a, b in zip(per_layer, rl, strict=True)]
                )
            res[d] = per_layer
    return res


@pytest.fixture(scope="module")
def routed(model, tok):
    return _router_outputs(model, tok)


@pytest.fixture(scope="module")
def routed_random(random_model, tok):
    return _router_outputs(random_model, tok)


def _router_entropy(outs) -> float:
    """Mean per-token entropy of the router's softmax, normalised by log(num_experts) (1 = uniform)."""
    ents = []
    for layers in outs.values():
        for rl in layers:
            p = rl.float().softmax(-1)
            ents.append((-(p * p.clamp_min(1e-12).log()).sum(-1) / math.log(p.shape[-1])).mean().item())
    return sum(ents) / len(ents)


def _domain_router_distance(outs) -> float:
    """Mean over layers and domain pairs of the total-variation distance between the domains' mean router
    probability vectors (softmax of the router logits, averaged over the domain's tokens).  Dense, so much
    less noisy on a few short texts than top-k selection counts."""
    probs = {d: torch.stack([rl.float().softmax(-1).mean(0) for rl in layers]) for d, layers in outs.items()}
    tvs = [0.5 * (probs[a] - probs[b]).abs().sum(-1).mean().item() for a in probs for b in probs if a < b]
    return sum(tvs) / len(tvs)


def test_routing_is_learned_not_uniform(routed, routed_random):
    ent_t, ent_r = _router_entropy(routed), _router_entropy(routed_random)
    # a random-init router is nearly uniform over experts for every token ...
    assert ent_r > 0.97, ent_r
    # ... a trained one commits to a few experts per token
    assert ent_t < ent_r - 0.1, (ent_t, ent_r)


def test_routing_differs_across_domains_beyond_random_init(routed, routed_random):
    # measured at export: trained ~0.4, random init ~0.05-0.07 (seeds 0-3)
    tv_t, tv_r = _domain_router_distance(routed), _domain_router_distance(routed_random)
    assert tv_t > 0.15 and tv_t > 2 * tv_r, (tv_t, tv_r)


def test_model_card_reports_per_domain_validation_loss():
    card = (MODEL_DIR / "MODEL_CARD.md").read_text()
    for needle in ("code", "math", "story", "factual", "held-out", "recipes/demo_model", "licence"):
        assert needle.lower() in card.lower(), needle


SYNTH = {
    "code": "def f{i}(x):\n    return x * {i} + 1\n",
    "math": "Solve {i}x + 3 = {j}. Subtract 3: {i}x = {k}.",
    "story": "Once upon a time {i} foxes ran into the forest and the moon rose over the hill.",
    "factual": "Element {i} (noun): a substance that cannot be broken down; it has atomic number {i}.",
}


def _run_train(argv: list[str]) -> str:
    """Run recipes/demo_model/train.py's main() in-process (saves a second interpreter + transformers import)."""
    spec = importlib.util.spec_from_file_location("routesig_demo_train", TRAIN_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    threads = torch.get_num_threads()
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            assert mod.main(argv) == 0
    finally:
        torch.set_num_threads(threads)
    return buf.getvalue()


def test_train_smoke_end_to_end(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for d, pat in SYNTH.items():
        for split, n in (("train", 200), ("valid", 30)):
            docs = [pat.format(i=i, j=i + 3 + 2 * i, k=2 * i + 3) for i in range(n)]
            (corpus / f"{d}.{split}.txt").write_text("\n\x1e\n".join(docs))
    out = tmp_path / "model"
    common = [
        "--smoke",
        "--corpus",
        str(corpus),
        "--tokenizer",
        str(MODEL_DIR),
        "--work-dir",
        str(tmp_path / "work"),
        "--out",
        str(out),
        "--max-steps",
        "4",
        "--threads",
        "1",
    ]
    log = _run_train(common)
    assert "step 4 loss" in log, log
    assert (tmp_path / "work" / "ckpt.pt").is_file()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    m = AutoModelForCausalLM.from_pretrained(out)
    t = AutoTokenizer.from_pretrained(out)
    assert m.config.model_type == "olmoe" and m.config.num_hidden_layers == 2
    assert t.pad_token_id is not None
    with torch.no_grad():
        assert torch.isfinite(m(**t("Solve 2x = 4.", return_tensors="pt")).logits).all()
    card = (out / "MODEL_CARD.md").read_text()
    assert "Evaluation on held-out text" in card
    # a killed/finished run resumes from its checkpoint
    log2 = _run_train([*common, "--max-steps", "6", "--no-export"])
    assert "resumed from" in log2 and "step 6 loss" in log2, log2
