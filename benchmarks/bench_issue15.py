"""Issue 15 in one run: every row of its table measured beside its anchor, one markdown table.

    python benchmarks/bench_issue15.py --datasette /tmp/dsvenv/bin/datasette   # the full run
    python benchmarks/bench_issue15.py --quick ...        # one run of each, short writer runs
    python benchmarks/bench_issue15.py --only sort anchors --quick   # some sections only
    python benchmarks/bench_issue15.py --save run.json; ... --table run.json   # print again

Sections, run one after another (never side by side: the machine has 2 cores), each in its
own processes, progress on stderr:
- `regression`: `bench_dashboard.py` default parts at 1k and 1M (issue 6's figures, judged by
  its own `targets()`), also the scans that match nothing at 1M and peak memory without a sort;
- `fleet`: `bench_dashboard.py --fleet 50 --parts sort no_match`: every `s`, page, `G`, `g`
  and `:` under each sort, and the scans that match nothing, on one 1M log and on the
  50-log merge (interleaved sessions);
- `live`: `s` to each sort, a writer appends sagas to a copy of the log (bench_wal's writer),
  the refresh drawn, then `g`, page down and `G` under the sort (1M log and 50-log merge);
- `anchors`: Datasette's `_sort_desc=started_at` (a fresh `datasette serve --immutable`, the
  first request for each file: cold process, OS page cache warm) and `sqlite3 -readonly`'s
  `ORDER BY` duration on the same files;
- `memory`: the sort indexes' bytes (`SortIndex.nbytes`, read in this process at 1M);
- `export`: `bench_export.py` when present (its table as printed, judged by its own column);
- `wal`: `bench_wal.py`'s writer at 1,000/s, 3,000/s and flat out beside each reader.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import bench_dashboard as dash  # noqa: E402
from bench_dashboard import code_under_test, machine  # noqa: E402
from bench_store import log_of  # noqa: E402
from page_cache import held_in_memory  # noqa: E402
from saga_inspector.store import SagaQuery, SagaStore, SortOrder  # noqa: E402

SECTIONS = ("regression", "fleet", "live", "anchors", "memory", "export", "wal")
UI_MS = 50.0
FIRST_SORT_MS = 1000.0
FASTER_THAN_ANCHOR = 3.0
NO_MATCH_MS = 2000.0
WAL_TARGET = 1.5
MEMORY_RATIO = 1.25
ONE, FLEET = "one 1M log", "fleet of 50"
FIRST_ROWS = 50  # rows the anchors ask for (Datasette's _size)
SUBPROCESS_TIMEOUT_S = 3600
T = TypeVar("T")


def say(text: str) -> None:
    print(f"[issue15 {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# -- the table ------------------------------------------------------------------------------


@dataclass
class Row:
    what: str
    target: str
    ours: str
    anchor: str = "—"
    ratio: str = ""
    met: str = "n/a"  # yes / no / n/a (not measured, or no target)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    tables: dict[str, list[str]] = field(default_factory=dict)  # sub-tables, as printed
    notes: list[str] = field(default_factory=list)
    about: dict[str, str] = field(default_factory=dict)

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)


def ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms"


def yes(condition: bool | None) -> str:
    return "n/a" if condition is None else ("yes" if condition else "no")


def print_report(report: Report) -> None:
    print("\n| row | target | ours | anchor | ratio | met |")
    print("|---|---|---:|---|---:|---|")
    for row in report.rows:
        print(f"| {row.what} | {row.target} | {row.ours} | {row.anchor} | {row.ratio} | "
              f"{row.met} |")
    judged = [row for row in report.rows if row.met in ("yes", "no")]
    met = sum(row.met == "yes" for row in judged)
    print(f"\n{met} of {len(judged)} judged rows met; {len(report.rows) - len(judged)} "
          "without a verdict (n/a: not measured, or no target).")
    for title, lines in report.tables.items():
        print(f"\n{title}:\n")
        print("\n".join(lines))
    for note in report.notes:
        print(f"\nnote: {note}")
    for key in ("machine", "code", "command", "took"):
        if key in report.about:
            print(f"\n{key}: {report.about[key]}" if key == "machine"
                  else f"{key}: {report.about[key]}")


# -- running the other benchmarks -------------------------------------------------------------


def run_script(args: Sequence[str], label: str) -> subprocess.CompletedProcess[str]:
    """A benchmark script with this interpreter; its stderr (progress) passed through."""
    command = [sys.executable, *args]
    say(f"{label}: {' '.join(command[1:])}")
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=None, text=True,
                          timeout=SUBPROCESS_TIMEOUT_S, check=False)
    say(f"{label}: exit {done.returncode} in {time.perf_counter() - started:.0f} s")
    return done


def series_of(saved: dict[str, object], key: str) -> dash.Series:
    return dash.Series(**saved[key])  # type: ignore[arg-type]


def figure(series: dash.Series | None, name: str) -> float | None:
    return None if series is None else series.median(name)


def run_dashboard(folder: Path, runs: int) -> dict[str, object] | None:
    saved = folder / "regression.json"
    done = run_script(["benchmarks/bench_dashboard.py", "--runs", str(runs), "--sizes", "1000",
                       "1000000", "--save", str(saved)], "regression")
    if done.returncode != 0 or not saved.exists():
        return None
    data: dict[str, object] = json.loads(saved.read_text(encoding="utf-8"))
    data["stdout"] = done.stdout
    return data


def run_fleet_parts(folder: Path, runs: int) -> dict[str, object] | None:
    saved = folder / "fleet.json"
    done = run_script(["benchmarks/bench_dashboard.py", "--fleet", "50", "--runs", str(runs),
                       "--parts", "sort", "no_match", "--save", str(saved)], "fleet")
    if done.returncode != 0 or not saved.exists():
        return None
    return json.loads(saved.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# -- sort rows --------------------------------------------------------------------------------

FIRST_START = "sort: first s → by start time, rows drawn"
FIRST_DURATION = "sort: first s → by duration, rows drawn"


def is_later_sort_figure(name: str) -> bool:
    """Every switch, page, jump under a sort but the first switch to an order (which reads
    its keys), and what the keys' reading took (no target: the screen quiet)."""
    if not (name.startswith(("sort:", "jump:"))):
        return False
    return not name.startswith("sort: first s") and "keys read" not in name


