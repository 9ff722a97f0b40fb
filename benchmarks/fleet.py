"""Fleets of saga logs for the benchmarks (issue 14), built once under benchmarks/data/.

    fleet_of(50)    # 50 logs holding 1M sagas together: 40 launcher, 10 server
    fleet_of(500)   # 500 real-sized logs of about 100 sagas each, laid out like ~/.agentmux

Each is a folder laid out like an operator's data folder
(`channels/<channel>/versions/<version>/data/db/{launcher-sagas,sagas}.db`, and for the small
fleet the server's copies under `snapshots/*.bak/`), so the benchmarks open it the way the
CLI does: `discovery.find_saga_logs_under([folder])`.

Rows come from the existing generators (bench_store.with_extra_steps over demo chunks for the
launcher, server_log.server_sagas for the server), written by demo.write_saga_log (one
transaction, executemany). Real logs each cover their own span of time, start times growing
with ids: the generators start every log (and every demo chunk) at the same instant, so each
written file's times are then moved in one UPDATE per table (SQLite's own date arithmetic,
this benchmark's own file): by the log's offset, by the chunk's place, and back by an hour
after a clock change in a few logs.
"""

from __future__ import annotations

import dataclasses
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench_store import CHUNK, DATA, with_extra_steps
from saga_inspector.demo import SagaRow, demo_sagas, write_saga_log
from saga_inspector.discovery import find_saga_logs_under
from saga_inspector.store.formats import LAUNCHER, SERVER, LogFormat
from server_log import server_sagas

FLEET_SHAPE = "v1"  # a new shape gets a new folder
BIG_TOTAL = 1_000_000
BIG_LOGS, BIG_SERVER_LOGS = 50, 10
SMALL_LOGS, SMALL_SIZE = 500, 100
DAY = 86_400
CHUNK_SPAN = 12 * DAY  # a demo chunk of CHUNK sagas covers about 11 days
VERSION_SPAN = 9 * DAY  # successive versions start this far apart
CLOCK_JUMP = 3_600  # a clock set back an hour part-way through a log
CHANNELS = ("stable", "beta", "nightly")


@dataclasses.dataclass(frozen=True, slots=True)
class PlannedLog:
    """One log of a fleet: where it goes, how many sagas, when it starts (seconds after the
    generator's own start), where its clock jumps back (a saga id, or None)."""

    path: Path
    log_format: LogFormat
    count: int
    seed: int
    offset: int
    jump_after: int | None = None


def launcher_sagas(count: int, seed: int) -> Iterator[SagaRow]:
    """`count` launcher sagas like bench_store.generated_sagas, with this log's own seeds."""
    made = 0
    chunk_no = 0
    while made < count:
        size = min(CHUNK, count - made)
        chunk_seed = seed * 1_000 + chunk_no
        rng = random.Random(chunk_seed)
        for saga in demo_sagas(size, seed=chunk_seed):
            saga = dataclasses.replace(saga, saga_id=made + int(saga.saga_id))
            yield with_extra_steps(saga, rng)
        made += size
        chunk_no += 1


def _shift_sql(log_format: LogFormat, table: str, columns: list[str], plan: PlannedLog,
               saga_id: str) -> str:
    """One UPDATE moving a table's times: by the log's offset, the demo chunk's place (the
    launcher's chunks each restart at the demo's start) and the clock jump."""
    jump = (f" - (CASE WHEN {saga_id} > {plan.jump_after} THEN {CLOCK_JUMP} ELSE 0 END)"
            if plan.jump_after is not None else "")
    if log_format is SERVER:
        shift = f"({plan.offset}{jump}) * 1000"
        sets = ", ".join(f"{c} = {c} + {shift}" for c in columns)
        return f"UPDATE {table} SET {sets}"
    shift = f"({plan.offset} + (({saga_id} - 1) / {CHUNK}) * {CHUNK_SPAN}{jump})"
    # chrono's RFC 3339: the seconds are the first 19 characters; fraction and offset kept.
    sets = ", ".join(
        f"{c} = CASE WHEN strftime('%Y-%m-%dT%H:%M:%S', substr({c}, 1, 19)) IS NULL THEN {c} "
        f"ELSE strftime('%Y-%m-%dT%H:%M:%S', substr({c}, 1, 19), {shift} || ' seconds') "
        f"|| substr({c}, 20) END" for c in columns)
    return f"UPDATE {table} SET {sets}"


