"""What `tdf train` hands to `model.fit`: the batch reader as a tf.data pipeline whose
autotuning is off (TensorFlow backend; other backends get the reader itself).

Why: Keras wraps a one-worker `PyDataset` in `from_generator(...).prefetch(AUTOTUNE)`, with
tf.data's autotuning on. On this 2-core machine, releasing the previous epoch's iterator when the
next epoch starts then blocked the training loop for ≈ 2 s, idle, in 4 of 15 of tdf's epochs
and 5–12 of 15 of a bare `model.fit`'s on in-memory arrays — and with autotuning off in none (docs/benchmarks.md, "Issue 16, fifth look"). The pipeline here is the same generator
with a fixed one-batch prefetch: reading a batch from the store costs ≈ 15 ms of CPU (less
through the sample cache) against a ≈ 0.5 s training step, so a deeper buffer would buy nothing.

The batch order stays the reader's: the training loop's callback calls `set_epoch` at each
epoch's start (before Keras makes that epoch's iterator), and the generator reads the reader's
current order, so resumed and uninterrupted runs see the same batches as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # keras is imported only when training starts
    from tdf.data.batches import SkeletonBatches


def fit_input(batches: SkeletonBatches | None):
    """`batches` as `model.fit` should get them: a tf.data.Dataset of the same batches (TensorFlow
    backend) with autotuning off and a known length, or `batches` itself (other backends, None)."""
    import keras
    if batches is None or keras.backend.backend() != "tensorflow":
        return batches
    import tensorflow as tf
    x0, y0 = batches[0]
    signature = (tf.TensorSpec((None, *x0.shape[1:]), tf.as_dtype(x0.dtype)),
                 tf.TensorSpec((None, *y0.shape[1:]), tf.as_dtype(y0.dtype)))

    def generate():
        for i in range(len(batches)):
            yield batches[i]

    options = tf.data.Options()
    options.autotune.enabled = False
    dataset = (tf.data.Dataset.from_generator(generate, output_signature=signature)
               .prefetch(1)
               .with_options(options))
    return dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))
