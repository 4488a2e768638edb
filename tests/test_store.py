
import h5py
import numpy as np
import pytest

from tdf.data.store import Sample, StoreWriter, open_store, parse_ntu_name
from tdf.errors import BadInput


def _write(path, n=5, T=20, force=False):
    rng = np.random.default_rng(0)
    xs = []
    with StoreWriter(path, T, ["a", "b"], source="test", force=force, attrs={"planted_group": "hands"}) as w:
        for i in range(n):
            t = 5 + i * 5
            x = rng.normal(size=(t, 2, 25, 3)).astype(np.float32)
            xs.append(x)
            w.append(Sample(x, label=i % 2, name=f"s{i}", subject=i, camera=1))
    return xs


def test_round_trip(tmp_path):
    p = tmp_path / "d.h5"
    xs = _write(p)
    s = open_store(p)
    assert s.n == 5 and s.T == 20 and s.class_names == ["a", "b"]
    assert list(s.length) == [5, 10, 15, 20, 20]
    assert s.attr("planted_group") == "hands" and s.attr("joint_layout") == "ntu25"
    batch = s.read([3, 0])
    assert batch.shape == (2, 20, 150)
    np.testing.assert_array_equal(batch[1, :5], xs[0].reshape(5, 150))
    assert not batch[1, 5:].any(), "padding is zero"
    np.testing.assert_array_equal(batch[0], xs[3][:20].reshape(20, 150))  # cropped to T
    assert s.index_of("s2") == 2 and list(s.subject) == [0, 1, 2, 3, 4]
    assert list(s.setup) == [-1] * 5
    with open(p, "rb"):
        pass
    with h5py.File(p) as f:
        assert f["x"].chunks == (1, 20, 2, 25, 3)


def test_never_overwrites_without_force(tmp_path):
    p = tmp_path / "d.h5"
    _write(p)
    before = p.read_bytes()
    with pytest.raises(BadInput, match="--force"):
        _write(p)
    assert p.read_bytes() == before
    _write(p, n=2, force=True)
    assert open_store(p).n == 2


