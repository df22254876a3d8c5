from routesig.analysis.inputs import labels_of
from routesig.analysis.layers import layerwise


def test_peak_is_the_only_structured_layer(build):
    sig = build.routed(n_per_cat=12, L=3, E=8, strength=5.0, planted_layers=[1], seed=5)
    sig.metadata["moe_layers"] = [2, 5, 9]  # decoder-layer indices differ from positions
    y, names = labels_of(sig, folds=3)
    res = layerwise(sig, y, names, folds=3, seed=0)
    by_pos = {r["position"]: r for r in res["layers"]}
    assert [r["layer"] for r in res["layers"]] == [2, 5, 9]
    assert res["peak_layer"] == 5 and res["peak"]["by_cohens_d"] == 5
    assert by_pos[1]["probe_accuracy"] > 0.9
    assert by_pos[0]["probe_accuracy"] < 0.6 and by_pos[2]["probe_accuracy"] < 0.6
    assert abs(by_pos[0]["gap"]) < by_pos[1]["gap"] / 5
    cum = res["cumulative"]
    assert [c["n_layers"] for c in cum] == [1, 2, 3] and [c["last_layer"] for c in cum] == [2, 5, 9]
    assert cum[0]["gap"] == res["layers"][0]["gap"]  # the first cumulative slice is layer 0 alone
    assert cum[1]["probe_accuracy"] > 0.9
