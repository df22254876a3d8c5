"""Bootstrap 95% confidence intervals, resampling prompts within each category (stratified, seeded).

Similarity statistics are recomputed from multiplicity weights on one similarity matrix K: a pair of distinct
prompts (i, j) counts ``w_i * w_j`` times and pairs of copies of the same prompt are left out (they would
add similarities of exactly 1). Probe accuracy is refit on each resample with StratifiedGroupKFold, copies
of one prompt kept in one fold so that no prompt is scored by a model trained on its copy.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold
from tqdm.auto import tqdm

from routesig.analysis.inputs import random_subsample
from routesig.analysis.probe import fit_quietly, make_probe
from routesig.analysis.similarity import cohens_d


def stratified_weights(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Multiplicities [N, n] of ``n`` stratified bootstrap resamples (each category keeps its size)."""
    W = np.zeros((len(y), n))
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        draws = rng.integers(0, len(members), (n, len(members)))
        for b in range(n):
            W[:, b] += np.bincount(members[draws[b]], minlength=len(y))
    return W


def _weighted_pairs(K: np.ndarray, W: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per resample: weighted sum of K over within pairs and over all pairs (distinct prompts, i < j)."""
    diag = np.diag(K)[:, None]
    total = (np.einsum("ib,ib->b", W, K @ W) - (W * W * diag).sum(0)) / 2
    within = np.zeros(W.shape[1])
    for m in masks:
        Wc = W * m[:, None]
        within += (np.einsum("ib,ib->b", Wc, K @ Wc) - (Wc * Wc * diag).sum(0)) / 2
    return within, total


def similarity_ci(
    U: np.ndarray,
    y: np.ndarray,
    n_resamples: int = 1000,
    seed: int = 0,
    max_prompts: int = 3000,
    batch: int = 64,
) -> dict:
    """95% percentile CIs of within mean, across mean, gap and Cohen's d.

    Above ``max_prompts`` prompts the resampling runs on a seeded random subsample of that size, which gives
    a wider (conservative) interval than the full data would.
    """
    idx = random_subsample(len(y), max_prompts, seed)
    Us, ys = U[idx], y[idx]
    K = Us @ Us.T
    K2 = K * K
    masks = np.stack([ys == c for c in np.unique(ys)]).astype(np.float64)
    rng = np.random.default_rng(seed)
    stats = []
    for lo in range(0, n_resamples, batch):
        W = stratified_weights(ys, min(batch, n_resamples - lo), rng)
        sw, st = _weighted_pairs(K, W, masks)
        sw2, st2 = _weighted_pairs(K2, W, masks)
        # pair counts: (sum w)^2 - sum w^2, halved, within each category and overall
        nw = sum(((W * m[:, None]).sum(0) ** 2 - (W * W * m[:, None]).sum(0)) / 2 for m in masks)
        nt = (W.sum(0) ** 2 - (W * W).sum(0)) / 2
        na = nt - nw
        mw, ma = sw / nw, (st - sw) / na
        sdw = np.sqrt(np.maximum(sw2 / nw - mw**2, 0))
        sda = np.sqrt(np.maximum((st2 - sw2) / na - ma**2, 0))
        d = [cohens_d(*a) for a in zip(mw, sdw, nw, ma, sda, na, strict=True)]
        stats.append(np.column_stack([mw, ma, mw - ma, d]))
    S = np.concatenate(stats)
    lo_hi = np.percentile(S, [2.5, 97.5], axis=0)
    keys = ("within", "across", "gap", "cohens_d")
    out = {k: [float(lo_hi[0, i]), float(lo_hi[1, i])] for i, k in enumerate(keys)}
    out.update(n=int(n_resamples), subsample=None if len(idx) == len(y) else int(len(idx)))
    return out


def probe_ci(
    X: np.ndarray,
    y: np.ndarray,
    n_resamples: int = 100,
    folds: int = 5,
    seed: int = 0,
    progress: bool = False,
) -> dict:
    """95% percentile CI of cross-validated probe accuracy over stratified bootstrap resamples.

    A resample in which some category has fewer distinct prompts than ``folds`` cannot be split and is
    skipped; ``skipped`` says how many were.
    """
    rng = np.random.default_rng(seed)
    W = stratified_weights(y, n_resamples, rng).astype(np.int64)
    accs, skipped = [], 0
    for b in tqdm(range(n_resamples), desc="probe bootstrap", disable=not progress, leave=False):
        rows = np.repeat(np.arange(len(y)), W[:, b])
        distinct = np.bincount(y[W[:, b] > 0], minlength=y.max() + 1)
        if distinct.min() < folds:
            skipped += 1
            continue
        cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed + b)
        fold_acc = []
        for train, test in cv.split(X[rows], y[rows], groups=rows):
            model = make_probe()
            fit_quietly(model, X[rows[train]], y[rows[train]])
            fold_acc.append(np.mean(model.predict(X[rows[test]]) == y[rows[test]]))
        accs.append(np.mean(fold_acc))
    ci = np.percentile(accs, [2.5, 97.5]).tolist() if accs else [None, None]
    return {"probe_accuracy": ci, "probe_n": int(n_resamples), "probe_skipped": int(skipped)}
