"""Controls: is the category visible in routing only because of word choice or prompt length?

- lexical: the same probe on bag-of-tokens vectors of the same prompts. Tokens come from the captured
  model's tokenizer (``AutoTokenizer.from_pretrained(metadata["model"], local_files_only=True)``) when it
  loads offline, else from the regex ``\\w+|[^\\w\\s]`` on lower-cased text; the summary records which.
  The vocabulary is fit inside each fold (it is part of the Pipeline).
- length: the same probe on the number of routed tokens alone.
- held-out: fit on one prompt suite, score another with the same layout and model.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from routesig.analysis.probe import MAX_ITER
from routesig.errors import RoutesigError
from routesig.signatures.store import Signatures

WORD = re.compile(r"\w+|[^\w\s]")
LAYOUT_KEYS = ("num_layers", "num_experts", "top_k", "moe_layers", "model")


def regex_tokenize(text: str) -> list[str]:
    """Fallback tokenizer: lower-cased words and single punctuation marks.

    Examples
    --------
    >>> regex_tokenize("Print(x) twice!")
    ['print', '(', 'x', ')', 'twice', '!']
    """
    return WORD.findall(text.lower())


def text_tokenizer(model_id: str | None) -> tuple[Callable[[str], list[str]], str]:
    """The model's tokenizer when it loads without network access, else :func:`regex_tokenize`.

    Returns the tokenize function and its name (the model id, or ``"regex"``).
    """
    if model_id:
        try:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(model_id, local_files_only=True)
            return tok.tokenize, str(model_id)
        except Exception:  # any failure to load (missing, gated, offline, odd files) means: use the fallback
            pass
    return regex_tokenize, "regex"


def lexical_probe_factory(
    tokenize: Callable[[str], list[str]], features: str = "counts"
) -> Callable[[], Pipeline]:
    """Builds bag-of-tokens -> scaler -> logistic regression pipelines (``counts`` or ``tfidf`` features)."""
    if features not in ("counts", "tfidf"):
        raise RoutesigError(f"unknown lexical features {features!r}: use counts or tfidf")
    vec = CountVectorizer if features == "counts" else TfidfVectorizer

    def make() -> Pipeline:
        return make_pipeline(
            vec(tokenizer=tokenize, lowercase=False, token_pattern=None),
            StandardScaler(with_mean=False),  # sparse input: scale without centring
            LogisticRegression(max_iter=MAX_ITER),
        )

    return make


def check_same_layout(a: Signatures, b: Signatures, a_name: str, b_name: str) -> None:
    """One-line error when two signature files do not come from the same model and layout."""
    for key in LAYOUT_KEYS:
        va, vb = a.metadata.get(key), b.metadata.get(key)
        if va != vb:  # a key present in one file only is a mismatch too
            raise RoutesigError(
                f"{a_name} and {b_name} differ in {key} ({va} vs {vb}): held-out scoring needs two captures "
                "of the same model"
            )
    if a.counts.shape[1:] != b.counts.shape[1:]:
        raise RoutesigError(
            f"{a_name} and {b_name} have different layer x expert shapes: capture both with one model"
        )


def heldout_labels(test: Signatures, names: list[str], test_name: str) -> np.ndarray:
    """Labels of the held-out prompts in the training label space; unknown categories are an error."""
    cats = test.categories
    unknown = sorted({str(c) for c in cats if c not in names})
    if unknown:
        raise RoutesigError(
            f"{test_name} has categories {unknown} absent from the training file: "
            "held-out scoring needs the same categories"
        )
    index = {c: i for i, c in enumerate(names)}
    return np.array([index[c] for c in cats], dtype=np.int64)
