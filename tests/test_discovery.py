"""Finding saga logs under a home folder: where it looks, which is newest, what it skips."""

from __future__ import annotations

import builtins
import os
import shutil
import sys
from pathlib import Path

import pytest

from saga_inspector.discovery import (
    data_folders,
    find_all_saga_logs,
    find_saga_logs,
    find_saga_logs_under,
)
from saga_inspector.store import LAUNCHER, SERVER, SagaStore
from saga_inspector.store.labels import source_labels

from .factory import SagaLogFactory, cleanup_saga

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


# -- issue 14: every log on the machine, recursively ---------------------------------------------

STABLE_DB = ".agentmux/channels/stable/versions/0.41.2/data/db"
SNAPSHOTS = ".agentmux/snapshots"
# A machine's ~/.agentmux: the logs (relative path -> the label it gets among all of them,
# and whether it is a snapshot copy), then files that are not logs.
FAKE_TREE_LOGS = {
    ".agentmux/channels/beta/versions/0.41.2/data/db/launcher-sagas.db":
        ("beta/0.41.2/launcher", False),
    ".agentmux/channels/beta/versions/0.41.2/data/db/sagas.db": ("beta/0.41.2/server", False),
    ".agentmux/channels/beta/versions/0.42.0-rc.1/data/db/sagas.db": ("0.42.0-rc.1/server", False),
    ".agentmux/channels/stable/versions/0.40.1/data/db/launcher-sagas.db":
        ("0.40.1/launcher", False),
    f"{STABLE_DB}/launcher-sagas.db": ("stable/0.41.2/launcher", False),
    f"{STABLE_DB}/sagas.db": ("stable/0.41.2/server", False),
    # A dev build's data folder (the server reference sheet: ~/.agentmux/dev/<branch>/<clone>/).
    ".agentmux/dev/feat-undo/clone-2/data/db/sagas.db": ("clone-2/server", False),
    ".agentmux/launcher-sagas.db": (".agentmux/launcher", False),  # builds before 0.38.0
    f"{SNAPSHOTS}/beta-pre-v0.41.2-2026-10-01T11-30-00Z.bak/sagas.db":
        ("snapshot-beta-2026-10-01/server", True),
    f"{SNAPSHOTS}/stable-pre-v0.40.1-2026-09-14T08-00-00Z.bak/sagas.db":
        ("snapshot-2026-09-14/server", True),
    f"{SNAPSHOTS}/stable-pre-v0.41.2-2026-10-01T10-00-00Z.bak/sagas.db":
        ("snapshot-stable-2026-10-01/server", True),
    ".agentmux/versions/0.33.0/data/db/launcher-sagas.db": ("0.33.0/launcher", False),
    ".agentmux/versions/0.33.0/data/db/sagas.db": ("0.33.0/server", False),
}
FAKE_TREE_OTHERS = (
    f"{STABLE_DB}/sagas.db-wal", f"{STABLE_DB}/sagas.db-shm",
    f"{STABLE_DB}/launcher-sagas.db-journal", f"{STABLE_DB}/objects.db",
    f"{STABLE_DB}/sagas.db.bak",
    f"{SNAPSHOTS}/stable-pre-v0.41.2-2026-10-01T10-00-00Z.bak/objects.db",
    ".agentmux/settings.json", ".agentmux/dev/feat-undo/clone-2/Cargo.toml",
)


@pytest.fixture
def fake_home(tmp_path: Path) -> Path:
    """A home folder holding FAKE_TREE_LOGS and FAKE_TREE_OTHERS (placeholder bytes)."""
    home = tmp_path / "home"
    for n, relative in enumerate(sorted(FAKE_TREE_LOGS)):
        place(home, Path(relative), 1_000_000 + n)
    for relative in FAKE_TREE_OTHERS:
        place(home, Path(relative), 1_000_000, b"frames")
    return home


def relative_paths(found: list, home: Path) -> list[str]:
    return [c.path.relative_to(home).as_posix() for c in found]


def test_every_log_in_the_data_folder_is_found_by_path_with_its_label(fake_home: Path) -> None:
    found, warnings = find_all_saga_logs(fake_home, {})
    assert warnings == []
    assert relative_paths(found, fake_home) == sorted(
        FAKE_TREE_LOGS, key=lambda relative: Path(relative).parts)
    assert {c.path.relative_to(fake_home).as_posix(): c.snapshot for c in found} == {
        relative: snapshot for relative, (_label, snapshot) in FAKE_TREE_LOGS.items()}
    labels = source_labels([c.path for c in found], [c.snapshot for c in found])
    assert dict(zip(relative_paths(found, fake_home), labels, strict=True)) == {
        relative: label for relative, (label, _snapshot) in FAKE_TREE_LOGS.items()}


