"""A server-like writer for the live tests on server logs, and rows shaped like the server's.

    python -m tests.server_writer PATH [--seconds 3] [--rate 300] [--seed 7]
    python -m tests.server_writer PATH --hold-open [--sagas 30]

The writer uses the server's pragmas (journal_mode=WAL, busy_timeout=5000, synchronous=NORMAL,
temp_store=MEMORY, foreign_keys=ON) on one autocommit connection: every statement is its own
commit, paced to `rate` commits a second. Several sagas of the server's kinds run at once:
each starts `running`; each step is inserted `pending`, then becomes `succeeded` (its output
an array of events) or `failed` (`{"error": ...}`); a saga ends `completed` (a best-effort
step may have failed), or `compensated`, its undo appended as a new step row (pending, then
`compensated`) with the forward step flipped to `compensated`; some fail by timeout (`failed`,
the step left pending). Halfway it "restarts": a new connection, and recovery as the server
runs it (see /work/shared/reference/server-saga-log.md): every saga still running,
compensating or failed is set compensating, then failed_compensation (a step still pending),
compensated (nothing succeeded, or every succeeded step undone by an appended row), or
failed_compensation (a `no_inverse_for_<step>` row). New ids go on from MAX(saga_id) + 1. At
the end it prints one JSON line: commits, seconds, rate, wal_bytes (the -wal's size just
before closing; it never shrinks) and newest_id.

The second form is a server that keeps its log open: it writes `--sagas` more sagas (rows
of server_sagas, ids after the file's) into the -wal with checkpoints off, prints `ready`,
and holds the connection open until a line (or the end) comes on stdin; then it exits
without closing, as a killed server does (the rows stay in the -wal).

`server_saga(...)` builds the same shapes as SagaRow/StepRow for files written at once
(`write_saga_log(path, rows, log_format=SERVER)`): integer milliseconds, no target.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from saga_inspector.demo import SagaRow, StepRow, compact

SERVER_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA foreign_keys=ON",
)
T0_MS = 1_780_409_123_481  # 2026-06-02T14:05:23.481Z
TIMEOUT_REASON = "saga '{name}' timed out after 5s"
STUCK_REASON = ("saga has {n} pending step(s) (crashed mid-dispatch); cannot auto-recover "
                "— operator review needed")
NOTHING_REASON = "no succeeded steps to compensate (saga state at restart: {state})"
RESUMED_REASON = "resumed on srv restart (was {state} at startup)"
NO_INVERSE_ERROR = compact({"error": "no inverse derivable from saga log"})

START_SAGA = ("INSERT INTO saga (saga_id, name, state, started_at, terminal_at, failure_reason, "
              "input_json) VALUES (?1, ?2, 'running', ?3, NULL, NULL, ?4)")
START_STEP = ("INSERT INTO saga_step (saga_id, step_index, name, state, cmd_json, output_json, "
              "started_at, ended_at) VALUES (?1, ?2, ?3, 'pending', ?4, NULL, ?5, NULL)")
END_STEP = ("UPDATE saga_step SET state = ?3, output_json = ?4, ended_at = ?5 "
            "WHERE saga_id = ?1 AND step_index = ?2")
FLIP_STEP = "UPDATE saga_step SET state = 'compensated' WHERE saga_id = ?1 AND step_index = ?2"
END_SAGA = ("UPDATE saga SET state = ?2, terminal_at = ?3, failure_reason = ?4 "
            "WHERE saga_id = ?1")
MARK_COMPENSATING = "UPDATE saga SET state = 'compensating' WHERE saga_id = ?1"
# An undo row as recovery appends it: its started_at is its ended_at.
APPEND_UNDO = ("INSERT INTO saga_step (saga_id, step_index, name, state, cmd_json, output_json, "
               "started_at, ended_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)")
CONCURRENT = 6  # sagas in flight at once

Statement = tuple[str, tuple[object, ...]]


def server_connection(path: Path) -> sqlite3.Connection:
    """A connection set up as the server sets up its own (autocommit)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=5)
    for pragma in SERVER_PRAGMAS:
        conn.execute(pragma)
    return conn


def uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# -- the kinds the writer and the fixtures use: (input, forward steps, undo of each) ---------

