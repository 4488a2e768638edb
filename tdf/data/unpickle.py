"""A restricted unpickler for label files of the form `(names, labels)`.

ST-GCN / 2s-AGCN ship labels as `pickle.dump((sample_names, list(sample_labels)))`. Plain
`pickle.load` would run whatever a crafted file asks for (a `__reduce__` to `os.system`, …),
so this loader refuses every global lookup — the only way a pickle can reach code — and then
checks that the result is built from list, tuple, str and int alone. numpy labels
(`numpy.int64`) need a global too and are refused with a hint to re-save them as plain ints.
"""

from __future__ import annotations

import io
import os
import pickle

from tdf.errors import BadInput

ALLOWED = (list, tuple, str, int)


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise _Refused(f"{module}.{name}")

    def persistent_load(self, pid):
        raise _Refused("a persistent id")


class _Refused(Exception):
    pass


def _check_plain(obj, path) -> None:
    """Raise BadInput unless obj is made of list/tuple/str/int only (bool is refused too)."""
    stack = [obj]
    while stack:
        o = stack.pop()
        if type(o) not in ALLOWED:
            raise BadInput(f"pickle holds non-plain type {type(o).__name__}; only lists, tuples, "
                           "str and int are accepted", path)
        if type(o) in (list, tuple):
            stack.extend(o)


def load_plain_pickle(path: str | os.PathLike):
    """Load a pickle made only of lists, tuples, str and int; anything else → BadInput."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise BadInput(f"cannot read pickle ({e.strerror})", path) from None
    try:
        obj = _NoGlobals(io.BytesIO(data)).load()
    except _Refused as e:
        raise BadInput(f"pickle holds non-plain types (it refers to {e}); only lists, tuples, str "
                       "and int are accepted — re-save it with plain Python values "
                       "(e.g. labels.tolist())", path) from None
    except RecursionError:
        raise BadInput("pickle is nested too deeply", path) from None
    except Exception as e:  # truncated / not a pickle at all
        raise BadInput(f"not a readable pickle ({e.__class__.__name__}: {e})", path) from None
    _check_plain(obj, path)
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
