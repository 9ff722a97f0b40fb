"""The command line over several saga logs (issue 14): PATH... of files and folders, ids that
collide across logs (every log starts at 1), `SOURCE:ID`, faults kept with their source, the
merged order, and `list --follow` over every log."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest

from saga_inspector.demo import REASON_TIMEOUT
from saga_inspector.store.formats import LAUNCHER, SERVER, LogFormat

from .factory import SagaLogFactory, cleanup_saga, insert_sagas, respawn_saga
from .helpers import RAW_CONTROLS, ROOT, Run, run
from .test_live_follow import FOLLOW, wait_for

__all__ = ["run"]

# (source, saga_id) of the fleet below, newest start first: ties (all three logs at 40 s)
# by source (the first by path ranks first: beta, then stable's launcher, then its server),
# then by id, higher first.
FLEET_ORDER = [("beta", 3), ("beta", 2), ("stable", 3), ("server", 3), ("server", 2),
               ("stable", 2), ("beta", 1), ("server", 1), ("server", 9), ("stable", 1)]


def make_in(folder: Path, log_format: LogFormat = LAUNCHER) -> SagaLogFactory:
    folder.mkdir(parents=True, exist_ok=True)
    return SagaLogFactory(folder, log_format)


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, Path]:
    """Two launcher logs and a server log in one folder tree; each starts at saga 1."""
    root = tmp_path / "fleet"
    stable = root / "stable" / "0.41.2"
    paths = {
        "beta": make_in(root / "beta" / "0.42.0")([
            cleanup_saga(1, at=10), cleanup_saga(2, at=40, label="beta-two"),
            cleanup_saga(3, at=40, label="beta-three")], name="launcher-sagas.db"),
        "stable": make_in(stable)([
            cleanup_saga(1, at=0, label="stable-one"),
            respawn_saga(2, "failed", at=20, reason=REASON_TIMEOUT),
            cleanup_saga(3, "running", at=40, drained=None)], name="launcher-sagas.db"),
        "server": make_in(stable, SERVER)([
            cleanup_saga(1, at=5, label="server-one"),
            cleanup_saga(2, "failed", at=30, drained=None), cleanup_saga(3, at=40),
            cleanup_saga(9, at=2)], name="sagas.db"),
    }
    return {"root": root, **paths}


LABELS = {"beta": "0.42.0/launcher", "stable": "0.41.2/launcher", "server": "0.41.2/server"}


def refs(sagas: object) -> list[tuple[str, int]]:
    by_label = {label: name for name, label in LABELS.items()}
    return [(by_label[s["source"]], s["saga_id"]) for s in sagas]  # type: ignore[attr-defined]


# -- list ------------------------------------------------------------------------------------


def test_list_json_gives_every_saga_its_source_newest_start_first(
    run: Run, fleet: dict[str, Path]
) -> None:
    result = run("list", fleet["root"], "--json")
    assert (result.code, result.err) == (0, "")
    sagas = result.json
    assert refs(sagas) == FLEET_ORDER
    for saga in sagas:  # type: ignore[attr-defined]
        name = next(n for n, label in LABELS.items() if label == saga["source"])
        assert saga["source_path"] == str(fleet[name])
    # The same id, three sagas: each one's own row.
    ones = {saga["source"]: saga["input"] for saga in sagas  # type: ignore[attr-defined]
            if saga["saga_id"] == 1}
    assert ones == {LABELS["beta"]: {"closed_label": "main"},
                    LABELS["stable"]: {"closed_label": "stable-one"},
                    LABELS["server"]: {"closed_label": "server-one"}}


def test_list_text_has_a_source_column_with_several_logs(
    run: Run, fleet: dict[str, Path]
) -> None:
    result = run("list", fleet["root"])
    assert result.code == 0
    header, *rows = result.out.splitlines()
    assert header.split()[:3] == ["ID", "SOURCE", "STATE"]
    assert [(row.split()[1], int(row.split()[0])) for row in rows] == [
        (LABELS[name], saga_id) for name, saga_id in FLEET_ORDER]
    # One log: as before, no source column.
    assert run("list", fleet["beta"]).out.splitlines()[0].split()[:2] == ["ID", "STATE"]


def test_sort_still_applies_to_several_logs(run: Run, fleet: dict[str, Path]) -> None:
    by_id = refs(run("list", fleet["root"], "--sort", "id", "--json").json)
    assert by_id[:2] == [("server", 9), ("beta", 3)]  # highest id first, ties by source
    assert [saga_id for _, saga_id in by_id] == sorted(
        [saga_id for _, saga_id in by_id], reverse=True)


def test_list_limit_footer_over_several_logs(run: Run, fleet: dict[str, Path]) -> None:
    result = run("list", fleet["root"], "--limit", "3")
    assert result.out.splitlines()[-1] == "showing the 3 latest started of 10; --limit 0 shows all"


def test_source_qualifier_in_search(run: Run, fleet: dict[str, Path]) -> None:
    server = run("list", fleet["root"], "--search", f"source:{LABELS['server']}", "--json")
    assert refs(server.json) == [ref for ref in FLEET_ORDER if ref[0] == "server"]
    stable = run("list", fleet["root"], "--search", "source:0.41.2/* state:failed", "--json")
    assert refs(stable.json) == [("server", 2), ("stable", 2)]


def test_csv_has_the_source_column(run: Run, fleet: dict[str, Path]) -> None:
    result = run("list", fleet["root"], "--format", "csv")
    header, first, *_ = result.out.split("\r\n")
    assert header.split(",")[:3] == ["saga_id", "source", "name"]
    assert first.split(",")[:2] == ["3", LABELS["beta"]]


def test_paths_files_and_folders_mixed_and_named_twice(
    run: Run, fleet: dict[str, Path]
) -> None:
    result = run("list", fleet["root"] / "stable", fleet["beta"], fleet["beta"], "--json")
    assert result.code == 0
    assert sorted(set(refs(result.json))) == sorted(FLEET_ORDER)
    assert len(result.json) == len(FLEET_ORDER)  # type: ignore[arg-type]


# -- show ------------------------------------------------------------------------------------


def test_show_a_bare_id_several_logs_hold_is_refused_naming_each(
    run: Run, fleet: dict[str, Path]
) -> None:
    for extra in ([], ["--json"], ["--explain"]):
        result = run("show", fleet["root"], "1", *extra)
        assert (result.code, result.out) == (2, "")
        [line] = result.error_lines
        assert line.startswith("saga-inspector: error: saga 1 is in 3 logs: name one")
        for label in LABELS.values():
            assert f"{label}:1" in line


def test_show_source_colon_id(run: Run, fleet: dict[str, Path]) -> None:
    for name, label in LABELS.items():
        saga = run("show", fleet["root"], f"{label}:1", "--json").json
        assert (saga["source"], saga["source_path"], saga["saga_id"]) == (  # type: ignore[index]
            label, str(fleet[name]), 1)
    shown = run("show", fleet["root"], f"{LABELS['server']}:1").out
    assert f"  source    {LABELS['server']}  ({fleet['server']})" in shown.splitlines()
    assert "server-one" in shown
    # A bare id only one log holds needs no label.
    assert run("show", fleet["root"], "9", "--json").json["source"] == LABELS["server"]  # type: ignore[index]
    assert "saga 1 " in run("show", fleet["root"], f"{LABELS['beta']}:1", "--explain").out


def test_show_unknown_source_or_id(run: Run, fleet: dict[str, Path]) -> None:
    result = run("show", fleet["root"], "nightly/launcher:1")
    assert result.code == 2
    assert result.error_lines == [
        "saga-inspector: error: no saga log is labelled 'nightly/launcher'; the labels are: "
        + ", ".join(LABELS[name] for name in ("beta", "stable", "server"))]
    missing = run("show", fleet["root"], f"{LABELS['beta']}:9")
    assert missing.code == 1
    assert missing.error_lines == [f"saga-inspector: error: no saga with id 9 in {LABELS['beta']}"]
    nowhere = run("show", fleet["root"], "77")
    assert nowhere.error_lines == [
        "saga-inspector: error: no saga with id 77 in any of the 3 saga logs"]


# -- stats -----------------------------------------------------------------------------------


def test_stats_json_counts_over_every_log_and_each_log(
    run: Run, fleet: dict[str, Path]
) -> None:
    result = run("stats", fleet["root"], "--json")
    assert (result.code, result.err) == (0, "")
    stats = result.json
    assert stats["database"] is None and stats["schema_version"] is None  # type: ignore[index]
    assert stats["format"] == "launcher+server"  # type: ignore[index]
    assert stats["total"] == 10  # type: ignore[index]
    assert stats["counts"]["failed"] == 2 and stats["counts"]["running"] == 1  # type: ignore[index]
    assert stats["counts"]["compensated"] == 0  # type: ignore[index]  # the server's state too
    sources = stats["sources"]  # type: ignore[index]
    assert [(s["source"], s["path"], s["format"], s["total"]) for s in sources] == [
        (LABELS["beta"], str(fleet["beta"]), "launcher", 3),
        (LABELS["stable"], str(fleet["stable"]), "launcher", 3),
        (LABELS["server"], str(fleet["server"]), "server", 4)]
    assert list(sources[0]) == ["source", "path", "status", "format", "schema_version",
                                "newer_than_known", "total", "counts", "last_write",
                                "warnings", "error"]
    assert all(s["status"] == "live" and s["error"] is None for s in sources)
    assert sources[2]["counts"]["failed"] == 1
    assert all(s["last_write"].endswith("+00:00") for s in sources)


def test_stats_text_lists_the_sources(run: Run, fleet: dict[str, Path]) -> None:
    result = run("stats", fleet["root"])
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "logs      3"
    assert lines[2] == "sagas     10 (3 need attention)"
    table = lines[lines.index(next(line for line in lines if line.startswith("SOURCE"))):]
    assert table[0].split() == ["SOURCE", "FORMAT", "SCHEMA", "SAGAS", "STATUS", "LAST",
                                "WRITE", "PATH"]
    for row, name in zip(table[1:], ("beta", "stable", "server"), strict=True):
        assert row.startswith(LABELS[name]) and row.endswith(str(fleet[name]))


# -- faults stay with their source -------------------------------------------------------------


def test_a_damaged_log_among_good_ones_is_a_warning_and_on_its_source(
    run: Run, fleet: dict[str, Path]
) -> None:
    broken = fleet["root"] / "beta" / "0.42.0" / "sagas.db"
    broken.write_bytes(b"saga_id,name\n1,window_cleanup_cascade\n" * 40)
    stats = run("stats", fleet["root"], "--json")
    assert stats.code == 0
    [bad] = [s for s in stats.json["sources"] if s["path"] == str(broken)]  # type: ignore[index]
    assert bad["status"] == "error" and "not a SQLite database" in bad["error"]
    assert bad["total"] is None and bad["counts"] is None
    assert stats.json["warnings"] == [f"{bad['source']}: {bad['error']}"]  # type: ignore[index]
    assert stats.json["total"] == 10  # type: ignore[index]

    listed = run("list", fleet["root"], "--json")
    assert listed.code == 0 and len(listed.json) == 10  # type: ignore[arg-type]
    assert listed.error_lines == [f"saga-inspector: warning: {bad['source']}: {bad['error']}"]
    text = run("stats", fleet["root"])
    assert f"{bad['source']}: {bad['error']}" in text.out.splitlines()
    assert run("show", fleet["root"], f"{LABELS['beta']}:2", "--json").code == 0


def test_every_log_damaged_exits_2(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    for name in ("launcher-sagas.db", "sagas.db"):
        (folder / name).write_bytes(b"not a database at all\n" * 40)
    for command in (["stats", "--json"], ["list"], ["show", "1"]):
        result = run(command[0], folder, *command[1:])
        assert (result.code, result.out) == (2, "")
        assert result.error_lines[-1] == ("saga-inspector: error: none of the 2 saga logs "
                                          "could be read")
        assert len(result.error_lines) == 3  # one warning a log, then the error
        assert "Traceback" not in result.err


def test_a_named_file_that_is_missing_among_good_ones(run: Run, fleet: dict[str, Path]) -> None:
    result = run("stats", fleet["beta"], fleet["root"] / "nope.db", "--json")
    assert result.code == 0
    [missing] = [s for s in result.json["sources"] if s["error"]]  # type: ignore[index]
    assert missing["status"] == "gone" and "no such file" in missing["error"]


def test_a_folder_holding_no_log(run: Run, tmp_path: Path, fleet: dict[str, Path]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    alone = run("list", empty)
    assert alone.code == 2
    assert alone.error_lines == [f"saga-inspector: error: {empty}: is a folder holding no saga "
                                 "log (looked for launcher-sagas.db and sagas.db in it and "
                                 "below)"]
    beside = run("list", empty, fleet["beta"], "--json")
    assert beside.code == 0 and len(beside.json) == 3  # type: ignore[arg-type]
    assert beside.error_lines[0].startswith(f"saga-inspector: warning: {empty}: is a folder")


def test_a_log_newer_than_known_among_good_ones(run: Run, fleet: dict[str, Path]) -> None:
    newer = make_in(fleet["root"] / "nightly" / "0.50.0")(
        [cleanup_saga(1, at=50)], name="launcher-sagas.db", user_version=7)
    stats = run("stats", fleet["root"], "--json").json
    assert stats["newer_than_known"] is True  # type: ignore[index]
    by_path = {s["path"]: s for s in stats["sources"]}  # type: ignore[index]
    assert by_path[str(newer)]["newer_than_known"] is True
    assert by_path[str(newer)]["schema_version"] == 7
    assert by_path[str(newer)]["status"] == "live"
    assert not any(by_path[str(fleet[name])]["newer_than_known"] for name in LABELS)
    assert any("user_version=7" in warning for warning in stats["warnings"])  # type: ignore[index]
    text = run("stats", fleet["root"]).out
    assert "7 (newer)" in text
    assert refs_of_first(run("list", fleet["root"], "--json").json) == (1, str(newer))


def refs_of_first(sagas: object) -> tuple[int, str]:
    first = sagas[0]  # type: ignore[index]
    return first["saga_id"], first["source_path"]


def test_a_snapshot_copy_is_told_apart(run: Run, fleet: dict[str, Path]) -> None:
    copy = make_in(fleet["root"] / "snapshots" / "stable-pre-v3-2026-10-01T00-00-00Z.bak",
                   SERVER)([cleanup_saga(1, at=1)], name="sagas.db")
    stats = run("stats", fleet["root"], "--json").json
    [entry] = [s for s in stats["sources"] if s["path"] == str(copy)]  # type: ignore[index]
    assert entry["status"] == "snapshot" and "snapshot" in entry["source"]


# -- without PATH: every log in the data folders -------------------------------------------------


def test_without_path_every_log_in_the_data_folder(
    run: Run, fleet: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AGENTMUX_DATA_DIR", str(fleet["root"]))
    result = run("list", "--json")
    assert result.code == 0
    assert refs(result.json) == FLEET_ORDER


# -- the dashboard -------------------------------------------------------------------------------


def test_the_dashboard_gets_every_path_and_the_snapshot_flags(
    run: Run, fleet: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    got: list[tuple[object, object]] = []

    def run_dashboard(paths: object, *, snapshots: object = None, **_options: object) -> int:
        got.append((paths, snapshots))
        return 0

    fake = types.ModuleType("saga_inspector.tui")
    fake.run_dashboard = run_dashboard  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "saga_inspector.tui", fake)
    assert run(fleet["root"]).code == 0
    assert got == [([fleet["beta"], fleet["stable"], fleet["server"]], [False] * 3)]
    assert run(fleet["beta"]).code == 0
    assert got[-1] == ([fleet["beta"]], [False])  # one log: the same call


# -- follow over several logs ---------------------------------------------------------------------

class FollowingCli:
    """`list PATH... --follow --jsonl` in its own process, its lines collected as they come."""

    def __init__(self, *args: object) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", FOLLOW, "list", *map(str, args), "--follow", "--jsonl",
             "--interval", "0.1"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[dict[str, object]] = []
        self.notes: list[str] = []
        self._readers = [threading.Thread(target=read, daemon=True)
                         for read in (self._read, self._read_notes)]
        for reader in self._readers:
            reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(json.loads(line))

    def _read_notes(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.notes.append(line)

    def seen(self) -> list[tuple[str, int, str]]:
        return [(str(line["source_path"]), int(line["saga_id"]),  # type: ignore[call-overload]
                 str(line["state"])) for line in list(self.lines)]

    def interrupt(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=15)
        for reader in self._readers:  # they end at the end of the output
            reader.join(timeout=15)
        return self.process.returncode, "".join(self.notes)

    def noted(self, text: str) -> bool:
        return any(text in note for note in list(self.notes))


def add_saga(path: Path, log_format: LogFormat, saga_id: int, state: str, at: float) -> None:
    """A new saga committed by a writer, as `log_format` stores it."""
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    insert_sagas(conn, log_format, [cleanup_saga(saga_id, state, at=at, drained=None)])
    conn.close()


def test_follow_streams_from_every_log_and_a_vanished_one_leaves_the_others(
    tmp_path: Path,
) -> None:
    launcher = make_in(tmp_path / "a")([cleanup_saga(1, at=0), cleanup_saga(2, at=30)],
                                        name="launcher-sagas.db")
    server = make_in(tmp_path / "b", SERVER)([cleanup_saga(1, at=10), cleanup_saga(2, at=20)],
                                             name="sagas.db")
    cli = FollowingCli(launcher, server, "--limit", "3")
    # The three latest started over both logs, oldest first.
    wait_for(lambda: len(cli.lines) >= 3, "the three newest")
    assert cli.seen() == [(str(server), 1, "completed"), (str(server), 2, "completed"),
                          (str(launcher), 2, "completed")]
    add_saga(launcher, LAUNCHER, 3, "running", at=40)
    add_saga(server, SERVER, 3, "running", at=41)
    wait_for(lambda: len(cli.lines) >= 5, "a new saga from each log")
    assert set(cli.seen()[3:]) == {(str(launcher), 3, "running"), (str(server), 3, "running")}
    sources = {line["source_path"]: line["source"] for line in cli.lines}
    assert len(set(sources.values())) == 2  # each line says which log it is from

    for suffix in ("", "-wal", "-shm"):  # the server's log vanishes
        server.with_name(server.name + suffix).unlink(missing_ok=True)
    wait_for(lambda: cli.noted("the file was deleted or renamed"), "the vanishing noted")
    add_saga(launcher, LAUNCHER, 4, "failed", at=50)
    wait_for(lambda: (str(launcher), 4, "failed") in cli.seen(), "the launcher's next saga")
    code, err = cli.interrupt()
    assert code == 0 and "Traceback" not in err, err
    assert err.count("the file was deleted or renamed") == 1
    assert len(cli.seen()) == len(set(cli.seen())) == 6


def test_labels_and_paths_from_the_file_system_are_sanitised(
    run: Run, tmp_path: Path
) -> None:
    evil = "\x1b]0;pwned\x07\x1b[2J\u202e"
    make_in(tmp_path / "fleet" / f"{evil}one")([cleanup_saga(1)], name="launcher-sagas.db")
    make_in(tmp_path / "fleet" / "two")([cleanup_saga(1)], name="launcher-sagas.db")
    broken = tmp_path / "fleet" / f"{evil}three" / "sagas.db"
    broken.parent.mkdir()
    broken.write_bytes(b"not a database\n" * 100)
    for command in (["list"], ["stats"], ["show", "1"], ["show", "x:1"]):
        result = run(command[0], tmp_path / "fleet", *command[1:])
        for raw in RAW_CONTROLS:
            assert raw not in result.out and raw not in result.err, (command, raw)
    assert "␛]0;pwned␇" in run("list", tmp_path / "fleet").out
