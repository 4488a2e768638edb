"""The synthetic skeleton's body: the kinematic tree, rest offsets, rotations and forward
kinematics (Kinect v2 / NTU 25 joints).

The tree is the ntu25 layout's bone tree (tdf.skeleton) re-rooted at the pelvis (SpineBase),
where forward kinematics starts, with one declared difference: the hand tips hang from the hand.
The layout's edge list (the standard 24-edge GCN list) hangs HandTip from Thumb, a drawing
convention; for a rigid hand the tip moves with the hand, not with the thumb. Every joint j has
a local rotation L_j that turns its bone (parent → j) and everything below it:
G_j = G_parent · L_j, p_j = p_parent + G_parent · L_j · offset_j.
"""

from __future__ import annotations

import numpy as np

from tdf.data.layout import JOINT_INDEX, JOINT_NAMES, N_JOINTS
from tdf.skeleton import LAYOUTS, Layout

KINEMATIC_ROOT = "SpineBase"
HUNG_FROM = {"HandTipLeft": "HandLeft", "HandTipRight": "HandRight"}  # child → parent, overriding the layout


def kinematic_parents(layout: Layout, root: str, hung_from: dict[str, str]) -> dict[int, int]:
    """joint index → parent index: the layout's bones as an undirected tree, each child in
    `hung_from` moved to the parent named there, directed away from `root` (which has none)."""
    hung = {(c, p) for c, p in layout.bones if c in hung_from}
    edges = [(c, p) for c, p in layout.bones if (c, p) not in hung] + list(hung_from.items())
    near: dict[str, list[str]] = {j: [] for j in layout.joints}
    for c, p in edges:
        near[c].append(p)
        near[p].append(c)
    parent: dict[str, str] = {}
    stack, seen = [root], {root}
    while stack:
        j = stack.pop()
        for k in near[j]:
            if k not in seen:
                seen.add(k)
                parent[k] = j
                stack.append(k)
    idx = layout.joint_index
    return {idx(c): idx(parent[c]) for c in layout.joints if c in parent}


_J = JOINT_INDEX
PARENT: dict[int, int] = kinematic_parents(LAYOUTS["ntu25"], KINEMATIC_ROOT, HUNG_FROM)
ROOT = _J[KINEMATIC_ROOT]


def _topological_order() -> list[int]:
    order, seen = [ROOT], {ROOT}
    while len(order) < N_JOINTS:
        for j, p in PARENT.items():
            if j not in seen and p in seen:
                order.append(j)
                seen.add(j)
    return order


ORDER = _topological_order()

# Rest offsets: metres; body frame x = subject's left, y = up, z = forward
_REST = {
    "SpineMid": (0, 0.28, 0), "SpineShoulder": (0, 0.22, 0), "Neck": (0, 0.07, 0),
    "Head": (0, 0.15, 0.01),
    "ShoulderLeft": (0.17, -0.05, 0), "ElbowLeft": (0, -0.27, 0), "WristLeft": (0, -0.25, 0),
    "HandLeft": (0, -0.07, 0), "HandTipLeft": (0, -0.07, 0), "ThumbLeft": (-0.02, -0.03, 0.04),
    "ShoulderRight": (-0.17, -0.05, 0), "ElbowRight": (0, -0.27, 0), "WristRight": (0, -0.25, 0),
    "HandRight": (0, -0.07, 0), "HandTipRight": (0, -0.07, 0), "ThumbRight": (0.02, -0.03, 0.04),
    "HipLeft": (0.08, -0.03, 0), "KneeLeft": (0, -0.42, 0), "AnkleLeft": (0, -0.40, 0),
    "FootLeft": (0, -0.05, 0.10),
    "HipRight": (-0.08, -0.03, 0), "KneeRight": (0, -0.42, 0), "AnkleRight": (0, -0.40, 0),
    "FootRight": (0, -0.05, 0.10),
}
REST_OFFSETS = np.zeros((N_JOINTS, 3))
for _name, _off in _REST.items():
    REST_OFFSETS[_J[_name]] = _off


def _children() -> dict[int, list[int]]:
    ch: dict[int, list[int]] = {j: [] for j in range(N_JOINTS)}
    for j, p in PARENT.items():
        ch[p].append(j)
    return ch


CHILDREN = _children()


def descendants(j: int) -> set[int]:
    """Joint j and every joint below it in the tree."""
    out, stack = set(), [j]
    while stack:
        k = stack.pop()
        out.add(k)
        stack.extend(CHILDREN[k])
    return out


def ancestors(j: int) -> set[int]:
    """The joints above j (not j itself)."""
    out = set()
    while j in PARENT:
        j = PARENT[j]
        out.add(j)
    return out


def rot(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices [T, 3, 3] about a unit `axis` by `angle` [T] radians (Rodrigues)."""
    angle = np.asarray(angle, dtype=np.float64)
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    s, c = np.sin(angle)[..., None, None], np.cos(angle)[..., None, None]
    return np.eye(3) + s * K + (1 - c) * (K @ K)


def euler(ax: np.ndarray, ay: np.ndarray, az: np.ndarray) -> np.ndarray:
    """Rz(az) · Ry(ay) · Rx(ax) for angle arrays of equal shape [...] → [..., 3, 3]."""
    ca, sa = np.cos(ax), np.sin(ax)
    cb, sb = np.cos(ay), np.sin(ay)
    cc, sc = np.cos(az), np.sin(az)
    return np.stack([
        np.stack([cc * cb, cc * sb * sa - sc * ca, cc * sb * ca + sc * sa], -1),
        np.stack([sc * cb, sc * sb * sa + cc * ca, sc * sb * ca - cc * sa], -1),
        np.stack([-sb, cb * sa, cb * ca], -1),
    ], -2)


def forward_kinematics(local: np.ndarray, offsets: np.ndarray, root_pos: np.ndarray,
                       root_rot: np.ndarray) -> np.ndarray:
    """Joint positions [T, 25, 3] from local bone rotations [T, 25, 3, 3].

    `local[:, j]` turns bone parent→j and everything below j; `root_rot` [T, 3, 3] orients
    the whole body, `root_pos` [T, 3] places the SpineBase.
    """
    T = local.shape[0]
    glob = np.zeros((T, N_JOINTS, 3, 3))
    pos = np.zeros((T, N_JOINTS, 3))
    glob[:, ROOT] = root_rot
    pos[:, ROOT] = root_pos
    for j in ORDER[1:]:
        p = PARENT[j]
        g = glob[:, p] @ local[:, j]
        glob[:, j] = g
        pos[:, j] = pos[:, p] + g @ offsets[j]
    return pos


def static_pose(A: dict[str, np.ndarray], offsets: np.ndarray = REST_OFFSETS):
    """Positions, global and local rotations of one frame posed by Euler angles `A` [1, 3] per joint."""
    angles = np.stack([A[n] for n in JOINT_NAMES], 1)  # [1, 25, 3]
    local = euler(angles[..., 0], angles[..., 1], angles[..., 2])  # [1, 25, 3, 3]
    T = local.shape[0]
    glob = np.zeros((T, N_JOINTS, 3, 3))
    glob[:, ROOT] = np.eye(3)
    for j in ORDER[1:]:
        glob[:, j] = glob[:, PARENT[j]] @ local[:, j]
    pos = forward_kinematics(local, offsets, np.zeros((T, 3)), np.broadcast_to(np.eye(3), (T, 3, 3)))
    return pos[0], glob[0], local[0]
