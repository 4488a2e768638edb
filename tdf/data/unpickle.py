"""Restricted unpicklers: label files `(names, labels)` and pyskl/mmaction2 annotation pickles.

Plain `pickle.load` would run whatever a crafted file asks for (a `__reduce__` to `os.system`,
…): the only way a pickle reaches code is a global lookup (`find_class`), so these loaders
answer only a fixed table of lookups and refuse every other one, naming the file and the
global. Two levels:

- `load_plain_pickle` — ST-GCN / 2s-AGCN label pairs: no global at all; the result must be
  built from list, tuple, str and int alone (numpy labels are refused with a hint to re-save
  them as plain ints).
- `load_array_pickle` — pyskl / mmaction2 annotations: builtin containers and scalars (dict,
  list, tuple, set, str, bytes, int, float, bool, None) plus numpy arrays and numpy scalars of
  numeric dtype (bool, int, uint, float). The numpy lookups are replaced by wrappers that only
  rebuild a plain `ndarray` from its raw bytes (numpy checks the bytes match the shape, so an
  array is never larger than the file) and refuse object, string, structured and void dtypes
  and ndarray subclasses.

After loading, the result is walked once per object (a visited set: a pickle can share one
list from many places, and a 309-byte file of nested shared references would otherwise take
2^depth steps) to check the types.
"""

from __future__ import annotations

import io
import os
import pickle

import numpy as np

from tdf.errors import BadInput

PLAIN = (list, tuple, str, int)
# builtin values an annotation pickle may hold besides numpy arrays and scalars
ANNOTATION = (dict, list, tuple, set, frozenset, str, bytes, int, float, bool, type(None))
NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats


class _Refused(Exception):
    """A global the loader does not answer (the message is its dotted name)."""


class _RefusedValue(Exception):
    """A value an allowed global was asked to build and refused (the message says why)."""


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise _Refused(f"{module}.{name}")

    def persistent_load(self, pid):
        raise _Refused("a persistent id")


# ------------------------------------------------------------------------------ numpy wrappers

class _NdarrayToken:
    """Stands for `numpy.ndarray` in a pickle: only accepted as `_reconstruct`'s first argument."""


def _numeric_dtype(dt) -> np.dtype:
    if not isinstance(dt, np.dtype):
        raise _RefusedValue(f"numpy.dtype of a {type(dt).__name__}")
    if dt.hasobject or dt.fields is not None or dt.subdtype is not None or dt.kind not in NUMERIC_KINDS:
        raise _RefusedValue(f"pickle holds a numpy array of dtype {dt}; only bool, integer and float "
                            "arrays are accepted")
    return dt


def _safe_dtype(spec, align=False, copy=False):
    if not isinstance(spec, str):
        raise _RefusedValue(f"pickle builds a numpy dtype from a {type(spec).__name__}")
    try:
        dt = np.dtype(spec)
    except (TypeError, ValueError):
        raise _RefusedValue(f"pickle holds an unknown numpy dtype {spec[:20]!r}") from None
    return _numeric_dtype(dt)


def _safe_reconstruct(cls, shape, typecode):
    """numpy's `_reconstruct(ndarray, (0,), b'b')`: an empty array that BUILD then fills."""
    if cls is not _NdarrayToken or tuple(shape) != (0,):
        raise _RefusedValue("pickle rebuilds a numpy array subclass or a non-empty template; only "
                            "plain ndarrays are accepted")
    return np.empty(0, np.uint8)


def _safe_frombuffer(buf, dtype, shape, order):
    """numpy's protocol-5 `_frombuffer(buffer, dtype, shape, order)`."""
    if not isinstance(buf, (bytes, bytearray, pickle.PickleBuffer)):
        raise _RefusedValue(f"pickle builds a numpy array from a {type(buf).__name__}")
    dtype = _numeric_dtype(dtype)
    try:
        return np.frombuffer(bytes(buf), dtype).reshape(tuple(shape), order=order).copy()
    except (TypeError, ValueError) as e:
        raise _RefusedValue(f"pickle holds a numpy array whose bytes do not match its shape ({e})") from None


def _safe_scalar(dtype, data=None):
    """numpy's `scalar(dtype, bytes)`: one numeric value such as numpy.int64(3)."""
    dtype = _numeric_dtype(dtype)
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise _RefusedValue(f"pickle holds a numpy scalar of dtype {dtype} without its {dtype.itemsize} bytes")
    return np.frombuffer(data, dtype)[0]


