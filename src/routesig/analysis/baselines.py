"""Null models: label permutation, and two simulated routings that keep the token counts.

- ``permutation``: categories shuffled R times; the null of the within-minus-across gap and of probe
  accuracy.
- ``load_balance``: every token of every prompt and layer picks k distinct experts uniformly at random
  (perfect load balancing, no content).
- ``frequency_matched``: every token picks k distinct experts with inclusion probability ``k * f_e``, ``f_e``
  being the layer's observed share of selections: layer-wise expert usage is kept (exactly, in
  expectation) while any prompt-specific choice is destroyed.

Both simulations draw every token's k distinct experts from the conditional Poisson design with the given
inclusion probabilities (uniform k-subsets when they are all k/E), exactly and without materialising tokens:
see :mod:`routesig.analysis.sampling`.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, permutation_test_score
from threadpoolctl import threadpool_limits

from routesig.analysis.inputs import random_subsample
from routesig.analysis.probe import make_probe
from routesig.errors import RoutesigError


def p_value(null: np.ndarray, observed: float) -> float:
    """``(1 + #{null >= observed}) / (1 + R)``: never 0, valid for a finite number of permutations.

    Examples
    --------
    >>> p_value(np.array([0.1, 0.5, 0.9]), 0.5)
    0.75
    """
    return float((1 + np.sum(np.asarray(null) >= observed)) / (1 + len(null)))


def _within_sums(K: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Sum of K over same-label pairs i < j, for each row of ``labels`` (shape (B, N))."""
    B, n = labels.shape
    Y = np.zeros((n, B * n_classes))
    Y[np.arange(n)[:, None], np.arange(B)[None, :] * n_classes + labels.T] = 1.0
    quad = (Y * (K @ Y)).reshape(n, B, n_classes).sum(axis=(0, 2))  # sum_c 1_c' K 1_c per permutation
    return (quad - np.trace(K)) / 2


def permutation_gap(
    U: np.ndarray,
    y: np.ndarray,
    n_permutations: int = 1000,
    seed: int = 0,
    max_prompts: int = 3000,
    progress: bool = False,
) -> dict:
    """Permutation null of the within-minus-across similarity gap.

    Relabelling changes only which pairs count as "within", so each permutation needs the within-sum
    ``sum_c 1_c' K 1_c`` of the fixed similarity matrix K; batches of permutations are one matrix product.
    Above ``max_prompts`` prompts the test runs on a seeded random subsample (``observed_gap`` is then the
    subsample's gap, so the p-value stays valid).
    """
    from tqdm.auto import tqdm

    idx = random_subsample(len(y), max_prompts, seed)
    Us, ys = U[idx], y[idx]
    n, C = len(ys), int(ys.max()) + 1
    K = Us @ Us.T
    sizes = np.bincount(ys, minlength=C)
    nw = int((sizes * (sizes - 1) // 2).sum())
    na = n * (n - 1) // 2 - nw
    total = (K.sum() - np.trace(K)) / 2

    def gap(within: np.ndarray) -> np.ndarray:
        return within / nw - (total - within) / na

    observed = float(gap(_within_sums(K, ys[None, :], C))[0])
    rng = np.random.default_rng(seed)
    batch = max(1, min(256, 2_000_000 // max(n * C, 1)))
    null = []
    with tqdm(total=n_permutations, desc="permutation null", disable=not progress, leave=False) as bar:
        for lo in range(0, n_permutations, batch):
            b = min(batch, n_permutations - lo)
            perms = np.stack([rng.permutation(ys) for _ in range(b)])
            null.append(gap(_within_sums(K, perms, C)))
            bar.update(b)
    null_arr = np.concatenate(null) if null else np.zeros(0)
    return {
        "n": int(n_permutations),
        "observed_gap": observed,
        "null_gap": {"mean": float(null_arr.mean()), "std": float(null_arr.std())} if len(null_arr) else None,
        "p_value": p_value(null_arr, observed) if len(null_arr) else None,
        "subsample": None if n == len(y) else int(n),
    }


def permutation_probe(
    X: np.ndarray, y: np.ndarray, n_permutations: int = 100, folds: int = 5, seed: int = 0
) -> dict:
    """Null of probe accuracy under shuffled labels (sklearn ``permutation_test_score``, same folds)."""
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(1):  # small fits: see probe.fit_quietly
        warnings.simplefilter("ignore", ConvergenceWarning)
        score, null, p = permutation_test_score(
            make_probe(), X, y, cv=cv, n_permutations=n_permutations, random_state=seed
        )
    return {
        "probe_n": int(n_permutations),
        "probe_observed": float(score),
        "probe_p_value": float(p),
        "null_accuracy": {"mean": float(null.mean()), "std": float(null.std())},
    }


def infer_top_k(counts: np.ndarray, n_tokens: np.ndarray, metadata: dict) -> int:
    """``top_k`` from the metadata, else the mean number of selections per token (rounded)."""
    k = metadata.get("top_k")
    if not k:
        k = int(round(counts.sum() / max(int(n_tokens.sum()) * counts.shape[1], 1)))
    if not 1 <= int(k) <= counts.shape[2]:
        raise RoutesigError(
            f"top_k={k} is not between 1 and num_experts={counts.shape[2]}: fix the file's metadata"
        )
    return int(k)


def inclusion_probabilities(counts: np.ndarray, k: int) -> np.ndarray:
    """Per layer, each expert's share of all selections times k, capped at 1 (shape (L, E), rows sum to k)."""
    share = counts.sum(axis=0).astype(np.float64)
    share /= np.maximum(share.sum(axis=1, keepdims=True), 1)
    pi = k * share
    for _ in range(counts.shape[2]):  # cap at 1 and hand the excess to the uncapped experts
        over = pi > 1
        if not over.any():
            break
        excess = (pi - 1).clip(min=0).sum(axis=1, keepdims=True)
        pi = np.minimum(pi, 1)
        free = ~over & (pi < 1)
        pi += free * excess * pi / np.maximum((pi * free).sum(axis=1, keepdims=True), 1e-300)
    return pi
