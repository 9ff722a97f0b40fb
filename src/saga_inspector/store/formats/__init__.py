"""The saga log formats this tool reads, and how a file's format is told (by its tables)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace

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


def combined_format(formats: Iterable[LogFormat]) -> LogFormat:
    """What a view of several logs says about states as a whole: the one format when they
    share it, else one whose states are every format's (in order), final only where final in
    all. Rows and steps are always read through their own log's format (Saga.log_format);
    this serves the filter chips, state names, follow mode and the notes on what a format
    lacks."""
    distinct = list(dict.fromkeys(formats))
    if len(distinct) <= 1:
        return distinct[0] if distinct else LAUNCHER
    states = tuple(dict.fromkeys(state for fmt in distinct for state in fmt.saga_states))
    return replace(
        distinct[0],
        name="+".join(fmt.name for fmt in distinct),
        label=" and ".join(fmt.label for fmt in distinct),
        writer=" and ".join(fmt.writer for fmt in distinct),
        saga_states=states,
        final_states=frozenset.intersection(*(fmt.final_states for fmt in distinct)),
        lacks={name: reason for name, reason in distinct[0].lacks.items()
               if all(name in fmt.lacks for fmt in distinct)},
    )


__all__ = ["FORMATS", "FORMAT_NAMES", "LAUNCHER", "SERVER", "LogFormat", "TimeEncoding",
           "combined_format", "described_formats", "detect_format", "format_named"]
