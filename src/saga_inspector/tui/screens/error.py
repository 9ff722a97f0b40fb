"""A file that cannot be opened: what happened, why, and what to do; `q` leaves with code 2."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from saga_inspector.store import ErrorKind, StoreError
from saga_inspector.tui.text import plain, safe

EXIT_UNREADABLE = 2

HINTS = {
    ErrorKind.NOT_FOUND: "Check the path. Saga logs are launcher-sagas.db (the launcher's) and "
    "sagas.db (the server's), in ~/.agentmux/channels/<channel>/versions/<version>/data/db/; "
    "`saga-inspector --pick` lists the ones found.",
    ErrorKind.IS_DIRECTORY: "Point at the launcher-sagas.db or sagas.db file inside the folder.",
    ErrorKind.NOT_SQLITE: "This file is not a SQLite database; saga logs are named "
    "launcher-sagas.db (the launcher's) and sagas.db (the server's).",
    ErrorKind.DAMAGED: "The file is truncated or damaged. If a -wal file sits beside it, copy "
    "both together and open the copy.",
    ErrorKind.NOT_SAGA_LOG: "Saga logs are named launcher-sagas.db (the launcher's) and "
    "sagas.db (the server's); `saga-inspector --pick` lists the ones found.",
    ErrorKind.UNREADABLE: "Check the file's permissions, or copy it (with any -wal beside it) "
    "to a folder you can write and open the copy.",
    ErrorKind.BUSY: "Its writer (the launcher or the server) is writing to it right now; try again "
    "in a moment.",
    ErrorKind.CANCELLED: "The read was cancelled; open the file again.",
    ErrorKind.READ_ONLY_FOLDER: "Run `saga-inspector --immutable PATH` to read it as a "
    "snapshot that creates no file, or copy it (with any -wal beside it) to a folder you can "
    "write and open the copy.",
    ErrorKind.TABLES_IN_WAL: "A live read (without --immutable), or a copy of both files in a "
    "folder you can write, reads the -wal too.",
    ErrorKind.WAL_WOULD_BE_HIDDEN: "Open it without --immutable to see every row; "
    "`--immutable --force` reads the file alone, without the rows in its -wal.",
}


class ErrorScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape", "leave", "Quit"),
        Binding("y", "copy", "Copy message"),
    ]

    def __init__(self, error: StoreError) -> None:
        super().__init__()
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Static(self._body(), id="error-text", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        box = self.query_one("#error-box")
        box.border_title = "cannot open this saga log"
        box.border_subtitle = "q quits"

    def _body(self) -> Text:
        body = Text(end="")
        body.append(f"{self.error.kind.value}\n\n", style="bold")
        body.append_text(plain(self.error.message))
        hint = HINTS.get(self.error.kind)
        if hint:
            body.append(f"\n\n{hint}", style="italic")
        body.append("\n\nNothing was written to the file. Press q to quit.", style="dim")
        return body

    def action_leave(self) -> None:
        self.app.exit(return_code=EXIT_UNREADABLE)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(safe(self.error.message))
        self.notify("copied the error message")