def sort_rows(views: dict[str, dash.Series], anchors: dict[str, dict[str, float | None]],
              live: dict[str, dict[str, float]]) -> list[Row]:
    rows: list[Row] = []
    one, fleet = views.get(ONE), views.get(FLEET)
    start_anchor, bare = anchors.get("datasette", {}), anchors.get("datasette bare", {})
    duration_anchor = anchors.get("sqlite3", {})
    # `s` to start time: one log sorts on `s`; the merge opens by start time (its first rows
    # are the start's; the switch back to it after the other orders is the next row).
    for view, what, value in (
            (ONE, "`s`, first rows by start time drawn (1M)", figure(one, FIRST_START)),
            (FLEET, "50-log merge opened, first rows by start time drawn (its first order)",
             figure(fleet, "first rows drawn"))):
        anchor = start_anchor.get(view)
        ratio = anchor / value if anchor and value else None
        met = None  # (no figure, or within the second but no anchor to compare with)
        if value is not None and (value > FIRST_SORT_MS or ratio is not None):
            met = value <= FIRST_SORT_MS and ratio is not None and ratio >= FASTER_THAN_ANCHOR
        rows.append(Row(what, f"≤ {FIRST_SORT_MS / 1000:g} s and ≥ {FASTER_THAN_ANCHOR:g}x "
                        "faster than the anchor", ms(value),
                        f"Datasette {ms(anchor)} (ORDER BY alone {ms(bare.get(view))})",
                        f"{ratio:.2f}x" if ratio else "", yes(met)))
    for view, label in ((ONE, "1M"), (FLEET, "50-log merge")):
        value = figure(views.get(view), FIRST_DURATION)
        anchor = duration_anchor.get(view)
        ratio = anchor / value if anchor and value else None
        rows.append(Row(f"`s` `s`, first rows by duration drawn ({label})"
                        if view == ONE else f"first `s` → by duration, rows drawn ({label})",
                        f"≤ {FIRST_SORT_MS / 1000:g} s (anchor: no target ratio)", ms(value),
                        f"sqlite3 {ms(anchor)}", f"{ratio:.2f}x" if ratio else "",
                        yes(None if value is None else value <= FIRST_SORT_MS)))
    for view, label in ((ONE, "1M"), (FLEET, "50-log")):
        series = views.get(view)
        if series is None:
            rows.append(Row(f"later sort switches, pages, G, g, `:` ({label})",
                            f"< {UI_MS:g} ms each", "not measured"))
            continue
        for name in series.names():
            if "keys read" in name and name.startswith("sort:"):
                rows.append(Row(f"{name} ({label})", "— (keys read in the background)",
                                ms(series.median(name))))
            elif is_later_sort_figure(name):
                value = series.median(name)
                rows.append(Row(f"{name} ({label})", f"< {UI_MS:g} ms", ms(value),
                                met=yes(None if value is None else value < UI_MS)))
        for name, value in live.get(view, {}).items():
            rows.append(Row(f"{name} ({label})", f"< {UI_MS:g} ms", ms(value),
                            met=yes(value < UI_MS)))
    return rows


