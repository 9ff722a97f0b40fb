"""What both formats' triage summaries are made of: lines and sections with their tones, the
quoting of stored values, reading a payload (or saying why it cannot be read), a command or
event as `name (key value, …)`, the steps a summary lists, and the one cause word.

`explain` (the launcher's summary and the dispatch) and `explain_server` (the server's) both
build on this module; neither imports the other's internals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .report import labelled
from .sanitize import sanitize
from .store.kinds import FailureReason
from .store.models import Saga, SagaDetail
from .store.payload import parse_json, strict_json
from .store.states import KNOWN_SAGA_STATES, SagaState

MAX_PARSED = 64 * 1024  # larger payloads are described by size, not parsed
MAX_VALUE = 120  # characters of a stored value quoted in a sentence
MAX_REASON = 300
MAX_ARGS = 4  # a command's arguments named
MAX_STEPS = 12  # steps listed (the launcher writes one or two)

# How a screen may colour a line.
OK, WARN, BAD, DIM = "ok", "warn", "bad", "dim"


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    tone: str = ""
    indent: int = 0  # cells further in than the section's other lines
    chart: bool = False  # a line of the timeline: drawn as it is, never wrapped


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    lines: tuple[Line, ...]


def quote(value: object, limit: int = MAX_VALUE) -> str:
    """A stored value fit for a sentence: sanitised, on one line, cut to `limit`."""
    text = sanitize(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def field(label: str, value: str, tone: str = "") -> Line:
    """`state     failed`: a labelled line, aligned as `show` aligns its fields."""
    return Line(labelled(label, value), tone)


def read_payload(raw: str | None) -> tuple[object, str | None]:
    """A payload's value, or why it cannot be read (None, None: nothing stored)."""
    if raw is None:
        return None, None
    if len(raw) > MAX_PARSED:
        return None, f"too large to summarise ({len(raw)} characters)"
    parsed = parse_json(raw)
    if not parsed.ok:
        return None, f"not valid JSON: {quote(raw, 60)}"
    return parsed.value, None


def _value(value: object) -> str:
    if value == "":
        return '""'  # (the server's `"name": ""`: said, not left blank)
    return quote(value if isinstance(value, str) else strict_json(value), 60)


def _arguments(value: dict[object, object], skip: Sequence[str]) -> str:
    named = [f"{quote(key, 30)} {_value(item)}" for key, item in value.items() if key not in skip]
    if len(named) > MAX_ARGS:
        named = [*named[:MAX_ARGS], "…"]
    return f" ({', '.join(named)})" if named else ""


def tagged_value(value: object, raw: str, tag: str, what: str) -> str:
    """A command or event already read (`raw`: as stored) as `name (key value, …)`."""
    if not isinstance(value, dict):
        return quote(raw)
    name = value.get(tag)
    shown = quote(name, 60) if isinstance(name, str) else f"{what} without a {tag!r} name"
    return shown + _arguments(value, (tag, "saga_id"))


def tagged(raw: str | None, tag: str, what: str) -> str | None:
    """A command or event payload as `name (key value, …)`; None when nothing is stored."""
    if raw is None:
        return None
    value, problem = read_payload(raw)
    if problem is not None:
        return f"{what} that is {problem}"
    return tagged_value(value, raw, tag, what)


def listed_steps(detail: SagaDetail) -> list[int]:
    """The positions of the steps the summary names: all of a usual saga's; of a saga with
    very many, the first ones and the one in flight."""
    if len(detail.steps) <= MAX_STEPS:
        return list(range(len(detail.steps)))
    listed = list(range(MAX_STEPS - 1))
    in_flight = next((n for n, step in enumerate(detail.steps) if step.in_flight), None)
    return [*listed, in_flight if in_flight is not None and in_flight not in listed
            else MAX_STEPS - 1]


def cause_word(state: str, reason: FailureReason | None) -> str:
    """The one word the JSON gives for why a saga is where it is (both formats): its state
    while it is fine or under way, else what its failure reason says."""
    if state not in KNOWN_SAGA_STATES:
        return "unknown_state"
    if state in (SagaState.COMPLETED, SagaState.RUNNING, SagaState.COMPENSATING):
        return str(state)
    return str(reason.cause) if reason is not None else "no_reason"


# -- a saga nothing is running any more --------------------------------------------------------
#
# An unresolved saga (running, compensating, or failed and waiting for recovery) in a log
# that nothing has written to for this long was abandoned: every saga kind times out within
# seconds (5 s, 30 s), and a launcher or server that is running writes its log whenever any
# saga runs (every window closed, every pane reaped), so an idle week means no process owns
# the log any more (a superseded version folder, a copied snapshot). A week, not a day: an
# idle machine over a weekend or a short holiday is not an abandoned one.
ABANDONED_AFTER = timedelta(days=7)

_AGE_UNITS = (("year", 365 * 86400), ("month", 30 * 86400), ("week", 7 * 86400),
              ("day", 86400))


def age_words(elapsed: timedelta) -> str:
    """How long, as people say it in a sentence: `9 days`, `3 weeks`, `4 months`, `1 year`
    (the largest whole unit, from a day up)."""
    seconds = max(0.0, elapsed.total_seconds())
    for unit, size in _AGE_UNITS:
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    hours = int(seconds // 3600)
    return f"{hours} hour{'' if hours == 1 else 's'}"


def is_unresolved(saga: Saga) -> bool:
    """Whether the saga's format would still change it (running, compensating, a failed
    saga the next start recovers): a known state that is not one of its final states."""
    fmt = saga.log_format
    return fmt.knows_state(saga.state) and saga.state not in fmt.final_states


def abandoned_for(saga: Saga, last_write: float | None,
                  now: datetime | None = None) -> timedelta | None:
    """How long ago the saga's log was last written, when the saga is unresolved and that
    is longer than ABANDONED_AFTER (None otherwise, or when the last write is not known).
    `last_write`: seconds since the epoch (SourceInfo.last_write); `now`: default the
    current time."""
    if last_write is None or not is_unresolved(saga):
        return None
    try:
        written = datetime.fromtimestamp(last_write, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    elapsed = (now or datetime.now(UTC)) - written
    return elapsed if elapsed > ABANDONED_AFTER else None
