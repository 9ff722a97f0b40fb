"""Several saga logs in one view (issue 14), where they collide: two logs holding the same
saga id through copy and export in the dashboard, a log newer than this tool knows among
good ones, and the store's promise that reading one log never holds another's snapshot
open (MergedSource's reads of different logs are separate short transactions)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from textual.pilot import Pilot

from saga_inspector.explain import explain_text
from saga_inspector.export import CSV_COLUMNS
from saga_inspector.handoff import CLIPBOARD_SETTING
from saga_inspector.report import detail_to_dict, saga_to_dict
from saga_inspector.sanitize import sanitize
from saga_inspector.store import Saga, SagaDetail, SagaQuery, SagaRef, SagaStore, SortOrder
from saga_inspector.store.formats import LAUNCHER, SERVER, LogFormat
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.payload import pretty_json, strict_json
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.screens.dashboard import DashboardScreen
from saga_inspector.tui.widgets.header import WarningBanner
from saga_inspector.tui.widgets.payload import PayloadBlock
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.step_list import StepList

from .factory import SagaLogFactory, cleanup_saga, mixed_sagas, respawn_saga, tear_off_tab_saga
from .helpers import (
    CLEANUP,
    NOW,
    RESPAWN,
    SIZE,
    dashboard,
    idle,
    make_app,
    open_export,
    pilot_test,
    press,
    record_notifications,
    screen_text,
    wait_for,
)


def log_in(root: Path, folder: str, log_format: LogFormat, sagas: list,
           user_version: int = 1) -> Path:
    place = root / folder
    place.mkdir(parents=True)
    name = "launcher-sagas.db" if log_format is LAUNCHER else "sagas.db"
    return SagaLogFactory(place, log_format)(sagas, name=name, user_version=user_version)


def labels(app: SagaInspectorApp) -> list[str]:
    assert app.source is not None
    return [member.tag.label for member in app.source.members]


def table_of(app: SagaInspectorApp) -> SagaTable:
    return dashboard(app).query_one(SagaTable)


def rows_of(app: SagaInspectorApp) -> list[SagaRef]:
    """The refs of every row of the table, in its order (all in its cache: small views)."""
    table = table_of(app)
    return [saga.ref for saga in (table._cache.row(n) for n in range(table.total or 0))
            if saga is not None]


async def highlight(pilot: Pilot, app: SagaInspectorApp, ref: SagaRef) -> None:
    """Move the table's cursor (j/k) onto the saga `ref`, its panes shown."""
    table = table_of(app)
    position = rows_of(app).index(ref)
    while table.cursor_row != position:
        await pilot.press("j" if table.cursor_row < position else "k")
    await idle(pilot)
    view = dashboard(app).view
    assert table.highlighted_saga is not None and table.highlighted_saga.ref == ref
    assert view is not None and view.ref == ref


def read_detail(paths: list[Path], ref: SagaRef) -> SagaDetail:
    """The saga `ref` with its steps, read apart from the app through the same view."""
    with MergedSource.open(paths) as source:
        detail = source.saga(ref.saga_id, ref.source)
    assert detail is not None
    return detail


# -- copy: two logs holding saga 1 -------------------------------------------------------------


@pytest.fixture
def pair(tmp_path: Path) -> list[Path]:
    """Two launcher logs, both holding saga 1 (and only it): A's a window cleanup of window
    `from-a`, B's a pool respawn (another name, other steps, another input)."""
    return [log_in(tmp_path, "stable/0.41.2", LAUNCHER, [cleanup_saga(1, at=0, label="from-a")]),
            log_in(tmp_path, "stable/0.42.0", LAUNCHER, [respawn_saga(1, at=5)])]


