"""SIGTERM is handled like Ctrl-C (issue 15 item 10): one line, exit 143, temporary outputs
removed, existing outputs byte-identical, prepare's workers stopped without tracebacks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toy_data import TINY, train_tiny_run

MESSAGE = "tdf: interrupted by SIGTERM"


def start(args, cwd, **kw):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, "-m", "tdf", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def wait_for(condition, proc, seconds=240):
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        if condition():
            return True
        time.sleep(0.05)
    return False


def assert_clean_stop(proc) -> str:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "Error" not in err, err
    assert err.strip().splitlines()[-1].startswith(MESSAGE), err
    return err


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*") if p.name != ".tdf-output.json")


@pytest.mark.parametrize("whole_group", [False, True])
def test_prepare_stops_cleanly(ntu_sample_dir, tmp_path, whole_group):
    raw = tmp_path / "raw"
    raw.mkdir()
    for setup in range(101, 109):  # 8 × the sample folder, under other sample names: a long run
        for f in ntu_sample_dir.glob("*.skeleton"):
            (raw / f"S{setup}{f.name[4:]}").symlink_to(f)
    out = tmp_path / "out.h5"
    out.write_bytes(b"an older store")  # replaced only when the new one is complete
    proc = start(["data", "prepare", raw, out, "--workers", "2", "--force"], tmp_path, start_new_session=True)
    growing = lambda: any(p.stat().st_size > 1_000_000 for p in tmp_path.glob(".out.h5.*.tmp"))  # noqa: E731
    assert wait_for(growing, proc), "prepare finished before it could be interrupted"
    if whole_group:  # as a service manager or `timeout` does: the workers get it too
        os.killpg(proc.pid, signal.SIGTERM)
    else:
        proc.send_signal(signal.SIGTERM)
    assert_clean_stop(proc)
    assert out.read_bytes() == b"an older store"
    assert hidden(tmp_path) == []
    deadline = time.time() + 30  # no worker outlives the command
    while time.time() < deadline:
        left = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout.split()
        if not left:
            break
        time.sleep(0.2)
    assert not left, f"processes left in the session: {left}"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("sig"), classes=4, per_class=12, epochs=2)


def test_diagnose_stops_cleanly(run, tmp_path):
    old = tmp_path / "diag"
    r = subprocess.run([sys.executable, "-m", "tdf", "--quiet", "diagnose", str(run), "--out", str(old),
                        "--render", "none", "--views", "ranking"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    before = {p: p.read_bytes() for p in old.rglob("*") if p.is_file()}
    proc = start(["diagnose", run, "--out", old, "--force", "--render", "gif"], tmp_path)
    staging = lambda: any(tmp_path.glob(".diag.tdf-new-*/diagnosis.json")) or any(  # noqa: E731
        tmp_path.glob(".diag.tdf-new-*/primitives.png"))
    assert wait_for(staging, proc), "diagnose finished before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    assert_clean_stop(proc)
    assert {p: p.read_bytes() for p in old.rglob("*") if p.is_file()} == before
    assert hidden(tmp_path) == []


def test_train_stops_cleanly_and_resumes(tmp_path):
    from toy_data import make_toy_store
    data = make_toy_store(tmp_path / "d.h5", classes=3, per_class=60, frames=16)
    args = ["--epochs", "2", "--seed", "5", "--batch-size", "2", *TINY[:-2]]
    out = tmp_path / "run"
    proc = start(["--quiet", "train", data, "--out", out, *args], tmp_path)
    assert wait_for(lambda: (out / "checkpoints" / "LATEST").exists(), proc), "training finished too soon"
    proc.send_signal(signal.SIGTERM)
    assert_clean_stop(proc)
    assert json.loads((out / "run.json").read_text())["status"] == "training"
    assert hidden(tmp_path) == [], "no temporary file or half checkpoint is left"
    r = subprocess.run([sys.executable, "-m", "tdf", "--quiet", "train", str(data), "--out", str(out),
                        "--resume", *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
