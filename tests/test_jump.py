"""`:` — go to a saga by its id: the prompt, the lookup, and the table finding the row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from saga_inspector.store import PAGE_SIZE, SagaQuery, SagaStore, SortOrder
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.screens.dashboard import DashboardScreen
from saga_inspector.tui.screens.jump import JumpScreen, look_up, parse_id
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.search_bar import SearchBar

from .factory import LOOSE_DDL, OSC_TITLE, SagaLogFactory, hostile, hostile_sagas
from .helpers import (
    NOW,
    dashboard,
    drawn_ids,
    highlighted_id,
    idle,
    make_app,
    oracle,
    pilot_test,
    shuffled_sagas,
    wait_for,
)

COUNT = 437


@pytest.fixture
def log(make_log: SagaLogFactory) -> Path:
    return make_log(shuffled_sagas(COUNT))


def table_of(app: SagaInspectorApp) -> SagaTable:
    return dashboard(app).query_one(SagaTable)


def message(app: SagaInspectorApp) -> str:
    assert isinstance(app.screen, JumpScreen)
    return str(app.screen.query_one("#jump-message").render())


async def jump(pilot: Pilot, text: str) -> None:
    """`:`, the text typed, enter; then wait for the prompt to answer or close."""
    app = pilot.app
    await pilot.press(":")
    await wait_for(pilot, lambda: isinstance(app.screen, JumpScreen), "the prompt")
    await pilot.press(*text, "enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, JumpScreen)
                   or "looking" not in message(app), "an answer")  # type: ignore[arg-type]
    if not isinstance(app.screen, JumpScreen):
        await idle(pilot)


def test_an_id_is_digits_with_an_optional_hash() -> None:
    assert parse_id("1200") == 1200
    assert parse_id("  #42 ") == 42
    assert parse_id("0") == 0
    for bad in ("", "#", "12a", "-3", "1.5", "٣", str(2**63), "9" * 30):
        assert parse_id(bad) is None, bad


def test_look_up_tells_missing_hidden_and_in_view(log: Path) -> None:
    with SagaStore.open(log) as store:
        completed = SagaQuery(frozenset({"completed"}), sort=SortOrder.STARTED)
        assert look_up(store, completed, 10**9).saga is None
        hidden = look_up(store, completed, 13)  # running
        assert hidden.saga is not None and hidden.saga.state == "running"
        assert not hidden.in_view
        shown = look_up(store, completed, 12)
        assert shown.saga is not None and shown.in_view
        assert look_up(store, SagaQuery(text="zzz-no-such"), 12).in_view is False
        assert look_up(store, SagaQuery(), 13).in_view


@pilot_test
async def test_colon_and_an_id_land_on_that_saga_far_down(log: Path) -> None:
    app = make_app(log)
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        table = table_of(app)
        target = oracle(shuffled_sagas(COUNT), SortOrder.ID)[3 * PAGE_SIZE + 17]
        await jump(pilot, str(target))
        assert isinstance(app.screen, DashboardScreen)
        assert highlighted_id(table) == target
        assert table.cursor_row == 3 * PAGE_SIZE + 17
        assert target in drawn_ids(table)
        assert dashboard(app).view is not None and dashboard(app).view.saga_id == target
        assert app.focused is table


@pilot_test
async def test_a_jump_under_a_sort_and_a_filter_lands_on_the_saga(log: Path) -> None:
    app = make_app(log)
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        await pilot.press("2", "s", "s")  # completed, by duration
        await idle(pilot)
        table = table_of(app)
        completed = [row for row in shuffled_sagas(COUNT) if row.state == "completed"]
        order = oracle(completed, SortOrder.DURATION)
        for position in (250, 3, len(order) - 1):
            await jump(pilot, f"#{order[position]}")
            assert highlighted_id(table) == order[position]
            assert table.cursor_row == position
            top = table.scroll_offset.y
            assert drawn_ids(table) == order[top:top + len(drawn_ids(table))]


@pilot_test
async def test_a_missing_id_says_so_and_the_prompt_stays(log: Path) -> None:
    app = make_app(log)
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        table = table_of(app)
        before = highlighted_id(table)
        await jump(pilot, "99999")
        assert isinstance(app.screen, JumpScreen)
        assert "there is no saga 99999 in this file" in message(app)
        await pilot.press("#", "enter")
        assert "whole number" in message(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        assert highlighted_id(table) == before and table.cursor_row == 0


@pilot_test
async def test_a_saga_the_view_hides_is_named_and_enter_shows_all(log: Path) -> None:
    app = make_app(log)
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        await pilot.press("2")  # completed only
        await idle(pilot)
        table = table_of(app)
        await jump(pilot, "13")  # a running saga
        assert isinstance(app.screen, JumpScreen)
        said = message(app)
        assert "saga 13 is running: not in this view (completed)" in said
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        await idle(pilot)
        assert table.saga_query is not None and table.saga_query.states is None
        assert dashboard(app).search == ""
        assert highlighted_id(table) == 13
        assert table.cursor_row == COUNT - 13


@pilot_test
async def test_the_view_named_in_the_prompt_is_sanitised(make_log: SagaLogFactory) -> None:
    app = make_app(make_log(hostile_sagas(), ddl=LOOSE_DDL))
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        await pilot.press("7")  # the chip of the file's hostile state (an unknown state)
        await idle(pilot)
        assert dashboard(app).active.label == hostile("st")
        await pilot.press("slash")
        dashboard(app).query_one(SearchBar).input.value = f"nm{OSC_TITLE}"
        await pilot.press("enter")
        await idle(pilot)
        await pilot.press(":")
        await wait_for(pilot, lambda: isinstance(app.screen, JumpScreen), "the prompt")
        said = message(app)
        assert said == ("in the view: st␛]0;pwned-title␇[bold]␛[2J[/] · search "
                        "“nm␛]0;pwned-title␇”")
        assert not any(char in said for char in "\x1b\x07")


class Spy:
    """The store, recording every call the dashboard makes."""

    def __init__(self, store: SagaStore) -> None:
        self.store, self.calls = store, []

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.store, name)
        if not callable(found):
            return found

        def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return found(*args, **kwargs)
        return record


@pilot_test
async def test_the_row_is_counted_and_one_page_read_never_the_rows_before_it(
    make_log: SagaLogFactory,
) -> None:
    rows = shuffled_sagas(5000)
    spies: list[Spy] = []

    def opener(path: Path, **options: Any) -> Any:
        spies.append(Spy(SagaStore.open(path, **options)))
        return spies[-1]

    app = SagaInspectorApp(make_log(rows), now=lambda: NOW, opener=opener)
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        await pilot.press("s", "g")  # by start time (no page anchors without a scan), top
        await idle(pilot)
        order = oracle(rows, SortOrder.STARTED)
        table = table_of(app)
        size = table._cache.page_size
        page = next(page for page in range(1, len(order) // size)
                    if not table._cache.has(page))  # no row of it read yet
        position = page * size + 42
        spy = spies[-1]
        spy.calls.clear()
        await jump(pilot, str(order[position]))
        assert table.cursor_row == position and highlighted_id(table) == order[position]
        names = [name for name, _ in spy.calls]
        counted = names.count("count_before") + names.count("page_keys")
        assert counted == 1, names  # one count (or, without it, one scan of the keys)
        limits = [kwargs.get("limit", PAGE_SIZE) for name, kwargs in spy.calls
                  if name in ("sagas", "oldest")]
        assert limits and max(limits) <= size  # pages only, never "everything above"
