import numpy as np
import pytest

from routesig.analysis.experts import expert_tables


def test_hand_worked_enrichment_entropy_load(build):
    # one layer, 4 experts, k = 2, two tokens per prompt
    #   a: experts 0 and 2 every token -> frequencies (1, 0, 1, 0)
    #   b: experts 1 and 2 every token -> frequencies (0, 1, 1, 0)
    #   overall (0.5, 0.5, 1, 0); enrichment of a: (2, 0, 1, -); expert 3 never selected
    counts = [[[2, 0, 2, 0]], [[2, 0, 2, 0]], [[0, 2, 2, 0]], [[0, 2, 2, 0]]]
    sig = build.make_sig(counts, ["a", "a", "b", "b"], [2, 2, 2, 2])
    summary, tables = expert_tables(sig, np.array([0, 0, 1, 1]), ["a", "b"])
    top = summary["top_specific"][0]
    assert (top["expert"], top["enrichment"], top["frequency"], top["overall"]) == (0, 2.0, 1.0, 0.5)
    assert {(r["category"], r["expert"]) for r in summary["top_specific"][:2]} == {("a", 0), ("b", 1)}
    # entropy of (1/2, 0, 1/2, 0) over log 4: ln 2 / ln 4 = 1/2
    assert summary["entropy"]["values"] == [[pytest.approx(0.5), pytest.approx(0.5)]]
    # load (0.5, 0.5, 1, 0): mean 0.5, sd sqrt((0 + 0 + .25 + .25) / 4) = sqrt(1/8)
    assert summary["load_cv"][0] == pytest.approx(np.sqrt(1 / 8) / 0.5)
    assert summary["never_selected"] == {"0": [3]} and summary["n_never_selected"] == 1
    usage = tables["expert_usage"]
    assert usage[usage.category == "__all__"].frequency.tolist() == [0.5, 0.5, 1.0, 0.0]
    assert usage[usage.category == "b"].frequency.tolist() == [0.0, 1.0, 1.0, 0.0]
