"""Sagas written out for someone else: JSON lines (exact values) or CSV (for spreadsheets).

Both stream: sagas come from an iterator (the store's keyset pages, `SagaStore.walk`) and
each is written as it comes, so an export of a million sagas holds one page at a time.

JSON lines are `list --jsonl`'s lines: `report.saga_to_dict` through `strict_json`, ASCII
only (safe in a terminal) and lossless (`input_json` is the stored text itself).

CSV is for people: every text cell goes through the one sanitiser (one line per cell, so a
record is one line), and a text cell that a spreadsheet would run as a formula (it starts
with `=`, `+`, `-`, `@`, a tab or a carriage return: OWASP's list) gets a leading `'`, which
spreadsheets show as text. So CSV text is not always byte-exact (a name `-x` reads `'-x`);
JSON lines are. Numbers the tool itself writes (ids, durations, step counts) are never
prefixed. Lines end in CRLF (RFC 4180); the file is UTF-8 without a byte order mark.

A file export writes a temporary file beside the destination and renames it over the
destination only when complete: a cancelled or failed export leaves no partial file, and
a file it was to replace stays as it was. The file is created 0600 (sagas hold host names
and commands; the operator can widen it).

Pure: no Textual. The CLI writes to stdout with `write_sagas`; the dashboard uses
`export_to_file` from a worker thread.
"""

from __future__ import annotations

import contextlib
import math
import operator
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from .report import format_duration, saga_to_dict
from .sanitize import all_safe, sanitize
from .store import PAGE_SIZE, LogFormat, Saga, Timestamp
from .store.connection import sidecar
from .store.payload import json_value, strict_json, strict_json_lines
from .units import format_count

JSONL, CSV = "jsonl", "csv"
FORMATS = (JSONL, CSV)
SUFFIXES = {JSONL: ".jsonl", CSV: ".csv"}
FORMAT_NAMES = {JSONL: "JSON lines", CSV: "CSV"}
# The extensions that name a format (compared in lower case): a file is never written in one
# format under the other's extension.
NAMED_BY_SUFFIX = {".jsonl": JSONL, ".json": JSONL, ".csv": CSV}
# The CSV columns, from saga_to_dict (`input` is left out: `input_json` holds it as stored).
# `source` is the log's label, beside the id: ids collide across logs, (source, id) do not.
CSV_COLUMNS = ("saga_id", "source", "name", "state", "started_at", "ended_at", "duration_s",
               "steps_done", "steps_total", "failure_reason", "input_json")
# A cell starting with one of these is run as a formula by spreadsheets (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Files SQLite keeps beside a database: never an export's destination.
DATABASE_COMPANIONS = ("", "-wal", "-shm", "-journal")
UNUSABLE_NAME = "not a usable file name"


class ExportCancelled(Exception):
    """The export was cancelled; nothing was written at the destination."""


def jsonl_line(saga: Saga) -> str:
    """One saga as one strict JSON line (without the newline)."""
    return strict_json(saga_to_dict(saga))


