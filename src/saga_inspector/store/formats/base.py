"""What every saga log format has to say about itself: `LogFormat`.

A format owns everything that differs between the launcher's `launcher-sagas.db` and the
server's `sagas.db`: table and column names, how a moment is stored (in SQL and in Python),
its state names and which of them are final or need attention, where a step's failure
reason lives, which payload keys `label:` and `ref:` read, its schema version and wording,
and its saga kinds. The query SQL, the store, the CLI and the dashboard ask the format;
nothing outside `store/formats/` names a table, a column or a time encoding.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from saga_inspector.store.kinds import FailureReason, SagaKind, split_reason
from saga_inspector.store.sql import text_literal
from saga_inspector.store.states import ATTENTION_STATES, SagaState
from saga_inspector.store.timestamps import Timestamp

SAGA_FIELDS = ("saga_id", "name", "state", "started_at", "ended_at", "input_json",
               "failure_reason")
STEP_FIELDS = ("saga_id", "step_index", "name", "state", "cmd_json", "target", "started_at",
               "ended_at", "output_json", "failure_reason")


@dataclass(frozen=True, slots=True)
class TimeEncoding:
    """How a format stores a moment, said twice: in Python (`decode`, the one parser for
    that encoding) and in SQL (`micros_sql`: the same instant as whole microseconds since
    the Unix epoch, or NULL, exactly `timestamps.micros(decode(value))`). `functions` are
    the deterministic SQL functions `micros_sql` calls, registered on every connection.
    `moment_sql` compares a stored time with a bound (µs) for `since:`/`until:`; it may add
    cheap pre-tests, but answers exactly what `micros_sql(x) >= / <= bound` would."""

    decode: Callable[[object], Timestamp | None]
    micros_sql: Callable[[str], str]
    moment_sql: Callable[[str, bool, int], tuple[str, list[object]]]
    functions: Mapping[str, Callable[[object], object]] = field(default_factory=dict)
    # A stored time as the JSON output gives it: (RFC 3339 text or the stored text, the
    # stored value when it is not the text itself, else None).
    export: Callable[[Timestamp], tuple[str, object]] = lambda stamp: (stamp.raw, None)
    # The JSON output gives the stored value beside the text (`started_at_raw`): the
    # stored value is not itself RFC 3339 text.
    export_raw: bool = False
    # A cheaper way to the lowest and highest time of a block of rows (start_order.py)
    # than micros_sql on every row: `bounds_sql(x)` aggregates over the block, and
    # `bounds(row)` turns them into (lowest, highest) µs, or None where only the exact
    # micros_sql can tell (then that block is read exactly). None: always exact.
    bounds_sql: Callable[[str], str] | None = None
    bounds: Callable[[Sequence[object]], tuple[int, int] | None] | None = None
    # Cheap proxies for a first page before the sort's index (first_page.py). `ordered_sql(x)`:
    # true where `ORDER BY x` orders the stored value as its time (non-strictly), or it has
    # none. `span_sql(end, start)`: where both are ordered, their span in µs within
    # `span_error` µs of the exact one (NULL: unknown). None: always exact.
    ordered_sql: Callable[[str], str] | None = None
    # `near_sql(x, since, bound)`: a cheap test true for every stored time at or after
    # (since) or at or before the bound (µs), maybe for others; None: no such test.
    near_sql: Callable[[str, bool, int], tuple[str, list[object]] | None] | None = None
    span_sql: Callable[[str, str], str] | None = None
    span_error: int = 0


@dataclass(frozen=True, eq=False)
class LogFormat:
    """One kind of saga log. Immutable; `LAUNCHER` and `SERVER` are the two known, each
    equal only to itself (and hashable: a format can key a mapping)."""

    name: str  # "launcher" / "server": `--format`, the JSON's stats
    ddl: str  # its writer's DDL: what the demo and test fixtures create
    label: str  # "launcher saga log": messages
    writer: str  # who writes it: "launcher" / "server" (the tripwire's wording)
    file_name: str  # the file's usual name, for discovery and messages
    saga_table: str
    step_table: str
    # logical field (SAGA_FIELDS / STEP_FIELDS) -> column name in the file; a field the
    # format does not store is absent (the store reads it as NULL).
    saga_columns: Mapping[str, str]
    step_columns: Mapping[str, str]
    # columns without which a table cannot be read at all
    required_saga_fields: frozenset[str]
    required_step_fields: frozenset[str]
    saga_states: tuple[str, ...]  # the states it writes, in the number keys' order
    final_states: frozenset[str]  # a saga in one never changes again (follow mode)
    # A step row in one of these finished what it was for (the "done" of `steps 2/3`; the
    # server's compensated rows were done, then undone, or are an undo that worked).
    done_step_states: frozenset[str]
    pending_step_state: str
    known_schema_version: int
    newer_consequence: str  # what a newer file means, after "written by a newer ... build"
    time: TimeEncoding
    kinds: Mapping[str, SagaKind]
    # SQL for a step's failure reason from its columns (field -> SQL, NULL when the file
    # lacks it). The store reads the reason it shows through this too, so that what `reason:`
    # finds and what is shown are one expression.
    step_reason_sql: Callable[[Mapping[str, str]], str]
    # The top-level payload keys whose string values are labels (`label:`); none: no labels.
    label_keys: tuple[str, ...]
    # What `ref:` matches (SQL over one payload column and a RefMatch; see query_sql).
    ref_sql: Callable[[str, object], tuple[str, list[object]]]
    attention_states: frozenset[str] = ATTENTION_STATES
    # Compensation and recovery append undo rows after the forward steps (kinds.classify_steps).
    appends_undo_rows: bool = False
    # Qualifiers that can find nothing in this format, and why (said, not left to an empty
    # list): the server's steps have no target, its payloads no labels.
    lacks: Mapping[str, str] = field(default_factory=dict)
    # How its saga failure reasons are taken apart (the triage summary, the timeline).
    split_reason: Callable[[str], FailureReason] = split_reason
    # The states the writer's state index holds when that index is partial (the server's
    # `WHERE state IN ('running', 'compensating')`), in the order its WHERE names them; None:
    # the index holds every state. SQLite uses a partial index only for a query that repeats
    # its WHERE term (with the same literals): see `state_index_sql`.
    partial_state_index: tuple[str, ...] | None = None
    # The state most sagas end in: where no index serves a state, its pages walk the primary
    # key (a page of a state that most rows have comes at once); every other state's ids are
    # kept from the one scan that counts the states (SagaStore.counts).
    usual_state: str = SagaState.COMPLETED.value

    @property
    def in_flight_states(self) -> frozenset[str]:
        """A pending step of a saga in one of these was under way when it stopped."""
        return self.attention_states

    @property
    def has_step_target(self) -> bool:
        """Its steps name a target (the launcher's: the host); the server's have none."""
        return "target" in self.step_columns

    @property
    def tables(self) -> frozenset[str]:
        return frozenset({self.saga_table, self.step_table})

    def state_index_serves(self, states: Collection[str]) -> bool:
        """Whether the state index holds every saga in one of `states`."""
        return self.partial_state_index is None or set(states) <= set(self.partial_state_index)

    def state_index_sql(self, column: str) -> str | None:
        """The partial state index's own WHERE term over `column` (None: no partial index).
        Added to a query on states it holds, it lets SQLite use the index: SQLite proves a
        query fits a partial index only by finding that term in it."""
        if self.partial_state_index is None:
            return None
        return f"{column} IN ({', '.join(text_literal(s) for s in self.partial_state_index)})"

    def query_notes(self, qualifiers: Iterable[str]) -> list[str]:
        """What to tell someone whose query uses a qualifier this format has nothing for."""
        return [f"{name}: finds nothing in a {self.label}: {self.lacks[name]}"
                for name in dict.fromkeys(qualifiers) if name in self.lacks]

    def needs_attention(self, state: str) -> bool:
        return state in self.attention_states

    def knows_state(self, state: str) -> bool:
        return state in self.saga_states

    def kind(self, name: str | None) -> SagaKind | None:
        return self.kinds.get(name) if isinstance(name, str) else None

    @property
    def newer_words(self) -> str:
        """What a file stamped above the known version is, in words."""
        return f"written by a newer {self.writer} build{self.newer_consequence}"

    def newer_warning(self, user_version: int) -> str:
        return (f"user_version={user_version} is above {self.known_schema_version}: this file "
                f"was {self.newer_words}; it is shown read-compatible")

    def export_time(self, stamp: Timestamp | None) -> tuple[str | None, object]:
        """(the JSON's `started_at`-style text, the `_raw` value or None)."""
        if stamp is None:
            return None, None
        return self.time.export(stamp)

    def __repr__(self) -> str:
        return f"LogFormat({self.name})"


def utc_millis_text(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.mmm+00:00`: a server time in the JSON output."""
    return moment.isoformat(timespec="milliseconds")
