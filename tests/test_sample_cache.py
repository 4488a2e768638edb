"""The sample cache: reads through it equal `Store.read` bit for bit (hits, misses, repeats,
crops and pads, interior zero frames), it never holds more than its budget, bad data are still
refused, worker processes start empty, and `tdf train` gives the same metrics with it and without."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from tdf.data.batches import SkeletonBatches
from tdf.data.sample_cache import MB, SampleCache, auto_budget_mb, resolve_budget_mb
from tdf.data.store import Sample, StoreWriter, open_store
from tdf.errors import BadInput

T = 12


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "d.h5"
    rng = np.random.default_rng(3)
    with StoreWriter(path, T, ["a", "b"], source="test") as w:
        for i in range(15):
            x = rng.normal(size=(2 + i % 10, 150)).astype(np.float32)
            if i % 4 == 0 and len(x) > 3:
                x[1] = 0            # an all-zero frame inside a sequence: not padding, kept
            if i % 5 == 1:
                x[:, 75:] = 0       # an absent second body
            w.append(Sample(x, label=i % 2, name=f"s{i:02d}"))
    return path


def test_reads_equal_the_stores_own_on_misses_and_hits(store_path):
    cache = SampleCache(64 * MB)
    rng = np.random.default_rng(0)
    with open_store(store_path) as store:
        for frames in (T, 5, T + 4):                   # as stored, cropped, padded further
            for _ in range(4):                         # first misses, then hits
                rows = rng.integers(0, 15, size=7)     # any order, repeats
                np.testing.assert_array_equal(cache.read(store, rows, frames), store.read(rows, frames=frames))
    assert cache.hits > 0 and 0 < len(cache) <= cache.misses   # a row repeated in one read misses twice


def test_keeps_each_sample_up_to_its_last_nonzero_frame(store_path):
    cache = SampleCache(64 * MB)
    with open_store(store_path) as store:
        cache.read(store, [0, 4, 9])
        length = np.asarray(store.length)
    assert [cache._samples[(r, T)].shape[0] for r in (0, 4, 9)] == [min(int(length[r]), T) for r in (0, 4, 9)]
    assert not cache._samples[(4, T)][1].any()         # the interior zero frame is there


def test_never_holds_more_than_its_budget_and_stays_exact(store_path):
    per_frame = 150 * 4
    cache = SampleCache(20 * per_frame)                # room for ≈ 2–3 samples of 2–11 frames
    with open_store(store_path) as store:
        for _ in range(3):
            rows = np.arange(15)
            np.testing.assert_array_equal(cache.read(store, rows), store.read(rows))
    assert 0 < len(cache) < 15
    assert cache.used_bytes <= cache.budget_bytes
    assert cache.used_bytes == sum(a.nbytes for a in cache._samples.values())


def test_budget_zero_keeps_nothing(store_path):
    cache = SampleCache(0)
    with open_store(store_path) as store:
        np.testing.assert_array_equal(cache.read(store, [1, 2]), store.read([1, 2]))
    assert len(cache) == 0 and cache.used_bytes == 0


def test_a_bad_sample_is_still_refused_by_name(store_path):
    import h5py
    from tdf.data.validate import sampled_rows
    bad = min(set(range(15)) - set(sampled_rows(15).tolist()))   # a row opening does not check
    with h5py.File(store_path, "r+") as f:
        x = f["x"][bad]
        x[0, 0, 0, 0] = np.nan
        f["x"][bad] = x
    cache = SampleCache(64 * MB)
    good = [r for r in range(15) if r != bad][:2]
    with open_store(store_path) as store:
        cache.read(store, good)
        with pytest.raises(BadInput, match=f"'s{bad:02d}'"):
            cache.read(store, [good[0], bad])
    assert (bad, T) not in cache._samples


def test_a_worker_process_gets_an_empty_cache_of_the_same_budget(store_path):
    reader = SkeletonBatches(store_path, np.arange(15), batch_size=4, cache=SampleCache(8 * MB))
    reader[0]
    assert len(reader.cache) == 4
    copy = pickle.loads(pickle.dumps(reader))
    assert len(copy.cache) == 0 and copy.cache.budget_bytes == 8 * MB
    np.testing.assert_array_equal(copy[0][0], reader[0][0])


def test_batches_through_the_cache_equal_batches_without(store_path):
    plain = SkeletonBatches(store_path, np.arange(15), batch_size=4, seed=1)
    cached = SkeletonBatches(store_path, np.arange(15), batch_size=4, seed=1, cache=SampleCache(8 * MB))
    for epoch in (0, 1):
        plain.set_epoch(epoch)
        cached.set_epoch(epoch)
        for i in range(len(plain)):
            for a, b in zip(plain[i], cached[i]):
                np.testing.assert_array_equal(a, b)


def test_budget_resolution():
    assert resolve_budget_mb(0) == 0 and resolve_budget_mb(12) == 12
    assert 0 < auto_budget_mb() <= 4096 and resolve_budget_mb(None) == auto_budget_mb()
    for bad in (-1, 1.5, True, "8"):
        with pytest.raises(ValueError, match="--cache-mb"):   # BudgetError: a ValueError and a BadInput
            resolve_budget_mb(bad)


def _metric_columns(run):
    """history.csv without its timing columns."""
    import csv
    with open(run / "history.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k not in ("seconds", "samples_per_s")} for row in csv.DictReader(f)]


def test_tdf_train_gives_the_same_metrics_with_and_without_the_cache(tmp_path):
    """Three epochs, one seed: identical history with the automatic cache and with --cache-mb 0;
    run.json records the budget and what the cache held."""
    from toy_data import train_tiny_run
    a = train_tiny_run(tmp_path / "a", classes=3, per_class=8, epochs=3)
    b = train_tiny_run(tmp_path / "b", classes=3, per_class=8, epochs=3, extra=("--cache-mb", "0"))
    assert _metric_columns(a) == _metric_columns(b)
    info_a = json.loads((a / "run.json").read_text())
    info_b = json.loads((b / "run.json").read_text())
    assert info_b["data_cache"] == {"budget_mb": 0}
    held = info_a["data_cache"]
    assert held["budget_mb"] == auto_budget_mb() and held["samples"] > 0 and held["hits"] > 0
    assert json.loads((a / "metrics.json").read_text())["top1"] == json.loads((b / "metrics.json").read_text())["top1"]


def test_cli_refuses_a_negative_budget_in_one_line(tmp_path):
    from click.testing import CliRunner
    from tdf.cli import cli
    from toy_data import make_toy_store
    data = make_toy_store(tmp_path / "toy.h5", classes=2, per_class=4, frames=8)
    r = CliRunner().invoke(cli, ["train", str(data), "--out", str(tmp_path / "run"), "--cache-mb", "-5"])
    assert r.exit_code == 2
    assert "--cache-mb must be an integer ≥ 0" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_an_augmenting_input_recipe_sees_the_same_frames_through_the_cache(store_path):
    """The cache sits before the input recipe: normalisation, bone/motion channels and seeded
    augmentation give the same batches, epoch after epoch (a recipe that wrote into its input
    would otherwise corrupt the cached samples from the second epoch on)."""
    from tdf.data.model_input import InputRecipe, ntu25_skeleton
    recipe = InputRecipe(ntu25_skeleton(), normalize="view", features=("joint", "bone", "joint_motion"),
                         aug_rotate=20.0, aug_scale=0.1, aug_crop=0.7)
    kw = dict(batch_size=5, seed=4, recipe=recipe, training=True)
    plain = SkeletonBatches(store_path, np.arange(15), **kw)
    cached = SkeletonBatches(store_path, np.arange(15), cache=SampleCache(8 * MB), **kw)
    for epoch in (0, 1, 2):
        plain.set_epoch(epoch)
        cached.set_epoch(epoch)
        for i in range(len(plain)):
            for a, b in zip(plain[i], cached[i]):
                np.testing.assert_array_equal(a, b)
    assert cached.cache.hits > 0
