"""The data layer over good files: counts, keyset paging, search, one saga with its steps,
the tripwire, schema tolerance, odd text, rows only in a -wal, change detection."""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saga_inspector.demo import REASON_PIPE, REASON_RESTART_RUNNING
from saga_inspector.store import PAGE_SIZE, ErrorKind, SagaQuery, SagaStore, StoreError
from saga_inspector.store.formats import LAUNCHER, SERVER
from saga_inspector.store.payload import parse_json

from .factory import (
    LOOSE_DDL,
    SagaLogFactory,
    cleanup_saga,
    insert_sagas,
    mixed_sagas,
    respawn_saga,
    ts,
)

# Each test also runs as on Windows: no os.geteuid, no pwd (see conftest.os_flavour).
pytestmark = pytest.mark.usefixtures("os_flavour")

# The states both formats write (the server adds `compensated`).
KNOWN = ("running", "completed", "failed", "compensating", "failed_compensation")
# Tests that take `log_format` run once per format; make_log then writes that format.


@pytest.fixture
def store_of(make_log: SagaLogFactory) -> Iterator:
    """`store_of(path)` opens a store that is closed when the test ends."""
    opened: list[SagaStore] = []

    def open_store(path: Path) -> SagaStore:
        opened.append(SagaStore.open(path))
        return opened[-1]

    yield open_store
    for store in opened:
        store.close()


def ids(sagas: list) -> list[int]:
    return [saga.saga_id for saga in sagas]


# -- counts ---------------------------------------------------------------------------------


def test_counts_show_every_known_state_and_keep_unknown_ones_as_found(make_log, store_of,
                                                                      log_format):
    rows = [cleanup_saga(1), cleanup_saga(2), respawn_saga(3, "failed", reason="saga timeout"),
            cleanup_saga(4, "paused"), respawn_saga(5, "paused"), cleanup_saga(6, "Completed"),
            cleanup_saga(7)]
    store = store_of(make_log(rows, ddl=LOOSE_DDL))

    counts = store.counts()

    assert dict(counts.by_state) == {
        **dict.fromkeys(log_format.saga_states, 0), "completed": 3, "failed": 1,
        "Completed": 1, "paused": 2,
    }
    # Known states first in their own order, unknown ones after them.
    known = len(log_format.saga_states)
    assert list(counts.by_state)[:known] == list(log_format.saga_states)
    assert list(counts.by_state)[known:] == ["Completed", "paused"]
    assert ("compensated" in counts.by_state) is (log_format is SERVER)
    assert counts.total == 7
    assert counts.unknown_states == ("Completed", "paused")
    assert counts.needs_attention == 1
    assert store.count(SagaQuery(frozenset({"paused"}))) == 2
    assert store.count(SagaQuery(frozenset({"paused", "completed", "nope"}))) == 5
    assert ids(store.sagas(SagaQuery(frozenset({"paused"})))) == [5, 4]


def test_counts_of_an_empty_log_are_all_zero(make_log, store_of, log_format):
    store = store_of(make_log([]))
    assert store.format is log_format
    assert dict(store.counts().by_state) == dict.fromkeys(log_format.saga_states, 0)
    assert store.sagas() == []
    assert store.oldest() == []
    assert store.page_anchors() == []
    assert store.saga(1) is None


def test_counts_follow_a_writers_commits(make_log, store_of, log_format):
    path = make_log([cleanup_saga(1), cleanup_saga(2)])
    store = store_of(path)
    assert store.counts().by_state["completed"] == 2
    writer = sqlite3.connect(path)
    with writer:
        writer.execute(f"UPDATE {log_format.saga_table} SET state = 'failed' WHERE saga_id = 2")
    writer.close()
    assert store.counts().by_state["completed"] == 1
    assert store.counts().by_state["failed"] == 1


# -- keyset paging --------------------------------------------------------------------------

PAGING_STATES = (*KNOWN, "paused")
PAGING_ROWS = mixed_sagas(257, states=PAGING_STATES, first_id=5, id_step=3)
STATE_OF = {row.saga_id: row.state for row in PAGING_ROWS}
TEXT_OF = {row.saga_id: f"{row.saga_id} {row.name} {row.input_json}".lower()
           for row in PAGING_ROWS}

QUERIES = {
    "all": SagaQuery(),
    "one state": SagaQuery(frozenset({"completed"})),
    "two states": SagaQuery(frozenset({"failed", "failed_compensation"})),
    "rare states": SagaQuery(frozenset({"running", "compensating", "paused"})),
    "every known": SagaQuery(frozenset(KNOWN)),
    "absent state": SagaQuery(frozenset({"nope"})),
    "search": SagaQuery(text="MAIN"),
    "search+states": SagaQuery(frozenset({"completed", "running"}), text="pool"),
}