def _codecs_encode(text, encoding="latin1"):
    """`_codecs.encode(str, 'latin1')`: how protocol ≤ 2 pickles write bytes (numpy's raw data)."""
    if not isinstance(text, str) or encoding != "latin1":
        raise _RefusedValue("pickle calls _codecs.encode on something other than latin1 text")
    return text.encode("latin1")


_NUMPY = {"_reconstruct": _safe_reconstruct, "scalar": _safe_scalar, "_frombuffer": _safe_frombuffer}
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): _NdarrayToken,
    ("numpy", "dtype"): _safe_dtype,
    ("_codecs", "encode"): _codecs_encode,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "set"): set,
    ("__builtin__", "frozenset"): frozenset,
}
for _mod in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric"):
    for _name, _fn in _NUMPY.items():
        _ALLOWED_GLOBALS[(_mod, _name)] = _fn


class _ArraysOnly(_NoGlobals):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _Refused(f"{module}.{name}") from None


# ------------------------------------------------------------------------------------- loading

def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise BadInput(f"cannot read pickle ({e.strerror})", path) from None


def _load(unpickler_cls, data: bytes, path: str, accepted: str):
    try:
        return unpickler_cls(io.BytesIO(data)).load()
    except _Refused as e:
        raise BadInput(f"pickle holds non-plain types (it refers to {e}); only {accepted} are "
                       "accepted", path) from None
    except _RefusedValue as e:
        raise BadInput(str(e), path) from None
    except RecursionError:
        raise BadInput("pickle is nested too deeply", path) from None
    except Exception as e:  # truncated / not a pickle at all / numpy refused the bytes
        raise BadInput(f"not a readable pickle ({e.__class__.__name__}: {str(e)[:80]})", path) from None


def walk(obj):
    """Every object reachable from obj through containers, each exactly once (iterative)."""
    seen: set[int] = set()
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, (list, tuple, dict, set, frozenset)):
            if id(o) in seen:
                continue
            seen.add(id(o))
            stack.extend(o.keys() if isinstance(o, dict) else o)
            if isinstance(o, dict):
                stack.extend(o.values())
        yield o


def _check_plain(obj, path) -> None:
    """Raise BadInput unless obj is made of list/tuple/str/int only (bool is refused too)."""
    for o in walk(obj):
        if type(o) not in PLAIN:
            raise BadInput(f"pickle holds non-plain type {type(o).__name__}; only lists, tuples, "
                           "str and int are accepted", path)


def _check_annotation(obj, path) -> None:
    """Raise BadInput unless obj holds only builtin values and numeric numpy arrays/scalars."""
    for o in walk(obj):
        if type(o) in ANNOTATION:
            continue
        if type(o) is np.ndarray or isinstance(o, np.generic):
            dt = o.dtype
            if dt.hasobject or dt.fields is not None or dt.kind not in NUMERIC_KINDS:
                raise BadInput(f"pickle holds a numpy array of dtype {dt}; only bool, integer and "
                               "float arrays are accepted", path)
            continue
        raise BadInput(f"pickle holds type {type(o).__name__}; only builtin containers and numeric "
                       "numpy arrays are accepted", path)


def load_plain_pickle(path: str | os.PathLike):
    """Load a pickle made only of lists, tuples, str and int; anything else → BadInput."""
    path = os.fspath(path)
    obj = _load(_NoGlobals, _read(path), path,
                "lists, tuples, str and int — re-save it with plain Python values (e.g. labels.tolist())")
    _check_plain(obj, path)
    return obj


def load_array_pickle(path: str | os.PathLike):
    """Load a pickle of builtin containers and numeric numpy arrays (pyskl / mmaction2
    annotations); any other global → BadInput naming the file and the global."""
    path = os.fspath(path)
    obj = _load(_ArraysOnly, _read(path), path, "builtin containers and numeric numpy arrays")
    _check_annotation(obj, path)
    return obj


def load_names_labels(path: str | os.PathLike) -> tuple[list[str], list[int]]:
    """The `(names, labels)` pair of an ST-GCN / 2s-AGCN label pickle, validated."""
    obj = load_plain_pickle(path)
    if not isinstance(obj, (tuple, list)) or len(obj) != 2:
        raise BadInput("expected a pickled pair (names, labels)", path)
    names, labels = obj
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise BadInput("the first element must be a list of sample names (str)", path)
    if not isinstance(labels, (list, tuple)) or not all(isinstance(v, int) for v in labels):
        raise BadInput("the second element must be a list of integer labels", path)
    if len(names) != len(labels):
        raise BadInput(f"{len(names)} names but {len(labels)} labels", path)
    return list(names), list(labels)
