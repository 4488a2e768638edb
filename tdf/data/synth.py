"""Synthetic skeletons with a planted weak joint group (docs/design.md#synthetic-benchmark).

Why: the train → diagnose → fix loop needs data whose weakness is known. A weakness that is
only under-training disappears with more epochs (measured: docs/design.md#synthetic-benchmark),
so the one planted here is
*shortcut learning* ("Clever Hans"; Forsman & Singh, "Spatio-Temporal Attention for Video Action
Recognition", Uppsala University 1TD398 project report, 2020):

- **Coarse classes** are large body motions (arm raise, squat, kick, bow, ...).
- **Fine classes** share one coarse motion (standing, forearms forward, a slow common bob) and
  differ only in a small oscillation (a few cm) of the *weak group* G: the true cue.
- **Shortcut**: every sample also holds a large static posture offset of another joint group S
  (S is disjoint from G and from every joint whose motion would move G). On the xsub *training*
  subjects the offset of a fine-class sample matches its class with probability
  `shortcut_correlation` (a random other class otherwise); on the *test* subjects it is drawn
  independently of the class. Coarse samples get a random offset everywhere.
- **Distractors**: the other leaf groups (head, hands, legs — those that neither overlap what G's
  cue moves nor sit above G) make random oscillations from the same vocabulary as the cue,
  larger than it and unrelated to the class, so "something oscillates at frequency f" says
  nothing unless it is G that oscillates.

A model that sees only G must use the true cue and generalises. A model that sees everything
learns the easy shortcut first, and the cue's features are buried under the distractors' when
every joint is mixed in the first layer; trained to convergence, it stays at or near chance on
the fine classes of the test subjects. A two-stream model whose second stream sees only G (the
fix's Targeted-Attention stream) learns the cue there and trusts it over the shortcut, because on
the training subjects the cue is always right and the shortcut is not
(bench/planted_property.py measures all of this).

Kinematics: the Kinect-v2 25-joint tree by forward kinematics. Every joint j has a local
rotation L_j that turns its bone (parent → j) and everything below it: G_j = G_parent · L_j,
p_j = p_parent + G_parent · L_j · offset_j. Rotating the root bones of a group therefore moves
that group and its kinematic descendants only. For the leaf groups (hands, head, legs and their
halves) the cue stays inside G; for torso and arms it also moves the joints below them (hands,
head), which is unavoidable for a rigid skeleton; `planted_mask(G)` gives the dims the cue moves.

Nuisances: per-subject bone lengths (overall scale and per-bone jitter), per-sample posture
jitter, camera yaw (a base yaw per camera id plus jitter), translation, tempo and start shift
of the coarse motion, Gaussian sensor noise. Body 2 is all zeros (single-person actions).

Samples are generated from `numpy.random.default_rng((seed, class, index))`, so a data set is
identical for a seed regardless of order, and `iter_samples` can stream it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from tdf.data.layout import (COMPOSITES, GROUPS, JOINT_INDEX, JOINT_NAMES, N_BODIES, N_COORDS,
                             N_JOINTS, group_joints, joint_mask)
from tdf.data.store import Sample
from tdf.errors import BadInput

FPS = 30.0
XSUB_TRAIN_SUBJECTS = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)

# ---------------------------------------------------------------------------------------------
# Skeleton: parents and rest offsets (metres; body frame x = subject's left, y = up, z = forward)

_J = JOINT_INDEX
PARENT: dict[int, int] = {
    _J["SpineMid"]: _J["SpineBase"], _J["SpineShoulder"]: _J["SpineMid"],
    _J["Neck"]: _J["SpineShoulder"], _J["Head"]: _J["Neck"],
    _J["ShoulderLeft"]: _J["SpineShoulder"], _J["ElbowLeft"]: _J["ShoulderLeft"],
    _J["WristLeft"]: _J["ElbowLeft"], _J["HandLeft"]: _J["WristLeft"],
    _J["HandTipLeft"]: _J["HandLeft"], _J["ThumbLeft"]: _J["HandLeft"],
    _J["ShoulderRight"]: _J["SpineShoulder"], _J["ElbowRight"]: _J["ShoulderRight"],
    _J["WristRight"]: _J["ElbowRight"], _J["HandRight"]: _J["WristRight"],
    _J["HandTipRight"]: _J["HandRight"], _J["ThumbRight"]: _J["HandRight"],
    _J["HipLeft"]: _J["SpineBase"], _J["KneeLeft"]: _J["HipLeft"],
    _J["AnkleLeft"]: _J["KneeLeft"], _J["FootLeft"]: _J["AnkleLeft"],
    _J["HipRight"]: _J["SpineBase"], _J["KneeRight"]: _J["HipRight"],
    _J["AnkleRight"]: _J["KneeRight"], _J["FootRight"]: _J["AnkleRight"],
}
ROOT = _J["SpineBase"]


def _topological_order() -> list[int]:
    order, seen = [ROOT], {ROOT}
    while len(order) < N_JOINTS:
        for j, p in PARENT.items():
            if j not in seen and p in seen:
                order.append(j)
                seen.add(j)
    return order


ORDER = _topological_order()

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


# ---------------------------------------------------------------------------------------------
# Rotations (vectorised over frames)

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


# ---------------------------------------------------------------------------------------------
# Class vocabulary

def bump(s: np.ndarray, start: float, end: float) -> np.ndarray:
    """A smooth 0 → 1 → 0 window (sin²) over phase s ∈ [start, end], zero outside."""
    u = np.clip((s - start) / (end - start), 0.0, 1.0)
    return np.sin(np.pi * u) ** 2


D2R = np.pi / 180.0


def _arm_raise(s, A):
    b = bump(s, 0.1, 0.9)
    for side in ("Left", "Right"):
        A[f"Elbow{side}"][:, 0] += -165 * D2R * b
    return np.zeros((len(s), 3))


def _squat(s, A):
    b = bump(s, 0.1, 0.9)
    for side in ("Left", "Right"):
        A[f"Knee{side}"][:, 0] += -95 * D2R * b
        A[f"Ankle{side}"][:, 0] += 110 * D2R * b
        A[f"Foot{side}"][:, 0] += -15 * D2R * b
        A[f"Elbow{side}"][:, 0] += -80 * D2R * b
    A["SpineMid"][:, 0] += 25 * D2R * b
    return np.stack([0 * s, -0.32 * b, -0.05 * b], -1)


def _kick(s, A):
    b = bump(s, 0.3, 0.7)
    A["KneeRight"][:, 0] += -80 * D2R * b
    A["AnkleRight"][:, 0] += 30 * D2R * bump(s, 0.25, 0.6)
    A["ElbowLeft"][:, 2] += 25 * D2R * b
    A["ElbowRight"][:, 2] += -25 * D2R * b
    return np.zeros((len(s), 3))


def _bow(s, A):
    b = bump(s, 0.15, 0.85)
    A["SpineMid"][:, 0] += 35 * D2R * b
    A["SpineShoulder"][:, 0] += 25 * D2R * b
    A["Neck"][:, 0] += 15 * D2R * b
    return np.zeros((len(s), 3))


def _wave(s, A):
    b = bump(s, 0.05, 0.95)
    A["ElbowRight"][:, 2] += -150 * D2R * b  # raise the right arm sideways, overhead
    A["WristRight"][:, 2] += 35 * D2R * b * np.sin(2 * np.pi * 3 * s)
    return np.zeros((len(s), 3))


def _jump(s, A):
    crouch = bump(s, 0.05, 0.35) + bump(s, 0.65, 0.95)
    air = bump(s, 0.35, 0.65)
    for side in ("Left", "Right"):
        A[f"Knee{side}"][:, 0] += -45 * D2R * crouch
        A[f"Ankle{side}"][:, 0] += 60 * D2R * crouch
        A[f"Elbow{side}"][:, 0] += -120 * D2R * air
    return np.stack([0 * s, 0.30 * air - 0.15 * crouch, 0 * s], -1)


def _side_bend(s, A):
    b = np.sin(2 * np.pi * s) * bump(s, 0.0, 1.0) ** 0.5
    A["SpineMid"][:, 2] += 20 * D2R * b
    A["SpineShoulder"][:, 2] += 15 * D2R * b
    A["ElbowLeft"][:, 2] += 40 * D2R * np.clip(b, 0, None)
    A["ElbowRight"][:, 2] += 40 * D2R * np.clip(b, None, 0)
    return np.zeros((len(s), 3))


def _punch(s, A):
    b = bump(s, 0.1, 0.4) + bump(s, 0.55, 0.85)
    A["ElbowLeft"][:, 0] += -85 * D2R * b
    A["WristLeft"][:, 0] += -60 * D2R * (1 - b)
    return np.zeros((len(s), 3))


def _clap(s, A):
    b = 0.5 + 0.5 * np.sin(2 * np.pi * 2.5 * s)
    for side, sign in (("Left", 1), ("Right", -1)):
        A[f"Elbow{side}"][:, 0] += -70 * D2R
        A[f"Elbow{side}"][:, 1] += sign * -(10 + 45 * b) * D2R
    return np.zeros((len(s), 3))


def _turn_head(s, A):
    A["Neck"][:, 1] += 60 * D2R * np.sin(2 * np.pi * s)
    A["ElbowLeft"][:, 0] += -20 * D2R * bump(s, 0, 1)
    return np.zeros((len(s), 3))


# Coarse motions: name → program(phase [T], angle dict) → root translation [T, 3].
COARSE_MOTIONS: dict[str, Callable] = {
    "arm_raise": _arm_raise, "squat": _squat, "kick": _kick, "bow": _bow, "wave": _wave,
    "jump": _jump, "side_bend": _side_bend, "punch": _punch, "clap": _clap,
    "turn_head": _turn_head,
}


def _fine_base(s: np.ndarray, A: dict, t_sec: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The coarse motion all fine classes share: standing, forearms forward, a slow bob."""
    bob = np.sin(2 * np.pi * 0.3 * t_sec + rng.uniform(0, 2 * np.pi))
    for side in ("Left", "Right"):
        A[f"Elbow{side}"][:, 0] += -10 * D2R
        A[f"Wrist{side}"][:, 0] += (-85 + 2 * bob) * D2R
    A["Neck"][:, 0] += 12 * D2R
    return np.zeros((len(s), 3))


