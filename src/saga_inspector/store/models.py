"""Typed results of the data layer: sagas, steps, counts and what the file's schema holds."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

from .formats import LAUNCHER, LogFormat
from .query import ParsedQuery, parse_cached
from .source_tag import NO_SOURCE, SourceTag
from .states import StepRole
from .timestamps import NO_VALUE, UTC_ZONE, Timestamp, Zone, duration_between, micros

# A field read from a file: SQLite may hand back any of these, whatever the column says.
StoredValue = str | int | float | bytes | None


class SagaRef(NamedTuple):
    """A saga's identity in a view that may hold several logs: its source's label, its id."""

    source: str
    saga_id: int


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
    # The format of the file it was read from: what its states and payloads mean.
    log_format: LogFormat = field(default=LAUNCHER, compare=False, repr=False)
    # The log it was read from: a saga is (source, saga_id), ids collide across logs.
    source: SourceTag = field(default=NO_SOURCE, repr=False)

    @property
    def ref(self) -> SagaRef:
        return SagaRef(self.source.label, self.saga_id)

    @property
    def duration(self) -> timedelta | None:
        return duration_between(self.started_at, self.ended_at)

    @property
    def needs_attention(self) -> bool:
        return self.log_format.needs_attention(self.state)


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
    # A forward step, or a row appended to undo one (the server's); `undoes`: the
    # step_index of the forward step it undoes, where that can be told.
    role: StepRole = StepRole.FORWARD
    undoes: int | None = None
    # Its failure does not fail the saga (a completed saga may hold it failed).
    best_effort: bool = False

    @property
    def is_undo(self) -> bool:
        return self.role is not StepRole.FORWARD

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
    """Sagas per state: every state of the format (0 when absent), then unknown ones as
    found."""

    by_state: Mapping[str, int]
    log_format: LogFormat = field(default=LAUNCHER, compare=False, repr=False)

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def needs_attention(self) -> int:
        return sum(n for state, n in self.by_state.items()
                   if self.log_format.needs_attention(state))

    def count(self, states: frozenset[str] | None) -> int:
        if states is None:
            return self.total
        return sum(self.by_state.get(state, 0) for state in states)

    @property
    def unknown_states(self) -> tuple[str, ...]:
        return tuple(state for state in self.by_state
                     if not self.log_format.knows_state(state))


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
    log_format: LogFormat = field(default=LAUNCHER, compare=False)

    @property
    def newer_than_known(self) -> bool:
        return self.user_version > self.known_version


class SortOrder(enum.StrEnum):
    """How a list of sagas is ordered. Every order lists rows by descending `SortKey`."""

    ID = "id"  # highest saga_id first: newest first (ids only grow)
    STARTED = "started"  # latest start first; sagas whose start is missing or unparsable last
    DURATION = "duration"  # longest first; unknown durations (still running, unparsable) last

    @property
    def next(self) -> SortOrder:
        """The order after this one, for a key that cycles through them."""
        orders = list(SortOrder)
        return orders[(orders.index(self) + 1) % len(orders)]

    @property
    def label(self) -> str:
        return _SORT_LABELS[self]


_SORT_LABELS = {SortOrder.ID: "id", SortOrder.STARTED: "start time",
                SortOrder.DURATION: "duration"}



class SortKey(NamedTuple):
    """Where a saga sits in its sort; pages list rows by descending key.
    `value`: the saga_id (SortOrder.ID), the start in microseconds since the Unix epoch
    (STARTED) or the duration in microseconds (DURATION); NO_VALUE when there is none.
    `source`: the rank of the saga's log among those shown together (0 for one log).
    Keys order by value, then source, then id: sagas of several logs that tie on the value
    are grouped by log (SourceTag.rank), and within one log ordered by id."""

    value: int
    saga_id: int
    source: int = 0

    @property
    def order(self) -> tuple[int, int, int]:
        return (self[0], self[2], self[1])

    # Tuple order would compare the id before the source.
    def __lt__(self, other: tuple[int, ...]) -> bool:  # type: ignore[override]
        return self.order < _order_of(other)

    def __le__(self, other: tuple[int, ...]) -> bool:  # type: ignore[override]
        return self.order <= _order_of(other)

    def __gt__(self, other: tuple[int, ...]) -> bool:  # type: ignore[override]
        return self.order > _order_of(other)

    def __ge__(self, other: tuple[int, ...]) -> bool:  # type: ignore[override]
        return self.order >= _order_of(other)


def _order_of(key: tuple[int, ...]) -> tuple[int, ...]:
    return key.order if isinstance(key, SortKey) else key


@dataclass(frozen=True, slots=True)
class SagaQuery:
    """Which sagas to list and in what order: some states (None = all, the filter chips), a
    query in the query language (free text and qualifiers, see store/query.py), a sort.
    `zone`: where a `since:`/`until:` time written without an offset is read (the display
    zone of whoever asks; UTC unless told, so that the store alone is deterministic)."""

    states: frozenset[str] | None = None
    text: str | None = None
    sort: SortOrder = SortOrder.ID
    zone: Zone = UTC_ZONE

    def __post_init__(self) -> None:
        # The zone only says how the text's times are read: with no text, queries in any
        # zone are the same query (a head start's first page is the dashboard's).
        if not self.searching and self.zone != UTC_ZONE:
            object.__setattr__(self, "zone", UTC_ZONE)

    @property
    def parsed(self) -> ParsedQuery:
        """The query, parsed (cached per text). Never raises: a text that is not a valid
        query is one phrase to search for (see query.parse_cached)."""
        return parse_cached(self.text or "", self.zone)

    @property
    def searching(self) -> bool:
        """The query holds a term: its total needs a read, not the counts by state."""
        return bool(self.text) and bool(self.text.strip())

    def key_of(self, saga: Saga) -> SortKey:
        """The saga's position in this query's sort (exactly what the store orders by)."""
        rank = saga.source.rank
        if self.sort is SortOrder.ID:
            return SortKey(saga.saga_id, saga.saga_id, rank)
        start = micros(saga.started_at)
        if self.sort is SortOrder.STARTED:
            return SortKey(NO_VALUE if start is None else start, saga.saga_id, rank)
        end = micros(saga.ended_at)
        if start is None or end is None:
            return SortKey(NO_VALUE, saga.saga_id, rank)
        return SortKey(end - start, saga.saga_id, rank)
