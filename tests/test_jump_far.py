"""`:` to a saga far from the rows read (issue 15): the table reads the saga's row and the
page around it, nothing of the query again (no counts by state, no first or last page, no
total), and lands on it on the middle line with the rows SQL orders around it, under each
sort, in one log and in a merge of logs."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from saga_inspector.demo import SagaRow
from saga_inspector.store import SagaStore, SortOrder
from saga_inspector.store.formats import LAUNCHER
from saga_inspector.store.timestamps import parse_timestamp
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.widgets.saga_table import SagaTable

from .factory import SagaLogFactory, insert_sagas, ts
from .helpers import (
    NOW,
    dashboard,
    drawn_ids,
    highlighted_id,
    idle,
    oracle,
    pilot_test,
    shuffled_sagas,
)
from .test_jump import Spy, jump

SIZE = (160, 48)
COUNT = 3000
# What a jump must not read again: the counts (the total), the first and the last page, the
# file's newest id (the id column's width), the scan for the anchors.
QUERY_READS = ("counts", "count", "oldest", "newest_id", "page_keys", "key_columns")


def spying(spies: list[Spy]) -> Callable[..., Any]:
    def opener(path: Path, **options: Any) -> Any:
        spies.append(Spy(SagaStore.open(path, **options)))
        return spies[-1]
    return opener


def table_of(app: SagaInspectorApp) -> SagaTable:
    return dashboard(app).query_one(SagaTable)


async def sort_by(pilot: Pilot, app: SagaInspectorApp, sort: SortOrder) -> None:
    while dashboard(app).sort is not sort:
        await pilot.press("s")
        await idle(pilot)


def far_position(table: SagaTable, rows: int, offset: int = 37) -> int:
    """A row on a page the table has not read, away from both ends."""
    size = table._cache.page_size
    page = next(page for page in range(rows // size // 2, rows // size - 1)
                if not any(table._cache.has(p) for p in (page - 1, page, page + 1)))
    return page * size + offset


def calls(spies: Sequence[Spy]) -> list[tuple[str, dict[str, Any]]]:
    return [call for spy in spies for call in spy.calls]


async def jump_far(pilot: Pilot, app: SagaInspectorApp, spies: Sequence[Spy],
                   order: Sequence[object], ref: Callable[[int], str], *,
                   arrived: bool = False) -> int:
    """Jump to a saga the table has not read; check where it lands, what is drawn around it
    and what was read (`arrived`: sagas were added above the rows read). The position
    jumped to."""
    table = table_of(app)
    position = far_position(table, len(order))
    first_page_held = table._cache.has(0)
    for spy in spies:
        spy.calls.clear()
    await jump(pilot, ref(position))
    assert highlighted_id(table) == order[position] and table.cursor_row == position
    top = table.scroll_offset.y
    assert position - top == table._view_rows() // 2  # on the middle line
    drawn = drawn_ids(table)
    # Every line drawn, none waiting (the last may be under the table's border).
    assert len(drawn) >= table._view_rows() - 1
    assert drawn == order[top:top + len(drawn)]  # its neighbours, as SQL orders them
    assert dashboard(app).view is not None and dashboard(app).view.saga_id == order[position]
    names = [name for name, _ in calls(spies)]
    assert not set(names) & set(QUERY_READS), names
    # The saga's row: one count of each log, and one of the sagas above the first row read
    # (those that arrived since are not among the rows read; one log reads one row above the
    # first instead, and counts only when there is one).
    assert names.count("count_before") <= 2 * len(spies), names
    if len(spies) == 1 and not arrived:
        assert names.count("count_before") <= 1, names
    unbounded = [kwargs for name, kwargs in calls(spies) if name == "sagas"
                 and not any(kwargs.get(bound) for bound in ("after", "before", "at"))]
    assert not unbounded  # the first page is not read again
    assert table._cache.has(0) == first_page_held  # nor dropped: the query stays as read
    return position


CASES = [(SortOrder.ID, ""), (SortOrder.ID, "2"), (SortOrder.STARTED, ""),
         (SortOrder.DURATION, ""), (SortOrder.DURATION, "2")]


@pytest.mark.parametrize(("sort", "state_key"), CASES)
@pilot_test
async def test_a_far_jump_in_one_log_reads_only_its_page_and_lands_among_its_neighbours(
    make_log: SagaLogFactory, sort: SortOrder, state_key: str,
) -> None:
    rows = shuffled_sagas(COUNT)
    spies: list[Spy] = []
    app = SagaInspectorApp(make_log(rows), now=lambda: NOW, opener=spying(spies))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        if state_key:  # completed only: the ids have gaps, their row is counted
            await pilot.press(state_key)
            await idle(pilot)
            rows = [row for row in rows if row.state == "completed"]
        await sort_by(pilot, app, sort)
        order = oracle(rows, sort)
        await jump_far(pilot, app, spies, order, lambda position: str(order[position]))


def merged_order(logs: Sequence[tuple[int, Sequence[SagaRow]]], sort: SortOrder) -> list[int]:
    """The ids of several logs (ids unique across them) in the order the merge promises:
    by value, then the log's rank, then the id, all descending; sagas without a value
    last."""
    def value(row: SagaRow) -> Any:
        if sort is SortOrder.ID:
            return int(row.saga_id)
        start = parse_timestamp(row.started_at).value
        if sort is SortOrder.STARTED or start is None:
            return start
        end = parse_timestamp(row.ended_at).value if row.ended_at else None
        return None if end is None else end - start

    keyed = [(value(row), rank, int(row.saga_id)) for rank, rows in logs for row in rows]
    with_value = sorted((k for k in keyed if k[0] is not None), reverse=True)
    without = sorted(((rank, saga_id) for v, rank, saga_id in keyed if v is None),
                     reverse=True)
    return [saga_id for _v, _r, saga_id in with_value] + [saga_id for _r, saga_id in without]


@pytest.mark.parametrize("sort", [SortOrder.STARTED, SortOrder.DURATION, SortOrder.ID])
@pilot_test
async def test_a_far_jump_in_a_merge_reads_only_its_page_and_lands_among_its_neighbours(
    tmp_path: Path, sort: SortOrder,
) -> None:
    contents = {"a": shuffled_sagas(1800), "b": shuffled_sagas(1800, first_id=10_001, seed=8)}
    paths = []
    for folder, rows in contents.items():
        (tmp_path / folder).mkdir()
        paths.append(SagaLogFactory(tmp_path / folder)(rows, name="launcher-sagas.db"))
    spies: list[Spy] = []
    app = SagaInspectorApp(paths, now=lambda: NOW, opener=spying(spies))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert app.source is not None and app.source.source_count == 2
        ranks = {member.tag.path: member.tag.rank for member in app.source.members}
        order = merged_order([(ranks[path], rows) for path, rows
                              in zip(paths, contents.values(), strict=True)], sort)
        labels = {int(row.saga_id): member.tag.label for member in app.source.members
                  for row in contents["a" if member.tag.path == paths[0] else "b"]}
        await sort_by(pilot, app, sort)
        await jump_far(pilot, app, spies, order,
                       lambda position: f"{labels[order[position]]}:{order[position]}")


@pilot_test
async def test_sagas_that_arrived_since_the_rows_were_read_do_not_shift_the_landing(
    make_log: SagaLogFactory,
) -> None:
    """A writer added sagas above the first row before the dashboard looked again: the row
    jumped to is counted among the rows as read (the next reload moves them all)."""
    rows = shuffled_sagas(COUNT)
    path = make_log(rows)
    spies: list[Spy] = []
    app = SagaInspectorApp(path, now=lambda: NOW, opener=spying(spies), interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await sort_by(pilot, app, SortOrder.STARTED)
        order = oracle(rows, SortOrder.STARTED)
        newer = [SagaRow(COUNT + n, row.name, "running", ts(9000 + n), None, row.input_json)
                 for n, row in enumerate(rows[:7], start=1)]
        with sqlite3.connect(path) as conn:
            insert_sagas(conn, LAUNCHER, newer)
        position = await jump_far(pilot, app, spies, order,
                                  lambda position: str(order[position]), arrived=True)
        assert table_of(app).total == COUNT  # (not reloaded: the file was not looked at)
        assert position > 0


@pytest.mark.parametrize(("sort", "state_key"), [(SortOrder.ID, ""), (SortOrder.STARTED, ""),
                                                 (SortOrder.DURATION, "2")])
def test_without_the_prompts_read_ahead_the_table_reads_only_the_page_itself(
    make_log: SagaLogFactory, sort: SortOrder, state_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The prompt reads nothing for the table (as when a reload came while it was open):
    go_to reads the saga's row and page in its own worker, the same few reads."""
    monkeypatch.setattr(SagaTable, "lander", lambda _table: lambda _saga, _cancelled: None)
    test_a_far_jump_in_one_log_reads_only_its_page_and_lands_among_its_neighbours(
        make_log, sort, state_key)


