"""The operator's settings and the per-user folders the tool may write to.

Settings are a tiny JSON object in `$XDG_CONFIG_HOME/saga-inspector/settings.json` (or
`~/.config/saga-inspector/settings.json`); today they hold the theme chosen in the dashboard
and the zone times are shown in (`zone`: "local" or "utc"; see display_time.py).
A missing, unreadable or broken file means "no settings": never an error, never a
traceback. Writing replaces the file whole (a temporary file renamed over it), so a crash
mid-write leaves the old settings, not half a file.

Pure: no Textual. Every function takes the environment (or a folder) as a parameter, so
tests point them at temporary folders and never touch the real home.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

APP_FOLDER = "saga-inspector"
SETTINGS_FILE = "settings.json"
# Larger than any settings file this tool writes: anything bigger is not ours to read.
_MAX_SETTINGS_BYTES = 64 * 1024
THEME = "theme"
ZONE = "zone"
ZONES = ("local", "utc")  # display_time.ZoneChoice's values


def _xdg_folder(env: Mapping[str, str], variable: str, fallback: str) -> Path:
    """An XDG base folder: the variable when it holds an absolute path (the spec says a
    relative one is ignored), otherwise the fallback under the home folder."""
    value = env.get(variable, "")
    if value and Path(value).is_absolute():
        return Path(value)
    home = env.get("HOME") or str(Path.home())
    return Path(home) / fallback


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the settings live: `$XDG_CONFIG_HOME/saga-inspector` or `~/.config/...`."""
    return _xdg_folder(os.environ if env is None else env, "XDG_CONFIG_HOME",
                       ".config") / APP_FOLDER


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the tool keeps files it makes for the operator (copies too large for the
    clipboard): `$XDG_STATE_HOME/saga-inspector` or `~/.local/state/saga-inspector`."""
    return _xdg_folder(os.environ if env is None else env, "XDG_STATE_HOME",
                       ".local/state") / APP_FOLDER


def load_settings(folder: Path) -> dict[str, object]:
    """The settings in `folder`, or {} when the file is missing, unreadable or not a JSON
    object."""
    path = folder / SETTINGS_FILE
    try:
        with path.open("rb") as file:
            raw = file.read(_MAX_SETTINGS_BYTES + 1)
        if len(raw) > _MAX_SETTINGS_BYTES:
            return {}
        value = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return {}
    return value if isinstance(value, dict) else {}


def save_setting(folder: Path, key: str, value: object) -> bool:
    """Set one setting, keeping the others; False when the folder cannot be written (a
    read-only home): the setting is then simply not remembered."""
    settings = {**load_settings(folder), key: value}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".settings-", suffix=".tmp")
    except OSError:
        return False
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(settings, file, indent=2, sort_keys=True)
            file.write("\n")
        os.replace(temporary, folder / SETTINGS_FILE)
    except (OSError, TypeError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True


def saved_theme(folder: Path) -> str | None:
    """The theme name last chosen, when one was saved and it is a string."""
    theme = load_settings(folder).get(THEME)
    return theme if isinstance(theme, str) and theme else None


def save_theme(folder: Path, theme: str) -> bool:
    return save_setting(folder, THEME, theme)


def saved_zone(folder: Path) -> str | None:
    """The display zone last chosen ("local" or "utc"), when one was saved and is known."""
    zone = load_settings(folder).get(ZONE)
    return zone if isinstance(zone, str) and zone in ZONES else None


def save_zone(folder: Path, zone: str) -> bool:
    return save_setting(folder, ZONE, zone)
