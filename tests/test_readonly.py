"""Read-only proof: using the store (and the CLI) changes no byte and no mtime of the .db and
its -wal, every kind of write through the store's connection is refused, and the code never
opens a database file itself."""

from __future__ import annotations

import ast
import contextlib
import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from saga_inspector.store import SagaQuery, SagaStore
from saga_inspector.store.connection import read_only_authorizer

from .factory import SagaLogFactory, cleanup_saga, mixed_sagas

# Each test also runs as on Windows: no os.geteuid, no pwd (see conftest.os_flavour).
pytestmark = pytest.mark.usefixtures("os_flavour")

SRC = Path(__file__).resolve().parents[1] / "src" / "saga_inspector"


def fingerprint(db: Path) -> dict[str, tuple[str, int] | None]:
    """sha256 and mtime (ns) of the .db and its -wal. Called only while no connection to the
    file is open in this process: closing our own descriptor would drop SQLite's locks."""
    result: dict[str, tuple[str, int] | None] = {}
    for suffix in ("", "-wal"):
        path = Path(f"{db}{suffix}")
        result[suffix or ".db"] = (
            (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
            if path.exists() else None
        )
    return result


@pytest.fixture(scope="module")
def live_template(tmp_path_factory) -> Path:
    factory = SagaLogFactory(tmp_path_factory.mktemp("live"))
    return factory.wal_only(mixed_sagas(120), with_steps=True)


@pytest.fixture
def live_log(live_template: Path, tmp_path: Path) -> Path:
    """A file as a killed launcher leaves it: rows in an un-checkpointed -wal beside it.
    (A copy of the .db and -wal; without the -shm SQLite rebuilds its index from the -wal.)"""
    path = tmp_path / "launcher-sagas.db"
    for suffix in ("", "-wal"):
        Path(f"{path}{suffix}").write_bytes(Path(f"{live_template}{suffix}").read_bytes())
    assert Path(f"{path}-wal").stat().st_size > 0
    return path


def use_every_public_method(store: SagaStore) -> None:
    several = SagaQuery(frozenset({"failed", "failed_compensation"}))
    store.changed()
    store.data_version()
    store.counts()
    for query in (SagaQuery(), several, SagaQuery(text="main")):
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
    store.interrupt()
    assert store.schema.user_version == 1
    assert store.warnings == ()


def test_the_store_changes_neither_the_db_nor_its_wal(live_log):
    before = fingerprint(live_log)
    assert before["-wal"] is not None

    with SagaStore.open(live_log) as store:
        use_every_public_method(store)
        assert store.counts().total == 120
    with SagaStore.open(live_log) as store:      # and a second open after the first closed
        store.counts()

    assert fingerprint(live_log) == before


def test_a_cleanly_closed_file_is_not_changed_either(make_log):
    path = make_log(mixed_sagas(50))
    before = fingerprint(path)
    assert before["-wal"] is None

    with SagaStore.open(path) as store:
        use_every_public_method(store)

    after = fingerprint(path)
    assert after[".db"] == before[".db"]
    # mode=ro may create an empty -wal beside a clean file (SQLite's doing); never content.
    assert after["-wal"] is None or Path(f"{path}-wal").stat().st_size == 0


def test_immutable_mode_touches_no_file_at_all(make_log):
    path = make_log(mixed_sagas(50))
    before = sorted(make_log.folder.iterdir())
    db_before = fingerprint(path)

    with SagaStore.open(path, immutable=True) as store:
        use_every_public_method(store)
        assert store.counts().total == 50

    assert sorted(make_log.folder.iterdir()) == before     # not even a -shm
    assert fingerprint(path) == db_before


CLI_RUNS = [
    ["stats"], ["stats", "--json"],
    ["list"], ["list", "--json"],
    ["list", "--state", "failed", "--state", "running", "--search", "main", "--limit", "0"],
    ["list", "--state", "failed", "--search", "main", "--json", "--limit", "0"],
    ["show", "{id}"], ["show", "{id}", "--json"],
    ["show", "999999"],
]


def test_the_cli_changes_neither_the_db_nor_its_wal(live_log, capsys):
    cli = pytest.importorskip("saga_inspector.cli")
    with SagaStore.open(live_log) as store:
        saga_id = store.sagas(SagaQuery(frozenset({"failed"})), limit=1)[0].saga_id
    before = fingerprint(live_log)

    codes = []
    for run in CLI_RUNS:
        args = [arg.replace("{id}", str(saga_id)) for arg in run]
        codes.append(cli.main([args[0], str(live_log), *args[1:]]))
    capsys.readouterr()

    assert codes == [0] * (len(CLI_RUNS) - 1) + [1]
    assert fingerprint(live_log) == before


# -- writes through the store's own connection ----------------------------------------------

WRITES = [
    "INSERT INTO launcher_saga VALUES (999, 'n', 'running', 't', NULL, '{}', NULL)",
    "UPDATE launcher_saga SET state = 'completed'",
    "DELETE FROM launcher_saga",
    "DELETE FROM launcher_saga_step WHERE saga_id = 1",
    "REPLACE INTO launcher_saga (saga_id, name, state, started_at, input_json) "
    "VALUES (1, 'n', 's', 't', '{}')",
    "CREATE TABLE evil (x)",
    "CREATE TEMP TABLE evil (x)",
    "CREATE TEMP VIEW evil AS SELECT 1",
    "CREATE INDEX evil ON launcher_saga(name)",
    "CREATE TRIGGER evil AFTER INSERT ON launcher_saga BEGIN SELECT 1; END",
    "CREATE VIEW evil AS SELECT 1",
    "DROP TABLE launcher_saga_step",
    "DROP INDEX idx_launcher_saga_state",
    "ALTER TABLE launcher_saga ADD COLUMN evil TEXT",
    "ALTER TABLE launcher_saga RENAME TO evil",
    "ATTACH DATABASE ':memory:' AS evil",
    "PRAGMA user_version = 7",
    "PRAGMA main.user_version = 7",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA query_only = 0",
    "PRAGMA wal_checkpoint(TRUNCATE)",
    "PRAGMA optimize",
    "VACUUM",
    "VACUUM INTO '{folder}/copy.db'",
    "ANALYZE",
    "REINDEX",
    "SAVEPOINT evil",
]


@pytest.fixture
def open_live_store(live_log) -> Iterator[SagaStore]:
    with SagaStore.open(live_log) as store:
        yield store


@pytest.mark.parametrize("sql", WRITES)
def test_every_kind_of_write_through_the_connection_is_refused(open_live_store, live_log, sql):
    store = open_live_store
    conn = store._conn
    total = store.counts().total
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute(sql.replace("{folder}", str(live_log.parent)))
    assert not (live_log.parent / "copy.db").exists()
    if conn.in_transaction:
        conn.rollback()
    assert conn.execute("PRAGMA user_version").fetchone() == (1,)
    assert store.counts().total == total
    assert store._read_schema() == store.schema


def test_a_refused_write_changes_nothing_on_disk(live_log):
    before = fingerprint(live_log)
    with SagaStore.open(live_log) as store:
        for sql in WRITES:
            with contextlib.suppress(sqlite3.DatabaseError):
                store._conn.execute(sql.replace("{folder}", str(live_log.parent)))
            if store._conn.in_transaction:
                store._conn.rollback()
        assert store._conn.execute("PRAGMA user_version").fetchone() == (1,)
    assert fingerprint(live_log) == before


def test_the_connection_is_read_only_even_without_the_authorizer(live_log):
    """mode=ro is the first wall: with the authorizer removed, writes still fail."""
    with SagaStore.open(live_log) as store:
        store._conn.set_authorizer(None)
        for sql in ("UPDATE launcher_saga SET state = 'completed'", "PRAGMA user_version = 7",
                    "INSERT INTO launcher_saga_step (saga_id, step_index, name, state, "
                    "started_at) VALUES (1, 9, 'x', 'pending', 't')"):
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                store._conn.execute(sql)
        assert store._conn.execute("PRAGMA user_version").fetchone() == (1,)


def test_the_authorizer_alone_refuses_every_write(live_log):
    """The second wall, on a connection that could otherwise write."""
    conn = sqlite3.connect(live_log, isolation_level=None)
    try:
        conn.set_authorizer(read_only_authorizer)
        for sql in WRITES:
            with pytest.raises(sqlite3.DatabaseError, match="authoriz"):
                conn.execute(sql.replace("{folder}", str(live_log.parent)))
        # What the store needs still works.
        conn.execute("BEGIN")
        assert conn.execute("SELECT count(*) FROM launcher_saga").fetchone() == (120,)
        assert conn.execute("PRAGMA user_version").fetchone() == (1,)
        assert conn.execute("PRAGMA data_version").fetchone()[0] >= 1
        assert len(conn.execute("PRAGMA table_info(launcher_saga)").fetchall()) == 7
        conn.execute("COMMIT")
        # How long to wait for a writer's lock is the connection's own setting.
        conn.execute("PRAGMA busy_timeout = 250")
        assert conn.execute("PRAGMA busy_timeout").fetchone() == (250,)
    finally:
        conn.close()


def test_a_writer_can_commit_while_the_store_is_open(make_log):
    path = make_log([cleanup_saga(1)])
    with SagaStore.open(path) as store:
        store.counts()
        writer = sqlite3.connect(path, timeout=0.5)
        with writer:
            writer.execute("UPDATE launcher_saga SET state = 'failed' WHERE saga_id = 1")
        writer.close()
        assert store.counts().by_state["failed"] == 1


# -- the source never opens a database file ---------------------------------------------------

# Calls that read or write a file through the process's own descriptor.
FILE_CALLS = {"open", "read_bytes", "read_text", "write_bytes", "write_text", "fdopen"}


def file_calls(source: str, label: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, label)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) else None)
        # `SagaStore.open(...)` / `MergedSource.open(...)` / `cls.open` are the store's own
        # recipe, not a file open.
        owner = func.value if isinstance(func, ast.Attribute) else None
        if name == "open" and isinstance(owner, ast.Name) and owner.id in (
                "SagaStore", "MergedSource", "cls"):
            continue
        # os.open(os.devnull, ...) is how a closed stdout is silenced.
        if node.args and ast.unparse(node.args[0]) == "os.devnull":
            continue
        if name in FILE_CALLS or (name == "open" and owner is not None):
            found.append(f"{label}:{node.lineno}: {ast.unparse(func)}")
    return sorted(found)


def checked_files() -> list[Path]:
    files = sorted((SRC / "store").glob("*.py"))
    for name in ("cli.py", "report.py"):
        if (SRC / name).exists():
            files.append(SRC / name)
    return files


def test_the_data_layer_and_cli_never_open_a_file_themselves():
    found = [call for path in checked_files()
             for call in file_calls(path.read_text(), str(path.relative_to(SRC)))]
    assert found == []


def test_the_file_call_scan_would_notice_one():
    sample = ("from pathlib import Path\n"
              "def sniff(p):\n    return open(p, 'rb').read(16), Path(p).read_bytes()\n"
              "def opened(p):\n    return Path(p).open(), SagaStore.open(p)\n")
    assert file_calls(sample, "sample.py") == [
        "sample.py:3: Path(p).read_bytes", "sample.py:3: open", "sample.py:5: Path(p).open"]
