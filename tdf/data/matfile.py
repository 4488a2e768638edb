"""Read one numeric variable of a MATLAB v5 `.mat` file, with its size checked before loading.

`scipy.io.loadmat` is the well-kept reader of the format; what it does not do is bound memory on
a hostile file: a v5 file stores variables as zlib-compressed elements, and a small file can
declare (and inflate to) gigabytes. So before loading, the top-level elements are walked and
every compressed one is inflated in pieces with its output counted (nothing kept), refusing a
file whose content would exceed `MAX_INFLATED`; then `whosmat` gives the variable's declared
shape and class, which the caller checks, and only then is the variable loaded.
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np

MAX_FILE_BYTES = 64 << 20   # a skeleton .mat is tens of KB; 64 MB is far beyond any real one
MAX_INFLATED = 256 << 20    # bytes all compressed elements of one file may inflate to
_MI_COMPRESSED = 15
_PIECE = 1 << 20


class MatFileError(Exception):
    """The file is not a readable MATLAB v5 file holding the expected variable (message: why)."""


def _inflated_size(data: bytes, limit: int) -> int:
    """Total size of the top-level elements once inflated; MatFileError beyond `limit`."""
    if len(data) < 128:
        raise MatFileError("not a MATLAB v5 file (shorter than its 128-byte header)")
    endian = {b"IM": "<", b"MI": ">"}.get(data[126:128])
    if endian is None:
        raise MatFileError("not a MATLAB v5 file (no endian indicator in its header)")
    pos, total = 128, 0
    while pos + 8 <= len(data):
        mtype, nbytes = struct.unpack(endian + "II", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + nbytes]
        if len(body) < nbytes:
            raise MatFileError(f"truncated: an element declares {nbytes:,} bytes, the file holds {len(body):,}")
        if mtype == _MI_COMPRESSED:
            d = zlib.decompressobj()
            chunk = body
            while chunk:
                out = d.decompress(chunk, _PIECE)
                total += len(out)
                if total > limit:
                    raise MatFileError(f"its compressed content inflates to more than {limit >> 20} MB")
                chunk = d.unconsumed_tail
        else:
            total += nbytes
        pos += 8 + nbytes + (-nbytes % 8 if mtype != _MI_COMPRESSED else 0)
    return total


def read_mat_variable(path: str | os.PathLike, name: str, check_shape) -> np.ndarray:
    """The numeric variable `name` of a MATLAB v5 file as a float64 array.

    `check_shape(shape)` is called with the declared shape before anything is loaded and
    returns a reason string to refuse it (or None). Every problem is a MatFileError."""
    import scipy.io
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise MatFileError(f"is {size:,} bytes, more than the {MAX_FILE_BYTES >> 20} MB a skeleton .mat may be")
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MatFileError(f"cannot be read ({e.strerror or e})") from None
    try:
        _inflated_size(data, MAX_INFLATED)
        found = {v[0]: v for v in scipy.io.whosmat(path)}
    except MatFileError:
        raise
    except Exception as e:  # scipy raises ValueError, MatReadError, OSError, … on junk
        raise MatFileError(f"not a readable MATLAB file ({e.__class__.__name__}: {str(e)[:80]})") from None
    if name not in found:
        have = ", ".join(sorted(found)[:5]) or "none"
        raise MatFileError(f"has no variable {name!r} (it has: {have})")
    _, shape, cls = found[name]
    if cls not in ("double", "single", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"):
        raise MatFileError(f"variable {name!r} is a MATLAB {cls}, expected a numeric array")
    problem = check_shape(tuple(int(s) for s in shape))
    if problem:
        raise MatFileError(f"variable {name!r} {problem}")
    try:
        value = scipy.io.loadmat(path, variable_names=[name])[name]
    except Exception as e:
        raise MatFileError(f"variable {name!r} cannot be read ({e.__class__.__name__}: {str(e)[:80]})") from None
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
        raise MatFileError(f"variable {name!r} is not a real numeric array")
    return np.asarray(value, np.float64)
