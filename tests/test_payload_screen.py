"""The full-screen payload viewer (`o`): wrapped by default, `w` unwraps, sideways by a
screen's width, `home`/`end` to the line's ends, j/k/g/G, and a large value that says it is
loading while it is prepared off the UI thread (escape closes it even then)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.events import MouseScrollDown
from textual.pilot import Pilot

from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.screens.dashboard import DashboardScreen
from saga_inspector.tui.screens.payload import PayloadScreen
from saga_inspector.tui.views import LARGE_PAYLOAD
from saga_inspector.tui.widgets import payload_view
from saga_inspector.tui.widgets.payload_view import PayloadLines, PayloadView, fold
from saga_inspector.units import format_size

from .factory import SagaLogFactory, cleanup_saga
from .helpers import idle, make_app, pilot_test, screen_text, wait_for

VIEWER = (80, 24)  # the smallest terminal the viewer is made for
END = "END-OF-REASON"  # the last words of the long reason, past the right edge unwrapped
REASON = " ".join(f"tmux: pane %{n} is gone, respawn refused by the pool;" for n in range(16))
REASON = f"{REASON} {END}"


def failed_output(**extra: object) -> str:
    return json.dumps({"event": "reap_failed", "reason": REASON, **extra})


def log_with_output(make_log: SagaLogFactory, output: str) -> Path:
    saga = cleanup_saga(1, "failed", reason="reap failed")
    saga.steps[0].output_json = output
    return make_log([saga])


async def open_viewer(pilot: Pilot, *, loaded: bool = True) -> PayloadView:
    app = pilot.app
    assert isinstance(app, SagaInspectorApp)
    await idle(pilot)
    app.dashboard.query_one("#step-output").focus()
    await pilot.press("o")
    await wait_for(pilot, lambda: isinstance(app.screen, PayloadScreen), "the viewer")
    view = app.screen.query_one(PayloadView)
    if loaded:
        await wait_for(pilot, lambda: view.ready and (view.wrapped is not None or not view.wrap),
                       "the text")
        await pilot.pause()
    return view


def drawn_rows(view: PayloadView) -> list[str]:
    return [view.render_line(y).text for y in range(view.scrollable_content_region.height)]


def title(app: SagaInspectorApp) -> str:
    return str(app.screen.query_one("#payload-title").render())


# -- wrapping --------------------------------------------------------------------------------


def test_fold_breaks_after_the_last_space_that_fits() -> None:
    assert fold("aaa bbb ccc", 4) == [0, 4, 8]  # "aaa ", "bbb ", "ccc"
    assert fold("abcdefghij", 4) == [0, 4, 8]  # a word wider than a row is cut at the edge
    assert fold("abcd efgh", 4) == [0, 5]  # the space past the edge ends the row
    assert fold("short", 80) == [0]


def test_fold_counts_wide_characters_as_two_cells() -> None:
    assert fold("日本語 テキスト", 8) == [0, 4]  # 6 cells and a space, then 8
    assert fold("日本語テキスト", 8) == [0, 4]  # 14 cells, no space: cut after 8
    assert fold("日本語テキスト", 7) == [0, 3, 6]  # a wide character never straddles the edge


def test_split_lines_measures_cells() -> None:
    lines = payload_view.split_lines("ab\n日本\n\tx")
    assert lines == PayloadLines(["ab", "日本", "        x"], [2, 4, 9])
    assert lines.widest == 9


@pilot_test
async def test_a_long_line_wraps_onto_several_rows_by_default(make_log: SagaLogFactory) -> None:
    app = make_app(log_with_output(make_log, failed_output()))
    async with app.run_test(size=VIEWER) as pilot:
        view = await open_viewer(pilot)
        assert view.wrap and "wrap on" in title(app)
        width = view.scrollable_content_region.width
        rows = drawn_rows(view)
        first = next(n for n, row in enumerate(rows) if '"reason"' in row)
        last = next(n for n, row in enumerate(rows) if END in row)
        assert last - first + 1 >= len(REASON) // width  # every part of it, row after row
        words = " ".join(rows[first:last + 1]).split()
        assert words == f'"reason": "{REASON}"'.split()  # the whole line, in order
        assert END in screen_text(app)
        assert view.max_scroll_x == 0  # nothing to scroll sideways


@pilot_test
async def test_w_toggles_wrapping_and_says_so(make_log: SagaLogFactory) -> None:
    app = make_app(log_with_output(make_log, failed_output()))
    async with app.run_test(size=VIEWER) as pilot:
        view = await open_viewer(pilot)
        await pilot.press("w")
        await pilot.pause()
        assert not view.wrap and "wrap off" in title(app)
        assert END not in screen_text(app)  # cut at the right edge
        assert sum("pane %" in row for row in drawn_rows(view)) == 1
        await pilot.press("w")
        await pilot.pause()
        assert view.wrap and "wrap on" in title(app)
        assert END in screen_text(app)


# -- sideways, when unwrapped ----------------------------------------------------------------


@pilot_test
async def test_sideways_keys_move_by_the_visible_width(make_log: SagaLogFactory) -> None:
    app = make_app(log_with_output(make_log, failed_output()))
    async with app.run_test(size=VIEWER) as pilot:
        view = await open_viewer(pilot)
        await pilot.press("w")
        await pilot.pause()
        width = view.scrollable_content_region.width
        for key, expected in (("l", width), ("right", 2 * width), ("h", width),
                              ("left", 0), ("end", view.max_scroll_x), ("home", 0),
                              ("dollar_sign", view.max_scroll_x), ("0", 0)):
            await pilot.press(key)
            await pilot.pause()
            assert view.scroll_x == expected, key
        await pilot.press("end")
        await pilot.pause()
        assert view.max_scroll_x == view.text.widest - width > width
        assert END in screen_text(app)  # the widest line's end is in view


@pilot_test
async def test_wrapped_the_sideways_keys_do_nothing_and_home_end_go_top_bottom(
    make_log: SagaLogFactory,
) -> None:
    many = {f"key_{n:03d}": n for n in range(60)}
    app = make_app(log_with_output(make_log, failed_output(**many)))
    async with app.run_test(size=VIEWER) as pilot:
        view = await open_viewer(pilot)
        for key in ("l", "right", "h", "left"):
            await pilot.press(key)
            assert view.scroll_x == 0
        await pilot.press("end")
        await pilot.pause()
        assert view.scroll_y == view.max_scroll_y > 0
        await pilot.press("home")
        await pilot.pause()
        assert view.scroll_y == 0


@pilot_test
async def test_j_k_g_G_scroll_wrapped_and_unwrapped(make_log: SagaLogFactory) -> None:
    many = {f"key_{n:03d}": n for n in range(60)}
    app = make_app(log_with_output(make_log, failed_output(**many)))
    async with app.run_test(size=VIEWER) as pilot:
        view = await open_viewer(pilot)
        for wrap_key in ("", "w"):
            if wrap_key:
                await pilot.press(wrap_key)
            for key, expected in (("G", view.max_scroll_y), ("k", view.max_scroll_y - 1),
                                  ("g", 0), ("j", 1)):
                await pilot.press(key)
                await pilot.pause()
                assert view.scroll_y == expected, (wrap_key, key)
            assert view.max_scroll_y > 0
            await pilot.press("g")


@pilot_test
async def test_toggling_wrap_keeps_the_top_line_at_the_top(make_log: SagaLogFactory) -> None:
    many = {f"key_{n:03d}": n for n in range(60)}
    app = make_app(log_with_output(make_log, failed_output(**many)))
    async with app.run_test(size=VIEWER) as pilot:
        view = await open_viewer(pilot)
        for _ in range(20):  # past the wrapped reason, into the keys
            await pilot.press("j")
        await pilot.pause()
        top = drawn_rows(view)[0]
        assert '"key_' in top
        for _ in range(2):
            await pilot.press("w")
            await pilot.pause()
            assert drawn_rows(view)[0] == top, view.wrap


# -- a large value -------------------------------------------------------------------------


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Holds the viewer's preparation of the text until set (so the loading state is seen
    however fast the machine is)."""
    opened = threading.Event()
    real = payload_view.split_lines

    def held(text: str) -> PayloadLines:
        if threading.current_thread() is not threading.main_thread():  # the worker's
            opened.wait(30)
        return real(text)

    monkeypatch.setattr(payload_view, "split_lines", held)
    yield opened
    opened.set()


