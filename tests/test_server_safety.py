"""Read-only, proven on server logs (`sagas.db`), as test_safety_readonly.py and
test_readonly.py prove it on the launcher's: every command and a whole dashboard session
leave the .db and its -wal byte-identical and user_version unstamped, both live (a server
process holding the file open in WAL mode, its rows still in the -wal) and with --immutable
(which creates no -wal or -shm at all). Writes through the store's own connection to the
server's tables are refused too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from saga_inspector import cli
from saga_inspector.demo import write_saga_log
from saga_inspector.store import SagaQuery, SagaStore
from saga_inspector.store.formats import SERVER
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.screens.help import HelpScreen
from saga_inspector.tui.screens.payload import PayloadScreen
from saga_inspector.tui.widgets.header import WarningBanner
from saga_inspector.tui.widgets.saga_table import SagaTable

from .helpers import ROOT, SIZE, idle, make_app, pilot_test, wait_for
from .server_writer import server_sagas

IN_FILE, IN_WAL = 30, 20  # sagas checkpointed into the file, and left in the -wal


def fingerprint(folder: Path) -> dict[str, tuple[str, int, int, int, int]]:
    """sha256, size, mtime (ns), owner and mode of every file in `folder`. Called only while
    no connection to these files is open in this process."""
    found = {}
    for path in sorted(folder.iterdir()):
        info = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        found[path.name] = (digest, info.st_size, info.st_mtime_ns, info.st_uid, info.st_mode)
    return found


def same_db_and_wal(before: dict, after: dict, db: Path) -> None:
    """The .db and -wal unchanged to the byte and the nanosecond (or still absent); a -shm
    (SQLite's read marks live there) kept its owner and mode."""
    for suffix in ("", "-wal"):
        name = db.name + suffix
        assert after.get(name) == before.get(name), name
    shm = db.name + "-shm"
    if shm in before:
        assert after[shm][3:] == before[shm][3:]


def user_version(path: Path) -> int:
    """The file header's user_version (bytes 60-63), read without SQLite."""
    return int.from_bytes(path.read_bytes()[60:64], "big")


class HeldOpen:
    """tests/server_writer.py --hold-open: a server process with the log open in WAL mode,
    IN_WAL sagas committed into the -wal and never checkpointed, until `release()`."""

    def __init__(self, path: Path) -> None:
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.server_writer", str(path), "--hold-open",
             "--sagas", str(IN_WAL)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        assert self.ready.wait(60), "the writer never said ready"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip() == "ready":
                self.ready.set()

    def release(self) -> None:
        stdin = self.process.stdin
        if stdin is not None and not stdin.closed:
            stdin.write("go\n")
            stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture
def live_log(tmp_path: Path) -> Iterator[Path]:
    """A server log as a running server holds it: IN_FILE sagas in the file, IN_WAL more in
    its -wal, the writer's connection open in another process for the whole test."""
    folder = tmp_path / "db"
    folder.mkdir()
    path = write_saga_log(folder / "sagas.db", server_sagas(IN_FILE), log_format=SERVER)
    holder = HeldOpen(path)
    try:
        assert Path(f"{path}-wal").stat().st_size > 0
        yield path
    finally:
        holder.release()


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    """A clean server log alone in its folder (a copy taken as evidence)."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    return write_saga_log(folder / "sagas.db", server_sagas(IN_FILE + IN_WAL),
                          log_format=SERVER)


# -- the CLI, every command, in both modes -----------------------------------------------------


def cli_runs(db: Path, saga_id: int) -> list[list[str]]:
    runs = []
    for mode in ([], ["--json"]):
        runs += [["stats", str(db), *mode], ["list", str(db), *mode],
                 ["list", str(db), "--state", "attention", "--search", "tab", "--limit", "0",
                  *mode],
                 ["list", str(db), "--state", "compensated", "--sort", "duration", *mode],
                 ["list", str(db), "--search", "ref:x since:2026-06-01", *mode],
                 ["show", str(db), str(saga_id), *mode], ["show", str(db), "999999", *mode]]
    runs += [["list", str(db), "--jsonl"], ["list", str(db), "--format", "csv"],
             ["stats", str(db), "--format", "server"]]
    return runs


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_leaves_a_live_server_log_alone(live_log: Path, capsys) -> None:
    before = fingerprint(live_log.parent)
    assert user_version(live_log) == 1
    newest = IN_FILE + IN_WAL
    for argv in cli_runs(live_log, newest):
        code, _out, err = run_cli(capsys, *argv)
        assert code == (1 if "999999" in argv else 0), (argv, err)
        assert "Traceback" not in err
    # the rows in the -wal were read
    stats = json.loads(run_cli(capsys, "stats", str(live_log), "--json")[1])
    assert stats["total"] == newest and stats["format"] == "server"
    same_db_and_wal(before, fingerprint(live_log.parent), live_log)
    assert user_version(live_log) == 1


def test_immutable_commands_on_a_server_log_create_and_change_nothing(evidence: Path,
                                                                      capsys) -> None:
    before = fingerprint(evidence.parent)
    assert set(before) == {"sagas.db"}
    for argv in cli_runs(evidence, 8):
        code, _out, err = run_cli(capsys, *argv, "--immutable")
        assert (code, err) == ((1, err) if "999999" in argv else (0, "")), argv
    assert fingerprint(evidence.parent) == before  # no -wal, no -shm, not a byte changed


def test_immutable_beside_a_live_servers_wal_refuses_or_reads_the_file_alone(
    live_log: Path, capsys,
) -> None:
    before = fingerprint(live_log.parent)
    code, out, err = run_cli(capsys, "stats", str(live_log), "--immutable")
    assert (code, out) == (2, "")
    assert err.startswith(f"saga-inspector: error: {live_log}: --immutable would not show "
                          "the rows in sagas.db-wal")
    assert "add --force" in err and err.count("\n") == 1
    code, out, err = run_cli(capsys, "stats", str(live_log), "--immutable", "--force",
                             "--json")
    assert code == 0
    stats = json.loads(out)
    assert stats["total"] == IN_FILE  # the -wal's sagas are not there
    assert stats["warnings"][0].startswith("sagas.db-wal (")
    same_db_and_wal(before, fingerprint(live_log.parent), live_log)


def test_immutable_messages_on_a_server_log_do_not_blame_the_launcher(live_log: Path,
                                                                     capsys) -> None:
    _code, _out, refused = run_cli(capsys, "stats", str(live_log), "--immutable")
    _code, _out, forced = run_cli(capsys, "stats", str(live_log), "--immutable", "--force")
    # Said before the file's format is known: its writer, whichever it is.
    for message in (refused, forced):
        assert "launcher" not in message, message
        assert "its writer" in message, message


# -- the store, directly ---------------------------------------------------------------------


def use_every_public_method(store: SagaStore) -> None:
    several = SagaQuery(frozenset({"failed", "compensated"}))
    store.changed()
    store.data_version()
    store.counts()
    for query in (SagaQuery(), several, SagaQuery(text="tab")):
        store.count(query)
        newest = store.sagas(query, limit=7)
        store.sagas(query, older_than=newest[-1].saga_id, limit=7)
        store.sagas(query, newer_than=newest[-1].saga_id, limit=7)
        store.oldest(query, limit=7)
        store.page_anchors(query, stride=7)
    for saga in store.sagas(limit=1000):
        store.saga(saga.saga_id)
    store.saga(10**30)
    with store.snapshot():
        store.counts()
    store.newest_id()
    store.saga_states()
    store.interrupt()
    assert store.schema.user_version == 1


def test_the_store_changes_neither_a_live_server_log_nor_its_wal(live_log: Path) -> None:
    before = fingerprint(live_log.parent)
    with SagaStore.open(live_log) as store:
        assert store.format is SERVER
        use_every_public_method(store)
        assert store.counts().total == IN_FILE + IN_WAL
    same_db_and_wal(before, fingerprint(live_log.parent), live_log)


def test_immutable_store_on_a_server_log_touches_no_file(evidence: Path) -> None:
    before = fingerprint(evidence.parent)
    with SagaStore.open(evidence, immutable=True) as store:
        use_every_public_method(store)
    assert fingerprint(evidence.parent) == before


WRITES = [
    "INSERT INTO saga VALUES (999, 'delete_tab', 'running', 1, NULL, NULL, '{}')",
    "UPDATE saga SET state = 'compensated'",
    "DELETE FROM saga_step WHERE saga_id = 1",
    "REPLACE INTO saga_step (saga_id, step_index, name, state, cmd_json, started_at) "
    "VALUES (1, 0, 'x', 'pending', '{}', 1)",
    "CREATE INDEX evil ON saga(name)",
    "DROP INDEX saga_state_idx",
    "DROP TABLE saga_step",
    "ALTER TABLE saga ADD COLUMN evil TEXT",
    "PRAGMA user_version = 7",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA wal_checkpoint(TRUNCATE)",
    "VACUUM",
    "ANALYZE",
    "REINDEX",
]


def test_every_write_to_the_servers_tables_is_refused(live_log: Path) -> None:
    before = fingerprint(live_log.parent)
    with SagaStore.open(live_log) as store:
        total = store.counts().total
        for sql in WRITES:
            with pytest.raises(sqlite3.DatabaseError):
                store._conn.execute(sql)
            if store._conn.in_transaction:
                store._conn.rollback()
        assert store._conn.execute("PRAGMA user_version").fetchone() == (1,)
        assert store.counts().total == total
        # mode=ro is the first wall: without the authorizer, writes still fail
        store._conn.set_authorizer(None)
        for sql in ("UPDATE saga SET state = 'completed'", "PRAGMA user_version = 7"):
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                store._conn.execute(sql)
        with contextlib.suppress(sqlite3.Error):
            store._conn.rollback()
    same_db_and_wal(before, fingerprint(live_log.parent), live_log)
    assert user_version(live_log) == 1


# -- a whole dashboard session --------------------------------------------------------------


async def every_dashboard_action(app: SagaInspectorApp, pilot, clipboard: list[str],
                                 total: int) -> None:
    """The dashboard's keys on a server log, each group checked to have done its thing."""
    await idle(pilot)
    table = app.dashboard.query_one(SagaTable)
    await pilot.press("1", "2", "3", "4", "5", "6", "a", "0", "j", "G", "g", "pagedown")
    await idle(pilot)
    assert table.total == total and table.highlighted_saga is not None
    await pilot.press("slash", *"tab", "enter")
    await idle(pilot)
    assert table.saga_query is not None and table.saga_query.text == "tab"
    await pilot.press("escape", "enter", "tab", "shift+tab", "enter", "y", "o")
    await wait_for(pilot, lambda: isinstance(app.screen, PayloadScreen), "the payload screen")
    await pilot.press("y", "escape", "escape", "escape", "y", "r", "question_mark")
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
    await pilot.press("escape", "ctrl+p", *"refr", "enter")
    await idle(pilot)
    assert len(clipboard) == 3  # a payload, the same in full, the saga as JSON
    await pilot.press("q")
    await pilot.pause()


@pilot_test
async def test_a_whole_dashboard_session_on_a_live_server_log_changes_nothing(
    live_log: Path, clipboard: list[str],
) -> None:
    before = fingerprint(live_log.parent)
    app = make_app(live_log)
    async with app.run_test(size=SIZE) as pilot:
        await every_dashboard_action(app, pilot, clipboard, IN_FILE + IN_WAL)
    assert app.return_code == 0
    same_db_and_wal(before, fingerprint(live_log.parent), live_log)
    assert user_version(live_log) == 1


@pilot_test
async def test_an_immutable_dashboard_session_on_a_server_log_touches_no_file(
    evidence: Path, clipboard: list[str],
) -> None:
    before = fingerprint(evidence.parent)
    app = make_app(evidence, immutable=True)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert not app.dashboard.query_one(WarningBanner).display  # asked for: no banner
        await every_dashboard_action(app, pilot, clipboard, IN_FILE + IN_WAL)
    assert app.return_code == 0
    assert fingerprint(evidence.parent) == before