def brute_force(query: SagaQuery) -> list[int]:
    """What a query must return, worked out from the rows themselves, newest first."""
    return [
        saga_id for saga_id in sorted(STATE_OF, reverse=True)
        if (query.states is None or STATE_OF[saga_id] in query.states)
        and (not query.text or query.text.lower() in TEXT_OF[saga_id])
    ]


@pytest.fixture(scope="module")
def paging_store(tmp_path_factory, log_format) -> Iterator[SagaStore]:
    factory = SagaLogFactory(tmp_path_factory.mktemp("paging"), log_format)
    store = SagaStore.open(factory(PAGING_ROWS, ddl=LOOSE_DDL))
    yield store
    store.close()


def walk_older(store: SagaStore, query: SagaQuery, limit: int) -> list[int]:
    """Every id, newest first, by following older_than from the newest page."""
    seen: list[int] = []
    page = store.sagas(query, limit=limit)
    while page:
        assert len(page) <= limit
        seen += ids(page)
        page = store.sagas(query, older_than=page[-1].saga_id, limit=limit)
        if page:
            # Only the last page may come short.
            assert len(seen) % limit == 0
    return seen


def walk_newer(store: SagaStore, query: SagaQuery, limit: int) -> list[int]:
    """Every id, newest first, by following newer_than up from the oldest page."""
    pages = []
    page = store.oldest(query, limit=limit)
    while page:
        assert ids(page) == sorted(ids(page), reverse=True)
        pages.append(ids(page))
        page = store.sagas(query, newer_than=page[0].saga_id, limit=limit)
    return [saga_id for ids_ in reversed(pages) for saga_id in ids_]


def test_paging_fixture_has_every_state_and_gaps_between_ids():
    assert set(STATE_OF.values()) == set(PAGING_STATES)
    assert all(len(brute_force(q)) > 0 for name, q in QUERIES.items() if name != "absent state")


@pytest.mark.parametrize("limit", [1, 7, PAGE_SIZE])
@pytest.mark.parametrize("name", list(QUERIES))
def test_walking_older_visits_every_saga_once_newest_first(paging_store, name, limit):
    query = QUERIES[name]
    expected = brute_force(query)
    assert ids(paging_store.sagas(query, limit=limit)) == expected[:limit]
    assert walk_older(paging_store, query, limit) == expected


@pytest.mark.parametrize("limit", [1, 7, PAGE_SIZE])
@pytest.mark.parametrize("name", list(QUERIES))
def test_walking_newer_from_the_oldest_page_visits_every_saga_once(paging_store, name, limit):
    query = QUERIES[name]
    expected = brute_force(query)
    assert ids(paging_store.oldest(query, limit=limit)) == expected[-limit:]
    assert walk_newer(paging_store, query, limit) == expected


@pytest.mark.parametrize("name", list(QUERIES))
def test_a_page_starts_just_past_its_bound_whatever_the_bound(paging_store, name):
    """older_than/newer_than need not be an id that exists (the ids have gaps)."""
    query = QUERIES[name]
    expected = brute_force(query)
    for bound in (0, 6, 7, 100, 101, 400, 773, 774, 10**6):
        older = [i for i in expected if i < bound][:5]
        newer = [i for i in expected if i > bound][-5:]
        assert ids(paging_store.sagas(query, older_than=bound, limit=5)) == older
        assert ids(paging_store.sagas(query, newer_than=bound, limit=5)) == newer


@pytest.mark.parametrize("stride", [1, 10, PAGE_SIZE])
@pytest.mark.parametrize("name", list(QUERIES))
def test_page_anchors_start_the_pages_of_a_full_listing(paging_store, name, stride):
    query = QUERIES[name]
    expected = brute_force(query)
    anchors = paging_store.page_anchors(query, stride=stride)
    assert anchors == expected[::stride]
    for k, anchor in enumerate(anchors):
        page = paging_store.sagas(query, older_than=anchor + 1, limit=stride)
        assert ids(page) == expected[k * stride:(k + 1) * stride]


@pytest.mark.parametrize("name", list(QUERIES))
def test_count_agrees_with_the_listing(paging_store, name):
    assert paging_store.count(QUERIES[name]) == len(brute_force(QUERIES[name]))


@pytest.mark.parametrize("limit", [0, -1, -100])
@pytest.mark.parametrize("name", ["all", "two states"])
def test_a_limit_below_one_gives_an_empty_page_not_the_whole_file(paging_store, name, limit):
    query = QUERIES[name]
    assert paging_store.sagas(query, limit=limit) == []
    assert paging_store.sagas(query, older_than=500, limit=limit) == []
    assert paging_store.sagas(query, newer_than=500, limit=limit) == []
    assert paging_store.oldest(query, limit=limit) == []


