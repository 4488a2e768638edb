"""Draw skeleton sequences: animated GIF/MP4 or a PNG strip of frames (matplotlib, Agg).

The skeleton's bones and shape come from its layout (tdf.skeleton; ntu25 when none is given).
3-D layouts are camera space (Kinect: metres, x right, y up, z away from the camera), drawn in
3-D axes with y up. 2-D layouts are drawn in flat axes with equal aspect; image coordinates
(`y_down`, e.g. COCO keypoints in pixels) are shown with y pointing down, so the person stands
upright. The figure and one line artist per bone are created once and updated for every frame
(never the `ax.lines = []` idiom, which current matplotlib forbids), so a 300-frame GIF takes
seconds. Axis limits are fixed over the whole sequence with equal aspect, so the skeleton does
not jump. A body whose frame is all zeros is not drawn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from tdf.atomic import atomic_path
from tdf.errors import BadInput
from tdf.render_modes import FORMATS
from tdf.skeleton import Layout, layout_or_default

BODY_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
SUFFIXES = tuple(FORMATS)  # tdf.render_modes: the one list of what can be drawn


def as_joints(x, layout: Layout | None = None) -> np.ndarray:
    """[T, D] or [T, bodies, joints, coords] of the layout → float32 [T, bodies, joints, coords]."""
    lay = layout_or_default(layout)
    x = np.asarray(x, np.float32)
    if x.ndim == 2 and x.shape[1] == lay.D:
        x = x.reshape(len(x), *lay.frame_shape)
    if x.ndim != 4 or x.shape[1:] != lay.frame_shape:
        raise BadInput(f"a skeleton sequence of layout {lay.name} must be [T, {lay.D}] or "
                       f"[T, {', '.join(map(str, lay.frame_shape))}], got {x.shape}")
    if len(x) == 0:
        raise BadInput("the sequence has no frames")
    return x


def hide_absent_bodies(decoded, reference, layout: Layout | None = None) -> np.ndarray:
    """A decoded sequence [T, D] for drawing: a body absent from the input `reference` (all
    zeros over the sequence) is zeroed, so it is not drawn — the decoder fills every dim with
    mean + C·X, which is meaningless where the input had no body."""
    bodies = layout_or_default(layout).bodies
    out = np.array(decoded, dtype=np.float32, copy=True)
    body = np.asarray(reference).reshape(len(reference), bodies, -1)
    shown = out.reshape(len(out), bodies, -1)
    for b in range(bodies):
        if not np.abs(body[:, b]).any():
            shown[:, b] = 0
    return out


def _limits(seqs: Sequence[np.ndarray]) -> tuple[np.ndarray, float]:
    """Centre and half-width of a cube (a square in 2-D) holding every drawn joint of every sequence."""
    c = seqs[0].shape[-1]
    pts = [s[np.abs(s).sum(axis=-1) > 0] for s in seqs]
    pts = np.concatenate([p.reshape(-1, c) for p in pts if p.size]) if any(p.size for p in pts) else np.zeros((1, c))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (lo + hi) / 2, max(float((hi - lo).max()) / 2, 0.05) * 1.05


def _frame_ids(n: int, every: int, max_frames: int | None) -> np.ndarray:
    ids = np.arange(0, n, max(int(every), 1))
    if max_frames and len(ids) > max_frames:
        ids = ids[np.linspace(0, len(ids) - 1, max_frames).round().astype(int)]
    return ids


class _Panel:
    """One axes (3-D, or flat for a 2-D layout) with its bone and joint artists."""

    def __init__(self, fig, pos, seq: np.ndarray, title: str, center, half, view, colors, layout: Layout):
        import matplotlib
        self.bones = layout.bone_index
        self.n_bodies = layout.bodies
        self.ax = fig.add_subplot(*pos, projection="3d")
        self.seq = seq
        self.title = title
        self.colors = colors
        ax = self.ax
        # plot axes: (x, z, y) so that y (up) is the vertical axis
        ax.set_xlim(center[0] - half, center[0] + half)
        ax.set_ylim(center[2] - half, center[2] + half)
        ax.set_zlim(center[1] - half, center[1] + half)
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=view[0], azim=view[1])
        ax.set_xlabel("x")
        ax.set_ylabel("z")
        ax.set_zlabel("y")
        ax.tick_params(labelsize=6)
        self.lines = [[ax.plot([], [], [], color=_colour(b), lw=2)[0] for _ in self.bones]
                      for b in range(self.n_bodies)]
        self.dots = None
        if colors is not None:
            self.cmap = matplotlib.colormaps["inferno"]
            self.dots = [ax.scatter([], [], [], s=28, depthshade=False) for _ in range(self.n_bodies)]
        self.frame_in_title = True
        self.text = ax.set_title(title, fontsize=8)

    def caption(self, t: int) -> None:
        if not self.frame_in_title:
            return
        self.text.set_text(f"{self.title}  frame {t + 1}/{len(self.seq)}" if self.title else f"frame {t + 1}/{len(self.seq)}")

    def draw(self, t: int) -> None:
        """Frame t: every body's bones and (with joint colours) its joints; absent bodies hidden."""
        frame = self.seq[min(t, len(self.seq) - 1)]
        for b in range(self.n_bodies):
            body = frame[b]
            visible = bool(np.abs(body).sum() > 0)
            for line, (j, p) in zip(self.lines[b], self.bones):
                self._bone(line, body[[j, p]] if visible else None)
            if self.dots is not None:
                c = self.colors[min(t, len(self.colors) - 1)] if self.colors.ndim == 2 else self.colors
                self._joints(self.dots[b], body if visible else None)
                if visible:
                    self.dots[b].set_color(self.cmap(np.clip(c, 0, 1)))
        self.caption(t)

    @staticmethod
    def _bone(line, ends: np.ndarray | None) -> None:
        """A bone between two joints [2, 3] (plot axes x, z, y: y is up), or hidden (None)."""
        if ends is None:
            line.set_data_3d([], [], [])
        else:
            line.set_data_3d(ends[:, 0], ends[:, 2], ends[:, 1])

    @staticmethod
    def _joints(dots, body: np.ndarray | None) -> None:
        pts = body if body is not None else np.zeros((0, 3))
        dots._offsets3d = (pts[:, 0], pts[:, 2], pts[:, 1])


