"""Draw skeleton sequences: animated GIF/MP4 or a PNG strip of frames (matplotlib, Agg).

Coordinates are Kinect camera space in metres (x right, y up, z away from the camera); the
plot puts y up. The figure and one Line3D artist per bone are created once and updated with
`set_data_3d` for every frame (never the `ax.lines = []` idiom, which current matplotlib
forbids), so a 300-frame GIF takes seconds. Axis limits are fixed over the whole sequence with
equal aspect, so the skeleton does not jump. A body whose frame is all zeros is not drawn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from tdf.atomic import atomic_path
from tdf.data.layout import BONES, N_BODIES, N_COORDS, N_JOINTS
from tdf.errors import BadInput

BODY_COLORS = ("#1f77b4", "#d62728")
SUFFIXES = (".gif", ".mp4", ".png")


def as_joints(x) -> np.ndarray:
    """[T, 150] or [T, 2, 25, 3] → float32 [T, 2, 25, 3]."""
    x = np.asarray(x, np.float32)
    if x.ndim == 2 and x.shape[1] == N_BODIES * N_JOINTS * N_COORDS:
        x = x.reshape(len(x), N_BODIES, N_JOINTS, N_COORDS)
    if x.ndim != 4 or x.shape[1:] != (N_BODIES, N_JOINTS, N_COORDS):
        raise BadInput(f"a skeleton sequence must be [T, 150] or [T, 2, 25, 3], got {x.shape}")
    if len(x) == 0:
        raise BadInput("the sequence has no frames")
    return x


def hide_absent_bodies(decoded, reference) -> np.ndarray:
    """A decoded sequence [T, 150] for drawing: a body absent from the input `reference` (all
    zeros over the sequence) is zeroed, so it is not drawn — the decoder fills every dim with
    mean + C·X, which is meaningless where the input had no body."""
    out = np.array(decoded, dtype=np.float32, copy=True)
    body = np.asarray(reference).reshape(len(reference), N_BODIES, -1)
    shown = out.reshape(len(out), N_BODIES, -1)
    for b in range(N_BODIES):
        if not np.abs(body[:, b]).any():
            shown[:, b] = 0
    return out


def _limits(seqs: Sequence[np.ndarray]) -> tuple[np.ndarray, float]:
    """Centre and half-width of a cube holding every drawn joint of every sequence."""
    pts = [s[np.abs(s).sum(axis=-1) > 0] for s in seqs]
    pts = np.concatenate([p.reshape(-1, 3) for p in pts if p.size]) if any(p.size for p in pts) else np.zeros((1, 3))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (lo + hi) / 2, max(float((hi - lo).max()) / 2, 0.05) * 1.05


def _frame_ids(n: int, every: int, max_frames: int | None) -> np.ndarray:
    ids = np.arange(0, n, max(int(every), 1))
    if max_frames and len(ids) > max_frames:
        ids = ids[np.linspace(0, len(ids) - 1, max_frames).round().astype(int)]
    return ids


class _Panel:
    """One 3D axes with its bone and joint artists."""

    def __init__(self, fig, pos, seq: np.ndarray, title: str, center, half, view, colors):
        import matplotlib
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
        self.lines = [[ax.plot([], [], [], color=BODY_COLORS[b], lw=2)[0] for _ in BONES] for b in range(N_BODIES)]
        self.dots = None
        if colors is not None:
            self.cmap = matplotlib.colormaps["inferno"]
            self.dots = [ax.scatter([], [], [], s=28, depthshade=False) for _ in range(N_BODIES)]
        self.frame_in_title = True
        self.text = ax.set_title(title, fontsize=8)

    def draw(self, t: int) -> None:
        frame = self.seq[min(t, len(self.seq) - 1)]
        for b in range(N_BODIES):
            body = frame[b]
            visible = bool(np.abs(body).sum() > 0)
            for line, (j, p) in zip(self.lines[b], BONES):
                if visible:
                    line.set_data_3d([body[j, 0], body[p, 0]], [body[j, 2], body[p, 2]], [body[j, 1], body[p, 1]])
                else:
                    line.set_data_3d([], [], [])
            if self.dots is not None:
                c = self.colors[min(t, len(self.colors) - 1)] if self.colors.ndim == 2 else self.colors
                pts = body if visible else np.zeros((0, 3))
                self.dots[b]._offsets3d = (pts[:, 0], pts[:, 2], pts[:, 1])
                if visible:
                    self.dots[b].set_color(self.cmap(np.clip(c, 0, 1)))
        if not self.frame_in_title:
            return
        self.text.set_text(f"{self.title}  frame {t + 1}/{len(self.seq)}" if self.title else f"frame {t + 1}/{len(self.seq)}")


def _render(panels_data: Sequence[tuple[np.ndarray, str, np.ndarray | None]], out_path, title: str, fps: int,
            every: int, max_frames: int | None, view, force: bool, strip: int = 8,
            shared_limits: bool = True, dpi: int = 100) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_path)
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise BadInput(f"output must end in {', '.join(SUFFIXES)}", out)
    seqs = [as_joints(s) for s, _, _ in panels_data]
    n = max(len(s) for s in seqs)
    center, half = _limits(seqs)
    k = len(seqs)
    if suffix == ".png":
        ids = _frame_ids(n, 1, strip)
        fig = plt.figure(figsize=(2.4 * len(ids), 2.6 * k))
        for r, (seq, (_, label, colors)) in enumerate(zip(seqs, panels_data)):
            for c, t in enumerate(ids):
                p = _Panel(fig, (k, len(ids), r * len(ids) + c + 1), seq, label if c == 0 else "", center, half,
                           view, colors)
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
    # Several panels: each title states its panel's scale (half-width of the drawn cube), and
    # the frame counter goes once into the figure title, so titles are not cut off.
    several = k > 1
    panels = [_Panel(fig, (1, k, i + 1), seq, f"{label} (±{limits[i][1]:.2g})" if several else label,
                     *limits[i], view, colors)
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
                    view: tuple[float, float] = (15.0, -70.0), force: bool = True) -> Path:
    """Render one sequence [T, 150] to .gif/.mp4 (animation) or .png (a strip of frames).

    `joint_colors`: optional [T, 25] or [25] values in 0..1 (e.g. relevance), drawn as coloured
    joints on both bodies.
    """
    colors = None if joint_colors is None else np.asarray(joint_colors, np.float32)
    return _render([(x, "", colors)], out_path, title, fps, every, max_frames, view, force)


def render_sequences_grid(seqs: Mapping[str, np.ndarray], out_path: str | os.PathLike, title: str = "",
                          fps: int = 15, every: int = 1, max_frames: int | None = 150,
                          view: tuple[float, float] = (15.0, -70.0), force: bool = True,
                          shared_limits: bool = False, dpi: int = 100) -> Path:
    """Several sequences side by side in time (e.g. input and decoded layers). Each panel has its
    own fixed limits unless `shared_limits` (decoded sequences can differ in scale from the input);
    `dpi` sets an animation's pixel size."""
    if not seqs:
        raise BadInput("nothing to render")
    return _render([(v, k, None) for k, v in seqs.items()], out_path, title, fps, every, max_frames, view, force,
                   strip=6, shared_limits=shared_limits, dpi=dpi)
