"""The one error the data layer raises: a kind for code, a sentence for people."""

from __future__ import annotations

import enum


class ErrorKind(enum.Enum):
    NOT_FOUND = "not found"
    IS_DIRECTORY = "is a folder"
    NOT_SQLITE = "not a SQLite database"
    DAMAGED = "damaged"
    NOT_SAGA_LOG = "not a saga log"
    UNREADABLE = "cannot be read here"
    BUSY = "busy"
    CANCELLED = "cancelled"
    # SQLite cannot keep its shared-memory file (-shm) beside the log: the folder is not
    # writable by this user. A snapshot (--immutable) still reads it.
    READ_ONLY_FOLDER = "cannot be read live here"
    # --immutable asked for, and a -wal with rows not yet in the file lies beside it.
    WAL_WOULD_BE_HIDDEN = "--immutable would hide rows"
    # A snapshot read the file without its -wal, and the saga tables are not in the file yet.
    TABLES_IN_WAL = "read without its -wal"


class StoreError(Exception):
    """A saga log that cannot be read, with a message a person understands."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message