# -- after a live refresh: a writer appends while the table is sorted ---------------------------


class LiveSort(dash.Scenario):
    """`s` to an order (its keys read), sagas appended by a writer, the refresh drawn (the
    new counts), then page down, `G` and `g` under the order, from facts read afresh."""

    PARTS = ("sort_live",)

    def __init__(self, path: Path | Sequence[Path], facts: dash.Facts, written: Path,
                 view: SagaStoreOpener) -> None:
        super().__init__(path, facts, parts=self.PARTS)
        self.written, self.view = written, view

    def write_more(self) -> None:
        """The writer of bench_wal.py (a process, one commit a statement) for a second."""
        import bench_wal

        store = SagaStore.open(self.written)
        log_format = store.format.name
        store.close()
        writer = bench_wal.writer_process(self.written, log_format, rate=400, seconds=1.0,
                                          busy_ms=5000)
        while writer.poll() is None:
            self.session.pump_for(0.1)
        writer.communicate()
        if writer.returncode != 0:
            raise RuntimeError(f"the writer failed ({writer.returncode})")

    def sort_live(self) -> None:
        start = self.start_order()
        order = start
        for wanted in (SortOrder.STARTED, SortOrder.DURATION):
            while order is not wanted:  # s until the order is shown, its keys read
                order = order.next
                self.untimed("s", self.sorted_shown(order))
            self.session.quiet(1.0, timeout=dash.WAIT_S)
            self.write_more()
            self.facts = self.view(self.facts)
            self.session.wait_for(dash.shows_counts(self.facts.counts), dash.WAIT_S)
            self.session.quiet(dash.SETTLE_S)
            # page down, G, g: each draws something new (the writer's sagas start in the
            # past, so the top stays where it was: `g` first would draw nothing).
            self.sort_moves(wanted, " after a live refresh")


SagaStoreOpener = Callable[[dash.Facts], dash.Facts]


def refreshed_facts(paths: Path | Sequence[Path],
                    snapshots: Sequence[bool] | None) -> SagaStoreOpener:
    """What the view shows after the writer: read again (counts and sort facts)."""
    def read(old: dash.Facts) -> dash.Facts:
        from saga_inspector.store.merged import MergedSource

        say("  live: reading what the refreshed view shows")
        if isinstance(paths, Path):
            with SagaStore.open(paths) as store:
                newest = store.sagas(SagaQuery(), limit=260)
                extra = dash.sort_facts(store, newest[0])
                return dataclasses.replace(old, counts=store.counts(), newest=newest,
                                           **extra)  # type: ignore[arg-type]
        with MergedSource.open(paths, snapshots=snapshots) as view:
            newest = view.sagas(SagaQuery(sort=SortOrder.STARTED), limit=260)
            extra = dash.sort_facts(view, newest[0])
            return dataclasses.replace(old, counts=view.counts(), newest=newest,
                                       **extra)  # type: ignore[arg-type]
    return read


def live_fleet_copy(folder: Path) -> tuple[list[Path], list[bool], Path]:
    """The fleet hard-linked into `folder` (no data copied), but for its newest launcher log,
    copied for real so that the writer never touches the shared data; no -wal/-shm links."""
    from fleet import fleet_of
    from saga_inspector.discovery import find_saga_logs_under

    source = fleet_of(50)
    copy = folder / source.name
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-al", str(source), str(copy)], check=True)
    for stale in [*copy.rglob("*-wal"), *copy.rglob("*-shm")]:
        stale.unlink()
    candidates, _warnings = find_saga_logs_under([copy])
    launchers = [c.path for c in candidates if c.path.name == "launcher-sagas.db"
                 and not c.snapshot]
    written = max(launchers, key=lambda p: str(p.relative_to(copy)))  # the newest version
    real = written.with_name(written.name + ".copy")
    shutil.copyfile(written, real)
    real.replace(written)  # (a new inode: the shared file keeps its own)
    return [c.path for c in candidates], [c.snapshot for c in candidates], written


