"""The planted weakness: which joints the weak group's cue moves, which group carries the
shortcut, which leaf groups get distractors, the swing axes of a group's root bones and the cue's
default amplitude (see the package docstring for why)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from tdf.data.layout import COMPOSITES, JOINT_INDEX, group_joints, joint_mask
from tdf.data.synth.kinematics import PARENT, ROOT, ancestors, descendants, rot, static_pose
from tdf.data.synth.motions import fine_base_static
from tdf.errors import BadInput


def group_roots(name: str) -> list[int]:
    """Joints of a (standard or composite) group whose parent is outside the group.

    Rotating these bones moves the group. The body root itself has no bone; torso then acts
    on SpineMid (bending the spine).
    """
    joints = set(group_joints(name))
    roots = sorted(j for j in joints if PARENT.get(j) not in joints)
    return [(JOINT_INDEX["SpineMid"] if j == ROOT else j) for j in roots]


def moved_joints(name: str) -> set[int]:
    """Every joint that moves when the group's root bones rotate (the group + descendants)."""
    out: set[int] = set()
    for r in group_roots(name):
        out |= descendants(r)
    return out


def planted_mask(weak: str) -> np.ndarray:
    """bool[150]: the dims the weak group's cue moves (equal to group_mask(weak) for leaf groups)."""
    return joint_mask(moved_joints(weak))


def shortcut_group_for(weak: str) -> str:
    """The group that carries the shortcut: disjoint from everything the weak cue moves and
    from every joint above the weak group (whose motion would move the weak group)."""
    moved = moved_joints(weak)
    above = set().union(*(ancestors(r) for r in group_roots(weak)))
    for cand in ("legs", "arms", "left_leg", "right_leg", "left_arm", "right_arm", "head"):
        m = moved_joints(cand)
        if not (m & moved) and not (m & above):
            return cand
    raise BadInput(f"no joint group can carry the shortcut for weak group {weak!r}")


LEAF_GROUPS = ("head", "left_hand", "right_hand", "left_leg", "right_leg")


def distractor_groups_for(weak: str) -> tuple[str, ...]:
    """Leaf groups that get random look-alike oscillations: every leaf group that neither
    shares a joint with what the weak cue moves nor sits above the weak group."""
    moved = moved_joints(weak)
    above = set().union(*(ancestors(r) for r in group_roots(weak)))
    return tuple(g for g in LEAF_GROUPS if not moved_joints(g) & (moved | above))


def _perp_axes(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit axes perpendicular to direction d (a: horizontal-ish, b: the third)."""
    d = d / np.linalg.norm(d)
    up = np.array([0.0, 1.0, 0.0])
    a = np.cross(d, up)
    if np.linalg.norm(a) < 0.3:  # d nearly vertical: use the lateral axis
        a = np.cross(d, np.array([0.0, 0.0, 1.0]))
    a /= np.linalg.norm(a)
    b = np.cross(d, a)
    return a, b / np.linalg.norm(b)


@dataclass(frozen=True)
class RootCue:
    """How to swing one root bone: axes in the parent's frame and radians per metre."""

    joint: int
    axis_a: np.ndarray
    axis_b: np.ndarray
    rad_per_m: float


@functools.lru_cache(maxsize=None)
def root_cues(name: str) -> tuple[RootCue, ...]:
    """Swing axes of a group's root bones, from the fine classes' shared posture."""
    pos, glob, _ = static_pose(fine_base_static())
    out = []
    for r in group_roots(name):
        p = PARENT[r]
        sub = sorted(descendants(r))
        d_world = pos[sub].mean(0) - pos[p]
        reach = float(np.max(np.linalg.norm(pos[sub] - pos[p], axis=1)))
        d_parent = glob[p].T @ d_world  # into the parent's frame
        a, b = _perp_axes(d_parent)
        out.append(RootCue(r, a, b, 1.0 / reach))
    return tuple(out)


def apply_root_swing(local: np.ndarray, cues: tuple[RootCue, ...], ang_a: np.ndarray,
                      ang_b: np.ndarray, metres: float) -> None:
    """Pre-multiply each root bone's local rotation by swings about its two axes (in place)."""
    for c in cues:
        R = rot(c.axis_a, ang_a * metres * c.rad_per_m) @ rot(c.axis_b, ang_b * metres * c.rad_per_m)
        local[:, c.joint] = R @ local[:, c.joint]


CUE_AMPLITUDE_ONE_PART = 0.12
CUE_AMPLITUDE_COMPOSITE = 0.08


def default_cue_amplitude(weak: str) -> float:
    """Default cue amplitude (m): 0.12 for a one-part group, 0.08 per part for a composite.

    A composite (hands, legs, arms) carries the same oscillation on two parts, which makes it
    easier to find among all joints: with 0.12 m on both hands the plain Res-TCN learned the
    hands' fine classes to 0.56-0.86 (and 0.63-0.93 with twice the epochs); with 0.08 m it
    stays at chance while the weak-only model still reaches 1.0 (bench/planted_property.py).
    """
    return CUE_AMPLITUDE_COMPOSITE if weak in COMPOSITES else CUE_AMPLITUDE_ONE_PART
