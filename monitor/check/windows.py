"""Which slice of time a check looks at."""

from __future__ import annotations

import datetime as dt
import math

UTC = dt.timezone.utc


def scheduled_window(now: dt.datetime, every: float, window: float) -> tuple[dt.datetime, dt.datetime]:
    """The window ending at the last multiple of ``every`` (epoch-aligned).

    Aligned windows are what make two beats (or a beat and a retry) pick the *same* window, so
    the run's unique key collapses them into one check.
    """
    end_ts = math.floor(now.timestamp() / every) * every
    end = dt.datetime.fromtimestamp(end_ts, UTC)
    return end - dt.timedelta(seconds=window), end


def window_ending_now(now: dt.datetime, window: float) -> tuple[dt.datetime, dt.datetime]:
    """For forced and registry checks: the window up to now, to the second."""
    end = now.astimezone(UTC).replace(microsecond=0)
    return end - dt.timedelta(seconds=window), end
