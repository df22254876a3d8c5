#!/usr/bin/env python
"""Train the byte-level BPE tokenizer of routesig's demo MoE model.

Reads build/corpus/{code,math,story,factual}.train.txt (equal amounts of each domain), trains a
byte-level BPE with `tokenizers`, wraps it in `transformers.PreTrainedTokenizerFast` with
bos/eos/pad/unk tokens and a small chat template, and saves it so that
`AutoTokenizer.from_pretrained(folder)` loads it.

Usage: .venv/bin/python recipes/demo_model/train_tokenizer.py [--corpus build/corpus] [--out build/tokenizer]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

DOMAINS = ("code", "math", "story", "factual")
DOC_SEP = "\n\x1e\n"
BOS, EOS, PAD, UNK = "<|bos|>", "<|endoftext|>", "<|pad|>", "<|unk|>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>"]
SPECIAL_TOKENS = [PAD, BOS, EOS, UNK, *ROLE_TOKENS]  # ids 0..6 in this order
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] | trim + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def iter_training_text(corpus: Path, mb_per_domain: float, seed: int):
    rng = random.Random(seed)
    for d in DOMAINS:
        docs = (corpus / f"{d}.train.txt").read_text(encoding="utf-8").split(DOC_SEP)
        rng.shuffle(docs)
        budget = int(mb_per_domain * 1e6)
        for doc in docs:
            if budget <= 0:
                break
            budget -= len(doc)
            yield doc


def build_tokenizer(texts, vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        additional_special_tokens=ROLE_TOKENS,
        model_max_length=512,
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="build/corpus")
    ap.add_argument("--out", default="build/tokenizer")
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--mb-per-domain", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args(argv)
    fast = build_tokenizer(
        iter_training_text(Path(args.corpus), args.mb_per_domain, args.seed), args.vocab_size
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(out)
    # sanity: reload through AutoTokenizer, round-trip, chat template
    from transformers import AutoTokenizer

    t = AutoTokenizer.from_pretrained(out)
    s = "def add(a, b):\n    return a + b  # Solve 3x + 5 = 20. It was a truth universally acknowledged."
    ids = t(s)["input_ids"]
    assert ids[0] == t.bos_token_id and t.decode(ids, skip_special_tokens=True) == s, "round trip failed"
    assert t.pad_token_id is not None
    chat = t.apply_chat_template(
        [{"role": "user", "content": "What is 2 + 2?"}], tokenize=False, add_generation_prompt=True
    )
    print(
        f"[train_tokenizer] vocab={len(t)} pad={t.pad_token_id} bos={t.bos_token_id} eos={t.eos_token_id} "
        f"tokens/char on sample={len(ids) / len(s):.3f}\n[train_tokenizer] chat example: {chat!r}\n"
        f"[train_tokenizer] saved to {out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