def write_log(plan: PlannedLog) -> None:
    fmt = plan.log_format
    rows = (launcher_sagas(plan.count, plan.seed) if fmt is LAUNCHER
            else server_sagas(plan.count, plan.seed))
    plan.path.parent.mkdir(parents=True, exist_ok=True)
    building = plan.path.with_name(plan.path.name + ".tmp")
    building.unlink(missing_ok=True)
    write_saga_log(building, rows, log_format=fmt)
    saga_cols = [fmt.saga_columns["started_at"], fmt.saga_columns["ended_at"]]
    step_cols = [fmt.step_columns["started_at"], fmt.step_columns["ended_at"]]
    conn = sqlite3.connect(building, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute(_shift_sql(fmt, fmt.saga_table, saga_cols, plan, "saga_id"))
        conn.execute(_shift_sql(fmt, fmt.step_table, step_cols, plan, "saga_id"))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for companion in ("-wal", "-shm"):
        Path(str(building) + companion).unlink(missing_ok=True)
    building.rename(plan.path)


def _db(root: Path, channel: str, version: str) -> Path:
    return root / "channels" / channel / "versions" / version / "data" / "db"


def big_fleet_plan(root: Path) -> list[PlannedLog]:
    """50 logs, 1M sagas: uneven sizes (a few big, many small: a Pareto draw), versions in
    succession on three channels, a server log beside every fourth launcher log (from the
    same time on), the clock set back an hour in two of the big ones."""
    rng = random.Random(14)
    weights = sorted((rng.paretovariate(1.1) for _ in range(BIG_LOGS)), reverse=True)
    sizes = [max(200, int(BIG_TOTAL * w / sum(weights))) for w in weights]
    sizes[0] += BIG_TOTAL - sum(sizes)
    rng.shuffle(sizes)
    launchers = BIG_LOGS - BIG_SERVER_LOGS
    plans = []
    for n in range(launchers):
        channel = CHANNELS[n % len(CHANNELS)]
        folder = _db(root, channel, f"0.{n // len(CHANNELS)}.{n % len(CHANNELS)}")
        plans.append(PlannedLog(folder / "launcher-sagas.db", LAUNCHER, sizes[n], n,
                                n * VERSION_SPAN))
    for m in range(BIG_SERVER_LOGS):
        beside = plans[m * (launchers // BIG_SERVER_LOGS)]
        plans.append(PlannedLog(beside.path.with_name("sagas.db"), SERVER, sizes[launchers + m],
                                launchers + m, beside.offset + 3_600))
    for index in sorted(range(len(plans)), key=lambda i: -plans[i].count)[1:3]:
        plans[index] = dataclasses.replace(plans[index], jump_after=plans[index].count // 2)
    return plans


def small_fleet_plan(root: Path) -> list[PlannedLog]:
    """500 logs of about 100 sagas: launcher and server in each version folder of three
    channels, and the server's pre-migration copies under snapshots/."""
    rng = random.Random(500)
    plans: list[PlannedLog] = []
    snapshots = 20
    folders = (SMALL_LOGS - snapshots) // 2
    for n in range(folders):
        channel = CHANNELS[n % len(CHANNELS)]
        folder = _db(root, channel, f"0.{n // len(CHANNELS)}.{n % len(CHANNELS)}")
        offset = n * DAY
        for name, fmt in (("launcher-sagas.db", LAUNCHER), ("sagas.db", SERVER)):
            plans.append(PlannedLog(folder / name, fmt, rng.randrange(60, 140), len(plans),
                                    offset))
    for n in range(snapshots):
        channel = CHANNELS[n % len(CHANNELS)]
        stamp = f"2026-{n % 12 + 1:02d}-01T00-00-00Z"
        folder = root / "snapshots" / f"{channel}-pre-v0.{n}.0-{stamp}.bak"
        plans.append(PlannedLog(folder / "sagas.db", SERVER, rng.randrange(60, 140), len(plans),
                                n * 7 * DAY))
    return plans


def fleet_of(logs: int) -> Path:
    """The folder of the fleet of `logs` logs (50 or 500), built once under DATA."""
    if logs not in (BIG_LOGS, SMALL_LOGS):
        raise SystemExit(f"--fleet takes {BIG_LOGS} or {SMALL_LOGS}, not {logs}")
    root = DATA / f"fleet-{logs}-{FLEET_SHAPE}"
    done = root / ".built"
    if done.exists():
        return root
    plans = big_fleet_plan(root) if logs == BIG_LOGS else small_fleet_plan(root)
    started = time.perf_counter()
    for plan in plans:
        if not plan.path.exists():
            write_log(plan)
    done.write_text(f"{len(plans)} logs, {sum(p.count for p in plans)} sagas\n")
    print(f"built {root} ({len(plans)} logs) in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    return root


def fleet_paths(logs: int) -> tuple[list[Path], list[bool]]:
    """The fleet's logs and their snapshot flags, found as the CLI finds them."""
    candidates, warnings = find_saga_logs_under([fleet_of(logs)])
    for warning in warnings:
        print(f"discovery: {warning}", file=sys.stderr)
    return [c.path for c in candidates], [c.snapshot for c in candidates]


if __name__ == "__main__":
    for size in sys.argv[1:] or [str(SMALL_LOGS), str(BIG_LOGS)]:
        paths, _flags = fleet_paths(int(size))
        print(f"{size}: {len(paths)} logs under {fleet_of(int(size))}")
