"""The `e` export: a modal asks format and file, the view's sagas are written page by page
with a progress bar, escape cancels (and leaves no file), the saga log is never written."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, ProgressBar, RadioButton, Static

from saga_inspector.export import CSV_COLUMNS
from saga_inspector.report import saga_to_dict
from saga_inspector.store import ErrorKind, Saga, SagaQuery, SagaStore, StoreError
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.payload import strict_json
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.screens.dashboard import DashboardScreen
from saga_inspector.tui.screens.export import ExportScreen

from .factory import SagaLogFactory
from .helpers import (
    NOW,
    SIZE,
    gate,
    idle,
    make_app,
    open_export,
    pilot_test,
    pin_export_clock,
    press,
    record_notifications,
    screen_text,
    wait_for,
)

STAMP = NOW.astimezone().strftime("%Y%m%d-%H%M%S")
@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current folder, where exports go by default."""
    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def export_screen(app: SagaInspectorApp) -> ExportScreen:
    assert isinstance(app.screen, ExportScreen)
    return app.screen


def note(app: SagaInspectorApp) -> str:
    return str(export_screen(app).query_one("#export-note", Static).render())


def expected(path: Path, query: SagaQuery) -> list[dict[str, object]]:
    # Through the view the dashboard reads (MergedSource): `source` is its label.
    with MergedSource.open([path]) as source:
        return [json.loads(strict_json(saga_to_dict(s))) for s in source.walk(query)]


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- exporting -----------------------------------------------------------------------------------


@pilot_test
async def test_e_exports_the_whole_view_to_json_lines(
    make_log: SagaLogFactory, out: Path
) -> None:
    path = make_log.realistic(250)
    app = make_app(path)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = await open_export(pilot)
        name = f"sagas-all-{STAMP}.jsonl"
        assert screen.query_one("#export-path", Input).value == name
        assert "Writes the 250 sagas of this view" in str(
            screen.query_one("#export-what", Static).render())
        await press(pilot, "enter")
        assert isinstance(app.screen, DashboardScreen)
    written = out / name
    lines = [json.loads(line) for line in written.read_text().splitlines()]
    assert lines == expected(path, SagaQuery())
    assert listing(out) == [name]
    assert notes[-1] == ("information", f"exported 250 sagas to {written}")


@pilot_test
async def test_the_view_is_the_filter_and_the_search_and_csv_follows_the_name(
    make_log: SagaLogFactory, out: Path
) -> None:
    path = make_log.realistic(250)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "a", "slash", *"cleanup", "enter")
        screen = await open_export(pilot)
        assert "needs attention · search “cleanup”" in str(
            screen.query_one("#export-what", Static).render())
        await pilot.click("#export-csv")
        await pilot.pause()
        name = f"sagas-attention-search-{STAMP}.csv"
        assert screen.query_one("#export-path", Input).value == name
        screen.query_one("#export-path", Input).focus()
        await press(pilot, "enter")
        query = app.dashboard._query()
    rows = (out / name).read_text().splitlines()
    assert rows[0] == ",".join(CSV_COLUMNS)
    ids = [int(row.split(",")[0]) for row in rows[1:]]
    assert ids == [saga["saga_id"] for saga in expected(path, query)]
    assert query.states is not None and query.text == "cleanup" and len(ids) > 1