def test_find_saga_logs_is_the_same_logs_newest_first(fake_home: Path) -> None:
    newest_first = find_saga_logs(fake_home, {})
    assert relative_paths(newest_first, fake_home) == sorted(FAKE_TREE_LOGS, reverse=True)
    assert sorted(newest_first, key=lambda c: c.path.parts) == find_all_saga_logs(
        fake_home, {})[0]


def test_a_companion_with_frames_still_dates_its_log(fake_home: Path) -> None:
    """The -wal is never a log of its own, but its frames make its log newer."""
    wal = fake_home / STABLE_DB / "sagas.db-wal"
    os.utime(wal, (9_000_000, 9_000_000))
    [newest, *_] = find_saga_logs(fake_home, {})
    assert (newest.path, newest.modified, newest.has_wal) == (
        fake_home / STABLE_DB / "sagas.db", 9_000_000, True)


def test_a_folder_path_is_searched_recursively(fake_home: Path) -> None:
    found, warnings = find_saga_logs_under([fake_home / SNAPSHOTS])
    assert warnings == []
    assert relative_paths(found, fake_home) == sorted(
        relative for relative in FAKE_TREE_LOGS if relative.startswith(SNAPSHOTS))
    assert all(c.snapshot for c in found)


def test_a_bak_folder_named_itself_holds_a_snapshot(fake_home: Path) -> None:
    folder = fake_home / SNAPSHOTS / "stable-pre-v0.40.1-2026-09-14T08-00-00Z.bak"
    [found], _ = find_saga_logs_under([folder])
    assert (found.path, found.snapshot) == (folder / "sagas.db", True)
    [given], _ = find_saga_logs_under([folder / "sagas.db"])
    assert given.snapshot


def test_snapshot_is_told_below_what_was_searched_not_above(tmp_path: Path) -> None:
    """A support bundle unpacked under a folder called `snapshots` is not all copies."""
    bundle = tmp_path / "snapshots" / "machine-1"
    log = place(bundle, Path(f"{STABLE_DB}/sagas.db"), 1_000_000)
    [found], _ = find_saga_logs_under([bundle])
    assert (found.path, found.snapshot) == (log, False)


def test_a_file_path_is_taken_as_given_whatever_its_name(tmp_path: Path) -> None:
    odd = place(tmp_path, Path("evidence/copy of the log.sqlite"), 1_000_000, b"12345")
    found, warnings = find_saga_logs_under([odd])
    assert warnings == []
    assert [(c.path, c.size, c.snapshot) for c in found] == [(odd, 5, False)]