@pilot_test
async def test_a_landing_read_before_a_reload_is_not_taken(make_log: SagaLogFactory) -> None:
    rows = shuffled_sagas(COUNT)
    spies: list[Spy] = []
    app = SagaInspectorApp(make_log(rows), now=lambda: NOW, opener=spying(spies))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await sort_by(pilot, app, SortOrder.STARTED)
        order = oracle(rows, SortOrder.STARTED)
        table = table_of(app)
        position = far_position(table, len(order))
        landed: list[Any] = []
        lander = table.lander()

        def stale_read(saga: Any, cancelled: Callable[[], bool]) -> Any:
            landed.append(lander(saga, cancelled))  # read for the query as read before
            return landed[-1]
        monkeypatch_lander = pytest.MonkeyPatch()
        monkeypatch_lander.setattr(table, "lander", lambda: stale_read)
        newer = [SagaRow(COUNT + n, row.name, "running", ts(9000 + n), None, row.input_json)
                 for n, row in enumerate(rows[:5], start=1)]
        with sqlite3.connect(table_path(app)) as conn:
            insert_sagas(conn, LAUNCHER, newer)
        table.reload()  # read again, the new sagas above: the landing is the older read's
        await idle(pilot)
        target = order[position]
        await jump(pilot, str(target))
        monkeypatch_lander.undo()
        assert landed and landed[0] is not None and landed[0].position == position
        now = oracle([*rows, *newer], SortOrder.STARTED)
        assert highlighted_id(table) == target and table.cursor_row == position + len(newer)
        top = table.scroll_offset.y
        assert drawn_ids(table) == now[top:top + len(drawn_ids(table))]


def table_path(app: SagaInspectorApp) -> Path:
    assert app.source is not None and app.source.path is not None
    return app.source.path
