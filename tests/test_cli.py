"""The command line: every command in text and JSON, exit codes, bad files, discovery, safety."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from saga_inspector import cli
from saga_inspector.demo import REASON_RESTART_RUNNING, REASON_TIMEOUT
from saga_inspector.report import format_duration, format_time
from saga_inspector.store import (
    PAGE_SIZE,
    SagaStore,
    SortKey,
    parse_timestamp,
)
from saga_inspector.store.formats import LAUNCHER, LogFormat
from saga_inspector.store.labels import source_labels

from .factory import (
    LOOSE_DDL,
    SagaLogFactory,
    cleanup_saga,
    recovered_saga,
    respawn_saga,
    ts,
)
from .helpers import RAW_CONTROLS, Run, bad_file, page_reads, run

# Each test also runs as on Windows: no os.geteuid, no pwd (see conftest.os_flavour).
pytestmark = pytest.mark.usefixtures("os_flavour")

__all__ = ["run"]  # the CLI fixture, shared with test_export.py

SAGA_KEYS = ["saga_id", "name", "state", "started_at", "ended_at", "duration_s",
             "failure_reason", "input", "input_json", "steps_total", "steps_done", "source",
             "source_path"]
STEP_KEYS = ["step_index", "name", "state", "target", "started_at", "ended_at", "duration_s",
             "cmd", "cmd_json", "output", "output_json", "failure_reason", "in_flight", "role",
             "undoes", "best_effort"]
STATS_KEYS = ["database", "format", "schema_version", "known_schema_version",
              "newer_than_known", "counts", "total", "warnings", "sources"]


def keys_of(keys: list[str], log_format: LogFormat) -> list[str]:
    """A JSON document's keys in order: a server row's times are followed by their stored
    values (`started_at_raw`, `ended_at_raw`)."""
    if log_format is LAUNCHER:
        return keys
    return [name for key in keys
            for name in ((key, f"{key}_raw") if key in ("started_at", "ended_at") else (key,))]
EVIL = "\x1b]0;pwned\x07 then \x1b[2J and \x9b31m and \u202egnp.exe"


# Tests that take `log` (or `log_format`) run once per format; make_log writes that format.

def utc_millis(seconds: float) -> str:
    """A server time (ms) as the JSON gives it: RFC 3339 UTC to the millisecond."""
    return parse_timestamp(ts(seconds)).value.isoformat(timespec="milliseconds")


def raw_millis(seconds: float) -> int:
    return int(parse_timestamp(ts(seconds)).value.timestamp() * 1000 // 1)


@pytest.fixture
def log(make_log: SagaLogFactory, log_format: LogFormat) -> Path:
    """Five sagas, oldest first: completed, failed, recovered, running, completed."""
    return make_log([
        cleanup_saga(1, at=0),
        respawn_saga(2, "failed", at=10, reason=REASON_TIMEOUT),
        recovered_saga(3, at=20),
        cleanup_saga(4, "running", at=30, drained=None, label="window-pool-" + "ab" * 16),
        respawn_saga(5, at=40),
    ])


@pytest.fixture
def no_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder with no saga logs in it (discovery must not find the real ones)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def ids_in_text(out: str) -> list[int]:
    """The first column of `list`'s table (the rows end at the first blank line)."""
    rows = out.split("\n\n")[0].splitlines()[1:]
    return [int(row.split()[0]) for row in rows]


# -- help ------------------------------------------------------------------------------------


def test_main_help_lists_every_form(run: Run) -> None:
    result = run("--help")
    assert result.code == 0
    for form in ("saga-inspector [PATH...] [--pick] [--demo]", "saga-inspector demo PATH",
                 "saga-inspector stats [PATH...] [--json]",
                 "saga-inspector list [PATH...] [--state S]... [--search TEXT] [--limit N] "
                 "[--json]",
                 "saga-inspector show [PATH...] [SOURCE:]SAGA_ID [--json]", "exit codes"):
        assert form in result.out


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_each_command_has_help(run: Run, command: str) -> None:
    result = run(command, "--help")
    assert result.code == 0
    assert f"saga-inspector {command}" in result.out


def test_list_help_documents_the_attention_shortcut(run: Run) -> None:
    out = " ".join(run("list", "--help").out.split())
    assert "'attention' means compensating, failed, failed_compensation, running" in out


def test_version(run: Run) -> None:
    result = run("--version")
    assert result.code == 0
    assert result.out.startswith("saga-inspector 0.")


# -- demo ------------------------------------------------------------------------------------


