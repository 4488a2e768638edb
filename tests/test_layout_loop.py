"""The whole loop on layouts other than ntu25: a user TOML layout of 15 joints with groups of its
own (synthetic ntu25 skeletons projected onto it), and a 2-D COCO-17 store made from arrays."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from tdf.data.store import Sample, StoreWriter, open_store
from tdf.skeleton import LAYOUTS, get_layout

TINY = ["--filters", "4,8,16", "--units-per-block", "1", "--kernel-size", "3", "--batch-size", "8"]

# An OpenNI-style 15-joint layout with names, tree and groups of its own (not ntu25's).
OPENNI15 = """
name = "openni15"
coords = 3
bodies = 1
joints = ["head", "neck", "torso", "l_shoulder", "l_elbow", "l_hand", "r_shoulder", "r_elbow", "r_hand",
          "l_hip", "l_knee", "l_foot", "r_hip", "r_knee", "r_foot"]
bones = [["neck", "torso"], ["head", "neck"], ["l_shoulder", "neck"], ["l_elbow", "l_shoulder"],
         ["l_hand", "l_elbow"], ["r_shoulder", "neck"], ["r_elbow", "r_shoulder"], ["r_hand", "r_elbow"],
         ["l_hip", "torso"], ["l_knee", "l_hip"], ["l_foot", "l_knee"], ["r_hip", "torso"],
         ["r_knee", "r_hip"], ["r_foot", "r_knee"]]
