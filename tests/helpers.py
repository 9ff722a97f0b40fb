"""What several test modules share: the app under Pilot, small logs and models, the saga table
in a host app, the CLI in-process, the snapshot set-up, the launcher-like writer.

One copy of each, so test modules never import from each other. Files are built by
tests/factory.py; the fixtures every module gets are in tests/conftest.py; the fixtures here
are used by importing them (`from .helpers import run`).
"""

from __future__ import annotations

import asyncio
import functools
import html
import json
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import NoActiveWorker, get_current_worker

from saga_inspector import cli
from saga_inspector.demo import SagaRow, write_demo
from saga_inspector.store import Saga, SagaDetail, SagaQuery, SagaStore, SortKey, SortOrder, Step
from saga_inspector.store.kinds import POOL_RESPAWN, WINDOW_CLEANUP
from saga_inspector.store.timestamps import parse_timestamp
from saga_inspector.tui.app import SagaInspectorApp, create_app
from saga_inspector.tui.screens.dashboard import DashboardScreen
from saga_inspector.tui.screens.export import EXPORT_GROUP, ExportScreen
from saga_inspector.tui.widgets.saga_table import SagaTable

from .factory import SagaLogFactory, cleanup_saga, recovered_saga, respawn_saga, ts

# -- the app under Pilot -----------------------------------------------------------------------

NOW = datetime(2026, 6, 9, 12, 0, tzinfo=UTC)  # the app's clock in tests: ages never drift
SIZE = (160, 48)  # the terminal of Pilot tests and snapshots
INTERVAL = 0.1  # how often a live app looks at its file in tests


