"""Importers: CTR-GCN .npz and ST-GCN .npy + pickle round-trip exactly; bad files → BadInput."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

import tdf.data.importers as imp
from tdf.data.importers import import_ctrgcn_npz, import_stgcn_npy, valid_lengths
from tdf.data.store import open_store
from tdf.errors import BadInput

T = 10


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(imp, "CHUNK", 3)  # several chunks per part, with a remainder


def _seqs(n, rng, lengths=None):
    """n sequences [T, 150] with zero padding after `lengths`, one zero frame inside each."""
    x = rng.normal(size=(n, T, 150)).astype(np.float32)
    lengths = lengths if lengths is not None else rng.integers(3, T + 1, size=n)
    for i, ln in enumerate(lengths):
        x[i, ln:] = 0
        if ln >= 3:
            x[i, 1] = 0  # a 0-body frame inside the sequence must survive
    return x, np.asarray(lengths)


def _onehot(labels, c):
    y = np.zeros((len(labels), c))
    y[np.arange(len(labels)), labels] = 1
    return y


def _ctrgcn(tmp_path, rng, n_train=7, n_test=4, c=5, compressed=False, **over):
    xtr, ltr = _seqs(n_train, rng)
    xte, lte = _seqs(n_test, rng, lengths=[T, 3, 2, 9][:n_test])
    ytr, yte = rng.integers(0, c, n_train), rng.integers(0, c, n_test)
    arrays = {"x_train": xtr, "y_train": _onehot(ytr, c), "x_test": xte, "y_test": _onehot(yte, c)}
    arrays.update(over)
    p = tmp_path / "NTU60_CS.npz"
    (np.savez_compressed if compressed else np.savez)(p, **arrays)
    return p, (xtr, ltr, ytr), (xte, lte, yte)


def test_valid_lengths():
    x = np.zeros((3, 5, 150), np.float32)
    x[0, :2] = 1
    x[1, 4, 7] = -1
    x[2, 0] = 1
    x[2, 3] = 1  # zero frames inside count, trailing ones do not
    assert valid_lengths(x).tolist() == [2, 5, 4]
    assert valid_lengths(np.zeros((1, 4, 150))).tolist() == [0]


@pytest.mark.parametrize("compressed", [False, True])
def test_ctrgcn_round_trip(tmp_path, compressed):
    rng = np.random.default_rng(0)
    src, (xtr, ltr, ytr), (xte, lte, yte) = _ctrgcn(tmp_path, rng, compressed=compressed)
    s = import_ctrgcn_npz(src, tmp_path / "out.h5")
    assert s.samples == 11 and s.parts == {"train": 7, "test": 4} and s.frames == T
    st = open_store(tmp_path / "out.h5")
    assert st.n == 11 and st.T == T and st.class_names == [f"class_{i:03d}" for i in range(5)]
    np.testing.assert_array_equal(st.read(np.arange(7)), xtr)
    np.testing.assert_array_equal(st.read(np.arange(7, 11)), xte)
    assert st.length.tolist() == ltr.tolist() + lte.tolist()
    assert st.label.tolist() == ytr.tolist() + yte.tolist()
    assert st.names[:2] == ["ctrgcn_train_000001", "ctrgcn_train_000002"]
    assert st.names[7] == "ctrgcn_test_000001" and st.names[-1] == "ctrgcn_test_000004"
    assert set(st.subject.tolist()) == {-1} and set(st.camera.tolist()) == {-1}
    assert st.json_attr("import_parts") == {"train": 7, "test": 4}
    np.testing.assert_array_equal(st.read_one(0).reshape(-1, 150), xtr[0, :ltr[0]])


def test_ctrgcn_one_part_and_ntu_names(tmp_path):
    rng = np.random.default_rng(1)
    src, _, (xte, lte, yte) = _ctrgcn(tmp_path, rng, c=60)
    import_ctrgcn_npz(src, tmp_path / "test.h5", parts=("test",))
    st = open_store(tmp_path / "test.h5")
    assert st.n == 4 and st.names[0] == "ctrgcn_test_000001"
    assert len(st.class_names) == 60 and st.class_names[0] == "drink water"
    np.testing.assert_array_equal(st.read(np.arange(4)), xte)


@pytest.mark.parametrize("over, match", [
    ({"y_train": np.full((7, 5), 0.2)}, "y_train is not one-hot"),
    ({"y_train": np.zeros((6, 5))}, "y_train has 6 rows but x_train has 7"),
    ({"x_train": np.zeros((7, T, 75), np.float32)}, r"x_train has shape \(7, 10, 75\)"),
    ({"x_test": np.zeros((4, T + 1, 150), np.float32)}, "11 frames but another part has 10"),
    ({"y_test": np.eye(4, 6)}, "different class counts"),
    ({"x_train": np.full((7, T, 150), np.nan, np.float32), "x_test": np.full((4, T, 150), np.inf, np.float32)},
     "every sample holds NaN or infinite values .e.g. 'ctrgcn_train_000001'"),
    ({"x_train": np.zeros((7, T, 150), np.complex64)}, "x_train has dtype complex64, expected numbers"),
    ({"y_train": np.zeros((7, imp.MAX_CLASSES + 1), np.uint8)}, "y_train has 10,001 classes"),
])
def test_ctrgcn_bad_arrays(tmp_path, over, match):
    src, *_ = _ctrgcn(tmp_path, np.random.default_rng(2), **over)
    with pytest.raises(BadInput, match=rf"NTU60_CS\.npz: .*{match}"):
        import_ctrgcn_npz(src, tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["NTU60_CS.npz"], "no temp file left behind"


def test_ctrgcn_missing_key_and_not_npz(tmp_path):
    p = tmp_path / "a.npz"
    np.savez(p, x_train=np.zeros((2, T, 150), np.float32))
    with pytest.raises(BadInput, match=r"a\.npz: no array 'x_test' in the \.npz \(it has: x_train\)"):
        import_ctrgcn_npz(p, tmp_path / "o.h5")
    with pytest.raises(BadInput, match=r"a\.npz: no array 'y_train'"):
        import_ctrgcn_npz(p, tmp_path / "o.h5", parts=("train",))
    q = tmp_path / "b.npz"
    q.write_text("hello")
    with pytest.raises(BadInput, match=r"b\.npz: not a readable \.npz"):
        import_ctrgcn_npz(q, tmp_path / "o.h5")
    r = tmp_path / "obj.npz"
    np.savez(r, x_train=np.array([None, 1], dtype=object), y_train=np.eye(2))
    with pytest.raises(BadInput, match="Python objects"):
        import_ctrgcn_npz(r, tmp_path / "o.h5", parts=("train",))


def _stgcn(tmp_path, rng, n=7, m=2, names=None, labels=None):
    x, lengths = _seqs(n, rng)
    x5 = x.reshape(n, T, 2, 25, 3)[:, :, :m].transpose(0, 4, 1, 3, 2)  # (N, 3, T, 25, M)
    x5 = np.ascontiguousarray(x5)
    if names is None:
        names = [f"S{1 + i % 3:03d}C00{1 + i % 3}P{3 * i + 1:03d}R00{1 + i % 2}A0{10 + 7 * i:02d}.skeleton"
                 for i in range(n)]
    if labels is None:
        labels = [int(s[17:20]) - 1 for s in names]
    np.save(tmp_path / "train_data_joint.npy", x5)
    (tmp_path / "train_label.pkl").write_bytes(pickle.dumps((names, labels)))
    return tmp_path / "train_data_joint.npy", x5, names, labels


@pytest.mark.parametrize("m", [2, 1])
def test_stgcn_round_trip(tmp_path, m):
    rng = np.random.default_rng(3)
    src, x5, names, labels = _stgcn(tmp_path, rng, m=m)
    s = import_stgcn_npy(src, tmp_path / "out.h5")  # labels file found beside the array
    assert s.labels_file == str(tmp_path / "train_label.pkl") and s.samples == 7
    st = open_store(tmp_path / "out.h5")
    want = np.zeros((7, T, 2, 25, 3), np.float32)
    want[:, :, :m] = x5.transpose(0, 2, 4, 3, 1)  # independent: (N,C,T,V,M) → (N,T,M,V,C)
    np.testing.assert_array_equal(st.read(np.arange(7)), want.reshape(7, T, 150))
    assert st.names == [n[:-len(".skeleton")] for n in names]
    assert st.label.tolist() == labels
    assert st.subject.tolist() == [3 * i + 1 for i in range(7)]
    assert st.camera.tolist() == [1 + i % 3 for i in range(7)]
    assert st.setup.tolist() == [1 + i % 3 for i in range(7)]
    assert st.replication.tolist() == [1 + i % 2 for i in range(7)]
    assert len(st.class_names) == 60 and st.class_names[9] == "clapping"
    assert st.length.tolist() == valid_lengths(want).tolist()


def test_stgcn_plain_names(tmp_path):
    rng = np.random.default_rng(4)
    src, *_ = _stgcn(tmp_path, rng, n=4, names=["a", "b", "c", "d"], labels=[0, 2, 1, 2])
    cls = tmp_path / "classes.txt"
    cls.write_text("wave\nclap\njump\nsit\n")
    import_stgcn_npy(src, tmp_path / "out.h5", class_names=str(cls))
    st = open_store(tmp_path / "out.h5")
    assert st.class_names == ["wave", "clap", "jump", "sit"] and st.label.tolist() == [0, 2, 1, 2]
    assert st.subject.tolist() == [-1] * 4
    with pytest.raises(BadInput, match="labels go up to 2 but --class-names"):
        cls.write_text("wave\nclap\n")
        import_stgcn_npy(src, tmp_path / "o2.h5", class_names=str(cls))


def test_stgcn_bad_inputs(tmp_path):
    rng = np.random.default_rng(5)
    src, x5, names, labels = _stgcn(tmp_path, rng)
    pkl = tmp_path / "train_label.pkl"
    pkl.write_bytes(pickle.dumps((names[:-1], labels[:-1])))
    with pytest.raises(BadInput, match=r"train_label\.pkl: 6 names/labels but train_data_joint\.npy holds 7"):
        import_stgcn_npy(src, tmp_path / "o.h5")
    wrong = list(labels)
    wrong[2] = 0
    pkl.write_bytes(pickle.dumps((names, wrong)))
    with pytest.raises(BadInput, match=r"label 0 of S003C003P007R001A024 disagrees with its action A024"):
        import_stgcn_npy(src, tmp_path / "o.h5")
    pkl.write_bytes(pickle.dumps((names[:1] * 7, labels[:1] * 7)))
    with pytest.raises(BadInput, match="occurs more than once"):
        import_stgcn_npy(src, tmp_path / "o.h5")
    bad = tmp_path / "bad_data.npy"
    np.save(bad, np.zeros((7, 3, T, 25)))
    with pytest.raises(BadInput, match=r"bad_data\.npy: array has shape \(7, 3, 10, 25\)"):
        import_stgcn_npy(bad, tmp_path / "o.h5", labels=pkl)
    (tmp_path / "text_data.npy").write_text("not numpy")
    with pytest.raises(BadInput, match=r"text_data\.npy: array text_data\.npy is not a readable \.npy"):
        import_stgcn_npy(tmp_path / "text_data.npy", tmp_path / "o.h5", labels=pkl)
    np.save(tmp_path / "f_data.npy", np.asfortranarray(x5))
    with pytest.raises(BadInput, match="Fortran order"):
        import_stgcn_npy(tmp_path / "f_data.npy", tmp_path / "o.h5", labels=pkl)
    short = tmp_path / "short_data.npy"
    short.write_bytes((tmp_path / "train_data_joint.npy").read_bytes()[:-100])
    pkl.write_bytes(pickle.dumps((names, labels)))
    with pytest.raises(BadInput, match=r"short_data\.npy: array short_data\.npy is truncated"):
        import_stgcn_npy(short, tmp_path / "o.h5", labels=pkl)
    lone = tmp_path / "sub"
    lone.mkdir()
    np.save(lone / "x.npy", x5)
    with pytest.raises(BadInput, match="pass --labels"):
        import_stgcn_npy(lone / "x.npy", tmp_path / "o.h5")
    assert not (tmp_path / "o.h5").exists()


def test_cli_import_and_refusals(tmp_path, invoke):
    rng = np.random.default_rng(6)
    src, *_ = _ctrgcn(tmp_path, rng)
    out = tmp_path / "out.h5"
    r = invoke("--json", "data", "import", src, out, "--format", "ctrgcn-npz", "--split-part", "train")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["parts"] == {"train": 7}
    r = invoke("data", "import", src, out, "--format", "ctrgcn-npz")
    assert r.exit_code == 2 and "out.h5: already exists; pass --force" in r.stderr
    r = invoke("data", "import", src, out, "--format", "ctrgcn-npz", "--force")
    assert r.exit_code == 0 and "11 samples imported" in r.stdout
    assert open_store(out).n == 11
    # a malicious label pickle is refused through the CLI and never executed
    ssrc, *_ = _stgcn(tmp_path, rng)
    target = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {target}",))
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps((["a"], [Evil()])))
    r = invoke("data", "import", ssrc, tmp_path / "s.h5", "--format", "stgcn-npy", "--labels", evil)
    assert r.exit_code == 2 and "evil.pkl: pickle holds non-plain types" in r.stderr
    assert not target.exists() and not (tmp_path / "s.h5").exists()
    r = invoke("data", "import", ssrc, tmp_path / "s.h5", "--format", "stgcn-npy", "--split-part", "test")
    assert r.exit_code == 2 and "--split-part applies to --format ctrgcn-npz only" in r.stderr


def test_ctrgcn_nonfinite_samples_are_skipped_and_reported(tmp_path, invoke):
    rng = np.random.default_rng(7)
    xtr, _ = _seqs(7, rng)
    xtr[2, 0, 0] = np.nan
    xtr[5, 3, 7] = np.inf
    src, *_ = _ctrgcn(tmp_path, rng, x_train=xtr)
    s = import_ctrgcn_npz(src, tmp_path / "out.h5")
    assert s.nonfinite == 2 and s.nonfinite_samples == ["ctrgcn_train_000003", "ctrgcn_train_000006"]
    st = open_store(tmp_path / "out.h5")
    assert st.n == 9 == s.samples and "ctrgcn_train_000003" not in st.names
    kept = [i for i in range(7) if i not in (2, 5)]
    np.testing.assert_array_equal(st.read(np.arange(5)), xtr[kept])
    r = invoke("data", "import", src, tmp_path / "cli.h5", "--format", "ctrgcn-npz")
    assert r.exit_code == 0 and "2 samples hold NaN or infinite values and were skipped" in r.stdout


def _raw_npy(path, shape, dtype="<f4", body=b""):
    """An .npy file whose header declares `shape` whatever the body holds (a forged header)."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, dtype))
    header["shape"] = tuple(shape)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(body)


