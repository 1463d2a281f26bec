"""Time as the bot sees it: injectable so tests move the clock instead of waiting."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


class Clock:
    """The real clock, in UTC, with the local (Vietnam) day for business dates."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> dt.datetime:
        """Now, aware, UTC."""
        return dt.datetime.now(dt.UTC)

    def local_now(self) -> dt.datetime:
        """Now in the configured time zone."""
        return self.now().astimezone(self.tz)

    def today(self) -> dt.date:
        """Today's date where the farmers are."""
        return self.local_now().date()


class FixedClock(Clock):
    """A clock that only moves when told to (tests, demos, replays)."""

    def __init__(self, tz: ZoneInfo, start: dt.datetime) -> None:
        super().__init__(tz)
        self._now = start.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> None:
        """Move time forward."""
        self._now += delta

    def set(self, moment: dt.datetime) -> None:
        """Jump to ``moment`` (aware)."""
        self._now = moment.astimezone(dt.UTC)
