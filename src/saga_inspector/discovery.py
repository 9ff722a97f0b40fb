"""Finds launcher saga logs in an operator's home folder when no file is named.

Looks with stat() only: opening a database file from this process and closing it again would
drop SQLite's locks for the whole process (see the reference sheet).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

# Builds before 0.38.0 kept one log here; later ones keep one per channel and version.
LEGACY_LOG = Path(".agentmux") / "launcher-sagas.db"
VERSIONED_LOGS = ".agentmux/channels/*/versions/*/data/db/launcher-sagas.db"


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


def find_saga_logs(home: Path | None = None) -> list[Candidate]:
    """Every saga log under `home` (default: the user's home), newest first."""
    home = default_home() if home is None else home
    if home is None:
        return []
    paths = [home / LEGACY_LOG, *sorted(home.glob(VERSIONED_LOGS))]
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