def test_hostile_sizes_are_refused_before_allocating(tmp_path):
    rng = np.random.default_rng(8)
    src, x5, names, labels = _stgcn(tmp_path, rng)
    pkl = tmp_path / "train_label.pkl"
    # a header declaring 10¹⁵ samples on a small file: refused from the header, nothing read
    _raw_npy(tmp_path / "forged_data.npy", (10 ** 15, 3, T, 25, 2), body=b"\0" * 4096)
    with pytest.raises(BadInput, match=r"forged_data\.npy: array forged_data\.npy is truncated: its header "
                                       r"declares shape \(1000000000000000, 3, 10, 25, 2\)"):
        import_stgcn_npy(tmp_path / "forged_data.npy", tmp_path / "o.h5", labels=pkl)
    # T beyond MAX_FRAMES: refused with the bound and the way out
    long_t = imp.MAX_FRAMES + 1
    _raw_npy(tmp_path / "long_data.npy", (1, 3, long_t, 25, 1), body=bytes(4 * 3 * long_t * 25))
    pkl2 = tmp_path / "long_label.pkl"
    pkl2.write_bytes(pickle.dumps((["a"], [0])))
    with pytest.raises(BadInput, match=r"long_data\.npy: long_data\.npy has 10,001 frames per sample, more than "
                                       r"the 10000 tdf supports; pass --max-frames"):
        import_stgcn_npy(tmp_path / "long_data.npy", tmp_path / "o.h5", labels=pkl2)
    assert not (tmp_path / "o.h5").exists()