[groups]
upper = ["head", "neck"]
core = ["torso"]
left_limb = ["l_shoulder", "l_elbow", "l_hand"]
right_limb = ["r_shoulder", "r_elbow", "r_hand"]
lower_left = ["l_hip", "l_knee", "l_foot"]
lower_right = ["r_hip", "r_knee", "r_foot"]
[composites]
limbs = ["left_limb", "right_limb"]
"""
# Where each of the 15 joints sits in an ntu25 frame (body 1).
FROM_NTU = ["Head", "Neck", "SpineMid", "ShoulderLeft", "ElbowLeft", "HandLeft", "ShoulderRight", "ElbowRight",
            "HandRight", "HipLeft", "KneeLeft", "FootLeft", "HipRight", "KneeRight", "FootRight"]


def _cli(*args):
    from click.testing import CliRunner

    from tdf.cli import cli
    r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def openni(tmp_path_factory):
    """Synthetic ntu25 data (hands weak) projected onto the 15-joint user layout."""
    from tdf.data.synth import SynthConfig, class_names, iter_samples
    root = tmp_path_factory.mktemp("openni")
    (root / "openni15.toml").write_text(OPENNI15)
    lay = get_layout(str(root / "openni15.toml"))
    ntu = LAYOUTS["ntu25"]
    pick = [ntu.joint_index(j) for j in FROM_NTU]
    cfg = SynthConfig(coarse_classes=2, fine_classes=2, per_class=12, frames=24, subjects=8, seed=0)
    with StoreWriter(root / "d.h5", cfg.frames, class_names(cfg), source="test projection", layout=lay,
                     attrs={"default_split": "xsub"}) as w:
        for s in iter_samples(cfg):
            x = s.sample.x[:, :1, pick, :]                     # [t, 1 body, 15 joints, 3]
            w.append(Sample(x, s.sample.label, s.sample.name, s.sample.subject, s.sample.camera,
                            s.sample.setup, s.sample.replication))
    return root, lay


def test_projected_store_is_the_ntu_data_at_those_joints(openni):
    from tdf.data.synth import SynthConfig, iter_samples
    root, lay = openni
    cfg = SynthConfig(coarse_classes=2, fine_classes=2, per_class=12, frames=24, subjects=8, seed=0)
    first = next(iter(iter_samples(cfg))).sample
    with open_store(root / "d.h5") as s:
        assert s.layout == lay and s.layout.D == 45
        x = s.read_one(s.index_of(first.name))
    head, hand = LAYOUTS["ntu25"].joint_index("Head"), LAYOUTS["ntu25"].joint_index("HandRight")
    np.testing.assert_array_equal(x[:, 0, 0], first.x[:, 0, head])
    np.testing.assert_array_equal(x[:, 0, lay.joint_index("r_hand")], first.x[:, 0, hand])


def _rank_directly(run, data, lay):
    """The ranking over the layout's groups computed on the run's model and data directly: the
    tiny runs here may have no class the weak-class rule calls weak, and then `tdf diagnose`
    (rightly) ranks nothing."""
    from tdf.data.store import open_store
    from tdf.diagnose.ranking import rank_groups
    from tdf.run_folder import load_model
    model = load_model(run / "model.keras")
    with open_store(data) as s:
        idx = np.arange(min(s.n, 40))
        x, y = s.read(idx), s.label[idx]
    return rank_groups(model, x, y, layout=lay, repeats=2, n_boot=50)


def test_user_layout_whole_loop(openni, tmp_path):
    root, lay = openni
    data = root / "d.h5"
    _cli("--quiet", "train", data, "--out", tmp_path / "run", "--epochs", "2", "--seed", "0", *TINY)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["joint_layout"] == "openni15" and get_layout(str(root / "openni15.toml")).to_toml() == info["layout"]
    from tdf.run_folder import load_model
    assert load_model(tmp_path / "run" / "model.keras").inputs[0].shape[-1] == 45

    _cli("--quiet", "diagnose", tmp_path / "run", data, "--out", tmp_path / "diag", "--render", "none",
         "--views", "ranking,relevance,dissect")
    d = json.loads((tmp_path / "diag" / "diagnosis.json").read_text())
    assert sorted(g["name"] for g in d["groups"]) in ([], sorted(lay.groups))   # [] when nothing is weak
    assert sorted(r["name"] for r in _rank_directly(tmp_path / "run", data, lay)) == sorted(lay.groups)
    assert set(d["relevance"]["group_share_weak"]) == set(lay.groups)
    assert abs(sum(d["relevance"]["group_share_weak"].values()) - 1) < 1e-6  # the groups partition the joints
    assert all(r in lay.group_names for r in d["recommended_groups"])
    concepts = json.loads((tmp_path / "diag" / "dissection.json").read_text())["concepts"]
    assert "left_limb moving" in concepts and not any(c.startswith("hands") for c in concepts)

    # custom groups of this layout's joints for the diagnosis; ntu25 names are refused
    (tmp_path / "g.toml").write_text('[groups]\nhands = ["l_hand", "r_hand"]\nrest = ["head", "torso"]\n')
    _cli("--quiet", "diagnose", tmp_path / "run", data, "--out", tmp_path / "diag2", "--render", "none",
         "--views", "ranking", "--groups", tmp_path / "g.toml")
    d2 = json.loads((tmp_path / "diag2" / "diagnosis.json").read_text())
    assert set(d2["custom_groups"]) == {"hands", "rest"}
    assert {g["name"] for g in d2["groups"]} in (set(), {"hands", "rest"})   # empty when nothing is weak
    (tmp_path / "bad.toml").write_text('[groups]\nhands = ["HandLeft"]\n')
    from click.testing import CliRunner

    from tdf.cli import cli
    r = CliRunner().invoke(cli, ["diagnose", str(tmp_path / "run"), str(data), "--out", str(tmp_path / "diag3"),
                                 "--groups", str(tmp_path / "bad.toml")])
    assert r.exit_code == 2 and "unknown joint name(s) HandLeft" in r.output and "openni15" in r.output

    _cli("--quiet", "fix", tmp_path / "run", "--groups", "limbs", "--out", tmp_path / "fixed", "--epochs", "1")
    fixed = json.loads((tmp_path / "fixed" / "run.json").read_text())
    assert fixed["groups"] == ["limbs"] and fixed["ta_dims"] == 6 * 3 and fixed["joint_layout"] == "openni15"
    from tdf.models.ms_res_tcn import ta_mask_of
    mask = ta_mask_of(load_model(tmp_path / "fixed" / "model.keras"))
    assert list(np.flatnonzero(mask)) == list(range(9, 27))   # joints 3..8, xyz
    r = CliRunner().invoke(cli, ["fix", str(tmp_path / "run"), "--groups", "hands", "--out", str(tmp_path / "f2")])
    assert r.exit_code == 2 and "unknown joint group 'hands' of layout openni15" in r.output

    with open_store(data) as s:
        name = s.names[0]
    r = _cli("--quiet", "--json", "explain", tmp_path / "run", name, data, "--dissect-samples", "16")
    assert set(json.loads(r.stdout)["relevance"]["group_share"]) == set(lay.groups)


def test_model_and_data_of_other_layouts_do_not_mix(openni, tmp_path):
    from click.testing import CliRunner

    from tdf.cli import cli
    root, _ = openni
    _cli("--quiet", "train", root / "d.h5", "--out", tmp_path / "run", "--epochs", "1", *TINY)
    from toy_data import make_toy_store
    ntu = make_toy_store(tmp_path / "ntu.h5")
    r = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "run"), str(ntu)])
    assert r.exit_code == 2 and "expects 45 dims per frame" in r.output and "ntu25" in r.output


def _coco_store(path, per_class=10, frames=16, seed=0):
    """Stick figures in image pixels (y down, head at the top); class c shakes one limb end."""
    lay = LAYOUTS["coco17"]
    rng = np.random.default_rng(seed)
    rest = {"nose": (100, 40), "left_eye": (105, 35), "right_eye": (95, 35), "left_ear": (110, 38),
            "right_ear": (90, 38), "left_shoulder": (120, 70), "right_shoulder": (80, 70),
            "left_elbow": (128, 100), "right_elbow": (72, 100), "left_wrist": (132, 130),
            "right_wrist": (68, 130), "left_hip": (112, 150), "right_hip": (88, 150),
            "left_knee": (114, 190), "right_knee": (86, 190), "left_ankle": (115, 230), "right_ankle": (85, 230)}
    base = np.array([rest[j] for j in lay.joints], np.float32)
    moving = ["left_wrist", "right_wrist", "left_ankle"]
    with StoreWriter(path, frames, ["wave_left", "wave_right", "tap_foot"], source="test coco17", layout="coco17",
                     attrs={"default_split": "random"}) as w:
        for rep in range(per_class):
            for c, joint in enumerate(moving):
                t = np.arange(frames)
                x = np.zeros((frames, 2, 17, 2), np.float32)
                x[:, 0] = base + rng.normal(0, 1.0, size=(frames, 17, 2)) + rng.normal(0, 5, size=2)
                x[:, 0, lay.joint_index(joint), 0] += 15 * np.sin(2 * np.pi * (c + 1) * t / frames)
                w.append(Sample(x, c, f"coco_{c}_{rep:02d}", subject=1 + rep))
    return path


def test_coco17_2d_train_diagnose_render(tmp_path):
    data = _coco_store(tmp_path / "coco.h5")
    with h5py.File(data) as f:
        assert f["x"].shape == (30, 16, 2, 17, 2)
    _cli("--quiet", "train", data, "--out", tmp_path / "run", "--epochs", "2", "--seed", "0", *TINY)
    _cli("--quiet", "diagnose", tmp_path / "run", data, "--out", tmp_path / "diag", "--render", "gif",
         "--samples-per-class", "1", "--views", "decoder,relevance,ranking")
    d = json.loads((tmp_path / "diag" / "diagnosis.json").read_text())
    assert {g["name"] for g in d["groups"]} in (set(), set(LAYOUTS["coco17"].groups))  # empty when nothing is weak
    assert {r["name"] for r in _rank_directly(tmp_path / "run", data, LAYOUTS["coco17"])} == set(LAYOUTS["coco17"].groups)
    assert d["files"]["decoded"] and d["relevance"]["files"]
    png = tmp_path / "sample.png"
    r = _cli("render", data, "--index", "0", "--out", png)
    assert png.stat().st_size > 1000 and "wave_left" in r.output
    _cli("render", tmp_path / "diag" / "decoded.npz", "--index", "0", "--out", tmp_path / "dec.png")


def test_2d_panel_keeps_image_y_down(tmp_path):
    """The drawn head is above the drawn feet: y axis inverted for y_down layouts, not for 3-D."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from tdf.render import _limits, _panel, as_joints
    lay = LAYOUTS["coco17"]
    x = np.zeros((1, 2, 17, 2), np.float32)
    x[0, 0, :, 0] = 100
    x[0, 0, :, 1] = np.linspace(40, 230, 17)   # nose (index 0) at the smallest pixel row
    seq = as_joints(x, lay)
    centre, half = _limits([seq])
    p = _panel(Figure(), (1, 1, 1), seq, "", centre, half, None, None, lay)
    p.draw(0)
    lo, hi = p.ax.get_ylim()
    assert lo > hi, "image rows grow downwards: the axis is inverted so the head is drawn on top"
    bone = p.lines[0][lay.bones.index(("left_ankle", "left_knee"))]
    assert list(bone.get_xdata()) == [100, 100] and list(bone.get_ydata()) == [x[0, 0, 15, 1], x[0, 0, 13, 1]]
    assert not p.lines[1][0].get_xdata(), "an absent body draws nothing"
