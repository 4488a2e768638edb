"""Read one NTU RGB+D `.skeleton` text file (docs/ntu-format.md#the-skeleton-file) into per-body tracks.

Format: line 1 = frame count; per frame a body count (0 allowed), then per body a 10-field
info line (bodyID first), a joint count (always 25) and 25 joint lines of 12 fields
(x y z depthX depthY colorX colorY orientationWXYZ trackingState). CRLF and LF both work.

What the reader guarantees:
- bodyIDs are parsed as exact Python ints (never floats: 72057594037932219 and …220 would
  collapse to the same float64), and bodies are matched across frames by bodyID, not by their
  position in the frame (which is not stable in the real files);
- frames with 0 bodies are kept in `body_counts` but contribute no body data;
- anything malformed raises `SkeletonFormatError` (a `BadInput`) naming the file and the
  1-based line: empty file, binary/non-ASCII bytes, truncated file, trailing content, a count
  that is not a non-negative integer or does not match (joint count ≠ 25, wrong number of
  fields on a line), a non-numeric field, NaN/inf values, a bodyID twice in one frame;
- absurd input is malformed too, checked before any big allocation or conversion: a file larger
  than `MAX_FILE_BYTES`, a count of more than `MAX_COUNT_DIGITS` digits, a bodyID of more than
  20 digits (bodyIDs are 64-bit), a joint coordinate beyond ±`MAX_COORD` metres (Kinect sees a
  few metres; 1e308 would overflow float32); messages quote at most a short excerpt of a bad
  value (`tdf.data.limits.excerpt`), never a whole junk line.

Speed: the file is read at once and split into lines; a Python loop walks only the frame and
body headers (a few hundred lines), while the joint lines of all bodies are converted in one
bulk pass: only x, y, z are split off each line (`str.split(" ", 3)`) and streamed through
`float` into `np.fromiter` (C-level iteration; measured faster than splitting all 12 fields,
and than numpy's own string-to-float cast, which is slower than `float`). The whole file is first
checked in one C pass (`bytes.translate`) for bytes that cannot occur in a number, so a letter
(e.g. "nan") or a binary byte in *any* field is caught without converting the unused fields;
only when that check fails does a slower pass find the line. Limit of this shortcut: in the
nine joint fields tdf does not use (depth/colour pixels, orientation, tracking state) a
"number" made only of digits, signs, dots and exponents (e.g. "1.2.3") is not detected; x, y, z
and the body-info fields are fully converted and checked.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path

import numpy as np

from tdf.data.limits import excerpt
from tdf.errors import BadInput

N_JOINT_LINES = 25  # joints per body (Kinect v2)
MAX_FILE_BYTES = 64 << 20  # real files are ≤ ~7 MB (600 frames × 4 bodies); beyond this: not one
MAX_COUNT_DIGITS = 9       # frame/body/joint counts; a longer count is absurd (and slow to convert)
MAX_BODY_ID_DIGITS = 20    # 2⁶⁴ − 1 has 20 digits
MAX_COORD = 1e4            # metres; a joint position beyond it is not a Kinect measurement
JOINT_FIELDS = 12
BODY_FIELDS = 10
_XYZ = itemgetter(0, 1, 2)

_NUMERIC_BYTES = b"0123456789.eE+- \r\n"          # every byte a well-formed file may hold
_NOT_TEXT = re.compile(rb"[^\t\n\r\x20-\x7e]")    # binary or non-ASCII byte
_NOT_NUMERIC = re.compile(rb"[^0-9.eE+\- \r\n]")  # a character no number field can hold


class SkeletonFormatError(BadInput):
    """A malformed `.skeleton` file; the message names the file and the 1-based line."""

    def __init__(self, problem: str, path: str | os.PathLike, line: int | None = None):
        self.problem = problem
        self.line = line
        super().__init__(problem if line is None else f"line {line}: {problem}", path)


@dataclass
class BodyTrack:
    """One bodyID across the frames where it appears."""

    body_id: int
    frames: np.ndarray  # int32 [n] 0-based frame indices (file numbering, 0-body frames included)
    xyz: np.ndarray     # float32 [n, 25, 3] joint positions in metres (camera space)

    def __len__(self) -> int:
        return len(self.frames)


@dataclass
class SkeletonFile:
    """The content of one `.skeleton` file."""

    path: str
    name: str                 # sample id, e.g. S001C001P001R001A001
    n_frames: int             # frame count of line 1
    body_counts: np.ndarray   # int16 [n_frames] bodies listed in each frame
    bodies: dict[int, BodyTrack] = field(default_factory=dict)  # first-appearance order

    @property
    def empty_frames(self) -> int:
        """Frames that list no body."""
        return int((self.body_counts == 0).sum())

    @property
    def is_missing(self) -> bool:
        """True when no frame has a body (the 'missing skeleton' samples of docs/ntu-format.md#missing-skeletons)."""
        return not self.bodies


def sample_name(path: str | os.PathLike) -> str:
    """Sample id of a file: its name without the `.skeleton` suffix."""
    name = Path(path).name
    return name[: -len(".skeleton")] if name.endswith(".skeleton") else name


def read_skeleton(path: str | os.PathLike) -> SkeletonFile:
    """Parse one `.skeleton` file; raise `SkeletonFormatError` (file + line) if it is malformed."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise BadInput(f"cannot read ({e.strerror or e})", path) from None
    if len(raw) > MAX_FILE_BYTES:
        raise SkeletonFormatError(f"file is larger than {MAX_FILE_BYTES >> 20} MB: not a skeleton file "
                                  f"(real ones are a few MB)", path)
    return parse_skeleton(raw, path)


def parse_skeleton(raw: bytes, path: str | os.PathLike = "<bytes>") -> SkeletonFile:
    """Parse the bytes of a `.skeleton` file (see the module docstring for the checks)."""
    if not raw or raw.isspace():
        raise SkeletonFormatError("empty file", path, 1)
    if raw.translate(None, _NUMERIC_BYTES):  # fast: any byte that no number field can hold?
        _raise_bad_character(raw, path)
    lines = raw.decode("ascii").splitlines()

    n_lines = len(lines)
    while n_lines and not lines[n_lines - 1].strip():  # tolerate blank lines at the very end
        n_lines -= 1

    def count_at(i: int, what: str) -> int:
        if i >= n_lines:
            raise SkeletonFormatError(f"truncated: the file ends before the {what} (line 1 declares "
                                      f"{n_frames} frames)", path, i + 1)
        s = lines[i]
        if not s.isdigit():
            raise SkeletonFormatError(f"{what} must be a non-negative integer, got {excerpt(s)}", path, i + 1)
        if len(s) > MAX_COUNT_DIGITS:
            raise SkeletonFormatError(f"{what} has {len(s)} digits ({excerpt(s, 20)}): absurd", path, i + 1)
        return int(s)

    n_frames = 0  # read by count_at's message; set from line 1 just below
    n_frames = count_at(0, "frame count")
    if n_frames > n_lines - 1:  # every frame needs at least its body-count line
        raise SkeletonFormatError(f"truncated: line 1 declares {n_frames} frames but the file has "
                                  f"only {n_lines} lines", path, n_lines + 1)
    body_counts = np.zeros(n_frames, np.int16)
    occ_frame: list[int] = []   # per body occurrence: frame index
    occ_id: list[int] = []      # per body occurrence: bodyID
    info_lines: list[str] = []
    joint_lines: list[str] = []
    first_joint_line: list[int] = []  # 0-based line index of each occurrence's first joint line
    i = 1
    for f in range(n_frames):
        nb = count_at(i, f"body count of frame {f}")
        i += 1
        body_counts[f] = min(nb, 32767)
        seen: set[int] = set()
        for b in range(nb):
            if i >= n_lines:
                raise SkeletonFormatError(f"truncated: the file ends inside frame {f} (line 1 "
                                          f"declares {n_frames} frames)", path, i + 1)
            body_id = _body_id(lines[i], path, i + 1, f"body {b + 1} of {nb} in frame {f}")
            info_lines.append(lines[i])
            if body_id in seen:
                raise SkeletonFormatError(f"bodyID {body_id} appears twice in frame {f}", path, i + 1)
            seen.add(body_id)
            nj = count_at(i + 1, f"joint count of frame {f}")
            if nj != N_JOINT_LINES:
                raise SkeletonFormatError(f"joint count is {nj}, expected {N_JOINT_LINES}", path, i + 2)
            i += 2
            if i + N_JOINT_LINES > n_lines:
                raise SkeletonFormatError(f"truncated: the file ends inside the joints of frame {f} "
                                          f"(line 1 declares {n_frames} frames)", path, n_lines + 1)
            occ_frame.append(f)
            occ_id.append(body_id)
            first_joint_line.append(i)
            joint_lines.extend(lines[i:i + N_JOINT_LINES])
            i += N_JOINT_LINES
    if i < n_lines:
        raise SkeletonFormatError(f"unexpected content after the last of the {n_frames} frames "
                                  f"declared on line 1", path, i + 1)

    _check_info_fields(info_lines, [j - 2 for j in first_joint_line], path)
    xyz = _joint_xyz(joint_lines, first_joint_line, path)
    bodies: dict[int, BodyTrack] = {}
    if occ_id:
        ids = np.array(occ_id, dtype=object)
        frames = np.asarray(occ_frame, np.int32)
        for bid in dict.fromkeys(occ_id):  # first-appearance order
            sel = np.flatnonzero(ids == bid)
            bodies[bid] = BodyTrack(bid, frames[sel], xyz[sel])
    return SkeletonFile(os.fspath(path), sample_name(path), n_frames, body_counts, bodies)


def _raise_bad_character(raw: bytes, path) -> None:
    """Name the line of the first byte that cannot be part of a number (slow path)."""
    m = _NOT_TEXT.search(raw)
    if m:
        raise SkeletonFormatError(f"binary or non-ASCII byte 0x{raw[m.start()]:02x} (not a text "
                                  f"skeleton file)", path, _line_at(raw, m.start()))
    m = _NOT_NUMERIC.search(raw)
    ln = _line_at(raw, m.start())
    line = raw.splitlines()[ln - 1].decode("ascii")
    raise SkeletonFormatError(_describe_bad_line(line) or f"unexpected character {excerpt(m.group().decode())}",
                              path, ln)


def _line_at(raw: bytes, pos: int) -> int:
    """1-based line of byte `pos`, counting lines as `splitlines` does (LF, CRLF or CR)."""
    before = raw[:pos]
    return len(before.splitlines()) + (pos == 0 or before[-1:] in (b"\n", b"\r"))


def _body_id(line: str, path, ln: int, where: str) -> int:
    """bodyID (exact int) of a body-info line, after checking its number of fields."""
    if line.count(" ") != BODY_FIELDS - 1:
        raise SkeletonFormatError(f"expected the body-info line of {where} ({BODY_FIELDS} fields), "
                                  f"got {len(line.split(' '))} field(s)", path, ln)
    bid = line[:line.index(" ")]
    if not bid.isdigit():
        raise SkeletonFormatError(f"bodyID must be a non-negative integer, got {excerpt(bid)}", path, ln)
    if len(bid) > MAX_BODY_ID_DIGITS or int(bid) >= 1 << 64:
        raise SkeletonFormatError(f"bodyID {excerpt(bid, 30)} does not fit 64 bits", path, ln)
    return int(bid)


def _check_info_fields(info_lines: list[str], line_idx: list[int], path) -> None:
    """Every body-info field must be a finite number (converted in bulk, located if not)."""
    if not info_lines:
        return
    try:
        ok = np.isfinite(np.fromiter(map(float, " ".join(info_lines).split(" ")), np.float64)).all()
    except ValueError:
        ok = False
    if not ok:
        for s, k in zip(info_lines, line_idx):
            problem = _describe_bad_line(s)
            if problem:
                raise SkeletonFormatError(f"body-info line: {problem}", path, k + 1)


def _joint_xyz(joint_lines: list[str], first_line: list[int], path) -> np.ndarray:
    """x, y, z of every joint line as float32 [bodies, 25, 3], with field-count checks."""
    n = len(joint_lines)
    if n == 0:
        return np.zeros((0, N_JOINT_LINES, 3), np.float32)
    # Exactly 11 single spaces per line (so no empty field); fields 4–12 were checked
    # character-wise by the caller, x/y/z are converted here.
    spaces = list(map(str.count, joint_lines, repeat(" ")))
    if spaces.count(JOINT_FIELDS - 1) != n:
        k = next(k for k, c in enumerate(spaces) if c != JOINT_FIELDS - 1)
        raise SkeletonFormatError(f"joint line has {spaces[k] + 1} fields, expected {JOINT_FIELDS}",
                                  path, _line_of(k, first_line))
    # Only x, y, z are split off each line (maxsplit=3) and converted by float() through
    # map/fromiter: cheaper than splitting all 12 fields or numpy's own string parsing.
    try:
        parts = map(str.split, joint_lines, repeat(" "), repeat(3))
        out = np.fromiter(map(float, chain.from_iterable(map(_XYZ, parts))), np.float64,
                          3 * n).reshape(n, 3)
    except ValueError:
        out = None
    if out is None or not np.isfinite(out).all():
        for k, s in enumerate(joint_lines):  # slow path only to name the bad line
            problem = _describe_bad_line(s)
            if problem:
                raise SkeletonFormatError(problem, path, _line_of(k, first_line))
        raise SkeletonFormatError("joint coordinates could not be read", path)  # pragma: no cover
    far = np.abs(out) > MAX_COORD
    if far.any():
        k, c = (int(v) for v in np.argwhere(far)[0])
        raise SkeletonFormatError(f"field {c + 1} ({'xyz'[c]}) is {excerpt(joint_lines[k].split(' ')[c], 30)}: "
                                  f"beyond ±{MAX_COORD:g} m, not a joint position", path, _line_of(k, first_line))
    return out.astype(np.float32).reshape(-1, N_JOINT_LINES, 3)


def _line_of(k: int, first_line: list[int]) -> int:
    """1-based file line of the k-th joint line."""
    return first_line[k // N_JOINT_LINES] + k % N_JOINT_LINES + 1


def _describe_bad_line(line: str) -> str:
    """Why a line fails (non-numeric or NaN/inf field), or '' if every field is a finite number."""
    for k, tok in enumerate(line.split(" "), start=1):
        try:
            v = float(tok)
        except ValueError:
            return f"field {k} is not a number: {excerpt(tok)}" if tok else f"field {k} is empty"
        if v != v or abs(v) == float("inf"):
            return f"field {k} is {excerpt(tok)} (NaN/infinite values are not allowed)"
    return ""