def test_demo_writes_a_log_with_every_state(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    result = run("demo", path)
    assert result.code == 0
    assert str(path) in result.out
    stats = run("stats", path, "--json").json
    assert stats["total"] == 320
    # Every state the launcher writes (counts list them all, 0 when absent) is present.
    assert len(stats["counts"]) == 5 and all(n > 0 for n in stats["counts"].values())


def test_demo_never_overwrites(run: Run, log: Path) -> None:
    before = log.read_bytes(), log.stat().st_mtime_ns
    result = run("demo", log)
    assert result.code == 2
    assert result.error_lines == [
        f"saga-inspector: error: {log} already exists; the demo is only written to a new file"
    ]
    assert (log.read_bytes(), log.stat().st_mtime_ns) == before


def test_demo_into_a_missing_folder_is_an_error(run: Run, tmp_path: Path) -> None:
    result = run("demo", tmp_path / "no" / "such" / "demo.db")
    assert result.code == 2
    assert result.err.startswith("saga-inspector: error: ")
    assert "cannot write the demo log" in result.err


# -- stats -----------------------------------------------------------------------------------


def test_stats_json(run: Run, log: Path, log_format: LogFormat) -> None:
    result = run("stats", log, "--json")
    assert result.code == 0
    assert result.err == ""
    stats = result.json
    assert list(stats) == STATS_KEYS
    # every state the format writes, the server's compensated too
    counts = {**dict.fromkeys(log_format.saga_states, 0), "running": 1, "completed": 2,
              "failed": 1, "failed_compensation": 1}
    assert stats == {
        "database": str(log),
        "format": log_format.name,
        "schema_version": 1,
        "known_schema_version": 1,
        "newer_than_known": False,
        "counts": counts,
        "total": 5,
        "warnings": [],
        "sources": [{
            "source": source_labels([log])[0], "path": str(log), "status": "live",
            "format": log_format.name, "schema_version": 1, "newer_than_known": False,
            "total": 5, "counts": counts, "last_write": stats["sources"][0]["last_write"],
            "warnings": [], "error": None}],
    }
    assert list(stats["counts"]) == list(log_format.saga_states)
    written = datetime.fromisoformat(stats["sources"][0]["last_write"])
    assert written.utcoffset() == timedelta(0)
    assert abs(written.timestamp() - log.stat().st_mtime) < 0.001


def test_stats_json_names_the_format(run: Run, log: Path, log_format: LogFormat) -> None:
    assert run("stats", log, "--json").json["format"] == log_format.name


def test_stats_text(run: Run, log: Path, log_format: LogFormat) -> None:
    result = run("stats", log)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == f"database  {log}"
    assert lines[1] == f"format    {log_format.label}"
    assert lines[2] == "schema    1 (this tool knows 1)"
    assert lines[3] == "sagas     5 (3 need attention)"
    assert ("compensated              0" in lines) is (log_format is not LAUNCHER)
    assert "compensating             0  needs attention" in lines
    assert "completed                2" in lines
    assert "failed_compensation      1  needs attention" in lines


def test_stats_counts_unknown_states_as_found(run: Run, make_log: SagaLogFactory,
                                             log_format: LogFormat) -> None:
    path = make_log([cleanup_saga(1), respawn_saga(2, "paused"), respawn_saga(3, "paused")],
                    ddl=LOOSE_DDL)
    stats = run("stats", path, "--json").json
    assert stats["counts"]["paused"] == 2
    assert stats["counts"]["compensating"] == 0
    assert stats["total"] == 3
    assert "paused                   2  state unknown to this tool" in run("stats", path).out


# -- list ------------------------------------------------------------------------------------


def test_list_json_fields_and_values(run: Run, log: Path,
                                     log_format: LogFormat) -> None:
    result = run("list", log, "--json")
    assert result.code == 0
    sagas = result.json
    assert [s["saga_id"] for s in sagas] == [5, 4, 3, 2, 1]
    assert sagas[0]["duration_s"] == pytest.approx(0.41)
    running = sagas[1]
    assert (running["ended_at"], running["duration_s"]) == (None, None)
    expected = {
        "saga_id": 3,
        "name": "window_cleanup_cascade",
        "state": "failed_compensation",
        "started_at": ts(20),
        "ended_at": ts(20 + 4 * 3600),
        "duration_s": 4 * 3600.0,
        "failure_reason": REASON_RESTART_RUNNING,
        "input": {"closed_label": "main"},
        "input_json": '{"closed_label":"main"}',
        "steps_total": 2,
        "steps_done": 1,
        "source": source_labels([log])[0],
        "source_path": str(log),
    }
    assert all(list(s) == keys_of(SAGA_KEYS, log_format) for s in sagas)
    if log_format is LAUNCHER:
        assert sagas[2] == expected
        return
    # The same fields; times as RFC 3339 UTC to the millisecond, the stored ms kept in *_raw.
    assert {key: sagas[2][key] for key in SAGA_KEYS} == {
        **expected, "started_at": utc_millis(20), "ended_at": utc_millis(20 + 4 * 3600)}
    assert sagas[2]["started_at"] == "2026-06-02T14:05:43.481+00:00"
    assert (sagas[2]["started_at_raw"], sagas[2]["ended_at_raw"]) == (
        raw_millis(20), raw_millis(20 + 4 * 3600))


def test_list_text_is_aligned_newest_first(run: Run, log: Path) -> None:
    result = run("list", log)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["ID", "STATE", "NAME", "STARTED", "DURATION", "STEPS", "FAILURE"]
    assert ids_in_text(result.out) == [5, 4, 3, 2, 1]
    state_column = lines[0].index("STATE")
    assert [line[state_column:].split()[0] for line in lines[1:]] == [
        "completed", "running", "failed_compensation", "failed", "completed"]
    assert "4h 00m" in lines[3] and REASON_RESTART_RUNNING in lines[3]
    assert lines[2].rstrip().endswith("1/2")


@pytest.mark.parametrize("states", [
    ["--state", "failed", "--state", "running"],
    ["--state", "failed,running"],
    ["--state", "running,", "--state", " failed"],
])
def test_list_several_states(run: Run, log: Path, states: list[str]) -> None:
    assert [s["saga_id"] for s in run("list", log, *states, "--json").json] == [4, 2]
    assert ids_in_text(run("list", log, *states).out) == [4, 2]


def test_list_attention_shortcut(run: Run, log: Path) -> None:
    assert [s["saga_id"] for s in run("list", log, "--state", "attention", "--json").json] == [
        4, 3, 2]


def test_list_state_nobody_has_warns(run: Run, log: Path, log_format: LogFormat) -> None:
    result = run("list", log, "--state", "faild", "--json")
    assert result.code == 0
    assert result.json == []
    known = ", ".join(sorted(log_format.saga_states))  # the server's compensated too
    assert result.error_lines == [
        f"saga-inspector: warning: no saga has state 'faild' (known states: {known})"]
    assert run("list", log, "--state", "faild").out == "no sagas match\n"


@pytest.mark.parametrize(("text", "expected"), [
    ("window-pool-abab", [4]),        # input
    ('"closed_label":"main"', [3, 1]),  # input, as stored
    ("restarted", [3]),               # failure reason
    ("respawn", [5, 2]),              # name
    ("4", [4]),                       # id
    ("100%_", []),                    # LIKE wildcards are searched for literally
    ("nothing like this", []),
])
def test_list_search(run: Run, log: Path, text: str, expected: list[int]) -> None:
    assert [s["saga_id"] for s in run("list", log, "--search", text, "--json").json] == expected
    assert ids_in_text(run("list", log, "--search", text).out) == expected


def test_list_search_with_state(run: Run, log: Path) -> None:
    result = run("list", log, "--search", "main", "--state", "completed", "--json")
    assert [s["saga_id"] for s in result.json] == [1]


def test_list_limit_and_footer(run: Run, log: Path) -> None:
    assert [s["saga_id"] for s in run("list", log, "--limit", "2", "--json").json] == [5, 4]
    result = run("list", log, "--limit", "2")
    assert ids_in_text(result.out) == [5, 4]
    assert result.out.splitlines()[-1] == "showing the 2 newest of 5; --limit 0 shows all"
    assert "showing" not in run("list", log, "--limit", "5").out


def test_list_default_limit_is_fifty(run: Run, make_log: SagaLogFactory,
                                     log_format: LogFormat) -> None:
    path = make_log.realistic(120)
    sagas = run("list", path, "--json").json
    assert [s["saga_id"] for s in sagas] == list(range(120, 70, -1))


@pytest.fixture
def sagas_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Records how the CLI pages through the store."""
    return page_reads(monkeypatch)


def test_list_limit_zero_walks_every_page_by_keyset(
    run: Run, make_log: SagaLogFactory, sagas_calls: list[dict[str, object]],
    log_format: LogFormat,
) -> None:
    path = make_log.realistic(250)
    sagas = run("list", path, "--limit", "0", "--json").json
    assert [s["saga_id"] for s in sagas] == list(range(250, 0, -1))
    assert [(c["after"], c["limit"]) for c in sagas_calls] == [
        (None, PAGE_SIZE), (SortKey(151, 151), PAGE_SIZE), (SortKey(51, 51), PAGE_SIZE)]
    assert len(ids_in_text(run("list", path, "--limit", "0").out)) == 250


def test_list_limit_across_a_page_boundary(
    run: Run, make_log: SagaLogFactory, sagas_calls: list[dict[str, object]],
    log_format: LogFormat,
) -> None:
    path = make_log.realistic(250)
    sagas = run("list", path, "--limit", "150", "--json").json
    assert [s["saga_id"] for s in sagas] == list(range(250, 100, -1))
    assert [(c["after"], c["limit"]) for c in sagas_calls] == [
        (None, 100), (SortKey(151, 151), 50)]


def test_list_several_states_across_pages(run: Run, make_log: SagaLogFactory,
                                          log_format: LogFormat) -> None:
    path = make_log.realistic(320)
    counts = run("stats", path, "--json").json["counts"]
    sagas = run("list", path, "--state", "failed,completed", "--limit", "0", "--json").json
    ids = [s["saga_id"] for s in sagas]
    assert ids == sorted(set(ids), reverse=True)
    assert {s["state"] for s in sagas} == {"failed", "completed"}
    assert len(ids) == counts["failed"] + counts["completed"]


def test_list_of_an_empty_log(run: Run, make_log: SagaLogFactory, log_format: LogFormat) -> None:
    path = make_log([])
    assert run("list", path, "--json").json == []
    assert run("list", path).out == "no sagas in this file\n"


@pytest.mark.parametrize("limit", ["-1", "x", "1.5"])
def test_list_bad_limit(run: Run, log: Path, limit: str) -> None:
    result = run("list", log, "--limit", limit)
    assert result.code == 2
    assert len(result.error_lines) == 1
    assert result.error_lines[0].startswith("saga-inspector: error: argument --limit")


# -- show ------------------------------------------------------------------------------------


def test_show_json(run: Run, log: Path,
                   log_format: LogFormat) -> None:
    result = run("show", log, "3", "--json")
    assert result.code == 0
    saga = result.json
    assert saga["failure_reason"] == REASON_RESTART_RUNNING
    reap, drain = saga["steps"]
    assert drain["state"] == "pending"
    assert drain["in_flight"] is True
    assert (drain["ended_at"], drain["duration_s"], drain["output"], drain["output_json"]) == (
        None, None, None, None)
    assert list(saga) == [*keys_of(SAGA_KEYS, log_format), "steps"]
    assert [list(step) for step in saga["steps"]] == [keys_of(STEP_KEYS, log_format)] * 2
    launcher = log_format is LAUNCHER
    if not launcher:
        assert (reap.pop("started_at_raw"), reap.pop("ended_at_raw")) == (
            raw_millis(20.0003), raw_millis(20.03))
        assert (drain["started_at_raw"], drain["ended_at_raw"]) == (raw_millis(20.031), None)
    assert reap == {
        "step_index": 0,
        "name": "issue_cmd_host_reap_panes",
        "state": "succeeded",
        "target": "host" if launcher else None,  # the server has no target
        "started_at": ts(20.0003) if launcher else utc_millis(20.0003),
        "ended_at": ts(20.03) if launcher else utc_millis(20.03),
        "duration_s": pytest.approx(0.0297 if launcher else 0.030, abs=1e-9),
        "cmd": {"cmd": "reap_panes", "label": "main", "saga_id": 0},
        "cmd_json": '{"cmd":"reap_panes","label":"main","saga_id":0}',
        "output": {"event": "panes_reaped", "label": "main", "version": 1231, "saga_id": 3},
        "output_json": '{"event":"panes_reaped","label":"main","version":1231,"saga_id":3}',
        "failure_reason": None,
        "in_flight": False,
        "role": "forward",
        "undoes": None,
        "best_effort": False,
    }


def test_show_text(run: Run, log: Path, log_format: LogFormat) -> None:
    result = run("show", log, "3")
    assert result.code == 0
    out = result.out
    assert out.startswith("saga 3  window_cleanup_cascade  failed_compensation\n")
    assert f"  failure   {REASON_RESTART_RUNNING}\n" in out
    assert '  input\n    {\n      "closed_label": "main"\n    }\n' in out
    reap, drain = out.split("\n\n")[1:]
    assert reap.startswith("  step 0  issue_cmd_host_reap_panes\n")
    assert "IN FLIGHT" not in reap and '"event": "panes_reaped"' in reap
    assert drain.startswith("  step 1  issue_cmd_host_drain_pool_if_last  <-- IN FLIGHT: "
                            "was in flight when the saga stopped\n")
    for line in ("    state     pending", "    ended     —",
                 "    output    —", '        "cmd": "drain_pool_if_last",'):
        assert line in drain.splitlines()
    if log_format is LAUNCHER:
        assert "    target    host" in drain.splitlines()
    else:
        # the server has no target: no target line at all
        assert not [line for line in drain.splitlines() if line.startswith("    target")]


def test_show_completed_saga_has_no_step_in_flight(run: Run, log: Path) -> None:
    assert "IN FLIGHT" not in run("show", log, "1").out
    assert not any(step["in_flight"] for step in run("show", log, "1", "--json").json["steps"])


def test_show_unknown_id_exits_1(run: Run, log: Path) -> None:
    for extra in ([], ["--json"]):
        result = run("show", log, "99", *extra)
        assert result.code == 1
        assert result.out == ""
        assert result.err == f"saga-inspector: error: no saga with id 99 in {log}\n"


def test_show_id_beyond_64_bits_is_not_found(run: Run, log: Path) -> None:
    assert run("show", log, str(2**70)).code == 1


@pytest.mark.parametrize("operands", [["abc"], ["DB", "1", "2"], []])
def test_show_usage_errors(run: Run, log: Path, operands: list[str]) -> None:
    result = run("show", *[str(log) if o == "DB" else o for o in operands])
    assert result.code == 2
    assert len(result.error_lines) == 1
    assert result.error_lines[0].startswith("saga-inspector: error: ")


def test_show_payload_that_is_not_json(run: Run, make_log: SagaLogFactory,
                                       log_format: LogFormat) -> None:
    table = log_format.saga_table
    path = make_log([cleanup_saga(1)], sql=[
        f"UPDATE {table} SET input_json = '{{not json' WHERE saga_id = 1",
        f"UPDATE {table} SET started_at = 'yesterday' WHERE saga_id = 1",
    ])
    saga = run("show", path, "1", "--json").json
    assert (saga["input"], saga["input_json"]) == (None, "{not json")
    assert (saga["started_at"], saga["duration_s"]) == ("yesterday", None)
    out = run("show", path, "1").out
    assert "  input     {not json\n" in out
    assert "(not valid JSON: " in out
    assert '  started   unparsed: "yesterday"\n' in out


def test_show_lists_extra_columns(run: Run, make_log: SagaLogFactory,
                                  log_format: LogFormat) -> None:
    table = log_format.saga_table
    path = make_log([recovered_saga(1)], sql=[
        f"ALTER TABLE {table} ADD COLUMN attempt INTEGER",
        f"UPDATE {table} SET attempt = 7",
    ])
    assert "  attempt   7\n" in run("show", path, "1").out
    assert "attempt" not in run("show", path, "1", "--json").json


# -- bad files -------------------------------------------------------------------------------


BAD_KINDS = ["missing", "folder", "empty", "text", "truncated", "no saga tables"]
READING_COMMANDS = [["stats"], ["stats", "--json"], ["list"], ["list", "--json"],
                    ["show", "DB", "1"], ["show", "DB", "1", "--json"]]


@pytest.mark.parametrize("kind", BAD_KINDS)
@pytest.mark.parametrize("command", READING_COMMANDS, ids=" ".join)
def test_bad_files_exit_2_with_one_error_line(
    run: Run, make_log: SagaLogFactory, kind: str, command: list[str]
) -> None:
    path = bad_file(kind, make_log)
    argv = [str(path) if part == "DB" else part for part in command]
    if "DB" not in command:
        argv.insert(1, str(path))
    result = run(*argv)
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert result.err.startswith(f"saga-inspector: error: {path}: ")
    assert "Traceback" not in result.err


def test_bad_file_messages_say_what_is_wrong(run: Run, make_log: SagaLogFactory) -> None:
    said = {kind: run("stats", bad_file(kind, make_log)).err for kind in BAD_KINDS}
    assert "no such file" in said["missing"]
    assert "is a folder" in said["folder"]
    assert "empty file" in said["empty"]
    assert "not a SQLite database" in said["text"]
    assert "damaged or truncated" in said["truncated"]
    # neither format: what it found, and both formats it knows
    assert "something_else" in said["no saga tables"]
    assert all(name in said["no saga tables"] for name in ("launcher saga log",
                                                           "server saga log"))


@pytest.mark.parametrize("kind", ["text", "no saga tables", "missing"])
def test_bad_files_in_a_real_process(make_log: SagaLogFactory, kind: str) -> None:
    path = bad_file(kind, make_log)
    result = subprocess.run([sys.executable, "-m", "saga_inspector", "list", str(path), "--json"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"saga-inspector: error: {path}: ")
    assert result.stderr.count("\n") == 1


def test_a_real_process_end_to_end(log: Path, log_format: LogFormat) -> None:
    def cli_process(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "saga_inspector", *argv],
                              capture_output=True, text=True, timeout=60, check=False)

    shown = cli_process("show", str(log), "3", "--json")
    assert (shown.returncode, shown.stderr) == (0, "")
    assert json.loads(shown.stdout)["steps"][1]["in_flight"] is True
    missing = cli_process("show", str(log), "42")
    assert (missing.returncode, missing.stdout) == (1, "")
    usage = cli_process("list", str(log), "--limit", "lots")
    assert usage.returncode == 2
    for result in (shown, missing, usage):
        assert "Traceback" not in result.stderr


# -- untrusted text --------------------------------------------------------------------------


@pytest.fixture
def evil_log(make_log: SagaLogFactory, log_format: LogFormat) -> Path:
    """Escapes in a saga's input, name, state and reason; in a step's target (the launcher's)
    or its error (the server's: its output)."""
    evil_input = '{"closed_label":"\x1b]52;c;cHduZWQ=\x07\u202emain"}'
    table, steps = log_format.saga_table, log_format.step_table
    evil_step = ("SET target = 'ho\x1bst'" if log_format is LAUNCHER
                 else """SET state = 'failed', output_json = '{"error":"ho\\u001bst"}'""")
    return make_log([cleanup_saga(1), respawn_saga(2, "failed", reason=EVIL)], ddl=LOOSE_DDL,
                    sql=[f"UPDATE {table} SET input_json = '{evil_input}', "
                         f"name = 'evil\x1b[31m' WHERE saga_id = 1",
                         f"UPDATE {steps} {evil_step} WHERE saga_id = 1",
                         f"UPDATE {table} SET state = 'odd\x1b[5m' WHERE saga_id = 2"])


@pytest.mark.parametrize("command", [["stats"], ["list"], ["show", "DB", "1"],
                                     ["show", "DB", "2"]], ids=" ".join)
def test_control_characters_never_reach_text_output(
    run: Run, evil_log: Path, command: list[str]
) -> None:
    argv = [str(evil_log) if part == "DB" else part for part in command]
    if "DB" not in command:
        argv.insert(1, str(evil_log))
    result = run(*argv)
    assert result.code == 0
    for control in RAW_CONTROLS:
        assert control not in result.out
        assert control not in result.err


def test_failure_reason_is_shown_defused(run: Run, evil_log: Path) -> None:
    out = run("show", evil_log, "2").out
    assert "  failure   ␛]0;pwned␇ then ␛[2J and \\x9b31m and <U+202E>gnp.exe\n" in out
    assert "␛]0;pwned␇" in run("list", evil_log).out


def test_json_round_trips_control_characters_exactly(run: Run, evil_log: Path,
                                                     log_format: LogFormat) -> None:
    listed = run("list", evil_log, "--json")
    assert listed.out.isascii()
    by_id = {s["saga_id"]: s for s in listed.json}
    assert by_id[2]["failure_reason"] == EVIL
    assert by_id[2]["state"] == "odd\x1b[5m"
    assert by_id[1]["name"] == "evil\x1b[31m"
    assert by_id[1]["input"] == {"closed_label": "\x1b]52;c;cHduZWQ=\x07\u202emain"}
    shown = run("show", evil_log, "2", "--json")
    assert shown.out.isascii()
    assert shown.json["failure_reason"] == EVIL
    step = run("show", evil_log, "1", "--json").json["steps"][0]
    where = "target" if log_format is LAUNCHER else "failure_reason"
    assert step[where] == "ho\x1bst"
    stats = run("stats", evil_log, "--json")
    assert stats.out.isascii()
    assert stats.json["counts"]["odd\x1b[5m"] == 1


def test_text_that_is_not_utf8(run: Run, make_log: SagaLogFactory,
                               log_format: LogFormat) -> None:
    path = make_log([respawn_saga(1, "failed")], sql=[
        f"UPDATE {log_format.saga_table} SET failure_reason = "
        "CAST(X'626164ff1b5b324a' AS TEXT)"])
    assert run("list", path, "--json").json[0]["failure_reason"] == "bad\\xff\x1b[2J"
    out = run("list", path).out
    assert "bad\\xff␛[2J" in out
    assert "\x1b" not in out


def test_an_escape_in_a_path_is_defused_in_errors(run: Run, tmp_path: Path) -> None:
    result = run("stats", tmp_path / "\x1b]0;pwned\x07.db")
    assert result.code == 2
    assert "\x1b" not in result.err and "␛]0;pwned␇.db" in result.err


# -- tripwire ----------------------------------------------------------------------------------


@pytest.fixture
def newer_log(make_log: SagaLogFactory, log_format: LogFormat) -> Path:
    return make_log([cleanup_saga(1), recovered_saga(2)], user_version=2)


def test_tripwire_warns_on_stderr_in_text_mode(run: Run, newer_log: Path,
                                               log_format: LogFormat) -> None:
    # The server itself would refuse such a file: the warning says so.
    refuses = "" if log_format is LAUNCHER else " (the server itself would refuse to open it)"
    for argv in (["stats", newer_log], ["list", newer_log], ["show", newer_log, "2"]):
        result = run(*argv)
        assert result.code == 0
        assert result.error_lines == [
            "saga-inspector: warning: user_version=2 is above 1: this file was written by a "
            f"newer {log_format.writer} build{refuses}; it is shown read-compatible"]


def test_tripwire_in_stats_text_names_the_writer(run: Run,
                                                 newer_log: Path, log_format: LogFormat) -> None:
    assert f"2 (this tool knows 1): written by a newer {log_format.writer} build" in run(
        "stats", newer_log).out


def test_tripwire_goes_into_stats_json(run: Run, newer_log: Path, log_format: LogFormat) -> None:
    result = run("stats", newer_log, "--json")
    assert result.err == ""
    stats = result.json
    assert (stats["schema_version"], stats["known_schema_version"],
            stats["newer_than_known"]) == (2, 1, True)
    assert len(stats["warnings"]) == 1
    assert f"newer {log_format.writer} build" in stats["warnings"][0]


def test_tripwire_keeps_list_and_show_json_pure(run: Run, newer_log: Path,
                                                log_format: LogFormat) -> None:
    """Their documents have no "warnings" field: the warning goes to stderr instead."""
    newer = f"newer {log_format.writer} build"
    listed = run("list", newer_log, "--json")
    assert [s["saga_id"] for s in listed.json] == [2, 1]
    assert newer in listed.err
    shown = run("show", newer_log, "2", "--json")
    assert shown.json["saga_id"] == 2 and newer in shown.err


# -- --demo ------------------------------------------------------------------------------------


def test_demo_flag_everywhere_a_db_is_expected(run: Run, no_home: Path) -> None:
    stats = run("stats", "--demo", "--json").json  # the demo fleet: three logs
    assert stats["total"] == 480 and len(stats["sources"]) == 3
    # the temporary folder is gone after the run
    assert not any(Path(source["path"]).exists() for source in stats["sources"])
    listed = run("list", "--demo", "--state", "failed_compensation", "--limit", "1", "--json")
    assert [s["state"] for s in listed.json] == ["failed_compensation"]
    ref = f"{listed.json[0]['source']}:{listed.json[0]['saga_id']}"
    shown = run("show", "--demo", ref, "--json").json
    assert any(step["in_flight"] for step in shown["steps"])
    assert "IN FLIGHT" in run("show", ref, "--demo").out


def test_demo_flag_and_a_db_conflict(run: Run, log: Path) -> None:
    result = run("stats", log, "--demo")
    assert result.code == 2
    assert result.err == "saga-inspector: error: give DB or --demo, not both\n"


# -- discovery ---------------------------------------------------------------------------------


def place_log(home: Path, relative: str, source: Path, mtime: float) -> Path:
    path = home / ".agentmux" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, path)
    os.utime(path, (mtime, mtime))
    return path


VERSIONED = "channels/{}/versions/{}/data/db/launcher-sagas.db"


@pytest.fixture
def two_logs(no_home: Path, make_log: SagaLogFactory) -> tuple[Path, Path]:
    """An old legacy log with one saga, a newer versioned one with two."""
    old = place_log(no_home, "launcher-sagas.db", make_log([cleanup_saga(1)]), 1_000_000)
    new = place_log(no_home, VERSIONED.format("stable", "0.40.1"),
                    make_log([cleanup_saga(1), recovered_saga(2)]), 2_000_000)
    return old, new


def test_no_log_found(run: Run, no_home: Path) -> None:
    result = run("stats")
    assert result.code == 2
    assert result.err.startswith("saga-inspector: error: no saga log found in ~/.agentmux/")
    assert "--demo" in result.err and result.err.count("\n") == 1


def test_no_log_found_names_the_moved_data_folder_too(
    run: Run, no_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTMUX_DATA_DIR", str(tmp_path / "moved"))
    result = run("stats")
    assert result.error_lines == [
        f"saga-inspector: error: no saga log found in {tmp_path / 'moved' / 'launcher-sagas.db'} "
        f"or {tmp_path / 'moved' / VERSIONED.replace('{}', '*')} ($AGENTMUX_DATA_DIR), nor in "
        "~/.agentmux/launcher-sagas.db or ~/.agentmux/channels/*/versions/*/data/db/"
        "launcher-sagas.db (or sagas.db beside it); give its path, or try --demo"]


def test_a_log_in_the_moved_data_folder_is_found(
    run: Run, no_home: Path, tmp_path: Path, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved = tmp_path / "moved"
    found = place_log(moved, VERSIONED.format("stable", "0.40.1"), log, 1_000_000)
    monkeypatch.setenv("AGENTMUX_DATA_DIR", str(moved / ".agentmux"))
    result = run("stats", "--json")
    assert (result.code, result.err) == (0, "")
    assert result.json["database"] == str(found)


def test_one_log_found_is_used(run: Run, no_home: Path, log: Path) -> None:
    found = place_log(no_home, VERSIONED.format("beta", "0.41.0"), log, 1_000_000)
    result = run("stats", "--json")
    assert (result.code, result.err) == (0, "")
    assert result.json["database"] == str(found)
    assert run("show", "3", "--json").json["saga_id"] == 3


def test_several_found_are_all_read_together(
    run: Run, two_logs: tuple[Path, Path]
) -> None:
    """Issue 14: without PATH every log in the data folders is read as one view (--pick
    still chooses one)."""
    old, new = two_logs
    result = run("stats", "--json")
    assert (result.code, result.err) == (0, "")
    assert result.json["database"] is None
    assert result.json["total"] == 3
    # by path: channels/... sorts before launcher-sagas.db
    assert [source["path"] for source in result.json["sources"]] == [str(new), str(old)]
    assert [source["total"] for source in result.json["sources"]] == [2, 1]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_pick_asks_on_the_terminal(
    run: Run, two_logs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    old, _new = two_logs
    monkeypatch.setattr(sys, "stdin", FakeTerminal("7\nzwei\n2\n"))
    result = run("stats", "--pick", "--json")
    assert result.code == 0
    assert result.json["database"] == str(old)
    assert result.err.count("type a number from 1 to 2") == 2


def test_pick_enter_takes_the_newest(
    run: Run, two_logs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", FakeTerminal("\n"))
    assert run("stats", "--pick", "--json").json["database"] == str(two_logs[1])


def test_pick_without_an_answer(
    run: Run, two_logs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", FakeTerminal(""))
    result = run("list", "--pick")
    assert result.code == 2
    assert result.error_lines == ["saga-inspector: error: no saga log chosen"]


def test_pick_needs_a_terminal(
    run: Run, two_logs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("1\n"))
    result = run("stats", "--pick")
    assert result.code == 2
    assert result.out == ""
    assert result.error_lines[0].startswith("saga-inspector: error: --pick asks on a terminal")


# -- dashboard launch --------------------------------------------------------------------------


@pytest.fixture
def dashboard(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, bool]]:
    """A stand-in for the TUI: records the path (or, of several logs, the paths and their
    snapshot flags) it got, and whether it existed then."""
    opened: list[tuple[object, bool]] = []

    def run_dashboard(paths: list[Path], snapshots: list[bool] | None = None) -> int:
        if len(paths) == 1:
            opened.append((paths[0], paths[0].exists()))
        else:
            opened.append(((paths, snapshots), all(p.exists() for p in paths)))
        return 3

    fake = types.ModuleType("saga_inspector.tui")
    fake.run_dashboard = run_dashboard  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "saga_inspector.tui", fake)
    return opened


def test_dashboard_gets_the_db_and_its_exit_code(
    run: Run, log: Path, dashboard: list[tuple[Path, bool]]
) -> None:
    assert run(log).code == 3
    assert dashboard == [(log, True)]


def test_dashboard_on_a_demo_kept_alive_for_the_run(
    run: Run, dashboard: list[tuple[Path, bool]]
) -> None:
    assert run("--demo").code == 3
    [((paths, snapshots), existed)] = dashboard  # the demo fleet: three logs
    assert existed and [path.name for path in paths] == [
        "launcher-sagas.db", "launcher-sagas.db", "sagas.db"]
    assert snapshots == [False, False, False]
    assert not any(path.exists() for path in paths)


def test_dashboard_on_every_discovered_log(
    run: Run, two_logs: tuple[Path, Path], dashboard: list[tuple[object, bool]]
) -> None:
    run()
    old, new = two_logs
    assert dashboard == [(([new, old], [False, False]), True)]


def test_dashboard_on_a_missing_file_suggests_a_command(
    run: Run, dashboard: list[tuple[Path, bool]]
) -> None:
    result = run("lsit")
    assert result.code == 2
    assert result.err == ("saga-inspector: error: lsit: no such file; "
                          "did you mean `saga-inspector list`?\n")
    assert dashboard == []


def test_dashboard_unavailable_is_an_error_not_a_traceback(
    run: Run, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "saga_inspector.tui", None)
    result = run(log)
    assert result.code == 2
    assert result.err.startswith("saga-inspector: error: the dashboard cannot start")


def test_unknown_option_is_a_usage_error(run: Run) -> None:
    result = run("--jsn")
    assert result.code == 2
    assert result.error_lines == [
        "saga-inspector: error: unrecognized arguments: --jsn (see `saga-inspector --help`)"]


# -- interruptions -----------------------------------------------------------------------------


def test_ctrl_c_exits_130_quietly(
    run: Run, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(SagaStore, "counts", interrupted)
    result = run("stats", log)
    assert (result.code, result.out) == (130, "")
    assert "Traceback" not in result.err


def test_a_closed_pipe_ends_quietly(make_log: SagaLogFactory, log_format: LogFormat) -> None:
    """`saga-inspector list --limit 0 --json | head -c 10`: more output than a pipe holds."""
    path = make_log.realistic(3000)
    process = subprocess.Popen(
        [sys.executable, "-m", "saga_inspector", "list", str(path), "--limit", "0", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(10) == b'[\n{"saga_i'
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == cli.EXIT_BROKEN_PIPE
    assert stderr == ""


# -- read-only -------------------------------------------------------------------------------


def test_every_command_leaves_db_and_wal_untouched(run: Run, make_log: SagaLogFactory,
                                                   log_format: LogFormat) -> None:
    path = make_log.wal_only([cleanup_saga(1), recovered_saga(2), respawn_saga(3, "failed")])
    wal = path.with_name(path.name + "-wal")
    assert wal.stat().st_size > 0

    def fingerprint() -> list[tuple[bytes, int]]:
        return [(f.read_bytes(), f.stat().st_mtime_ns) for f in (path, wal)]

    before = fingerprint()
    for extra in ([], ["--json"]):
        assert run("stats", path, *extra).code == 0
        assert run("list", path, "--state", "failed,failed_compensation", *extra).code == 0
        assert run("list", path, "--search", "main", "--limit", "0", *extra).code == 0
        assert run("show", path, "2", *extra).code == 0
    assert fingerprint() == before
    assert [s["saga_id"] for s in run("list", path, "--json").json] == [3, 2, 1]


# -- formatting helpers (report.py, shared with the dashboard) ---------------------------------


@pytest.mark.parametrize(("duration", "text"), [
    (None, "—"),
    (timedelta(0), "0.0 ms"),
    (timedelta(microseconds=300), "0.3 ms"),
    (timedelta(microseconds=29_700), "30 ms"),
    (timedelta(microseconds=999_400), "999 ms"),
    (timedelta(microseconds=999_600), "1.00 s"),
    (timedelta(seconds=5, microseconds=10_000), "5.01 s"),
    (timedelta(seconds=59, microseconds=999_000), "1m 00s"),
    (timedelta(minutes=4, seconds=5), "4m 05s"),
    (timedelta(hours=4, minutes=19, seconds=2), "4h 19m"),
    (timedelta(days=2, hours=3), "2d 03h"),
    (timedelta(seconds=-5), "<start!"),  # never a negative length (describe_duration: words)
])
def test_format_duration(duration: timedelta | None, text: str) -> None:
    assert format_duration(duration) == text


@pytest.fixture
def utc_plus_two(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "TST-2")  # POSIX: two hours east of UTC, no tz database needed
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("utc_plus_two")
def test_format_time_is_local_to_the_millisecond_with_its_offset() -> None:
    assert format_time(parse_timestamp("2026-06-02T14:05:23.481526300+00:00")) == (
        "2026-06-02 16:05:23.481 +02:00")
    assert format_time(parse_timestamp("2026-06-02T23:59:59Z")) == (
        "2026-06-03 01:59:59.000 +02:00")


def test_format_time_keeps_what_does_not_parse_defused() -> None:
    assert format_time(None) == "—"
    assert format_time(parse_timestamp("soon\x1b[2J")) == 'unparsed: "soon␛[2J"'
    moment = datetime(2026, 6, 2, 12, 0, tzinfo=UTC)
    local = moment.astimezone()
    offset = local.strftime("%z")  # +0200: the shown form is +02:00
    assert format_time(parse_timestamp(moment.isoformat())) == (
        local.strftime("%Y-%m-%d %H:%M:%S.000 ") + f"{offset[:3]}:{offset[3:5]}")


@pytest.mark.parametrize("options", [("--format", "server"), ("--log-format", "server")])
def test_demo_with_the_servers_format_reads_the_servers_demo(run: Run,
                                                             options: tuple[str, str]) -> None:
    result = run("stats", "--demo", *options, "--json")
    stats = json.loads(result.out)
    assert result.code == 0 and stats["format"] == "server"
    assert stats["database"].endswith("sagas.db") and stats["counts"]["compensated"] > 0
    plain = run("stats", "--demo", "--format", "launcher", "--json")
    assert json.loads(plain.out)["format"] == "launcher"
    fleet = run("stats", "--demo", "--json")  # the demo fleet: both formats
    assert json.loads(fleet.out)["format"] == "launcher+server"


def test_a_qualifier_a_format_has_nothing_for_is_noted(run: Run) -> None:
    server = run("list", "--demo", "--log-format", "server", "--search", "target:host")
    assert server.code == 0 and server.out.strip() == "no sagas match"
    assert server.error_lines == [
        "saga-inspector: note: target: finds nothing in a server saga log: its steps store "
        "no target"]
    launcher = run("list", "--demo", "--search", "target:host", "--limit", "1")
    assert launcher.error_lines == []  # the launcher's steps have one
