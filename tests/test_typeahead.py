"""Type-ahead: keys typed in one burst right after `/`, `:` or `e` reach the prompt that key
opens, in order, however fast they come (issue 12). A paste, a key macro or a fast typist
sends the whole burst before the app has moved the focus or mounted the prompt.

Under Pilot the burst is posted to the app all at once, before it handles the first key
(`pilot.press` waits for the app to fall idle after each key, which hides the fault). On a
pseudo-terminal the real program gets the burst as one write.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from saga_inspector.store import SagaRef, SortOrder
from saga_inspector.tui import type_ahead
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.screens.dashboard import DashboardScreen
from saga_inspector.tui.screens.export import ExportScreen
from saga_inspector.tui.screens.jump import JumpScreen
from saga_inspector.tui.screens.sources import SourcesScreen
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.search_bar import SearchBar
from saga_inspector.tui.widgets.state_filter import ALL

from .factory import SagaLogFactory
from .helpers import (
    SIZE,
    app_on,
    demo,
    fixed_place_and_zone,
    highlighted_id,
    idle,
    make_app,
    pilot_test,
    wait_for,
)
from .test_dashboard_sources import fleet, labels, settled, shown_ref, table_of

# the shared fixtures (files by bare name, UTC; several logs with colliding ids)
__all__ = ["demo", "fixed_place_and_zone", "fleet"]

ENTER = "\r"


def key_event(char: str) -> events.Key:
    """The event Textual's driver makes of one typed character."""
    if char == ENTER:
        return events.Key("enter", ENTER)
    return events.Key(char if char.isalnum() else _character_to_key(char), char)


def burst(app: SagaInspectorApp, typed: str) -> None:
    """Every key of `typed` queued for the app at once, before it handles the first."""
    for char in typed:
        app.post_message(key_event(char).set_sender(app))


def table(app: SagaInspectorApp) -> SagaTable:
    return app.dashboard.query_one(SagaTable)


async def taken(pilot: Pilot) -> None:
    """Until the app has taken every key queued so far (a callback queued after them ran)."""
    done: list[bool] = []
    pilot.app.call_later(done.append, True)
    await wait_for(pilot, lambda: bool(done), "the keys to be taken")


# -- Pilot: the burst posted at once ---------------------------------------------------------


@pilot_test
async def test_a_search_typed_in_one_burst_is_the_search(demo: Path) -> None:
    app = app_on(demo)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        burst(app, f"/label:main{ENTER}")
        screen = app.dashboard
        await wait_for(pilot, lambda: screen.search == "label:main", "the search applied")
        await idle(pilot)
        # every key reached the search line: none went to the table's bindings (`a` picks
        # the "all" filter, `e` opens the export dialog, `l`, `b`, `m`, `i`, `n` ...)
        assert screen.search == "label:main"
        assert screen.query_one(SearchBar).input.value == "label:main"
        assert screen.active is ALL
        assert len(app.screen_stack) == 1
        assert app.focused is table(app)  # enter went back to the table


@pilot_test
async def test_a_search_burst_after_a_filter_keeps_the_filter(demo: Path) -> None:
    app = app_on(demo)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("3")  # failed
        await idle(pilot)
        failed = app.dashboard.active
        burst(app, f"/a/b 2{ENTER}")  # `/`, `2` would switch filters if they reached the table
        await wait_for(pilot, lambda: app.dashboard.search == "a/b 2", "the search applied")
        await idle(pilot)
        assert app.dashboard.query_one(SearchBar).input.value == "a/b 2"
        assert app.dashboard.search == "a/b 2"
        assert app.dashboard.active is failed


@pilot_test
async def test_a_paste_right_after_slash_lands_in_the_search(demo: Path) -> None:
    app = app_on(demo)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        app.post_message(key_event("/").set_sender(app))
        app.post_message(events.Paste("label:main").set_sender(app))
        app.post_message(key_event(ENTER).set_sender(app))
        await wait_for(pilot, lambda: app.dashboard.search == "label:main", "the search")
        await idle(pilot)
        assert app.dashboard.query_one(SearchBar).input.value == "label:main"


@pilot_test
async def test_a_saga_id_typed_in_one_burst_is_gone_to(demo: Path) -> None:
    app = app_on(demo)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert highlighted_id(table(app)) != 312
        burst(app, f":312{ENTER}")
        await wait_for(pilot, lambda: highlighted_id(table(app)) == 312, "saga 312 highlighted")
        await idle(pilot)
        assert not any(isinstance(screen, JumpScreen) for screen in app.screen_stack)
        assert highlighted_id(table(app)) == 312
        assert app.focused is table(app)


