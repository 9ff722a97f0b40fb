"""Pilot tests of the sources screen (`S`): every log of a view, its status, hiding one."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Static

from saga_inspector.sanitize import is_safe
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.models import SagaQuery
from saga_inspector.tui.screens.dashboard import DashboardScreen
from saga_inspector.tui.screens.help import help_markdown
from saga_inspector.tui.screens.sources import (
    SourceList,
    SourcesClosed,
    SourcesScreen,
    cut,
)

from .factory import SagaLogFactory, cleanup_saga, recovered_saga
from .helpers import NOW, screen_text, wait_for

TCSS = str(files("saga_inspector.tui").joinpath("app.tcss"))


class SourcesHost(App[None]):
    """Only the sources screen over a view, recording what it hands back."""

    CSS_PATH = TCSS

    def __init__(self, merged: MergedSource) -> None:
        super().__init__()
        self.merged = merged
        self.closed: list[SourcesClosed | None] = []

    def compose(self) -> ComposeResult:
        yield Static("the dashboard")

    def on_mount(self) -> None:
        self.push_screen(SourcesScreen(self.merged, lambda: NOW), self.closed.append)

    @property
    def sources_screen(self) -> SourcesScreen:
        screen = self.screen
        assert isinstance(screen, SourcesScreen)
        return screen


Scenario = Callable[[SourcesHost, Pilot[None]], Awaitable[None]]


def run(merged: MergedSource, scenario: Scenario, size: tuple[int, int] = (200, 60)) -> None:
    import asyncio

    async def main() -> None:
        host = SourcesHost(merged)
        async with host.run_test(size=size) as pilot:
            await scenario(host, pilot)

    try:
        asyncio.run(main())
    finally:
        merged.close()


def cells(host: SourcesHost) -> list[list[str]]:
    table = host.sources_screen.query_one(SourceList)
    return [[cell.plain if isinstance(cell, Text) else str(cell) for cell in table.get_row_at(n)]
            for n in range(table.row_count)]


def by_label(host: SourcesHost) -> dict[str, list[str]]:
    return {row[0]: row for row in cells(host)}


def detail(host: SourcesHost) -> str:
    shown = host.sources_screen.query_one("#sources-detail", Static).render()
    return shown.plain if isinstance(shown, Text) else str(shown)


async def rows_read(host: SourcesHost, pilot: Pilot[None], count: int) -> None:
    await wait_for(pilot, lambda: isinstance(host.screen, SourcesScreen)
                   and host.sources_screen.query_one(SourceList).row_count == count,
                   f"{count} rows")
    await pilot.pause()


@pytest.fixture
def fleet(tmp_path: Path, make_log: SagaLogFactory) -> tuple[list[Path], list[bool]]:
    """Five logs, one of each status: a good one, one a newer build wrote, a snapshot copy,
    one that is not there, one that is not a saga log."""
    root = make_log.folder
    good_dir, newer_dir, copy_dir = (root / name for name in ("good", "newer", "copy"))
    for folder in (good_dir, newer_dir, copy_dir):
        folder.mkdir()
    good = make_log([cleanup_saga(i, at=float(i)) for i in range(1, 6)],
                    name="good/launcher-sagas.db")
    newer = make_log([cleanup_saga(i, at=float(i) + 0.5) for i in range(1, 4)]
                     + [recovered_saga(4, at=9.0)],
                     name="newer/launcher-sagas.db", user_version=2)
    copy = copy_dir / "launcher-sagas.db"
    shutil.copy(good, copy)
    missing = root / "gone" / "launcher-sagas.db"
    broken_dir = root / "broken"
    broken_dir.mkdir()
    damaged = broken_dir / "launcher-sagas.db"
    damaged.write_bytes(b"this is not a database at all" * 200)
    return [good, newer, copy, missing, damaged], [False, False, True, False, False]


def test_rows_show_each_status_format_schema_counts_and_the_newer_warning(
    fleet: tuple[list[Path], list[bool]],
) -> None:
    paths, snapshots = fleet
    merged = MergedSource.open(paths, snapshots=snapshots)
    labels = [member.tag.label for member in merged.members]

    async def scenario(host: SourcesHost, pilot: Pilot[None]) -> None:
        await rows_read(host, pilot, 5)
        rows = by_label(host)
        good, newer, copy, missing, damaged = (rows[label] for label in labels)
        assert [row[3] for row in (good, newer, copy, missing, damaged)] == [
            "live", "live", "snapshot", "gone", "error"]
        assert good[1:3] == ["launcher", "1"] and newer[2] == "2 newer!"
        assert (good[4], good[5]) == ("5", "0")  # five sagas, none needing attention
        assert (newer[4], newer[5]) == ("4", "1")  # the recovered one needs attention
        assert damaged[1] == damaged[4] == "—"
        assert "sources · 5 logs" in screen_text(host)
        # The newer log's warning and the damaged log's error, on the highlighted row.
        await pilot.press("j")
        await pilot.pause()
        assert "newer launcher build" in detail(host)
        await pilot.press("j", "j", "j")
        await pilot.pause()
        said = detail(host)
        assert said.startswith(labels[4]) and f"error: {merged.members[4].error}" in said
        assert merged.members[4].error

    run(merged, scenario)


def test_hiding_a_source_and_closing_hands_it_back_and_the_view_leaves_it_out(
    fleet: tuple[list[Path], list[bool]],
) -> None:
    paths, snapshots = fleet
    merged = MergedSource.open(paths[:2], snapshots=snapshots[:2])
    good, newer = (member.tag.label for member in merged.members)
    assert {saga.source.label for saga in merged.sagas(SagaQuery())} == {good, newer}

    async def scenario(host: SourcesHost, pilot: Pilot[None]) -> None:
        await rows_read(host, pilot, 2)
        await pilot.press("space")  # the first row: the good log
        await wait_for(pilot, lambda: by_label(host)[good][3] == "hidden", "hidden")
        assert merged.member(good).hidden  # type: ignore[union-attr]
        # The last log shown cannot be hidden too.
        await pilot.press("j", "h")
        await pilot.pause()
        assert "the last log shown stays shown" in detail(host)
        assert not merged.member(newer).hidden  # type: ignore[union-attr]
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(host.closed), "the screen to close")
        assert host.closed == [SourcesClosed(frozenset({good}))]
        # What the dashboard reads again on that result: the view without the hidden log.
        assert {saga.source.label for saga in merged.sagas(SagaQuery())} == {newer}
        assert merged.counts().total == 4

    run(merged, scenario)


def test_the_screen_hands_back_which_logs_changed(
    fleet: tuple[list[Path], list[bool]],
) -> None:
    paths, snapshots = fleet
    merged = MergedSource.open(paths[:3], snapshots=snapshots[:3])
    labels = [member.tag.label for member in merged.members]
    handed: list[SourcesClosed | None] = []
    seen: list[set[str]] = []

    async def scenario(host: SourcesHost, pilot: Pilot[None]) -> None:
        await rows_read(host, pilot, 3)
        await pilot.press("space")
        await wait_for(pilot, lambda: by_label(host)[labels[0]][3] == "hidden", "hidden")
        await pilot.press("j", "j", "space")
        await wait_for(pilot, lambda: by_label(host)[labels[2]][3] == "hidden", "hidden")
        await pilot.press("space")  # shown again: not a change
        await wait_for(pilot, lambda: by_label(host)[labels[2]][3] == "snapshot", "shown")
        seen.append({saga.source.label for saga in merged.sagas(SagaQuery())})
        await pilot.press("q")
        await wait_for(pilot, lambda: bool(host.closed), "the screen to close")
        handed.extend(host.closed)

    run(merged, scenario)
    assert handed == [SourcesClosed(frozenset({labels[0]}))] and handed[0] is not None
    assert handed[0].changed
    assert seen == [{labels[1], labels[2]}]  # the view reads without the hidden log


def test_closing_without_a_change_asks_for_no_reload(
    fleet: tuple[list[Path], list[bool]],
) -> None:
    paths, snapshots = fleet
    merged = MergedSource.open(paths[:2], snapshots=snapshots[:2])

    async def scenario(host: SourcesHost, pilot: Pilot[None]) -> None:
        await rows_read(host, pilot, 2)
        await pilot.press("space", "space")  # hidden, then shown again
        await pilot.pause()
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(host.closed), "the screen to close")
        assert host.closed[0] is not None and not host.closed[0].changed

    run(merged, scenario)


@pytest.mark.parametrize("key", ["p", "enter"])
def test_the_full_path_is_one_key_away(fleet: tuple[list[Path], list[bool]], key: str) -> None:
    paths, snapshots = fleet
    merged = MergedSource.open(paths[:2], snapshots=snapshots[:2])

    async def scenario(host: SourcesHost, pilot: Pilot[None]) -> None:
        await rows_read(host, pilot, 2)
        assert str(paths[0]) not in detail(host)
        await pilot.press(key)
        await pilot.pause()
        assert f"path  {paths[0]}" in detail(host)
        await pilot.press("j")  # the path follows the cursor
        await pilot.pause()
        assert f"path  {paths[1]}" in detail(host)
        await pilot.press(key)  # and the key again hides it
        await pilot.pause()
        assert str(paths[1]) not in detail(host)

    run(merged, scenario)


def test_at_80x24_long_labels_are_cut_and_the_table_fits(
    tmp_path: Path, make_log: SagaLogFactory,
) -> None:
    long_name = "a-very-long-folder-name-that-an-operator-gave-to-a-support-bundle-copy"
    paths = []
    for n in (1, 2):
        folder = make_log.folder / f"{n}-{long_name}"
        folder.mkdir()
        paths.append(make_log([cleanup_saga(1)], name=f"{folder.name}/launcher-sagas.db"))
    merged = MergedSource.open(paths)

    async def scenario(host: SourcesHost, pilot: Pilot[None]) -> None:
        await rows_read(host, pilot, 2)
        await pilot.pause()
        table = host.sources_screen.query_one(SourceList)
        labels = [row[0] for row in cells(host)]
        assert all("…" in label for label in labels)
        assert labels[0] != labels[1]  # their starts tell them apart
        assert detail(host).startswith(merged.members[0].tag.label)  # in full below
        assert table.virtual_size.width <= table.size.width  # no sideways scroll
        shown = screen_text(host)
        assert "launcher" in shown and "live" in shown

    run(merged, scenario, size=(80, 24))


def test_file_system_text_is_drawn_safely(tmp_path: Path, make_log: SagaLogFactory) -> None:
    hostile = make_log.folder / "[b]x[red] \x1b[2J"
    hostile.mkdir()
    other = make_log.folder / "other"
    other.mkdir()
    paths = [make_log([cleanup_saga(1)], name=f"{hostile.name}/launcher-sagas.db"),
             make_log([cleanup_saga(1)], name="other/launcher-sagas.db")]
    merged = MergedSource.open(paths)

    async def scenario(host: SourcesHost, pilot: Pilot[None]) -> None:
        await rows_read(host, pilot, 2)
        await pilot.press("p")
        await pilot.pause()
        shown = screen_text(host)
        assert "[b]x[red]" in shown  # as written, not read as markup
        assert all(is_safe(row[0]) for row in cells(host))
        assert all(is_safe(line) for line in detail(host).splitlines())
        assert "\x1b" not in shown

    run(merged, scenario)


def test_a_label_too_long_for_its_room_is_cut_at_its_end() -> None:
    assert cut("stable/0.41.2/launcher", 40) == "stable/0.41.2/launcher"
    assert cut("stable/0.41.2/launcher", 14) == "stable/0.41.2…"


def test_the_key_is_bound_on_the_dashboard_and_every_key_is_in_the_help() -> None:
    keys = {binding.key: binding.action for binding in DashboardScreen.BINDINGS}  # type: ignore[union-attr]
    assert keys.get("S") == "sources"
    text = help_markdown()
    assert "- `S` — the logs of the view" in text
    section = text.split("## Sources (`S`)", 1)[1].split("\n## ", 1)[0]
    names = {"down": "↓", "up": "↑"}
    for owner in (SourcesScreen, SourceList):
        for binding in owner.BINDINGS:
            for key in binding.key.split(","):  # type: ignore[union-attr]
                assert f"`{names.get(key, key)}`" in section, key