def _fine_base_static() -> dict[str, np.ndarray]:
    """The fine classes' shared posture as Euler angles (for the cue axes)."""
    A = {name: np.zeros((1, 3)) for name in JOINT_NAMES}
    for side in ("Left", "Right"):
        A[f"Elbow{side}"][:, 0] += -10 * D2R
        A[f"Wrist{side}"][:, 0] += -85 * D2R
    A["Neck"][:, 0] += 12 * D2R
    return A


# Fine patterns of the weak group: (name, frequency Hz, mode). Modes: "a" / "b" oscillate about
# one of the two axes perpendicular to the group's direction, "circle" both in quadrature,
# "eight" axis a at twice the frequency of axis b.
FINE_PATTERNS: tuple[tuple[str, float, str], ...] = (
    ("flap", 1.0, "a"), ("sway", 1.7, "b"), ("circle", 1.3, "circle"), ("tremor", 3.0, "a"),
    ("eight", 0.9, "eight"), ("wobble", 2.8, "b"), ("circle_fast", 2.4, "circle"),
    ("flutter", 4.2, "a"),
)
MAX_FINE = len(FINE_PATTERNS)

# ---------------------------------------------------------------------------------------------
# Groups: where the cue and the shortcut act


def group_roots(name: str) -> list[int]:
    """Joints of a (standard or composite) group whose parent is outside the group.

    Rotating these bones moves the group. The body root itself has no bone; torso then acts
    on SpineMid (bending the spine).
    """
    joints = set(group_joints(name))
    roots = sorted(j for j in joints if PARENT.get(j) not in joints)
    return [(_J["SpineMid"] if j == ROOT else j) for j in roots]


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


