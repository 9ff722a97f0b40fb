"""Realistic demo saga logs, and the one writer that demo data, fixtures and benchmarks use.

This module writes new files only; the store never writes. The rows follow what real
launcher files hold: two saga kinds, chrono RFC 3339 times, serde-compact payloads,
recovered sagas sharing one `ended_at`, pending steps left in flight.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .store.formats import LAUNCHER, LogFormat
from .store.formats.base import SAGA_FIELDS, STEP_FIELDS
from .store.formats.launcher import LAUNCHER_DDL
from .store.formats.server import SERVER_DDL

FORMAT_DDL = {"launcher": LAUNCHER_DDL, "server": SERVER_DDL}

DEMO_SEED = 20260602
DEMO_START = datetime(2026, 6, 2, 9, 0, 0, tzinfo=UTC)

RESPAWN = "pool_respawn_on_promote"
CLEANUP = "window_cleanup_cascade"

REASON_TIMEOUT = "saga timeout"
REASON_PIPE = "host pipe send failed: write to host pipe failed: Broken pipe (os error 32)"
REASON_WINDOW = "host action failed: spawn_pool_window: window not found"
REASON_RESTART_RUNNING = "launcher restarted while saga in state 'running'"
# Newer builds append this to the reason the saga failed with.
RECOVERED_FROM_FAILED = "recovered: launcher restarted while saga in state 'failed'"


@dataclass
class StepRow:
    step_index: object
    name: object
    state: object
    cmd_json: object
    target: object
    started_at: object
    ended_at: object = None
    output_json: object = None
    failure_reason: object = None


@dataclass
class SagaRow:
    saga_id: object
    name: object
    state: object
    started_at: object
    ended_at: object
    input_json: object
    failure_reason: object = None
    steps: list[StepRow] = field(default_factory=list)


def write_saga_log(
    path: Path,
    sagas: Iterable[SagaRow],
    *,
    user_version: int = 1,
    ddl: str | None = None,
    log_format: LogFormat = LAUNCHER,
) -> Path:
    """Write a saga log the way its writer does (WAL, its DDL: `ddl` None is the format's
    own) and close it cleanly. Rows hold the values as the format stores them (a server
    row: times in milliseconds; fields the format lacks, like a step's target, are left
    out)."""
    ddl = FORMAT_DDL[log_format.name] if ddl is None else ddl
    saga_fields = [f for f in SAGA_FIELDS if f in log_format.saga_columns]
    step_fields = [f for f in STEP_FIELDS if f in log_format.step_columns]
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(ddl)
        if user_version:
            conn.execute(f"PRAGMA user_version = {int(user_version)}")
        conn.execute("BEGIN")
        saga_insert = _insert(log_format.saga_table, log_format.saga_columns, saga_fields)
        step_insert = _insert(log_format.step_table, log_format.step_columns, step_fields)
        for batch in _batches(sagas, 5000):
            conn.executemany(saga_insert, [[getattr(s, f) for f in saga_fields] for s in batch])
            conn.executemany(step_insert, [
                [s.saga_id if f == "saga_id" else getattr(t, f) for f in step_fields]
                for s in batch for t in s.steps])
        conn.execute("COMMIT")
    finally:
        conn.close()
    return path


def _insert(table: str, columns: Mapping[str, str], fields: Sequence[str]) -> str:
    names = ", ".join(columns[f] for f in fields)
    return f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(fields))})"


def _batches(items: Iterable[SagaRow], size: int) -> Iterator[list[SagaRow]]:
    batch: list[SagaRow] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def rfc3339(moment: datetime, digits: int = 9, rng: random.Random | None = None) -> str:
    """A time as chrono's `to_rfc3339` writes it: `+00:00`, 0, 3, 6 or 9 fraction digits."""
    # isoformat, not strftime: "%Y" does not pad years before 1000 to four digits.
    base = moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()
    if digits == 0:
        return base + "+00:00"
    nanos = moment.microsecond * 1000 + (rng.randrange(1000) if rng else 0)
    return f"{base}.{str(nanos).rjust(9, '0')[:digits]}+00:00"


