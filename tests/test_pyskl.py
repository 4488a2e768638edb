"""pyskl / mmaction2 annotation pickles both ways: a 2-D COCO-17 pickle built from arrays
imports, store → pickle → store is unchanged, hostile and malformed pickles are exit 2."""

from __future__ import annotations

import json
import os
import pickle

import h5py
import numpy as np
import pytest

from tdf.data.store import Sample, StoreWriter, open_store

CLASSES = 3


def coco_pickle(n: int = 12, seed: int = 0) -> dict:
    """A pyskl 2-D pickle as a pose estimator writes it: float16 keypoints [M, T, 17, 2] in
    pixels, float16 scores [M, T, 17], 1–3 persons, img_shape, and an own xsub split."""
    rng = np.random.default_rng(seed)
    anns = []
    for i in range(n):
        m, t = 1 + i % 3, 5 + i
        kp = (rng.random((m, t, 17, 2)) * [1920, 1080]).astype(np.float16)
        anns.append({"frame_dir": f"clip_{i:03d}", "label": i % CLASSES, "total_frames": t, "keypoint": kp,
                     "keypoint_score": rng.random((m, t, 17)).astype(np.float16),
                     "img_shape": (1080, 1920), "original_shape": (1080, 1920)})
    names = [a["frame_dir"] for a in anns]
    return {"split": {"xsub_train": names[:8], "xsub_val": names[8:]}, "annotations": anns}


def _write(path, obj, protocol=pickle.HIGHEST_PROTOCOL):
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


def _store_equal(a_path, b_path, provenance=("source", "import_format", "created_by")):
    with h5py.File(a_path) as a, h5py.File(b_path) as b:
        assert sorted(a) == sorted(b)
        for key in a:
            if isinstance(a[key], h5py.Group):
                assert sorted(a[key]) == sorted(b[key]), key
                for k in a[key]:
                    np.testing.assert_array_equal(a[key][k][:], b[key][k][:], err_msg=f"{key}/{k}")
            else:
                assert a[key].shape == b[key].shape and a[key].dtype == b[key].dtype, key
                np.testing.assert_array_equal(a[key][:], b[key][:], err_msg=key)
        keys = (set(a.attrs) | set(b.attrs)) - set(provenance)
        for k in keys:
            assert a.attrs.get(k) == b.attrs.get(k), k


def test_coco17_pickle_imports(tmp_path, invoke):
    doc = coco_pickle()
    src = _write(tmp_path / "hrnet.pkl", doc)
    out = tmp_path / "coco.h5"
    r = invoke("--json", "data", "import", src, out, "--format", "pyskl")  # 17 × 2 → coco17 guessed
    assert r.exit_code == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["samples"] == 12 and s["layout"] == "coco17" and s["num_classes"] == CLASSES
    assert s["persons_dropped"] == 4  # the 4 annotations with 3 persons keep the first 2
    assert s["split_lists"] == {"xsub_train": 8, "xsub_val": 4} and s["default_split"] == "xsub"
    assert s["default_split_sizes"] == {"train": 8, "test": 4}
    with open_store(out) as st:
        assert st.layout.name == "coco17" and st.layout.coords == 2 and st.T == 16
        assert st.class_names == ["class_000", "class_001", "class_002"]
        assert json.loads(st.attr("img_shape")) == [1080, 1920]
        for i, a in enumerate(doc["annotations"]):
            j = st.index_of(a["frame_dir"])
            assert st.label[j] == a["label"] and st.length[j] == a["total_frames"] and st.subject[j] == -1
            x = st.read_one(j)                                 # [t, 2 bodies, 17, 2]
            m = min(2, a["keypoint"].shape[0])
            np.testing.assert_array_equal(x[:, :m], a["keypoint"][:m].astype(np.float32).transpose(1, 0, 2, 3))
            assert not x[:, m:].any()
        from tdf.data.splits import make_split
        sp = make_split(st, "xsub", val_fraction=0)
        assert [st.names[i] for i in sp.train] == [f"clip_{i:03d}" for i in range(8)]
    r = invoke("--json", "data", "info", out)
    assert json.loads(r.stdout)["splits"]["xsub"] == {"train": 7, "val": 1, "test": 4}


