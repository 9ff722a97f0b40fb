"""Builds saga log files in a test's tmp_path, with rows shaped like the real ones."""

from __future__ import annotations

import copy
import json
import random
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from saga_inspector.demo import (
    CLEANUP,
    REASON_RESTART_RUNNING,
    RESPAWN,
    SagaRow,
    StepRow,
    compact,
    demo_sagas,
    rfc3339,
    write_saga_log,
)
from saga_inspector.store.formats import LAUNCHER, LogFormat
from saga_inspector.store.formats.base import SAGA_FIELDS, STEP_FIELDS
from saga_inspector.store.formats.launcher import LAUNCHER_DDL
from saga_inspector.store.formats.server import millis
from saga_inspector.store.timestamps import micros, parse_timestamp

T0 = datetime(2026, 6, 2, 14, 5, 23, 481526, tzinfo=UTC)

# The launcher's DDL without its CHECK constraints: lets a test store states it never wrote.
LOOSE_DDL = LAUNCHER_DDL.replace(
    "CHECK (state IN ('running', 'completed', 'failed', 'compensating', 'failed_compensation'))",
    "",
).replace("CHECK (state IN ('pending', 'succeeded', 'failed', 'compensated'))", "")


def ts(seconds: float = 0.0, digits: int = 9) -> str:
    """A chrono-style timestamp `seconds` after T0."""
    return rfc3339(T0 + timedelta(seconds=seconds), digits)


def cleanup_saga(
    saga_id: int,
    state: str = "completed",
    *,
    label: str = "main",
    at: float = 0.0,
    reason: str | None = None,
    drained: bool | None = True,
) -> SagaRow:
    """A window_cleanup_cascade saga. drained=None leaves the drain step pending."""
    reap = StepRow(0, "issue_cmd_host_reap_panes", "succeeded",
                   compact({"cmd": "reap_panes", "label": label, "saga_id": 0}), "host",
                   ts(at + 0.0003), ts(at + 0.03),
                   compact({"event": "panes_reaped", "label": label, "version": 1231,
                            "saga_id": saga_id}))
    drain = StepRow(1, "issue_cmd_host_drain_pool_if_last", "pending",
                    compact({"cmd": "drain_pool_if_last", "label": label, "saga_id": 0}), "host",
                    ts(at + 0.031))
    if drained is not None:
        drain.state, drain.ended_at = "succeeded", ts(at + 0.036)
        event = "pool_drained" if drained else "pool_not_last"
        drain.output_json = compact({"event": event, "label": label, "version": 1232,
                                     "saga_id": saga_id})
    ended = ts(at + 0.037) if state != "running" else None
    return SagaRow(saga_id, CLEANUP, state, ts(at), ended, compact({"closed_label": label}),
                   reason, [reap, drain])


def respawn_saga(
    saga_id: int, state: str = "completed", *, at: float = 0.0, reason: str | None = None
) -> SagaRow:
    """A pool_respawn_on_promote saga; its one step is pending unless the saga completed."""
    label = f"window-pool-{saga_id:032x}"
    step = StepRow(0, "issue_cmd_host_spawn_pool_window", "pending",
                   compact({"cmd": "spawn_pool_window", "saga_id": 0}), "host", ts(at + 0.0004))
    ended = None if state == "running" else ts(at + 5.01)
    if state == "completed":
        step.state, step.ended_at = "succeeded", ts(at + 0.4)
        step.output_json = compact({"event": "pool_window_added", "label": label,
                                    "version": 1186, "saga_id": saga_id})
        ended = ts(at + 0.41)
    return SagaRow(saga_id, RESPAWN, state, ts(at), ended,
                   compact({"promoted_label": label}), reason, [step])


def recovered_saga(saga_id: int, *, at: float = 0.0) -> SagaRow:
    """A cleanup saga left running at a crash and marked at the next start."""
    saga = cleanup_saga(saga_id, "failed_compensation", at=at, drained=None,
                        reason=REASON_RESTART_RUNNING)
    saga.ended_at = ts(at + 4 * 3600)
    return saga