def _static_pose(A: dict[str, np.ndarray], offsets: np.ndarray = REST_OFFSETS):
    angles = np.stack([A[n] for n in JOINT_NAMES], 1)  # [1, 25, 3]
    local = euler(angles[..., 0], angles[..., 1], angles[..., 2])  # [1, 25, 3, 3]
    T = local.shape[0]
    glob = np.zeros((T, N_JOINTS, 3, 3))
    glob[:, ROOT] = np.eye(3)
    for j in ORDER[1:]:
        glob[:, j] = glob[:, PARENT[j]] @ local[:, j]
    pos = forward_kinematics(local, offsets, np.zeros((T, 3)), np.broadcast_to(np.eye(3), (T, 3, 3)))
    return pos[0], glob[0], local[0]


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
    pos, glob, _ = _static_pose(_fine_base_static())
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


# ---------------------------------------------------------------------------------------------
# Parameters


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


@dataclass
class SynthConfig:
    """All parameters of the generator (stored as JSON in the store's `generator` attribute)."""

    coarse_classes: int = 6
    fine_classes: int = 4
    per_class: int = 240
    frames: int = 64
    subjects: int = 40
    cameras: int = 3
    weak_group: str = "hands"
    seed: int = 0
    shortcut_group: str | None = None  # None: chosen by shortcut_group_for(weak_group)
    shortcut_correlation: float = 0.9  # P(shortcut matches the class) on training subjects
    shortcut_amplitude: float = 0.25  # m, displacement of the shortcut group's far end
    cue_amplitude: float | None = None  # m, oscillation of the weak group's far end; None: by group
    cue_amplitude_jitter: float = 0.2  # ± fraction per sample
    distractor_amplitude: float = 0.2  # m, random look-alike oscillations of other leaf groups
    cue_freq_jitter: float = 0.08  # ± fraction per sample
    camera_yaw_deg: float = 20.0  # base yaw of camera c is (c - (cameras+1)/2) * this
    yaw_jitter_deg: float = 8.0
    translation_m: float = 0.1
    scale_range: tuple[float, float] = (0.9, 1.1)
    bone_jitter: float = 0.04
    posture_jitter_deg: float = 4.0
    tempo_range: tuple[float, float] = (0.85, 1.2)
    noise_m: float = 0.004
    train_subjects: tuple[int, ...] = XSUB_TRAIN_SUBJECTS

    def validate(self) -> "SynthConfig":
        """Check every parameter up front; BadInput names the option."""
        def need(ok, msg):
            if not ok:
                raise BadInput(msg)
        need(1 <= self.coarse_classes <= len(COARSE_MOTIONS),
             f"--coarse-classes must be 1..{len(COARSE_MOTIONS)}, got {self.coarse_classes}")
        need(2 <= self.fine_classes <= MAX_FINE, f"--fine-classes must be 2..{MAX_FINE}, got {self.fine_classes}")
        need(self.per_class >= 1, f"--per-class must be ≥ 1, got {self.per_class}")
        need(self.frames >= 16, f"--frames must be ≥ 16, got {self.frames}")
        need(2 <= self.subjects <= 999, f"--subjects must be 2..999, got {self.subjects}")
        need(1 <= self.cameras <= 999, f"--cameras must be 1..999, got {self.cameras}")
        need(self.weak_group in GROUPS or self.weak_group in COMPOSITES,
             f"unknown --weak-group {self.weak_group!r}; known groups: "
             + ", ".join(list(GROUPS) + list(COMPOSITES)))
        need(0.0 <= self.shortcut_correlation <= 1.0,
             f"--shortcut-correlation must be in [0, 1], got {self.shortcut_correlation}")
        for key in ("cue", "shortcut_amplitude", "distractor_amplitude", "noise_m"):
            name = "cue_amplitude" if key == "cue" else key
            need(getattr(self, key) >= 0, f"--{name.replace('_', '-')} must be ≥ 0, got {getattr(self, key)}")
        if self.shortcut_group is not None:
            need(self.shortcut_group in GROUPS or self.shortcut_group in COMPOSITES,
                 f"unknown shortcut group {self.shortcut_group!r}")
            overlap = moved_joints(self.shortcut_group) & (moved_joints(self.weak_group)
                                                            | set().union(*(ancestors(r) for r in group_roots(self.weak_group))))
            need(not overlap, f"shortcut group {self.shortcut_group!r} moves joints of weak group "
                              f"{self.weak_group!r} ({', '.join(JOINT_NAMES[j] for j in sorted(overlap))})")
        return self

    @property
    def shortcut(self) -> str:
        return self.shortcut_group or shortcut_group_for(self.weak_group)

    @property
    def cue(self) -> float:
        """The cue amplitude in metres: `cue_amplitude`, or the default for the weak group."""
        return default_cue_amplitude(self.weak_group) if self.cue_amplitude is None else self.cue_amplitude

    def to_json(self) -> str:
        d = dataclasses.asdict(self)
        d["shortcut_group"] = self.shortcut
        d["cue_amplitude"] = self.cue
        return json.dumps(d)


