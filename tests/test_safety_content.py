"""Broken and strange content: each kind opened in the CLI (text and JSON) and in the
dashboard, shown as well as it can be, never a crash, a traceback or a freeze; and nothing
stored is ever read as markup, anywhere in the dashboard.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from textual.content import Content

from saga_inspector import cli
from saga_inspector.sanitize import is_safe, sanitize
from saga_inspector.tui.screens.error import ErrorScreen
from saga_inspector.tui.screens.help import HelpScreen
from saga_inspector.tui.screens.payload import PayloadScreen
from saga_inspector.tui.text import markup_literal
from saga_inspector.tui.widgets.payload import PayloadBlock
from saga_inspector.tui.widgets.payload_view import PayloadView
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.step_list import StepList
from saga_inspector.units import format_size

from .factory import (
    HOSTILE_SHOWN,
    LOOSE_DDL,
    MARKUP,
    SagaLogFactory,
    StepRow,
    cleanup_saga,
    hostile_sagas,
    recovered_saga,
    respawn_saga,
    ts,
)
from .helpers import SIZE, bad_file, idle, make_app, pilot_test, screen_text, wait_for

DEEP = "[" * 100_000 + "]" * 100_000
TOP, BOTTOM = 2**63 - 1, -(2**63)
ORPHAN = 424_242  # steps with this saga id, and no such saga


# -- one file holding every kind of strange row ------------------------------------------------


def strange_sagas() -> list:
    """Sagas whose ids say what is strange about them (ids at the 64-bit limits included)."""
    empty = cleanup_saga(10, "failed", drained=None, reason="")
    empty.name, empty.input_json, empty.started_at, empty.ended_at = "", "", "", ""
    for step in empty.steps:
        step.name = step.target = step.cmd_json = step.output_json = step.started_at = ""
        step.state = ""
    times = recovered_saga(20)
    times.started_at, times.ended_at = "yesterday", "2026-13-45T99:99:99+00:00"
    times.steps[0].started_at, times.steps[0].ended_at = ts(10), ts(4)  # ends before it starts
    times.steps[1].started_at = "99999-01-01T00:00:00+00:00"
    backwards = respawn_saga(21, "failed", reason="saga timeout")
    backwards.started_at, backwards.ended_at = ts(30), ts(1)
    extreme = respawn_saga(22, "failed")
    extreme.started_at, extreme.ended_at = "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"
    deep = cleanup_saga(30, "failed", drained=None)
    deep.input_json = DEEP
    deep.steps[1].cmd_json = "[" * 150 + "1" + "]" * 150  # deep, yet within what is shown
    deep.steps[0].output_json = '{"a":' * 500 + "1" + "}" * 500  # past it
    numbers = cleanup_saga(40, "failed", drained=None)
    numbers.input_json = ('{"huge": 1e400, "tiny": -1e999, "nan": NaN, "inf": -Infinity, '
                          f'"digits": {"9" * 5000}, "fine": 1.5}}')
    numbers.steps[0].output_json = "1e309"
    gaps = cleanup_saga(50, "failed", drained=None)
    gaps.steps = [StepRow(index, f"step-{index}", "pending", '{"cmd":"x"}', "host", ts(n))
                  for n, index in enumerate((-3, 0, 5, 1000, 2**63 - 1))]
    return [empty, times, backwards, extreme, deep, numbers, gaps,
            cleanup_saga(TOP, "failed", drained=None, reason="the largest id"),
            cleanup_saga(BOTTOM, "completed"), cleanup_saga(-1, "running", drained=None),
            cleanup_saga(0, "failed_compensation", drained=None, reason="id zero")]


@pytest.fixture
def strange_log(make_log: SagaLogFactory) -> Path:
    bad_utf8 = "CAST(X'6261648062ff1b5b324a00fe' AS TEXT)"  # bad\x80b\xff ESC[2J NUL \xfe
    nul = "'nul' || char(0) || 'inside'"
    sagas = [*strange_sagas(), cleanup_saga(60, "failed", drained=None),
             cleanup_saga(70, "failed", drained=None)]
    return make_log(sagas, ddl=LOOSE_DDL, name="strange.db", sql=[
        *(f"UPDATE launcher_saga SET {column} = {bad_utf8} WHERE saga_id = 60"
          for column in ("name", "state", "started_at", "ended_at", "input_json",
                         "failure_reason")),
        *(f"UPDATE launcher_saga_step SET {column} = {bad_utf8} WHERE saga_id = 60"
          for column in ("name", "state", "cmd_json", "target", "started_at", "output_json",
                         "failure_reason")),
        *(f"UPDATE launcher_saga SET {column} = {nul} WHERE saga_id = 70"
          for column in ("name", "started_at", "input_json", "failure_reason")),
        *(f"UPDATE launcher_saga_step SET {column} = {nul} WHERE saga_id = 70"
          for column in ("name", "cmd_json", "target", "output_json")),
        "INSERT INTO launcher_saga_step VALUES (424242, 0, 'orphan', 'pending', '{}', 'host', "
        "'2026-06-02T14:05:23+00:00', NULL, NULL, NULL)",
    ])


STRANGE_IDS = [TOP, 70, 60, 50, 40, 30, 22, 21, 20, 10, 0, -1, BOTTOM]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_every_command_shows_every_strange_row(strange_log: Path, capsys) -> None:
    for mode in ([], ["--json"]):
        for argv in (["stats"], ["list", "--limit", "0"],
                     *(["show", saga_id] for saga_id in STRANGE_IDS)):
            code, out, err = run_cli(capsys, argv[0], strange_log, *argv[1:], *mode)
            assert (code, err) == (0, ""), argv
            if mode:
                json.loads(out)
                assert out.isascii()
            else:
                assert is_safe(out, multiline=True), argv
    listed = json.loads(run_cli(capsys, "list", strange_log, "--limit", "0", "--json")[1])
    assert [saga["saga_id"] for saga in listed] == STRANGE_IDS
    # steps whose saga is missing belong to no saga: not shown, not an error
    assert run_cli(capsys, "show", strange_log, ORPHAN)[0] == 1


def show_text(capsys, log: Path, saga_id: int) -> str:
    return run_cli(capsys, "show", log, saga_id)[1]


def show_json(capsys, log: Path, saga_id: int) -> dict:
    return json.loads(run_cli(capsys, "show", log, saga_id, "--json")[1])


def test_what_each_strange_row_shows_as(strange_log: Path, capsys) -> None:
    text = show_text(capsys, strange_log, 60)  # not UTF-8: the bad bytes written as \xNN
    assert "bad\\x80b\\xff␛[2J␀\\xfe" in text
    assert show_json(capsys, strange_log, 60)["name"] == "bad\\x80b\\xff\x1b[2J\x00\\xfe"
    assert "nul␀inside" in show_text(capsys, strange_log, 70)
    assert show_json(capsys, strange_log, 70)["failure_reason"] == "nul\x00inside"

    deep = show_json(capsys, strange_log, 30)
    assert deep["input"] is None and deep["input_json"] == DEEP  # lossless, not parsed
    assert deep["steps"][1]["cmd"] == json.loads(deep["steps"][1]["cmd_json"])
    assert deep["steps"][0]["output"] is None
    assert "(not shown as JSON: nested too deeply)" in show_text(capsys, strange_log, 30)

    numbers = show_json(capsys, strange_log, 40)
    assert numbers["input"] == {"huge": "1e400", "tiny": "-1e999", "nan": "NaN",
                                "inf": "-Infinity", "digits": "9" * 5000, "fine": 1.5}
    assert numbers["steps"][0]["output"] == "1e309"

    times = show_json(capsys, strange_log, 20)
    assert (times["started_at"], times["duration_s"]) == ("yesterday", None)
    assert times["steps"][0]["duration_s"] == -6.0
    assert show_json(capsys, strange_log, 21)["duration_s"] == -29.0
    backwards = show_text(capsys, strange_log, 21)  # ends 29 s before it starts: said so
    assert "  duration  ends before it starts (clock skew or damage)\n" in backwards
    assert "-29" not in backwards
    extreme = show_text(capsys, strange_log, 22)  # before the year 1 in UTC: never a time
    assert 'started   unparsed: "0001-01-01T00:00:00+14:00"' in extreme

    gaps = show_json(capsys, strange_log, 50)
    assert [step["step_index"] for step in gaps["steps"]] == [-3, 0, 5, 1000, 2**63 - 1]
    empty = show_json(capsys, strange_log, 10)
    assert (empty["name"], empty["state"], empty["input"]) == ("", "failed", None)
    assert show_json(capsys, strange_log, TOP)["failure_reason"] == "the largest id"
    assert show_json(capsys, strange_log, BOTTOM)["saga_id"] == BOTTOM


@pilot_test
async def test_the_dashboard_walks_every_strange_row(strange_log: Path) -> None:
    app = make_app(strange_log)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        table = app.dashboard.query_one(SagaTable)
        assert table.total == len(STRANGE_IDS)
        for expected in STRANGE_IDS:
            assert table.highlighted_saga.saga_id == expected
            assert app.dashboard.view is not None and app.dashboard.view.saga_id == expected
            if expected in (60, 70, 30, 20):  # not UTF-8, NUL, deep, odd times: as drawn
                assert is_safe(screen_text(app), multiline=True)
            if expected == 30:  # the deep payloads: as text with a note, open in full
                saga_input = app.dashboard.query_one("#saga-input", PayloadBlock)
                assert saga_input.payload.note == "not shown as JSON: nested too deeply"
                assert saga_input.payload.truncated
                saga_input.focus()
                await pilot.press("o")
                await wait_for(pilot, lambda: isinstance(app.screen, PayloadScreen), "payload")
                await wait_for(pilot, lambda: app.screen.query_one(PayloadView).ready, "all")
                assert app.screen.query_one(PayloadView).line_count == 1
                await pilot.press("escape", "escape", "enter")
                await idle(pilot)
                steps = app.dashboard.query_one(StepList)
                assert app.focused is steps and steps.row_count == 2
                await pilot.press("escape")
            await pilot.press("j")
            await idle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


def test_gaps_in_step_indexes_list_every_step_in_order(strange_log: Path) -> None:
    from saga_inspector.store import SagaStore

    with SagaStore.open(strange_log) as store:
        detail = store.saga(50)
    assert [step.step_index for step in detail.steps] == [-3, 0, 5, 1000, 2**63 - 1]
    assert all(step.in_flight for step in detail.steps)


# -- damaged pages, no step table --------------------------------------------------------------


def test_damaged_pages_give_a_clear_error_and_exit_2(make_log: SagaLogFactory, capsys) -> None:
    path = make_log.damaged(400)
    assert run_cli(capsys, "stats", path)[0] == 0  # the state index is intact
    assert run_cli(capsys, "show", path, 1)[0] == 0  # so are pages away from the damage
    for argv in (["list", path, "--limit", "0"], ["list", path, "--limit", "0", "--json"],
                 ["show", path, 200], ["show", path, 200, "--json"]):
        code, _out, err = run_cli(capsys, *argv)
        assert code == 2, argv
        assert err.startswith(f"saga-inspector: error: {path}: the database is damaged")
        assert err.count("\n") == 1


@pilot_test
async def test_damaged_pages_in_the_dashboard_are_reported_and_it_carries_on(
    make_log: SagaLogFactory,
) -> None:
    path = make_log.damaged(400)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.dashboard.query_one(SagaTable).total is not None,
                       "the first page")

        def reported() -> list[str]:
            return [n.title for n in app._notifications if "cannot read" in n.title]

        for _ in range(6):  # page down into the damage
            await pilot.press("pagedown", "pagedown", "pagedown")
            if reported():
                break
        await pilot.press("G")
        await wait_for(pilot, lambda: bool(reported()), "an error notification")
        assert app.is_running
        await pilot.press("g", "3")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


def test_a_saga_table_without_a_step_table_in_the_cli(make_log: SagaLogFactory, capsys) -> None:
    path = make_log([recovered_saga(1), cleanup_saga(2)], sql=["DROP TABLE launcher_saga_step"])
    for mode in ([], ["--json"]):
        for argv in (["stats"], ["list"], ["show", 1]):
            code, out, err = run_cli(capsys, argv[0], path, *argv[1:], *mode)
            assert code == 0
            assert "no usable launcher_saga_step table: steps cannot be shown" in (err + out)
    assert "no steps recorded" in show_text(capsys, path, 1)


# -- a 10 MB payload -------------------------------------------------------------------------

# One long string: what is prepared in the worker then costs little, so this test stays
# quick; the figures for other shapes come from /work/notes/measure_10mb_payload.py.
TEN_MB = json.dumps({"event": "panes_reaped", "log": "pane-000042 reaped\n" * 560_000})


@pilot_test
async def test_a_10_mb_payload_shows_promptly_and_never_freezes_the_app(
    make_log: SagaLogFactory,
) -> None:
    assert len(TEN_MB) > 10_000_000
    big = cleanup_saga(2, "failed", drained=None, at=5)
    big.steps[0].output_json = TEN_MB
    app = make_app(make_log([cleanup_saga(1), big]))
    async with app.run_test(size=SIZE) as pilot:
        table = app.dashboard.query_one(SagaTable)
        await wait_for(pilot, lambda: table.highlighted_saga is not None, "the first rows")
        # the newest saga (the 10 MB one) is read and prepared in a worker: meanwhile the
        # app answers keys (help opens and closes)
        started = time.perf_counter()
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        assert time.perf_counter() - started < 5.0
        await pilot.press("escape")
        await idle(pilot)
        output = app.dashboard.query_one("#step-output", PayloadBlock)
        steps = app.dashboard.query_one(StepList)
        assert app.dashboard.view.saga_id == 2 and steps.cursor_row == 1  # the in-flight step
        # highlighting the step with the 10 MB output updates the pane at once
        steps.focus()
        started = time.perf_counter()
        await pilot.press("k")
        await wait_for(pilot, lambda: output.payload is not None
                       and output.payload.size == len(TEN_MB), "the big payload")
        await pilot.pause()
        step_to_pane = time.perf_counter() - started
        assert step_to_pane < 1.0, f"{step_to_pane:.3f} s"
        shown = str(output.render())
        assert len(shown) < 8000 and "press o for the whole value" in shown
        assert str(output.border_subtitle) == f"{format_size(len(TEN_MB))} · o opens all"


# -- nothing stored is markup ------------------------------------------------------------------


@pilot_test
async def test_markup_is_shown_as_written_everywhere(make_log: SagaLogFactory) -> None:
    path = make_log(hostile_sagas(), ddl=LOOSE_DDL)
    app = make_app(path)
    async with app.run_test(size=(220, 60), notifications=True) as pilot:
        await idle(pilot)
        text = screen_text(app)  # the table, the saga panel, the step detail, the filters
        for shown in HOSTILE_SHOWN:
            assert shown in text, shown
        assert "nm␛]0;pwned-title␇[bold]␛[2J[/]" in text  # the name cell, with its brackets
        assert "7 st␛]0;pwned-title␇[bold]␛[2J[/] 1" in text  # the unknown state's filter
        await pilot.press("enter")
        await idle(pilot)
        text = screen_text(app)
        assert "step␛]0;pwned-title␇[bold]␛[2J[/]" in text  # the step list
        assert '"note": "[link=http://x]y[/link]"' in text  # the input, pretty-printed
        # the search line and what the table says about it
        await pilot.press("escape", "slash", *"[/]x", "enter")
        await idle(pilot)
        assert "search “[/]x”" in screen_text(app)
        assert "no sagas match “[/]x”" in screen_text(app)
        await pilot.press("escape")
        await idle(pilot)
        # the palette: a state's filter title goes through markup, and comes out as written
        await pilot.press("ctrl+p", *"pwn")
        await wait_for(pilot, lambda: "Show: st␛]0;pwned-title␇[bold]␛[2J[/]"
                       in screen_text(app), "the palette hit")
        await pilot.press("escape")
        await pilot.pause()
        # notifications quote stored text as written (as the dashboard's read errors do)
        app.notify(sanitize("[bold]x[/] [link=http://x]y"), markup=False)
        await wait_for(pilot, lambda: "[bold]x[/] [link=http://x]y" in screen_text(app),
                       "the notification")


@pilot_test
async def test_markup_in_a_path_on_the_error_screen_is_shown_as_written(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = make_log.file_with(b"text " * 200, name="[bold]x[TODO][link=y]z.db")
    monkeypatch.chdir(bad.parent)  # a short path: the message fits on one line
    app = make_app(Path(bad.name))
    async with app.run_test(size=(220, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error screen")
        await pilot.pause()
        assert "[bold]x[TODO][link=y]z.db: not a SQLite database" in screen_text(app)


@pytest.mark.parametrize("value", [*MARKUP, "[2J[/]", "a\\[b]", "x\\", "[b]\\", "[[/]]",
                                   "st\x1b]0;t\x07[bold]\x1b[2J[/]", "\\\\[/]"])
def test_palette_titles_round_trip_through_markup(value: str) -> None:
    """The palette only takes markup: what it shows must be the stored text, sanitised.
    (`textual.markup.escape` alone showed `[2J[/]` as `[2J\\[/]`.)"""
    assert Content.from_markup(markup_literal(value)).plain == sanitize(value)



# -- files that are not saga logs, in the dashboard ---------------------------------------------

# (a text file and a missing one: test_app.py)
HEADLINES = {"folder": "is a folder", "empty": "not a saga log", "truncated": "damaged",
             "no saga tables": "not a saga log"}


@pytest.mark.parametrize("kind", list(HEADLINES))
def test_each_bad_file_gets_a_clear_error_screen_and_q_exits_2(
    make_log: SagaLogFactory, kind: str
) -> None:
    from saga_inspector.tui.screens.error import HINTS

    path = bad_file(kind, make_log)

    @pilot_test
    async def check() -> None:
        app = make_app(path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "error screen")
            await pilot.pause()
            text = " ".join(screen_text(app).split())
            assert "cannot open this saga log" in text
            assert HEADLINES[kind] in text
            assert " ".join(HINTS[app.failed.kind].split()[:6]) in text
            assert "Nothing was written to the file." in text
            await pilot.press("q")
            await pilot.pause()
        assert app.return_code == 2

    check()