def test_ntu_style_pickle_fills_metadata_and_keeps_its_own_xsub(tmp_path, invoke):
    """A 3-D NTU pickle: frame_dirs give subject/camera/…, NTU class names, and the pickle's own
    xsub lists win over NTU's xsub rule of the same name."""
    rng = np.random.default_rng(1)
    names = [f"S001C00{1 + i % 3}P{1 + i:03d}R001A{1 + i % 2:03d}" for i in range(6)]
    anns = [{"frame_dir": n, "label": i % 2, "total_frames": 4, "keypoint": rng.normal(size=(1, 4, 25, 3))}
            for i, n in enumerate(names)]
    # NTU's rule would test performers 3 and 6; this pickle's own xsub tests performers 1 and 2
    src = _write(tmp_path / "ntu.pkl", {"split": {"xsub_train": names[2:], "xsub_val": names[:2]},
                                        "annotations": anns}, protocol=2)
    out = tmp_path / "ntu.h5"
    r = invoke("--quiet", "data", "import", src, out, "--format", "pyskl", "--layout", "ntu25")
    assert r.exit_code == 0, r.stderr
    with open_store(out) as st:
        assert st.layout.name == "ntu25" and st.class_names[0] == "drink water" and st.num_classes == 60
        i = st.index_of(names[4])
        assert (st.subject[i], st.camera[i], st.setup[i], st.replication[i]) == (5, 2, 1, 1)
        from tdf.data.splits import make_split
        sp = make_split(st, "xsub", val_fraction=0)
        assert sorted(st.subject[sp.test].tolist()) == [1, 2]
        np.testing.assert_allclose(st.read_one(0)[:, 0], anns[0]["keypoint"][0].astype(np.float32))


def test_class_names_file(tmp_path, invoke):
    src = _write(tmp_path / "a.pkl", coco_pickle())
    names = tmp_path / "names.txt"
    names.write_text("wave\nclap\nkick\n")
    r = invoke("--quiet", "data", "import", src, tmp_path / "a.h5", "--format", "pyskl", "--class-names", names)
    assert r.exit_code == 0, r.stderr
    assert open_store(tmp_path / "a.h5").class_names == ["wave", "clap", "kick"]
    names.write_text("wave\nclap\n")
    r = invoke("--quiet", "data", "import", src, tmp_path / "b.h5", "--format", "pyskl", "--class-names", names)
    assert r.exit_code == 2 and "labels go up to 2" in r.stderr


def test_round_trip_store_pickle_store(tmp_path, invoke):
    """A 2-D store with stored splits, a 3-D NTU store (splits derived from its rules) and a
    store with FIELD:VALUES default split and non-NTU metadata all come back unchanged."""
    from toy_data import make_toy_store
    coco = tmp_path / "coco.h5"
    invoke("--quiet", "data", "import", _write(tmp_path / "c.pkl", coco_pickle()), coco, "--format", "pyskl")
    ntu = make_toy_store(tmp_path / "ntu.h5", default_split="xview")
    own = tmp_path / "own.h5"
    with StoreWriter(own, 6, ["a", "b"], source="test", layout="kinect_v1_20",
                     attrs={"default_split": "subject:1,3", "benchmark": "mine"}) as w:
        for i in range(8):
            x = np.random.default_rng(i).normal(size=(3 + i % 4, 1, 20, 3))
            w.append(Sample(x, i % 2, f"seq{i}", subject=1 + i % 4, camera=2, replication=0))
        w.append(Sample(np.zeros((0, 1, 20, 3)), 0, "empty", subject=2))
    for store in (coco, ntu, own):
        pkl, back = store.with_suffix(".pkl"), store.with_name(store.stem + "_back.h5")
        r = invoke("--quiet", "data", "export", store, pkl, "--format", "pyskl")
        assert r.exit_code == 0, r.stderr
        r = invoke("--quiet", "data", "import", pkl, back, "--format", "pyskl")
        assert r.exit_code == 0, r.stderr
        if store == own:  # the all-zero sample goes out as one zero frame (pyskl needs T ≥ 1)
            with h5py.File(back, "a") as f:
                i = list(f["name"][:]).index(b"empty")
                assert f["length"][i] == 1 and not f["x"][i].any()
                f["length"][i] = 0
        _store_equal(store, back)


