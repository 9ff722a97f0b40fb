"""Finds saga logs (the launcher's and the server's) on disk.

- `find_saga_logs_under(paths)`: each PATH a log file (taken as given, whatever its name) or a
  folder, searched recursively for the formats' usual file names (`launcher-sagas.db`,
  `sagas.db`), snapshot folders included.
- `find_all_saga_logs(home, env)`: when no file is named, the same search of the data folders:
  `$AGENTMUX_DATA_DIR` when it is set (the launcher's own setting to move it), and
  `~/.agentmux` (the home folder as `Path.home()` gives it, on every OS), where every
  channel, version, older layout, dev tree (`dev/<branch>/<clone>/`) and the server's
  snapshot copies (`snapshots/*.bak/`) leave theirs. `find_saga_logs` is that, newest first.

Looks with stat() only: opening a database file from this process and closing it again would
drop SQLite's locks for the whole process (see the reference sheet).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .store.formats import FORMATS, LAUNCHER, SERVER
from .store.labels import is_snapshot_folder

DATA_DIR_VARIABLE = "AGENTMUX_DATA_DIR"
DEFAULT_DATA_DIR = ".agentmux"  # under the home folder
# Inside a data folder: builds before 0.38.0 kept the launcher's log at its top; later ones
# keep one per channel and version, the server's `sagas.db` beside it in the same folder
# (older builds: versions/<v>/data/db/). The search finds them all by name; these name the
# usual places for messages.
LEGACY_NAME = LAUNCHER.file_name
VERSIONED_PATTERN = f"channels/*/versions/*/data/db/{LEGACY_NAME}"
SERVER_NAME = SERVER.file_name
# What a folder search looks for, and the files SQLite keeps beside a log (never logs).
LOG_NAMES = tuple(fmt.file_name for fmt in FORMATS)
COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")
# The same, as the help says them: relative to the home folder.
LEGACY_LOG = Path(DEFAULT_DATA_DIR) / LEGACY_NAME
VERSIONED_LOGS = f"{DEFAULT_DATA_DIR}/{VERSIONED_PATTERN}"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A saga log found on disk."""

    path: Path
    # Seconds since the epoch: the later of the file's and its -wal's mtime, because a live
    # launcher writes into the -wal and the .db itself only changes at a checkpoint.
    modified: float
    size: int
    # A -wal holding frames: what a launcher wrote and had not yet checkpointed.
    has_wal: bool
    # A copy kept as evidence (the server's pre-migration copies): under a `snapshots` folder
    # or a `.bak` one, at or below what was searched (a home folder that happens to sit
    # under /snapshots does not make every log a copy).
    snapshot: bool = False


def default_home() -> Path | None:
    try:
        return Path.home()
    except RuntimeError:  # no HOME and no password entry
        return None


def data_folders(home: Path | None, env: Mapping[str, str]) -> list[Path]:
    """Where to look: `$AGENTMUX_DATA_DIR` first (when set), then `home/.agentmux`; the
    same folder named twice is looked in once."""
    folders = []
    moved = env.get(DATA_DIR_VARIABLE, "").strip()
    if moved:
        folders.append(Path(moved).expanduser())
    if home is not None:
        folders.append(home / DEFAULT_DATA_DIR)
    unique: dict[str, Path] = {}
    for folder in folders:
        unique.setdefault(os.path.normcase(os.path.abspath(folder)), folder)
    return list(unique.values())


def find_saga_logs(home: Path | None = None,
                   env: Mapping[str, str] | None = None) -> list[Candidate]:
    """Every saga log in the data folders (`find_all_saga_logs`), newest first (ties: the
    later path first). What could not be searched is left out silently here."""
    found, _warnings = find_all_saga_logs(home, env)
    return sorted(found, key=lambda c: (c.modified, str(c.path)), reverse=True)


