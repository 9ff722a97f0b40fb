"""What differs between Linux, macOS and Windows lives in os_specific.py alone (the scan
below enforces it); here each difference is proven, the other platforms' branches too."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from urllib.parse import unquote

import pytest
from textual.command import CommandPalette
from textual.widgets import Input

from saga_inspector import os_specific
from saga_inspector.handoff import Why, choose_route, private_folder
from saga_inspector.os_specific import (
    another_users_file,
    config_dir,
    make_private_folder,
    sqlite_uri,
    state_dir,
    terminal_without_clipboard,
)
from saga_inspector.store import SagaStore
from saga_inspector.store.connection import Beside, OpenPlan, plan_open
from saga_inspector.tui.clipboard import because

from .conftest import POSIX_ONLY_MODULES, POSIX_ONLY_OS
from .factory import SagaLogFactory, cleanup_saga
from .helpers import SIZE, idle, make_app, pilot_test, run_cli, wait_for

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "saga_inspector"
ALLOWED = PACKAGE / "os_specific.py"
# Calls that exist everywhere but only mean something on POSIX (a mode as privacy).
POSIX_MEANING = ("chmod", "fchmod", "lchmod", "umask")
POSIX_ONLY_CALLS = {("os", name) for name in (*POSIX_ONLY_OS, *POSIX_MEANING)} | {
    ("time", "tzset")}
AWKWARD = "évidence #1 ?100% (copy)"


# -- only one module may call POSIX-only APIs -------------------------------------------------


def posix_only_uses(source: str, label: str) -> list[str]:
    """Every POSIX-only API a source file reaches for, however it is spelled."""
    found = []
    names = {name for _module, name in POSIX_ONLY_CALLS}
    for node in ast.walk(ast.parse(source, label)):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in POSIX_ONLY_CALLS):
            found.append(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in ("os", "time"):
            found += [f"{node.module}.{a.name}" for a in node.names
                      if (node.module, a.name) in POSIX_ONLY_CALLS]
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""])
            found += [m for m in modules if m.split(".")[0] in POSIX_ONLY_MODULES]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in names):
            found.append(f"{node.func.id}(..., {node.args[1].value!r})")
    return found


def test_no_module_but_os_specific_calls_a_posix_only_api() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) >= 30 and ALLOWED in files
    offending = {str(path.relative_to(PACKAGE)): posix_only_uses(path.read_text(), str(path))
                 for path in files if path != ALLOWED}
    assert {path: uses for path, uses in offending.items() if uses} == {}
    assert posix_only_uses(ALLOWED.read_text(), "os_specific.py")  # the scan sees them


def test_the_scan_would_notice_each_spelling() -> None:
    sample = (
        "import os, pwd\n"
        "from os import geteuid\n"
        "import fcntl as f\n"
        "os.geteuid(); os.chown('x', 1, 1); os.chmod('x', 0o700); time.tzset()\n"
        "if hasattr(os, 'getuid'): getattr(os, 'getuid')()\n"
        "os.stat('x'); os.access('x', 1)\n"
    )
    assert posix_only_uses(sample, "sample.py") == [
        "pwd", "os.geteuid", "fcntl", "hasattr(..., 'getuid')", "os.geteuid", "os.chown",
        "os.chmod", "time.tzset", "getattr(..., 'getuid')"]


# -- the SQLite file URI ----------------------------------------------------------------------


@pytest.mark.parametrize(("path", "uri"), [
    (PurePosixPath("/home/op/.agentmux/launcher-sagas.db"),
     "file:///home/op/.agentmux/launcher-sagas.db"),
    (PurePosixPath(f"/mnt/{AWKWARD}/launcher-sagas.db"),
     "file:///mnt/%C3%A9vidence%20%231%20%3F100%25%20%28copy%29/launcher-sagas.db"),
    (PurePosixPath("/a:b/c&d=e;f.db"), "file:///a:b/c%26d%3De%3Bf.db"),
    (PureWindowsPath(r"C:\Users\Op\.agentmux\launcher-sagas.db"),
     "file:///C:/Users/Op/.agentmux/launcher-sagas.db"),
    (PureWindowsPath(rf"D:\Case Files\{AWKWARD}\launcher-sagas.db"),
     "file:///D:/Case%20Files/%C3%A9vidence%20%231%20%3F100%25%20%28copy%29/launcher-sagas.db"),
    (PureWindowsPath(r"\\server\share\logs\launcher-sagas.db"),
     "file:////server/share/logs/launcher-sagas.db"),
    (PureWindowsPath(r"\\?\C:\Users\Op\launcher-sagas.db"),
     "file:///C:/Users/Op/launcher-sagas.db"),
    (PureWindowsPath(r"\\?\UNC\server\share\launcher-sagas.db"),
     "file:////server/share/launcher-sagas.db"),
])
def test_the_uri_names_the_file_on_each_platform(path: PurePath, uri: str) -> None:
    assert sqlite_uri(path, immutable=False) == f"{uri}?mode=ro"
    assert sqlite_uri(path, immutable=True) == f"{uri}?mode=ro&immutable=1"
    # Nothing SQLite would read as the query, a fragment or an escape is left in the path.
    encoded = uri.removeprefix("file://")
    assert not {"?", "#", " ", "&"} & set(encoded) and encoded.isascii()


def test_a_posix_uri_decodes_back_to_the_path(tmp_path: Path) -> None:
    path = tmp_path / AWKWARD / "x%41 #?.db"
    uri = sqlite_uri(path, immutable=False)
    assert unquote(uri.removeprefix("file://").removesuffix("?mode=ro")) == str(path)


# -- whose file it is -------------------------------------------------------------------------


def test_another_users_file_only_where_there_are_user_ids() -> None:
    assert another_users_file(owner=1000, reader=1001)
    assert not another_users_file(owner=1000, reader=1000)
    assert not another_users_file(owner=1000, reader=0)  # root: SQLite hands files over
    assert not another_users_file(owner=0, reader=None)  # Windows: read live, see docstring


def test_without_user_ids_a_log_opens_live(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another uid's file, no -wal/-shm yet: a POSIX reader opens a snapshot; on Windows
    # (no uid: `effective_user()` is None) the same file is read live.
    theirs = Beside(owner=1234, wal_size=None, shm_exists=False)
    db = Path("/logs/launcher-sagas.db")
    assert plan_open(db, theirs, immutable=False, force=False, euid=4321).immutable
    assert plan_open(db, theirs, immutable=False, force=False, euid=None) == OpenPlan(False)
    monkeypatch.delattr(os, "geteuid", raising=False)
    assert os_specific.effective_user() is None
    path = make_log([cleanup_saga(1)])
    with SagaStore.open(path) as store:
        assert store.counts().total == 1
        assert not store.is_snapshot


# -- private folders --------------------------------------------------------------------------


def test_a_private_folder_is_0700_and_its_mode_mended(tmp_path: Path) -> None:
    folder = tmp_path / "state" / "copies"
    make_private_folder(folder)
    assert folder.stat().st_mode & 0o777 == 0o700
    folder.chmod(0o755)
    make_private_folder(folder)
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_link_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "copies").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError, match="not a folder"):
        make_private_folder(tmp_path / "copies")


def test_without_user_ids_the_copy_folder_is_still_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "getuid", raising=False)
    folder = private_folder(None, {"XDG_STATE_HOME": str(tmp_path / "state")})
    assert folder == tmp_path / "state" / "saga-inspector" / "copies" and folder.is_dir()


# -- the settings and state folders ------------------------------------------------------------


def test_on_linux_the_folders_are_where_they_always_were(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os_specific, "SYSTEM", os_specific.UNIX)
    env = {"HOME": "/home/op"}
    assert str(config_dir(env)) == "/home/op/.config/saga-inspector"
    assert str(state_dir(env)) == "/home/op/.local/state/saga-inspector"
    env = {"HOME": "/home/op", "XDG_CONFIG_HOME": "/x/cfg", "XDG_STATE_HOME": "/x/st"}
    assert (str(config_dir(env)), str(state_dir(env))) == ("/x/cfg/saga-inspector",
                                                           "/x/st/saga-inspector")


@pytest.mark.skipif(os_specific.SYSTEM != os_specific.UNIX, reason="XDG rules are Unix's")
def test_on_linux_platformdirs_agrees_for_absolute_xdg_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    for variable in ("XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable))
    assert config_dir() == Path(platformdirs.user_config_dir("saga-inspector"))
    assert state_dir() == Path(platformdirs.user_state_dir("saga-inspector"))
    for variable in ("XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(variable)
    assert config_dir() == Path(platformdirs.user_config_dir("saga-inspector"))
    assert state_dir() == Path(platformdirs.user_state_dir("saga-inspector"))


def test_on_macos_the_folders_come_from_platformdirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os_specific, "SYSTEM", os_specific.MACOS)
    monkeypatch.setenv("HOME", str(tmp_path))
    for variable in ("XDG_CONFIG_HOME", "XDG_STATE_HOME"):  # (newer platformdirs honour them)
        monkeypatch.delenv(variable, raising=False)
    expected = tmp_path / "Library" / "Application Support" / "saga-inspector"
    assert config_dir() == expected and state_dir() == expected


def test_on_windows_the_folders_come_from_platformdirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from platformdirs import windows

    # What platformdirs asks Windows for, read instead from the variables Windows sets.
    monkeypatch.setattr(windows, "get_win_folder", windows.get_win_folder_from_env_vars)
    monkeypatch.setattr(os_specific, "SYSTEM", os_specific.WINDOWS)
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    expected = Path(tmp_path / "Local" / "saga-inspector")
    assert config_dir() == expected and state_dir() == expected


# -- terminals --------------------------------------------------------------------------------


@pytest.mark.parametrize(("system", "env", "terminal"), [
    (os_specific.WINDOWS, {}, os_specific.WINDOWS_CONSOLE),
    (os_specific.WINDOWS, {"WT_SESSION": "7f0e"}, None),            # Windows Terminal
    (os_specific.WINDOWS, {"TERM_PROGRAM": "vscode"}, None),
    (os_specific.UNIX, {}, None),                                    # not Windows at all
    (os_specific.MACOS, {"TERM_PROGRAM": "Apple_Terminal"}, "macOS Terminal"),
    (os_specific.MACOS, {"TERM_PROGRAM": "iTerm.app"}, None),
    (os_specific.UNIX, {"TERM": "linux"}, "the Linux console"),
])
def test_terminals_without_a_clipboard(monkeypatch: pytest.MonkeyPatch, system: str,
                                       env: dict[str, str], terminal: str | None) -> None:
    monkeypatch.setattr(os_specific, "SYSTEM", system)
    assert terminal_without_clipboard(env) == terminal


def test_the_legacy_windows_console_copies_to_a_file_and_says_why(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os_specific, "SYSTEM", os_specific.WINDOWS)
    route = choose_route("text", {})
    assert route.why is Why.NO_CLIPBOARD
    assert because(route, "text") == ("cannot go to the clipboard of the Windows console "
                                      "(conhost), which has no OSC 52 clipboard; Windows "
                                      "Terminal has one")


# -- a log under every awkward character, end to end ------------------------------------------


@pytest.mark.usefixtures("os_flavour")
@pytest.mark.parametrize("immutable", [False, True])
def test_a_log_in_an_awkward_folder_opens_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], immutable: bool
) -> None:
    folder = tmp_path / AWKWARD
    folder.mkdir()
    path = SagaLogFactory(folder)([cleanup_saga(1), cleanup_saga(2)])
    before = sorted(p.name for p in folder.iterdir())
    flags = ["--immutable"] if immutable else []
    stats = run_cli(capsys, "stats", str(path), "--json", *flags)
    assert stats.code == 0, stats.err
    assert json.loads(stats.out)["total"] == 2
    assert json.loads(stats.out)["database"] == str(path)
    shown = run_cli(capsys, "show", str(path), "2", "--json", *flags)
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["saga_id"] == 2
    with SagaStore.open(path, immutable=immutable) as store:
        assert store.is_snapshot is immutable
    if immutable:  # a snapshot creates nothing beside the file
        assert sorted(p.name for p in folder.iterdir()) == before


# -- keys a common terminal keeps for itself --------------------------------------------------


@pilot_test
async def test_P_opens_the_palette_where_ctrl_p_is_taken(make_log: SagaLogFactory) -> None:
    """VS Code's terminal on Windows and Linux takes ctrl+p (Quick Open) for itself."""
    app = make_app(make_log([cleanup_saga(1)]))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("ctrl+p")  # still there
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))
        await pilot.press("slash", "P")  # in the search line, P is a letter
        await wait_for(pilot, lambda: app.query_one("#search-input", Input).value == "P")
        assert not isinstance(app.screen, CommandPalette)
