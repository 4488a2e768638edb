"""Which classes the model fails on, and what it confuses them with (from `metrics.json`)."""

from __future__ import annotations

import numpy as np

from tdf.diagnose.intervals import Z95, wilson_interval


MIN_SAMPLES_PER_CLASS = 5   # below this a class's accuracy (and a probe on it) says nothing
WEAK_MARGIN = 0.1           # a weak class trails the others' pooled accuracy by more than this


def _counts(metrics: dict) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(class names, samples per class, correct per class) from the confusion matrix."""
    names = list(metrics["class_names"])
    cm = np.asarray(metrics["confusion_matrix"], np.float64).reshape(len(names), len(names))
    return names, cm.sum(axis=1), np.diag(cm).copy()


def weak_classes(metrics: dict, margin: float = WEAK_MARGIN, max_classes: int | None = None,
                 max_confusers: int = 3, z: float = Z95) -> list[dict]:
    """Classes the model is demonstrably worse at than at the others, worst first.

    A class c with n_c ≥ MIN_SAMPLES_PER_CLASS evaluated samples is weak when both hold:
    - *statistically*: the upper end of the Wilson 95 % interval of its accuracy lies below the
      lower end of the Wilson 95 % interval of the accuracy on all other classes' samples pooled;
    - *practically*: its accuracy is more than `margin` below that pooled accuracy.
    When no class passes (a uniformly good — or uniformly bad — model, or too few samples to
    tell) the list is empty: nothing is wrong that the data can show, so nothing is ranked.
    Each entry: {"class", "accuracy", "n", "accuracy_high", "others_low",
    "confused_with": [[name, fraction of its samples], …]}.
    """
    names, n, correct = _counts(metrics)
    cm = np.asarray(metrics["confusion_matrix"], np.float64).reshape(len(names), len(names))
    total_n, total_correct = n.sum(), correct.sum()
    chosen = []
    for i, c in enumerate(names):
        if n[i] < MIN_SAMPLES_PER_CLASS:
            continue
        acc = correct[i] / n[i]
        rest_n, rest_correct = total_n - n[i], total_correct - correct[i]
        if rest_n <= 0:
            continue
        rest_acc = rest_correct / rest_n
        high = wilson_interval(correct[i], n[i], z)[1]
        rest_low = wilson_interval(rest_correct, rest_n, z)[0]
        if high < rest_low and acc < rest_acc - margin:
            chosen.append((float(acc), c, i, float(high), float(rest_low)))
    chosen.sort(key=lambda t: (t[0], t[1]))
    if max_classes:
        chosen = chosen[:max_classes]
    out = []
    for acc, c, i, high, rest_low in chosen:
        row = cm[i].copy()
        total = row.sum()
        row[i] = 0
        order = [j for j in np.argsort(-row, kind="stable") if row[j] > 0][:max_confusers]
        out.append({"class": c, "accuracy": acc, "n": int(n[i]), "accuracy_high": round(high, 6),
                    "others_low": round(rest_low, 6),
                    "confused_with": [[names[j], float(row[j] / total)] for j in order]})
    return out


def no_weak_class_reason(metrics: dict) -> str:
    """One sentence saying why `weak_classes` found nothing (for the CLI, the report, the loop)."""
    names, n, correct = _counts(metrics)
    enough = n >= MIN_SAMPLES_PER_CLASS
    top1 = correct.sum() / n.sum() if n.sum() else 0.0
    if not enough.any():
        return (f"too few evaluated samples to tell weak classes: at most {int(n.max()) if len(n) else 0} per "
                f"class (need ≥ {MIN_SAMPLES_PER_CLASS}); nothing is ranked or recommended")
    few = f"; {int((~enough).sum())} class(es) with < {MIN_SAMPLES_PER_CLASS} samples not judged" \
        if (~enough).any() else ""
    return (f"no weak class: no class's accuracy is significantly below the others' (95 % Wilson bounds, "
            f"top-1 {top1:.3f}, n = {int(n.sum())}{few}); nothing is ranked or recommended")


def confusion_set(weak: list[dict]) -> list[str]:
    """The weak classes plus the classes they are confused with, in first-seen order."""
    seen: list[str] = []
    for w in weak:
        for c in [w["class"]] + [c for c, _ in w["confused_with"]]:
            if c not in seen:
                seen.append(c)
    return seen


def best_classes(metrics: dict, k: int = 1, exclude: set[str] | None = None) -> list[str]:
    """The k best-learned classes (for contrast in plots)."""
    accs = [(a, c) for c, a in metrics["per_class_accuracy"].items()
            if a is not None and c not in (exclude or set())]
    return [c for a, c in sorted(accs, key=lambda t: (-t[0], t[1]))[:k]]
