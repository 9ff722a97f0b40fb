"""Realistic demo saga logs, and the one writer that demo data, fixtures and benchmarks use.

This module writes new files only; the store never writes. The rows follow what real
launcher files hold: two saga kinds, chrono RFC 3339 times, serde-compact payloads,
recovered sagas sharing one `ended_at`, pending steps left in flight.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .store.formats import FORMAT_NAMES, LAUNCHER, SERVER, LogFormat
from .store.formats.base import SAGA_FIELDS, STEP_FIELDS
from .store.kinds import FALLBACK_UNDO, NO_INVERSE_PREFIX

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
    ddl = log_format.ddl if ddl is None else ddl
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


# One encoder, made once: json.dumps would build one per call (the 1M-saga logs notice).
_COMPACT = json.JSONEncoder(separators=(",", ":")).encode


def compact(value: object) -> str:
    """JSON as serde writes it: compact, keys in declaration order."""
    return _COMPACT(value)


class _DemoWriter:
    """Generates a few launcher runs' worth of sagas, with restarts between them."""

    def __init__(self, seed: int, start: datetime = DEMO_START) -> None:
        self.rng = random.Random(seed)
        self.start = start
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
        now = self.start
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


LAUNCHER_DEMO_COUNT = 320


def demo_sagas(count: int = LAUNCHER_DEMO_COUNT, seed: int = DEMO_SEED,
               start: datetime = DEMO_START) -> list[SagaRow]:
    """A deterministic, realistic set of sagas: every state, both kinds, recoveries. The
    first saga starts a little after `start`."""
    return _DemoWriter(seed, start).sagas(count)




# -- the server's demo log (sagas.db) ----------------------------------------------------------
#
# Shaped like what agentmux-srv writes (see the reference sheet server-saga-log.md): nine
# kinds, times as integer milliseconds, commands serde-compact with the `cmd` tag first,
# step errors kept in the output as {"error": ...}, undo rows appended by compensation and
# by recovery at the next server start, gaps in saga ids, a crash left in flight at the end.

SERVER_DEMO_COUNT = 400
SERVER_TIMEOUT_MS = 5000
# The weights the kinds come in: the orphan reaper and the quit handling run close_pane and
# delete_block, so those dominate.
SERVER_KIND_WEIGHTS: Mapping[str, int] = {
    "close_pane": 34, "delete_block": 28, "delete_tab": 8, "tear_off_tab": 6,
    "restore_torn_off_tab": 5, "promote_block_to_tab": 5, "redock_floating_pane": 5,
    "tear_off_block": 5, "delete_workspace": 4,
}
NO_INSERT_INDEX = 4294967295  # restore_torn_off_tab's insert_index when the caller gave none

# The server's wording (agentmux-srv/src/sagas/mod.rs and recovery.rs).
SERVER_TIMEOUT_REASON = "saga '{name}' timed out after 5s"
PENDING_AT_RESTART = ("saga has {count} pending step(s) (crashed mid-dispatch); cannot "
                      "auto-recover — operator review needed")
NOTHING_TO_UNDO = "no succeeded steps to compensate (saga state at restart: {state})"
RESUMED_AT_RESTART = "resumed on srv restart (was {state} at startup)"
NO_INVERSE_ERROR = "no inverse derivable from saga log"
NO_INVERSE_PROBLEM = ("step {index} ({name}): no inverse derivable from saga log — operator "
                      "review needed")
UNDO_PROBLEM = "step {index} ({name}): {error}"

# How the failure reason names the failing step, per kind: "<Saga> step N (<Step>): <error>".
_NUMBERED_REASONS = {"tear_off_tab": "TearOffTab", "tear_off_block": "TearOffBlock",
                     "promote_block_to_tab": "PromoteBlockToTab",
                     "restore_torn_off_tab": "RestoreTornOffTab",
                     "delete_workspace": "DeleteWorkspace"}
_PLAIN_REASONS = {"delete_block": "DeleteBlock: ", "delete_tab": "DeleteTab: ",
                  "redock_floating_pane": "RedockFloatingPane MoveBlock: "}


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


@dataclass
class _Op:
    """One forward step as a saga would dispatch it: its command, the events it answers
    with, the error it fails with, and the undo recovery can derive for it (None: none)."""

    name: str
    cmd: dict[str, object]
    events: list[dict[str, object]]
    error: str
    best_effort: bool = False
    fallible: bool = True  # a step the demo may fail (a step the saga's failure can name)
    inverse: tuple[str, dict[str, object], list[dict[str, object]]] | None = None
    applied: object = None  # what to change in the demo's world when it succeeds


