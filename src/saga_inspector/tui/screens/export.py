"""Export the sagas of the current view (state filter + search) to a JSON lines or CSV file.

A small modal asks the format and the file (a new name in the current folder by default);
enter exports. The format follows the name: typing a name ending in `.csv` chooses CSV, `.jsonl`
or `.json` JSON lines, and choosing a format changes such an ending to its own, so one format
is never written under the other's extension. The chosen format is marked by a glyph, not by
colour alone, and the file's full path is shown as the name is typed, before anything is
written. The saga log itself and SQLite's files beside it are refused, and an existing
file is replaced only when enter is pressed again on the same name. The export runs in a
thread worker that reads the view page by page by keyset, in the table's order
(`SagaSource.walk`: one page in memory at a time); a few times a second the modal shows
the sagas written of the total, the pace and the time left (`export.progress_note`) with a
progress bar (the worker only counts: a message a page would be hundreds a second); escape
cancels it.
Whole or nothing: the file is written under a temporary name and renamed when complete
(`export.export_to_file`), so a cancelled or failed export leaves no partial file, and a
file it was to replace stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from time import monotonic
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, Label, ProgressBar, RadioButton, RadioSet, Static
from textual.worker import Worker, get_current_worker

from saga_inspector.export import (
    CSV,
    FORMAT_NAMES,
    JSONL,
    UNUSABLE_NAME,
    ExportCancelled,
    default_name,
    export_to_file,
    format_of_name,
    progress_note,
    refused_destination,
    renamed_for,
    suffix_disagrees,
)
from saga_inspector.store import SagaQuery, StoreError
from saga_inspector.store.models import SortOrder
from saga_inspector.store.source import SagaSource
from saga_inspector.tui.text import plain, safe
from saga_inspector.units import format_count

EXPORT_GROUP = "export"
_FORMAT_LABELS = {
    JSONL: "JSON lines: exact values, one saga a line",
    CSV: "CSV: for spreadsheets, text sanitised",
}


# How often the modal shows the progress: a few times a second, whatever the pace.
PROGRESS_EVERY = 0.25


@dataclass(slots=True)
class Running:
    """An export under way: what it is to write, when it began (monotonic seconds), and
    how many sagas its worker has written so far (set there, read here by the ticker)."""

    total: int
    began: float
    written: int = 0


class ExportProgress(Message):
    """The export has its total and has begun: the ticker starts showing its progress."""

    def __init__(self, running: Running) -> None:
        super().__init__()
        self.running = running


class ExportFinished(Message):
    def __init__(self, destination: Path, written: int) -> None:
        super().__init__()
        self.destination = destination
        self.written = written


class ExportStopped(Message):
    """Cancelled (`problem` None) or failed: nothing was written at the destination."""

    def __init__(self, problem: str | None) -> None:
        super().__init__()
        self.problem = problem


# How each sort lists the sagas (every sort is descending).
_ORDER = {SortOrder.ID: "newest first", SortOrder.STARTED: "latest start first",
          SortOrder.DURATION: "longest first"}


def _sagas(number: int) -> str:
    return f"{format_count(number)} saga{'' if number == 1 else 's'}"


class FormatChoice(RadioButton):
    """A format's radio button, its mark told by glyph, not by colour alone: `▐●▌` when
    chosen, `▐ ▌` when not (Textual's own draws `●` in both, in two colours)."""

    @property  # type: ignore[override]
    def BUTTON_INNER(self) -> str:
        return "●" if self.value else " "


@dataclass(frozen=True, slots=True)
class Destination:
    """What the typed name means: the file it names (its folder resolved through symbolic
    links: the rename at the end lands there), and why it may not be written (None: it may)."""

    path: Path | None
    problem: str | None


def _from_home(path: Path) -> str:
    """The full path, with the home folder written `~` as a shell user reads it."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except (ValueError, RuntimeError):  # not under home, or no home to speak of
        return str(path)


class ExportScreen(ModalScreen[None]):
    """Asks where, then writes the view's sagas there with a progress bar."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel / close", key_display="esc"),
    ]

    def __init__(self, store: SagaSource, query: SagaQuery, *,
                 database: Path | Sequence[Path], view: str,
                 view_name: str, total: int | None, now: datetime,
                 folder: Path | None = None) -> None:
        """`view` describes the view to people ("failed · search “drain”"); `view_name` is
        its file-name-safe form; `total` is the view's count when the table knows it;
        `database`: the log or logs shown (none of them, nor their -wal/-shm, is written)."""
        super().__init__()
        self.store = store
        self.saga_query = query
        self.databases = [database] if isinstance(database, Path) else list(database)
        self.database = self.databases[0] if self.databases else Path()
        self.view_text = view
        self.view_name = view_name
        self.total = total
        self.folder = folder if folder is not None else Path.cwd()
        self.stamp = now.astimezone().strftime("%Y%m%d-%H%M%S")
        self.format = JSONL
        self.running = False
        self.cancelling = False
        self._confirmed: Path | None = None  # an existing file enter was pressed on once
        self._worker: Worker[None] | None = None
        self._exporting: Running | None = None
        self._ticker: Timer | None = None

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Static(self._what(), id="export-what", markup=False)
            with Horizontal(id="export-format-row"):
                yield Label("format", classes="export-label")
                with RadioSet(id="export-format"):
                    for fmt, label in _FORMAT_LABELS.items():
                        yield FormatChoice(label, value=fmt == self.format, id=f"export-{fmt}")
            with Horizontal(id="export-path-row"):
                yield Label("file", classes="export-label")
                yield Input(default_name(self.view_name, self.format, self.stamp),
                            id="export-path", select_on_focus=False)
            yield Static(id="export-destination", markup=False)
            yield Static(id="export-note", markup=False)
            yield ProgressBar(id="export-progress", show_eta=False)

    def on_mount(self) -> None:
        box = self.query_one("#export-box")
        box.border_title = "export the view"
        box.border_subtitle = "enter exports · escape closes"
        self.query_one(Input).focus()
        self._show_destination()

    def _what(self) -> Text:
        count = "the sagas of" if self.total is None else f"the {_sagas(self.total)} of"
        order = _ORDER.get(self.saga_query.sort, "in the table's order")
        text = Text(f"Writes {count} this view, {order}: ", end="")
        text.append_text(plain(self.view_text, "bold"))
        return text

    def _note(self, message: str, style: str = "") -> None:
        self.query_one("#export-note", Static).update(Text(safe(message), style=style))

    # -- choosing -----------------------------------------------------------------------------

    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self, message: RadioSet.Changed) -> None:
        chosen = CSV if message.pressed.id == f"export-{CSV}" else JSONL
        if chosen == self.format:  # chosen by the name just typed: nothing more to do
            return
        self.format = chosen
        path_input = self.query_one("#export-path", Input)
        path_input.value = renamed_for(path_input.value, chosen)  # the name follows the format
        self._show_destination()

    @on(Input.Changed, "#export-path")
    def _path_changed(self) -> None:
        if self.running:
            return
        self._confirmed = None
        named = format_of_name(self.query_one("#export-path", Input).value.strip())
        if named is not None and named != self.format:  # the format follows the name
            self.format = named
            self.query_one(f"#export-{named}", RadioButton).value = True
        self._show_destination()

    def _show_destination(self) -> None:
        """Where enter would write, in full, as the name is typed: before anything is written.
        A name that cannot be written gets the reason in the note instead."""
        where = self._where()
        text = Text(end="")
        if where.problem is None and where.path is not None:
            text.append(f"writes {FORMAT_NAMES[self.format]} to ", style="dim")
            text.append_text(plain(_from_home(where.path)))
        self.query_one("#export-destination", Static).update(text)
        self._note(where.problem or "", "bold")

    @on(Input.Submitted, "#export-path")
    def _submitted(self) -> None:
        if self.running:
            return
        where = self._where()
        if where.problem is not None or where.path is None:
            self._note(where.problem or UNUSABLE_NAME, "bold")
            return
        destination = where.path
        if destination.exists() and self._confirmed != destination:
            self._confirmed = destination
            self._note(f"{destination.name} exists: enter again to replace it, or change "
                       "the name", "bold")
            return
        self._start(destination)

    def _where(self) -> Destination:
        """The typed name made a full path, and why it may not be written (None: it may)."""
        typed = self.query_one("#export-path", Input).value.strip()
        if not typed:
            return Destination(None, "give a file name")
        try:
            destination = Path(typed).expanduser()
            if not destination.is_absolute():
                destination = self.folder / destination
            destination = _resolved_folder(destination)
            problem = next((said for said in (refused_destination(destination, database)
                                              for database in self.databases) if said), None)
        except ValueError:  # a NUL in `~user`: no such user, no such file
            return Destination(None, UNUSABLE_NAME)
        except RuntimeError:  # `~name` of no user (checked as it is typed: `~ro` of `~root`)
            return Destination(None, f"{typed.split('/')[0]}: no such user")
        return Destination(destination, problem or suffix_disagrees(typed, self.format))

    # -- exporting ----------------------------------------------------------------------------

    def _start(self, destination: Path) -> None:
        self.running = True
        self.query_one("#export-format", RadioSet).disabled = True
        self.query_one("#export-path", Input).disabled = True
        self.query_one("#export-box").border_subtitle = "escape cancels"
        self.add_class("-running")  # shows the progress bar
        self.query_one(ProgressBar).update(total=self.total, progress=0)
        self._note(f"exporting to {destination} …")
        self._worker = self.export(destination, self.format)

    @work(thread=True, exclusive=True, group=EXPORT_GROUP, exit_on_error=False)
    def export(self, destination: Path, fmt: str) -> None:
        worker = get_current_worker()

        def cancelled() -> bool:  # asked inside the store's scans too: escape stops them
            return worker.is_cancelled

        try:
            total = (self.total if self.total is not None
                     else self.store.count(self.saga_query, cancelled=cancelled))
            running = Running(total, monotonic())
            self.post_message(ExportProgress(running))

            def progress(written: int) -> None:
                running.written = written

            written = export_to_file(
                self.store.walk(self.saga_query, cancelled=cancelled), destination, fmt,
                progress=progress, cancelled=cancelled,
            )
        except ExportCancelled:
            self.post_message(ExportStopped(None))
        except StoreError as error:  # the file went away, or was reopened (R) meanwhile
            self.post_message(ExportStopped(None if worker.is_cancelled else error.message))
        except OSError as error:
            self.post_message(ExportStopped(f"cannot write {destination}: "
                                            f"{error.strerror or error}"))
        except Exception as error:  # anything else: said in the modal, never left running
            self.post_message(ExportStopped(f"{type(error).__name__}: {error}"))
        else:
            self.post_message(ExportFinished(destination, written))

    @on(ExportProgress)
    def _began(self, message: ExportProgress) -> None:
        self._exporting = message.running
        self._show_progress()
        self._ticker = self.set_interval(PROGRESS_EVERY, self._show_progress)

    def _show_progress(self) -> None:
        running = self._exporting
        if running is None:
            return
        written = running.written
        total = max(running.total, written)  # sagas added while exporting
        self.query_one(ProgressBar).update(total=total, progress=written)
        if not self.cancelling:
            self._note(progress_note(written, total, monotonic() - running.began))

    def _stop_ticking(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
        self._ticker = self._exporting = None

    @on(ExportFinished)
    def _finished(self, message: ExportFinished) -> None:
        self._stop_ticking()
        self.dismiss()  # first: the note then shows on the dashboard, not on this modal
        self.app.notify(f"exported {_sagas(message.written)} to {safe(message.destination)}",
                        title="export done", timeout=10, markup=False)

    @on(ExportStopped)
    def _stopped(self, message: ExportStopped) -> None:
        self._stop_ticking()
        if message.problem is None:
            self.dismiss()
            self.app.notify("export cancelled: no file written", timeout=5, markup=False)
            return
        # Failed: say why here, and let the operator change the name and try again.
        self.running = self.cancelling = False
        self.query_one("#export-format", RadioSet).disabled = False
        path_input = self.query_one("#export-path", Input)
        path_input.disabled = False
        path_input.focus()
        self.remove_class("-running")
        self.query_one("#export-box").border_subtitle = "enter exports · escape closes"
        self._note(f"export failed, no file written: {message.problem}", "bold")

    def action_cancel(self) -> None:
        if not self.running:
            self.dismiss()
            return
        if not self.cancelling:
            self.cancelling = True
            self._note("cancelling …")
            if self._worker is not None:
                self._worker.cancel()


def _resolved_folder(destination: Path) -> Path:
    """`destination` with its folder resolved (symbolic links, `..`) and its own name kept:
    the finished export is renamed onto that name, replacing a link there, not its target."""
    try:
        return destination.parent.resolve() / destination.name
    except (OSError, RuntimeError):  # a link loop: the path as given
        return destination
