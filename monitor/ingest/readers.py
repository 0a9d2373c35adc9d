"""Streaming readers: CSV (the :mod:`csv` module), Parquet (``ParquetFile.iter_batches``) and
JSON Lines (line by line), each yielding validated :class:`~monitor.ingest.validate.Batch` es.

They stream so a multi-GB file never loads whole. A whole-input problem (unknown extension,
unreadable file, a required column missing from the file) raises
:class:`monitor.errors.IngestError`; bad rows never do, they are quarantined by validation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from monitor.errors import IngestError
from monitor.ingest.plan import check_kind, relevant_columns, required_columns
from monitor.ingest.csvfile import CSV_NA_VALUES, iter_csv, open_csv, read_header
from monitor.ingest.validate import Batch, Rejected, validate_arrays, validate_dicts
from monitor.ingest.values import jsonable
from monitor.spec import ModelSpec

CSV_EXTENSIONS = (".csv",)
PARQUET_EXTENSIONS = (".parquet", ".pq")
JSONL_EXTENSIONS = (".jsonl", ".ndjson")
JSON_EXTENSIONS = (".json",)
ALL_EXTENSIONS = CSV_EXTENSIONS + PARQUET_EXTENSIONS + JSONL_EXTENSIONS + JSON_EXTENSIONS

__all__ = ["ALL_EXTENSIONS", "CSV_EXTENSIONS", "CSV_NA_VALUES", "JSONL_EXTENSIONS", "JSON_EXTENSIONS",
           "PARQUET_EXTENSIONS", "count_rows", "read_batches", "validate_record_batch"]


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_EXTENSIONS:
        return "csv"
    if suffix in PARQUET_EXTENSIONS:
        return "parquet"
    if suffix in JSONL_EXTENSIONS:
        return "jsonl"
    if suffix in JSON_EXTENSIONS:
        return "json"
    raise IngestError(
        f"{path}: unknown file extension {path.suffix or '(none)'!r}; "
        f"expected one of {', '.join(ALL_EXTENSIONS)}"
    )


def _check_columns(path: Path, found: Iterable[str], kind: str, spec: ModelSpec) -> None:
    found = list(found)
    present = set(found)
    missing = [c for c in required_columns(kind, spec) if c not in present]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        noun = "column" if len(missing) == 1 else "columns"
        raise IngestError(
            f"{path}: required {noun} {names} missing for {kind} of model {spec.name!r}; "
            f"columns found: {found}"
        )


def _unreadable(path: Path, exc: BaseException) -> IngestError:
    if isinstance(exc, FileNotFoundError):
        return IngestError(f"{path}: file not found")
    if isinstance(exc, IsADirectoryError):
        return IngestError(f"{path}: is a directory, not a file")
    if isinstance(exc, PermissionError):
        return IngestError(f"{path}: permission denied")
    if isinstance(exc, UnicodeDecodeError):
        return IngestError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start} of a chunk)")
    return IngestError(f"{path}: cannot read file: {exc}")


def _read_csv(path: Path, kind: str, spec: ModelSpec, batch_size: int, now) -> Iterator[Batch]:
    try:
        handle = open_csv(path)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    try:
        header, problem = read_header(handle)
        if problem:
            raise IngestError(f"{path}: {problem}")
        if header is None:
            raise IngestError(f"{path}: file is empty (expected a header row)")
        _check_columns(path, header, kind, spec)
        duplicated = [c for c in relevant_columns(kind, spec) if header.count(c) > 1]
        if duplicated:
            raise IngestError(f"{path}: the header repeats column(s) {duplicated}; which one to use is ambiguous")
    except BaseException:
        handle.close()
        raise
    wanted = [c for c in relevant_columns(kind, spec) if c in header]
    return iter_csv(handle, header, kind, spec, batch_size, now, wanted)


def _read_parquet(path: Path, kind: str, spec: ModelSpec, batch_size: int, now) -> Iterator[Batch]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    except (pa.ArrowException, ValueError) as exc:
        raise IngestError(f"{path}: not a readable Parquet file: {exc}") from None
    names = parquet.schema_arrow.names
    try:
        _check_columns(path, names, kind, spec)
    except BaseException:
        parquet.close()
        raise
    wanted = [c for c in relevant_columns(kind, spec) if c in names]
    return _iter_parquet(path, parquet, wanted, kind, spec, batch_size, now)


def _iter_parquet(path, parquet, wanted, kind, spec, batch_size, now) -> Iterator[Batch]:
    import pyarrow as pa

    first = 1
    try:
        batches = parquet.iter_batches(batch_size=batch_size, columns=wanted)
        while True:
            try:
                record_batch = next(batches)
            except StopIteration:
                break
            except (pa.ArrowException, OSError) as exc:
                raise IngestError(f"{path}: cannot read Parquet data after row {first - 1}: {exc}") from None
            if record_batch.num_rows == 0:
                continue
            yield validate_record_batch(record_batch, first, kind, spec, now)
            first += record_batch.num_rows
    finally:
        parquet.close()


def validate_record_batch(record_batch, first: int, kind: str, spec: ModelSpec, now=None) -> Batch:
    """Validate typed Arrow columns (a Parquet row group, an Arrow IPC request body) whose first
    row is row number ``first``: the same per-row quarantine answers as a Parquet file."""
    originals = {name: record_batch.column(i) for i, name in enumerate(record_batch.schema.names)}
    arrays = {name: _utf8_or_none(values) for name, values in originals.items()}
    n = record_batch.num_rows

    def raw(i: int) -> dict:
        row = {}
        for name, values in originals.items():
            try:
                row[name] = values[i].as_py()
            except Exception:  # noqa: BLE001 - e.g. invalid UTF-8: keep what can be shown
                row[name] = "<unreadable value>"
        return jsonable(row)

    return validate_arrays(n, arrays, np.arange(first, first + n), raw, kind, spec, now,
                           source=lambda name, i: originals[name][i].as_py())


def _utf8_or_none(array):
    """A Parquet column as is, or None when its text is not valid UTF-8 (Parquet does not promise
    it): validation then reads each cell on its own and quarantines the unreadable ones."""
    import pyarrow as pa

    kind = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        try:
            array.validate(full=True)
        except pa.ArrowInvalid:
            return None
    return array


def _read_jsonl(path: Path, kind: str, spec: ModelSpec, batch_size: int, now, strict: bool) -> Iterator[Batch]:
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise _unreadable(path, exc) from None
    try:
        if strict:  # a .json file: accept it only when it is JSON Lines
            _sniff_json_lines(path, handle)
        chunks = _jsonl_chunks(path, handle, batch_size)
        checked = False
        pending: list[tuple] = []
        first = next(chunks, None)  # check the columns on the first chunk holding an object
        if first is not None:
            pending.append(first)
            objects = [r for r in first[0] if isinstance(r, dict)]
            if objects:
                _check_columns(path, list(dict.fromkeys(k for r in objects for k in r)), kind, spec)
                checked = True
    except BaseException:
        handle.close()
        raise
    return _iter_jsonl(handle, chunks, pending, checked, path, kind, spec, now)


def _iter_jsonl(handle, chunks, pending, checked, path, kind, spec, now) -> Iterator[Batch]:
    with handle:
        for records, numbers, extra in pending:
            yield validate_dicts(records, numbers, kind, spec, now, extra)
        for records, numbers, extra in chunks:
            if not checked:
                objects = [r for r in records if isinstance(r, dict)]
                if objects:
                    _check_columns(path, list(dict.fromkeys(k for r in objects for k in r)), kind, spec)
                    checked = True
            yield validate_dicts(records, numbers, kind, spec, now, extra)


def _sniff_json_lines(path: Path, handle) -> None:
    try:
        for line in handle:
            text = line.removeprefix(b"\xef\xbb\xbf").decode("utf-8").strip()
            if not text:
                continue
            if text.startswith("["):
                raise IngestError(
                    f"{path}: holds a JSON array; expected JSON Lines (one object per line, "
                    "e.g. a .jsonl file)"
                )
            try:
                json.loads(text)
            except (ValueError, RecursionError):
                raise IngestError(
                    f"{path}: is not JSON Lines (its first line is not a complete JSON value); "
                    "expected one object per line"
                ) from None
            break
    except UnicodeDecodeError as exc:
        raise _unreadable(path, exc) from None
    handle.seek(0)


def _jsonl_chunks(path: Path, handle, batch_size: int) -> Iterator[tuple[list, list, list]]:
    """Lines parsed one by one (binary, so a non-UTF-8 byte or a line nested 200k deep costs that
    line only)."""
    records: list[Any] = []
    numbers: list[int] = []
    extra: list[Rejected] = []
    loads = json.loads
    for lineno, line in enumerate(handle, 1):
        if lineno == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        if not line.strip():
            continue
        try:
            records.append(loads(line.decode("utf-8")))
            numbers.append(lineno)
        except UnicodeDecodeError as exc:
            extra.append(Rejected(lineno, f"not UTF-8 text ({exc.reason} at byte {exc.start} of the line)",
                                  {"line": jsonable(line[:1000].decode("utf-8", "replace"))}))
        except ValueError as exc:
            text = line.decode("utf-8").rstrip("\r\n")
            extra.append(Rejected(lineno, f"invalid JSON: {exc}", {"line": jsonable(text)}))
        except RecursionError:
            extra.append(Rejected(lineno, "invalid JSON: nested too deep",
                                  {"line": jsonable(line[:1000].decode("utf-8", "replace"))}))
        if len(records) + len(extra) >= batch_size:
            yield records, numbers, extra
            records, numbers, extra = [], [], []
    if records or extra:
        yield records, numbers, extra


def read_batches(path: str | Path, kind: str, spec: ModelSpec, *, batch_size: int = 5000) -> Iterator[Batch]:
    """Stream a CSV, Parquet or JSON Lines file as validated :class:`Batch` es of ``batch_size`` rows.

    Whole-input problems (unknown extension, unreadable file, a required column missing) raise
    :class:`IngestError` at the call, before any batch is produced (a decoding error deep inside a
    file raises while iterating). Row numbers in ``Rejected`` count from the start of the file.
    """
    check_kind(kind)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    path = Path(path)
    fmt = _format_of(path)
    if not path.exists():
        raise IngestError(f"{path}: file not found")
    if path.is_dir():
        raise IngestError(f"{path}: is a directory, not a file")
    now = None  # each batch bounds timestamps by the time it is validated
    if fmt == "csv":
        return _read_csv(path, kind, spec, batch_size, now)
    if fmt == "parquet":
        return _read_parquet(path, kind, spec, batch_size, now)
    return _read_jsonl(path, kind, spec, batch_size, now, strict=(fmt == "json"))


def _count_lines(path: Path) -> int:
    lines = 0
    last = b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1  # no newline after the last line
    return lines


def count_rows(path: str | Path) -> int | None:
    """A fast row count for a progress bar, or None when it is not cheap or not possible.

    Parquet: from the metadata. CSV and JSON Lines: the number of lines (minus the CSV header), so
    blank lines and quoted multi-line CSV fields make it approximate.
    """
    path = Path(path)
    try:
        fmt = _format_of(path)
    except IngestError:
        return None
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        if fmt == "json":
            with open(path, "rb") as handle:
                _sniff_json_lines(path, handle)
        lines = _count_lines(path)
    except Exception:  # noqa: BLE001 - a progress bar falls back to "unknown"
        return None
    if fmt == "csv":
        return max(lines - 1, 0)
    return lines
