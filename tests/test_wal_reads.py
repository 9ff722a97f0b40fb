"""A writer committing fast is never held back by a reader (issue 15), checked without a
clock: tests/pinning.py's writer commits at every statement a reader starts and tells
whether a checkpoint could then copy that commit into the file. A commit it cannot copy is
pinned by a read transaction begun before it: the reader grouped reads in one snapshot (or
left a cursor open), and a writer flat out would meanwhile grow its -wal by everything it
writes. Each test also pins commits on purpose, to show the check sees what it looks for.

Readers: `list --follow`'s tracker, the dashboard's live reload, and the dashboard between
polls (nothing held at all). In both formats.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from saga_inspector import follow
from saga_inspector.follow import SagaTracker
from saga_inspector.store import SagaQuery, SagaStore
from saga_inspector.store.formats import LogFormat
from saga_inspector.store.repository import SagaStore as Repository
from saga_inspector.tui.widgets.saga_table import SagaTable

from .factory import SagaLogFactory, mixed_sagas
from .helpers import SIZE, idle, make_app, press, wait_for
from .pinning import PinningWriter, install

# Watched sagas (not in a final state) whose states the tracker reads again: two reads of
# 500 ids. And new sagas found above the newest id: three pages of 100.
UNSETTLED_LOG = dict(count=1400, states=("completed", "failed", "running"), first_id=1,
                     id_step=1)
NEW_SAGAS = 250


@pytest.fixture(autouse=True)
def pages_of_new_sagas(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tracker's pages of new sagas 100 a read: NEW_SAGAS new sagas are several pages."""
    monkeypatch.setattr(follow, "NEW_SAGAS_A_READ", 100)


@pytest.fixture
def writer_on(monkeypatch: pytest.MonkeyPatch,
              log_format: LogFormat) -> Iterator[type[PinningWriter]]:
    """A PinningWriter on a path, hooked into every store opened afterwards."""
    made: list[PinningWriter] = []

    def make(path: Path) -> PinningWriter:
        writer = PinningWriter(path, log_format)
        install(monkeypatch, writer)
        made.append(writer)
        return writer

    yield make  # type: ignore[misc]
    for writer in made:
        writer.close()


def test_the_tracker_reads_every_chunk_and_page_in_a_transaction_of_its_own(
    make_log: SagaLogFactory, writer_on,
) -> None:
    path = make_log(mixed_sagas(**UNSETTLED_LOG))
    writer = writer_on(path)
    with SagaStore.open(path) as store:
        tracker = SagaTracker(store)
        tracker.start(limit=1)
        watched = len(store.saga_states(excluding=store.format.final_states))
        assert watched > 500  # two reads of states or more
        for _ in range(NEW_SAGAS):
            writer.commit()
        with writer.counting():
            found = tracker.updates()
        assert writer.pinned == 0, writer.pinned_by
        # every new saga found, the writer's own commits made meanwhile included
        assert len(found) >= NEW_SAGAS
        assert [saga.saga_id for saga in found] == sorted(saga.saga_id for saga in found)
        assert found[-1].saga_id == store.newest_id()
        # the check sees a snapshot held over the same reads: one pinned commit a read
        for _ in range(NEW_SAGAS):
            writer.commit()
        with writer.counting(), store.snapshot():
            tracker.updates()
        assert writer.pinned >= 5