def test_older_than_and_newer_than_together_are_refused(paging_store):
    with pytest.raises(ValueError):
        paging_store.sagas(older_than=10, newer_than=5)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.dictionaries(
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.sampled_from(["completed", "failed", "running", "paused"]),
        max_size=40,
    ),
    wanted=st.sets(st.sampled_from(["completed", "failed", "running", "paused"]), min_size=2),
    limit=st.integers(min_value=1, max_value=9),
)
def test_multi_state_paging_matches_brute_force_for_any_ids(log_format, rows, wanted, limit):
    """The per-state merge, at any page size, over ids anywhere in SQLite's 64-bit range."""
    sagas = [cleanup_saga(saga_id, state) for saga_id, state in rows.items()]
    expected = sorted((i for i, state in rows.items() if state in wanted), reverse=True)
    query = SagaQuery(frozenset(wanted))
    with tempfile.TemporaryDirectory() as folder:
        path = SagaLogFactory(Path(folder), log_format)(sagas, ddl=LOOSE_DDL)
        with SagaStore.open(path) as store:
            assert walk_older(store, query, limit) == expected
            assert walk_newer(store, query, limit) == expected
            anchors = store.page_anchors(query, stride=limit)
            assert anchors == expected[::limit]
            for k, anchor in enumerate(anchors):
                page = store.sagas(query, older_than=anchor + 1, limit=limit)
                assert ids(page) == expected[k * limit:(k + 1) * limit]


def test_bounds_beyond_64_bits_page_from_the_ends_instead_of_failing(make_log, store_of,
                                                                     log_format):
    top = 2**63 - 1
    store = store_of(make_log([cleanup_saga(-(2**63)), cleanup_saga(5), cleanup_saga(top)]))
    assert store.page_anchors(stride=1) == [top, 5, -(2**63)]
    # anchors[k] + 1 is how the dashboard asks for page k; at the top id it passes 2**63.
    assert ids(store.sagas(older_than=top + 1, limit=1)) == [top]
    assert ids(store.sagas(older_than=2**80)) == [top, 5, -(2**63)]
    assert ids(store.sagas(newer_than=-(2**80))) == [top, 5, -(2**63)]
    assert store.sagas(older_than=-(2**63)) == []
    assert store.sagas(newer_than=top) == []
    assert ids(store.sagas(SagaQuery(frozenset({"completed", "failed"})), older_than=2**64)) == [
        top, 5, -(2**63)]


# -- search -----------------------------------------------------------------------------------


@pytest.fixture
def search_store(make_log, store_of, log_format) -> SagaStore:
    rows = [
        cleanup_saga(1, label="window-pool-abc"),
        respawn_saga(2, "failed", reason=REASON_PIPE),
        cleanup_saga(3, "failed", reason="100% done", label="a_b"),
        cleanup_saga(4, "failed", reason="100x done", label="axb"),
        cleanup_saga(5, "failed", reason=r"back\slash", label="main"),
        cleanup_saga(1234, "failed_compensation", reason=REASON_RESTART_RUNNING, drained=None),
        cleanup_saga(7, label="x" * 60_000),
    ]
    return store_of(make_log(rows))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234", [1234]),                     # the id
        ("RESPAWN_ON", [2]),                  # the name, any case
        ("broken PIPE", [2]),                 # the failure reason, any case
        ("Window-Pool-ABC", [1]),             # the input, any case
        ("pool-0000", [2]),                   # (a respawn saga's label is window-pool-000…)
        ("closed_label", [1234, 7, 5, 4, 3, 1]),
        ("100%", [3]),                        # % is a plain character
        ("a_b", [3]),                         # so is _
        ("%", [3]),
        (r"back\slash", [5]),                 # and the backslash
        (r"\s", [5]),
        ("restarted while", [1234]),
        ("no such text", []),
        ("x" * 30_000, [7]),                  # longer than SQLite's LIKE pattern limit
        ("%" * 30_000, []),
    ],
)
def test_search_looks_at_id_name_reason_and_input(search_store, text, expected):
    query = SagaQuery(text=text)
    assert ids(search_store.sagas(query)) == expected
    assert search_store.count(query) == len(expected)
    assert search_store.page_anchors(query, stride=1) == expected


def test_search_combines_with_state_filters(search_store):
    query = SagaQuery(frozenset({"failed", "completed"}), text="done")
    assert ids(search_store.sagas(query)) == [4, 3]
    assert ids(search_store.sagas(SagaQuery(frozenset({"completed"}), text="done"))) == []


def test_search_text_that_is_not_valid_unicode_finds_nothing_without_failing(search_store):
    # A command-line argument holding non-UTF-8 bytes arrives as lone surrogates.
    for text in ("\udcff", "main\ud800"):
        assert search_store.sagas(SagaQuery(text=text)) == []
        assert search_store.count(SagaQuery(text=text)) == 0
    assert search_store.sagas(SagaQuery(frozenset({"\udcff", "failed"}))) != []


