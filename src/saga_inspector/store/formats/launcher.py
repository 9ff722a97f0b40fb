"""The launcher's `launcher-sagas.db`: two tables, RFC 3339 text times, a target per step.

Times in SQL: `micros_sql` gives a stored time as whole microseconds since the Unix epoch,
exactly `micros(parse_timestamp(value))`:
- the launcher's own form (`2026-06-02T14:05:23.481526300+00:00`: `T`, 0/3/6/9 fraction
  digits, `+00:00`), checked by shape, is computed in SQL (SQLite's julianday for the whole
  seconds, the digits for the microseconds), which needs no Python call (and no GIL) per row;
- anything else that is not NULL goes to `saga_micros()`, a deterministic SQL function built
  on parse_timestamp (registered on the store's connections).
tests/test_query_store.py proves the two agree on every form and on near-misses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from saga_inspector.store.kinds import LAUNCHER_KINDS
from saga_inspector.store.sql import json_keys_hold
from saga_inspector.store.states import SagaState, StepState
from saga_inspector.store.timestamps import NO_VALUE, from_micros, micros, parse_timestamp

from .base import SAGA_FIELDS, STEP_FIELDS, LogFormat, TimeEncoding

TIME_FUNCTION = "saga_micros"
# The top-level payload keys whose string values are labels (the launcher's input uses the
# last two; commands and events carry `label`).
LABEL_KEYS = ("label", "closed_label", "promoted_label")
_JULIAN_UNIX_EPOCH = 2440587.5


def _stored_micros(raw: object) -> int | None:
    # Handed the value as a BLOB: text that is not UTF-8 cannot reach Python as str, and
    # parse_timestamp decodes bytes the way the store's connection decodes text.
    return micros(parse_timestamp(raw))


# The launcher's lengths (0, 3, 6 or 9 fraction digits): the shape of each, with `?` for its
# digits (GLOB's character classes cost several times more), and its microseconds.
_LAUNCHER_FORMS = (
    (35, "????-??-??T??:??:??.?????????+00:00", "CAST(substr({x}, 21, 6) AS INTEGER)"),
    (32, "????-??-??T??:??:??.??????+00:00", "CAST(substr({x}, 21, 6) AS INTEGER)"),
    (29, "????-??-??T??:??:??.???+00:00", "CAST(substr({x}, 21, 3) AS INTEGER) * 1000"),
    (25, "????-??-??T??:??:??+00:00", "0"),
)


def text_micros_sql(x: str) -> str:
    """SQL for the stored time in `x` as whole microseconds since the epoch, or NULL: the
    same value as micros(parse_timestamp(x)). See the module's docstring."""
    if x == "NULL":
        return "NULL"
    exact = f"{TIME_FUNCTION}(CAST({x} AS BLOB))"
    # The shape by length; julianday() then checks that the digits are digits, in range, and
    # the fraction digits only -- except that it lets whitespace stand before the zone
    # (`substr(x, -7, 1) > ' '` rules that out). The rest rules out what it accepts and the
    # parser does not: BLOBs and year 0 (`>= '0001' AND < ':'`), hour 24, days past the
    # month's end (`date(d, '+0 days')` turns 2026-02-30 into 2026-03-02).
    valid = (
        f"{x} >= '0001' AND {x} < ':' AND {x} NOT GLOB '???????????24*' "
        f"AND ({x} GLOB '????-??-[01]*' OR {x} GLOB '????-??-2[0-8]*' "
        f"OR date(substr({x}, 1, 10), '+0 days') = substr({x}, 1, 10))"
    )
    forms = []
    for length, shape, fraction in _LAUNCHER_FORMS:
        before_zone = f" AND substr({x}, -7, 1) > ' '" if fraction != "0" else ""
        # (coalesce: julianday() gives NULL for digits that are not, and for the last
        # half millisecond of the year 9999, which it rounds into the year 10000)
        fast = f"coalesce({_from_julian(x, fraction.format(x=x))}, {exact})"
        forms.append(f"WHEN {length} THEN CASE WHEN {x} GLOB '{shape}'{before_zone} AND {valid} "
                     f"THEN {fast} ELSE {exact} END")
    return (f"(CASE WHEN {x} IS NULL THEN NULL ELSE CASE length({x}) {' '.join(forms)} "
            f"ELSE {exact} END END)")