def mixed_sagas(
    count: int,
    *,
    states: Sequence[str] = ("completed", "failed", "failed_compensation", "running",
                             "compensating"),
    first_id: int = 5,
    id_step: int = 3,
    seed: int = 7,
) -> list[SagaRow]:
    """`count` sagas of both kinds with ids that have gaps (first_id, first_id + id_step, ...)
    and states drawn at random (seeded) from `states`, so runs of one state vary in length."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        saga_id, state = first_id + n * id_step, rng.choice(states)
        make = cleanup_saga if n % 2 else respawn_saga
        rows.append(make(saga_id, state, at=float(n)))
    return rows


# -- the server's own kinds (server-only tests; rows as the server stores them) ------------------


def ms(seconds: float = 0.0) -> int:
    """A server time: integer milliseconds since the epoch, `seconds` after T0."""
    return millis(micros(parse_timestamp(ts(seconds))))


def server_id(n: int) -> str:
    """A UUID (version 4 shape), the same for the same n: tab, block and workspace ids."""
    return str(uuid.UUID(int=(n * 0x9E3779B97F4A7C15F39CC0605CEDC835) % 2**128, version=4))


def _cmd(cmd: str, **fields: object) -> str:
    return compact({"cmd": cmd, **fields})


def _events(*events: dict[str, object]) -> str:
    return json.dumps(list(events), separators=(",", ":"))


def _error(message: str) -> str:
    return compact({"error": message})


def _server_step(index: int, name: str, cmd_json: str, at: float, state: str = "succeeded",
                 output_json: str | None = "[]", took: float = 0.004) -> StepRow:
    """A server step row: no target, no failure_reason column (errors are in the output)."""
    done = state != "pending"
    return StepRow(index, name, state, cmd_json, None, ms(at),
                   ms(at + took) if done else None, output_json if done else None)


def tear_off_tab_saga(saga_id: int, state: str = "completed", *, at: float = 0.0,
                      tab: int = 1, workspace: int = 2) -> SagaRow:
    """create_workspace, move_tab. state "compensated": move_tab failed, its workspace undone
    by a delete_workspace row appended after the forward steps (create_workspace flipped to
    compensated). state "running": move_tab still pending."""
    tab_id, source, created = server_id(tab), server_id(workspace), server_id(saga_id + 1000)
    create = _server_step(0, "create_workspace", _cmd("create_workspace", name=""), at + 0.001,
                          output_json=_events({"event": "workspace_created",
                                               "workspace_id": created, "name": "",
                                               "version": 17}))
    move = _server_step(1, "move_tab", _cmd("move_tab", tab_id=tab_id, src_workspace_id=source,
                                            dst_workspace_id=created, dst_index=0), at + 0.006,
                        output_json=_events({"event": "tab_moved", "tab_id": tab_id,
                                             "workspace_id": created, "version": 18}))
    steps, reason, end = [create, move], None, ms(at + 0.012)
    if state == "running":
        move.state, move.ended_at, move.output_json, end = "pending", None, None, None
    elif state == "compensated":
        move.state, move.output_json = "failed", _error(f"tab not found: {tab_id}")
        create.state = "compensated"
        steps.append(_server_step(2, "delete_workspace",
                                  _cmd("delete_workspace", workspace_id=created, force=True),
                                  at + 0.011, "compensated"))
        reason = f"TearOffTab step 2 (MoveTab): tab not found: {tab_id}"
        end = ms(at + 0.016)
    return SagaRow(saga_id, "tear_off_tab", state, ms(at), end,
                   compact({"tab_id": tab_id, "source_workspace_id": source}), reason, steps)


def close_pane_saga(saga_id: int, state: str = "completed", *, at: float = 0.0, tab: int = 3,
                    blocks: Sequence[int] = (4, 5)) -> SagaRow:
    """delete_block per block, then layout_delete_node (the pane is now empty). state
    "compensated": the second delete_block failed; nothing to undo (none is written)."""
    tab_id, block_ids = server_id(tab), [server_id(b) for b in blocks]
    steps = [_server_step(n, "delete_block", _cmd("delete_block", block_id=block, tab_id=tab_id),
                          at + 0.001 + n * 0.005,
                          output_json=_events({"event": "block_deleted", "block_id": block}))
             for n, block in enumerate(block_ids)]
    reason = None
    if state == "compensated":
        steps[-1].state = "failed"
        steps[-1].output_json = _error(f"block not found: {block_ids[-1]}")
        reason = f"ClosePane: {block_ids[-1]}: block not found: {block_ids[-1]}"
    else:
        steps.append(_server_step(len(steps), "layout_delete_node",
                                  _cmd("layout_delete_node", tab_id=tab_id),
                                  at + 0.002 + len(steps) * 0.005))
    return SagaRow(saga_id, "close_pane", state, ms(at), ms(at + 0.03),
                   compact({"tab_id": tab_id, "block_ids": block_ids}), reason, steps)


# A layout tree as the best-effort step's output holds it (kilobytes in real files).
LAYOUT_TREE = {"event": "layout_changed", "layout": {"root": {"children": [
    {"block_id": server_id(900 + n), "size": 50} for n in range(40)]}}}


def delete_block_saga(saga_id: int, *, at: float = 0.0, tab: int = 6, block: int = 7,
                      layout_failed: bool = False) -> SagaRow:
    """delete_block, then the best-effort layout_delete_node_by_block (its output the whole
    layout tree). layout_failed: that step failed, and the saga still completed."""
    tab_id, block_id = server_id(tab), server_id(block)
    layout = _server_step(1, "layout_delete_node_by_block",
                          _cmd("layout_delete_node_by_block", tab_id=tab_id, block_id=block_id),
                          at + 0.006, output_json=_events(LAYOUT_TREE))
    if layout_failed:
        layout.state, layout.output_json = "failed", _error(f"layout not found for {tab_id}")
    return SagaRow(saga_id, "delete_block", "completed", ms(at), ms(at + 0.02),
                   compact({"tab_id": tab_id, "block_id": block_id}), None, [
                       _server_step(0, "delete_block",
                                    _cmd("delete_block", block_id=block_id, tab_id=tab_id),
                                    at + 0.001, output_json=_events(
                                        {"event": "block_deleted", "block_id": block_id})),
                       layout])


def delete_workspace_saga(saga_id: int, *, at: float = 0.0, workspace: int = 8,
                          tabs: Sequence[int] = (9, 10)) -> SagaRow:
    """delete_tab (force) per tab, then delete_workspace (force); its tab ids in an array."""
    workspace_id, tab_ids = server_id(workspace), [server_id(t) for t in tabs]
    steps = [_server_step(n, "delete_tab", _cmd("delete_tab", tab_id=tab, force=True),
                          at + 0.001 + n * 0.004,
                          output_json=_events({"event": "tab_deleted", "tab_id": tab}))
             for n, tab in enumerate(tab_ids)]
    steps.append(_server_step(len(steps), "delete_workspace",
                              _cmd("delete_workspace", workspace_id=workspace_id, force=True),
                              at + 0.02, output_json=_events(
                                  {"event": "workspace_deleted", "workspace_id": workspace_id})))
    return SagaRow(saga_id, "delete_workspace", "completed", ms(at), ms(at + 0.03),
                   compact({"workspace_id": workspace_id, "tab_ids": tab_ids,
                            "block_count": 3}), None, steps)


NO_INVERSE_ERROR = "no inverse derivable from saga log"


def no_inverse_saga(saga_id: int, *, at: float = 0.0, tab: int = 11,
                    workspace: int = 12) -> SagaRow:
    """A delete_tab left running at a crash; recovery at the next start found its step
    succeeded with no derivable undo: a `no_inverse_for_delete_tab` row, and the saga
    failed_compensation."""
    tab_id, workspace_id = server_id(tab), server_id(workspace)
    delete = _server_step(0, "delete_tab", _cmd("delete_tab", tab_id=tab_id), at + 0.001,
                          output_json=_events({"event": "tab_deleted", "tab_id": tab_id}))
    restart = at + 3600
    no_inverse = StepRow(1, "no_inverse_for_delete_tab", "failed", "{}", None, ms(restart),
                         ms(restart), _error(NO_INVERSE_ERROR))
    reason = f"step 1 (delete_tab): {NO_INVERSE_ERROR} \u2014 operator review needed"
    return SagaRow(saga_id, "delete_tab", "failed_compensation", ms(at), ms(restart),
                   compact({"workspace_id": workspace_id, "tab_id": tab_id}), reason,
                   [delete, no_inverse])


def timed_out_saga(saga_id: int, *, at: float = 0.0, block: int = 13, tab: int = 14) -> SagaRow:
    """A redock_floating_pane failed by its 5 s timeout: its move_block left pending."""
    block_id, source, target = server_id(block), server_id(tab), server_id(tab + 1)
    move = _server_step(0, "move_block", _cmd("move_block", block_id=block_id,
                                              dst_tab_id=target, dst_index=0),
                        at + 0.001, "pending")
    return SagaRow(saga_id, "redock_floating_pane", "failed", ms(at), ms(at + 5.0),
                   compact({"block_id": block_id, "source_tab_id": source,
                            "target_tab_id": target, "dst_index": 0}),
                   "saga 'redock_floating_pane' timed out after 5s", [move])


def server_sagas() -> list[SagaRow]:
    """One of each shape above, ids 1-8 (with a gap), oldest first."""
    return [
        tear_off_tab_saga(1, at=0),
        tear_off_tab_saga(2, "compensated", at=10, tab=21, workspace=22),
        close_pane_saga(3, at=20),
        close_pane_saga(4, "compensated", at=30, tab=23, blocks=(24, 25)),
        delete_block_saga(5, at=40, layout_failed=True),
        delete_workspace_saga(6, at=50),
        no_inverse_saga(8, at=60),
        timed_out_saga(9, at=70),
    ]


# -- one row shape, either format ---------------------------------------------------------------

def stored_time(value: object, log_format: LogFormat) -> object:
    """A launcher-shaped time (RFC 3339 text) as `log_format` stores it: for the server,
    integer milliseconds since the epoch, read with the project's one parser. A value that
    does not parse (or is not text) stays as it is: that is a hostile case."""
    if log_format is LAUNCHER or not isinstance(value, str):
        return value
    instant = micros(parse_timestamp(value))
    return value if instant is None else millis(instant)


def for_format(sagas: Iterable[SagaRow], log_format: LogFormat) -> list[SagaRow]:
    """Launcher-shaped rows (RFC 3339 text times, a step's failure_reason and target)
    translated to what `log_format` stores. The one translation: for the server, times in
    milliseconds, a step's failure reason moved into its output as `{"error": ...}` (where
    the server keeps it), the target left out (the server has none; write_saga_log does not
    write fields the format lacks, and the end goes to `terminal_at` by the format's
    columns). Copies: the rows given are left as they are."""
    rows = [copy.deepcopy(saga) for saga in sagas]
    if log_format is LAUNCHER:
        return rows
    for saga in rows:
        saga.started_at = stored_time(saga.started_at, log_format)
        saga.ended_at = stored_time(saga.ended_at, log_format)
        for step in saga.steps:
            step.started_at = stored_time(step.started_at, log_format)
            step.ended_at = stored_time(step.ended_at, log_format)
            if step.failure_reason is not None:
                step.output_json = compact({"error": step.failure_reason})
            step.failure_reason = None
            step.target = None
    return rows


def insert_rows(log_format: LogFormat, sagas: Sequence[SagaRow]) -> list[tuple[str, list]]:
    """(INSERT statement, its rows) for the sagas and their steps, in the format's own tables
    and columns; rows already as the format stores them (see for_format)."""
    saga_fields = [f for f in SAGA_FIELDS if f in log_format.saga_columns]
    step_fields = [f for f in STEP_FIELDS if f in log_format.step_columns]

    def insert(table: str, columns: dict, fields: list[str]) -> str:
        names = ", ".join(columns[f] for f in fields)
        return f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(fields))})"

    sagas_sql = insert(log_format.saga_table, dict(log_format.saga_columns), saga_fields)
    steps_sql = insert(log_format.step_table, dict(log_format.step_columns), step_fields)
    return [
        (sagas_sql, [[getattr(s, f) for f in saga_fields] for s in sagas]),
        (steps_sql, [[s.saga_id if f == "saga_id" else getattr(t, f) for f in step_fields]
                     for s in sagas for t in s.steps]),
    ]


def insert_sagas(conn: sqlite3.Connection, log_format: LogFormat,
                 sagas: Iterable[SagaRow]) -> None:
    """Insert launcher-shaped sagas (and their steps) through `conn`, as `log_format` stores
    them: a writer adding rows to a log a test has open."""
    for sql, rows in insert_rows(log_format, for_format(sagas, log_format)):
        conn.executemany(sql, rows)


def _run_writer_then_die(path: Path, setup: str, inserts: list[tuple[str, list]]) -> None:
    """Run `setup` and the inserts in a process that exits without closing the connection
    (os._exit): the rows are committed into the -wal and never checkpointed."""
    script = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        f"{setup}"
        "conn.execute('PRAGMA wal_autocheckpoint=0')\n"
        + "".join(f"conn.executemany({sql!r}, {rows!r})\n" for sql, rows in inserts)
        + "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)


def corrupt_page_holding(path: Path, marker: bytes, *, page_size: int = 4096) -> int:
    """Overwrite the page of `path` that holds `marker` with garbage; returns its number
    (0-based). The file must be closed, its rows checkpointed into it."""
    data = bytearray(path.read_bytes())
    offset = data.find(marker)
    if offset < 0:
        raise ValueError(f"{marker!r} is not in {path}")
    page = offset // page_size
    data[page * page_size:(page + 1) * page_size] = b"\xa5" * page_size
    path.write_bytes(bytes(data))
    return page


class SagaLogFactory:
    """`make_log(sagas, ...)` writes a file in `log_format` (rows are launcher-shaped and
    translated by for_format); the other methods make the odd kinds of file."""

    def __init__(self, folder: Path, log_format: LogFormat = LAUNCHER) -> None:
        self.folder = folder
        self.log_format = log_format
        self._n = 0

    @property
    def fmt(self) -> LogFormat:
        return self.log_format

    def _new_path(self, name: str | None) -> Path:
        self._n += 1
        stem = "launcher-sagas" if self.log_format is LAUNCHER else "sagas"
        return self.folder / (name or f"{stem}-{self._n}.db")

    def ddl_for(self, ddl: str | None) -> str:
        """The DDL to write: the format's own for None. LOOSE_DDL (the launcher's without its
        CHECKs) means the server's own DDL, which has no CHECKs to lift."""
        if ddl is None or (ddl == LOOSE_DDL and self.log_format is not LAUNCHER):
            return self.log_format.ddl
        return ddl

    def __call__(
        self,
        sagas: Iterable[SagaRow] = (),
        *,
        name: str | None = None,
        user_version: int = 1,
        ddl: str | None = None,
        sql: Iterable[str] = (),
    ) -> Path:
        path = write_saga_log(self._new_path(name), for_format(sagas, self.log_format),
                              user_version=user_version, ddl=self.ddl_for(ddl),
                              log_format=self.log_format)
        statements = list(sql)
        if statements:
            conn = sqlite3.connect(path)
            for statement in statements:
                conn.execute(statement)
            conn.commit()
            conn.close()
        return path

    def stored(self, sagas: Iterable[SagaRow]) -> list[SagaRow]:
        """The rows as this factory's format stores them (for_format)."""
        return for_format(sagas, self.log_format)

    def from_sql(self, script: str, *, name: str | None = None, user_version: int = 1) -> Path:
        """A file made by running `script` (DDL and inserts of any shape), written like the
        launcher writes (WAL) and closed cleanly: for schemas this tool has to tolerate."""
        path = self._new_path(name)
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(script)
            conn.execute(f"PRAGMA user_version = {int(user_version)}")
        finally:
            conn.close()
        return path

    def damaged(self, count: int = 400, *, name: str = "damaged.db") -> Path:
        """A file whose saga table has one garbage page in the middle: opening and counting
        work, and errors appear only part-way through iterating the rows."""
        sagas = [cleanup_saga(i, label=f"marker-{i:05d}", at=float(i)) for i in range(1, count + 1)]
        path = self(sagas, name=name)
        corrupt_page_holding(path, f'closed_label":"marker-{count // 2:05d}"'.encode())
        return path

    def realistic(self, count: int = 120, *, name: str | None = None) -> Path:
        return self(demo_sagas(count), name=name)

    def file_with(self, content: bytes, name: str = "not-a-db.db") -> Path:
        path = self.folder / name
        path.write_bytes(content)
        return path

    def truncated(self, keep_bytes: int = 3000) -> Path:
        source = self.realistic(200, name="whole.db")
        path = self.folder / "truncated.db"
        path.write_bytes(source.read_bytes()[:keep_bytes] if keep_bytes else b"")
        return path

    def wal_only(
        self, sagas: Iterable[SagaRow], *, name: str = "wal-only.db", with_steps: bool = False
    ) -> Path:
        """A file whose rows sit only in an un-checkpointed -wal: the writer exits uncleanly.
        with_steps also writes each saga's steps (into the -wal too)."""
        path = self.folder / name
        rows = for_format(sagas, self.log_format)
        if not with_steps:
            for saga in rows:
                saga.steps = []
        setup = ("conn.execute('PRAGMA journal_mode=WAL')\n"
                 "conn.execute('PRAGMA wal_autocheckpoint=0')\n"
                 f"conn.executescript({self.log_format.ddl!r})\n"
                 "conn.execute('PRAGMA user_version = 1')\n")
        _run_writer_then_die(path, setup, insert_rows(self.log_format, rows))
        return path