# -- one saga and its steps -------------------------------------------------------------------


def test_a_saga_comes_with_its_steps_in_index_order(make_log, store_of, log_format):
    saga = cleanup_saga(41, drained=False)
    reap, drain = saga.steps
    extra = cleanup_saga(41).steps[0]
    extra.step_index, extra.name = 2, "issue_cmd_host_extra"
    saga.steps = [extra, drain, reap]          # written out of order
    store = store_of(make_log([saga, respawn_saga(40)]))

    detail = store.saga(41)

    assert detail is not None
    assert [step.step_index for step in detail.steps] == [0, 1, 2]
    assert [step.name for step in detail.steps] == [
        "issue_cmd_host_reap_panes", "issue_cmd_host_drain_pool_if_last", "issue_cmd_host_extra"]
    assert all(step.saga_id == 41 for step in detail.steps)
    first = detail.steps[0]
    # The server has no target; it keeps times in whole milliseconds.
    assert first.target == ("host" if log_format is LAUNCHER else None)
    assert parse_json(first.cmd_json).value == {"cmd": "reap_panes", "label": "main",
                                                "saga_id": 0}
    assert parse_json(first.output_json).value["event"] == "panes_reaped"
    assert first.started_at.raw == str(make_log.stored([saga])[0].steps[2].started_at)
    started = {"launcher": ts(0.0003), "server": "1780409123481"}[log_format.name]
    assert first.started_at.raw == started
    took = {"launcher": 0.0297, "server": 0.030}[log_format.name]
    assert first.duration is not None and first.duration.total_seconds() == pytest.approx(took)
    assert detail.saga.name == "window_cleanup_cascade"
    assert (detail.saga.steps_total, detail.saga.steps_done) == (3, 3)


@pytest.mark.parametrize(
    ("state", "pending_in_flight"),
    [
        ("failed", True),
        ("failed_compensation", True),
        ("running", True),
        ("compensating", True),
        ("completed", False),
        ("paused", False),     # a state this tool does not know: no guess
    ],
)
def test_a_pending_step_is_in_flight_only_while_its_saga_is_unresolved_or_failed(
    make_log, store_of, state, pending_in_flight, log_format
):
    store = store_of(make_log([cleanup_saga(9, state, drained=None)], ddl=LOOSE_DDL))

    detail = store.saga(9)

    reap, drain = detail.steps
    assert (reap.state, drain.state) == ("succeeded", "pending")
    assert reap.in_flight is False                   # a succeeded step never is
    assert drain.in_flight is pending_in_flight
    assert detail.in_flight_step == (drain if pending_in_flight else None)
    (listed,) = store.sagas()
    assert (listed.steps_total, listed.steps_done) == (2, 1)


def test_a_recovered_saga_shows_the_step_that_was_in_flight(make_log, store_of, log_format):
    store = store_of(make_log([respawn_saga(1, "failed", reason="saga timeout"),
                               cleanup_saga(2, "failed_compensation", drained=None,
                                            reason=REASON_RESTART_RUNNING)]))
    assert store.saga(1).in_flight_step.name == "issue_cmd_host_spawn_pool_window"
    assert store.saga(2).in_flight_step.step_index == 1
    assert store.saga(2).saga.failure_reason == REASON_RESTART_RUNNING


@pytest.mark.parametrize("saga_id", [2, 0, -1, 2**63, -(2**63) - 1, 10**30])
def test_an_id_not_in_the_file_gives_none(make_log, store_of, saga_id, log_format):
    store = store_of(make_log([cleanup_saga(1)]))
    assert store.saga(saga_id) is None


def test_the_largest_and_smallest_64_bit_ids_are_found(make_log, store_of, log_format):
    store = store_of(make_log([cleanup_saga(2**63 - 1), cleanup_saga(-(2**63))]))
    assert store.saga(2**63 - 1).saga.saga_id == 2**63 - 1
    assert store.saga(-(2**63)).saga.saga_id == -(2**63)


# -- times ---------------------------------------------------------------------------------


def test_times_read_from_the_file_parse_or_stay_text(make_log, store_of, log_format):
    good = cleanup_saga(1)
    good.started_at, good.ended_at = "2026-06-02T14:05:23Z", "2026-06-02T14:05:25.5+00:00"
    odd = cleanup_saga(2)
    odd.started_at, odd.ended_at = "yesterday", "2026-13-45T00:00:00+00:00"
    backwards = cleanup_saga(3)
    backwards.started_at, backwards.ended_at = ts(10), ts(4)
    store = store_of(make_log([good, odd, backwards]))

    first = store.saga(1).saga
    assert first.duration.total_seconds() == 2.5
    # The server's file holds the same instants as integer milliseconds.
    assert first.started_at.raw == {"launcher": "2026-06-02T14:05:23Z",
                                    "server": "1780409123000"}[log_format.name]
    second = store.saga(2).saga
    assert (second.started_at.raw, second.started_at.parsed) == ("yesterday", False)
    assert second.ended_at.raw == "2026-13-45T00:00:00+00:00"
    assert second.duration is None
    assert store.saga(3).saga.duration.total_seconds() == -6