def coarse_names(cfg: SynthConfig) -> list[str]:
    return list(COARSE_MOTIONS)[: cfg.coarse_classes]


def fine_names(cfg: SynthConfig) -> list[str]:
    return [f"fine_{cfg.weak_group}_{FINE_PATTERNS[k][0]}" for k in range(cfg.fine_classes)]


def class_names(cfg: SynthConfig) -> list[str]:
    """Coarse classes first, then the fine ones (label = index)."""
    return coarse_names(cfg) + fine_names(cfg)


def subject_ids(cfg: SynthConfig) -> list[int]:
    """NTU-style performer ids 1..subjects."""
    return list(range(1, cfg.subjects + 1))


def is_train_subject(cfg: SynthConfig, subject: int) -> bool:
    return subject in cfg.train_subjects


# ---------------------------------------------------------------------------------------------
# One sample


def _subject_offsets(cfg: SynthConfig, subject: int) -> np.ndarray:
    """Per-subject bone lengths: an overall scale times a per-bone jitter (seeded)."""
    rng = np.random.default_rng((cfg.seed, 1_000_003, subject))
    scale = rng.uniform(*cfg.scale_range)
    per_bone = 1.0 + rng.uniform(-cfg.bone_jitter, cfg.bone_jitter, size=(N_JOINTS, 1))
    return REST_OFFSETS * scale * per_bone


