"""Names a package exports but imports only when they are first read (PEP 562).

A package's ``__init__`` that re-exported everything made every importer of one light submodule
pay for the heavy ones (pandas, jinja2, httpx): ``modelwatch status`` imports
``monitor.detect.findings``, which imports ``monitor.detect`` first. With
``__getattr__ = lazy.exports(__name__, {"rule": ("Rule", "WindowContext")})`` the package still
exports those names, and ``monitor.detect.rule`` is imported when one of them is read
(tests/unit/test_import_cost.py holds each command to what it imports).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def exports(package: str, modules: Mapping[str, Iterable[str]]) -> Callable[[str], Any]:
    """The package's module-level ``__getattr__``: each name in ``modules[m]`` read from the
    submodule ``package.m`` on first use; any other name raises AttributeError as usual."""
    home = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name in home:
            return getattr(importlib.import_module(f"{package}.{home[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