def test_a_launcher_time_column_holding_a_number_or_a_blob_stays_text(make_log, store_of):
    # A column with no type keeps what it is given: an integer, a real, a blob.
    ddl = LOOSE_DDL.replace("started_at     TEXT NOT NULL,\n    ended_at       TEXT,\n    input",
                            "started_at,\n    ended_at,\n    input")
    path = make_log([cleanup_saga(1), cleanup_saga(2), cleanup_saga(3)], ddl=ddl, sql=[
        "UPDATE launcher_saga SET started_at = 1717337123, ended_at = 1.5 WHERE saga_id = 1",
        "UPDATE launcher_saga SET started_at = X'ff32', ended_at = NULL WHERE saga_id = 2",
    ])
    store = store_of(path)
    first = store.saga(1).saga
    assert (first.started_at.raw, first.ended_at.raw) == ("1717337123", "1.5")
    assert not first.started_at.parsed and first.duration is None
    second = store.saga(2).saga
    assert second.started_at.raw == "\\xff2"
    assert second.ended_at is None
    assert store.saga(3).saga.started_at.parsed


def test_a_server_time_column_holding_text_a_real_or_a_blob(store_of, tmp_path):
    """The server's INTEGER columns keep what they cannot convert: text, a BLOB; a real
    number is milliseconds too (to the microsecond)."""
    path = SagaLogFactory(tmp_path, SERVER)(
        [cleanup_saga(1), cleanup_saga(2), cleanup_saga(3), cleanup_saga(4)], sql=[
            "UPDATE saga SET started_at = 1717337123, terminal_at = 1717337124.5 "
            "WHERE saga_id = 1",
            "UPDATE saga SET started_at = X'ff32', terminal_at = NULL WHERE saga_id = 2",
            "UPDATE saga SET started_at = '2026-06-02T14:05:23Z', terminal_at = 'soon' "
            "WHERE saga_id = 3",
            "UPDATE saga SET started_at = -1, terminal_at = 253402300800000 WHERE saga_id = 4",
        ])
    store = store_of(path)
    first = store.saga(1).saga
    assert (first.started_at.raw, first.ended_at.raw) == ("1717337123", "1717337124.5")
    assert first.started_at.parsed and first.duration.total_seconds() == pytest.approx(0.0015)
    second = store.saga(2).saga
    assert second.started_at.raw == "\\xff2" and not second.started_at.parsed
    assert second.ended_at is None
    third = store.saga(3).saga
    assert third.started_at.parsed and third.started_at.raw == "2026-06-02T14:05:23Z"
    assert (third.ended_at.raw, third.ended_at.parsed, third.duration) == ("soon", False, None)
    fourth = store.saga(4).saga
    assert fourth.started_at.parsed and fourth.started_at.value.year == 1969
    # one past 9999-12-31T23:59:59.999Z: kept as it is, with no instant
    assert (fourth.ended_at.raw, fourth.ended_at.parsed) == ("253402300800000", False)


# -- the tripwire ---------------------------------------------------------------------------


@pytest.mark.parametrize(("user_version", "warned"), [(0, False), (1, False), (2, True),
                                                      (99, True)])
def test_a_file_from_a_newer_writer_is_read_with_a_warning(
    make_log, store_of, user_version, warned, log_format
):
    store = store_of(make_log([cleanup_saga(1), respawn_saga(2, "failed")],
                              user_version=user_version))
    assert store.schema.user_version == user_version
    assert store.schema.known_version == 1
    assert store.schema.newer_than_known is warned
    newer = [w for w in store.warnings if f"newer {log_format.writer} build" in w]
    assert bool(newer) is warned
    if warned:
        assert f"user_version={user_version}" in newer[0]
        # The server itself refuses such a file; this tool reads it.
        assert ("would refuse to open it" in newer[0]) is (log_format is SERVER)
    assert store.counts().total == 2
    assert ids(store.sagas()) == [2, 1]
    assert len(store.saga(1).steps) == 2


# -- schema tolerance -------------------------------------------------------------------------


