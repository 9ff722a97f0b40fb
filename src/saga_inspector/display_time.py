"""The one display zone of the whole tool, and the one function that shows a stored moment.

Every time the tool shows (the dashboard, the CLI's text, the explain text, copies) goes
through `show_time`, in the display zone: the machine's local zone by default, UTC when
asked (`--utc`, or the setting the dashboard remembers). The zone is always named: on screen
by `zone_label` (the header, the table's time column), in text that leaves the screen by an
explicit offset on every time (`2026-06-02 17:58:42.003 +09:00`). JSON keeps times exactly
as stored and never comes here.

A module of its own, not Textual's and not the store's: the CLI, report.py, explain.py and
the dashboard all use it, and the store only gets the `Zone` it is handed (store/timestamps.py
defines the type, so the data layer imports nothing from here and stays deterministic).

A stored time that does not parse is shown as its sanitised text, marked so that it never
looks like a time: `unparsed: "yesterday"`. One that parses but cannot be placed in the zone
(year 1 with an offset, past the C library's range) likewise: `out of range: "…"`.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .config import saved_zone
from .sanitize import sanitize
from .store.timestamps import UTC_ZONE, Timestamp, Zone, local_zone

MISSING = "—"
UNPARSED = "unparsed"
OUT_OF_RANGE = "out of range"


class ZoneChoice(enum.StrEnum):
    """Which zone times are shown in; the values are what the settings file holds."""

    LOCAL = "local"
    UTC = "utc"


class TimeStyle(enum.Enum):
    """The forms of one shown time, all made by `show_time`."""

    FULL = "full"  # `2026-06-02 17:58:42.003 +09:00`: text that leaves the screen
    SCREEN = "screen"  # `2026-06-02 17:58:42.003`: on screen, where the header names the zone
    SHORT = "short"  # `06-02 17:58:42`: the saga table
    CLOCK = "clock"  # `17:58:42`: the header's last refresh


_choice = ZoneChoice.LOCAL


def display_choice() -> ZoneChoice:
    return _choice


def set_display_choice(choice: ZoneChoice) -> None:
    """Show every time from now on in this zone (the CLI and the app set it once, at start;
    the dashboard's palette command switches it)."""
    global _choice
    _choice = ZoneChoice(choice)


def display_zone() -> Zone:
    """The zone times are shown in now; also where a `since:` without an offset is read.
    The local zone is looked at on each call, so a changed TZ (after time.tzset) counts."""
    return UTC_ZONE if _choice is ZoneChoice.UTC else local_zone()


def offset_text(offset: timedelta | None) -> str:
    """`+09:00`, `+05:30`, `-03:00`, `+00:00` (seconds of an odd historical offset dropped)."""
    minutes = round((offset or timedelta(0)).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def zone_label(at: datetime | None = None) -> str:
    """The display zone's name for people: `UTC`, `JST +09:00`, `IST +05:30`; a zone whose
    only name is its offset (`+0530`, `-03`) by the offset alone. `at`: the instant whose
    offset is named (default now; daylight saving moves it)."""
    if display_zone() == UTC_ZONE:
        return "UTC"
    moment = (at or datetime.now(UTC)).astimezone()
    offset = offset_text(moment.utcoffset())
    name = (moment.tzname() or "").strip()
    if not name or name[0] in "+-" or name[0].isdigit():
        return offset
    if name.upper() == "UTC" and offset == "+00:00":
        return "UTC"
    return f"{sanitize(name)} {offset}"


def _marked(why: str, raw: str) -> str:
    return f'{why}: "{sanitize(raw)}"'


def show_time(stamp: Timestamp | None, style: TimeStyle = TimeStyle.FULL) -> str:
    """THE function that turns a stored moment into shown text, in the display zone, in one
    of its styles. None is `—`; text that does not parse is marked (`unparsed: "…"`), never
    shown as if it were a time. Safe to print (everything from the file is sanitised)."""
    if stamp is None:
        return MISSING
    if stamp.value is None:
        return _marked(UNPARSED, stamp.raw)
    try:
        wall = display_zone().wall(stamp.value)
    except (OverflowError, OSError, ValueError):  # the C library cannot place it in the zone
        return _marked(OUT_OF_RANGE, stamp.raw)
    clock = f"{wall.hour:02d}:{wall.minute:02d}:{wall.second:02d}"
    if style is TimeStyle.CLOCK:
        return clock
    if style is TimeStyle.SHORT:
        return f"{wall.month:02d}-{wall.day:02d} {clock}"
    # Formatted by hand, not strftime: "%Y" does not pad years before 1000 on every platform.
    day = f"{wall.year:04d}-{wall.month:02d}-{wall.day:02d}"
    shown = f"{day} {clock}.{wall.microsecond // 1000:03d}"
    if style is TimeStyle.SCREEN:
        return shown
    return f"{shown} {offset_text(wall.utcoffset())}"


def show_moment(moment: datetime, style: TimeStyle = TimeStyle.FULL) -> str:
    """An instant the tool knows itself (a refresh, a file's mtime), through `show_time`."""
    return show_time(Timestamp(moment.isoformat(), moment), style)


def choose_zone(asked: ZoneChoice | None, settings_folder: Path | None) -> ZoneChoice:
    """The zone for a run: the one asked for on the command line (`--utc`, `--local-time`)
    wins, for that run only; else the one the dashboard remembered in the settings; else
    the local zone."""
    if asked is not None:
        return asked
    saved = saved_zone(settings_folder) if settings_folder is not None else None
    return ZoneChoice(saved) if saved is not None else ZoneChoice.LOCAL
