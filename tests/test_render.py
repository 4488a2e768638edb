"""Rendering: GIF frame counts, PNG strips, both bodies, joint colours, the command's errors."""

from __future__ import annotations

import numpy as np
import pytest

from tdf.data.store import Sample, StoreWriter
from tdf.render import render_sequence, render_sequences_grid


def _person(t=12, two=False):
    rng = np.random.default_rng(0)
    x = np.zeros((t, 2, 25, 3), np.float32)
    base = rng.normal(0, 0.2, (25, 3)).astype(np.float32)
    base[:, 2] += 3.0
    for i in range(t):
        x[i, 0] = base + 0.01 * i
        if two:
            x[i, 1] = base + np.array([0.8, 0, 0], np.float32)
    return x


@pytest.fixture
def store(tmp_path):
    p = tmp_path / "d.h5"
    with StoreWriter(p, 20, ["wave", "hug"], source="test") as w:
        w.append(Sample(_person(12), 0, "S001C001P001R001A023"))
        w.append(Sample(_person(9, two=True), 1, "S001C001P001R001A055"))
    return p


def test_gif_has_one_frame_per_frame(tmp_path):
    import imageio.v3 as iio
    out = render_sequence(_person(12), tmp_path / "a.gif", title="t")
    frames = iio.imread(out)
    assert frames.shape[0] == 12 and frames.shape[-1] == 3
    out = render_sequence(_person(12), tmp_path / "b.gif", every=3)
    assert iio.imread(out).shape[0] == 4


def test_png_strip_and_two_bodies_and_colours(tmp_path):
    import imageio.v3 as iio
    one = iio.imread(render_sequence(_person(9), tmp_path / "one.png"))
    two = iio.imread(render_sequence(_person(9, two=True), tmp_path / "two.png"))
    assert one.shape == two.shape and one.shape[1] > 3 * one.shape[0]  # a strip: wide
    # the second body is drawn in red: more reddish pixels with two bodies
    red = lambda im: int(((im[..., 0] > 180) & (im[..., 1] < 100) & (im[..., 2] < 100)).sum())
    assert red(two) > red(one) + 50
    c = iio.imread(render_sequence(_person(9), tmp_path / "c.png", joint_colors=np.linspace(0, 1, 25)))
    assert c.shape == one.shape and not np.array_equal(c, one)


def test_grid(tmp_path):
    import imageio.v3 as iio
    out = render_sequences_grid({"input": _person(6), "decoded": _person(6) * 1.1}, tmp_path / "g.gif")
    frames = iio.imread(out)
    assert frames.shape[0] == 6 and frames.shape[2] > frames.shape[1]


def test_render_command(store, tmp_path, invoke):
    import imageio.v3 as iio
    r = invoke("render", store, "--index", 1, "--out", tmp_path / "s.gif")
    assert r.exit_code == 0, r.stderr
    assert iio.imread(tmp_path / "s.gif").shape[0] == 9
    r = invoke("render", store, "--name", "S001C001P001R001A023", "--out", tmp_path / "s.png")
    assert r.exit_code == 0 and (tmp_path / "s.png").is_file()
    before = (tmp_path / "s.gif").read_bytes()
    r = invoke("render", store, "--index", 0, "--out", tmp_path / "s.gif")
    assert r.exit_code == 2 and "--force" in r.stderr and (tmp_path / "s.gif").read_bytes() == before
    r = invoke("render", store, "--index", 5, "--out", tmp_path / "x.gif")
    assert r.exit_code == 2 and "outside 0..1" in r.stderr
    r = invoke("render", store, "--name", "nope", "--out", tmp_path / "x.gif")
    assert r.exit_code == 2 and "nope" in r.stderr and "d.h5" in r.stderr
    r = invoke("render", store, "--index", 0, "--out", tmp_path / "x.avi")
    assert r.exit_code == 2 and ".gif" in r.stderr


def test_mp4(tmp_path, monkeypatch):
    """With imageio-ffmpeg: a readable video with one frame per frame; without: a clear BadInput."""
    import sys
    from tdf.errors import BadInput
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        imageio_ffmpeg = None
    if imageio_ffmpeg is not None:
        import imageio.v2 as imageio
        out = render_sequence(_person(7), tmp_path / "a.mp4")
        with imageio.get_reader(out, format="FFMPEG") as r:
            assert r.count_frames() == 7
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if not installed
    with pytest.raises(BadInput, match="imageio-ffmpeg"):
        render_sequence(_person(3), tmp_path / "b.mp4")
    assert not (tmp_path / "b.mp4").exists()


def test_hide_absent_bodies_zeroes_only_the_body_the_input_lacks():
    from tdf.render import hide_absent_bodies
    x = np.zeros((5, 2, 25, 3), np.float32)
    x[:, 0] = 1.0                                           # body 1 present, body 2 absent
    decoded = np.arange(5 * 150, dtype=np.float32).reshape(5, 150) + 1
    shown = hide_absent_bodies(decoded, x.reshape(5, 150)).reshape(5, 2, 75)
    assert np.array_equal(shown[:, 0], decoded.reshape(5, 2, 75)[:, 0])
    assert not shown[:, 1].any()
    x[2, 1] = 0.5                                           # body 2 appears in one frame: kept
    assert np.array_equal(hide_absent_bodies(decoded, x), decoded)
    assert decoded.min() > 0                                # the input array is not modified
