import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold, cross_val_score

from routesig.analysis import probe
from routesig.analysis.inputs import labels_of
from routesig.errors import RoutesigError


def test_planted_structure_is_found(planted):
    y, names = labels_of(planted)
    res = probe.cross_validate(planted.vectors(), y, names, folds=5, seed=0)
    assert res["accuracy"]["mean"] >= 0.95
    assert res["chance"] == 0.25
    assert np.asarray(res["confusion"]["matrix"]).sum() == len(y)
    assert [res["per_class"][n]["support"] for n in names] == [20, 20, 20, 20]


def test_structureless_sits_at_chance(structureless):
    y, names = labels_of(structureless)
    res = probe.cross_validate(structureless.vectors(), y, names, folds=5, seed=0)
    # 80 prompts: SE of an accuracy of 1/4 is sqrt(.25 * .75 / 80) = 0.048
    assert abs(res["accuracy"]["mean"] - 0.25) < 0.15


def test_same_as_sklearn_cross_val_score(planted):
    # a second route to the same number: the scaler is inside the pipeline in both
    y, names = labels_of(planted)
    X = planted.vectors("binary")
    ours = probe.cross_validate(X, y, names, folds=4, seed=3)["accuracy"]["folds"]
    ref = cross_val_score(probe.make_probe(), X, y, cv=StratifiedKFold(4, shuffle=True, random_state=3))
    np.testing.assert_allclose(ours, ref)


def test_repeats_give_folds_times_repeats_scores(planted):
    y, names = labels_of(planted)
    res = probe.cross_validate(planted.vectors(), y, names, folds=4, repeats=3, seed=0)
    assert len(res["accuracy"]["folds"]) == 12


def test_too_few_prompts_per_category(hand4):
    with pytest.raises(RoutesigError, match="fewer than 5 prompts"):
        labels_of(hand4, folds=5)
