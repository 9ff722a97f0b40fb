"""Everything that differs between Linux, macOS and Windows, in one place: the only module
that may call POSIX-only APIs (user ids, `pwd`, `chmod` as a privacy measure, ...).
tests/test_os_specific.py scans the package and fails if any other module calls one.

- The SQLite file URI for the read-only (`mode=ro`) and snapshot (`immutable=1`) opens.
- Whose file it is: "a file that belongs to another user" is a POSIX question (uids);
  Windows has no uid and its files are guarded by ACLs instead (see `another_users_file`).
- The private folder for copies, and how it is made private.
- The settings and state folders: XDG on Linux and other Unixes (exactly where they have
  always been), `platformdirs` on macOS and Windows.
- The terminals known to have no OSC 52 clipboard.

Named `os_specific` so it never shadows the standard library's `platform`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path, PurePath, PureWindowsPath
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from platformdirs.api import PlatformDirsABC

APP_FOLDER = "saga-inspector"
WINDOWS, MACOS, UNIX = "windows", "macos", "unix"


def _system() -> str:
    if sys.platform == "win32":
        return WINDOWS
    if sys.platform == "darwin":
        return MACOS
    return UNIX


# Which rules apply; tests set it to prove the other platforms' branches here.
SYSTEM = _system()


# -- the SQLite file URI ---------------------------------------------------------------------

# What may stay as it is in a URI path (RFC 3986 unreserved, the separator, the drive's
# colon). Everything else is percent-encoded from its UTF-8 bytes, which SQLite decodes
# back (https://sqlite.org/uri.html): `?` would start the query, `#` the fragment, `%` an
# escape, and spaces and non-ASCII are not allowed in a URI at all.
_URI_SAFE = "/:"


def sqlite_uri(path: PurePath, *, immutable: bool) -> str:
    """The `file:` URI SQLite opens `path` (absolute) by, read-only, as a snapshot when
    `immutable`. POSIX `/a b/c.db` -> `file:///a%20b/c.db`; Windows `C:\\x\\c.db` ->
    `file:///C:/x/c.db`; a UNC path `\\\\server\\share\\c.db` -> `file:////server/share/c.db`
    (an empty authority, the path starting with `//`: SQLite refuses any authority but
    `localhost`, and Windows takes `//server/share` as the UNC path it is)."""
    flags = "mode=ro&immutable=1" if immutable else "mode=ro"
    return f"file://{quote(_uri_path(path), safe=_URI_SAFE)}?{flags}"


def _uri_path(path: PurePath) -> str:
    if not isinstance(path, PureWindowsPath):
        return path.as_posix()
    text = str(path)
    # The long-path forms `\\?\C:\...` and `\\?\UNC\server\share\...` name the same file
    # as `C:\...` and `\\server\share\...`, which are what SQLite's own Windows code expects.
    if text.startswith("\\\\?\\UNC\\"):
        text = "\\\\" + text[len("\\\\?\\UNC\\"):]
    elif text.startswith("\\\\?\\"):
        text = text[len("\\\\?\\"):]
    posix = PureWindowsPath(text).as_posix()
    return posix if posix.startswith("//") else "/" + posix  # `/C:/...` after `file://`


# -- whose file it is ------------------------------------------------------------------------


def effective_user() -> int | None:
    """The effective uid SQLite's opens are made with; None where the OS has none (Windows)."""
    geteuid = getattr(os, "geteuid", None)
    return None if geteuid is None else geteuid()


def another_users_file(owner: int, reader: int | None) -> bool:
    """Whether files SQLite creates beside a database owned by `owner` would belong to
    someone else than its owner: a `-shm` of ours would then stop its launcher, who cannot
    write it. Root (0) is never that: SQLite hands the files it creates as root to the
    database's owner.

    Where the OS has no uid (`reader` None: Windows), the answer is no, and the log is read
    live, as its owner would read it. That is safe for the launcher's own writes: a file
    created on Windows takes its permissions from the folder it is made in (inherited ACLs),
    not from who made it, and the launcher's folder gives the launcher's user full control
    of what is created in it; so a `-wal`/`-shm` this tool creates there stays writable by
    the launcher. (`st_uid` is always 0 there, so comparing it would mean nothing.)"""
    return reader is not None and reader not in (0, owner)


def user_name(uid: int) -> str:
    """`name (uid N)` for messages, or `uid N` when there is no name (or no `pwd`)."""
    try:
        import pwd
    except ImportError:
        return f"uid {uid}"
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (KeyError, OverflowError):
        return f"uid {uid}"


