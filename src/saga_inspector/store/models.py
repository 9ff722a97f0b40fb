"""Typed results of the data layer: sagas, steps, counts and what the file's schema holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from .schema import ATTENTION_STATES, KNOWN_SAGA_STATES, SagaState
from .timestamps import Timestamp, duration_between

# A field read from a file: SQLite may hand back any of these, whatever the column says.
StoredValue = str | int | float | bytes | None


@dataclass(frozen=True, slots=True)
class Saga:
    saga_id: int
    name: str | None
    state: str
    started_at: Timestamp | None
    ended_at: Timestamp | None
    input_json: str | None
    failure_reason: str | None
    steps_total: int = 0
    steps_done: int = 0
    # Columns the file has beyond the ones this tool knows, by name (detail views only).
    extra: Mapping[str, StoredValue] = field(default_factory=dict)

    @property
    def duration(self) -> timedelta | None:
        return duration_between(self.started_at, self.ended_at)

    @property
    def known_state(self) -> SagaState | None:
        return SagaState(self.state) if self.state in KNOWN_SAGA_STATES else None

    @property
    def needs_attention(self) -> bool:
        return self.state in ATTENTION_STATES


@dataclass(frozen=True, slots=True)
class Step:
    saga_id: int
    step_index: int
    name: str | None
    state: str | None
    target: str | None
    cmd_json: str | None
    output_json: str | None
    started_at: Timestamp | None
    ended_at: Timestamp | None
    failure_reason: str | None
    # Pending while its saga ended or was left unresolved: the action that was under way.
    in_flight: bool = False
    extra: Mapping[str, StoredValue] = field(default_factory=dict)

    @property
    def duration(self) -> timedelta | None:
        return duration_between(self.started_at, self.ended_at)


@dataclass(frozen=True, slots=True)
class SagaDetail:
    saga: Saga
    steps: tuple[Step, ...]

    @property
    def in_flight_step(self) -> Step | None:
        return next((step for step in self.steps if step.in_flight), None)


@dataclass(frozen=True, slots=True)
class StateCounts:
    """Sagas per state: every known state (0 when absent), then unknown ones as found."""

    by_state: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def needs_attention(self) -> int:
        return sum(n for state, n in self.by_state.items() if state in ATTENTION_STATES)

    def count(self, states: frozenset[str] | None) -> int:
        if states is None:
            return self.total
        return sum(self.by_state.get(state, 0) for state in states)

    @property
    def unknown_states(self) -> tuple[str, ...]:
        return tuple(state for state in self.by_state if state not in KNOWN_SAGA_STATES)


@dataclass(frozen=True, slots=True)
class SchemaInfo:
    user_version: int
    known_version: int
    saga_columns: tuple[str, ...]
    step_columns: tuple[str, ...]
    extra_saga_columns: tuple[str, ...]
    extra_step_columns: tuple[str, ...]
    missing_saga_columns: tuple[str, ...]
    missing_step_columns: tuple[str, ...]
    has_step_table: bool

    @property
    def newer_than_known(self) -> bool:
        return self.user_version > self.known_version


@dataclass(frozen=True, slots=True)
class SagaQuery:
    """Which sagas to list: some states (None = all) and an optional text to search for."""

    states: frozenset[str] | None = None
    text: str | None = None

    @property
    def searching(self) -> bool:
        return bool(self.text)
