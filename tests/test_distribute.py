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
from tdf.train.config import resolve_config
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
