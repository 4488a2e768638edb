"""`tdf data repack`: the same store with another compression of /x — every sample, metadata
array, split list and attribute unchanged (compared value by value with the original), runs
trained on one evaluate identically on the other, and bad input exits 2 with one line."""

from __future__ import annotations

import json

import h5py
import numpy as np

from tdf.run_folder import data_fingerprint
from tdf.data.store import open_store
from toy_data import make_toy_store, train_tiny_run


def _same_store(a, b):
    with h5py.File(a) as f, h5py.File(b) as g:
        assert sorted(f) == sorted(g)
        assert dict(f.attrs).keys() == dict(g.attrs).keys()
        for k, v in f.attrs.items():
            assert np.array_equal(np.asarray(v), np.asarray(g.attrs[k])), k
        for k in f:
            if isinstance(f[k], h5py.Dataset):
                assert np.array_equal(f[k][()], g[k][()]), k
            else:
                for s in f[k]:
                    assert np.array_equal(f[k][s][()], g[k][s][()]), (k, s)
        return f["x"].compression, g["x"].compression


def test_repack_round_trip_keeps_everything_but_the_compression(tmp_path, invoke):
    src = make_toy_store(tmp_path / "toy.h5", per_class=30)
    with h5py.File(src, "a") as f:  # a stored split list travels along
        f.create_dataset("splits/mine", data=np.arange(5, dtype=np.int32))
    r = invoke("--json", "data", "repack", src, tmp_path / "raw.h5")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["samples"] == 90 and doc["compression_before"] == "lzf" and doc["compression"] == "none"
    assert doc["bytes"] > doc["bytes_before"]  # lzf compresses the zero padding and the absent body
    assert _same_store(src, tmp_path / "raw.h5") == ("lzf", None)
    assert invoke("data", "repack", tmp_path / "raw.h5", tmp_path / "back.h5", "--compression", "lzf").exit_code == 0
    assert _same_store(src, tmp_path / "back.h5") == ("lzf", "lzf")
    with open_store(src) as a, open_store(tmp_path / "raw.h5") as b:
        assert data_fingerprint(a) == data_fingerprint(b)
        assert np.array_equal(a.read(range(a.n)), b.read(range(b.n)))


def test_a_run_evaluates_the_same_on_the_repacked_store(tmp_path, invoke):
    run = train_tiny_run(tmp_path, classes=3, per_class=12, epochs=2)
    assert invoke("data", "repack", tmp_path / "toy.h5", tmp_path / "raw.h5").exit_code == 0
    got = [json.loads(invoke("--json", "evaluate", run, data).stdout) for data in (tmp_path / "toy.h5", tmp_path / "raw.h5")]
    for doc in got:
        doc.pop("data"), doc.pop("out")
    assert got[0] == got[1] and "top1" in got[0]  # same fingerprint (same evaluation id), same metrics


def test_bad_input_exits_2_and_keeps_what_exists(tmp_path, invoke):
    src = make_toy_store(tmp_path / "toy.h5")
    out = tmp_path / "out.h5"
    out.write_bytes(b"precious")
    r = invoke("data", "repack", src, out)
    assert r.exit_code == 2 and "already exists" in r.stderr and str(out) in r.stderr
    assert out.read_bytes() == b"precious"
    r = invoke("data", "repack", src, src, "--force")
    assert r.exit_code == 2 and "is the input store" in r.stderr
    assert open_store(src).n == 48
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    r = invoke("data", "repack", junk, tmp_path / "new.h5")
    assert r.exit_code == 2 and str(junk) in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "new.h5").exists() and not list(tmp_path.glob(".new.h5*"))
    r = invoke("data", "repack", src, tmp_path / "new.h5", "--compression", "zstd")
    assert r.exit_code == 2
