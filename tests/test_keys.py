"""Keys from k9s, lazygit and the shell: ctrl+d / ctrl+u by half a screen in the saga table,
the steps and the scrolling full-screen views; ctrl+c quits like q (ctrl+q too).

Each half page is checked against the rows or lines the widget shows at that moment, not
against a number written here: a resized pane still has to move by half of itself.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widget import Widget

from saga_inspector.demo import StepRow
from saga_inspector.store import SagaQuery, SagaStore
from saga_inspector.tui.screens.explain import ExplainScreen
from saga_inspector.tui.screens.help import HelpScreen
from saga_inspector.tui.widgets.search_bar import SearchBar
from saga_inspector.tui.widgets.step_list import StepList

from .factory import SagaLogFactory, cleanup_saga, ts
from .helpers import (
    SIZE,
    Host,
    dashboard,
    highlighted_id,
    idle,
    make_app,
    mixed_log,
    numbered,
    pilot_test,
    row_ids,
    run_host,
    settle,
    wait_for,
)

# -- the saga table -------------------------------------------------------------------------


def test_ctrl_d_and_ctrl_u_move_the_table_by_half_a_screen(make_log: SagaLogFactory) -> None:
    path = make_log(numbered(450))  # several pages of 100: the half pages cross them
    host = Host(SagaStore.open(path), SagaQuery())

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 450)
        half = len(row_ids(table)) // 2
        assert half >= 2  # a real half page, not a line
        for presses in range(1, 30):  # past the first pages
            await pilot.press("ctrl+d")
            await settle(pilot)
            assert table.cursor_row == presses * half
            assert table.scroll_offset.y == presses * half  # the cursor keeps its line
            assert highlighted_id(table) == 450 - presses * half  # its page was read
            assert row_ids(table)[0] == 450 - presses * half
        for presses in range(28, -1, -1):
            await pilot.press("ctrl+u")
            await settle(pilot)
            assert table.cursor_row == presses * half
        await pilot.press("ctrl+u")  # at the top: stays
        await settle(pilot)
        assert (table.cursor_row, table.scroll_offset.y) == (0, 0)
        await pilot.press("G", "ctrl+d")  # at the bottom: stays on the last saga
        await settle(pilot, lambda: highlighted_id(table) == 1)
        assert table.cursor_row == 449

    run_host(host, scenario)


# -- the steps -------------------------------------------------------------------------------


def many_steps(saga_id: int, count: int) -> object:
    saga = cleanup_saga(saga_id)
    saga.steps = [StepRow(index, f"step_{index}", "succeeded", '{"cmd":"x"}', "host",
                          ts(index), ts(index + 0.5)) for index in range(count)]
    return saga


@pilot_test
async def test_ctrl_d_and_ctrl_u_move_the_steps_by_half_of_what_they_show(
        make_log: SagaLogFactory) -> None:
    app = make_app(make_log([many_steps(1, 60)]))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("enter")
        steps = dashboard(app).query_one(StepList)
        await wait_for(pilot, lambda: app.focused is steps, "the steps focused")
        half = (steps.scrollable_content_region.height - steps.header_height) // 2
        assert half >= 2
        await pilot.press("ctrl+d")
        await idle(pilot)
        assert steps.cursor_row == half
        await pilot.press("ctrl+d", "ctrl+d")
        await idle(pilot)
        assert steps.cursor_row == 3 * half
        assert steps.scroll_offset.y > 0  # the cursor was kept in view
        await pilot.press("ctrl+u")
        await idle(pilot)
        assert steps.cursor_row == 2 * half
        for _ in range(60):
            await pilot.press("ctrl+d")
        await idle(pilot)
        assert steps.cursor_row == 59  # the last step, no further
        for _ in range(60):
            await pilot.press("ctrl+u")
        await idle(pilot)
        assert steps.cursor_row == 0


# -- the full-screen views -----------------------------------------------------------------


async def check_half_pages(pilot: Pilot, body: Widget) -> None:
    half = body.scrollable_content_region.height // 2
    assert body.max_scroll_y > half >= 2  # long enough to scroll by a half page
    await pilot.press("ctrl+d")
    await pilot.pause()
    assert body.scroll_y == half
    await pilot.press("ctrl+d")
    await pilot.pause()
    assert body.scroll_y == min(2 * half, body.max_scroll_y)
    await pilot.press("ctrl+u", "ctrl+u")
    await pilot.pause()
    assert body.scroll_y == 0


@pilot_test
async def test_ctrl_d_and_ctrl_u_scroll_the_help_and_the_explanation(
        make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=(80, 24)) as pilot:
        await idle(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        await pilot.pause()
        await check_half_pages(pilot, app.screen.query_one("#help-body"))
        await pilot.press("escape", "x")
        await wait_for(pilot, lambda: isinstance(app.screen, ExplainScreen), "explain")
        await pilot.pause()
        await check_half_pages(pilot, app.screen.query_one("#explain-scroll"))


# -- quitting --------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["q", "ctrl+c", "ctrl+q"])
@pilot_test
async def test_q_ctrl_c_and_ctrl_q_quit_with_code_0(make_log: SagaLogFactory, key: str) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press(key)
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def open_search(pilot: Pilot, text: str) -> None:
    """`/`, then `text` typed into the search line once it has the focus."""
    app = pilot.app
    search = dashboard(app).query_one(SearchBar).input  # type: ignore[arg-type]
    await pilot.press("slash")
    await wait_for(pilot, lambda: app.focused is search, "the search line focused")
    await pilot.press(*text)
    assert search.value == text


@pilot_test
async def test_ctrl_c_quits_from_the_search_line(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await open_search(pilot, "dr")
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


@pilot_test
async def test_ctrl_c_copies_text_selected_in_the_search_line_instead(
        make_log: SagaLogFactory, clipboard: list[str]) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await open_search(pilot, "drain")
        await pilot.press("ctrl+shift+a", "ctrl+c")
        await pilot.pause()
        assert app.is_running and clipboard == ["drain"]  # a deliberate selection: copied
        await pilot.press("end", "ctrl+c")  # nothing selected any more: quits
        await pilot.pause()
        assert not app.is_running

