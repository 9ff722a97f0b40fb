"""The Textual dashboard. `run_dashboard(path)` runs it and returns the exit code."""

from __future__ import annotations

import gc
from pathlib import Path

from saga_inspector.display_time import ZoneChoice
from saga_inspector.follow import DEFAULT_INTERVAL
from saga_inspector.store import LogFormat


def run_dashboard(path: Path, *, immutable: bool = False, force: bool = False,
                  interval: float = DEFAULT_INTERVAL, zone: ZoneChoice | None = None,
                  log_format: LogFormat | None = None) -> int:
    """Run the dashboard on one saga log; 0 after `q`, 2 when the file cannot be read.
    `immutable`/`force` open it as a snapshot (see SagaStore.open); `interval` is the
    seconds between looks at the file for changes; `zone`: the display zone asked for on the
    command line (None: the remembered one). The theme and the zone are remembered in the
    user's config folder (`config.config_dir()`)."""
    from saga_inspector.config import config_dir

    from .head_start import HeadStart, store_opener

    # Begun before Textual is imported (the import below): see head_start.py.
    head_start = HeadStart(path, store_opener(immutable=immutable, force=force,
                                              log_format=log_format))
    # The start creates a few hundred thousand objects that live as long as the app
    # (Textual, the stylesheet, the widgets), and the garbage collector would scan them all
    # several times before the first frame (a full pass took 25 ms). It is paused until
    # the dashboard is drawn, then those objects are frozen out of its scans.
    gc.disable()
    from .app import create_app

    try:
        app = create_app(path, immutable=immutable, force=force, interval=interval,
                         config_dir=config_dir(), head_start=head_start, collector_paused=True,
                         zone=zone, log_format=log_format)
        app.run()
    finally:
        gc.enable()  # an app that ended before it was drawn whole
        head_start.discard()  # a store the app never took
    return app.return_code or 0


__all__ = ["run_dashboard"]
