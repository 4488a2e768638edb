"""`tdf fix` and `tdf loop` on tiny runs: comparison files, recorded provenance, bad inputs."""

from __future__ import annotations

import json

import pytest

from toy_data import make_toy_store

TINY = ["--filters", "4,8,16", "--units-per-block", "1", "--kernel-size", "3", "--batch-size", "8"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from click.testing import CliRunner
    from tdf.cli import cli
    root = tmp_path_factory.mktemp("fix")
    data = make_toy_store(root / "toy.h5", classes=3, per_class=10, frames=16)
    inv = lambda *a: CliRunner().invoke(cli, [str(x) for x in a], catch_exceptions=False)
    r = inv("--quiet", "train", data, "--out", root / "base", "--epochs", "2", *TINY)
    assert r.exit_code == 0, r.stderr
    r = inv("--quiet", "diagnose", root / "base", "--out", root / "diag", "--render", "none")
    assert r.exit_code == 0, r.stderr
    r = inv("--quiet", "fix", root / "base", "--groups", "hands,head", "--out", root / "fixed", "--epochs", "2",
            "--cache-mb", "7")
    assert r.exit_code == 0, r.stderr
    return root


def test_comparison_and_run_json(base):
    cmp = json.loads((base / "fixed" / "comparison.json").read_text())
    assert set(cmp) >= {"baseline", "fixed", "groups", "judged_classes", "judged_on"}
    for side in ("baseline", "fixed"):
        assert set(cmp[side]) == {"top1", "top5", "mean_class_accuracy", "per_class_accuracy"}
    assert cmp["groups"] == ["hands", "head"]
    base_m = json.loads((base / "base" / "metrics.json").read_text())
    assert cmp["baseline"]["per_class_accuracy"] == base_m["per_class_accuracy"]
    info = json.loads((base / "fixed" / "run.json").read_text())
    assert info["kind"] == "ms_res_tcn" and info["groups"] == ["hands", "head"] and info["init"] == "scratch"
    assert info["baseline_run"] == str((base / "base").resolve())
    assert info["config"]["filters"] == [4, 8, 16]  # the baseline's settings carried over
    assert info["ta_dims"] == (4 + 4 + 2) * 2 * 3
    assert info["data_cache"]["budget_mb"] == 7 and info["data_cache"]["hits"] > 0   # --cache-mb reaches the fix
    assert "| *top-1* |" in (base / "fixed" / "comparison.md").read_text()


def test_fix_from_diagnosis(base, invoke, tmp_path):
    d = json.loads((base / "diag" / "diagnosis.json").read_text())
    r = invoke("--quiet", "--json", "fix", base / "base", "--diagnosis", base / "diag" / "diagnosis.json",
               "--out", tmp_path / "f", "--epochs", "1", "--groups", "", "--init", "baseline")
    if not d["recommended_groups"]:
        assert r.exit_code == 2 and "recommends no joint group" in r.stderr
    else:
        assert r.exit_code == 0, r.stderr
        assert json.loads(r.stdout)["groups"] == d["recommended_groups"]
        assert json.loads((tmp_path / "f" / "run.json").read_text())["init"] == "baseline"


def test_bad_inputs(base, invoke, tmp_path):
    r = invoke("fix", base / "base", "--groups", "hand", "--out", tmp_path / "a")
    assert r.exit_code == 2 and "unknown joint group 'hand'" in r.stderr
    r = invoke("fix", base / "fixed", "--groups", "hands", "--out", tmp_path / "b")
    assert r.exit_code == 2 and "baseline" in r.stderr
    g = tmp_path / "g.toml"
    g.write_text('[groups]\nfingers = ["HandTipLeft", "Pinky"]\n')
    r = invoke("fix", base / "base", "--groups-file", g, "--out", tmp_path / "c")
    assert r.exit_code == 2 and "Pinky" in r.stderr and "g.toml" in r.stderr
    # a diagnosis of another run
    other = json.loads((base / "diag" / "diagnosis.json").read_text())
    other["run"] = str(tmp_path / "elsewhere")
    other["recommended_groups"] = ["hands"]
    (tmp_path / "other.json").write_text(json.dumps(other))
    r = invoke("fix", base / "base", "--diagnosis", tmp_path / "other.json", "--out", tmp_path / "d")
    assert r.exit_code == 2 and "was made for run" in r.stderr
    # nothing overwritten without --force
    before = (base / "fixed" / "comparison.json").read_bytes()
    r = invoke("fix", base / "base", "--groups", "hands", "--out", base / "fixed")
    assert r.exit_code == 2 and (base / "fixed" / "comparison.json").read_bytes() == before
    assert not any(p.name.startswith(("a", "b", "c", "d")) for p in tmp_path.iterdir() if p.is_dir())


def test_loop_writes_three_runs_and_report(base, invoke, tmp_path):
    data = base / "toy.h5"
    r = invoke("--quiet", "--json", "loop", data, "--out", tmp_path / "loop", "--epochs", "2", "--render", "none",
               "--cache-mb", "0", *TINY)
    assert r.exit_code == 0, r.stderr
    s = json.loads(r.stdout)
    for part in ("baseline", "fixed") if s["recommended_groups"] else ("baseline",):
        assert json.loads((tmp_path / "loop" / part / "run.json").read_text())["data_cache"] == {"budget_mb": 0}
    assert (tmp_path / "loop" / "baseline" / "model.keras").is_file()
    assert (tmp_path / "loop" / "diagnosis" / "diagnosis.json").is_file()
    assert (tmp_path / "loop" / "report.html").is_file()
    if s["recommended_groups"]:
        assert (tmp_path / "loop" / "fixed" / "comparison.json").is_file()
    page = (tmp_path / "loop" / "report.html").read_text()
    assert "baseline vs MS-Res-TCN" in page and "Weak-group ranking" in page
    r = invoke("loop", data, "--out", tmp_path / "loop", "--epochs", "2")
    assert r.exit_code == 2 and "--resume" in r.stderr
    if s["recommended_groups"]:
        # --resume reuses the finished stages, but not a fix trained with another --init
        r = invoke("--quiet", "--json", "loop", data, "--out", tmp_path / "loop", "--epochs", "2", "--render",
                   "none", "--resume", *TINY)
        assert r.exit_code == 0 and json.loads(r.stdout)["fixed_metrics"] == s["fixed_metrics"]
        r = invoke("loop", data, "--out", tmp_path / "loop", "--epochs", "2", "--render", "none", "--resume",
                   "--init", "baseline", *TINY)
        assert r.exit_code == 2 and "--init scratch" in r.stderr


def test_every_fix_of_a_baseline_is_judged_on_the_same_classes(base, invoke, tmp_path):
    """`fix --groups A`, `fix --groups B` and `fix --diagnosis D` of one baseline: the same judged
    classes — the baseline's weak classes, which its diagnosis records — whatever the targets."""
    from tdf.diagnose.weak_classes import weak_classes
    diag = json.loads((base / "diag" / "diagnosis.json").read_text())
    diag["recommended_groups"] = ["left_arm"]          # a third target, named by a diagnosis
    (tmp_path / "edited").mkdir()
    (tmp_path / "edited" / "diagnosis.json").write_text(json.dumps(diag))
    r = invoke("--quiet", "fix", base / "base", "--groups", "right_leg", "--out", tmp_path / "b", "--epochs", "1")
    assert r.exit_code == 0, r.stderr
    r = invoke("--quiet", "fix", base / "base", "--diagnosis", tmp_path / "edited" / "diagnosis.json", "--out", tmp_path / "d",
               "--epochs", "1")
    assert r.exit_code == 0, r.stderr
    cmps = {name: json.loads((folder / "comparison.json").read_text())
            for name, folder in (("A", base / "fixed"), ("B", tmp_path / "b"), ("D", tmp_path / "d"))}
    assert [c["groups"] for c in cmps.values()] == [["hands", "head"], ["right_leg"], ["left_arm"]]
    expected = [w["class"] for w in weak_classes(json.loads((base / "base" / "metrics.json").read_text()))]
    assert expected == [w["class"] for w in diag["weak_classes"]]   # what the diagnosis records
    for c in cmps.values():
        assert c["judged_classes"] == expected
        if expected:   # (a weak-class rule may find none on a tiny test split)
            assert c["judged_mean"]["baseline"] == pytest.approx(
                sum(c["baseline"]["per_class_accuracy"][k] for k in expected) / len(expected))
    assert cmps["D"]["judged_on"]["diagnosis_agrees"] is True and cmps["A"]["judged_on"]["diagnosis_agrees"] is None
    marked = {name: sorted(line.split("**")[1] for line in (folder / "comparison.md").read_text().splitlines()
                           if line.startswith("| **"))
              for name, folder in (("A", base / "fixed"), ("B", tmp_path / "b"), ("D", tmp_path / "d"))}
    assert marked["A"] == marked["B"] == marked["D"] == sorted(expected)


def test_judged_classes_ignore_a_diagnosis_that_disagrees():
    from tdf.console import Output
    from tdf.fix import judged_classes
    metrics = {"class_names": ["a", "b", "c", "d"],
               "per_class_accuracy": {"a": 1.0, "b": 0.9, "c": 0.2, "d": 0.95},
               "confusion_matrix": [[10, 0, 0, 0], [1, 9, 0, 0], [0, 6, 2, 2], [0, 0, 0, 10]]}
    rule = judged_classes(metrics)["classes"]
    warnings = []
    out = Output(quiet=True)
    out.warn = warnings.append
    j = judged_classes(metrics, {"split": "val", "weak_classes": [{"class": "b"}]}, out)
    assert j["classes"] == rule and j["diagnosis_agrees"] is False
    assert len(warnings) == 1 and "val split" in warnings[0]
    assert judged_classes(metrics, {"split": "test", "weak_classes": [{"class": c} for c in rule]})[
        "diagnosis_agrees"] is True
