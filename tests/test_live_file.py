"""The file under the dashboard changes in the ways the operator does not control: deleted,
renamed, replaced by a new one, or locked by a writer. The app keeps what it shows, says
what happened, keeps answering keys, and catches up (or reopens on `R`).

The app looks at the file every 0.1 s here; every wait is for a condition, bounded.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from saga_inspector.demo import demo_sagas
from saga_inspector.store import SagaStore
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.screens.dashboard import WAITING
from saga_inspector.tui.screens.error import ErrorScreen
from saga_inspector.tui.screens.help import HelpScreen
from saga_inspector.tui.widgets.header import WarningBanner
from saga_inspector.tui.widgets.saga_table import SagaTable

from .factory import SagaLogFactory, cleanup_saga
from .helpers import (
    INTERVAL,
    ROOT,
    SIZE,
    idle,
    lines,
    live_app,
    record_notifications,
    wait_to_show,
    wait_until,
)


def run(app: SagaInspectorApp, scenario: Callable[[Pilot], Awaitable[None]]) -> None:
    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await scenario(pilot)

    asyncio.run(main())


def remove_log(path: Path) -> None:
    """As a launcher deleting its legacy log at start-up: the file and what lies beside it."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def row_lines(table: SagaTable) -> list[str]:
    """The table's lines of sagas as drawn (without the border and the header)."""
    return [line for line in lines(table) if line[1:2].isdigit()]


def banner_text(app: SagaInspectorApp) -> str:
    banner = app.dashboard.query_one(WarningBanner)
    return str(banner.render()) if banner.display else ""


def test_a_file_deleted_then_recreated_keeps_its_rows_and_R_opens_the_new_one(
    make_log: SagaLogFactory,
) -> None:
    path = make_log(demo_sagas(40), name="launcher-sagas.db")
    app = live_app(path)
    notes = record_notifications(app)

    async def scenario(pilot: Pilot) -> None:
        await idle(pilot)
        dashboard, table = app.dashboard, app.dashboard.query_one(SagaTable)
        await pilot.press("j")
        await idle(pilot)
        chosen, drawn = table.highlighted_saga.saga_id, row_lines(table)
        assert not dashboard.check_action("reopen", ())  # nothing to reopen yet

        remove_log(path)
        await wait_until(pilot, lambda: dashboard.trouble == "file gone", "'file gone'")
        assert "launcher-sagas.db was deleted or renamed" in banner_text(app)
        # The same rows stay drawn (fewer of them: the banner took a line or two).
        assert drawn[:len(row_lines(table))] == row_lines(table)
        assert table.highlighted_saga.saga_id == chosen
        await wait_to_show(pilot, "▲ file gone", "R Reopen file")
        await pilot.press("k")  # keys still work on what is shown
        await wait_until(pilot, lambda: table.cursor_row == 0, "the cursor to move")

        make_log([cleanup_saga(1), cleanup_saga(2, "failed", at=5, reason="saga timeout")],
                 name="launcher-sagas.db")
        await wait_until(pilot, lambda: dashboard.trouble == "file replaced", "'replaced'")
        assert "replaced by another file" in banner_text(app)
        assert table.total == 40  # still the old file's rows

        await pilot.press("R")
        await wait_until(pilot, lambda: table.total == 2 and app.settled, "the new file")
        assert dashboard.trouble is None and banner_text(app) == ""
        assert [saga.saga_id for saga in (table._cache.row(0), table._cache.row(1))] == [2, 1]
        assert dashboard.counts is not None and dashboard.counts.total == 2
        assert not dashboard.check_action("reopen", ())
        assert not isinstance(app.screen, ErrorScreen)

    run(app, scenario)
    assert not [note for note in notes if note[0] == "error"]


def test_a_file_renamed_away_and_back_is_followed_again(make_log: SagaLogFactory) -> None:
    path = make_log(demo_sagas(20))
    app = live_app(path)

    async def scenario(pilot: Pilot) -> None:
        await idle(pilot)
        dashboard = app.dashboard
        aside = path.with_name("aside.db")
        path.rename(aside)
        await wait_until(pilot, lambda: dashboard.trouble == "file gone", "'file gone'")
        aside.rename(path)  # the same file (same inode) is back: no reopening needed
        await wait_until(pilot, lambda: dashboard.trouble is None, "live again")
        assert banner_text(app) == ""
        await wait_to_show(pilot, "● live")

    run(app, scenario)


