"""What every attribution method shares: input checks, the explained class, the logit, the result.

All methods explain the *pre-softmax score* (logit) z_c of one class c per sample: the
classifier's Dense pre-activation, read as pooled features · W[:, c] + b[c], so a saturated
softmax does not flatten the explanation. The class is the predicted one by default. The pooled
layer, the classifier and the normalisation layer are the ones the model's contract names
(tdf.models.contract), so any registered model family is explained the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np

from tdf.models.contract import contract_of


@dataclass(frozen=True)
class Attribution:
    """Relevance of every input value for one class score per sample.

    values: float[N, T, D], the same shape as the input; `targets`: int[N], the explained
    class; `logits`: float[N], the explained pre-softmax score z_c; `method`: its name.
    """

    values: np.ndarray
    targets: np.ndarray
    logits: np.ndarray
    method: str

    @property
    def residual(self) -> np.ndarray:
        """float[N]: z_c − Σ relevance, the part of the score not assigned to the input
        (biases, BN shifts and the ε stabiliser absorb it)."""
        return self.logits - self.values.reshape(len(self.values), -1).sum(axis=1)


def check_inputs(model: keras.Model, x) -> np.ndarray:
    """`x` as float32 [N, T, D] matching `model`'s input, or a ValueError saying what is wrong."""
    contract_of(model)
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"x must be a batch of sequences [N, T, D], got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"x must be numeric, got dtype {x.dtype}")
    _, frames, dim = model.input_shape
    if x.shape[2] != dim:
        raise ValueError(f"x has {x.shape[2]} values per frame but the model expects {dim}")
    if frames is not None and x.shape[1] != frames:
        raise ValueError(f"x has {x.shape[1]} frames but the model was built for {frames}")
    if x.shape[0] == 0:
        raise ValueError("x holds no samples")
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or inf")
    return x


def check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def mean_skeleton(model: keras.Model) -> np.ndarray:
    """The model's mean skeleton (float32[D]) from the normalisation layer its contract names;
    zeros for a model without one (its input is used as it is)."""
    contract = contract_of(model)
    if contract.normalize is None:
        return np.zeros(contract.input_dim, np.float32)
    return model.get_layer(contract.normalize).mean_array()


def valid_frames(x: np.ndarray) -> np.ndarray:
    """bool[N, T, 1]: frames with any non-zero value (the `normalize` layer's rule)."""
    return np.any(x != 0, axis=-1, keepdims=True)


def normalized_input(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """x − mean skeleton on valid frames, 0 on padded ones: what `normalize` feeds `conv1`."""
    return np.where(valid_frames(x), x - mean_skeleton(model), 0).astype(x.dtype)


def classifier_weights(model: keras.Model) -> tuple[np.ndarray, np.ndarray]:
    """The classifier's Dense kernel [F, C] and bias [C] as numpy arrays."""
    layer = model.get_layer(contract_of(model).classifier)
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    bias = (keras.ops.convert_to_numpy(layer.bias) if layer.use_bias
            else np.zeros(kernel.shape[1], kernel.dtype))
    return kernel, bias


def feature_model(model: keras.Model) -> keras.Model:
    """input → pooled features (the classifier's input, the contract's `pooled` layer), sharing
    `model`'s weights. The one pooled-feature model of diagnose (ranking, relevance, paths)."""
    pooled = model.get_layer(contract_of(model).pooled).output
    return keras.Model(model.inputs[0], pooled, name=f"{model.name}_features")


def logits_of(model: keras.Model, x: np.ndarray, batch_size: int = 64,
              features: keras.Model | None = None) -> np.ndarray:
    """float[N, C] pre-softmax class scores of `model` on `x` (inference mode)."""
    features = features or feature_model(model)
    kernel, bias = classifier_weights(model)
    out = []
    for start in range(0, len(x), batch_size):
        f = keras.ops.convert_to_numpy(features(x[start:start + batch_size], training=False))
        out.append(f @ kernel + bias)
    return np.concatenate(out, axis=0)


def resolve_targets(target, n: int, num_classes: int,
                    predict: Callable[[], np.ndarray]) -> np.ndarray:
    """int[n] classes to explain: None → the predicted class (argmax of `predict()`, the logits,
    called only then); an int → that class for every sample; a sequence → one class per
    sample. ValueError for anything out of range."""
    if target is None:
        return np.argmax(predict(), axis=1).astype(np.int64)
    arr = np.asarray(target)
    if not np.issubdtype(arr.dtype, np.integer) or arr.ndim > 1:
        raise ValueError(f"target must be None, a class index or one index per sample, got {target!r}")
    arr = np.broadcast_to(arr, (n,)) if arr.ndim == 0 else arr
    if arr.shape != (n,):
        raise ValueError(f"target has {arr.shape[0]} entries but x has {n} samples")
    if arr.min() < 0 or arr.max() >= num_classes:
        raise ValueError(f"target classes must be in 0 … {num_classes - 1}, "
                         f"got {arr.min()} … {arr.max()}")
    return arr.astype(np.int64)
