"""Acceptance of the loop on planted weaknesses (slow: minutes per case; `python -m pytest -m slow`).

Each case runs the user's commands: `tdf data synth --weak-group G --seed S`, `tdf train
--preset synthetic`, `tdf diagnose` with default options, `tdf fix` on the diagnosis — and
checks what issues 4 and 5 promise: G ranked first (for a composite, its parts take the first
places) and the targeted fix raising the fine classes by ≥ 20 points without costing the coarse
classes more than 2. `bench/loop_acceptance.py` adds the controls and prints the README table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tdf.data.layout import COMPOSITES

pytestmark = pytest.mark.slow


def tdf(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run([sys.executable, "-m", "tdf", "--quiet", *map(str, args)], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def _mean(metrics, classes):
    return sum(metrics["per_class_accuracy"][c] for c in classes) / len(classes)


@pytest.mark.parametrize("group", ["hands", "right_leg", "head"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_group_is_ranked_first(group, seed, tmp_path):
    data = tmp_path / "d.h5"
    tdf("data", "synth", data, "--weak-group", group, "--seed", seed)
    tdf("train", data, "--out", tmp_path / "run", "--preset", "synthetic", "--seed", seed)
    tdf("diagnose", tmp_path / "run", "--out", tmp_path / "diag", "--render", "none", "--seed", seed)
    d = json.loads((tmp_path / "diag" / "diagnosis.json").read_text())
    parts = COMPOSITES.get(group, (group,))
    top = [g["name"] for g in d["groups"][: len(parts)]]
    assert sorted(top) == sorted(parts), d["groups"]
    assert d["recommended_groups"] == [group]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_targeted_fix_gains_on_fine_classes(seed, tmp_path):
    data = tmp_path / "d.h5"
    tdf("data", "synth", data, "--weak-group", "hands", "--seed", seed)
    s = json.loads(tdf("--json", "loop", data, "--out", tmp_path / "loop", "--preset", "synthetic",
                       "--seed", seed, "--render", "none"))
    assert s["recommended_groups"] == ["hands"]
    info = json.loads(tdf("--json", "data", "info", data))
    fine = info["fine_classes"]
    base = json.loads((tmp_path / "loop" / "baseline" / "metrics.json").read_text())
    fixed = json.loads((tmp_path / "loop" / "fixed" / "metrics.json").read_text())
    assert _mean(fixed, fine) - _mean(base, fine) >= 0.20
    coarse = [c for c in base["class_names"] if c not in fine]
    assert _mean(fixed, coarse) >= _mean(base, coarse) - 0.02
