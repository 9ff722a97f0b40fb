"""Files that are not readable saga logs: each gives one StoreError with the right kind and a
message naming the file, never a raw sqlite3 error or a traceback."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Static

from saga_inspector.store import ErrorKind, SagaQuery, SagaStore, StoreError
from saga_inspector.store.connection import Beside, only_in_unread_wal, plan_open
from saga_inspector.tui.screens.error import ErrorScreen

from .factory import SagaLogFactory, cleanup_saga
from .helpers import SIZE, Run, make_app, pilot_test, run, wait_for

__all__ = ["run"]  # the CLI fixture


def open_error(path: Path) -> StoreError:
    with pytest.raises(StoreError) as caught:
        SagaStore.open(path)
    error = caught.value
    assert str(path) in error.message
    assert str(error) == error.message
    assert "Traceback" not in error.message
    return error


def test_a_missing_file(make_log: SagaLogFactory):
    path = make_log.folder / "nowhere" / "launcher-sagas.db"
    assert open_error(path).kind is ErrorKind.NOT_FOUND
    assert not path.parent.exists()    # nothing was created on the way


def test_a_folder(make_log):
    error = open_error(make_log.folder)
    assert error.kind is ErrorKind.IS_DIRECTORY
    assert "folder" in error.message


EMPTY_FILE = "empty file (0 bytes)"


def test_an_empty_file(make_log):
    path = make_log.file_with(b"", "empty.db")
    error = open_error(path)
    assert error.kind is ErrorKind.NOT_SAGA_LOG
    assert error.message == f"{path}: {EMPTY_FILE}: nothing has been written to it"


def test_an_empty_file_is_named_once_on_the_command_line(run: Run, make_log):
    path = make_log.file_with(b"", "empty.db")
    result = run("stats", path)
    assert result.code == 2
    assert result.err.count(EMPTY_FILE) == 1
    assert "launcher_saga" not in result.err  # no second, wrong cause


@pilot_test
async def test_an_empty_file_is_named_once_on_the_error_screen(make_log):
    app = make_app(make_log.file_with(b"", "empty.db"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error screen")
        await pilot.pause()
        text = str(app.screen.query_one("#error-text", Static).render())  # before wrapping
    assert text.count(EMPTY_FILE) == 1
    assert "launcher_saga table" not in text  # the hint once said "it has no launcher_saga table"


@pytest.mark.parametrize(
    "content",
    [
        b"x",
        b"hello\n",
        b"saga_id|name|state\n41|window_cleanup_cascade|completed\n" * 200,
        b"\x00" * 4096,
        b"SQLite format 3\x00",          # the magic alone
        bytes(range(256)) * 40,
    ],
    ids=["one byte", "short text", "long text", "zeros", "magic only", "binary"],
)
def test_a_file_that_is_not_sqlite(make_log, content):
    error = open_error(make_log.file_with(content, "notes.db"))
    assert error.kind is ErrorKind.NOT_SQLITE
    assert "not a SQLite database" in error.message


def test_a_file_that_is_not_a_regular_file(make_log):
    fifo = make_log.folder / "pipe.db"
    os.mkfifo(fifo)
    # Checked with stat: opening a FIFO would block.
    assert open_error(fifo).kind is ErrorKind.UNREADABLE


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_a_file_that_cannot_be_read(make_log):
    path = make_log([cleanup_saga(1)])
    path.chmod(0)
    try:
        assert open_error(path).kind is ErrorKind.UNREADABLE
    finally:
        path.chmod(0o600)


def test_valid_sqlite_without_saga_tables(make_log):
    path = make_log.folder / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE sagas (id INTEGER PRIMARY KEY, kind TEXT)")
    conn.execute("CREATE TABLE events (id INTEGER)")
    conn.commit()
    conn.close()
    error = open_error(path)
    assert error.kind is ErrorKind.NOT_SAGA_LOG
    assert "launcher_saga" in error.message
    assert "events, sagas" in error.message      # says what it found instead


def test_valid_sqlite_with_no_tables_at_all(make_log):
    path = make_log.folder / "blank.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 1")   # makes SQLite write its first page
    conn.close()
    error = open_error(path)
    assert error.kind is ErrorKind.NOT_SAGA_LOG
    assert "no tables at all" in error.message


# -- a snapshot (--immutable) of a file whose tables are all still in its -wal ------------------


def wal_only_error(make_log: SagaLogFactory) -> tuple[Path, StoreError]:
    path = make_log.wal_only([cleanup_saga(1), cleanup_saga(2)])
    assert os.path.getsize(f"{path}-wal") > 0  # everything is there, not yet in the file
    with pytest.raises(StoreError) as caught:
        SagaStore.open(path, immutable=True, force=True)
    return path, caught.value


def test_immutable_force_on_a_log_still_in_its_wal_names_the_wal(make_log):
    path, error = wal_only_error(make_log)
    assert error.kind is ErrorKind.TABLES_IN_WAL
    assert error.message.startswith(f"{path}: the file alone holds no tables yet: ")
    assert f"{path.name}-wal beside it" in error.message
    assert "which a snapshot (--immutable) does not read" in error.message
    assert "open it without --immutable, or copy both files" in error.message
    for wrong in ("no launcher_saga table", "no tables at all", "not a launcher saga log"):
        assert wrong not in error.message


def test_without_immutable_the_same_log_opens(make_log):
    path, _ = wal_only_error(make_log)
    with SagaStore.open(path) as store:  # a live read sees the -wal
        assert store.counts().total == 2


def test_immutable_force_with_a_wal_only_log_on_the_command_line(run: Run, make_log):
    path = make_log.wal_only([cleanup_saga(1)])
    result = run("stats", path, "--immutable", "--force")
    assert result.code == 2 and result.out == ""
    assert result.err.count("\n") == 1
    assert f"{path.name}-wal beside it" in result.err
    assert "no tables at all" not in result.err


def test_a_snapshot_forced_by_ownership_says_what_would_read_the_wal(make_log):
    """Another user's file with rows in its -wal opens as a snapshot (see plan_open); when its
    tables are all in that -wal, the remedy is that user, or a copy of both files."""
    beside = Beside(owner=1234, wal_size=48 * 1024, shm_exists=False)
    plan = plan_open(make_log.folder / "launcher-sagas.db", beside, immutable=False,
                     force=False, euid=4321)
    assert plan.immutable and plan.unread_wal is not None
    error = only_in_unread_wal(make_log.folder / "launcher-sagas.db", plan.unread_wal,
                               "launcher_saga", [])
    assert "launcher-sagas.db-wal beside it (48.0 KiB not yet moved into the file)" in (
        error.message)
    assert error.message.endswith("run as uid 1234, or copy both files together to a folder "
                                  "you can write and open the copy")


def test_a_snapshot_with_no_rows_in_its_wal_is_still_not_a_saga_log(make_log):
    path = make_log.folder / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE events (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError) as caught:
        SagaStore.open(path, immutable=True)
    assert caught.value.kind is ErrorKind.NOT_SAGA_LOG  # no -wal: the -wal is not the cause


def test_a_saga_table_without_a_state_column(make_log):
    path = make_log.from_sql("CREATE TABLE launcher_saga (saga_id INTEGER PRIMARY KEY, name TEXT)")
    error = open_error(path)
    assert error.kind is ErrorKind.NOT_SAGA_LOG
    assert "state" in error.message


@pytest.fixture(scope="module")
def whole_log(tmp_path_factory) -> bytes:
    factory = SagaLogFactory(tmp_path_factory.mktemp("whole"))
    return factory.realistic(300).read_bytes()


def test_the_whole_log_before_truncation_is_fine(whole_log, make_log):
    with SagaStore.open(make_log.file_with(whole_log, "whole.db")) as store:
        assert store.counts().total == 300


def read_everything(store: SagaStore) -> None:
    """Every public read, over every saga: a damaged page anywhere is met."""
    store.counts()
    store.count(SagaQuery(text="main"))
    store.page_anchors()
    store.page_anchors(SagaQuery(frozenset({"completed", "failed"})))
    store.oldest()
    store.data_version()
    page = store.sagas()
    while page:
        for saga in page:
            store.saga(saga.saga_id)
        page = store.sagas(older_than=page[-1].saga_id)


@pytest.mark.parametrize("keep", [1, 15, 50, 100, 600, 3000, 4096, 4097, 8192, 20_000, 0.5, -4096])
def test_a_truncated_log(whole_log, make_log, keep):
    size = len(whole_log)
    cut = int(size * keep) if isinstance(keep, float) else (size + keep if keep < 0 else keep)
    path = make_log.file_with(whole_log[:cut], "truncated.db")
    with pytest.raises(StoreError) as caught, SagaStore.open(path) as store:
        read_everything(store)
    error = caught.value
    assert str(path) in error.message
    # Shorter than a page: nothing says it was ever a database. Longer: it is damaged.
    expected = ErrorKind.NOT_SQLITE if cut < 512 else ErrorKind.DAMAGED
    assert error.kind is expected, error.message


def test_a_damaged_page_met_while_iterating_rows_is_a_store_error(make_log):
    path = make_log.damaged(400)
    # Shown with plain sqlite3: the file opens and rows come back before the bad page.
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    cursor = raw.execute("SELECT saga_id FROM launcher_saga ORDER BY saga_id DESC")
    assert cursor.fetchone() == (400,)
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        cursor.fetchall()
    raw.close()

    with SagaStore.open(path) as store:
        assert store.counts().total == 400       # the state index is intact
        assert store.saga(1) is not None         # pages away from the damage still read
        assert store.sagas(limit=10)[0].saga_id == 400
        for call in (lambda: read_everything(store), store.page_anchors,
                     lambda: store.saga(200), lambda: store.sagas(limit=400),
                     lambda: store.oldest(limit=400),
                     lambda: store.sagas(SagaQuery(frozenset({"completed", "failed"})),
                                         limit=400)):
            with pytest.raises(StoreError) as caught:
                call()
            assert caught.value.kind is ErrorKind.DAMAGED
            assert str(path) in caught.value.message
            assert not store._conn.in_transaction
        assert store.counts().total == 400       # and the store still works afterwards