def test_extra_columns_are_kept_for_the_detail_view_only(make_log, store_of, log_format):
    sagas, steps = log_format.saga_table, log_format.step_table
    path = make_log([cleanup_saga(1), respawn_saga(2)], sql=[
        f"ALTER TABLE {sagas} ADD COLUMN priority INTEGER DEFAULT 7",
        f'ALTER TABLE {sagas} ADD COLUMN "odd ""quoted"" name" TEXT',
        f"UPDATE {sagas} SET \"odd \"\"quoted\"\" name\" = 'x' WHERE saga_id = 2",
        f"ALTER TABLE {steps} ADD COLUMN attempt INTEGER",
        f"UPDATE {steps} SET attempt = step_index + 1",
    ])
    store = store_of(path)

    assert store.schema.extra_saga_columns == ("priority", 'odd "quoted" name')
    assert store.schema.extra_step_columns == ("attempt",)
    assert store.schema.missing_saga_columns == ()
    assert all(saga.extra == {} for saga in store.sagas())
    detail = store.saga(2)
    assert dict(detail.saga.extra) == {"priority": 7, 'odd "quoted" name': "x"}
    assert [dict(step.extra) for step in store.saga(1).steps] == [{"attempt": 1},
                                                                   {"attempt": 2}]
    assert detail.saga.name == "pool_respawn_on_promote"
    assert store.warnings == ()


MINIMAL_SCHEMA = """
CREATE TABLE launcher_saga (saga_id INTEGER PRIMARY KEY, name TEXT, state TEXT NOT NULL,
                            started_at TEXT, input_json TEXT);
CREATE TABLE launcher_saga_step (saga_id INTEGER, step_index INTEGER, name TEXT, state TEXT,
                                 cmd_json TEXT, started_at TEXT);
INSERT INTO launcher_saga VALUES (1, 'window_cleanup_cascade', 'failed',
                                  '2026-06-02T14:05:23+00:00', '{"closed_label":"main"}');
INSERT INTO launcher_saga VALUES (2, 'pool_respawn_on_promote', 'completed',
                                  '2026-06-02T14:06:00+00:00', '{"promoted_label":"p"}');
INSERT INTO launcher_saga_step VALUES (1, 1, 'issue_cmd_host_drain_pool_if_last', 'pending',
                                       '{}', '2026-06-02T14:05:24+00:00');
INSERT INTO launcher_saga_step VALUES (1, 0, 'issue_cmd_host_reap_panes', 'succeeded',
                                       '{}', '2026-06-02T14:05:23+00:00');
"""


def test_missing_optional_columns_read_as_none(make_log, store_of):
    store = store_of(make_log.from_sql(MINIMAL_SCHEMA))

    assert set(store.schema.missing_saga_columns) == {"ended_at", "failure_reason"}
    assert set(store.schema.missing_step_columns) == {"target", "ended_at", "output_json",
                                                      "failure_reason"}
    assert store.schema.has_step_table
    listed = store.sagas()
    assert ids(listed) == [2, 1]
    assert all(s.ended_at is None and s.failure_reason is None and s.duration is None
               for s in listed)
    detail = store.saga(1)
    assert [step.step_index for step in detail.steps] == [0, 1]
    assert all(step.target is None and step.ended_at is None and step.output_json is None
               and step.failure_reason is None for step in detail.steps)
    assert detail.in_flight_step.step_index == 1
    assert (detail.saga.steps_total, detail.saga.steps_done) == (2, 1)
    # Search skips the columns that are not there and still looks at the others.
    assert ids(store.sagas(SagaQuery(text="promoted"))) == [2]
    assert store.count(SagaQuery(text="CLEANUP")) == 1


def test_only_the_two_required_columns_are_enough(make_log, store_of, log_format):
    table = log_format.saga_table
    store = store_of(make_log.from_sql(
        f"CREATE TABLE {table} (saga_id INTEGER PRIMARY KEY, state TEXT);"
        f"INSERT INTO {table} VALUES (3, 'running'), (8, 'completed');"
    ))
    assert store.format is log_format
    (newest, oldest) = store.sagas()
    assert (newest.saga_id, newest.state, newest.name, newest.started_at) == (8, "completed",
                                                                              None, None)
    assert oldest.state == "running" and oldest.needs_attention
    assert store.saga(3).steps == ()
    assert ids(store.sagas(SagaQuery(text="3"))) == [3]


def test_a_saga_table_without_a_step_table_opens_with_a_warning(make_log, store_of,
                                                                 log_format):
    path = make_log([cleanup_saga(1), respawn_saga(2, "failed")],
                    sql=[f"DROP TABLE {log_format.step_table}"])
    store = store_of(path)

    assert store.format is log_format
    assert not store.schema.has_step_table
    assert any(log_format.step_table in warning for warning in store.warnings)
    assert store.counts().total == 2
    assert [(s.steps_total, s.steps_done) for s in store.sagas()] == [(0, 0), (0, 0)]
    detail = store.saga(2)
    assert detail.steps == () and detail.in_flight_step is None
    assert detail.saga.state == "failed"