@pilot_test
async def test_the_saga_log_is_never_an_export_target(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_log.realistic(20)
    monkeypatch.chdir(path.parent)
    before = path.read_bytes()
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        for target in (path.name, f"{path.name}-wal", str(path), f"./{path.name}-shm"):
            screen = await open_export(pilot, target)
            await press(pilot, "enter")
            assert screen is app.screen, target  # still asking
            assert "exports never write to it" in note(app), target
            await press(pilot, "escape")
            assert isinstance(app.screen, DashboardScreen)
    assert path.read_bytes() == before


@pilot_test
async def test_an_existing_file_is_replaced_only_when_asked_twice(
    make_log: SagaLogFactory, out: Path
) -> None:
    path = make_log.realistic(30)
    existing = out / "mine.jsonl"
    existing.write_text("keep me\n")
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await open_export(pilot, "mine.jsonl")
        await press(pilot, "enter")
        assert "mine.jsonl exists: enter again to replace it" in note(app)
        assert existing.read_text() == "keep me\n"
        await press(pilot, "enter")
        assert isinstance(app.screen, DashboardScreen)
    assert len(existing.read_text().splitlines()) == 30


@pilot_test
async def test_changing_the_name_asks_again(make_log: SagaLogFactory, out: Path) -> None:
    (out / "a.jsonl").write_text("a\n")
    (out / "b.jsonl").write_text("b\n")
    app = make_app(make_log.realistic(5))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = await open_export(pilot, "a.jsonl")
        await press(pilot, "enter")
        screen.query_one("#export-path", Input).value = "b.jsonl"
        await press(pilot, "enter")
        assert "b.jsonl exists" in note(app) and app.screen is screen
    assert [(out / n).read_text() for n in ("a.jsonl", "b.jsonl")] == ["a\n", "b\n"]


@pilot_test
async def test_progress_then_escape_cancels_and_leaves_no_file(
    make_log: SagaLogFactory, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = gate(monkeypatch, after=200)
    pin_export_clock(monkeypatch)
    (out / "old.jsonl").write_text("the previous export\n")
    app = make_app(make_log.realistic(250))
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = await open_export(pilot, "old.jsonl")
        await pilot.press("enter", "enter")  # exists: replace it
        bar = screen.query_one(ProgressBar)
        await wait_for(pilot, lambda: held.reached.is_set() and bar.progress == 200,
                       "the export to be held part-way")
        assert bar.display and bar.total == 250
        # Written of the total, the pace and the time left: 200 in 4 s, 50 left.
        assert note(app) == "exported 200 of 250 sagas · 50 sagas/s · about 1 s left"
        partial = [name for name in listing(out) if name.endswith(".partial")]
        assert len(partial) == 1 and partial[0].startswith(".old.jsonl.")
        assert screen.query_one("#export-path", Input).disabled  # nothing to change now
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), "the cancel")
        await idle(pilot)
    assert listing(out) == ["old.jsonl"]  # no partial file, the old one untouched
    assert (out / "old.jsonl").read_text() == "the previous export\n"
    assert notes[-1] == ("information", "export cancelled: no file written")


@pilot_test
async def test_progress_is_shown_by_a_ticker_not_by_a_message_a_page(
    make_log: SagaLogFactory, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a hundred thousand sagas a second, a message a page would be a thousand a second
    for the screen to handle: the worker only counts, and the modal looks a few times a
    second."""
    held = gate(monkeypatch, after=900)  # nine pages written, then held
    posted: list[str] = []
    original = ExportScreen.post_message

    def spy(self: ExportScreen, message: object) -> bool:
        posted.append(type(message).__name__)
        return original(self, message)  # type: ignore[arg-type]

    monkeypatch.setattr(ExportScreen, "post_message", spy)
    app = make_app(make_log.realistic(1000))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = await open_export(pilot, "x.jsonl")
        await pilot.press("enter")
        bar = screen.query_one(ProgressBar)
        await wait_for(pilot, lambda: held.reached.is_set() and bar.progress == 900,
                       "the export held after nine pages")
        assert note(app).startswith("exported 900 of 1,000 sagas · ")
        assert posted.count("ExportProgress") == 1  # when it began, never a page
        held.release.set()
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), "the end")
    assert len((out / "x.jsonl").read_text().splitlines()) == 1000


@pilot_test
async def test_a_failed_write_is_said_in_the_modal(
    make_log: SagaLogFactory, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("saga_inspector.tui.screens.export.export_to_file", full)
    app = make_app(make_log.realistic(5))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = await open_export(pilot, "x.jsonl")
        await press(pilot, "enter")
        assert app.screen is screen
        assert "export failed, no file written: cannot write" in note(app)
        assert "No space left on device" in note(app)
        path_input = screen.query_one("#export-path", Input)
        assert not path_input.disabled and app.focused is path_input  # try another name
    assert listing(out) == []


@pilot_test
async def test_escape_stops_a_scan_part_way(
    make_log: SagaLogFactory, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sorted page at a million sagas is seconds of scan: the worker's flag goes into the
    store's reads, so escape stops the scan itself, not only the writing between pages."""
    scanning, release = threading.Event(), threading.Event()
    stopped_by: list[str] = []

    def long_scan(store: SagaStore, query: SagaQuery, limit: int = 0, *,
                  cancelled: Callable[[], bool] | None = None,
                  **kwargs: object) -> Iterator[Saga]:
        scanning.set()
        while not release.wait(0.01):  # a scan that only its flag (or the test) ends
            if cancelled is not None and cancelled():
                stopped_by.append("its flag")
                raise StoreError(ErrorKind.CANCELLED, "query cancelled")
        stopped_by.append("the test")
        yield from ()

    monkeypatch.setattr(SagaStore, "walk", long_scan)
    app = make_app(make_log.realistic(20))
    notes = record_notifications(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await idle(pilot)
            await open_export(pilot, "x.jsonl")
            await pilot.press("enter")
            await wait_for(pilot, scanning.is_set, "the scan to start")
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), "the stop")
    finally:
        release.set()
    assert stopped_by == ["its flag"]
    assert notes[-1] == ("information", "export cancelled: no file written")
    assert listing(out) == []


