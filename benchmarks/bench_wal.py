"""A writer flat out and a reader beside it (issue 15): does the reader grow the writer's -wal,
slow it down, or make it meet a lock?

    python benchmarks/bench_wal.py                      # 1 000/s, 3 000/s, flat out; 10 s each
    python benchmarks/bench_wal.py --rates 0 --seconds 5 --conditions alone dashboard
    python benchmarks/bench_wal.py --format server      # the server's sagas.db
    python benchmarks/bench_wal.py --json               # the rows as JSON, for scripts

The writer is a process of its own, set up as the launcher (or the server) sets up its
connection (WAL, synchronous=NORMAL, foreign keys, SQLite's default autocheckpoint of 1 000
pages), committing one statement at a time as the real writers do: a saga inserted
`running`, each step inserted `pending` then finished, the saga set to its end state
(through `compensating` where it compensates), several sagas in flight at once. Its rows are
the benchmark logs' own (`bench_store.generated_sagas`, `server_log.server_sagas`), their ids
after the file's. It writes at each rate (0: as fast as the connection commits) for
`--seconds`, and reports its commits a second, its busy errors (its busy timeout is 0 here,
so that any wait for a lock is counted, where the real writers' 5 s would hide it), its
slowest commit, and the -wal's peak size (sampled every few commits; a -wal never shrinks
while its writer has it open, so the peak is its size at the end).

Conditions, each on a fresh copy of the same log:
- `alone`: the writer alone, the reference of every ratio;
- `cpu`: the writer beside a process that only burns a core and never opens the log: on a
  2-core machine any second process slows the writer; this tells how much of a reader's
  effect on the writer's rate is its CPU, not its reads;
- `dashboard`: `python -m saga_inspector FILE` on a pseudo-terminal (pty_screen.py), left on
  its default view (newest sagas, the first highlighted: its steps and detail read, and its
  neighbours' read ahead);
- `dashboard-f`: the same, following (`f`): the newest saga highlighted at every reload, so its
  detail and the read-ahead are read again each time;
- `follow`: `saga-inspector list FILE --follow --jsonl`.
Readers run at their default poll interval (1 s). Each is started and has drawn (or written)
the file's newest saga before the writer starts; after the writer stops it must show the
writer's newest saga (a reader that keeps the -wal small by falling behind does not count).

The log: a copy of `benchmarks/data/sagas-100000-4steps.db` (100 000 sagas, 400 000 steps,
160 MB; `--log` for another, e.g. a fleet log): real logs hold thousands to a few hundred
thousand sagas, and at this size each read the reader makes costs what it costs on a big real
log, while the copy (once per condition) takes a second. `--format server` writes a server
log of that many sagas once under the temporary folder (`server_log.server_sagas`).

`run(...)` returns the rows (for a combined runner); `main` prints them as a table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_store import DATA, generated_sagas  # noqa: E402
from pty_screen import PtySession  # noqa: E402
from saga_inspector.demo import SagaRow, write_saga_log  # noqa: E402
from saga_inspector.store.formats import LAUNCHER, SERVER  # noqa: E402
from saga_inspector.store.formats.base import LogFormat  # noqa: E402
from server_log import server_sagas  # noqa: E402

RATES = (1000, 3000, 0)  # commits a second; 0: flat out
CONDITIONS = ("alone", "cpu", "dashboard", "dashboard-f", "follow")
DEFAULT_LOG = DATA / "sagas-100000-4steps.db"
SERVER_COUNT = 100_000
SECONDS = 10.0
TARGET = 1.5  # the -wal's peak with a reader: at most this many times the writer alone's
CONCURRENT = 6  # sagas in flight at once, as the test writers run them
TEMPLATES = 4000  # sagas made once; the writer cycles through them with new ids
WAL_SAMPLE_EVERY = 16  # commits between two looks at the -wal's size
READY_S = 60.0  # a reader's first screen (or line), and catching up at the end
COLS, ROWS = 160, 48
PRAGMAS = {
    "launcher": ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                 "PRAGMA foreign_keys=ON"),
    "server": ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
               "PRAGMA temp_store=MEMORY", "PRAGMA foreign_keys=ON"),
}
FORMATS = {"launcher": LAUNCHER, "server": SERVER}

Statement = tuple[str, tuple[object, ...]]


# -- the writer (a process of its own) -------------------------------------------------------


def _insert(table: str, columns: dict[str, str]) -> str:
    return (f"INSERT INTO {table} ({', '.join(columns.values())}) "
            f"VALUES ({', '.join('?' * len(columns))})")


def _update(table: str, columns: dict[str, str], changed: Sequence[str],
            keys: Sequence[str]) -> str:
    sets = ", ".join(f"{columns[f]} = ?" for f in changed)
    where = " AND ".join(f"{columns[f]} = ?" for f in keys)
    return f"UPDATE {table} SET {sets} WHERE {where}"


class Shapes:
    """The writer's statements for one saga of the format, as the real writer commits them."""

    def __init__(self, fmt: LogFormat) -> None:
        self.fmt = fmt
        self.saga_cols = dict(fmt.saga_columns)
        self.step_cols = dict(fmt.step_columns)
        self.start_saga = _insert(fmt.saga_table, self.saga_cols)
        self.start_step = _insert(fmt.step_table, self.step_cols)
        self.end_step = _update(fmt.step_table, self.step_cols,
                                [f for f in ("state", "ended_at", "output_json", "failure_reason")
                                 if f in self.step_cols], ("saga_id", "step_index"))
        self.set_state = _update(fmt.saga_table, self.saga_cols, ("state",), ("saga_id",))
        self.end_saga = _update(fmt.saga_table, self.saga_cols,
                                ("state", "ended_at", "failure_reason"), ("saga_id",))
        self.compensates = "compensating" in fmt.saga_states

    def statements(self, row: SagaRow, saga_id: int) -> list[Statement]:
        """Insert `running`; each step inserted `pending`, then finished; the end state."""
        started = {"state": "running", "ended_at": None, "failure_reason": None}
        out = [(self.start_saga, tuple(started.get(f, getattr(row, f)) if f != "saga_id"
                                       else saga_id for f in self.saga_cols))]
        for step in row.steps:
            pending = {"saga_id": saga_id, "state": "pending", "ended_at": None,
                       "output_json": None, "failure_reason": None}
            out.append((self.start_step, tuple(pending.get(f, getattr(step, f, None))
                                               for f in self.step_cols)))
            if step.state != "pending":
                ended = [getattr(step, f, None) for f in ("state", "ended_at", "output_json",
                                                           "failure_reason")
                         if f in self.step_cols]
                out.append((self.end_step, (*ended, saga_id, step.step_index)))
        if row.state in ("compensated", "failed_compensation") and self.compensates:
            out.append((self.set_state, ("compensating", saga_id)))
        if row.state not in ("running", "compensating"):
            out.append((self.end_saga, (row.state, row.ended_at, row.failure_reason, saga_id)))
        elif row.state == "compensating" and self.compensates:
            out.append((self.set_state, ("compensating", saga_id)))
        return out


