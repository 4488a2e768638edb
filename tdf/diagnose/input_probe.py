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

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from tdf.data.layout import BONES, JOINT_INDEX, N_BODIES, N_JOINTS
from tdf.diagnose.features import group_motion_features
from tdf.diagnose.probe import probe_accuracy
from tdf.diagnose.trajectory import group_trajectory_features

PROBES = ("spectra", "trajectory")


@dataclass(frozen=True)
class Skeleton:
    """What the trajectory features need of a layout: each joint's parent (None for the root),
    the (left, right) joint pairs that define the body's facing, and the frame-vector shape."""
    parents: tuple[int | None, ...]
    yaw_pairs: tuple[tuple[int, int], ...]
    bodies: int
    joints: int


def ntu25_skeleton() -> Skeleton:
    """The ntu25 tree of `tdf.data.layout.BONES`; facing from the shoulder and hip lines."""
    parent = dict(BONES)
    j = JOINT_INDEX
    return Skeleton(parents=tuple(parent.get(i) for i in range(N_JOINTS)),
                    yaw_pairs=((j["ShoulderLeft"], j["ShoulderRight"]), (j["HipLeft"], j["HipRight"])),
                    bodies=N_BODIES, joints=N_JOINTS)


def probe_features(x: np.ndarray, joints: Sequence[int], skeleton: Skeleton) -> dict[str, np.ndarray]:
    """Both feature sets of a group, by probe name."""
    return {"spectra": group_motion_features(x, list(joints)),
            "trajectory": group_trajectory_features(x, joints, skeleton.parents, skeleton.yaw_pairs,
                                                    bodies=skeleton.bodies, n_joints=skeleton.joints)}


def input_separability(x: np.ndarray, y: np.ndarray, joints: Sequence[int], skeleton: Skeleton | None = None,
                       k: int = 5, seed: int = 0) -> dict[str, Any]:
    """The best of the two probes: {"probe", "skill", "accuracy", "chance", "n", "skills": {name: skill}}.
    Ties go to the first of `PROBES` (the spectra, the original probe)."""
    skeleton = skeleton or ntu25_skeleton()
    results = {name: probe_accuracy(f, y, k=k, seed=seed)
               for name, f in probe_features(x, joints, skeleton).items()}
    best = max(PROBES, key=lambda name: (results[name]["skill"], -PROBES.index(name)))
    return {"probe": best, **results[best],
            "skills": {name: results[name]["skill"] for name in PROBES},
            "accuracies": {name: results[name]["accuracy"] for name in PROBES}}
