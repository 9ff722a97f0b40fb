"""The one connection recipe: read-only URI, an authorizer that allows reads only, a busy
timeout, and SQLite's errors turned into sentences a person understands."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from urllib.parse import quote

from .errors import ErrorKind, StoreError

BUSY_TIMEOUT_S = 2.0
# Every SQLite database is at least one page, and the smallest page is 512 bytes. SQLite
# itself takes some shorter files for an empty database, so they are refused here, by size.
MIN_DATABASE_BYTES = 512

# Pragmas that only read; anything given a value (`PRAGMA x = 1`) is refused regardless.
_READ_PRAGMAS = frozenset({"user_version", "data_version", "table_info", "table_xinfo"})
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
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in _READ_PRAGMAS:
        takes_table = (arg1 or "").lower() in ("table_info", "table_xinfo")
        if arg2 is None or takes_table:
            return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def decode_text(raw: bytes) -> str:
    """Text that is not UTF-8 is kept, its bad bytes written as `\\xNN`."""
    return raw.decode("utf-8", errors="backslashreplace")


def connect_read_only(path: Path, *, immutable: bool = False) -> sqlite3.Connection:
    """Open `path` for reading only. Checks the path with stat, never opens the file itself:
    closing our own descriptor would drop SQLite's locks for the whole process."""
    check_path(path)
    flags = "mode=ro&immutable=1" if immutable else "mode=ro"
    uri = f"file:{quote(str(path.resolve()), safe='/')}?{flags}"
    try:
        conn = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise translate_error(exc, path) from None
    conn.text_factory = decode_text
    conn.set_authorizer(read_only_authorizer)
    return conn


def check_path(path: Path) -> None:
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
            f"{path}: is a folder, not a saga log (point at launcher-sagas.db inside it)",
        )
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(ErrorKind.UNREADABLE, f"{path}: not a regular file")
    if info.st_size == 0:
        raise StoreError(ErrorKind.NOT_SAGA_LOG, f"{path}: empty file (0 bytes), not a saga log")
    if info.st_size < MIN_DATABASE_BYTES:
        raise StoreError(
            ErrorKind.NOT_SQLITE,
            f"{path}: not a SQLite database (only {info.st_size} bytes; one is at least "
            f"{MIN_DATABASE_BYTES})",
        )
    if not os.access(path, os.R_OK):
        raise StoreError(ErrorKind.UNREADABLE, f"{path}: permission denied")


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
        return StoreError(
            ErrorKind.UNREADABLE,
            f"{path}: cannot be read here: SQLite needs to create its shared-memory file "
            f"(-shm) beside the database, and this folder cannot be written; "
            f"copy the file (with any -wal beside it) somewhere writable",
        )
    if "not authorized" in lowered:
        return StoreError(ErrorKind.UNREADABLE, f"{path}: refused by the read-only guard ({text})")
    if "unable to open" in lowered:
        return StoreError(ErrorKind.UNREADABLE, f"{path}: cannot be opened ({text})")
    return StoreError(ErrorKind.UNREADABLE, f"{path}: cannot be read ({text})")