@pilot_test
async def test_the_count_of_an_uncounted_view_can_be_cancelled_too(
    make_log: SagaLogFactory, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags: list[object] = []
    original = SagaStore.count

    def count(store: SagaStore, query: SagaQuery, **kwargs: object) -> int:
        flags.append(kwargs.get("cancelled"))
        return original(store, query, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SagaStore, "count", count)
    path = make_log.realistic(30)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert app.store is not None
        flags.clear()
        screen = ExportScreen(app.store, SagaQuery(text="cleanup"), database=path,
                              view="search", view_name="search", total=None, now=NOW)
        app.call_next(app.push_screen, screen)
        await wait_for(pilot, lambda: app.screen is screen, "the modal")
        await press(pilot, "enter")
        assert isinstance(app.screen, DashboardScreen)
    assert len(flags) == 1 and callable(flags[0])


@pilot_test
async def test_a_nul_in_the_name_is_said_not_raised(
    make_log: SagaLogFactory, out: Path
) -> None:
    app = make_app(make_log.realistic(5))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        for typed in ("a\0b.jsonl", "~x\0y/a.jsonl"):
            screen = await open_export(pilot, typed)
            await press(pilot, "enter")
            assert app.screen is screen and app.is_running, typed
            assert note(app) == "not a usable file name", typed
            await press(pilot, "escape")
    assert listing(out) == []


@pilot_test
async def test_an_unexpected_error_ends_the_export_visibly(
    make_log: SagaLogFactory, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("a bug \x1b[2J here")

    monkeypatch.setattr("saga_inspector.tui.screens.export.export_to_file", broken)
    app = make_app(make_log.realistic(5))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = await open_export(pilot, "x.jsonl")
        await press(pilot, "enter")
        await wait_for(pilot, lambda: not screen.running, "the export to end")
        assert note(app) == "export failed, no file written: RuntimeError: a bug ␛[2J here"
        assert not screen.query_one("#export-path", Input).disabled
        await press(pilot, "escape")
        assert isinstance(app.screen, DashboardScreen)
    assert listing(out) == []


@pilot_test
async def test_an_empty_view_has_nothing_to_export(make_log: SagaLogFactory, out: Path) -> None:
    app = make_app(make_log.realistic(5))
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "4", "e")  # compensating: none in this log
        assert isinstance(app.screen, DashboardScreen)
    assert notes[-1] == ("warning", "no sagas in this view to export")


def test_every_key_of_the_modal_is_in_the_help() -> None:
    from saga_inspector.tui.screens.help import help_markdown

    for binding in ExportScreen.BINDINGS:
        assert f"`{binding.key}`" in help_markdown()  # type: ignore[union-attr]


@pilot_test
async def test_copy_and_export_are_in_the_command_palette(
    make_log: SagaLogFactory, out: Path
) -> None:
    app = make_app(make_log.realistic(5))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        for title in ("Copy payload", "Copy saga as JSON", "Copy triage summary",
                      "Export the view"):
            assert title in commands, title
        assert "(e)" in commands["Export the view"].help
        app.call_next(commands["Export the view"].callback)  # as the palette runs it
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), "the modal")


