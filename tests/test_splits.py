"""Splits: official NTU rules (docs/ntu-format.md#evaluation-protocols) on real and synthetic names, seeded random."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest

from tdf.data.splits import SPLITS, applicable_splits, canonical_split_name, make_split
from tdf.data.store import Sample, StoreWriter, open_store, parse_ntu_name
from tdf.errors import BadInput

# Written out again here (docs/ntu-format.md#evaluation-protocols) so the test does not read the code's own constant.
CS60_TRAIN = {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38}
CS60_TEST = {3, 6, 7, 10, 11, 12, 20, 21, 22, 23, 24, 26, 29, 30, 32, 33, 36, 37, 39, 40}
CS120_TRAIN = CS60_TRAIN | {45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81,
                            82, 83, 84, 85, 86, 89, 91, 92, 93, 94, 95, 97, 98, 100, 103}


@dataclass
class Meta:
    """The metadata arrays a split reads, built from NTU names (like a Store's)."""

    names: list
    path: str = "names.h5"

    def __post_init__(self):
        meta = [parse_ntu_name(n) for n in self.names]
        self.n = len(self.names)
        self.label = np.array([m["action"] - 1 if m else 0 for m in meta], np.int32)
        for key in ("subject", "camera", "setup", "replication"):
            setattr(self, key, np.array([m[key] if m else -1 for m in meta], np.int16))


def _names(setups, cameras, performers, actions, reps=(1,)):
    return [f"S{s:03d}C{c:03d}P{p:03d}R{r:03d}A{a:03d}"
            for s, c, p, r, a in itertools.product(setups, cameras, performers, reps, actions)]


def _check_partition(split, n):
    parts = [split.train, split.val, split.test]
    for p in parts:
        assert p.dtype == np.int64 and np.all(np.diff(p) > 0), "sorted, unique"
    allrows = np.concatenate(parts)
    assert len(allrows) == n and len(np.unique(allrows)) == n, "disjoint and complete"


def test_real_sample_names(ntu_sample_dir):
    names = sorted(p.name[:-len(".skeleton")] for p in ntu_sample_dir.glob("*.skeleton"))
    meta = Meta(names)
    assert meta.n == 61
    # xview: camera 1 tests, camera 2 trains. Only S005C002P004R001A023 is camera 2.
    sp = make_split(meta, "xview", val_fraction=0.0)
    assert [names[i] for i in sp.train] == ["S005C002P004R001A023"]
    assert len(sp.test) == 60 and len(sp.val) == 0
    # xsub: performers 1 and 4 both train in NTU-60 → no test side: clear error.
    with pytest.raises(BadInput, match="test side empty"):
        make_split(meta, "xsub")
    assert applicable_splits(meta) == ["xview", "random"]


def test_xsub_rule_and_sizes():
    names = _names(setups=[1], cameras=[1, 2, 3], performers=range(1, 41), actions=range(1, 5))
    meta = Meta(names)
    sp = make_split(meta, "xsub", seed=3, val_fraction=0.1)
    _check_partition(sp, meta.n)
    subj = meta.subject
    assert set(subj[np.concatenate([sp.train, sp.val])]) == CS60_TRAIN
    assert set(subj[sp.test]) == CS60_TEST
    assert len(sp.test) == 20 * 3 * 4
    assert len(sp.val) == 24 and len(sp.train) == 216  # 10% of 240, exact
    assert np.bincount(meta.label[sp.val]).tolist() == [6, 6, 6, 6]  # stratified


def test_xview_rule():
    names = _names(setups=[1, 2], cameras=[1, 2, 3], performers=[1, 3], actions=range(1, 11))
    meta = Meta(names)
    sp = make_split(meta, "xview", seed=0, val_fraction=0.25)
    _check_partition(sp, meta.n)
    assert set(meta.camera[sp.test]) == {1} and len(sp.test) == 40
    assert set(meta.camera[np.concatenate([sp.train, sp.val])]) == {2, 3}
    assert len(sp.val) == 20 and np.bincount(meta.label[sp.val]).tolist() == [2] * 10


def test_ntu120_rules():
    names = _names(setups=range(1, 33), cameras=[1], performers=range(1, 107, 5), actions=[1, 61, 120])
    meta = Meta(names)
    assert applicable_splits(meta) == ["xsub120", "xset", "random"]
    sp = make_split(meta, "xsub120", val_fraction=0.0)
    _check_partition(sp, meta.n)
    assert set(meta.subject[sp.train]) == CS120_TRAIN & set(range(1, 107, 5))
    assert set(meta.subject[sp.test]) == set(range(1, 107, 5)) - CS120_TRAIN
    sp = make_split(meta, "xset", val_fraction=0.1)
    _check_partition(sp, meta.n)
    assert set(meta.setup[sp.test]) == set(range(1, 33, 2))
    assert set(meta.setup[np.concatenate([sp.train, sp.val])]) == set(range(2, 33, 2))
    with pytest.raises(BadInput, match="xsub120"):
        make_split(meta, "xsub")  # performers > 40 are not NTU-60


def test_val_carved_from_train_only():
    names = _names(setups=[1], cameras=[1, 2, 3], performers=range(1, 41), actions=range(1, 7))
    meta = Meta(names)
    for name in ("xsub", "xview", "random"):
        base = make_split(meta, name, seed=1, val_fraction=0.0)
        sp = make_split(meta, name, seed=1, val_fraction=0.25)
        np.testing.assert_array_equal(sp.test, base.test)  # the test side does not move
        np.testing.assert_array_equal(np.union1d(sp.train, sp.val), base.train)
        assert len(sp.val) == round(0.25 * len(base.train))


def test_random_stratified_and_seeded():
    rng = np.random.default_rng(0)
    meta = Meta([f"x{i}" for i in range(300)])
    meta.label = np.repeat(np.arange(3), [50, 100, 150]).astype(np.int32)
    rng.shuffle(meta.label)
    a = make_split(meta, "random", seed=7, val_fraction=0.1, test_fraction=0.2)
    b = make_split(meta, "random", seed=7, val_fraction=0.1, test_fraction=0.2)
    c = make_split(meta, "random", seed=8, val_fraction=0.1, test_fraction=0.2)
    _check_partition(a, 300)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(a.part(part), b.part(part))
    assert not np.array_equal(a.test, c.test)
    assert np.bincount(meta.label[a.test]).tolist() == [10, 20, 30]
    assert np.bincount(meta.label[a.val]).tolist() == [4, 8, 12]  # 10% of the 240 training rows
    assert a.to_json()["sizes"] == {"train": 216, "val": 24, "test": 60}
    assert a.to_json()["sha256"] == b.digest() != c.digest()


def test_random_keeps_every_class_in_train():
    meta = Meta([f"x{i}" for i in range(12)])
    meta.label = np.array([0] * 10 + [1, 2], np.int32)  # two singleton classes
    sp = make_split(meta, "random", seed=0, val_fraction=0.5, test_fraction=0.5)
    _check_partition(sp, 12)
    assert {1, 2} <= set(meta.label[sp.train])


def test_unknown_metadata_names_the_store(tmp_path):
    path = tmp_path / "synth.h5"
    with StoreWriter(path, 4, ["a", "b"], source="test") as w:
        for i in range(6):
            w.append(Sample(np.ones((2, 150)), i % 2, f"s{i}", subject=i + 1, camera=-1))
    store = open_store(path)
    with pytest.raises(BadInput, match=r"synth\.h5.*camera.*unknown"):
        make_split(store, "xview")
    with pytest.raises(BadInput, match="unknown split"):
        make_split(store, "nope")
    assert applicable_splits(store) == ["xsub", "random"]
    store.close()
    with StoreWriter(path, 4, ["a", "b"], source="test", force=True, attrs={"benchmark": "ntu120"}) as w:
        for i in range(6):  # NTU-120 data whose ids happen to lie in NTU-60's ranges
            w.append(Sample(np.ones((2, 150)), i % 2, f"s{i}", subject=i + 1, camera=1, setup=i + 1))
    assert applicable_splits(open_store(path)) == ["xsub120", "xset", "random"]
    store = open_store(path)
    sp = make_split(store, "xsub", val_fraction=0)
    assert store.subject[sp.test].tolist() == [3, 6]
    assert set(SPLITS) == {"xsub", "xview", "xsub120", "xset", "random"}


# ----------------------------------------------------------- data-set-defined splits (issue 10.6)

@pytest.mark.parametrize("spec, canonical", [
    ("subject:1,3,5,7", "subject:1,3,5,7"),
    ("subject: 7, 5,3 ,1,3", "subject:1,3,5,7"),
    ("camera:1-2", "camera:1,2"),
    ("setup:2,4-6", "setup:2,4,5,6"),
    ("replication:0", "replication:0"),
    ("xsub", "xsub"),
    ("random", "random"),
    ("my_split.v2", "my_split.v2"),
])
def test_split_names_are_canonical(spec, canonical):
    assert canonical_split_name(spec) == canonical


@pytest.mark.parametrize("spec, match", [
    ("subjects:1,2", "unknown field 'subjects'"),
    ("label:1", "unknown field 'label'"),
    (":1,2", "unknown field ''"),
    ("subject:", "'' is not an id"),
    ("subject:1,,2", "'' is not an id"),
    ("subject:a,b", "'a' is not an id"),
    ("subject:-1", "'-1' is not an id"),
    ("camera:3-1", "'3-1' is not an id"),
    ("subject:1.5", "'1.5' is not an id"),
    ("bad name!", "unknown split"),
    ("", "must be text"),
])
def test_bad_split_names_are_refused(spec, match):
    with pytest.raises(BadInput, match=match) as e:
        canonical_split_name(spec)
    assert "\n" not in str(e.value)


def test_field_split_on_metadata():
    """subject:1,3 trains on performers 1 and 3 (validation carved from them), tests on the rest."""
    names = _names(setups=[1], cameras=[1, 2, 3], performers=range(1, 6), actions=range(1, 5))
    meta = Meta(names)
    sp = make_split(meta, "subject: 3,1", seed=0, val_fraction=0.25)
    _check_partition(sp, meta.n)
    assert sp.name == "subject:1,3"
    assert set(meta.subject[np.concatenate([sp.train, sp.val])]) == {1, 3}
    assert set(meta.subject[sp.test]) == {2, 4, 5}
    assert len(sp.val) == round(0.25 * 2 * 3 * 4)
    sp = make_split(meta, "camera:1,2", val_fraction=0)
    assert set(meta.camera[sp.train]) == {1, 2} and set(meta.camera[sp.test]) == {3}
    with pytest.raises(BadInput, match="leaves the test side empty"):
        make_split(meta, "camera:1-3")
    with pytest.raises(BadInput, match="leaves the training side empty"):
        make_split(meta, "subject:9")
    meta.camera[0] = -1
    with pytest.raises(BadInput, match="needs the camera of every sample, but 1 of"):
        make_split(meta, "camera:1")


def _store_with_lists(path, lists, attrs=None, n=12):
    """n NTU-named samples (performers 1..n, two classes) plus the given stored split lists."""
    with StoreWriter(path, 4, ["a", "b"], source="test", attrs=attrs or {}) as w:
        for i in range(n):
            w.append(Sample(np.full((3, 150), i + 1.0), i % 2, f"S001C001P{i + 1:03d}R001A00{i % 2 + 1}",
                            subject=i + 1, camera=1, setup=1, replication=1))
        for name, members in lists.items():
            w.add_split_list(name, members)
    return path


def test_stored_split_takes_precedence_over_the_ntu_rule(tmp_path):
    names = [f"S001C001P{i + 1:03d}R001A00{i % 2 + 1}" for i in range(12)]
    # a pyskl-style xsub that is not NTU's rule: performers 1..6 train, 7..10 test, 11..12 unused
    path = _store_with_lists(tmp_path / "s.h5", {"xsub_train": names[:6] + ["absent"], "xsub_val": names[6:10],
                                                 "only_train": names[:2]})
    store = open_store(path)
    assert sorted(store.split_lists) == ["only_train", "xsub_train", "xsub_val"]
    sp = make_split(store, "xsub", val_fraction=0)
    assert sp.train.tolist() == list(range(6)) and sp.test.tolist() == [6, 7, 8, 9]
    sp = make_split(store, "xsub", val_fraction=0.5, seed=1)
    assert sorted(np.concatenate([sp.train, sp.val]).tolist()) == list(range(6)) and len(sp.val) == 3
    assert applicable_splits(store) == ["xsub", "random"]  # only_train has no test side: not a split
    with pytest.raises(BadInput, match=r"s\.h5: unknown split 'only'; this store offers xsub, random"):
        make_split(store, "only")


def test_stored_split_lists_written_and_validated(tmp_path, invoke):
    names = [f"S001C001P{i + 1:03d}R001A00{i % 2 + 1}" for i in range(12)]
    w = StoreWriter(tmp_path / "x.h5", 4, ["a"], source="test")
    with pytest.raises(BadInput, match="split list name 'a/b'"):
        w.add_split_list("a/b", [])
    w.abort()
    path = _store_with_lists(tmp_path / "o.h5", {"p_train": names[:6], "p_test": names[4:]})
    with pytest.raises(BadInput, match="stored split 'p' lists 2 sample"):
        make_split(open_store(path), "p")
    import h5py
    for mutate, match in [
        (lambda f: f["splits"].create_dataset("q_train", data=np.array([0, 99])), r"/splits/'q_train' holds row 99"),
        (lambda f: f["splits"].create_dataset("q_train", data=np.array([1, 1])), "lists a sample twice"),
        (lambda f: f["splits"].create_dataset("q_train", data=np.zeros((2, 2), int)), "1-D integer"),
        (lambda f: f["splits"].create_dataset("q_train", data=np.array([0.5])), "1-D integer"),
        (lambda f: f.attrs.__setitem__("default_split", "nope"), "default_split is 'nope'"),
        (lambda f: f.attrs.__setitem__("default_split", "subject:x"), "default_split: split 'subject:x'"),
    ]:
        bad = tmp_path / "bad.h5"
        _store_with_lists(bad, {"p_train": names[:6], "p_val": names[6:]})
        with h5py.File(bad, "a") as f:
            mutate(f)
        r = invoke("data", "info", bad)
        assert r.exit_code == 2 and match in r.stderr and "bad.h5" in r.stderr, (match, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
        bad.unlink()


def test_default_split_field_and_info_sizes(tmp_path, invoke):
    """An importer's FIELD:VALUES default split and a stored split are listed by data info with
    their sizes; the NTU rules are not offered for a store of another benchmark."""
    import json
    names = [f"S001C001P{i + 1:03d}R001A00{i % 2 + 1}" for i in range(12)]
    path = _store_with_lists(tmp_path / "d.h5", {"own_train": names[:8], "own_val": names[8:]},
                             attrs={"default_split": "subject:1,3,5,7", "benchmark": "mydata"})
    store = open_store(path)
    assert applicable_splits(store) == ["own", "subject:1,3,5,7", "random"]
    r = invoke("data", "info", path, "--json", "--val-fraction", "0")
    doc = json.loads(r.stdout)
    assert doc["default_split"] == "subject:1,3,5,7"
    assert doc["splits"]["subject:1,3,5,7"] == {"train": 4, "val": 0, "test": 8}
    assert doc["splits"]["own"] == {"train": 8, "val": 0, "test": 4}
    assert doc["unusable_splits"]["xsub"] == "an NTU protocol; this store is mydata"
    r = invoke("data", "info", path)
    assert "subject:1,3,5,7" in r.stdout and "default split" in r.stdout


def test_train_refuses_a_bad_split_in_one_line(tmp_path, invoke):
    from toy_data import make_toy_store
    data = make_toy_store(tmp_path / "toy.h5")
    for spec, match in [("subjet:1", "unknown field 'subjet'"), ("subject:1;2", "is not an id")]:
        r = invoke("train", data, "--out", tmp_path / "run", "--split", spec, "--epochs", "1")
        assert r.exit_code == 2 and match in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_train_and_evaluate_on_a_field_split(tmp_path, invoke):
    """A FIELD:VALUES split is recorded in run.json (canonical) and recomputed by evaluate."""
    import json
    from toy_data import TINY, make_toy_store
    data = make_toy_store(tmp_path / "toy.h5", default_split="subject:1-12")
    run = tmp_path / "run"
    r = invoke("--quiet", "train", data, "--out", run, "--epochs", "1", *TINY)
    assert r.exit_code == 0, r.stderr
    sp = json.loads((run / "run.json").read_text())["split"]
    assert sp["name"] == "subject:1,2,3,4,5,6,7,8,9,10,11,12"
    assert sp["sizes"]["test"] == 4 * 3 and sp["sizes"]["train"] + sp["sizes"]["val"] == 12 * 3
    r = invoke("--quiet", "--json", "evaluate", run)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["n"] == 12
