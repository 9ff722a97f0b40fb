from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from saga_inspector.display_time import ZoneChoice, display_choice, set_display_choice
from saga_inspector.store import FORMATS
from saga_inspector.store.formats import LAUNCHER, LogFormat
from saga_inspector.tui.app import SagaInspectorApp

from .factory import SagaLogFactory


@pytest.fixture(autouse=True)
def _one_display_zone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Every test starts in the default display zone (local), with no remembered setting (nor
    a moved AgentMux data folder): a
    developer's own settings.json (a zone chosen in the dashboard) never reaches a test, and
    a test that switches the zone (the CLI's --utc, the palette) leaves it switched for
    nobody after it."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))
    monkeypatch.delenv("AGENTMUX_DATA_DIR", raising=False)  # discovery: only what a test sets
    set_display_choice(ZoneChoice.LOCAL)
    yield
    set_display_choice(ZoneChoice.LOCAL)
    assert display_choice() is ZoneChoice.LOCAL


@pytest.fixture(scope="module", params=FORMATS, ids=[fmt.name for fmt in FORMATS])
def log_format(request: pytest.FixtureRequest) -> LogFormat:
    """Runs a test once per saga log format (launcher, server), as Harlequin's
    `app_all_adapters` runs its tests over every adapter. A test (or a fixture it uses) that
    asks for `log_format` runs twice, and `make_log` then writes that format; a test that
    does not ask gets launcher logs, as before. Module scope, so that module-scoped fixtures
    (a log shared by a module's tests) can follow it too."""
    return request.param


@pytest.fixture
def make_log(request: pytest.FixtureRequest, tmp_path: Path) -> SagaLogFactory:
    """Builds saga log files in tmp_path: `make_log([cleanup_saga(1), ...])`, in the format
    of `log_format` when the test asks for it (launcher otherwise)."""
    folder = tmp_path / "logs"
    folder.mkdir()
    fmt = request.getfixturevalue("log_format") if "log_format" in request.fixturenames \
        else LAUNCHER
    return SagaLogFactory(folder, fmt)


@pytest.fixture
def clipboard(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """What the app copies, caught instead of sent to the terminal. A developer's own
    clipboard setting and state folder are kept out: fallback copies land in `tmp_path`."""
    monkeypatch.delenv("SAGA_INSPECTOR_CLIPBOARD", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    copied: list[str] = []
    monkeypatch.setattr(SagaInspectorApp, "copy_to_clipboard",
                        lambda self, text: copied.append(text))
    return copied


# What Windows' `os` lacks that POSIX code reaches for (and the POSIX-only modules): the mode
# `without_posix` takes them away. tests/test_os_specific.py allows them in os_specific.py only.
POSIX_ONLY_OS = ("geteuid", "getuid", "getegid", "getgid", "getgroups", "seteuid", "setuid",
                 "chown", "lchown", "fchown", "getpwuid", "uname", "sysconf", "statvfs")
POSIX_ONLY_MODULES = ("pwd", "grp", "fcntl", "termios", "tty", "pty", "resource", "posix")


@pytest.fixture(params=["posix", "without-posix"])
def os_flavour(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test twice: as this machine is, and again with the POSIX-only parts of `os`
    removed and the POSIX-only modules unimportable, as on Windows (where `os.geteuid` does
    not exist). Modules opt in with `pytestmark = pytest.mark.usefixtures("os_flavour")`."""
    if request.param == "without-posix":
        for name in POSIX_ONLY_OS:
            monkeypatch.delattr(os, name, raising=False)
        for module in POSIX_ONLY_MODULES:
            # A module already imported keeps its reference; a new `import pwd` now fails.
            monkeypatch.setitem(sys.modules, module, None)
    return request.param