def compact(value: dict[str, object]) -> str:
    """JSON as serde writes it: compact, keys in declaration order."""
    return json.dumps(value, separators=(",", ":"))


class _DemoWriter:
    """Generates a few launcher runs' worth of sagas, with restarts between them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.saga_id = 1
        self.event_version = 1100
        self.pool_labels = [self._pool_label() for _ in range(6)]
        self.windows = [f"window-{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"
                        for _ in range(8)]

    def _pool_label(self) -> str:
        return f"window-pool-{self.rng.getrandbits(128):032x}"

    def _ts(self, moment: datetime, *, may_shorten: bool = False) -> str:
        """A time as chrono writes it. chrono writes fewer fraction digits only for a round
        instant, so only a saga's start (every later time in the saga is derived from it) may
        come out short: cutting a later time short could move it before its start."""
        digits = self.rng.choices((9, 6, 3, 0), weights=(90, 5, 3, 2))[0]
        if digits == 9 or may_shorten:
            return rfc3339(moment, digits, self.rng)
        # Nine digits, but the same random draws as the short form, so that everything else
        # in the demo stays as it was.
        return rfc3339(moment, 9, self.rng if digits else None)

    def _event(self, event: str, label: str, saga_id: int | None) -> str:
        self.event_version += 1
        return compact({"event": event, "label": label, "version": self.event_version,
                        "saga_id": saga_id})

    def sagas(self, count: int) -> list[SagaRow]:
        rows: list[SagaRow] = []
        now = DEMO_START
        runs = 4
        per_run = max(1, count // runs)
        for run in range(runs):
            last_run = run == runs - 1
            size = count - per_run * (runs - 1) if last_run else per_run
            unresolved: list[SagaRow] = []
            for i in range(size):
                now += timedelta(seconds=self.rng.uniform(4, 180))
                tail = last_run and i >= size - 3
                saga = self._saga(now, unresolved_at_crash=not last_run and i >= size - 2,
                                  still_running=tail)
                rows.append(saga)
                if saga.state in ("running", "failed") and not last_run:
                    unresolved.append(saga)
            now += timedelta(minutes=self.rng.uniform(20, 240))
            self._recover(unresolved, now)
        return rows

    def _saga(self, start: datetime, *, unresolved_at_crash: bool, still_running: bool) -> SagaRow:
        saga_id, self.saga_id = self.saga_id, self.saga_id + 1
        if self.rng.random() < 0.45:
            return self._respawn(saga_id, start, unresolved_at_crash, still_running)
        return self._cleanup(saga_id, start, unresolved_at_crash, still_running)

    def _outcome(self, unresolved_at_crash: bool, still_running: bool, kinds: list[str]) -> str:
        if still_running:
            return "running"
        if unresolved_at_crash:
            # Left running, or failed by its timeout and not yet compensated: both are what
            # the next launcher start finds and recovers.
            return self.rng.choice(["running", "running", "timeout"])
        roll = self.rng.random()
        if roll < 0.78:
            return "completed"
        if roll < 0.985:
            return self.rng.choice(kinds)
        return "compensating"

    def _respawn(self, saga_id: int, start: datetime, crash: bool, running: bool) -> SagaRow:
        promoted = self.rng.choice(self.pool_labels)
        outcome = self._outcome(crash, running, ["timeout", "timeout", "window", "pipe"])
        step_start = start + timedelta(microseconds=self.rng.randrange(150, 600))
        step = StepRow(0, "issue_cmd_host_spawn_pool_window", "pending",
                       compact({"cmd": "spawn_pool_window", "saga_id": 0}), "host",
                       self._ts(step_start))
        saga = SagaRow(saga_id, RESPAWN, outcome, self._ts(start, may_shorten=True), None,
                       compact({"promoted_label": promoted}), steps=[step])
        if outcome == "completed":
            end = step_start + timedelta(milliseconds=self.rng.uniform(40, 1800))
            new_label = self._pool_label()
            self.pool_labels[self.rng.randrange(len(self.pool_labels))] = new_label
            step.state, step.ended_at = "succeeded", self._ts(end)
            step.output_json = self._event("pool_window_added", new_label, saga_id)
            saga.ended_at = self._ts(end + timedelta(microseconds=self.rng.randrange(80, 400)))
        elif outcome in ("timeout", "window", "pipe"):
            self._fail(saga, start, outcome, timeout_s=5)
        return saga

    def _cleanup(self, saga_id: int, start: datetime, crash: bool, running: bool) -> SagaRow:
        label = self.rng.choice(["main", *self.windows, *self.pool_labels])
        outcome = self._outcome(crash, running, ["timeout", "timeout", "timeout", "pipe"])
        reap_start = start + timedelta(microseconds=self.rng.randrange(150, 600))
        reap = StepRow(0, "issue_cmd_host_reap_panes", "pending",
                       compact({"cmd": "reap_panes", "label": label, "saga_id": 0}), "host",
                       self._ts(reap_start))
        saga = SagaRow(saga_id, CLEANUP, outcome, self._ts(start, may_shorten=True), None,
                       compact({"closed_label": label}), steps=[reap])
        # Where the saga stopped: in the reap step, or in the drain step after it.
        stops_in_reap = outcome == "pipe" or self.rng.random() < 0.35
        if outcome == "completed" or not stops_in_reap:
            reap_end = reap_start + timedelta(milliseconds=self.rng.uniform(8, 60))
            reap.state, reap.ended_at = "succeeded", self._ts(reap_end)
            reap.output_json = self._event(
                "panes_reaped", label, saga_id if self.rng.random() < 0.9 else None)
            drain_start = reap_end + timedelta(microseconds=self.rng.randrange(100, 500))
            drain = StepRow(1, "issue_cmd_host_drain_pool_if_last", "pending",
                            compact({"cmd": "drain_pool_if_last", "label": label, "saga_id": 0}),
                            "host", self._ts(drain_start))
            saga.steps.append(drain)
            if outcome == "completed":
                drain_end = drain_start + timedelta(milliseconds=self.rng.uniform(5, 400))
                event = "pool_drained" if self.rng.random() < 0.3 else "pool_not_last"
                drain.state, drain.ended_at = "succeeded", self._ts(drain_end)
                drain.output_json = self._event(event, label, saga_id)
                saga.ended_at = self._ts(drain_end + timedelta(microseconds=300))
        if outcome in ("timeout", "pipe"):
            self._fail(saga, start, outcome, timeout_s=30)
        return saga

    def _fail(self, saga: SagaRow, start: datetime, how: str, timeout_s: int) -> None:
        saga.state = "failed"
        if how == "timeout":
            saga.failure_reason = REASON_TIMEOUT
            end = start + timedelta(seconds=timeout_s, milliseconds=self.rng.uniform(0, 40))
        else:
            saga.failure_reason = REASON_PIPE if how == "pipe" else REASON_WINDOW
            end = start + timedelta(milliseconds=self.rng.uniform(1, 90))
        saga.ended_at = self._ts(end)

    def _recover(self, unresolved: list[SagaRow], restart: datetime) -> None:
        """What the next launcher start does: mark leftovers failed_compensation."""
        for n, saga in enumerate(unresolved):
            when = restart + timedelta(microseconds=700 * n + self.rng.randrange(100))
            if saga.state == "running":
                saga.failure_reason = REASON_RESTART_RUNNING
            else:
                saga.failure_reason = f"{saga.failure_reason} | {RECOVERED_FROM_FAILED}"
            saga.state = "failed_compensation"
            saga.ended_at = self._ts(when)


def demo_sagas(count: int = 320, seed: int = DEMO_SEED) -> list[SagaRow]:
    """A deterministic, realistic set of sagas: every state, both kinds, recoveries."""
    return _DemoWriter(seed).sagas(count)


def write_demo(path: Path, count: int = 320, seed: int = DEMO_SEED) -> Path:
    """Write the demo log to a new file at `path` (refuses to overwrite anything)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists; the demo is only written to a new file")
    return write_saga_log(path, demo_sagas(count, seed))
