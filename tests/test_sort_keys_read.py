"""Reading a sort's keys into the store's index (sort_index.py) from the dashboard: the
table says how far it got while keys stay answered; a sort by start time reads the
duration keys ahead, so the next `s` reads nothing; a superseded read leaves no note."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from saga_inspector.store import SagaStore, SortOrder
from saga_inspector.tui.widgets.saga_table import SagaTable

from .factory import SagaLogFactory
from .helpers import (
    dashboard,
    drawn_ids,
    idle,
    lines,
    make_app,
    oracle,
    pilot_test,
    shuffled_sagas,
    wait_until,
)


@pytest.fixture
def shuffled_log(make_log: SagaLogFactory) -> tuple[Path, list]:
    rows = shuffled_sagas(437)
    return make_log(rows), rows


class HeldRead:
    """`SagaStore._read_runs` that says it has read half the sagas, then waits to be let
    go."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.go = threading.Event()
        self.sorts: list[SortOrder] = []
        real = SagaStore._read_runs

        def held(store, sort, states, ranges, total, progress, cancelled):  # type: ignore[no-untyped-def]
            self.sorts.append(sort)
            if progress is not None:
                progress(total // 2, total)
            # (bounded: a failed test must not leave its app waiting here for ever)
            self.go.wait(20)
            return real(store, sort, states, ranges, total, progress, cancelled)
        monkeypatch.setattr(SagaStore, "_read_runs", held)


def assert_top_of(table: SagaTable, expected: list[int]) -> None:
    shown = drawn_ids(table)
    assert len(shown) >= 3 and shown == expected[:len(shown)]


def words(table: SagaTable) -> str:
    """What the table says: its bottom border's note and the lines it draws."""
    return " ".join([str(table.border_subtitle), *lines(table)])


@pilot_test
async def test_while_the_keys_are_read_the_table_says_how_far_and_keys_are_answered(
        shuffled_log, monkeypatch) -> None:
    path, rows = shuffled_log
    read = HeldRead(monkeypatch)
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        await pilot.press("s")
        said = "sorting by start time: 49 % of 437 sagas read"  # (218 of 437 read)
        await wait_until(pilot, lambda: said in words(table), "the progress")
        await pilot.press("question_mark")  # answered meanwhile: the help opens and closes
        await wait_until(pilot, lambda: app.screen is not dashboard(app), "the help")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is dashboard(app), "the help closed")
        read.go.set()
        await idle(pilot)
        assert_top_of(table, oracle(rows, SortOrder.STARTED))
        assert "sorting" not in words(table)


@pilot_test
async def test_sorted_by_start_time_the_duration_keys_are_read_ahead(shuffled_log,
                                                                     monkeypatch) -> None:
    path, rows = shuffled_log
    read = HeldRead(monkeypatch)
    read.go.set()
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        await pilot.press("s")
        await wait_until(pilot, lambda: len(read.sorts) == 2, "the keys read ahead")
        await idle(pilot)
        assert read.sorts == [SortOrder.STARTED, SortOrder.DURATION]
        await pilot.press("s")  # to duration: its keys were read, nothing is read again
        await idle(pilot)
        assert read.sorts == [SortOrder.STARTED, SortOrder.DURATION]
        assert_top_of(table, oracle(rows, SortOrder.DURATION))


@pilot_test
async def test_a_superseded_read_of_keys_leaves_no_note(shuffled_log, monkeypatch) -> None:
    path, rows = shuffled_log
    read = HeldRead(monkeypatch)
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        await pilot.press("s")
        await wait_until(pilot, lambda: "sorting by start time" in words(table), "the note")
        read.go.set()
        await pilot.press("s", "s")  # on to duration and back to id before it ends
        await idle(pilot)
        assert table.saga_query is not None and table.saga_query.sort is SortOrder.ID
        assert "sorting" not in words(table)
        assert_top_of(table, oracle(rows, SortOrder.ID))
