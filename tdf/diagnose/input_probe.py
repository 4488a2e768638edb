"""Input separability of a joint group: the better of two linear probes on the group's motion.

- **spectra** (`features.group_motion_features`): time-centred log power spectra — see rhythm
  and oscillations (the synthetic data's planted cue), blind to direction and order;
- **trajectory** (`trajectory.group_trajectory_features`): the parent-relative trajectory in the
  body-yaw frame, resampled to 20 frames, and its velocity — see direction, shape and order
  (circle clockwise vs counter-clockwise, swipe left vs right), blind to a fast oscillation.

"Is what tells these classes apart present in g's motion?" is answered yes if either probe says
so: the input separability is the maximum of the two skills, and which probe gave it is recorded
(docs/diagnosis-probes.md has the numbers behind this choice).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tdf.diagnose.features import group_motion_features
from tdf.diagnose.probe import probe_accuracy
from tdf.diagnose.trajectory import group_trajectory_features
from tdf.skeleton import Layout, layout_or_default

PROBES = ("spectra", "trajectory")
FACING_PARTS = ("shoulder", "hip")   # the left → right lines that say where a body faces


def _side_and_part(joint: str) -> tuple[str | None, str]:
    """("left" | "right" | None, the rest of the name) — ShoulderLeft, left_shoulder, LShoulder."""
    n = joint.lower().replace("_", "")
    for side in ("left", "right"):
        if side in n:
            return side, n.replace(side, "")
    if n[:1] in ("l", "r") and n[1:] in FACING_PARTS:
        return ("left" if n[0] == "l" else "right"), n[1:]
    return None, n


def facing_pairs(layout: Layout) -> tuple[tuple[int, int], ...]:
    """(left, right) joint index pairs of the layout's shoulders and hips, found by name
    (ntu25, kinect_v1_20, coco17, openpose18 spell them differently); empty if it has none
    (then the trajectory features are left in the camera's frame)."""
    found: dict[tuple[str, str], int] = {}
    for i, name in enumerate(layout.joints):
        side, part = _side_and_part(name)
        if side and part in FACING_PARTS:
            found.setdefault((part, side), i)
    return tuple((found[(p, "left")], found[(p, "right")]) for p in FACING_PARTS
                 if (p, "left") in found and (p, "right") in found)


def probe_features(x: np.ndarray, joints: Sequence[int], layout: Layout | None = None) -> dict[str, np.ndarray]:
    """Both feature sets of a group, by probe name."""
    lay = layout_or_default(layout)
    return {"spectra": group_motion_features(x, list(joints), layout=lay),
            "trajectory": group_trajectory_features(x, joints, lay.parents, facing_pairs(lay), bodies=lay.bodies,
                                                    n_joints=lay.n_joints, coords=lay.coords)}


def choose_probe(skills: dict[str, float]) -> str:
    """The probe with the highest skill (ties: the first of `PROBES`, the spectra). One rule for
    every caller: a single cross-validation here, repeated ones (mean skill) elsewhere."""
    return max(PROBES, key=lambda name: (skills[name], -PROBES.index(name)))


def input_separability(x: np.ndarray, y: np.ndarray, joints: Sequence[int], layout: Layout | None = None,
                       k: int = 5, seed: int = 0) -> dict[str, Any]:
    """The best of the two probes: {"probe", "skill", "accuracy", "chance", "n", "skills": {name: skill},
    "accuracies": {name: accuracy}}. Ties go to the first of `PROBES` (the spectra, the original probe)."""
    results = {name: probe_accuracy(f, y, k=k, seed=seed)
               for name, f in probe_features(x, joints, layout).items()}
    best = choose_probe({name: r["skill"] for name, r in results.items()})
    return {"probe": best, **results[best],
            "skills": {name: results[name]["skill"] for name in PROBES},
            "accuracies": {name: results[name]["accuracy"] for name in PROBES}}
