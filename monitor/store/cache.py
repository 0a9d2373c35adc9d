"""Per-process caches of what a check reads in every stage and rarely changes: a model's parsed
spec and a version's reference profile.

A key names the exact content it caches (the model row's ``updated_at``, the reference profile
row's id), so a changed spec or a new profile is a different key: nothing is invalidated by
hand, an old entry just ages out. Each cache is a small LRU: a worker checking 10,000 models
keeps only the models whose runs are under way (the stage priorities keep a run's stages close
together), not the fleet.

>>> cache = LruCache(2)
>>> cache.get_or_make("a", lambda: 1), cache.get_or_make("b", lambda: 2), cache.get_or_make("a", lambda: 9)
(1, 2, 1)
>>> cache.get_or_make("c", lambda: 3), cache.get_or_make("b", lambda: 8)
(3, 8)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class LruCache(Generic[T]):
    """At most ``size`` entries, the least recently used dropped first; safe across threads."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
        value = make()  # outside the lock: a slow make never holds up another thread's hit
        with self._lock:
            self.misses += 1
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0
