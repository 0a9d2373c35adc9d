"""Time labels and event markers for the report's time charts.

The format of a time axis is chosen from what its labels span, and made finer until the labels
shown differ: a day of five-minute checks reads ``00:05 .. 23:55``, a burst of checks within one
minute reads ``00:02:05 .. 00:02:55``, never seven ticks of the same "12-03 00:02".
"""

from __future__ import annotations

from datetime import datetime

#: coarsest first; a format is used when it tells every shown label apart
_BY_SPAN = (
    (86400 * 2, ("%m-%d", "%m-%d %H:%M", "%m-%d %H:%M:%S")),
    (0, ("%H:%M", "%H:%M:%S", "%H:%M:%S.%f")),
)
#: what an event marker says, and its colour
EVENT_STYLE = {"deploy": ("deploy", "#2563eb"), "rollback": ("rollback", "#b91c1c"), "retrain": ("retrain", "#7c3aed")}


def parse(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None


def tick_format(times: list[datetime]) -> str:
    """The coarsest strftime format that labels each of ``times`` differently.

    >>> from datetime import datetime as d
    >>> tick_format([d(2026, 12, 3, 0, 2, 5), d(2026, 12, 3, 0, 2, 35)])
    '%H:%M:%S'
    >>> tick_format([d(2026, 12, 1), d(2026, 12, 3, 12)])
    '%m-%d'
    >>> tick_format([d(2026, 12, 2, 23, 0), d(2026, 12, 3, 1, 0)])
    '%m-%d %H:%M'
    """
    if not times:
        return "%H:%M"
    span = (max(times) - min(times)).total_seconds()
    formats = next(f for limit, f in _BY_SPAN if span >= limit)
    if len({t.date() for t in times}) > 1 and formats[0] == "%H:%M":
        formats = ("%m-%d %H:%M", "%m-%d %H:%M:%S")  # crossing midnight: say which day
    for fmt in formats:
        if len({t.strftime(fmt) for t in times}) == len(set(times)):
            return fmt
    return formats[-1]


def labels(texts: list[str]) -> dict[str, str]:
    """Each x label's display text: times in one format chosen for all, anything else as it is."""
    times = {t: parse(t) for t in texts}
    try:
        fmt = tick_format([v for v in times.values() if v is not None])
    except TypeError:  # naive and aware mixed
        fmt = "%m-%d %H:%M:%S"
    return {t: (v.strftime(fmt) if v is not None else t[:16]) for t, v in times.items()}


def events_in(events: object, start: datetime, end: datetime) -> list[tuple[datetime, str, str]]:
    """``[{"at", "kind", "label"}]`` -> (time, text, colour) for the events inside [start, end]."""
    out = []
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict):
            continue
        at, (name, colour) = parse(event.get("at")), EVENT_STYLE.get(str(event.get("kind")), (None, None))
        try:
            inside = at is not None and name is not None and start <= at <= end
        except TypeError:
            inside = False
        if inside:
            text = f"{name} {event.get('label') or ''}".strip()
            out.append((at, text, colour))
    return sorted(out)