class _Panel2D(_Panel):
    """Flat axes for a 2-D layout; image coordinates (y down) keep y pointing down."""

    def __init__(self, fig, pos, seq: np.ndarray, title: str, center, half, view, colors, layout: Layout):
        import matplotlib
        self.bones = layout.bone_index
        self.n_bodies = layout.bodies
        self.ax = ax = fig.add_subplot(*pos)
        self.seq, self.title, self.colors = seq, title, colors
        ax.set_xlim(center[0] - half, center[0] + half)
        lo, hi = center[1] - half, center[1] + half
        ax.set_ylim((hi, lo) if layout.y_down else (lo, hi))
        ax.set_aspect("equal")
        ax.set_xlabel("x", fontsize=7)
        ax.set_ylabel("y (down)" if layout.y_down else "y", fontsize=7)
        ax.tick_params(labelsize=6)
        self.lines = [[ax.plot([], [], color=_colour(b), lw=2)[0] for _ in self.bones] for b in range(self.n_bodies)]
        self.dots = None
        if colors is not None:
            self.cmap = matplotlib.colormaps["inferno"]
            self.dots = [ax.scatter(np.zeros(0), np.zeros(0), s=28, zorder=3) for _ in range(self.n_bodies)]
        self.frame_in_title = True
        self.text = ax.set_title(title, fontsize=8)

    @staticmethod
    def _bone(line, ends: np.ndarray | None) -> None:
        if ends is None:
            line.set_data([], [])
        else:
            line.set_data(ends[:, 0], ends[:, 1])

    @staticmethod
    def _joints(dots, body: np.ndarray | None) -> None:
        dots.set_offsets(body[:, :2] if body is not None else np.zeros((0, 2)))


def _panel(fig, pos, seq, title, center, half, view, colors, layout: Layout) -> _Panel:
    """A panel of the layout's kind: 3-D axes, or flat ones for a 2-D layout."""
    return (_Panel2D if layout.coords == 2 else _Panel)(fig, pos, seq, title, center, half, view, colors, layout)


def _colour(body: int) -> str:
    return BODY_COLORS[body % len(BODY_COLORS)]


