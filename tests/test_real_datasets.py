"""UTD-MHAD and NW-UCLA readers and importers, checked against values read by hand from the real
files in ../shared/data (SOURCES.md of each data set; skipped when the folder is absent)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tdf.data import nw_ucla, utd_mhad
from tdf.data.matfile import MatFileError
from tdf.data.store import open_store
from tdf.errors import BadInput
from tdf.skeleton import LAYOUTS

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
UTD = DATA / "utd-mhad" / "Skeleton"
UCLA = DATA / "nw-ucla" / "all_sqe"
need_utd = pytest.mark.skipif(not UTD.is_dir(), reason="../shared/data/utd-mhad is not present")
need_ucla = pytest.mark.skipif(not UCLA.is_dir(), reason="../shared/data/nw-ucla is not present")
KINECT = LAYOUTS["kinect_v1_20"]


# ------------------------------------------------------------------------------------ UTD-MHAD

@need_utd
def test_utd_reader_matches_the_values_in_sources():
    """SOURCES.md prints a1_s1_t1's d_skel[:5, :, 0] (shape (20, 3, 48))."""
    x = utd_mhad.read_skeleton_mat(UTD / "a1_s1_t1_skeleton.mat")
    assert x.shape == (48, 20, 3)
    by_hand = [[-0.0458, 0.484, 2.8302], [-0.0346, 0.2995, 2.877], [-0.0306, -0.0493, 2.8904],
               [-0.0256, -0.1121, 2.839], [-0.1988, 0.187, 2.8778]]
    np.testing.assert_allclose(x[0, :5], by_hand, atol=6e-5)
    # the last frame's right_foot of a27_s8_t3 (95 frames), read by hand with scipy
    y = utd_mhad.read_skeleton_mat(UTD / "a27_s8_t3_skeleton.mat")
    assert y.shape == (95, 20, 3)
    np.testing.assert_allclose(y[-1, 19], [0.04737911, -1.04330683, 2.92866278], atol=1e-7)


@need_utd
def test_utd_joint_order_is_the_data_sets_own():
    """UTD_JOINTS is Skeleton_joint_order.txt, and the permutation puts each UTD joint at its
    Kinect v1 name: head row 0 → Head, hip_center row 3 → HipCenter, left_shoulder row 4 → ShoulderLeft."""
    lines = [ln.split(".", 1)[1].strip(" ;") for ln in (UTD / "Skeleton_joint_order.txt").read_text().splitlines()
             if ln[:1].isdigit()]
    assert tuple(lines) == utd_mhad.UTD_JOINTS
    x = utd_mhad.read_skeleton_mat(UTD / "a1_s1_t1_skeleton.mat")
    k = utd_mhad.to_layout(x)
    assert k.shape == (48, 1, 20, 3)
    idx = KINECT.joint_index
    np.testing.assert_allclose(k[0, 0, idx("Head")], [-0.0458, 0.484, 2.8302], atol=6e-5)
    np.testing.assert_allclose(k[0, 0, idx("ShoulderCenter")], [-0.0346, 0.2995, 2.877], atol=6e-5)
    np.testing.assert_allclose(k[0, 0, idx("Spine")], [-0.0306, -0.0493, 2.8904], atol=6e-5)
    np.testing.assert_allclose(k[0, 0, idx("HipCenter")], [-0.0256, -0.1121, 2.839], atol=6e-5)
    np.testing.assert_allclose(k[0, 0, idx("ShoulderLeft")], [-0.1988, 0.187, 2.8778], atol=6e-5)
    assert sorted(utd_mhad.UTD_TO_KINECT_V1.tolist()) == list(range(20))


def test_utd_names():
    assert utd_mhad.parse_name("a12_s3_t4_skeleton.mat") == {"action": 12, "subject": 3, "trial": 4}
    assert utd_mhad.describe("a27_s8_t1_skeleton.mat") == {"name": "a27_s8_t1", "label": 26, "subject": 8,
                                                          "replication": 1}
    for bad in ("a28_s1_t1_skeleton.mat", "a1_s9_t1_skeleton.mat", "a1_s1_t5_skeleton.mat", "a0_s1_t1_skeleton.mat",
                "a1_s1_t1.mat", "a1_s1_t1_skeleton.mat.bak"):
        assert utd_mhad.parse_name(bad) is None, bad
    assert len(utd_mhad.CLASS_NAMES) == 27 == len(set(utd_mhad.CLASS_NAMES))


