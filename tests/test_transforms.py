"""The input transforms (tdf.data.transforms) and the input recipe (tdf.data.model_input) against
hand computation in plain numpy."""

from __future__ import annotations

import numpy as np
import pytest

from tdf.data import transforms as T
from tdf.data.layout import JOINT_INDEX as J
from tdf.data.model_input import InputRecipe, InputView, ntu25_skeleton, recipe_from_json
from tdf.errors import BadInput

SK = ntu25_skeleton()
PARENTS = np.asarray(SK.parents)
ALL = ("joint", "bone", "joint_motion", "bone_motion")


def standing(t=6, seed=0):
    """A body facing the camera (left − right along +x), moving a little: [t, 2, 25, 3]."""
    rng = np.random.default_rng(seed)
    x = np.zeros((t, 2, 25, 3))
    x[:, 0] = rng.normal(0, 0.3, (25, 3))
    x[:, 0, J["ShoulderLeft"]] = [0.2, 1.4, 0.0]
    x[:, 0, J["ShoulderRight"]] = [-0.2, 1.4, 0.0]
    x[:, 0, J["HipLeft"]] = [0.1, 0.9, 0.0]
    x[:, 0, J["HipRight"]] = [-0.1, 0.9, 0.0]
    x[:, 0] += np.linspace(0, 0.5, t)[:, None, None] * np.array([1.0, 0.0, 0.3])
    x[:, 0] += rng.normal(0, 0.01, (t, 25, 3))
    return x


def hand_yaw(x, angle):
    """Rotation about y written out per coordinate."""
    out = x.copy()
    out[..., 0] = np.cos(angle) * x[..., 0] + np.sin(angle) * x[..., 2]
    out[..., 2] = -np.sin(angle) * x[..., 0] + np.cos(angle) * x[..., 2]
    return out


def test_rotated_and_moved_skeleton_comes_back_to_canonical():
    x = standing()
    canon = T.normalize_view(x, SK.centre, SK.across)
    for angle in (0.7, -2.5, 3.0):
        moved = hand_yaw(x, angle)
        moved[:, 0] += np.array([3.0, -0.2, 5.0])
        np.testing.assert_allclose(T.normalize_view(moved, SK.centre, SK.across), canon, atol=1e-5)
    # the canonical body: centre joint at the origin in the first frame, left − right along +x
    np.testing.assert_allclose(canon[0, 0, SK.centre], 0, atol=1e-6)
    across = sum(canon[:, 0, l] - canon[:, 0, r] for l, r in SK.across).mean(0)
    assert across[0] > 0 and abs(across[2]) < 1e-5
    assert not canon[:, 1].any()  # the absent second body stays zero


def hand_tilt(x, angle):
    """Rotation about x (a camera pitched up or down) written out per coordinate."""
    out = x.copy()
    out[..., 1] = np.cos(angle) * x[..., 1] - np.sin(angle) * x[..., 2]
    out[..., 2] = np.sin(angle) * x[..., 1] + np.cos(angle) * x[..., 2]
    return out


def test_spine_normalisation_undoes_a_tilted_camera_and_stands_the_spine_upright():
    x = standing()
    canon = T.normalize_view(x, SK.centre, SK.across, upright=True)
    # the spine (hips' midpoint → shoulders' midpoint, mean over frames) along +y, heading along +x
    (sl, sr), (hl, hr) = SK.across
    spine = ((canon[:, 0, sl] + canon[:, 0, sr]) - (canon[:, 0, hl] + canon[:, 0, hr])).mean(0)
    np.testing.assert_allclose(spine / np.linalg.norm(spine), [0, 1, 0], atol=1e-6)
    across = sum(canon[:, 0, l] - canon[:, 0, r] for l, r in SK.across).mean(0)
    assert across[0] > 0 and abs(across[2]) < 1e-5
    # a rigid motion: distances between joints are unchanged
    d = lambda a: np.linalg.norm(a[:, 0, :, None] - a[:, 0, None, :], axis=-1)  # noqa: E731
    np.testing.assert_allclose(d(canon), d(x), atol=1e-5)
    # a camera tilted by 0.4 rad and turned, then moved, gives the same canonical body; the
    # yaw-only view normalisation cannot undo the tilt
    for tilt, yaw in ((0.4, 0.0), (-0.3, 1.2), (0.2, -2.8)):
        moved = hand_yaw(hand_tilt(x, tilt), yaw) + np.array([1.0, 0.5, 2.0])
        moved[:, 1] = 0
        np.testing.assert_allclose(T.normalize_view(moved, SK.centre, SK.across, upright=True), canon, atol=1e-5)
        assert not np.allclose(T.normalize_view(moved, SK.centre, SK.across), T.normalize_view(x, SK.centre, SK.across),
                               atol=1e-3)
    assert not canon[:, 1].any()