def csv_cell(value: object) -> object:
    """A value for a CSV cell: numbers as they are, text sanitised and kept from being run
    as a formula."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
    # The stored first character decides: the sanitiser turns a tab or a CR into a visible
    # symbol, so the sanitised text would never show them (it never uncovers a formula start).
    text = sanitize(value)
    return "'" + text if str(value).startswith(FORMULA_STARTS) else text


def csv_row(saga: Saga) -> list[object]:
    # `input` is no column: saga_to_dict leaves it unparsed.
    fields = saga_to_dict(saga, parse_input=False)
    return [csv_cell(fields[column]) for column in CSV_COLUMNS]


def _jsonl_page(sagas: Sequence[Saga]) -> str:
    # jsonl_line's, a line each, without a call of its own a saga.
    return strict_json_lines(_saga_dicts(sagas)) if sagas else ""


def _saga_dicts(sagas: Sequence[Saga]) -> Iterable[dict[str, object]]:
    """saga_to_dict of each saga (tests/test_export_exact.py holds it to that), its fields
    read a column at a time and each dict made in one expression: a page of one log format
    whose times are their text (a launcher's). Others go through saga_to_dict."""
    fmt = sagas[0].log_format
    if fmt.time.export_raw or any(saga.log_format is not fmt for saga in sagas):
        return map(saga_to_dict, sagas)
    (ids, tags, names, states, starts, ends, done, total, reasons, inputs,
     formats) = zip(*map(_SAGA_COLUMNS, sagas), strict=True)
    return [{"saga_id": saga_id, "name": name, "state": state, "started_at": started,
             "ended_at": ended, "duration_s": duration, "failure_reason": reason,
             "input": json_value(input_json), "input_json": input_json,
             "steps_total": steps_total, "steps_done": steps_done,
             "source": tag.label or None, "source_path": str(tag.path) if tag.label else None}
            for saga_id, name, state, started, ended, duration, reason, input_json,
            steps_total, steps_done, tag in zip(
                ids, names, states, _export_times(starts, formats),
                _export_times(ends, formats), _durations(starts, ends), reasons, inputs,
                total, done, tags, strict=True)]


_NONE = type(None)
_TEXT_KINDS = frozenset({str, _NONE})
_NUMBER_KINDS = frozenset({int, float, _NONE})
_FORMULA_FIRSTS = frozenset(FORMULA_STARTS)  # each is one character


def _csv_page(sagas: Sequence[Saga]) -> str:
    columns = _csv_values(sagas)
    if not _cells_as_they_are(columns):
        columns = [[csv_cell(value) for value in column] for column in columns]
    return csv_records(columns)


_SAGA_COLUMNS = operator.attrgetter("saga_id", "source", "name", "state", "started_at",
                                    "ended_at", "steps_done", "steps_total", "failure_reason",
                                    "input_json", "log_format")


def _csv_values(sagas: Sequence[Saga]) -> list[Sequence[object]]:
    """The CSV_COLUMNS of `sagas`, column by column: the values saga_to_dict gives them
    (tests/test_export_exact.py holds it to that), read from the sagas' fields a column at a
    time rather than through a dict a saga (which was a third of a CSV export's time)."""
    if not sagas:
        return [() for _ in CSV_COLUMNS]
    (ids, tags, names, states, starts, ends, done, total, reasons, inputs,
     formats) = zip(*map(_SAGA_COLUMNS, sagas), strict=True)
    return [ids, [tag.label or None for tag in tags], names, states,
            _export_times(starts, formats), _export_times(ends, formats),
            _durations(starts, ends), done, total, reasons, inputs]


def _durations(starts: Sequence[Timestamp | None],
               ends: Sequence[Timestamp | None]) -> list[float | None]:
    """Each saga's `duration_s` (Saga.duration's seconds) from its times."""
    return [None if start is None or end is None or start.value is None or end.value is None
            else (end.value - start.value).total_seconds()
            for start, end in zip(starts, ends, strict=True)]


def _export_times(stamps: Sequence[Timestamp | None],
                  formats: Sequence[LogFormat]) -> list[str | None]:
    """Each time as saga_to_dict writes it (LogFormat.export_time's text)."""
    if len(set(formats)) == 1:  # one log's page, or logs of one format: its export once
        export = formats[0].time.export
        return [None if stamp is None else export(stamp)[0] for stamp in stamps]
    return [fmt.export_time(stamp)[0] for stamp, fmt in zip(stamps, formats, strict=True)]


def _cells_as_they_are(columns: Sequence[Sequence[object]]) -> bool:
    """Whether csv_cell would give every value of these columns as it is (None becomes ""
    either way): numbers, and text that is safe and starts no formula. Asked of a page at
    once, in a few calls, it spares the usual page a call per cell."""
    texts: list[str] = []
    for column in columns:
        kinds = set(map(type, column))
        if kinds <= _TEXT_KINDS:
            texts += filter(None, column)  # type: ignore[arg-type]
        elif not kinds <= _NUMBER_KINDS:
            return False
    return all_safe(texts) and _FORMULA_FIRSTS.isdisjoint(map(operator.itemgetter(0), texts))


def _csv_field(value: object) -> str:
    """One cell as the csv module writes it (QUOTE_MINIMAL, the excel dialect): None empty,
    numbers as str() gives them, text quoted when it holds a comma, a quote or a line end
    (its quotes doubled)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if '"' in text or "," in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_column(column: Sequence[object]) -> list[str]:
    """A column's cells as _csv_field writes them, the usual kinds of column (all text, or
    all numbers, each maybe with None) in one comprehension rather than a call a cell."""
    kinds = set(map(type, column))
    if kinds <= _TEXT_KINDS:
        return ["" if text is None else (
            '"' + text.replace('"', '""') + '"'
            if '"' in text or "," in text or "\n" in text or "\r" in text else text)
            for text in column]  # type: ignore[union-attr]
    if kinds <= _NUMBER_KINDS:
        return ["" if number is None else str(number) for number in column]
    return [_csv_field(value) for value in column]


def csv_records(columns: Sequence[Sequence[object]]) -> str:
    """CSV records, CRLF after each, from their values given column by column: the bytes
    `csv.writer(out, lineterminator="\\r\\n").writerows(rows)` writes (tests hold it to
    that, for records of more than one field), made a column at a time (the csv module
    reads every character twice through a call: more than half of a CSV export's time)."""
    if not columns or not columns[0]:
        return ""
    lines = map(",".join, zip(*map(_csv_column, columns), strict=True))
    return "\r\n".join(lines) + "\r\n"


_CSV_HEADER = csv_records([[column] for column in CSV_COLUMNS])


# A page of sagas as the text of their records: written with one call.
_PAGE_TEXT: dict[str, Callable[[Sequence[Saga]], str]] = {JSONL: _jsonl_page, CSV: _csv_page}


def _pages(sagas: Iterable[Saga], size: int) -> Iterator[list[Saga]]:
    """`sagas` in lists of `size` (the last one shorter), each taken as the iterator gives
    them: a page is written before the next is read. When reading fails, the sagas read
    before the failure are still given (written, as they were one by one), then it raises."""
    page: list[Saga] = []
    try:
        for saga in sagas:
            page.append(saga)
            if len(page) == size:
                yield page
                page = []
    except Exception:
        if page:
            yield page
        raise
    if page:
        yield page


Progress = Callable[[int], None]
Cancelled = Callable[[], bool]


def write_sagas(sagas: Iterable[Saga], out: TextIO, fmt: str, *,
                progress: Progress | None = None, cancelled: Cancelled | None = None,
                every: int = PAGE_SIZE) -> int:
    """Write `sagas` to `out` as they come, `every` at a time; returns how many were
    written. `progress(n)` is called after each `every` sagas written; `cancelled()` is
    asked before each `every` sagas, and True stops the export with ExportCancelled."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    page_text = _PAGE_TEXT[fmt]
    if fmt == CSV:
        out.write(_CSV_HEADER)
    written = 0
    for page in _pages(sagas, every):
        if cancelled is not None and cancelled():
            raise ExportCancelled
        out.write(page_text(page))
        written += len(page)
        if progress is not None and len(page) == every:
            progress(written)
    if cancelled is not None and cancelled():  # cancelled while the last page was read
        raise ExportCancelled
    return written


def progress_note(written: int, total: int, elapsed: float) -> str:
    """An export under way, for people: the sagas written of the total, the pace so far
    (`elapsed` seconds since the first saga was asked for) and the time left at that pace:
    `exported 12,000 of 1,000,000 sagas · 81,000 sagas/s · about 13 s left`. Before any
    saga is written there is no pace to tell."""
    done = (f"exported {format_count(written)} of {format_count(total)} "
            f"saga{'' if total == 1 else 's'}")
    if written <= 0 or elapsed <= 0:
        return f"{done} …"
    rate = written / elapsed
    pace = round(rate)
    return (f"{done} · {format_count(pace)} saga{'' if pace == 1 else 's'}/s · "
            f"{_time_left(max(total - written, 0) / rate)}")


def _time_left(seconds: float) -> str:
    if seconds < 1:
        return "less than a second left"
    if seconds < 60:  # whole seconds, rounded up: an estimate, not a measurement
        return f"about {math.ceil(seconds)} s left"
    return f"about {format_duration(timedelta(seconds=round(seconds)))} left"


def export_to_file(sagas: Iterable[Saga], destination: Path, fmt: str, *,
                   progress: Progress | None = None, cancelled: Cancelled | None = None,
                   every: int = PAGE_SIZE) -> int:
    """Write `sagas` to `destination` whole or not at all (see the module's docstring);
    returns how many were written. Raises ExportCancelled, OSError, or what reading raises;
    ValueError for a name whose extension names the other format (`x.csv` in JSON lines)."""
    problem = suffix_disagrees(destination.name, fmt)
    if problem is not None:
        raise ValueError(problem)
    handle, partial = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".partial",
                                       dir=destination.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogatepass",
                       newline="") as out:
            written = write_sagas(sagas, out, fmt, progress=progress, cancelled=cancelled,
                                  every=every)
        os.replace(partial, destination)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
    return written


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.resolve() == other.resolve() or os.path.samefile(one, other)
    # Missing, or a symbolic-link loop (RuntimeError): their resolved paths decide. A NUL
    # in a name (ValueError) names no file at all.
    except (OSError, ValueError, RuntimeError):
        return False


def _companion(database: Path, companion: str) -> Path:
    """Where SQLite keeps `companion` of `database`: beside the file the path resolves to
    (a log given through a symbolic link has its -wal beside the real file, not the link)."""
    try:
        return sidecar(database, companion)
    except (OSError, RuntimeError):  # a link loop now: beside the path as given, then
        return database.with_name(database.name + companion)


def refused_destination(destination: Path, database: Path) -> str | None:
    """Why `destination` must not be written (None: it may): the saga log itself or one of
    SQLite's files beside it (by path, through symbolic links, or a hard link to it), a
    folder, or a name no file can have."""
    try:
        destination.resolve()
    except ValueError:  # a NUL in the name
        return UNUSABLE_NAME
    except (OSError, RuntimeError):  # a link loop: the checks below still apply
        pass
    for companion in DATABASE_COMPANIONS:
        beside = _companion(database, companion) if companion else database
        if _same_file(destination, beside):
            what = "the saga log itself" if not companion else f"the saga log's {companion} file"
            return f"that is {what}: exports never write to it"
    if destination.is_dir():
        return "that is a folder: give a file name"
    if not destination.parent.is_dir():
        return "no such folder"
    return None


def default_name(view: str, fmt: str, stamp: str) -> str:
    """`sagas-failed-20260609-120000.jsonl`: the view (already made file-name safe), the
    moment, the format's suffix."""
    return f"sagas-{view}-{stamp}{SUFFIXES[fmt]}"


def _format_suffix(name: str) -> str | None:
    lowered = name.lower()
    return next((suffix for suffix in NAMED_BY_SUFFIX if lowered.endswith(suffix)), None)


def format_of_name(name: str) -> str | None:
    """The format a file name's extension names (`.csv`: CSV; `.jsonl`, `.json`: JSON lines,
    in any case), or None for any other name."""
    suffix = _format_suffix(name)
    return None if suffix is None else NAMED_BY_SUFFIX[suffix]


def renamed_for(name: str, fmt: str) -> str:
    """`name` with the extension of the other format changed to `fmt`'s (`x.csv` becomes
    `x.jsonl`); a name with another extension, or none, is left as it is."""
    suffix = _format_suffix(name)
    if suffix is None or NAMED_BY_SUFFIX[suffix] == fmt:
        return name
    return name[: -len(suffix)] + SUFFIXES[fmt]


def suffix_disagrees(name: str, fmt: str) -> str | None:
    """Why `fmt` must not be written under `name` (its extension names the other format), or
    None when it may."""
    suffix = _format_suffix(name)
    if suffix is None or NAMED_BY_SUFFIX[suffix] == fmt:
        return None
    named = FORMAT_NAMES[NAMED_BY_SUFFIX[suffix]]
    return (f"a name ending in {name[-len(suffix):]} is for {named}, not {FORMAT_NAMES[fmt]}: "
            f"change the name or the format")


def name_safe(text: str) -> str:
    """A piece of a file name made of letters, digits and dashes only."""
    kept = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in kept.split("-") if part) or "view"
