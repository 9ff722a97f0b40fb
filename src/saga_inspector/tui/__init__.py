"""The Textual dashboard. `run_dashboard(path)` runs it and returns the exit code."""

from __future__ import annotations

from pathlib import Path


def run_dashboard(path: Path) -> int:
    """Run the dashboard on one saga log; 0 after `q`, 2 when the file cannot be read."""
    from .app import create_app

    app = create_app(path)
    app.run()
    return app.return_code or 0


__all__ = ["run_dashboard"]
