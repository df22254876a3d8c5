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


@pytest.mark.slow
def test_large_tsne_uses_pca_input_and_is_seeded():
    rng = np.random.default_rng(1)
    X = rng.dirichlet(np.ones(8), size=1200)
    X[:600, 0] += 1.0  # two groups
    X = np.c_[X, rng.normal(0, 0.01, (1200, 60))]  # 68 dims > 50: t-SNE runs on 50 principal components
    first, coords = project(X, seed=3)
    again, coords2 = project(X, seed=3)
    assert first["tsne"]["input_dims"] == 50 and first["tsne"]["method"] in ("opentsne_fft", "barnes_hut")
    np.testing.assert_array_equal(coords["tsne_1"], coords2["tsne_1"])
    # the two groups stay apart: group means differ by more than the within-group spread
    t = np.c_[coords["tsne_1"], coords["tsne_2"]]
    gap = np.linalg.norm(t[:600].mean(0) - t[600:].mean(0))
    assert gap > t[:600].std(0).mean()
