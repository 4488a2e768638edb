"""`tdf data synth` and tdf.data.synth: determinism, attributes, ids, and the planted cue."""

from __future__ import annotations

import dataclasses
import json

import h5py
import numpy as np
import pytest

from tdf.data.layout import BONES, COMPOSITES, GROUPS, JOINT_NAMES, group_joints, group_mask
from tdf.data.store import open_store, parse_ntu_name
from tdf.data.synth import (SynthConfig, XSUB_TRAIN_SUBJECTS, ancestors, class_names, distractor_groups_for, generate_one,
                            group_roots, moved_joints, shortcut_group_for, write_store)
from tdf.errors import BadInput

XSUB_TRAIN = [1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38]  # docs/ntu-format.md#evaluation-protocols
ALL_NAMES = list(GROUPS) + list(COMPOSITES)
SMALL = dict(coarse_classes=3, fine_classes=4, per_class=6, frames=32, subjects=6, cameras=2)


def _dims(joints) -> np.ndarray:
    """[150] mask of joints on body 1 and 2, computed here (not via layout) for independence."""
    m = np.zeros((2, 25, 3), bool)
    m[:, sorted(joints), :] = True
    return m.reshape(150)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A store with 2 samples per subject and fine class, all 40 NTU subjects."""
    path = tmp_path_factory.mktemp("synth") / "planted.h5"
    cfg = SynthConfig(coarse_classes=2, fine_classes=4, per_class=80, frames=64, subjects=40,
                      cameras=2, weak_group="hands", seed=3)
    write_store(cfg, path)
    with open_store(path) as s:
        x = s.read(np.arange(s.n)).reshape(s.n, s.T, 2, 25, 3)
        yield cfg, s.label.copy(), s.subject.copy(), x


def test_cli_writes_store_with_attributes(invoke, tmp_path):
    out = tmp_path / "s.h5"
    r = invoke("data", "synth", out, "--coarse-classes", 3, "--fine-classes", 2, "--per-class", 4,
               "--frames", 20, "--subjects", 10, "--cameras", 2, "--weak-group", "head", "--seed", 7,
               "--json")
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["n"] == 20 and summary["planted_group"] == "head"
    with open_store(out) as s:
        assert s.n == 20 and s.T == 20
        assert s.class_names == ["arm_raise", "squat", "kick", "fine_head_flap", "fine_head_sway"]
        assert s.attr("planted_group") == "head"
        assert s.json_attr("fine_classes") == ["fine_head_flap", "fine_head_sway"]
        assert s.attr("default_split") == "xsub"
        assert s.attr("shortcut_group") == "legs"
        gen = s.json_attr("generator")
        assert gen["seed"] == 7 and gen["weak_group"] == "head" and gen["per_class"] == 4
        assert gen["frames"] == 20 and gen["shortcut_group"] == "legs"
        assert np.bincount(s.label).tolist() == [4] * 5
        assert (s.length == 20).all()
        x = s.read(np.arange(s.n))
        assert np.abs(x[:, :, 75:]).max() == 0  # body 2 unused
        spine_base_z = x[:, :, 2]  # joint 0, z: the performer stands about 3 m from the camera
        assert 2.5 < spine_base_z.min() and spine_base_z.max() < 3.5


def test_cli_refuses_existing_and_bad_options(invoke, tmp_path):
    out = tmp_path / "s.h5"
    assert invoke("data", "synth", out, "--per-class", 1, "--frames", 16).exit_code == 0
    r = invoke("data", "synth", out, "--per-class", 1, "--frames", 16)
    assert r.exit_code == 2 and "--force" in r.stderr
    assert invoke("data", "synth", out, "--per-class", 1, "--frames", 16, "--force").exit_code == 0
    r = invoke("data", "synth", tmp_path / "b.h5", "--weak-group", "tail")
    assert r.exit_code == 2 and "tail" in r.stderr and "hands" in r.stderr
    assert not (tmp_path / "b.h5").exists()
    for bad in (["--fine-classes", "1"], ["--frames", "4"], ["--per-class", "0"], ["--coarse-classes", "99"],
                ["--shortcut-correlation", "1.5"], ["--cue-amplitude", "-0.1"], ["--subjects", "1"]):
        r = invoke("data", "synth", tmp_path / "c.h5", *bad)
        assert r.exit_code == 2, bad
    assert not (tmp_path / "c.h5").exists()


@pytest.mark.parametrize("group", ALL_NAMES)
def test_every_standard_group_and_composite_is_accepted(group, tmp_path):
    cfg = SynthConfig(**{**SMALL, "per_class": 2}, weak_group=group)
    summary = write_store(cfg, tmp_path / f"{group}.h5")
    assert summary["planted_group"] == group and summary["n"] == 14
    # The shortcut group never moves, nor sits above, a joint the weak cue moves.
    sc = moved_joints(shortcut_group_for(group))
    above = set().union(*(ancestors(r) for r in group_roots(group)))
    assert not sc & (moved_joints(group) | above)


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    paths = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        p = tmp_path / f"{name}.h5"
        write_store(SynthConfig(**SMALL, seed=seed), p)
        with h5py.File(p, "r") as f:
            paths.append(f["x"][:].tobytes())
    assert paths[0] == paths[1]
    assert paths[0] != paths[2]


def test_ids_follow_ntu_names_and_xsub(tmp_path):
    p = tmp_path / "ids.h5"
    write_store(SynthConfig(coarse_classes=2, fine_classes=2, per_class=100, frames=16, subjects=40,
                            cameras=3), p)
    with open_store(p) as s:
        assert set(s.subject.tolist()) == set(range(1, 41))
        assert set(s.camera.tolist()) == {1, 2, 3}
        assert len(set(s.names)) == s.n
        for i in range(0, s.n, 37):
            meta = parse_ntu_name(s.names[i])
            assert meta is not None
            assert (meta["subject"], meta["camera"], meta["setup"], meta["replication"]) == (
                s.subject[i], s.camera[i], s.setup[i], s.replication[i])
            assert meta["action"] == s.label[i] + 1
        # Each class is performed by the xsub training and test subjects in NTU's proportion.
        train = np.isin(s.subject, XSUB_TRAIN)
        for c in range(4):
            assert 40 <= train[s.label == c].sum() <= 60
    assert tuple(XSUB_TRAIN) == XSUB_TRAIN_SUBJECTS


def test_class_names_say_what_they_are():
    names = class_names(SynthConfig(coarse_classes=6, fine_classes=4, weak_group="right_leg"))
    assert names[:6] == ["arm_raise", "squat", "kick", "bow", "wave", "jump"]
    assert all(n.startswith("fine_right_leg_") for n in names[6:]) and len(set(names)) == 10


def test_bone_lengths_are_fixed_per_subject():
    """Forward kinematics: a subject's bone lengths do not change over time or between samples.

    The standard edge list joins HandTip to Thumb, which is not a rigid bone; skip those two."""
    from tdf.data.synth import PARENT
    rigid = [(c, p) for c, p in BONES if PARENT.get(c) == p or PARENT.get(p) == c]
    assert len(rigid) == 22
    cfg = SynthConfig(**{**SMALL, "frames": 40}, noise_m=0.0)
    lens = []
    for label, idx in ((0, 0), (4, 1)):  # a coarse and a fine class, same subject 1
        x, _ = generate_one(cfg, label, idx, subject=1, camera=1)
        b = np.linalg.norm(x[:, 0, [c for c, _ in rigid]] - x[:, 0, [p for _, p in rigid]], axis=-1)
        assert np.ptp(b, axis=0).max() < 1e-5
        lens.append(b[0])
    np.testing.assert_allclose(lens[0], lens[1], atol=1e-5)


@pytest.mark.parametrize("group", ["hands", "right_hand", "head", "legs", "right_leg"])
def test_cue_and_shortcut_touch_only_their_groups(group):
    """Turning the cue (or the shortcut) off changes exactly the dims of its group: same draws."""
    cfg = SynthConfig(**SMALL, weak_group=group, distractor_amplitude=0.05)
    label = cfg.coarse_classes + 1  # a fine class
    x, _ = generate_one(cfg, label, 3, subject=2, camera=1)
    no_dis, _ = generate_one(dataclasses.replace(cfg, distractor_amplitude=0.0), label, 3, subject=2, camera=1)
    changed_dis = (np.abs(x - no_dis).reshape(len(x), 150) > 1e-7).any(0)
    dis_joints = set().union(*(group_joints(g) for g in distractor_groups_for(group)))
    np.testing.assert_array_equal(changed_dis, _dims(dis_joints) & (np.arange(150) < 75))
    assert not (changed_dis & group_mask(group)).any()
    no_cue, _ = generate_one(dataclasses.replace(cfg, cue_amplitude=0.0), label, 3, subject=2, camera=1)
    no_sc, _ = generate_one(dataclasses.replace(cfg, shortcut_amplitude=0.0), label, 3, subject=2, camera=1)
    changed_cue = (np.abs(x - no_cue).reshape(len(x), 150) > 1e-7).any(0)
    changed_sc = (np.abs(x - no_sc).reshape(len(x), 150) > 1e-7).any(0)
    weak = group_mask(group) & _dims(range(25)) & (np.arange(150) < 75)
    np.testing.assert_array_equal(changed_cue, weak)
    sc_group = shortcut_group_for(group)
    sc = _dims(moved_joints(sc_group)) & (np.arange(150) < 75)
    np.testing.assert_array_equal(changed_sc, sc)
    assert not (changed_sc & group_mask(group)).any()
    # For the leaf groups the joints the cue moves are exactly the group's joints.
    assert moved_joints(group) == set(group_joints(group))


def _spectra(x: np.ndarray, joints) -> np.ndarray:
    """Per-sample log power spectrum (bins 1..12) of the joints' trajectories, xyz summed."""
    v = x[:, :, 0, sorted(joints), :]  # [N, T, J, 3]
    v = v - v.mean(1, keepdims=True)
    p = (np.abs(np.fft.rfft(v, axis=1)) ** 2)[:, 1:13].sum(-1)  # [N, 12, J]
    return np.log(p + 1e-8).reshape(len(x), -1)


