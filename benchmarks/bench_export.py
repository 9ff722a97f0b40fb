"""Export benchmark (issue 15): the CLI's exports beside their anchors in the same run, and the
dashboard's whole-view export rate.

    python benchmarks/bench_export.py                 # 100 000 sagas, median of 3 runs
    python benchmarks/bench_export.py --runs 5 --log benchmarks/data/sagas-100000-4steps.db
    python benchmarks/bench_export.py --dashboard benchmarks/data/sagas-1000000-4steps.db

CSV: `saga-inspector list LOG --limit 0 --format csv` against `sqlite3 -readonly -csv` with
the same columns: the times as stored (what our CSV writes for a launcher log), the duration
in seconds from the times' microseconds (as our CSV: fraction digits past six dropped), the
step counts from one grouped subquery, the log's label as a constant. The anchor's rows are
checked to be ours (parsed as CSV: SQLite quotes more cells than it needs to).

JSON lines: `saga-inspector list LOG --limit 0 --format jsonl` against a plain Python loop:
one SELECT of the same columns (the same SQL), `json.dumps` of each row as a dict of our
line's keys (`input` parsed with `json.loads`), written to a file. Checked byte for byte.

Each command is a process of its own (start-up included), its output to a file; the four
are interleaved in each run so that noise from other work on the machine hits all alike, and
each figure is the median over the runs. A launcher log only (the anchors' SQL reads its
columns; a server log stores its times as milliseconds).

`--dashboard LOG`: the app on a pty (pty_screen.PtySession, 160x48), `e` then enter: the
whole view exported to JSON lines, timed from enter to the "export done" note; the progress
note (pace and time left) seen on the way is printed too.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_store import DATA  # noqa: E402
from pty_screen import PtySession  # noqa: E402
from saga_inspector.store.formats import LAUNCHER  # noqa: E402

DEFAULT_LOG = DATA / "sagas-100000-4steps.db"
RUNS = 3
CSV_TARGET, JSONL_TARGET = 4.0, 1.5  # ours at most this many times the anchor
COLS, ROWS = 160, 48
READY_S, EXPORT_S = 120.0, 1800.0


def _micros_sql(column: str) -> str:
    """A stored RFC 3339 time (`…:SS[.fraction]+00:00`) as whole microseconds, its fraction
    cut to six digits: how our export reads it (the benchmark logs' times are all UTC)."""
    fraction = (f"CASE WHEN substr({column}, 20, 1) = '.' THEN CAST(substr(substr({column}, "
                f"21, length({column}) - 26) || '000000', 1, 6) AS INTEGER) ELSE 0 END")
    return f"(unixepoch(substr({column}, 1, 19)) * 1000000 + {fraction})"


def anchor_sql(label: str) -> str:
    """Our CSV's columns, in its order and its sort (newest id first), in one SELECT."""
    fmt = LAUNCHER
    saga, step = fmt.saga_columns, fmt.step_columns
    started, ended = f"s.{saga['started_at']}", f"s.{saga['ended_at']}"
    done = " OR ".join(f"{step['state']} = '{state}'" for state in sorted(fmt.done_step_states))
    quoted = label.replace("'", "''")
    return (
        f"SELECT s.{saga['saga_id']}, '{quoted}', s.{saga['name']}, s.{saga['state']}, "
        f"{started}, {ended}, "
        f"({_micros_sql(ended)} - {_micros_sql(started)}) / 1000000.0, "
        f"coalesce(c.done, 0), coalesce(c.total, 0), s.{saga['failure_reason']}, "
        f"s.{saga['input_json']} "
        f"FROM {fmt.saga_table} s LEFT JOIN (SELECT {step['saga_id']} AS id, count(*) AS total, "
        f"sum({done}) AS done FROM {fmt.step_table} GROUP BY {step['saga_id']}) c "
        f"ON c.id = s.{saga['saga_id']} ORDER BY s.{saga['saga_id']} DESC")


# The anchor of JSON lines: the same SELECT, a dict of our keys a row, json.dumps, a file.
JSONL_LOOP = """
import json, sqlite3, sys
log, path, out, sql = sys.argv[1:5]
conn = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
with open(out, "w", encoding="utf-8") as file:
    for (saga_id, source, name, state, started, ended, duration, done, total, reason,
         input_json) in conn.execute(sql):
        file.write(json.dumps({
            "saga_id": saga_id, "name": name, "state": state, "started_at": started,
            "ended_at": ended, "duration_s": duration, "failure_reason": reason,
            "input": json.loads(input_json), "input_json": input_json, "steps_total": total,
            "steps_done": done, "source": source, "source_path": path}) + "\\n")
"""


def ours(log: Path, fmt: str) -> list[str]:
    return [sys.executable, "-m", "saga_inspector", "list", str(log), "--limit", "0",
            "--format", fmt]


def timed(argv: Sequence[str], out: Path) -> float:
    with out.open("wb") as file:
        started = time.perf_counter()
        subprocess.run(argv, stdout=file, check=True, cwd=ROOT)
        return time.perf_counter() - started


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def _where(jsonl: Path) -> tuple[str, str]:
    """The log's label and path as our export gives them (the anchors write the same)."""
    with jsonl.open(encoding="utf-8") as file:
        first = json.loads(file.readline())
    return first["source"], first["source_path"]


def measure_cli(log: Path, runs: int, folder: Path) -> dict[str, object]:
    sqlite = shutil.which("sqlite3")
    if sqlite is None:
        raise SystemExit("bench_export: needs the sqlite3 command line shell (the CSV anchor)")
    with sqlite3.connect(f"file:{log}?mode=ro", uri=True) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if LAUNCHER.saga_table not in tables:
        raise SystemExit(f"bench_export: {log} is no launcher log (the anchors read its columns)")
    files = {name: folder / name for name in ("ours.csv", "anchor.csv", "ours.jsonl",
                                                "anchor.jsonl")}
    timed(ours(log, "jsonl"), files["ours.jsonl"])  # untimed: the page cache, the label
    label, path = _where(files["ours.jsonl"])
    sql = anchor_sql(label)
    commands = {
        "ours.csv": ours(log, "csv"),
        "anchor.csv": [sqlite, "-readonly", "-csv", "-header", str(log), sql],
        "ours.jsonl": ours(log, "jsonl"),
        "anchor.jsonl": [sys.executable, "-c", JSONL_LOOP, str(log), path,
                         str(files["anchor.jsonl"]), sql],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(timed(argv, files[name]))
    anchor_rows = _rows(files["anchor.csv"])
    our_rows = _rows(files["ours.csv"])
    same_csv = our_rows[1:] == anchor_rows[1:] and len(our_rows[0]) == len(anchor_rows[0])
    same_jsonl = files["ours.jsonl"].read_bytes() == files["anchor.jsonl"].read_bytes()
    return {"log": str(log), "sagas": len(our_rows) - 1, "runs": runs,
            "median_s": {name: statistics.median(found) for name, found in times.items()},
            "all_s": times, "same_csv_rows": same_csv, "same_jsonl_bytes": same_jsonl}


# -- the dashboard --------------------------------------------------------------------------

_DONE = re.compile(r"exported ([\d,]+) sagas? to")
_PACE = re.compile(r"exported [\d,]+ of [\d,]+ sagas? · [\d,]+ sagas?/s · [^│]*?left")


def measure_dashboard(log: Path, folder: Path) -> dict[str, object]:
    """The whole default view exported from the app: sagas a second, and the notes seen."""
    with sqlite3.connect(f"file:{log}?mode=ro", uri=True) as conn:
        newest = conn.execute(f"SELECT max({LAUNCHER.saga_columns['saga_id']}) "
                              f"FROM {LAUNCHER.saga_table}").fetchone()[0]
    session = PtySession([sys.executable, "-m", "saga_inspector", str(log.resolve())],
                         cols=COLS, rows=ROWS, cwd=str(folder))
    notes: list[str] = []
    try:
        session.wait_for(lambda screen: str(newest) in screen.text(), READY_S)
        session.quiet(1.0)
        session.send("e")
        session.wait_for(lambda screen: "export the view" in screen.text(), READY_S)
        session.quiet(0.5)
        session.send("\r")
        started = time.perf_counter()
        deadline = started + EXPORT_S
        while (found := _DONE.search(session.screen.text())) is None:
            if time.perf_counter() > deadline or session.closed:
                raise RuntimeError("the dashboard's export never finished")
            session.pump(0.05)
            pace = _PACE.search(session.screen.text())
            if pace and (not notes or notes[-1] != pace.group(0)):
                notes.append(pace.group(0))
        seconds = session.last_output - started
    finally:
        session.close()
    written = int(found.group(1).replace(",", ""))
    return {"log": str(log), "sagas": written, "seconds": round(seconds, 2),
            "sagas_per_s": round(written / seconds), "notes": notes[::max(len(notes) // 4, 1)]}


# -- output ---------------------------------------------------------------------------------


def print_table(cli: dict[str, object]) -> None:
    median: dict[str, float] = cli["median_s"]  # type: ignore[assignment]
    print(f"| export of {cli['sagas']:,} sagas (median of {cli['runs']}, s) | ours | anchor "
          "| ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for fmt, anchor, target, same in (
            ("csv", "`sqlite3 -readonly -csv`, same columns", CSV_TARGET,
             cli["same_csv_rows"]),
            ("jsonl", "`json.dumps` loop over one SELECT", JSONL_TARGET,
             cli["same_jsonl_bytes"])):
        mine, theirs = median[f"ours.{fmt}"], median[f"anchor.{fmt}"]
        ratio = mine / theirs
        print(f"| {fmt.upper()} (anchor: {anchor}; same output: {'yes' if same else 'NO'}) | "
              f"{mine:.2f} | {theirs:.2f} | {ratio:.2f}x | ≤ {target:g}x | "
              f"{'yes' if ratio <= target else 'no'} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--dashboard", type=Path, metavar="LOG",
                        help="also export LOG's whole view from the app on a pty")
    parser.add_argument("--no-cli", action="store_true", help="only the dashboard's export")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON document")
    options = parser.parse_args(argv)
    found: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        if not options.no_cli:
            found["cli"] = measure_cli(options.log, options.runs, Path(folder))
        if options.dashboard is not None:
            found["dashboard"] = measure_dashboard(options.dashboard, Path(folder))
    if options.json:
        print(json.dumps(found, indent=1))
        return 0
    if "cli" in found:
        print_table(found["cli"])  # type: ignore[arg-type]
    if "dashboard" in found:
        seen: dict[str, object] = found["dashboard"]  # type: ignore[assignment]
        print(f"\ndashboard, whole view to JSON lines: {seen['sagas']:,} sagas in "
              f"{seen['seconds']} s, {seen['sagas_per_s']:,} sagas/s ({seen['log']})")
        for note in seen["notes"]:  # type: ignore[attr-defined]
            print(f"  seen: {note}")
    print(f"\npython {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
