"""tdf.skeleton: layouts as values — every layout error, TOML round trip, shipped layouts."""

import numpy as np
import pytest

from tdf.errors import BadInput
from tdf.skeleton import LAYOUTS, Layout, get_layout, layout_from_toml

GOOD = """
name = "mini"
coords = 3
bodies = 1
joints = ["hip", "chest", "head", "l_hand", "r_hand"]
bones = [["chest", "hip"], ["head", "chest"], ["l_hand", "chest"], ["r_hand", "chest"]]
[groups]
core = ["hip", "chest"]
head = ["head"]
left_hand = ["l_hand"]
right_hand = ["r_hand"]
[composites]
hands = ["left_hand", "right_hand"]
"""


def _bad(text, match):
    with pytest.raises(BadInput, match=match) as e:
        layout_from_toml(text, "lay.toml")
    assert str(e.value).startswith("lay.toml: "), "the error names its source"


def test_good_layout_parses():
    lay = layout_from_toml(GOOD, "lay.toml")
    assert lay.n_joints == 5 and lay.D == 15 and lay.centre == "hip" and not lay.y_down
    assert list(lay.parents) == [-1, 0, 1, 1, 1]
    assert lay.joint_index("head") == 2
    assert lay.group_joints("hands") == [3, 4]
    m = lay.group_mask(["head", "core"])
    assert m.shape == (15,) and list(np.flatnonzero(m)) == list(range(9))


@pytest.mark.parametrize("edit, match", [
    (lambda t: t.replace('"l_hand", "r_hand"]\nbones', '"l_hand", "l_hand"]\nbones'), "duplicate joint name.*l_hand"),
    (lambda t: t.replace('["head", "chest"]', '["head", "neck"]'), "bone .*unknown joint 'neck'"),
    (lambda t: t.replace('["head", "chest"]', '["head", "head"]'), "joins a joint to itself"),
    (lambda t: t.replace(', ["r_hand", "chest"]', ''), r"not a tree: 3 bones for 5 joints.*'hip', 'r_hand'"),
    (lambda t: t.replace('["chest", "hip"]', '["chest", "head"]'), "not a tree: a cycle"),
    (lambda t: t.replace('["r_hand", "chest"]', '["r_hand", "chest"], ["r_hand", "hip"]'),
     "not a tree: joint.*'r_hand' have more than one parent"),
    (lambda t: t.replace("coords = 3", "coords = 4"), "coords must be 2 or 3, got 4"),
    (lambda t: t.replace("coords = 3", "coords = 3.0"), "coords must be an integer"),
    (lambda t: t.replace("bodies = 1", "bodies = 0"), "bodies must be an integer ≥ 1"),
    (lambda t: t.replace('head = ["head"]', 'head = []'), "group 'head' covers no joint"),
    (lambda t: t.replace('head = ["head"]', 'head = ["head", "nose"]'), "group 'head' names unknown joint.*'nose'"),
    (lambda t: t.replace('head = ["head"]', 'head = ["head", "head"]'), "group 'head' lists joint.*twice"),
    (lambda t: t.replace('hands = ["left_hand", "right_hand"]', 'hands = ["left_hand", "feet"]'),
     "composite 'hands' names unknown group.*'feet'"),
    (lambda t: t.replace('hands = ["left_hand", "right_hand"]', 'head = ["left_hand"]'),
     "composite 'head' has the name of a group"),
    (lambda t: t.replace('name = "mini"', 'name = "mini"\ncenter = "hip"'), "unknown key.*center"),
    (lambda t: t.replace('name = "mini"', 'centre = "tail"\nname = "mini"'), "centre 'tail' is not a joint"),
    (lambda t: t.replace('name = "mini"', 'y_down = "yes"\nname = "mini"'), "y_down must be true or false"),
    (lambda t: t.replace('name = "mini"\n', ''), "missing key.*name"),
    (lambda t: t.replace('bones = [', 'bones = [["hip"], '), r"bones must be a list of \[child, parent\]"),
    (lambda t: t.replace('core = ["hip", "chest"]', 'core = "hip"'), "group 'core' must be a list of strings"),
    (lambda t: t.split("[groups]")[0], "missing key.*groups"),
    (lambda t: t.replace('joints = [', 'joints = [3, '), "joints must be a list of strings"),
    (lambda t: t + "[[", "not valid TOML"),
])
def test_each_layout_error_is_bad_input(edit, match):
    _bad(edit(GOOD), match)


def test_empty_groups_table_is_an_error():
    _bad(GOOD.split("[groups]")[0] + "[groups]\n", "no groups defined")


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_shipped_layouts_round_trip_and_are_trees(name):
    lay = LAYOUTS[name]
    assert layout_from_toml(lay.to_toml(), "x") == lay
    back = layout_from_toml(lay.to_toml(), "x")
    assert (back.joints, back.bones, dict(back.groups), dict(back.composites), back.centre, back.y_down) == \
        (lay.joints, lay.bones, dict(lay.groups), dict(lay.composites), lay.centre, lay.y_down)
    # a tree: n−1 bones, exactly one root, every joint reaches it
    par = lay.parents
    assert len(lay.bones) == lay.n_joints - 1 and (par < 0).sum() == 1
    for j in range(lay.n_joints):
        steps = 0
        while par[j] >= 0:
            j, steps = par[j], steps + 1
            assert steps <= lay.n_joints
    # groups in ntu25's spirit, base groups partition the joints
    for g in ("head", "left_arm", "right_arm", "left_hand", "right_hand", "left_leg", "right_leg"):
        assert g in lay.groups
    assert set(lay.composites) == {"arms", "hands", "legs"}
    covered = sorted(j for g in lay.groups for j in lay.group_joints(g))
    assert covered == list(range(lay.n_joints))
    assert lay.D == lay.bodies * lay.n_joints * lay.coords