def test_utd_reader_refuses_malformed_files(tmp_path, monkeypatch):
    import scipy.io
    p = tmp_path / "a1_s1_t1_skeleton.mat"
    cases = [
        (lambda: scipy.io.savemat(p, {"d_skel": np.zeros((25, 3, 4))}), r"shape \(25, 3, 4\)"),
        (lambda: scipy.io.savemat(p, {"d_skel": np.zeros((20, 3, 0))}), r"shape|T = 0"),
        (lambda: scipy.io.savemat(p, {"skel": np.zeros((20, 3, 4))}), "no variable 'd_skel'"),
        (lambda: scipy.io.savemat(p, {"d_skel": np.full((20, 3, 4), np.nan)}), "NaN"),
        (lambda: scipy.io.savemat(p, {"d_skel": np.array(["text"])}), "MATLAB char"),
        (lambda: p.write_bytes(b"not a mat file at all" * 10), "not a MATLAB v5 file"),
        (lambda: p.write_bytes(b""), "not a MATLAB v5 file"),
    ]
    for make, match in cases:
        make()
        with pytest.raises(MatFileError, match=match):
            utd_mhad.read_skeleton_mat(p)
    scipy.io.savemat(p, {"d_skel": np.ones((20, 3, 50))}, do_compression=True)
    with pytest.raises(MatFileError, match="more than the 40 tdf reads"):
        utd_mhad.read_skeleton_mat(p, frame_limit=40)
    data = p.read_bytes()
    p.write_bytes(data[:len(data) - 20])
    with pytest.raises(MatFileError, match="truncated"):
        utd_mhad.read_skeleton_mat(p)
    # a compressed element that inflates beyond the bound is refused before scipy loads it
    p.write_bytes(data)
    monkeypatch.setattr("tdf.data.matfile.MAX_INFLATED", 1000)
    with pytest.raises(MatFileError, match="inflates to more than"):
        utd_mhad.read_skeleton_mat(p)


# ------------------------------------------------------------------------------------- NW-UCLA

@need_ucla
def test_ucla_reader_matches_the_values_in_sources():
    """SOURCES.md prints the start of a01_s01_e00_v01.json (44 frames, label 1)."""
    x, meta = nw_ucla.read_sequence_json(UCLA / "a01_s01_e00_v01.json")
    assert x.shape == (44, 20, 3) and meta == {"file_name": "a01_s01_e00_v01", "label": 1}
    by_hand = [[-0.619699, 0.328046, 3.18186], [-0.62041, 0.381968, 3.16288], [-0.625506, 0.645339, 3.08223],
               [-0.66144, 0.867156, 2.99039], [-0.806215, 0.568519, 3.09422], [-0.878558, 0.356335, 3.13603],
               [-0.883015, 0.167298, 3.12657], [-0.90091, 0.108546, 3.14759]]
    np.testing.assert_array_equal(x[0, :8], by_hand)
    np.testing.assert_array_equal(x[-1, 19], [0.0572132, -0.679824, 2.6159])
    # Kinect v1 order: joint 3 is the head, above joint 0 (hip centre)
    assert KINECT.joints[3] == "Head" and x[0, 3, 1] > x[0, 0, 1]
    assert nw_ucla.load(UCLA / "a12_s10_e04_v03.json", "a12_s10_e04_v03.json").shape == (21, 1, 20, 3)


def test_ucla_names_and_fields():
    assert nw_ucla.parse_name("a08_s03_e01_v02.json") == {"action": 8, "label": 6, "subject": 3, "take": 1,
                                                          "view": 2}
    assert nw_ucla.describe("a12_s10_e04_v03.json") == {"name": "a12_s10_e04_v03", "label": 9, "subject": 10,
                                                         "camera": 3, "replication": 4}
    for bad in ("a07_s01_e00_v01.json", "a10_s01_e00_v01.json", "a01_s11_e00_v01.json", "a01_s01_e00_v04.json",
                "a1_s01_e00_v01.json", "a01_s01_e00_v01.txt"):
        assert nw_ucla.parse_name(bad) is None, bad
    with pytest.raises(nw_ucla.NwUclaFormatError, match="label 3 disagrees with action a08"):
        nw_ucla.check_fields({"label": 3}, nw_ucla.parse_name("a08_s01_e00_v01.json"), "a08_s01_e00_v01.json")
    with pytest.raises(nw_ucla.NwUclaFormatError, match="file_name 'x' disagrees"):
        nw_ucla.check_fields({"file_name": "x"}, nw_ucla.parse_name("a08_s01_e00_v01.json"), "a08_s01_e00_v01.json")


@pytest.mark.parametrize("content, match", [
    ("{", "not valid JSON"),
    ("[]", "no 'skeletons'"),
    ('{"skeletons": []}', "empty"),
    ('{"skeletons": [[[1, 2, 3]]]}', r"shape \(1, 1, 3\)"),
    ('{"skeletons": [[["a", 2, 3]]]}', "array of numbers"),
    ('{"skeletons": [[[1, 2]], [[1, 2, 3]]]}', "array of numbers"),
    ('{"skeletons": ' + json.dumps([[[1e400, 0, 0]] * 20]) + "}", "NaN or infinite"),
    ("[" * 100_000 + "]" * 100_000, "not valid JSON|no 'skeletons'"),
])
def test_ucla_reader_refuses_malformed_files(tmp_path, content, match):
    p = tmp_path / "a01_s01_e00_v01.json"
    p.write_text(content)
    with pytest.raises(nw_ucla.NwUclaFormatError, match=match):
        nw_ucla.read_sequence_json(p)


# ----------------------------------------------------------------------------------- importers

