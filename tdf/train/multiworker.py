"""`--distribute multiworker`: who this process is in the cluster (TF_CONFIG), and the two
places where Keras 3's `fit` does not work under `tf.distribute.MultiWorkerMirroredStrategy`
as released (keras-team/keras issue 20585), worked around for tdf's models only.

Every worker runs the same program step for step (the gradients are all-reduced with collective
ops); the chief writes the run folder, the other workers write into a temporary folder.
"""

from __future__ import annotations

import json
import os

from tdf.errors import BadInput


def multiworker_task() -> tuple[str, int, bool]:
    """(task type, index, is chief) of this process from TF_CONFIG. The chief is the task of
    type 'chief', or worker 0 when the cluster has no 'chief' (TensorFlow's rule)."""
    import json
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise BadInput("--distribute multiworker needs the TF_CONFIG environment variable "
                       "(cluster and task of this worker); see docs/distribute.md")
    try:
        conf = json.loads(raw)
        cluster, task = conf["cluster"], conf["task"]
        kind, index = str(task["type"]), int(task["index"])
        if not isinstance(cluster, dict) or kind not in cluster or not 0 <= index < len(cluster[kind]):
            raise ValueError(f"task {kind}:{index} is not in the cluster")
    except (ValueError, KeyError, TypeError) as e:
        raise BadInput(f"TF_CONFIG is not a usable cluster description ({e.__class__.__name__}: "
                       f"{str(e)[:120]})") from None
    chief = kind == "chief" or (kind == "worker" and index == 0 and "chief" not in cluster)
    return kind, index, chief


def _build_before_fit(model, strategy, batches) -> None:
    """Keras 3's fit/evaluate under MultiWorkerMirroredStrategy first reduce a distributed input
    batch only to learn its shapes, which fails for collective strategies (keras-team/keras
    issue 20585). Build the model, metrics and optimizer from one local batch instead, and skip
    that step for this model."""
    with strategy.scope():
        model._symbolic_build(data_batch=batches[0])
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None


def prepare_multiworker_fit(model, strategy, batches) -> None:
    """Build `model` for fit under the strategy and fix the reduction of its logs."""
    _build_before_fit(model, strategy, batches)
    _patch_scalar_mean()


def _patch_scalar_mean() -> None:
    """Keras reduces each step's logs across workers with `strategy.reduce("MEAN", v, axis=0)`,
    which fails for the scalar loss and metrics (rank 0 has no axis 0). Reduce scalars with
    axis=None; everything else goes to Keras' own function unchanged."""
    from keras import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer
    original = tf_trainer.reduce_per_replica
    if getattr(original, "tdf_scalar_mean", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("mean", "auto") and tf_trainer._collective_all_reduce_multi_worker(strategy):
            def mean(v):
                rank = strategy.experimental_local_results(v)[0].shape.rank
                return strategy.reduce("MEAN", v, axis=0 if rank else None)
            return tree.map_structure(mean, values)
        return original(values, strategy, reduction)
    reduce_per_replica.tdf_scalar_mean = True
    tf_trainer.reduce_per_replica = reduce_per_replica


