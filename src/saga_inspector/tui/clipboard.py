"""Copy from the dashboard: the terminal's clipboard (OSC 52, `App.copy_to_clipboard`), or a
private file when the terminal cannot take the text; a notification says which, and where.

The text is made, sanitised and (when it goes to a file) written in a thread worker: the
whole saga as JSON, or a payload of megabytes, takes a second to make, and the keys must
not wait for it. What decides clipboard or file, and where files go: `handoff.py`.

Every copy goes through the one sanitiser. JSON from `strict_json` is ASCII already, so
for it the sanitiser changes nothing and the copy stays exact.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path

from textual.app import App
from textual.notifications import SeverityLevel
from textual.worker import Worker

from saga_inspector.export import name_safe
from saga_inspector.handoff import (
    CLIPBOARD_LIMIT,
    CLIPBOARD_SETTING,
    Route,
    Why,
    choose_route,
    text_size,
    write_private_copy,
)
from saga_inspector.sanitize import sanitize
from saga_inspector.store import SagaDetail
from saga_inspector.tui.views import Payload, SagaView
from saga_inspector.units import format_size

COPY_GROUP = "copy"
SAVED_TITLE = "copied to a file"


def copy_out(app: App[object], make_text: Callable[[], str], *, what: str, stem: str,
             suffix: str = ".txt", env: Mapping[str, str] | None = None,
             database: Path | None = None) -> Worker[None]:
    """Copy the text `make_text()` gives (made in a worker) and say where it went. `what`
    names it in the notification ("saga 12 as JSON"); `stem` and `suffix` name the file if
    one is written. A file never goes to the folder of the saga's log (`database`; None:
    the log of the saga the dashboard shows, see _shown_log)."""
    if database is None:
        database = _shown_log(app)
    hand_on = partial(_hand_on, app, make_text, what, stem, suffix, database, env)
    return app.run_worker(hand_on, thread=True, group=COPY_GROUP, exit_on_error=False,
                          name=f"copy {what}")


def _shown_log(app: App[object]) -> Path | None:
    """The log of the saga the dashboard shows: what a payload block, the payload screen and
    the triage screen copy is that saga's, and with several logs `app.path` (the first log)
    may be another log. Without a saga shown, the app's log."""
    screens = getattr(app, "screen_stack", None) or [None]
    view = getattr(screens[0], "view", None)
    shown = _log_path(view) if isinstance(view, SagaView) else None
    return shown if shown is not None else getattr(app, "path", None)


def _hand_on(app: App[object], make_text: Callable[[], str], what: str, stem: str,
             suffix: str, database: Path | None, env: Mapping[str, str] | None) -> None:
    try:
        text = sanitize(make_text(), multiline=True)
    except Exception as error:  # said in the app, never a traceback
        _say(app, f"could not make {what}: {error}", title="copy failed", severity="error")
        return
    route = choose_route(text, env, terminal=not app.is_headless)
    if route.to_clipboard:
        try:
            copied = app.call_from_thread(_to_clipboard, app, text)
        except RuntimeError:  # the app closed meanwhile
            return
        if copied:
            _say(app, f"copied {what} to the clipboard ({format_size(text_size(text))})")
            return
        route = Route(Why.WRITE_FAILED)
    avoid = None if database is None else database_folder(Path(database))
    try:
        path = write_private_copy(text, name_safe(stem), suffix, avoid=avoid, env=env)
    except OSError as error:
        _say(app, f"could not copy {what}: {error}", title="copy failed", severity="error")
        return
    _say(app, f"{what} {because(route, text)}: written to {path}", title=SAVED_TITLE,
         timeout=20)


def _to_clipboard(app: App[object], text: str) -> bool:
    """On the UI thread: False when the terminal write failed (the text goes to a file)."""
    try:
        app.copy_to_clipboard(text)
    except (OSError, ValueError):  # the driver's stream is closed or cannot take the text
        return False
    return True


def because(route: Route, text: str) -> str:
    """Why the text went to a file, for the notification."""
    if route.why is Why.TOO_LARGE:
        return (f"is {format_size(text_size(text))}, more than terminals take through the "
                f"clipboard ({format_size(CLIPBOARD_LIMIT)})")
    if route.why is Why.SETTING:
        return f"goes to a file ({CLIPBOARD_SETTING}=file)"
    if route.why is Why.NO_CLIPBOARD:
        return f"cannot go to the clipboard of {route.terminal}"
    return "could not be sent to the terminal's clipboard"