def _subset(src: Path, dst: Path, names: list[str]) -> Path:
    dst.mkdir()
    for n in names:
        shutil.copy(src / n, dst / n)
    return dst


@need_utd
def test_utd_import_of_a_subset(tmp_path, invoke):
    """Two subjects × two actions × two trials, plus junk files: the good ones are imported in
    kinect_v1_20 with UTD's names, subjects and the cross-subject default split; the junk is
    reported by name and skipped; --strict stops at it and writes nothing."""
    names = [f"a{a}_s{s}_t{t}_skeleton.mat" for a in (1, 27) for s in (1, 2) for t in (1, 2)]
    src = _subset(UTD, tmp_path / "Skeleton", names)
    (src / "a1_s1_t3_skeleton.mat").write_bytes(b"junk" * 40)
    (src / "a99_s1_t1_skeleton.mat").write_bytes((UTD / names[0]).read_bytes())
    out = tmp_path / "utd.h5"
    r = invoke("--json", "data", "import", src, out, "--format", "utd-mhad")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["samples"] == 8 and doc["found"] == 10 and doc["skipped_malformed"] == 2
    reasons = {Path(m["file"]).name: m["reason"] for m in doc["malformed"]}
    assert "not a MATLAB v5 file" in reasons["a1_s1_t3_skeleton.mat"]
    assert "not a utd-mhad file name" in reasons["a99_s1_t1_skeleton.mat"]
    assert doc["default_split"] == "subject:1,3,5,7" and doc["default_split_sizes"] == {"train": 4, "test": 4}
    with open_store(out) as s:
        assert s.layout.name == "kinect_v1_20" and s.n == 8 and s.num_classes == 27
        assert s.class_names[0] == "right arm swipe to the left" and s.class_names[26].startswith("squat")
        i = s.index_of("a1_s1_t1")
        assert s.label[i] == 0 and s.subject[i] == 1 and s.replication[i] == 1 and s.camera[i] == -1
        x = s.read_one(i)
        np.testing.assert_allclose(x[0, 0, KINECT.joint_index("Head")], [-0.0458, 0.484, 2.8302], atol=6e-5)
        assert s.length[i] == 48 and s.T == max(s.length)
        assert s.attr("default_split") == "subject:1,3,5,7" and s.attr("benchmark") == "utd-mhad"
    r = invoke("--quiet", "data", "import", src, tmp_path / "strict.h5", "--format", "utd-mhad", "--strict")
    assert r.exit_code == 2 and "a1_s1_t3_skeleton.mat" in r.stderr and "--strict" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "strict.h5").exists()
    r = invoke("data", "import", tmp_path / "nothing", tmp_path / "n.h5", "--format", "utd-mhad")
    assert r.exit_code == 2 and "nothing: data folder not found" in r.stderr
    r = invoke("data", "import", src, tmp_path / "l.h5", "--format", "utd-mhad", "--layout", "ntu25")
    assert r.exit_code == 2 and "--layout applies to --format pyskl only" in r.stderr


@need_ucla
def test_ucla_import_of_a_subset(tmp_path, invoke):
    names = [f"a{a:02d}_s{s:02d}_e00_v{v:02d}.json" for a in (1, 12) for s in (1, 2) for v in (1, 2, 3)]
    src = _subset(UCLA, tmp_path / "all_sqe", names)
    bad = json.loads((src / names[0]).read_text())
    bad["label"] = 5
    (src / "a01_s03_e00_v01.json").write_text(json.dumps(bad))
    out = tmp_path / "ucla.h5"
    r = invoke("--json", "data", "import", src, out, "--format", "nw-ucla")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["samples"] == 12 and doc["skipped_malformed"] == 1
    assert "label 5 disagrees with action a01" in doc["malformed"][0]["reason"]
    assert doc["default_split_sizes"] == {"train": 8, "test": 4}
    with open_store(out) as s:
        assert s.num_classes == 10 and s.class_names[9] == "carry"
        i = s.index_of("a12_s02_e00_v03")
        assert s.label[i] == 9 and s.subject[i] == 2 and s.camera[i] == 3 and s.replication[i] == 0


@need_utd
@pytest.mark.slow
def test_utd_full_import(tmp_path, invoke):
    r = invoke("--json", "data", "import", UTD, tmp_path / "utd.h5", "--format", "utd-mhad")
    doc = json.loads(r.stdout)
    assert doc["samples"] == 861 and doc["num_classes"] == 27 and doc["skipped_malformed"] == 0
    assert doc["default_split_sizes"] == {"train": 431, "test": 430}
    with open_store(tmp_path / "utd.h5") as s:
        assert sorted(set(s.subject.tolist())) == list(range(1, 9))


@need_ucla
@pytest.mark.slow
def test_ucla_full_import(tmp_path, invoke):
    r = invoke("--json", "data", "import", UCLA, tmp_path / "ucla.h5", "--format", "nw-ucla")
    doc = json.loads(r.stdout)
    assert doc["samples"] == 1484 and doc["num_classes"] == 10 and doc["skipped_malformed"] == 0
    assert doc["default_split_sizes"] == {"train": 1020, "test": 464}
