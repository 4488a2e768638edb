"""UTD-MHAD, the skeleton modality (`tdf data import DIR OUT.h5 --format utd-mhad`).

UTD Multimodal Human Action Dataset (C. Chen, R. Jafari, N. Kehtarnavaz, "UTD-MHAD: A
Multimodal Dataset for Human Action Recognition Utilizing a Depth Camera and a Wearable
Inertial Sensor", ICIP 2015): 27 actions × 8 subjects × 4 trials, captured with a Kinect v1;
861 sequences (3 of the 864 are corrupt and not distributed). One MATLAB v5 file per sequence,
`aA_sS_tT_skeleton.mat`, holding `d_skel` of shape (20 joints, 3 xyz, T frames), in metres,
camera space with y up.

Joints are in UTD's own order (the data set's `Skeleton_joint_order.txt`: head first), which is
the Kinect SDK v1 skeleton with the first four joints reversed. They are the same 20 Kinect v1
joints, so the importer stores them in the shipped `kinect_v1_20` layout by a lossless
permutation (`UTD_TO_KINECT_V1`): models, groups and renders are shared with every other
Kinect v1 data set (NW-UCLA). Standard protocol (Chen et al. 2015): cross-subject, subjects
1, 3, 5, 7 train and 2, 4, 6, 8 test — the store's default split `subject:1,3,5,7`.
"""

from __future__ import annotations

import os
import re

import numpy as np

from tdf.data.limits import MAX_FRAMES
from tdf.data.matfile import MatFileError, read_mat_variable

NAME = "utd-mhad"
LAYOUT = "kinect_v1_20"
DEFAULT_SPLIT = "subject:1,3,5,7"
FILE_GLOB = "*_skeleton.mat"
VARIABLE = "d_skel"
NAME_HINT = "aA_sS_tT_skeleton.mat with action A 1–27, subject S 1–8, trial T 1–4"
_FILE = re.compile(r"^a(\d{1,2})_s(\d{1,2})_t(\d{1,2})_skeleton\.mat$")

# Action names as the data set's authors list them, in action-id order (a1 … a27).
CLASS_NAMES = (
    "right arm swipe to the left", "right arm swipe to the right", "right hand wave",
    "two hand front clap", "right arm throw", "cross arms in the chest", "basketball shoot",
    "right hand draw x", "right hand draw circle (clockwise)",
    "right hand draw circle (counter clockwise)", "draw triangle", "bowling (right hand)",
    "front boxing", "baseball swing from right", "tennis right hand forehand swing",
    "arm curl (two arms)", "tennis serve", "two hand push", "right hand knock on door",
    "right hand catch an object", "right hand pick up and throw", "jogging in place",
    "walking in place", "sit to stand", "stand to sit", "forward lunge (left foot forward)",
    "squat (two arms stretch out)",
)
SUBJECTS = range(1, 9)
TRIALS = range(1, 5)

# Skeleton_joint_order.txt, in file order, and the Kinect SDK v1 name of each joint.
UTD_JOINTS = (
    "head", "shoulder_center", "spine", "hip_center",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
)
KINECT_V1_NAME = {
    "head": "Head", "shoulder_center": "ShoulderCenter", "spine": "Spine", "hip_center": "HipCenter",
    "left_shoulder": "ShoulderLeft", "left_elbow": "ElbowLeft", "left_wrist": "WristLeft",
    "left_hand": "HandLeft", "right_shoulder": "ShoulderRight", "right_elbow": "ElbowRight",
    "right_wrist": "WristRight", "right_hand": "HandRight", "left_hip": "HipLeft",
    "left_knee": "KneeLeft", "left_ankle": "AnkleLeft", "left_foot": "FootLeft",
    "right_hip": "HipRight", "right_knee": "KneeRight", "right_ankle": "AnkleRight",
    "right_foot": "FootRight",
}


def _permutation() -> np.ndarray:
    """UTD_TO_KINECT_V1[k] = the UTD row holding kinect_v1_20's joint k."""
    from tdf.skeleton import LAYOUTS
    target = LAYOUTS[LAYOUT].joints
    utd_index = {KINECT_V1_NAME[j]: i for i, j in enumerate(UTD_JOINTS)}
    return np.array([utd_index[name] for name in target], np.int64)


UTD_TO_KINECT_V1 = _permutation()


def parse_name(filename: str) -> dict[str, int] | None:
    """`a12_s3_t4_skeleton.mat` → {"action": 12, "subject": 3, "trial": 4}; None if not one
    of UTD-MHAD's names (ids outside 1–27, 1–8, 1–4 are not)."""
    m = _FILE.match(filename)
    if not m:
        return None
    a, s, t = (int(g) for g in m.groups())
    if not (1 <= a <= len(CLASS_NAMES) and s in SUBJECTS and t in TRIALS):
        return None
    return {"action": a, "subject": s, "trial": t}


def read_skeleton_mat(path: str | os.PathLike, frame_limit: int = MAX_FRAMES) -> np.ndarray:
    """A UTD-MHAD file's `d_skel` as float64 [T, 20, 3] in UTD's joint order (file rows).

    MatFileError when the file is unreadable, lacks `d_skel`, has another shape, T = 0 or
    T > frame_limit (checked from the declared shape before loading), or holds NaN/inf."""
    def check(shape):
        if len(shape) != 3 or shape[:2] != (len(UTD_JOINTS), 3):
            return f"has shape {shape}, expected (20 joints, 3 coordinates, T frames)"
        if shape[2] == 0:
            return "has no frames (T = 0)"
        if shape[2] > frame_limit:
            return f"has {shape[2]:,} frames, more than the {frame_limit:,} tdf reads"
        return None
    d = read_mat_variable(path, VARIABLE, check)
    if not np.isfinite(d).all():
        raise MatFileError(f"variable {VARIABLE!r} holds NaN or infinite values")
    return np.ascontiguousarray(d.transpose(2, 0, 1))


def to_layout(x_utd: np.ndarray) -> np.ndarray:
    """[T, 20, 3] in UTD's order → [T, 1 body, 20, 3] in kinect_v1_20's order."""
    return x_utd[:, UTD_TO_KINECT_V1][:, None]


def describe(filename: str) -> dict | None:
    """Sample name, label and metadata of a UTD-MHAD file name (None if it is not one): the
    trial is stored as the replication; UTD-MHAD has one camera and one setting (unknown, −1)."""
    m = parse_name(filename)
    if m is None:
        return None
    return {"name": filename.removesuffix("_skeleton.mat"), "label": m["action"] - 1,
            "subject": m["subject"], "replication": m["trial"]}


def load(path: str | os.PathLike, filename: str) -> np.ndarray:
    """One file as [T, 1, 20, 3] in kinect_v1_20 order (MatFileError when malformed)."""
    return to_layout(read_skeleton_mat(path))


MALFORMED = (MatFileError,)
