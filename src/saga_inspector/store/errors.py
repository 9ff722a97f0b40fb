"""The one error the data layer raises: a kind for code, a sentence for people."""

from __future__ import annotations

import enum


class ErrorKind(enum.Enum):
    NOT_FOUND = "not found"
    IS_DIRECTORY = "is a folder"
    NOT_SQLITE = "not a SQLite database"
    DAMAGED = "damaged"
    NOT_SAGA_LOG = "not a launcher saga log"
    UNREADABLE = "cannot be read here"
    BUSY = "busy"
    CANCELLED = "cancelled"


class StoreError(Exception):
    """A saga log that cannot be read, with a message a person understands."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message