def test_rotation_onto_maps_any_direction_onto_another():
    rng = np.random.default_rng(3)
    for _ in range(20):
        u, v = rng.normal(size=3), rng.normal(size=3)
        u, v = u / np.linalg.norm(u), v / np.linalg.norm(v)
        for a, b in ((u, v), (u, u), (u, -u)):
            R = T.rotation_onto(a, b)
            np.testing.assert_allclose(a @ R.T, b, atol=1e-9)
            np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-9)
            assert np.linalg.det(R) == pytest.approx(1.0)


def test_spine_normalisation_without_hips_only_turns_the_heading():
    x = standing()
    one_pair = SK.across[:1]
    np.testing.assert_allclose(T.normalize_view(x, SK.centre, one_pair, upright=True),
                               T.normalize_view(x, SK.centre, one_pair), atol=1e-6)


def test_root_normalisation_only_translates():
    x = standing()
    out = T.normalize_view(x, SK.centre, SK.across, rotate=False)
    np.testing.assert_allclose(out[:, 0], x[:, 0] - x[0, 0, SK.centre], atol=1e-6)


def test_rotate_yaw_matches_hand_formula_and_keeps_height():
    x = standing()
    out = T.rotate_yaw(x, 0.4)
    np.testing.assert_allclose(out[:, 0], hand_yaw(x[:, 0], 0.4), atol=1e-6)
    np.testing.assert_allclose(out[..., 1], x[..., 1], atol=1e-6)


def test_bones_are_joint_minus_parent():
    x = standing()
    b = T.bones(x, PARENTS)
    np.testing.assert_allclose(b[:, 0, J["ElbowLeft"]], x[:, 0, J["ElbowLeft"]] - x[:, 0, J["ShoulderLeft"]], atol=1e-6)
    np.testing.assert_allclose(b[:, 0, J["Head"]], x[:, 0, J["Head"]] - x[:, 0, J["Neck"]], atol=1e-6)
    root = int(np.flatnonzero(PARENTS < 0)[0])
    assert not b[:, 0, root].any()
    assert not b[:, 1].any()


def test_motion_is_next_minus_this_and_zero_at_the_end():
    x = standing()
    m = T.motion(x)
    np.testing.assert_allclose(m[2, 0, 5], x[3, 0, 5] - x[2, 0, 5], atol=1e-6)
    assert not m[-1].any() and not m[:, 1].any()


def test_resample_interpolates_linearly():
    x = standing(t=5)
    out = T.resample(x, 9)           # positions 0, 0.5, 1, …, 4
    np.testing.assert_allclose(out[1], (x[0] + x[1]) / 2, atol=1e-6)
    np.testing.assert_allclose(out[-1], x[-1], atol=1e-6)
    part = T.resample(x, 3, 1.0, 3.0)  # positions 1, 2, 3
    np.testing.assert_allclose(part, x[1:4], atol=1e-6)


def test_features_stay_at_their_joint():
    x = standing()
    f = T.features(x, PARENTS, ALL)
    assert f.shape == x.shape + (4,)
    np.testing.assert_allclose(f[..., 0], x, atol=1e-6)
    np.testing.assert_allclose(f[..., 1], T.bones(x, PARENTS), atol=1e-6)
    np.testing.assert_allclose(f[..., 3], T.motion(T.bones(x, PARENTS)), atol=1e-6)
    with pytest.raises(ValueError):
        T.features(x, PARENTS, ["velocity"])


