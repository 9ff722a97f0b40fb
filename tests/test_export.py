"""Export: JSON lines keep the exact values, CSV is sanitised and guarded against formulas,
both stream page by page; `list --format` writes them from the command line."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from saga_inspector.export import (
    CSV_COLUMNS,
    ExportCancelled,
    csv_cell,
    export_to_file,
    format_of_name,
    jsonl_line,
    refused_destination,
    renamed_for,
    suffix_disagrees,
    write_sagas,
)
from saga_inspector.report import saga_to_dict
from saga_inspector.sanitize import is_safe
from saga_inspector.store import (
    PAGE_SIZE,
    ErrorKind,
    SagaQuery,
    SagaStore,
    SortOrder,
    StoreError,
)
from saga_inspector.store.merged import MergedSource

from .factory import (
    HOSTILE,
    HOSTILE_SHOWN,
    LOOSE_DDL,
    SagaLogFactory,
    cleanup_saga,
    hostile_sagas,
    respawn_saga,
    ts,
)
from .helpers import RAW_CONTROLS, Run, page_reads, run

__all__ = ["run"]  # the CLI fixture, shared with test_cli.py

# Exact values JSON must carry through: a float's digits, an int beyond 64 bits, escapes,
# non-ASCII, and text that is not JSON at all.
TRICKY_INPUT = '{"closed_label":"caf\\u00e9 \\u001b[2J","n":1.10,"big":123456789012345678901234}'
FORMULAS = {"=HYPERLINK(\"http://x\",\"y\")": "'=HYPERLINK(\"http://x\",\"y\")",
            "+1+2": "'+1+2", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "plain": "plain"}


def read_jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture
def tricky_log(make_log: SagaLogFactory) -> Path:
    """Exact-value traps, formula starters and hostile text, one saga each."""
    sagas = [cleanup_saga(1, at=0), respawn_saga(2, "failed", at=10, reason="saga timeout")]
    sagas[0].input_json = TRICKY_INPUT
    sagas[1].input_json = "not json \x1b]0;t\x07"
    for n, formula in enumerate(FORMULAS, start=10):
        saga = cleanup_saga(n, "failed", at=10.0 * n, reason=formula)
        saga.name = formula
        sagas.append(saga)
    backwards = cleanup_saga(20, at=200)  # ended before it started: a negative duration
    backwards.ended_at = ts(190)
    sagas.append(backwards)
    return make_log([*sagas, *hostile_sagas()], ddl=LOOSE_DDL)


def all_sagas(path: Path) -> list[dict[str, object]]:
    # Through the view the CLI reads (MergedSource), so that `source` is the CLI's label.
    with MergedSource.open([path]) as source:
        return [saga_to_dict(saga) for saga in source.walk(SagaQuery())]


# -- JSON lines -------------------------------------------------------------------------------


def test_jsonl_round_trips_the_exact_values(run: Run, tricky_log: Path) -> None:
    result = run("list", tricky_log, "--limit", "0", "--format", "jsonl")
    assert result.code == 0
    lines = read_jsonl(result.out)
    assert lines == json.loads(json.dumps(all_sagas(tricky_log)))
    first = next(line for line in lines if line["saga_id"] == 1)
    assert first["input_json"] == TRICKY_INPUT  # the stored text itself, byte for byte
    assert first["input"] == {"closed_label": "café \x1b[2J", "n": 1.1,
                              "big": 123456789012345678901234}
    hostile = next(line for line in lines if line["saga_id"] == 7)
    assert hostile["failure_reason"] == HOSTILE  # escaped, never dropped or replaced
    assert result.out.isascii() and not any(c in result.out for c in RAW_CONTROLS)


def test_jsonl_is_what_list_jsonl_and_list_json_give(run: Run, tricky_log: Path) -> None:
    formatted = run("list", tricky_log, "--limit", "0", "--format", "jsonl").out
    assert run("list", tricky_log, "--limit", "0", "--jsonl").out == formatted
    assert read_jsonl(formatted) == run("list", tricky_log, "--limit", "0", "--json").json


# -- CSV --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "cell"), [
    *FORMULAS.items(),
    ("\tx", "'␉x"),  # a tab or a CR starts a formula: checked before the sanitiser shows it
    ("\r=1+1", "'␍=1+1"),
    ("x\t", "x␉"),
    ("\x1b=1", "␛=1"),  # not a formula start, here or in a spreadsheet
    ("\x1b[2J", "␛[2J"),
    (None, ""),
    (12, 12),
    (-3.5, -3.5),  # numbers the tool writes are never prefixed
])
def test_csv_cell(value: object, cell: object) -> None:
    assert csv_cell(value) == cell


def test_csv_is_sanitised_and_guarded(run: Run, tricky_log: Path) -> None:
    result = run("list", tricky_log, "--limit", "0", "--format", "csv")
    assert result.code == 0
    assert not any(c in result.out for c in RAW_CONTROLS)
    assert result.out.startswith(",".join(CSV_COLUMNS) + "\r\n")
    rows = {int(row["saga_id"]): row for row in read_csv(result.out)}
    assert sorted(rows) == sorted(s["saga_id"] for s in all_sagas(tricky_log))  # type: ignore[type-var]
    for n, (formula, guarded) in enumerate(FORMULAS.items(), start=10):
        assert rows[n]["name"] == guarded and rows[n]["failure_reason"] == guarded, formula
    assert rows[20]["duration_s"] == "-10.0"  # a number, not text: no quote mark
    assert rows[1]["input_json"] == TRICKY_INPUT  # safe text is kept as stored
    assert rows[2]["input_json"] == "not json ␛]0;t␇"
    hostile = rows[7]
    for shown in HOSTILE_SHOWN:
        assert shown in hostile["failure_reason"]
    for row in rows.values():
        assert all(is_safe(cell) for cell in row.values())
        assert not any(cell.startswith(("=", "+", "@")) for cell in row.values())


def test_csv_of_an_empty_view_is_its_header(run: Run, tricky_log: Path) -> None:
    result = run("list", tricky_log, "--state", "compensating", "--format", "csv")
    assert result.out == ",".join(CSV_COLUMNS) + "\r\n"


# -- the command line ---------------------------------------------------------------------------


def test_format_keeps_the_filters_and_the_limit(run: Run, tricky_log: Path) -> None:
    rows = read_csv(run("list", tricky_log, "--state", "failed", "--search", "HYPERLINK",
                        "--format", "csv").out)
    assert [row["saga_id"] for row in rows] == ["10"]
    lines = read_jsonl(run("list", tricky_log, "--limit", "2", "--format", "jsonl").out)
    assert [line["saga_id"] for line in lines] == [20, 14]


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "csv", "--jsonl"], "--jsonl is --format jsonl"),
    (["--format", "jsonl", "--json"], "not both"),
    (["--format", "csv", "--follow"], "--follow streams JSON lines"),
    (["--format", "xml"], "invalid choice"),
])
def test_format_conflicts_exit_2(run: Run, tricky_log: Path, args: list[str],
                                 message: str) -> None:
    result = run("list", tricky_log, *args)
    assert result.code == 2 and result.out == ""
    assert len(result.error_lines) == 1 and message in result.error_lines[0]


def test_help_names_the_formats(run: Run) -> None:
    assert "--format jsonl|csv" in run("list", "--help").out
    assert "--format jsonl|csv" in run("--help").out


# -- streaming ----------------------------------------------------------------------------------


class Recorder(io.StringIO):
    """An output that notes each record written (a page's records go in one write) among
    the store's page reads."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    def write(self, text: str) -> int:
        self.events += ["record"] * text.count("\n")
        return super().write(text)


def test_a_large_export_reads_page_by_page_as_it_writes(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_log.realistic(450)
    events: list[str] = []
    calls: list[dict[str, object]] = []
    original = SagaStore.sagas

    def spy(self: SagaStore, query: SagaQuery, **kwargs: object) -> object:
        events.append("page")
        calls.append(kwargs)
        return original(self, query, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SagaStore, "sagas", spy)
    out = Recorder(events)
    with SagaStore.open(path) as store:
        written = write_sagas(store.walk(SagaQuery()), out, "jsonl")
    assert written == 450 and len(out.getvalue().splitlines()) == 450
    # Keyset pages of PAGE_SIZE, each below the last id of the one before: never OFFSET,
    # never more than one page asked for at a time.
    after = [None if c["after"] is None else c["after"].saga_id for c in calls]  # type: ignore[attr-defined]
    assert after == [None, 351, 251, 151, 51]
    assert {c["limit"] for c in calls} == {PAGE_SIZE}
    # Each page is written before the next is read: one page in memory at a time.
    pages = [i for i, event in enumerate(events) if event == "page"]
    between = [events[a + 1:b].count("record") for a, b in itertools.pairwise(pages)]
    assert between == [PAGE_SIZE] * 4


@pytest.mark.parametrize("sort", [SortOrder.STARTED, SortOrder.DURATION])
def test_a_sorted_walk_reads_few_big_pages(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch, sort: SortOrder
) -> None:
    path = make_log.realistic(3 * PAGE_SIZE + 50)
    query = SagaQuery(sort=sort)
    with SagaStore.open(path) as store:
        expected = [saga.saga_id for saga in store.sagas(query, limit=10_000)]
        calls = page_reads(monkeypatch)
        walked = [saga.saga_id for saga in store.walk(query)]
        # Every sorted page is a scan of the whole view: one page, not four, reads them all.
        assert walked == expected and len(calls) == 1
        calls.clear()
        assert [s.saga_id for s in store.walk(query, 120)] == expected[:120]
        assert [c["limit"] for c in calls] == [120]


def test_a_cancelled_walk_raises_cancelled(make_log: SagaLogFactory,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_log.realistic(3 * PAGE_SIZE)
    cancel = threading.Event()
    with SagaStore.open(path) as store:
        calls = page_reads(monkeypatch)
        walk = store.walk(SagaQuery(), cancelled=cancel.is_set)
        first = [next(walk) for _ in range(PAGE_SIZE)]
        cancel.set()  # between two pages
        with pytest.raises(StoreError) as raised:
            next(walk)
        assert raised.value.kind is ErrorKind.CANCELLED and len(first) == PAGE_SIZE
        # The flag goes into each page's read too: it stops a scan part-way.
        assert [c["cancelled"] for c in calls] == [cancel.is_set]
        with pytest.raises(StoreError, match="cancelled"):
            list(store.walk(SagaQuery(sort=SortOrder.DURATION), cancelled=lambda: True))


def test_a_search_count_hands_its_flag_to_the_scan(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_log.realistic(2 * PAGE_SIZE)
    handed: list[object] = []
    original = SagaStore._cancellable

    def spy(self: SagaStore, conn: object, cancelled: object) -> object:
        handed.append(cancelled)
        return original(self, conn, cancelled)  # type: ignore[arg-type]

    def stop() -> bool:
        return False

    with SagaStore.open(path) as store:
        query = SagaQuery(text="cleanup")
        total = store.count(query)
        monkeypatch.setattr(SagaStore, "_cancellable", spy)
        # The flag becomes the statement's progress handler: True stops the scan part-way.
        assert store.count(query, cancelled=stop) == total > 0
    assert handed == [stop]


def test_progress_is_reported_every_page() -> None:
    seen: list[int] = []
    sagas = iter(cleanup_saga_models(250))
    assert write_sagas(sagas, io.StringIO(), "csv", progress=seen.append) == 250
    assert seen == [100, 200]


def cleanup_saga_models(count: int) -> Iterator[object]:
    from saga_inspector.store.models import Saga

    for n in range(count):
        yield Saga(n, "x", "completed", None, None, None, None)


# -- files --------------------------------------------------------------------------------------


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_export_to_file_is_private_and_whole(tmp_path: Path) -> None:
    destination = tmp_path / "out.jsonl"
    written = export_to_file(cleanup_saga_models(3), destination, "jsonl")  # type: ignore[arg-type]
    assert written == 3 and leftovers(tmp_path) == ["out.jsonl"]
    assert stat.S_IMODE(os.stat(destination).st_mode) == 0o600
    assert [json.loads(line)["saga_id"] for line in destination.read_text().splitlines()] == [
        0, 1, 2]


def test_a_cancelled_export_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    destination = tmp_path / "out.csv"
    destination.write_text("the previous export\n")
    seen: list[int] = []

    def cancelled() -> bool:
        return len(seen) >= 1  # after the first page

    with pytest.raises(ExportCancelled):
        export_to_file(cleanup_saga_models(500), destination, "csv",  # type: ignore[arg-type]
                       progress=seen.append, cancelled=cancelled)
    assert seen == [100]
    assert leftovers(tmp_path) == ["out.csv"]
    assert destination.read_text() == "the previous export\n"


def test_a_failed_read_leaves_no_partial_file(tmp_path: Path) -> None:
    def broken() -> Iterator[object]:
        yield from cleanup_saga_models(150)
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        export_to_file(broken(), tmp_path / "out.jsonl", "jsonl")  # type: ignore[arg-type]
    assert leftovers(tmp_path) == []


def test_the_saga_log_and_its_companions_are_refused(tmp_path: Path,
                                                      make_log: SagaLogFactory) -> None:
    log = make_log([cleanup_saga(1)], name="launcher-sagas.db")
    for name in ("launcher-sagas.db", "launcher-sagas.db-wal", "launcher-sagas.db-shm",
                 "launcher-sagas.db-journal"):
        assert "exports never write to it" in str(refused_destination(log.parent / name, log))
    link = tmp_path / "innocent.jsonl"
    link.symlink_to(log)
    assert refused_destination(link, log) is not None
    hard = tmp_path / "hard.jsonl"
    os.link(log, hard)
    assert refused_destination(hard, log) is not None
    assert refused_destination(log.parent / ".." / log.parent.name / log.name, log) is not None
    assert refused_destination(tmp_path, log) == "that is a folder: give a file name"
    assert refused_destination(tmp_path / "no" / "x.csv", log) == "no such folder"
    assert refused_destination(log.parent / "sagas.jsonl", log) is None


def test_through_a_symlink_the_real_files_companions_are_refused(
    tmp_path: Path, make_log: SagaLogFactory
) -> None:
    log = make_log([cleanup_saga(1)], name="launcher-sagas.db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = elsewhere / "alias.db"
    link.symlink_to(log)
    # SQLite keeps -wal and -shm beside the file the link resolves to.
    for companion in ("-wal", "-shm", "-journal"):
        real = log.with_name(log.name + companion)
        assert refused_destination(real, link) == (
            f"that is the saga log's {companion} file: exports never write to it")
    assert refused_destination(log, link) is not None
    assert refused_destination(link, link) is not None
    # Beside the link there is nothing of SQLite's.
    assert refused_destination(elsewhere / "alias.db-wal", link) is None


def test_a_name_no_file_can_have_is_refused_not_raised(make_log: SagaLogFactory) -> None:
    log = make_log([cleanup_saga(1)])
    assert refused_destination(log.parent / "a\0b.jsonl", log) == "not a usable file name"


def test_a_symlink_loop_as_destination_is_not_a_crash(tmp_path: Path,
                                                     make_log: SagaLogFactory) -> None:
    log = make_log([cleanup_saga(1)])
    loop = tmp_path / "loop.jsonl"
    loop.symlink_to(loop)
    assert refused_destination(loop, log) is None  # replacing the link itself is harmless


def test_jsonl_line_is_the_list_line() -> None:
    saga = next(iter(cleanup_saga_models(1)))
    assert jsonl_line(saga) == json.dumps(saga_to_dict(saga))  # type: ignore[arg-type]


def test_export_config_and_handoff_never_load_textual() -> None:
    """The CLI's export and the pure halves of copy and settings run without the TUI."""
    import subprocess
    import sys

    code = ("import sys, saga_inspector.export, saga_inspector.config, saga_inspector.handoff\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


# -- a file's name and its format ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "fmt"), [
    ("x.csv", "csv"), ("X.CSV", "csv"), ("x.jsonl", "jsonl"), ("x.json", "jsonl"),
    ("dir.csv/x.JSON", "jsonl"), ("x.txt", None), ("x", None), ("x.csv.gz", None),
])
def test_format_of_name(name: str, fmt: str | None) -> None:
    assert format_of_name(name) == fmt


@pytest.mark.parametrize(("name", "fmt", "renamed"), [
    ("x.jsonl", "csv", "x.csv"), ("x.json", "csv", "x.csv"), ("x.CSV", "jsonl", "x.jsonl"),
    ("x.csv", "csv", "x.csv"), ("x.txt", "csv", "x.txt"), ("x", "jsonl", "x"),
])
def test_renamed_for_changes_only_the_other_formats_extension(name: str, fmt: str,
                                                              renamed: str) -> None:
    assert renamed_for(name, fmt) == renamed


def test_one_format_is_never_written_under_the_others_extension(tmp_path: Path) -> None:
    assert suffix_disagrees("x.csv", "jsonl") == (
        "a name ending in .csv is for CSV, not JSON lines: change the name or the format")
    assert suffix_disagrees("x.txt", "jsonl") is None
    assert suffix_disagrees("x.json", "jsonl") is None
    for name, fmt in (("x.csv", "jsonl"), ("x.JSONL", "csv"), ("x.json", "csv")):
        with pytest.raises(ValueError, match="change the name or the format"):
            export_to_file(iter([]), tmp_path / name, fmt)
    assert leftovers(tmp_path) == []
