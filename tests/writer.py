"""A launcher-like writer for the live tests: the launcher's pragmas and statement shapes, in
a process of its own (the way a real launcher writes while the dashboard reads).

    python -m tests.writer PATH [--seconds 3] [--rate 300] [--seed 7]
    python -m tests.writer PATH --hold-lock

The first form runs sagas of both kinds through their lives, several at once: start a saga,
start a step, finish a step, terminate the saga (completed, or failed with the launcher's
reasons). Every statement commits on its own, as the launcher's autocommit connection does,
paced to `rate` commits a second. Halfway it "restarts": a new connection marks the sagas
left running as failed_compensation, as the launcher's recovery does, and new ids go on
from MAX(saga_id) + 1. At the end it prints one JSON line: commits, seconds, rate,
wal_bytes (the -wal's size just before closing; it never shrinks, so it is the largest it
got) and newest_id.

The second form takes an EXCLUSIVE lock on a rollback-journal file (where that lock keeps
readers out; in WAL mode nothing a writer does blocks a reader), changes one saga, prints
`locked`, holds the lock until a line (or the end) comes on stdin, commits, prints `released`
and exits: the test decides when the lock goes, not a clock.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from saga_inspector.demo import (
    CLEANUP,
    REASON_PIPE,
    REASON_TIMEOUT,
    REASON_WINDOW,
    RESPAWN,
    compact,
    rfc3339,
)

LAUNCHER_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)

START_SAGA = (
    "INSERT INTO launcher_saga (saga_id, name, state, started_at, ended_at, input_json, "
    "failure_reason) VALUES (?1, ?2, 'running', ?3, NULL, ?4, NULL)"
)
START_STEP = (
    "INSERT INTO launcher_saga_step (saga_id, step_index, name, state, cmd_json, target, "
    "started_at, ended_at, output_json, failure_reason) "
    "VALUES (?1, ?2, ?3, 'pending', ?4, 'host', ?5, NULL, NULL, NULL)"
)
FINISH_STEP = (
    "UPDATE launcher_saga_step SET state = 'succeeded', ended_at = ?3, output_json = ?4 "
    "WHERE saga_id = ?1 AND step_index = ?2"
)
TERMINATE_SAGA = (
    "UPDATE launcher_saga SET state = ?2, ended_at = ?3, failure_reason = ?4 WHERE saga_id = ?1"
)
# Recovery at a launcher start: every saga left unresolved goes to the operator.
RECOVER = (
    "UPDATE launcher_saga SET state = 'failed_compensation', ended_at = ?1, "
    "failure_reason = 'launcher restarted while saga in state ''' || state || '''' "
    "WHERE state IN ('running', 'compensating')"
)
CONCURRENT = 6  # sagas in flight at once
T0 = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)

Statement = tuple[str, tuple[object, ...]]


def launcher_connection(path: Path) -> sqlite3.Connection:
    """A connection set up as the launcher sets up its own (autocommit)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=5)
    for pragma in LAUNCHER_PRAGMAS:
        conn.execute(pragma)
    return conn


@dataclass
class _Clock:
    """Stored times: a fixed start plus a millisecond per commit (deterministic)."""

    ticks: int = 0

    def stamp(self) -> str:
        self.ticks += 1
        return rfc3339(T0 + timedelta(milliseconds=self.ticks))


@dataclass
class _Saga:
    saga_id: int
    statements: deque[Callable[[], Statement]] = field(default_factory=deque)


def _cleanup(saga_id: int, rng: random.Random, clock: _Clock) -> _Saga:
    label = rng.choice(["main", f"window-{rng.getrandbits(64):016x}"])
    saga = _Saga(saga_id)
    add = saga.statements.append
    add(lambda: (START_SAGA, (saga_id, CLEANUP, clock.stamp(), compact({"closed_label": label}))))
    for index, (name, cmd, event) in enumerate((
        ("issue_cmd_host_reap_panes", "reap_panes", "panes_reaped"),
        ("issue_cmd_host_drain_pool_if_last", "drain_pool_if_last",
         rng.choice(["pool_drained", "pool_not_last"])),
    )):
        command = compact({"cmd": cmd, "label": label, "saga_id": 0})
        add(lambda i=index, n=name, c=command: (START_STEP, (saga_id, i, n, c, clock.stamp())))
        if index == 1 and rng.random() < 0.2:  # the drain never reports back
            add(lambda: (TERMINATE_SAGA, (saga_id, "failed", clock.stamp(), REASON_TIMEOUT)))
            return saga
        output = compact({"event": event, "label": label, "version": 1231, "saga_id": saga_id})
        add(lambda i=index, o=output: (FINISH_STEP, (saga_id, i, clock.stamp(), o)))
    add(lambda: (TERMINATE_SAGA, (saga_id, "completed", clock.stamp(), None)))
    return saga


