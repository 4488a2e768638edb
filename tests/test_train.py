"""`tdf train` / `tdf evaluate` on a tiny learnable data set: files, consistency, determinism,
resume after SIGKILL, mismatch errors and exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from toy_data import make_toy_store

TINY = ["--filters", "4,8,16", "--units-per-block", "1", "--kernel-size", "3", "--batch-size", "8"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_store(tmp_path_factory.mktemp("toy") / "toy.h5", classes=3, per_class=12, frames=16)


@pytest.fixture(scope="module")
def trained(toy, tmp_path_factory):
    from click.testing import CliRunner
    from tdf.cli import cli
    run = tmp_path_factory.mktemp("runs") / "run"
    r = CliRunner().invoke(cli, ["--quiet", "train", str(toy), "--out", str(run), "--epochs", "2",
                                 "--seed", "1", *TINY], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    return run


def test_run_folder_is_complete_and_consistent(trained):
    for name in ("model.keras", "run.json", "history.csv", "metrics.json", "predictions.npz", "confusion.png"):
        assert (trained / name).is_file(), name
    info = json.loads((trained / "run.json").read_text())
    assert info["status"] == "complete" and info["kind"] == "res_tcn" and info["epochs_run"] == 2
    assert info["config"]["filters"] == [4, 8, 16] and info["seed"] == 1
    assert info["split"]["name"] == "random" and info["data_fingerprint"]
    m = json.loads((trained / "metrics.json").read_text())
    accs = [a for a in m["per_class_accuracy"].values() if a is not None]
    assert m["mean_class_accuracy"] == pytest.approx(np.mean(accs))
    cm = np.array(m["confusion_matrix"])
    assert cm.sum() == m["n"] == info["split"]["sizes"]["test"]
    assert m["top5"] >= m["top1"]
    assert m["top1"] == pytest.approx(np.trace(cm) / cm.sum())
    p = np.load(trained / "predictions.npz")
    assert p["scores"].shape == (m["n"], 3) and len(set(p["names"])) == m["n"]
    np.testing.assert_allclose(p["scores"].sum(axis=1), 1, rtol=1e-5)
    assert (trained / "history.csv").read_text().count("\n") == 3  # header + 2 epochs


def test_evaluate_command(trained, invoke):
    own = {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file()}
    r = invoke("evaluate", trained, "--split", "val", "--json")
    assert r.exit_code == 0, r.stderr
    m = json.loads(r.stdout)
    out = trained / "evaluations" / f"toy-{m['data_fingerprint']}-val"
    assert m["split"] == "val" and m["out"] == str(out) and (out / "metrics-val.json").is_file()
    r = invoke("evaluate", trained)
    assert r.exit_code == 0 and "mean class accuracy" in r.stdout and "written to" in r.stdout
    # the test split of the run's own data gives the run's own numbers, written beside them
    test_out = trained / "evaluations" / f"toy-{m['data_fingerprint']}"
    assert json.loads((test_out / "metrics.json").read_text()) == json.loads((trained / "metrics.json").read_text())
    assert {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file()} == own
    r = invoke("evaluate", trained)  # an evaluation is replaced only with --force
    assert r.exit_code == 2 and "--force" in r.stderr
    assert invoke("evaluate", trained, "--force").exit_code == 0


def test_same_seed_same_metrics(toy, trained, tmp_path, invoke):
    r = invoke("--quiet", "train", toy, "--out", tmp_path / "again", "--epochs", "2", "--seed", "1", *TINY)
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "again" / "metrics.json").read_text() == (trained / "metrics.json").read_text()


def test_learns_the_toy_task(toy, tmp_path, invoke):
    r = invoke("--quiet", "--json", "train", toy, "--out", tmp_path / "r", "--epochs", "25", "--seed", "0",
               "--filters", "8,16,32", "--units-per-block", "1", "--kernel-size", "5", "--batch-size", "8",
               "--dropout", "0", "--lr", "0.05")
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["metrics"]["top1"] >= 0.9


def test_existing_run_needs_force_or_resume(toy, trained, invoke):
    before = (trained / "model.keras").read_bytes()
    r = invoke("train", toy, "--out", trained, *TINY)
    assert r.exit_code == 2 and "--force" in r.stderr and str(trained) in r.stderr
    assert (trained / "model.keras").read_bytes() == before


def test_mismatched_data_is_exit_2(trained, tmp_path, invoke):
    other = make_toy_store(tmp_path / "four.h5", classes=4, per_class=3, frames=16)
    r = invoke("evaluate", trained, other)
    assert r.exit_code == 2
    assert "3 classes" in r.stderr and "4" in r.stderr and "four.h5" in r.stderr
    r = invoke("train", other, "--out", trained, "--resume", *TINY)
    assert r.exit_code == 2 and "four.h5" in r.stderr


def test_bad_inputs_exit_2(tmp_path, invoke):
    r = invoke("train", tmp_path / "nope.h5", "--out", tmp_path / "r")
    assert r.exit_code == 2 and "nope.h5" in r.stderr
    (tmp_path / "bad.h5").write_bytes(b"\x89HDF garbage")
    r = invoke("train", tmp_path / "bad.h5", "--out", tmp_path / "r")
    assert r.exit_code == 2 and "bad.h5" in r.stderr
    r = invoke("evaluate", tmp_path)
    assert r.exit_code == 2 and "run.json" in r.stderr
    r = invoke("train", tmp_path / "bad.h5", "--out", tmp_path / "r", "--dropout", "2")
    assert r.exit_code == 2 and "--dropout" in r.stderr


def _tdf(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return [sys.executable, "-m", "tdf", "--quiet", *map(str, args)], env


def test_resume_after_sigkill_matches_uninterrupted(tmp_path):
    """Kill a run mid-epoch with SIGKILL, resume it, and get the metrics of an uninterrupted run."""
    data = make_toy_store(tmp_path / "d.h5", classes=3, per_class=60, frames=16)
    args = ["--epochs", "2", "--seed", "5", "--batch-size", "2", "--filters", "4,8,16",
            "--units-per-block", "1", "--kernel-size", "3"]
    cmd, env = _tdf("train", data, "--out", tmp_path / "full", *args)
    subprocess.run(cmd, env=env, check=True)

    run = tmp_path / "killed"
    cmd, env = _tdf("train", data, "--out", run, *args)
    proc = subprocess.Popen(cmd, env=env)
    latest = run / "checkpoints" / "LATEST"
    deadline = time.time() + 120
    while not latest.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "model.keras").exists(), "a killed run must not leave a model.keras"
    info = json.loads((run / "run.json").read_text())  # still valid JSON
    assert info["status"] == "training"
    assert latest.read_text().strip() == "epoch-0001"

    cmd, env = _tdf("train", data, "--out", run, "--resume", *args)
    subprocess.run(cmd, env=env, check=True)
    full = json.loads((tmp_path / "full" / "metrics.json").read_text())
    resumed = json.loads((run / "metrics.json").read_text())
    full.pop("data"), resumed.pop("data")
    assert resumed == full
    h_full = (tmp_path / "full" / "history.csv").read_text().splitlines()
    h_res = (run / "history.csv").read_text().splitlines()
    strip = lambda rows: [r.split(",")[:6] for r in rows]  # drop timing columns
    assert strip(h_res) == strip(h_full)
