"""The Textual dashboard. `run_dashboard(paths)` runs it and returns the exit code."""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from pathlib import Path

from saga_inspector.display_time import ZoneChoice
from saga_inspector.follow import DEFAULT_INTERVAL
from saga_inspector.store import LogFormat

# How long a thread may keep the interpreter while another waits for it (Python's default:
# 5 ms). The dashboard reads in worker threads while the UI thread draws, and SQLite hands
# the interpreter back at every row it steps: a read transaction waited up to 5 ms a row,
# so a page's read held its snapshot 15-25 ms instead of 1, and a writer flat out (40 000
# commits a second) grew its -wal by all it wrote meanwhile (bench_wal.py: 1.4-2.5x the
# writer alone's peak; 1.3-1.7x with 0.5 ms; 1.4-1.5x with 0.2 ms; 1.13-1.45x with 0.1 ms).
READ_SWITCH_INTERVAL = 0.0001


def run_dashboard(paths: Path | str | Sequence[Path | str], *, immutable: bool = False,
                  force: bool = False, interval: float = DEFAULT_INTERVAL,
                  zone: ZoneChoice | None = None, log_format: LogFormat | None = None,
                  snapshots: Sequence[bool] | None = None) -> int:
    """Run the dashboard on one saga log or several in one view; 0 after `q`, 2 when no
    log can be read. `paths`: one path or a list; `snapshots`: per path, whether it is a
    snapshot copy (None: none is). `immutable`/`force` open them as snapshots (see
    SagaStore.open); `interval` is the seconds between looks at the logs for changes;
    `zone`: the display zone asked for on the command line (None: the remembered one). The
    theme and the zone are remembered in the user's config folder (`config.config_dir()`)."""
    from saga_inspector.config import config_dir

    from .head_start import HeadStart, as_paths, store_opener

    listed = as_paths(paths)
    # Begun before Textual is imported (the import below): see head_start.py.
    head_start = HeadStart(listed, store_opener(immutable=immutable, force=force,
                                                log_format=log_format), snapshots)
    # The start creates a few hundred thousand objects that live as long as the app
    # (Textual, the stylesheet, the widgets), and the garbage collector would scan them all
    # several times before the first frame (a full pass took 25 ms). It is paused until
    # the dashboard is drawn, then those objects are frozen out of its scans.
    gc.disable()
    from .app import create_app

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(READ_SWITCH_INTERVAL)
    try:
        app = create_app(listed, immutable=immutable, force=force, interval=interval,
                         config_dir=config_dir(), head_start=head_start, collector_paused=True,
                         zone=zone, log_format=log_format, snapshots=snapshots)
        app.run()
    finally:
        sys.setswitchinterval(switch_interval)
        gc.enable()  # an app that ended before it was drawn whole
        head_start.discard()  # a store the app never took
    return app.return_code or 0


# The name the command line calls it by.
run = run_dashboard

__all__ = ["run", "run_dashboard"]