def test_zip_bomb_labels_stream_in_bounded_memory(tmp_path, monkeypatch):
    """A small .npz whose one-hot y_train inflates to far more than a chunk is read in chunks:
    no single read is larger than CHUNK_BYTES (the whole array is never in memory)."""
    monkeypatch.setattr(imp, "CHUNK", 64)
    monkeypatch.setattr(imp, "CHUNK_BYTES", 1 << 16)
    n, c = 600, 2000                               # y_train: 600 × 2000 float64 = 9.6 MB inflated
    y = np.zeros((n, c))
    y[np.arange(n), np.arange(n) % c] = 1
    x = np.zeros((n, 4, 150), np.float32)
    x[:, 0, 0] = 1
    p = tmp_path / "bomb.npz"
    np.savez_compressed(p, x_train=x, y_train=y)
    assert p.stat().st_size < 200_000
    reads = []
    orig = imp._NpyRows._read_exact

    def spy(self, k):
        reads.append(k)
        return orig(self, k)
    monkeypatch.setattr(imp._NpyRows, "_read_exact", spy)
    s = import_ctrgcn_npz(p, tmp_path / "o.h5", parts=("train",), class_names=None)
    assert s.samples == n and max(reads) <= (1 << 16)
    assert open_store(tmp_path / "o.h5").label.tolist() == (np.arange(n) % c).tolist()


