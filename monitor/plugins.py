"""Plugin families: rules, alert channels, recovery actions and registry adapters.

Each family is a name -> class registry filled where the classes are defined, the way
``monitor/drift/`` registers its methods: adding a member is one new module in the family's
package that decorates its class, and nothing else. The spec validates names (and a member's
settings, through its ``Config`` model) against these registries instead of repeating them as
``Literal``s, and it does so without importing the families' packages: a family imports its
package's modules by name the first time it is asked for a member.

>>> from monitor.plugins import Family
>>> shapes = Family("shape", package=None)
>>> @shapes.register("square")
... class Square:
...     '''Four equal sides.'''
>>> shapes.get("square").name, shapes.names()
('square', ['square'])
>>> shapes.get("circle")
Traceback (most recent call last):
...
monitor.errors.PluginNotFound: unknown shape 'circle' (known: square)
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from monitor.errors import PluginNotFound

T = TypeVar("T")


class Family(Generic[T]):
    """One plugin family: ``register(name)`` decorates a class, ``get(name)`` finds it.

    ``package`` names the package whose modules hold the members (``None`` for a family filled
    by hand). Its modules are imported once, on the first lookup, so that importing the family
    (as the spec does) never imports the members' dependencies.
    """

    def __init__(self, kind: str, package: str | None) -> None:
        self.kind = kind
        self.package = package
        self._members: dict[str, type[T]] = {}
        self._loaded = package is None
        self._lock = threading.Lock()

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        """Class decorator: ``@CHANNELS.register("slack")`` adds the class as ``slack``."""

        def add(cls: type[T]) -> type[T]:
            existing = self._members.get(name)
            if existing is not None and existing.__qualname__ != cls.__qualname__:
                raise ValueError(f"{self.kind} {name!r} is registered twice "
                                 f"({existing.__module__}.{existing.__qualname__} and {cls.__module__}.{cls.__qualname__})")
            if not (cls.__doc__ or "").strip():
                raise ValueError(f"{self.kind} {name!r} ({cls.__qualname__}) needs a docstring that says what it does")
            cls.name = name  # type: ignore[attr-defined]
            self._members[name] = cls
            return cls

        return add

    def load(self) -> None:
        """Import every module of the family's package (once; thread-safe)."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            assert self.package is not None
            package = importlib.import_module(self.package)
            for module in pkgutil.iter_modules(package.__path__):
                if not module.name.startswith("_"):
                    importlib.import_module(f"{self.package}.{module.name}")
            self._loaded = True

    def get(self, name: str) -> type[T]:
        self.load()
        try:
            return self._members[name]
        except KeyError:
            raise PluginNotFound(f"unknown {self.kind} {name!r} (known: {', '.join(self.names())})") from None

    def names(self) -> list[str]:
        self.load()
        return sorted(self._members)

    def config_model(self, name: str) -> Any:
        """The member's settings model (its ``Config`` attribute, a pydantic model), or ``None``."""
        return getattr(self.get(name), "Config", None)

    def __iter__(self) -> Iterator[tuple[str, type[T]]]:
        self.load()
        return iter(sorted(self._members.items()))

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._members


RULES: Family[Any] = Family("rule", "monitor.detect.rules")
CHANNELS: Family[Any] = Family("alert channel", "monitor.alerts.channels")
ACTIONS: Family[Any] = Family("recovery action", "monitor.recovery.actions")
ADAPTERS: Family[Any] = Family("registry adapter", "monitor.registry.adapters")

rule = RULES.register
channel = CHANNELS.register
action = ACTIONS.register
adapter = ADAPTERS.register
