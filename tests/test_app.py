"""Pilot tests of the dashboard: every key and flow, on factory files and the demo log.

Waiting is always for a condition (workers done, view loaded), never a fixed sleep.
"""

from __future__ import annotations

import functools
import gc
import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from saga_inspector.demo import write_demo
from saga_inspector.display_time import display_zone
from saga_inspector.sanitize import is_safe
from saga_inspector.store import ErrorKind, SagaQuery, SagaStore, StoreError
from saga_inspector.store.payload import parse_json, pretty_json
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.screens.dashboard import DashboardScreen
from saga_inspector.tui.screens.error import ErrorScreen
from saga_inspector.tui.screens.help import HelpScreen, help_markdown
from saga_inspector.tui.screens.payload import PayloadScreen
from saga_inspector.tui.views import LARGE_PAYLOAD
from saga_inspector.tui.widgets.detail_pane import SagaPanel, StepDetail
from saga_inspector.tui.widgets.header import WarningBanner
from saga_inspector.tui.widgets.payload import PayloadBlock
from saga_inspector.tui.widgets.payload_view import PayloadView
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.search_bar import SearchBar
from saga_inspector.tui.widgets.state_filter import FilterChip, StateFilterBar
from saga_inspector.tui.widgets.step_list import StepList

from .factory import LOOSE_DDL, SagaLogFactory, cleanup_saga, recovered_saga
from .helpers import (
    HOSTILE,
    NOW,
    SIZE,
    dashboard,
    hostile_saga,
    idle,
    make_app,
    mixed_log,
    pilot_test,
    press,
    screen_text,
    wait_for,
)


def chip_text(app: SagaInspectorApp, name: str) -> str:
    bar = dashboard(app).query_one(StateFilterBar)
    chip = next(c for c in bar.query(FilterChip) if c.state_filter.name == name)
    return str(chip.render())


# -- filters ---------------------------------------------------------------------------------


