"""CSV files at Arrow speed, past their bad lines.

The file is cut into chunks of whole lines (``batch_size`` lines each, so memory stays bounded
whatever the file's size) and each chunk is parsed by ``pyarrow.csv`` as text columns. pyarrow
fails a whole block on one bad line (a non-UTF-8 byte, a ragged row, a stray quote that swallows
the following lines), so a chunk that fails, or whose record count differs from its line count,
is parsed again line by line with the :mod:`csv` module: each bad line is quarantined with its
number and the rest of the chunk is kept.

A consequence: a quoted value spanning several lines is not supported (its lines are quarantined,
each with its number); prediction logs are one line per row.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from monitor.ingest.validate import Batch, Rejected, validate_arrays

# What pandas reads as NA by default; in a CSV these mean "missing" (except in the id column).
CSV_NA_VALUES = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
     "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)
_NA = pa.array(sorted(CSV_NA_VALUES))
_BLOCK = 1 << 22
_BOM = b"\xef\xbb\xbf"
# The csv module refuses fields over 128 KiB; a 10 MB field must cost its row (validation caps
# it), not the parse of its chunk. Raised once, process-wide, never lowered.
csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))


def read_header(handle: BinaryIO) -> tuple[list[str] | None, str | None]:
    """The header's column names (None for an empty file), or the reason it cannot be read."""
    line = handle.readline()
    if line.startswith(_BOM):
        line = line[len(_BOM):]
    if not line.strip(b"\r\n"):
        return None, None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text ({exc.reason} at byte {exc.start} of the header)"
    try:
        return next(csv.reader([text.rstrip("\r\n")], strict=True)), None
    except csv.Error as exc:
        return None, f"cannot parse the header: {exc}"


def line_chunks(handle: BinaryIO, lines: int) -> Iterator[bytes]:
    """The rest of the file as chunks of ``lines`` whole lines (the last may be shorter). Each
    block is scanned once: whole blocks are only counted, the block holding a cut is indexed."""
    pending: list[bytes] = []
    have = 0  # newlines in pending
    while block := handle.read(_BLOCK):
        count = block.count(b"\n")
        if have + count < lines:
            pending.append(block)
            have += count
            continue
        ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
        start = 0
        index = lines - have - 1
        while index < len(ends):
            cut = int(ends[index]) + 1
            pending.append(block[start:cut])
            yield b"".join(pending)
            pending, have, start = [], 0, cut
            index += lines
        pending.append(block[start:])
        have = len(ends) - (index - lines + 1)
    tail = b"".join(pending)
    if tail:
        yield tail


def _records(chunk: bytes) -> int:
    """Non-blank lines of a chunk (what the csv module counts as records)."""
    view = np.frombuffer(chunk, dtype=np.uint8)
    ends = np.flatnonzero(view == 10)
    if len(chunk) and chunk[-1:] != b"\n":
        ends = np.append(ends, len(chunk))
    starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else np.array([], dtype=np.int64)
    length = ends - starts
    blank = (length == 0) | ((length == 1) & (view[np.minimum(starts, len(chunk) - 1)] == 13))
    return int((~blank).sum())


def _parse(chunk: bytes, names: list[str], block_size: int) -> pa.Table:
    return pacsv.read_csv(
        io.BytesIO(chunk),
        read_options=pacsv.ReadOptions(column_names=names, block_size=block_size),
        parse_options=pacsv.ParseOptions(newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False),
    )


def _fast(chunk: bytes, width: int) -> list[pa.Array] | None:
    """The chunk's text columns, or None when pyarrow cannot vouch for every line."""
    names = [f"c{j}" for j in range(width)]
    try:
        table = _parse(chunk, names, 1 << 20)  # 1 MB blocks: 3x faster than one big block
    except pa.ArrowException:
        try:  # a line longer than a block (a 10 MB field): one block for the whole chunk
            table = _parse(chunk, names, len(chunk) + 1)
        except pa.ArrowException:
            return None
    lines = chunk.count(b"\n") + (chunk[-1:] != b"\n")
    if table.num_rows != lines and table.num_rows != _records(chunk):
        return None  # a quote joined lines: find the damage line by line
    return [table.column(j).combine_chunks() for j in range(width)]


def _slow(chunk: bytes, header: list[str], first: int, id_column: str) -> tuple[list[pa.Array], list[int], list[Rejected]]:
    """Line by line: the good lines as text columns, their numbers, and the bad lines."""
    width = len(header)
    good: list[list[str]] = []
    numbers: list[int] = []
    rejected: list[Rejected] = []
    number = first - 1
    for line in chunk.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            continue
        number += 1
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            rejected.append(Rejected(number, f"not UTF-8 text ({exc.reason} at byte {exc.start} of the line)",
                                     {"line": line[:1000].decode("utf-8", "replace")}))
            continue
        try:
            fields = next(csv.reader([text], strict=True))
        except csv.Error as exc:
            rejected.append(Rejected(number, f"cannot parse the line as CSV ({exc}; a stray quote?)",
                                     {"line": _clip(text)}))
            continue
        if len(fields) != width:
            raw = raw_row(header, fields, id_column)
            if len(fields) > width:
                raw["_extra_fields"] = [_clip(f) for f in fields[width:]]
            rejected.append(Rejected(number, f"row has {len(fields)} fields but the header has {width}", raw))
            continue
        good.append(fields)
        numbers.append(number)
    columns = [pa.array(list(values), type=pa.string()) for values in zip(*good)] if good else \
        [pa.array([], type=pa.string()) for _ in header]
    return columns, numbers, rejected


def _clip(text: str) -> str:
    from monitor.ingest.values import jsonable

    return jsonable(text)


def raw_row(header: list[str], fields: list, id_column: str) -> dict:
    """A CSV row as stored in quarantine: NA tokens as null (the id only when blank)."""
    from monitor.ingest.values import jsonable

    raw = {h: (None if v is None or v in CSV_NA_VALUES else v) for h, v in zip(header, fields)}
    if id_column in raw:
        value = fields[header.index(id_column)]
        raw[id_column] = value if value is not None and value.strip() else None
    return jsonable(raw)


def iter_csv(handle: BinaryIO, header: list[str], kind: str, spec, batch_size: int, now, wanted: list[str]
             ) -> Iterator[Batch]:
    """Validated batches of the data lines after the header."""
    width = len(header)
    id_column = spec.columns.id
    positions = {name: header.index(name) for name in wanted}
    count = 0
    with handle:
        for chunk in line_chunks(handle, batch_size):
            columns = _fast(chunk, width)
            if columns is not None:
                numbers = np.arange(count + 1, count + 1 + len(columns[0]))
                rejected: list[Rejected] = []
                count += len(columns[0])
            else:
                columns, numbers, rejected = _slow(chunk, header, count + 1, id_column)
                count += len(numbers) + len(rejected)
            if not len(numbers) and not rejected:
                continue
            arrays = {name: _na(columns[j], name == id_column) for name, j in positions.items()}

            def raw(i: int, columns=columns) -> dict:
                return raw_row(header, [c[i].as_py() for c in columns], id_column)

            yield validate_arrays(len(numbers), arrays, numbers, raw, kind, spec, now,
                                  csv=True, extra_rejected=rejected)


def _na(values: pa.Array, is_id: bool) -> pa.Array:
    """NA tokens ("", "NA", "null", ...) are missing; an id is missing only when blank."""
    if is_id:
        return values
    return pc.if_else(pc.is_in(values, value_set=_NA), pa.scalar(None, pa.string()), values)


def open_csv(path: Path) -> BinaryIO:
    return open(path, "rb")