def _nearest_centroid(f_train, y_train, f_test, y_test) -> float:
    mu, sd = f_train.mean(0), f_train.std(0) + 1e-6
    a, b = (f_train - mu) / sd, (f_test - mu) / sd
    classes = np.unique(y_train)
    cent = np.stack([a[y_train == c].mean(0) for c in classes])
    pred = classes[np.argmin(((b[:, None] - cent[None]) ** 2).sum(-1), 1)]
    return float((pred == y_test).mean())


def test_fine_classes_differ_only_in_the_weak_group_on_test_subjects(planted):
    """Trained on one half of the test subjects and scored on the other half, the weak group's
    motion spectra separate the fine classes; every other joint's spectra and posture do not."""
    cfg, label, subject, x = planted
    fine = label >= cfg.coarse_classes
    test_subj = sorted(set(subject[fine].tolist()) - set(XSUB_TRAIN))
    a = fine & np.isin(subject, test_subj[::2])
    b = fine & np.isin(subject, test_subj[1::2])
    weak = group_joints("hands")
    rest = [j for j in range(25) if j not in weak]
    acc_weak = _nearest_centroid(_spectra(x[a], weak), label[a], _spectra(x[b], weak), label[b])
    acc_rest = _nearest_centroid(_spectra(x[a], rest), label[a], _spectra(x[b], rest), label[b])
    posture = (x[:, :, 0] - x[:, :, 0, :1]).mean(1).reshape(len(x), -1)  # root-relative mean pose
    acc_pose = _nearest_centroid(posture[a][:, _dims(rest)[:75]], label[a],
                                 posture[b][:, _dims(rest)[:75]], label[b])
    assert acc_weak > 0.8, acc_weak
    assert acc_rest < 0.45, acc_rest
    assert acc_pose < 0.45, acc_pose


