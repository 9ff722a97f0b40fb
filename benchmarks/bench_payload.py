"""How long `o` takes to draw a large payload full screen (issue 12), wrapped and unwrapped.

    python benchmarks/bench_payload.py                 # 10 MB, 3 runs of each shape
    python benchmarks/bench_payload.py --mb 8 --runs 5

In-process and headless (Textual's test driver, 80x24): a payload block holding the prepared
payload has the focus, as on the dashboard, and its `o` action runs. Two moments are timed
from there, taken when the viewer's `render_line` first returns them (the compositor asks for
a line only to draw it): the first screen (the value's head, saying "loading …") and the
whole text in place (wrapped to the width when wrap is on).
Shapes: pretty JSON of many short lines, and JSON holding one string of the whole size (one
line that wraps into some hundred thousand rows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.strip import Strip

from saga_inspector.tui.views import Payload, prepare_payload
from saga_inspector.tui.widgets.payload import PayloadBlock
from saga_inspector.tui.widgets.payload_view import PayloadView


def many_lines(size: int) -> str:
    item = {"pane": "pane-000000", "host": "host-17", "error": "tmux: no such pane"}
    count = size // len(json.dumps(item))
    return json.dumps({"event": "panes_reaped", "panes": [
        {**item, "pane": f"pane-{n:06d}"} for n in range(count)]})


def one_line(size: int) -> str:
    words = "respawn refused by the pool; pane gone "
    return json.dumps({"event": "reap_failed", "reason": words * (size // len(words))})


class Host(App[None]):
    CSS_PATH: ClassVar[str | None] = None

    def __init__(self, payload: Payload) -> None:
        super().__init__()
        self.payload = payload

    def compose(self) -> ComposeResult:
        yield PayloadBlock("output", id="block")

    def on_mount(self) -> None:
        block = self.query_one(PayloadBlock)
        block.show_payload(self.payload)
        block.focus()


async def open_once(payload: Payload, wrap: bool) -> tuple[float, float]:
    """(seconds to the first screen, its head and "loading …"; seconds to the whole text)."""
    drawn: dict[str, float] = {}
    real = PayloadView.render_line

    def timed(view: PayloadView, y: int) -> Strip:
        strip = real(view, y)
        whole = view.ready and (view.wrapped is not None) == view.wrap == wrap
        drawn.setdefault("whole" if whole else "head", time.perf_counter())
        return strip

    PayloadView.render_line = timed  # type: ignore[method-assign]
    try:
        app = Host(payload)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            start = time.perf_counter()
            app.query_one(PayloadBlock).action_open()
            while "whole" not in drawn:
                await asyncio.sleep(0.001)
                view = next(iter(app.screen.query(PayloadView)), None)
                if view is not None and view.wrap != wrap:
                    view.wrap = wrap  # as `w` pressed at once
                if time.perf_counter() - start > 120:
                    raise TimeoutError
    finally:
        PayloadView.render_line = real  # type: ignore[method-assign]
    return drawn.get("head", drawn["whole"]) - start, drawn["whole"] - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = int(args.mb * 1024 * 1024)
    shapes: dict[str, Callable[[int], str]] = {"many lines": many_lines, "one line": one_line}
    for name, make in shapes.items():
        payload = prepare_payload("output", make(size))
        lines = (payload.full or "").count("\n") + 1
        for wrap in (True, False):
            runs = [asyncio.run(open_once(payload, wrap)) for _ in range(args.runs)]
            first = statistics.median(run[0] for run in runs)
            whole = statistics.median(run[1] for run in runs)
            print(f"{name:10} {payload.size / 1e6:5.1f} MB {lines:>7} lines "
                  f"wrap {'on ' if wrap else 'off'}: first screen {first * 1000:5.0f} ms, "
                  f"whole text {whole * 1000:5.0f} ms (median of {args.runs})")


if __name__ == "__main__":
    main()