def test_exported_pickle_is_what_pyskl_reads(tmp_path, invoke):
    """Plain pickle.load gives {split, annotations, tdf}; annotations in pyskl's structure
    (keypoint [M, T, V, C] float32 with M the persons present; 2-D: scores and img_shape); the
    split lists name frame_dirs; NTU stores get their rules' lists."""
    from toy_data import make_toy_store
    ntu = make_toy_store(tmp_path / "ntu.h5")
    invoke("--quiet", "data", "export", ntu, tmp_path / "ntu.pkl", "--format", "pyskl")
    doc = pickle.loads((tmp_path / "ntu.pkl").read_bytes())
    assert sorted(doc) == ["annotations", "split", "tdf"]
    assert sorted(doc["split"]) == ["xsub_train", "xsub_val", "xview_train", "xview_val"]
    with open_store(ntu) as st:
        a = doc["annotations"][5]
        assert a["frame_dir"] == st.names[5] and a["label"] == st.label[5] and a["total_frames"] == st.length[5]
        assert a["keypoint"].shape == (1, st.length[5], 25, 3) and a["keypoint"].dtype == np.float32
        assert "keypoint_score" not in a
        np.testing.assert_array_equal(a["keypoint"][0], st.read_one(5)[:, 0])
        from tdf.data.splits import make_split
        sp = make_split(st, "xview", val_fraction=0)
        assert doc["split"]["xview_val"] == [st.names[i] for i in sp.test]
    coco = tmp_path / "coco.h5"
    original = coco_pickle()
    invoke("--quiet", "data", "import", _write(tmp_path / "c.pkl", original), coco, "--format", "pyskl")
    invoke("--quiet", "data", "export", coco, tmp_path / "c2.pkl", "--format", "pyskl")
    doc = pickle.loads((tmp_path / "c2.pkl").read_bytes())
    assert doc["split"] == original["split"]
    for a, b in zip(doc["annotations"], original["annotations"]):
        m = min(2, b["keypoint"].shape[0])
        assert a["frame_dir"] == b["frame_dir"] and a["img_shape"] == (1080, 1920)
        np.testing.assert_array_equal(a["keypoint"], b["keypoint"][:m].astype(np.float32))
        assert a["keypoint_score"].shape == (m, b["total_frames"], 17) and (a["keypoint_score"] == 1).all()


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_malicious_pickle_is_refused_in_one_line(tmp_path, invoke):
    target = tmp_path / "pwned"
    doc = coco_pickle()
    doc["annotations"][3]["label"] = _Evil(target)
    src = _write(tmp_path / "evil.pkl", doc)
    r = invoke("--quiet", "data", "import", src, tmp_path / "o.h5", "--format", "pyskl")
    assert r.exit_code == 2 and "evil.pkl" in r.stderr and "system" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not target.exists() and not (tmp_path / "o.h5").exists()


def _mutate(doc, fn):
    fn(doc)
    return doc


@pytest.mark.parametrize("change, match", [
    (lambda d: d["annotations"][2].__setitem__("keypoint", np.zeros((1, 7, 18, 2))), r"clip_002'?: keypoint has shape \(1, 7, 18, 2\)"),
    (lambda d: d["annotations"][2].__setitem__("keypoint", np.zeros((7, 17, 2))), r"shape \(7, 17, 2\)"),
    (lambda d: d["annotations"][2].__setitem__("keypoint", [[1.0]]), "numeric array"),
    (lambda d: d["annotations"][2].__setitem__("label", -1), "label -1 is not a class index"),
    (lambda d: d["annotations"][2].__setitem__("label", 1.5), "label 1.5"),
    (lambda d: d["annotations"][2].pop("frame_dir"), "annotation 2 has no frame_dir"),
    (lambda d: d["annotations"][2].pop("keypoint"), "has no keypoint"),
    (lambda d: d["annotations"][2].__setitem__("total_frames", 99), "total_frames 99 disagrees"),
    (lambda d: d["annotations"][2].__setitem__("keypoint_score", np.zeros((1, 7))), "keypoint_score has shape"),
    (lambda d: d["annotations"][2].__setitem__("frame_dir", "clip_001"), "frame_dir 'clip_001' occurs more"),
    (lambda d: d.pop("annotations"), "no 'annotations'"),
    (lambda d: d.__setitem__("annotations", []), "no annotations"),
    (lambda d: d.__setitem__("split", {"a/b": []}), "split name 'a/b'"),
    (lambda d: d.__setitem__("split", {"xsub_train": "clip_000"}), "list of frame_dir strings"),
])
def test_malformed_pickles_are_exit_2(tmp_path, invoke, change, match):
    src = _write(tmp_path / "ann.pkl", _mutate(coco_pickle(), change))
    r = invoke("--quiet", "data", "import", src, tmp_path / "o.h5", "--format", "pyskl", "--layout", "coco17")
    assert r.exit_code == 2, r.stderr
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1 and "ann.pkl" in line, line
    import re
    assert re.search(match, line), line
    assert not (tmp_path / "o.h5").exists()