def run_live(folder: Path, runs: int) -> dict[str, dict[str, float]]:
    """After a live refresh, on a copy of the 1M log and on the 50-log merge (one copied
    member written to). Median over `runs` sessions (each appends more sagas)."""
    found: dict[str, dict[str, float]] = {}
    one_copy = folder / "live-1M" / "launcher-sagas.db"
    one_copy.parent.mkdir(parents=True)
    say("live: copying the 1M log (the writer must not touch the shared data)")
    shutil.copyfile(log_of(1_000_000), one_copy)
    fleet_paths_, snapshots, written = live_fleet_copy(folder / "live-fleet")
    views: dict[str, tuple[Path | list[Path], Path, Sequence[bool] | None]] = {
        ONE: (one_copy, one_copy, None), FLEET: (fleet_paths_, written, snapshots)}
    dash.compile_bytecode()
    with held_in_memory([one_copy, written]):  # the copies are not under benchmarks/data
        for name, (paths, target, flags) in views.items():
            found[name] = live_view(name, paths, target, flags, runs)
    return found


def live_view(name: str, paths: Path | list[Path], target: Path,
              flags: Sequence[bool] | None, runs: int) -> dict[str, float]:
    """One view's figures after a live refresh, median over `runs` sessions."""
    dash.SEVERAL_LOGS = not isinstance(paths, Path)
    series = dash.Series()
    facts = dash.read_facts(paths, ("sort",), flags)
    for run in range(runs + 1):  # the first: warm-up (page cache), not kept
        say(f"live: {name}, session {run}/{runs}{' (warm-up)' if run == 0 else ''}")
        scenario = LiveSort(paths, facts, target, refreshed_facts(paths, flags))
        failed = len(series.errors)
        dash.attempt(series, scenario.run, f"live {name}", keep=run > 0)
        # What the file holds after this session's writes (read again after a failure).
        facts = (scenario.facts if len(series.errors) == failed
                 else dash.read_facts(paths, ("sort",), flags))
    dash.SEVERAL_LOGS = False
    for error in series.errors:
        say(f"live: {error}")
    return {n: v for n in series.names() if "live refresh" in n
            if (v := series.median(n)) is not None}


# -- anchors ----------------------------------------------------------------------------------


def saga_columns(path: Path) -> tuple[str, dict[str, str]]:
    """The file's saga table and its columns by field name (the formats name them)."""
    with SagaStore.open(path) as store:
        return store.format.saga_table, dict(store.format.saga_columns)


def free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as answer:
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{url}: HTTP {answer.status}")
    return (time.perf_counter() - started) * 1000