def large_output() -> str:
    return failed_output(panes=[f"pane-{n:06d}" for n in range(LARGE_PAYLOAD // 8)])


@pilot_test
async def test_a_large_value_says_it_is_loading_then_shows_the_whole_text(
    make_log: SagaLogFactory, gate: threading.Event
) -> None:
    output = large_output()
    whole = json.dumps(json.loads(output), indent=2)
    app = make_app(log_with_output(make_log, output))
    async with app.run_test(size=VIEWER) as pilot:
        view = await open_viewer(pilot, loaded=False)
        await pilot.pause()
        # At once: its head (the preview, wrapped), saying the rest is loading.
        message = f"loading {format_size(len(output))}…"
        shown = screen_text(app)
        assert not view.ready and message in shown
        assert '"event": "reap_failed"' in shown and END in shown
        assert view.line_count < whole.count("\n") // 10
        await pilot.press("G")
        await pilot.pause()
        assert drawn_rows(view)[-1].startswith(message)  # under the head, too
        await pilot.press("g")
        gate.set()
        await wait_for(pilot, lambda: view.ready and view.wrapped is not None, "the whole text")
        await pilot.pause()
        shown = screen_text(app)
        assert "loading" not in shown and END in shown
        assert view.line_count == whole.count("\n") + 1
        await pilot.press("G")
        await pilot.pause()
        assert '"pane-008191"' in screen_text(app)  # the last of the value


@pilot_test
async def test_escape_closes_the_viewer_while_it_loads(
    make_log: SagaLogFactory, gate: threading.Event
) -> None:
    app = make_app(log_with_output(make_log, large_output()))
    async with app.run_test(size=VIEWER) as pilot:
        view = await open_viewer(pilot, loaded=False)
        assert not view.ready
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        gate.set()  # the preparation ends into a closed screen: nothing happens
        await pilot.pause(0.05)
        assert isinstance(app.screen, DashboardScreen) and app.is_running


# -- the terminal and the mouse ------------------------------------------------------------


@pilot_test
async def test_a_resize_wraps_again_to_the_new_width(make_log: SagaLogFactory) -> None:
    app = make_app(log_with_output(make_log, failed_output()))
    async with app.run_test(size=VIEWER) as pilot:
        view = await open_viewer(pilot)
        narrow = view.wrapped
        assert narrow is not None
        await pilot.resize_terminal(120, 30)
        await wait_for(pilot, lambda: view.wrapped is not None and view.wrapped.width > 100,
                       "the wider rows")
        assert view.wrapped.row_count < narrow.row_count
        assert view.virtual_size.height == view.wrapped.row_count


@pilot_test
async def test_clicks_drags_and_the_wheel_leave_the_viewer_working(
    make_log: SagaLogFactory,
) -> None:
    app = make_app(log_with_output(make_log, failed_output(**{f"k{n}": n for n in range(60)})))
    async with app.run_test(size=VIEWER) as pilot:
        view = await open_viewer(pilot)
        for times in (1, 2, 3):
            await pilot.click(PayloadView, offset=(5, 3), times=times)
        await pilot.mouse_down(PayloadView, offset=(2, 2))
        await pilot.hover(PayloadView, offset=(30, 8))
        await pilot.mouse_up(PayloadView, offset=(30, 8))
        await pilot.pause()
        view.post_message(MouseScrollDown(view, 5, 5, 0, 1, 0, False, False, False))
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, PayloadScreen)
        assert view.scroll_y > 0  # the wheel scrolled it
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
