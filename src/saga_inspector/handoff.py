"""Handing copied text on: through the terminal's clipboard (OSC 52), or, when the terminal
cannot take it, into a private file whose path the dashboard shows.

The limit. OSC 52 sends the text base64-encoded inside one escape sequence, and terminals
cap that sequence, dropping or silently cutting what is longer; 100 000 bytes (hterm's cap,
the figure clipboard plugins such as vim-oscyank keep under) is the common safe maximum.
64 KiB of text (65 536 UTF-8 bytes) is 87 384 bytes once encoded, under it with room for
the sequence's own bytes; it is also the size at which the dashboard stops showing a
payload whole.

The setting. `SAGA_INSPECTOR_CLIPBOARD=file` always writes a file (a terminal that drops
OSC 52 silently, tmux with `set-clipboard off`); `=terminal` always tries the clipboard
(under the limit); unset or `auto` writes a file for terminals known to have no OSC 52
clipboard (macOS Terminal, the Linux console, the legacy Windows console: see
`os_specific.terminal_without_clipboard`). A write the terminal driver refuses (an
error raised) also ends in a file; a terminal that drops OSC 52 silently cannot be told
apart, hence the setting.

The file. Never in the database's folder (or below it): a copy must not sit beside the
evidence, nor be mistaken for part of it. It goes to `copies` in the state folder
(on Linux `$XDG_STATE_HOME/saga-inspector/copies`, `~/.local/state/...`), a folder made
private (0700 on POSIX; see `os_specific.make_private_folder` for Windows); when that cannot
be used, a fresh private temporary folder. The file is created exclusively (never follows
or replaces anything) with a unique name, mode 0600.

Pure: no Textual; the dashboard's side is `tui/clipboard.py`.
"""

from __future__ import annotations

import contextlib
import enum
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .config import state_dir
from .os_specific import make_private_folder, terminal_without_clipboard

CLIPBOARD_LIMIT = 64 * 1024  # UTF-8 bytes of text; see the module's docstring
CLIPBOARD_SETTING = "SAGA_INSPECTOR_CLIPBOARD"
COPIES_FOLDER = "copies"


class Why(enum.Enum):
    """Why text goes to a file instead of the clipboard."""

    TOO_LARGE = "too large"
    SETTING = "setting"
    NO_CLIPBOARD = "no clipboard"
    WRITE_FAILED = "write failed"


@dataclass(frozen=True, slots=True)
class Route:
    """Where one copy goes: the clipboard (`why` None) or a file, and why."""

    why: Why | None = None
    terminal: str | None = None  # the terminal known to have no clipboard

    @property
    def to_clipboard(self) -> bool:
        return self.why is None


def text_size(text: str) -> int:
    """Bytes the terminal receives before encoding (what the limit counts)."""
    return len(text.encode("utf-8", errors="surrogatepass"))


def choose_route(text: str, env: Mapping[str, str] | None = None, *,
                 terminal: bool = True) -> Route:
    """Clipboard or file, from the setting, the size and the terminal. `terminal` False:
    the app has none of its own (headless, as in tests), so what the environment says
    about the terminal it was started from is not about it."""
    env = os.environ if env is None else env
    setting = env.get(CLIPBOARD_SETTING, "auto").strip().lower()
    if setting == "file":
        return Route(Why.SETTING)
    if text_size(text) > CLIPBOARD_LIMIT:
        return Route(Why.TOO_LARGE)
    if setting == "terminal" or not terminal:
        return Route()
    name = terminal_without_clipboard(env)
    return Route() if name is None else Route(Why.NO_CLIPBOARD, terminal=name)


def _within(folder: Path, outer: Path) -> bool:
    """Whether `folder` is `outer` or lies below it (symbolic links followed)."""
    folder, outer = folder.resolve(), outer.resolve()
    return folder == outer or outer in folder.parents


def private_folder(avoid: Path | None, env: Mapping[str, str] | None = None) -> Path:
    """A folder only this user can read, outside `avoid` (the database's folder)."""
    preferred = state_dir(env) / COPIES_FOLDER
    if avoid is None or not _within(preferred, avoid):
        with contextlib.suppress(OSError):
            make_private_folder(preferred)
            return preferred
    fresh = Path(tempfile.mkdtemp(prefix="saga-inspector-copies-"))  # made 0700
    if avoid is not None and _within(fresh, avoid):
        fresh.rmdir()
        raise OSError("no private folder outside the database's folder to write to")
    return fresh


def write_private_copy(text: str, stem: str, suffix: str, *, avoid: Path | None,
                       env: Mapping[str, str] | None = None,
                       now: datetime | None = None) -> Path:
    """Write `text` (UTF-8) to a new 0600 file with a unique name in `private_folder`;
    returns its path. `stem` names what it holds (`saga-12`), `suffix` its kind (`.json`)."""
    folder = private_folder(avoid, env)
    moment = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    handle, name = tempfile.mkstemp(prefix=f"{stem}-{moment}-", suffix=suffix, dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogatepass",
                       newline="") as file:
            file.write(text)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)
