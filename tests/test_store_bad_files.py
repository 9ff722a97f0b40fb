"""Files that are not readable saga logs: each gives one StoreError with the right kind and a
message naming the file, never a raw sqlite3 error or a traceback."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from saga_inspector.store import ErrorKind, SagaQuery, SagaStore, StoreError

from .factory import SagaLogFactory, cleanup_saga


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


def test_an_empty_file(make_log):
    error = open_error(make_log.file_with(b"", "empty.db"))
    assert error.kind is ErrorKind.NOT_SAGA_LOG
    assert "empty" in error.message


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
