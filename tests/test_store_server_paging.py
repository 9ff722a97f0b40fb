"""Paging by state on a server log gives what a plain Python filter of the rows gives.

The server's only state index is partial (running, compensating), so the store serves the
other states another way: the index's WHERE repeated for the indexed states, the ids of the
rare unindexed states kept from the counts' scan, a walk of the primary key for `completed`
(see SagaStore._listed_ids). Every way must give exactly the same pages, counts, positions
and anchors, also after another connection commits (new sagas, states that change).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from saga_inspector.demo import SagaRow, StepRow, write_saga_log
from saga_inspector.store import SagaQuery, SagaStore
from saga_inspector.store.formats import SERVER
from saga_inspector.store.models import SortKey

STATES = ("completed", "completed", "completed", "completed", "compensated", "failed",
          "failed_compensation", "running", "compensating", "cancelled")  # + an unknown one
ALL_STATES = sorted(set(STATES) | {"never_written"})
START_MS = 1_767_225_600_000


def server_row(saga_id: int, state: str) -> SagaRow:
    started = START_MS + saga_id * 1000
    step = StepRow(0, "delete_tab", "succeeded", '{"cmd":"delete_tab"}', None, started,
                   started + 5, "[]")
    ended = None if state in ("running", "compensating") else started + 9
    return SagaRow(saga_id, "delete_tab", state, started, ended, '{"tab_id":"t"}', None,
                   [step])


@pytest.fixture
def server_log(tmp_path: Path) -> tuple[Path, dict[int, str]]:
    """A server log of 400 sagas (ids with gaps), states drawn at random, some runs of one
    state; returns the path and each saga's state by id."""
    rng = random.Random(13)
    states: dict[int, str] = {}
    saga_id = 0
    for _ in range(400):
        saga_id += rng.choice((1, 1, 1, 2, 5))
        states[saga_id] = rng.choice(STATES)
    path = tmp_path / "sagas.db"
    write_saga_log(path, [server_row(i, s) for i, s in states.items()], log_format=SERVER)
    return path, states


def expected_ids(states: dict[int, str], wanted: frozenset[str]) -> list[int]:
    return sorted((i for i, s in states.items() if s in wanted), reverse=True)


def walked_ids(store: SagaStore, query: SagaQuery, limit: int) -> list[int]:
    """Every saga of the query, page by page by keyset (after the last key)."""
    found: list[int] = []
    after: SortKey | None = None
    while True:
        page = store.sagas(query, after=after, limit=limit)
        found += [saga.saga_id for saga in page]
        if len(page) < limit:
            return found
        after = query.key_of(page[-1])


def walked_up_ids(store: SagaStore, query: SagaQuery, limit: int) -> list[int]:
    """Every saga of the query from the oldest page up (`before` the first key)."""
    page = store.oldest(query, limit=limit)
    found = [saga.saga_id for saga in page]
    while len(page) == limit:
        page = store.sagas(query, before=query.key_of(page[0]), limit=limit)
        found = [saga.saga_id for saga in page] + found
    return found


def queries() -> Iterator[tuple[str, SagaQuery, frozenset[str]]]:
    for state in ALL_STATES:
        yield state, SagaQuery(frozenset({state})), frozenset({state})
    attention = frozenset({"running", "compensating", "failed", "failed_compensation"})
    yield "attention", SagaQuery(attention), attention
    yield "state: word", SagaQuery(text="state:failed"), frozenset({"failed"})
    yield "negated state: word", SagaQuery(text="-state:completed"), frozenset(
        set(STATES) - {"completed"})