def _oscillation(mode: str, f: float, t: np.ndarray, phase: float) -> tuple[np.ndarray, np.ndarray]:
    w = 2 * np.pi * f * t + phase
    if mode == "a":
        return np.sin(w), 0 * w
    if mode == "b":
        return 0 * w, np.sin(w)
    if mode == "circle":
        return np.sin(w), np.cos(w)
    if mode == "eight":
        return np.sin(2 * w), np.sin(w)
    raise ValueError(mode)


def _apply_root_swing(local: np.ndarray, cues: tuple[RootCue, ...], ang_a: np.ndarray,
                      ang_b: np.ndarray, metres: float) -> None:
    """Pre-multiply each root bone's local rotation by swings about its two axes (in place)."""
    for c in cues:
        R = rot(c.axis_a, ang_a * metres * c.rad_per_m) @ rot(c.axis_b, ang_b * metres * c.rad_per_m)
        local[:, c.joint] = R @ local[:, c.joint]


def generate_one(cfg: SynthConfig, label: int, index: int, subject: int, camera: int
                 ) -> tuple[np.ndarray, int]:
    """One sequence [frames, 2, 25, 3] of class `label`; returns it and the index of the
    shortcut posture planted in it (tests and benchmarks use it to check the correlation)."""
    rng = np.random.default_rng((cfg.seed, label, index))
    T = cfg.frames
    n_coarse = cfg.coarse_classes
    t_sec = np.arange(T) / FPS
    tempo = rng.uniform(*cfg.tempo_range)
    shift = rng.uniform(-0.1, 0.1)
    s = np.clip((np.arange(T) / (T - 1) - 0.5) * tempo + 0.5 + shift, 0.0, 1.0)

    angles = np.zeros((N_JOINTS, T, 3))
    A = {name: angles[j] for j, name in enumerate(JOINT_NAMES)}  # views into `angles`
    if label < n_coarse:
        trans = COARSE_MOTIONS[coarse_names(cfg)[label]](s, A)
    else:
        trans = _fine_base(s, A, t_sec, rng)
    angles += rng.normal(0.0, cfg.posture_jitter_deg * D2R, size=(N_JOINTS, 1, 3))
    local = euler(*np.moveaxis(angles, (0, 1, 2), (2, 1, 0)))  # [T, 25, 3, 3]

    # The true cue: a small oscillation of the weak group (fine classes only).
    if label >= n_coarse:
        name, f, mode = FINE_PATTERNS[label - n_coarse]
        f *= 1.0 + rng.uniform(-cfg.cue_freq_jitter, cfg.cue_freq_jitter)
        amp = cfg.cue * (1.0 + rng.uniform(-cfg.cue_amplitude_jitter, cfg.cue_amplitude_jitter))
        a, b = _oscillation(mode, f, t_sec, rng.uniform(0, 2 * np.pi))
        _apply_root_swing(local, root_cues(cfg.weak_group), a, b, amp)

    # Distractors: the same oscillation vocabulary, drawn at random, on the other leaf groups.
    # (Always drawn, so switching them off leaves every other random number unchanged.)
    for g in distractor_groups_for(cfg.weak_group):
        name, f, mode = FINE_PATTERNS[int(rng.integers(0, cfg.fine_classes))]
        f *= 1.0 + rng.uniform(-cfg.cue_freq_jitter, cfg.cue_freq_jitter)
        amp = cfg.distractor_amplitude * (1.0 + rng.uniform(-cfg.cue_amplitude_jitter, cfg.cue_amplitude_jitter))
        a, b = _oscillation(mode, f, t_sec, rng.uniform(0, 2 * np.pi))
        if amp > 0:
            _apply_root_swing(local, root_cues(g), a, b, amp)

    # The shortcut: a static posture of the shortcut group, correlated with the fine class on
    # training subjects only.
    K = cfg.fine_classes
    if label >= n_coarse and is_train_subject(cfg, subject):
        k = label - n_coarse
        if rng.uniform() >= cfg.shortcut_correlation:
            k = int((k + rng.integers(1, K)) % K)
    else:
        k = int(rng.integers(0, K))
    ang = 2 * np.pi * k / K
    sc_amp = cfg.shortcut_amplitude * (1.0 + rng.uniform(-0.1, 0.1))
    ones = np.ones(T)
    _apply_root_swing(local, root_cues(cfg.shortcut), np.cos(ang) * ones, np.sin(ang) * ones, sc_amp)

    offsets = _subject_offsets(cfg, subject)
    yaw = (camera - (cfg.cameras + 1) / 2) * cfg.camera_yaw_deg + rng.uniform(-1, 1) * cfg.yaw_jitter_deg
    # Facing the camera (body forward = −z of the camera), turned by the yaw.
    root_rot = np.broadcast_to(rot(np.array([0.0, 1.0, 0.0]), np.array(np.pi + yaw * D2R)), (T, 3, 3))
    base = np.array([rng.uniform(-1, 1) * cfg.translation_m, -0.2 + rng.uniform(-0.5, 0.5) * cfg.translation_m,
                     3.0 + rng.uniform(-1, 1) * cfg.translation_m])
    root_pos = base + trans @ root_rot[0].T
    pos = forward_kinematics(local, offsets, root_pos, root_rot)
    pos += rng.normal(0.0, cfg.noise_m, size=pos.shape)
    x = np.zeros((T, N_BODIES, N_JOINTS, N_COORDS), np.float32)
    x[:, 0] = pos
    return x, k