@pilot_test
async def test_filter_keys_change_table_and_counts(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        assert table.total == 6
        assert "all 6" in chip_text(app, "all")
        assert "failed 2" in chip_text(app, "failed")
        assert "needs attention 4" in chip_text(app, "attention")
        assert "completed 2" in chip_text(app, "completed")

        expected = {"1": ("running", 1), "2": ("completed", 2), "3": ("failed", 2),
                    "4": ("compensating", 0), "5": ("failed_compensation", 1),
                    "a": ("attention", 4), "0": ("all", 6)}
        for key, (name, total) in expected.items():
            await press(pilot, key)
            assert dashboard(app).active.name == name
            assert table.saga_query == SagaQuery(dashboard(app).active.states, zone=display_zone())
            assert table.total == total, name
            active = [c for c in app.screen.query(FilterChip) if c.has_class("-active")]
            assert [c.state_filter.name for c in active] == [name]
            if total:
                assert table.highlighted_saga is not None
                states = dashboard(app).active.states
                assert states is None or table.highlighted_saga.state in states


@pilot_test
async def test_empty_filter_says_what_is_empty(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "4")
        assert dashboard(app).query_one(SagaTable).empty_message == "no compensating sagas"
        assert "no compensating sagas" in screen_text(app)
        assert str(dashboard(app).query_one("#saga-summary").render()) == "no compensating sagas"


@pilot_test
async def test_unknown_state_gets_a_filter_and_a_key(make_log: SagaLogFactory) -> None:
    path = make_log([cleanup_saga(1), cleanup_saga(2, "paused", drained=None)], ddl=LOOSE_DDL)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert "7 paused 1" in chip_text(app, "paused")  # 6 is the server's compensated
        await press(pilot, "7")
        table = dashboard(app).query_one(SagaTable)
        assert table.total == 1
        assert table.highlighted_saga is not None and table.highlighted_saga.saga_id == 2


@pilot_test
async def test_clicking_a_filter_chip_picks_it(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        chip = next(c for c in app.screen.query(FilterChip) if c.state_filter.name == "failed")
        await pilot.click(chip)
        await idle(pilot)
        assert dashboard(app).active.name == "failed"
        assert dashboard(app).query_one(SagaTable).total == 2


# -- into the steps ----------------------------------------------------------------------------


@pilot_test
async def test_five_then_enter_lands_on_the_in_flight_step(tmp_path: Path) -> None:
    path = write_demo(tmp_path / "demo.db")
    with SagaStore.open(path) as store:
        newest = store.sagas(SagaQuery(frozenset({"failed_compensation"})), limit=1)[0]
        detail = store.saga(newest.saga_id)
    assert detail is not None and detail.in_flight_step is not None
    in_flight = detail.in_flight_step

    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "5", "enter")
        screen = dashboard(app)
        steps = screen.query_one(StepList)
        assert app.focused is steps
        assert screen.query_one(SagaTable).highlighted_saga.saga_id == newest.saga_id
        assert detail.steps[steps.cursor_row] == in_flight
        summary = str(screen.query_one("#step-summary").render())
        assert "was in flight when the saga stopped" in summary
        cmd = screen.query_one("#step-cmd", PayloadBlock)
        expected = pretty_json(parse_json(in_flight.cmd_json).value)
        assert cmd.payload is not None and cmd.payload.full == expected
        assert str(cmd.render()) == expected
        assert "the step never reported back" in str(screen.query_one("#step-output").render())

        # escape goes back to the table; enter on a step goes into its payloads
        await press(pilot, "escape")
        assert app.focused is screen.query_one(SagaTable)
        await press(pilot, "enter", "enter")
        assert app.focused is cmd
        await press(pilot, "escape")
        assert app.focused is steps


@pilot_test
async def test_tab_moves_between_table_steps_and_payloads(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        order = [app.focused.id]
        for _ in range(5):
            await press(pilot, "tab")
            order.append(app.focused.id)
        assert order == ["sagas", "saga-input", "steps", "step-cmd", "step-output", "sagas"]
        await press(pilot, "shift+tab")
        assert app.focused.id == "step-output"


@pilot_test
async def test_moving_in_the_steps_changes_the_detail(make_log: SagaLogFactory) -> None:
    app = make_app(make_log([cleanup_saga(1, drained=True)]))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "enter")
        detail = dashboard(app).query_one(StepDetail)
        assert "issue_cmd_host_reap_panes" in str(detail.query_one("#step-summary").render())
        await press(pilot, "j")
        assert "issue_cmd_host_drain_pool_if_last" in str(
            detail.query_one("#step-summary").render())
        assert '"pool_drained"' in str(detail.query_one("#step-output").render())
        await press(pilot, "g")
        assert dashboard(app).query_one(StepList).cursor_row == 0
        await press(pilot, "G")
        assert dashboard(app).query_one(StepList).cursor_row == 1


@pilot_test
async def test_the_saga_panel_shows_input_reason_and_extra_columns(
    make_log: SagaLogFactory,
) -> None:
    path = make_log(
        [recovered_saga(7)],
        user_version=2,
        sql=["ALTER TABLE launcher_saga ADD COLUMN owner TEXT",
             "UPDATE launcher_saga SET owner = 'ops-team'"],
    )
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        panel = dashboard(app).query_one(SagaPanel)
        summary = str(panel.query_one("#saga-summary").render())
        assert "saga 7" in summary
        assert "launcher restarted while saga in state 'running'" in summary
        assert "owner = ops-team" in summary
        assert '"closed_label": "main"' in str(panel.query_one("#saga-input").render())


# -- search ------------------------------------------------------------------------------------


@pilot_test
async def test_search_finds_by_failure_reason_and_escape_clears(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        await press(pilot, "slash")
        assert app.focused is dashboard(app).query_one("#search-input")
        for key in "broken pipe":
            await pilot.press(key if key != " " else "space")
        await press(pilot, "enter")
        assert app.focused is table
        assert table.saga_query == SagaQuery(None, "broken pipe", zone=display_zone())
        assert table.total == 1
        assert table.highlighted_saga.saga_id == 3
        assert dashboard(app).query_one(SearchBar).display

        # the search combines with a filter
        await press(pilot, "3")
        assert table.saga_query == SagaQuery(frozenset({"failed"}), "broken pipe",
                                             zone=display_zone())
        assert table.total == 1
        await press(pilot, "2")
        assert table.total == 0
        assert table.empty_message == "no completed sagas match “broken pipe”"

        await press(pilot, "escape")
        assert table.saga_query == SagaQuery(frozenset({"completed"}), zone=display_zone())
        assert table.total == 2
        assert not dashboard(app).query_one(SearchBar).display


@pilot_test
async def test_search_applies_while_typing_and_escape_in_the_line_clears(
    make_log: SagaLogFactory,
) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        await press(pilot, "slash", "t", "i", "m", "e")
        searching = SagaQuery(None, "time", zone=display_zone())
        await wait_for(pilot, lambda: table.saga_query == searching, "live search")
        await idle(pilot)
        assert table.total == 1  # saga 2: "saga timeout"
        await press(pilot, "escape")
        assert table.saga_query == SagaQuery(zone=display_zone())
        assert app.focused is table


# -- copy ------------------------------------------------------------------------------------


@pilot_test
async def test_shift_y_copies_the_saga_as_json_without_control_characters(
    make_log: SagaLogFactory, clipboard: list[str]
) -> None:
    app = make_app(make_log([hostile_saga()], ddl=LOOSE_DDL))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "Y")
        assert len(clipboard) == 1
        copied = clipboard[0]
        assert is_safe(copied, multiline=True) and "\x1b" not in copied
        value = json.loads(copied)
        assert value["saga_id"] == 9
        assert value["failure_reason"] == HOSTILE  # lossless: escaped, not dropped
        assert [step["in_flight"] for step in value["steps"]] == [False, True]


@pilot_test
async def test_y_on_a_payload_copies_that_payload(
    make_log: SagaLogFactory, clipboard: list[str]
) -> None:
    app = make_app(make_log([hostile_saga()], ddl=LOOSE_DDL))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "enter", "enter", "y")  # in-flight step 1, its cmd
        assert clipboard[-1] == pretty_json(
            {"cmd": "drain_pool_if_last", "label": "[/]\x1b[2J"}).replace("\x1b", "␛")
        await press(pilot, "escape", "k", "tab", "tab", "y")  # step 0's output: not JSON
        assert clipboard[-1] == "not json ␛[2J [b]"
        assert all(is_safe(text, multiline=True) for text in clipboard)