# -- hostile and broken content (the safety suites) ---------------------------------------------

# Each stored value below must reach a terminal as visible stand-ins, never as what it is.
OSC_TITLE = "\x1b]0;pwned-title\x07"  # would retitle the terminal
OSC_CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"  # would write "pwned" to the clipboard
CLEAR_SCREEN = "\x1b[2J"
C1_CSI = "\x9b31m"  # the one-byte CSI
BIDI = "\u202eevil\u2066"  # right-to-left override, left-to-right isolate
MARKUP = ("[/]", "[bold]", "[link=http://x]", "[TODO]")
HOSTILE = (f"{OSC_TITLE} {OSC_CLIPBOARD} {CLEAR_SCREEN} {C1_CSI} del\x7f nul\x00 {BIDI} "
           + " ".join(MARKUP))
# The visible stand-ins the sanitiser gives each of them.
HOSTILE_SHOWN = ("␛]0;pwned-title␇", "␛]52;c;cHduZWQ=␇", "␛[2J", "\\x9b31m", "del␡", "nul␀",
                 "<U+202E>evil<U+2066>", *MARKUP)


def hostile(label: str) -> str:
    """A short hostile value for one column (long ones are cut in table cells)."""
    return f"{label}{OSC_TITLE}[bold]{CLEAR_SCREEN}[/]"