def check_like_python(store: SagaStore, states: dict[int, str]) -> None:
    counts = store.counts().by_state
    for state in set(states.values()):
        assert counts[state] == sum(s == state for s in states.values()), state
    for name, query, wanted in queries():
        expected = expected_ids(states, wanted)
        assert store.count(query) == len(expected), name
        for limit in (1, 7, 100):
            assert walked_ids(store, query, limit) == expected, (name, limit)
        assert walked_up_ids(store, query, 7) == expected, name
        assert [s.saga_id for s in store.oldest(query, limit=5)] == expected[-5:], name
        assert store.page_anchors(query, stride=7) == expected[::7], name
        for key in (expected[len(expected) // 2:len(expected) // 2 + 1]
                    + [0, 10**6, *states][:8]):
            above = sum(found > key for found in expected)
            assert store.count_before(query, SortKey(key, key)) == above, (name, key)
        some = expected[len(expected) // 3] if expected else 50
        at = [s.saga_id for s in store.sagas(query, at=SortKey(some, some), limit=4)]
        assert at == [i for i in expected if i <= some][:4], name


def test_paging_by_state_matches_a_python_filter(server_log: tuple[Path, dict[int, str]]) -> None:
    path, states = server_log
    with SagaStore.open(path) as store:
        assert store.format is SERVER
        check_like_python(store, states)


def test_paging_by_state_follows_another_connection_writing(
        server_log: tuple[Path, dict[int, str]]) -> None:
    """The kept ids are those of the file now: new sagas, and sagas whose state changed
    (as recovery changes them, and against its rules too), are found where they belong."""
    path, states = server_log
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        with SagaStore.open(path) as store:
            check_like_python(store, states)  # (the ids are kept now)
            rng = random.Random(5)
            newest = max(states)
            for round_no in range(3):
                for _ in range(15):  # each statement its own commit, as the server writes
                    newest += rng.choice((1, 3))
                    state = rng.choice(STATES)
                    row = server_row(newest, state)
                    writer.execute(
                        "INSERT INTO saga (saga_id, name, state, started_at, terminal_at, "
                        "input_json) VALUES (?, ?, ?, ?, ?, ?)",
                        (row.saga_id, row.name, row.state, row.started_at, row.ended_at,
                         row.input_json))
                    states[newest] = state
                for saga_id in rng.sample(sorted(states), 25):
                    state = rng.choice(STATES)
                    writer.execute("UPDATE saga SET state = ? WHERE saga_id = ?",
                                   (state, saga_id))
                    states[saga_id] = state
                gone = rng.choice(sorted(states))
                writer.execute("DELETE FROM saga WHERE saga_id = ?", (gone,))
                del states[gone]
                check_like_python(store, states)
                assert round_no >= 0
    finally:
        writer.close()


def test_rows_added_between_pages_are_found(server_log: tuple[Path, dict[int, str]]) -> None:
    """A page read after a commit, from a key of a page read before it."""
    path, states = server_log
    query = SagaQuery(frozenset({"failed"}))
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        with SagaStore.open(path) as store:
            first = store.sagas(query, limit=3)
            assert len(first) == 3
            below = first[-1].saga_id
            # A saga below the page turns failed: the next page has it in its place.
            changed = max(i for i, s in states.items() if i < below and s == "completed")
            writer.execute("UPDATE saga SET state = 'failed' WHERE saga_id = ?", (changed,))
            states[changed] = "failed"
            page = store.sagas(query, after=query.key_of(first[-1]), limit=1000)
            assert [s.saga_id for s in page] == [
                i for i in expected_ids(states, frozenset({"failed"})) if i < below]
    finally:
        writer.close()


def test_a_state_with_non_text_values_keeps_sqlites_answer(tmp_path: Path) -> None:
    """A state stored as a BLOB (or as bytes that are not UTF-8) is not found by `state = ?`
    with its shown name; its pages say so as a plain query does, not from the kept ids."""
    path = tmp_path / "sagas.db"
    rows = [server_row(i, "failed") for i in range(1, 6)]
    rows[1].state = b"failed"
    rows[2].state = b"odd\xff"
    write_saga_log(path, rows, log_format=SERVER)
    with SagaStore.open(path) as store:
        counts = store.counts().by_state
        assert counts["failed"] == 5 - 1  # the BLOB is counted under its text, as before
        failed = SagaQuery(frozenset({"failed"}))
        assert [s.saga_id for s in store.sagas(failed)] == [5, 4, 1]
        assert store.count_before(failed, SortKey(0, 0)) == 3
        odd = next(name for name in counts if name.startswith("odd"))
        assert store.sagas(SagaQuery(frozenset({odd}))) == []


def test_indexed_states_walk_the_partial_index(server_log: tuple[Path, dict[int, str]]) -> None:
    """A page of running (or compensating) sagas is read from saga_state_idx: SQLite takes
    a partial index only when the query repeats its WHERE term."""
    path, _states = server_log
    with SagaStore.open(path) as store:
        where, params = store._where(SagaQuery(frozenset({"running"})))
    plain = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        plan = plain.execute(f"EXPLAIN QUERY PLAN SELECT saga_id FROM saga s WHERE {where} "
                             "ORDER BY saga_id DESC LIMIT 10", params).fetchall()
    finally:
        plain.close()
    assert any("saga_state_idx" in str(row[-1]) for row in plan), plan


def test_a_state_whose_ids_are_not_integers_keeps_sqlites_own_answer(tmp_path: Path) -> None:
    """A hostile file without an INTEGER PRIMARY KEY: ids stored as text would unsort the
    kept ids (and bisect would give wrong pages without a word)."""
    import sqlite3

    path = tmp_path / "sagas.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE saga (saga_id, name TEXT, state TEXT, started_at INTEGER, "
        "terminal_at INTEGER, failure_reason TEXT, input_json TEXT);"
        "CREATE TABLE saga_step (saga_id INTEGER, step_index INTEGER, name TEXT, state TEXT, "
        "cmd_json TEXT, output_json TEXT, started_at INTEGER, ended_at INTEGER);")
    rows = [(9, "failed"), ("x", "failed"), (3, "failed"), ("2", "failed"), (5, "completed")]
    conn.executemany("INSERT INTO saga VALUES (?, 'delete_tab', ?, 0, 1, 'r', '{}')", rows)
    conn.commit()
    conn.close()
    with SagaStore.open(path) as store:
        listed = store.sagas(SagaQuery(frozenset({"failed"})))
        assert store.counts().by_state["failed"] == 4
        # Every one of them, in SQLite's order (text sorts above integers): none lost.
        assert sorted(s.saga_id for s in listed) == [0, 2, 3, 9]
        assert [s.saga_id for s in listed][2:] == [9, 3]
