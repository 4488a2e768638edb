"""Issue 15 item 10 (low disk): HDF5 crashes the interpreter (rc 139) after running out of space,
so writers stop with one line while space is left. Tested on a real tiny tmpfs when this process
may mount one, and with the free space simulated otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

import tdf.diskspace as diskspace
from tdf.data.store import Sample, StoreWriter
from tdf.errors import RunFailed


def _sample(i: int) -> Sample:
    return Sample(np.ones((50, 150), np.float32), 0, f"s{i}")


def test_refused_up_front_when_nearly_full(tmp_path, monkeypatch):
    monkeypatch.setattr(diskspace, "free_bytes", lambda folder: 2 << 20)
    with pytest.raises(RunFailed, match=rf"not enough disk space in {tmp_path}: 2\.1 MB free"):
        StoreWriter(tmp_path / "d.h5", 50, ["a"], source="t")
    assert list(tmp_path.iterdir()) == []


def test_stops_mid_write_and_leaves_nothing(tmp_path, monkeypatch):
    """The free space shrinks as samples are written; the writer stops at the reserve, removes
    its temporary file and never creates the target."""
    written = []
    monkeypatch.setattr(diskspace, "CHECK_EVERY", 10_000)
    monkeypatch.setattr(diskspace, "free_bytes", lambda folder: diskspace.RESERVE + 200_000 - 30_000 * len(written))
    with pytest.raises(RunFailed, match="not enough disk space"):
        with StoreWriter(tmp_path / "d.h5", 50, ["a"], source="t") as w:
            for i in range(100):
                w.append(_sample(i))
                written.append(i)
    assert 3 <= len(written) < 100
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A freshly mounted tmpfs of a given size (skipped where mounting is not allowed)."""
    mounted = []

    def mount(size: str) -> Path:
        d = tmp_path / f"fs-{uuid.uuid4().hex[:6]}"
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(d)], capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({r.stderr.decode().strip()[:80]})")
        mounted.append(d)
        return d
    yield mount
    for d in mounted:
        subprocess.run(["umount", str(d)], capture_output=True)


def _tdf(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return subprocess.run([sys.executable, "-m", "tdf", "--quiet", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=600)


@pytest.mark.parametrize("size, args", [
    ("2m", ["--per-class", "10"]),                        # too small to start (the 2 MB disk)
    ("20m", ["--per-class", "40", "--frames", "100"]),    # starts, then runs short mid-write
])
def test_synth_on_a_small_disk_gives_one_line_not_a_segfault(tiny_tmpfs, size, args):
    fs = tiny_tmpfs(size)
    r = _tdf("data", "synth", fs / "s.h5", *args)
    assert r.returncode == 1, (r.returncode, r.stderr[-500:])   # 139 before: SIGSEGV inside HDF5
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"tdf: error: not enough disk space in {fs}"), r.stderr
    assert list(fs.iterdir()) == [], "no temporary file is left on the full disk"


def test_prepare_on_a_small_disk(tiny_tmpfs, ntu_sample_dir):
    fs = tiny_tmpfs("2m")
    r = _tdf("data", "prepare", ntu_sample_dir, fs / "s.h5", "--workers", "1")
    assert r.returncode == 1 and "not enough disk space" in r.stderr and list(fs.iterdir()) == []
