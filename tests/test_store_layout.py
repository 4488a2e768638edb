"""A store carries its skeleton layout: written as TOML text, read back on open, checked."""

import h5py
import numpy as np
import pytest

from tdf.data.store import Sample, StoreWriter, open_store
from tdf.errors import BadInput
from tdf.skeleton import LAYOUTS, layout_from_toml

MINI = """name = "mini"
coords = 2
bodies = 1
joints = ["hip", "chest", "head"]
bones = [["chest", "hip"], ["head", "chest"]]
[groups]
body = ["hip", "chest"]
head = ["head"]
"""


def _write(path, layout, n=3, T=6):
    rng = np.random.default_rng(0)
    xs = []
    with StoreWriter(path, T, ["a", "b"], source="test", layout=layout) as w:
        for i in range(n):
            x = rng.normal(size=(4 + i, *w.layout.frame_shape)).astype(np.float32)
            xs.append(x)
            w.append(Sample(x, label=i % 2, name=f"s{i}"))
    return xs


@pytest.mark.parametrize("name", ["coco17", "kinect_v1_20", "openpose18"])
def test_shipped_layout_round_trip(tmp_path, name):
    p = tmp_path / "d.h5"
    xs = _write(p, name)
    lay = LAYOUTS[name]
    with open_store(p) as s:
        assert s.layout == lay and s.attr("joint_layout") == name
        assert s.f["x"].shape == (3, 6, *lay.frame_shape)
        batch = s.read([1])
        assert batch.shape == (1, 6, lay.D)
        np.testing.assert_array_equal(batch[0, :5], xs[1].reshape(5, lay.D))
        np.testing.assert_array_equal(s.read_one(2), xs[2][:6])


def test_user_layout_travels_in_the_file(tmp_path):
    p = tmp_path / "d.h5"
    lay = layout_from_toml(MINI, "mini.toml")
    _write(p, lay)
    with h5py.File(p) as f:
        assert layout_from_toml(f.attrs["layout"], "attr") == lay
    with open_store(p) as s:
        assert s.layout == lay and s.layout.D == 6 and s.read([0]).shape == (1, 6, 6)


def test_wrong_sample_shape_names_the_layout(tmp_path):
    with pytest.raises(BadInput, match=r"expected \[t, 2, 17, 2\] or \[t, 68\] \(layout coco17\)"):
        with StoreWriter(tmp_path / "d.h5", 5, ["a"], source="t", layout="coco17") as w:
            w.append(Sample(np.zeros((3, 2, 25, 3)), 0, "x"))
    assert list(tmp_path.iterdir()) == []


def test_old_store_without_layout_attribute_opens_as_ntu25(tmp_path):
    p = tmp_path / "d.h5"
    _write(p, "ntu25")
    with h5py.File(p, "a") as f:
        del f.attrs["layout"]
    with open_store(p) as s:
        assert s.layout is LAYOUTS["ntu25"] and s.read([0]).shape == (1, 6, 150)
    with h5py.File(p, "a") as f:
        del f.attrs["joint_layout"]
    with open_store(p) as s:
        assert s.layout is LAYOUTS["ntu25"]


@pytest.mark.parametrize("edit, match", [
    (lambda f: f.attrs.__setitem__("layout", MINI.replace("coords = 2", "coords = 5")),
     "attribute layout: not a valid layout: .*coords must be 2 or 3"),
    (lambda f: f.attrs.__setitem__("layout", "name = ["), "attribute layout: not a valid layout: not valid TOML"),
    (lambda f: f.attrs.__setitem__("layout", MINI.replace('["head", "chest"]]', '["head", "chest"], ["hip", "head"]]')),
     "attribute layout: not a valid layout: .*not a tree"),
    (lambda f: f.attrs.__setitem__("layout", 7), "attribute layout must be text"),
    (lambda f: f.attrs.__setitem__("layout", LAYOUTS["coco17"].to_toml()),
     "attribute joint_layout 'mini' disagrees"),
    (lambda f: (f.attrs.__setitem__("layout", LAYOUTS["coco17"].to_toml()),
                f.attrs.__setitem__("joint_layout", "coco17")),
     r"/x has shape \(3, 6, 1, 3, 2\), expected \[N, T, 2, 17, 2\] for its layout coco17"),
    (lambda f: (f.attrs.__delitem__("layout"), f.attrs.__setitem__("joint_layout", "mpii16")),
     "joint layout 'mpii16' is not a shipped layout"),
])
def test_bad_layout_in_store_is_bad_input_naming_the_file(tmp_path, edit, match):
    p = tmp_path / "d.h5"
    _write(p, layout_from_toml(MINI, "mini.toml"))
    with h5py.File(p, "a") as f:
        edit(f)
    with pytest.raises(BadInput, match=match) as e:
        open_store(p)
    assert str(e.value).startswith(f"{p}: ")


def test_cli_exit_2_for_a_bad_layout(tmp_path):
    from click.testing import CliRunner

    from tdf.cli import cli
    p = tmp_path / "d.h5"
    _write(p, layout_from_toml(MINI, "mini.toml"))
    with h5py.File(p, "a") as f:
        f.attrs["layout"] = MINI.replace('head = ["head"]', 'head = []')
    r = CliRunner().invoke(cli, ["data", "info", str(p)])
    assert r.exit_code == 2 and "group 'head' covers no joint" in r.output and str(p) in r.output