def template_rows(log_format: str, count: int = TEMPLATES) -> list[SagaRow]:
    if log_format == "server":
        return list(islice(server_sagas(count, seed=15), count))
    return list(islice(generated_sagas(count), count))


def writes(log_format: str, first_id: int, seed: int) -> Iterator[Statement]:
    """The writer's statements, sagas interleaved (CONCURRENT in flight), for ever."""
    shapes, rows = Shapes(FORMATS[log_format]), template_rows(log_format)
    rng = random.Random(seed)
    in_flight: list[list[Statement]] = []
    next_id, n = first_id, 0
    while True:
        if len(in_flight) < CONCURRENT:
            saga = shapes.statements(rows[n % len(rows)], next_id)
            saga.reverse()  # popped from the end
            in_flight.append(saga)
            next_id, n = next_id + 1, n + 1
        else:
            saga = in_flight[rng.randrange(len(in_flight))]
        yield saga.pop()
        if not saga:
            in_flight.remove(saga)


def write(path: Path, *, log_format: str, rate: float, seconds: float, busy_ms: int,
          seed: int = 15) -> dict[str, object]:
    """Commit the writer's statements for `seconds` at `rate` a second (0: flat out)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_ms / 1000)
    for pragma in PRAGMAS[log_format]:
        conn.execute(pragma)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
    table = FORMATS[log_format].saga_table
    first_id = (conn.execute(f"SELECT max(saga_id) FROM {table}").fetchone()[0] or 0) + 1
    statements = writes(log_format, first_id, seed)
    wal = path.with_name(path.name + "-wal")
    commits = busy = peak = 0
    slowest = 0.0
    grown: list[tuple[float, int]] = []  # (when, size): each new peak of the -wal
    began = time.time()  # (a trace's reads are placed by it: summarise_trace)
    started = time.perf_counter()
    deadline = started + seconds
    for sql, params in statements:
        now = time.perf_counter()
        if now >= deadline:
            break
        if rate:
            ahead = started + commits / rate - now
            if ahead > 0:
                time.sleep(ahead)
        before = time.perf_counter()
        while True:
            try:
                conn.execute(sql, params)
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                busy += 1
        slowest = max(slowest, time.perf_counter() - before)
        commits += 1
        if commits % WAL_SAMPLE_EVERY == 0:
            with contextlib.suppress(OSError):
                size = wal.stat().st_size
                if size > peak:
                    peak = size
                    grown.append((round(time.time(), 6), size))
    elapsed = time.perf_counter() - started
    with contextlib.suppress(OSError):
        peak = max(peak, wal.stat().st_size)
    newest = conn.execute(f"SELECT max(saga_id) FROM {table}").fetchone()[0]
    conn.close()
    return {"commits": commits, "seconds": round(elapsed, 3),
            "commits_per_s": round(commits / elapsed, 1), "wal_peak": peak,
            "busy_errors": busy, "slowest_commit_ms": round(slowest * 1000, 2),
            "newest_id": newest, "began": round(began, 6), "ended": round(time.time(), 6),
            "grown": grown[-40:]}


# -- readers -------------------------------------------------------------------------------

# The wal-index locks SQLite takes on the -shm: a reader in a read transaction holds one of
# the read locks (WAL_READ_LOCK(0..4), bytes 123-127) until its transaction ends.
_READ_LOCK_BYTES = range(123, 128)


class ReadLocks:
    """How long a process holds a read transaction on the log, seen from outside: its read
    locks on the -shm, in /proc/locks (Linux), sampled every `every` seconds in a thread."""

    def __init__(self, shm: Path, pid: int, every: float = 0.0005) -> None:
        self.inode, self.pid, self.every = f":{shm.stat().st_ino} ", str(pid), every
        self.samples = self.held = 0
        self.holds: list[float] = []  # each hold's length, seconds (as sampled)
        self.spans: list[tuple[float, float]] = []
        self._since: float | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _holding(self) -> bool:
        with open("/proc/locks", encoding="ascii") as locks:
            for line in locks:
                if self.inode in line:
                    fields = line.split()
                    if fields[4] == self.pid and int(fields[6]) in _READ_LOCK_BYTES:
                        return True
        return False

    def _watch(self) -> None:
        while not self._stop:
            now, holding = time.perf_counter(), self._holding()
            self.samples += 1
            if holding:
                self.held += 1
                if self._since is None:
                    self._since = now
            elif self._since is not None:
                self.holds.append(now - self._since)
                self.spans.append((self._since, now))
                self._since = None
            time.sleep(self.every)

    def stop(self) -> dict[str, object]:
        self._stop = True
        self._thread.join()
        holds = sorted(self.holds)
        return {"reader_held_share": round(self.held / max(self.samples, 1), 3),
                "read_transactions_seen": len(holds),
                "longest_hold_ms": round(holds[-1] * 1000, 1) if holds else 0.0}



def _has_id(text: str, saga_id: int) -> bool:
    """The id as a whole number somewhere in `text`."""
    needle = str(saga_id)
    start = text.find(needle)
    while start >= 0:
        end = start + len(needle)
        if (start == 0 or not text[start - 1].isdigit()) and (
                end == len(text) or not text[end].isdigit()):
            return True
        start = text.find(needle, start + 1)
    return False


class Dashboard:
    """The app on a pty, on its default view (`keys`: sent once it has drawn the newest;
    `trace`: a file where the app writes each long read transaction, see traced_app)."""

    def __init__(self, path: Path, keys: str = "", trace: Path | None = None) -> None:
        command = ([sys.executable, "-m", "saga_inspector", str(path)] if trace is None else
                   [sys.executable, str(Path(__file__).resolve()), "--trace", str(trace),
                    "--app", str(path)])
        self.session = PtySession(command, cols=COLS, rows=ROWS, cwd=str(ROOT))
        self.keys = keys

    @property
    def pid(self) -> int:
        return self.session.pid

    def ready(self, newest: int) -> None:
        self.session.wait_for(lambda screen: _has_id(screen.text(), newest), READY_S)
        self.session.quiet(0.5)
        if self.keys:
            self.session.send(self.keys)
            self.session.quiet(0.5)

    def meanwhile(self, seconds: float) -> None:
        self.session.pump_for(seconds)  # (read what it draws, or it blocks on the pty)

    def caught_up(self, newest: int) -> float:
        started = time.perf_counter()
        shown = lambda screen: _has_id(screen.text(), newest)  # noqa: E731
        while not shown(self.session.screen):
            if time.perf_counter() - started > READY_S:
                raise RuntimeError(f"the dashboard never showed saga {newest}")
            if not self.keys:  # on the default view new sagas wait above it: g goes to them
                self.session.send("g")
            self.session.pump_for(0.5)
        return time.perf_counter() - started

    def close(self) -> None:
        self.session.close()


class Follow:
    """`list FILE --follow --jsonl` (the newest saga first), its lines into a file."""

    def __init__(self, path: Path) -> None:
        self.out = path.with_name("follow.jsonl")
        self._file = self.out.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "saga_inspector", "list", str(path), "--follow", "--jsonl",
             "--limit", "1"], cwd=ROOT, stdout=self._file, stderr=subprocess.PIPE, text=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def _seen(self, newest: int) -> bool:
        text = self.out.read_text(encoding="utf-8")
        return f'"saga_id": {newest},' in text or f'"saga_id":{newest},' in text

    def _wait(self, newest: int) -> float:
        started = time.perf_counter()
        while not self._seen(newest):
            if self.process.poll() is not None:
                raise RuntimeError(f"follow exited: {self.process.stderr.read()}")
            if time.perf_counter() - started > READY_S:
                raise RuntimeError(f"follow never showed saga {newest}")
            time.sleep(0.05)
        return time.perf_counter() - started

    def ready(self, newest: int) -> None:
        self._wait(newest)

    def meanwhile(self, seconds: float) -> None:
        time.sleep(seconds)

    def caught_up(self, newest: int) -> float:
        return self._wait(newest)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self._file.close()


class BusyLoop:
    """A process that only burns a core and never opens the log: what a reader's CPU alone
    costs the writer on this machine (the reference for the writer's share)."""

    def __init__(self, _path: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])

    @property
    def pid(self) -> int:
        return self.process.pid

    def ready(self, _newest: int) -> None:
        pass

    def meanwhile(self, seconds: float) -> None:
        time.sleep(seconds)

    def caught_up(self, _newest: int) -> float:
        return 0.0

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)