@pytest.fixture
def terminal(clipboard: list[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A terminal with a clipboard (whatever runs the tests); copies caught in `clipboard`."""
    for name in (CLIPBOARD_SETTING, "TERM_PROGRAM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    return clipboard


async def copied_by(pilot: Pilot, clipboard: list[str], *keys: str) -> str:
    """Press `keys`; the one text they copied."""
    before = len(clipboard)
    await press(pilot, *keys)
    await wait_for(pilot, lambda: len(clipboard) > before, f"a copy from {keys}")
    assert len(clipboard) == before + 1
    return clipboard[-1]


@pilot_test
async def test_each_colliding_saga_copies_its_own_json_summary_and_payloads(
    pair: list[Path], terminal: list[str],
) -> None:
    app = make_app(pair)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        a, b = labels(app)
        assert rows_of(app) == [SagaRef(b, 1), SagaRef(a, 1)]  # newest start first
        names = {a: CLEANUP, b: RESPAWN}
        for ref in (SagaRef(a, 1), SagaRef(b, 1), SagaRef(a, 1)):  # away and back again
            other = b if ref.source == a else a
            await highlight(pilot, app, ref)
            detail = read_detail(pair, ref)
            assert detail.saga.name == names[ref.source]

            # Y: the whole saga as JSON, naming its log.
            whole = await copied_by(pilot, terminal, "Y")
            assert whole == sanitize(strict_json(detail_to_dict(detail), indent=2),
                                     multiline=True)
            value = json.loads(whole)
            assert (value["source"], value["source_path"]) == (ref.source,
                                                               str(pair[labels(app).index(
                                                                   ref.source)]))
            assert value["saga_id"] == 1 and value["name"] == names[ref.source]
            assert [step["name"] for step in value["steps"]] == [
                step.name for step in detail.steps]
            assert notes[-1][1].startswith(f"copied saga {ref.source}:1 as JSON to the ")

            # c: the triage summary, its first line naming the log.
            summary = await copied_by(pilot, terminal, "c")
            assert summary == sanitize(f"log: {ref.source}\n{explain_text(detail, NOW)}",
                                       multiline=True)
            assert summary.splitlines()[0] == f"log: {ref.source}"
            assert names[ref.source] in summary and names[other] not in summary
            assert notes[-1][1].startswith(f"copied the triage summary of saga {ref.source}:1")

            # y on the table: the saga's input.
            saga_input = await copied_by(pilot, terminal, "y")
            assert saga_input == sanitize(pretty_json(json.loads(detail.saga.input_json or "")),
                                          multiline=True)
            assert notes[-1][1].startswith(f"copied the input of saga {ref.source}:1 to the ")

            # y on a focused payload: the steps, then the highlighted step's cmd block.
            await press(pilot, "enter")
            steps = dashboard(app).query_one(StepList)
            step = detail.steps[steps.cursor_row]
            await press(pilot, "enter")
            assert isinstance(app.focused, PayloadBlock) and app.focused.label == "cmd"
            cmd = await copied_by(pilot, terminal, "y")
            assert cmd == pretty_json(json.loads(step.cmd_json or ""))
            assert json.loads(cmd)["cmd"] == {a: "reap_panes", b: "spawn_pool_window"}[
                ref.source]
            await press(pilot, "escape", "escape")  # the payload, the steps: back to the table
            assert app.focused is table_of(app)


@pytest.mark.parametrize(("keys", "holds"), [
    (("enter", "enter", "y"), "spawn_pool_window"),  # a focused payload block
    (("enter", "enter", "o", "y"), "spawn_pool_window"),  # that payload, full screen
    (("x", "c"), "summary"),  # the triage screen
], ids=["payload-block", "payload-screen", "triage-screen"])
@pilot_test
async def test_a_copy_to_a_file_avoids_the_folder_of_its_own_sagas_log(
    pair: list[Path], clipboard: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    keys: tuple[str, ...], holds: str,
) -> None:
    """The second log's saga: a copy that goes to a file (the setting says file) must not
    land in that log's folder, even when the state folder is there (not the first log's).
    These copies name no log themselves: the shown saga's is the one to avoid."""
    monkeypatch.setenv(CLIPBOARD_SETTING, "file")
    _, second = pair
    monkeypatch.setenv("XDG_STATE_HOME", str(second.parent))  # the state folder: B's
    elsewhere = tmp_path / "tmp"
    elsewhere.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(elsewhere))
    app = make_app(pair)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        _, b = labels(app)
        await highlight(pilot, app, SagaRef(b, 1))
        await press(pilot, *keys)
        await pilot.app.workers.wait_for_complete()
        await idle(pilot)
    assert clipboard == []
    beside = [p.name for p in second.parent.iterdir() if not p.name.startswith(second.name)]
    assert beside == []  # nothing beside B's log but SQLite's own -wal and -shm
    [folder] = elsewhere.iterdir()
    [written] = folder.iterdir()
    text = written.read_text()
    if holds == "summary":
        assert RESPAWN in text and CLEANUP not in text  # B's saga summarised
    else:
        assert json.loads(text)["cmd"] == holds


