"""Batch arrays whose data starts on a 64-byte boundary, so TensorFlow takes them without a copy.

`tf.numpy_function` (the training feed, `tdf.train.feed`) hands a returned ndarray to TensorFlow
as is when its data is aligned to TensorFlow's 64-byte tensor alignment and copies it otherwise;
numpy's allocator only promises 16 bytes. A full-size batch is 23 MB (128 × 300 × 150 float32):
the copy costs ≈ 1 ms of CPU per batch (0.2 ms aligned against 1.3 ms not, beside every training
step; docs/benchmarks.md, "Issue 16, eighth look"). The readers therefore fill an uninitialised
aligned array, writing each byte once (`np.zeros` and a partial fill wrote most bytes twice).
"""

from __future__ import annotations

import numpy as np

ALIGN_BYTES = 64  # TensorFlow's tensor alignment (Allocator::kAllocatorAlignment)


def empty_aligned(shape, dtype=np.float32, align: int = ALIGN_BYTES) -> np.ndarray:
    """An uninitialised C-contiguous array of `shape` and `dtype` whose data address is a multiple
    of `align` bytes (a view into a slightly larger buffer, which it keeps alive). An empty array
    has no data to align and is a plain `np.empty`."""
    dtype = np.dtype(dtype)
    shape = tuple(int(s) for s in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes == 0:
        return np.empty(shape, dtype)
    buf = np.empty(nbytes + align, np.uint8)
    start = (-buf.ctypes.data) % align
    return buf[start:start + nbytes].view(dtype).reshape(shape)
