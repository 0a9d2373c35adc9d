"""``monitor.drift.npz``: an ``.npz`` read as views of its bytes, whatever holds those bytes (the
drift rule hands it a view of the version's bundle), without a transient copy of them."""

from __future__ import annotations

import doctest
import io
import tracemalloc

import numpy as np
import pytest

from monitor.drift import npz


def _archive(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_the_npz_doctest_holds():
    assert doctest.testmod(npz).failed == 0


@pytest.mark.parametrize("holder", [bytes, memoryview, lambda b: np.frombuffer(b, dtype=np.uint8)])
def test_an_archive_is_viewed_without_copying_its_bytes(holder):
    data = _archive(big=np.arange(2_000_000, dtype=np.float64), small=np.array([3, 1, 2]))  # 16 MB
    held = holder(data)
    tracemalloc.start()
    try:
        arrays = npz.npz_views(held)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < len(data) / 20, f"{peak:,} bytes allocated to view a {len(data):,}-byte archive"
    assert np.array_equal(arrays["big"], np.arange(2_000_000, dtype=np.float64))
    assert arrays["small"].tolist() == [3, 1, 2] and not arrays["big"].flags.writeable


def test_an_archive_inside_an_archive_is_viewed_like_np_load_reads_it():
    inner = _archive(x=np.linspace(0, 1, 1000), names=np.array(["a", "bb"]))
    outer = npz.npz_views(_archive(inner=np.frombuffer(inner, dtype=np.uint8), other=np.zeros(3)))
    viewed = npz.npz_views(outer["inner"])  # a view of a view, as the drift rule reads a segment's reference
    with np.load(io.BytesIO(inner)) as loaded:
        assert set(viewed) == set(loaded.files)
        for name in loaded.files:
            assert np.array_equal(viewed[name], loaded[name]) and viewed[name].dtype == loaded[name].dtype


def test_the_view_file_reads_and_seeks_as_bytes_io_does():
    data = bytes(range(256)) * 40
    rng = np.random.default_rng(3)
    ours, theirs = npz._ViewFile(memoryview(data)), io.BytesIO(data)
    for _ in range(300):
        whence = int(rng.integers(0, 3))
        offset = int(rng.integers(0, len(data) + 50)) if whence == io.SEEK_SET else int(rng.integers(-50, 50))
        if whence == io.SEEK_CUR:
            offset = max(offset, -theirs.tell())
        if whence == io.SEEK_END:
            offset = max(offset, -len(data))
        assert ours.seek(offset, whence) == theirs.seek(offset, whence)
        size = int(rng.integers(-1, 600))
        assert ours.read(size) == theirs.read(size)
        assert ours.tell() == theirs.tell()
    with pytest.raises(ValueError, match="negative seek"):
        ours.seek(-1)
