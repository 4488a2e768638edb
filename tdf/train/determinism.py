"""Seeding so that a seed gives the same run on CPU, and an interrupted-then-resumed run gives
the same result as an uninterrupted one.

Every random choice of an epoch is made a pure function of (seed, epoch): the data order
(`SkeletonBatches.set_epoch`) and the dropout masks (each layer's SeedGenerator state is reset at
the start of the epoch). So resuming at epoch e from a checkpoint reproduces epoch e exactly.
"""

from __future__ import annotations

import os


def seed_everything(seed: int, deterministic_ops: bool = True) -> None:
    """Seed Python, NumPy and the backend; ask TensorFlow for deterministic kernels.

    `deterministic_ops=False` is for XLA (jit) runs: Keras disables XLA whenever TensorFlow's op
    determinism is on, so a jit run is seeded but not bit-reproducible (recorded in run.json).
    """
    import keras
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    keras.utils.set_random_seed(int(seed))
    if deterministic_ops and keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        try:
            tf.config.experimental.enable_op_determinism()
        except Exception:  # older TF: determinism env var is the fallback
            os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")


def seed_generators(model) -> list:
    """All SeedGenerators (e.g. of Dropout layers) inside a model, in layer order."""
    out = []
    for layer in model._flatten_layers(include_self=True, recursive=True):
        out.extend(getattr(layer, "_seed_generators", []) or [])
    return out


def reseed_epoch(model, seed: int, epoch: int) -> None:
    """Set every SeedGenerator to a state that depends only on (seed, epoch, its position)."""
    import numpy as np
    for i, gen in enumerate(seed_generators(model)):
        value = np.array([(seed * 1_000_003 + i * 7919) % (2**31 - 1), epoch * 1_000_000],
                         dtype=gen.state.dtype)
        gen.state.assign(value)