@pilot_test
async def test_the_export_keeps_the_views_sort(make_log: SagaLogFactory, out: Path) -> None:
    from saga_inspector.store.models import SortOrder

    path = make_log.realistic(150)
    query = SagaQuery(frozenset({"failed", "failed_compensation"}), sort=SortOrder.DURATION)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert app.store is not None
        screen = ExportScreen(app.store, query, database=path, view="by duration",
                              view_name="sorted", total=None, now=NOW)
        app.call_next(app.push_screen, screen)  # from the app's own loop, as a key does
        await wait_for(pilot, lambda: app.screen is screen, "the modal")
        assert "Writes the sagas of this view, longest first" in str(
            screen.query_one("#export-what", Static).render())
        await press(pilot, "enter")
    name = f"sagas-sorted-{STAMP}.jsonl"
    ids = [json.loads(line)["saga_id"] for line in (out / name).read_text().splitlines()]
    assert ids == [saga["saga_id"] for saga in expected(path, query)]
    assert ids != sorted(ids, reverse=True)  # not simply newest first


# -- the format follows the name, the path is shown first, the mark is a glyph --------------------


def destination_line(screen: ExportScreen) -> str:
    return str(screen.query_one("#export-destination", Static).render())


def chosen(screen: ExportScreen) -> dict[str, bool]:
    return {button.id or "": button.value for button in screen.query(RadioButton)}


async def retype(pilot: Pilot, screen: ExportScreen, name: str) -> None:
    """Clear the name and type `name` key by key into it, as the operator does."""
    path_input = screen.query_one("#export-path", Input)
    path_input.focus()
    path_input.value = ""
    await pilot.pause()
    await pilot.press(*name)
    await pilot.pause()


@pilot_test
async def test_typing_a_csv_name_with_json_lines_chosen_writes_csv(
    make_log: SagaLogFactory, out: Path
) -> None:
    path = make_log.realistic(30)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = await open_export(pilot)
        assert chosen(screen) == {"export-jsonl": True, "export-csv": False}
        await retype(pilot, screen, "x.csv")
        assert chosen(screen) == {"export-jsonl": False, "export-csv": True}
        assert screen.format == "csv"
        await press(pilot, "enter")
        assert isinstance(app.screen, DashboardScreen)
    rows = (out / "x.csv").read_text().splitlines()
    assert rows[0] == ",".join(CSV_COLUMNS) and len(rows) == 31
    assert listing(out) == ["x.csv"]


@pytest.mark.parametrize(("name", "fmt"), [("X.CSV", "csv"), ("x.json", "jsonl"),
                                           ("x.jsonl", "jsonl"), ("notes.txt", "csv")])
def test_the_name_chooses_the_format_it_names(
    make_log: SagaLogFactory, out: Path, name: str, fmt: str
) -> None:
    """Starting from CSV: a name naming a format chooses it; any other name keeps the choice."""

    @pilot_test
    async def check() -> None:
        app = make_app(make_log.realistic(5))
        async with app.run_test(size=SIZE) as pilot:
            await idle(pilot)
            screen = await open_export(pilot)
            await pilot.click("#export-csv")
            await pilot.pause()
            await retype(pilot, screen, name)
            assert screen.query_one("#export-path", Input).value == name
            assert screen.format == fmt and chosen(screen)[f"export-{fmt}"]
            await press(pilot, "enter")
        written = (out / name).read_text().splitlines()
        assert written[0] == ",".join(CSV_COLUMNS) if fmt == "csv" else json.loads(written[0])

    check()


