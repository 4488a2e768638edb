"""`tdf diagnose` on a tiny trained run: files, schema, determinism, names for pipelines, exit
codes, and the report in a real headless browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from toy_data import train_tiny_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    # toy_3 moves exactly like toy_2: the model cannot tell them apart, so there is a weak class
    return train_tiny_run(tmp_path_factory.mktemp("diag"), classes=4, per_class=50, epochs=8,
                          same_motion={3: 2}, extra=("--bn-momentum", "0.5", "--dropout", "0"))


@pytest.fixture(scope="module")
def diag(run, tmp_path_factory):
    from click.testing import CliRunner
    from tdf.cli import cli
    out = tmp_path_factory.mktemp("d") / "diag"
    r = CliRunner().invoke(cli, ["--quiet", "diagnose", str(run), "--out", str(out), "--render", "none",
                                 "--samples-per-class", "2"], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    return out


def test_diagnosis_files_and_schema(diag):
    d = json.loads((diag / "diagnosis.json").read_text())
    assert d["schema"] == 1 and d["split"] == "test" and d["model_kind"] == "res_tcn"
    assert len(d["groups"]) == 8
    assert [g["rank"] for g in d["groups"]] == list(range(1, 9))
    scores = [g["score"] for g in d["groups"]]
    assert scores == sorted(scores, reverse=True)
    for g in d["groups"]:
        assert {"name", "rank", "score", "evidence", "classes"} <= set(g)
        ev = g["evidence"]
        from tdf.diagnose.ranking import COMPONENTS, RULE, RULES
        assert ev["rule"] == RULE and set(ev["components"]) == set(COMPONENTS)
        assert g["score"] == pytest.approx(RULES[RULE](ev["components"]), abs=1e-5)
        assert ev["model_term"] == pytest.approx(ev["input_separability"] - g["score"], abs=1e-5)
        assert ev["model_separability"] == ev["components"]["model_only"]
    assert d["weak_classes"] and all("confused_with" in w for w in d["weak_classes"])
    assert d["ranking_status"] == {"status": "ranked", "message": None}
    for g in d["groups"]:
        assert g["score_low"] <= g["score_high"] and g["evidence"]["cv_repeats"] == 10
    from tdf.diagnose.ranking import THRESHOLD
    assert all(g["score_low"] >= THRESHOLD for g in d["groups"] if g["name"] in d["recommended_groups"])
    f = d["faithfulness"]
    assert set(f["methods"]) == {"gradxinput", "lrp", "occlusion"} and f["samples"] >= 2
    for m in f["methods"]:
        assert f["methods"][m]["verdict"] in ("faithful", "not faithful", "inconclusive")
        assert len(f["groups"][m]["deletion_curve"]) == 9 and len(f["frames"][m]["insertion_curve"]) == 9
        assert len(f["randomisation"]["rho"][m]) == len(f["randomisation"]["stages"])
    assert d["relevance_choice"]["requested"] == "auto"
    assert d["relevance_choice"]["chosen"] == f["chosen"] == d["relevance"]["method"]
    assert (diag / "faithfulness.png").is_file() and (diag / "randomisation.png").is_file()
    assert isinstance(d["recommended_groups"], list)
    for name in ("report.html", "ranking.png", "primitives.png", "decoded.npz", "ranking_outcomes.npz"):
        assert (diag / name).is_file(), name
    assert list((diag / "responses").glob("*.png"))


def test_saved_outcomes_rescore_to_the_recorded_ranking(diag):
    """bench/ranking_rules.py's re-scoring: the outcomes file gives back every score and interval."""
    from tdf.diagnose.ranking import BOOTSTRAP, RULE, bootstrap_draws, load_outcomes, score_group
    d = json.loads((diag / "diagnosis.json").read_text())
    labels, seed, outcomes = load_outcomes(diag / "ranking_outcomes.npz")
    assert len(labels) == d["ranking_samples"]["n"] and set(outcomes) == {g["name"] for g in d["groups"]}
    draws = bootstrap_draws(labels, seed, d["groups"][0]["evidence"]["cv_repeats"], BOOTSTRAP)
    for g in d["groups"]:
        comps, score, low, high = score_group(outcomes[g["name"]], g["evidence"]["chance"], RULE, draws)
        assert (score, low, high) == pytest.approx((g["score"], g["score_low"], g["score_high"]), abs=1e-6)
        assert comps == pytest.approx(g["evidence"]["components"], abs=1e-6)


