"""The trajectory probe of the diagnosis: exact values on hand-built trajectories, what the power
spectra cannot see (a circle run clockwise vs counter-clockwise), and the choice of probe."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tdf.data.layout import JOINT_INDEX, group_joints
from tdf.diagnose.features import group_motion_features
from tdf.diagnose.input_probe import facing_pairs, input_separability, probe_features
from tdf.diagnose.trajectory import (group_trajectory_features, relative_to_parent, resample_valid,
                                     rotate_yaw, yaw_angles)
from tdf.skeleton import LAYOUTS, layout_or_default

J = JOINT_INDEX
LAY = layout_or_default()             # ntu25


class SK:  # what the trajectory features take from the layout
    parents = LAY.parents
    yaw_pairs = facing_pairs(LAY)
HAND = group_joints("right_hand")     # WristRight, HandRight, HandTipRight, ThumbRight


def rest_pose() -> np.ndarray:
    """[25, 3] a still body facing the camera: left joints at −x, right joints at +x, y up."""
    p = np.zeros((25, 3))
    for name, xyz in {"SpineBase": (0, 0.0, 0), "SpineMid": (0, 0.3, 0), "SpineShoulder": (0, 0.55, 0),
                      "Neck": (0, 0.62, 0), "Head": (0, 0.75, 0),
                      "ShoulderLeft": (-0.2, 0.5, 0), "ElbowLeft": (-0.25, 0.25, 0), "WristLeft": (-0.27, 0.05, 0),
                      "HandLeft": (-0.27, -0.02, 0), "HandTipLeft": (-0.27, -0.08, 0), "ThumbLeft": (-0.24, -0.02, 0),
                      "ShoulderRight": (0.2, 0.5, 0), "ElbowRight": (0.25, 0.25, 0), "WristRight": (0.27, 0.05, 0),
                      "HandRight": (0.27, -0.02, 0), "HandTipRight": (0.27, -0.08, 0), "ThumbRight": (0.24, -0.02, 0),
                      "HipLeft": (-0.1, -0.05, 0), "KneeLeft": (-0.1, -0.45, 0), "AnkleLeft": (-0.1, -0.85, 0),
                      "FootLeft": (-0.1, -0.9, 0.1), "HipRight": (0.1, -0.05, 0), "KneeRight": (0.1, -0.45, 0),
                      "AnkleRight": (0.1, -0.85, 0), "FootRight": (0.1, -0.9, 0.1)}.items():
        p[J[name]] = xyz
    return p + np.array([0.1, 0.2, 3.0])  # somewhere in front of the camera


def circle(n: int, clockwise: bool, r: float = 0.1, pad_to: int | None = None) -> np.ndarray:
    """[1, T, 150]: the right hand (with its tip and thumb) circles its wrist in the frontal
    plane, one turn in n frames; body b is absent (zeros). Clockwise = the time reverse."""
    theta = 2 * np.pi * np.arange(n) / (n - 1)
    if clockwise:
        theta = theta[::-1]
    p = np.repeat(rest_pose()[None], n, axis=0)                        # [n, 25, 3]
    offset = r * np.stack([np.cos(theta), np.sin(theta), np.zeros(n)], axis=1)
    for name in ("HandRight", "HandTipRight", "ThumbRight"):
        p[:, J[name]] = p[:, J["WristRight"]] + offset + (rest_pose()[J[name]] - rest_pose()[J["HandRight"]])
    x = np.zeros((1, pad_to or n, 2, 25, 3))
    x[0, :n, 0] = p
    return x.reshape(1, pad_to or n, 150)


def split(f: np.ndarray, joints: int, length: int = 20, bodies: int = 2):
    """(trajectory [L, B, J, 3], velocity [L-1, B, J, 3]) parts of one feature row."""
    k = length * bodies * joints * 3
    return f[:k].reshape(length, bodies, joints, 3), f[k:].reshape(length - 1, bodies, joints, 3)


def test_exact_values_of_a_circle():
    # 39 frames resampled to 20: the samples fall exactly on frames 0, 2, …, 38.
    x = circle(39, clockwise=False)
    f = group_trajectory_features(x, HAND, SK.parents, SK.yaw_pairs, bodies=2, n_joints=25)
    traj, vel = split(f[0], len(HAND))
    theta = 2 * np.pi * np.arange(0, 39, 2) / 38
    expected_hand = 0.1 * np.stack([np.cos(theta), np.sin(theta), np.zeros(20)], axis=1)
    np.testing.assert_allclose(traj[:, 0, HAND.index(J["HandRight"])], expected_hand, atol=1e-12)
    # the wrist relative to the elbow does not move; the tip relative to the thumb neither (rigid hand)
    np.testing.assert_allclose(traj[:, 0, HAND.index(J["WristRight"])], np.tile([0.02, -0.2, 0], (20, 1)),
                               atol=1e-12)
    np.testing.assert_allclose(traj[:, 0, HAND.index(J["HandTipRight"])], np.tile([0.03, -0.06, 0], (20, 1)),
                               atol=1e-12)
    np.testing.assert_allclose(vel[:, 0, HAND.index(J["HandRight"])], np.diff(expected_hand, axis=0), atol=1e-12)
    assert not traj[:, 1].any() and not vel[:, 1].any()                    # the absent body stays zero


def test_circle_backwards_mirrors_the_trajectory_features_not_the_spectra():
    ccw, cw = circle(39, clockwise=False), circle(39, clockwise=True)
    t_ccw, v_ccw = split(group_trajectory_features(ccw, HAND, SK.parents, SK.yaw_pairs, bodies=2, n_joints=25)[0], 4)
    t_cw, v_cw = split(group_trajectory_features(cw, HAND, SK.parents, SK.yaw_pairs, bodies=2, n_joints=25)[0], 4)
    np.testing.assert_allclose(t_cw, t_ccw[::-1], atol=1e-12)           # the same path, in reverse order
    np.testing.assert_allclose(v_cw, -v_ccw[::-1], atol=1e-12)          # run the other way
    assert np.abs(t_cw - t_ccw).max() > 0.05                             # … which the features tell apart
    s_ccw, s_cw = group_motion_features(ccw, HAND), group_motion_features(cw, HAND)
    np.testing.assert_allclose(s_cw, s_ccw, rtol=1e-9, atol=1e-9)       # the spectra cannot


def test_padding_and_camera_yaw_do_not_change_the_features():
    x = circle(39, clockwise=False)
    f = group_trajectory_features(x, HAND, SK.parents, SK.yaw_pairs, bodies=2, n_joints=25)
    padded = circle(39, clockwise=False, pad_to=64)
    np.testing.assert_allclose(group_trajectory_features(padded, HAND, SK.parents, SK.yaw_pairs, bodies=2,
                                                         n_joints=25), f, atol=1e-12)
    a = np.deg2rad(35.0)                       # the camera turned about the vertical axis
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    turned = (x.reshape(1, 39, 2, 25, 3) @ rot.T).reshape(1, 39, 150)
    turned[:, :, 75:] = 0                      # body b stays absent
    np.testing.assert_allclose(group_trajectory_features(turned, HAND, SK.parents, SK.yaw_pairs, bodies=2,
                                                         n_joints=25), f, atol=1e-12)


def test_pieces_by_hand():
    # yaw: the shoulder line (left → right) at 90° in the (x, z) plane is turned onto +x
    p = np.zeros((1, 3, 1, 2, 3))
    p[0, :, 0, 1] = [0.0, 0.0, 1.0]
    valid = np.ones((1, 3), bool)
    a = yaw_angles(p, valid, [(0, 1)])
    assert a[0, 0] == pytest.approx(np.pi / 2)
    np.testing.assert_allclose(rotate_yaw(p, a)[0, 0, 0, 1], [1.0, 0.0, 0.0], atol=1e-12)
    # a root is its own time-centred trajectory; a child is its bone vector; invalid frames zero
    q = np.zeros((1, 4, 1, 2, 3))
    q[0, :, 0, 0, 0] = [1.0, 2.0, 3.0, 0.0]
    q[0, :, 0, 1, 0] = [5.0, 5.0, 5.0, 0.0]
    valid = np.array([[True, True, True, False]])
    rel = relative_to_parent(q, valid, [0, 1], [None, 0])
    np.testing.assert_allclose(rel[0, :, 0, 0, 0], [-1.0, 0.0, 1.0, 0.0])
    np.testing.assert_allclose(rel[0, :, 0, 1, 0], [4.0, 3.0, 2.0, 0.0])
    # resampling: 3 valid frames → 5 points, linear in between
    r = resample_valid(q[:, :, 0, 0, :1], valid, 5)
    np.testing.assert_allclose(r[0, :, 0], [1.0, 1.5, 2.0, 2.5, 3.0])


def test_the_tree_and_the_facing_lines_come_from_the_layout():
    assert SK.parents[J["HandRight"]] == J["WristRight"]
    assert SK.parents[J["ShoulderRight"]] == J["SpineShoulder"]
    assert SK.parents[J["SpineShoulder"]] == -1 and (SK.parents < 0).sum() == 1
    assert SK.yaw_pairs == ((J["ShoulderLeft"], J["ShoulderRight"]), (J["HipLeft"], J["HipRight"]))
    names = {k: [(LAYOUTS[k].joints[a], LAYOUTS[k].joints[b]) for a, b in facing_pairs(LAYOUTS[k])]
             for k in ("kinect_v1_20", "coco17", "openpose18")}
    assert names == {"kinect_v1_20": [("ShoulderLeft", "ShoulderRight"), ("HipLeft", "HipRight")],
                     "coco17": [("left_shoulder", "right_shoulder"), ("left_hip", "right_hip")],
                     "openpose18": [("LShoulder", "RShoulder"), ("LHip", "RHip")]}


def _dataset(kind: str, n: int = 24, seed: int = 0):
    """Two classes of right-hand motion with random radius, phase, speed and noise."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for i in range(n):
        c = i % 2
        t = int(rng.integers(40, 60))
        x = np.zeros((1, 64, 150))
        if kind == "circle":       # direction only: clockwise vs counter-clockwise
            x[:, :t] = circle(t, clockwise=bool(c), r=rng.uniform(0.06, 0.12))[:, :t]
        else:                      # rhythm only: a fast oscillation of 9 vs 13 cycles, random phase
            x[:, :t] = circle(t, clockwise=False, r=1e-9)[:, :t]
            cycles = (9, 13)[c]
            wave = 0.03 * np.sin(2 * np.pi * cycles * np.arange(t) / t + rng.uniform(0, 2 * np.pi))
            for name in ("HandRight", "HandTipRight", "ThumbRight"):
                x[0, :t, 3 * J[name] + 1] += wave
        x[:, :t] += rng.normal(0, 0.003, size=(t, 150)) * (np.abs(x[0, :t]) > 0)
        xs.append(x[0])
        ys.append(c)
    return np.stack(xs), np.array(ys)


