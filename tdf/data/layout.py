"""The NTU / Kinect v2 25-joint skeleton layout, its bones and its joint groups.

A frame vector has D = 2 bodies × 25 joints × 3 coords = 150 values, body-major, then joint,
then xyz (docs/design.md#skeleton-layout). Joint groups apply to both bodies. `group_mask` is the
one place where a group becomes a set of the 150 dims; every mask in tdf comes from it.
"""

from __future__ import annotations

import os
from typing import Iterable, Mapping

import numpy as np

from tdf.errors import BadInput
from tdf.readers import read_toml

N_BODIES = 2
N_JOINTS = 25
N_COORDS = 3
D = N_BODIES * N_JOINTS * N_COORDS  # 150
JOINT_LAYOUT = "ntu25"

# Kinect v2 JointType order = the order of joints in a .skeleton file (docs/ntu-format.md#joints-and-bones).
JOINT_NAMES: tuple[str, ...] = (
    "SpineBase", "SpineMid", "Neck", "Head",
    "ShoulderLeft", "ElbowLeft", "WristLeft", "HandLeft",
    "ShoulderRight", "ElbowRight", "WristRight", "HandRight",
    "HipLeft", "KneeLeft", "AnkleLeft", "FootLeft",
    "HipRight", "KneeRight", "AnkleRight", "FootRight",
    "SpineShoulder", "HandTipLeft", "ThumbLeft", "HandTipRight", "ThumbRight",
)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

# The standard 24-edge GCN list (docs/ntu-format.md#joints-and-bones), 1-based (child, parent), converted to 0-based.
_BONES_1BASED = (
    (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9),
    (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18),
    (20, 19), (22, 23), (23, 8), (24, 25), (25, 12),
)
BONES: tuple[tuple[int, int], ...] = tuple((a - 1, b - 1) for a, b in _BONES_1BASED)

# Joint groups (docs/design.md#skeleton-layout); each applies to both bodies.
GROUPS: dict[str, tuple[str, ...]] = {
    "head": ("Head", "Neck"),
    "torso": ("SpineBase", "SpineMid", "SpineShoulder"),
    "left_arm": ("ShoulderLeft", "ElbowLeft"),
    "right_arm": ("ShoulderRight", "ElbowRight"),
    "left_hand": ("WristLeft", "HandLeft", "HandTipLeft", "ThumbLeft"),
    "right_hand": ("WristRight", "HandRight", "HandTipRight", "ThumbRight"),
    "left_leg": ("HipLeft", "KneeLeft", "AnkleLeft", "FootLeft"),
    "right_leg": ("HipRight", "KneeRight", "AnkleRight", "FootRight"),
}
COMPOSITES: dict[str, tuple[str, ...]] = {
    "hands": ("left_hand", "right_hand"),
    "arms": ("left_arm", "right_arm"),
    "legs": ("left_leg", "right_leg"),
}
ALL_GROUP_NAMES: tuple[str, ...] = tuple(GROUPS) + tuple(COMPOSITES)


def parts_of(name: str, groups: Mapping[str, Iterable[str]] | None = None) -> tuple[str, ...]:
    """The base groups a (possibly composite) standard group name stands for."""
    groups = GROUPS if groups is None else groups
    if name in groups:
        return (name,)
    if name in COMPOSITES:
        return COMPOSITES[name]
    known = ", ".join(list(groups) + [c for c in COMPOSITES if c not in groups])
    raise BadInput(f"unknown joint group {name!r}; known groups: {known}")


def group_joints(name: str, groups: Mapping[str, Iterable[str]] | None = None) -> list[int]:
    """0-based joint indices of a group (base, composite or custom), sorted."""
    groups = GROUPS if groups is None else groups
    joints: set[int] = set()
    for part in parts_of(name, groups):
        joints.update(JOINT_INDEX[j] for j in groups[part])
    return sorted(joints)


def joint_mask(joints: Iterable[int]) -> np.ndarray:
    """A boolean [150] mask selecting the xyz dims of `joints` on both bodies."""
    mask = np.zeros((N_BODIES, N_JOINTS, N_COORDS), dtype=bool)
    mask[:, list(joints), :] = True
    return mask.reshape(D)


def group_mask(names: str | Iterable[str], groups: Mapping[str, Iterable[str]] | None = None) -> np.ndarray:
    """A boolean [150] mask of the union of the named groups (the one source of masks)."""
    if isinstance(names, str):
        names = [names]
    joints: set[int] = set()
    for name in names:
        joints.update(group_joints(name, groups))
    return joint_mask(joints)


def load_groups_toml(path: str | os.PathLike) -> dict[str, tuple[str, ...]]:
    """Read custom groups from TOML: `[groups]` table of `name = ["Joint", ...]` (or top level).

    Joint names are the Kinect names of `JOINT_NAMES`; an unknown name, an empty group or a
    non-list value is an error naming the file.
    """
    doc = read_toml(path, "groups file")
    table = doc.get("groups", doc)
    if not isinstance(table, dict) or not table:
        raise BadInput("no groups defined (expected a [groups] table of name = [joints])", path)
    out: dict[str, tuple[str, ...]] = {}
    for name, joints in table.items():
        if not isinstance(joints, list) or not joints or not all(isinstance(j, str) for j in joints):
            raise BadInput(f"group {name!r} must be a non-empty list of joint names", path)
        unknown = [j for j in joints if j not in JOINT_INDEX]
        if unknown:
            raise BadInput(
                f"group {name!r} has unknown joint name(s) {', '.join(unknown)}; "
                f"joint names are: {', '.join(JOINT_NAMES)}", path)
        out[name] = tuple(joints)
    return out


def resolve_groups(spec: str | None) -> dict[str, tuple[str, ...]]:
    """Groups from a CLI value: None → the standard groups; a path to a .toml → custom groups."""
    if spec is None or spec == "standard":
        return dict(GROUPS)
    return load_groups_toml(spec)
