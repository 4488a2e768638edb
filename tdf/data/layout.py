"""The NTU / Kinect v2 25-joint layout as module constants: a thin alias of
`tdf.skeleton.LAYOUTS["ntu25"]` kept for the synthetic generator and old callers.

A frame vector has D = 2 bodies × 25 joints × 3 coords = 150 values, body-major, then joint,
then xyz (design.md, "Skeleton layout"). Joint groups apply to both bodies. `group_mask` is the
one place where a group becomes a set of the 150 dims; every mask in tdf comes from it.
"""

from __future__ import annotations

import os
from typing import Iterable, Mapping

import numpy as np

from tdf.errors import BadInput
from tdf.skeleton import LAYOUTS

_NTU = LAYOUTS["ntu25"]
N_BODIES = _NTU.bodies
N_JOINTS = _NTU.n_joints
N_COORDS = _NTU.coords
D = _NTU.D  # 150
JOINT_LAYOUT = _NTU.name

JOINT_NAMES: tuple[str, ...] = _NTU.joints
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}
BONES: tuple[tuple[int, int], ...] = _NTU.bone_index
GROUPS: dict[str, tuple[str, ...]] = dict(_NTU.groups)
COMPOSITES: dict[str, tuple[str, ...]] = dict(_NTU.composites)
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
    """Custom groups of ntu25 from TOML (tdf.data.groups.load_groups_toml for any layout)."""
    from tdf.data.groups import load_groups_toml as load
    return dict(load(path, _NTU).groups)


def resolve_groups(spec: str | None) -> dict[str, tuple[str, ...]]:
    """Groups from a CLI value: None → the standard groups; a path to a .toml → custom groups."""
    if spec is None or spec == "standard":
        return dict(GROUPS)
    return load_groups_toml(spec)
