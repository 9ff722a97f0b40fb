"""Regenerate screenshots/*.svg: the real dashboard on the demo logs (the launcher's and the
server's, and the demo fleet `--demo` opens: both as one view), at 160x48, and the in-flight
step at 80x24 and 100x30 (a laptop pane, a tmux split).

    python scripts/screenshots.py

The demo log is written fresh to a temporary folder; the clock is pinned to the morning after
the demo's last saga and the time zone to UTC, so the pictures only change when the app does.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from textual.pilot import Pilot

from saga_inspector.demo import write_demo, write_demo_fleet
from saga_inspector.tui.app import SagaInspectorApp, create_app

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"
SIZE = (160, 48)
NOW = datetime(2026, 6, 3, 9, 30, tzinfo=UTC)
SERVER_NOW = datetime(2026, 6, 4, 9, 30, tzinfo=UTC)  # the morning after the server demo

# file name -> keys pressed (the dashboard settles after each), at SIZE unless SIZES says
SIZES: dict[str, tuple[int, int]] = {
    "fleet-in-flight-step-80x24.svg": (80, 24),
    "fleet-sources.svg": (120, 36),
    "recovered-in-flight-step-80x24.svg": (80, 24),
    "recovered-in-flight-step-100x30.svg": (100, 30),
}
SHOTS: dict[str, tuple[str, ...]] = {
    "recovered-in-flight-step-80x24.svg": ("5", "enter"),
    "recovered-in-flight-step-100x30.svg": ("5", "enter"),
    "overview.svg": (),
    "recovered-in-flight-step.svg": ("5", "enter"),
    "needs-attention-payload.svg": ("a", "j", "j", "j", "enter", "k", "tab"),
    "search.svg": ("slash", *"pipe", "enter"),
    "help.svg": ("question_mark",),
    # the step timeline: a cleanup timed out in its drain step (the timeout marked), and
    # the triage summary (x) of a respawn that timed out and was closed at a restart
    "timeline-timeout.svg": ("3", "j", "j", "enter"),
    "explain.svg": ("5", "j", "j", "x"),
}
# The server's demo log: a compensated saga's undo row (saga 303, promote_block_to_tab), and
# the triage summary of a tear-off left half done at a crash (saga 239).
SERVER_SHOTS: dict[str, tuple[str, ...]] = {
    "server-overview.svg": (),
    "server-undo-row.svg": ("colon", *"303", "enter", "enter", "j", "j"),
    "server-explain.svg": ("colon", *"239", "enter", "x"),
}


# The demo fleet (`--demo`): its logs last written these hours before NOW.
FLEET_SHOTS: dict[str, tuple[str, ...]] = {
    "fleet-overview.svg": (),
    "fleet-in-flight-step-80x24.svg": ("5", "enter"),
    "fleet-sources.svg": ("S",),
}
FLEET_WRITTEN_HOURS_BEFORE = (24 * 120, 3, 2)


async def settle(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, SagaInspectorApp)
    for _ in range(4000):
        if app.settled:
            await pilot.pause()
            return
        await pilot.pause(0.005)
    raise SystemExit("the dashboard did not settle")


async def shoot(log: Path | list[Path], name: str, keys: tuple[str, ...],
                now: datetime = NOW) -> None:
    app = create_app(Path(log.name) if isinstance(log, Path) else log, now=lambda: now)
    async with app.run_test(size=SIZES.get(name, SIZE)) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        app.save_screenshot(str(OUT / name))


def main() -> int:
    os.environ["TZ"] = "UTC"
    time.tzset()
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        log = write_demo(Path(folder) / "launcher-sagas.db")
        os.chdir(folder)  # the header shows the file's bare name
        for name, keys in SHOTS.items():
            asyncio.run(shoot(log, name, keys))
            print(f"wrote screenshots/{name}")
        server_log = write_demo(Path(folder) / "sagas.db", log_format="server")
        for name, keys in SERVER_SHOTS.items():
            asyncio.run(shoot(server_log, name, keys, SERVER_NOW))
            print(f"wrote screenshots/{name}")
        fleet = [path.relative_to(Path(folder).resolve())
                 for path in write_demo_fleet(Path(folder).resolve() / ".agentmux")]
        for path, hours in zip(fleet, FLEET_WRITTEN_HOURS_BEFORE, strict=True):
            moment = NOW.timestamp() - hours * 3600
            os.utime(path, (moment, moment))
        for name, keys in FLEET_SHOTS.items():
            asyncio.run(shoot(fleet, name, keys))
            print(f"wrote screenshots/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
