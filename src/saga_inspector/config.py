"""The operator's settings and the per-user folders the tool may write to.

Settings are a tiny JSON object in `settings.json` in `config_dir()`: on Linux
`$XDG_CONFIG_HOME/saga-inspector/` (or `~/.config/saga-inspector/`), on macOS and Windows
platformdirs' settings folder (see os_specific.py); today they hold the theme chosen in
the dashboard and the zone times are shown in (`zone`: "local" or "utc"; see display_time.py).
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
from pathlib import Path

# Where the folders are, on each OS, is os_specific's to know; they are reached from here.
from .os_specific import APP_FOLDER, config_dir, state_dir

__all__ = ["APP_FOLDER", "config_dir", "load_settings", "save_setting", "state_dir"]

SETTINGS_FILE = "settings.json"
# Larger than any settings file this tool writes: anything bigger is not ours to read.
_MAX_SETTINGS_BYTES = 64 * 1024
THEME = "theme"
ZONE = "zone"
ZONES = ("local", "utc")  # display_time.ZoneChoice's values


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
