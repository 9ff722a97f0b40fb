"""Finds saga logs (the launcher's and the server's) when no file is named: in the data folder,
`$AGENTMUX_DATA_DIR` when it is set (the launcher's own setting to move it), and in
`~/.agentmux` (the home folder as `Path.home()` gives it, on every OS), where older runs
and versions leave theirs.

Looks with stat() only: opening a database file from this process and closing it again would
drop SQLite's locks for the whole process (see the reference sheet).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .store.formats import FORMATS, LAUNCHER, SERVER

DATA_DIR_VARIABLE = "AGENTMUX_DATA_DIR"
DEFAULT_DATA_DIR = ".agentmux"  # under the home folder
# Inside a data folder: builds before 0.38.0 kept the launcher's log at its top; later ones
# keep one per channel and version, the server's `sagas.db` beside it in the same folder
# (older builds: versions/<v>/data/db/).
LEGACY_NAME = LAUNCHER.file_name
VERSIONED_PATTERN = f"channels/*/versions/*/data/db/{LEGACY_NAME}"
SERVER_NAME = SERVER.file_name
VERSIONED_PATTERNS = tuple(
    f"{folder}/data/db/{fmt.file_name}"
    for folder in ("channels/*/versions/*", "versions/*") for fmt in FORMATS)
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
    """Every saga log in the data folders (`data_folders`; `home` defaults to the user's,
    `env` to the environment), newest first."""
    home = default_home() if home is None else home
    folders = data_folders(home, os.environ if env is None else env)
    paths = [path for folder in folders
             for path in (folder / LEGACY_NAME, *sorted(
                 found for pattern in VERSIONED_PATTERNS for found in folder.glob(pattern)))]
    found = [candidate for candidate in map(_candidate, paths) if candidate is not None]
    return sorted(found, key=lambda c: (c.modified, str(c.path)), reverse=True)


def _candidate(path: Path) -> Candidate | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    wal_mtime = _written_wal_mtime(path.with_name(path.name + "-wal"))
    modified = info.st_mtime if wal_mtime is None else max(info.st_mtime, wal_mtime)
    return Candidate(path, modified, info.st_size, wal_mtime is not None)


def _written_wal_mtime(path: Path) -> float | None:
    """The -wal's mtime when it holds frames. An empty -wal says nothing: any reader (this
    tool too) creates one when it opens the file, which would make a file read last "newest"."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime if info.st_size > 0 else None