# -- which reads are long (--trace) -------------------------------------------------------

STRETCH_GAP_MS = 1.0  # reads this close together leave the writer no moment to reset the -wal
GROWN_SHOWN = 6  # the -wal's last new peaks said in a trace's summary
GROWN_BEFORE_S = 0.05  # with the reads that ended this long before each, or later


def _caller(depth: int) -> str:
    """The first functions outside the store (and contextlib) that led to this read."""
    frame = sys._getframe(depth)
    names: list[str] = []
    while frame is not None and len(names) < 3:
        module = frame.f_globals.get("__name__", "")
        if module not in ("contextlib", __name__) and not module.startswith(
                ("saga_inspector.store.repository", "saga_inspector.store.merged")):
            names.append(f"{module.rsplit('.', 1)[-1]}.{frame.f_code.co_name}")
        frame = frame.f_back
    return " < ".join(names)


def traced_app(path: Path, trace: Path) -> int:
    """The dashboard on `path`, each read transaction of its stores written to `trace` (its
    start, as time.time(); its length in ms; the thread; the functions that led to it), to
    be summarised by summarise_trace: what to shorten."""
    from saga_inspector.cli import main as app_main
    from saga_inspector.store.repository import SagaStore

    out = trace.open("a", encoding="utf-8", buffering=1)
    snapshot = SagaStore.snapshot
    scan_rows = SagaStore._scan_rows

    def note(started: float, ms: float, thread: str, caller: str) -> None:
        out.write(f"{started:.6f} {ms:8.3f} {thread[:12]:<12} {caller}\n")

    @contextlib.contextmanager
    def timed_snapshot(self: SagaStore) -> Iterator[None]:
        outermost = self._depth == 0
        with snapshot(self):
            started, wall = time.perf_counter(), time.time()
            try:
                yield
            finally:
                ms = (time.perf_counter() - started) * 1000
                if outermost:
                    note(wall, ms, threading.current_thread().name, _caller(3))

    def timed_scan_rows(self: SagaStore, *args: object) -> object:
        started, wall = time.perf_counter(), time.time()
        try:
            return scan_rows(self, *args)  # type: ignore[arg-type]
        finally:
            note(wall, (time.perf_counter() - started) * 1000, "scan", _caller(2))

    SagaStore.snapshot = timed_snapshot  # type: ignore[method-assign]
    SagaStore._scan_rows = timed_scan_rows  # type: ignore[method-assign]
    return app_main([str(path)])