def rollback_journal_log(make_log: SagaLogFactory) -> Path:
    """A log in rollback-journal mode: there a writer's EXCLUSIVE lock keeps readers out.
    (In WAL mode, the launcher's, nothing a writer does blocks a reader.)"""
    path = make_log(demo_sagas(40))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    return path


class LockHolder:
    """tests/writer.py --hold-lock in its own process: locks at once, lets go on `release()`,
    and says when it has done each."""

    def __init__(self, path: Path) -> None:
        self.locked, self.released = threading.Event(), threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.writer", str(path), "--hold-lock"],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def release(self) -> None:
        stdin = self.process.stdin
        if stdin is not None and not stdin.closed:
            stdin.write("release\n")
            stdin.close()

    def __enter__(self) -> LockHolder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()  # never leave the lock (nor the process) behind a failed test
        self.process.wait(timeout=30)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            {"locked": self.locked, "released": self.released}[line.strip()].set()


def test_a_writer_lock_says_waiting_keeps_keys_working_and_catches_up(
    make_log: SagaLogFactory,
) -> None:
    path = rollback_journal_log(make_log)
    with SagaStore.open(path) as store:
        running_before = store.counts().by_state["running"]
    app = live_app(path)
    notes = record_notifications(app)

    async def scenario(pilot: Pilot) -> None:
        await idle(pilot)
        dashboard = app.dashboard
        with LockHolder(path) as holder:
            await wait_until(pilot, lambda: dashboard.trouble == WAITING, "'waiting'")
            await wait_to_show(pilot, "▲ waiting for the writer's lock")
            # Keys are answered while the lock is held.
            await pilot.press("3")
            assert dashboard.active.name == "failed"
            await pilot.press("question_mark")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is dashboard, "the dashboard again")
            assert dashboard.trouble == WAITING  # still locked: keys answered meanwhile
            holder.release()
            await wait_until(pilot, lambda: holder.released.is_set(), "the lock to go")
        assert holder.process.returncode == 0
        await wait_until(pilot, lambda: dashboard.trouble is None and app.settled
                         and dashboard.counts.by_state["running"] == running_before - 1,
                         "the app to catch up")
        table = dashboard.query_one(SagaTable)
        assert table.total == dashboard.counts.by_state["failed"]
        assert all(table._cache.row(i).state == "failed" for i in range(table.total))

    run(app, scenario)
    assert not [note for note in notes if note[0] == "error"]


def test_a_file_locked_at_start_is_opened_once_the_lock_goes(make_log: SagaLogFactory) -> None:
    path = rollback_journal_log(make_log)
    app = live_app(path)

    async def scenario(pilot: Pilot) -> None:
        dashboard = app.dashboard
        await wait_until(pilot, lambda: dashboard.trouble == WAITING, "'waiting'")
        assert dashboard.store is None  # not open yet: it waits, no error screen
        holder.release()
        await wait_until(pilot, lambda: app.settled and dashboard.trouble is None,
                         "the file to open")
        assert dashboard.counts is not None and dashboard.counts.total == 40
        assert not isinstance(app.screen, ErrorScreen) and app.failed is None

    with LockHolder(path) as holder:
        assert holder.locked.wait(10)
        run(app, scenario)
    assert holder.process.returncode == 0


def test_a_write_transaction_held_open_in_wal_mode_never_makes_the_app_wait(
    make_log: SagaLogFactory,
) -> None:
    path = make_log(demo_sagas(20))
    app = live_app(path)

    async def scenario(pilot: Pilot) -> None:
        await idle(pilot)
        dashboard = app.dashboard
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN EXCLUSIVE")
        writer.execute("INSERT INTO launcher_saga VALUES (99, 'window_cleanup_cascade', "
                       "'running', '2026-06-09T11:00:00+00:00', NULL, '{}', NULL)")
        for _ in range(5):  # several looks at the file while the transaction is open
            await pilot.pause(INTERVAL)
            assert dashboard.trouble is None
            assert dashboard.counts is not None and dashboard.counts.total == 20
        writer.execute("COMMIT")
        writer.close()
        await wait_until(pilot, lambda: dashboard.counts.total == 21 and app.settled,
                         "the committed saga")
        table = dashboard.query_one(SagaTable)
        assert table.highlighted_saga.saga_id == 20 and table.new_above == 1

    run(app, scenario)
