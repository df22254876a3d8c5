"""Checks that a signature set can be analysed, and the label / vector preparation every module shares."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from routesig.errors import RoutesigError
from routesig.signatures.store import Signatures


def labels_of(sig: Signatures, folds: int = 2) -> tuple[np.ndarray, list[str]]:
    """Integer labels (index into the sorted category names) and the names.

    Raises
    ------
    RoutesigError
        Missing categories, a single category, or a category with fewer prompts than ``folds``.
    """
    cats = sig.categories
    missing = sum(c is None or str(c).strip() == "" for c in cats)
    if missing:
        raise RoutesigError(
            f"{missing} of {len(cats)} prompts have no category: analysis compares categories, "
            "capture a prompt file with a category column (--category-column)"
        )
    counts = Counter(cats)
    if len(counts) < 2:
        only = next(iter(counts), "none")
        raise RoutesigError(
            f"only one category ({only!r}): the analysis needs prompts of at least 2 categories"
        )
    small = sorted(c for c, n in counts.items() if n < max(folds, 2))
    if small:
        raise RoutesigError(
            f"categories {small} have fewer than {max(folds, 2)} prompts: add prompts or lower --folds"
        )
    names = sorted(counts)
    index = {c: i for i, c in enumerate(names)}
    return np.array([index[c] for c in cats], dtype=np.int64), names


def unit_vectors(
    sig: Signatures, variant: str = "frequency", layers: Sequence[int] | None = None
) -> np.ndarray:
    """Signature vectors scaled to unit length, so that dot products are cosine similarities."""
    X = sig.vectors(variant, layers)
    return normalize_rows(X, sig.ids)


def normalize_rows(X: np.ndarray, ids: Sequence[str] | None = None) -> np.ndarray:
    """Rows scaled to unit length, in place; an all-zero row (a prompt with no routed tokens) is an error."""
    if not np.all(np.isfinite(X)):
        raise RoutesigError("signature vectors contain NaN or infinite values: recapture the file")
    norms = np.linalg.norm(X, axis=1)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        who = repr(ids[zero[0]]) if ids is not None else f"row {zero[0]}"
        raise RoutesigError(
            f"{zero.size} prompt(s) (first {who}) have no routed tokens in the selected layers: "
            "drop them from the prompt file or recapture"
        )
    X /= norms[:, None]  # in place: at 100k prompts x 1024 a copy is 800 MB
    return X


def stratified_subsample(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded stratified subsample of ``size`` rows (all rows when ``size >= len(y)``)."""
    n = len(y)
    if size >= n:
        return np.arange(n)
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(np.arange(n), train_size=size, stratify=y, random_state=seed)
    return np.sort(idx)


def random_subsample(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded uniform subsample (all rows when ``size >= n``)."""
    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def parse_layers(spec: str | None) -> list[int] | None:
    """``"0,2,5-7"`` -> ``[0, 2, 5, 6, 7]``; None or empty -> None (all layers).

    Examples
    --------
    >>> parse_layers("0,2,5-7")
    [0, 2, 5, 6, 7]
    """
    if spec is None or not spec.strip():
        return None
    out: list[int] = []
    try:
        for part in spec.split(","):
            lo, _, hi = part.strip().partition("-")
            out.extend(range(int(lo), int(hi) + 1) if hi else [int(lo)])
    except ValueError:
        raise RoutesigError(f"--layers {spec!r} is not a list of positions like 0,1,2 or 8-15") from None
    return out
