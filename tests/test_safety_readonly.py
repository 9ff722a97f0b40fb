"""Read-only, proven for every way of opening a file: a whole scripted dashboard session leaves
the .db and -wal byte-identical; --immutable creates and changes nothing at all (and refuses to
hide a -wal's rows unless --force); a file owned by someone else is never given -wal/-shm
files that would lock its owner's launcher out; a folder that cannot be written gets a message
that says so.

The tests that act as other users run small processes that drop to another uid (we run as
root here); they are skipped where that is not possible.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from saga_inspector import cli
from saga_inspector.store import ErrorKind, SagaStore, StoreError
from saga_inspector.store import connection as recipe
from saga_inspector.store.connection import Beside, OpenPlan, plan_open, translate_error
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.screens.error import ErrorScreen
from saga_inspector.tui.screens.help import HelpScreen
from saga_inspector.tui.screens.payload import PayloadScreen
from saga_inspector.tui.widgets.header import WarningBanner
from saga_inspector.tui.widgets.saga_table import SagaTable

from .factory import (
    SagaLogFactory,
    add_rows_left_in_wal,
    cleanup_saga,
    mixed_sagas,
    recovered_saga,
    respawn_saga,
)
from .helpers import SIZE, idle, make_app, pilot_test, screen_text, wait_for

OWNER, READER = 1234, 4321  # the launcher's user, and another user who reads its log
SIDECARS = ("", "-wal", "-shm")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="acting as other users needs root")


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
    """The .db and -wal unchanged to the byte and the nanosecond; a -shm (SQLite's read
    marks live there) kept its owner and mode."""
    for suffix in ("", "-wal"):
        name = db.name + suffix
        assert after.get(name) == before.get(name), name
    shm = db.name + "-shm"
    if shm in before:
        assert after[shm][3:] == before[shm][3:]


@pytest.fixture
def live_log(make_log: SagaLogFactory) -> Path:
    """A log as a killed launcher leaves it: 30 sagas in the file, 3 more only in its -wal."""
    path = make_log(mixed_sagas(30), name="launcher-sagas.db")
    add_rows_left_in_wal(path, [recovered_saga(500, at=900.0), respawn_saga(501, "failed"),
                                cleanup_saga(502, "running", drained=None)])
    assert Path(f"{path}-wal").stat().st_size > 0
    return path


# -- a whole dashboard session --------------------------------------------------------------


async def every_dashboard_action(app: SagaInspectorApp, pilot, clipboard: list[str]) -> None:
    """Every key the dashboard has, each checked to have done its thing. (Keys go in groups:
    each press costs Pilot ~0.1 s of waiting for the app to go idle.)"""
    await idle(pilot)
    table = app.dashboard.query_one(SagaTable)
    await pilot.press("1", "2", "3", "4", "5", "a", "0", "j", "G", "g", "pagedown")
    await idle(pilot)
    assert table.total == 33 and table.highlighted_saga is not None
    await pilot.press("slash", "m", "enter")
    await idle(pilot)
    assert table.saga_query is not None and table.saga_query.text == "m"
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
async def test_a_whole_dashboard_session_changes_neither_db_nor_wal(
    live_log: Path, clipboard: list[str]
) -> None:
    before = fingerprint(live_log.parent)
    app = make_app(live_log)
    async with app.run_test(size=SIZE) as pilot:
        await every_dashboard_action(app, pilot, clipboard)
    assert app.return_code == 0
    same_db_and_wal(before, fingerprint(live_log.parent), live_log)


@pilot_test
async def test_an_immutable_dashboard_session_touches_no_file_at_all(
    make_log: SagaLogFactory, clipboard: list[str]
) -> None:
    path = make_log(mixed_sagas(33), name="evidence.db")
    before = fingerprint(path.parent)
    assert set(before) == {"evidence.db"}
    app = make_app(path, immutable=True)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        # an immutable open is asked for, not a surprise: no banner about it
        assert not app.dashboard.query_one(WarningBanner).display
        await pilot.press("3", "enter", "tab", "o")
        await wait_for(pilot, lambda: isinstance(app.screen, PayloadScreen), "the payload")
        await pilot.press("y", "r", "q")
        await pilot.pause()
    assert len(clipboard) == 1
    assert fingerprint(path.parent) == before


# -- the CLI, every command, in both modes ---------------------------------------------------


def cli_runs(db: Path, saga_id: int) -> list[list[str]]:
    runs = []
    for mode in ([], ["--json"]):
        runs += [["stats", str(db), *mode], ["list", str(db), *mode],
                 ["list", str(db), "--state", "attention", "--search", "main", "--limit", "0",
                  *mode],
                 ["show", str(db), str(saga_id), *mode]]
    return runs


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_immutable_commands_create_and_change_nothing(make_log, capsys) -> None:
    path = make_log(mixed_sagas(40), name="evidence.db")
    before = fingerprint(path.parent)
    for argv in cli_runs(path, 8):
        code, out, err = run_cli(capsys, *argv, "--immutable")
        assert (code, err) == (0, ""), argv
        assert out
    assert fingerprint(path.parent) == before


def test_every_command_leaves_a_live_log_alone(live_log, capsys) -> None:
    before = fingerprint(live_log.parent)
    for argv in cli_runs(live_log, 500):
        assert run_cli(capsys, *argv)[0] == 0, argv
    same_db_and_wal(before, fingerprint(live_log.parent), live_log)


# -- --immutable beside a -wal with rows -------------------------------------------------------


def test_immutable_refuses_to_hide_the_rows_of_a_wal(live_log, capsys) -> None:
    before = fingerprint(live_log.parent)
    for argv in (["stats", str(live_log)], ["list", str(live_log), "--json"]):
        code, out, err = run_cli(capsys, *argv, "--immutable")
        assert (code, out) == (2, "")
        assert err.startswith(f"saga-inspector: error: {live_log}: --immutable would not show "
                              f"the rows in launcher-sagas.db-wal")
        assert "add --force" in err and err.count("\n") == 1
    assert fingerprint(live_log.parent) == before


def test_immutable_force_reads_the_file_alone_and_says_what_is_missing(live_log, capsys) -> None:
    before = fingerprint(live_log.parent)
    code, out, err = run_cli(capsys, "stats", str(live_log), "--immutable", "--force", "--json")
    assert code == 0
    stats = json.loads(out)
    assert stats["total"] == 30  # the three sagas in the -wal are not there
    [warning] = stats["warnings"]
    assert warning.startswith("launcher-sagas.db-wal (")
    assert "is not read: sagas and steps written since" in warning
    code, out, err = run_cli(capsys, "list", str(live_log), "--immutable", "--force")
    assert code == 0
    assert err.startswith("saga-inspector: warning: launcher-sagas.db-wal (")
    assert fingerprint(live_log.parent) == before
    # without --immutable the same file shows everything
    assert json.loads(run_cli(capsys, "stats", str(live_log), "--json")[1])["total"] == 33


def test_force_alone_is_a_usage_error(live_log, capsys) -> None:
    code, out, err = run_cli(capsys, "stats", str(live_log), "--force")
    assert (code, out) == (2, "")
    assert err == "saga-inspector: error: --force only goes with --immutable\n"


def test_the_dashboard_gets_immutable_and_force(monkeypatch, live_log) -> None:
    import types

    got: list[dict[str, object]] = []
    fake = types.ModuleType("saga_inspector.tui")
    fake.run_dashboard = lambda path, **options: got.append(options) or 0  # type: ignore
    monkeypatch.setitem(sys.modules, "saga_inspector.tui", fake)
    assert cli.main([str(live_log), "--immutable", "--force"]) == 0
    assert cli.main([str(live_log)]) == 0
    assert got == [{"immutable": True, "force": True, "snapshots": [False]},
                   {"snapshots": [False]}]


@pilot_test
async def test_the_dashboard_refuses_immutable_beside_a_wal_and_q_exits_2(live_log: Path) -> None:
    app = make_app(live_log, immutable=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error screen")
        await pilot.pause()
        assert app.failed is not None and app.failed.kind is ErrorKind.WAL_WOULD_BE_HIDDEN
        text = screen_text(app)
        assert "--immutable would hide rows" in text
        assert "--immutable --force" in text  # the hint
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 2


@pilot_test
async def test_the_dashboard_with_force_says_the_wal_is_not_read(live_log: Path) -> None:
    before = fingerprint(live_log.parent)
    app = make_app(live_log, immutable=True, force=True)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert app.dashboard.query_one(SagaTable).total == 30
        assert app.dashboard.query_one(WarningBanner).display
        assert "launcher-sagas.db-wal (" in screen_text(app)
        assert "is not read" in screen_text(app)
    assert fingerprint(live_log.parent) == before


# -- the decision, from stat results alone ---------------------------------------------------

DB = Path("/logs/launcher-sagas.db")


@pytest.mark.parametrize(
    ("beside", "euid", "snapshot"),
    [
        (Beside(owner=OWNER, wal_size=None, shm_exists=False), OWNER, False),  # ours
        (Beside(owner=OWNER, wal_size=None, shm_exists=False), READER, True),  # would create
        (Beside(owner=OWNER, wal_size=0, shm_exists=False), READER, True),  # -shm missing
        (Beside(owner=OWNER, wal_size=None, shm_exists=True), READER, True),  # -wal missing
        (Beside(owner=OWNER, wal_size=4096, shm_exists=True), READER, False),  # both there
        (Beside(owner=OWNER, wal_size=None, shm_exists=False), 0, False),  # root: SQLite chowns
    ],
    ids=["own file", "foreign, none beside", "foreign, no -shm", "foreign, no -wal",
         "foreign, both beside", "root"],
)
def test_when_a_live_open_becomes_a_snapshot(beside: Beside, euid: int, snapshot: bool) -> None:
    plan = plan_open(DB, beside, immutable=False, force=False, euid=euid)
    assert plan.immutable is snapshot
    if snapshot:
        assert plan.notes[0].startswith("opened as a snapshot: the file belongs to uid 1234")
        assert "owned by you (uid 4321)" in plan.notes[0]
        assert "nothing was created" in plan.notes[0]
    else:
        assert plan.notes == ()


def test_a_snapshot_forced_by_ownership_says_which_rows_it_cannot_show() -> None:
    beside = Beside(owner=OWNER, wal_size=5 * 1024 * 1024, shm_exists=False)
    plan = plan_open(DB, beside, immutable=False, force=False, euid=READER)
    assert plan.immutable
    assert "would create -shm beside it" in plan.notes[0]
    assert plan.notes[1].startswith("launcher-sagas.db-wal (5.0 MiB) is not read")
    assert plan.notes[1].endswith("run as uid 1234, or copy both files, to see them")


@pytest.mark.parametrize("wal_size", [None, 0])
def test_immutable_without_rows_beside_is_quiet(wal_size: int | None) -> None:
    beside = Beside(owner=OWNER, wal_size=wal_size, shm_exists=False)
    for euid in (OWNER, READER):
        assert plan_open(DB, beside, immutable=True, force=False, euid=euid) == OpenPlan(True)


def test_immutable_beside_a_wal_with_rows_is_refused_or_forced() -> None:
    beside = Beside(owner=OWNER, wal_size=800, shm_exists=True)
    with pytest.raises(StoreError) as refused:
        plan_open(DB, beside, immutable=True, force=False, euid=OWNER)
    assert refused.value.kind is ErrorKind.WAL_WOULD_BE_HIDDEN
    assert "(800 B its writer wrote but never moved into the file)" in str(refused.value)
    forced = plan_open(DB, beside, immutable=True, force=True, euid=OWNER)
    assert forced.immutable
    assert forced.notes == ("launcher-sagas.db-wal (800 B) is not read: sagas and steps "
                            "written since its writer last moved it into the file are missing",)


def test_the_decision_uses_stat_only(live_log, monkeypatch) -> None:
    """Nothing beside the file is opened to decide: opening the -wal ourselves and closing it
    would drop SQLite's locks for the whole process."""
    import builtins
    import io

    opened: list[str] = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    with SagaStore.open(live_log) as store:
        store.counts()
    assert not [name for name in opened if "launcher-sagas.db" in name]