# -- export: every saga of both logs, once, each with its own log ------------------------------


@pytest.fixture
def tied(tmp_path: Path) -> list[Path]:
    """Three logs, each starting at id 1, with start times that tie: A:1 and B:1 start at
    the same instant, as do A:2, A:3 and B:2; C is a server log."""
    return [
        log_in(tmp_path, "stable/0.41.2", LAUNCHER, [
            cleanup_saga(1, at=0, label="a-one"), cleanup_saga(2, at=10, label="a-two"),
            cleanup_saga(3, at=10, label="a-three")]),
        log_in(tmp_path, "stable/0.42.0", LAUNCHER, [
            respawn_saga(1, at=0), respawn_saga(2, at=10), respawn_saga(3, at=30)]),
        log_in(tmp_path, "stable/0.42.0/server", SERVER, [
            tear_off_tab_saga(1, at=20), tear_off_tab_saga(2, at=40)]),
    ]


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current folder, where exports go by default."""
    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def expected_export(paths: list[Path], query: SagaQuery) -> list[dict[str, object]]:
    with MergedSource.open(paths) as source:
        return [json.loads(strict_json(saga_to_dict(saga))) for saga in source.walk(query)]


async def export_view(pilot: Pilot, app: SagaInspectorApp, fmt: str) -> Path:
    """Export the view with `e` to its default name in `fmt`; the file written."""
    screen = await open_export(pilot)
    if fmt == "csv":
        await pilot.click("#export-csv")
        await pilot.pause()
    name = str(screen.query_one("#export-path").value)  # type: ignore[attr-defined]
    assert name.endswith(f".{fmt}")
    assert "Writes the 8 sagas of this view" in screen_text(app)
    screen.query_one("#export-path").focus()
    await press(pilot, "enter")
    assert isinstance(app.screen, DashboardScreen)
    return Path(name).resolve()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pilot_test
async def test_export_holds_every_colliding_saga_once_with_its_own_log_in_view_order(
    tied: list[Path], out: Path, fmt: str,
) -> None:
    app = make_app(tied)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        a, b, c = labels(app)
        query = dashboard(app)._query()
        assert query.sort is SortOrder.STARTED
        written = await export_view(pilot, app, fmt)
        shown = rows_of(app)
    # Newest start first; a tie on the start by log (as given), then by id (newest first).
    order = [SagaRef(c, 2), SagaRef(b, 3), SagaRef(c, 1), SagaRef(a, 3), SagaRef(a, 2),
             SagaRef(b, 2), SagaRef(a, 1), SagaRef(b, 1)]
    assert shown == order
    expected = expected_export(tied, query)
    assert [SagaRef(str(s["source"]), int(str(s["saga_id"]))) for s in expected] == order
    path_of = dict(zip((a, b, c), (str(path) for path in tied), strict=True))
    text = written.read_text(encoding="utf-8")
    if fmt == "jsonl":
        lines = [json.loads(line) for line in text.splitlines()]
        assert lines == expected
        for line in lines:
            assert line["source_path"] == path_of[str(line["source"])]
    else:
        rows = list(csv.reader(io.StringIO(text)))
        assert tuple(rows[0]) == CSV_COLUMNS
        got = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]
        assert [SagaRef(row["source"], int(row["saga_id"])) for row in got] == order
        assert [row["name"] for row in got] == [str(s["name"]) for s in expected]
        assert [row["input_json"] for row in got] == [s["input_json"] for s in expected]
    assert out in written.parents


# -- a log newer than this tool knows, among good ones ----------------------------------------


def user_version(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


@pilot_test
async def test_a_newer_log_among_good_ones_is_named_shown_read_compatible_and_untouched(
    tmp_path: Path,
) -> None:
    paths = [
        log_in(tmp_path, "stable/0.41.2", LAUNCHER, [cleanup_saga(1, at=0),
                                                     cleanup_saga(2, at=10)]),
        log_in(tmp_path, "nightly/0.50.0", LAUNCHER, [respawn_saga(1, at=5)], user_version=2),
        log_in(tmp_path, "stable/0.42.0/server", SERVER, [tear_off_tab_saga(1, at=20)]),
    ]
    app = make_app(paths)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        good, newer, server = labels(app)
        banner = dashboard(app).query_one(WarningBanner)
        said = str(banner.render())
        assert banner.display and banner.has_class("-newer")
        first = said.splitlines()[0]  # the newer build's warning first, named by its log
        assert newer in first and "user_version=2 is above 1" in first
        assert "written by a newer launcher build" in first
        assert first.endswith("it is shown read-compatible")
        assert good not in said and server not in said  # nothing to say about those
        header = next(line for line in screen_text(app).splitlines() if "3 logs" in line)
        assert f"newer than this tool: {newer}" in header
        assert sorted(rows_of(app)) == sorted([SagaRef(good, 1), SagaRef(good, 2),
                                               SagaRef(newer, 1), SagaRef(server, 1)])
        assert table_of(app).total == 4
        await highlight(pilot, app, SagaRef(good, 2))  # the others go on
        await highlight(pilot, app, SagaRef(newer, 1))
    assert [user_version(path) for path in paths] == [1, 2, 1]


# -- store: one log's read never holds another log's snapshot open ----------------------------


T = TypeVar("T")
WATCHED = ("first_page", "start_keys", "start_bounds", "sagas", "sagas_in_order", "oldest",
           "counts", "count", "count_before", "key_columns")


def open_transactions(store: SagaStore) -> list[str]:
    """Which of the store's connections are inside a transaction now."""
    held = []
    if store._conn.in_transaction:
        held.append("reads")
    if store._scan_conn is not None and store._scan_conn.in_transaction:
        held.append("scans")
    return held