def _respawn(saga_id: int, rng: random.Random, clock: _Clock) -> _Saga:
    label = f"window-pool-{rng.getrandbits(128):032x}"
    command = compact({"cmd": "spawn_pool_window", "saga_id": 0})
    saga = _Saga(saga_id)
    add = saga.statements.append
    add(lambda: (START_SAGA, (saga_id, RESPAWN, clock.stamp(),
                              compact({"promoted_label": label}))))
    add(lambda: (START_STEP, (saga_id, 0, "issue_cmd_host_spawn_pool_window", command,
                              clock.stamp())))
    if rng.random() < 0.15:
        reason = rng.choice([REASON_WINDOW, REASON_PIPE])
        add(lambda: (TERMINATE_SAGA, (saga_id, "failed", clock.stamp(), reason)))
        return saga
    output = compact({"event": "pool_window_added", "label": label, "version": 1186,
                      "saga_id": saga_id})
    add(lambda: (FINISH_STEP, (saga_id, 0, clock.stamp(), output)))
    add(lambda: (TERMINATE_SAGA, (saga_id, "completed", clock.stamp(), None)))
    return saga


class LauncherWriter:
    """Commits the launcher's statements one by one, several sagas interleaved."""

    def __init__(self, path: Path, seed: int) -> None:
        self.path = path
        self.rng = random.Random(seed)
        self.clock = _Clock()
        self.commits = 0
        self._in_flight: list[_Saga] = []
        self._start()

    def _start(self) -> None:
        self.conn = launcher_connection(self.path)
        newest = self.conn.execute("SELECT max(saga_id) FROM launcher_saga").fetchone()[0]
        self._next_id = (newest or 0) + 1

    def step(self) -> None:
        """One statement, one commit: a new saga (its id taken as it is inserted, as the
        launcher does), or the next statement of one in flight."""
        if len(self._in_flight) < CONCURRENT:
            make = _cleanup if self.rng.random() < 0.5 else _respawn
            saga = make(self._next_id, self.rng, self.clock)
            self._next_id += 1
            self._in_flight.append(saga)
        else:
            saga = self.rng.choice(self._in_flight)
        self._execute(saga.statements.popleft()())
        if not saga.statements:
            self._in_flight.remove(saga)

    def restart(self) -> None:
        """As a launcher killed and started again: its sagas in flight are abandoned, and
        recovery marks them for the operator."""
        self.conn.close()
        self._in_flight.clear()
        self._start()
        self._execute((RECOVER, (self.clock.stamp(),)))

    def _execute(self, statement: Statement) -> None:
        self.conn.execute(*statement)
        self.commits += 1

    def wal_bytes(self) -> int:
        wal = self.path.with_name(self.path.name + "-wal")
        return wal.stat().st_size if wal.exists() else 0

    def newest_id(self) -> int:
        return self.conn.execute("SELECT max(saga_id) FROM launcher_saga").fetchone()[0]


def run(path: Path, *, seconds: float, rate: float, seed: int) -> dict[str, object]:
    """Write for `seconds` at `rate` commits a second; the summary printed at the end."""
    writer = LauncherWriter(path, seed)
    started = time.monotonic()
    restarted = False
    while (elapsed := time.monotonic() - started) < seconds:
        if not restarted and elapsed >= seconds / 2:
            writer.restart()
            restarted = True
        writer.step()
        ahead = started + writer.commits / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    elapsed = time.monotonic() - started
    summary = {"commits": writer.commits, "seconds": round(elapsed, 3),
               "rate": round(writer.commits / elapsed, 1), "wal_bytes": writer.wal_bytes(),
               "newest_id": writer.newest_id()}
    writer.conn.close()
    return summary


def hold_lock(path: Path) -> None:
    """EXCLUSIVE on a rollback-journal file: readers wait (then get SQLITE_BUSY) until the
    commit, when stdin says so. One running saga (if any) completes in the same transaction."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=5)
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("UPDATE launcher_saga SET state = 'completed', ended_at = ?1 "
                 "WHERE saga_id = (SELECT max(saga_id) FROM launcher_saga "
                 "WHERE state = 'running')", (rfc3339(T0),))
    print("locked", flush=True)
    sys.stdin.readline()
    conn.execute("COMMIT")
    conn.close()
    print("released", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.writer")
    parser.add_argument("path", type=Path)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hold-lock", action="store_true")
    options = parser.parse_args(argv)
    if options.hold_lock:
        hold_lock(options.path)
        return 0
    summary = run(options.path, seconds=options.seconds, rate=options.rate, seed=options.seed)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
