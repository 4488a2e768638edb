"""The report's plain-language summary says what the numbers say (tdf.diagnose.summary)."""

from tdf.diagnose.summary import summarise


def _group(name, inp, mod):
    return {"name": name, "score": inp - mod, "evidence": {"input_separability": inp, "model_separability": mod}}


def _diagnosis(**over):
    d = {"metrics": {"top1": 0.7, "mean_class_accuracy": 0.68, "n": 400},
         "weak_classes": [{"class": "fine_a", "accuracy": 0.25, "confused_with": [["fine_b", 0.5], ["x", 0.1]]},
                          {"class": "fine_b", "accuracy": 0.3, "confused_with": [["fine_a", 0.6]]}],
         "groups": [_group("hands", 0.95, 0.1), _group("legs", 0.2, 0.15), _group("head", 0.05, 0.0)],
         "recommended_groups": ["hands"],
         "relevance": {"method": "gradxinput", "group_share_by_class": {
             "fine_a": {"hands": 0.05, "legs": 0.33, "head": 0.1},
             "fine_b": {"hands": 0.07, "legs": 0.25, "head": 0.1},
             "coarse": {"hands": 0.9, "legs": 0.0, "head": 0.0}}}}
    d.update(over)
    return d


def test_planted_shortcut_is_named():
    text = summarise(_diagnosis(), "runs/base")
    assert text[0].startswith("2 classes are weak: fine_a (25%, mostly taken for fine_b (50%))")
    assert "hands (0.95)" in text[1] and "legs" not in text[1]
    assert "do not carry it" in text[2] and "hands moving they separate the classes at 0.10" in text[2]
    # relevance on the weak classes only (the coarse class's 0.9 on the hands is left out)
    assert text[3].startswith("On these classes the model looks mostly at legs (29%), head (10%), hands (6%)")
    assert "likely relies on a shortcut" in text[3] and "legs, head carry little" in text[3]
    assert text[4].endswith("tdf fix runs/base --groups hands")


def test_no_shortcut_claim_when_relevance_is_where_the_information_is():
    d = _diagnosis(relevance={"method": "lrp", "group_share_by_class": {
        "fine_a": {"hands": 0.6, "legs": 0.1, "head": 0.1}, "fine_b": {"hands": 0.5, "legs": 0.1, "head": 0.1}}})
    text = summarise(d)
    assert not any("shortcut" in t for t in text)
    assert "hands (55%)" in text[3]


def test_model_carries_the_information():
    d = _diagnosis(groups=[_group("hands", 0.95, 0.9)], recommended_groups=[])
    text = summarise(d)
    assert "carry it (model probe ≥ 0.90)" in text[2]
    assert text[-1].startswith("Nothing is recommended")


def test_nothing_weak_is_one_sentence():
    text = summarise(_diagnosis(weak_classes=[], recommended_groups=[]))
    assert len(text) == 1 and text[0].startswith("No class is clearly weak") and "nothing is recommended" in text[0]


def test_no_informative_group():
    text = summarise(_diagnosis(groups=[_group("legs", 0.3, 0.2), _group("head", 0.1, 0.0)]))
    assert "No single joint group's motion separates these classes well (best input probe legs 0.30)" in text[1]


def test_recommended_group_the_model_relies_on_is_explained():
    g = _group("right_hand", 0.82, 0.96)
    g["evidence"]["components"] = {"input": 0.82, "own_full": 0.56, "own_without": 0.18}
    text = summarise(_diagnosis(groups=[g], recommended_groups=["right_hand"]))
    assert "yet its own decisions on these classes do not: with right_hand frozen, it falls from 0.56 to 0.18 " \
           "(the group's motion alone: 0.82)" in text[2]
    assert text[-1].endswith("--groups right_hand")