# -- private folders -------------------------------------------------------------------------


def make_private_folder(folder: Path) -> None:
    """Create `folder` private to this user, or make an existing one of ours private; raise
    OSError for a folder that is not a real one of this user's.

    POSIX: mode 0700, its owner checked to be us. Windows: mode bits are not permissions
    there (`chmod` only sets a read-only flag) and there is no uid to compare; the folder
    is private by where it is: the state folder is inside the user's own profile
    (`%LOCALAPPDATA%`), as is the temporary folder, whose inherited ACLs give access to the
    user (and the system's administrators) alone."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise OSError(f"{folder} is not a folder")
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # Windows: private by place, as said above
        return
    if info.st_uid != getuid():
        raise OSError(f"{folder} belongs to another user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(folder, 0o700)


# -- the settings and state folders ----------------------------------------------------------


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the settings live. Linux and other Unixes: `$XDG_CONFIG_HOME/saga-inspector`
    or `~/.config/saga-inspector`; macOS: `~/Library/Application Support/saga-inspector`;
    Windows: `%LOCALAPPDATA%\\saga-inspector` (the last two from platformdirs)."""
    if SYSTEM == UNIX:
        return _xdg_folder(os.environ if env is None else env, "XDG_CONFIG_HOME",
                           ".config") / APP_FOLDER
    return Path(_platform_dirs().user_config_dir)


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the tool keeps files it makes for the operator. Linux and other Unixes:
    `$XDG_STATE_HOME/saga-inspector` or `~/.local/state/saga-inspector`; macOS and Windows:
    platformdirs' state folder (the same as the settings folder there)."""
    if SYSTEM == UNIX:
        return _xdg_folder(os.environ if env is None else env, "XDG_STATE_HOME",
                           ".local/state") / APP_FOLDER
    return Path(_platform_dirs().user_state_dir)


def _xdg_folder(env: Mapping[str, str], variable: str, fallback: str) -> Path:
    """An XDG base folder: the variable when it holds an absolute path (the spec says a
    relative one is ignored; platformdirs would take it), otherwise the fallback under the
    home folder. Kept by hand on Unix so the folders stay exactly where they always were."""
    value = env.get(variable, "")
    if value and Path(value).is_absolute():
        return Path(value)
    home = env.get("HOME") or str(Path.home())
    return Path(home) / fallback


def _platform_dirs() -> PlatformDirsABC:
    """platformdirs' rules for this system, imported only where they are used."""
    if SYSTEM == WINDOWS:
        from platformdirs.windows import Windows

        return Windows(APP_FOLDER, appauthor=False)
    from platformdirs.macos import MacOS

    return MacOS(APP_FOLDER, appauthor=False)


# -- terminals -------------------------------------------------------------------------------

WINDOWS_CONSOLE = ("the Windows console (conhost), which has no OSC 52 clipboard; Windows "
                   "Terminal has one")


# -- open files --------------------------------------------------------------------------------

# Descriptors a log costs when open (two connections, each with the file and its -wal; the
# -shm), and those the rest of the process needs.
FILES_PER_LOG = 6
FILES_SPARE = 256


def allow_open_logs(count: int) -> None:
    """Raise this process's limit on open files (up to the hard limit) so that `count` logs
    can be open at once: macOS starts at 256, enough for about 40. Windows keeps SQLite's
    files as handles, which have no such small limit."""
    if SYSTEM == WINDOWS:
        return
    try:
        import resource
    except ImportError:
        return

    wanted = count * FILES_PER_LOG + FILES_SPARE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    # (As many as allowed: a log that cannot be opened then says so on its own.)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def terminal_without_clipboard(env: Mapping[str, str]) -> str | None:
    """The terminal the dashboard runs in when it is known to have no OSC 52 clipboard.

    The legacy Windows console announces nothing: a Windows process with neither
    `WT_SESSION` (Windows Terminal) nor `TERM_PROGRAM` (VS Code, mintty, ...) is in it."""
    if env.get("TERM_PROGRAM") == "Apple_Terminal":
        return "macOS Terminal"
    if env.get("TERM") == "linux":
        return "the Linux console"
    if SYSTEM == WINDOWS and not env.get("WT_SESSION") and not env.get("TERM_PROGRAM"):
        return WINDOWS_CONSOLE
    return None