def database_folder(database: Path) -> Path:
    """The folder SQLite writes the log's -wal and -shm in: the real file's, when the log
    was given through a symbolic link."""
    try:
        return database.resolve().parent
    except (OSError, RuntimeError):  # a link loop now: the folder of the path as given
        return database.absolute().parent


def _say(app: App[object], message: str, *, title: str = "",
         severity: SeverityLevel = "information",
         timeout: float = 5) -> None:
    """Notify from the worker (paths and names are shown as text, never markup)."""
    with contextlib.suppress(RuntimeError):  # the app closed meanwhile: nobody to tell
        app.call_from_thread(app.notify, sanitize(message), title=title,
                             severity=severity, timeout=timeout, markup=False)


# -- what the dashboard's keys copy -------------------------------------------------------------


def saga_words(view: SagaView, several: bool = False) -> tuple[str, str]:
    """How a copy names the saga: `saga 12` and `saga-12`; with several logs shown, with
    its log (`saga stable/0.41.2/launcher:12`, `saga-stable-0.41.2-launcher-12`)."""
    label = view.detail.saga.source.label
    if several and label:
        return f"saga {label}:{view.saga_id}", f"saga-{label}-{view.saga_id}"
    return f"saga {view.saga_id}", f"saga-{view.saga_id}"


def _log_path(view: SagaView) -> Path | None:
    path = view.detail.saga.source.path
    return path if str(path) not in ("", ".") else None


def copy_payload(app: App[object], payload: Payload, what: str,
                 database: Path | None = None) -> Worker[None] | None:
    """One payload's whole value (pretty JSON, or its text when it is not JSON)."""
    if not payload.present:
        app.notify(f"no {sanitize(what)} to copy: nothing stored", severity="warning",
                   markup=False)
        return None
    suffix = ".json" if payload.note is None else ".txt"
    return copy_out(app, lambda: payload.full or "", what=what, stem=payload.label,
                    suffix=suffix, database=database)


def chosen_payload(view: SagaView, step_row: int | None,
                   several: bool = False) -> tuple[Payload, str]:
    """What `y` copies when no payload has focus: on the steps (`step_row`), the highlighted
    step's output, or its cmd when it stored no output (an in-flight step never reported
    back: what it sent is what there is); anywhere else, the saga's input. `several`: the
    words name the saga's log too."""
    saga, _ = saga_words(view, several)
    if step_row is None or not view.steps:
        return view.input, f"the input of {saga}"
    step = view.steps[min(max(step_row, 0), len(view.steps) - 1)]
    payload = step.output if step.output.present else step.cmd
    return payload, f"the {payload.label} of step {step.step.step_index} of {saga}"


def copy_saga(app: App[object], view: SagaView, several: bool = False) -> Worker[None]:
    """The saga with its steps as strict JSON (exact values: ASCII escapes, nothing lost);
    with several logs shown, it names its log (`"source"`)."""
    saga, stem = saga_words(view, several)
    return copy_out(app, partial(view.json_text, with_source=several),
                    what=f"{saga} as JSON", stem=stem, suffix=".json",
                    database=_log_path(view))


def copy_summary(app: App[object], view: SagaView, now: datetime,
                 several: bool = False) -> Worker[None]:
    """The plain-language triage summary of the saga (what `x` shows); with several logs
    shown, its first line names the saga's log."""
    saga, stem = saga_words(view, several)
    label = view.detail.saga.source.label if several else ""
    return copy_out(app, partial(triage_summary, view.detail, now, label),
                    what=f"the triage summary of {saga}",
                    stem=f"{stem}-summary", suffix=".txt", database=_log_path(view))


def triage_summary(detail: SagaDetail, now: datetime, source: str = "") -> str:
    """The summary text, from `saga_inspector.explain` (imported when first copied);
    `source`: the log's label, said first (several logs shown)."""
    from saga_inspector.explain import explain_text
    from saga_inspector.store.merged import last_write

    text = explain_text(detail, now, last_write=last_write(detail.saga.source.path))
    return with_log_line(text, source)


def with_log_line(text: str, source: str) -> str:
    """A copied summary, its first line naming the saga's log when several are shown."""
    return f"log: {source}\n{text}" if source else text
