"""A parsed query (store/query.py) and a sort, as SQL for the store, over one file's format.

A term's condition may be NULL where it cannot be decided (no name, no duration): as a WHERE
term that is "no match", and an excluded term (`-`) is `NOT coalesce(condition, 0)`, so the
excluded term keeps such sagas. Terms are left bare otherwise, so that SQLite can use the
primary key for `id:` and the state index for `state:`, and stops at the first part of an OR
that holds.

Names and encodings come from the file's LogFormat (store/formats/): tables and columns, how
a time is stored (`fmt.time.micros_sql`, exactly what its Python decoder reads), where a
step's failure reason lives, which payload keys hold labels and what `ref:` looks at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .formats import FORMATS, LogFormat
from .formats.base import SAGA_FIELDS, STEP_FIELDS
from .models import NO_VALUE, SchemaInfo, SortOrder
from .query import IdRange, LabelMatch, ParsedQuery, Qualifier, Term, label_matches
from .sql import contains_test, ident, json_keys_hold, marks

# SQLite reads the literal 9223372036854775808 as a float: NO_VALUE spelled as arithmetic.
NO_VALUE_SQL = f"({NO_VALUE + 1} - 1)"


def register_functions(conn: sqlite3.Connection) -> None:
    """The SQL functions every format's queries use; reading only, deterministic."""
    for fmt in FORMATS:
        for name, function in fmt.time.functions.items():
            conn.create_function(name, 1, function, deterministic=True)


@dataclass(frozen=True, slots=True)
class SqlColumns:
    """How this file's columns are written in SQL: the saga table is `s`, a step table `t`;
    a column the file lacks is NULL. `step_table` is None without a usable step table."""

    saga: Mapping[str, str]
    step: Mapping[str, str]
    step_table: str | None
    log_format: LogFormat
    source_label: str = ""  # the log's label, which `source:` words are decided on
    # The (first, last) saga ids the statement is restricted to (`within`), or None for a
    # statement over every saga.
    id_range: tuple[int, int] | None = None

    @classmethod
    def of(cls, fmt: LogFormat, info: SchemaInfo, *, step_alias: str = "t.",
           source_label: str = "") -> SqlColumns:
        """`step_alias`: how step columns are qualified ("" inside a plain step SELECT)."""
        saga = {f: f"s.{ident(fmt.saga_columns[f])}"
                if fmt.saga_columns.get(f) in info.saga_columns else "NULL"
                for f in SAGA_FIELDS}
        step = {f: f"{step_alias}{ident(fmt.step_columns[f])}"
                if fmt.step_columns.get(f) in info.step_columns else "NULL"
                for f in STEP_FIELDS}
        reason = fmt.step_reason_sql(step)
        step["failure_reason"] = reason if reason == "NULL" else f"({reason})"
        return cls(saga, step, ident(fmt.step_table) if info.has_step_table else None, fmt,
                   source_label)

    @property
    def pending_state(self) -> str:
        return self.log_format.pending_step_state

    def time(self, column: str) -> str:
        """A stored time in `column` as microseconds since the epoch (NULL: none)."""
        return self.log_format.time.micros_sql(column)

    def within(self, first: int, last: int) -> SqlColumns:
        """These columns for a statement that reads only the sagas with ids first..last (it
        says so itself: `id_range_sql`); `any_step` then reads the steps of that range."""
        return replace(self, id_range=(int(first), int(last)))

    def id_range_sql(self) -> str:
        """The saga-id range of `within` as a WHERE term ("1" for every saga). Its bounds
        are written as numbers (ints, never text): a term of its own, and the same bounds
        in any_step's subquery, with no parameters to keep in order."""
        if self.id_range is None:
            return "1"
        first, last = self.id_range
        return f"{self.saga['saga_id']} BETWEEN {first} AND {last}"

    def any_step(self, condition: str) -> str:
        """SQL: some step of the saga meets `condition` (0 without a step table).

        Over every saga, a lookup of each saga's steps. Within an id range (`within`), the
        steps of the range are read once, in one pass over the step table's saga-id index,
        into the set of sagas they belong to: at 4 steps a saga, a search matching nothing
        spent most of its time on one index lookup per saga (2.2 s of 3.2 s at a million
        sagas). The set holds only the range's sagas whose steps meet `condition`."""
        if self.step_table is None:
            return "0"
        step_id, saga_id = self.step["saga_id"], self.saga["saga_id"]
        if self.id_range is None:
            return (f"EXISTS (SELECT 1 FROM {self.step_table} t WHERE {step_id} = "
                    f"{saga_id} AND ({condition}))")
        first, last = self.id_range
        # (Rows whose saga_id is NULL fail the BETWEEN: the set never holds NULL, so IN is
        # never NULL, and under NOT it is exactly what EXISTS was.)
        return (f"{saga_id} IN (SELECT {step_id} FROM {self.step_table} t WHERE {step_id} "
                f"BETWEEN {first} AND {last} AND ({condition}))")


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
            sql = f"{saga['state']} IN ({marks(len(value))})"
            # States a partial index holds (the server's): its own WHERE term, repeated as
            # literals, lets SQLite walk that index; it changes no answer.
            index_term = columns.log_format.state_index_sql(saga["state"])
            if index_term is not None and columns.log_format.state_index_serves(value):
                sql = f"{sql} AND {index_term}"
            return sql, sorted(value)
        case Qualifier.LABEL | Qualifier.REF:
            assert isinstance(value, LabelMatch)
            return _payload_sql(value, columns, label=term.qualifier is Qualifier.LABEL)
        case Qualifier.SOURCE:
            return ("1" if label_matches(value, columns.source_label) else "0"), []
        case Qualifier.PENDING:
            attention = sorted(columns.log_format.in_flight_states)
            sql = (f"{saga['state']} IN ({marks(len(attention))}) AND "
                   f"{columns.any_step(step['state'] + ' = ?')}")
            return sql, [*attention, columns.pending_state] if columns.step_table else attention
        case Qualifier.ID:
            assert isinstance(value, IdRange)
            return _id_sql(value, saga["saga_id"])
        case Qualifier.SINCE | Qualifier.UNTIL:
            assert isinstance(value, int)
            since = term.qualifier is Qualifier.SINCE
            return columns.log_format.time.moment_sql(saga["started_at"], since, value)
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


