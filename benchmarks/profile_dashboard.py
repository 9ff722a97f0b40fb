"""Where the dashboard spends the time of some keys: pyinstrument on the UI thread of the real
app, on the same pseudo-terminal as bench_dashboard.py, profiling only while those keys run.

    pip install --target /tmp/pyinst pyinstrument        # once, outside the project's venv
    PYTHONPATH=/tmp/pyinst /tmp/venv/bin/python benchmarks/profile_dashboard.py \\
        --size 1000000 --keys 2 0 4 0 G g j
    PYTHONPATH=/tmp/pyinst /tmp/venv/bin/python benchmarks/profile_dashboard.py --fleet 50 --start

Each key is sent, then the app is left to go idle before the next; the report (text, on
stdout) covers the keys only, not the start. `--start` profiles the start instead. Names of
special keys: pagedown, enter, escape. A worker thread's own time (SQLite) is not in the
report: it shows as the UI thread waiting.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
KEY_NAMES = {"pagedown": "\x1b[6~", "enter": "\r", "escape": "\x1b"}


def child(dbs: list[str], report: str, from_start: bool) -> int:
    """Runs in the app's process: profile while SIGUSR1 has toggled profiling on."""
    from pyinstrument import Profiler

    from saga_inspector.cli import main

    profiler = Profiler(interval=0.0005, async_mode="disabled")

    def toggle(_signum: int, _frame: object) -> None:
        if profiler.is_running:
            profiler.stop()
        else:
            profiler.start()

    signal.signal(signal.SIGUSR1, toggle)
    if from_start:
        profiler.start()
    try:
        return main(dbs)
    finally:
        if profiler.is_running:
            profiler.stop()
        if profiler.last_session is not None:
            # Saved too, to look again another way: pyinstrument --load=FILE.pyisession
            profiler.last_session.save(f"{report}.pyisession")
            Path(report).write_text(profiler.output_text(unicode=True, color=False),
                                    encoding="utf-8")


def parent(size: int, keys: list[str], from_start: bool, fleet: int | None,
           before: list[str]) -> None:
    import bench_dashboard
    from bench_dashboard import COLS, ROWS, SETTLE_S, WAIT_S, read_facts, shows_rows
    from bench_store import log_of
    from fleet import fleet_paths
    from pty_screen import PtySession

    if fleet:
        paths, snapshots = fleet_paths(fleet)
        facts = read_facts(paths, (), snapshots)
        bench_dashboard.SEVERAL_LOGS = True  # (rows shown with their log's label)
    else:
        paths = [log_of(size)]
        facts = read_facts(paths[0])
    report = Path(f"/tmp/profile-dashboard-{os.getpid()}.txt")
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(report),
            *map(str, paths)]
    if from_start:
        argv.append("--from-start")
    session = PtySession(argv, cols=COLS, rows=ROWS, cwd=str(HERE.parent))
    try:
        session.wait_for(shows_rows(facts.newest), WAIT_S)
        session.quiet(SETTLE_S)
        if from_start:
            os.kill(session.pid, signal.SIGUSR1)  # stop: the start alone
        else:
            for key in before:  # (not profiled)
                session.send(KEY_NAMES.get(key, key))
                session.quiet(SETTLE_S)
            os.kill(session.pid, signal.SIGUSR1)
            for key in keys:
                session.send(KEY_NAMES.get(key, key))
                session.quiet(SETTLE_S)
            os.kill(session.pid, signal.SIGUSR1)
        time.sleep(0.1)
    finally:
        session.close()
    print(report.read_text(encoding="utf-8"))
    print(f"session saved: {report}.pyisession")
    report.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", nargs="+", metavar="REPORT DB", help=argparse.SUPPRESS)
    parser.add_argument("--from-start", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--keys", nargs="*", default=["2", "0", "4", "0"])
    parser.add_argument("--before", nargs="*", default=[],
                        help="keys sent first, not profiled (e.g. ':' before an id)")
    parser.add_argument("--start", action="store_true", help="profile the start, not keys")
    parser.add_argument("--fleet", type=int, choices=(50, 500),
                        help="the app on a fleet of logs (fleet.py) instead of one log")
    args = parser.parse_args()
    if args.child:
        report, *dbs = args.child
        raise SystemExit(child(dbs, report, args.from_start))
    parent(args.size, args.keys, args.start, args.fleet, args.before)


if __name__ == "__main__":
    main()
