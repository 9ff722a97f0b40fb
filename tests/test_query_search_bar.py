"""The `/` search line speaks the query language: a query it does not understand is shown
inline (as text, sanitised) and never run; fixing it runs it. The dashboard and the CLI lists
agree through SagaStore (test_query_cli.py); here, what the line does."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Label

from saga_inspector.display_time import display_zone
from saga_inspector.store import SagaQuery, SortOrder
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.search_bar import SearchBar

from .factory import LOOSE_DDL, SagaLogFactory
from .helpers import (
    SIZE,
    dashboard,
    idle,
    listed,
    make_app,
    pilot_test,
    press,
    screen_text,
    wait_for,
)
from .query_cases import QUERIES, query_sagas


def log_of(make_log: SagaLogFactory) -> Path:
    return make_log(query_sagas(), ddl=LOOSE_DDL)


def error_text(bar: SearchBar) -> str | None:
    label = bar.query_one("#search-error", Label)
    return str(label.render()) if label.has_class("-shown") else None


async def type_query(pilot: Pilot, text: str) -> None:
    for key in text:
        await pilot.press({" ": "space", ":": "colon", "-": "minus"}.get(key, key))


@pilot_test
async def test_a_query_it_does_not_understand_is_shown_and_not_run(
        make_log: SagaLogFactory) -> None:
    app = make_app(log_of(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        bar = dashboard(app).query_one(SearchBar)
        await press(pilot, "slash")
        # At once, as a paste: typed key by key, a prefix ("st") is a query of its own, run
        # whenever the machine is slow enough for the search delay to pass between two keys.
        bar.input.value = "stat:failed"
        await idle(pilot)
        assert error_text(bar) == (
            'unknown qualifier "stat:"; did you mean state:? known: state: name: label: '
            'ref: reason: target: step: pending: id: since: until: slower: source: (to search '
            'for the text itself, quote it: "stat:failed")')
        assert "did you mean state:?" in screen_text(app)
        assert table.saga_query == SagaQuery(zone=display_zone())  # the list stays as it was
        await press(pilot, "enter")
        assert bar.display and app.focused is bar.input  # still on the line, to fix it
        assert table.saga_query == SagaQuery(zone=display_zone())

        # Fixed: the message goes and the query runs.
        await press(pilot, "left", "left", "left", "left", "left", "left", "left")
        await press(pilot, "e")
        searched = SagaQuery(None, "state:failed", zone=display_zone())
        await wait_for(pilot, lambda: table.saga_query == searched, "search")
        await idle(pilot)
        assert error_text(bar) is None
        assert table.total == 3
        await press(pilot, "enter")
        assert app.focused is table


@pilot_test
async def test_a_bad_value_says_the_right_form_while_typing(make_log: SagaLogFactory) -> None:
    app = make_app(log_of(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        bar = dashboard(app).query_one(SearchBar)
        await press(pilot, "slash")
        bar.input.value = "slower:5"  # at once: a prefix typed alone could run (see above)
        await idle(pilot)
        assert error_text(bar) == ('slower: wants a duration like 5s, 2m, 1h30m (also 500ms, '
                                   '1.5s, 2d), not "5"')
        assert table.saga_query == SagaQuery(zone=display_zone())
        await type_query(pilot, "s")
        searched = SagaQuery(None, "slower:5s", zone=display_zone())
        await wait_for(pilot, lambda: table.saga_query == searched, "search")
        await idle(pilot)
        assert error_text(bar) is None
        assert table.total == 3


@pilot_test
async def test_the_message_is_text_never_markup_and_is_sanitised(
        make_log: SagaLogFactory) -> None:
    app = make_app(log_of(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        bar = dashboard(app).query_one(SearchBar)
        await press(pilot, "slash")
        bar.query_one(Input).value = "slower:[b]x[/b]\x1b]0;pwned\x07"
        await idle(pilot)
        shown = error_text(bar)
        assert shown is not None
        assert '[b]x[/b]␛]0;pwned␇' in shown
        # (The input line shows what was pasted into it as the Input widget does; the
        # message line under it is the one this widget draws.)
        (message_line,) = [line for line in screen_text(app).splitlines()
                           if "slower: wants" in line]
        assert "\x1b" not in message_line and "\x07" not in message_line


@pilot_test
async def test_a_state_only_this_file_has_is_accepted(make_log: SagaLogFactory) -> None:
    app = make_app(log_of(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        bar = dashboard(app).query_one(SearchBar)
        await press(pilot, "slash")
        await type_query(pilot, "state:weird_state")
        searched = SagaQuery(None, "state:weird_state", zone=display_zone())
        await wait_for(pilot, lambda: table.saga_query == searched)
        await idle(pilot)
        assert error_text(bar) is None
        assert table.total == 1
        await type_query(pilot, "x")
        await idle(pilot)
        assert error_text(bar) is not None
        assert 'no saga state is called "weird_statex"' in (error_text(bar) or "")


@pilot_test
async def test_a_huge_id_or_too_many_words_is_a_message_not_a_crash(
        make_log: SagaLogFactory) -> None:
    app = make_app(log_of(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        bar = dashboard(app).query_one(SearchBar)
        await press(pilot, "slash")
        for pasted, said in ((f"id:{'9' * 5000}", "is not a saga id (ids fit in 64 bits)"),
                             (" ".join(["main"] * 500), "a query takes at most 64 words")):
            bar.query_one(Input).value = pasted
            await idle(pilot)
            assert said in (error_text(bar) or "")
            await press(pilot, "enter")
            assert app.is_running and app.focused is bar.input
            assert table.saga_query == SagaQuery(zone=display_zone())  # never run


@pilot_test
async def test_escape_clears_the_message_with_the_search(make_log: SagaLogFactory) -> None:
    app = make_app(log_of(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        bar = dashboard(app).query_one(SearchBar)
        await press(pilot, "slash")
        await type_query(pilot, "id:9..1")
        await idle(pilot)
        assert error_text(bar) is not None
        await press(pilot, "escape")
        assert error_text(bar) is None
        assert not bar.display


@pilot_test
async def test_the_dashboard_lists_what_the_cli_lists(
        make_log: SagaLogFactory, capsys: pytest.CaptureFixture[str]) -> None:
    """The one parser, end to end: every query of the CLI's cases, under every sort, gives
    the same sagas in the same order on the dashboard (walked row by row with `j`)."""
    log = log_of(make_log)
    expected = {(query, sort): listed(capsys, log, "--search", query, "--sort", sort.value)
                for query in QUERIES for sort in SortOrder}
    app = make_app(log)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        bar = dashboard(app).query_one(SearchBar)
        for sort in SortOrder:
            if sort is not SortOrder.ID:
                await press(pilot, "s")
            for query in QUERIES:
                await press(pilot, "slash")
                bar.query_one(Input).value = query
                await press(pilot, "enter")
                await wait_for(pilot, lambda q=query, s=sort: table.saga_query == SagaQuery(
                    None, q or None, s, display_zone()), f"{query!r} by {sort}")
                await idle(pilot)
                assert await walked_ids(pilot, table) == expected[query, sort], (query, sort)


async def walked_ids(pilot: Pilot, table: SagaTable) -> list[int]:
    await press(pilot, "g")
    shown: list[int] = []
    for _ in range(table.total or 0):
        saga = table.highlighted_saga
        assert saga is not None
        shown.append(saga.saga_id)
        await press(pilot, "j")
    return shown
