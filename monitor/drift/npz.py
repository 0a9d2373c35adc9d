"""The arrays of an uncompressed ``.npz`` (``np.savez``) as read-only views of its bytes: no copy.

A version's drift reference is a bundle of one ``.npz`` per segment value (``monitor.reference.pack``)
inside another ``.npz``, tens of MB for a 200k-row reference. ``np.load`` copies every array it
reads out of a byte string, so the detect stage held the bundle and a decoded copy of it. Members
of a stored (uncompressed) zip sit whole at known offsets, and an ``.npy`` member is a small
header and the raw array, so each array can be a view of the bundle instead.

>>> import io
>>> buffer = io.BytesIO()
>>> np.savez(buffer, a=np.arange(3.0), b=np.array([1, 2], dtype=np.int64))
>>> arrays = npz_views(buffer.getvalue())
>>> arrays["a"].tolist(), arrays["b"].dtype.name, arrays["a"].flags.writeable
([0.0, 1.0, 2.0], 'int64', False)
"""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np

_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")


def npz_views(data: bytes | memoryview | np.ndarray) -> dict[str, np.ndarray]:
    """Every member of an ``np.savez`` archive as an array viewing ``data`` (``name`` without
    ``.npy``). Raises :class:`ValueError` for a compressed member (use ``np.load`` for those)."""
    view = memoryview(data).cast("B")
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(_ViewFile(view)) as archive:  # reads the central directory only
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"npz member {info.filename} is compressed; it cannot be viewed in place")
            fields = _LOCAL_HEADER.unpack_from(view, info.header_offset)
            start = info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            arrays[name] = _npy_view(view[start:start + info.file_size])
    return arrays


class _ViewFile(io.RawIOBase):
    """A read-only, seekable file over a memoryview, for :class:`zipfile.ZipFile`: ``io.BytesIO``
    shares a ``bytes`` object but copies anything else, and the bundle (or a segment's blob
    inside it) arrives as a view: detect's peak held a transient copy of the whole 64 MB bundle
    while the zip's directory was read."""

    def __init__(self, view: memoryview):
        super().__init__()
        self._view, self._position = view, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._position = base + offset
        return self._position

    def readinto(self, buffer) -> int:
        chunk = self._view[self._position:self._position + len(buffer)]
        memoryview(buffer).cast("B")[:len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)


def _npy_view(member: memoryview) -> np.ndarray:
    header = io.BytesIO(member[:4096].tobytes())  # the header, padded to 64 bytes, is well inside
    version = np.lib.format.read_magic(header)
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in readers:
        raise ValueError(f"npz member has .npy format {version}; only 1.0 and 2.0 are viewed in place")
    shape, fortran, dtype = readers[version](header)
    if dtype.hasobject:
        raise ValueError("npz member holds Python objects; refusing to read it")
    count = int(np.prod(shape, dtype=np.int64))
    array = np.frombuffer(member, dtype=dtype, count=count, offset=header.tell())
    return array.reshape(shape, order="F" if fortran else "C")
