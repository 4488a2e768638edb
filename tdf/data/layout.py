"""The NTU / Kinect v2 25-joint layout as module constants: a thin alias of
`tdf.skeleton.LAYOUTS["ntu25"]` kept for the synthetic generator and old callers.

D = 2 bodies × 25 joints × 3 coords = 150. The functions delegate to the Layout's methods
(`Layout.group_mask` is the one place where a group becomes a set of dims).
"""

from __future__ import annotations

import os
from typing import Iterable, Mapping

import numpy as np

from tdf.skeleton import LAYOUTS, Layout, layout_or_default

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


def _ntu(groups: Mapping[str, Iterable[str]] | None) -> "Layout":
    return layout_or_default(_NTU, groups)


def parts_of(name: str, groups: Mapping[str, Iterable[str]] | None = None) -> tuple[str, ...]:
    """The base groups a (possibly composite) group name stands for (`Layout.parts_of`)."""
    return _ntu(groups).parts_of(name)


def group_joints(name: str, groups: Mapping[str, Iterable[str]] | None = None) -> list[int]:
    """0-based joint indices of a group, sorted (`Layout.group_joints`)."""
    return _ntu(groups).group_joints(name)


def joint_mask(joints: Iterable[int]) -> np.ndarray:
    """A boolean [150] mask selecting the xyz dims of `joints` on both bodies (`Layout.joint_mask`)."""
    return _NTU.joint_mask(joints)


def group_mask(names: str | Iterable[str], groups: Mapping[str, Iterable[str]] | None = None) -> np.ndarray:
    """A boolean [150] mask of the union of the named groups (`Layout.group_mask`)."""
    return _ntu(groups).group_mask(names)


def load_groups_toml(path: str | os.PathLike) -> dict[str, tuple[str, ...]]:
    """Custom groups of ntu25 from TOML (tdf.data.groups.load_groups_toml for any layout)."""
    from tdf.data.groups import load_groups_toml as load
    return dict(load(path, _NTU).groups)


def resolve_groups(spec: str | None) -> dict[str, tuple[str, ...]]:
    """Groups from a CLI value: the standard groups, or custom ones (tdf.data.groups.is_custom)."""
    from tdf.data.groups import is_custom
    return load_groups_toml(spec) if is_custom(spec) else dict(GROUPS)
