"""The one registry of drawing formats and render modes (read by tdf.render, `tdf render`, and the
`--render` choices of `tdf diagnose` and `tdf loop`).

A *format* is a file suffix `tdf.render` can write. A *render mode* is what a diagnosis draws its
pictures as: one of the animated formats, or `none` (no pictures). Adding a format is one line
here plus its writer branch in `tdf.render._render`; every choice list follows.
Kept free of numpy and matplotlib so the CLI's option lists import nothing heavy.
"""

from __future__ import annotations

from tdf.errors import BadInput

# suffix → what it holds; the animated ones are also render modes (without the dot)
FORMATS: dict[str, str] = {
    ".gif": "an animated GIF",
    ".mp4": "an MP4 video (needs imageio-ffmpeg)",
    ".png": "a strip of frames",
}
ANIMATED = (".gif", ".mp4")
NO_PICTURES = "none"
RENDER_MODES: tuple[str, ...] = tuple(s[1:] for s in ANIMATED) + (NO_PICTURES,)
DEFAULT_RENDER = RENDER_MODES[0]


def check_render_mode(mode: str) -> str:
    """`mode` if it is a render mode, else BadInput naming the choices."""
    if mode not in RENDER_MODES:
        raise BadInput(f"--render must be {', '.join(RENDER_MODES[:-1])} or {RENDER_MODES[-1]}, got {mode!r}")
    return mode
