import numpy as np
import pytest

from tdf.data import layout
from tdf.errors import BadInput


def test_joints_and_bones():
    assert len(layout.JOINT_NAMES) == 25 and layout.D == 150
    assert layout.JOINT_INDEX["SpineBase"] == 0 and layout.JOINT_INDEX["ThumbRight"] == 24
    assert len(layout.BONES) == 24
    # docs/ntu-format.md#joints-and-bones: the parent array of the GCN edge list (root 20 points to itself).
    parent = [1, 20, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, 20, 22, 7, 24, 11]
    assert dict(layout.BONES) == {j: p for j, p in enumerate(parent) if j != 20}


def test_group_mask_selects_both_bodies_xyz():
    m = layout.group_mask("head")
    assert m.shape == (150,) and m.sum() == 2 * 2 * 3
    # Head is joint 3, Neck joint 2 → dims 6..11 on body a and 81..86 on body b.
    assert set(np.flatnonzero(m)) == set(range(6, 12)) | set(range(81, 87))


def test_composites_are_unions():
    assert (layout.group_mask("hands") == (layout.group_mask("left_hand") | layout.group_mask("right_hand"))).all()
    assert (layout.group_mask(["legs"]) == layout.group_mask(["left_leg", "right_leg"])).all()
    union = layout.group_mask(list(layout.GROUPS))
    assert union.all(), "the base groups cover every joint"


def test_unknown_group_is_bad_input():
    with pytest.raises(BadInput, match="unknown joint group 'hand'"):
        layout.group_mask("hand")


def test_custom_groups_from_toml(tmp_path):
    p = tmp_path / "g.toml"
    p.write_text('[groups]\nfingers = ["HandTipLeft", "ThumbLeft"]\n')
    groups = layout.load_groups_toml(p)
    m = layout.group_mask("fingers", groups)
    assert m.sum() == 2 * 2 * 3
    p.write_text('[groups]\nfingers = ["HandTipLeft", "Pinky"]\n')
    with pytest.raises(BadInput, match="Pinky"):
        layout.load_groups_toml(p)
    p.write_text('[groups\n')
    with pytest.raises(BadInput, match="not valid TOML"):
        layout.load_groups_toml(p)
