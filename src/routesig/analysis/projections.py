"""2-D maps of the signatures: PCA always, t-SNE unless turned off, UMAP when umap-learn is installed.

The pipeline passes unit-length signature vectors, the geometry the cosine similarities measure.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

EXACT_TSNE_LIMIT = 1000  # exact t-SNE below this: deterministic and fast enough; Barnes-Hut above
TSNE_PCA_DIMS = 50  # Barnes-Hut runs on the top principal components (the usual t-SNE preprocessing)


def tsne_perplexity(n: int) -> float:
    """Default perplexity ``min(30, (N - 1) / 3)``: t-SNE needs perplexity < N."""
    return float(min(30.0, (n - 1) / 3))


def _tsne(X: np.ndarray, perplexity: float, seed: int, method: str) -> tuple[np.ndarray, float | None, str]:
    """2-D t-SNE: sklearn's exact method, or for large N openTSNE's FFT-accelerated one when installed.

    10k prompts took 32 s with openTSNE against 308 s with sklearn's Barnes-Hut on the same busy machine.
    """
    if method == "barnes_hut":
        try:
            from openTSNE import TSNE as OpenTSNE
        except ImportError:
            OpenTSNE = None
        if OpenTSNE is not None:
            # one job: parallel sums could differ in the last bits between runs
            emb = OpenTSNE(perplexity=perplexity, random_state=seed, n_jobs=1).fit(X)
            return np.asarray(emb), float(emb.kl_divergence), "opentsne_fft"
    model = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, method=method)
    T = model.fit_transform(X)
    return T, float(model.kl_divergence_), method


def project(
    X: np.ndarray, seed: int = 0, tsne: bool = True, perplexity: float | None = None
) -> tuple[dict, dict]:
    """PCA / t-SNE / UMAP coordinates of the rows of ``X``.

    Returns
    -------
    summary : dict
        ``{"pca": {"explained_variance_ratio"}, "tsne": None | {...}, "umap": None | {...}}``
    coords : dict
        Column name (``pca_1``, ``pca_2``, ``tsne_1``, ...) to array of length N.
    """
    n = len(X)
    pca = PCA(n_components=2, random_state=seed).fit(X)
    P = pca.transform(X)
    summary: dict = {
        "pca": {"explained_variance_ratio": pca.explained_variance_ratio_.tolist()},
        "tsne": None,
        "umap": None,
    }
    coords = {"pca_1": P[:, 0], "pca_2": P[:, 1]}
    if tsne and n >= 4:
        perp = tsne_perplexity(n) if perplexity is None else float(perplexity)
        method = "exact" if n <= EXACT_TSNE_LIMIT else "barnes_hut"
        reduce = method == "barnes_hut" and X.shape[1] > TSNE_PCA_DIMS
        Xt = PCA(n_components=TSNE_PCA_DIMS, random_state=seed).fit_transform(X) if reduce else X
        T, kl, method = _tsne(Xt, perp, seed, method)
        summary["tsne"] = {
            "perplexity": perp,
            "method": method,
            "input_dims": int(Xt.shape[1]),
            "kl_divergence": kl,
        }
        coords.update(tsne_1=T[:, 0], tsne_2=T[:, 1])
    try:
        import umap  # optional dependency
    except ImportError:
        umap = None
    if umap is not None and n >= 4:
        nn = int(min(15, n - 1))
        Z = umap.UMAP(n_neighbors=nn, random_state=seed).fit_transform(X)
        summary["umap"] = {"n_neighbors": nn}
        coords.update(umap_1=Z[:, 0], umap_2=Z[:, 1])
    return summary, coords