def _from_julian(x: str, fraction: str) -> str:
    """Microseconds from julianday (whole milliseconds, as a double: off by well under half
    a second) and the exact microseconds of the fraction: the whole seconds are the nearest
    integer to (time - fraction)."""
    seconds = (f"CAST(round(((julianday({x}) - {_JULIAN_UNIX_EPOCH}) * 86400000000.0 "
               f"- ({fraction})) / 1000000.0) AS INTEGER)")
    return f"({seconds} * 1000000 + ({fraction}))"


def text_moment_sql(column: str, since: bool, bound: int) -> tuple[str, list[object]]:
    """since/until on a text time. A time's text starts with its local date, and a zone
    moves it less than a day: text more than a day away from the bound is decided by a text
    comparison, and only the rest pays for the exact time (see _day_text)."""
    exact = f"{text_micros_sql(column)} {'>=' if since else '<='} ?"
    near = text_near_sql(column, since, bound)
    if near is None:
        return exact, [bound]
    return f"CASE WHEN {near[0]} THEN {exact} ELSE 0 END", [*near[1], bound]


def text_near_sql(column: str, since: bool, bound: int) -> tuple[str, list[object]] | None:
    """Text comparisons alone, true for every stored value whose time is at or after
    (since) or at or before `bound` µs, and for some others: text more than a day away
    from the bound is false (see _day_text). None: no such cheap test."""
    if since:
        day = _day_text(bound, -1)
        # Text starting below '0' may start with whitespace the parser strips.
        near = f"({column} >= ? OR {column} < '0')"
    else:
        day = _day_text(bound, +2)
        # Text from ':' up (other scripts' whitespace, BLOBs).
        near = f"({column} < ? OR {column} >= ':')"
    return None if day is None else (near, [day])


def _day_text(moment: int, days: int) -> str | None:
    """`YYYY-MM-DD` of the day `days` after the one holding `moment` (µs since the epoch);
    None outside the years 1-9999."""
    instant = from_micros(moment)
    if instant is None:
        return None
    try:
        return (instant + timedelta(days=days)).date().isoformat()
    except OverflowError:
        return None


def text_bounds_sql(x: str) -> str:
    """Over a block of rows: (missing times, times not in the launcher's form, the lowest
    text, the highest text). In that form (text, `T`, UTC as `+00:00`, a real date: the
    date SQLite reads back is the one written, which rules out days past the month's end,
    hour 24 and digits that are not) text sorts as its time does, so the lowest and highest
    text are the lowest and highest time, and no time is computed per row."""
    # (Years far from ours are left to the exact read: SQLite's calendar and the parser's
    # part ways there, e.g. on 0001-02-29.)
    own_form = (f"typeof({x}) = 'text' AND {x} GLOB '????-??-??T??:??:??*+00:00' "
                f"AND {x} >= '1900' AND {x} < '2200' AND substr({x}, -7, 1) > ' ' "
                f"AND date({x}) = substr({x}, 1, 10)")
    return (f"count(*) - count({x}), sum({x} IS NOT NULL AND NOT coalesce({own_form}, 0)), "
            f"min({x}), max({x})")


def text_bounds(row: Sequence[object]) -> tuple[int, int] | None:
    """text_bounds_sql's row as (lowest, highest) µs; None when a time is not in the
    launcher's own form (the block is then read exactly). A missing time sorts lowest."""
    missing, other_form, lowest, highest = row
    if other_form:
        return None
    low, high = micros(parse_timestamp(lowest)), micros(parse_timestamp(highest))
    if low is None or high is None:
        return None
    return (NO_VALUE if missing else low), high


