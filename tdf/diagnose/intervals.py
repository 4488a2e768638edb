"""Confidence intervals used by the diagnosis: Wilson score bounds for an accuracy (weak
classes) and percentile bounds of bootstrap replicates (ranking scores).

Wilson, "Probable inference, the law of succession, and statistical inference" (JASA 1927):
unlike the normal approximation p ± z·√(p(1−p)/n) it stays inside [0, 1] and does not collapse
to a zero-width interval at p = 0 or 1, which matters for classes with few samples.
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959964  # two-sided 95 %


def wilson_interval(correct: float, n: float, z: float = Z95) -> tuple[float, float]:
    """(low, high) Wilson score interval of a proportion correct/n; (0, 1) when n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def percentile_interval(replicates, level: float = 0.95) -> tuple[float, float]:
    """(low, high) equal-tailed percentile interval of bootstrap replicates."""
    r = np.asarray(replicates, np.float64)
    if r.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(r, [tail, 100 - tail])
    return float(low), float(high)