def _payload_sql(match: LabelMatch, columns: SqlColumns, *,
                 label: bool) -> tuple[str, list[object]]:
    """`label:` (the format's label keys) or `ref:` (what the format says) in the saga's
    input, or in any step's command or output."""
    fmt = columns.log_format

    def held(column: str) -> tuple[str, list[object]]:
        if label:
            return json_keys_hold(column, fmt.label_keys, match)
        return fmt.ref_sql(column, match) if column != "NULL" else ("0", [])

    saga_sql, saga_params = held(columns.saga["input_json"])
    cmd_sql, cmd_params = held(columns.step["cmd_json"])
    out_sql, out_params = held(columns.step["output_json"])
    step_sql = columns.any_step(f"{cmd_sql} OR {out_sql}")
    step_params = [*cmd_params, *out_params] if columns.step_table else []
    return _either(saga_sql, step_sql), [*saga_params, *step_params]


# -- times and sort keys ------------------------------------------------------------------------


def duration_sql(columns: SqlColumns) -> str:
    """The saga's duration in microseconds (NULL unless both ends parse)."""
    ended, started = columns.saga["ended_at"], columns.saga["started_at"]
    return (f"(CASE WHEN {ended} IS NULL THEN NULL ELSE "
            f"{columns.time(ended)} - {columns.time(started)} END)")


def sort_value_sql(sort: SortOrder, columns: SqlColumns) -> str:
    """SQL for SortKey.value under `sort` (matches SagaQuery.key_of exactly)."""
    if sort is SortOrder.ID:
        return columns.saga["saga_id"]
    value = (columns.time(columns.saga["started_at"]) if sort is SortOrder.STARTED
             else duration_sql(columns))
    return f"coalesce({value}, {NO_VALUE_SQL})"
