"""Gradient × input: R = ∂z_c/∂x̃ · x̃, with x̃ = x − mean skeleton (the normalised input).

Why x̃ and not the raw x: the model's first op subtracts the training set's mean skeleton, so
the raw coordinates carry an arbitrary offset (where the person stands, the camera) that the
model never sees. ∂z_c/∂x = ∂z_c/∂x̃ on valid frames, so gradient × raw x would credit a joint
for being far from the camera origin; gradient × x̃ credits it for deviating from the mean pose,
which is what the network can respond to. Padded (all-zero) frames get 0: x̃ is 0 there.

For a piecewise-linear network (ReLU, BN at inference, convs, adds, average pooling) this is
the first-order Taylor term at 0; it equals LRP with the plain ε → 0 rule everywhere, and the
tests use that identity as an independent check of both implementations.

The gradient is the one backend-specific piece (`_logit_gradient`); the models stay
backend-agnostic.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np

from tdf.diagnose.relevance.common import (
    Attribution, check_batch_size, check_inputs, classifier_weights, feature_model,
    logits_of, normalized_input, resolve_targets)


def _logit_gradient(features: keras.Model, kernel: np.ndarray, bias: np.ndarray,
                    x: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(∂z_c/∂x [B, T, D], z_c [B]) for one batch, z_c = features(x) · W[:, c] + b[c].

    Samples are independent at inference (BN uses its moving statistics), so the gradient of
    Σ_n z_{c_n} gives every sample's own gradient in one backward pass.
    """
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise NotImplementedError(f"gradient × input needs the TensorFlow backend, not {backend!r}; "
                                  f"use method 'lrp' (pure numpy) instead")
    import tensorflow as tf

    w = tf.constant(kernel.T[targets])               # [B, F]: each sample's class weights
    b = tf.constant(bias[targets])
    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        score = tf.reduce_sum(features(xt, training=False) * w, axis=1) + b
        total = tf.reduce_sum(score)
    grad = tape.gradient(total, xt)
    return grad.numpy(), score.numpy()


def gradient_x_input(model: keras.Model, x, target=None, *, batch_size: int = 32,
                     progress: Callable[[int], None] | None = None) -> Attribution:
    """Gradient × normalised input for the logit of `target` (default: the predicted class).

    Args:
        model: a tdf Res-TCN or MS-Res-TCN.
        x: raw sequences [N, T, D] as stored (mean skeleton not subtracted).
        target: None (predicted class), a class index, or one index per sample.
        batch_size: samples per backward pass.
        progress: called with the number of samples done after each batch.

    Returns:
        Attribution with values [N, T, D] (0 on padded frames), targets, logits.
    """
    x = check_inputs(model, x)
    batch_size = check_batch_size(batch_size)
    features = feature_model(model)
    kernel, bias = classifier_weights(model)
    targets = resolve_targets(target, len(x), kernel.shape[1],
                              lambda: logits_of(model, x, batch_size, features))
    x_norm = normalized_input(model, x)
    values = np.empty_like(x)
    logits = np.empty(len(x), np.float32)
    for start in range(0, len(x), batch_size):
        stop = min(start + batch_size, len(x))
        grad, score = _logit_gradient(features, kernel, bias, x[start:stop], targets[start:stop])
        values[start:stop] = grad * x_norm[start:stop]
        logits[start:stop] = score
        if progress is not None:
            progress(stop)
    return Attribution(values, targets, logits, "gradient_x_input")
