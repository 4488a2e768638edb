"""Motion primitives (Hou, Kim & Reiter, "Train, Diagnose and Fix: Interpretable Approach for
Fine-grained Action Recognition", arXiv:1711.08502, §4, Fig. 3): the first-layer filters.

Each `conv1` filter W_1^(i) is a [k, D] block: k taps × the D joint dims of the data's layout, so it reads as a
short motion of the skeleton. Two views:

- `primitive_heatmaps`: taps (time, x) × joint dims (y) heatmaps of the strongest filters (by
  Frobenius norm), the dims ordered body → joint group → joint → coordinate, labelled by group.
- `primitive_gif`: mean skeleton + scale · filter tap t, for t = 0 … k−1, rendered as a moving
  skeleton via `tdf.render` (the paper adds the mean skeleton back the same way).
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import keras
import numpy as np

from tdf.atomic import atomic_path
from tdf.diagnose.decoder import output_layers
from tdf.errors import BadInput
from tdf.skeleton import Layout, layout_or_default


def first_layer_filters(model: keras.Model, stream: str | None = None) -> np.ndarray:
    """The `conv1` kernel of `model` (of `stream` for an MS model) as float32 [k, D, F]."""
    name = output_layers(model, stream)["conv1"]
    kernel = np.asarray(keras.ops.convert_to_numpy(model.get_layer(name).kernel), np.float32)
    return kernel


def rank_filters(kernel: np.ndarray) -> np.ndarray:
    """Filter indices by descending Frobenius norm over (taps, dims); ties by index."""
    kernel = np.asarray(kernel)
    norms = np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]), axis=0)
    return np.lexsort((np.arange(len(norms)), -norms))


def dim_order(groups: Mapping[str, Sequence[str]] | None = None, layout: Layout | None = None
              ) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """A permutation of the D dims: body, then joint group, then joint, then coordinate.

    Returns (order, spans) where spans are (start, stop, label) row ranges in the permuted
    order, one per body × group; joints in no group go last as "other".
    """
    lay = layout_or_default(layout, groups)
    N_BODIES, N_JOINTS, N_COORDS = lay.frame_shape
    joint_lists, used = [], set()
    for name, joints in lay.groups.items():
        idx = [lay.joint_index(j) for j in joints if lay.joint_index(j) not in used]
        used.update(idx)
        if idx:
            joint_lists.append((name, idx))
    rest = [j for j in range(N_JOINTS) if j not in used]
    if rest:
        joint_lists.append(("other", rest))
    order, spans = [], []
    for body in range(N_BODIES):
        for name, joints in joint_lists:
            start = len(order)
            for j in joints:
                base = (body * N_JOINTS + j) * N_COORDS
                order.extend(range(base, base + N_COORDS))
            label = name if body == 0 else f"{name} (body {body + 1})"
            spans.append((start, len(order), label))
    return np.asarray(order, dtype=np.int64), spans


def primitive_heatmaps(model: keras.Model, out_png: str | os.PathLike, max_filters: int = 16,
                       stream: str | None = None, ncols: int = 4, layout: Layout | None = None) -> list[int]:
    """Write the strongest `max_filters` conv1 filters as taps × joint-dim heatmaps to a PNG.

    Each panel has its own symmetric colour scale ±max|w| (red positive, blue negative); the
    title gives the filter index and its norm; a colour bar beside each panel gives its scale. Returns the filter indices shown, strongest first.
    """
    if not isinstance(max_filters, int) or max_filters < 1:
        raise ValueError(f"max_filters must be a positive integer, got {max_filters!r}")
    from matplotlib.figure import Figure
    kernel = first_layer_filters(model, stream)
    lay = layout_or_default(layout)
    if kernel.shape[1] != lay.D:
        raise BadInput(f"conv1 of model {model.name!r} reads {kernel.shape[1]} dims per frame; "
                       f"the skeleton layout {lay.name} has {lay.D}")
    shown = [int(i) for i in rank_filters(kernel)[:max_filters]]
    order, spans = dim_order(layout=lay)
    ncols = max(1, min(ncols, len(shown)))
    nrows = -(-len(shown) // ncols)
    fig = Figure(figsize=(1.6 + 2.0 * ncols, 0.6 + 3.6 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    k = kernel.shape[0]
    for pos, ax in enumerate(axes.flat):
        if pos >= len(shown):
            ax.set_axis_off()
            continue
        f = shown[pos]
        w = kernel[:, order, f].T  # [D dims, k taps]
        lim = float(np.abs(w).max()) or 1.0
        image = ax.imshow(w, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        fig.colorbar(image, ax=ax, shrink=0.6, pad=0.02).ax.tick_params(labelsize=6)
        ax.set_title(f"filter {f}  ‖w‖={np.linalg.norm(w):.2f}", fontsize=8)
        ax.set_xticks(range(k))
        ax.set_xticklabels([str(t) if k <= 10 or t % 2 == 0 else "" for t in range(k)], fontsize=6)
        for start, _, _ in spans[1:]:
            ax.axhline(start - 0.5, color="k", lw=0.3, alpha=0.5)
        if pos % ncols == 0:
            ax.set_yticks([(a + b - 1) / 2 for a, b, _ in spans])
            ax.set_yticklabels([label for _, _, label in spans], fontsize=6)
        else:
            ax.set_yticks([])
        if pos // ncols == nrows - 1:
            ax.set_xlabel("tap (time)", fontsize=7)
    which = "" if stream is None else f" ({stream} stream)"
    fig.suptitle(f"Motion primitives{which}: strongest {len(shown)} of {kernel.shape[2]} conv1 "
                 f"filters, joint dims × taps", fontsize=10)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return shown


def primitive_frames(model: keras.Model, filter_index: int, scale: float | None = None,
                     stream: str | None = None, bodies: int = 1, layout: Layout | None = None) -> np.ndarray:
    """The moving skeleton of one filter: mean skeleton + scale · tap t, as float32 [k, D].

    `scale=None` sizes the motion so the largest filter value moves a coordinate by a quarter of
    the mean skeleton's extent (its largest coordinate range over the joints of body 1), or by
    0.25 when the model has no mean. `bodies=1` keeps the other bodies at zero (absent) — their
    mean is an average over mostly single-person frames; `bodies=2` shows two (at most the
    layout's bodies).
    """
    lay = layout_or_default(layout)
    N_JOINTS, N_COORDS = lay.n_joints, lay.coords
    kernel = first_layer_filters(model, stream)
    n_filters = kernel.shape[2]
    if not isinstance(filter_index, (int, np.integer)) or not 0 <= filter_index < n_filters:
        raise BadInput(f"filter index {filter_index!r} outside 0..{n_filters - 1} of conv1")
    if bodies not in (1, 2):
        raise ValueError(f"bodies must be 1 or 2, got {bodies!r}")
    from tdf.diagnose.relevance.common import mean_skeleton
    mean = mean_skeleton(model).astype(np.float64)
    w = kernel[:, :, int(filter_index)].astype(np.float64)
    if scale is None:
        body1 = mean[: N_JOINTS * N_COORDS].reshape(N_JOINTS, N_COORDS)
        extent = float((body1.max(axis=0) - body1.min(axis=0)).max())
        peak = float(np.abs(w).max())
        scale = (0.25 * (extent if extent > 0 else 1.0)) / peak if peak > 0 else 1.0
    frames = mean[None, :] + float(scale) * w
    frames[:, min(bodies, lay.bodies) * N_JOINTS * N_COORDS:] = 0.0
    return frames.astype(np.float32)


def primitive_gif(model: keras.Model, filter_index: int, out_gif: str | os.PathLike,
                  scale: float | None = None, stream: str | None = None, fps: int = 4,
                  bodies: int = 1, title: str | None = None, layout: Layout | None = None):
    """Render one filter as a moving skeleton (`primitive_frames`) to a GIF (or MP4 by suffix)."""
    from tdf.render import render_sequence
    frames = primitive_frames(model, filter_index, scale, stream, bodies, layout)
    if title is None:
        which = "" if stream is None else f" {stream}"
        title = f"motion primitive{which}: conv1 filter {int(filter_index)}"
    return render_sequence(frames, out_gif, title=title, fps=fps, layout=layout)
