"""Settings: the theme chosen in the dashboard is remembered between runs in the user's
config folder; a broken settings file is ignored. Every test uses its own folders."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from saga_inspector import config
from saga_inspector.config import (
    SETTINGS_FILE,
    config_dir,
    load_settings,
    save_setting,
    save_theme,
    saved_theme,
    state_dir,
)
from saga_inspector.tui.app import SagaInspectorApp

from .factory import SagaLogFactory, cleanup_saga
from .helpers import idle, make_app

SIZE = (120, 40)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "config" / "saga-inspector"


# -- where -----------------------------------------------------------------------------------


def test_folders_follow_xdg_and_fall_back_to_home() -> None:
    env = {"HOME": "/home/op", "XDG_CONFIG_HOME": "/cfg", "XDG_STATE_HOME": "/state"}
    assert config_dir(env) == Path("/cfg/saga-inspector")
    assert state_dir(env) == Path("/state/saga-inspector")
    home_only = {"HOME": "/home/op"}
    assert config_dir(home_only) == Path("/home/op/.config/saga-inspector")
    assert state_dir(home_only) == Path("/home/op/.local/state/saga-inspector")
    # The XDG spec: a relative path in the variable is ignored.
    relative = {"HOME": "/home/op", "XDG_CONFIG_HOME": "cfg", "XDG_STATE_HOME": ""}
    assert config_dir(relative) == Path("/home/op/.config/saga-inspector")
    assert state_dir(relative) == Path("/home/op/.local/state/saga-inspector")


# -- reading and writing ----------------------------------------------------------------------


def test_a_setting_is_saved_and_read_back_keeping_the_others(folder: Path) -> None:
    assert saved_theme(folder) is None  # nothing saved yet: no folder made by reading
    assert not folder.exists()
    assert save_setting(folder, "other", [1, 2])
    assert save_theme(folder, "textual-light")
    assert saved_theme(folder) == "textual-light"
    assert load_settings(folder) == {"other": [1, 2], "theme": "textual-light"}
    assert sorted(p.name for p in folder.iterdir()) == [SETTINGS_FILE]  # no temporary left


@pytest.mark.parametrize("content", [
    b"", b"{", b"not json", b"\xff\xfe\x00garbage", b"[\"theme\"]", b"\"textual-light\"",
    b"{\"theme\": 42}", b"{\"theme\": \"\"}", b"[" * 100_000,
    b"{\"theme\": \"textual-light\", \"pad\": \"" + b"x" * 70_000 + b"\"}",
])
def test_a_broken_settings_file_is_ignored(folder: Path, content: bytes) -> None:
    folder.mkdir(parents=True)
    (folder / SETTINGS_FILE).write_bytes(content)
    assert saved_theme(folder) is None
    assert isinstance(load_settings(folder), dict)


def test_an_unreadable_settings_file_is_ignored(folder: Path) -> None:
    (folder / SETTINGS_FILE).mkdir(parents=True)  # a folder where the file should be
    assert load_settings(folder) == {}
    assert save_theme(folder, "nord") is False  # cannot replace it: not remembered, no error
    assert saved_theme(folder) is None


def test_a_settings_folder_that_cannot_be_made_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert save_theme(blocker / "saga-inspector", "nord") is False


# -- the dashboard ------------------------------------------------------------------------------


async def run_app(app: SagaInspectorApp, theme: str | None = None) -> str:
    """Run the dashboard until settled, pick `theme` (as ctrl+p → theme does), quit;
    returns the theme it started with."""
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        started = app.theme
        if theme is not None:
            app.theme = theme
            await pilot.pause()
            await pilot.pause()
        await pilot.press("q")
    return started


def dashboard(path: Path, folder: Path | None) -> SagaInspectorApp:
    return make_app(path, config_dir=folder)


def test_the_theme_is_remembered_across_runs(make_log: SagaLogFactory, folder: Path) -> None:
    log = make_log([cleanup_saga(1)])
    default = asyncio.run(run_app(dashboard(log, folder), theme="textual-light"))
    assert default == "textual-dark"
    assert json.loads((folder / SETTINGS_FILE).read_text()) == {"theme": "textual-light"}
    assert asyncio.run(run_app(dashboard(log, folder), theme="nord")) == "textual-light"
    assert asyncio.run(run_app(dashboard(log, folder))) == "nord"


def test_a_light_theme_restored_is_drawn_in_light_mode(make_log: SagaLogFactory,
                                                       folder: Path) -> None:
    save_theme(folder, "textual-light")
    app = dashboard(make_log([cleanup_saga(1)]), folder)

    async def check() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await idle(pilot)
            assert app.theme == "textual-light" and app.has_class("-light-mode")

    asyncio.run(check())


@pytest.mark.parametrize("content", [b"{broken", b"{\"theme\": \"no-such-theme\"}"])
def test_a_broken_or_unknown_saved_theme_starts_with_the_default(
    make_log: SagaLogFactory, folder: Path, content: bytes
) -> None:
    folder.mkdir(parents=True)
    (folder / SETTINGS_FILE).write_bytes(content)
    app = dashboard(make_log([cleanup_saga(1)]), folder)
    assert asyncio.run(run_app(app)) == "textual-dark"
    assert app.return_code == 0


def test_without_a_config_folder_nothing_is_read_or_written(
    make_log: SagaLogFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "cfg"))
    save_theme(config_dir(), "textual-light")  # would be restored if it were read
    before = sorted(str(p) for p in home.rglob("*"))
    started = asyncio.run(run_app(dashboard(make_log([cleanup_saga(1)]), None), theme="nord"))
    assert started == "textual-dark"
    assert sorted(str(p) for p in home.rglob("*")) == before
    assert saved_theme(config_dir()) == "textual-light"


def test_run_dashboard_remembers_in_the_users_config_folder(
    make_log: SagaLogFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    made: list[Path | None] = []

    class Stub:
        return_code = 0

        def run(self) -> None:
            pass

    def fake_create_app(path: Path, **options: object) -> Stub:
        made.append(options.get("config_dir"))  # type: ignore[arg-type]
        return Stub()

    monkeypatch.setattr("saga_inspector.tui.app.create_app", fake_create_app)
    from saga_inspector.tui import run_dashboard

    assert run_dashboard(make_log([cleanup_saga(1)])) == 0
    assert made == [tmp_path / "xdg" / config.APP_FOLDER]
    assert not os.path.exists(tmp_path / "xdg")  # nothing written until a theme is picked


def test_switching_the_theme_redraws_the_colours_baked_into_the_panes(
    make_log: SagaLogFactory,
) -> None:
    """Badges and marks are drawn with the theme's colours at the time: a new theme draws
    them again (else a light theme would show the dark theme's pale-on-dark badges)."""
    from saga_inspector.tui.widgets.step_list import StepList

    saga = cleanup_saga(1, "running", drained=None)
    app = dashboard(make_log([saga]), None)

    def in_flight_cell() -> object:
        steps = app.dashboard.query_one(StepList)
        return steps.get_row_at(1)[3].style  # the in-flight step's state cell

    async def check() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await idle(pilot)
            dark = in_flight_cell()
            app.theme = "textual-light"
            await pilot.pause()
            await pilot.pause()
            light = in_flight_cell()
            steps = app.dashboard.query_one(StepList)
            assert light != dark
            assert light == steps.get_component_rich_style("step-list--in-flight",
                                                           partial=True)

    asyncio.run(check())
