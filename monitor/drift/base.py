"""What every per-feature drift method shares: one small class, one ``compare``, one registry.

A method compares the *precomputed* reference side of one column (a
:class:`~monitor.drift.reference.NumericReference` or
:class:`~monitor.drift.reference.CategoricalReference`, built once per model version) with the
window's values of that column, and returns a :class:`MethodResult`. It never touches the reference
data again, which is what keeps a check cheap: the reference is sorted and counted once.

Each method is one class with the same small surface (river's drift detectors are the model):

* ``name``: what a spec calls it (``ks``, ``wasserstein``, ``psi``, ``chi2``, ``jensen_shannon``);
* ``kind``: ``"numeric"`` or ``"categorical"``, the columns it applies to (``"any"`` for PSI, which
  bins numbers by the reference deciles and categories by themselves, under the one spec name);
* ``role``: ``"test"`` (a significance test: ``p_value`` is set) or ``"effect"`` (an effect size:
  ``p_value`` is ``None``);
* ``compare(reference_column, current_values) -> MethodResult``.

The ``@register`` decorator puts each class in :data:`METHODS` where it is defined, so the spec can
name a method without an if/elif chain. :mod:`monitor.drift` imports every method module, which
is what fills the registry.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

KINDS = ("numeric", "categorical")
#: ``kind`` of a method that applies to both kinds of column (PSI: deciles or categories as bins).
ANY_KIND = "any"
ROLES = ("test", "effect")


@dataclass(frozen=True)
class MethodResult:
    """One method's answer for one column: its statistic and, for a test, its p-value."""

    statistic: float
    p_value: float | None = None


class DriftMethod(ABC):
    """Base of the drift methods; subclasses set the class attributes and implement ``compare``.

    ``label`` is the name a person reads in a finding's message ("KS", "Jensen-Shannon").
    """

    name: ClassVar[str]
    kind: ClassVar[str]
    role: ClassVar[str]
    label: ClassVar[str]

    @abstractmethod
    def compare(self, reference_column: Any, current_values: Any) -> MethodResult:
        """Compare the window's values of one column with the column's precomputed reference."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, kind={self.kind!r}, role={self.role!r})"


#: Every drift method by its spec name; filled by :func:`register` where each class is defined.
METHODS: dict[str, type[DriftMethod]] = {}


def register(cls: type[DriftMethod]) -> type[DriftMethod]:
    """Class decorator: add a drift method to :data:`METHODS` under its ``name``.

    Checks the surface once at import time, so a malformed method fails loudly there rather than in
    the middle of a check run.
    """
    if cls.kind not in (*KINDS, ANY_KIND):
        raise TypeError(f"drift method {cls.__name__}: kind must be one of {(*KINDS, ANY_KIND)}, got {cls.kind!r}")
    if cls.role not in ROLES:
        raise TypeError(f"drift method {cls.__name__}: role must be one of {ROLES}, got {cls.role!r}")
    existing = METHODS.get(cls.name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise TypeError(f"drift method name {cls.name!r} is taken by {existing.__name__}")
    METHODS[cls.name] = cls
    return cls


def method(name: str, kind: str, role: str) -> DriftMethod:
    """An instance of the method registered as ``name``, checked to be a ``kind`` ``role``.

    >>> method("ks", "numeric", "test").label
    'KS'
    """
    cls = METHODS.get(name)
    if cls is None:
        raise ValueError(f"unknown drift method {name!r}; expected one of {sorted(METHODS)}")
    if cls.kind not in (kind, ANY_KIND) or cls.role != role:
        fitting = sorted(n for n, c in METHODS.items() if c.kind in (kind, ANY_KIND) and c.role == role)
        raise ValueError(f"drift method {name!r} is a {cls.kind} {cls.role}, not a {kind} {role}; "
                         f"use one of {fitting}")
    return cls()


@dataclass(frozen=True)
class ColumnDrift:
    """The drift finding of one column of one window against the model version's reference.

    ``drifted`` is ``p_value_adjusted < threshold_p_value`` and ``effect_size >= threshold_effect``
    with at least ``min_samples`` non-missing values on both sides (see :mod:`monitor.drift`).
    ``skipped`` says why a column was not judged (absent on one side, too few values); a skipped
    column is never ``drifted`` and takes no part in the Benjamini-Hochberg correction.
    ``unseen_share`` is the share of *all* window rows (missing ones included) whose category the
    reference never saw.
    """

    column: str
    kind: str
    method: str
    statistic: float | None
    p_value: float | None
    p_value_adjusted: float | None
    effect_method: str
    effect_size: float | None
    threshold_p_value: float
    threshold_effect: float
    drifted: bool
    reference_count: int
    current_count: int
    reference_missing: int
    current_missing: int
    unseen_categories: list[str] = field(default_factory=list)
    unseen_share: float = 0.0
    reference_summary: dict[str, Any] = field(default_factory=dict)
    current_summary: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (for the broker, the API and reports): non-finite numbers become ``None``.

        ``_json_safe`` builds new lists and dicts all the way down, so the fields are read as
        they are (``asdict``'s deep copy first cost more than the rest of a small column's finding).
        """
        return _json_safe({f.name: getattr(self, f.name) for f in fields(self)})


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def human(value: float | None) -> str:
    """A number as a person reads it in a message: ``61234.5 -> '61.2k'``, ``0.01234 -> '0.0123'``."""
    if value is None or not math.isfinite(value):
        return "n/a" if value is None or math.isnan(value) else ("inf" if value > 0 else "-inf")
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.1f}{suffix}"
    return f"{value:.3g}"


def describe_finding(finding: ColumnDrift, detail: str = "") -> str:
    """The sentence of a judged finding: verdict, BH-adjusted p-value, effect against its threshold.

    ``detail`` (what moved: the means, or the category whose share changed most) is appended when
    the column drifted; unseen categories are always worth a mention.
    """
    test = METHODS[finding.method].label
    effect = METHODS[finding.effect_method].label
    p = f"{test} p={finding.p_value_adjusted:.2g} (BH-adjusted)"
    size = f"{effect} {finding.effect_size:.2g}"
    if finding.drifted:
        sentence = f"{finding.column} drifted: {p}, {size} >= {finding.threshold_effect:g}"
    elif finding.p_value_adjusted < finding.threshold_p_value:
        sentence = (f"{finding.column} stable: {p} is significant, but {size} < {finding.threshold_effect:g} "
                    "is too small to matter")
    elif finding.effect_size >= finding.threshold_effect:
        sentence = (f"{finding.column} stable: {size} >= {finding.threshold_effect:g} but {p} is not below "
                    f"{finding.threshold_p_value:g}; the window may be too small to tell")
    else:
        sentence = f"{finding.column} stable: {p}, {size} < {finding.threshold_effect:g}"
    extra = detail if finding.drifted else ""
    if finding.unseen_categories:
        shown = ", ".join(repr(c) for c in finding.unseen_categories[:5])
        more = f" and {len(finding.unseen_categories) - 5} more" if len(finding.unseen_categories) > 5 else ""
        noun = "category" if len(finding.unseen_categories) == 1 else "categories"
        extra = "; ".join(filter(None, [extra, f"{len(finding.unseen_categories)} unseen {noun} "
                                               f"({finding.unseen_share:.1%} of window rows): {shown}{more}"]))
    return f"{sentence}; {extra}" if extra else sentence
