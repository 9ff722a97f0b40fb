"""Builds saga log files in a test's tmp_path, with rows shaped like the real ones."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
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
from saga_inspector.store.formats.launcher import LAUNCHER_DDL

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
    """`make_log(sagas, ...)` writes a file; the other methods make the odd kinds of file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._n = 0

    def _new_path(self, name: str | None) -> Path:
        self._n += 1
        return self.folder / (name or f"launcher-sagas-{self._n}.db")

    def __call__(
        self,
        sagas: Iterable[SagaRow] = (),
        *,
        name: str | None = None,
        user_version: int = 1,
        ddl: str = LAUNCHER_DDL,
        sql: Iterable[str] = (),
    ) -> Path:
        path = write_saga_log(self._new_path(name), sagas, user_version=user_version, ddl=ddl)
        statements = list(sql)
        if statements:
            conn = sqlite3.connect(path)
            for statement in statements:
                conn.execute(statement)
            conn.commit()
            conn.close()
        return path

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
        sagas = list(sagas)
        rows = [(s.saga_id, s.name, s.state, s.started_at, s.ended_at, s.input_json,
                 s.failure_reason) for s in sagas]
        steps = [(s.saga_id, t.step_index, t.name, t.state, t.cmd_json, t.target, t.started_at,
                  t.ended_at, t.output_json, t.failure_reason)
                 for s in sagas for t in s.steps] if with_steps else []
        script = (
            "import os, sqlite3, sys\n"
            "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "conn.execute('PRAGMA journal_mode=WAL')\n"
            "conn.execute('PRAGMA wal_autocheckpoint=0')\n"
            f"conn.executescript({LAUNCHER_DDL!r})\n"
            "conn.execute('PRAGMA user_version = 1')\n"
            f"conn.executemany('INSERT INTO launcher_saga VALUES (?,?,?,?,?,?,?)', {rows!r})\n"
            "conn.executemany('INSERT INTO launcher_saga_step VALUES (?,?,?,?,?,?,?,?,?,?)', "
            f"{steps!r})\n"
            "os._exit(0)\n"
        )
        subprocess.run([sys.executable, "-c", script, str(path)], check=True)
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


def add_rows_left_in_wal(path: Path, sagas: Iterable[SagaRow]) -> None:
    """Add sagas (and their steps) to a closed log the way a killed launcher leaves them:
    committed into the -wal, never checkpointed into the file."""
    sagas = list(sagas)
    rows = [(s.saga_id, s.name, s.state, s.started_at, s.ended_at, s.input_json,
             s.failure_reason) for s in sagas]
    steps = [(s.saga_id, t.step_index, t.name, t.state, t.cmd_json, t.target, t.started_at,
              t.ended_at, t.output_json, t.failure_reason) for s in sagas for t in s.steps]
    script = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA wal_autocheckpoint=0')\n"
        f"conn.executemany('INSERT INTO launcher_saga VALUES (?,?,?,?,?,?,?)', {rows!r})\n"
        "conn.executemany('INSERT INTO launcher_saga_step VALUES (?,?,?,?,?,?,?,?,?,?)', "
        f"{steps!r})\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)
