"""The output rule through the commands (issues 14 and 15): no command writes into a folder it
does not own, `--force` replaces only its own kind and only when the new output is complete,
two writers of one output do not both "succeed", evaluate never rewrites the run, resume only
from inside the run, and files get the umask's modes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from toy_data import TINY, make_toy_store

QUICK_DIAG = ["--render", "none", "--views", "ranking", "--samples-per-class", "1"]


def tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A toy store, a second store with the same classes (other samples), and a trained run."""
    from click.testing import CliRunner
    from tdf.cli import cli
    root = tmp_path_factory.mktemp("own")
    data = make_toy_store(root / "toy.h5", classes=3, per_class=12, frames=16)
    other = make_toy_store(root / "other.h5", classes=3, per_class=8, frames=16, seed=7)
    r = CliRunner().invoke(cli, ["--quiet", "train", str(data), "--out", str(root / "run"), "--epochs", "2",
                                 "--seed", "1", *TINY], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    return root


def copy_run(base: Path, dest: Path) -> Path:
    shutil.copytree(base / "run", dest, symlinks=True)
    shutil.rmtree(dest / "evaluations", ignore_errors=True)
    return dest


def test_diagnose_refuses_user_folder_and_the_run(base, tmp_path, invoke):
    """Issue 15 item 1: `diagnose RUN --out DIR` deleted any existing folder without --force."""
    user = tmp_path / "mine"
    user.mkdir()
    (user / "thesis.tex").write_text("three years of work")
    (user / "figures").mkdir()
    (user / "figures" / "a.png").write_bytes(b"\x89PNG")
    run_before, user_before = tree(base / "run"), tree(user)
    for extra in ([], ["--force"]):
        r = invoke("diagnose", base / "run", "--out", user, *QUICK_DIAG, *extra)
        assert r.exit_code == 2 and "did not write" in r.stderr and "mine" in r.stderr
        assert "Traceback" not in r.stderr
        r = invoke("diagnose", base / "run", "--out", base / "run", *QUICK_DIAG, *extra)
        assert r.exit_code == 2 and "holds a tdf run, not a diagnosis" in r.stderr
    assert tree(user) == user_before and tree(base / "run") == run_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_train_and_evaluate_refuse_user_files(base, tmp_path, invoke):
    """Issue 15 item 2: train --out DIR replaced a user's metrics.json/model.keras; evaluate --out
    DIR overwrote DIR/metrics.json."""
    user = tmp_path / "mine"
    user.mkdir()
    (user / "metrics.json").write_text('{"mine": true}')
    (user / "model.keras").write_bytes(b"my model")
    before = tree(user)
    r = invoke("train", base / "toy.h5", "--out", user, "--epochs", "1", *TINY)
    assert r.exit_code == 2 and "did not write" in r.stderr
    r = invoke("train", base / "toy.h5", "--out", user, "--epochs", "1", "--force", *TINY)
    assert r.exit_code == 2 and "did not write" in r.stderr
    r = invoke("evaluate", base / "run", "--out", user, "--force")
    assert r.exit_code == 2 and "did not write" in r.stderr
    assert tree(user) == before


def test_train_force_keeps_the_old_run_until_the_new_one_is_complete(base, tmp_path, invoke):
    """Issue 15 item 2: train --force deleted the old run first; stale files survived."""
    run = copy_run(base, tmp_path / "run")
    (run / "confusion-val.png").write_bytes(b"stale picture of the old model")
    before = tree(run)
    # a replacement that fails after it started leaves the old run as it was
    r = invoke("train", base / "toy.h5", "--out", run, "--force", "--split", "no_such_split", *TINY)
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert tree(run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    # a complete one replaces it whole
    r = invoke("--quiet", "train", base / "toy.h5", "--out", run, "--force", "--epochs", "1", "--seed", "3", *TINY)
    assert r.exit_code == 0, r.stderr
    assert not (run / "confusion-val.png").exists()
    assert json.loads((run / "run.json").read_text())["epochs_run"] == 1
    assert json.loads((run / ".tdf-output.json").read_text())["kind"] == "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    # a fix output is not a run: train refuses to replace it
    (tmp_path / "fixed").mkdir()
    (tmp_path / "fixed" / ".tdf-output.json").write_text('{"kind": "fix"}')
    (tmp_path / "fixed" / "run.json").write_text("{}")
    r = invoke("train", base / "toy.h5", "--out", tmp_path / "fixed", "--force", *TINY)
    assert r.exit_code == 2 and "holds a tdf fix, not a run" in r.stderr


def _tdf(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return [sys.executable, "-m", "tdf", "--quiet", *map(str, args)], env


def test_killed_replacement_leaves_the_old_run(base, tmp_path, invoke):
    """Issue 15 item 2: a replacement killed after its first epoch left neither model."""
    run = copy_run(base, tmp_path / "run")
    before = tree(run)
    data = make_toy_store(tmp_path / "big.h5", classes=3, per_class=60, frames=16)
    cmd, env = _tdf("train", data, "--out", run, "--force", "--epochs", "50", "--batch-size", "2",
                    "--filters", "4,8,16", "--units-per-block", "1", "--kernel-size", "3")
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 180
    latest = None
    while latest is None and time.time() < deadline and proc.poll() is None:
        latest = next(iter(tmp_path.glob(".run.tdf-new-*/checkpoints/LATEST")), None)
        time.sleep(0.05)
    assert latest is not None and proc.poll() is None, "the replacement did not start training"
    proc.kill()
    proc.wait()
    assert tree(run) == before  # the old run, byte for byte
    # the next writer (in-process here: the dead one was another process) clears the staging folder
    assert invoke("--quiet", "evaluate", run, "--out", tmp_path / "ev").exit_code == 0
    r = invoke("--quiet", "train", base / "toy.h5", "--out", run, "--force", "--epochs", "1", *TINY)
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.h5", "ev", "run"]


def test_two_writers_of_one_run(base, tmp_path):
    """Issue 15 item 8: two `tdf train --out SAME` both reported success."""
    data = make_toy_store(tmp_path / "big.h5", classes=3, per_class=40, frames=16)
    run = tmp_path / "run"
    args = ["--epochs", "3", "--batch-size", "2", *TINY[:-2]]
    cmd, env = _tdf("train", data, "--out", run, *args)
    first = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (tmp_path / ".run.tdf-lock").exists() and time.time() < deadline and first.poll() is None:
        time.sleep(0.05)
    assert first.poll() is None, first.stderr.read()
    first.send_signal(signal.SIGSTOP)  # hold the first writer (and its lock) while the others try
    try:
        for extra in ([], ["--force"], ["--resume"]):
            second = subprocess.run(_tdf("train", data, "--out", run, *args, *extra)[0], env=env,
                                    capture_output=True, text=True)
            assert second.returncode == 2, second.stderr
            assert "another tdf process is writing" in second.stderr and "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=600) == 0, first.stderr.read()
    assert json.loads((run / "run.json").read_text())["status"] == "complete"
    assert not (tmp_path / ".run.tdf-lock").exists()


def test_evaluate_other_data_never_touches_the_run(base, invoke):
    """Issue 14 item 1: `tdf evaluate RUN OTHER.h5` overwrote RUN/metrics.json, and the next
    `tdf diagnose RUN` reported the other data set's accuracy."""
    run = base / "run"
    own = json.loads((run / "metrics.json").read_text())
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    r = invoke("--json", "evaluate", run, base / "other.h5")
    assert r.exit_code == 0, r.stderr
    m = json.loads(r.stdout)
    out = Path(m["out"])
    assert out.parent == run / "evaluations" and out.name == f"other-{m['data_fingerprint']}"
    assert m["n"] == 24 and (out / "metrics.json").is_file() and (out / "predictions.npz").is_file()
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == files
    r = invoke("evaluate", run, base / "other.h5")
    assert r.exit_code == 2 and "--force" in r.stderr
    r = invoke("--json", "diagnose", run, "--out", base / "diag_after_eval", *QUICK_DIAG)
    assert r.exit_code == 0, r.stderr
    d = json.loads((base / "diag_after_eval" / "diagnosis.json").read_text())
    assert d["metrics"] == {k: own[k] for k in ("top1", "top5", "mean_class_accuracy", "n")}
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == files


def test_diagnose_checks_the_runs_own_evaluation(base, tmp_path, invoke):
    """A metrics.json an older tdf overwrote with another data set's numbers is not used, and
    diagnose never writes into the run (it used to evaluate into it when metrics.json was missing)."""
    run = copy_run(base, tmp_path / "run")
    own = json.loads((run / "metrics.json").read_text())
    r = invoke("--quiet", "evaluate", run, base / "other.h5", "--out", tmp_path / "ev")
    assert r.exit_code == 0, r.stderr
    wrong = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    wrong.pop("data_fingerprint")  # as an older tdf wrote it
    (run / "metrics.json").write_text(json.dumps(wrong))
    before = tree(run)
    r = invoke("diagnose", run, "--out", tmp_path / "d", *QUICK_DIAG)
    assert r.exit_code == 0, r.stderr
    assert "computed on other data" in r.stderr and "not modified" in r.stderr
    d = json.loads((tmp_path / "d" / "diagnosis.json").read_text())
    assert d["metrics"]["n"] == own["n"] and d["metrics"]["top1"] == pytest.approx(own["top1"])
    (run / "metrics.json").unlink()
    before = tree(run)
    r = invoke("diagnose", run, "--out", tmp_path / "d2", *QUICK_DIAG)
    assert r.exit_code == 0, r.stderr
    assert tree(run) == before


@pytest.fixture
def resumable(base, tmp_path):
    run = copy_run(base, tmp_path / "run")
    return run


def _resume(invoke, base, run, *extra):
    return invoke("train", base / "toy.h5", "--out", run, "--resume", "--epochs", "2", "--seed", "1", *TINY, *extra)


@pytest.mark.parametrize("latest", ["ABSOLUTE", "../../other/checkpoints/epoch-0002", "epoch-0009",
                                    "BINARY", "epoch-0002/../../../x", ""])
def test_resume_only_from_inside_the_run(base, resumable, tmp_path, invoke, latest):
    """Issue 15 item 6: LATEST was followed anywhere; a dangling one retrained from epoch 0."""
    run = resumable
    other = copy_run(base, tmp_path / "other")
    info = json.loads((run / "run.json").read_text())
    info["status"] = "training"  # an interrupted run, the case resume is for
    (run / "run.json").write_text(json.dumps(info))
    pointer = run / "checkpoints" / "LATEST"
    if latest == "ABSOLUTE":
        pointer.write_text(str(other / "checkpoints" / "epoch-0002") + "\n")
    elif latest == "BINARY":
        pointer.write_bytes(b"\x00\xff\xfe" * 40)
    else:
        pointer.write_text(latest + "\n")
    before = tree(run)
    r = _resume(invoke, base, run)
    assert r.exit_code == 2, r.stderr
    assert "LATEST" in r.stderr and "Traceback" not in r.stderr
    assert tree(run) == before


def test_resume_refuses_a_checkpoint_that_leads_outside(base, resumable, tmp_path, invoke):
    run = resumable
    other = copy_run(base, tmp_path / "other")
    shutil.rmtree(run / "checkpoints" / "epoch-0002")
    (run / "checkpoints" / "epoch-0002").symlink_to(other / "checkpoints" / "epoch-0002")
    before = tree(run)
    r = _resume(invoke, base, run)
    assert r.exit_code == 2 and "outside" in r.stderr
    assert tree(run) == before


@pytest.mark.parametrize("damage", ["no_checkpoints", "state_garbage", "state_types", "model_garbage",
                                    "variables_garbage", "variables_other_model"])
def test_failed_resume_leaves_a_complete_run_complete(base, resumable, invoke, damage):
    """Issue 15 item 6: a failed resume rewrote run.json to "training" and dropped its fields."""
    run = resumable
    ckpt = run / "checkpoints" / "epoch-0002"
    if damage == "no_checkpoints":
        shutil.rmtree(run / "checkpoints")
    elif damage == "state_garbage":
        (ckpt / "state.json").write_bytes(b"\x00{not json")
    elif damage == "state_types":
        state = json.loads((ckpt / "state.json").read_text())
        state["epoch"] = "2"
        (ckpt / "state.json").write_text(json.dumps(state))
    elif damage == "model_garbage":
        (run / "checkpoints" / "model.keras").write_bytes(b"PK\x03\x04 garbage")
    elif damage == "variables_garbage":
        (ckpt / "variables.npz").write_bytes(b"PK\x03\x04 garbage")
    else:  # a variables file whose arrays do not fit the model (one weight's shape changed)
        with np.load(ckpt / "variables.npz") as z:
            arrays = dict(z)
        arrays["model_00000"] = arrays["model_00000"][..., :1]
        np.savez(ckpt / "variables.npz", **arrays)
    before = tree(run)
    r = _resume(invoke, base, run, "--epochs", "4")
    assert r.exit_code == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert tree(run) == before
    assert json.loads((run / "run.json").read_text())["status"] == "complete"


def test_resume_of_a_complete_run(base, resumable, invoke):
    run = resumable
    before = tree(run)
    r = _resume(invoke, base, run)  # nothing to add: nothing is written
    assert r.exit_code == 0, r.stderr
    assert tree(run) == before
    r = invoke("--quiet", "train", base / "toy.h5", "--out", run, "--resume", "--epochs", "3", "--seed", "1", *TINY)
    assert r.exit_code == 0, r.stderr  # more epochs: built beside the run, swapped in complete
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "complete" and info["epochs_run"] == 3
    assert (run / "history.csv").read_text().count("\n") == 4
    assert sorted(p.name for p in run.parent.iterdir()) == ["run"]


def test_resume_without_epochs_keeps_the_runs_budget(base, resumable, invoke):
    """`--resume` alone never extends a finished run to the default budget (150 epochs, the
    paper's): only an explicit --epochs asks for more."""
    before = tree(resumable)
    r = invoke("--quiet", "train", base / "toy.h5", "--out", resumable, "--resume")
    assert r.exit_code == 0, r.stderr
    assert tree(resumable) == before


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_get_the_umasks_modes(tmp_path, invoke, umask):
    """Issue 14 item 2: stores, metrics.json and report.html were 0600, the diagnosis folder 0700."""
    old = os.umask(umask)
    try:
        data = make_toy_store(tmp_path / "toy.h5", classes=3, per_class=6, frames=16)
        r = invoke("--quiet", "train", data, "--out", tmp_path / "run", "--epochs", "1", *TINY)
        assert r.exit_code == 0, r.stderr
        r = invoke("--quiet", "evaluate", tmp_path / "run", "--split", "val")
        assert r.exit_code == 0, r.stderr
        r = invoke("--quiet", "diagnose", tmp_path / "run", "--out", tmp_path / "diag", *QUICK_DIAG)
        assert r.exit_code == 0, r.stderr
    finally:
        os.umask(old)
    checked = 0
    for p in [tmp_path / "run", tmp_path / "diag", *tmp_path.rglob("*")]:
        mode = stat.S_IMODE(p.lstat().st_mode)
        want = (0o777 if p.is_dir() else 0o666) & ~umask
        assert mode == want, f"{p}: {oct(mode)} ≠ {oct(want)} under umask {umask:03o}"
        checked += 1
    assert checked > 20
    for name in ("toy.h5", "run/model.keras", "run/metrics.json", "diag/report.html", "diag/diagnosis.json"):
        assert (tmp_path / name).is_file(), name


def test_checkpoint_of_the_older_layout_resumes_the_same(base, tmp_path, invoke):
    """A run whose checkpoint is one whole epoch-NNNN/model.keras (written before 2026-12-03)
    resumes as the variables layout does: extending both by an epoch gives the same metrics.
    The variables file restores every model and optimizer variable exactly."""
    from tdf.train.checkpoint import load_checkpoint_model
    new, old = copy_run(base, tmp_path / "new"), copy_run(base, tmp_path / "old")
    ckpt = old / "checkpoints" / "epoch-0002"
    model = load_checkpoint_model(ckpt)
    reference = load_checkpoint_model(new / "checkpoints" / "epoch-0002")
    for a, b in zip([*model.variables, *model.optimizer.variables],
                    [*reference.variables, *reference.optimizer.variables]):
        assert np.array_equal(np.asarray(a.value), np.asarray(b.value)), a.path
    assert int(model.optimizer.iterations.numpy()) > 0  # the optimizer's state came along
    model.save(ckpt / "model.keras")
    (ckpt / "variables.npz").unlink()
    (old / "checkpoints" / "model.keras").unlink()
    for run in (new, old):
        r = invoke("--json", "train", base / "toy.h5", "--out", run, "--resume", "--epochs", "3", "--seed", "1", *TINY)
        assert r.exit_code == 0, r.stderr
    metrics = [json.loads((run / "metrics.json").read_text()) for run in (new, old)]
    assert metrics[0]["top1"] == metrics[1]["top1"] and metrics[0]["confusion_matrix"] == metrics[1]["confusion_matrix"]
    assert (old / "checkpoints" / "epoch-0003" / "variables.npz").is_file()  # continues in the new layout