def hostile_sagas() -> list[SagaRow]:
    """Hostile text in every column: a failed saga (its drain step in flight) and a saga in a
    hostile state. Needs LOOSE_DDL (the launcher's CHECKs would refuse the odd states)."""
    sagas = []
    for saga_id, state in ((7, "failed"), (8, hostile("st"))):
        saga = cleanup_saga(saga_id, state, drained=None, at=float(saga_id), reason=HOSTILE)
        saga.name = hostile("nm")
        saga.input_json = json.dumps({"closed_label": HOSTILE, "note": "[link=http://x]y[/link]"},
                                     ensure_ascii=False)
        saga.ended_at = hostile("end")
        for step in saga.steps:
            step.name = hostile("step")
            step.target = hostile("tg")
            step.failure_reason = HOSTILE
            step.started_at = hostile("t0")
        saga.steps[1].cmd_json = json.dumps({"cmd": HOSTILE}, ensure_ascii=False)
        saga.steps[0].output_json = "not json " + HOSTILE
        sagas.append(saga)
    return sagas


def add_rows_left_in_wal(
    path: Path, sagas: Iterable[SagaRow], log_format: LogFormat = LAUNCHER
) -> None:
    """Add sagas (and their steps) to a closed log the way a killed writer leaves them:
    committed into the -wal, never checkpointed into the file. Rows are launcher-shaped and
    written as `log_format` stores them."""
    _run_writer_then_die(path, "", insert_rows(log_format, for_format(sagas, log_format)))
