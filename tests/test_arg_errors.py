"""Issue 14 item 4: a mistake on the command line (an unknown choice, a missing or malformed file,
a value out of range) is refused before TensorFlow is imported — so it comes back in a fraction
of a second, not after the backend's seconds-long start. Checked on the import itself (a fresh
process must not have `tensorflow` or `keras` in sys.modules afterwards), not on wall time;
bench/arg_errors.py measures the time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from toy_data import train_tiny_run

PROBE = r"""
import json, sys
from click.testing import CliRunner
from tdf.cli import cli
results = []
for args in json.loads(sys.argv[1]):
    r = CliRunner().invoke(cli, args)
    heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
    results.append({"args": args, "code": r.exit_code, "stderr": r.stderr, "heavy": heavy})
    if heavy:
        break  # later cases would all look guilty
print(json.dumps(results))
"""


def bad_argument_cases(run, data, tmp) -> list[list[str]]:
    """Bad invocations of every command that needs the backend (and of `render`)."""
    missing = str(tmp / "missing.h5")
    out = str(tmp / "out")
    return [
        # unknown choices
        ["train", data, "--out", out, "--distribute", "bogus"],
        ["train", data, "--out", out, "--preset", "fast"],
        ["train", data, "--out", out, "--model", "gcn"],
        ["evaluate", run, "--split", "bogus"],
        ["diagnose", run, "--out", out, "--method", "lrpp"],
        ["diagnose", run, "--out", out, "--render", "avi"],
        ["explain", run, "S001", "--stream", "side"],
        ["fix", run, "--out", out, "--init", "random"],
        ["loop", data, "--out", out, "--method", "shap"],
        # values out of range
        ["train", data, "--out", out, "--epochs", "0"],
        ["train", data, "--out", out, "--lr", "-1"],
        ["train", data, "--out", out, "--split", "bogus"],
        ["train", data, "--out", out, "--filters", "4,x"],
        ["train", data, "--out", out, "--max-frames", "100000"],
        ["diagnose", run, "--out", out, "--theta", "2"],
        ["diagnose", run, "--out", out, "--views", "bogus"],
        ["diagnose", run, "--out", out, "--samples-per-class", "0"],
        ["explain", run, "S001", "--top", "0"],
        ["fix", run, "--out", out, "--groups", "tail"],
        ["fix", run, "--out", out, "--groups", "hands", "--dropout", "1.5"],
        ["loop", data, "--out", out, "--batch-size", "0"],
        ["render", data, "--index", "0", "--out", str(tmp / "a.gif"), "--fps", "0"],
        # missing or malformed files
        ["train", missing, "--out", out],
        ["train", data, "--out", out, "--config", str(tmp / "missing.toml")],
        ["train", data, "--out", run],  # exists without --force
        ["evaluate", str(tmp / "norun")],
        ["evaluate", run, missing],
        ["diagnose", str(tmp / "norun"), "--out", out],
        ["diagnose", run, missing, "--out", out],
        ["diagnose", run, "--out", out, "--groups", str(tmp / "missing.toml")],
        ["diagnose", run, "--out", out, "--classes", "no_such_class"],  # refused before the ranking runs
        ["explain", run, "no_such_sample"],
        ["explain", run, "S001", missing],
        ["fix", run, "--out", out, "--diagnosis", str(tmp / "missing.json")],
        ["fix", run, "--out", out, "--groups-file", str(tmp / "missing.toml")],
        ["fix", run, "--out", out, "--groups", "hands", "--data", missing],
        ["loop", missing, "--out", out],
        ["loop", data, "--out", out, "--config", str(tmp / "missing.toml")],
    ]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("argerr")
    return train_tiny_run(root, classes=3, per_class=8, epochs=1), root / "toy.h5"


def test_argument_errors_never_import_tensorflow(tiny_run, tmp_path):
    run, data = tiny_run
    cases = bad_argument_cases(str(run), str(data), tmp_path)
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(cases)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)
    guilty = [r for r in results if r["heavy"]]
    assert not guilty, f"{guilty[0]['args']} imported {guilty[0]['heavy']}: {guilty[0]['stderr'][-300:]}"
    assert len(results) == len(cases)
    for r in results:
        assert r["code"] == 2, f"{r['args']}: exit {r['code']}: {r['stderr'][-300:]}"
        assert "Traceback" not in r["stderr"]
        lines = r["stderr"].strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tdf: error: "), f"{r['args']}: {r['stderr']!r}"


def test_a_good_command_still_imports_the_backend_quietly(tiny_run, tmp_path):
    """The control: the probe does see the backend when a command really needs it."""
    run, data = tiny_run
    cases = [["evaluate", str(run), "--out", str(tmp_path / "ev")]]
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(cases)], capture_output=True, text=True,
                          timeout=300)
    r = json.loads(done.stdout)[0]
    assert r["code"] == 0 and "keras" in r["heavy"], r
    assert "cuda" not in r["stderr"].lower() and "absl" not in r["stderr"]


@pytest.mark.parametrize("args, where", [
    (["--bogus"], "tdf"), (["bogus"], "tdf"), (["train"], "tdf train"),
    (["data", "import", "a", "b", "--format", "nope"], "tdf data import"),
])
def test_click_usage_errors_are_one_line(invoke, args, where):
    """Click's own parse errors (unknown option, command or choice, missing argument) also give
    one line naming the command, and exit 2, like every other bad input."""
    r = invoke(*args)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tdf: error: {where}: "), r.stderr