@pilot_test
async def test_characters_typed_into_a_field_wait_for_no_key(demo: Path) -> None:
    """A character a field takes moves no focus: the one after it goes to the same field at
    once, not after it has come back up (a 21-character LOG:ID waited 15 ms so); a key
    after them that the field does not take (enter) still waits its turn."""
    app = app_on(demo)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        burst(app, ":")
        await wait_for(pilot, lambda: isinstance(app.focused, Input), "the id field")
        followed: dict[int, str] = {}  # the keys followed up to the app, one entry a key
        follow = app.type_ahead._follow

        def recorded(flight, node) -> None:
            followed[id(flight)] = flight.event.key
            follow(flight, node)
        app.type_ahead._follow = recorded  # type: ignore[method-assign]
        burst(app, f"31{ENTER}")
        await wait_for(pilot, lambda: highlighted_id(table(app)) == 31, "saga 31 highlighted")
        assert list(followed.values()) == ["enter"]  # (each character was, before)


@pilot_test
async def test_a_file_name_typed_in_one_burst_after_e_is_in_the_export_prompt(
    demo: Path,
) -> None:
    app = app_on(demo)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        burst(app, "e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), "the dialog")
        await wait_for(pilot, lambda: isinstance(app.focused, Input), "the name field")
        default = app.screen.query_one("#export-path", Input).value
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), "closed")
        await idle(pilot)

        # `x` would open the explain screen, `s` sort the table, `c` copy a summary
        burst(app, "ex.csv")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), "the dialog")
        field = app.screen.query_one("#export-path", Input)
        await wait_for(pilot, lambda: field.value == default + "x.csv", "the name typed")
        await pilot.pause()
        assert field.value == default + "x.csv"  # as if typed one key at a time
        assert app.focused is field
        assert len(app.screen_stack) == 2
        assert app.dashboard.sort is SortOrder.ID


@pilot_test
async def test_keys_after_a_prompt_key_that_opens_nothing_are_dropped(
    make_log: SagaLogFactory,
) -> None:
    """`e` on an empty view opens no dialog (it says why): the keys typed after it are
    dropped, never sent to the table; the next keys work as ever."""
    app = make_app(make_log([]))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        burst(app, "es")
        await taken(pilot)  # `e` handed on, `s` held for the dialog
        await wait_for(pilot, lambda: not app.holding_keys, "the held `s` to be dropped")
        await idle(pilot)
        assert app.dashboard.sort is SortOrder.ID  # the `s` was not sent astray
        assert len(app.screen_stack) == 1
        await pilot.press("s")
        await idle(pilot)
        assert app.dashboard.sort is SortOrder.ID.next  # and keys flow again