@dataclass
class _Plan:
    """A saga kind's run: its input, its forward steps, the undo its own compensation
    dispatches (by the forward steps that succeeded), and whether a failed step stops it."""

    input: dict[str, object]
    ops: list[_Op]
    undo: object = None  # Callable[[list[_Op]], list[tuple[name, cmd, events]]]
    keeps_going: bool = False  # close_pane: every block is tried, the failures joined


@dataclass
class _Held:
    """A saga the next server start recovers, with the ops its steps ran."""

    saga: SagaRow
    ops: list[_Op]


class _ServerDemoWriter:
    """Generates server runs (process lifetimes) of sagas, each ended by a crash or a quit
    and followed by the next start's recovery. The sagas of one run are yielded when it
    ends, in id order; the last run's unresolved sagas are left as they are."""

    # Crash scenarios at the end of the first runs: together they reach every recovery
    # outcome (resumed, nothing to undo, pending step, no inverse, an undo refused).
    # Early in the first run: each way the saga's own compensation is logged, and a
    # completed saga whose best-effort clean-up failed (the dice make more of each later).
    PLANNED_EARLY: Mapping[int, tuple[str, str, str]] = {
        5: ("error", "tear_off_tab", "undone"),
        9: ("error", "tear_off_block", "refused"),
        13: ("error", "promote_block_to_tab", "fallback"),
        17: ("ok", "delete_block", "best_effort_fails"),
    }
    PLANNED_TAILS: tuple[tuple[tuple[str, str | None], ...], ...] = (
        (("all_done", "tear_off_tab"), ("pending", None)),
        (("all_done", "delete_tab"), ("no_steps", None)),
        (("partial", "tear_off_block"), ("pending", "close_pane")),
    )

    def __init__(self, seed: int, start: datetime = DEMO_START) -> None:
        self.rng = random.Random(seed)
        self.clock = int(start.timestamp() * 1000)
        self.saga_id = 1
        self.version = 40
        self.kinds = list(SERVER_KIND_WEIGHTS)
        self.weights = list(SERVER_KIND_WEIGHTS.values())
        self.workspaces: list[str] = []
        self.tabs: dict[str, list[str]] = {}  # workspace -> its tabs
        self.blocks: dict[str, list[str]] = {}  # tab -> its blocks
        self.tab_home: dict[str, str] = {}  # tab -> its workspace
        self.trees: dict[str, tuple[tuple[str, ...], dict[str, object]]] = {}
        for _ in range(4):
            self._new_workspace()

    # -- ids and the little world they live in ------------------------------------------------

    def _uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def _new_workspace(self) -> str:
        workspace = self._uuid()
        self._add_workspace(workspace)
        for _ in range(self.rng.randint(2, 4)):
            self._new_tab(workspace)
        return workspace

    def _new_tab(self, workspace: str) -> str:
        tab = self._uuid()
        self._add_tab(workspace, tab)
        self.blocks[tab] = [self._uuid() for _ in range(self.rng.randint(4, 10))]
        return tab

    # The world stays small (the user closes what sagas do not): a few workspaces of a few
    # tabs, so that ids come back from saga to saga and a 1M-saga log costs no more per saga.
    def _add_workspace(self, workspace: str) -> None:
        self.workspaces.append(workspace)
        self.tabs.setdefault(workspace, [])
        if len(self.workspaces) > 8:
            self._forget_workspace(self.workspaces[0])

    def _add_tab(self, workspace: str, tab: str) -> None:
        tabs = self.tabs.setdefault(workspace, [])
        tabs.append(tab)
        self.tab_home[tab] = workspace
        self.blocks.setdefault(tab, [])
        if len(tabs) > 6:
            self._forget_tab(tabs[0])

    def _workspace(self, tabs: int = 1) -> str:
        """A workspace with at least `tabs` tabs (the user opens more when there are few)."""
        workspace = self.rng.choice(self.workspaces)
        while len(self.tabs[workspace]) < tabs:
            self._new_tab(workspace)
        return workspace

    def _tab(self, workspace: str | None = None, blocks: int = 1) -> str:
        tab = self.rng.choice(self.tabs[workspace or self._workspace()])
        # setdefault: a saga may move a tab out of a workspace the world has just dropped
        members = self.blocks.setdefault(tab, [])
        while len(members) < blocks:
            members.append(self._uuid())
        return tab

    def _forget_tab(self, tab: str) -> None:
        workspace = self.tab_home.pop(tab, None)
        if workspace is not None and tab in self.tabs.get(workspace, ()):
            self.tabs[workspace].remove(tab)
        self.blocks.pop(tab, None)
        self.trees.pop(tab, None)

    def _forget_workspace(self, workspace: str) -> None:
        for tab in list(self.tabs.get(workspace, ())):
            self._forget_tab(tab)
        self.tabs.pop(workspace, None)
        if workspace in self.workspaces:
            self.workspaces.remove(workspace)
        if len(self.workspaces) < 2:
            self._new_workspace()

    def _move_tab(self, tab: str, workspace: str) -> None:
        old = self.tab_home.get(tab)
        if old is not None and tab in self.tabs.get(old, ()):
            self.tabs[old].remove(tab)
        self.tabs.setdefault(workspace, []).append(tab)
        self.tab_home[tab] = workspace

    def _move_block(self, block: str, source: str, target: str) -> None:
        if block in self.blocks.get(source, ()):
            self.blocks[source].remove(block)
        blocks = self.blocks.setdefault(target, [])
        blocks.append(block)
        if len(blocks) > 14:
            del blocks[0]

    def _drop_block(self, tab: str, block: str) -> None:
        if block in self.blocks.get(tab, ()):
            self.blocks[tab].remove(block)

    def _tree(self, tab: str, without: str) -> dict[str, object] | None:
        """The tab's layout tree once `without` is gone, as the layout events carry it (a
        few kilobytes): kept per tab, rebuilt when its blocks change."""
        blocks = tuple(b for b in self.blocks.get(tab, ()) if b != without)
        if not blocks:
            return None
        cached = self.trees.get(tab)
        if cached is not None and cached[0] == blocks:
            return cached[1]
        size = round(100 / len(blocks), 3)
        leaves = [{"id": self._uuid(), "data": {"blockId": b, "blockStack": [b],
                                                 "activeBlockId": b, "magnified": False},
                   "children": [], "flexDirection": "row", "size": size} for b in blocks]
        while len(leaves) > 1:
            pairs = [leaves[i:i + 2] for i in range(0, len(leaves), 2)]
            leaves = [pair[0] if len(pair) == 1 else
                      {"id": self._uuid(), "data": None, "children": pair,
                       "flexDirection": self.rng.choice(("row", "column")), "size": 100.0}
                      for pair in pairs]
        self.trees[tab] = (blocks, leaves[0])
        return leaves[0]

    # -- the nine kinds --------------------------------------------------------------------------

    def _plan(self, kind: str) -> _Plan:
        return getattr(self, f"_plan_{kind}")()

    def _create_workspace(self, workspace: str) -> _Op:
        return _Op("create_workspace", {"cmd": "create_workspace", "name": ""},
                   [{"event": "workspace_created", "workspace_id": workspace, "name": ""}],
                   "database is locked",
                   inverse=("delete_workspace", _delete_workspace_cmd(workspace, False),
                            [{"event": "workspace_deleted", "workspace_id": workspace}]))

    def _create_tab(self, workspace: str, tab: str) -> _Op:
        return _Op("create_tab", {"cmd": "create_tab", "workspace_id": workspace, "name": ""},
                   [{"event": "tab_created", "tab_id": tab, "workspace_id": workspace,
                     "name": ""}],
                   f"workspace not found: {workspace}",
                   inverse=("delete_tab", _delete_tab_cmd(workspace, tab, True),
                            [{"event": "tab_deleted", "workspace_id": workspace,
                              "tab_id": tab}]))

    def _move_tab_op(self, tab: str, source: str, dest: str, index: int) -> _Op:
        return _Op("move_tab", {"cmd": "move_tab", "tab_id": tab, "src_workspace_id": source,
                                "dst_workspace_id": dest, "dst_index": index},
                   [{"event": "tab_moved", "tab_id": tab, "src_workspace_id": source,
                     "dst_workspace_id": dest, "dst_index": index}],
                   self.rng.choice((f"tab not found: {tab}",
                                    f"tab {tab} is not in workspace {source}")),
                   inverse=("move_tab", {"cmd": "move_tab", "tab_id": tab,
                                         "src_workspace_id": dest, "dst_workspace_id": source,
                                         "dst_index": 0},
                            [{"event": "tab_moved", "tab_id": tab, "src_workspace_id": dest,
                              "dst_workspace_id": source, "dst_index": 0}]),
                   applied=lambda: self._move_tab(tab, dest))

    def _move_block_op(self, block: str, source: str, dest: str, index: int) -> _Op:
        return _Op("move_block", {"cmd": "move_block", "block_id": block, "src_tab_id": source,
                                  "dst_tab_id": dest, "dst_index": index},
                   [{"event": "block_moved", "block_id": block, "src_tab_id": source,
                     "dst_tab_id": dest, "dst_index": index}],
                   self.rng.choice((f"block not found: {block}",
                                    f"block {block} is not in tab {source}",
                                    f"tab not found: {source}")),
                   inverse=("move_block", {"cmd": "move_block", "block_id": block,
                                           "src_tab_id": dest, "dst_tab_id": source,
                                           "dst_index": 0},
                            [{"event": "block_moved", "block_id": block, "src_tab_id": dest,
                              "dst_tab_id": source, "dst_index": 0}]),
                   applied=lambda: self._move_block(block, source, dest))

    def _delete_block_op(self, tab: str, block: str) -> _Op:
        events: list[dict[str, object]] = (
            [{"event": "block_deleted", "tab_id": tab, "block_id": block}]
            if self.rng.random() < 0.85 else [])
        return _Op("delete_block", {"cmd": "delete_block", "tab_id": tab, "block_id": block},
                   events, self.rng.choice((f"block not found: {block}",
                                            f"tab not found: {tab}",
                                            "database is locked")),
                   applied=lambda: self._drop_block(tab, block))

    def _plan_tear_off_tab(self) -> _Plan:
        source = self._workspace(tabs=2)
        tab, new = self.rng.choice(self.tabs[source]), self._uuid()
        create = self._create_workspace(new)
        create.applied = lambda: self._add_workspace(new)
        return _Plan({"tab_id": tab, "source_workspace_id": source},
                     [create, self._move_tab_op(tab, source, new, 0)],
                     undo=lambda done: [create.inverse] if create in done else [])

    def _plan_tear_off_block(self) -> _Plan:
        source = self._tab(blocks=2)
        block, workspace, tab = self.rng.choice(self.blocks[source]), self._uuid(), self._uuid()
        create = self._create_workspace(workspace)
        create.applied = lambda: self._add_workspace(workspace)
        new_tab = self._create_tab(workspace, tab)
        new_tab.applied = lambda: self._add_tab(workspace, tab)
        return _Plan({"block_id": block, "source_tab_id": source},
                     [create, new_tab, self._move_block_op(block, source, tab, 0)],
                     # One delete_workspace undoes both the workspace and the tab in it.
                     undo=lambda done: [create.inverse] if create in done else [])

    def _plan_promote_block_to_tab(self) -> _Plan:
        workspace = self._workspace()
        source = self._tab(workspace, blocks=2)
        block, tab = self.rng.choice(self.blocks[source]), self._uuid()
        new_tab = self._create_tab(workspace, tab)
        new_tab.applied = lambda: self._add_tab(workspace, tab)
        return _Plan({"block_id": block, "source_tab_id": source, "workspace_id": workspace},
                     [new_tab, self._move_block_op(block, source, tab, 0)],
                     undo=lambda done: [new_tab.inverse] if new_tab in done else [])

    def _plan_restore_torn_off_tab(self) -> _Plan:
        source = self._workspace()
        dest = self.rng.choice([w for w in self.workspaces if w != source] or [source])
        tab = self.rng.choice(self.tabs[source])
        index = NO_INSERT_INDEX if self.rng.random() < 0.7 else self.rng.randrange(4)
        ops = [self._move_tab_op(tab, source, dest, index)]
        if len(self.tabs[source]) == 1 or self.rng.random() < 0.5:  # now empty: delete it
            delete = _Op("delete_workspace", _delete_workspace_cmd(source, False),
                         [{"event": "workspace_deleted", "workspace_id": source}],
                         self.rng.choice((f"workspace not found: {source}",
                                          f"workspace {source} still has tabs")),
                         best_effort=True, applied=lambda: self._forget_workspace(source))
            ops.append(delete)
        return _Plan({"tab_id": tab, "source_workspace_id": source, "dest_workspace_id": dest,
                      "insert_index": index}, ops)

    def _plan_delete_block(self) -> _Plan:
        tab = self._tab(blocks=6)
        block = self.rng.choice(self.blocks[tab])
        tree = self._tree(tab, block)
        node = self._uuid()
        layout = _Op("layout_delete_node_by_block",
                     {"cmd": "layout_delete_node_by_block", "tab_id": tab, "block_id": block,
                      "correlation_id": ""},
                     [{"event": "layout_node_deleted", "tab_id": tab, "node_id": node,
                       "new_tree": tree, "tree_cleared": tree is None, "correlation_id": ""}]
                     if self.rng.random() < 0.9 else [],
                     f"could not find leaf node with blockId {block}", best_effort=True)
        return _Plan({"tab_id": tab, "block_id": block},
                     [self._delete_block_op(tab, block), layout])

    def _plan_delete_tab(self) -> _Plan:
        workspace = self._workspace(tabs=2)
        tab = self.rng.choice(self.tabs[workspace])
        op = _Op("delete_tab", _delete_tab_cmd(workspace, tab, False),
                 [{"event": "tab_deleted", "workspace_id": workspace, "tab_id": tab}],
                 self.rng.choice((f"tab not found: {tab}",
                                  f"cannot delete the last tab of workspace {workspace}")),
                 applied=lambda: self._forget_tab(tab))
        return _Plan({"workspace_id": workspace, "tab_id": tab}, [op])

    def _plan_delete_workspace(self) -> _Plan:
        workspace = self._workspace()
        tabs = list(self.tabs[workspace])
        ops = [_Op("delete_tab", _delete_tab_cmd(workspace, tab, True),
                   [{"event": "tab_deleted", "workspace_id": workspace, "tab_id": tab}],
                   f"tab not found: {tab}") for tab in tabs]
        ops.append(_Op("delete_workspace", _delete_workspace_cmd(workspace, True),
                       [{"event": "workspace_deleted", "workspace_id": workspace}],
                       f"workspace not found: {workspace}",
                       applied=lambda: self._forget_workspace(workspace)))
        blocks = sum(len(self.blocks.get(tab, ())) for tab in tabs)
        return _Plan({"workspace_id": workspace, "tab_ids": tabs, "block_count": blocks}, ops)

    def _plan_redock_floating_pane(self) -> _Plan:
        source = self._tab(blocks=2)
        target = self._tab()
        block = self.rng.choice(self.blocks[source])
        index = self.rng.randrange(len(self.blocks[target]) + 1)
        return _Plan({"block_id": block, "source_tab_id": source, "target_tab_id": target,
                      "dst_index": index},
                     [self._move_block_op(block, source, target, index)])

    def _plan_close_pane(self) -> _Plan:
        tab = self._tab(blocks=6)
        count = self.rng.choices((1, 2, 3), weights=(70, 20, 10))[0]
        blocks = self.rng.sample(self.blocks[tab], count)
        ops = [self._delete_block_op(tab, block) for block in blocks]
        if self.rng.random() < 0.85:  # every member of the pane is gone: drop its leaf
            node = self._uuid()
            ops.append(_Op("layout_delete_node",
                           {"cmd": "layout_delete_node", "tab_id": tab, "node_id": node,
                            "correlation_id": ""},
                           [{"event": "layout_node_deleted", "tab_id": tab, "node_id": node,
                             "new_tree": None, "tree_cleared": False, "correlation_id": ""}],
                           f"node not found: {node}", fallible=False))
        return _Plan({"tab_id": tab, "block_ids": blocks}, ops, keeps_going=True)

    # -- running a saga ----------------------------------------------------------------------------

    def _tick(self, low: int, high: int) -> int:
        self.clock += self.rng.randint(low, high)
        return self.clock

    def _output(self, events: list[dict[str, object]]) -> str:
        stamped = []
        for event in events:
            self.version += 1
            stamped.append({**event, "version": self.version})
        return compact(stamped)

    def _start_step(self, saga: SagaRow, name: str, cmd: str) -> StepRow:
        step = StepRow(len(saga.steps), name, "pending", cmd, None, self._tick(0, 2))
        saga.steps.append(step)
        return step

    def _succeed(self, step: StepRow, op: _Op, slow: bool = False) -> None:
        step.state, step.ended_at = "succeeded", self._tick(1, 900 if slow else 40)
        step.output_json = self._output(op.events)
        if callable(op.applied):
            op.applied()

    def _fail(self, step: StepRow, error: str) -> None:
        step.state, step.ended_at = "failed", self._tick(1, 30)
        step.output_json = compact({"error": error})

    def _reason(self, kind: str, position: int, op: _Op) -> str:
        if kind in _NUMBERED_REASONS:
            return f"{_NUMBERED_REASONS[kind]} step {position + 1} ({_camel(op.name)}): {op.error}"
        return _PLAIN_REASONS.get(kind, "") + op.error

    def _saga(self, kind: str, outcome: str, how: str | None = None
              ) -> tuple[SagaRow, list[_Op]]:
        """One saga of `kind`. outcome: ok, error, timeout (ended in this run); pending,
        partial, all_done, no_steps (a crash: left running for the next start). `how` forces
        a detail the dice would pick: the undo undone, refused or logged as the fallback, or
        a best-effort step failed."""
        saga_id = self.saga_id
        # A start whose insert failed leaves no row: ids have gaps.
        self.saga_id += 2 if self.rng.random() < 0.006 else 1
        plan = self._plan(kind)
        start = self._tick(2_000, 120_000)
        saga = SagaRow(saga_id, kind, "running", start, None, compact(plan.input))
        ops = plan.ops
        if outcome == "no_steps":
            return saga, []
        stop = len(ops)
        fallible = [i for i, op in enumerate(ops) if op.fallible and not op.best_effort]
        if outcome == "error":
            # Mostly the step after a create fails (the tab or block it moves is gone).
            stop = fallible[-1] if fallible and (how or self.rng.random() < 0.75) else (
                self.rng.choice(fallible or [0]))
        elif outcome in ("timeout", "pending"):  # stuck in any step, a clean-up too
            stop = self.rng.randrange(len(ops))
        elif outcome == "partial":
            stop = self.rng.randrange(1, len(ops)) if len(ops) > 1 else 1
        ran: list[_Op] = []
        failures: list[tuple[int, _Op]] = []
        for position, op in enumerate(ops):
            if position > stop and not plan.keeps_going:
                break
            if plan.keeps_going and failures and op.name != "delete_block":
                break  # the pane is not empty: its leaf stays
            if outcome == "partial" and position == stop:
                break  # crashed between two steps
            step = self._start_step(saga, op.name, compact(op.cmd))
            ran.append(op)
            if position == stop and outcome in ("timeout", "pending"):
                break  # the step under way when the timeout (or the crash) came
            failing = (position == stop and outcome == "error") or (
                plan.keeps_going and outcome == "error" and op.fallible
                and self.rng.random() < 0.15)
            if failing:
                self._fail(step, op.error)
                failures.append((position, op))
                if not plan.keeps_going:
                    break
            elif op.best_effort and outcome in ("ok", "all_done") and (
                    how == "best_effort_fails" or self.rng.random() < (
                        0.12 if kind == "delete_block" else 0.3)):
                self._fail(step, op.error)  # best effort: the saga still completes
            else:
                self._succeed(step, op)
        if outcome == "ok":
            saga.state, saga.ended_at = "completed", self._tick(0, 2)
        elif outcome == "timeout":
            saga.state, saga.failure_reason = "failed", SERVER_TIMEOUT_REASON.format(name=kind)
            self.clock = max(self.clock, start + SERVER_TIMEOUT_MS + self.rng.randint(0, 12))
            saga.ended_at = self.clock
        elif outcome == "error":
            self._compensate(saga, plan, ran, failures, kind, how)
        return saga, ran

    def _compensate(self, saga: SagaRow, plan: _Plan, ran: list[_Op],
                    failures: list[tuple[int, _Op]], kind: str, how: str | None) -> None:
        """The saga's own compensation: its undo appended as new rows, then every
        succeeded forward step marked compensated (even where nothing could be undone)."""
        if plan.keeps_going:
            reason = "ClosePane: " + "; ".join(
                f"{op.cmd['block_id']}: {op.error}" for _, op in failures)
        else:
            reason = self._reason(kind, *failures[-1])
        done = [op for op, step in zip(ran, saga.steps, strict=False) if step.state == "succeeded"]
        for name, cmd, events in (plan.undo(done) if plan.undo else []):
            roll = {"fallback": 0.0, "refused": 0.1, "undone": 1.0}.get(how or "",
                                                                         self.rng.random())
            if roll < 0.05:  # the undo's start was not logged: the fallback row
                step = StepRow(len(saga.steps), FALLBACK_UNDO, "compensated", "", None,
                               self._tick(0, 2))
                saga.steps.append(step)
                step.ended_at, step.output_json = self._tick(1, 20), self._output(events)
                continue
            step = self._start_step(saga, name, compact(cmd))
            if roll < 0.15:  # the reducer refused the undo
                self._fail(step, _refusal(cmd))
            else:
                step.state, step.ended_at = "compensated", self._tick(1, 20)
                step.output_json = self._output(events)
        for step in saga.steps:
            if step.state == "succeeded":
                step.state = "compensated"
        saga.state, saga.failure_reason = "compensated", reason
        saga.ended_at = self._tick(0, 2)

    def _recover(self, held: Sequence[_Held], restart: int, *, lose_one: bool) -> None:
        """What the next server start does with the sagas left running or failed: set
        them compensating, then undo, or give up with the recovery's own reasons. With
        `lose_one`, the final write of the first saga that had something to undo is lost:
        it stays compensating."""
        self.clock = restart
        for item in held:
            saga, was = item.saga, item.saga.state
            self._tick(1, 4)
            pending = sum(step.state == "pending" for step in saga.steps)
            if pending:
                saga.state, saga.ended_at = "failed_compensation", self._tick(0, 1)
                saga.failure_reason = PENDING_AT_RESTART.format(count=pending)
                continue
            forward = list(zip(saga.steps, item.ops, strict=False))
            done = [(step, op) for step, op in forward if step.state == "succeeded"][::-1]
            if not done:
                saga.state, saga.ended_at = "compensated", self._tick(0, 1)
                saga.failure_reason = NOTHING_TO_UNDO.format(state=was)
                continue
            problems = []
            for step, op in done:
                moment = self._tick(0, 3)
                if op.inverse is None:
                    row = StepRow(len(saga.steps), NO_INVERSE_PREFIX + op.name, "failed",
                                  step.cmd_json, None, moment, moment,
                                  compact({"error": NO_INVERSE_ERROR}))
                    problems.append(NO_INVERSE_PROBLEM.format(index=step.step_index,
                                                              name=op.name))
                else:
                    name, cmd, events = op.inverse
                    row = StepRow(len(saga.steps), name, "compensated", compact(cmd), None,
                                  moment, moment, self._output(events))
                    if self.rng.random() < 0.1:
                        error = _refusal(cmd)
                        row.state, row.output_json = "failed", compact({"error": error})
                        problems.append(UNDO_PROBLEM.format(index=step.step_index,
                                                            name=op.name, error=error))
                    else:
                        step.state = "compensated"
                saga.steps.append(row)
            if lose_one:
                lose_one = False
                saga.state = "compensating"  # keeps its old terminal_at and reason
                continue
            saga.ended_at = self._tick(0, 2)
            if problems:
                saga.state, saga.failure_reason = "failed_compensation", "; ".join(problems)
            else:
                saga.state = "compensated"
                saga.failure_reason = RESUMED_AT_RESTART.format(state=was)

    def _outcome(self) -> str:
        roll = self.rng.random()
        return "ok" if roll < 0.93 else "error" if roll < 0.988 else "timeout"

    def runs(self, count: int) -> Iterator[SagaRow]:
        per_run = min(2000, max(40, count // 5))
        runs = max(1, -(-count // per_run))
        made = 0
        for run in range(runs):
            size = min(per_run, count - made)
            last = run == runs - 1
            tail: tuple[tuple[str, str | None], ...]
            if last:
                tail = (("pending", None),)  # in flight when the file was copied
            elif run < len(self.PLANNED_TAILS):
                tail = self.PLANNED_TAILS[run]
            elif run == runs - 2:
                tail = (("all_done", "promote_block_to_tab"),)  # left compensating
            else:
                tail = tuple((self.rng.choice(("pending", "pending", "all_done", "partial",
                                                "no_steps")), None)
                             for _ in range(self.rng.randint(0, 2)))
            tail = tail[-size:] if size else ()
            rows: list[SagaRow] = []
            held: list[_Held] = []
            for i in range(size):
                planned = i - (size - len(tail))
                if planned >= 0:
                    outcome, kind = tail[planned]
                else:
                    # Every run holds a timeout, so that recovery always meets a failed saga.
                    outcome, kind = ("timeout" if i == size // 2 else self._outcome()), None
                how = None
                if run == 0 and i in self.PLANNED_EARLY:
                    outcome, kind, how = self.PLANNED_EARLY[i]
                kind = kind or self.rng.choices(self.kinds, self.weights)[0]
                saga, ops = self._saga(kind, outcome, how)
                rows.append(saga)
                if saga.state in ("running", "failed"):
                    held.append(_Held(saga, ops))
            made += size
            if not last:
                restart = self.clock + self.rng.randint(5 * 60_000, 10 * 3600_000)
                self._recover(held, restart, lose_one=run == runs - 2)
            yield from rows


def _delete_workspace_cmd(workspace: str, force: bool) -> dict[str, object]:
    return {"cmd": "delete_workspace", "workspace_id": workspace, "force": force}


def _delete_tab_cmd(workspace: str, tab: str, force: bool) -> dict[str, object]:
    return {"cmd": "delete_tab", "workspace_id": workspace, "tab_id": tab, "force": force}


def _refusal(cmd: Mapping[str, object]) -> str:
    """The reducer's answer when an undo finds its object gone."""
    what = next(key for key in cmd if key != "cmd")
    return f"{what.removesuffix('_id')} not found: {cmd[what]}"


def iter_server_demo_sagas(count: int = SERVER_DEMO_COUNT, seed: int = DEMO_SEED,
                           start: datetime = DEMO_START) -> Iterator[SagaRow]:
    """The server demo's sagas, generated as they are consumed (one server run's worth
    held at a time, in id order): for big logs, e.g. write_saga_log(path,
    iter_server_demo_sagas(1_000_000), log_format=SERVER)."""
    return _ServerDemoWriter(seed, start).runs(count)


def server_demo_sagas(count: int = SERVER_DEMO_COUNT, seed: int = DEMO_SEED) -> list[SagaRow]:
    """A deterministic, realistic server log: every kind and state, undo rows, recoveries,
    a crash left in flight."""
    return list(iter_server_demo_sagas(count, seed))


def write_demo(path: Path, count: int | None = None, seed: int = DEMO_SEED,
               log_format: str = "launcher") -> Path:
    """Write a demo log of `log_format` (a format's name; `count` None: that demo's
    own size) to a new file at `path` (refuses to overwrite anything)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists; the demo is only written to a new file")
    if log_format == "server":
        count = SERVER_DEMO_COUNT if count is None else count
        return write_saga_log(path, iter_server_demo_sagas(count, seed), log_format=SERVER)
    if log_format != "launcher":
        raise ValueError(f"no demo of format {log_format!r}; known: {', '.join(FORMAT_NAMES)}")
    return write_saga_log(path, demo_sagas(LAUNCHER_DEMO_COUNT if count is None else count, seed))


# -- the demo fleet: several logs in one view (`--demo` with several logs) ---------------------
#
# What an operator's ~/.agentmux holds after an upgrade: the launcher log of the version it
# left (0.41.2), and the launcher and server logs of the version it runs now (0.42.0). Every
# log numbers its sagas from 1, so ids collide across them (the source column tells them
# apart), and the server ran all along, so its sagas interleave in time with both launchers'.
# The old version's launcher never started again: its last sagas are still `running`, and
# its file was last written when it stopped (months before today, as its mtime says), which
# is what makes a saga abandoned.

FLEET_CHANNEL = "stable"
FLEET_OLD_VERSION = "0.41.2"
FLEET_NEW_VERSION = "0.42.0"
FLEET_OLD_COUNT = 120
FLEET_NEW_COUNT = 160
FLEET_SERVER_COUNT = 200
# The upgrade: the old launcher's sagas end before this, the new one's start after it.
FLEET_UPGRADE = DEMO_START + timedelta(hours=11)
# The server's first start: early enough that its runs fall among both launchers' (its
# last run among the new launcher's last sagas, so the view's first rows mix the two).
FLEET_SERVER_START = DEMO_START - timedelta(hours=4, minutes=15)


def fleet_log_folder(folder: Path, version: str) -> Path:
    """Where a version's logs live under a data folder laid out like ~/.agentmux."""
    return Path(folder) / "channels" / FLEET_CHANNEL / "versions" / version / "data" / "db"


def write_demo_fleet(folder: Path, seed: int = DEMO_SEED) -> list[Path]:
    """Write the demo fleet under `folder` (a data folder laid out like ~/.agentmux): two
    launcher version folders and the newer one's server log. Returns their paths, oldest
    version first; refuses to overwrite anything. Deterministic: the same bytes each time,
    and the old launcher log's modification time is the moment it was last written."""
    old = fleet_log_folder(folder, FLEET_OLD_VERSION) / LAUNCHER.file_name
    new = fleet_log_folder(folder, FLEET_NEW_VERSION) / LAUNCHER.file_name
    server = fleet_log_folder(folder, FLEET_NEW_VERSION) / SERVER.file_name
    paths = [old, new, server]
    for path in paths:
        if path.exists():
            raise FileExistsError(f"{path} already exists; the demo is only written to new files")
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
    old_sagas = demo_sagas(FLEET_OLD_COUNT, seed + 41)
    write_saga_log(old, old_sagas)
    write_saga_log(new, demo_sagas(FLEET_NEW_COUNT, seed + 42, FLEET_UPGRADE))
    write_saga_log(server, iter_server_demo_sagas(FLEET_SERVER_COUNT, seed, FLEET_SERVER_START),
                   log_format=SERVER)
    stopped = _last_moment(old_sagas)
    os.utime(old, (stopped, stopped))
    return paths


def _last_moment(sagas: Sequence[SagaRow]) -> float:
    """The latest time the launcher rows hold, in seconds since the epoch (the moment its
    writer last wrote)."""
    times = [LAUNCHER.time.decode(value) for saga in sagas
             for value in (saga.started_at, saga.ended_at,
                           *(t for step in saga.steps for t in (step.started_at, step.ended_at)))
             if value is not None]
    return max(stamp.value for stamp in times if stamp is not None and stamp.value
               is not None).timestamp()
