"""Reading a spec: YAML to validated :class:`ModelSpec` values, with errors that name the model
and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from monitor.errors import SpecError
from monitor.spec.model import ModelSpec, SpecFile


def _describe(error: dict[str, Any], document: Any) -> str:
    """'model "churn", field rules.recall_drop_pct: expected ...' from a pydantic error."""
    loc = list(error["loc"])
    prefix = ""
    if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
        index = loc[1]
        name = None
        try:
            name = document["models"][index].get("name")
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
        prefix = f'model "{name}"' if name else f"model #{index + 1}"
        loc = loc[2:]
    field = ".".join(str(part) for part in loc if not str(part).startswith("function-"))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "required field is missing"
    parts = [p for p in (prefix, f"field {field}" if field else "") if p]
    return f"{', '.join(parts)}: {message}" if parts else message


def parse_spec(document: Any, source: str | None = None) -> list[ModelSpec]:
    """Validate a parsed spec document (a dict with ``models``) into model specs."""
    if isinstance(document, dict) and "models" not in document and "name" in document:
        document = {"models": [document]}
    if not isinstance(document, dict):
        raise SpecError(["expected a mapping with a 'models' list at the top"], source)
    try:
        return SpecFile.model_validate(document).models
    except ValidationError as exc:
        raise SpecError([_describe(e, document) for e in exc.errors()], source) from None


def parse_yaml(data: bytes, source: str | None = None) -> Any:
    """The YAML document in ``data``, or a :class:`SpecError` saying why it cannot be one: not
    UTF-8 (with the byte offset and line), not YAML, nested too deep, or holding text the
    database cannot store (a NUL, a lone surrogate such as ``"\\ud800"``)."""
    from monitor.storable import MAX_JSON_DEPTH, unstorable

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpecError([f"not UTF-8 text: byte {data[exc.start]:#04x} at offset {exc.start} (line {line}); "
                         "save the file as UTF-8"], source) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError([f"not valid YAML: {exc}"], source) from None
    except RecursionError:
        raise SpecError([f"nested more than {MAX_JSON_DEPTH} levels deep"], source) from None
    problem = unstorable(document)
    if problem:
        raise SpecError([f"field {problem}"], source)
    return document


def load_spec_file(path: str | Path) -> list[ModelSpec]:
    """Read and validate a YAML spec file. Relative ``reference`` paths resolve against it."""
    path = Path(path)
    try:
        document = parse_yaml(path.read_bytes(), str(path))
    except FileNotFoundError:
        raise SpecError([f"file not found: {path}"]) from None
    except IsADirectoryError:
        raise SpecError([f"{path} is a directory, not a spec file"]) from None
    specs = parse_spec(document, str(path))
    resolved = []
    for spec in specs:
        if spec.reference and not Path(spec.reference).is_absolute():
            spec = spec.model_copy(update={"reference": str((path.parent / spec.reference).resolve())})
        resolved.append(spec)
    return resolved
