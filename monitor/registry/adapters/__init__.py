"""Registry adapters: one module each (``builtin``, ``mlflow``), one interface
(:class:`RegistryAdapter`), found by ``spec.registry.kind`` through ``monitor.plugins.ADAPTERS``.

A new registry is one new module here whose class registers itself with ``@adapter("kind")``
(docs/extending.md, "A registry adapter").
"""

from monitor.plugins import ADAPTERS
from monitor.registry.adapters.base import (Move, RegistryAdapter, RegistryError, RegistryVersion, adapter_for,
                                            hold_model)

__all__ = ["ADAPTERS", "Move", "RegistryAdapter", "RegistryError", "RegistryVersion", "adapter_for", "hold_model"]
