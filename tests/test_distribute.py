"""`--distribute mirrored` on two logical CPU devices learns the same tiny task as one device.

Logical devices must be configured before TensorFlow initialises, so this runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from toy_data import make_toy_store

SCRIPT = r"""
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tdf.train_config import resolve_config
from tdf.train.fit import fit_run
cfg = resolve_config(None, None, {"epochs": 25, "filters": "8,16,32", "units_per_block": 1,
    "kernel_size": 5, "batch_size": 8, "dropout": 0.0, "lr": 0.05, "seed": 0,
    "distribute": sys.argv[3]})
summary = fit_run(sys.argv[1], sys.argv[2], cfg)
info = json.load(open(sys.argv[2] + "/run.json"))
print(json.dumps({"summary": summary, "replicas": info["replicas"],
                  "devices": len(tf.config.list_logical_devices("CPU"))}))
"""


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
                    reason="tf.distribute needs the TensorFlow backend")
def test_mirrored_on_two_logical_cpus_learns(tmp_path):
    data = make_toy_store(tmp_path / "toy.h5", classes=3, per_class=12, frames=16)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(data), str(tmp_path / "run"), "mirrored"],
                         env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["devices"] == 2 and result["replicas"] == 2
    assert result["summary"]["metrics"]["top1"] >= 0.9


def _free_ports(n: int) -> list[int]:
    import socket
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


# Two workers on localhost, global batch 8 (4 per worker), against one process with batch 8.
MW_ARGS = ["--epochs", "12", "--val-fraction", "0", "--seed", "0", "--filters", "8,16,32", "--units-per-block", "1",
           "--kernel-size", "5", "--batch-size", "8", "--dropout", "0", "--lr", "0.05"]
# BatchNormalization normalises each worker's half-batch on its own (it is not synchronised), so
# the two-worker run is not the same computation as one process: its test top-1 must lie within
# MW_TOLERANCE of the single-process run's (the toy test set has 8 samples: 1/8 per sample).
# 32 training samples make 4 full batches, so no remainder is dropped under the strategy.
MW_TOLERANCE = 2 / 8


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
                    reason="tf.distribute needs the TensorFlow backend")
def test_two_workers_on_localhost_write_one_run(tmp_path):
    data = make_toy_store(tmp_path / "toy.h5", classes=4, per_class=10, frames=16)
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    run = tmp_path / "mw"
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "tdf", "--quiet", "train", str(data), "--out", str(run),
             "--distribute", "multiworker", "--json", *MW_ARGS],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=600))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    chief, worker = (json.loads(o) for o, _ in outs)
    assert worker.get("worker") is True and chief.get("worker") is None
    assert chief["metrics"] == worker["metrics"]  # the same model on both workers
    # one consistent run folder, written by the chief only
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "complete" and info["replicas"] == 2
    assert info["cluster"] == {"tasks": 2, "written_by": "worker:0"}
    assert json.loads((run / "metrics.json").read_text())["top1"] == chief["metrics"]["top1"]
    assert (run / "history.csv").read_text().count("\n") == 1 + 12
    assert not list(tmp_path.glob(".*tdf-lock")) and not list(tmp_path.glob("*.partial"))
    # a single process with the same global batch
    single = subprocess.run([sys.executable, "-m", "tdf", "--quiet", "train", str(data), "--out",
                             str(tmp_path / "single"), "--json", *MW_ARGS],
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), capture_output=True, text=True,
                            timeout=600)
    assert single.returncode == 0, single.stderr[-3000:]
    one = json.loads(single.stdout)
    assert one["metrics"]["n"] == chief["metrics"]["n"]
    assert abs(one["metrics"]["top1"] - chief["metrics"]["top1"]) <= MW_TOLERANCE + 1e-9, (one, chief)