# -- hostile text ---------------------------------------------------------------------------------


@pilot_test
async def test_hostile_strings_render_visibly_and_never_reach_the_terminal(
    make_log: SagaLogFactory,
) -> None:
    app = make_app(make_log([hostile_saga()], ddl=LOOSE_DDL))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "enter", "k")
        svg = app.export_screenshot()
        text = screen_text(app)
        assert "\x1b" not in svg and "\x07" not in svg
        assert "[TODO] fix" in text
        assert "[/] ␛]0;pwned␇ ␛[2J [b]bold?[/b]" in text
        assert "not json ␛[2J [b]" in text
        assert "not valid JSON" in text  # the note on the invalid output
        # JSON strings keep their escapes: the input's ESC shows as \u001b, never raw
        assert '"\\u001b]52;c;ZXZpbA==\\u0007"' in text


# -- large payloads -------------------------------------------------------------------------


@pilot_test
async def test_a_large_payload_shows_a_preview_and_opens_in_full(make_log: SagaLogFactory) -> None:
    saga = cleanup_saga(1)
    big = {"event": "panes_reaped", "panes": [f"pane-{n:06d}" for n in range(12000)]}
    saga.steps[0].output_json = json.dumps(big)
    app = make_app(make_log([saga]))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        output = dashboard(app).query_one("#step-output", PayloadBlock)
        assert output.payload is not None and output.payload.truncated
        assert output.payload.made is None  # the whole text is made when opened
        assert output.payload.full == pretty_json(big)
        assert len(output.payload.full) > LARGE_PAYLOAD
        shown = str(output.render())
        assert len(shown) < LARGE_PAYLOAD // 4
        assert "press o for the whole value" in shown
        assert "o opens all" in str(output.border_subtitle)

        output.focus()
        await press(pilot, "o")
        assert isinstance(app.screen, PayloadScreen)
        view = app.screen.query_one(PayloadView)
        await wait_for(pilot, lambda: view.ready, "the whole value")
        assert view.line_count == output.payload.full.count("\n") + 1
        await pilot.press("G")
        await pilot.pause()
        assert view.scroll_y == view.max_scroll_y > 0
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert app.focused is output