def _render(panels_data: Sequence[tuple[np.ndarray, str, np.ndarray | None]], out_path, title: str, fps: int,
            every: int, max_frames: int | None, view, force: bool, strip: int = 8,
            shared_limits: bool = True, layout: Layout | None = None, dpi: int = 100) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_path)
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise BadInput(f"output must end in {', '.join(SUFFIXES)}", out)
    layout = layout_or_default(layout)
    seqs = [as_joints(s, layout) for s, _, _ in panels_data]
    n = max(len(s) for s in seqs)
    center, half = _limits(seqs)
    k = len(seqs)
    if suffix == ".png":
        ids = _frame_ids(n, 1, strip)
        fig = plt.figure(figsize=(2.4 * len(ids), 2.6 * k))
        for r, (seq, (_, label, colors)) in enumerate(zip(seqs, panels_data)):
            for c, t in enumerate(ids):
                p = _panel(fig, (k, len(ids), r * len(ids) + c + 1), seq, label if c == 0 else "", center, half,
                           view, colors, layout)
                p.draw(int(t))
        if title:
            fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        with atomic_path(out, force) as tmp:
            fig.savefig(tmp, format="png", dpi=80)
        plt.close(fig)
        return out
    import imageio.v2 as imageio
    fig = plt.figure(figsize=(3.2 * k, 3.4), dpi=dpi)
    limits = [(center, half) if shared_limits else _limits([seq]) for seq in seqs]
    # Several panels: each title states its panel's scale (half-width of the drawn area), and
    # the frame counter goes once into the figure title, so titles are not cut off.
    several = k > 1
    panels = [_panel(fig, (1, k, i + 1), seq, f"{label} (±{limits[i][1]:.2g})" if several else label,
                     *limits[i], view, colors, layout)
              for i, (seq, (_, label, colors)) in enumerate(zip(seqs, panels_data))]
    for p in panels:
        p.frame_in_title = not several
    heading = fig.suptitle(title, fontsize=9) if title or several else None
    frames = []
    for t in _frame_ids(n, every, max_frames):
        if several:
            heading.set_text(f"{title}  frame {int(t) + 1}/{n}" if title else f"frame {int(t) + 1}/{n}")
        for p in panels:
            p.draw(int(t))
        fig.canvas.draw()
        frames.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    with atomic_path(out, force) as tmp:
        if suffix == ".gif":
            imageio.mimsave(tmp, frames, format="GIF", duration=1000 / fps, loop=0)
        else:
            try:
                import imageio_ffmpeg  # noqa: F401
            except ImportError:
                raise BadInput("writing .mp4 needs the imageio-ffmpeg package (pip install imageio-ffmpeg); "
                               "use .gif or .png instead", out) from None
            # ffmpeg picks the container from the file name, so write "<tmp>.mp4", then rename.
            video = tmp.with_name(tmp.name + ".mp4")
            try:
                imageio.mimsave(video, frames, format="FFMPEG", fps=fps, macro_block_size=16,
                                ffmpeg_log_level="error")
                os.replace(video, tmp)
            finally:
                if video.exists():
                    video.unlink()
    return out


def render_sequence(x, out_path: str | os.PathLike, title: str = "", fps: int = 15,
                    joint_colors=None, every: int = 1, max_frames: int | None = 150,
                    view: tuple[float, float] = (15.0, -70.0), force: bool = True,
                    layout: Layout | None = None) -> Path:
    """Render one sequence [T, D] of `layout` (ntu25 when None) to .gif/.mp4 (animation) or .png
    (a strip of frames).

    `joint_colors`: optional [T, joints] or [joints] values in 0..1 (e.g. relevance), drawn as
    coloured joints on every body. `view` (elevation, azimuth) applies to 3-D layouts.
    """
    colors = None if joint_colors is None else np.asarray(joint_colors, np.float32)
    return _render([(x, "", colors)], out_path, title, fps, every, max_frames, view, force, layout=layout)


def render_sequences_grid(seqs: Mapping[str, np.ndarray], out_path: str | os.PathLike, title: str = "",
                          fps: int = 15, every: int = 1, max_frames: int | None = 150,
                          view: tuple[float, float] = (15.0, -70.0), force: bool = True,
                          shared_limits: bool = False, layout: Layout | None = None, dpi: int = 100) -> Path:
    """Several sequences side by side in time (e.g. input and decoded layers). Each panel has its
    own fixed limits unless `shared_limits` (decoded sequences can differ in scale from the input);
    `dpi` sets an animation's pixel size."""
    if not seqs:
        raise BadInput("nothing to render")
    return _render([(v, k, None) for k, v in seqs.items()], out_path, title, fps, every, max_frames, view, force,
                   strip=6, shared_limits=shared_limits, layout=layout, dpi=dpi)
