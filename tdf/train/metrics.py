"""Classification metrics computed from per-sample scores, the way the paper reports them.

`mean_class_accuracy` averages the per-class accuracies over the classes present in the
evaluated split (a class with no sample there has no accuracy and is left out, and listed as
`null` in `per_class_accuracy`), so per-class accuracies average exactly to it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def topk_correct(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Boolean [N]: is the true label among the k highest scores (ties broken by index)?"""
    k = min(k, scores.shape[1])
    topk = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return (topk == labels[:, None]).any(axis=1)


def confusion_matrix(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """[C, C] counts, rows = true class, columns = predicted class."""
    cm = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(cm, (labels, pred), 1)
    return cm


def compute_metrics(scores: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                    split: str) -> dict:
    """The `metrics.json` document for scores [N, C] and labels [N]."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, np.int64)
    C = len(class_names)
    if scores.ndim != 2 or scores.shape != (len(labels), C):
        raise ValueError(f"scores {scores.shape} do not match {len(labels)} labels × {C} classes")
    n = len(labels)
    pred = scores.argmax(axis=1) if n else np.zeros(0, np.int64)
    cm = confusion_matrix(pred, labels, C)
    support = cm.sum(axis=1)
    per_class = {}
    accs = []
    for c, name in enumerate(class_names):
        if support[c]:
            acc = float(cm[c, c] / support[c])
            accs.append(acc)
            per_class[name] = acc
        else:
            per_class[name] = None
    return {
        "split": split,
        "n": int(n),
        "top1": float(topk_correct(scores, labels, 1).mean()) if n else None,
        "top5": float(topk_correct(scores, labels, 5).mean()) if n else None,
        "mean_class_accuracy": float(np.mean(accs)) if accs else None,
        "per_class_accuracy": per_class,
        "support": {name: int(s) for name, s in zip(class_names, support)},
        "class_names": list(class_names),
        "confusion_matrix": cm.tolist(),
    }


def group_accuracy(metrics: dict, classes: Sequence[str]) -> float | None:
    """Mean per-class accuracy over a subset of classes (e.g. the fine-grained ones)."""
    vals = [metrics["per_class_accuracy"][c] for c in classes
            if metrics["per_class_accuracy"].get(c) is not None]
    return float(np.mean(vals)) if vals else None
