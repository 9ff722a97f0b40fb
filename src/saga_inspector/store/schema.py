"""Everything this tool knows about the launcher's saga log format, in one place.

Table and column names, state names, the schema version and how times are stored.
A second format (the server's `sagas.db`: other table names, epoch-millisecond times)
is added as another `LogFormat` beside `LAUNCHER`, without touching the dashboard.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .timestamps import Timestamp, parse_timestamp


class SagaState(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    COMPENSATING = "compensating"
    FAILED_COMPENSATION = "failed_compensation"


class StepState(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    COMPENSATED = "compensated"


KNOWN_SAGA_STATES: frozenset[str] = frozenset(state.value for state in SagaState)

# Sagas an operator must look at: unresolved (running, compensating) or ended badly.
ATTENTION_STATES: frozenset[str] = frozenset(
    state.value for state in
    (SagaState.RUNNING, SagaState.COMPENSATING, SagaState.FAILED, SagaState.FAILED_COMPENSATION)
)

SAGA_FIELDS = ("saga_id", "name", "state", "started_at", "ended_at", "input_json", "failure_reason")
STEP_FIELDS = (
    "saga_id", "step_index", "name", "state", "cmd_json", "target",
    "started_at", "ended_at", "output_json", "failure_reason",
)


@dataclass(frozen=True)
class LogFormat:
    """How one kind of saga log lays out its data."""

    label: str
    saga_table: str
    step_table: str
    # logical field -> column name in the file
    saga_columns: Mapping[str, str]
    step_columns: Mapping[str, str]
    # columns without which a table cannot be read at all
    required_saga_fields: frozenset[str]
    required_step_fields: frozenset[str]
    saga_states: tuple[str, ...]
    step_states: tuple[str, ...]
    done_step_state: str
    pending_step_state: str
    known_schema_version: int
    decode_time: Callable[[object], Timestamp | None]


LAUNCHER = LogFormat(
    label="launcher saga log",
    saga_table="launcher_saga",
    step_table="launcher_saga_step",
    saga_columns={field: field for field in SAGA_FIELDS},
    step_columns={field: field for field in STEP_FIELDS},
    required_saga_fields=frozenset({"saga_id", "state"}),
    required_step_fields=frozenset({"saga_id", "step_index"}),
    saga_states=tuple(state.value for state in SagaState),
    step_states=tuple(state.value for state in StepState),
    done_step_state=StepState.SUCCEEDED.value,
    pending_step_state=StepState.PENDING.value,
    known_schema_version=1,
    decode_time=parse_timestamp,
)

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
