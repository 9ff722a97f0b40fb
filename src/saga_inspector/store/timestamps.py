"""Stored times: `Timestamp` (the stored text, and the instant when it reads as one), the one
RFC 3339 parser, and microseconds since the epoch (what the SQL compares and sorts by)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

# RFC 3339 as chrono writes it (0, 3, 6 or 9 fraction digits, `+00:00`), plus `Z`, any
# fraction length and any offset, so that files from other writers still parse.
_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<frac>\d+))?"
    r"(?P<tz>[Zz]|[+-]\d{2}:\d{2})\Z",
    # ASCII: `\d` would otherwise accept other scripts' digits (e.g. Arabic-Indic ones).
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class Timestamp:
    """A stored time: the raw text always, the instant when the text parses."""

    raw: str
    value: datetime | None
    # What the file holds when that is not the text itself (a server's milliseconds, as an
    # int or a float): what the JSON output gives as the stored value.
    stored: int | float | None = field(default=None, compare=False)

    @property
    def parsed(self) -> bool:
        return self.value is not None

    def __str__(self) -> str:
        return self.raw


# The sort value of a saga that has no start time (or no duration) to sort by: below every
# real value, so such sagas come last. Real values are microseconds (|value| < 2**60).
NO_VALUE = -(2**63)

def parse_timestamp(raw: object) -> Timestamp | None:
    """Parse an RFC 3339 timestamp; None stays None, anything unparsable keeps its text."""
    if raw is None:
        return None
    if raw.__class__ is str:  # what a time column holds: the shortest way
        return Timestamp(raw, _parse_rfc3339(raw))
    if isinstance(raw, bytes):
        # A BLOB in a time column: its text, bad bytes as `\xNN` (not Python's b'...' repr).
        text = raw.decode("utf-8", errors="backslashreplace")
    else:
        text = raw if isinstance(raw, str) else str(raw)
    return Timestamp(text, _parse_rfc3339(text))


def _parse_rfc3339(text: str) -> datetime | None:
    stripped = text.strip()
    match = _RFC3339.match(stripped)
    if match is None:
        return None
    try:
        # The fast path (C, ~30x faster): on text of this shape, fromisoformat gives the
        # same instant whenever it accepts it (tests/test_export_exact.py holds it to that);
        # what it refuses is read field by field below.
        return datetime.fromisoformat(stripped).astimezone(UTC)
    except (ValueError, OverflowError):
        return _from_fields(match)


def _from_fields(match: re.Match[str]) -> datetime | None:
    try:
        year, month, day = (int(part) for part in match["date"].split("-"))
        # datetime holds microseconds; digits beyond that (nanoseconds and finer) are dropped.
        micro = int((match["frac"] or "")[:6].ljust(6, "0"))
        moment = datetime(
            year, month, day, int(match["h"]), int(match["m"]), int(match["s"]), micro,
            tzinfo=_zone(match["tz"]),
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _zone(text: str) -> timezone:
    if text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(timestamp: Timestamp | None) -> int | None:
    """A parsed stored time as whole microseconds since the Unix epoch (None: no time)."""
    if timestamp is None or timestamp.value is None:
        return None
    delta = timestamp.value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime | None:
    """The instant `value` microseconds after the epoch; None outside the years 1-9999."""
    try:
        return _EPOCH + timedelta(microseconds=value)
    except OverflowError:
        return None


def duration_between(start: Timestamp | None, end: Timestamp | None) -> timedelta | None:
    """The time from start to end when both parse (negative when the end comes first)."""
    if start is None or end is None or start.value is None or end.value is None:
        return None
    return end.value - start.value


@dataclass(frozen=True, slots=True)
class Zone:
    """Where wall-clock times are read (a `since:` without an offset) and shown: UTC, or the
    machine's local zone (TZ), with its daylight-saving rules, through the C library.

    `rules` is what the local zone was when this value was made (names and offsets): a
    process that changes TZ (tests do) gets a different Zone, so nothing cached for one
    zone (a parsed query) is ever used for another."""

    local: bool = False
    rules: tuple[object, ...] = ()

    def wall(self, moment: datetime) -> datetime:
        """An instant as this zone's wall clock (aware, with its offset at that instant).
        Raises OverflowError, OSError or ValueError when the C library cannot place it."""
        return moment.astimezone() if self.local else moment.astimezone(UTC)

    def instant(self, wall: datetime) -> datetime:
        """A wall-clock time without a zone, read in this zone, as an instant (UTC). A time
        the clocks skip or repeat at a daylight-saving change reads as the C library says.
        Raises OverflowError, OSError or ValueError when it cannot be placed."""
        naive = wall.replace(tzinfo=None)
        if self.local:
            return naive.astimezone().astimezone(UTC)
        return naive.replace(tzinfo=UTC)


UTC_ZONE = Zone()


def local_zone() -> Zone:
    """The machine's local zone as it is now (after `time.tzset()` for a changed TZ)."""
    return Zone(True, (tuple(time.tzname), time.timezone, time.altzone, time.daylight))
