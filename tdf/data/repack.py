"""Copy a store with another compression of `/x` (everything else unchanged).

lzf keeps a real NTU store ≈ 2.1× smaller than uncompressed but costs ≈ 5× the CPU per sample
read (0.34 vs 0.06 ms at T = 300, docs/data.md); on two cores that CPU is
taken from training. `repack` lets a user trade disk for training speed (or back) without
re-importing: the copy has the same samples, metadata, split lists, attributes and data
fingerprint, so runs trained on one work with the other. It streams `/x` a block of samples at
a time and writes a temporary file that is renamed into place only when complete.

The copy is written in the current layout (`tdf.data.store.frame_chunk`: blocks of frames, the
zero padding after each sample's length never written), so repacking an older store also makes
its padding free on disk and on reading.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from tdf.atomic import check_writable, temp_file_beside
from tdf.diskspace import SpaceWatch
from tdf.errors import BadInput

# --compression choices → h5py's `compression` argument
COMPRESSIONS: dict[str, str | None] = {"lzf": "lzf", "gzip": "gzip", "none": None}


def compression_filter(name: str) -> str | None:
    """h5py's `compression` argument for a --compression choice (BadInput for an unknown one)."""
    if name not in COMPRESSIONS:
        raise BadInput(f"--compression must be one of {', '.join(COMPRESSIONS)}, got {name!r}")
    return COMPRESSIONS[name]


BLOCK = 64  # samples per read/write: bounded memory (64 × 180 kB at T = 300, NTU's D = 150)


def repack(src: str | os.PathLike, out: str | os.PathLike, compression: str = "none", force: bool = False,
           progress: Callable[[int, int], None] | None = None) -> dict:
    """Write `out`, a copy of the store `src` whose `/x` has `compression` ("lzf", "gzip" or
    "none"). Returns {"samples", "compression_before", "compression", "bytes_before", "bytes"}."""
    import h5py

    from tdf.data.store import Store, frame_chunk
    h5_compression = compression_filter(compression)
    src, out = Path(src), Path(out)
    with Store(src) as store:  # validates the input (a clear line naming the file if it is no store)
        n = store.n
    if out.exists() and out.resolve() == src.resolve():
        raise BadInput("is the input store; write the copy to a new path", out)
    check_writable(out, force)
    space = SpaceWatch(out.parent, f"the store {out.name}")
    tmp = temp_file_beside(out)
    try:
        with h5py.File(src, "r") as f, h5py.File(tmp, "w") as g:
            before = f["x"].compression or "none"
            for key, value in f.attrs.items():
                g.attrs[key] = value
            for key in f:
                if key != "x":
                    f.copy(f[key], g, name=key)
            x = f["x"]
            y = g.create_dataset("x", shape=x.shape, maxshape=x.maxshape, dtype=x.dtype,
                                 chunks=frame_chunk(x.shape[1], x.shape[2:]), compression=h5_compression,
                                 fillvalue=0.0)
            lengths = f["length"][:]
            for start in range(0, n, BLOCK):
                block = x[start:start + BLOCK]
                for j, sample in enumerate(block):
                    t = min(max(int(lengths[start + j]), 0), len(sample))
                    if sample[t:].any():  # not zero after its length: copy every frame, exactly
                        t = len(sample)
                    if t:
                        y[start + j, :t] = sample[:t]
                space.wrote(block.nbytes)
                if progress:
                    progress(min(start + BLOCK, n), n)
        os.replace(tmp, out)
    except OSError as e:
        raise BadInput(f"could not copy the store ({e.__class__.__name__}: {str(e).splitlines()[0]})", src) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return {"samples": n, "compression_before": before, "compression": compression,
            "bytes_before": src.stat().st_size, "bytes": out.stat().st_size}
