"""Restricted unpickler: plain (names, labels) pickles load; anything needing a global is refused."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from tdf.data.unpickle import load_names_labels, load_plain_pickle
from tdf.errors import BadInput


class _Evil:
    """Unpickling this with plain pickle would run a shell command that creates a file."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_plain_pair_loads(tmp_path):
    p = tmp_path / "train_label.pkl"
    names = ["S001C001P001R001A001.skeleton", "S001C002P003R002A060.skeleton"]
    for proto in (0, 2, pickle.HIGHEST_PROTOCOL):
        p.write_bytes(pickle.dumps((names, [0, 59]), protocol=proto))
        assert load_names_labels(p) == (names, [0, 59])
    p.write_bytes(pickle.dumps([names, (0, 59)]))
    assert load_names_labels(p) == (names, [0, 59])


@pytest.mark.parametrize("proto", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_malicious_pickle_is_refused_and_not_run(tmp_path, proto):
    target = tmp_path / "pwned"
    p = tmp_path / "evil.pkl"
    p.write_bytes(pickle.dumps((["a"], [_Evil(target)]), protocol=proto))
    with pytest.raises(BadInput, match=r"evil\.pkl.*non-plain.*system"):
        load_names_labels(p)
    assert not target.exists()
    # the same file really would have run under plain pickle (so the test can fail)
    pickle.loads(p.read_bytes())
    assert target.exists()


def test_numpy_labels_are_refused_with_a_hint(tmp_path):
    p = tmp_path / "np.pkl"
    p.write_bytes(pickle.dumps((["a", "b"], list(np.array([1, 2], np.int64)))))
    with pytest.raises(BadInput, match=r"np\.pkl: pickle holds non-plain types.*numpy.*tolist"):
        load_names_labels(p)


@pytest.mark.parametrize("obj, match", [
    ((["a"], [1.5]), "non-plain type float"),
    ((["a"], [True]), "non-plain type bool"),
    ({"a": 1}, "non-plain type dict"),
    ((["a"], [None]), "non-plain type NoneType"),
    ((b"a", [1]), "non-plain type bytes"),
])
def test_other_builtin_types_are_refused(tmp_path, obj, match):
    p = tmp_path / "x.pkl"
    p.write_bytes(pickle.dumps(obj))
    with pytest.raises(BadInput, match=match):
        load_plain_pickle(p)


@pytest.mark.parametrize("obj, match", [
    ((["a", "b"], [1]), "2 names but 1 labels"),
    ((["a"], [1], [2]), "pair"),
    (([1], [1]), "sample names"),
    ((["a"], ["1"]), "integer labels"),
])
def test_bad_structure(tmp_path, obj, match):
    p = tmp_path / "x.pkl"
    p.write_bytes(pickle.dumps(obj))
    with pytest.raises(BadInput, match=match):
        load_names_labels(p)


def test_not_a_pickle(tmp_path):
    p = tmp_path / "x.pkl"
    p.write_bytes(pickle.dumps((["a"], [1]))[:-3])
    with pytest.raises(BadInput, match=r"x\.pkl: not a readable pickle"):
        load_names_labels(p)
    with pytest.raises(BadInput, match="cannot read"):
        load_names_labels(tmp_path / "absent.pkl")
