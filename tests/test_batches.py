"""Batch reader: lazy reads equal Store.read, seeded per-epoch order, padding/cropping, fit()."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from tdf.data.batches import SkeletonBatches
from tdf.data.stats import frame_length_stats, mean_skeleton
from tdf.data.store import Sample, StoreWriter, open_store
from tdf.errors import BadInput

T = 12


@pytest.fixture
def store_path(tmp_path):
    """23 samples of lengths 3..14 (some longer than T=12, cropped), 3 classes."""
    path = tmp_path / "d.h5"
    rng = np.random.default_rng(1)
    xs = []
    with StoreWriter(path, T, ["a", "b", "c"], source="test") as w:
        for i in range(23):
            x = rng.normal(size=(3 + i % 12, 150)).astype(np.float32)
            xs.append(x)
            w.append(Sample(x, label=i % 3, name=f"s{i:02d}"))
    return path, xs


def _padded(x, frames):
    out = np.zeros((frames, 150), np.float32)
    t = min(len(x), frames, T)
    out[:t] = x[:t]
    return out


def test_batches_match_store_read(store_path):
    path, xs = store_path
    idx = np.array([0, 4, 5, 9, 10, 11, 17, 22])
    ds = SkeletonBatches(path, idx, batch_size=3, shuffle=False)
    assert len(ds) == 3
    store = open_store(path)
    seen = []
    for i in range(len(ds)):
        x, y = ds[i]
        rows = idx[i * 3:(i + 1) * 3]
        assert x.dtype == np.float32 and y.dtype == np.int32
        assert x.shape == (len(rows), T, 150) and y.shape == (len(rows),)
        np.testing.assert_array_equal(x, store.read(rows))
        np.testing.assert_array_equal(y, [r % 3 for r in rows])
        for k, r in enumerate(rows):  # against the written arrays, independently of Store.read
            np.testing.assert_array_equal(x[k], _padded(xs[r], T))
        seen.extend(rows)
    assert seen == idx.tolist()


@pytest.mark.parametrize("frames", [5, 20])
def test_crop_and_pad(store_path, frames):
    path, xs = store_path
    ds = SkeletonBatches(path, np.arange(23), batch_size=8, frames=frames, shuffle=False)
    x, _ = ds[2]
    assert x.shape == (7, frames, 150)
    for k, r in enumerate(range(16, 23)):
        np.testing.assert_array_equal(x[k], _padded(xs[r], frames))


def test_shuffle_is_seeded_per_epoch(store_path):
    path, _ = store_path
    idx = np.arange(2, 21)
    a = SkeletonBatches(path, idx, batch_size=4, seed=5)
    b = SkeletonBatches(path, idx, batch_size=4, seed=5)
    e0 = a.epoch_indices()
    assert sorted(e0.tolist()) == idx.tolist()
    np.testing.assert_array_equal(e0, idx[np.random.default_rng(5).permutation(len(idx))])
    ys = np.concatenate([a[i][1] for i in range(len(a))])
    np.testing.assert_array_equal(ys, e0 % 3)  # batches follow the epoch order
    a.on_epoch_end()  # without a begun epoch (Keras's pre-training reset): no move
    np.testing.assert_array_equal(a.epoch_indices(), e0)
    a.on_epoch_begin()
    a.on_epoch_end()
    assert a.epoch == 1
    e1 = a.epoch_indices()
    np.testing.assert_array_equal(e1, idx[np.random.default_rng(6).permutation(len(idx))])
    assert not np.array_equal(e0, e1)
    b.set_epoch(1)  # a resumed run reproduces epoch 1's order
    np.testing.assert_array_equal(b.epoch_indices(), e1)
    np.testing.assert_array_equal(b[0][0], a[0][0])
    c = SkeletonBatches(path, idx, batch_size=4, seed=6)
    assert not np.array_equal(c.epoch_indices(), e0)


def test_drop_remainder_and_errors(store_path):
    path, _ = store_path
    assert len(SkeletonBatches(path, np.arange(23), batch_size=5, drop_remainder=True)) == 4
    assert len(SkeletonBatches(path, np.arange(23), batch_size=5)) == 5
    with pytest.raises(BadInput, match="no batch"):
        SkeletonBatches(path, np.arange(3), batch_size=5, drop_remainder=True)
    with pytest.raises(BadInput, match="outside"):
        SkeletonBatches(path, [0, 23], batch_size=5)
    with pytest.raises(IndexError):
        SkeletonBatches(path, np.arange(10), batch_size=5)[2]


def test_lazy_handle_survives_pickling(store_path):
    path, _ = store_path
    ds = SkeletonBatches(path, np.arange(23), batch_size=4, shuffle=False)
    x0 = ds[0][0]
    clone = pickle.loads(pickle.dumps(ds))  # what a worker process receives
    assert clone._pool[1] == [] and ds._pool[1]  # the clone has no handle of the parent's
    np.testing.assert_array_equal(clone[0][0], x0)
    ds.close()


@pytest.mark.parametrize("multiprocessing", [False, True])
def test_worker_pools_give_the_same_batches(store_path, multiprocessing):
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter
    path, _ = store_path
    ref = SkeletonBatches(path, np.arange(23), batch_size=4, seed=3)
    ds = SkeletonBatches(path, np.arange(23), batch_size=4, seed=3, workers=2,
                         use_multiprocessing=multiprocessing)
    ds[0]  # the parent holds an open handle before the workers start (fork must not reuse it)
    for epoch in range(2):
        adapter = PyDatasetAdapter(ds, shuffle=False)
        adapter.on_epoch_begin()
        got = list(adapter.get_numpy_iterator())
        adapter.on_epoch_end()
        assert len(got) == len(ref) and ds.epoch == epoch + 1
        for i, (x, y) in enumerate(got):
            np.testing.assert_array_equal(x, ref[i][0])
            np.testing.assert_array_equal(y, ref[i][1])
        ref.set_epoch(epoch + 1)


class _Logged(SkeletonBatches):
    """Records the store rows of every batch it serves."""

    def __getitem__(self, i):
        self.log.extend(self.batch_rows(i)[0].tolist())
        return super().__getitem__(i)


@pytest.mark.parametrize("workers", [1, 2])
def test_fit_follows_the_epoch_orders(store_path, workers):
    import keras
    path, _ = store_path
    keras.utils.set_random_seed(0)
    ds = _Logged(path, np.arange(23), batch_size=8, seed=4, workers=workers)
    ds.log = []
    model = keras.Sequential([keras.Input((T, 150)), keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    hist = model.fit(ds, epochs=2, shuffle=False, verbose=0)
    assert len(hist.history["loss"]) == 2 and np.isfinite(hist.history["loss"]).all()
    assert ds.epoch == 2  # moved on once per epoch, not on Keras's extra pre-training reset
    expected = np.concatenate([ds.epoch_indices(0), ds.epoch_indices(1)]).tolist()
    assert ds.log[-46:] == expected  # epochs 0 and 1 read exactly in their seeded orders
    # resuming at epoch 1 reproduces epoch 1
    again = _Logged(path, np.arange(23), batch_size=8, seed=4, workers=workers)
    again.log = []
    again.set_epoch(1)
    model.fit(again, epochs=2, initial_epoch=1, shuffle=False, verbose=0)
    assert again.log[-23:] == ds.epoch_indices(1).tolist()


def test_mean_skeleton_counts_valid_frames_only(store_path):
    path, xs = store_path
    store = open_store(path)
    idx = np.array([1, 3, 11, 12, 20])
    want = np.concatenate([x[:T] for x in (xs[i] for i in idx)]).astype(np.float64).mean(axis=0)
    for chunk in (1, 2, 256):
        got = mean_skeleton(store, idx, chunk=chunk)
        assert got.dtype == np.float32 and got.shape == (150,)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    st = frame_length_stats(store, idx)
    lengths = [min(3 + i % 12, T) for i in idx]
    assert st == {"count": 5, "min": min(lengths), "mean": float(np.mean(lengths)),
                  "median": float(np.median(lengths)), "max": max(lengths)}


def test_concurrent_reader_threads_get_their_own_handles(store_path):
    """Threads reading at once borrow distinct handles from the pool (never one shared h5py
    handle), every batch is right, and the pool holds no more handles than ran at once."""
    import threading
    path, _ = store_path
    ds = SkeletonBatches(path, np.arange(23), batch_size=4, shuffle=False)
    with open_store(path) as store:
        want = [store.read(ds.batch_rows(i)[0], frames=T) for i in range(len(ds))]
    in_use, seen, errors = set(), [], []
    real = ds._store
    barrier = threading.Barrier(4)

    def borrowing():  # wraps the pool's context manager to record which handle each read holds
        import contextlib

        @contextlib.contextmanager
        def cm():
            with real() as st:
                assert id(st) not in in_use, "a handle was lent to two threads at once"
                in_use.add(id(st))
                seen.append(id(st))
                try:
                    yield st
                finally:
                    in_use.discard(id(st))
        return cm()

    ds._store = borrowing

    def work():
        try:
            barrier.wait()
            for _ in range(3):
                for i in range(len(ds)):
                    np.testing.assert_array_equal(ds[i][0], want[i])
        except Exception as e:  # reported below, from the main thread
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert 1 <= len(set(seen)) <= 4 and len(seen) == 4 * 3 * len(ds)
    assert len(ds._pool[1]) == len(set(seen))  # all returned
    ds.close()
    assert ds._pool[1] == []
