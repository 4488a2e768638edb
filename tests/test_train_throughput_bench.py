"""bench/train_throughput.py still runs against tdf's training path at a tiny size.

The bench patches parts of `tdf.train` (the checkpoint, the seeding, the training call) to time
them or switch them off; a move inside the package once broke it silently. Slow: each mode
starts TensorFlow several times.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--frames", "16", "--train-samples", "64", "--classes", "4", "--batch-size", "16", "--repeat", "1"]


def _bench(tmp_path, *args):
    out = tmp_path / "results.jsonl"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "train_throughput.py"), *args, *TINY,
                        "--out", str(out)], capture_output=True, text=True, cwd=tmp_path,
                       env={**os.environ, "TDF_BENCH_TMP": str(tmp_path)})
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout, out.read_text().splitlines()


@pytest.mark.slow
def test_breakdown_runs_every_switch(tmp_path):
    stdout, lines = _bench(tmp_path, "--compare", "breakdown")
    for label in ("tdf", "bare", "tdf, determinism off", "tdf, compression off", "tdf, checkpoint off",
                  "tdf, validation off"):
        assert f"| {label} |" in stdout
    assert len(lines) == 6
    assert '"checkpoint_s": 0.0' in next(l for l in lines if '"off": "checkpoint"' in l)


@pytest.mark.slow
def test_inprocess_pipeline_pairs_tdf_and_bare_epochs(tmp_path):
    stdout, lines = _bench(tmp_path, "--compare", "inprocess-pipeline")
    assert "| tdf train (store, validation, checkpoint) |" in stdout
    assert len(lines) == 1 and '"tdf"' in lines[0] and '"bare"' in lines[0]