def text_ordered_sql(x: str) -> str:
    """Launcher text in its own form, `T` and UTC as `+00:00`: the parser reads it as
    `YYYY-MM-DDTHH:MM:SS[.digits]+00:00` (ASCII digits in fixed places; a fraction sorts
    as its value, `+` below every digit) or not at all, so text order is time order. (A
    BLOB matches no GLOB: it is read exactly.)"""
    return f"({x} GLOB '????-??-??T??:??:??*+00:00')"


def text_span_sql(end: str, start: str) -> str:
    """julianday's span in µs: julianday keeps whole milliseconds of each end, and a double
    of days about 50 µs (TEXT_SPAN_ERROR)."""
    return f"((julianday({end}) - julianday({start})) * 86400000000.0)"


TEXT_SPAN_ERROR = 3_000  # µs: a millisecond lost at each end, and the doubles' rounding


RFC3339_TEXT = TimeEncoding(
    decode=parse_timestamp,
    micros_sql=text_micros_sql,
    moment_sql=text_moment_sql,
    functions={TIME_FUNCTION: _stored_micros},
    bounds_sql=text_bounds_sql,
    bounds=text_bounds,
    near_sql=text_near_sql,
    ordered_sql=text_ordered_sql,
    span_sql=text_span_sql,
    span_error=TEXT_SPAN_ERROR,
)


def _step_reason_sql(step: Mapping[str, str]) -> str:
    return step["failure_reason"]


def _labels(column: str, match: object) -> tuple[str, list[object]]:
    return json_keys_hold(column, LABEL_KEYS, match)  # type: ignore[arg-type]


# The launcher's own DDL (schema.rs), used to write demo data and test fixtures.
LAUNCHER_DDL = """
CREATE TABLE IF NOT EXISTS launcher_saga (
    saga_id        INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed', 'compensating', 'failed_compensation')),
    started_at     TEXT NOT NULL,
    ended_at       TEXT,
    input_json     TEXT NOT NULL,
    failure_reason TEXT
);

CREATE TABLE IF NOT EXISTS launcher_saga_step (
    saga_id        INTEGER NOT NULL REFERENCES launcher_saga(saga_id) ON DELETE CASCADE,
    step_index     INTEGER NOT NULL,
    name           TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed', 'compensated')),
    cmd_json       TEXT,
    target         TEXT,
    started_at     TEXT NOT NULL,
    ended_at       TEXT,
    output_json    TEXT,
    failure_reason TEXT,
    PRIMARY KEY (saga_id, step_index)
);

CREATE INDEX IF NOT EXISTS idx_launcher_saga_state
    ON launcher_saga(state);
CREATE INDEX IF NOT EXISTS idx_launcher_saga_step_state
    ON launcher_saga_step(saga_id, state);
"""  # noqa: E501


LAUNCHER = LogFormat(
    ddl=LAUNCHER_DDL,
    name="launcher",
    label="launcher saga log",
    writer="launcher",
    file_name="launcher-sagas.db",
    saga_table="launcher_saga",
    step_table="launcher_saga_step",
    saga_columns={f: f for f in SAGA_FIELDS},
    step_columns={f: f for f in STEP_FIELDS},
    required_saga_fields=frozenset({"saga_id", "state"}),
    required_step_fields=frozenset({"saga_id", "step_index"}),
    saga_states=tuple(state.value for state in SagaState if state is not SagaState.COMPENSATED),
    final_states=frozenset({SagaState.COMPLETED.value, SagaState.FAILED_COMPENSATION.value}),
    done_step_states=frozenset({StepState.SUCCEEDED.value}),
    pending_step_state=StepState.PENDING.value,
    known_schema_version=1,
    newer_consequence="",
    time=RFC3339_TEXT,
    kinds=LAUNCHER_KINDS,
    step_reason_sql=_step_reason_sql,
    label_keys=LABEL_KEYS,
    ref_sql=_labels,
)