def test_layout_must_be_known_or_given(tmp_path, invoke):
    doc = coco_pickle()
    for a in doc["annotations"]:
        a["keypoint"] = a["keypoint"][:, :, :15]
        a["keypoint_score"] = a["keypoint_score"][:, :, :15]
    src = _write(tmp_path / "k15.pkl", doc)
    r = invoke("--quiet", "data", "import", src, tmp_path / "o.h5", "--format", "pyskl")
    assert r.exit_code == 2 and "k15.pkl: cannot tell the joint layout" in r.stderr and "--layout" in r.stderr
    r = invoke("--quiet", "data", "import", src, tmp_path / "o.h5", "--format", "pyskl", "--layout", "nope")
    assert r.exit_code == 2 and "unknown layout 'nope'" in r.stderr


def test_export_refuses_to_overwrite(tmp_path, invoke):
    from toy_data import make_toy_store
    data = make_toy_store(tmp_path / "t.h5")
    (tmp_path / "x.pkl").write_bytes(b"keep")
    r = invoke("--quiet", "data", "export", data, tmp_path / "x.pkl", "--format", "pyskl")
    assert r.exit_code == 2 and (tmp_path / "x.pkl").read_bytes() == b"keep"
    r = invoke("--quiet", "data", "export", data, data, "--format", "pyskl", "--force")
    assert r.exit_code == 2 and "overwrite the store" in r.stderr


@pytest.mark.slow
def test_coco17_pickle_trains_diagnoses_and_renders_in_2d(tmp_path, invoke):
    """The issue's acceptance for 2-D pickles: built from arrays, imported, then the loop runs
    on the imported store (tiny model, one epoch) and a sample is drawn in 2-D."""
    from toy_data import TINY
    data = tmp_path / "coco.h5"
    r = invoke("--quiet", "data", "import", _write(tmp_path / "c.pkl", coco_pickle(n=24)), data, "--format", "pyskl")
    assert r.exit_code == 0, r.stderr
    r = invoke("--quiet", "train", data, "--out", tmp_path / "run", "--epochs", "1", *TINY)
    assert r.exit_code == 0, r.stderr
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["joint_layout"] == "coco17" and run["split"]["name"] == "xsub"
    assert run["split"]["sizes"]["test"] == 16  # the pickle's own xsub_val (clips 8–23)
    r = invoke("--quiet", "diagnose", tmp_path / "run", "--out", tmp_path / "diag", "--render", "none",
               "--views", "ranking")
    assert r.exit_code == 0, r.stderr
    groups = {g["name"] for g in json.loads((tmp_path / "diag" / "diagnosis.json").read_text())["groups"]}
    from tdf.skeleton import LAYOUTS
    assert groups == set(LAYOUTS["coco17"].groups)
    r = invoke("render", data, "--index", "0", "--out", tmp_path / "f.png")
    assert r.exit_code == 0 and (tmp_path / "f.png").stat().st_size > 1000


def test_numpy_scalars_in_annotations(tmp_path, invoke):
    """Labels and image sizes as numpy integers (as pose-estimation scripts often write them)."""
    doc = coco_pickle(n=6)
    for a in doc["annotations"]:
        a["label"] = np.int64(a["label"])
        a["img_shape"] = (np.int64(480), np.int32(640))
        a["total_frames"] = np.int64(a["total_frames"])
    r = invoke("--quiet", "data", "import", _write(tmp_path / "n.pkl", doc, protocol=2), tmp_path / "n.h5",
               "--format", "pyskl")
    assert r.exit_code == 0, r.stderr
    with open_store(tmp_path / "n.h5") as st:
        assert json.loads(st.attr("img_shape")) == [480, 640] and st.label.tolist() == [0, 1, 2, 0, 1, 2]
