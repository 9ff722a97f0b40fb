"""The query language and the sorts against real files: each qualifier finds what it says,
the SQL agrees with a brute-force reading of every saga, keyset paging under every sort gives
exactly the brute-force order in both directions, and SQL times agree with parse_timestamp."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from saga_inspector.demo import SagaRow, write_saga_log
from saga_inspector.store import (
    ErrorKind,
    SagaDetail,
    SagaQuery,
    SagaStore,
    SortKey,
    SortOrder,
    StoreError,
    parse_timestamp,
)
from saga_inspector.store.formats import FORMATS, SERVER, LogFormat
from saga_inspector.store.formats.launcher import text_micros_sql as time_sql
from saga_inspector.store.formats.server import MS_MAX, MS_MIN, SERVER_DDL, decode_millis
from saga_inspector.store.query import MAX_TERMS
from saga_inspector.store.query_sql import register_functions
from saga_inspector.store.timestamps import micros

from .factory import LOOSE_DDL, SagaLogFactory, mixed_sagas
from .query_cases import POOL, every_saga, expected_ids, many_sagas, query_sagas

# Every test here that reads `store` or `big_store` runs once per format (see conftest's
# log_format): the same sagas, written as each format stores them.


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory, log_format: LogFormat) -> Path:
    folder = tmp_path_factory.mktemp("query-logs")
    return SagaLogFactory(folder, log_format)(query_sagas(), ddl=LOOSE_DDL)


@pytest.fixture(scope="module")
def store(log: Path) -> Iterator[SagaStore]:
    with SagaStore.open(log) as opened:
        yield opened


@pytest.fixture(scope="module")
def details(store: SagaStore) -> list[SagaDetail]:
    return every_saga(store)


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory,
              log_format: LogFormat) -> Iterator[SagaStore]:
    folder = tmp_path_factory.mktemp("query-big")
    path = SagaLogFactory(folder, log_format)(many_sagas(), ddl=LOOSE_DDL)
    with SagaStore.open(path) as opened:
        yield opened


@pytest.fixture(scope="module")
def big_details(big_store: SagaStore) -> list[SagaDetail]:
    return every_saga(big_store)


def ids(sagas: list) -> list[int]:
    return [saga.saga_id for saga in sagas]


# -- each qualifier finds what it says ------------------------------------------------------------

ALL = list(range(14, 0, -1))
CLEANUPS = [14, 12, 11, 10, 9, 7, 6, 4, 3, 1]

# (query, the ids it lists): one list for both formats, or {format name: ids} where the
# formats differ (the server has no target and no labels, whole-millisecond times, a step's
# reason in its output, and its ref: finds the value quoted anywhere in a payload's text).
CASES = [
    ("", list(range(14, 0, -1))),
    ("main", [14, 12, 11, 9, 7, 6, 3, 1]),    # free text: the input as written, any case
    ("MAIN-window", [6]),                    # ASCII case ignored
    ("timeout", [2]),                         # the saga's reason only: step reasons are not text
    ("refused", []),                          # a step's reason: for reason:, not free text
    ("reason:refused", [6]),
    ("13", [13]),                             # the id
    ("respawn", [13, 8, 5, 2]),               # the name
    ("state:failed", [8, 7, 2]),
    ("state:failed,running", [8, 7, 4, 2]),
    ("state:weird_state", [12]),
    ("state:attention", [8, 7, 4, 3, 2]),
    ("-state:completed", [12, 8, 7, 4, 3, 2]),
    ("state:failed -id:8", [7, 2]),
    ("name:CLEANUP", [14, 12, 11, 10, 9, 7, 6, 4, 3, 1]),
    ("-name:cleanup", [13, 8, 5, 2]),
    ("step:spawn_pool", [13, 8, 5, 2]),
    ("step:DRAIN", [14, 12, 11, 10, 9, 7, 6, 4, 3, 1]),
    ("target:self", {"launcher": [6], "server": []}),
    ("-target:host", {"launcher": [], "server": ALL}),  # every saga has a step on host
    ("reason:refused", [6]),                  # a step's reason
    ("reason:SAGA timeout", [2]),             # two words: reason and free text
    ('reason:"saga timeout"', [2]),
    ("reason:restarted", [3]),
    ("-reason:e", [14, 13, 12, 11, 10, 9, 5, 4, 1]),  # no reason at all: not matched, kept
    # 10: escaped in a step's cmd; 11: invalid JSON. The server's payloads hold no labels.
    ("label:main", {"launcher": [12, 10, 9, 7, 3, 1], "server": []}),
    ("label:Main", []),                       # labels are exact
    # not "Main-Window", nor "window-pool-main"
    ("label:main*", {"launcher": [12, 10, 9, 7, 3, 1], "server": []}),
    ("label:Main*", {"launcher": [6], "server": []}),
    ("label:window-pool-*", {"launcher": [14, 13, 8, 5, 4, 2], "server": []}),
    ("label:window-pool-main", {"launcher": [14], "server": []}),
    ("label:7", []),                          # a number is not a label
    (f"label:{POOL}", {"launcher": [4], "server": []}),
    ("-label:main", {"launcher": [14, 13, 11, 8, 6, 5, 4, 2], "server": ALL}),
    # ref: the launcher's labels; on the server "main" quoted in the input, a command or
    # an output: 11's input is not JSON yet holds it; 10's command writes it with an escape
    ("ref:main", {"launcher": [12, 10, 9, 7, 3, 1], "server": [12, 11, 9, 7, 3, 1]}),
    ("ref:Main", []),
    ("ref:main*", {"launcher": [12, 10, 9, 7, 3, 1], "server": [12, 11, 9, 7, 3, 1]}),
    ("ref:Main*", [6]),
    ("ref:window-pool-*", [14, 13, 8, 5, 4, 2]),
    ("-ref:main", {"launcher": [14, 13, 11, 8, 6, 5, 4, 2],
                   "server": [14, 13, 10, 8, 6, 5, 4, 2]}),
    ("ref:7", []),                            # a number is no string
    # an event and a command are strings, not labels: only the server's ref: finds them
    ("ref:panes_reaped", {"launcher": [], "server": CLEANUPS}),
    ("ref:drain_pool_if_*", {"launcher": [], "server": CLEANUPS}),
    # pool_drained (6's drain output is its error on the server)
    ("ref:pool_d*", {"launcher": [], "server": [14, 12, 11, 10, 1]}),
    ('ref:"Drain Refused by host"', {"launcher": [], "server": [6]}),  # 6's step error
    ("-ref:panes_reaped", {"launcher": ALL, "server": [13, 8, 5, 2]}),
    ("ref:main -label:main", {"launcher": [], "server": [12, 11, 9, 7, 3, 1]}),
    ("pending:yes", [8, 7, 4, 3, 2]),         # 9: pending step, completed saga: not in flight
    ("pending:no", [14, 13, 12, 11, 10, 9, 6, 5, 1]),
    ("-pending:no", [8, 7, 4, 3, 2]),
    ("id:3..6", [6, 5, 4, 3]),
    ("id:12..", [14, 13, 12]),
    ("id:..2", [2, 1]),
    ("id:9", [9]),
    ("since:2026-06-02T14:07:03", [14, 13, 12, 11]),  # 11 started 14:07:03.48
    # exactly 9's start: in (on the server 9 started at .481, a whole millisecond)
    ("since:2026-06-02T14:06:43.481526", {"launcher": [14, 13, 12, 11, 10, 9],
                                          "server": [14, 13, 12, 11, 10]}),
    ("since:2026-06-02T14:06:43.481", [14, 13, 12, 11, 10, 9]),
    ("since:2026-06-02T14:06:43.481001", {"launcher": [14, 13, 12, 11, 10, 9],
                                          "server": [14, 13, 12, 11, 10]}),
    ("until:2026-06-02T14:06:43.481", [9, 7, 6, 5, 4, 3, 2, 1]),  # up to .481999
    ("until:2026-06-02T14:06:43.481000", {"launcher": [7, 6, 5, 4, 3, 2, 1],
                                          "server": [9, 7, 6, 5, 4, 3, 2, 1]}),
    ("since:2026-06-02T14:06:43.481527", [14, 13, 12, 11, 10]),
    ("until:2026-06-02T14:05:43", [3, 2, 1]),  # the whole second 14:05:43 (3 started .48)
    ("until:2026-06-02T16:06:23.5+02:00", [7, 6, 5, 4, 3, 2, 1]),  # 7: exactly, in its zone
    ("since:2026-06-03", []),
    ("until:2026-06-01", []),
    ("-since:2026-06-03", list(range(14, 0, -1))),
    ("-until:2026-06-02", [8]),               # 8 has no start time: never "until" anything
    ("slower:5s", [7, 3, 2]),                 # 7: 9.5 s, 2: 5.01 s, 3: 4 h
    ("slower:5010ms", [7, 3]),                # 2 lasted exactly 5.01 s: not slower
    ("slower:1h", [3]),
    ("-slower:1s", [14, 12, 11, 10, 9, 8, 6, 5, 4, 1]),  # 4 running, 8 unknown: kept
    ("slower:1s state:failed", [7, 2]),
    ("08:41", []),
    ('"closed_label":"main"', [12, 9, 7, 3, 1]),  # JSON as stored (not 11: a space)
    ("label:main -id:1 pending:yes", {"launcher": [7, 3], "server": []}),
    ("ref:main -id:1 pending:yes", [7, 3]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_each_qualifier(log_format: LogFormat,
                        store: SagaStore, details: list[SagaDetail], text: str,
                        expected: list[int] | dict[str, list[int]]) -> None:
    assert store.format is log_format
    if isinstance(expected, dict):
        expected = expected[log_format.name]
    query = SagaQuery(text=text)
    assert expected_ids(details, query) == expected  # the oracle reads the query the same way
    assert ids(list(store.walk(query))) == expected
    assert store.count(query) == len(expected)
    assert store.page_anchors(query, stride=1) == expected


def test_the_chips_states_and_the_query_combine(store: SagaStore) -> None:
    failed_or_running = frozenset({"failed", "running"})
    assert ids(store.sagas(SagaQuery(failed_or_running, "state:running,completed"))) == [4]
    assert ids(store.sagas(SagaQuery(failed_or_running, "-state:failed"))) == [4]
    assert ids(store.sagas(SagaQuery(failed_or_running, "pending:yes slower:5s"))) == [7, 2]
    assert store.count(SagaQuery(failed_or_running, "state:running,completed")) == 1


def test_state_words_alone_use_the_counts_and_the_state_index(store: SagaStore) -> None:
    statements: list[str] = []
    for conn in (store._conn, store._scan_conn):
        assert conn is not None
        conn.set_trace_callback(statements.append)
    try:
        store.counts()  # cached from here on
        statements.clear()
        query = SagaQuery(text="state:failed,running -state:running")
        assert store.count(query) == 3
        assert ids(store.sagas(query)) == [8, 7, 2]
    finally:
        for conn in (store._conn, store._scan_conn):
            assert conn is not None
            conn.set_trace_callback(None)
    # No count(*) scan (the counts by state answer), and the rows come from one index walk
    # per state: no `state IN (a, b)`, which would make SQLite sort.
    table = store.format.saga_table
    assert not [sql for sql in statements if f"count(*) FROM \"{table}\" s" in sql]
    walks = [sql for sql in statements if "ORDER BY" in sql]
    assert len(walks) == 1
    assert "IN ('failed')" in walks[0]


def test_a_query_state_nobody_has_finds_nothing(store: SagaStore) -> None:
    assert store.sagas(SagaQuery(text="state:nope")) == []
    assert store.count(SagaQuery(text="state:nope")) == 0
    assert store.count(SagaQuery(text="state:failed state:running")) == 0


# -- the SQL agrees with brute force on any query -------------------------------------------------

WORDS = st.sampled_from([
    "main", "MAIN", "timeout", "pool", "1", "e", "cleanup", "zz", "08:41", "refused", "by host",
    "state:failed", "state:completed,running", "state:attention", "state:weird_state",
    "name:respawn", "name:CASCADE", "step:drain", "step:spawn", "target:host",
    "target:self", "reason:restart", "reason:timeout", "reason:refused", "label:main",
    "label:window-pool-*", "label:Main*", "label:other", "pending:yes", "pending:no",
    "id:3..120", "id:150..", "id:..20", "id:101", "since:2026-06-02T14:06",
    "since:2026-06-02T14:07:43.48", "until:2026-06-02T14:06:30", "until:2026-06-02T14:08Z",
    "slower:5s", "slower:100ms", "slower:1h", "slower:5010ms",
])
QUERIES = st.lists(st.tuples(st.booleans(), WORDS), max_size=3).map(
    lambda words: " ".join(("-" if negated else "") + word for negated, word in words))
CHIPS = st.sampled_from([None, frozenset({"failed", "running"}), frozenset({"completed"}),
                         frozenset({"failed_compensation", "compensating", "running"})])
SORTS = st.sampled_from(list(SortOrder))
SLOW = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@SLOW
@given(text=QUERIES, states=CHIPS, sort=SORTS)
def test_any_query_lists_what_brute_force_finds_in_its_order(
        big_store: SagaStore, big_details: list[SagaDetail], text: str,
        states: frozenset[str] | None, sort: SortOrder) -> None:
    query = SagaQuery(states, text, sort)
    expected = expected_ids(big_details, query)
    assert ids(list(big_store.walk(query))) == expected
    assert big_store.count(query) == len(expected)


REF_WORDS = st.sampled_from(["ref:main", "ref:main*", "ref:window-pool-*", "ref:Main*",
                             "ref:panes_reaped", "ref:pool_d*", "ref:drain_pool_if_last",
                             "ref:other", "ref:7", "ref:zz*"])
QUERIES_WITH_REF = st.tuples(st.booleans(), REF_WORDS, QUERIES).map(
    lambda parts: ("-" if parts[0] else "") + parts[1] + " " + parts[2])


@SLOW
@given(text=QUERIES_WITH_REF, states=CHIPS, sort=SORTS)
def test_any_query_with_ref_lists_what_brute_force_finds_in_its_order(
        big_store: SagaStore, big_details: list[SagaDetail], text: str,
        states: frozenset[str] | None, sort: SortOrder) -> None:
    query = SagaQuery(states, text, sort)
    expected = expected_ids(big_details, query)
    assert ids(list(big_store.walk(query))) == expected
    assert big_store.count(query) == len(expected)


def pages_down(store: SagaStore, query: SagaQuery, size: int) -> list[int]:
    found, after = [], None
    while True:
        page = store.sagas(query, after=after, limit=size)
        found += ids(page)
        if len(page) < size:
            return found
        after = query.key_of(page[-1])


def pages_up(store: SagaStore, query: SagaQuery, size: int) -> list[int]:
    """From the last page (`G`) up to the first, each page put before the ones read."""
    page = store.oldest(query, limit=size)
    found = ids(page)
    while len(page) == size:
        page = store.sagas(query, before=query.key_of(page[0]), limit=size)
        found = ids(page) + found
    return found


@SLOW
@given(text=QUERIES, states=CHIPS, sort=SORTS, size=st.integers(1, 9))
def test_keyset_pages_in_both_directions_give_the_brute_force_order(
        big_store: SagaStore, big_details: list[SagaDetail], text: str,
        states: frozenset[str] | None, sort: SortOrder, size: int) -> None:
    query = SagaQuery(states, text, sort)
    expected = expected_ids(big_details, query)
    assert pages_down(big_store, query, size) == expected
    assert pages_up(big_store, query, size) == expected
    keys = big_store.page_keys(query, stride=size)
    assert len(keys) == math.ceil(len(expected) / size)
    jumped = [saga_id for key in keys for saga_id in ids(big_store.sagas(query, at=key,
                                                                          limit=size))]
    assert jumped == expected
    assert big_store.page_anchors(query, stride=size) == expected[::size]


@pytest.mark.parametrize("sort", list(SortOrder))
def test_every_sort_pages_the_whole_log_both_ways(big_store: SagaStore,
                                                  big_details: list[SagaDetail],
                                                  sort: SortOrder) -> None:
    query = SagaQuery(sort=sort)
    expected = expected_ids(big_details, query)
    assert len(expected) == len(big_details) == 74
    for size in (1, 10, 74, 100):
        assert pages_down(big_store, query, size) == expected
        assert pages_up(big_store, query, size) == expected


def test_sorted_orders_put_sagas_without_a_value_last(store: SagaStore) -> None:
    by_start = ids(store.sagas(SagaQuery(sort=SortOrder.STARTED)))
    assert by_start[-1] == 8  # "yesterday" does not parse
    assert by_start[:3] == [14, 13, 12]
    by_duration = ids(store.sagas(SagaQuery(sort=SortOrder.DURATION)))
    assert by_duration[:3] == [3, 7, 2]  # 4 h, 9.5 s, 5.01 s
    assert by_duration[-2:] == [8, 4]  # no duration: unparsable start, still running
    assert ids(store.oldest(SagaQuery(sort=SortOrder.DURATION), limit=2)) == [8, 4]


def test_an_id_alone_places_no_page_in_another_sort(store: SagaStore) -> None:
    with pytest.raises(ValueError, match="older_than is a saga id"):
        store.sagas(SagaQuery(sort=SortOrder.STARTED), older_than=5)
    with pytest.raises(ValueError, match="not after and before"):
        store.sagas(after=SortKey(5, 5), before=SortKey(1, 1))
    # Sorted by id, the old arguments and the keys are the same thing.
    assert store.sagas(older_than=9, limit=3) == store.sagas(after=SortKey(9, 9), limit=3)
    assert store.sagas(newer_than=9, limit=3) == store.sagas(before=SortKey(9, 9), limit=3)
    assert ids(store.sagas(at=SortKey(9, 9), limit=3)) == [9, 8, 7]


def test_keys_past_the_integer_range_are_not_an_error(store: SagaStore) -> None:
    assert ids(store.sagas(at=SortKey(2**63 - 1, 2**63 - 1), limit=2)) == [14, 13]
    assert store.sagas(older_than=-(2**63), limit=2) == []
    assert ids(store.sagas(older_than=2**63, limit=2)) == [14, 13]


# -- the scans: on their own connection, cancellable ---------------------------------------------


def test_sorted_pages_and_their_keys_are_scans_that_can_be_cancelled(
        make_log: SagaLogFactory) -> None:
    with SagaStore.open(make_log(mixed_sagas(5_000))) as store:
        for sort in (SortOrder.STARTED, SortOrder.DURATION):
            query = SagaQuery(sort=sort)
            for read in (lambda q=query: store.sagas(q, cancelled=lambda: True),
                         lambda q=query: store.page_keys(q, cancelled=lambda: True)):
                with pytest.raises(StoreError) as raised:
                    read()
                assert raised.value.kind is ErrorKind.CANCELLED
        assert len(store.sagas(SagaQuery(sort=SortOrder.DURATION), limit=5)) == 5


def test_sorted_pages_run_on_the_scan_connection(store: SagaStore, monkeypatch) -> None:
    used: list[str] = []
    original = store._scan_rows

    def spy(sql: str, params: list, cancelled: object) -> list:
        used.append(sql)
        return original(sql, params, cancelled)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_scan_rows", spy)
    store.sagas(SagaQuery(sort=SortOrder.DURATION), limit=3)
    assert len(used) == 1
    store.sagas(limit=3)  # a plain page by id: the page connection
    assert len(used) == 1


# -- times: the SQL rule agrees with parse_timestamp ----------------------------------------------


@pytest.fixture(scope="module")
def sql_conn() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    register_functions(conn)
    yield conn
    conn.close()


def sql_micros(conn: sqlite3.Connection, value: object, *, as_text: bool = False) -> object:
    source = "CAST(? AS TEXT)" if as_text else "?"
    return conn.execute(f"SELECT {time_sql('v')} FROM (SELECT {source} AS v)",
                        [value]).fetchone()[0]


def python_micros(value: object) -> int | None:
    return micros(parse_timestamp(value))


LAUNCHER_FORMS = [
    "2026-06-02T14:05:23.481526300+00:00", "2026-06-02T14:05:23.481526+00:00",
    "2026-06-02T14:05:23.481+00:00", "2026-06-02T14:05:23+00:00",
    "2026-06-02T23:59:59.999999999+00:00", "2026-06-02T23:59:59.9995+00:00",
    "2026-06-02T23:59:59.999500000+00:00", "2026-06-02T00:00:00.000000001+00:00",
    "1969-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59.999999999+00:00", "2024-02-29T12:00:00.5+00:00",
]
NEAR_MISSES = [
    "2026-02-30T01:00:00+00:00", "2026-02-29T01:00:00.000+00:00", "2026-04-31T01:00:00+00:00",
    "2026-06-02T24:00:00+00:00", "0000-01-01T00:00:00+00:00", "2026-06-02T14:05:60+00:00",
    "2026-06-02T14:05:23.+00:00", "2026-06-02T14:05:23.12a+00:00",
    "2026-06-02T14:05:23.12345678 +00:00", "2026-06-02T14:05:23 +00:00",
    " 2026-06-02T14:05:23+00:00", "2026-06-02T14:05:23+00:00 ", "2026-06-02t14:05:23+00:00",
    "2026-06-02 14:05:23+00:00", "2026-06-02T14:05:23Z", "2026-06-02T14:05:23.5z",
    "2026-06-02T14:05:23-07:30", "2026-06-02T14:05:23+15:00", "2026-06-02T14:05:23+24:00",
    "2026-06-02T14:05:23", "2026-06-02", "2026-13-02T14:05:23+00:00",
    "2026-00-02T14:05:23+00:00", "2026-06-00T14:05:23+00:00", "+026-06-02T14:05:23+00:00",
    "2026-06-02T14:05:23." + "9" * 400 + "+00:00", "2026-06-02T14:05:2\u0663+00:00",
    "2026-06-02T14:05:23.\u0663\u0663\u0663+00:00", "now", "", "2461194.5",
    "\u20002026-06-02T14:05:23+00:00", "\t2026-06-02T14:05:23.481+00:00",
]


@pytest.mark.parametrize("value", LAUNCHER_FORMS + NEAR_MISSES)
def test_sql_times_agree_with_parse_timestamp(sql_conn: sqlite3.Connection, value: str) -> None:
    assert sql_micros(sql_conn, value) == python_micros(value)


@pytest.mark.parametrize("value", [None, 0, 1780000000, 2461194.5, b"2026-06-02T14:05:23+00:00",
                                   b"\xff2026-06-02T14:05:23+00:00"])
def test_sql_times_of_other_types_agree(sql_conn: sqlite3.Connection, value: object) -> None:
    assert sql_micros(sql_conn, value) == python_micros(value)


def test_text_that_is_not_utf8_goes_through_the_function_without_failing(
        sql_conn: sqlite3.Connection) -> None:
    for raw in (b"2026-06-02T14:05:23\xff+00:00", b"\xff\xfe"):
        assert sql_micros(sql_conn, raw, as_text=True) is None
    assert sql_micros(sql_conn, b"2026-06-02T14:05:23Z", as_text=True) == python_micros(
        "2026-06-02T14:05:23Z")


DIGITS = st.text("0123456789", min_size=1, max_size=12)
ZONES = st.sampled_from(["+00:00", "Z", "z", "+02:00", "-11:30", "+23:59", "+14:00", ""])


@st.composite
def stored_times(draw: st.DrawFn) -> str:
    """Times near the launcher's form: random fields (often out of range), separators,
    fraction lengths and zones, and now and then a character changed."""
    year = draw(st.integers(0, 9999))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(
        st.integers(0, 61))
    separator = draw(st.sampled_from(["T", "T", "T", " ", "t"]))
    fraction = draw(st.one_of(st.just(""), DIGITS.map(lambda d: "." + d)))
    text = (f"{year:04d}-{month:02d}-{day:02d}{separator}{hour:02d}:{minute:02d}:"
            f"{second:02d}{fraction}{draw(ZONES)}")
    if draw(st.integers(0, 4)) == 0 and text:
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + draw(st.characters(max_codepoint=0x3000)) + text[at + 1:]
    return text


@settings(max_examples=2000, deadline=None)
@given(value=st.one_of(stored_times(), st.text(max_size=40)))
def test_sql_times_agree_with_parse_timestamp_on_any_text(value: str) -> None:
    assume("\x00" not in value)  # SQLite text ends at NUL when read back through CAST
    conn = sqlite3.connect(":memory:")
    register_functions(conn)
    try:
        assert sql_micros(conn, value) == python_micros(value)
    finally:
        conn.close()


def test_text_that_is_no_query_is_searched_for_as_it_is(store: SagaStore) -> None:
    # What the store did before the query language; the CLI and the search line refuse it.
    assert ids(store.sagas(SagaQuery(text='"closed_label":"main'))) == [12, 9, 7, 6, 3, 1]
    assert store.count(SagaQuery(text="stat:failed")) == 0


@SLOW
@given(text=QUERIES, states=CHIPS, sort=SORTS, pick=st.integers(0, 73))
def test_count_before_is_the_position_of_a_key_in_the_list(
        big_store: SagaStore, big_details: list[SagaDetail], text: str,
        states: frozenset[str] | None, sort: SortOrder, pick: int) -> None:
    query = SagaQuery(states, text, sort)
    expected = expected_ids(big_details, query)
    by_id = {detail.saga.saga_id: detail.saga for detail in big_details}
    # A saga in the list: its position. Any saga (in the list or not): the rows above it.
    if expected:
        position = pick % len(expected)
        key = query.key_of(by_id[expected[position]])
        assert big_store.count_before(query, key) == position
    anyone = query.key_of(big_details[pick % len(big_details)].saga)
    above = sum(query.key_of(by_id[saga_id]) > anyone for saga_id in expected)
    assert big_store.count_before(query, anyone) == above


@pytest.mark.parametrize("word", ["-label:window-pool-*", "-slower:1h", "since:2026-06-02",
                                  "-refused", "-reason:x", "pending:no"])
def test_the_most_words_a_query_takes_are_within_sqlites_limits(
        store: SagaStore, details: list[SagaDetail], word: str) -> None:
    for sort in SortOrder:
        query = SagaQuery(frozenset({"completed", "failed"}), " ".join([word] * MAX_TERMS), sort)
        assert len(query.parsed.terms) == MAX_TERMS
        expected = expected_ids(details, query)
        assert ids(store.sagas(query, limit=100)) == expected
        assert store.count(query) == len(expected)
        assert store.page_keys(query, stride=1) == [query.key_of(s) for s in store.walk(query)]
        key = query.key_of(store.sagas(SagaQuery(sort=sort), limit=100)[-1])  # the bottom
        keys = [query.key_of(detail.saga) for detail in details
                if detail.saga.saga_id in expected]
        assert store.count_before(query, key) == sum(found > key for found in keys)


def test_count_before_at_the_ends(store: SagaStore) -> None:
    everything = SagaQuery(text="state:failed,running,completed")
    assert store.count_before(everything, SortKey(2**63, 2**63)) == 0
    assert store.count_before(everything, SortKey(-(2**63) - 1, -(2**63) - 1)) == 12
    assert store.count_before(SagaQuery(), SortKey(7, 7)) == 7  # 14..8 above saga 7
    by_duration = SagaQuery(sort=SortOrder.DURATION)
    assert store.count_before(by_duration, SortKey(10**12, 0)) == 0
    assert store.count_before(by_duration, SortKey(-(2**63), 0)) == 14


def test_count_before_by_id_counts_on_the_state_index(store: SagaStore) -> None:
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    try:
        store.counts()
        statements.clear()
        assert store.count_before(SagaQuery(frozenset({"failed", "running"})),
                                  SortKey(7, 7)) == 1  # saga 8
    finally:
        store._conn.set_trace_callback(None)
    counts = [sql for sql in statements if sql.startswith("SELECT count(*)")]
    # One count per state on an index; on a server log, `failed` has none: its ids are kept
    # from the counting scan, and the position is a bisect, not a statement.
    expected = 2 if store.format.partial_state_index is None else 1
    assert len(counts) == expected and all("IN ('" in sql and "> 7" in sql for sql in counts)


# -- times, per format: each format's SQL agrees with its own Python decoder ----------------------

# Values a server time column can hold: integer milliseconds (0, negative, the ends of the
# years 1-9999 and one past each, year 10000, the 64-bit ends), reals, text (RFC 3339, digits,
# junk), BLOBs (one not UTF-8), NULL.
STORED_VALUES = [
    0, 1, -1, 1_780_409_123_481, MS_MIN, MS_MAX, MS_MIN - 1, MS_MAX + 1, 253_402_300_800_000,
    -62_135_596_800_000 - 86_400_000, 2**63 - 1, -(2**63),
    0.0, 1.5, -0.5, 0.0004, -0.0004, 1_780_409_123_481.25, float(MS_MAX), float(MS_MIN),
    float(MS_MAX) + 1.0, 1e300, -1e300, math.inf, -math.inf, math.nan,
    "2026-06-02T14:05:23.481+00:00", "2026-06-02T14:05:23.481526300+00:00",
    "2026-06-02T16:05:23Z", "1780409123481", "1.5", "yesterday", "", " ",
    b"2026-06-02T14:05:23+00:00", b"\xff2026-06-02T14:05:23+00:00", b"\xff\xfe", b"", None,
]


def format_sql_micros(conn: sqlite3.Connection, fmt: LogFormat, value: object, *,
                      as_text: bool = False) -> object:
    source = "CAST(? AS TEXT)" if as_text else "?"
    return conn.execute(f"SELECT {fmt.time.micros_sql('v')} FROM (SELECT {source} AS v)",
                        [value]).fetchone()[0]


def format_python_micros(fmt: LogFormat, value: object) -> int | None:
    # NaN is bound as NULL by SQLite: the same as a NULL column.
    if isinstance(value, float) and math.isnan(value):
        value = None
    return micros(fmt.time.decode(value))


@pytest.mark.parametrize("value", STORED_VALUES, ids=repr)
def test_each_formats_sql_times_agree_with_its_decoder(
        sql_conn: sqlite3.Connection, log_format: LogFormat, value: object) -> None:
    assert format_sql_micros(sql_conn, log_format, value) == format_python_micros(log_format,
                                                                                value)


def test_server_times_in_sql_are_milliseconds_in_the_years_1_to_9999(
        sql_conn: sqlite3.Connection) -> None:
    """What the agreement above rests on, said outright (decode_millis could be wrong with
    the SQL in step): milliseconds, reals truncated to the microsecond, the range's ends."""
    cases = {0: 0, -1: -1000, 1_780_409_123_481: 1_780_409_123_481_000, 1.5: 1500,
             -0.5: -500, MS_MIN: MS_MIN * 1000, MS_MAX: MS_MAX * 1000, MS_MIN - 1: None,
             MS_MAX + 1: None, math.inf: None, "2026-06-02T14:05:23.481+00:00":
             1_780_409_123_481_000, "yesterday": None, None: None}
    for value, expected in cases.items():
        assert format_sql_micros(sql_conn, SERVER, value) == expected, value
        assert micros(decode_millis(value)) == expected, value