@pytest.mark.parametrize("fmt", ["ctrgcn", "stgcn"])
def test_max_frames_crops_while_streaming(tmp_path, fmt, invoke):
    rng = np.random.default_rng(9)
    if fmt == "ctrgcn":
        src, (xtr, ltr, ytr), (xte, lte, yte) = _ctrgcn(tmp_path, rng)
        want = np.concatenate([xtr, xte])[:, :4]
        s = import_ctrgcn_npz(src, tmp_path / "o.h5", max_frames=4)
        args = ["--format", "ctrgcn-npz"]
    else:
        src, x5, names, labels = _stgcn(tmp_path, rng)
        want = np.ascontiguousarray(x5.transpose(0, 2, 4, 3, 1))  # (N, T, M, 25, 3)
        want = want.reshape(len(want), T, 150)[:, :4]
        s = import_stgcn_npy(src, tmp_path / "o.h5", max_frames=4)
        args = ["--format", "stgcn-npy"]
    assert s.frames == 4 and s.source_frames == T
    st = open_store(tmp_path / "o.h5")
    assert st.T == 4
    np.testing.assert_array_equal(st.read(np.arange(st.n)), want)
    assert st.length.tolist() == valid_lengths(want).tolist()
    r = invoke("data", "import", src, tmp_path / "cli.h5", *args, "--max-frames", "4")
    assert r.exit_code == 0, r.stderr
    r = invoke("data", "import", src, tmp_path / "cli2.h5", *args, "--max-frames", "0")
    assert r.exit_code == 2 and "--max-frames" in r.stderr