# -- help, palette, refresh ----------------------------------------------------------------------


@pilot_test
async def test_question_mark_opens_help_listing_the_keys(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        await pilot.pause()
        text = screen_text(app)
        for phrase in ("failed_compensation", "needs attention", "search id, name",
                       "copy the saga", "command palette", "in flight"):
            assert phrase in text, phrase
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


def help_sections() -> dict[str, str]:
    """help.md's sections by heading (the text before the first heading: "")."""
    sections = {}
    for part in ("\n" + help_markdown()).split("\n## "):
        heading, _, body = part.partition("\n")
        sections[heading.strip()] = body
    return sections


# How help.md writes a key Textual names otherwise.
_HELP_NAMES = {"question_mark": "?", "slash": "/", "colon": ":", "down": "↓", "up": "↑",
               "left": "←", "right": "→"}


def test_help_lists_every_key_the_widgets_bind_where_they_work() -> None:
    """A key bound on a dashboard widget or screen (or the app) and forgotten in help.md,
    or listed under another part of the screen, fails here with its name."""
    from saga_inspector.tui.screens.explain import ExplainScreen
    from saga_inspector.tui.screens.jump import JumpScreen

    sections = help_sections()
    where = {  # whose keys, under which headings of help.md (the screen's `s` and `:`
        # work on the table: they are told there)
        SagaInspectorApp: ("Anywhere",), DashboardScreen: ("Anywhere", "Saga table"),
        SagaTable: ("Saga table",), JumpScreen: ("Saga table",), StepList: ("Steps",),
        SagaPanel: ("Payloads",), StepDetail: ("Payloads",), PayloadBlock: ("Payloads",),
        PayloadScreen: ("Payloads",), PayloadView: ("Payloads",), SearchBar: ("Search line",),
        ExplainScreen: ("Explain",), HelpScreen: ("This help",),
    }
    for owner, headings in where.items():
        text = "".join(body for name, body in sections.items() if name.startswith(headings))
        # The app's own keys with those it keeps from Textual's App (ctrl+q); any other
        # owner's as it declares them (not the ones Textual's base classes bring).
        bindings = (owner._merge_bindings().key_to_bindings if owner is SagaInspectorApp
                    else {key: [binding] for binding in owner.BINDINGS
                          for key in binding.key.split(",")})  # type: ignore[union-attr]
        for key in bindings:
            shown = _HELP_NAMES.get(key, key)
            assert f"`{shown}`" in text, f"{owner.__name__}: {shown} (under {headings})"
    # The command palette's key, and the mouse.
    assert f"`{SagaInspectorApp.COMMAND_PALETTE_BINDING}`" in sections["Anywhere"]
    mouse = sections["Mouse"]
    for does in ("double-click", "filter bar", "key bar", "wheel"):
        assert does in mouse, does


@pilot_test
async def test_the_command_palette_runs_a_filter(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("Show: all", "Show: needs attention", "Show: failed_compensation",
                      "Search", "Clear search", "Refresh", "Copy saga as JSON", "Help", "Quit"):
            assert title in titles
        await pilot.press("ctrl+p")
        for key in "failed_compensation":
            await pilot.press(key)
        await wait_for(pilot, lambda: "Show: failed_compensation" in screen_text(app), "hit")
        await pilot.press("enter")
        await idle(pilot)
        assert dashboard(app).active.name == "failed_compensation"


@pilot_test
async def test_the_palette_lists_unknown_states_literally(make_log: SagaLogFactory) -> None:
    path = make_log([cleanup_saga(1), cleanup_saga(2, "[/]odd\x1b", drained=None)],
                    ddl=LOOSE_DDL)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("ctrl+p", *"odd")
        await wait_for(pilot, lambda: "Show: [/]odd␛" in screen_text(app), "the hit")
        await pilot.press("enter")
        await idle(pilot)
        assert dashboard(app).active.states == frozenset({"[/]odd\x1b"})
        assert dashboard(app).query_one(SagaTable).total == 1


@pilot_test
async def test_refresh_keeps_the_highlighted_saga_and_shows_new_rows(
    make_log: SagaLogFactory,
) -> None:
    path = mixed_log(make_log)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        await press(pilot, "j", "j")
        assert table.highlighted_saga.saga_id == 4
        # a writer adds a saga (as the launcher would)
        import sqlite3

        conn = sqlite3.connect(path)
        conn.execute("INSERT INTO launcher_saga VALUES (7, 'window_cleanup_cascade', 'failed', "
                     "'2026-06-02T15:00:00+00:00', NULL, '{}', 'saga timeout')")
        conn.commit()
        conn.close()
        await press(pilot, "r")
        assert table.total == 7
        assert table.highlighted_saga.saga_id == 4
        assert "all 7" in chip_text(app, "all")
        # and back and forth through a filter
        await press(pilot, "3", "0")
        assert table.highlighted_saga.saga_id == 4


# -- opening -------------------------------------------------------------------------------------


@pilot_test
async def test_a_newer_schema_shows_the_tripwire_banner(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log, user_version=2))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        banner = dashboard(app).query_one(WarningBanner)
        assert banner.display and banner.has_class("-newer")
        text = screen_text(app)
        assert "written by a newer launcher build" in text
        assert "schema v2 (this tool knows v1)" in text


@pilot_test
async def test_a_log_without_its_step_table_says_steps_cannot_be_shown(
    make_log: SagaLogFactory,
) -> None:
    app = make_app(mixed_log(make_log, sql=["DROP TABLE launcher_saga_step"]))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        banner = dashboard(app).query_one(WarningBanner)
        assert banner.display and not banner.has_class("-newer")
        assert "steps cannot be shown" in screen_text(app)
        assert "no steps recorded" in str(dashboard(app).query_one("#step-summary").render())
        await press(pilot, "enter")
        assert app.focused is dashboard(app).query_one(SagaTable)


@pilot_test
async def test_a_current_schema_shows_no_banner(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert not dashboard(app).query_one(WarningBanner).display


@pilot_test
async def test_a_text_file_shows_the_error_screen_and_q_exits_2(make_log: SagaLogFactory) -> None:
    path = make_log.file_with(b"this is a text file, not a database\n" * 200, name="notes.db")
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "error screen")
        await pilot.pause()
        text = screen_text(app)
        assert "cannot open this saga log" in text
        assert "not a SQLite database" in text
        assert "notes.db" in text
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 2


@pilot_test
async def test_a_missing_file_says_so(tmp_path: Path) -> None:
    app = make_app(tmp_path / "nowhere.db")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "error screen")
        await pilot.pause()
        assert "no such file" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_code == 2


