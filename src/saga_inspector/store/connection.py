"""The one connection recipe: read-only URI, an authorizer that allows reads only, a busy
timeout, and SQLite's errors turned into sentences a person understands.

Before connecting it decides, from `stat` alone (the file is never opened here), how to open:
live (`mode=ro`, which may create `-wal`/`-shm` beside the file) or as a snapshot
(`immutable=1`, which creates and touches nothing but ignores the `-wal`). See `plan_open`.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from saga_inspector.os_specific import (
    another_users_file,
    effective_user,
    sqlite_uri,
    user_name,
)
from saga_inspector.units import format_size

from .errors import ErrorKind, StoreError

BUSY_TIMEOUT_S = 2.0
# Every SQLite database is at least one page, and the smallest page is 512 bytes. SQLite
# itself takes some shorter files for an empty database, so they are refused here, by size.
MIN_DATABASE_BYTES = 512

# Pragmas that only read; anything given a value (`PRAGMA x = 1`) is refused regardless.
_READ_PRAGMAS = frozenset({"user_version", "data_version", "table_info", "table_xinfo"})
# Pragmas that may take an argument: a table to describe, or how long this connection waits
# for a writer's lock (a setting of the connection; nothing is written to any file).
_PRAGMAS_WITH_ARGUMENT = frozenset({"table_info", "table_xinfo", "busy_timeout"})
_TRANSACTION_VERBS = frozenset({"BEGIN", "COMMIT", "ROLLBACK"})
_READ_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                           sqlite3.SQLITE_RECURSIVE})


def read_only_authorizer(
    action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None
) -> int:
    """Second wall behind `mode=ro`: allow SELECT, reads and a few read-only pragmas."""
    if action in _READ_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_TRANSACTION and (arg1 or "").upper() in _TRANSACTION_VERBS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA:
        pragma = (arg1 or "").lower()
        if (pragma in _READ_PRAGMAS and arg2 is None) or pragma in _PRAGMAS_WITH_ARGUMENT:
            return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def decode_text(raw: bytes) -> str:
    """Text that is not UTF-8 is kept, its bad bytes written as `\\xNN`."""
    return raw.decode("utf-8", errors="backslashreplace")


@dataclass(frozen=True, slots=True)
class UnreadWal:
    """A `-wal` with rows that a snapshot does not read, and what would read them."""

    wal: Path
    size: int
    remedy: str  # what to do, said to the operator


class ReadOnlyConnection(sqlite3.Connection):
    """The store's connection; `notes` says how it was opened when the operator should know
    (a snapshot instead of a live read, a -wal left unread)."""

    notes: tuple[str, ...] = ()
    is_snapshot = False  # opened immutable: the file is read as it was, changes unseen
    unread_wal: UnreadWal | None = None  # a snapshot's -wal with rows: what it misses


@dataclass(frozen=True, slots=True)
class Beside:
    """What `stat` tells about a database and the files SQLite keeps beside it."""

    owner: int  # uid owning the database file
    wal_size: int | None  # bytes in `-wal`; None when there is none
    shm_exists: bool

    @property
    def wal_has_rows(self) -> bool:
        return bool(self.wal_size)


@dataclass(frozen=True, slots=True)
class OpenPlan:
    immutable: bool
    notes: tuple[str, ...] = ()
    unread_wal: UnreadWal | None = None


def look_beside(path: Path, info: os.stat_result, *, resolved: Path | None = None) -> Beside:
    """The `-wal` and `-shm` next to `path` (as SQLite names them: beside the resolved file;
    `resolved`: that file, when already known)."""
    wal = _stat_or_none(sidecar(path, "-wal", resolved))
    shm = _stat_or_none(sidecar(path, "-shm", resolved))
    return Beside(owner=info.st_uid, wal_size=None if wal is None else wal.st_size,
                  shm_exists=shm is not None)


def sidecar(path: Path, suffix: str, resolved: Path | None = None) -> Path:
    # (resolving costs a stat per folder of the path: done once per open, many logs open)
    if resolved is None:
        resolved = path.resolve()
    return resolved.with_name(resolved.name + suffix)


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def plan_open(path: Path, beside: Beside, *, immutable: bool, force: bool,
              euid: int | None, resolved: Path | None = None) -> OpenPlan:
    """How to open `path`, decided from stat results only; raises StoreError to refuse.

    - `immutable` (asked for): a snapshot of the file alone. A `-wal` with content would be
      ignored, and its rows silently missing: refused unless `force`.
    - Otherwise live, unless that would create `-wal`/`-shm` owned by us beside a file owned
      by someone else: those would then block its owner's launcher (it cannot write our
      `-shm`), so it opens as a snapshot instead and says so. As root this never happens:
      SQLite hands the files it creates to the database's owner. `euid` None: the OS has
      no user ids (Windows), see `os_specific.another_users_file`.
    """
    wal = sidecar(path, "-wal", resolved)
    if immutable:
        if not beside.wal_has_rows:
            return OpenPlan(immutable=True)
        if not force:
            raise StoreError(
                ErrorKind.WAL_WOULD_BE_HIDDEN,
                f"{path}: --immutable would not show the rows in {wal.name} beside it "
                f"({format_size(beside.wal_size)} its writer wrote but never moved into the "
                f"file); "
                f"open it without --immutable to see them, or add --force to read the file "
                f"alone anyway",
            )
        unread = UnreadWal(wal, beside.wal_size or 0, "open it without --immutable, or copy "
                           "both files together to one folder and open the copy")
        return OpenPlan(immutable=True, notes=(_unread_wal_note(wal, beside),),
                        unread_wal=unread)
    would_create = beside.wal_size is None or not beside.shm_exists
    if would_create and another_users_file(beside.owner, euid):
        unread = UnreadWal(wal, beside.wal_size or 0, f"run as {_user(beside.owner)}, or copy "
                           "both files together to a folder you can write and open the copy")
        return OpenPlan(immutable=True, notes=_snapshot_notes(wal, beside, euid),
                        unread_wal=unread if beside.wal_has_rows else None)
    return OpenPlan(immutable=False)


def _unread_wal_note(wal: Path, beside: Beside) -> str:
    return (f"{wal.name} ({format_size(beside.wal_size)}) is not read: sagas and steps "
            f"written since its writer last moved it into the file are missing")


def _snapshot_notes(wal: Path, beside: Beside, euid: int | None) -> tuple[str, ...]:
    missing = [name for name, present in (("-wal", beside.wal_size is not None),
                                          ("-shm", beside.shm_exists)) if not present]
    note = (
        f"opened as a snapshot: the file belongs to {_user(beside.owner)}, and reading it live "
        f"would create {' and '.join(missing)} beside it owned by you ({_user(euid)}), which "
        f"would stop its writer (the launcher or the server) from writing; nothing was "
        f"created, and changes made after opening are not seen"
    )
    if beside.wal_has_rows:
        return (note, _unread_wal_note(wal, beside)
                + f"; run as {_user(beside.owner)}, or copy both files, to see them")
    return (note,)


def _user(uid: int | None) -> str:
    return "you" if uid is None else user_name(uid)


def connect_read_only(
    path: Path, *, immutable: bool = False, force: bool = False, cache_kib: int | None = None
) -> ReadOnlyConnection:
    """Open `path` for reading only. Checks the path with stat, never opens the file itself:
    closing our own descriptor would drop SQLite's locks for the whole process.

    `immutable` reads a snapshot that creates and changes no file at all; `force` lets it
    ignore a `-wal` with content. The connection's `notes` say when it chose a snapshot.
    `cache_kib`: the most this connection keeps of the file in memory (SQLite's default,
    2 MiB, when None): many logs open at once each keep less."""
    info = check_path(path)
    resolved = path.resolve()
    plan = plan_open(path, look_beside(path, info, resolved=resolved), immutable=immutable,
                     force=force, euid=effective_user(), resolved=resolved)
    uri = sqlite_uri(resolved, immutable=plan.immutable)
    try:
        conn = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False,
            factory=ReadOnlyConnection,
        )
    except sqlite3.Error as exc:
        raise translate_error(exc, path) from None
    conn.notes = plan.notes
    conn.is_snapshot = plan.immutable
    conn.unread_wal = plan.unread_wal
    conn.text_factory = decode_text
    if cache_kib is not None:
        # Set before the authorizer, which refuses every pragma given a value: a setting of
        # this connection's memory, not of the file.
        try:
            conn.execute(f"PRAGMA cache_size = -{max(16, int(cache_kib))}")
        except sqlite3.Error as exc:
            conn.close()
            raise translate_error(exc, path) from None
    conn.set_authorizer(read_only_authorizer)
    return conn


def check_path(path: Path) -> os.stat_result:
    """Refuse what is not a readable regular file of database size; its stat when it is."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise StoreError(ErrorKind.NOT_FOUND, f"{path}: no such file") from None
    except PermissionError:
        raise StoreError(ErrorKind.UNREADABLE, f"{path}: permission denied") from None
    except OSError as exc:
        raise StoreError(ErrorKind.UNREADABLE, f"{path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise StoreError(
            ErrorKind.IS_DIRECTORY,
            f"{path}: is a folder, not a saga log (point at launcher-sagas.db or sagas.db "
            f"inside it)",
        )
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(ErrorKind.UNREADABLE, f"{path}: not a regular file")
    if info.st_size == 0:
        raise StoreError(ErrorKind.NOT_SAGA_LOG,
                         f"{path}: empty file (0 bytes): nothing has been written to it")
    if info.st_size < MIN_DATABASE_BYTES:
        raise StoreError(
            ErrorKind.NOT_SQLITE,
            f"{path}: not a SQLite database (only {info.st_size} bytes; one is at least "
            f"{MIN_DATABASE_BYTES})",
        )
    if not _may(path, os.R_OK):
        raise StoreError(ErrorKind.UNREADABLE, f"{path}: permission denied")
    return info


