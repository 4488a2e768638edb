"""fit_input: the batch reader as tf.data (autotuning off) serves exactly the reader's batches,
in the epoch order the training loop sets, and trains to the same weights as the reader itself."""

from __future__ import annotations

import numpy as np
import pytest

from tdf.data.batches import SkeletonBatches
from tdf.data.store import Sample, StoreWriter, open_store
from tdf.train.feed import fit_input

T = 10


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "d.h5"
    rng = np.random.default_rng(2)
    with StoreWriter(path, T, ["a", "b", "c"], source="test") as w:
        for i in range(21):
            w.append(Sample(rng.normal(size=(2 + i % 9, 150)).astype(np.float32), label=i % 3, name=f"s{i:02d}"))
    return path


def test_serves_the_readers_batches_in_each_epochs_order(store_path):
    import keras
    if keras.backend.backend() != "tensorflow":
        pytest.skip("fit_input builds a tf.data pipeline only on the TensorFlow backend")
    reader = SkeletonBatches(store_path, np.arange(21), batch_size=4, seed=7)
    ds = fit_input(reader)
    assert int(ds.cardinality()) == len(reader) == 6
    assert ds.options().autotune.enabled is False
    with open_store(store_path) as store:
        for epoch in (0, 1, 2):
            reader.set_epoch(epoch)  # what the training loop's callback does at each epoch's start
            got = list(ds.as_numpy_iterator())
            rows = np.random.default_rng(7 + epoch).permutation(21)  # the documented order, recomputed
            assert len(got) == 6
            for i, (x, y) in enumerate(got):
                want = rows[i * 4:(i + 1) * 4]
                np.testing.assert_array_equal(x, store.read(want, frames=T))
                np.testing.assert_array_equal(y, np.asarray(store.label)[want])


def test_none_and_other_backends_pass_through():
    assert fit_input(None) is None


def _trained_weights(store_path, wrap):
    import keras
    keras.utils.set_random_seed(0)
    reader = SkeletonBatches(store_path, np.arange(21), batch_size=4, seed=5)

    class SetEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            reader.set_epoch(epoch)

    model = keras.Sequential([keras.Input((T, 150)), keras.layers.Conv1D(4, 3, name="conv"),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(3, name="out")])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(wrap(reader), epochs=3, shuffle=False, verbose=0, callbacks=[SetEpoch()])
    return [w.numpy() if hasattr(w, "numpy") else np.asarray(w) for w in model.weights]


def test_trains_to_the_same_weights_as_the_reader_itself(store_path):
    """Three epochs through fit_input and through the PyDataset path: identical weights (the
    batches and their order are the same; only the prefetching machinery differs)."""
    direct = _trained_weights(store_path, lambda r: r)
    fed = _trained_weights(store_path, fit_input)
    assert len(direct) == len(fed)
    for a, b in zip(direct, fed):
        np.testing.assert_array_equal(a, b)


def test_tdf_train_hands_model_fit_the_autotune_free_pipeline(tmp_path, monkeypatch):
    """The real training path (`tdf train`) passes fit_input's pipelines to model.fit, for the
    training and the validation batches: the pause comes back if either is a plain PyDataset."""
    import keras
    if keras.backend.backend() != "tensorflow":
        pytest.skip("fit_input builds a tf.data pipeline only on the TensorFlow backend")
    import tensorflow as tf
    from toy_data import train_tiny_run
    seen = []
    real_fit = keras.Model.fit

    def spy(self, x=None, *a, **kw):
        seen.append((x, kw.get("validation_data")))
        return real_fit(self, x, *a, **kw)
    monkeypatch.setattr(keras.Model, "fit", spy)
    train_tiny_run(tmp_path, classes=3, per_class=8, epochs=2)
    assert len(seen) == 1
    for ds in seen[0]:
        assert isinstance(ds, tf.data.Dataset) and ds.options().autotune.enabled is False


_ALLOCATOR_PROBE = r"""
import sys, numpy as np
from pathlib import Path
import tensorflow as tf
from tdf.data.batches import SkeletonBatches
from tdf.train.evaluate import predict_scores
from tdf.data.store import open_store
from tdf.train.feed import fit_input
import keras
path = Path(sys.argv[1])
for _ in fit_input(SkeletonBatches(path, np.arange(21), batch_size=4, seed=0)):
    pass
with open_store(path) as store:
    model = keras.Sequential([keras.Input((store.T, 150)), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(3)])
    predict_scores(model, store, np.arange(21), frames=store.T, batch_size=4)
sys.stderr.write("TDF-PROBE-MARK\n"); sys.stderr.flush()
for _ in tf.data.Dataset.from_generator(lambda: iter([np.zeros(3, np.float32)]),
                                        output_signature=tf.TensorSpec((3,), tf.float32)):
    pass
"""


def test_training_and_prediction_leave_the_process_allocator_alone(store_path):
    """TensorFlow's generator op sets glibc's mmap threshold for the whole process (its
    'Python 3.11 memory patch', which made every training step ≈ 7 % dearer here): neither tdf's
    training input nor its prediction may build one. The probe then builds a from_generator
    dataset itself, which must then log the patch — else this TensorFlow does not apply it and
    the test has nothing to check."""
    import os
    import subprocess
    import sys
    import keras
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the patch belongs to TensorFlow's generator op")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")
    out = subprocess.run([sys.executable, "-c", _ALLOCATOR_PROBE, str(store_path)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    before, marker, after = out.stderr.partition("TDF-PROBE-MARK")
    assert marker, out.stderr[-2000:]
    assert "Memory patch applied" not in before  # (TensorFlow applies it once per process)
    if "Memory patch applied" not in after:
        pytest.skip("this TensorFlow/Python does not patch the allocator in from_generator")


def test_tensorflows_reader_threads_open_the_store_once(store_path, monkeypatch):
    """tf.data calls the reader from its own C++ threads, whose Python thread state (and so any
    `threading.local`) is new on every call: the handle must still be reused, not reopened per batch."""
    import keras
    if keras.backend.backend() != "tensorflow":
        pytest.skip("fit_input builds a tf.data pipeline only on the TensorFlow backend")
    import tdf.data.batches as batches_module
    opened = []

    class CountingStore(batches_module.Store):
        def __init__(self, path):
            opened.append(path)
            super().__init__(path)

    monkeypatch.setattr(batches_module, "Store", CountingStore)
    reader = SkeletonBatches(store_path, np.arange(21), batch_size=4, seed=7)
    opened.clear()  # the constructor's own metadata read
    ds = fit_input(reader)
    for epoch in range(3):
        reader.set_epoch(epoch)
        assert len(list(ds.as_numpy_iterator())) == 6
    assert len(opened) == 1, f"{len(opened)} opens for 18 batches read in TensorFlow's threads"
    reader.close()


def test_batches_reach_tensorflow_aligned(store_path):
    """The reader's batches start on TensorFlow's 64-byte alignment (so numpy_function does not
    copy them), through the sample cache and straight from the store."""
    from tdf.data.sample_cache import SampleCache
    for cache in (None, SampleCache(1 << 20)):
        reader = SkeletonBatches(store_path, np.arange(21), batch_size=4, seed=7, cache=cache)
        for epoch in range(2):  # the cache's first (filling) and later (hit) reads
            reader.set_epoch(epoch)
            for i in range(len(reader)):
                assert reader[i][0].ctypes.data % 64 == 0
        reader.close()