@pilot_test
async def test_a_loading_state_shows_while_the_file_opens(make_log: SagaLogFactory) -> None:
    path = mixed_log(make_log)
    release = threading.Event()

    def slow_open(target: Path, **options: Any) -> SagaStore:
        release.wait(10)
        return SagaStore.open(target, **options)

    app = SagaInspectorApp(path, now=lambda: NOW, opener=slow_open)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "opening…" in screen_text(app), "loading state")
        assert dashboard(app).query_one(SagaTable).loading
        release.set()
        await idle(pilot)
        assert not dashboard(app).query_one(SagaTable).loading
        assert dashboard(app).query_one(SagaTable).total == 6


class FailingStore(SagaStore):
    """A store whose reads of one saga fail, as a file damaged midway would."""

    def saga(self, saga_id: int) -> None:
        raise StoreError(ErrorKind.DAMAGED, "damaged [b]page[/b] \x1b]0;pwned\x07")


@pilot_test
async def test_a_failed_read_is_reported_in_the_app(make_log: SagaLogFactory) -> None:
    app = SagaInspectorApp(mixed_log(make_log), now=lambda: NOW, opener=FailingStore.open)
    async with app.run_test(size=SIZE) as pilot:

        def reported() -> list[str]:
            return [n.message for n in app._notifications if "cannot read saga" in n.title]

        await wait_for(pilot, lambda: bool(reported()), "an error notification")
        assert reported()[0] == "damaged [b]page[/b] ␛]0;pwned␇"
        assert app.is_running  # the app stays up: the table and filters still work
        await pilot.press("3")
        await wait_for(pilot, lambda: dashboard(app).query_one(SagaTable).total == 2, "filter")


