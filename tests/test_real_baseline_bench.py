"""bench/real_baseline.py's late score fusion against a hand computation: the streams' softmax
scores are summed per test sample, top-1 and mean class accuracy read off the sum."""

from pathlib import Path

import numpy as np
import pytest
from bench_modules import load_bench

def _bench():
    return load_bench("real_baseline")


def _stream(work: Path, config: str, scores, labels, names=("a", "b", "c", "d")):
    d = work / "runs" / f"ds-{config}-s0"
    d.mkdir(parents=True)
    np.savez(d / "predictions.npz", scores=np.asarray(scores, np.float32), labels=np.asarray(labels),
             names=np.asarray(names), class_names=np.array(["zero", "one"]))


def test_three_stream_fusion_by_hand(tmp_path):
    labels = [0, 1, 1, 0]
    # alone: joint 2 of 4 right (samples 2, 3), bone 1 (sample 1), small 3 (samples 1, 2, 3);
    # summed (class 0 vs class 1): 1.15 vs 1.85 (wrong), 1.3 vs 1.7, 1.4 vs 1.6, 1.65 vs 1.35 → 3 of 4
    _stream(tmp_path, "joint_stream", [[0.45, 0.55], [0.8, 0.2], [0.4, 0.6], [0.9, 0.1]], labels)
    _stream(tmp_path, "bone_stream", [[0.4, 0.6], [0.1, 0.9], [0.9, 0.1], [0.2, 0.8]], labels)
    _stream(tmp_path, "small_stream", [[0.3, 0.7], [0.4, 0.6], [0.1, 0.9], [0.55, 0.45]], labels)
    bench = _bench()
    r = bench.fuse(tmp_path, "ds", 0, bench.FUSIONS["fusion3"], tmp_path / "r.jsonl", 30, "fusion3")
    assert r["config"] == "fusion3" and r["streams"] == ["joint_stream", "bone_stream", "small_stream"]
    assert r["top1"] == pytest.approx(3 / 4)
    assert r["mean_class_accuracy"] == pytest.approx((1 / 2 + 2 / 2) / 2)
    assert r["stream_top1"] == pytest.approx([2 / 4, 1 / 4, 3 / 4])
    assert (r["top1_unseen"], r["n_unseen"]) == (r["top1"], 4)   # no copies given: every sample counts
    # with sample "a" (the one the fusion gets wrong) a training copy, 3 of the other 3 are right
    r = bench.fuse(tmp_path, "ds", 0, bench.FUSIONS["fusion3"], tmp_path / "r.jsonl", 30, "fusion3", copies={"a"})
    assert (r["top1_unseen"], r["n_unseen"]) == (1.0, 3)


def test_fusion_waits_for_every_stream_and_refuses_mismatched_samples(tmp_path):
    bench = _bench()
    _stream(tmp_path, "joint_stream", [[1, 0]], [0], names=("a",))
    assert bench.fuse(tmp_path, "ds", 0, bench.FUSIONS["fusion"], tmp_path / "r.jsonl", 30) is None
    _stream(tmp_path, "bone_stream", [[1, 0]], [0], names=("z",))
    with pytest.raises(SystemExit, match="scored other samples"):
        bench.fuse(tmp_path, "ds", 0, bench.FUSIONS["fusion"], tmp_path / "r.jsonl", 30)
