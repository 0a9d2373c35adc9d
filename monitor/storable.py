"""What the storage can hold, checked at the edge: text without NUL or lone surrogates, JSON
nested no deeper than :data:`MAX_JSON_DEPTH`.

PostgreSQL refuses NUL in text (``PostgreSQL text fields cannot contain NUL``), a lone UTF-16
surrogate (``"\\ud800"`` in JSON) cannot be encoded as UTF-8 at all, and a document nested a few
hundred levels deep makes Python's recursive JSON code raise ``RecursionError``. Each would
surface far from the caller as a 500 or a failed check; these helpers let an edge (the API,
the registry hook, the spec loader) refuse it with a message naming where it is.

>>> json_depth(b'{"a": [1, {"b": "[[["}]}')
3
>>> unstorable({"rows": [{"id": "x\\x00y"}]})
'rows[0].id: contains a NUL character'
>>> unstorable({"comment": "fine"}) is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

#: Deeper than any document modelwatch reads (a batch row is 3 levels, a spec about 6).
MAX_JSON_DEPTH = 64

_STRING = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_INNERMOST = re.compile(rb"\[\]|\{\}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def json_depth(text: bytes | str, stop_after: int = MAX_JSON_DEPTH) -> int:
    """How deep the arrays and objects of a JSON text nest (at most ``stop_after + 1``), found
    without parsing it, so without recursion: strings are cut out, then each pass removes the
    innermost empty pairs of brackets, one level per pass. Malformed text gives a number too; the
    parser refuses it afterwards."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")  # no quote left inside a string
    structure = raw.translate(None, _NOT_STRUCTURE)
    if structure.count(b'"') % 2 == 0:
        # Each pair of adjacent quotes is an empty string or the seam between two strings: dropping
        # it leaves every bracket as inside or outside a string as before, and it leaves _STRING
        # (one regex match per string, the cost of a big body) only the strings holding brackets.
        structure = structure.replace(b'""', b"")
    brackets = _STRING.sub(b"", structure)
    depth = 0
    while brackets and depth <= stop_after:
        brackets, removed = _INNERMOST.subn(b"", brackets)
        if not removed:  # unbalanced (the parser will refuse it): count what is left as nesting
            return min(depth + len(brackets), stop_after + 1)
        depth += 1
    return depth


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None."""
    if "\x00" in value:
        return "contains a NUL character"
    found = _LONE_SURROGATE.search(value)
    if found:
        return f"contains a lone surrogate (\\u{ord(found.group()):04x}), which is not valid Unicode text"
    return None


def unstorable(document: Any) -> str | None:
    """The first string (key or value) of a parsed JSON document that cannot be stored, as
    ``path: reason``; None when every string is fine. Iterative, so any depth is safe."""
    for path, value in _strings(document):
        problem = text_problem(value)
        if problem:
            return f"{path or 'body'}: {problem}"
    return None


def _strings(document: Any) -> Iterator[tuple[str, str]]:
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                key_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and text_problem(key):
                    yield f"{path or 'body'} (a key)", key
                stack.append((key_path, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))