@pilot_test
async def test_a_file_of_another_user_opens_as_a_snapshot_with_a_banner(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """We run as root; acting as another reader here only changes what the decision sees."""
    path = make_log(mixed_sagas(12), name="theirs.db")
    os.chown(path, OWNER, OWNER)
    monkeypatch.setattr(recipe, "effective_user", lambda: READER)
    before = fingerprint(path.parent)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert app.dashboard.query_one(WarningBanner).display
        assert "opened as a snapshot: the file belongs to uid 1234" in screen_text(app)
        assert app.dashboard.query_one(SagaTable).total == 12
    assert fingerprint(path.parent) == before  # no -wal, no -shm


def test_root_reading_a_file_of_another_user_gives_it_any_new_files(make_log) -> None:
    """Why root opens live: SQLite hands the -wal/-shm it creates to the database's owner, so
    they never block the owner's launcher. Checked here, so a SQLite that stopped doing so
    would be noticed."""
    if os.geteuid() != 0:
        pytest.skip("only root reads as root")
    path = make_log(mixed_sagas(5), name="theirs.db")
    os.chown(path, OWNER, OWNER)
    with SagaStore.open(path) as store:
        assert store.warnings == ()
        assert store.counts().total == 5
    for suffix in ("-wal", "-shm"):
        created = Path(f"{path}{suffix}")
        if created.exists():
            assert created.stat().st_uid == OWNER, suffix


# -- really as another user --------------------------------------------------------------------

# Drops to another uid before reading: imports first (the interpreter's own folder may be
# closed to that user), then groups, gid, uid.
AS_USER = (
    "import gettext, locale, os, sqlite3, sys\n"  # argparse imports gettext/locale lazily
    "from saga_inspector.cli import main\n"
    "uid = int(sys.argv[1])\n"
    "os.setgroups([]); os.setegid(uid); os.seteuid(uid)\n"
    "if sys.argv[2] == 'sqlite3':\n"
    "    conn = sqlite3.connect(sys.argv[3], isolation_level=None)\n"
    "    try:\n"
    "        conn.execute(sys.argv[4]).fetchall()\n"
    "    except sqlite3.Error as exc:\n"
    "        print(exc, file=sys.stderr); sys.exit(3)\n"
    "    sys.exit(0)\n"
    "sys.exit(main(sys.argv[2:]))\n"
)


def as_user(uid: int, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", AS_USER, str(uid), *argv],
                          capture_output=True, text=True, timeout=60, check=False)


def sql_as(uid: int, target: str, sql: str) -> subprocess.CompletedProcess[str]:
    """Run `sql` as `uid` with plain sqlite3 (a URI target reads the way it says)."""
    return as_user(uid, "sqlite3", target, sql)


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder every user may write (like /tmp), outside pytest's root-only tmp folders."""
    folder = Path(tempfile.mkdtemp(prefix="saga-safety-"))
    folder.chmod(0o1777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def owned_log(folder: Path, uid: int, *, wal_rows: bool = False) -> Path:
    path = SagaLogFactory(folder)(mixed_sagas(20), name="launcher-sagas.db")
    if wal_rows:
        add_rows_left_in_wal(path, [recovered_saga(900, at=5.0)])
    for suffix in SIDECARS:
        if Path(f"{path}{suffix}").exists():
            os.chown(f"{path}{suffix}", uid, uid)
    return path


@as_root
def test_the_hazard_a_plain_reader_of_another_users_log_leaves_behind(shared_folder) -> None:
    """What the snapshot avoids: another user's plain read-only open creates -wal/-shm that
    it owns, and the owner's launcher can then no longer write its own log."""
    path = owned_log(shared_folder, OWNER)
    read = sql_as(READER, f"file:{path}?mode=ro", "SELECT count(*) FROM launcher_saga")
    assert read.returncode == 0, read.stderr
    assert Path(f"{path}-shm").stat().st_uid == READER
    write = sql_as(OWNER, str(path), "UPDATE launcher_saga SET state = state")
    assert write.returncode == 3
    assert "readonly database" in write.stderr


@as_root
def test_another_users_log_is_read_as_a_snapshot_and_its_launcher_can_still_write(
    shared_folder,
) -> None:
    path = owned_log(shared_folder, OWNER)
    before = fingerprint(shared_folder)
    result = as_user(READER, "stats", str(path), "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["total"] == 20
    assert stats["warnings"][0].startswith("opened as a snapshot: the file belongs to uid 1234")
    text = as_user(READER, "list", str(path))
    assert text.returncode == 0
    assert text.stderr.startswith("saga-inspector: warning: opened as a snapshot")
    assert fingerprint(shared_folder) == before  # no -wal, no -shm was created
    write = sql_as(OWNER, str(path), "UPDATE launcher_saga SET state = state")
    assert write.returncode == 0, write.stderr


@as_root
def test_another_users_live_log_with_both_files_beside_it_is_read_live(shared_folder) -> None:
    path = owned_log(shared_folder, OWNER, wal_rows=True)
    assert Path(f"{path}-shm").exists()
    before = fingerprint(shared_folder)
    result = as_user(READER, "stats", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) | {"database": None} == json.loads(result.stdout) | {
        "database": None, "total": 21, "warnings": []}
    same_db_and_wal(before, fingerprint(shared_folder), path)
    assert {p.name: p.stat().st_uid for p in shared_folder.iterdir()} == {
        f"launcher-sagas.db{suffix}": OWNER for suffix in SIDECARS}


@pytest.fixture
def closed_folder(shared_folder: Path) -> Path:
    """A folder only root may write, holding a log anyone may read."""
    folder = shared_folder / "read-only"
    folder.mkdir(mode=0o755)
    return folder


@as_root
def test_a_folder_that_cannot_be_written_says_so_and_suggests_immutable(closed_folder) -> None:
    path = owned_log(closed_folder, READER)  # the reader's own log, on "read-only media"
    assert not Path(f"{path}-shm").exists()
    result = as_user(READER, "stats", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    message = result.stderr
    assert message.startswith(f"saga-inspector: error: {path}: cannot be read live here: "
                              "SQLite needs to create launcher-sagas.db-shm beside it")
    assert "this folder cannot be written by you" in message
    assert "nothing is written to the log" in message
    assert "open it with --immutable" in message
    assert message.count("\n") == 1
    immutable = as_user(READER, "stats", str(path), "--immutable", "--json")
    assert immutable.returncode == 0, immutable.stderr
    assert json.loads(immutable.stdout)["total"] == 20


@as_root
def test_a_folder_that_cannot_be_written_with_rows_in_the_wal_suggests_copying(
    closed_folder,
) -> None:
    path = owned_log(closed_folder, READER, wal_rows=True)
    Path(f"{path}-shm").unlink()
    result = as_user(READER, "list", str(path), "--json")
    assert result.returncode == 2
    assert "launcher-sagas.db-wal beside it holds" in result.stderr
    assert "copy both files to a folder you can write" in result.stderr
    refused = as_user(READER, "list", str(path), "--immutable")
    assert refused.returncode == 2
    assert "--immutable would not show the rows" in refused.stderr


def test_sqlites_readonly_message_is_translated_for_a_reader(tmp_path: Path) -> None:
    """The translation on its own (as root the real case needs another user, above)."""
    db = tmp_path / "launcher-sagas.db"
    error = translate_error(sqlite3.OperationalError("attempt to write a readonly database"), db)
    assert error.kind is ErrorKind.READ_ONLY_FOLDER
    assert error.message.startswith(f"{db}: cannot be read live here: SQLite needs to create "
                                    "launcher-sagas.db-shm beside it")
    assert "open it with --immutable" in error.message
    Path(f"{db}-shm").write_bytes(b"")
    Path(f"{db}-wal").write_bytes(b"x" * 2048)
    error = translate_error(sqlite3.OperationalError("attempt to write a readonly database"), db)
    assert "SQLite cannot use launcher-sagas.db-shm beside it" in error.message
    assert "launcher-sagas.db-wal beside it holds 2.0 KiB not yet in the file" in error.message


def test_the_error_screen_has_a_hint_for_every_kind() -> None:
    from saga_inspector.tui.screens.error import HINTS

    assert set(HINTS) == set(ErrorKind)


@as_root
def test_a_log_the_reader_may_not_read_is_refused_plainly(shared_folder) -> None:
    path = owned_log(shared_folder, OWNER)
    path.chmod(0o600)
    result = as_user(READER, "stats", str(path))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"saga-inspector: error: {path}: permission denied\n"
