"""kombu's filesystem transport, made safe for a consumer polling the folder a producer writes to.

kombu writes a message file in place (open, then write). A worker listing the same folder can
move and read the file between those two steps, get an empty payload, and die on a
JSONDecodeError: seen in the demo under load. Here a message is written to a temporary file
beside the queue folder and renamed into it, so a reader only ever sees complete messages (a
rename within one filesystem is atomic). Importing this module applies the fix to the process.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


def _atomic_put(self, queue, payload, **kwargs) -> None:
    """Put ``payload`` onto ``queue`` as one complete file (same name scheme as kombu's ``_put``)."""
    name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
    folder = os.path.abspath(self.data_folder_out)
    try:
        descriptor, staging = tempfile.mkstemp(prefix=".staging-", dir=os.path.dirname(folder))
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(str_to_bytes(dumps(payload)))
        os.replace(staging, os.path.join(folder, name))
    except OSError as exc:
        raise ChannelError(f"Cannot add file {name!r} to directory {folder!r}") from exc


filesystem.Channel._put = _atomic_put
