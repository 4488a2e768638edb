"""Identical samples and train → test leakage (`tdf data info --duplicates`): exact groups on a
hand-built store (same frames = same sample; one changed value, a different length or padding
do not count), and N-UCLA's release, whose view-3 files of actions 2 and 3 carry the view-2
skeletons (compared here straight from the JSON files; skipped without ../shared/data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tdf.data.duplicates import duplicate_groups, leaked_test_rows, sample_digests
from tdf.data.store import Sample, StoreWriter, open_store

UCLA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nw-ucla" / "all_sqe"


def _store(path):
    """Rows: 0 = A, 1 = B, 2 = A again, 3 = A with one value one ulp away, 4 = A's first 5 frames
    (a shorter sample), 5 = B again, 6 = A again."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(6, 2, 25, 3)).astype(np.float32)
    b = rng.normal(size=(6, 2, 25, 3)).astype(np.float32)
    a_nudged = a.copy()
    a_nudged[2, 0, 7, 1] = np.nextafter(a_nudged[2, 0, 7, 1], np.float32(np.inf))
    rows = [a, b, a, a_nudged, a[:5], b, a]
    with StoreWriter(path, 8, ["one", "two"], source="tests/test_duplicates.py", force=True) as w:
        for i, x in enumerate(rows):
            w.append(Sample(x, i % 2, f"S001C001P{i + 1:03d}R001A001", subject=i + 1, camera=1, setup=1,
                            replication=1))
    return path


def test_identical_frames_make_a_group_and_nothing_else_does(tmp_path):
    with open_store(_store(tmp_path / "d.h5")) as s:
        seen = []
        groups = duplicate_groups(sample_digests(s, progress=lambda done, total: seen.append((done, total))))
    assert groups == [[0, 2, 6], [1, 5]]
    assert seen[-1] == (7, 7)
    # a test row leaks when any training-side row of its group exists
    assert leaked_test_rows(groups, train_side=[0, 1, 3], test_side=[2, 4, 5, 6]).tolist() == [2, 5, 6]
    assert leaked_test_rows(groups, train_side=[3, 4], test_side=[0, 1, 2, 5, 6]).tolist() == []


def test_info_reports_duplicates_of_the_default_split(tmp_path, invoke):
    path = _store(tmp_path / "d.h5")
    r = invoke("--json", "data", "info", path, "--duplicates")
    assert r.exit_code == 0, r.stderr
    dup = json.loads(r.stdout)["duplicates"]
    # NTU's xsub (subjects 1–7 known): subjects 1, 2, 4, 5 train → rows 0, 1, 3, 4; rows 2, 5, 6 test
    assert (dup["groups"], dup["samples"], dup["split"]) == (2, 5, "xsub")
    assert (dup["test_samples"], dup["test_identical_to_train"]) == (3, 3)
    assert dup["test_identical_to_train_by_class"] == {"one": 2, "two": 1}
    with open_store(path) as s:
        assert dup["examples"][0] == [s.names[0], s.names[2], s.names[6]]
    assert "duplicates" not in json.loads(invoke("--json", "data", "info", path).stdout)  # opt-in: it reads everything
    text = invoke("data", "info", path, "--duplicates").stdout
    assert "5 samples in 2 groups of identical skeletons" in text


@pytest.mark.skipif(not UCLA.is_dir(), reason="../shared/data/nw-ucla is not present")
def test_ucla_view_3_repeats_view_2_for_actions_2_and_3(tmp_path, invoke):
    names = [f"a{a:02d}_s01_e00_v{v:02d}.json" for a in (1, 2, 3) for v in (1, 2, 3)]
    src = tmp_path / "all_sqe"
    src.mkdir()
    for n in names:
        (src / n).write_bytes((UCLA / n).read_bytes())
    # by hand: the skeleton arrays of the two JSON files are equal, those of action 1 are not
    skel = {n: json.loads((UCLA / n).read_text())["skeletons"] for n in names}
    assert skel["a02_s01_e00_v02.json"] == skel["a02_s01_e00_v03.json"]
    assert skel["a03_s01_e00_v02.json"] == skel["a03_s01_e00_v03.json"]
    assert skel["a01_s01_e00_v02.json"] != skel["a01_s01_e00_v03.json"]
    assert invoke("--quiet", "data", "import", src, tmp_path / "u.h5", "--format", "nw-ucla").exit_code == 0
    dup = json.loads(invoke("--json", "data", "info", tmp_path / "u.h5", "--duplicates").stdout)["duplicates"]
    assert dup["examples"] == [["a02_s01_e00_v02", "a02_s01_e00_v03"], ["a03_s01_e00_v02", "a03_s01_e00_v03"]]
    assert dup["split"] == "camera:1,2" and dup["test_samples"] == 3
    assert dup["test_identical_to_train_by_class"] == {"pick up with two hands": 1, "drop trash": 1}