def pilot_test(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async Pilot test on a fresh event loop (no async plugin needed)."""

    @functools.wraps(test)
    def run(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def make_app(path: Path, **options: Any) -> SagaInspectorApp:
    """The dashboard on `path` with the clock pinned at NOW (`options` go to create_app)."""
    return create_app(path, now=lambda: NOW, **options)


def live_app(path: Path) -> SagaInspectorApp:
    """The dashboard on `path`, looking at the file every INTERVAL."""
    return make_app(path, interval=INTERVAL)


def dashboard(app: SagaInspectorApp) -> DashboardScreen:
    """The app's dashboard screen (whatever screen is on top)."""
    return app.dashboard


async def wait_for(pilot: Pilot, condition: Callable[[], bool], what: str = "") -> None:
    """Let the app run until `condition` holds (bounded, so a broken feature fails, not hangs)."""
    for _ in range(2000):
        if condition():
            return
        await pilot.pause(0.005)
    raise AssertionError(f"timed out waiting for {what or condition}")


async def wait_until(pilot: Pilot, condition: Callable[[], bool], what: str,
                     timeout: float = 30.0) -> None:
    """Like wait_for, bounded by wall time: for apps waiting on a file or another process."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def idle(pilot: Pilot) -> None:
    """Wait until the dashboard has settled (workers done, panes drawn), then one more frame."""
    app = pilot.app
    assert isinstance(app, SagaInspectorApp)
    await wait_for(pilot, lambda: app.settled, "the dashboard to settle")
    await pilot.pause()


async def press(pilot: Pilot, *keys: str) -> None:
    """Press each key and let the dashboard settle after it."""
    for key in keys:
        await pilot.press(key)
        await idle(pilot)


def screen_text(app: SagaInspectorApp) -> str:
    """What the terminal shows, as text (from the SVG screenshot)."""
    svg = app.export_screenshot()
    parts = re.findall(r">([^<]*)</text>", svg)
    return html.unescape("".join(parts)).replace("\xa0", " ")


async def wait_to_show(pilot: Pilot, *texts: str) -> None:
    """Until the screen shows every one of `texts` (a change is drawn at the next repaint)."""
    app = pilot.app
    assert isinstance(app, SagaInspectorApp)
    await wait_until(pilot, lambda: all(text in screen_text(app) for text in texts),
                     f"the screen to show {texts}")


def record_notifications(app: SagaInspectorApp) -> list[tuple[str, str]]:
    """Every notification the app shows, as (severity, message)."""
    shown: list[tuple[str, str]] = []
    original = app.notify

    def notify(message: str, **kwargs: object) -> None:
        shown.append((str(kwargs.get("severity", "information")), str(message)))
        original(message, **kwargs)  # type: ignore[arg-type]

    app.notify = notify  # type: ignore[method-assign]
    return shown


# -- small logs and models ---------------------------------------------------------------------

HOSTILE = "[TODO] fix [/] \x1b]0;pwned\x07 \x1b[2J [b]bold?[/b]"
CLEANUP, RESPAWN = WINDOW_CLEANUP.name, POOL_RESPAWN.name


def mixed_log(make_log: SagaLogFactory, **kwargs: object) -> Path:
    """Six sagas: completed, timed out, broken pipe, recovered, running, completed."""
    sagas = [
        cleanup_saga(1, at=0),
        respawn_saga(2, "failed", at=10, reason="saga timeout"),
        cleanup_saga(3, "failed", at=20, drained=None,
                     reason="host pipe send failed: write to host pipe failed: Broken pipe"),
        recovered_saga(4, at=30),
        cleanup_saga(5, "running", at=40, drained=None),
        cleanup_saga(6, at=50),
    ]
    return make_log(sagas, **kwargs)


def hostile_saga() -> object:
    """A failed saga whose name, reason and payloads hold markup and terminal escapes."""
    saga = cleanup_saga(9, "failed", drained=None, reason=HOSTILE)
    saga.name = "[TODO] fix"
    saga.input_json = json.dumps({"closed_label": "\x1b]52;c;ZXZpbA==\x07"})
    saga.steps[1].cmd_json = '{"cmd":"drain_pool_if_last","label":"[/]\\u001b[2J"}'
    saga.steps[0].output_json = "not json \x1b[2J [b]"
    return saga


def numbered(count: int, *, failed_every: int = 7) -> Iterator[SagaRow]:
    """`count` sagas with ids 1..count (no steps: quick to write); every n-th one failed."""
    for saga_id in range(1, count + 1):
        failed = saga_id % failed_every == 0
        yield SagaRow(saga_id, CLEANUP, "failed" if failed else "completed", ts(saga_id),
                      ts(saga_id + 0.5), '{"closed_label":"main"}',
                      "saga timeout" if failed else None)


def shuffled_sagas(count: int, *, first_id: int = 1, seed: int = 3) -> list[SagaRow]:
    """Sagas whose start times and durations are not in id order; some still running (no
    duration), a few with a start that does not parse (no start), some ties on the start."""
    rng = random.Random(seed)
    rows = []
    for saga_id in range(first_id, first_id + count):
        start = rng.randrange(0, 5000) if saga_id % 11 else 777  # ties: the id decides
        started: str = ts(start)
        ended: str | None = ts(start + rng.uniform(0.01, 90))
        state = "completed"
        if saga_id % 13 == 0:
            state, ended = "running", None
        if saga_id % 29 == 0:
            started = "not a time"
        rows.append(SagaRow(saga_id, CLEANUP, state, started, ended, '{"closed_label":"main"}'))
    return rows


def oracle(rows: Sequence[SagaRow], sort: SortOrder) -> list[int]:
    """The ids in the order each sort promises, worked out here: descending, ties by id
    descending, sagas without a value last."""
    def value(row: SagaRow) -> timedelta | Any:
        start = parse_timestamp(row.started_at).value
        if sort is SortOrder.STARTED:
            return start
        end = parse_timestamp(row.ended_at).value if row.ended_at else None
        return end - start if start is not None and end is not None else None

    if sort is SortOrder.ID:
        return sorted((int(row.saga_id) for row in rows), reverse=True)
    with_value = [row for row in rows if value(row) is not None]
    without = [row for row in rows if value(row) is None]
    ordered = sorted(with_value, key=lambda row: (value(row), row.saga_id), reverse=True)
    return [int(row.saga_id) for row in
            [*ordered, *sorted(without, key=lambda row: row.saga_id, reverse=True)]]


def step(index: int, start: object, end: object = None, *, state: str = "succeeded",
         in_flight: bool = False, name: str = "issue_cmd_host_reap_panes") -> Step:
    """A step of saga 1, its times parsed as the store would."""
    return Step(1, index, name, state, "host", None, None, parse_timestamp(start),
                parse_timestamp(end), None, in_flight)


def saga_detail(start: object, end: object, *steps: Step, name: str = CLEANUP,
                state: str = "completed") -> SagaDetail:
    """Saga 1 with `steps`, as the store would give it (no file needed)."""
    saga = Saga(1, name, state, parse_timestamp(start), parse_timestamp(end), "{}", None,
                len(steps), sum(s.state == "succeeded" for s in steps))
    return SagaDetail(saga, steps)


def completed_cleanup() -> SagaDetail:
    """Reap 0.3 ms to 30 ms, drain 31 ms to 36 ms, saga ended at 37 ms."""
    return saga_detail(ts(0), ts(0.037), step(0, ts(0.0003), ts(0.03)),
                       step(1, ts(0.031), ts(0.036), name="issue_cmd_host_drain_pool_if_last"))


def timed_out(seconds: float = 5.01, *, name: str = RESPAWN) -> SagaDetail:
    """A respawn failed after `seconds` with its first step still in flight."""
    pending = step(0, ts(0.0004), state="pending", in_flight=True,
                   name="issue_cmd_host_spawn_pool_window")
    return saga_detail(ts(0), ts(seconds), pending, name=name, state="failed")


# -- the saga table in a host app --------------------------------------------------------------

ALL = SagaQuery()


class Host(App[None]):
    """Only a SagaTable over one store, recording what the table posts."""

    def __init__(
        self, store: Any, query: SagaQuery = ALL, *, empty: str | None = None,
        scan_delay: float | None = 0.0,
    ) -> None:
        super().__init__()
        self.store, self.start_query, self.empty = store, query, empty
        self.scan_delay = scan_delay
        self.posted: list[Message] = []

    def compose(self) -> ComposeResult:
        yield SagaTable(id="sagas")

    def on_mount(self) -> None:
        table = self.table
        table.search_scan_delay = self.scan_delay
        if self.empty is not None:
            table.empty_message = self.empty
        table.show(self.store, self.start_query)
        table.focus()

    @property
    def table(self) -> SagaTable:
        return self.query_one(SagaTable)

    def on_saga_table_highlighted(self, message: SagaTable.Highlighted) -> None:
        self.posted.append(message)

    def on_saga_table_chosen(self, message: SagaTable.Chosen) -> None:
        self.posted.append(message)

    def on_saga_table_loaded(self, message: SagaTable.Loaded) -> None:
        self.posted.append(message)

    def on_saga_table_failed(self, message: SagaTable.Failed) -> None:
        self.posted.append(message)

    def last(self, kind: type[Message]) -> Any:
        return next((m for m in reversed(self.posted) if isinstance(m, kind)), None)


Scenario = Callable[[Host, Pilot[None]], Coroutine[Any, Any, None]]


def run_host(host: Host, scenario: Scenario, size: tuple[int, int] = (170, 20)) -> None:
    """Run `scenario` against the host app on a fresh event loop."""
    async def main() -> None:
        async with host.run_test(size=size) as pilot:
            await scenario(host, pilot)

    asyncio.run(main())


async def settle(pilot: Pilot[None], until: Callable[[], bool] = lambda: True) -> None:
    """Let workers finish and their results land until `until()` holds and all is quiet."""
    app = pilot.app
    for _ in range(500):
        # A superseded (cancelled) worker may still be blocked in a test's store: skip it.
        live = [worker for worker in app.workers if not worker.is_cancelled]
        if live:
            await app.workers.wait_for_complete(live)
        await pilot.pause()
        if until() and not any(w.is_running and not w.is_cancelled for w in app.workers):
            return
    raise AssertionError("the table never settled")


async def poll(pilot: Pilot[None], until: Callable[[], bool]) -> None:
    """For scenes where a worker is meant to be waiting: check, let time pass, again."""
    for _ in range(1000):
        if until():
            return
        await pilot.pause(0.01)
    raise AssertionError("the condition never held")


def lines(table: SagaTable) -> list[str]:
    """The text the table draws now, line by line."""
    width, height = table.size
    return [strip.text for strip in table.render_lines(Region(0, 0, width, height))]


def row_ids(table: SagaTable) -> list[int]:
    """The ids of the rows the table draws (a table without a border)."""
    return [int(line.split()[0]) for line in lines(table)[1:] if line.split()
            and line.split()[0].isdigit()]


def drawn_ids(table: SagaTable) -> list[int]:
    """The ids of the rows the table draws, inside its border when it has one."""
    ids = []
    for line in lines(table)[1:]:
        words = line.strip("│ ").split()
        if words and words[0].isdigit():
            ids.append(int(words[0]))
    return ids


def highlighted_id(table: SagaTable) -> int | None:
    """The id of the saga under the cursor, if any."""
    saga = table.highlighted_saga
    return None if saga is None else saga.saga_id


class StoreProxy:
    """A store standing in for another: what it does not define, the other does."""

    def __init__(self, store: SagaStore) -> None:
        self.store, self.armed = store, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def page_reads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """The arguments of each `SagaStore.sagas` call from now on."""
    calls: list[dict[str, object]] = []
    original = SagaStore.sagas

    def spy(self: SagaStore, query: SagaQuery, **kwargs: object) -> object:
        calls.append(kwargs)
        return original(self, query, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SagaStore, "sagas", spy)
    return calls


# -- the export modal --------------------------------------------------------------------------

Walk = Callable[..., Iterator[Saga]]


class Gate:
    """Holds the export worker's walk through the store after `after` sagas, until
    released or the export is cancelled (other reads of the store are left alone)."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.reached = threading.Event()
        self.release = threading.Event()

    def wrap(self, walk: Walk) -> Walk:
        def gated(store: SagaStore, query: SagaQuery, limit: int = 0,
                  **kwargs: object) -> Iterator[Saga]:
            try:
                worker = get_current_worker()
            except NoActiveWorker:
                worker = None
            for n, saga in enumerate(walk(store, query, limit, **kwargs)):
                if worker is not None and worker.group == EXPORT_GROUP and n == self.after:
                    self.reached.set()
                    while not self.release.wait(0.01) and not worker.is_cancelled:
                        pass
                yield saga

        return gated


def gate(monkeypatch: pytest.MonkeyPatch, after: int) -> Gate:
    """Hold every export's walk after `after` sagas (see Gate)."""
    held = Gate(after)
    monkeypatch.setattr(SagaStore, "walk", held.wrap(SagaStore.walk))
    return held


def pin_export_clock(monkeypatch: pytest.MonkeyPatch, seconds: float = 4.0) -> None:
    """The export modal's clock: its first reading (the export begins) at 100, every later
    one `seconds` after that, so the pace and the time left it shows are the same on
    every run (200 sagas in 4 s: 50 sagas/s)."""
    readings = iter([100.0])
    monkeypatch.setattr("saga_inspector.tui.screens.export.monotonic",
                        lambda: next(readings, 100.0 + seconds))


# -- the CLI in-process ------------------------------------------------------------------------

RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")


@dataclass
class Result:
    """What one CLI run gave: exit code, stdout, stderr."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> object:
        return json.loads(self.out)

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("saga-inspector: ")]


Run = Callable[..., Result]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> Result:
    """Run the CLI in this process with `argv`."""
    code = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return Result(code, out, err)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """run(*argv): the CLI in this process."""
    def _run(*argv: object) -> Result:
        return run_cli(capsys, *argv)

    return _run


def listed(capsys: pytest.CaptureFixture[str], log: Path, *options: str) -> list[int]:
    """The ids `list --json` gives for `options`, every page of them."""
    result = run_cli(capsys, "list", log, "--limit", "0", "--json", *options)
    assert (result.code, result.err) == (0, "")
    return [saga["saga_id"] for saga in json.loads(result.out)]


def bad_file(kind: str, make_log: SagaLogFactory) -> Path:
    """A file of one of the kinds the store refuses (see test_cli.BAD_KINDS)."""
    folder = make_log.folder
    if kind == "missing":
        return folder / "nope.db"
    if kind == "folder":
        (folder / "a-folder.db").mkdir()
        return folder / "a-folder.db"
    if kind == "empty":
        return make_log.file_with(b"")
    if kind == "text":
        return make_log.file_with(b"saga_id,name\n1,window_cleanup_cascade\n" * 40)
    if kind == "truncated":
        return make_log.truncated()
    assert kind == "no saga tables"
    return make_log(ddl="CREATE TABLE something_else (x INTEGER);")


# -- snapshots ---------------------------------------------------------------------------------

Driver = Callable[[Pilot], Awaitable[None]]


@pytest.fixture(autouse=True)
def fixed_place_and_zone(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Autouse in the snapshot modules that import it: files are opened by their bare name
    from their folder (the header shows no tmp path), local times are UTC."""
    monkeypatch.chdir(make_log.folder)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def demo() -> Path:
    """The demo log, by its bare name (use with fixed_place_and_zone)."""
    return write_demo(Path("launcher-sagas.db"))


def app_on(path: Path) -> SagaInspectorApp:
    """The app on `path` by its bare name, the clock pinned."""
    return create_app(Path(path.name), now=lambda: NOW)


def keys(*pressed: str) -> Driver:
    """Wait for the dashboard, then press keys, settling after each."""

    async def drive(pilot: Pilot) -> None:
        await idle(pilot)
        for key in pressed:
            await pilot.press(key)
            await idle(pilot)

    return drive


def snap(snap_compare: Callable[..., bool], path: Path, drive: Driver,
         size: tuple[int, int] = SIZE) -> bool:
    """Compare the app on `path`, driven by `drive`, with the stored snapshot."""
    return snap_compare(app_on(path), terminal_size=size, run_before=drive)


async def open_export(pilot: Pilot, path: str | None = None) -> ExportScreen:
    """Press `e` and wait for the export modal; type `path` into it if given."""
    await pilot.press("e")
    app = pilot.app
    assert isinstance(app, SagaInspectorApp)
    await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), "the export modal")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ExportScreen)
    if path is not None:
        screen.query_one("#export-path", Input).value = path
        await pilot.pause()
    return screen