def summarise_trace(trace: Path, window: tuple[float, float] | None = None,
                    grown: Sequence[tuple[float, int]] = ()) -> str:
    """The reads of a trace (traced_app) while the writer ran (`window`, time.time()): per
    caller how many, their median and longest; then the longest stretches of reads less
    than STRETCH_GAP_MS apart (the -wal cannot be reset during one: its length, not one
    read's, sets the -wal's peak), with what they were made of; then, for the -wal's last
    new peaks (`grown`: when, size, as the writer saw them), the reads just before each."""
    reads: list[tuple[float, float, str]] = []  # start, end (s), caller
    for line in trace.read_text(encoding="utf-8").splitlines():
        start, ms, _thread, *caller = line.split(maxsplit=3)
        begun = float(start)
        if window is None or window[0] <= begun <= window[1]:
            reads.append((begun, begun + float(ms) / 1000, " ".join(caller)))
    reads.sort()
    seconds = (window[1] - window[0]) if window else 0.0
    lines = [f"{len(reads)} reads" + (f" in {seconds:.1f} s of writing" if window else "")
             + f", {sum(e - b for b, e, _ in reads) * 1000:.0f} ms in all"]
    by_caller: dict[str, list[float]] = {}
    for begun, ended, caller in reads:
        by_caller.setdefault(caller, []).append((ended - begun) * 1000)
    lines.append(f"{'n':>5} {'median':>8} {'longest':>8}  caller")
    for caller, lengths in sorted(by_caller.items(), key=lambda item: -max(item[1])):
        lengths.sort()
        lines.append(f"{len(lengths):>5} {lengths[len(lengths) // 2]:>6.2f}ms "
                     f"{lengths[-1]:>6.2f}ms  {caller}")
    stretches: list[list[tuple[float, float, str]]] = []
    for read in reads:
        if stretches and read[0] - max(e for _, e, _ in stretches[-1]) < STRETCH_GAP_MS / 1000:
            stretches[-1].append(read)
        else:
            stretches.append([read])
    def length(stretch: list[tuple[float, float, str]]) -> float:
        return (max(e for _, e, _ in stretch) - stretch[0][0]) * 1000
    longest = sorted(stretches, key=length, reverse=True)[:8]
    lines.append(f"{len(stretches)} stretches (reads < {STRETCH_GAP_MS:g} ms apart); "
                 "the longest:")
    for stretch in longest:
        parts = ", ".join(f"{(e - b) * 1000:.1f} {c.split(' < ')[0]}" for b, e, c in stretch)
        lines.append(f"  {length(stretch):6.1f} ms: {parts}")
    for when, size in grown[-GROWN_SHOWN:]:
        near = [f"{(b - when) * 1000:+.1f}..{(e - when) * 1000:+.1f} {c.split(' < ')[0]}"
                for b, e, c in reads if b <= when and e >= when - GROWN_BEFORE_S]
        lines.append(f"  -wal {size / 1e6:.1f} MB at {when - (window or (when,))[0]:.3f} s, "
                     f"reads (ms from then): {', '.join(near) or 'none'}")
    return "\n".join(lines)