def test_input_probe_takes_the_probe_that_sees_the_difference():
    x, y = _dataset("circle")
    r = input_separability(x, y, HAND)
    assert r["probe"] == "trajectory" and r["skill"] >= 0.9
    assert r["skills"]["spectra"] <= 0.5 and r["skill"] == r["skills"]["trajectory"]
    x, y = _dataset("oscillation")
    r = input_separability(x, y, HAND)
    assert r["probe"] == "spectra" and r["skill"] >= 0.75 and r["skills"]["trajectory"] <= 0.3
    assert set(probe_features(x, HAND, LAY)) == {"spectra", "trajectory"}


DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
UTD = DATA / "utd-mhad" / "Skeleton"


@pytest.mark.skipif(not UTD.is_dir(), reason="../shared/data/utd-mhad is not present")
def test_utd_right_hand_separates_direction(tmp_path, invoke):
    """UTD-MHAD's test subjects (2, 4, 6, 8), imported with `tdf data import --format utd-mhad`:
    from the right hand alone, the input probe tells circle clockwise from counter-clockwise and
    swipe left from swipe right (≥ 0.85 accuracy, chance 0.50) — the spectra alone do not."""
    from tdf.data.store import open_store
    src = tmp_path / "Skeleton"
    src.mkdir()
    for a in (1, 2, 9, 10):
        for s in (2, 4, 6, 8):
            for t in (1, 2, 3, 4):
                if (UTD / f"a{a}_s{s}_t{t}_skeleton.mat").exists():
                    shutil.copy(UTD / f"a{a}_s{s}_t{t}_skeleton.mat", src)
    r = invoke("--quiet", "data", "import", src, tmp_path / "utd.h5", "--format", "utd-mhad")
    assert r.exit_code == 0, r.stderr
    with open_store(tmp_path / "utd.h5") as store:
        lay = store.layout
        assert lay.name == "kinect_v1_20" and sorted(set(store.subject.tolist())) == [2, 4, 6, 8]
        hand = lay.group_joints("right_hand")
        assert [lay.joints[j] for j in hand] == ["WristRight", "HandRight"]
        found = {}
        for a, b in (("right hand draw circle (clockwise)", "right hand draw circle (counter clockwise)"),
                     ("right arm swipe to the left", "right arm swipe to the right")):
            sel = np.flatnonzero(np.isin(store.label, [store.class_names.index(a), store.class_names.index(b)]))
            assert len(sel) == 32
            found[a] = input_separability(store.read(sel), store.label[sel], hand, layout=lay)
    for r in found.values():
        assert r["accuracy"] >= 0.85 and r["probe"] == "trajectory"
        assert r["accuracies"]["spectra"] < 0.8


def test_two_dimensional_points_have_no_yaw():
    """2-D keypoints (COCO-17 from a pose estimator) have no horizontal plane: yaw 0, points kept."""
    from tdf.diagnose.trajectory import rotate_yaw, yaw_angles
    p = np.random.default_rng(0).normal(size=(3, 5, 2, 4, 2))
    valid = np.ones((3, 5), bool)
    a = yaw_angles(p, valid, [(0, 1)])
    assert a.shape == (3, 2) and not a.any()
    np.testing.assert_array_equal(rotate_yaw(p, a), p)
