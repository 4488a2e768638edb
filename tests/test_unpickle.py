"""Restricted unpickler: plain (names, labels) pickles load; anything needing a global is refused."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from tdf.data.unpickle import load_array_pickle, load_names_labels, load_plain_pickle
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


# ------------------------------------------------------------------ shared references (issue 15.4)

def shared_reference_pickle(depth: int = 50) -> bytes:
    """A ~300-byte pickle whose object graph has 2^depth paths: each level is [prev, prev], the
    same list twice (pickle's memo stores it once). A walk that does not remember visited
    objects takes 2^50 steps on it."""
    a: list = []
    for _ in range(depth):
        a = [a, a]
    return pickle.dumps(a, protocol=4)


_RUN_CHECKS = """
import sys
from tdf.data.unpickle import load_array_pickle, load_names_labels, load_plain_pickle
from tdf.errors import BadInput
p = sys.argv[1]
obj = load_plain_pickle(p)
assert isinstance(obj, list) and obj[0] is obj[1]
load_array_pickle(p)
try:
    load_names_labels(p)
except BadInput as e:
    print(e)
"""


def test_shared_reference_pickle_is_walked_once(tmp_path):
    """The structure checks visit each object once. Run in a child process with a generous
    timeout, so a regression fails instead of hanging the suite (no wall-clock assertion)."""
    import subprocess
    import sys
    from pathlib import Path
    data = shared_reference_pickle()
    assert len(data) < 400
    p = tmp_path / "labels.pkl"
    p.write_bytes(data)
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-c", _RUN_CHECKS, str(p)], capture_output=True, text=True,
                       timeout=120, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "labels.pkl: the first element must be a list of sample names" in r.stdout


def test_self_referencing_list(tmp_path):
    a: list = ["x"]
    a.append(a)
    p = tmp_path / "cyc.pkl"
    p.write_bytes(pickle.dumps(a))
    obj = load_plain_pickle(p)
    assert obj[1] is obj


# ----------------------------------------------------------------------- annotation pickles

def _annotation() -> dict:
    rng = np.random.default_rng(0)
    return {"split": {"xsub_train": ["S001C001P001R001A001"], "xsub_val": []},
            "annotations": [{"frame_dir": "S001C001P001R001A001", "label": np.int64(0),
                             "img_shape": (1080, 1920), "total_frames": 5,
                             "keypoint": rng.random((1, 5, 17, 2)).astype(np.float16),
                             "keypoint_score": rng.random((1, 5, 17)).astype(np.float32),
                             "flags": np.array([True, False]), "ids": {3, 4}, "none": None,
                             "fortran": np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
                             "raw": b"\x00\x01"}]}


@pytest.mark.parametrize("proto", range(pickle.HIGHEST_PROTOCOL + 1))
def test_annotation_pickle_with_arrays_loads(tmp_path, proto):
    ann = _annotation()
    p = tmp_path / "ann.pkl"
    p.write_bytes(pickle.dumps(ann, protocol=proto))
    got = load_array_pickle(p)
    a, b = got["annotations"][0], ann["annotations"][0]
    for key in ("keypoint", "keypoint_score", "flags", "fortran"):
        assert type(a[key]) is np.ndarray and a[key].dtype == b[key].dtype
        np.testing.assert_array_equal(a[key], b[key])
    assert a["label"] == 0 and a["label"].dtype == np.int64
    assert a["img_shape"] == (1080, 1920) and a["ids"] == {3, 4} and a["none"] is None
    assert got["split"] == ann["split"]


@pytest.mark.parametrize("proto", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_malicious_annotation_pickle_is_refused_and_not_run(tmp_path, proto):
    target = tmp_path / "pwned"
    ann = _annotation()
    ann["annotations"][0]["label"] = _Evil(target)
    p = tmp_path / "evil.pkl"
    p.write_bytes(pickle.dumps(ann, protocol=proto))
    with pytest.raises(BadInput, match=r"evil\.pkl: .*refers to (posix|os|nt)\.system"):
        load_array_pickle(p)
    assert not target.exists()
    pickle.loads(p.read_bytes())  # plain pickle would have run it (so the test can fail)
    assert target.exists()


@pytest.mark.parametrize("make, match", [
    (lambda: np.array(["a", "b"]), "dtype <U1"),
    (lambda: np.array([object()], dtype=object), "dtype object"),
    (lambda: np.zeros(2, dtype=[("a", "f4")]), r"dtype \|V4"),
    (lambda: np.complex64(1), "dtype complex64"),
    (lambda: np.ma.array([1, 2]), "numpy.ma.core"),
    (lambda: np.matrix([[1, 2]]), "refers to numpy.matrix"),
    (lambda: np.datetime64("2020-01-01"), "dtype datetime64"),
])
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_non_numeric_numpy_values_are_refused(tmp_path, make, match):
    p = tmp_path / "x.pkl"
    p.write_bytes(pickle.dumps({"keypoint": make()}))
    with pytest.raises(BadInput, match=match):
        load_array_pickle(p)


def test_array_bytes_must_match_the_shape(tmp_path):
    """A forged shape cannot make numpy allocate more than the file holds."""
    good = pickle.dumps(np.zeros((2, 3), np.float32), protocol=2)
    forged = good.replace(b"K\x02K\x03\x86", b"J\x00\xe1\xf5\x05K\x03\x86")  # shape (10^8, 3)
    assert forged != good
    p = tmp_path / "forged.pkl"
    p.write_bytes(forged)
    with pytest.raises(BadInput, match=r"forged\.pkl: not a readable pickle"):
        load_array_pickle(p)


@pytest.mark.parametrize("name", ["builtins.eval", "builtins.getattr", "subprocess.Popen",
                                  "numpy.load", "numpy.core.multiarray.fromstring", "collections.OrderedDict"])
def test_other_globals_are_refused(tmp_path, name):
    module, attr = name.rsplit(".", 1)
    p = tmp_path / "g.pkl"
    p.write_bytes(b"c" + module.encode() + b"\n" + attr.encode() + b"\n)R.")
    with pytest.raises(BadInput, match=rf"g\.pkl: .*refers to {name.replace('.', '[.]')}"):
        load_array_pickle(p)