def test_shipped_shapes():
    got = {n: (lay.n_joints, lay.coords, lay.bodies, lay.y_down) for n, lay in LAYOUTS.items()}
    assert got == {"ntu25": (25, 3, 2, False), "kinect_v1_20": (20, 3, 1, False),
                   "coco17": (17, 2, 2, True), "openpose18": (18, 2, 2, True)}
    assert LAYOUTS["coco17"].joints[:3] == ("nose", "left_eye", "right_eye")
    assert LAYOUTS["coco17"].joints[-1] == "right_ankle"
    assert LAYOUTS["openpose18"].joints[:2] == ("Nose", "Neck")
    assert LAYOUTS["kinect_v1_20"].joints[:4] == ("HipCenter", "Spine", "ShoulderCenter", "Head")


def test_ntu25_is_todays_constants():
    """The values the NTU layout had as module constants before layouts were values (copied by hand)."""
    lay = LAYOUTS["ntu25"]
    assert lay.D == 150 and lay.name == "ntu25"
    assert lay.joints[0] == "SpineBase" and lay.joints[20] == "SpineShoulder" and lay.joints[24] == "ThumbRight"
    parent = [1, 20, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, -1, 22, 7, 24, 11]
    assert list(lay.parents) == parent
    assert dict(lay.groups) == {
        "head": ("Head", "Neck"), "torso": ("SpineBase", "SpineMid", "SpineShoulder"),
        "left_arm": ("ShoulderLeft", "ElbowLeft"), "right_arm": ("ShoulderRight", "ElbowRight"),
        "left_hand": ("WristLeft", "HandLeft", "HandTipLeft", "ThumbLeft"),
        "right_hand": ("WristRight", "HandRight", "HandTipRight", "ThumbRight"),
        "left_leg": ("HipLeft", "KneeLeft", "AnkleLeft", "FootLeft"),
        "right_leg": ("HipRight", "KneeRight", "AnkleRight", "FootRight")}
    assert dict(lay.composites) == {"hands": ("left_hand", "right_hand"), "arms": ("left_arm", "right_arm"),
                                    "legs": ("left_leg", "right_leg")}
    # Head (3) and Neck (2) → dims 6..11 on body a and 81..86 on body b
    assert set(np.flatnonzero(lay.group_mask("head"))) == set(range(6, 12)) | set(range(81, 87))


def test_unknown_group_lists_known_ones():
    with pytest.raises(BadInput, match="unknown joint group 'torso'.*known groups: head, left_arm"):
        LAYOUTS["coco17"].group_joints("torso")


def test_with_groups_replaces_groups_and_composites():
    lay = LAYOUTS["ntu25"].with_groups({"left_hand": ("HandLeft",), "right_hand": ("HandRight",)})
    assert not lay.composites and lay.group_joints("left_hand") == [7]
    with pytest.raises(BadInput, match="unknown joint group 'hands'"):
        lay.group_joints("hands")
    lay = LAYOUTS["ntu25"].with_groups({"l": ("HandLeft",), "r": ("HandRight",)}, {"both": ("l", "r")})
    assert lay.group_joints("both") == [7, 11] and lay.same_skeleton(LAYOUTS["ntu25"])
    with pytest.raises(BadInput, match="group 'l' names unknown joint.*'Pinky'"):
        LAYOUTS["ntu25"].with_groups({"l": ("Pinky",)})


def test_get_layout_name_and_file(tmp_path):
    assert get_layout("coco17") is LAYOUTS["coco17"]
    p = tmp_path / "mini.toml"
    p.write_text(GOOD)
    assert get_layout(str(p)).name == "mini"
    with pytest.raises(BadInput, match="unknown layout 'coco18'.*ntu25"):
        get_layout("coco18")
    with pytest.raises(BadInput, match="layout file not found"):
        get_layout(str(tmp_path / "nope.toml"))
    p.write_text(GOOD.replace("coords = 3", "coords = 1"))
    with pytest.raises(BadInput, match=f"{p}: not a valid layout: .*coords must be 2 or 3"):
        get_layout(str(p))


def test_names_that_need_quoting_round_trip():
    lay = Layout("odd name", ("a b", 'q"t', "é"), (('q"t', "a b"), ("é", "a b")), 2, 1,
                 {"group one": ("a b",), "rest": ('q"t', "é")})
    assert layout_from_toml(lay.to_toml(), "x") == lay


def test_docs_worked_example_and_tables_match():
    """docs/layouts.md: its TOML example is a valid layout and its tables list the shipped joints."""
    import re
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[1] / "docs" / "layouts.md").read_text()
    example = re.search(r"```toml\n(.*?)```", doc, re.S).group(1)
    lay = layout_from_toml(example, "docs/layouts.md")
    assert lay.name == "openni15" and lay.n_joints == 15 and lay.centre == "torso"
    for name, shipped in LAYOUTS.items():
        line = "Joints in data order: " + ", ".join(f"{i} `{j}`" for i, j in enumerate(shipped.joints)) + "."
        assert f"### `{name}`" in doc and line in doc
        for g, js in shipped.groups.items():
            assert f"| `{g}` | {', '.join(js)} |" in doc