def _may(path: Path, mode: int) -> bool:
    """os.access with the effective ids, as SQLite's own opens are checked (they differ
    from the real ids in a setuid program, or one that dropped root with seteuid)."""
    effective = os.access in os.supports_effective_ids
    return os.access(path, mode, effective_ids=effective)


def only_in_unread_wal(path: Path, unread: UnreadWal, table: str,
                       found: Sequence[str]) -> StoreError:
    """A snapshot of the file alone found no `table`, and a -wal it does not read lies beside
    it: that is the cause to name (the launcher's writes not yet moved into the file), not
    "not a saga log"."""
    wal = f"{unread.wal.name} beside it ({format_size(unread.size)} not yet moved into the file)"
    if not found:
        what = (f"the file alone holds no tables yet: its writer's writes are all still in "
                f"{wal}")
    else:
        what = (f"the file alone has no {table} table (it has {', '.join(found)}); it may be "
                f"in {wal}")
    return StoreError(
        ErrorKind.TABLES_IN_WAL,
        f"{path}: {what}, which a snapshot (--immutable) does not read; {unread.remedy}",
    )


def translate_error(exc: BaseException, path: Path) -> StoreError:
    """Turn a sqlite3 error into the store's one error, worded for the operator."""
    text = str(exc)
    lowered = text.lower()
    if "interrupted" in lowered:
        return StoreError(ErrorKind.CANCELLED, "query cancelled")
    if "file is not a database" in lowered:
        return StoreError(ErrorKind.NOT_SQLITE, f"{path}: not a SQLite database")
    if "malformed" in lowered or "disk i/o error" in lowered or "corrupt" in lowered:
        return StoreError(
            ErrorKind.DAMAGED, f"{path}: the database is damaged or truncated ({text})"
        )
    if "locked" in lowered or "busy" in lowered:
        return StoreError(
            ErrorKind.BUSY, f"{path}: locked by a writer for more than {BUSY_TIMEOUT_S:g} s"
        )
    if "readonly database" in lowered or "read-only" in lowered:
        # The store never writes: this is SQLite failing to set up its -shm beside the file.
        return cannot_read_live_here(path)
    if "not authorized" in lowered:
        return StoreError(ErrorKind.UNREADABLE, f"{path}: refused by the read-only guard ({text})")
    if "unable to open" in lowered:
        if _shm_cannot_be_made(path):
            # With rows in a -wal and no -shm, SQLite words the same trouble this way.
            return cannot_read_live_here(path)
        return StoreError(ErrorKind.UNREADABLE, f"{path}: cannot be opened ({text})")
    return StoreError(ErrorKind.UNREADABLE, f"{path}: cannot be read ({text})")


