"""Cosine similarity of signature vectors within and across categories.

Every statistic here is exact over all prompt pairs i < j. Small sets (N <= ``DENSE_LIMIT``) use the N x N
similarity matrix; larger ones never build it: the sum of pair similarities within category c is
``(|S_c|^2 - n_c) / 2`` with ``S_c`` the sum of its unit vectors, and the sum of squared similarities is
``(|X_c^T X_c|_F^2 - n_c) / 2`` (the Gram matrix is D x D), so the cost is O(N D^2) instead of O(N^2 D).
"""

from __future__ import annotations

import numpy as np

DENSE_LIMIT = 4096
HIST_EDGES = np.linspace(0.0, 1.0, 41)  # signature vectors are non-negative, so cosines lie in [0, 1]
ROW_CHUNK = 8192


def cohens_d(
    mean_within: float, sd_within: float, n_within: int, mean_across: float, sd_across: float, n_across: int
) -> float:
    """Cohen's d of within- vs across-category similarity, SD pooled over pairs (weighted by pair counts).

    Examples
    --------
    The reference study: 760 within and 2400 across pairs.

    >>> round(cohens_d(0.8435, 0.0879, 760, 0.6225, 0.1687, 2400), 2)
    1.44
    """
    n = n_within + n_across
    pooled = np.sqrt((n_within * sd_within**2 + n_across * sd_across**2) / n) if n else np.nan
    return float((mean_within - mean_across) / pooled) if pooled > 0 else float("nan")


def _summary(sw: float, sw2: float, nw: int, sa: float, sa2: float, na: int) -> dict:
    """Mean / population SD of within and across pairs from sums and sums of squares."""

    def ms(s: float, s2: float, n: int) -> tuple[float, float]:
        if n == 0:
            return float("nan"), float("nan")
        m = s / n
        return float(m), float(np.sqrt(max(s2 / n - m * m, 0.0)))

    mw, sdw = ms(sw, sw2, nw)
    ma, sda = ms(sa, sa2, na)
    return {
        "within": {"mean": mw, "std": sdw, "n_pairs": int(nw)},
        "across": {"mean": ma, "std": sda, "n_pairs": int(na)},
        "gap": mw - ma,
        "cohens_d": cohens_d(mw, sdw, nw, ma, sda, na),
    }


def pair_stats(U: np.ndarray, y: np.ndarray) -> dict:
    """Within/across-category mean and SD of cosine similarity over all pairs i < j, gap and Cohen's d.

    Parameters
    ----------
    U : ndarray of shape (N, D)
        Unit-length signature vectors (:func:`routesig.analysis.inputs.unit_vectors`).
    y : ndarray of shape (N,)
        Integer category labels.

    Returns
    -------
    dict
        ``{"within": {mean, std, n_pairs}, "across": {...}, "gap", "cohens_d"}``

    Examples
    --------
    >>> import numpy as np
    >>> U = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> s = pair_stats(U, np.array([0, 0, 1, 1]))
    >>> s["within"]["mean"], s["across"]["mean"], s["within"]["n_pairs"], s["across"]["n_pairs"]
    (1.0, 0.0, 2, 4)
    """
    U = np.asarray(U, dtype=np.float64)
    y = np.asarray(y)
    n = len(y)
    _, sizes = np.unique(y, return_counts=True)
    nw = int((sizes * (sizes - 1) // 2).sum())
    na = n * (n - 1) // 2 - nw
    if n <= DENSE_LIMIT:
        K = U @ U.T
        upper = np.triu(np.ones((n, n), dtype=bool), 1)
        same = (y[:, None] == y[None, :]) & upper
        across = upper & ~same
        w, a = K[same], K[across]
        return _summary(w.sum(), (w * w).sum(), nw, a.sum(), (a * a).sum(), na)
    sw = sw2 = 0.0
    S_all = np.zeros(U.shape[1])
    G_all = np.zeros((U.shape[1], U.shape[1]))
    for c in np.unique(y):
        S, G = np.zeros(U.shape[1]), np.zeros_like(G_all)
        for lo in range(0, n, ROW_CHUNK):  # chunks bound the copies made by boolean indexing
            block = U[lo : lo + ROW_CHUNK][y[lo : lo + ROW_CHUNK] == c]
            S += block.sum(axis=0)
            G += block.T @ block
        nc = int((y == c).sum())
        sw += (S @ S - nc) / 2
        sw2 += ((G * G).sum() - nc) / 2
        S_all += S
        G_all += G
    total, total2 = (S_all @ S_all - n) / 2, ((G_all * G_all).sum() - n) / 2
    return _summary(sw, sw2, nw, total - sw, total2 - sw2, na)


def category_sums(U: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """Sum of the unit vectors of each category, shape (C, D)."""
    S = np.zeros((n_classes, U.shape[1]))
    np.add.at(S, y, U)
    return S


def category_matrix(U: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """Mean similarity between categories a and b (diagonal: mean over within pairs i < j).

    Examples
    --------
    >>> import numpy as np
    >>> U = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    >>> category_matrix(U, np.array([0, 0, 1]), 2).round(2).tolist()
    [[0.6, 0.4], [0.4, nan]]
    """
    S = category_sums(U, y, n_classes)
    n = np.bincount(y, minlength=n_classes).astype(np.float64)
    M = (S @ S.T) / np.outer(n, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        diag = (np.einsum("cd,cd->c", S, S) - n) / (n * (n - 1))
    M[np.diag_indices(n_classes)] = diag
    return M


def nearest_category(U: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean similarity of each prompt to the other members of each category, and the argmax.

    Returns
    -------
    sims : ndarray of shape (N, C)
        Leave-self-out mean similarity to each category.
    nearest : ndarray of shape (N,)
    """
    S = category_sums(U, y, n_classes)
    n = np.bincount(y, minlength=n_classes).astype(np.float64)
    sims = U @ S.T
    rows = np.arange(len(y))
    sims[rows, y] -= 1.0  # a prompt's similarity with itself
    denom = np.broadcast_to(n, sims.shape).copy()
    denom[rows, y] -= 1
    sims /= denom
    return sims, sims.argmax(axis=1)


def pair_histogram(
    U: np.ndarray, y: np.ndarray, seed: int, max_prompts: int, n_sample: int = 200_000
) -> dict:
    """Histograms of within and across similarities on ``HIST_EDGES``.

    Exact over all pairs up to ``max_prompts`` prompts; above, over ``n_sample`` seeded random pairs
    (``sampled_pairs`` says how many).
    """
    n = len(y)
    if n <= max_prompts:
        i, j = np.triu_indices(n, 1)
        sims = (U @ U.T)[i, j]
        sampled = None
    else:
        rng = np.random.default_rng(seed)
        i, j = rng.integers(0, n, n_sample), rng.integers(0, n, n_sample)
        keep = i != j
        i, j = i[keep], j[keep]
        sims = np.concatenate(
            [np.einsum("ij,ij->i", U[i[s : s + 8192]], U[j[s : s + 8192]]) for s in range(0, len(i), 8192)]
        )
        sampled = int(len(i))
    same = y[i] == y[j]
    clip = np.clip(sims, 0.0, 1.0)
    return {
        "edges": HIST_EDGES.tolist(),
        "within": np.histogram(clip[same], HIST_EDGES)[0].tolist(),
        "across": np.histogram(clip[~same], HIST_EDGES)[0].tolist(),
        "sampled_pairs": sampled,
    }
