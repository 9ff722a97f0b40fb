"""A writer that tells, without a clock, whether a reader holds a read transaction while it
commits: what grows a writer's -wal (issue 15).

In WAL mode a checkpoint copies into the file only the commits older than every open read
transaction, and the -wal can start over only once all are copied. `PinningWriter` hooks
every connection the store opens (`install`): each time the reader starts a statement, it
commits one change and runs a passive checkpoint. If the checkpoint cannot copy that commit,
a read transaction begun before it was still open: the reader went on reading in a snapshot
older than the writer's last commit, and every commit made meanwhile stays in the -wal. Those
commits are `pinned`. A reader whose reads are each their own short transaction pins
nothing (a statement starts its own transaction after the commit); one that groups reads in
one snapshot pins a commit per statement after the first; one that leaves a cursor open
pins every commit until it is closed (and `held()` says so between reads).

Deterministic: it counts statements inside open transactions, not time.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import saga_inspector.store.repository as repository
from saga_inspector.store.formats import LAUNCHER, LogFormat

_ENDS = ("COMMIT", "ROLLBACK")  # (a transaction's end is not a read)


class PinningWriter:
    """Commits one new saga at each statement a hooked reader starts (while `active`), then a
    passive checkpoint; counts the commits it could not copy into the file (`pinned`)."""

    def __init__(self, path: Path, log_format: LogFormat = LAUNCHER) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA busy_timeout=0")  # any wait would be a lock met: an error
        self.fmt = log_format
        self._lock = threading.Lock()
        self.active = False
        self.commits = self.pinned = 0
        self.pinned_by: list[str] = []  # the statements that began in a pinning snapshot
        self._next = self._newest() + 1

    def _newest(self) -> int:
        table = self.fmt.saga_table
        return self.conn.execute(f"SELECT coalesce(max(saga_id), 0) FROM {table}").fetchone()[0]

    def total(self) -> int:
        """The sagas in the file now."""
        return self.conn.execute(f"SELECT count(*) FROM {self.fmt.saga_table}").fetchone()[0]

    def commit(self) -> None:
        """One saga started, as the writers start them (its own commit)."""
        cols = self.fmt.saga_columns
        names = ", ".join(cols[f] for f in ("saga_id", "name", "state", "started_at",
                                            "input_json"))
        started = 1_780_000_000_000 + self._next if self.fmt is not LAUNCHER else (
            f"2026-06-09T11:{self._next // 60 % 60:02d}:{self._next % 60:02d}Z")
        self.conn.execute(f"INSERT INTO {self.fmt.saga_table} ({names}) VALUES (?, ?, ?, ?, ?)",
                          (self._next, "window_cleanup_cascade", "running", started, "{}"))
        self._next += 1
        self.commits += 1

    def pinning(self) -> bool:
        """Whether a passive checkpoint now leaves commits in the -wal (a read transaction
        older than the last commit is open)."""
        _busy, log, copied = self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return copied < log

    def _on_statement(self, sql: str) -> None:
        if not self.active or sql.strip().upper() in _ENDS:
            return
        with self._lock:
            self.commit()
            if self.pinning():
                self.pinned += 1
                self.pinned_by.append(" ".join(sql.split())[:80])

    def held(self, wait: float = 0.0) -> bool:
        """Between reads: is any read transaction still open, `wait` seconds on? (A TRUNCATE
        checkpoint needs every reader out of the -wal; it waits for them up to `wait`, which
        covers a reader polling in its own process; a cursor left open never ends.) Empties
        the -wal when nothing is held."""
        with self._lock:
            self.commit()
            self.conn.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
            try:
                busy, _log, _copied = self.conn.execute(
                    "PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                self.conn.execute("PRAGMA busy_timeout=0")
            return bool(busy)

    @contextmanager
    def counting(self) -> Iterator[PinningWriter]:
        """Commit at every statement of the readers while inside; the count starts at 0."""
        self.pinned, self.pinned_by, self.active = 0, [], True
        try:
            yield self
        finally:
            self.active = False

    def close(self) -> None:
        self.conn.close()


def install(monkeypatch: pytest.MonkeyPatch, writer: PinningWriter) -> None:
    """Every store connection opened from now on starts its statements through `writer`."""
    opened: Callable[..., sqlite3.Connection] = repository.connect_read_only

    def hooked(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = opened(*args, **kwargs)
        conn.set_trace_callback(writer._on_statement)
        return conn

    monkeypatch.setattr(repository, "connect_read_only", hooked)
