"""`tdf explain` on a tiny trained run: the JSON document, agreement with the model, the human
text, a saved dissection, and exit code 2 with a clear message for every bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from toy_data import train_tiny_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    # toy_3 moves exactly like toy_2, so the run has a weak class (the weak-class rule needs
    # enough test samples to call one weak: 95 % Wilson intervals)
    return train_tiny_run(tmp_path_factory.mktemp("explain"), classes=4, per_class=50, epochs=8,
                          same_motion={3: 2}, extra=("--bn-momentum", "0.5", "--dropout", "0"))


def _names(run):
    from tdf.data.store import open_store
    info = json.loads((run / "run.json").read_text())
    with open_store(info["data"]) as s:
        return list(s.names), info["data"]


def test_explain_json(run, invoke):
    import keras
    from tdf.data.store import open_store
    names, data = _names(run)
    r = invoke("--json", "explain", run, names[0], "--dissect-samples", "12")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["sample"] == names[0] and d["model_kind"] == "res_tcn"
    with open_store(data) as s:
        x = s.read([0])
        true = s.class_names[s.label[0]]
    probs = np.asarray(keras.saving.load_model(run / "model.keras")(x, training=False))[0]
    assert d["true"] == true
    assert [p for _, p in d["top"]] == pytest.approx(sorted(probs, reverse=True)[:3], abs=1e-4)
    assert d["predicted"] == d["top"][0][0] and d["correct"] == (d["predicted"] == true)
    shares = d["relevance"]["group_share"]
    assert len(shares) == 8 and sum(shares.values()) == pytest.approx(1.0, abs=1e-3)
    path = d["concept_path"]
    assert path["wrong"] == d["predicted"] and path["layer"] == "unit4" and path["feeder_layer"] == "unit3"
    assert len(path["units"]) == 5 and all("feeders" in u for u in path["units"])
    assert d["dissection"].startswith("computed on ") and "test split" in d["dissection"]


def test_explain_human_and_saved_dissection(run, invoke, tmp_path):
    from tdf.diagnose.dissect import dissect
    from tdf.data.store import open_store
    from tdf.run_folder import load_model
    names, data = _names(run)
    with open_store(data) as s:
        diss = dissect(load_model(run / "model.keras"), s.read(np.arange(6)))
    (tmp_path / "dissection.json").write_text(json.dumps(diss))
    r = invoke("explain", run, names[1], "--dissection", tmp_path)
    assert r.exit_code == 0, r.stderr
    assert "predicted" in r.stdout and "concept path" in r.stdout and "unit4 unit" in r.stdout
    assert str(tmp_path) in r.stdout


def test_explain_bad_inputs(run, invoke, tmp_path):
    names, data = _names(run)
    r = invoke("explain", tmp_path / "nope", names[0])
    assert r.exit_code == 2 and "run folder not found" in r.stderr
    r = invoke("explain", run, "S001C001P001R001A099")
    assert r.exit_code == 2 and data in r.stderr and "no sample named" in r.stderr
    assert "did you mean" in r.stderr
    r = invoke("explain", run, names[0], tmp_path / "missing.h5")
    assert r.exit_code == 2 and "missing.h5" in r.stderr
    r = invoke("explain", run, names[0], "--stream", "ta")
    assert r.exit_code == 2 and "Res-TCN" in r.stderr
    (tmp_path / "bad.json").write_text("{not json")
    r = invoke("explain", run, names[0], "--dissection", tmp_path / "bad.json")
    assert r.exit_code == 2 and "bad.json" in r.stderr
    r = invoke("explain", run, names[0], "--dissection", tmp_path)
    assert r.exit_code == 2 and "dissection.json" in r.stderr


def test_diagnose_views_files_and_report(run, invoke, tmp_path):
    out = tmp_path / "diag"
    r = invoke("--quiet", "diagnose", run, "--out", out, "--render", "none", "--views", "pyramid,dissect,paths",
               "--theta", "0.65", "--depth", "2")
    assert r.exit_code == 0, r.stderr
    d = json.loads((out / "diagnosis.json").read_text())
    assert set(d["views"]) == {"pyramid", "dissect", "paths"}
    assert not (out / "decoded.npz").exists() and not (out / "responses").exists()
    pyr = json.loads((out / "pyramid.json").read_text())
    assert pyr["theta"] == 0.65
    assert all(len(p["levels"]) == 2 and p["levels"][0]["layer"] == "unit4" for p in pyr["classes"].values())
    for f in pyr["files"]:
        z = np.load(out / f["arrays"])
        assert z["x"].shape == (16, 150) and all(z[k].shape == (16, 150) for k in ("unit4", "unit3") if k in z)
    diss = json.loads((out / "dissection.json").read_text())
    assert list(diss["layers"]) == ["conv1", "unit2", "unit3", "unit4"]
    paths = json.loads((out / "paths.json").read_text())
    assert len(paths["unit_classes"]) == 16 and paths["layer"] == "unit4"
    html = (out / "report.html").read_text()
    for anchor in ('id="pyramid"', 'id="dissect"', 'id="paths"'):
        assert anchor in html
    for name in ("pyramid.png", "dissection.png"):
        assert (out / name).is_file()
    r = invoke("diagnose", run, "--out", tmp_path / "bad", "--views", "pyramid,bogus")
    assert r.exit_code == 2 and "bogus" in r.stderr


def test_diagnose_dissect_on_weak_classes(run, invoke, tmp_path):
    out = tmp_path / "diag"
    r = invoke("--quiet", "diagnose", run, "--out", out, "--render", "none", "--views", "dissect",
               "--dissect-on", "weak")
    assert r.exit_code == 0, r.stderr
    d = json.loads((out / "diagnosis.json").read_text())
    weak_set = d["ranking_samples"]["classes"]
    v = d["views"]["dissect"]
    assert weak_set, "the tiny run has weak classes"
    assert v["samples_from"] == weak_set
    from tdf.data.store import open_store
    from tdf.run_folder import read_run_json, run_split
    info = read_run_json(run)
    with open_store(info["data"]) as store:
        test = run_split(store, info).part("test")
        ids = [store.class_names.index(c) for c in weak_set]
        n_weak = int(np.isin(store.label[test], ids).sum())
    assert v["samples"] == min(512, n_weak)
