import numpy as np
import pytest

from routesig.analysis import controls
from routesig.analysis.inputs import labels_of
from routesig.analysis.probe import cross_validate
from routesig.errors import RoutesigError


def test_regex_fallback_when_model_is_not_available_offline(build):
    tokenize, name = controls.text_tokenizer("no-such-org/no-such-model")
    assert name == "regex"
    assert tokenize("Print(x)!") == ["print", "(", "x", ")", "!"]


def test_lexical_probe_reads_words(planted):
    # the planted fixture's texts carry category words, so the lexical control must find them
    y, names = labels_of(planted)
    make = controls.lexical_probe_factory(controls.regex_tokenize, "tfidf")
    res = cross_validate(planted.texts, y, names, folds=5, seed=0, make=make, detail=False)
    assert res["accuracy"]["mean"] == 1.0


def test_layout_mismatch_is_one_line_error(hand4, build):
    other = build.make_sig(hand4.counts, hand4.categories, hand4.n_tokens, model="another/model")
    hand4.metadata["model"] = "some/model"
    with pytest.raises(RoutesigError, match="differ in model"):
        controls.check_same_layout(hand4, other, "A.parquet", "B.parquet")


def test_heldout_unknown_category(hand4, build):
    with pytest.raises(RoutesigError, match=r"\['a'\] absent"):
        controls.heldout_labels(hand4, ["b", "c"], "B.parquet")
    assert controls.heldout_labels(hand4, ["a", "b"], "B").tolist() == [0, 0, 1, 1]
    assert np.issubdtype(controls.heldout_labels(hand4, ["a", "b"], "B").dtype, np.integer)
