"""Northwestern-UCLA Multiview Action 3D (`tdf data import DIR OUT.h5 --format nw-ucla`).

N-UCLA (J. Wang, X. Nie, Y. Xia, Y. Wu, S.-C. Zhu, "Cross-view Action Modeling, Learning and
Recognition", CVPR 2014): 10 actions by 10 subjects, filmed by 3 Kinect v1 cameras at once;
1484 sequences. This reader takes the JSON version distributed with CTR-GCN (`all_sqe/`): one
file per sequence, `aAA_sSS_eEE_vVV.json` (action, subject, take, view) holding
`{"file_name", "skeletons": T × 20 × 3 (metres, camera space, y up), "label": 1–10}`, joints in
the Kinect SDK v1 order — the shipped `kinect_v1_20` layout as is. The view is stored as the
camera. Standard protocol (Wang et al. 2014): cross-view, views 1 and 2 train (1020), view 3
tests (464) — the store's default split `camera:1,2`.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np

from tdf.data.limits import MAX_FRAMES, excerpt

NAME = "nw-ucla"
LAYOUT = "kinect_v1_20"
DEFAULT_SPLIT = "camera:1,2"
FILE_GLOB = "*.json"
N_JOINTS = 20
MAX_FILE_BYTES = 64 << 20  # a sequence is tens of KB of JSON
NAME_HINT = "aAA_sSS_eEE_vVV.json with action AA in 01–06, 08, 09, 11, 12, subject 01–10, view 01–03"
_FILE = re.compile(r"^a(\d{2})_s(\d{2})_e(\d{2})_v(\d{2})\.json$")

# The 10 action ids used (7 and 10 are not part of the data set) and their names (Wang et al.).
ACTIONS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
CLASS_NAMES = ("pick up with one hand", "pick up with two hands", "drop trash", "walk around",
               "sit down", "stand up", "donning", "doffing", "throw", "carry")
SUBJECTS = range(1, 11)
VIEWS = (1, 2, 3)


class NwUclaFormatError(Exception):
    """A file that is not an N-UCLA sequence (message: why)."""


def parse_name(filename: str) -> dict[str, int] | None:
    """`a08_s03_e01_v02.json` → {"action": 8, "label": 6, "subject": 3, "take": 1, "view": 2};
    None when the name is not an N-UCLA sequence (unknown action, subject or view)."""
    m = _FILE.match(filename)
    if not m:
        return None
    a, s, e, v = (int(g) for g in m.groups())
    if a not in ACTIONS or s not in SUBJECTS or v not in VIEWS:
        return None
    return {"action": a, "label": ACTIONS.index(a), "subject": s, "take": e, "view": v}


def read_sequence_json(path: str | os.PathLike, frame_limit: int = MAX_FRAMES) -> tuple[np.ndarray, dict]:
    """An N-UCLA file's skeletons as float64 [T, 20, 3] (Kinect v1 order) and its other fields.

    NwUclaFormatError when the file is unreadable, not JSON, has no `skeletons` of shape
    T × 20 × 3 with 1 ≤ T ≤ frame_limit, holds non-numbers or NaN/inf, or its `label` /
    `file_name` disagree with its file name."""
    p = os.fspath(path)
    try:
        size = os.path.getsize(p)
        if size > MAX_FILE_BYTES:
            raise NwUclaFormatError(f"is {size:,} bytes, more than the {MAX_FILE_BYTES >> 20} MB a sequence may be")
        with open(p, "rb") as f:
            doc = json.loads(f.read())
    except OSError as e:
        raise NwUclaFormatError(f"cannot be read ({e.strerror or e})") from None
    except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError
        raise NwUclaFormatError(f"not valid JSON ({excerpt(str(e))})") from None
    if not isinstance(doc, dict) or "skeletons" not in doc:
        raise NwUclaFormatError("not an N-UCLA sequence: no 'skeletons' field")
    sk = doc["skeletons"]
    if not isinstance(sk, list) or not sk:
        raise NwUclaFormatError("'skeletons' is empty or not a list of frames")
    if len(sk) > frame_limit:
        raise NwUclaFormatError(f"'skeletons' has {len(sk):,} frames, more than the {frame_limit:,} tdf reads")
    try:
        x = np.array(sk, dtype=np.float64)
    except (TypeError, ValueError, RecursionError):
        raise NwUclaFormatError("'skeletons' is not a T × 20 × 3 array of numbers") from None
    if x.shape[1:] != (N_JOINTS, 3) or x.ndim != 3:
        raise NwUclaFormatError(f"'skeletons' has shape {x.shape}, expected (T, 20, 3)")
    if not np.isfinite(x).all():
        raise NwUclaFormatError("'skeletons' holds NaN or infinite values")
    meta = {k: v for k, v in doc.items() if k != "skeletons"}
    return x, meta


def check_fields(meta: dict, parsed: dict, filename: str) -> None:
    """The JSON's own `label` (1-based, in ACTIONS order) and `file_name` must match the file name."""
    label = meta.get("label")
    if label is not None and (not isinstance(label, int) or isinstance(label, bool) or label != parsed["label"] + 1):
        raise NwUclaFormatError(f"its label {excerpt(label)} disagrees with action a{parsed['action']:02d} "
                                f"(label {parsed['label'] + 1})")
    name = meta.get("file_name")
    if name is not None and name != filename.removesuffix(".json"):
        raise NwUclaFormatError(f"its file_name {excerpt(name)} disagrees with the file's name")


def to_layout(x: np.ndarray) -> np.ndarray:
    """[T, 20, 3] (already Kinect v1 order) → [T, 1 body, 20, 3]."""
    return x[:, None]


def describe(filename: str) -> dict | None:
    """Sample name, label and metadata of an N-UCLA file name (None if it is not one): the view
    is stored as the camera, the take (e00…) as the replication."""
    m = parse_name(filename)
    if m is None:
        return None
    return {"name": filename.removesuffix(".json"), "label": m["label"], "subject": m["subject"],
            "camera": m["view"], "replication": m["take"]}


def load(path: str | os.PathLike, filename: str) -> np.ndarray:
    """One file as [T, 1, 20, 3] (NwUclaFormatError when malformed or inconsistent with its name)."""
    x, meta = read_sequence_json(path)
    check_fields(meta, parse_name(filename), filename)
    return to_layout(x)


MALFORMED = (NwUclaFormatError,)
