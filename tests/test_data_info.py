"""`tdf data info`: counts, lengths, metadata, planted attributes and split sizes."""

from __future__ import annotations

import json

import numpy as np

from tdf.data.splits import SPLITS, make_split
from tdf.data.store import Sample, StoreWriter, open_store


def _store(path):
    """24 NTU-named samples: performers 1..4, cameras 1..3, 2 classes, lengths 2..25."""
    rng = np.random.default_rng(0)
    lengths = []
    with StoreWriter(path, 20, ["wave", "clap"], source="test",
                     attrs={"planted_group": "hands", "fine_classes": ["clap"], "generator": {"seed": 3}}) as w:
        for i in range(24):
            p, c, a = 1 + i % 4, 1 + (i // 4) % 3, 1 + i % 2
            ln = 2 + i
            lengths.append(min(ln, 20))
            r = 1 + i // 12  # keeps the names unique
            w.append(Sample(rng.normal(size=(ln, 150)), a - 1, f"S001C{c:03d}P{p:03d}R{r:03d}A{a:03d}",
                            subject=p, camera=c, setup=1, replication=r))
    return lengths


def test_info_json(tmp_path, invoke):
    path = tmp_path / "d.h5"
    lengths = _store(path)
    r = invoke("data", "info", path, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["samples"] == 24 and doc["max_frames"] == 20 and doc["num_classes"] == 2
    assert doc["classes"] == [{"label": 0, "name": "wave", "count": 12},
                              {"label": 1, "name": "clap", "count": 12}]
    assert doc["lengths"] == {"count": 24, "min": 2, "mean": float(np.mean(lengths)),
                              "median": float(np.median(lengths)), "max": 20}
    assert doc["subject"] == {"distinct": 4, "ids": [1, 2, 3, 4], "unknown": 0}
    assert doc["camera"]["ids"] == [1, 2, 3] and doc["setup"]["ids"] == [1]
    assert doc["planted_group"] == "hands" and doc["fine_classes"] == ["clap"]
    assert doc["attributes"]["generator"] == {"seed": 3}
    store = open_store(path)
    # performers 1, 2, 4 train and 3 tests under xsub; cameras 2, 3 train under xview
    assert list(doc["splits"]) == ["xsub", "xview", "random"]
    for name, sizes in doc["splits"].items():
        assert sizes == make_split(store, name).sizes()
    assert doc["splits"]["xsub"]["test"] == 6 and doc["splits"]["xview"]["test"] == 8
    assert sum(doc["splits"]["xsub"].values()) == 24
    assert set(doc["unusable_splits"]) == {"xsub120", "xset"} and doc["benchmark"] == "ntu60"


def test_info_human_and_errors(tmp_path, invoke):
    path = tmp_path / "d.h5"
    _store(path)
    r = invoke("data", "info", path)
    assert r.exit_code == 0, r.stderr
    for text in ("samples", "24", "wave", "clap", "planted group", "hands", "xsub", "xview", "random",
                 "min 2, mean"):
        assert text in r.stdout
    r = invoke("data", "info", tmp_path / "absent.h5")
    assert r.exit_code == 2 and "absent.h5: data file not found" in r.stderr
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    r = invoke("data", "info", bad)
    assert r.exit_code == 2 and "bad.h5: not a readable HDF5 store" in r.stderr


def test_info_on_prepared_real_samples(tmp_path, invoke, ntu_sample_dir):
    out = tmp_path / "s.h5"
    r = invoke("--quiet", "data", "prepare", ntu_sample_dir, out, "--workers", "1")
    assert r.exit_code == 0, r.stderr
    r = invoke("data", "info", out, "--json")
    doc = json.loads(r.stdout)
    store = open_store(out)
    assert doc["samples"] == store.n > 0
    cams = sorted({int(n[5:8]) for n in store.names})
    assert doc["camera"]["ids"] == cams
    assert doc["classes"][0]["name"] == "drink water"
    assert sum(c["count"] for c in doc["classes"]) == store.n
    assert "random" in doc["splits"]
    # the sample folder has no xsub test performer: listed with the reason, not left out
    assert "xsub" not in doc["splits"]
    assert doc["unusable_splits"]["xsub"].startswith("no test subjects in this store")
    assert set(doc["splits"]) | set(doc["unusable_splits"]) == set(SPLITS)
    # each class has one sample, so the random split's validation part is empty, and says why
    assert doc["splits"]["random"]["val"] == 0
    assert "at most one training sample" in doc["split_notes"]["random"]
    r = invoke("data", "info", out)
    assert "xsub" in r.stdout and "no test subjects in this store" in " ".join(r.stdout.split())


def test_info_explains_splits_that_cannot_be_made(tmp_path, invoke):
    """Two samples of unknown subject: no official split, and a random test part of 0.2 × 2
    rounds to nothing — both listed with their reason instead of failing or being left out."""
    path = tmp_path / "two.h5"
    with StoreWriter(path, 5, ["a", "b"], source="test") as w:
        for i in range(2):
            w.append(Sample(np.ones((5, 150)), i, f"s{i}"))
    r = invoke("data", "info", path, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["splits"] == {}
    assert "leaves the test side empty" in doc["unusable_splits"]["random"]
    assert "needs the subject of every sample" in doc["unusable_splits"]["xsub"]
    r = invoke("data", "info", path)
    assert "no split can be used on this store" in r.stdout
