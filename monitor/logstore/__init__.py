"""The columnar log store: prediction and label rows in immutable Parquet segment files.

One file per stored batch and version (``files``), its metadata (model, kind, version, time range,
rows, location, sha256) in the ``log_segments`` table; request ids already stored are kept in the
narrow ``log_keys`` table so a batch writes only first-seen rows (``keys``); a check freezes the
list of segments it covers and reads their columns as typed arrays (``window``). ``tables`` is the
Arrow layout (CONTRACT.md) shared by ingestion, the store and the migration of legacy rows.
Repositories over the database live in ``monitor.store.logs``; this package never opens a session
on its own.
"""

from monitor.logstore.files import LostSegment, SegmentFile, delete_segment, read_segment, root_for, write_segment
from monitor.logstore.keys import first_seen
from monitor.logstore.tables import FEATURE, table_from_rows
from monitor.logstore.window import ROWS_PER_ID, join_labels, read_labels, read_predictions, to_frame

__all__ = [
    "FEATURE", "ROWS_PER_ID", "LostSegment", "SegmentFile", "delete_segment", "first_seen", "join_labels",
    "read_labels", "read_predictions", "read_segment", "root_for", "table_from_rows", "to_frame", "write_segment",
]
