"""`tdf data prepare`: the sample folder end to end, skips and their reasons, exit codes, and the
missing-skeleton lists."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tdf.data.missing import load_missing_list, official_missing, parse_missing_list
from tdf.data.ntu_bodies import choose_bodies
from tdf.data.ntu_classes import NTU60_CLASSES, NTU120_CLASSES
from tdf.data.ntu_reader import read_skeleton
from tdf.data.prepare import find_skeleton_files, prepare
from tdf.data.store import open_store
from tdf.errors import BadInput

MISSING = ["S006C002P023R001A023", "S008C003P007R001A023"]


def _copy(src_dir, dst, names):
    dst.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copy(src_dir / f"{n}.skeleton", dst / f"{n}.skeleton")
    return dst


def test_prepare_sample_folder(ntu_sample_dir, tmp_path, invoke):
    out = tmp_path / "s.h5"
    r = invoke("data", "prepare", ntu_sample_dir, out, "--workers", 1)
    assert r.exit_code == 0, r.stderr
    assert "61 samples converted" in r.stdout
    assert "skipped as missing: 2" in r.stdout and "skipped as malformed: 0" in r.stdout
    for n in MISSING:
        assert n in r.stdout
    with open_store(out) as s:
        assert s.n == 61 and s.T == 300 and s.class_names == list(NTU60_CLASSES)
        assert s.names == sorted(p.stem for p in ntu_sample_dir.glob("*.skeleton"))
        assert s.attr("benchmark") == "ntu60"
        i = s.index_of("S005C002P004R001A023")
        assert (s.label[i], s.subject[i], s.camera[i], s.setup[i], s.replication[i]) == (22, 4, 2, 5, 1)
        assert s.length[i] == 54  # 55 frames, frame 0 held only the 1-frame bodyID
        assert s.label[s.index_of("S001C001P001R001A060")] == 59
        for name in ("S001C001P001R001A028", "S001C001P001R001A059", "S001C001P001R001A001"):
            c = choose_bodies(read_skeleton(ntu_sample_dir / f"{name}.skeleton"))
            j = s.index_of(name)
            assert s.length[j] == len(c.x)
            np.testing.assert_array_equal(s.read_one(j), c.x)
        x = s.read([s.index_of("S001C001P001R001A001")])
        assert x.shape == (1, 300, 150) and np.all(x[0, 103:] == 0)
        assert x[0, 0, :3].tolist() == np.float32([0.2181153, 0.1725972, 3.785547]).tolist()


def test_prepare_json_and_existing_output(ntu_sample_dir, tmp_path, invoke):
    out = tmp_path / "s.h5"
    out.write_bytes(b"precious")
    r = invoke("data", "prepare", ntu_sample_dir, out, "--workers", 1, "--json")
    assert r.exit_code == 2 and "already exists" in r.stderr and str(out) in r.stderr
    assert out.read_bytes() == b"precious"
    r = invoke("data", "prepare", ntu_sample_dir, out, "--workers", 1, "--json", "--force")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert (d["found"], d["converted"], d["skipped_missing"], d["skipped_malformed"]) == (63, 61, 2, 0)
    assert [m["name"] for m in d["missing"]] == MISSING
    assert all("missing-skeleton list" in m["reason"] for m in d["missing"])
    assert d["malformed"] == [] and d["cropped"] == 0
    assert open_store(out).n == 61
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_missing_raw_dir_exit_2(tmp_path, invoke):
    r = invoke("data", "prepare", tmp_path / "nope", tmp_path / "o.h5")
    assert r.exit_code == 2 and "nope" in r.stderr and "not found" in r.stderr
    r = invoke("data", "prepare", tmp_path, tmp_path / "o.h5")
    assert r.exit_code == 2 and "no *.skeleton files" in r.stderr
    assert not (tmp_path / "o.h5").exists()


def _bad_folder(ntu_sample_dir, tmp_path):
    raw = _copy(ntu_sample_dir, tmp_path / "raw", ["S001C001P001R001A001", "S001C001P001R001A024"])
    lines = (raw / "S001C001P001R001A024.skeleton").read_text().splitlines()
    fields = lines[99].split(" ")
    fields[1] = "nan"                                    # y of a joint in line 100 is NaN
    lines[99] = " ".join(fields)
    (raw / "sub").mkdir()
    (raw / "sub" / "S001C001P001R001A002.skeleton").write_text("\n".join(lines) + "\n")
    (raw / "S001C001P001R001A003.skeleton").write_bytes(b"")
    return raw


def test_malformed_files_are_reported_and_skipped(ntu_sample_dir, tmp_path, invoke):
    raw = _bad_folder(ntu_sample_dir, tmp_path)
    out = tmp_path / "o.h5"
    r = invoke("data", "prepare", raw, out, "--workers", 1, "--json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["converted"] == 2 and d["skipped_malformed"] == 2
    bad = {m["name"]: m for m in d["malformed"]}
    assert bad["S001C001P001R001A002"]["reason"].startswith("line 100: ")
    assert bad["S001C001P001R001A002"]["reason"] == ("line 100: field 2 is 'nan' "
                                                      "(NaN/infinite values are not allowed)")
    assert bad["S001C001P001R001A002"]["file"].endswith("sub/S001C001P001R001A002.skeleton")
    assert bad["S001C001P001R001A003"]["reason"] == "line 1: empty file"
    r = invoke("data", "prepare", raw, tmp_path / "h.h5", "--workers", 1)
    assert "skipped as malformed: 2" in r.stdout and "line 100" in r.stdout


def test_strict_stops_with_exit_2_and_writes_nothing(ntu_sample_dir, tmp_path, invoke):
    raw = _bad_folder(ntu_sample_dir, tmp_path)
    out = tmp_path / "o.h5"
    r = invoke("data", "prepare", raw, out, "--workers", 1, "--strict")
    assert r.exit_code == 2
    assert "S001C001P001R001A002.skeleton" in r.stderr and "line 100" in r.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    out.write_bytes(b"old")
    r = invoke("data", "prepare", raw, out, "--workers", 1, "--strict", "--force")
    assert r.exit_code == 2 and out.read_bytes() == b"old"


def test_two_workers_give_the_same_store(ntu_sample_dir, tmp_path):
    names = ["S001C001P001R001A024", "S001C001P001R001A059", "S005C002P004R001A023",
             "S001C001P001R001A010", "S001C001P001R001A011"]
    raw = _copy(ntu_sample_dir, tmp_path / "raw", names)
    s1 = prepare(raw, tmp_path / "w1.h5", workers=1)
    s2 = prepare(raw, tmp_path / "w2.h5", workers=2)
    assert s1.converted == s2.converted == 5
    a, b = open_store(tmp_path / "w1.h5"), open_store(tmp_path / "w2.h5")
    assert a.names == b.names == sorted(names)
    np.testing.assert_array_equal(a.read(range(5)), b.read(range(5)))
    np.testing.assert_array_equal(a.length, b.length)


def test_uncompressed_store_holds_the_same_samples(ntu_sample_dir, tmp_path, invoke):
    """--compression none: the same samples, uncompressed (read from the file's own dataset)."""
    import h5py
    names = ["S001C001P001R001A024", "S001C001P001R001A059", "S005C002P004R001A023"]
    raw = _copy(ntu_sample_dir, tmp_path / "raw", names)
    prepare(raw, tmp_path / "lzf.h5")
    assert invoke("data", "prepare", raw, tmp_path / "none.h5", "--compression", "none").exit_code == 0
    with h5py.File(tmp_path / "lzf.h5") as f, h5py.File(tmp_path / "none.h5") as g:
        assert f["x"].compression == "lzf" and g["x"].compression is None
        np.testing.assert_array_equal(f["x"][()], g["x"][()])
        # only the samples' own frames are stored: whole blocks of frame_chunk, the padding never
        lengths, (_, block, *_) = g["length"][()], g["x"].chunks
        frame_bytes = 4 * int(np.prod(g["x"].shape[2:]))
        assert g["x"].id.get_storage_size() == sum(-(-int(n) // block) * block for n in lengths) * frame_bytes
        assert g["x"].id.get_storage_size() < g["x"].size * 4 / 2  # these three fill < half of T
    r = invoke("data", "prepare", raw, tmp_path / "z.h5", "--compression", "zstd")
    assert r.exit_code == 2 and not (tmp_path / "z.h5").exists()


def test_max_frames_crop_and_ntu120(ntu_sample_dir, tmp_path):
    raw = _copy(ntu_sample_dir, tmp_path / "raw", ["S001C001P001R001A042", "S001C001P001R001A001"])
    shutil.copy(raw / "S001C001P001R001A001.skeleton", raw / "S018C001P050R001A061.skeleton")
    s = prepare(raw, tmp_path / "a.h5", max_frames=100)
    assert s.converted == 2 and s.cropped == 2  # 195 and 103 frames
    assert [m.name for m in s.malformed] == ["S018C001P050R001A061"]
    assert "ntu120" in s.malformed[0].reason
    st = open_store(tmp_path / "a.h5")
    assert st.T == 100 and st.length.tolist() == [100, 100]
    full = choose_bodies(read_skeleton(raw / "S001C001P001R001A042.skeleton")).x
    np.testing.assert_array_equal(st.read_one(st.index_of("S001C001P001R001A042")), full[:100])
    s = prepare(raw, tmp_path / "b.h5", benchmark="ntu120")
    st = open_store(tmp_path / "b.h5")
    assert s.converted == 3 and st.class_names == list(NTU120_CLASSES)
    i = st.index_of("S018C001P050R001A061")
    assert (st.label[i], st.setup[i], st.subject[i]) == (60, 18, 50)


def test_missing_list_option_and_empty_samples(ntu_sample_dir, tmp_path, invoke):
    raw = _copy(ntu_sample_dir, tmp_path / "raw", ["S001C001P001R001A001", "S001C001P001R001A002"])
    _copy(ntu_sample_dir / "missing", raw, MISSING)
    lst = tmp_path / "mine.txt"
    lst.write_text("S001C001P001R001A002.skeleton\r\n")  # header-less, CRLF, with suffix
    r = invoke("data", "prepare", raw, tmp_path / "o.h5", "--missing-list", lst, "--json", "--workers", 1)
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["converted"] == 1
    reasons = {m["name"]: m["reason"] for m in d["missing"]}
    assert "mine.txt" in reasons["S001C001P001R001A002"]
    assert reasons["S006C002P023R001A023"].startswith("all ")             # not on the list, no body
    assert reasons["S008C003P007R001A023"] == "all 56 frames have no body"
    r = invoke("data", "prepare", raw, tmp_path / "p.h5", "--missing-list", tmp_path / "none.txt")
    assert r.exit_code == 2 and "none.txt" in r.stderr


def test_duplicate_names_and_bad_file_names(ntu_sample_dir, tmp_path):
    raw = _copy(ntu_sample_dir, tmp_path / "raw", ["S001C001P001R001A001"])
    _copy(ntu_sample_dir, raw / "again", ["S001C001P001R001A001"])
    shutil.copy(raw / "S001C001P001R001A001.skeleton", raw / "walk.skeleton")
    s = prepare(raw, tmp_path / "o.h5")
    assert s.converted == 1 and s.found == 3
    reasons = sorted(m.reason for m in s.malformed)
    assert reasons[0].startswith("duplicate sample name") and "not an NTU sample id" in reasons[1]
    assert [p.name for p in find_skeleton_files(raw)][:2] == ["S001C001P001R001A001.skeleton"] * 2


def test_bad_options(ntu_sample_dir, tmp_path, invoke):
    with pytest.raises(BadInput, match="max-frames"):
        prepare(ntu_sample_dir, tmp_path / "o.h5", max_frames=0)
    with pytest.raises(BadInput, match="workers"):
        prepare(ntu_sample_dir, tmp_path / "o.h5", workers=0)
    r = invoke("data", "prepare", ntu_sample_dir, tmp_path / "o.h5", "--benchmark", "ntu90")
    assert r.exit_code == 2


# ---------------------------------------------------------------- missing-skeleton lists

def test_official_lists():
    a, b = official_missing("ntu60"), official_missing("ntu120")
    assert len(a) == 302 and len(b) == 535
    assert a == {n for n in b if int(n[1:4]) <= 17}
    assert set(MISSING) <= a


def test_list_formats(tmp_path):
    official = "302 of the captured samples have missing skeletons.\nPlease ignore them.\n\n"
    names = ["S001C002P005R002A008", "S001C002P006R001A008"]
    assert parse_missing_list("2 of the samples.\r\nIgnore.\r\n\r\n" + "\r\n".join(names) + "\r\n") == set(names)
    assert parse_missing_list("\n".join(names)) == set(names)
    p = tmp_path / "l.txt"
    p.write_text(" S001C002P005R002A008 \n\nS001C002P006R001A008.skeleton\n")
    assert load_missing_list(p) == set(names)
    with pytest.raises(BadInput, match="announces 302"):
        parse_missing_list(official + "\n".join(names), "x.txt")
    with pytest.raises(BadInput, match=r"x.txt: line 2: .*not an NTU sample id"):
        parse_missing_list("S001C002P005R002A008\nhello\n", "x.txt")
    with pytest.raises(BadInput, match="no NTU sample ids"):
        parse_missing_list("just text\n", "x.txt")