def test_a_step_table_without_its_key_columns_is_not_used(make_log, store_of, log_format):
    sagas, steps = log_format.saga_table, log_format.step_table
    store = store_of(make_log.from_sql(
        f"CREATE TABLE {sagas} (saga_id INTEGER PRIMARY KEY, state TEXT);"
        f"CREATE TABLE {steps} (saga_id INTEGER, name TEXT);"
        f"INSERT INTO {sagas} VALUES (1, 'failed');"
        f"INSERT INTO {steps} VALUES (1, 'x');"
    ))
    assert not store.schema.has_step_table
    assert any("steps cannot be shown" in warning for warning in store.warnings)
    assert store.saga(1).steps == ()


# -- text that is not UTF-8 -------------------------------------------------------------------


def test_text_that_is_not_utf8_reads_back_with_its_bad_bytes_visible(make_log, store_of,
                                                                      log_format):
    sagas, steps = log_format.saga_table, log_format.step_table
    # (the server has no target column)
    target = ", target = CAST(X'ff' AS TEXT)" if log_format is LAUNCHER else ""
    path = make_log([cleanup_saga(1, "failed"), cleanup_saga(2)], ddl=LOOSE_DDL, sql=[
        f"UPDATE {sagas} SET failure_reason = CAST(X'ff41' AS TEXT), "
        "name = CAST(X'6e616dc3' AS TEXT), input_json = CAST(X'7bfe7d' AS TEXT) "
        "WHERE saga_id = 1",
        f"UPDATE {sagas} SET state = CAST(X'80706175736564' AS TEXT) WHERE saga_id = 2",
        f"UPDATE {steps} SET cmd_json = CAST(X'c328' AS TEXT){target} "
        "WHERE saga_id = 1 AND step_index = 0",
    ])
    store = store_of(path)

    saga = store.saga(1).saga
    assert saga.failure_reason == "\\xffA"
    assert saga.name == "nam\\xc3"
    assert saga.input_json == "{\\xfe}"
    assert not parse_json(saga.input_json).ok
    step = store.saga(1).steps[0]
    assert (step.cmd_json, step.target) == ("\\xc3(", "\\xff" if target else None)
    assert store.counts().by_state["\\x80paused"] == 1
    assert ids(store.sagas()) == [2, 1]
    assert ids(store.sagas(SagaQuery(text="NAM"))) == [1]   # the search still runs over them


# -- rows only in the -wal -------------------------------------------------------------------


def test_rows_only_in_an_uncheckpointed_wal_are_read_in_full(make_log, store_of, log_format):
    rows = [cleanup_saga(i, "failed" if i % 3 else "completed", drained=None if i % 3 else True)
            for i in range(1, 31)]
    path = make_log.wal_only(rows, with_steps=True)
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > path.stat().st_size  # the rows are in the -wal, not the .db

    store = store_of(path)

    assert store.format is log_format
    assert store.counts().total == 30
    assert store.counts().by_state["failed"] == 20
    assert walk_older(store, SagaQuery(), 7) == list(range(30, 0, -1))
    assert store.saga(29).in_flight_step.step_index == 1


# -- change detection and short transactions --------------------------------------------------


def test_a_commit_by_another_connection_is_seen_at_the_next_call(make_log, store_of,
                                                                  log_format):
    path = make_log([cleanup_saga(1)])
    store = store_of(path)
    assert store.changed() is True          # the first look
    assert store.changed() is False
    assert ids(store.sagas()) == [1]

    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode=WAL")
    with writer:
        insert_sagas(writer, log_format, [cleanup_saga(2, "running", drained=None)])
    writer.close()

    assert store.changed() is True
    assert store.changed() is False
    assert ids(store.sagas()) == [2, 1]
    assert store.counts().by_state["running"] == 1


def test_no_read_transaction_is_left_open_between_calls(make_log, store_of, log_format):
    store = store_of(make_log.realistic(60))
    calls = [store.counts, store.sagas, store.oldest, store.page_anchors, store.data_version,
             store.changed, lambda: store.saga(3), lambda: store.count(SagaQuery(text="main")),
             lambda: store.sagas(SagaQuery(frozenset({"failed", "running"})), older_than=40)]
    for call in calls:
        call()
        assert not store._conn.in_transaction
    with store.snapshot():
        store.counts()
        assert store._conn.in_transaction
        store.sagas()
    assert not store._conn.in_transaction


def test_interrupt_when_idle_does_not_break_later_calls(make_log, store_of, log_format):
    store = store_of(make_log([cleanup_saga(1)]))
    store.interrupt()
    assert store.counts().total == 1
    assert store.saga(1) is not None


# -- long scans: their own connection, and cancellable ------------------------------------


