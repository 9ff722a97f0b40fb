"""The theme chosen (ctrl+p → theme) is remembered between runs in the settings file
(`config.py`): restored as the app starts, saved each time the operator picks another.
A saved name this Textual does not know is ignored (the default theme stays)."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.theme import Theme

from saga_inspector.config import save_theme, saved_theme


def restore_theme(app: App[object], folder: Path) -> None:
    """Before the first frame: the theme saved in `folder`, when there is a known one."""
    name = saved_theme(folder)
    if name is not None and name in app.available_themes:
        app.theme = name


def remember_theme(app: App[object], folder: Path) -> None:
    """From now on, save each theme the operator picks (a write that fails is ignored: the
    choice is then not remembered, and nothing else changes)."""

    def save(theme: Theme) -> None:
        if theme.name != saved_theme(folder):
            save_theme(folder, theme.name)

    app.theme_changed_signal.subscribe(app, save)
