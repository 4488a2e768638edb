"""`tdf fuse`: late score fusion, checked against a plain numpy sum of hand-written scores (members
in different sample orders, weights), on two real tiny runs, and bad input (exit 2, one line
naming the file, nothing written)."""

from __future__ import annotations

import json

import numpy as np

from toy_data import TINY, train_tiny_run

CLASSES = ["a", "b", "c"]


def _member(folder, names, scores, labels, fingerprint="f1"):
    folder.mkdir(parents=True)
    np.savez(folder / "predictions.npz", names=np.array(names), scores=np.asarray(scores, np.float32),
             labels=np.asarray(labels, np.int32), class_names=np.array(CLASSES))
    (folder / "metrics.json").write_text(json.dumps({"data_fingerprint": fingerprint, "data": "d.h5"}))
    return folder


def test_weighted_sum_matches_numpy_in_any_sample_order(tmp_path, invoke):
    names = ["s1", "s2", "s3", "s4"]
    labels = [0, 1, 2, 1]
    p = np.array([[.9, .05, .05], [.5, .4, .1], [.2, .5, .3], [.1, .3, .6]])   # right on s1 only: 0.25
    q = np.array([[.3, .6, .1], [.1, .8, .1], [.1, .1, .8], [.3, .6, .1]])     # wrong on s1 only: 0.75
    a = _member(tmp_path / "a", names, p, labels)
    perm = [2, 0, 3, 1]   # b lists the same samples in another order
    b = _member(tmp_path / "b", [names[i] for i in perm], q[perm], [labels[i] for i in perm])
    r = invoke("--json", "fuse", a, b, "--out", tmp_path / "f", "--weights", "1,3")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    fused = p + 3 * q   # by hand, in a's order: s1 sums to [1.8, 1.85, 0.35], wrong
    assert doc["top1"] == (fused.argmax(1) == np.array(labels)).mean() == 0.75
    assert [m["top1"] for m in doc["members"]] == [0.25, 0.75]
    assert [m["weight"] for m in doc["members"]] == [1.0, 3.0] and doc["data_fingerprint"] == "f1"
    z = np.load(tmp_path / "f" / "predictions.npz")
    assert list(z["names"]) == names and np.allclose(z["scores"], fused)
    assert (tmp_path / "f" / "confusion.png").stat().st_size > 0
    # equal weights: the plain sum gets s1 right too ([1.2, 0.65, 0.15])
    doc = json.loads(invoke("--json", "fuse", a, b, "--out", tmp_path / "g").stdout)
    assert doc["top1"] == ((p + q).argmax(1) == np.array(labels)).mean() == 1.0


def test_fuses_two_real_runs(tmp_path, invoke):
    one = train_tiny_run(tmp_path, classes=3, per_class=10, epochs=1)
    two = tmp_path / "two"   # same data and seed (so the same split), another temporal kernel
    r = invoke("--quiet", "train", tmp_path / "toy.h5", "--out", two, "--epochs", "1", "--seed", "0", *TINY[:-4],
               "--kernel-size", "5", *TINY[-2:])
    assert r.exit_code == 0, r.stderr
    r = invoke("--json", "fuse", one, two, "--out", tmp_path / "f")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    za, zb = (np.load(run / "predictions.npz") for run in (one, two))
    assert list(za["names"]) == list(zb["names"])
    fused = za["scores"].astype(np.float64) + zb["scores"]
    assert doc["top1"] == (fused.argmax(1) == za["labels"]).mean() and doc["n"] == len(za["names"])
    assert json.loads((one / "metrics.json").read_text())["data_fingerprint"] == doc["data_fingerprint"]
    # another seed draws another random split: other test samples, refused
    three = tmp_path / "three"
    assert invoke("--quiet", "train", tmp_path / "toy.h5", "--out", three, "--epochs", "1", "--seed", "1",
                  *TINY).exit_code == 0
    r = invoke("fuse", one, three, "--out", tmp_path / "g")
    assert r.exit_code == 2 and "scored other samples" in r.stderr


def test_bad_members_exit_2_naming_the_file(tmp_path, invoke):
    names, labels = ["s1", "s2"], [0, 1]
    s = np.array([[.9, .05, .05], [.1, .8, .1]])
    a = _member(tmp_path / "a", names, s, labels)
    cases = [
        (_member(tmp_path / "other", ["s1", "s9"], s, labels), "scored other samples"),
        (_member(tmp_path / "relabelled", names, s, [1, 1]), "labels its samples differently"),
        (_member(tmp_path / "elsewhere", names, s, labels, fingerprint="f2"), "other data"),
        (_member(tmp_path / "nan", names, np.full((2, 3), np.nan), labels), "not finite"),
        (tmp_path / "empty", "holds no test predictions"),
    ]
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "predictions.npz").write_bytes(b"not a zip")
    cases.append((tmp_path / "broken", "cannot be read as predictions"))
    for member, why in cases:
        r = invoke("fuse", a, member, "--out", tmp_path / "out")
        assert r.exit_code == 2 and why in r.stderr and member.name in r.stderr, (member, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "out").exists()
    r = invoke("fuse", a, "--out", tmp_path / "out")
    assert r.exit_code == 2 and "at least two members" in r.stderr
    r = invoke("fuse", a, a, "--out", tmp_path / "out", "--weights", "1")
    assert r.exit_code == 2 and "2 members" in r.stderr
    r = invoke("fuse", a, a, "--out", tmp_path / "out", "--weights", "1,-1")
    assert r.exit_code == 2 and "positive" in r.stderr
    # an existing fusion is replaced only with --force; a user's folder never
    assert invoke("fuse", a, a, "--out", tmp_path / "out").exit_code == 0
    before = (tmp_path / "out" / "metrics.json").read_bytes()
    r = invoke("fuse", a, a, "--out", tmp_path / "out")
    assert r.exit_code == 2 and "--force" in r.stderr
    assert (tmp_path / "out" / "metrics.json").read_bytes() == before
    assert invoke("fuse", a, a, "--out", tmp_path / "out", "--force").exit_code == 0
    r = invoke("fuse", a, a, "--out", a)
    assert r.exit_code == 2 and (a / "predictions.npz").is_file()