def test_a_superseded_search_is_cancelled(make_log, store_of, log_format):
    # Enough rows for the scan to run past a progress-handler check (every 200 000 steps).
    store = store_of(make_log(mixed_sagas(30_000)))
    with pytest.raises(StoreError) as raised:
        store.sagas(SagaQuery(text="no such text"), cancelled=lambda: True)
    assert raised.value.kind is ErrorKind.CANCELLED
    # The store goes on answering afterwards.
    assert len(store.sagas(SagaQuery(text="no such text"))) == 0
    assert len(store.sagas(limit=5)) == 5


def test_short_reads_do_not_wait_behind_a_long_scan(make_log, store_of, log_format):
    store = store_of(make_log(mixed_sagas(50)))
    with store._scan_lock:  # a search or the page anchors is running
        assert len(store.sagas(limit=10)) == 10
        assert store.saga(store.sagas(limit=1)[0].saga_id) is not None
        assert store.counts().total == 50


# Odd states, as a file may hold them: unknown text, between the known ones and around them,
# NULL, numbers, a BLOB, text that is not valid UTF-8 (bytes cast to TEXT).
_ODD_LOGS = itertools.count()
ODD_STATES = ["completed", "failed", "paused", "Completed", "compensating!", "zzz", "", None,
              7, 2.5, b"\x00blob", "caf\xe9", "failed_compensation", "running"]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([*range(len(ODD_STATES)), "bad"]), max_size=40),
       st.integers(1, 5))
def test_counts_read_apart_are_the_one_statement_counts(make_log, monkeypatch, states, span):
    """The counts in short statements (a read transaction each, a state in rowid ranges of
    _COUNT_SPAN: here a few ids) agree with the counts read in one statement."""
    import saga_inspector.store.repository as repository

    monkeypatch.setattr(repository, "_COUNT_SPAN", span)
    ddl = LOOSE_DDL.replace("state          TEXT NOT NULL ,", "state TEXT,", 1)
    assert ddl != LOOSE_DDL
    path = make_log([cleanup_saga(n + 1) for n in range(len(states))], ddl=ddl,
                    name=f"odd-{next(_ODD_LOGS)}.db")
    writer = sqlite3.connect(path)
    with writer:
        for n, pick in enumerate(states, start=1):
            if pick == "bad":
                writer.execute("UPDATE launcher_saga SET state = CAST(x'6361fe' AS TEXT) "
                               "WHERE saga_id = ?", [n])
            else:
                writer.execute("UPDATE launcher_saga SET state = ? WHERE saga_id = ?",
                               [ODD_STATES[pick], n])
    writer.close()
    store = SagaStore.open(path)
    try:
        apart = store._read_counts_apart(apart=False)
        assert apart == store._read_counts()
        assert apart.total == len(states)
    finally:
        store.close()


def test_counts_read_apart_over_ids_far_apart_read_each_state_once(make_log, store_of):
    """Ids at both ends of SQLite's range: no rowid ranges (there would be 10^14 of them)."""
    path = make_log([cleanup_saga(-(2**63)), cleanup_saga(0, "failed", reason="x"),
                     cleanup_saga(2**63 - 1)])
    store = store_of(path)
    counts = store._read_counts_apart(apart=False)
    assert counts == store._read_counts() and counts.by_state["failed"] == 1


def test_counts_read_again_pause_between_statements_and_see_the_file_as_it_is(
        make_log, store_of, monkeypatch):
    """Read again after a writer's commit, the counts pause (READ_GAP) between their short
    statements, each of which sees the file as it is then; the first counts, and counts
    read inside a snapshot, are read without a pause."""
    import saga_inspector.store.repository as repository

    monkeypatch.setattr(repository, "_COUNT_HOLD", 0.0)  # (a pause before each statement)
    path = make_log([cleanup_saga(1), cleanup_saga(2, "failed", reason="x")])
    store = store_of(path)
    pauses: list[float] = []

    def commit(state: str) -> None:
        with sqlite3.connect(path) as writer:
            writer.execute("UPDATE launcher_saga SET state = ? WHERE saga_id = 1", [state])

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 1:
            commit("failed")  # the writer commits while the reader pauses

    monkeypatch.setattr(repository.time, "sleep", pause)
    assert store.counts().by_state["failed"] == 1 and pauses == []  # the first: at once
    commit("running")
    counts = store.counts()
    assert len(pauses) >= 5 and set(pauses) == {repository.READ_GAP}
    # The total came before the first pause; saga 1 turned failed during it.
    assert counts.total == 2 and counts.by_state["failed"] == 2
    assert counts.by_state["running"] == 0 and counts.by_state["completed"] == 0
    del pauses[:]
    with store.snapshot():  # inside a snapshot: one statement
        commit("completed")
        assert store.counts() == store._read_counts()
    assert pauses == []
