"""Nothing wrong → nothing recommended: the weak-class rule, and `tdf diagnose` / `tdf loop` on a
model with no weak class and on degenerate data (issue 13 item 1, issue 14 item 5)."""

from __future__ import annotations

import json

import pytest

from toy_data import TINY, make_toy_store, train_tiny_run
from tdf.diagnose.intervals import wilson_interval
from tdf.diagnose.weak_classes import MIN_SAMPLES_PER_CLASS, no_weak_class_reason, weak_classes

LEARN = ("--bn-momentum", "0.5", "--dropout", "0")


def _metrics(names, cm):
    accs = {c: (row[i] / sum(row) if sum(row) else None) for i, (c, row) in enumerate(zip(names, cm))}
    return {"class_names": names, "confusion_matrix": cm, "per_class_accuracy": accs}


def test_wilson_interval_matches_hand_values():
    # Wilson 1927: 0/10 → (0, z²/(n+z²)); 5/10 → 0.5 ± z·√(0.025+z²/400)/(1+z²/10)
    z = 1.959964
    assert wilson_interval(0, 10) == pytest.approx((0.0, z * z / (10 + z * z)))
    half = z * (0.025 + z * z / 400) ** 0.5 / (1 + z * z / 10)
    assert wilson_interval(5, 10) == pytest.approx((0.5 - half, 0.5 + half))
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_uniformly_good_model_has_no_weak_class():
    # 19/20 vs 20/20 elsewhere: 0.95's Wilson upper end (0.99) is above the others' lower end
    cm = [[20, 0, 0], [0, 20, 0], [1, 0, 19]]
    m = _metrics(["a", "b", "c"], cm)
    assert weak_classes(m) == []
    assert "no weak class" in no_weak_class_reason(m)


def test_clearly_weak_class_is_found_with_its_bounds():
    cm = [[20, 0, 0], [0, 20, 0], [0, 12, 8]]
    w = weak_classes(_metrics(["a", "b", "c"], cm))
    assert [x["class"] for x in w] == ["c"]
    assert w[0]["accuracy_high"] == pytest.approx(wilson_interval(8, 20)[1], abs=1e-6)
    assert w[0]["others_low"] == pytest.approx(wilson_interval(40, 40)[0], abs=1e-6)
    assert w[0]["confused_with"] == [["b", 0.6]]


def test_few_samples_judge_nothing():
    # 0/4 is bad, but 4 samples are below the minimum: not judged
    cm = [[4, 0], [4, 0]]
    m = _metrics(["a", "b"], cm)
    assert weak_classes(m) == []
    assert f"need ≥ {MIN_SAMPLES_PER_CLASS}" in no_weak_class_reason(m)


def test_uniformly_bad_model_has_no_weak_class():
    # everything predicted as "a": no single class stands out from the others
    cm = [[10, 0, 0, 0], [10, 0, 0, 0], [10, 0, 0, 0], [10, 0, 0, 0]]
    assert weak_classes(_metrics(["a", "b", "c", "d"], cm)) == []


@pytest.fixture(scope="module")
def null_run(tmp_path_factory):
    """A tiny model that learns every class of the toy data (no weak class)."""
    return train_tiny_run(tmp_path_factory.mktemp("null"), classes=4, per_class=50, epochs=8, extra=LEARN)


def test_null_diagnosis_recommends_nothing(null_run, invoke, tmp_path):
    m = json.loads((null_run / "metrics.json").read_text())
    assert weak_classes(m) == [], m["per_class_accuracy"]
    r = invoke("--quiet", "diagnose", null_run, "--out", tmp_path / "d", "--render", "none",
               "--views", "ranking")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("no weak class"), r.stdout
    d = json.loads((tmp_path / "d" / "diagnosis.json").read_text())
    assert d["recommended_groups"] == [] and d["groups"] == [] and d["weak_classes"] == []
    assert d["ranking_status"]["status"] == "no_weak_class"
    assert "no weak class" in (tmp_path / "d" / "report.html").read_text()
    r = invoke("--quiet", "diagnose", null_run, "--out", tmp_path / "n", "--render", "none", "--views", "ranking",
               "--format", "names")
    assert r.exit_code == 0 and r.stdout == ""


def test_null_loop_stops_after_the_diagnosis(null_run, invoke, tmp_path):
    data = null_run.parent / "toy.h5"
    r = invoke("--quiet", "--json", "loop", data, "--out", tmp_path / "loop", "--epochs", "8", "--render", "none",
               *TINY, *LEARN)
    assert r.exit_code == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["recommended_groups"] == [] and s["fixed"] is None
    assert s["stopped"].startswith("nothing to fix: no weak class")
    assert not (tmp_path / "loop" / "fixed").exists()
    page = (tmp_path / "loop" / "report.html").read_text()
    assert "so no fix was trained: nothing to fix: no weak class" in page
    assert "the loop stops after the diagnosis" in r.stderr


def test_degenerate_data_refuses_to_rank(invoke, tmp_path):
    """Two samples per class in the test split: a warning and nothing ranked, not zeros."""
    data = make_toy_store(tmp_path / "tiny.h5", classes=3, per_class=8, frames=16)
    r = invoke("--quiet", "train", data, "--out", tmp_path / "run", "--epochs", "1", *TINY)
    assert r.exit_code == 0, r.stderr
    r = invoke("diagnose", tmp_path / "run", "--out", tmp_path / "d", "--render", "none", "--views", "ranking")
    assert r.exit_code == 0, r.stderr
    assert "too few evaluated samples" in r.stdout and "0.000" not in r.stdout
    d = json.loads((tmp_path / "d" / "diagnosis.json").read_text())
    assert d["groups"] == [] and d["recommended_groups"] == []