# -- the launcher-like writer (tests/writer.py) in a process of its own ------------------------

ROOT = Path(__file__).resolve().parent.parent
WRITE_SECONDS = 3.0
RATE = 300.0  # commits a second asked of the writer; at least 200 must be reached


def start_writer(path: Path) -> subprocess.Popen[str]:
    """Start the writer on `path` for WRITE_SECONDS at RATE commits a second."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.writer", str(path), "--seconds", str(WRITE_SECONDS),
         "--rate", str(RATE)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )


def summary_of(writer: subprocess.Popen[str]) -> dict[str, float]:
    """Wait for the writer to end; its summary (it must exit 0)."""
    out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0
    return json.loads(out)


def check_paging(view: Any, query: SagaQuery, expected: list[SortKey], size: int,
                 bounds: Sequence[SortKey]) -> None:
    """`view`'s pages of `query`, `size` rows each, are `expected` (every key in order):
    forward from the top by `after`, backward from the end by `before`, and around each of
    `bounds` (a row's key, or a key no row has) by `after`, `at` and `before`."""
    def keys(sagas: list[Saga]) -> list[SortKey]:
        return [query.key_of(saga) for saga in sagas]
    forward: list[SortKey] = []
    page = view.sagas(query, limit=size)
    while page:
        forward += keys(page)
        page = view.sagas(query, after=query.key_of(page[-1]), limit=size)
    assert forward == expected
    backward: list[SortKey] = []
    page = view.oldest(query, limit=size)
    while page:
        backward = keys(page) + backward
        page = view.sagas(query, before=query.key_of(page[0]), limit=size)
    assert backward == expected
    for bound in bounds:
        below = [key for key in expected if key < bound]
        above = [key for key in expected if key > bound]
        assert keys(view.sagas(query, after=bound, limit=size)) == below[:size]
        assert keys(view.sagas(query, at=bound, limit=size)) == \
            [key for key in expected if key <= bound][:size]
        assert keys(view.sagas(query, before=bound, limit=size)) == above[-size:]