@pytest.mark.parametrize(("bad_file", "code"), [(True, 2), (False, 0)])
def test_run_dashboard_returns_the_apps_exit_code(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch, bad_file: bool, code: int
) -> None:
    from saga_inspector.tui import run_dashboard

    path = make_log.file_with(b"text " * 100) if bad_file else mixed_log(make_log)

    from saga_inspector.tui import READ_SWITCH_INTERVAL

    switch_while_running: list[float] = []

    async def quit_when_shown(pilot: Pilot) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: isinstance(app, SagaInspectorApp) and app.settled, "ready")
        switch_while_running.append(sys.getswitchinterval())
        await pilot.press("q")

    real_run = SagaInspectorApp.run
    monkeypatch.setattr(
        SagaInspectorApp, "run",
        lambda self: real_run(self, headless=True, size=SIZE, auto_pilot=quit_when_shown),
    )
    before = sys.getswitchinterval()
    try:
        assert run_dashboard(path) == code
        assert gc.isenabled()  # paused for the start only
        # worker threads' reads get the interpreter back soon (a short snapshot), and the
        # process's own setting is back after
        # (the interpreter keeps it in whole microseconds: read back, 0.1 ms may be a hair under)
        assert switch_while_running == [pytest.approx(READ_SWITCH_INTERVAL, rel=0.01)]
        assert switch_while_running != [pytest.approx(before, rel=0.01)]
        assert sys.getswitchinterval() == before
    finally:
        gc.unfreeze()  # it froze this process's objects, as it does the app's


@pilot_test
async def test_a_snapshot_says_so_in_the_header_instead_of_live(make_log: SagaLogFactory) -> None:
    path = mixed_log(make_log)
    with SagaStore.open(path) as live, SagaStore.open(path, immutable=True) as snapshot:
        assert (live.is_snapshot, snapshot.is_snapshot) == (False, True)
    opener = functools.partial(SagaStore.open, immutable=True)  # as --immutable opens it
    app = SagaInspectorApp(path, now=lambda: NOW, opener=opener)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        shown = screen_text(app)
        # A snapshot never sees the file change: "live" would promise what it cannot do.
        assert "■ snapshot" in shown and "● live" not in shown
        await pilot.press("p")
        assert "○ paused" in screen_text(app)
