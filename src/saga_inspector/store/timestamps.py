"""The one timestamp parser. Stored times are text; a value that does not parse stays text."""

from __future__ import annotations

import re
from dataclasses import dataclass
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

    @property
    def parsed(self) -> bool:
        return self.value is not None

    def __str__(self) -> str:
        return self.raw


def parse_timestamp(raw: object) -> Timestamp | None:
    """Parse an RFC 3339 timestamp; None stays None, anything unparsable keeps its text."""
    if raw is None:
        return None
    if isinstance(raw, bytes):
        # A BLOB in a time column: its text, bad bytes as `\xNN` (not Python's b'...' repr).
        text = raw.decode("utf-8", errors="backslashreplace")
    else:
        text = raw if isinstance(raw, str) else str(raw)
    return Timestamp(text, _parse_rfc3339(text))


def _parse_rfc3339(text: str) -> datetime | None:
    match = _RFC3339.match(text.strip())
    if match is None:
        return None
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


def duration_between(start: Timestamp | None, end: Timestamp | None) -> timedelta | None:
    """The time from start to end when both parse (negative when the end comes first)."""
    if start is None or end is None or start.value is None or end.value is None:
        return None
    return end.value - start.value
