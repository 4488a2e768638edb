"""A cross-validated linear probe: how well do features separate a set of classes?

Shrinkage LDA on standardised features (Ledoit-Wolf-style blend of the pooled within-class
covariance with a scaled identity), scored by stratified k-fold accuracy. Reported as accuracy and as *skill* = (accuracy − chance) /
(1 − chance), so 0 means "no better than guessing the majority class" and 1 means perfect,
whatever the number of classes. Deterministic for a seed. Plain NumPy: no extra dependency.
"""

from __future__ import annotations

import numpy as np


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """k disjoint index arrays, each class spread evenly over the folds (seeded)."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            folds[(j + offset) % k].append(int(i))
        offset += len(idx)
    return [np.array(sorted(f), np.int64) for f in folds if f]


def _lda_fit_predict(xtr, ytr, xte, n_classes: int, shrinkage: float) -> np.ndarray:
    """Shrinkage linear discriminant analysis on standardised features: one linear solve, no
    iterations, no masking problem of least-squares classifiers (a middle class on one axis)."""
    mu, sd = xtr.mean(axis=0), xtr.std(axis=0)
    sd[sd < 1e-8] = 1.0
    xtr = (xtr - mu) / sd
    xte = (xte - mu) / sd
    n, d = xtr.shape
    means = np.stack([xtr[ytr == c].mean(axis=0) if (ytr == c).any() else np.zeros(d)
                      for c in range(n_classes)])
    within = xtr - means[ytr]
    cov = within.T @ within / max(n - n_classes, 1)
    target = max(np.trace(cov) / d, 1e-6)  # constant features: fall back to the identity
    cov = (1 - shrinkage) * cov + shrinkage * target * np.eye(d)
    w = np.linalg.solve(cov, means.T)                         # [d, C]
    prior = np.log(np.maximum(np.bincount(ytr, minlength=n_classes), 1) / n)
    b = -0.5 * np.einsum("cd,dc->c", means, w) + prior
    return (xte @ w + b).argmax(axis=1)


def probe_correct(features: np.ndarray, labels: np.ndarray, k: int = 5, shrinkage: float = 0.3,
                  seed: int = 0) -> tuple[np.ndarray, float]:
    """(bool[N]: was sample i predicted right by the probe trained on the other folds, chance).

    The per-sample outcome of one cross-validation, so callers can average it (`probe_accuracy`)
    or resample it (the ranking's bootstrap). Too few samples or classes: all False."""
    x = np.asarray(features, np.float64).reshape(len(features), -1)
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    n_classes = int(y.max()) + 1 if len(y) else 0
    counts = np.bincount(y, minlength=n_classes) if len(y) else np.zeros(0)
    chance = float(counts.max() / len(y)) if len(y) else 0.0
    correct = np.zeros(len(y), bool)
    if n_classes < 2 or len(y) < 4:
        return correct, chance
    k = int(max(2, min(k, counts.min() if counts.min() >= 2 else 2)))
    for fold in stratified_folds(y, k, seed):
        train = np.setdiff1d(np.arange(len(y)), fold)
        if len(np.unique(y[train])) < 2:
            continue
        pred = _lda_fit_predict(x[train], y[train], x[fold], n_classes, shrinkage)
        correct[fold] = pred == y[fold]
    return correct, chance


def skill_of(accuracy, chance: float):
    """(accuracy − chance)/(1 − chance), floored at 0; 0 when chance is 1 (one class)."""
    if chance >= 1:
        return np.zeros_like(np.asarray(accuracy, np.float64))
    return np.maximum((np.asarray(accuracy, np.float64) - chance) / (1 - chance), 0.0)


def probe_accuracy(features: np.ndarray, labels: np.ndarray, k: int = 5, shrinkage: float = 0.3,
                   seed: int = 0) -> dict[str, float]:
    """Cross-validated accuracy and skill of a linear probe predicting `labels` from `features`."""
    correct, chance = probe_correct(features, labels, k, shrinkage, seed)
    n = len(correct)
    if n < 4 or len(np.unique(np.asarray(labels))) < 2:
        return {"accuracy": chance, "skill": 0.0, "chance": chance, "n": int(n)}
    acc = float(correct.mean())
    return {"accuracy": acc, "skill": float(skill_of(acc, chance)), "chance": chance, "n": int(n)}