class Watch:
    """Wraps the member stores' reads: at each call, no OTHER member may be inside a
    transaction, unless a read of it is under way on another thread (logs read side by side
    each hold their own short snapshot); after each (but one inside the store's own
    snapshot), the member read must have let go of its own."""

    def __init__(self, source: MergedSource, monkeypatch: pytest.MonkeyPatch) -> None:
        self.source = source
        self.calls: list[tuple[str, str]] = []
        # (id(store), thread) -> reads of that store under way on that thread (a read may
        # call another, as first_page calls sagas_in_order)
        self.reading: Counter[tuple[int, int]] = Counter()
        self.lock = threading.Lock()
        self.stores = [member.store for member in source.members]
        assert all(store is not None for store in self.stores)
        for member in source.members:
            store = member.store
            assert store is not None
            for name in WATCHED:
                monkeypatch.setattr(store, name, self._wrap(member.tag.label, store, name))

    def held(self, but: SagaStore | None = None) -> dict[str, list[str]]:
        return {member.tag.label: found for member in self.source.members
                if member.store is not but and member.store is not None
                and not self._read_elsewhere(member.store)
                and (found := open_transactions(member.store))}

    def _read_elsewhere(self, store: SagaStore) -> bool:
        here = threading.get_ident()
        with self.lock:
            return any(count > 0 and key == id(store) and thread != here
                       for (key, thread), count in self.reading.items())

    def _reading(self, store: SagaStore, inside: bool) -> None:
        with self.lock:
            self.reading[id(store), threading.get_ident()] += 1 if inside else -1

    def _wrap(self, label: str, store: SagaStore, name: str) -> Callable[..., object]:
        original = getattr(store, name)

        def watched(*args: object, **kwargs: object) -> object:
            others = self.held(but=store)
            assert not others, f"{label}.{name} called while {others} hold a transaction"
            self.calls.append((label, name))
            inner = bool(open_transactions(store))  # a read inside this store's own snapshot
            self._reading(store, True)
            try:
                result = original(*args, **kwargs)
            finally:
                self._reading(store, False)
            if not inner:
                assert not open_transactions(store), f"{label}.{name} left its transaction open"
            return result

        return watched

    def called(self) -> set[str]:
        return {name for _, name in self.calls}

    def labels_called(self) -> set[str]:
        return {label for label, _ in self.calls}