def _shm_cannot_be_made(path: Path) -> bool:
    """The file is there, its -shm is not, and its folder cannot be written by us."""
    if not path.is_file() or _stat_or_none(sidecar(path, "-shm")) is not None:
        return False
    return not _may(path.resolve().parent, os.W_OK)


def cannot_read_live_here(path: Path) -> StoreError:
    """SQLite's "attempt to write a readonly database" as a reader meets it: it needs a
    shared-memory file (-shm) beside the log to read it while a launcher may write, and it
    can neither create one here nor use the one there. Nothing was being written."""
    shm = sidecar(path, "-shm")
    wal = sidecar(path, "-wal")
    wal_info = _stat_or_none(wal)
    if _stat_or_none(shm) is None:
        why = (f"SQLite needs to create {shm.name} beside it to read a log that a launcher or "
               f"server may be writing, and this folder cannot be written by you")
    else:
        why = f"SQLite cannot use {shm.name} beside it (it cannot be written by you)"
    if wal_info is not None and wal_info.st_size > 0:
        advice = (f"{wal.name} beside it holds {format_size(wal_info.st_size)} not yet in the "
                  f"file: "
                  f"copy both files to a folder you can write and open the copy (--immutable "
                  f"--force would read the file alone, without them)")
    else:
        advice = ("open it with --immutable to read it as a snapshot, which creates no file; "
                  "or copy it to a folder you can write")
    return StoreError(
        ErrorKind.READ_ONLY_FOLDER,
        f"{path}: cannot be read live here: {why} (SQLite calls this \"attempt to write a "
        f"readonly database\", but nothing is written to the log); {advice}",
    )
