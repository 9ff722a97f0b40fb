"""A saga log with something for every qualifier, and a brute-force Python reading of the query
language to check the store's SQL against (test_query_store.py, test_query_cli.py).

The oracle is written apart from the code under test: it looks at each saga and its steps as
`SagaStore.saga(id)` returns them and decides every term in plain Python.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from saga_inspector.demo import REASON_PIPE, REASON_TIMEOUT, SagaRow, compact
from saga_inspector.store import SagaDetail, SagaQuery, SagaStore, SortOrder
from saga_inspector.store.query import IdRange, LabelMatch, ParsedQuery, Qualifier, Term

from .factory import cleanup_saga, mixed_sagas, recovered_saga, respawn_saga, ts

POOL = "window-pool-" + "ab" * 16
LABEL_KEYS = ("label", "closed_label", "promoted_label")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Queries run against query_sagas() by the CLI and by the dashboard, each checked against the store.
QUERIES = [
    "", "main", "state:failed,running", "-state:completed label:main", "reason:restart",
    "pending:yes", "id:3..12 -name:respawn", "since:2026-06-02T14:06 until:2026-06-02T14:07",
    "slower:5s", "-slower:1s target:host", "step:spawn", '"closed_label":"main"', "08:41",
]


def query_sagas() -> list[SagaRow]:
    """Sagas 1-14, each with a reason to be found by some qualifier (see the comments)."""
    rows = [
        cleanup_saga(1, at=0),                                         # label main, completed
        respawn_saga(2, "failed", at=10, reason=REASON_TIMEOUT),       # 5.01 s, in flight
        recovered_saga(3, at=20),                                      # 4 h, drain in flight
        cleanup_saga(4, "running", at=30, drained=None, label=POOL),   # running, no end
        respawn_saga(5, at=40),                                        # 0.41 s
    ]
    six = cleanup_saga(6, at=50, label="Main-Window")  # a step's own failure reason, target
    six.steps[1].failure_reason = "Drain Refused by host"
    six.steps[1].target = "launcher_self"
    seven = cleanup_saga(7, "failed", at=60, reason=REASON_PIPE, drained=None)
    seven.started_at = "2026-06-02T16:06:23.5+02:00"  # a zone: read by saga_micros()
    seven.ended_at = "2026-06-02T14:06:33Z"           # 9.5 s later
    eight = respawn_saga(8, "failed", at=70, reason="odd times")
    eight.started_at = "yesterday"                    # does not parse: no start, no duration
    nine = cleanup_saga(9, at=80, drained=None)       # completed, yet a step left pending:
    nine.steps[1].state = "pending"                   # not in flight (its saga ended well)
    ten = cleanup_saga(10, at=90, label="other")      # label main only in a step's command,
    ten.steps[1].cmd_json = '{"cmd":"drain_pool_if_last","label":"m\\u0061in"}'  # escaped
    eleven = cleanup_saga(11, at=100, label="other")
    eleven.input_json = '{"closed_label": "main"'     # not valid JSON: no label, but text
    twelve = cleanup_saga(12, "weird_state", at=110)  # a state the tool does not know
    thirteen = respawn_saga(13, at=120)
    thirteen.started_at = ts(120, digits=0)           # whole seconds, 3 digits: other lengths
    thirteen.ended_at = ts(121.5, digits=3)
    fourteen = cleanup_saga(14, at=130, label="window-pool-main")
    fourteen.input_json = compact({"closed_label": "window-pool-main", "label": 7})
    return [*rows, six, seven, eight, nine, ten, eleven, twelve, thirteen, fourteen]


def many_sagas() -> list[SagaRow]:
    """query_sagas and 60 more of both kinds (ids 101-278), for property tests."""
    return [*query_sagas(), *mixed_sagas(60, first_id=101, id_step=3, seed=11)]


# -- the oracle -----------------------------------------------------------------------------------


def ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def contains(haystack: object, needle: str) -> bool:
    return haystack is not None and ascii_lower(needle) in ascii_lower(str(haystack))


def _document(raw: str | None) -> object:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def labels(raw: str | None, keys: Sequence[str] = LABEL_KEYS) -> list[str]:
    """The string values of the top-level `keys` (a format's label keys)."""
    document = _document(raw)
    if not isinstance(document, dict):
        return []
    return [document[key] for key in keys if isinstance(document.get(key), str)]


def _found(match: LabelMatch, values: Sequence[str]) -> bool:
    return any(value.startswith(match.text) if match.prefix else value == match.text
               for value in values)


def micros(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def term_matches(term: Term, detail: SagaDetail) -> bool:
    saga, steps, value = detail.saga, detail.steps, term.value
    start = micros(saga.started_at.value if saga.started_at else None)
    end = micros(saga.ended_at.value if saga.ended_at else None)
    match term.qualifier:
        case None:
            assert isinstance(value, str)
            return any(contains(field, value) for field in (
                saga.saga_id, saga.name, saga.failure_reason, saga.input_json))
        case Qualifier.NAME:
            return contains(saga.name, str(value))
        case Qualifier.STEP:
            return any(contains(step.name, str(value)) for step in steps)
        case Qualifier.TARGET:
            return any(contains(step.target, str(value)) for step in steps)
        case Qualifier.REASON:
            return contains(saga.failure_reason, str(value)) or any(
                contains(step.failure_reason, str(value)) for step in steps)
        case Qualifier.STATE:
            assert isinstance(value, frozenset)
            return saga.state in value
        case Qualifier.LABEL | Qualifier.REF:
            assert isinstance(value, LabelMatch)
            payloads = [saga.input_json] + [raw for step in steps
                                            for raw in (step.cmd_json, step.output_json)]
            server = saga.log_format.name == "server"
            # ref: on the launcher is label:; on the server, the value written as a JSON
            # string (in quotes; a prefix: its opening quote) anywhere in a payload's text:
            # valid JSON or not, a key too, and not a string written with escapes. The
            # server's payloads have no labels.
            if term.qualifier is Qualifier.REF and server:
                quoted = '"' + value.text + ("" if value.prefix else '"')
                return any(raw is not None and quoted in raw for raw in payloads)
            keys = () if server else LABEL_KEYS
            return _found(value, [text for raw in payloads for text in labels(raw, keys)])
        case Qualifier.PENDING:
            return any(step.in_flight for step in steps) is value
        case Qualifier.ID:
            assert isinstance(value, IdRange)
            return (value.low is None or saga.saga_id >= value.low) and (
                value.high is None or saga.saga_id <= value.high)
        case Qualifier.SINCE:
            return start is not None and start >= int(value)
        case Qualifier.UNTIL:
            return start is not None and start <= int(value)
        case Qualifier.SLOWER:
            return start is not None and end is not None and end - start > int(value)
    raise AssertionError(term)


def matches(parsed: ParsedQuery, states: frozenset[str] | None, detail: SagaDetail) -> bool:
    if states is not None and detail.saga.state not in states:
        return False
    return all(term_matches(term, detail) is not term.negated for term in parsed.terms)


def oracle_key(sort: SortOrder, detail: SagaDetail) -> tuple[int, int, int]:
    """(has a value, the value, the id): sorted descending, sagas without a value last."""
    saga = detail.saga
    if sort is SortOrder.ID:
        return (1, saga.saga_id, saga.saga_id)
    start = saga.started_at.value if saga.started_at else None
    if sort is SortOrder.STARTED:
        return (0, 0, saga.saga_id) if start is None else (1, micros(start) or 0, saga.saga_id)
    duration = saga.duration
    if duration is None:
        return (0, 0, saga.saga_id)
    return (1, duration // _MICROSECOND, saga.saga_id)


_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def every_saga(store: SagaStore) -> list[SagaDetail]:
    found = []
    for saga in store.sagas(limit=1_000_000):
        detail = store.saga(saga.saga_id)
        assert detail is not None
        found.append(detail)
    return found


def expected_ids(details: Sequence[SagaDetail], query: SagaQuery) -> list[int]:
    """The ids the query should list, in its order, worked out by brute force."""
    chosen = [d for d in details if matches(query.parsed, query.states, d)]
    key: Callable[[SagaDetail], tuple[int, int, int]] = lambda d: oracle_key(query.sort, d)  # noqa: E731
    return [d.saga.saga_id for d in sorted(chosen, key=key, reverse=True)]
