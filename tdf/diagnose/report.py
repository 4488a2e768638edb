"""The diagnosis report's ranking chart (the page itself is built with tdf.html_page)."""

from __future__ import annotations

from pathlib import Path


def ranking_chart(groups: list[dict], out_png: Path, title: str = "weak-group ranking",
                  threshold: float | None = None) -> Path:
    """Horizontal bars: score per group (rank 1 on top) with its interval as an error bar
    (when the rows carry score_low/score_high), input separability and the rule's model term beside, and the
    recommendation threshold as a dashed line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    names = [g["name"] for g in groups][::-1]
    score = np.array([g["score"] for g in groups][::-1])
    inp = np.array([g["evidence"].get("input_separability", np.nan) for g in groups][::-1])
    mod = np.array([g["evidence"].get("model_term", g["evidence"].get("model_separability", np.nan))
                    for g in groups][::-1])
    from tdf.diagnose.ranking import RULE_TERMS
    rule = groups[0]["evidence"].get("rule", "gap_only") if groups else "gap_only"
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.4))
    ax.barh(y + 0.27, inp, height=0.25, color="#9ecae1", label="input separability")
    ax.barh(y, mod, height=0.25, color="#c7c7c7", label=f"model term: {RULE_TERMS.get(rule, rule)}")
    if all("score_low" in g for g in groups):
        low = np.array([g["score_low"] for g in groups][::-1])
        high = np.array([g["score_high"] for g in groups][::-1])
        err = np.vstack([np.maximum(score - low, 0), np.maximum(high - score, 0)])
        ax.barh(y - 0.27, score, height=0.25, color="#d94801", label="score = input − model term (95 % interval)",
                xerr=err, error_kw={"ecolor": "#111", "capsize": 3, "lw": 1})
    else:
        ax.barh(y - 0.27, score, height=0.25, color="#d94801", label="score = input − model term")
    if threshold is not None:
        ax.axvline(threshold, color="#d94801", lw=1, ls="--", label=f"threshold {threshold:g} (interval's low end)")
    ax.set_yticks(y, names)
    ax.axvline(0, color="#333", lw=0.8)
    ax.set_xlabel("skill (0 = chance, 1 = perfect)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
