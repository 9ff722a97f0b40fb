"""A parsed query (store/query.py) and a sort, as SQL for the store.

A term's condition may be NULL where it cannot be decided (no name, no duration): as a WHERE
term that is "no match", and an excluded term (`-`) is `NOT coalesce(condition, 0)`, so the
excluded term keeps such sagas. Terms are left bare otherwise, so that SQLite can use the
primary key for `id:` and the state index for `state:`, and stops at the first part of an OR
that holds.

Times: one rule, the project's one timestamp parser. `time_sql` gives a stored time as whole
microseconds since the Unix epoch, exactly `models.micros(parse_timestamp(value))`:
- the launcher's own form (`2026-06-02T14:05:23.481526300+00:00`: `T`, 0/3/6/9 fraction
  digits, `+00:00`), checked by shape, is computed in SQL (SQLite's julianday for the whole
  seconds, the digits for the microseconds), which needs no Python call (and no GIL) per row;
- anything else that is not NULL goes to `saga_micros()`, a deterministic SQL function built
  on parse_timestamp (registered on the store's connections by `register_functions`).
tests/test_query_store.py proves the two agree on every form and on near-misses.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .models import NO_VALUE, SchemaInfo, SortOrder, micros
from .query import IdRange, LabelMatch, ParsedQuery, Qualifier, Term
from .schema import ATTENTION_STATES, LogFormat
from .timestamps import parse_timestamp

TIME_FUNCTION = "saga_micros"
# The top-level payload keys whose string values are labels (the launcher's input uses the
# last two; commands and events carry `label`).
LABEL_KEYS = ("label", "closed_label", "promoted_label")
# SQLite reads the literal 9223372036854775808 as a float: NO_VALUE spelled as arithmetic.
NO_VALUE_SQL = f"({NO_VALUE + 1} - 1)"
# SQLite refuses LIKE patterns longer than this many bytes (SQLITE_MAX_LIKE_PATTERN_LENGTH).
_MAX_LIKE_PATTERN_BYTES = 50_000
_JULIAN_UNIX_EPOCH = 2440587.5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def register_functions(conn: sqlite3.Connection) -> None:
    """The SQL functions queries use; reading only, deterministic."""
    conn.create_function(TIME_FUNCTION, 1, _stored_micros, deterministic=True)


def _stored_micros(raw: bytes | None) -> int | None:
    # Handed the value as a BLOB: text that is not UTF-8 cannot reach Python as str, and
    # parse_timestamp decodes bytes the way the store's connection decodes text.
    return micros(parse_timestamp(raw))


def ident(name: str) -> str:
    """A table or column name quoted for SQL (the store's SQL and this module's)."""
    return '"' + name.replace('"', '""') + '"'


def marks(count: int) -> str:
    """`?, ?, ?`: the parameters of an `IN (...)` list."""
    return ", ".join("?" * count)


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains_test(text: str) -> tuple[str, str]:
    """SQL (with `{}` for the column) testing that a column contains `text`, ignoring ASCII
    case, and its one parameter. LIKE is the fast way; a text too long for a LIKE pattern
    uses instr() on lowered text, which gives the same answer more slowly."""
    pattern = like_pattern(text)
    if len(pattern.encode("utf-8", "surrogatepass")) <= _MAX_LIKE_PATTERN_BYTES:
        return "{} LIKE ? ESCAPE '\\'", pattern
    return "instr(lower({}), lower(?)) > 0", text


@dataclass(frozen=True, slots=True)
class SqlColumns:
    """How this file's columns are written in SQL: the saga table is `s`, a step table `t`;
    a column the file lacks is NULL. `step_table` is None without a usable step table."""

    saga: Mapping[str, str]
    step: Mapping[str, str]
    step_table: str | None
    pending_state: str

    @classmethod
    def of(cls, fmt: LogFormat, info: SchemaInfo) -> SqlColumns:
        saga = {f: f"s.{ident(c)}" if c in info.saga_columns else "NULL"
                for f, c in fmt.saga_columns.items()}
        step = {f: f"t.{ident(c)}" if c in info.step_columns else "NULL"
                for f, c in fmt.step_columns.items()}
        return cls(saga, step, ident(fmt.step_table) if info.has_step_table else None,
                   fmt.pending_step_state)

    def any_step(self, condition: str) -> str:
        """SQL: some step of the saga meets `condition` (0 without a step table)."""
        if self.step_table is None:
            return "0"
        return (f"EXISTS (SELECT 1 FROM {self.step_table} t WHERE {self.step['saga_id']} = "
                f"{self.saga['saga_id']} AND ({condition}))")


# -- the WHERE fragment ------------------------------------------------------------------------


def where_sql(parsed: ParsedQuery, columns: SqlColumns) -> tuple[str, list[object]]:
    """Every term of the query (AND), as SQL and its parameters; "1" for no term."""
    clauses: list[str] = []
    params: list[object] = []
    for term in parsed.terms:
        sql, term_params = _term_sql(term, columns)
        negated = term.negated
        if term.qualifier is Qualifier.PENDING and term.value is False:
            negated = not negated  # pending:no is "not pending:yes"
        clauses.append(f"NOT coalesce(({sql}), 0)" if negated else f"({sql})")
        params += term_params
    return (" AND ".join(clauses) or "1"), params


def _term_sql(term: Term, columns: SqlColumns) -> tuple[str, list[object]]:
    value, saga, step = term.value, columns.saga, columns.step
    match term.qualifier:
        case None:
            assert isinstance(value, str)
            return _free_text_sql(value, columns)
        case Qualifier.NAME | Qualifier.TARGET | Qualifier.STEP:
            assert isinstance(value, str)
            test, param = contains_test(value)
            if term.qualifier is Qualifier.NAME:
                return test.format(saga["name"]), [param]
            column = step["target" if term.qualifier is Qualifier.TARGET else "name"]
            return columns.any_step(test.format(column)), [param]
        case Qualifier.REASON:
            assert isinstance(value, str)
            test, param = contains_test(value)
            sql = _either(test.format(saga["failure_reason"]),
                          columns.any_step(test.format(step["failure_reason"])))
            return sql, [param, param] if columns.step_table else [param]
        case Qualifier.STATE:
            assert isinstance(value, frozenset)
            return f"{saga['state']} IN ({marks(len(value))})", sorted(value)
        case Qualifier.LABEL:
            assert isinstance(value, LabelMatch)
            return _label_sql(value, columns)
        case Qualifier.PENDING:
            attention = sorted(ATTENTION_STATES)
            sql = (f"{saga['state']} IN ({marks(len(attention))}) AND "
                   f"{columns.any_step(step['state'] + ' = ?')}")
            return sql, [*attention, columns.pending_state] if columns.step_table else attention
        case Qualifier.ID:
            assert isinstance(value, IdRange)
            return _id_sql(value, saga["saga_id"])
        case Qualifier.SINCE | Qualifier.UNTIL:
            assert isinstance(value, int)
            return _moment_sql(term.qualifier, value, saga["started_at"])
        case Qualifier.SLOWER:
            assert isinstance(value, int)
            return f"{duration_sql(columns)} > ?", [value]
    raise AssertionError(f"no SQL for {term!r}")  # every qualifier is handled above


def _either(first: str, second: str) -> str:
    """`first OR second` that looks at `second` only when `first` does not hold, also where
    SQLite computes it as a value (under NOT) rather than as a WHERE test."""
    return f"CASE WHEN {first} THEN 1 ELSE {second} END"


def _free_text_sql(text: str, columns: SqlColumns) -> tuple[str, list[object]]:
    """Free text: the saga's id, name, failure reason or input contains it. Steps' failure
    reasons are left to `reason:`: looking them up for every saga made a search that matches
    nothing 6x slower (0.6 -> 3.8 s at a million sagas with four million steps), and the
    launcher writes a saga's failure into the saga's own reason."""
    saga = columns.saga
    fields = [f"CAST({saga['saga_id']} AS TEXT)"] + [
        saga[f] for f in ("name", "failure_reason", "input_json") if saga[f] != "NULL"]
    test, param = contains_test(text)
    return " OR ".join(test.format(f) for f in fields), [param] * len(fields)


def _id_sql(ids: IdRange, column: str) -> tuple[str, list[object]]:
    parts, params = [], []
    if ids.low is not None:
        parts.append(f"{column} >= ?")
        params.append(ids.low)
    if ids.high is not None:
        parts.append(f"{column} <= ?")
        params.append(ids.high)
    return " AND ".join(parts), params


def _label_sql(label: LabelMatch, columns: SqlColumns) -> tuple[str, list[object]]:
    saga_sql, saga_params = _label_in(columns.saga["input_json"], label)
    cmd_sql, cmd_params = _label_in(columns.step["cmd_json"], label)
    out_sql, out_params = _label_in(columns.step["output_json"], label)
    step_sql = columns.any_step(f"{cmd_sql} OR {out_sql}")
    step_params = [*cmd_params, *out_params] if columns.step_table else []
    return _either(saga_sql, step_sql), [*saga_params, *step_params]


def _label_in(column: str, label: LabelMatch) -> tuple[str, list[object]]:
    """SQL: one of the LABEL_KEYS of the JSON in `column` holds the label. Cheap first: JSON
    text without a backslash holds its strings as written, so it must contain the label's
    text; only then is it parsed (valid JSON only: json_extract raises on anything else)."""
    if column == "NULL":
        return "0", []
    params: list[object] = [label.text]
    tests = []
    for key in LABEL_KEYS:
        value = f"json_extract({column}, '$.{key}')"
        if label.prefix:
            # `>= ?` keeps text only (numbers sort below any text); substr counts characters.
            tests.append(f"({value} >= ? AND substr({value}, 1, ?) = ?)")
            params += [label.text, len(label.text), label.text]
        else:
            tests.append(f"{value} = ?")
            params.append(label.text)
    sql = (f"CASE WHEN instr({column}, '\\') > 0 OR instr({column}, ?) > 0 THEN "
           f"CASE WHEN json_valid({column}) THEN {' OR '.join(tests)} END END")
    return sql, params


def _moment_sql(qualifier: Qualifier, bound: int, column: str) -> tuple[str, list[object]]:
    """since/until on the start time. A time's text starts with its local date, and a zone
    moves it less than a day: text more than a day away from the bound is decided by a text
    comparison, and only the rest pays for the exact time (see _day_text)."""
    exact = f"{time_sql(column)} {'>=' if qualifier is Qualifier.SINCE else '<='} ?"
    if qualifier is Qualifier.SINCE:
        day = _day_text(bound, -1)
        # Text starting below '0' may start with whitespace the parser strips: exact check.
        near = f"{column} >= ? OR {column} < '0'"
    else:
        day = _day_text(bound, +2)
        # Text from ':' up (other scripts' whitespace, BLOBs): exact check.
        near = f"{column} < ? OR {column} >= ':'"
    if day is None:
        return exact, [bound]
    return f"CASE WHEN {near} THEN {exact} ELSE 0 END", [day, bound]


def _day_text(moment: int, days: int) -> str | None:
    """`YYYY-MM-DD` of the day `days` after the one holding `moment` (µs since the epoch);
    None outside the years 1-9999."""
    try:
        shifted = _EPOCH + timedelta(microseconds=moment) + timedelta(days=days)
    except OverflowError:
        return None
    return shifted.date().isoformat()


# -- times and sort keys ------------------------------------------------------------------------

# The launcher's lengths (0, 3, 6 or 9 fraction digits): the shape of each, with `?` for its
# digits (GLOB's character classes cost several times more), and its microseconds.
_LAUNCHER_FORMS = (
    (35, "????-??-??T??:??:??.?????????+00:00", "CAST(substr({x}, 21, 6) AS INTEGER)"),
    (32, "????-??-??T??:??:??.??????+00:00", "CAST(substr({x}, 21, 6) AS INTEGER)"),
    (29, "????-??-??T??:??:??.???+00:00", "CAST(substr({x}, 21, 3) AS INTEGER) * 1000"),
    (25, "????-??-??T??:??:??+00:00", "0"),
)


def time_sql(x: str) -> str:
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


def duration_sql(columns: SqlColumns) -> str:
    """The saga's duration in microseconds (NULL unless both ends parse)."""
    return (f"(CASE WHEN {columns.saga['ended_at']} IS NULL THEN NULL ELSE "
            f"{time_sql(columns.saga['ended_at'])} - {time_sql(columns.saga['started_at'])} END)")


def sort_value_sql(sort: SortOrder, columns: SqlColumns) -> str:
    """SQL for SortKey.value under `sort` (matches SagaQuery.key_of exactly)."""
    if sort is SortOrder.ID:
        return columns.saga["saga_id"]
    value = (time_sql(columns.saga["started_at"]) if sort is SortOrder.STARTED
             else duration_sql(columns))
    return f"coalesce({value}, {NO_VALUE_SQL})"
