"""The saga log formats this tool reads, and how a file's format is told (by its tables)."""

from __future__ import annotations

from collections.abc import Collection

from .base import LogFormat, TimeEncoding
from .launcher import LAUNCHER
from .server import SERVER

FORMATS: tuple[LogFormat, ...] = (LAUNCHER, SERVER)
FORMAT_NAMES: tuple[str, ...] = tuple(fmt.name for fmt in FORMATS)


def format_named(name: str) -> LogFormat:
    """The format called `name` ("launcher", "server"); KeyError for another name."""
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    raise KeyError(name)


def detect_format(tables: Collection[str | None]) -> LogFormat | None:
    """The format whose saga table the file has (its step table counts when both do)."""
    present = set(tables)
    candidates = [fmt for fmt in FORMATS if fmt.saga_table in present]
    if len(candidates) > 1:
        both = [fmt for fmt in candidates if fmt.step_table in present]
        candidates = both or candidates
    return candidates[0] if candidates else None


def described_formats() -> str:
    """`a launcher saga log (tables launcher_saga, launcher_saga_step) or a server ...`."""
    return " or ".join(f"a {fmt.label} (tables {fmt.saga_table}, {fmt.step_table})"
                       for fmt in FORMATS)


__all__ = ["FORMATS", "FORMAT_NAMES", "LAUNCHER", "SERVER", "LogFormat", "TimeEncoding",
           "described_formats", "detect_format", "format_named"]
