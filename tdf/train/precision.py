"""Numeric precision of training: float32, or bfloat16 mixed precision (`--precision bf16`).

bf16 uses Keras' `mixed_bfloat16` policy: weights and optimizer state stay float32, the layers
compute in bfloat16. The input layers (`normalize`, `ta_mask`) and the `classifier` are built with
an explicit float32 policy (tdf.models), so the mean skeleton is subtracted and the softmax and
loss are computed in float32. No loss scaling is needed for bfloat16 (it has float32's range).

Default (`None`): bf16 when a GPU that computes bfloat16 natively (compute capability ≥ 8.0) is
visible, else float32 — on CPU bf16 is an explicit choice (docs/benchmarks.md measures it).

Analyses that need exact arithmetic (the Feature Map Decoder, relevance) run on a float32 copy of
a bf16 model (`float32_copy`): the same weights, every layer computing in float32.
"""

from __future__ import annotations

import contextlib
from typing import Any

from tdf.train_config import PRECISIONS  # noqa: F401  (the one list; the config checks it)

POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16"}


def gpu_supports_bf16() -> bool:
    """A visible GPU with compute capability ≥ 8.0 (Ampere and later: native bfloat16)."""
    import keras
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            cc = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        except Exception:  # details unavailable: do not guess
            cc = None
        if cc and tuple(cc) >= (8, 0):
            return True
    return False


def resolve_precision(precision: str | None) -> str:
    """`None` = auto (bf16 with a bf16-capable GPU, else fp32); otherwise the given one."""
    if precision is not None:
        return precision
    return "bf16" if gpu_supports_bf16() else "fp32"


@contextlib.contextmanager
def precision_policy(precision: str):
    """Build layers under `precision`'s Keras dtype policy; the previous policy is restored."""
    import keras
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(POLICIES[precision])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def model_precision(model) -> str:
    """'bf16' when any layer computes in bfloat16, else 'fp32'."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if getattr(layer, "compute_dtype", None) == "bfloat16":
            return "bf16"
    return "fp32"


def _to_float32(node: Any) -> Any:
    """A model config with every DTypePolicy replaced by float32 (other fields untouched)."""
    if isinstance(node, dict):
        if node.get("class_name") == "DTypePolicy" and isinstance(node.get("config"), dict):
            return {**node, "config": {**node["config"], "name": "float32"}}
        return {k: _to_float32(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_to_float32(v) for v in node]
    if node in ("mixed_bfloat16", "bfloat16"):
        return "float32"
    return node


def float32_copy(model):
    """`model` itself when it computes in float32; else the same architecture with every layer
    in float32 and the same (float32) weights."""
    if model_precision(model) == "fp32":
        return model
    import tdf.models  # noqa: F401  (registers tdf's layers)
    copy = model.__class__.from_config(_to_float32(model.get_config()))
    copy.set_weights(model.get_weights())
    if model_precision(copy) != "fp32":  # a layer kind the config walk does not know
        raise RuntimeError(f"could not make a float32 copy of model {model.name!r}")
    return copy
