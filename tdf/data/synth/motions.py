"""The motion library: the coarse classes' programs, the fine classes' shared base posture and
the oscillation patterns that the weak group's cue (and the distractors) draw from.

A coarse program takes the phase s ∈ [0, 1] of the motion [T] and a dict of per-joint Euler
angles [T, 3] (added to in place) and returns the root translation [T, 3].
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from tdf.data.layout import JOINT_NAMES


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


def fine_base(s: np.ndarray, A: dict, t_sec: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The coarse motion all fine classes share: standing, forearms forward, a slow bob."""
    bob = np.sin(2 * np.pi * 0.3 * t_sec + rng.uniform(0, 2 * np.pi))
    for side in ("Left", "Right"):
        A[f"Elbow{side}"][:, 0] += -10 * D2R
        A[f"Wrist{side}"][:, 0] += (-85 + 2 * bob) * D2R
    A["Neck"][:, 0] += 12 * D2R
    return np.zeros((len(s), 3))


def fine_base_static() -> dict[str, np.ndarray]:
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


def oscillation(mode: str, f: float, t: np.ndarray, phase: float) -> tuple[np.ndarray, np.ndarray]:
    """The two swing angles (unit amplitude) of a FINE_PATTERNS mode at frequency f (Hz) over times t (s)."""
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