def padded_batch(n=4, t=10):
    x = np.zeros((n, t, 150), np.float32)
    for i in range(n):
        length = t - i
        x[i, :length] = standing(length, seed=i).reshape(length, 150)
    return x


def test_augmentation_same_for_a_seed_different_across_epochs_and_samples():
    r = InputRecipe(SK, "view", ALL, 8, None, 15.0, 0.1, 0.8)
    x, rows = padded_batch(), np.array([7, 3, 9, 1])
    a = r.batch(x, rows, epoch=2, seed=5, training=True)
    np.testing.assert_array_equal(a, r.batch(x, rows, epoch=2, seed=5, training=True))
    assert not np.allclose(a, r.batch(x, rows, epoch=3, seed=5, training=True))
    assert not np.allclose(a, r.batch(x, rows, epoch=2, seed=6, training=True))
    # a sample's augmentation depends on its row, not on its place in the batch
    b = r.batch(x[::-1], rows[::-1], epoch=2, seed=5, training=True)
    np.testing.assert_allclose(b[::-1], a, atol=1e-6)
    # without training the input is deterministic and unaugmented
    np.testing.assert_array_equal(r.batch(x, rows), r.batch(x, rows[::-1]))


def test_recipe_batch_is_the_per_sequence_computation():
    r = InputRecipe(SK, "view", ALL, 8, (2.0, 1.0, 0.5, 0.25))
    x = padded_batch()
    out = r.batch(x)
    assert out.shape == (4, 8, 600)
    seq = x[2, :8].reshape(8, 2, 25, 3)  # sample 2 has 10 − 2 = 8 valid frames
    pos = T.resample(T.normalize_view(seq, SK.centre, SK.across), 8)
    expect = T.features(pos, PARENTS, ALL) / np.array([2.0, 1.0, 0.5, 0.25])
    np.testing.assert_allclose(out[2], expect.reshape(8, 600), atol=1e-5)
    # joint channels: every 4th value, scale undone
    np.testing.assert_allclose(r.joint_channels(out[2]), pos.reshape(8, 150), atol=1e-5)


def test_mask_expands_over_each_joints_channels():
    from tdf.data.layout import group_mask, group_joints
    r = InputRecipe(SK, "view", ALL, 8)
    m = group_mask("right_hand")
    big = r.expand_mask(m)
    assert big.shape == (600,) and big.sum() == 4 * m.sum()
    # value (body, joint, coord, feature) sits at ((body·25 + joint)·3 + coord)·4 + feature
    picked = {divmod(divmod(int(i), 4)[0], 3)[0] % 25 for i in np.flatnonzero(big)}
    assert picked == set(group_joints("right_hand"))
    x = padded_batch()
    out = r.batch(x).reshape(4, 8, 2, 25, 3, 4)
    j = J["HandRight"]
    seq = x[0, :10].reshape(10, 2, 25, 3)
    pos = T.resample(T.normalize_view(seq, SK.centre, SK.across), 8)
    np.testing.assert_allclose(out[0, :, 0, j, :, 1], pos[:, 0, j] - pos[:, 0, J["WristRight"]], atol=1e-5)


def test_raw_recipe_is_identity_and_json_round_trip():
    x = padded_batch()
    raw = InputRecipe(SK)
    assert raw.is_raw and raw.batch(x) is x
    r = InputRecipe(SK, "root", ("joint", "bone"), 16, (1.5, 0.5), 10.0, 0.05, 0.9)
    assert recipe_from_json(r.to_json()) == r
    assert recipe_from_json(None) is None
    with pytest.raises(BadInput):
        recipe_from_json({"normalize": "view"})
    with pytest.raises(BadInput):
        InputRecipe(SK, "sideways")


def test_input_view_reads_model_input(tmp_path):
    from toy_data import make_toy_store
    from tdf.data.store import Store
    path = make_toy_store(tmp_path / "toy.h5", classes=2, per_class=3, frames=12)
    with Store(path) as st:
        r = InputRecipe(SK, "view", ALL, 8)
        view = InputView(st, r)
        assert view.T == 8 and view.n == st.n and view.raw_store is st
        np.testing.assert_allclose(view.read([1, 0]), r.batch(st.read([1, 0]), [1, 0]))