def test_server_text_that_is_not_utf8_goes_through_the_function_without_failing(
        sql_conn: sqlite3.Connection) -> None:
    for raw in (b"2026-06-02T14:05:23\xff+00:00", b"\xff\xfe", b"\x80"):
        assert format_sql_micros(sql_conn, SERVER, raw, as_text=True) is None
        assert micros(decode_millis(raw)) is None
    assert format_sql_micros(sql_conn, SERVER, b"2026-06-02T14:05:23Z", as_text=True) == (
        micros(decode_millis("2026-06-02T14:05:23Z")))


ANY_STORED = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.integers(MS_MIN - 5, MS_MIN + 5),
    st.integers(MS_MAX - 5, MS_MAX + 5), st.floats(allow_nan=False),
    st.floats(MS_MIN - 2.0, MS_MAX + 2.0), st.text(max_size=40).filter(lambda t: "\x00" not in t),
    stored_times(), st.binary(max_size=40), st.none())
# Bounds as since:/until: give them: microseconds in the years 1-9999.
BOUNDS = st.integers(MS_MIN * 1000, MS_MAX * 1000 + 999)


@settings(max_examples=1500, deadline=None)
@given(value=ANY_STORED, data=st.data())
def test_since_and_until_sql_agree_with_the_decoder_on_any_value(value: object,
                                                                 data: st.DataObject) -> None:
    """moment_sql (with its cheap pre-tests) answers exactly micros(decode(v)) >= / <= bound,
    for each format, on any stored value; bounds drawn near the value's own instant too."""
    conn = sqlite3.connect(":memory:")
    register_functions(conn)
    try:
        for fmt in FORMATS:
            instant = format_python_micros(fmt, value)
            near = BOUNDS if instant is None else st.one_of(
                BOUNDS, st.integers(instant - 2000, instant + 2000))
            bound = data.draw(near)
            for since in (True, False):
                sql, params = fmt.time.moment_sql("v", since, bound)
                got = conn.execute(f"SELECT coalesce(({sql}), 0) FROM (SELECT ? AS v)",
                                   [*params, value]).fetchone()[0]
                expected = instant is not None and (instant >= bound if since
                                                    else instant <= bound)
                assert bool(got) is expected, (fmt, value, since, bound)
    finally:
        conn.close()


