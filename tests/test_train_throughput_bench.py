"""bench/train_throughput.py still runs against tdf's training path at a tiny size.

The bench patches parts of `tdf.train` (the checkpoint, the seeding, the training call) to time
them or switch them off; a move inside the package once broke it silently. Slow: each mode
starts TensorFlow several times.
"""

import json
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
                  "tdf, validation off", "tdf, cache off"):
        assert f"| {label} |" in stdout
    assert len(lines) == 7
    assert '"checkpoint_s": 0.0' in next(l for l in lines if '"off": "checkpoint"' in l)
    rows = {json.loads(l)["label"]: json.loads(l) for l in lines}
    assert rows["tdf, cache off"]["data_cache"] == {"budget_mb": 0}   # switched off: no cache at all
    assert rows["tdf"]["data_cache"]["hits"] > 0                       # tdf as it runs: epoch 2 from memory


@pytest.mark.slow
def test_inprocess_pipeline_pairs_tdf_and_bare_epochs(tmp_path):
    stdout, lines = _bench(tmp_path, "--compare", "inprocess-pipeline", "--store-compression", "none")
    assert "| tdf train (store, validation, checkpoint) |" in stdout
    assert "best of each" in stdout
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row["tdf"] > 0 and row["bare"] > 0
    assert row["tdf_cpu_s"] > 0 and row["bare_cpu_s"] > 0   # work done, besides wall time
    assert row["bare_determinism"] is False                  # the bare fit as a user runs it
    assert row["store_compression"] == "none"
    assert "CPU seconds per sample, bare / tdf" in stdout



def test_inprocess_feed_measures_each_feed(tmp_path):
    """The feed comparison draws every pipeline and reports CPU and page faults per batch."""
    import keras
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the feeds compared are tf.data pipelines")
    stdout, lines = _bench(tmp_path, "--compare", "inprocess-feed")
    names = ("tdf feed, sample cache (tdf train's default)", "tdf feed, no cache (lzf store)",
             "Keras array adapter (bare model.fit)")
    for name in names:
        assert f"| {name} |" in stdout
    row = json.loads(lines[0])
    assert row["compare"] == "inprocess-feed" and row["batches"] == 4   # 64 training rows / 16
    assert set(row["cpu_ms_per_batch"]) == set(names) and all(v >= 0 for v in row["cpu_ms_per_batch"].values())

def test_determinism_off_restores_the_setting():
    """The bench's bare epoch runs without op determinism and leaves it as it found it."""
    import importlib.util

    import keras
    if keras.backend.backend() != "tensorflow":
        pytest.skip("op determinism is a TensorFlow setting")
    from tensorflow.python.framework import config as tf_config
    spec = importlib.util.spec_from_file_location("train_throughput", ROOT / "bench" / "train_throughput.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    was = tf_config.is_op_determinism_enabled()
    try:
        tf_config.enable_op_determinism()
        with bench.determinism_off():
            assert not tf_config.is_op_determinism_enabled()
        assert tf_config.is_op_determinism_enabled()
        tf_config.disable_op_determinism()
        with bench.determinism_off():
            assert not tf_config.is_op_determinism_enabled()
        assert not tf_config.is_op_determinism_enabled()
    finally:
        (tf_config.enable_op_determinism if was else tf_config.disable_op_determinism)()


@pytest.mark.slow
def test_inprocess_parts_times_every_variant(tmp_path):
    stdout, lines = _bench(tmp_path, "--compare", "inprocess-parts")
    row = json.loads(lines[0])
    variants = set(row["cpu_s"])
    assert "bare model, arrays, determinism off" in variants and "tdf model, store, determinism on" in variants
    assert "tdf model, store+cache, determinism on" in variants
    assert len(variants) == 7 and all(v > 0 for v in row["cpu_s"].values())
    assert set(row["steps_samples_per_s"]) == variants
    for v in variants:
        assert f"| {v} |" in stdout


def test_bench_store_compresses_like_real_data(tmp_path):
    """The bench's store has NTU's zero padding and absent second bodies, so lzf pays for
    decompressing the absent bodies as on a real store (the padding is no longer stored at all:
    tdf.data.store.frame_chunk; a real NTU store is then 2.1× smaller with lzf)."""
    from bench_modules import load_bench
    bench = load_bench("train_throughput")
    bench.make_store(tmp_path / "lzf.h5", 60, 100, 4)
    bench.make_store(tmp_path / "none.h5", 60, 100, 4, compression=None)
    assert (tmp_path / "lzf.h5").stat().st_size < 0.6 * (tmp_path / "none.h5").stat().st_size


@pytest.mark.slow
def test_pipeline_times_epochs_two_to_n(tmp_path):
    """The default comparison with --epochs 3: both sides report a rate and CPU seconds per epoch,
    and the report gives best of each, the round-by-round median and the CPU ratio."""
    stdout, lines = _bench(tmp_path, "--epochs", "3")
    rows = [json.loads(l) for l in lines]
    assert [r["label"] for r in rows] == ["tdf", "bare"]
    assert all(r["train"] > 0 and r["cpu_s"] > 0 and r["epochs"] == 3 for r in rows)
    assert "epochs 2..3 of each run timed" in stdout
    assert "pair by pair (tdf run r / bare run r" in stdout and "CPU seconds of the timed epoch" in stdout


def test_pair_ratios_pair_runs_of_the_same_round():
    from bench_modules import load_bench
    bench = load_bench("train_throughput")
    tdf = [{"train": 200.0}, {"train": 100.0}, {"train": 240.0}]
    bare = [{"train": 250.0}, {"train": 200.0}, {"train": 300.0}]
    assert bench.pair_ratios(tdf, bare) == [0.8, 0.5, 0.8]   # not 240 / 300 alone, nor 240 / 250


def test_epoch_stalls_summary_counts_waits_after_the_first_epoch():
    from bench_modules import load_bench
    stalls = load_bench("epoch_stalls")
    rows = [{"epoch": 1, "wall_s": 9.0, "cpu_s": 12.0, "start_delay_s": 3.0},   # tracing: left out
            {"epoch": 2, "wall_s": 3.0, "cpu_s": 5.0, "start_delay_s": 0.01},
            {"epoch": 3, "wall_s": 5.1, "cpu_s": 5.2, "start_delay_s": 2.1},
            {"epoch": 4, "wall_s": 3.2, "cpu_s": 5.4, "start_delay_s": 0.02},
            {"epoch": 5, "wall_s": 4.9, "cpu_s": 5.1, "start_delay_s": 1.7}]
    s = stalls.summarise("v", rows)
    assert s == {"variant": "v", "epochs": 4, "stalled": 2, "median_stall_s": 1.9,
                 "median_wall_s": 4.05, "median_cpu_s": 5.15}


@pytest.mark.slow
def test_epoch_stalls_runs_every_variant(tmp_path):
    out = tmp_path / "stalls.jsonl"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "epoch_stalls.py"), "--epochs", "3", "--frames", "16",
                        "--train-samples", "64", "--classes", "4", "--batch-size", "16", "--out", str(out)],
                       capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "TDF_BENCH_TMP": str(tmp_path)})
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    from bench_modules import load_bench
    for v in load_bench("epoch_stalls").VARIANTS:
        assert f"| {v} |" in r.stdout
        assert [x["epoch"] for x in rows if x["variant"] == v] == [1, 2, 3]
