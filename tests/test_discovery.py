"""Finding saga logs under a home folder: where it looks, which is newest, what it skips."""

from __future__ import annotations

import builtins
import os
from pathlib import Path

import pytest

from saga_inspector.discovery import data_folders, find_saga_logs

LEGACY = Path(".agentmux/launcher-sagas.db")


def versioned(channel: str, version: str) -> Path:
    return Path(".agentmux/channels", channel, "versions", version, "data/db/launcher-sagas.db")


def place(home: Path, relative: Path, mtime: float, content: bytes = b"x" * 10) -> Path:
    """Discovery never reads the files, so any bytes will do here."""
    path = home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, (mtime, mtime))
    return path


def test_nothing_found_in_an_empty_home(tmp_path: Path) -> None:
    assert find_saga_logs(tmp_path) == []


def test_the_legacy_location_alone(tmp_path: Path) -> None:
    path = place(tmp_path, LEGACY, 1_000_000, b"12345")
    [found] = find_saga_logs(tmp_path)
    assert found.path == path
    assert found.modified == 1_000_000
    assert found.size == 5
    assert not found.has_wal


def test_every_location_is_found_newest_first(tmp_path: Path) -> None:
    old = place(tmp_path, LEGACY, 1_000_000)
    newest = place(tmp_path, versioned("stable", "0.40.1"), 3_000_000)
    middle = place(tmp_path, versioned("beta", "0.41.0"), 2_000_000)
    assert [c.path for c in find_saga_logs(tmp_path)] == [newest, middle, old]


def test_a_written_wal_makes_a_file_newer(tmp_path: Path) -> None:
    """A live launcher writes into the -wal; the .db only changes at a checkpoint."""
    stale_db = place(tmp_path, versioned("stable", "0.40.1"), 1_000_000)
    other = place(tmp_path, LEGACY, 2_000_000)
    place(tmp_path, versioned("stable", "0.40.1").with_name("launcher-sagas.db-wal"),
          3_000_000, b"frames")
    found = find_saga_logs(tmp_path)
    assert [c.path for c in found] == [stale_db, other]
    assert found[0].modified == 3_000_000
    assert found[0].has_wal


def test_an_empty_wal_does_not_count(tmp_path: Path) -> None:
    """Any reader (this tool too) leaves an empty -wal behind; reading must not make a file
    'newest'."""
    read_once = place(tmp_path, LEGACY, 1_000_000)
    place(tmp_path, LEGACY.with_name("launcher-sagas.db-wal"), 5_000_000, b"")
    newer = place(tmp_path, versioned("stable", "0.40.1"), 2_000_000)
    found = find_saga_logs(tmp_path)
    assert [c.path for c in found] == [newer, read_once]
    assert not found[1].has_wal


def test_folders_and_other_names_are_skipped(tmp_path: Path) -> None:
    """Any file with a log's name anywhere under the data folder is a log (issue 14: every
    log on the machine), but a folder with that name, or another name, is not."""
    (tmp_path / versioned("stable", "0.40.1")).mkdir(parents=True)  # a folder with the name
    place(tmp_path, versioned("beta", "0.41.0").with_name("sagas.db.bak"), 1_000_000)
    off_layout = place(tmp_path, Path(".agentmux/channels/beta/launcher-sagas.db"), 1_000_000)
    kept = place(tmp_path, versioned("beta", "0.42.0"), 1_000_000)
    assert [c.path for c in find_saga_logs(tmp_path)] == [kept, off_layout]


def test_equal_times_give_a_stable_order(tmp_path: Path) -> None:
    a = place(tmp_path, versioned("a", "1"), 1_000_000)
    b = place(tmp_path, versioned("b", "1"), 1_000_000)
    assert [c.path for c in find_saga_logs(tmp_path)] == [b, a]


def test_discovery_never_opens_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing a descriptor on a database drops SQLite's locks for the whole process."""
    place(tmp_path, LEGACY, 1_000_000)
    place(tmp_path, versioned("stable", "0.40.1"), 2_000_000)
    place(tmp_path, versioned("stable", "0.40.1").with_name("launcher-sagas.db-wal"),
          3_000_000, b"frames")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("discovery opened a file")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(os, "open", refuse)
    assert len(find_saga_logs(tmp_path)) == 2


def test_default_home_is_the_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = place(tmp_path, LEGACY, 1_000_000)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert [c.path for c in find_saga_logs()] == [path]


# -- AGENTMUX_DATA_DIR: the launcher's moved data folder ---------------------------------------


def test_the_moved_data_folder_is_looked_in_first_with_the_same_layout(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "D drive" / "agentmux data"
    at_home = place(home, LEGACY, 1_000_000)
    moved_legacy = place(data, Path("launcher-sagas.db"), 2_000_000)
    moved_versioned = place(data, Path(*versioned("stable", "0.40.1").parts[1:]), 3_000_000)
    off_layout = place(data, Path("channels/beta/launcher-sagas.db"), 4_000_000)
    env = {"AGENTMUX_DATA_DIR": str(data)}
    assert data_folders(home, env) == [data, home / ".agentmux"]
    assert [c.path for c in find_saga_logs(home, env)] == [off_layout, moved_versioned,
                                                           moved_legacy, at_home]


def test_without_the_variable_only_the_home_folder(tmp_path: Path) -> None:
    at_home = place(tmp_path, versioned("stable", "0.40.1"), 1_000_000)
    for env in ({}, {"AGENTMUX_DATA_DIR": ""}, {"AGENTMUX_DATA_DIR": "  "}):
        assert data_folders(tmp_path, env) == [tmp_path / ".agentmux"]
        assert [c.path for c in find_saga_logs(tmp_path, env)] == [at_home]


def test_the_data_folder_set_to_the_default_is_looked_in_once(tmp_path: Path) -> None:
    path = place(tmp_path, LEGACY, 1_000_000)
    env = {"AGENTMUX_DATA_DIR": str(tmp_path / ".agentmux" / ".")}
    assert [c.path for c in find_saga_logs(tmp_path, env)] == [path]


def test_the_environment_is_read_by_default(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    moved = place(tmp_path / "data", Path("launcher-sagas.db"), 1_000_000)
    monkeypatch.setenv("AGENTMUX_DATA_DIR", str(tmp_path / "data"))
    assert [c.path for c in find_saga_logs(tmp_path / "empty-home")] == [moved]


def test_the_servers_log_beside_the_launchers_is_found_too(tmp_path: Path) -> None:
    """Issue 13: each version's data/db/ holds the server's sagas.db beside the launcher's
    log (older builds: versions/<v>/data/db/); both are offered, newest first."""
    data = tmp_path / ".agentmux"
    db = data / "channels" / "stable" / "versions" / "0.40.1" / "data" / "db"
    old = data / "versions" / "0.33.0" / "data" / "db"
    for folder in (db, old):
        folder.mkdir(parents=True)
    for n, path in enumerate((db / "launcher-sagas.db", db / "sagas.db", old / "sagas.db")):
        path.write_bytes(b"\0" * 512)
        os.utime(path, (1_000_000 + n, 1_000_000 + n))
    found = [c.path for c in find_saga_logs(home=tmp_path, env={})]
    assert found == [old / "sagas.db", db / "sagas.db", db / "launcher-sagas.db"]