# ---------------------------------------------------------------------------------------------
# The data set


def _setup_of(subject: int) -> int:
    """An NTU-like setup id (1..17) for a subject."""
    return 1 + (subject - 1) % 17


@dataclass
class SynthSample:
    """A generated sample plus the shortcut class planted in it (not stored)."""

    sample: Sample
    shortcut: int


def plan(cfg: SynthConfig) -> list[tuple[int, int, int, int, int]]:
    """(label, index, subject, camera, replication) for every sample, class by class.

    Samples of a class cycle over subjects, then cameras, then replications, so every
    subject performs every class about equally often."""
    subjects = subject_ids(cfg)
    rows = []
    for label in range(cfg.coarse_classes + cfg.fine_classes):
        for i in range(cfg.per_class):
            subject = subjects[i % len(subjects)]
            camera = 1 + (i // len(subjects)) % cfg.cameras
            rep = 1 + i // (len(subjects) * cfg.cameras)
            rows.append((label, i, subject, camera, rep))
    return rows


def iter_samples(cfg: SynthConfig) -> Iterator[SynthSample]:
    """Stream the data set in store order (deterministic for cfg.seed)."""
    cfg.validate()
    if cfg.per_class > cfg.subjects * cfg.cameras * 999:
        raise BadInput("--per-class too large for the NTU name scheme (replication ≤ 999)")
    for label, i, subject, camera, rep in plan(cfg):
        x, k = generate_one(cfg, label, i, subject, camera)
        setup = _setup_of(subject)
        name = f"S{setup:03d}C{camera:03d}P{subject:03d}R{rep:03d}A{label + 1:03d}"
        yield SynthSample(Sample(x, label, name, subject, camera, setup, rep), k)


def store_attrs(cfg: SynthConfig) -> dict:
    """The store attributes that describe the planted property."""
    return {
        "planted_group": cfg.weak_group,
        "shortcut_group": cfg.shortcut,
        "fine_classes": json.dumps(fine_names(cfg)),
        "coarse_classes": json.dumps(coarse_names(cfg)),
        "generator": cfg.to_json(),
        "default_split": "xsub",
    }


def generate_arrays(cfg: SynthConfig) -> dict[str, np.ndarray]:
    """The whole data set in memory: x [N, T, 150], label, subject, camera, shortcut [N]
    (for experiments and tests; the CLI streams into a store instead)."""
    xs, labels, subj, cam, sc = [], [], [], [], []
    for s in iter_samples(cfg):
        xs.append(s.sample.x.reshape(cfg.frames, -1))
        labels.append(s.sample.label)
        subj.append(s.sample.subject)
        cam.append(s.sample.camera)
        sc.append(s.shortcut)
    return {"x": np.stack(xs).astype(np.float32), "label": np.array(labels, np.int32),
            "subject": np.array(subj, np.int16), "camera": np.array(cam, np.int16),
            "shortcut": np.array(sc, np.int32)}


def write_store(cfg: SynthConfig, path, force: bool = False,
                progress: Callable[[int], None] | None = None) -> dict:
    """Generate the data set into an HDF5 store at `path`; returns a summary dict."""
    from tdf.data.store import StoreWriter
    cfg.validate()
    names = class_names(cfg)
    n = len(names) * cfg.per_class
    with StoreWriter(path, cfg.frames, names, source="tdf data synth", force=force,
                     attrs=store_attrs(cfg), expected=n) as w:
        for s in iter_samples(cfg):
            w.append(s.sample)
            if progress is not None:
                progress(1)
    train = sum(1 for sub in subject_ids(cfg) if is_train_subject(cfg, sub))
    return {"path": str(path), "n": n, "frames": cfg.frames, "classes": names,
            "coarse_classes": coarse_names(cfg), "fine_classes": fine_names(cfg),
            "planted_group": cfg.weak_group, "shortcut_group": cfg.shortcut,
            "subjects": cfg.subjects, "train_subjects": train, "cameras": cfg.cameras,
            "seed": cfg.seed}