@dataclass(frozen=True)
class Plan:
    """One saga's shape: its input, its forward steps (name, command, best effort) and the
    undo of each forward step (undo name and command, or None: nothing to undo)."""

    name: str
    input_json: str
    steps: list[tuple[str, str, bool]]
    undo: dict[int, tuple[str, str]]


def plan(kind: str, rng: random.Random) -> Plan:
    tab, block, workspace, other = uid(rng), uid(rng), uid(rng), uid(rng)
    if kind == "tear_off_tab":
        return Plan(kind, compact({"tab_id": tab, "source_workspace_id": workspace}), [
            ("create_workspace", compact({"cmd": "create_workspace", "name": ""}), False),
            ("move_tab", compact({"cmd": "move_tab", "tab_id": tab, "src_workspace_id": workspace,
                                  "dst_workspace_id": other, "dst_index": 0}), False),
        ], {0: ("delete_workspace", compact({"cmd": "delete_workspace", "workspace_id": other,
                                             "force": True}))})
    if kind == "delete_block":
        return Plan(kind, compact({"tab_id": tab, "block_id": block}), [
            ("delete_block", compact({"cmd": "delete_block", "block_id": block}), False),
            ("layout_delete_node_by_block", compact({"cmd": "layout_delete_node_by_block",
                                                     "tab_id": tab, "block_id": block}), True),
        ], {})
    if kind == "close_pane":
        blocks = [block, other]
        return Plan(kind, compact({"tab_id": tab, "block_ids": blocks}), [
            *(("delete_block", compact({"cmd": "delete_block", "block_id": b}), False)
              for b in blocks),
            ("layout_delete_node", compact({"cmd": "layout_delete_node", "tab_id": tab}), False),
        ], {})
    assert kind == "redock_floating_pane", kind
    return Plan(kind, compact({"block_id": block, "source_tab_id": tab, "target_tab_id": other,
                               "dst_index": 0}),
                [("move_block", compact({"cmd": "move_block", "block_id": block,
                                         "dst_tab_id": other, "dst_index": 0}), False)], {})


KINDS = ("tear_off_tab", "delete_block", "close_pane", "redock_floating_pane")


def events(step: str, rng: random.Random) -> str:
    if step == "create_workspace":
        return json.dumps([{"event": "workspace_created", "workspace_id": uid(rng), "name": "",
                            "version": 17}], separators=(",", ":"))
    return "[]"


def error(message: str) -> str:
    return compact({"error": message})


# -- rows written at once -------------------------------------------------------------------


def server_saga(saga_id: int, state: str = "completed", *, kind: str = "tear_off_tab",
                at: int = 0, seed: int | None = None, reason: str | None = None) -> SagaRow:
    """A saga of `kind` as the server leaves it in `state`, starting `at` ms after T0_MS:
    completed (every step succeeded), failed (timed out, the last step pending), compensated
    (the last step failed, the first undone by an appended row where the kind can undo),
    failed_compensation (recovery found a step pending), running (the last step pending)."""
    rng = random.Random(saga_id if seed is None else seed)
    shape = plan(kind, rng)
    start = T0_MS + at
    steps: list[StepRow] = []
    clock = start
    for index, (name, cmd, _best) in enumerate(shape.steps):
        clock += 2
        last = index == len(shape.steps) - 1
        row = StepRow(index, name, "pending", cmd, None, clock)
        steps.append(row)
        if last and state in ("failed", "running", "failed_compensation", "compensating"):
            break
        if last and state == "compensated":
            row.state, row.ended_at = "failed", clock + 1
            row.output_json = error(f"tab not found: {uid(rng)}")
            break
        row.state, row.ended_at, row.output_json = "succeeded", clock + 1, events(name, rng)
    ended: int | None = clock + 3
    if state == "compensated":
        for index, (undo_name, undo_cmd) in shape.undo.items():
            if index < len(steps) - 1:
                steps[index].state = "compensated"
                steps.append(StepRow(len(steps), undo_name, "compensated", undo_cmd, None,
                                     clock + 2, clock + 3, "[]"))
        reason = reason or f"{shape.name}: step {len(shape.steps)}: tab not found"
    elif state == "failed":
        reason, ended = reason or TIMEOUT_REASON.format(name=shape.name), start + 5000
    elif state == "failed_compensation":
        reason = reason or STUCK_REASON.format(n=1)
    elif state in ("running", "compensating"):
        ended = None
    return SagaRow(saga_id, shape.name, state, start, ended, shape.input_json, reason, steps)


