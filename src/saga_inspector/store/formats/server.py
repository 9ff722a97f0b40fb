"""The server's `sagas.db`: tables `saga` and `saga_step`, times as INTEGER milliseconds
since the Unix epoch (UTC), the end in `terminal_at`, no step target, and a failed step's
reason in its output as `{"error": "..."}`. Undo rows are appended by compensation and
recovery (see kinds.classify_steps).

Times in SQL: an integer is milliseconds, a real number too (truncated to microseconds the
way Python's int() does); both only within the years 1-9999 (else NULL). Anything else that
is not NULL (text or a BLOB in the integer column) goes to `saga_micros()`, the RFC 3339
parser's SQL function, as on the launcher: `decode` does the same in Python.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from saga_inspector.store.kinds import SERVER_KINDS, split_server_reason
from saga_inspector.store.sql import json_strings_hold, json_text_at
from saga_inspector.store.states import SagaState, StepState
from saga_inspector.store.timestamps import Timestamp, from_micros, parse_timestamp

from .base import SAGA_FIELDS, LogFormat, TimeEncoding, utc_millis_text
from .launcher import TIME_FUNCTION, _stored_micros

# The milliseconds of 0001-01-01T00:00:00Z and of 9999-12-31T23:59:59.999Z.
MS_MIN, MS_MAX = -62_135_596_800_000, 253_402_300_799_999


def decode_millis(raw: object) -> Timestamp | None:
    """A stored server time: milliseconds (an integer, or a real number), else text read
    as RFC 3339. Out-of-range or unreadable values keep their text, with no instant."""
    if raw is None:
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        in_range = math.isfinite(raw) and MS_MIN <= raw <= MS_MAX
        value = from_micros(int(raw * 1000)) if in_range else None
        return Timestamp(str(raw), value, raw)
    return parse_timestamp(raw)


def millis_micros_sql(x: str) -> str:
    """SQL for `micros(decode_millis(x))` (see the module's docstring)."""
    if x == "NULL":
        return "NULL"
    in_range = f"{x} BETWEEN {MS_MIN} AND {MS_MAX}"
    return (f"(CASE typeof({x}) WHEN 'integer' THEN CASE WHEN {in_range} THEN {x} * 1000 END "
            f"WHEN 'real' THEN CASE WHEN {in_range} THEN CAST({x} * 1000 AS INTEGER) END "
            f"WHEN 'null' THEN NULL ELSE {TIME_FUNCTION}(CAST({x} AS BLOB)) END)")


def millis_moment_sql(column: str, since: bool, bound: int) -> tuple[str, list[object]]:
    """since/until: an integer in range (every real row) is compared in milliseconds as it
    is; other values pay for the exact time."""
    op = ">=" if since else "<="
    # The bound in whole milliseconds that keeps the same rows: since rounds up, until down.
    ms = -((-bound) // 1000) if since else bound // 1000
    return (f"(CASE WHEN typeof({column}) = 'integer' THEN CASE WHEN {column} BETWEEN "
            f"{MS_MIN} AND {MS_MAX} THEN {column} {op} ? END "
            f"ELSE {millis_micros_sql(column)} {op} ? END)", [ms, bound])


def _export(stamp: Timestamp) -> tuple[str, object]:
    """RFC 3339 in UTC to the millisecond, and the stored value: the number as stored (an
    infinity, which JSON cannot hold, as its text), or the text a number's column held."""
    stored = stamp.stored
    raw: object = stamp.raw if stored is None or not math.isfinite(stored) else stored
    if stamp.value is None:
        return stamp.raw, raw
    return utc_millis_text(stamp.value), raw


def millis_near_sql(column: str, since: bool, bound: int) -> tuple[str, list[object]]:
    """True for every stored value at or after (since) or at or before `bound` µs: an
    integer by its milliseconds, anything else always."""
    op = ">=" if since else "<="
    ms = bound // 1000 if since else -((-bound) // 1000)  # (wider, never narrower)
    return f"(typeof({column}) <> 'integer' OR {column} {op} ?)", [ms]


def millis_ordered_sql(x: str) -> str:
    """An integer in range: milliseconds, ordered as its time."""
    return f"(typeof({x}) = 'integer' AND {x} BETWEEN {MS_MIN} AND {MS_MAX})"


def millis_span_sql(end: str, start: str) -> str:
    """Two ordered integers: their span exactly, in µs."""
    return f"(({end} - {start}) * 1000)"


EPOCH_MILLIS = TimeEncoding(
    decode=decode_millis,
    micros_sql=millis_micros_sql,
    moment_sql=millis_moment_sql,
    functions={TIME_FUNCTION: _stored_micros},
    export=_export,
    export_raw=True,
    near_sql=millis_near_sql,
    ordered_sql=millis_ordered_sql,
    span_sql=millis_span_sql,
)


def millis(micros_value: int) -> int:
    """Microseconds as whole milliseconds (demo data and fixtures write this)."""
    return micros_value // 1000


def _step_reason_sql(step: Mapping[str, str]) -> str:
    # A failed step (or undo) keeps its reason in its output: {"error": "..."}.
    output = step["output_json"]
    return "NULL" if output == "NULL" else json_text_at(output, "$.error")


# The server's DDL (run_saga_log_migrations), used to write demo data and test fixtures.
SERVER_DDL = """
CREATE TABLE IF NOT EXISTS saga (
    saga_id        INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    state          TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    terminal_at    INTEGER,
    failure_reason TEXT,
    input_json     TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS saga_step (
    saga_id        INTEGER NOT NULL REFERENCES saga(saga_id),
    step_index     INTEGER NOT NULL,
    name           TEXT NOT NULL,
    state          TEXT NOT NULL,
    cmd_json       TEXT NOT NULL,
    output_json    TEXT,
    started_at     INTEGER NOT NULL,
    ended_at       INTEGER,
    PRIMARY KEY (saga_id, step_index)
);

CREATE INDEX IF NOT EXISTS saga_state_idx ON saga(state)
    WHERE state IN ('running', 'compensating');
CREATE INDEX IF NOT EXISTS saga_terminal_idx ON saga(terminal_at);
"""


SERVER = LogFormat(
    ddl=SERVER_DDL,
    name="server",
    label="server saga log",
    writer="server",
    file_name="sagas.db",
    saga_table="saga",
    step_table="saga_step",
    saga_columns={f: ("terminal_at" if f == "ended_at" else f) for f in SAGA_FIELDS},
    step_columns={f: f for f in ("saga_id", "step_index", "name", "state", "cmd_json",
                                 "started_at", "ended_at", "output_json")},
    required_saga_fields=frozenset({"saga_id", "state"}),
    required_step_fields=frozenset({"saga_id", "step_index"}),
    saga_states=tuple(state.value for state in SagaState),
    # A failed saga is taken up again by recovery at the next server start.
    final_states=frozenset({SagaState.COMPLETED.value, SagaState.COMPENSATED.value,
                            SagaState.FAILED_COMPENSATION.value}),
    done_step_states=frozenset({StepState.SUCCEEDED.value, StepState.COMPENSATED.value}),
    pending_step_state=StepState.PENDING.value,
    known_schema_version=1,
    newer_consequence=" (the server itself would refuse to open it)",
    time=EPOCH_MILLIS,
    kinds=SERVER_KINDS,
    step_reason_sql=_step_reason_sql,
    label_keys=(),
    ref_sql=json_strings_hold,  # type: ignore[arg-type]
    appends_undo_rows=True,
    split_reason=split_server_reason,
    # saga_state_idx (SERVER_DDL): the only index on the state.
    partial_state_index=(SagaState.RUNNING.value, SagaState.COMPENSATING.value),
    lacks={"target": "its steps store no target", "label": "its payloads carry no labels "
           "(ref: finds tab, block and workspace ids)"},
)