def test_the_tracker_pauses_between_its_reads_and_never_before_the_first(
    make_log: SagaLogFactory, writer_on, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Back-to-back reads leave a writer flat out no moment to start its -wal over: the
    tracker pauses (follow.READ_GAP) between the reads of one poll, never before the first,
    and a poll that reads once pauses not at all."""
    path = make_log(mixed_sagas(**UNSETTLED_LOG))
    writer = writer_on(path)
    events: list[str] = []
    with SagaStore.open(path) as store:
        tracker = SagaTracker(store, pause=lambda: events.append("pause"))
        for name in ("saga_states", "sagas_by_id", "sagas"):
            read = getattr(store, name)
            monkeypatch.setattr(store, name, lambda *a, _read=read, _name=name, **k: (
                events.append(_name), _read(*a, **k))[1])
        tracker.start(limit=1)
        events.clear()
        for _ in range(NEW_SAGAS):
            writer.commit()
        tracker.updates()
        reads = [event for event in events if event != "pause"]
        assert len(reads) >= 5  # states in chunks, then pages of new sagas
        assert events[0] != "pause" and events[-1] != "pause"
        assert events == [*[x for read in reads[:-1] for x in (read, "pause")], reads[-1]]
        # a tracker with nothing to watch and nothing new reads one page: no pause
        quiet = SagaTracker(store, pause=lambda: events.append("pause"))
        quiet._newest = store.newest_id() or 0
        events.clear()
        assert quiet.updates() == []
        assert events == ["sagas"]


def test_a_live_reload_pins_nothing_but_the_detail_and_scans_no_ids(
    make_log: SagaLogFactory, writer_on, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default view, a few rows down, and pages of new sagas above it: the reload counts
    them and finds the highlighted saga again by its id (ids with gaps: the page anchors
    would be a scan), each read its own short transaction but those read together."""
    path = make_log(mixed_sagas(300))
    writer = writer_on(path)
    scans: list[SagaQuery] = []
    anchors = Repository.page_anchors
    monkeypatch.setattr(Repository, "page_anchors", lambda self, query, **kw: (
        scans.append(query), anchors(self, query, **kw))[1])
    app = make_app(path, interval=3600)  # (reloads only when told: r)

    async def scenario(pilot: Pilot) -> None:
        await idle(pilot)
        await press(pilot, "j", "j", "j")
        table = app.dashboard.query_one(SagaTable)
        chosen, line = table.highlighted_saga, table.cursor_row - table.scroll_offset.y
        for _ in range(500):  # pages of them: the saga's page has no neighbour read
            writer.commit()
        with writer.counting():
            await pilot.press("r")
            await wait_for(pilot, lambda: table.total is not None and table.total > 800
                           and app.settled, "the reload")
        assert table.highlighted_saga == chosen
        assert table.cursor_row - table.scroll_offset.y == line
        assert table.new_above >= 500
        assert not scans  # the saga was found again without a scan of every id
        # What is read together on purpose, one pinned commit each: the counts with the
        # data_version they belong to (a server log's in two reads: its total, and the ids
        # of the states its partial index does not serve); the sagas added, counted at one
        # moment (two counts); a saga's steps with its row (the highlighted one's, and its
        # neighbours' read ahead). Nothing else: no page read in another read's snapshot.
        assert 0 < writer.pinned <= 6, writer.pinned_by
        together = ("SELECT 1, NULL, (SELECT count(*)", "SELECT count(*) FROM",
                    'SELECT s."saga_id", s."state", typeof(', "SELECT t.")
        assert all(sql.startswith(together) for sql in writer.pinned_by), writer.pinned_by
        assert not writer.held()

    run(app, scenario)


def test_nothing_is_held_between_the_dashboards_looks_at_the_file(
    make_log: SagaLogFactory, writer_on,
) -> None:
    """Live (looking every 50 ms), with changes coming: once each look is answered, no read
    transaction is open (a cursor left unfinished would keep one)."""
    path = make_log(mixed_sagas(300, first_id=1, id_step=1))
    writer = writer_on(path)
    app = make_app(path, interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await idle(pilot)
        table = app.dashboard.query_one(SagaTable)
        for round_ in range(5):
            writer.commit()
            total = writer.total()
            await wait_for(pilot, lambda t=total: app.settled and table.total == t,
                           "the change shown")
            assert not writer.held(), f"a read transaction open after change {round_}"
        # the check sees a cursor left open on the dashboard's store
        store = app.dashboard.source.single
        cursor = store._conn.execute(f"SELECT saga_id FROM {store.format.saga_table}")
        cursor.fetchone()
        assert writer.held()
        cursor.close()

    run(app, scenario)


def run(app, scenario) -> None:
    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await scenario(pilot)

    asyncio.run(main())


def test_the_tracker_reads_new_sagas_500_a_transaction(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Against a writer flat out, fewer transactions: pages of 500 new sagas (see
    follow.NEW_SAGAS_A_READ), each read whole, every new saga once, oldest first."""
    monkeypatch.setattr(follow, "NEW_SAGAS_A_READ", 500)
    path = make_log(mixed_sagas(1200))
    with SagaStore.open(path) as store:
        tracker = SagaTracker(store, pause=lambda: None)
        tracker._newest = follow._BELOW_EVERY_ID  # (every saga is new)
        asked: list[int] = []
        read = store.sagas
        monkeypatch.setattr(store, "sagas", lambda *a, **k: (
            asked.append(k["limit"]), read(*a, **k))[1])
        found = tracker.updates()
    assert asked == [500, 500, 500]
    assert [saga.saga_id for saga in found] == sorted(saga.saga_id for saga in found)
    assert len(found) == 1200