# A server log whose started_at holds every kind of value above (started_at left nullable).
LOOSE_SERVER_DDL = SERVER_DDL.replace("started_at     INTEGER NOT NULL,\n    terminal_at",
                                      "started_at     INTEGER,\n    terminal_at")


@pytest.fixture(scope="module")
def odd_times_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SagaStore]:
    assert LOOSE_SERVER_DDL != SERVER_DDL
    sagas = [SagaRow(n, "tear_off_tab", "completed", value, None, "{}")
             for n, value in enumerate(STORED_VALUES, start=1)]
    path = write_saga_log(tmp_path_factory.mktemp("odd-times") / "sagas.db", sagas,
                          ddl=LOOSE_SERVER_DDL, log_format=SERVER)
    with SagaStore.open(path) as opened:
        yield opened


@pytest.mark.parametrize("bound", ["2026-06-02T14:05:23.481", "2026-06-02T14:05:23.480999",
                                   "2026-06-02T14:05:23.481001Z", "1970-01-01T00:00:00",
                                   "1970-01-01T00:00:00.000001", "1969-12-31T23:59:59.9995",
                                   "0001-01-01T00:00:00", "9999-12-31T23:59:59.999",
                                   "2026-06-02T16:05:23+02:00", "2026-06-02"])
def test_server_since_and_until_through_the_store_agree_with_python(
        odd_times_store: SagaStore, bound: str) -> None:
    store = odd_times_store
    assert store.format is SERVER
    details = every_saga(store)
    assert len(details) == len(STORED_VALUES)
    for word in ("since", "until", "-since", "-until"):
        query = SagaQuery(text=f"{word}:{bound}")
        expected = expected_ids(details, query)  # Python: each start decoded, then compared
        assert ids(list(store.walk(query))) == expected, word
        assert store.count(query) == len(expected)
    # Something on each side of the bound, where it is inside the values' range.
    if bound.startswith("2026"):
        assert expected_ids(details, SagaQuery(text=f"since:{bound}"))
        assert expected_ids(details, SagaQuery(text=f"until:{bound}"))


def test_server_starts_the_store_decodes_are_decode_millis_of_the_stored_value(
        odd_times_store: SagaStore) -> None:
    # SQLite's INTEGER affinity turns text digits into an integer, a whole real into one:
    # the stored value is read back as the file holds it (bytes for text: some is not UTF-8).
    reader = sqlite3.connect(f"file:{odd_times_store.path}?mode=ro", uri=True)
    reader.text_factory = bytes
    try:
        stored = dict(reader.execute("SELECT saga_id, started_at FROM saga").fetchall())
    finally:
        reader.close()
    assert stored[4] == 1_780_409_123_481 and stored[30] == 1_780_409_123_481  # the digits
    assert stored[21] == MS_MAX + 1 and isinstance(stored[21], int)  # a whole real
    assert stored[14] == 1.5 and stored[31] == 1.5  # a real, and text that reads as one
    by_id = {detail.saga.saga_id: detail.saga for detail in every_saga(odd_times_store)}
    for n, value in stored.items():
        start = by_id[n].started_at
        assert micros(start) == format_python_micros(SERVER, value), (n, value, start)
