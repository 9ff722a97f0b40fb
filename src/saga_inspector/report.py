"""What the command line prints: sagas as JSON-able dicts for scripts, aligned plain text for
people. The dashboard reuses the dicts ("copy saga as JSON") and the time/duration formatters.

Dicts carry the stored values as they are (strict_json makes them terminal-safe and lossless);
every string from the file that reaches plain text goes through `sanitize` first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .display_time import MISSING, TimeStyle, show_time
from .sanitize import sanitize
from .store import (
    LAUNCHER,
    LogFormat,
    Saga,
    SagaDetail,
    SchemaInfo,
    StateCounts,
    Step,
    Timestamp,
)
from .store.models import StoredValue
from .store.payload import json_value, parse_json, pretty_json, strict_json
from .store.source import SourceInfo
from .store.states import StepRole
from .units import format_count

IN_FLIGHT_NOTE = "was in flight when the saga stopped"
LABEL_WIDTH = 9  # "duration" plus a space: the label column of `show` and `show --explain`


# -- JSON for scripts ------------------------------------------------------------------------


def _times(log_format: LogFormat, **stamps: Timestamp | None) -> dict[str, object]:
    """`started_at`/`ended_at` as the JSON gives them: RFC 3339 text for every format (the
    launcher's as stored; a server time in UTC to the millisecond), and for a format that
    stores something else, the stored value beside it as `<name>_raw`."""
    fields: dict[str, object] = {}
    for name, stamp in stamps.items():
        _put_time(fields, log_format, name, stamp)
    return fields


def _put_time(fields: dict[str, object], log_format: LogFormat, name: str,
              stamp: Timestamp | None) -> None:
    """One time into `fields` (see _times), without building a dict of its own: an export
    does this twice a saga."""
    encoding = log_format.time
    text, raw = (None, None) if stamp is None else encoding.export(stamp)
    fields[name] = text
    if encoding.export_raw:
        fields[f"{name}_raw"] = raw


def _seconds(duration: timedelta | None) -> float | None:
    return None if duration is None else duration.total_seconds()


def saga_to_dict(saga: Saga, *, parse_input: bool = True) -> dict[str, object]:
    """One saga as the CLI's JSON gives it (times as stored, `input` parsed or None), with
    the log it is from (`source`, `source_path`). `parse_input` False leaves `input` out
    (CSV has no such column: it would be parsed for nothing)."""
    fields: dict[str, object] = {"saga_id": saga.saga_id, "name": saga.name,
                                 "state": saga.state}
    _put_time(fields, saga.log_format, "started_at", saga.started_at)
    _put_time(fields, saga.log_format, "ended_at", saga.ended_at)
    fields["duration_s"] = _seconds(saga.duration)
    fields["failure_reason"] = saga.failure_reason
    if parse_input:
        fields["input"] = json_value(saga.input_json)
    fields["input_json"] = saga.input_json
    fields["steps_total"] = saga.steps_total
    fields["steps_done"] = saga.steps_done
    # The log it was read from: its label and full path (None for a saga not read from a
    # log). Ids collide across logs: (source, saga_id) is what names a saga.
    tag = saga.source
    fields["source"] = tag.label or None
    fields["source_path"] = str(tag.path) if tag.label else None
    return fields


def step_to_dict(step: Step, log_format: LogFormat = LAUNCHER) -> dict[str, object]:
    """One step; `log_format`: its saga's (how its times are given)."""
    return {
        "step_index": step.step_index,
        "name": step.name,
        "state": step.state,
        "target": step.target,
        **_times(log_format, started_at=step.started_at, ended_at=step.ended_at),
        "duration_s": _seconds(step.duration),
        "cmd": json_value(step.cmd_json),
        "cmd_json": step.cmd_json,
        "output": json_value(step.output_json),
        "output_json": step.output_json,
        "failure_reason": step.failure_reason,
        "in_flight": step.in_flight,
        "role": step.role.value,
        "undoes": step.undoes,
        "best_effort": step.best_effort,
    }


def detail_to_dict(detail: SagaDetail) -> dict[str, object]:
    """One saga with all its steps, in step order."""
    fmt = detail.saga.log_format
    return {**saga_to_dict(detail.saga), "steps": [step_to_dict(s, fmt) for s in detail.steps]}


def stats_to_dict(counts: StateCounts, sources: Sequence[SourceInfo],
                  warnings: Sequence[str], schema: SchemaInfo | None = None) -> dict[str, object]:
    """`stats --json`: the counts and total over every log, then each log (`sources`).

    `schema`: the one log's, when the view is of one log: `database`, `format` and the
    schema fields are then that log's, as before several logs could be read at once. Of
    several logs, `database`, `schema_version` and `known_schema_version` are None (each log
    has its own, in `sources`), `format` is the formats' names joined by `+` when they
    differ (`launcher+server`), and `newer_than_known` says whether any log is newer."""
    one = schema is not None and len(sources) == 1
    return {
        "database": str(sources[0].tag.path) if one else None,
        "format": schema.log_format.name if one and schema else counts.log_format.name,
        "schema_version": schema.user_version if one and schema else None,
        "known_schema_version": schema.known_version if one and schema else None,
        "newer_than_known": any(info.newer_than_known for info in sources),
        "counts": dict(counts.by_state),
        "total": counts.total,
        "warnings": list(warnings),
        "sources": [source_to_dict(info) for info in sources],
    }


def source_to_dict(info: SourceInfo) -> dict[str, object]:
    """One log of a view: `status` is live, snapshot, gone, error or hidden; `last_write`
    the later of the file's and its -wal's modification times, as RFC 3339 text in UTC to the
    millisecond (None when neither can be read); `counts`/`total` None when it could not be
    counted, and `error` then says why."""
    counts = info.counts
    return {
        "source": info.label,
        "path": str(info.tag.path),
        "status": info.status.value,
        "format": info.log_format.name if info.log_format is not None else None,
        "schema_version": info.schema_version,
        "newer_than_known": info.newer_than_known,
        "total": counts.total if counts is not None else None,
        "counts": dict(counts.by_state) if counts is not None else None,
        "last_write": rfc3339_utc(info.last_write),
        "warnings": list(info.warnings),
        "error": info.error,
    }


def rfc3339_utc(seconds: float | None) -> str | None:
    """Seconds since the epoch as RFC 3339 text in UTC, to the millisecond (the way the JSON
    gives a server time)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def to_json(value: object) -> str:
    """One strict, indented JSON document."""
    return strict_json(value, indent=2)


def json_array_chunks(items: Iterable[object]) -> Iterator[str]:
    """One JSON array, one item a line, produced as the items come (a long list streams)."""
    yield "["
    separator = "\n"
    for item in items:
        yield separator + strict_json(item)
        separator = ",\n"
    yield "\n]\n"


# -- formatting helpers shared with the dashboard ----------------------------------------------


# An end stored before its start: said in words, never as a negative length.
ENDS_BEFORE_START = "ends before it starts (clock skew or damage)"
BEFORE_START_MARK = "<start!"  # the same, where a column has room for a length only


UNDO_GLYPH, NO_UNDO_GLYPH = "↶", "⊘"


def undo_mark(role: StepRole, undoes: int | None) -> str:
    """An undo row's mark, in words: `↶ undo of #1` (the forward step it undoes, where that
    can be told: `↶ undo`), or `⊘ no undo possible`; "" for a forward step."""
    if role is StepRole.UNDO:
        return f"{UNDO_GLYPH} undo of #{undoes}" if undoes is not None else f"{UNDO_GLYPH} undo"
    if role is StepRole.NO_UNDO:
        return f"{NO_UNDO_GLYPH} no undo possible"
    return ""


def short_undo_mark(role: StepRole, undoes: int | None) -> str:
    """The same where a column has room for a few cells: `↶1`, `↶`, `⊘`."""
    if role is StepRole.UNDO:
        return f"{UNDO_GLYPH}{_index(undoes)}" if undoes is not None else UNDO_GLYPH
    return NO_UNDO_GLYPH if role is StepRole.NO_UNDO else ""


def _index(step_index: int) -> str:
    text = str(step_index)  # very long ones (no writer makes them) cut
    return text if len(text) <= 6 else "…" + text[-5:]


# A best-effort step (its failure does not fail the saga), in words and in a few cells.
BEST_EFFORT, BEST_EFFORT_SHORT = "best effort", "b/e"


def format_duration(duration: timedelta | None) -> str:
    """A duration for people: `0.3 ms`, `31 ms`, `5.01 s`, `4m 05s`, `4h 19m`, `2d 03h`;
    one whose end comes before its start `<start!` (describe_duration says it in words)."""
    if duration is None:
        return MISSING
    seconds = duration.total_seconds()
    if seconds < 0:
        return BEFORE_START_MARK
    if seconds < 0.00995:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 0.9995:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 59.995:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def format_timeout(timeout: timedelta) -> str:
    """A saga kind's timeout as people say it: `5 s`, `30 s`, `1.5 s` (format_duration
    gives a measured length, to its precision: `5.00 s`)."""
    return f"{timeout.total_seconds():g} s"


def describe_duration(duration: timedelta | None) -> str:
    """format_duration where there is room for words: an end before the start says so."""
    if duration is not None and duration < timedelta(0):
        return ENDS_BEFORE_START
    return format_duration(duration)


def format_time(stamp: Timestamp | None) -> str:
    """A stored time as text that leaves the screen shows it: in the display zone, to the
    millisecond, with its offset (`display_time.show_time`, TimeStyle.FULL). Safe to print."""
    return show_time(stamp, TimeStyle.FULL)


# -- plain text for people ---------------------------------------------------------------------


def _text(value: StoredValue) -> str:
    return MISSING if value is None else sanitize(value)


def _pad(cell: str, cells: int, width: int, right: bool) -> str:
    gap = " " * (width - cells)
    return gap + cell if right else cell + gap


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """Aligned columns (by terminal cells, so wide characters line up too)."""
    # Imported here: the timeline and the summary import this module for its formatters,
    # and load no rich (tests/test_timeline.py).
    from rich.cells import cell_len

    everything = [[(cell, cell_len(cell)) for cell in row] for row in (header, *rows)]
    widths = [max(row[i][1] for row in everything) for i in range(len(header))]
    return [
        "  ".join(_pad(cell, cells, widths[i], i in right)
                  for i, (cell, cells) in enumerate(row)).rstrip()
        for row in everything
    ]


def labelled(label: str, value: str) -> str:
    """A value after its label, in the label column of `show` (and `show --explain`)."""
    return f"{label:<{LABEL_WIDTH}} {value}"


def _field(label: str, value: str, indent: str) -> str:
    return f"{indent}{labelled(label, value)}".rstrip()


def render_list(sagas: Sequence[Saga], *, empty: str = "no sagas",
                with_source: bool = False) -> str:
    """Sagas as an aligned table, in the order given; `with_source`: a SOURCE column (the
    log's label) after the id, for a view of several logs (ids collide across them)."""
    if not sagas:
        return empty
    rows = [
        (
            str(saga.saga_id),
            *((sanitize(saga.source.label),) if with_source else ()),
            _text(saga.state),
            _text(saga.name),
            format_time(saga.started_at),
            format_duration(saga.duration),
            f"{saga.steps_done}/{saga.steps_total}",
            sanitize(saga.failure_reason),
        )
        for saga in sagas
    ]
    header = ("ID", *(("SOURCE",) if with_source else ()), "STATE", "NAME", "STARTED",
              "DURATION", "STEPS", "FAILURE")
    shift = 1 if with_source else 0
    return "\n".join(_table(header, rows, right={0, 4 + shift, 5 + shift}))


def _state_note(state: str, log_format: LogFormat) -> str:
    if not log_format.knows_state(state):
        return "state unknown to this tool"
    return "needs attention" if log_format.needs_attention(state) else ""


def _schema_line(schema: SchemaInfo) -> str:
    fmt = schema.log_format
    line = f"{schema.user_version} (this tool knows {schema.known_version})"
    if schema.newer_than_known:
        line += f": {fmt.newer_words}, shown read-compatible"
    return line


def _state_rows(counts: StateCounts) -> list[str]:
    rows = [(sanitize(state), format_count(n), _state_note(state, counts.log_format))
            for state, n in counts.by_state.items()]
    return _table(("STATE", "SAGAS", ""), rows, right={1})


def _sagas_line(counts: StateCounts) -> str:
    return _field("sagas", f"{format_count(counts.total)} "
                           f"({format_count(counts.needs_attention)} need attention)", "")


def render_stats(database: Path, schema: SchemaInfo, counts: StateCounts) -> str:
    """The file, its schema version and the sagas per state."""
    lines = [
        _field("database", sanitize(str(database)), ""),
        _field("format", schema.log_format.label, ""),
        _field("schema", _schema_line(schema), ""),
        _sagas_line(counts),
        "",
        *_state_rows(counts),
    ]
    return "\n".join(lines)


def render_sources_stats(counts: StateCounts, sources: Sequence[SourceInfo]) -> str:
    """Several logs: the sagas per state over all of them, then each log (its label, format,
    schema version, sagas, status, last write and path), then why any could not be read."""
    unreadable = [info for info in sources if info.error is not None]
    logs = f"{format_count(len(sources))}"
    if unreadable:
        logs += f" ({format_count(len(unreadable))} cannot be read)"
    rows = [(sanitize(info.label),
             info.log_format.name if info.log_format is not None else MISSING,
             _source_schema(info),
             format_count(info.counts.total) if info.counts is not None else MISSING,
             info.status.value,
             _last_write_text(info.last_write),
             sanitize(str(info.tag.path))) for info in sources]
    lines = [
        _field("logs", logs, ""),
        _field("format", counts.log_format.label, ""),
        _sagas_line(counts),
        "",
        *_state_rows(counts),
        "",
        *_table(("SOURCE", "FORMAT", "SCHEMA", "SAGAS", "STATUS", "LAST WRITE", "PATH"), rows,
                right={3}),
    ]
    for info in sources:
        notes = [*((info.newer_warning,) if info.newer_warning else ()),
                 *((info.error,) if info.error is not None else ())]
        lines += [f"{sanitize(info.label)}: {sanitize(note)}" for note in notes]
    return "\n".join(lines)


def _source_schema(info: SourceInfo) -> str:
    if info.schema_version is None:
        return MISSING
    return f"{info.schema_version} (newer)" if info.newer_than_known else str(info.schema_version)


def _last_write_text(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    return format_time(Timestamp("", datetime.fromtimestamp(seconds, UTC)))


def _payload(label: str, raw: str | None, indent: str) -> list[str]:
    """A JSON payload pretty-printed below its label; text that is not JSON shown as it is."""
    if raw is None:
        return [_field(label, MISSING, indent)]
    parsed = parse_json(raw)
    if not parsed.ok:
        return [_field(label, sanitize(raw), indent),
                _field("", f"({sanitize(parsed.error)})", indent)]
    body = sanitize(pretty_json(parsed.value), multiline=True)
    return [_field(label, "", indent), *(f"{indent}  {line}" for line in body.splitlines())]


def _extra(columns: Mapping[str, StoredValue], indent: str) -> list[str]:
    """Columns the file has beyond the known ones, as they are."""
    return [_field(sanitize(name), _text(value), indent) for name, value in columns.items()]


def _step_lines(step: Step, has_target: bool = True) -> list[str]:
    title = f"  step {step.step_index}  {_text(step.name)}"
    mark = undo_mark(step.role, step.undoes) or (BEST_EFFORT if step.best_effort else "")
    if mark:
        title += f"  {mark}"
    if step.in_flight:
        title += f"  <-- IN FLIGHT: {IN_FLIGHT_NOTE}"
    indent = "    "
    lines = [
        title,
        *([_field("target", _text(step.target), indent)] if has_target else []),
        _field("state", _text(step.state), indent),
        _field("started", format_time(step.started_at), indent),
        _field("ended", format_time(step.ended_at), indent),
        _field("duration", describe_duration(step.duration), indent),
    ]
    if step.failure_reason is not None:
        lines.append(_field("failure", sanitize(step.failure_reason), indent))
    lines += _extra(step.extra, indent)
    return [*lines, *_payload("cmd", step.cmd_json, indent),
            *_payload("output", step.output_json, indent)]


def render_show(detail: SagaDetail, *, with_source: bool = False) -> str:
    """One saga: header, input, failure reason, then every step with its payloads;
    `with_source`: the log it is from (label and path), for a view of several logs."""
    saga, indent = detail.saga, "  "
    source = ([_field("source", f"{sanitize(saga.source.label)}  "
                                f"({sanitize(str(saga.source.path))})", indent)]
              if with_source else [])
    lines = [
        f"saga {saga.saga_id}  {_text(saga.name)}  {_text(saga.state)}",
        *source,
        _field("started", format_time(saga.started_at), indent),
        _field("ended", format_time(saga.ended_at), indent),
        _field("duration", describe_duration(saga.duration), indent),
        _field("steps", f"{saga.steps_done}/{saga.steps_total} done", indent),
        _field("failure", _text(saga.failure_reason), indent),
        *_extra(saga.extra, indent),
        *_payload("input", saga.input_json, indent),
    ]
    for step in detail.steps:
        lines += ["", *_step_lines(step, saga.log_format.has_step_target)]
    if not detail.steps:
        lines += ["", "  no steps recorded"]
    return "\n".join(lines)
