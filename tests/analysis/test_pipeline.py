import json

import numpy as np
import pytest

import routesig
from routesig.analysis.pipeline import analyze

FAST = dict(folds=4, permutations=200, probe_permutations=10, bootstrap=100, probe_bootstrap=4)
REQUIRED = """similarity.within.mean similarity.within.std similarity.across.mean similarity.across.std
similarity.cohens_d probe.accuracy.mean probe.accuracy.std probe.macro_f1 layers peak_layer
baselines.permutation.p_value baselines.load_balance.similarity baselines.frequency_matched.similarity
controls.lexical.probe.accuracy.mean""".split()


def dig(d, dotted):
    for key in dotted.split("."):
        d = d[key]
    return d


@pytest.fixture(scope="module")
def planted_result(planted, tmp_path_factory):
    path = tmp_path_factory.mktemp("sig") / "planted.parquet"
    routesig.save_signatures(planted, path)
    out = tmp_path_factory.mktemp("out")
    return path, out, analyze(str(path), out=out, **FAST)


def test_contract_keys_and_planted_findings(planted_result):
    _, out, res = planted_result
    for key in REQUIRED:
        assert dig(res, key) is not None, key
    assert res == json.loads((out / "summary.json").read_text())
    assert res["probe"]["accuracy"]["mean"] >= 0.95
    assert res["similarity"]["gap"] > 0.05
    assert res["baselines"]["permutation"]["p_value"] == round(1 / 201, 6)  # no shuffle reaches the gap
    # simulated routings keep token counts but not the category: gap ~ 0, probe ~ chance
    for name in ("load_balance", "frequency_matched"):
        b = res["baselines"][name]
        assert abs(b["similarity"]["gap"]) < res["similarity"]["gap"] / 5
        assert b["probe"]["accuracy"]["mean"] < 0.5
    assert [entry["layer"] for entry in res["layers"]] == [0, 1]
    assert res["controls"]["lexical"]["tokenizer"] == "regex"
    assert res["heldout"] is None


def test_structureless_probe_at_chance_and_large_p(structureless):
    # 40 probe permutations, so that a p-value below 0.05 is possible (the smallest is 1/41)
    res = analyze(structureless, **{**FAST, "probe_permutations": 40}, tsne=False)
    assert abs(res["probe"]["accuracy"]["mean"] - 0.25) < 0.15
    assert res["baselines"]["permutation"]["p_value"] > 0.05
    assert res["baselines"]["permutation"]["probe_p_value"] > 0.05
    assert res["input"]["path"] is None


def test_rerun_is_byte_identical(planted_result, tmp_path):
    path, out, _ = planted_result
    analyze(str(path), out=tmp_path, **FAST)
    for f in sorted(out.iterdir()):
        assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f.name


def test_csv_tables(planted_result):
    import pandas as pd

    _, out, res = planted_result
    proj = pd.read_csv(out / "projections.csv")
    assert list(proj.columns[:6]) == ["id", "category", "pca_1", "pca_2", "tsne_1", "tsne_2"]
    assert len(proj) == 80 and proj.tsne_1.notna().all()
    usage = pd.read_csv(out / "expert_usage.csv")
    assert len(usage) == (4 + 1) * 2 * 8  # (categories + __all__) x layers x experts
    # each layer's frequencies sum to top_k = 2 for every category
    np.testing.assert_allclose(usage.groupby(["category", "layer"]).frequency.sum(), 2.0, atol=1e-5)
    conf = pd.read_csv(out / "confusion.csv")
    assert conf.drop(columns="true").to_numpy().tolist() == res["probe"]["confusion"]["matrix"]


def test_heldout_and_layers(planted, tmp_path, build):
    other = build.routed(n_per_cat=6, strength=4.0, seed=9)
    res = analyze(planted, heldout=other, layers=[1], **FAST, tsne=False)
    assert res["settings"]["layers"] == [1]
    assert res["heldout"]["n_test"] == 24 and res["heldout"]["probe"]["accuracy"] >= 0.9


def test_bad_settings():
    with pytest.raises(routesig.RoutesigError, match="unknown analysis setting"):
        analyze("x.parquet", permutatons=3)
