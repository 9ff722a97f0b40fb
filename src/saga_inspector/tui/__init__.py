"""The Textual dashboard. `run_dashboard(path)` runs it and returns the exit code."""

from __future__ import annotations

from pathlib import Path

from saga_inspector.follow import DEFAULT_INTERVAL


def run_dashboard(path: Path, *, immutable: bool = False, force: bool = False,
                  interval: float = DEFAULT_INTERVAL) -> int:
    """Run the dashboard on one saga log; 0 after `q`, 2 when the file cannot be read.
    `immutable`/`force` open it as a snapshot (see SagaStore.open); `interval` is the
    seconds between looks at the file for changes. The theme is remembered in the user's
    config folder (`config.config_dir()`)."""
    from saga_inspector.config import config_dir

    from .head_start import HeadStart, store_opener

    # Begun before Textual is imported (the import below): see head_start.py.
    head_start = HeadStart(path, store_opener(immutable=immutable, force=force))
    from .app import create_app

    app = create_app(path, immutable=immutable, force=force, interval=interval,
                     config_dir=config_dir(), head_start=head_start)
    app.run()
    return app.return_code or 0


__all__ = ["run_dashboard"]