def test_failed_write_leaves_nothing(tmp_path):
    p = tmp_path / "d.h5"
    with pytest.raises(RuntimeError):
        with StoreWriter(p, 10, ["a"], source="t") as w:
            w.append(Sample(np.zeros((3, 150)), 0, "x"))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_corrupt_and_foreign_files(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all")
    with pytest.raises(BadInput, match="bad.h5: not a readable HDF5 store"):
        open_store(bad)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["y"] = np.zeros(3)
    with pytest.raises(BadInput, match="missing dataset"):
        open_store(other)
    with pytest.raises(BadInput, match="not found"):
        open_store(tmp_path / "nope.h5")
    p = tmp_path / "d.h5"
    _write(p)
    data = bytearray(p.read_bytes())
    half = tmp_path / "trunc.h5"
    half.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(BadInput, match="trunc.h5"):
        s = open_store(half)
        s.read(range(s.n))


def test_nan_rejected(tmp_path):
    with pytest.raises(BadInput, match="NaN"):
        with StoreWriter(tmp_path / "d.h5", 10, ["a"], source="t") as w:
            w.append(Sample(np.full((3, 150), np.nan), 0, "x"))


def test_parse_ntu_name():
    assert parse_ntu_name("S001C002P003R002A013") == {
        "setup": 1, "camera": 2, "subject": 3, "replication": 2, "action": 13}
    assert parse_ntu_name("foo") is None


def test_writer_refuses_duplicate_names_and_too_many_frames(tmp_path):
    with pytest.raises(BadInput, match="sample name 'x' is written twice"):
        with StoreWriter(tmp_path / "d.h5", 10, ["a"], source="t") as w:
            w.append(Sample(np.zeros((3, 150)), 0, "x"))
            w.append(Sample(np.zeros((3, 150)), 0, "x"))
    with pytest.raises(BadInput, match="10001 frames per sample is more than the 10000"):
        StoreWriter(tmp_path / "d.h5", 10_001, ["a"], source="t")
    assert list(tmp_path.iterdir()) == []


def test_open_checks_a_sample_and_every_read_checks_its_rows(tmp_path):
    """Opening reads only a few evenly spaced samples (cheap for any N); a NaN elsewhere is
    found by the read that touches it, which names the sample — never silently returned."""
    from tdf.data.validate import SAMPLED, sampled_rows, scan_finite
    p = tmp_path / "d.h5"
    _write(p, n=20)
    assert sampled_rows(20).tolist() == [0, 3, 5, 8, 11, 14, 16, 19] and len(sampled_rows(10 ** 6)) == SAMPLED
    with h5py.File(p, "r+") as f:
        x = f["x"][4]
        x[1, 0, 3, 2] = np.inf
        f["x"][4] = x
    s = open_store(p)                         # row 4 is not among the sampled rows
    s.read([0, 1, 2])
    with pytest.raises(BadInput, match=r"d\.h5: /x of sample\(s\) 's4' contains NaN or infinite values"):
        s.read([1, 4])
    with pytest.raises(BadInput, match="'s4'"):
        s.read_one(4)
    with pytest.raises(BadInput, match="'s4'"):
        scan_finite(s, np.arange(20))
    s.close()
    with h5py.File(p, "r+") as f:
        x = f["x"][0]
        x[0, 0, 0, 0] = np.nan
        f["x"][0] = x
    with pytest.raises(BadInput, match="'s0'"):
        open_store(p)                         # a sampled row: refused on open


def test_open_names_the_field(tmp_path):
    p = tmp_path / "d.h5"
    _write(p)
    with h5py.File(p, "r+") as f:
        lab = f["label"][:]
        del f["label"]
        f["label"] = lab + 0.7
    with pytest.raises(BadInput, match=r"d\.h5: /label has dtype float64, expected integers"):
        open_store(p)
    _write(p, force=True)
    with h5py.File(p, "r+") as f:
        f.attrs["class_names"] = "[[\"a\"], [\"b\"]]"
    with pytest.raises(BadInput, match=r"attribute class_names must list strings, found \['a'\]"):
        open_store(p)


def test_padding_is_never_stored_and_reads_as_zero(tmp_path):
    """/x is chunked in blocks of frames (frame_chunk) and only a sample's own frames are
    written: the blocks after its length are not allocated, yet read as zeros."""
    from tdf.data.store import frame_chunk
    assert frame_chunk(300, (2, 25, 3)) == (1, 54, 2, 25, 3)  # 32 KiB // (150 floats × 4 bytes)
    assert frame_chunk(10, (2, 25, 3)) == (1, 10, 2, 25, 3)   # never more than T
    assert frame_chunk(300, (1, 20000, 3))[1] == 1              # never less than one frame
    p = tmp_path / "d.h5"
    lengths = [3, 60, 0, 130]
    with StoreWriter(p, 200, ["a"], source="test", compression=None) as w:
        for i, t in enumerate(lengths):
            w.append(Sample(np.full((t, 2, 25, 3), i + 1, np.float32), 0, f"s{i}"))
    with h5py.File(p) as f:
        x = f["x"]
        assert x.chunks == (1, 54, 2, 25, 3)
        blocks = sum(-(-t // 54) for t in lengths)                # 1 + 2 + 0 + 3
        assert x.id.get_storage_size() == blocks * 54 * 600
    with open_store(p) as s:
        got = s.read(range(4))
    for i, t in enumerate(lengths):
        assert (got[i, :t] == i + 1).all() and not got[i, t:].any()


def test_repack_rewrites_an_old_layout_store_without_its_padding(tmp_path):
    """A store of the layout before 2026-12-03 (one chunk per sample, padding written) repacks to
    the block layout: the same values, only the frames stored; a sample that is not zero after its
    length (not written by tdf) is copied whole."""
    from tdf.data.repack import repack
    p = tmp_path / "d.h5"
    _write(p, T=300)               # lengths 5, 10, 15, 20, 25
    with h5py.File(p, "a") as f:   # rewrite /x as the old layout did
        old = f["x"][()]
        old[1, 150] = 7.0          # beyond sample 1's length: must survive the repack
        del f["x"]
        f.create_dataset("x", data=old, chunks=(1, *old.shape[1:]), maxshape=(None, *old.shape[1:]))
        assert f["x"].id.get_storage_size() == 5 * 300 * 600
    repack(p, tmp_path / "new.h5", compression="none")
    with h5py.File(p) as f, h5py.File(tmp_path / "new.h5") as g:
        assert np.array_equal(f["x"][()], g["x"][()])
        assert g["x"].chunks == (1, 54, 2, 25, 3)
        # one 54-frame block for each of four samples, all six blocks of 300 frames for sample 1
        assert g["x"].id.get_storage_size() == (4 + 6) * 54 * 600