def test_a_missing_path_is_a_warning_and_the_others_are_still_found(fake_home: Path) -> None:
    missing = fake_home / "no-such-folder"
    legacy = fake_home / LEGACY
    found, warnings = find_saga_logs_under([missing, legacy])
    assert [c.path for c in found] == [legacy]
    assert warnings == [f"{missing}: no such file or folder"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this OS")
def test_a_path_that_is_neither_file_nor_folder_is_a_warning(tmp_path: Path) -> None:
    pipe = tmp_path / "sagas.db"
    os.mkfifo(pipe)
    assert find_saga_logs_under([pipe]) == ([], [f"{pipe}: neither a file nor a folder"])
    assert find_saga_logs_under([tmp_path]) == ([], [])  # a pipe with the name, in a folder


def test_the_same_file_reached_twice_is_listed_once(fake_home: Path) -> None:
    db = fake_home / STABLE_DB
    paths = [db, db / "sagas.db", db / "sagas.db", fake_home / ".agentmux" / "channels" / "."]
    found, warnings = find_saga_logs_under(paths)
    assert warnings == []
    assert relative_paths(found, fake_home) == sorted(
        relative for relative in FAKE_TREE_LOGS if relative.startswith(".agentmux/channels/"))


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need a privilege on Windows")
def test_symlinks_and_hard_links_are_the_same_file(fake_home: Path, tmp_path: Path) -> None:
    real = fake_home / LEGACY
    links = tmp_path / "links"
    links.mkdir()
    (links / "launcher-sagas.db").symlink_to(real)
    os.link(real, links / "hard copy.db")
    found, _ = find_saga_logs_under([links / "hard copy.db", real, links])
    assert [c.path for c in found] == [real]  # the path that sorts first


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need a privilege on Windows")
def test_symlinked_folders_are_not_followed_so_a_loop_ends(fake_home: Path) -> None:
    db = fake_home / STABLE_DB
    (db / "loop").symlink_to(db, target_is_directory=True)
    (db / "elsewhere").symlink_to(fake_home / ".agentmux" / "versions",
                                  target_is_directory=True)
    found, warnings = find_saga_logs_under([db])
    assert warnings == []
    assert [c.path.name for c in found] == ["launcher-sagas.db", "sagas.db"]
    [through_link], _ = find_saga_logs_under([db / "elsewhere" / "0.33.0" / "data" / "db" /
                                              "sagas.db"])
    assert through_link.path.name == "sagas.db"  # a PATH through a link is taken as given


def test_a_companion_named_as_a_path_stands_for_its_log(fake_home: Path, tmp_path: Path) -> None:
    """`saga-inspector db/*` names the -wal and -shm too: they are the log, once."""
    db = fake_home / STABLE_DB
    found, warnings = find_saga_logs_under(sorted(db.iterdir()))
    assert warnings == []
    assert [c.path.name for c in found] == [
        "launcher-sagas.db", "objects.db", "sagas.db", "sagas.db.bak"]
    alone = place(tmp_path, Path("orphan/sagas.db-wal"), 1_000_000)  # no log beside it
    assert [c.path for c in find_saga_logs_under([alone])[0]] == [alone]


def test_a_folder_that_cannot_be_listed_is_a_warning(fake_home: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Works as root too (chmod does not deny root): the walk's listing is made to fail."""
    denied = fake_home / ".agentmux" / "channels" / "beta"
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(os.fsdecode(path)) == denied:  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    found, warnings = find_all_saga_logs(fake_home, {})
    assert warnings == [f"{denied}: cannot look inside (Permission denied)"]
    assert relative_paths(found, fake_home) == sorted(
        (relative for relative in FAKE_TREE_LOGS
         if not relative.startswith(".agentmux/channels/beta/")),
        key=lambda relative: Path(relative).parts)
    assert len(find_saga_logs(fake_home, {})) == len(found)  # newest first: no warnings


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="chmod does not deny on Windows, nor to root")
def test_a_folder_without_permission_is_a_warning(fake_home: Path) -> None:
    denied = fake_home / ".agentmux" / "dev"
    denied.chmod(0)
    try:
        found, warnings = find_all_saga_logs(fake_home, {})
    finally:
        denied.chmod(0o755)
    assert len(warnings) == 1 and warnings[0].startswith(f"{denied}: cannot look inside (")
    assert ".agentmux/dev/feat-undo/clone-2/data/db/sagas.db" not in relative_paths(
        found, fake_home)


def test_the_moved_data_folder_inside_the_home_one_is_searched_once(fake_home: Path) -> None:
    env = {"AGENTMUX_DATA_DIR": str(fake_home / ".agentmux" / "channels")}
    found, warnings = find_all_saga_logs(fake_home, env)
    assert warnings == []
    assert len(found) == len(FAKE_TREE_LOGS)
    assert find_all_saga_logs(fake_home, {"AGENTMUX_DATA_DIR": str(fake_home / "gone")}) == (
        find_all_saga_logs(fake_home, {}))  # a data folder that is not there: no warning


def test_the_search_never_opens_a_file(fake_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("discovery opened a file")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(os, "open", refuse)
    db = fake_home / STABLE_DB
    assert len(find_all_saga_logs(fake_home, {})[0]) == len(FAKE_TREE_LOGS)
    assert len(find_saga_logs_under([db / "sagas.db-wal", db / "objects.db"])[0]) == 2


def test_real_logs_in_a_tree_are_found_and_their_labels_name_their_format(
        tmp_path: Path) -> None:
    """Real SQLite files: what the label's last word says is what the store reads."""
    home = tmp_path / "home"
    for fmt in (LAUNCHER, SERVER):
        made = SagaLogFactory(tmp_path / fmt.name, fmt)
        (tmp_path / fmt.name).mkdir()
        for folder in (STABLE_DB, f"{SNAPSHOTS}/stable-pre-v0.41.2-2026-10-01T10-00-00Z.bak",
                       ".agentmux/channels/beta/versions/0.42.0/data/db"):
            if fmt is LAUNCHER and "snapshots" in folder:
                continue  # the server alone keeps copies
            target = home / folder / fmt.file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(made([cleanup_saga(1)]), target)
    found, warnings = find_all_saga_logs(home, {})
    assert warnings == []
    labels = source_labels([c.path for c in found], [c.snapshot for c in found])
    assert labels == ["0.42.0/launcher", "0.42.0/server", "0.41.2/launcher", "0.41.2/server",
                      "snapshot-2026-10-01/server"]
    for candidate, label in zip(found, labels, strict=True):
        with SagaStore.open(candidate.path) as store:
            assert store.format.name == label.rpartition("/")[2]
            assert store.newest_id() == 1
