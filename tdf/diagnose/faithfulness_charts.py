"""Pictures of the faithfulness section: deletion/insertion curves per method against random
orders (groups and frames), and the randomisation cascade's rank correlations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLOURS = {"gradxinput": "#1f77b4", "lrp": "#d62728", "occlusion": "#2ca02c"}


def faithfulness_charts(f: dict[str, Any], folder: Path) -> dict[str, str]:
    """Write faithfulness.png and randomisation.png into `folder`; returns their relative paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from tdf.diagnose.faithfulness import METHOD_LABELS

    methods = list(f["methods"])
    axes_names = [a for a in ("groups", "frames") if f.get(a)]
    fig, axes = plt.subplots(len(axes_names), 2, figsize=(10, 3.3 * len(axes_names)), squeeze=False)
    for row, axis in enumerate(axes_names):
        part = f[axis]
        unit = "joint groups" if axis == "groups" else "time segments"
        for col, kind in enumerate(("deletion", "insertion")):
            ax = axes[row, col]
            r = part["random"][f"{kind}_curve"]
            grid = np.linspace(0, 1, len(r))
            ax.plot(grid, r, color="#555", ls="--", lw=1.5,
                    label=f"random orders (area {part['random'][f'{kind}_area']:.2f})")
            for m in methods:
                ax.plot(grid, part[m][f"{kind}_curve"], color=COLOURS.get(m), lw=1.8, marker="o", ms=3,
                        label=f"{METHOD_LABELS.get(m, m)} ({part[m][f'{kind}_area']:.2f})")
            verb = "removed" if kind == "deletion" else "restored"
            ax.set_xlabel(f"fraction of {unit} {verb} (most relevant first)")
            ax.set_ylabel("p(explained class)")
            ax.set_ylim(0, 1.02)
            ax.set_title(f"{kind}, {unit}: {'lower' if kind == 'deletion' else 'higher'} area = more faithful",
                         fontsize=10)
            ax.legend(fontsize=7, loc="upper right" if kind == "deletion" else "lower right")
    fig.tight_layout()
    fig.savefig(folder / "faithfulness.png", dpi=90)
    plt.close(fig)

    rand = f["randomisation"]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    x = np.arange(len(rand["stages"]) + 1)
    for m in methods:
        ax.plot(x, [1.0] + rand["rho"][m], color=COLOURS.get(m), marker="o", label=METHOD_LABELS.get(m, m))
    ax.axhline(rand["rho_flag"], color="#999", ls="--", lw=1, label=f"flag at ρ ≥ {rand['rho_flag']}")
    ax.set_xticks(x, ["trained"] + ["+ " + s for s in rand["stages"]], fontsize=7, rotation=12)
    ax.set_ylabel("Spearman ρ vs trained")
    ax.set_ylim(-1.05, 1.05)
    ax.set_title("model randomisation, top layers first (a method that explains the model falls)", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "randomisation.png", dpi=90)
    plt.close(fig)
    return {"curves": "faithfulness.png", "randomisation": "randomisation.png"}
