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
    r = inv("--quiet", "fix", root / "base", "--groups", "hands,head", "--out", root / "fixed", "--epochs", "2")
    assert r.exit_code == 0, r.stderr
    return root


def test_comparison_and_run_json(base):
    cmp = json.loads((base / "fixed" / "comparison.json").read_text())
    assert set(cmp) >= {"baseline", "fixed", "groups", "targeted_classes"}
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
               *TINY)
    assert r.exit_code == 0, r.stderr
    s = json.loads(r.stdout)
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