def server_sagas(count: int, *, seed: int = 7) -> list[SagaRow]:
    """`count` sagas of the writer's kinds and every state, ids 1..count."""
    rng = random.Random(seed)
    states = ("completed", "completed", "completed", "compensated", "failed",
              "failed_compensation", "running")
    return [server_saga(n, rng.choice(states), kind=rng.choice(KINDS), at=n * 1000, seed=n)
            for n in range(1, count + 1)]


# -- the live writer ------------------------------------------------------------------------


@dataclass
class _Clock:
    """Stored times: a fixed start plus a millisecond per commit (deterministic)."""

    ms: int = T0_MS

    def stamp(self) -> int:
        self.ms += 1
        return self.ms


@dataclass
class _Saga:
    saga_id: int
    statements: deque[Callable[[], Statement]] = field(default_factory=deque)


def _saga(saga_id: int, rng: random.Random, clock: _Clock) -> _Saga:
    shape = plan(rng.choice(KINDS), rng)
    saga = _Saga(saga_id)
    add = saga.statements.append
    add(lambda: (START_SAGA, (saga_id, shape.name, clock.stamp(), shape.input_json)))
    outcome = rng.choices(("completed", "compensated", "timeout"), (75, 15, 10))[0]
    # Where a failure strikes: the last step that is not best effort.
    stop = max(i for i, (_n, _c, best_effort) in enumerate(shape.steps) if not best_effort)
    for index, (name, cmd, best_effort) in enumerate(shape.steps):
        add(lambda i=index, n=name, c=cmd: (START_STEP, (saga_id, i, n, c, clock.stamp())))
        if index == stop and outcome == "timeout":  # the step stays pending
            reason = TIMEOUT_REASON.format(name=shape.name)
            add(lambda r=reason: (END_SAGA, (saga_id, "failed", clock.stamp(), r)))
            return saga
        if index == stop and outcome == "compensated":
            add(lambda i=index: (END_STEP, (saga_id, i, "failed", error("tab not found"),
                                            clock.stamp())))
            row = len(shape.steps)
            for undone, (undo_name, undo_cmd) in shape.undo.items():
                if undone < index:
                    add(lambda r=row, u=undo_name, c=undo_cmd: (
                        START_STEP, (saga_id, r, u, c, clock.stamp())))
                    add(lambda r=row: (END_STEP, (saga_id, r, "compensated", "[]",
                                                  clock.stamp())))
                    add(lambda d=undone: (FLIP_STEP, (saga_id, d)))
                    row += 1
            reason = f"{shape.name}: step {index + 1} ({name}): tab not found"
            add(lambda r=reason: (END_SAGA, (saga_id, "compensated", clock.stamp(), r)))
            return saga
        failed = best_effort and rng.random() < 0.3  # the saga completes all the same
        output = error("layout node not found") if failed else events(name, rng)
        add(lambda i=index, o=output, s="failed" if failed else "succeeded": (
            END_STEP, (saga_id, i, s, o, clock.stamp())))
    add(lambda: (END_SAGA, (saga_id, "completed", clock.stamp(), None)))
    return saga