def scan_connection_opener(path: Path, **options: object) -> SagaStore:
    """SagaStore.open as for one log: a second connection for long scans (not lean, whatever
    the view asks)."""
    options.pop("lean", None)
    return SagaStore.open(path, **options)  # type: ignore[arg-type]


@pytest.fixture(params=["lean", "with-scan-connection"])
def three(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MergedSource]:
    """Three logs (two launcher, one server) of many sagas each, ids colliding."""
    paths = [
        log_in(tmp_path, "stable/0.41.2", LAUNCHER, mixed_sagas(23, first_id=1, id_step=1)),
        log_in(tmp_path, "stable/0.42.0", LAUNCHER, mixed_sagas(17, first_id=1, id_step=2,
                                                                 seed=3)),
        log_in(tmp_path, "stable/0.42.0/server", SERVER,
               [tear_off_tab_saga(n, at=n * 1.5) for n in range(1, 15)]),
    ]
    options = {} if request.param == "lean" else {"opener": scan_connection_opener}
    with MergedSource.open(paths, **options) as source:  # type: ignore[arg-type]
        scans = [member.store is not None and member.store._scan_conn is not None
                 for member in source.members]
        assert scans == [request.param != "lean"] * 3
        yield source


@pytest.mark.parametrize("sort", [SortOrder.STARTED, SortOrder.ID])
def test_reading_one_log_never_holds_another_logs_snapshot_open(
    three: MergedSource, sort: SortOrder, monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = three
    query, search = SagaQuery(sort=sort), SagaQuery(text="window", sort=sort)
    # The oracles, read before the watch.
    everything = [saga.ref for saga in source.walk(query)]
    keys = [query.key_of(saga) for saga in source.walk(query)]
    searched = [saga.ref for saga in source.walk(search)]
    assert len(everything) == 23 + 17 + 14 and 10 < len(searched) < len(everything)
    watch = Watch(source, monkeypatch)

    def step(what: str, result: T) -> T:
        held = watch.held()
        assert not held, f"after {what}: {held} left in a transaction"
        return result

    def refs(sagas: list[Saga]) -> list[SagaRef]:
        return [saga.ref for saga in sagas]

    first = step("the first page", source.sagas(query, limit=10))
    assert refs(first) == everything[:10]
    following = step("the next page", source.sagas(query, after=keys[9], limit=10))
    assert refs(following) == everything[10:20]
    back = step("the page before", source.sagas(query, before=keys[20], limit=10))
    assert refs(back) == everything[10:20]
    last = step("the last page", source.oldest(query, limit=10))
    assert refs(last) == everything[-10:]
    assert step("count_before", source.count_before(query, keys[17])) == 17
    assert step("counts", source.counts()).total == len(everything)
    assert step("count", source.count(query)) == len(everything)
    found = step("a search page", source.sagas(search, limit=10))
    assert refs(found) == searched[:10]
    assert step("the search's count", source.count(search)) == len(searched)
    assert step("page_keys", source.page_keys(query, stride=7)) == keys[::7]

    # The watch saw every log read, by the reads that make this sort's pages.
    assert watch.labels_called() == {member.tag.label for member in source.members}
    made_pages = ({"start_bounds", "start_keys", "sagas_in_order"}
                  if sort is SortOrder.STARTED else {"sagas", "oldest"})
    assert made_pages | {"counts", "count", "key_columns"} <= watch.called()


def test_the_watch_sees_a_snapshot_held_open(
    three: MergedSource, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check above can fail: a read of one log inside another log's snapshot is caught."""
    first, second, _ = (member.store for member in three.members)
    assert first is not None and second is not None
    Watch(three, monkeypatch)
    with first.snapshot():
        assert open_transactions(first) == ["reads"]
        with pytest.raises(AssertionError, match="hold a transaction"):
            second.counts()
    assert not open_transactions(first)