@pilot_test
async def test_keys_held_for_a_prompt_that_never_takes_focus_are_dropped(
    demo: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The safety: a prompt that opens but never takes focus gets nothing, and the keys
    held for it go nowhere else."""
    monkeypatch.setattr(type_ahead, "PROMPT_WAIT_S", 0.05)
    monkeypatch.setattr(SearchBar, "open", lambda bar: setattr(bar, "display", True))
    dropped: list[str] = []
    drop = type_ahead.TypeAhead._drop

    def spy(keys: type_ahead.TypeAhead, held: type_ahead.HeldKeys) -> None:
        dropped.extend(str(getattr(event, "key", event)) for event in held.typed)
        drop(keys, held)

    monkeypatch.setattr(type_ahead.TypeAhead, "_drop", spy)
    app = app_on(demo)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        burst(app, "/3s")  # `3` would pick the failed filter, `s` sort the table
        await wait_for(pilot, lambda: bool(dropped), "the held keys to be dropped")
        await idle(pilot)
        assert dropped == ["3", "s"] and not app.holding_keys
        assert app.dashboard.active is ALL
        assert app.dashboard.sort is SortOrder.ID
        assert app.dashboard.query_one(SearchBar).input.value == ""
        await pilot.press("s")
        await idle(pilot)
        assert app.dashboard.sort is SortOrder.ID.next


# -- the real program on a pseudo-terminal ----------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
STARTUP_S = 60.0  # a cold interpreter importing Textual on a busy machine
STEP_S = 20.0
CTRL_Q = "\x11"


def pty_session() -> type:
    """benchmarks/pty_screen.py's PtySession: a program on a pty, and the screen it draws."""
    path = ROOT / "benchmarks" / "pty_screen.py"
    spec = importlib.util.spec_from_file_location("pty_screen", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PtySession


@pytest.fixture
def terminal(demo: Path) -> Iterator[object]:
    """The real program on the demo log, on a pty, its first rows drawn."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TEXTUAL", "PYTEST"))}
    env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", PYTHONUTF8="1", TZ="UTC")
    session = pty_session()([sys.executable, "-m", "saga_inspector", demo.name],
                            cols=SIZE[0], rows=SIZE[1], env=env, cwd=str(demo.resolve().parent))
    try:
        session.wait_for(lambda screen: "sagas · all · 320" in screen.text(), STARTUP_S)
        yield session
    finally:
        session.close(quit_keys=CTRL_Q)  # (a `q` would be typed into a prompt left open)


def shown(text: str) -> object:
    return lambda screen: text in screen.text()


def test_a_search_burst_on_a_terminal(terminal) -> None:
    terminal.send(f"/label:main{ENTER}")  # one write: the keys arrive together
    terminal.wait_for(shown("search “label:main”"), STEP_S)
    text = terminal.screen.text()
    assert "sagas · all · search “label:main”" in text  # the filter stayed "all"
    assert "export the view" not in text


def test_a_jump_burst_on_a_terminal(terminal) -> None:
    terminal.send(f":312{ENTER}")
    terminal.wait_for(shown("saga 312"), STEP_S)  # the saga pane shows the saga gone to
    text = terminal.screen.text()
    assert "a saga id is a whole number" not in text
    assert "go to saga" not in text  # the prompt closed: it found the saga


def test_an_export_name_burst_on_a_terminal(terminal) -> None:
    terminal.send("ex.csv")
    terminal.wait_for(lambda screen: "export the view" in screen.text()
                      and ".jsonlx.csv" in screen.text(), STEP_S)


# -- several logs: the choice of logs in `:` and the sources screen (issue 14) ----------------


def keys_burst(app: SagaInspectorApp, *pressed: str) -> None:
    """Like `burst`, with keys by name (`escape`, `down`, `backspace`) among the text: a
    name of more than one character is one key, anything else is typed character by
    character."""
    for each in pressed:
        if len(each) > 1 and each.isidentifier():
            character = {"escape": "\x1b", "backspace": "\x7f", "space": " "}.get(each)
            app.post_message(events.Key(each, character).set_sender(app))
        else:
            burst(app, each)


async def choice_shown(pilot: Pilot, app: SagaInspectorApp) -> JumpScreen:
    """`:` `1` enter on the fleet: saga 1 is in every log, the prompt offers each."""
    await settled(pilot, app)
    await pilot.press("colon", "1", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, JumpScreen), "the prompt")
    prompt = app.screen
    assert isinstance(prompt, JumpScreen)
    choice = prompt.query_one("#jump-choice", OptionList)
    await wait_for(pilot, lambda: choice.option_count == 3 and app.focused is choice,
                   "the choice of logs")
    return prompt


def jump_prompts(app: SagaInspectorApp) -> list[JumpScreen]:
    return [screen for screen in app.screen_stack if isinstance(screen, JumpScreen)]


@pilot_test
async def test_escape_then_a_log_and_id_in_one_burst_from_the_choice_go_there(
    fleet: list[Path],
) -> None:
    app = make_app(fleet)
    async with app.run_test(size=SIZE) as pilot:
        await choice_shown(pilot, app)
        a = labels(app)[0]
        keys_burst(app, "escape", f":{a}:3{ENTER}")
        await wait_for(pilot, lambda: shown_ref(app) == SagaRef(a, 3), f"{a}:3 gone to")
        await settled(pilot, app)
        assert not jump_prompts(app)
        assert shown_ref(app) == SagaRef(a, 3)
        assert app.focused is table_of(app)


@pilot_test
async def test_typing_at_the_choice_goes_into_the_id_and_hides_the_choice(
    fleet: list[Path],
) -> None:
    app = make_app(fleet)
    async with app.run_test(size=SIZE) as pilot:
        prompt = await choice_shown(pilot, app)
        field = prompt.query_one("#jump-input", Input)
        choice = prompt.query_one("#jump-choice", OptionList)
        keys_burst(app, "2")
        await wait_for(pilot, lambda: field.value == "12", "the digit typed in the id")
        await idle(pilot)
        assert app.focused is field and not choice.display
        b = labels(app)[1]
        keys_burst(app, *["backspace"] * 2, f"{b}:2{ENTER}")  # letters and `:` too
        await wait_for(pilot, lambda: shown_ref(app) == SagaRef(b, 2), f"{b}:2 gone to")
        await settled(pilot, app)
        assert not jump_prompts(app)


@pilot_test
async def test_down_and_enter_in_one_burst_pick_the_second_log(fleet: list[Path]) -> None:
    app = make_app(fleet)
    async with app.run_test(size=SIZE) as pilot:
        prompt = await choice_shown(pilot, app)
        second = prompt.query_one("#jump-choice", OptionList).get_option_at_index(1).id
        keys_burst(app, "down", ENTER)
        await wait_for(pilot, lambda: shown_ref(app) == SagaRef(str(second), 1),
                       "the second log's saga 1 gone to")
        await settled(pilot, app)
        assert not jump_prompts(app)


@pilot_test
async def test_a_log_hidden_in_one_burst_from_S_is_left_out_of_the_view(
    fleet: list[Path],
) -> None:
    app = make_app(fleet)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app)
        assert table_of(app).total == 8
        b = labels(app)[1]
        # (`S` first, its rows read, then the rest in one burst: with the whole burst posted
        # before `S` is handled, the space is now and then lost -- a race left open, see
        # the note)
        keys_burst(app, "S")
        await wait_for(pilot, lambda: isinstance(app.screen, SourcesScreen)
                       and bool(app.screen._infos) and app.focused is not None
                       and app.focused.id == "sources-table", "the sources read")
        keys_burst(app, "j", "space", "escape")
        await wait_for(pilot, lambda: table_of(app).total == 5, "the view read without B")
        await settled(pilot, app)
        assert app.source is not None
        assert [member.hidden for member in app.source.members] == [False, True, False]
        assert len(app.screen_stack) == 1
        assert table_of(app).total == 5
        table = table_of(app)
        shown = [table._cache.row(n) for n in range(table.total or 0)]
        assert shown and all(saga is not None and saga.source.label != b for saga in shown)


@pilot_test
async def test_a_filter_key_right_after_closing_S_is_the_filter(fleet: list[Path]) -> None:
    app = make_app(fleet)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app)
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, SourcesScreen), "the sources")
        await settled(pilot, app)
        keys_burst(app, "escape", "5")  # failed_compensation
        await wait_for(pilot, lambda: table_of(app).total == 2, "the filter applied")
        await settled(pilot, app)
        assert len(app.screen_stack) == 1
        assert app.dashboard.active is not ALL


@pilot_test
async def test_a_paste_at_the_choice_goes_into_the_id(fleet: list[Path]) -> None:
    app = make_app(fleet)
    async with app.run_test(size=SIZE) as pilot:
        prompt = await choice_shown(pilot, app)
        field = prompt.query_one("#jump-input", Input)
        app.post_message(events.Paste("2\nsecond line").set_sender(app))
        await wait_for(pilot, lambda: field.value == "12", "the paste's first line in the id")
        await idle(pilot)
        assert app.focused is field
        assert not prompt.query_one("#jump-choice", OptionList).display


def test_down_and_enter_at_the_choice_on_a_terminal(fleet: list[Path]) -> None:
    """The choice of logs on the real program: `:1` enter in one write, then down and enter
    in one write pick the second log (its saga 1's steps are shown)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TEXTUAL", "PYTEST"))}
    env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", PYTHONUTF8="1", TZ="UTC")
    session = pty_session()([sys.executable, "-m", "saga_inspector", *map(str, fleet)],
                            cols=SIZE[0], rows=SIZE[1], env=env)
    try:
        session.wait_for(lambda screen: "3 logs" in screen.text(), STARTUP_S)
        session.send(f":1{ENTER}")
        session.wait_for(shown("pick one"), STEP_S)
        assert "spawn_pool_window" not in session.screen.text()
        session.send(f"\x1b[B{ENTER}")  # down, enter
        # launcher B's saga 1, the prompt closed (a frame between may show the prompt without
        # its choice, and the rows it covered)
        session.wait_for(lambda screen: "spawn_pool_window" in screen.text()
                         and "go to saga" not in screen.text(), STEP_S)
        assert "pick one" not in session.screen.text()
    finally:
        session.close(quit_keys=CTRL_Q)