def datasette_first_requests(datasette: str, paths: Sequence[Path], *, bare: bool) -> float:
    """A fresh `datasette serve --immutable` on these files; the first request for each
    file's sagas sorted by start time, summed, ms. As Datasette answers it by default (the
    table's count, facet suggestions), or `bare`: the ORDER BY alone (`_nocount=1`,
    `suggest_facets off`). Either way with a time limit that lets the query finish."""
    port = free_port()
    command = [datasette, "serve", "--port", str(port), "--setting", "sql_time_limit_ms",
               "600000", *(("--setting", "suggest_facets", "off") if bare else ())]
    for path in paths:
        command += ["--immutable", str(path)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:  # up: a page that reads no database
            try:
                get(f"{base}/-/versions.json")
                break
            except OSError as error:
                if server.poll() is not None or time.monotonic() > deadline:
                    said = server.stderr.read() if server.stderr else ""
                    raise RuntimeError(f"datasette did not start: {said}") from error
                time.sleep(0.2)
        with urllib.request.urlopen(f"{base}/-/databases.json", timeout=60) as answer:
            databases = json.loads(answer.read())
        by_path = {str(Path(db["path"]).resolve()): db["name"] for db in databases
                   if db.get("path")}
        total = 0.0
        for path in paths:
            name = by_path[str(path.resolve())]
            table, columns = saga_columns(path)
            total += get(f"{base}/{name}/{table}.json?_sort_desc={columns['started_at']}"
                         f"&_size={FIRST_ROWS}{'&_nocount=1' if bare else ''}")
        return total
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(10)
        if server.poll() is None:
            server.kill()


def datasette_version(datasette: str) -> str:
    done = subprocess.run([datasette, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().replace("datasette, version", "Datasette") or "Datasette"


def duration_sql(path: Path) -> str:
    """The ORDER BY of the longest sagas in SQLite's own SQL (the app's own key is made by a
    Python function it registers, which the sqlite3 shell does not have)."""
    table, columns = saga_columns(path)
    ended, started, saga_id = columns["ended_at"], columns["started_at"], columns["saga_id"]
    with SagaStore.open(path) as store:
        text_times = store.format.name == "launcher"  # RFC 3339 text; the server's: ms
    length = f"julianday({ended}) - julianday({started})" if text_times else f"{ended} - {started}"
    return f"SELECT {saga_id} FROM {table} ORDER BY {length} DESC LIMIT {FIRST_ROWS}"


def sqlite3_durations(paths: Sequence[Path]) -> float:
    """`sqlite3 -readonly FILE 'SELECT ... ORDER BY duration DESC LIMIT 50'`, per file
    (the process included), summed, ms."""
    total = 0.0
    for path in paths:
        sql = duration_sql(path)
        started = time.perf_counter()
        subprocess.run(["sqlite3", "-readonly", str(path), sql], check=True,
                       stdout=subprocess.DEVNULL)
        total += (time.perf_counter() - started) * 1000
    return total


def run_anchors(datasette: str | None, runs: int) -> dict[str, dict[str, object]]:
    from fleet import fleet_paths

    views = {ONE: [log_of(1_000_000)], FLEET: fleet_paths(50)[0]}
    found: dict[str, dict[str, object]] = {"datasette": {}, "datasette bare": {},
                                           "sqlite3": {}, "how": {}}
    for name, paths in views.items():
        if datasette:
            times: dict[bool, list[float]] = {False: [], True: []}
            for run in range(1, runs + 1):
                for bare in (False, True):
                    say(f"anchors: datasette{' (bare)' if bare else ''}, {name}, "
                        f"fresh server {run}/{runs}")
                    try:
                        times[bare].append(datasette_first_requests(datasette, paths,
                                                                    bare=bare))
                    except (OSError, RuntimeError, KeyError) as error:
                        say(f"anchors: datasette failed: {error}")
            usual, bare_ = (statistics.median(times[b]) if times[b] else None
                            for b in (False, True))
            found["datasette"][name] = usual
            found["datasette bare"][name] = bare_
            found["how"]["datasette"] = (
                f"start-time anchor: {datasette_version(datasette)}, "
                "`/DB/TABLE.json?_sort_desc=started_at&_size=50` as it answers by default "
                "(with the table's count and facet suggestions; `sql_time_limit_ms` raised so "
                "it finishes), the first request of a freshly started `datasette serve "
                "--immutable FILE...` (a cold process; the OS page cache warm); in brackets the "
                "ORDER BY alone (`_nocount=1`, `--setting suggest_facets off`). 50-log: one "
                "server on the 50 files, the sum of the first request for each (a merge needs "
                "every file's top rows). Ratio: anchor / ours (above 1: ours faster).")
        if shutil.which("sqlite3"):
            times = []
            for run in range(1, runs + 1):
                say(f"anchors: sqlite3 duration ORDER BY, {name}, {run}/{runs}")
                times.append(sqlite3_durations(paths))
            found["sqlite3"][name] = statistics.median(times)
            found["how"]["sqlite3"] = (
                "duration anchor (no Datasette sort, and not a target ratio): `sqlite3 "
                "-readonly FILE 'SELECT id ... ORDER BY ended-started DESC LIMIT 50'` (launcher "
                "text times through julianday), the shell's process included; 50-log: summed "
                "over the files.")
    return found


# -- memory -----------------------------------------------------------------------------------


def index_bytes() -> dict[str, int]:
    """The sort indexes of the 1M log, read in this process as the app reads them."""
    found = {}
    with SagaStore.open(log_of(1_000_000)) as store:
        for sort in (SortOrder.STARTED, SortOrder.DURATION):
            say(f"memory: reading the {sort.label} index of the 1M log")
            store.build_sort_index(sort)
            index = store.sort_index(sort)
            found[sort.label] = index.nbytes if index is not None else 0
    return found


def memory_rows(regression: dict[str, object] | None, views: dict[str, dash.Series],
                indexes: dict[str, int] | None) -> list[Row]:
    peak = "peak RSS at end (MiB)"
    small = large = None
    if regression is not None:
        results = regression["results"]  # type: ignore[index]
        small = dash.Series(**results["1000"]).median(peak)  # type: ignore[index]
        large = dash.Series(**results["1000000"]).median(peak)  # type: ignore[index]
    ratio = large / small if small and large else None
    rows = [Row("peak RSS at 1M without a sort (issue-6 session) vs 1k",
                f"≤ {MEMORY_RATIO:g}x of 1k", f"{large:.1f} MiB" if large else "n/a",
                f"1k: {small:.1f} MiB" if small else "n/a", f"{ratio:.2f}x" if ratio else "",
                yes(None if ratio is None else ratio <= MEMORY_RATIO))]
    sorted_peak = figure(views.get(ONE), peak)
    sorted_now = figure(views.get(ONE), "RSS at end (MiB)")
    index_mib = sum(indexes.values()) / 2**20 if indexes else None
    growth = sorted_peak - large if sorted_peak is not None and large is not None else None
    rows.append(Row(
        "peak RSS at 1M with both sort indexes (sort session) minus without a sort",
        "grows only by the index (≤ index bytes + 10 %)",
        f"+{growth:.1f} MiB (peak {sorted_peak:.1f}, at end {sorted_now:.1f})"
        if growth is not None and sorted_now is not None else "n/a",
        f"indexes: {index_mib:.1f} MiB ("
        + ", ".join(f"{k} {v / 2**20:.1f}" for k, v in (indexes or {}).items()) + ")"
        if index_mib is not None else "n/a",
        f"{growth / index_mib:.2f}x" if growth is not None and index_mib else "",
        yes(None if growth is None or index_mib is None else growth <= 1.1 * index_mib)))
    return rows


# -- scans that match nothing -----------------------------------------------------------------

NO_MATCH_DRAWN = re.compile(r"^search, no match.*: 'no matches' drawn$")
NO_MATCH_FLAG = re.compile(r"^search, no match.*: shows progress")


def no_match_rows(regression: dict[str, object] | None,
                  views: dict[str, dash.Series]) -> list[Row]:
    """Whatever kinds of no-match scan bench_dashboard's no_match part measures (its figure
    names, matched by pattern: new kinds appear without a change here)."""
    series: dict[str, dash.Series] = {}
    if regression is not None:
        series["1M"] = dash.Series(**regression["results"]["1000000"])  # type: ignore[index]
    if FLEET in views:
        series["50-log"] = views[FLEET]
    rows = []
    for label, found in series.items():
        for name in found.names():
            value = found.median(name)
            if NO_MATCH_DRAWN.match(name):
                rows.append(Row(f"{name} ({label})", f"≤ {NO_MATCH_MS / 1000:g} s", ms(value),
                                met=yes(None if value is None else value <= NO_MATCH_MS)))
            elif NO_MATCH_FLAG.match(name):
                rows.append(Row(f"{name} ({label})", "shown (1 = yes)",
                                "n/a" if value is None else f"{value:g}",
                                met=yes(None if value is None else value >= 1)))
    if not rows:
        rows.append(Row("scans that match nothing", f"≤ {NO_MATCH_MS / 1000:g} s",
                        "not measured"))
    return rows


# -- no regression (issue 6) ------------------------------------------------------------------


def regression_rows(regression: dict[str, object] | None) -> tuple[list[Row], list[str]]:
    if regression is None:
        return [Row("issue-6 targets (bench_dashboard.py, 1k and 1M)", "all met",
                    "not measured")], []
    results = regression["results"]  # type: ignore[index]
    small, large = dash.Series(**results["1000"]), dash.Series(**results["1000000"])
    floor = dash.Series(**regression["floor"])  # type: ignore[arg-type]
    lines = ["| figure | target | 1M | verdict |", "|---|---|---:|---|"]
    met = judged = 0
    missed = []
    for name, test, wording in dash.targets():
        low, high, ground = small.median(name), large.median(name), floor.median(
            "first rows drawn")

        def at_large(other: str) -> float:
            value = large.median(other)
            if value is None:
                raise LookupError(other)
            return value

        verdict = "not measured"
        if low is not None and high is not None and ground is not None:
            with contextlib.suppress(LookupError):
                verdict = "met" if test(low, high, ground, at_large) else "MISSED"
        if verdict != "not measured":
            judged += 1
            met += verdict == "met"
            if verdict == "MISSED":
                missed.append(f"{name} ({wording}: {dash.fmt(high, name)})")
        lines.append(f"| {name} | {wording} | {dash.fmt(high, name)} | {verdict} |")
    row = Row("no regression: issue-6 targets (bench_dashboard.py, 1k and 1M)", "all met",
              f"{met} of {judged} met" + (f"; missed: {'; '.join(missed)}" if missed else ""),
              met=yes(judged > 0 and met == judged))
    return [row], lines


# -- export -----------------------------------------------------------------------------------

VERDICT = re.compile(r"\b(met|yes|no|missed|not met)\b", re.IGNORECASE)


def run_export(quick: bool) -> tuple[list[Row], list[str]]:
    """bench_export.py: its CLI table as printed, a row met where its last verdict-like cell
    says so (`met`/`yes`), missed where it says `no`/`MISSED`/`not met`; and the dashboard's
    whole-view export (1M; --quick: the 100k log), its rate and the progress it showed."""
    script = HERE / "bench_export.py"
    if not script.exists():
        return [Row("export CSV / JSONL / dashboard export rate (bench_export.py)",
                    "CSV ≤ 4x sqlite3; JSONL ≤ 1.5x json.dumps loop; rate and time left",
                    "n/a (benchmarks/bench_export.py not present)")], []
    dashboard_log = log_of(100_000 if quick else 1_000_000)
    done = run_script(["benchmarks/bench_export.py", "--runs", "1" if quick else "3",
                       "--dashboard", str(dashboard_log)], "export")
    lines = [line for line in done.stdout.splitlines() if line.startswith("|")]
    if done.returncode != 0 or not lines:
        return [Row("export (bench_export.py)", "its own targets",
                    f"failed (exit {done.returncode})", met="no")], lines
    rows = []
    header = [cell.strip().lower() for cell in lines[0].strip("|").split("|")]
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        named = dict(zip(header, cells, strict=False))  # its columns where ours are named so
        verdicts = [cell for cell in cells[1:] if VERDICT.fullmatch(cell.lower())]
        met = None
        if verdicts:
            met = verdicts[-1].lower() in ("met", "yes")
        if {"ours", "anchor"} <= named.keys():
            rows.append(Row(f"export: {cells[0]} ({header[0]})", named.get("target", ""),
                            named["ours"] + " s", named["anchor"] + " s",
                            named.get("ratio", ""), yes(met)))
        else:
            rows.append(Row(f"export: {cells[0]}", "(bench_export.py)",
                            " · ".join(cells[1:]), met=yes(met)))
    rows.append(dashboard_export_row(done.stdout))
    return rows, lines


def dashboard_export_row(printed: str) -> Row:
    """bench_export's "dashboard, whole view …" line and the progress notes it saw: met
    when a note gives a time estimate (the issue's only target for it)."""
    lines = printed.splitlines()
    rate = next((line for line in lines if line.startswith("dashboard, whole view")), None)
    seen = [line.strip().removeprefix("seen:").strip() for line in lines
            if line.strip().startswith("seen:")]
    estimate = any(re.search(r"\bleft\b|remaining|eta", note, re.IGNORECASE)
                   for note in seen)
    return Row("whole-view export from the dashboard: rate, progress with a time estimate",
               "progress with a time estimate shown",
               (rate.split(":", 1)[1].strip() if rate else "not measured")
               + (f"; seen: {seen[-1]}" if seen else ""),
               met=yes(None if rate is None else estimate))


# -- the writer flat out ----------------------------------------------------------------------

WAL_READERS = ("dashboard", "dashboard-f", "follow")


def run_wal(quick: bool) -> tuple[list[Row], list[str]]:
    import bench_wal

    say("wal: bench_wal.run (each condition on a fresh copy of the 100k log)")
    rows_out = bench_wal.run(rates=bench_wal.RATES, conditions=("alone", *WAL_READERS),
                             seconds=3.0 if quick else bench_wal.SECONDS)
    rows = []
    alone = {row["rate"]: row for row in rows_out if row["condition"] == "alone"}
    for row in rows_out:
        if row["condition"] == "alone":
            continue
        base = alone.get(row["rate"])
        ratio = float(row["ratio"])  # type: ignore[arg-type]
        rate = bench_wal._rate(row["rate"])
        rows.append(Row(
            f"writer at {rate}, {row['condition']}: -wal peak vs writer alone",
            f"≤ {WAL_TARGET:g}x, no lock error", f"{bench_wal._mb(row['wal_peak'])}, "
            f"{row['busy_errors']} lock errors",
            f"alone {bench_wal._mb(base['wal_peak'])}" if base else "n/a",
            f"{ratio:.2f}x",
            yes(ratio <= WAL_TARGET and int(row["busy_errors"]) == 0)))  # type: ignore[call-overload]
    table = []
    with contextlib.redirect_stdout(_Lines(table)):
        bench_wal.print_table(rows_out)
    return rows, table


class _Lines:
    """A stdout that keeps each line printed."""

    def __init__(self, into: list[str]) -> None:
        self.into, self._partial = into, ""

    def write(self, text: str) -> int:
        self._partial += text
        *done, self._partial = self._partial.split("\n")
        self.into.extend(done)
        return len(text)

    def flush(self) -> None:
        pass


# -- one run ----------------------------------------------------------------------------------


def measure(options: argparse.Namespace) -> Report:
    runs = 1 if options.quick else options.runs
    sections = options.only or SECTIONS
    report = Report()
    report.about = {"machine": machine(), "code": code_under_test(),
                    "command": " ".join([Path(sys.executable).name, *sys.argv])}
    started = time.perf_counter()
    with held_in_memory([HERE / "data"]) as held, \
            tempfile.TemporaryDirectory(prefix="bench-issue15-") as scratch:
        report.notes.append(f"the data (benchmarks/data, {held / 2**20:,.0f} MiB) locked in "
                            "the page cache for the run (page_cache.py: this machine drops "
                            "idle file pages after a minute)")
        folder = Path(scratch)
        def section(name: str, action: Callable[[], T], nothing: T) -> T:
            """One section; a failure is noted (its rows then say not measured), the others
            still run."""
            if name not in sections:
                return nothing
            try:
                return action()
            except Exception as error:  # one section must not lose the run
                traceback.print_exc()
                report.notes.append(f"section {name} failed: {type(error).__name__}: {error}")
                return nothing

        regression = section("regression", lambda: run_dashboard(folder, runs), None)
        fleet = section("fleet", lambda: run_fleet_parts(folder, runs), None)
        views = ({name: dash.Series(**series) for name, series in fleet["views"].items()}
                 if fleet else {})
        live = section("live", lambda: run_live(folder, runs), {})
        anchors = section("anchors", lambda: run_anchors(options.datasette,
                                                         1 if options.quick else 3), {})
        if "anchors" in sections and not options.datasette:
            report.notes.append("Datasette not found (--datasette PATH): its anchor is n/a.")
        indexes = section("memory", index_bytes, None)
        export_rows, export_table = section("export", lambda: run_export(options.quick),
                                            ([], []))
        wal_rows, wal_table = section("wal", lambda: run_wal(options.quick), ([], []))
    report.add(*sort_rows(views, anchors, live))  # type: ignore[arg-type]
    report.notes.extend(anchors.get("how", {}).values())  # type: ignore[arg-type]
    report.add(*memory_rows(regression, views, indexes))
    report.add(*no_match_rows(regression, views))
    report.add(*export_rows)
    report.add(*wal_rows)
    issue6, issue6_table = regression_rows(regression)
    report.add(*issue6)
    if issue6_table:
        report.tables["issue-6 targets (bench_dashboard.py default parts, 1M)"] = issue6_table
    if export_table:
        report.tables["bench_export.py, as printed"] = export_table
    if wal_table:
        report.tables["bench_wal.py, as printed"] = wal_table
    report.notes.append(
        f"{runs} run(s) each, medians; sessions on a 160x48 pty as bench_dashboard.py; "
        "1M = benchmarks/data/sagas-1000000-4steps.db, 50-log = benchmarks/data/fleet-50-v1; "
        "the live refresh on copies (the 1M log copied, the fleet hard-linked but its newest "
        "launcher log), written by bench_wal.py's writer (~1 s at 400 commits/s).")
    report.about["took"] = f"{time.perf_counter() - started:.0f} s"
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="sessions per figure (median)")
    parser.add_argument("--quick", action="store_true",
                        help="one session per figure, one anchor request, 3 s writer runs")
    parser.add_argument("--datasette", default=shutil.which("datasette"),
                        help="the datasette executable (its own venv; absent: anchor n/a)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="only these sections")
    parser.add_argument("--save", type=Path, metavar="JSON", help="also write the report here")
    parser.add_argument("--table", type=Path, metavar="JSON",
                        help="print a report saved with --save, then stop")
    options = parser.parse_args()
    if options.table:
        data = json.loads(options.table.read_text(encoding="utf-8"))
        print_report(Report(rows=[Row(**row) for row in data["rows"]], tables=data["tables"],
                            notes=data["notes"], about=data["about"]))
        return
    if options.datasette and not Path(options.datasette).exists():
        options.datasette = None
    report = measure(options)
    if options.save:
        options.save.write_text(json.dumps(dataclasses.asdict(report), indent=1),
                                encoding="utf-8")
    print_report(report)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