@pytest.mark.slow  # re-probes every input side of the bench (≈ 50 s); the ranking itself is tested above
def test_reprobing_the_ranking_samples_gives_back_the_recorded_ranking(diag):
    """bench/ranking_probes.py re-selects the diagnosis's samples and re-probes them: its
    `diagnosis` input side (the better of spectra and trajectory) reproduces every recorded
    score, input skill, probe and rank, so its other input sides are compared on equal terms."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.ranking_probes import rescore_inputs
    d = json.loads((diag / "diagnosis.json").read_text())
    rows = {r["name"]: r for r in rescore_inputs(diag)["diagnosis"]}
    for g in d["groups"]:
        r = rows[g["name"]]
        assert (r["score"], r["score_low"], r["score_high"]) == pytest.approx(
            (g["score"], g["score_low"], g["score_high"]), abs=1e-6)
        assert r["input"] == pytest.approx(g["evidence"]["input_separability"], abs=1e-6)
        assert (r["probe"], r["rank"]) == (g["evidence"]["input_probe"], g["rank"])


def test_forced_occlusion_fills_the_per_class_shares(run, tmp_path, invoke):
    r = invoke("--quiet", "diagnose", run, "--out", tmp_path / "o", "--render", "none", "--method", "occlusion",
               "--views", "ranking,relevance")
    assert r.exit_code == 0, r.stderr
    d = json.loads((tmp_path / "o" / "diagnosis.json").read_text())
    assert d["relevance_choice"] == {"requested": "occlusion", "chosen": "occlusion", "why": "forced with --method"}
    assert d["faithfulness"] is None
    for shares in d["relevance"]["group_share_by_class"].values():
        assert sum(shares.values()) == pytest.approx(1.0)


def test_decoded_npz(diag):
    z = np.load(diag / "decoded.npz")
    n = len(z["names"])
    assert z["x"].shape == (n, 16, 150)
    for layer in ("conv1", "unit2", "unit3", "unit4"):
        assert z[layer].shape == (n, 16, 150), layer


def test_same_seed_same_ranking(run, diag, tmp_path, invoke):
    """Again with the ranking view alone: the same groups, scores and evidence as in the full diagnosis."""
    r = invoke("--quiet", "diagnose", run, "--out", tmp_path / "again", "--render", "none", "--samples-per-class", "2",
               "--views", "ranking")
    assert r.exit_code == 0, r.stderr
    a = json.loads((diag / "diagnosis.json").read_text())
    b = json.loads((tmp_path / "again" / "diagnosis.json").read_text())
    def ranked(d):  # the relevance view adds each group's relevance share to its evidence
        return [{**g, "evidence": {k: v for k, v in g["evidence"].items() if k != "relevance_share"}}
                for g in d["groups"]]
    assert "relevance_share" in a["groups"][0]["evidence"] and "relevance_share" not in b["groups"][0]["evidence"]
    assert ranked(a) == ranked(b) and a["recommended_groups"] == b["recommended_groups"]


def test_names_format_and_exit_codes(run, diag, tmp_path, invoke):
    d = json.loads((diag / "diagnosis.json").read_text())
    # the names need only the ranking view, which does not depend on the other views
    r = invoke("diagnose", run, "--out", tmp_path / "n", "--render", "none", "--format", "names", "--top", "1",
               "--views", "ranking")
    assert r.exit_code == 0
    assert r.stdout.strip() == ",".join(d["recommended_groups"][:1])
    before = (diag / "diagnosis.json").read_bytes()
    r = invoke("diagnose", run, "--out", diag, "--render", "none")
    assert r.exit_code == 2 and "--force" in r.stderr
    assert (diag / "diagnosis.json").read_bytes() == before
    r = invoke("diagnose", tmp_path / "nope", "--out", tmp_path / "x")
    assert r.exit_code == 2 and "nope" in r.stderr
    r = invoke("diagnose", run, "--out", tmp_path / "y", "--classes", "no_such_class", "--render", "none")
    assert r.exit_code == 2 and "no_such_class" in r.stderr
    bad = tmp_path / "g.toml"
    bad.write_text('[groups]\nhand = ["Pinky"]\n')
    r = invoke("diagnose", run, "--out", tmp_path / "z", "--groups", bad, "--render", "none")
    assert r.exit_code == 2 and "Pinky" in r.stderr


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    return None


def test_report_opens_in_headless_browser(diag, tmp_path):
    exe = _browser()
    if exe is None:
        pytest.skip("no headless chromium on this machine")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom",
           (diag / "report.html").as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=180).stdout
    assert "Weak-group ranking" in dom
    d = json.loads((diag / "diagnosis.json").read_text())
    assert all(g["name"] in dom for g in d["groups"])
    m = re.search(r'data-images-ok="(\d+)/(\d+)"', dom)
    assert m, "the page's load check did not run"
    ok, total = map(int, m.groups())
    assert total >= 3 and ok == total, f"{ok} of {total} images rendered"