def find_all_saga_logs(home: Path | None = None, env: Mapping[str, str] | None = None
                       ) -> tuple[list[Candidate], list[str]]:
    """Every saga log under the data folders (`data_folders`; `home` defaults to the user's,
    `env` to the environment), by path, and what could not be searched. A data folder that
    does not exist is not a warning: most machines have only one of them."""
    home = default_home() if home is None else home
    folders = data_folders(home, os.environ if env is None else env)
    return find_saga_logs_under([folder for folder in folders if folder.is_dir()])


def find_saga_logs_under(paths: Sequence[Path]) -> tuple[list[Candidate], list[str]]:
    """The saga logs at `paths`, each a log file or a folder, and a warning for each PATH that
    is neither (or a folder that could not be searched), never an exception.

    A file PATH is taken as given, whatever its name, except a `-wal`/`-shm`/`-journal`
    beside its log (a shell glob names them too): it stands for that log. A folder is searched
    recursively, without following symlinked folders, for `LOG_NAMES`. The same file reached
    twice (two PATHs, a symlink, a hard link) is listed once, at the path that sorts first;
    the order is by path (its parts)."""
    found: list[Candidate] = []
    warnings: list[str] = []
    for given in paths:
        path = Path(given)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            warnings.append(f"{path}: no such file or folder")
            continue
        except OSError as error:
            warnings.append(f"{path}: {error.strerror or error}")
            continue
        if stat.S_ISDIR(info.st_mode):
            found += _search(path, warnings)
        elif stat.S_ISREG(info.st_mode):
            log = _log_of_companion(path) or path
            candidate = _candidate(log, is_snapshot_folder(log.parent.name))
            if candidate is not None:
                found.append(candidate)
        else:
            warnings.append(f"{path}: neither a file nor a folder")
    return _once_each(found), warnings


def _search(folder: Path, warnings: list[str]) -> Iterator[Candidate]:
    """The logs in and below `folder`; what cannot be listed becomes a warning."""
    def unreadable(error: OSError) -> None:
        warnings.append(f"{error.filename or folder}: cannot look inside "
                        f"({error.strerror or error})")

    in_snapshot = is_snapshot_folder(folder.name)
    for top, subfolders, files in os.walk(folder, onerror=unreadable, followlinks=False):
        subfolders.sort()  # the walk itself in a stable order; the result is sorted anyway
        here = Path(top)
        snapshot = in_snapshot or any(
            is_snapshot_folder(part) for part in here.relative_to(folder).parts)
        for name in sorted(files):
            if name in LOG_NAMES:
                candidate = _candidate(here / name, snapshot)
                if candidate is not None:
                    yield candidate


def _log_of_companion(path: Path) -> Path | None:
    """The log a `-wal`/`-shm`/`-journal` file belongs to, when that log is there."""
    for suffix in COMPANION_SUFFIXES:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            log = path.with_name(path.name[:-len(suffix)])
            try:
                if stat.S_ISREG(os.stat(log).st_mode):
                    return log
            except OSError:
                return None
    return None


def _once_each(found: list[Candidate]) -> list[Candidate]:
    """By path; a file reached by several paths kept at the first of them."""
    seen: set[object] = set()
    unique = []
    for candidate in sorted(found, key=lambda c: c.path.parts):
        key = _identity(candidate.path)
        if key not in seen:
            seen.add(key)
            unique.append(candidate)
    return unique


def _identity(path: Path) -> object:
    """What makes two paths the same file: device and inode where the OS gives them (a hard
    link too), else the resolved path."""
    try:
        info = os.stat(path)
    except OSError:
        info = None
    if info is not None and info.st_ino:
        return (info.st_dev, info.st_ino)
    return os.path.normcase(os.path.realpath(path))


def _candidate(path: Path, snapshot: bool = False) -> Candidate | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    wal_mtime = _written_wal_mtime(path.with_name(path.name + "-wal"))
    modified = info.st_mtime if wal_mtime is None else max(info.st_mtime, wal_mtime)
    return Candidate(path, modified, info.st_size, wal_mtime is not None, snapshot)
def _written_wal_mtime(path: Path) -> float | None:
    """The -wal's mtime when it holds frames. An empty -wal says nothing: any reader (this
    tool too) creates one when it opens the file, which would make a file read last "newest"."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime if info.st_size > 0 else None