def reader_for(condition: str, path: Path,
               trace: Path | None = None) -> Dashboard | Follow | BusyLoop | None:
    if condition == "alone":
        return None
    if condition == "cpu":
        return BusyLoop(path)
    if condition == "dashboard":
        return Dashboard(path, trace=trace)
    if condition == "dashboard-f":
        return Dashboard(path, "f", trace=trace)
    if condition == "follow":
        return Follow(path)
    raise ValueError(f"unknown condition {condition!r}")


# -- one measurement -----------------------------------------------------------------------


def server_log(folder: Path, count: int = SERVER_COUNT) -> Path:
    """A server log of `count` sagas, written once under `folder`."""
    path = folder / f"server-sagas-{count}.db"
    if not path.exists():
        write_saga_log(path.with_suffix(".tmp"), server_sagas(count), log_format=SERVER)
        path.with_suffix(".tmp").rename(path)
    return path


def fresh_copy(log: Path, folder: Path, log_format: str) -> Path:
    """The log copied alone (a clean file: no -wal beside it) into an empty folder."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    name = "sagas.db" if log_format == "server" else "launcher-sagas.db"
    copy = folder / name
    shutil.copyfile(log, copy)
    return copy


def newest_in(path: Path, log_format: str) -> int:
    uri = f"file:{path}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
        table = FORMATS[log_format].saga_table
        return int(conn.execute(f"SELECT max(saga_id) FROM {table}").fetchone()[0])


def writer_process(path: Path, log_format: str, rate: float, seconds: float,
                   busy_ms: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--write", str(path), "--format",
         log_format, "--rates", str(rate), "--seconds", str(seconds), "--busy-ms",
         str(busy_ms)], cwd=ROOT, stdout=subprocess.PIPE, text=True)


def measure(log: Path, folder: Path, *, condition: str, rate: float, seconds: float,
            log_format: str, busy_ms: int = 0, holds: bool = False,
            trace: Path | None = None) -> dict[str, object]:
    """One condition at one rate, on a fresh copy of `log` (`holds`: watch the reader's
    read transactions, see ReadLocks; `trace`: a folder for the dashboard's long reads, see
    traced_app)."""
    path = fresh_copy(log, folder / condition, log_format)
    traced = None if trace is None else trace / f"{condition}-{int(rate)}.txt"
    if traced is not None:
        traced.unlink(missing_ok=True)
    reader = reader_for(condition, path, traced)
    try:
        if reader is not None:
            reader.ready(newest_in(path, log_format))
        writer = writer_process(path, log_format, rate, seconds, busy_ms)
        locks = (ReadLocks(path.with_name(path.name + "-shm"), reader.pid)
                 if holds and reader is not None and condition != "cpu" else None)
        while writer.poll() is None:
            if reader is not None:
                reader.meanwhile(0.1)
            else:
                time.sleep(0.1)
        out, _ = writer.communicate()
        if writer.returncode != 0:
            raise RuntimeError(f"the writer failed ({writer.returncode})")
        summary: dict[str, object] = json.loads(out)
        grown = [(float(when), int(size)) for when, size in summary.pop("grown")]
        if locks is not None:
            summary.update(locks.stop())
        if reader is not None:
            summary["caught_up_s"] = round(reader.caught_up(int(summary["newest_id"])), 2)
    finally:
        if reader is not None:
            reader.close()
    if traced is not None and traced.exists():
        said = summarise_trace(traced, (float(summary["began"]), float(summary["ended"])),
                               grown)
        traced.with_suffix(".summary.txt").write_text(said + "\n", encoding="utf-8")
        print(f"{condition} at {_rate(rate)}: {said}", file=sys.stderr, flush=True)
    return {"condition": condition, "rate": rate, **summary}


def run(*, rates: Sequence[float] = RATES, conditions: Sequence[str] = CONDITIONS,
        seconds: float = SECONDS, log: Path | None = None, log_format: str = "launcher",
        busy_ms: int = 0, holds: bool = False, trace: Path | None = None,
        folder: Path | None = None) -> list[dict[str, object]]:
    """Every condition at every rate; each row with `ratio` (its -wal peak over the writer
    alone's at that rate) and `writer_share` (its commits a second over alone's)."""
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-wal-")))
        if log is None:
            log = server_log(folder) if log_format == "server" else DEFAULT_LOG
        rows: list[dict[str, object]] = []
        for rate in rates:
            alone: dict[str, object] | None = None
            for condition in ("alone", *[c for c in conditions if c != "alone"]):
                row = measure(log, folder, condition=condition, rate=rate, seconds=seconds,
                              log_format=log_format, busy_ms=busy_ms, holds=holds,
                              trace=trace)
                if condition == "alone":
                    alone = row
                assert alone is not None
                row["ratio"] = round(int(row["wal_peak"]) / max(int(alone["wal_peak"]), 1), 2)
                row["writer_share"] = round(float(row["commits_per_s"])
                                            / float(alone["commits_per_s"]), 2)
                row["log"] = str(log)
                if condition in conditions:
                    rows.append(row)
                print(_line(row), file=sys.stderr, flush=True)
    return rows


# -- output --------------------------------------------------------------------------------


def _mb(size: object) -> str:
    return f"{int(size) / 1e6:.1f} MB"  # type: ignore[call-overload]


def _rate(rate: object) -> str:
    return "flat out" if not rate else f"{int(rate):,}/s"  # type: ignore[call-overload]


def _line(row: dict[str, object]) -> str:
    return (f"{_rate(row['rate']):>9} {row['condition']:<12} wal peak {_mb(row['wal_peak'])}"
            f" ({row['ratio']}x) {row['commits_per_s']} commits/s ({row['writer_share']}x)"
            f" busy {row['busy_errors']} slowest {row['slowest_commit_ms']} ms"
            f" caught up {row.get('caught_up_s', '-')} s"
            + (f" held {row['reader_held_share']:.0%} longest {row['longest_hold_ms']} ms"
               if "reader_held_share" in row else ""))


def print_table(rows: Sequence[dict[str, object]]) -> None:
    alone = {row["rate"]: row for row in rows if row["condition"] == "alone"}
    print("| rate | reader | -wal peak alone | -wal peak with reader | ratio (target "
          f"≤ {TARGET}) | writer commits/s (share of alone) | lock errors | slowest commit "
          "| reader caught up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        base = alone.get(row["rate"])
        alone_peak = _mb(base["wal_peak"]) if base else "—"
        print(f"| {_rate(row['rate'])} | {row['condition']} | {alone_peak} | "
              f"{_mb(row['wal_peak'])} | {row['ratio']}x | {float(row['commits_per_s']):,.0f} "
              f"({row['writer_share']}x) | {row['busy_errors']} | "
              f"{row['slowest_commit_ms']} ms | {row.get('caught_up_s', '—')} s |")


def _met(row: dict[str, object]) -> bool:
    """The target: the -wal's peak at most TARGET times the writer alone's, no lock met."""
    return float(row["ratio"]) <= TARGET and not row["busy_errors"]  # type: ignore[arg-type]


def print_summary(rows: Sequence[dict[str, object]]) -> None:
    """The ratios of each reader (a column each) at each rate (a row each), and whether
    each meets the target."""
    readers = [c for c in CONDITIONS if c not in ("alone", "cpu")
               and any(row["condition"] == c for row in rows)]
    if not readers:
        return
    found = {(row["rate"], row["condition"]): row for row in rows}
    print(f"\n| -wal peak over the writer alone's (target ≤ {TARGET}x, no lock error) | "
          + " | ".join(readers) + " |")
    print("|---|" + "---|" * len(readers))
    for rate in dict.fromkeys(row["rate"] for row in rows):
        cells = []
        for reader in readers:
            row = found.get((rate, reader))
            cells.append("—" if row is None else
                         f"{row['ratio']}x, {row['busy_errors']} errors: "
                         f"{'met' if _met(row) else 'MISSED'}")
        print(f"| {_rate(rate)} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=list(RATES),
                        help="commits a second (0: flat out)")
    parser.add_argument("--conditions", nargs="+", default=list(CONDITIONS),
                        choices=CONDITIONS)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--format", choices=tuple(FORMATS), default="launcher")
    parser.add_argument("--log", type=Path, help="the log to copy (default: see the docstring)")
    parser.add_argument("--busy-ms", type=int, default=0,
                        help="the writer's busy timeout (0: every wait is an error, counted)")
    parser.add_argument("--holds", action="store_true",
                        help="also watch the reader's read transactions (/proc/locks)")
    parser.add_argument("--trace", type=Path,
                        help="a folder: the dashboard's read transactions, a file per "
                             "condition and rate, and a summary of those while the writer "
                             "ran (per caller; the longest stretches of reads less than "
                             f"{STRETCH_GAP_MS:g} ms apart)")
    parser.add_argument("--json", action="store_true", help="the rows as one JSON document")
    parser.add_argument("--app", type=Path, help=argparse.SUPPRESS)  # the traced dashboard
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)  # the writer process
    options = parser.parse_args(argv)
    if options.write is not None:
        summary = write(options.write, log_format=options.format, rate=options.rates[0],
                        seconds=options.seconds, busy_ms=options.busy_ms)
        print(json.dumps(summary), flush=True)
        return 0
    if options.app is not None:
        return traced_app(options.app, options.trace)
    if options.trace is not None:
        options.trace.mkdir(parents=True, exist_ok=True)
    rows = run(rates=options.rates, conditions=options.conditions, seconds=options.seconds,
               log=options.log, log_format=options.format, busy_ms=options.busy_ms,
               holds=options.holds, trace=options.trace)
    if options.json:
        print(json.dumps({"rows": rows, "about": _about(options)}, indent=1))
    else:
        print_table(rows)
        print_summary(rows)
        print(f"\nlog: {rows[0]['log'] if rows else '—'}; {options.seconds:g} s per condition; "
              f"python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}")
    return 0


def _about(options: argparse.Namespace) -> dict[str, object]:
    return {**{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(options).items()
               if k not in ("write", "app")}, "sqlite": sqlite3.sqlite_version,
            "python": sys.version.split()[0], "load": os.getloadavg()}


if __name__ == "__main__":
    sys.exit(main())
