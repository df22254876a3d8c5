import numpy as np
import pytest

from routesig.analysis.projections import project, tsne_perplexity


def test_perplexity_rule():
    assert tsne_perplexity(10) == 3.0 and tsne_perplexity(1000) == 30.0


def test_pca_matches_svd_and_tsne_runs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 6)) * [5, 2, 1, 1, 1, 1]
    summary, coords = project(X, seed=0, tsne=True)
    s = np.linalg.svd(X - X.mean(0), compute_uv=False) ** 2
    np.testing.assert_allclose(summary["pca"]["explained_variance_ratio"], s[:2] / s.sum())
    assert summary["tsne"]["perplexity"] == pytest.approx(29 / 3)
    assert np.isfinite(coords["tsne_1"]).all() and len(coords["tsne_2"]) == 30