def test_shortcut_predicts_fine_class_on_training_subjects_only(planted):
    """The shortcut group's root-relative mean posture: nearest centroids learned on half the
    training subjects classify the other half well, and the test subjects at chance level."""
    cfg, label, subject, x = planted
    fine = label >= cfg.coarse_classes
    train_subj = sorted(set(subject[fine].tolist()) & set(XSUB_TRAIN))
    fit = fine & np.isin(subject, train_subj[::2])
    held = fine & np.isin(subject, train_subj[1::2])
    test = fine & ~np.isin(subject, XSUB_TRAIN)
    sc = sorted(moved_joints(shortcut_group_for("hands")))
    pose = (x[:, :, 0, sc] - x[:, :, 0, :1]).mean(1).reshape(len(x), -1)
    acc_held = _nearest_centroid(pose[fit], label[fit], pose[held], label[held])
    acc_test = _nearest_centroid(pose[fit], label[fit], pose[test], label[test])
    assert acc_held > 0.75, acc_held
    assert acc_test < 0.45, acc_test


def test_shortcut_correlation_is_the_configured_rate():
    """The planted shortcut class matches the label at the configured rate on training
    subjects and at chance (1/K) on test subjects."""
    from tdf.data.synth import generate_arrays
    cfg = SynthConfig(coarse_classes=1, fine_classes=4, per_class=200, frames=16, subjects=40,
                      cameras=1, shortcut_correlation=0.8, seed=1)
    d = generate_arrays(cfg)
    fine = d["label"] >= 1
    train = np.isin(d["subject"], XSUB_TRAIN)
    match = d["shortcut"] == d["label"] - 1
    assert abs(match[fine & train].mean() - 0.8) < 0.07
    assert abs(match[fine & ~train].mean() - 0.25) < 0.07
    assert set(d["shortcut"][~fine].tolist()) == {0, 1, 2, 3}  # coarse: a random posture