@pilot_test
async def test_choosing_a_format_changes_the_names_extension(
    make_log: SagaLogFactory, out: Path
) -> None:
    app = make_app(make_log.realistic(5))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = await open_export(pilot, "report.json")
        path_input = screen.query_one("#export-path", Input)
        await pilot.click("#export-csv")
        await pilot.pause()
        assert path_input.value == "report.csv"
        await pilot.click("#export-jsonl")
        await pilot.pause()
        assert path_input.value == "report.jsonl"
        path_input.value = "report.txt"  # names no format: left as typed
        await pilot.click("#export-csv")
        await pilot.pause()
        assert path_input.value == "report.txt"


@pilot_test
async def test_the_full_path_is_shown_as_the_name_is_typed_before_writing(
    make_log: SagaLogFactory, out: Path
) -> None:
    (out / "sub").mkdir()
    (out / "link").symlink_to(out / "sub")
    app = make_app(make_log.realistic(5))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = await open_export(pilot)
        assert destination_line(screen) == f"writes JSON lines to {out}/sagas-all-{STAMP}.jsonl"
        await retype(pilot, screen, "link/../link/y.csv")
        # The folder resolved (the link, the ..): where the file really lands.
        assert destination_line(screen) == f"writes CSV to {out}/sub/y.csv"
        assert listing(out) == ["link", "sub"]  # shown, nothing written yet
        await press(pilot, "enter")
    assert listing(out / "sub") == ["y.csv"]


@pilot_test
async def test_a_name_that_cannot_be_written_says_why_while_typed(
    make_log: SagaLogFactory, out: Path
) -> None:
    app = make_app(make_log.realistic(5))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = await open_export(pilot)
        await retype(pilot, screen, "nowhere/x.csv")
        assert destination_line(screen) == ""  # no path that would not be written
        assert note(app) == "no such folder"
        await retype(pilot, screen, "~no-such-user-here/x.csv")
        assert destination_line(screen) == ""
        assert note(app) == "~no-such-user-here: no such user" and app.is_running
        await retype(pilot, screen, "x.csv")
        assert note(app) == "" and destination_line(screen).endswith("/x.csv")


@pilot_test
async def test_the_chosen_format_is_marked_by_a_glyph_not_a_colour(
    make_log: SagaLogFactory, out: Path
) -> None:
    app = make_app(make_log.realistic(5))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = await open_export(pilot)
        marks = {button.id: str(button.render())[:3] for button in screen.query(RadioButton)}
        assert marks == {"export-jsonl": "▐●▌", "export-csv": "▐ ▌"}
        await pilot.click("#export-csv")
        await pilot.pause()
        marks = {button.id: str(button.render())[:3] for button in screen.query(RadioButton)}
        assert marks == {"export-jsonl": "▐ ▌", "export-csv": "▐●▌"}
        # Drawn that way too, colours aside (the screenshot's text holds no colour).
        drawn = screen_text(app)
        assert "▐●▌ CSV" in drawn and "●▌ JSON lines" not in drawn


@pilot_test
async def test_the_dialog_fits_an_80x24_terminal(make_log: SagaLogFactory, out: Path) -> None:
    app = make_app(make_log.realistic(5))
    async with app.run_test(size=(80, 24)) as pilot:
        await idle(pilot)
        screen = await open_export(pilot)
        await retype(pilot, screen, "a-rather-long-name-for-the-export-of-this-view.csv")
        box = screen.query_one("#export-box").region
        assert box.width <= 80 and box.height <= 24
        for part in ("#export-what", "#export-format", "#export-path", "#export-destination",
                     "#export-note"):
            region = screen.query_one(part).region
            assert region.height >= 1 and box.contains_region(region), part
        assert "a-rather-long-name-for-the-export-of-this-view.csv" in screen_text(app)
