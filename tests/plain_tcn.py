"""A test-only model family: a plain temporal CNN without residual units, registered at run time.

It proves that a family is one module plus one registry line (tdf.model_families): its layers
are named unlike tdf's ("features", "scores"), so nothing may find them by name — diagnose,
relevance and fix read its contract. It has no residual unit chain, so the Feature Map
Decoder, the class feature pyramid, the concept paths and LRP are skipped with their reason.
"""

from __future__ import annotations

import keras

from tdf.model_families import ModelFamily, register_family
from tdf.models.contract import ModelContract, Stream, Unit, make_model
from tdf.models.normalize import MeanSkeletonNormalization

FAMILY = ModelFamily("plain_tcn", "plain_tcn", "build_plain_tcn", "build_from_config",
                     "test-only plain temporal CNN (no residual units)")


def build_plain_tcn(num_classes: int, frames: int | None = None, input_dim: int = 150,
                    filters=(4, 8, 16), kernel_size: int = 3, mean_skeleton=None,
                    name: str = "plain_tcn", layout: str | None = None) -> keras.Model:
    """normalize → conv1 → (ReLU → strided conv)… → ReLU → global average → softmax."""
    mean = [0.0] * input_dim if mean_skeleton is None else mean_skeleton
    inputs = keras.Input((frames, input_dim), name="skeleton")
    x = MeanSkeletonNormalization(mean, name="normalize", dtype="float32")(inputs)
    x = keras.layers.Conv1D(filters[0], kernel_size, padding="same", name="conv1")(x)
    units = [Unit(1, "first_conv", "conv1", "conv1")]
    for index, width in enumerate(filters[1:], start=2):
        x = keras.layers.ReLU(name=f"act{index}")(x)
        x = keras.layers.Conv1D(width, kernel_size, strides=2, padding="same", name=f"conv{index}")(x)
        units.append(Unit(index, "conv", f"conv{index}", f"conv{index}", relu=f"act{index}"))
    x = keras.layers.ReLU(name="top_act")(x)
    x = keras.layers.GlobalAveragePooling1D(name="features")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="scores", dtype="float32")(x)
    stream = Stream(None, "normalize", tuple(units), ("top_act",), None, (0, int(filters[-1])))
    contract = ModelContract("plain_tcn", input_dim, "features", "scores", (stream,),
                             normalize="normalize", layout=layout)
    return make_model(inputs, outputs, contract, name)


def build_from_config(cfg, num_classes: int, frames: int | None, mean) -> keras.Model:
    """`tdf train --model plain_tcn`: widths and filter length from the training config."""
    return build_plain_tcn(num_classes, input_dim=len(mean), filters=tuple(cfg.filters),
                           kernel_size=cfg.kernel_size, mean_skeleton=mean)


def register() -> ModelFamily:
    """Register the family (idempotent)."""
    return register_family(FAMILY, replace=True)