class ServerWriter:
    """Commits the server's statements one by one, several sagas interleaved."""

    def __init__(self, path: Path, seed: int) -> None:
        self.path = path
        self.rng = random.Random(seed)
        self.clock = _Clock()
        self.commits = 0
        self._in_flight: list[_Saga] = []
        self._start()

    def _start(self) -> None:
        self.conn = server_connection(self.path)
        newest, latest = self.conn.execute(
            "SELECT max(saga_id), max(started_at) FROM saga").fetchone()
        self._next_id = (newest or 0) + 1  # seeded from the maximum, as the server does
        self.clock.ms = max(self.clock.ms, latest or 0)  # times go on from the file's

    def step(self) -> None:
        """One statement, one commit: a new saga, or the next statement of one in flight."""
        if len(self._in_flight) < CONCURRENT:
            saga = _saga(self._next_id, self.rng, self.clock)
            self._next_id += 1
            self._in_flight.append(saga)
        else:
            saga = self.rng.choice(self._in_flight)
        self._execute(saga.statements.popleft()())
        if not saga.statements:
            self._in_flight.remove(saga)

    def restart(self) -> None:
        """As a server killed and started again: its sagas in flight are abandoned, and
        recovery takes up every saga running, compensating or failed."""
        self.conn.close()
        self._in_flight.clear()
        self._start()
        for statement in self._recovery():
            self._execute(statement)

    def _recovery(self) -> list[Statement]:
        undo_of = {kind: plan(kind, self.rng) for kind in KINDS}
        rows = self.conn.execute("SELECT saga_id, name, state FROM saga WHERE state IN "
                                 "('running', 'compensating', 'failed') ORDER BY saga_id")
        statements: list[Statement] = []
        for saga_id, name, state in rows.fetchall():
            steps = self.conn.execute(
                "SELECT step_index, name, state FROM saga_step WHERE saga_id = ? "
                "ORDER BY step_index", (saga_id,)).fetchall()
            statements.append((MARK_COMPENSATING, (saga_id,)))
            pending = [s for s in steps if s[2] == "pending"]
            done = [s for s in steps if s[2] == "succeeded"]
            now = self.clock.stamp()
            if pending:
                reason = STUCK_REASON.format(n=len(pending))
                statements.append((END_SAGA, (saga_id, "failed_compensation", now, reason)))
                continue
            if not done:
                reason = NOTHING_REASON.format(state=state)
                statements.append((END_SAGA, (saga_id, "compensated", now, reason)))
                continue
            shape, row, problems = undo_of[name], len(steps), []
            for index, step_name, _ in reversed(done):  # newest first
                undo = shape.undo.get(index)
                if undo is None:
                    statements.append((APPEND_UNDO, (saga_id, row, f"no_inverse_for_{step_name}",
                                                     "failed", "{}", NO_INVERSE_ERROR, now)))
                    problems.append(f"step {index} ({step_name}): no inverse derivable from "
                                    "saga log — operator review needed")
                else:
                    statements.append((APPEND_UNDO, (saga_id, row, undo[0], "compensated",
                                                     undo[1], "[]", now)))
                    statements.append((FLIP_STEP, (saga_id, index)))
                row += 1
            if problems:
                statements.append((END_SAGA, (saga_id, "failed_compensation", now,
                                              "; ".join(problems))))
            else:
                statements.append((END_SAGA, (saga_id, "compensated", now,
                                              RESUMED_REASON.format(state=state))))
        return statements

    def _execute(self, statement: Statement) -> None:
        self.conn.execute(*statement)
        self.commits += 1

    def wal_bytes(self) -> int:
        wal = self.path.with_name(self.path.name + "-wal")
        return wal.stat().st_size if wal.exists() else 0

    def newest_id(self) -> int:
        return self.conn.execute("SELECT max(saga_id) FROM saga").fetchone()[0]


def run(path: Path, *, seconds: float, rate: float, seed: int) -> dict[str, object]:
    """Write for `seconds` at `rate` commits a second; the summary printed at the end."""
    writer = ServerWriter(path, seed)
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


def hold_open(path: Path, sagas: int) -> None:
    """Write `sagas` sagas into the -wal, say `ready`, keep the file open until stdin says."""
    conn = server_connection(path)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    first = (conn.execute("SELECT max(saga_id) FROM saga").fetchone()[0] or 0) + 1
    for row in server_sagas(sagas, seed=first):
        saga_id = row.saga_id + first - 1  # type: ignore[operator]
        conn.execute("INSERT INTO saga VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (saga_id, row.name, row.state, row.started_at, row.ended_at,
                      row.failure_reason, row.input_json))
        for step in row.steps:
            conn.execute("INSERT INTO saga_step VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (saga_id, step.step_index, step.name, step.state, step.cmd_json,
                          step.output_json, step.started_at, step.ended_at))
    print("ready", flush=True)
    sys.stdin.readline()
    os._exit(0)  # no close: nothing checkpointed, the -wal left as it is


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.server_writer")
    parser.add_argument("path", type=Path)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hold-open", action="store_true")
    parser.add_argument("--sagas", type=int, default=30)
    options = parser.parse_args(argv)
    if options.hold_open:
        hold_open(options.path, options.sagas)
        return 0
    summary = run(options.path, seconds=options.seconds, rate=options.rate, seed=options.seed)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
