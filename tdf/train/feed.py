"""What tdf hands to `model.fit` and `model.predict`: the batch reader as a tf.data pipeline
whose autotuning is off and that never uses TensorFlow's generator op (TensorFlow backend; other
backends get the reader itself).

Why not Keras' own wrapping of a `PyDataset` (`from_generator(...).prefetch(AUTOTUNE)`):
- *Autotuning.* On this 2-core machine, releasing the previous epoch's iterator when the next
  epoch started blocked the training loop for ≈ 2 s, idle, in 4 of 15 of tdf's epochs and 5–12
  of 15 of a bare `model.fit`'s on in-memory arrays — with autotuning off in none
  (docs/benchmarks.md, "Issue 16, fifth look").
- *The generator op.* The first `from_generator` dataset a process builds calls
  `mallopt(M_MMAP_THRESHOLD, 128 KB)` (TensorFlow's "Python 3.11 memory patch", TF 2.21 on
  Linux). That freezes glibc's otherwise adaptive threshold for the whole process, so every
  tensor above 128 KB of every later training step is a fresh mmap, page-faulted in and unmapped
  again: 230,000 page faults per epoch instead of ≈ 3,000, steps ≈ 7 % slower, for every model
  in the process ("Issue 16, seventh look"). Reading batches by index — `range` →
  `map(numpy_function)` — builds no generator op, and glibc keeps its defaults, as in a bare fit.

The pipeline reads one batch ahead (`prefetch(1)`): a full-size batch costs ≈ 16 ms of CPU read
from the lzf store and ≈ 2 ms through the sample cache (as much as Keras' adapter for in-memory
arrays; `bench/train_throughput.py --compare inprocess-feed`) against a ≈ 0.45 s training step,
so a deeper buffer would buy nothing. `numpy_function` calls the reader on TensorFlow's threads,
where a `threading.local` does not survive from one call to the next: the reader therefore pools
its store handles (`SkeletonBatches`) and returns aligned arrays (`tdf.data.aligned`).

The batch order stays the reader's: the training loop's callback calls `set_epoch` at each
epoch's start (before Keras makes that epoch's iterator), and batch i is read in the reader's
current order, so resumed and uninterrupted runs see the same batches as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # keras is imported only when training starts
    from tdf.data.batches import SkeletonBatches


def fit_input(batches: SkeletonBatches | None):
    """`batches` as `model.fit` and `model.predict` should get them: a tf.data.Dataset of the same
    batches (TensorFlow backend) with autotuning off and a known length, read by index, or
    `batches` itself (other backends, None)."""
    import keras
    if batches is None or keras.backend.backend() != "tensorflow":
        return batches
    import tensorflow as tf
    x0, y0 = batches[0]
    signature = (tf.TensorSpec((None, *x0.shape[1:]), tf.as_dtype(x0.dtype)),
                 tf.TensorSpec((None, *y0.shape[1:]), tf.as_dtype(y0.dtype)))

    def read(i):
        x, y = tf.numpy_function(lambda k: batches[int(k)], [i], (signature[0].dtype, signature[1].dtype),
                                 stateful=True)
        return tf.ensure_shape(x, signature[0].shape), tf.ensure_shape(y, signature[1].shape)

    options = tf.data.Options()
    options.autotune.enabled = False
    # range + map, never from_generator (its op changes the process's allocator: module docstring)
    return (tf.data.Dataset.range(len(batches))  # its length is known: no assert_cardinality needed
            .map(read)
            .prefetch(1)
            .with_options(options))