def test_default_cue_amplitude_by_group(tmp_path):
    assert SynthConfig(weak_group="hands").cue == 0.08 and SynthConfig(weak_group="head").cue == 0.12
    assert SynthConfig(weak_group="legs", cue_amplitude=0.05).cue == 0.05
    write_store(SynthConfig(**{**SMALL, "per_class": 1}, weak_group="legs"), tmp_path / "l.h5")
    with open_store(tmp_path / "l.h5") as s:
        assert s.json_attr("generator")["cue_amplitude"] == 0.08


def test_planted_mask():
    from tdf.data.synth import planted_mask
    for g in ("hands", "right_hand", "head", "legs", "left_leg"):
        np.testing.assert_array_equal(planted_mask(g), group_mask(g))
    arms = planted_mask("arms")  # moving the shoulders moves the hands below them
    assert (arms & group_mask("hands")).sum() == group_mask("hands").sum() and not (arms & group_mask("legs")).any()


def test_bad_config_is_refused():
    with pytest.raises(BadInput, match="weak-group"):
        SynthConfig(weak_group="nose").validate()
    with pytest.raises(BadInput, match="moves joints"):
        SynthConfig(weak_group="hands", shortcut_group="arms").validate()
    assert SynthConfig(weak_group="hands", shortcut_group="head").validate().shortcut == "head"
    assert JOINT_NAMES[group_roots("torso")[0]] == "SpineMid"


def test_the_generator_tree_is_the_layouts_but_for_the_declared_hand_tips():
    """The synthetic body's kinematic tree comes from the ntu25 layout (re-rooted at the pelvis);
    the only edges it changes are the hand tips, which hang from the hand (a rigid hand), where
    the layout's GCN edge list hangs them from the thumb."""
    from tdf.data.synth import PARENT, ROOT
    from tdf.data.synth.kinematics import HUNG_FROM
    from tdf.skeleton import LAYOUTS
    lay = LAYOUTS["ntu25"]
    undirected = {frozenset((lay.joints[c], lay.joints[p])) for c, p in PARENT.items()}
    layout_edges = {frozenset(b) for b in lay.bones}
    assert undirected - layout_edges == {frozenset(e) for e in HUNG_FROM.items()}
    assert {tuple(sorted(e)) for e in layout_edges - undirected} == {("HandTipLeft", "ThumbLeft"),
                                                                     ("HandTipRight", "ThumbRight")}
    assert lay.joints[ROOT] == "SpineBase" and ROOT not in PARENT and len(PARENT) == lay.n_joints - 1
