"""A program on a pseudo-terminal, and a tiny model of the screen it draws, for benchmarks.

`PtySession` starts a command on a pty of a fixed size (TIOCSWINSZ, TERM=xterm-256color),
reads everything it writes and keeps `Screen`, a grid of the cells written so far. A
benchmark then waits for text to appear at a place on screen -- however the program split,
styled or ordered its writes -- and learns when the output that drew it was read.

The screen model understands what Textual emits: cursor positioning, erase, SGR and private
modes (both ignored: only the characters matter here), OSC/DCS strings (skipped), wide
characters. It is checked against tmux by `bench_dashboard.py --verify`.
"""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence

_TOKEN = re.compile(
    r"""
    (?P<text>[^\x00-\x1f\x7f\x1b]+)
  | \x1b\[ (?P<params>[0-9:;<=>?]*) [ -/]* (?P<final>[@-~])   # CSI
  | \x1b\] [^\x07\x1b]* (?:\x07|\x1b\\)                       # OSC
  | \x1b[PX^_] .*? \x1b\\                                    # DCS, SOS, PM, APC
  | \x1b[ -/]* [0-OQ-WYZ\\`a-~]                              # other escapes: ESC 7, ESC ( B
  | (?P<control>[\x00-\x1a\x1c-\x1f\x7f])                    # C0 controls
    """,
    re.X | re.S,
)
# An escape sequence this long without an end is garbage, not a sequence still arriving.
_MAX_PENDING = 4096


def _cell_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


class Screen:
    """The characters on a `cols` x `rows` terminal, as written so far."""

    def __init__(self, cols: int, rows: int) -> None:
        self.cols, self.rows = cols, rows
        self.grid = [[" "] * cols for _ in range(rows)]
        self.x = self.y = 0
        self._pending = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    # -- reading it --------------------------------------------------------------------

    def line(self, y: int) -> str:
        return "".join(self.grid[y]) if 0 <= y < self.rows else ""

    def lines(self) -> list[str]:
        return ["".join(row) for row in self.grid]

    def text(self) -> str:
        return "\n".join(self.lines())

    def find_line(self, needle: str, start: int = 0) -> int | None:
        """The first line at or below `start` that contains `needle`."""
        for y in range(max(start, 0), self.rows):
            if needle in self.line(y):
                return y
        return None

    # -- writing it --------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        text = self._pending + self._decoder.decode(data)
        self._pending = ""
        pos, end = 0, len(text)
        while pos < end:
            match = _TOKEN.match(text, pos)
            if match is None:  # an ESC whose sequence has not fully arrived (or garbage)
                if end - pos < _MAX_PENDING:
                    self._pending = text[pos:]
                    return
                pos += 1
                continue
            pos = match.end()
            if match.group("text") is not None:
                self._write(match.group("text"))
            elif match.group("final") is not None:
                self._csi(match.group("params"), match.group("final"))
            elif match.group("control") is not None:
                self._control(match.group("control"))

    def _write(self, run: str) -> None:
        row = self.grid[self.y]
        if run.isascii():
            room = self.cols - self.x
            if room > 0:
                part = run[:room]
                row[self.x:self.x + len(part)] = part
            self.x = min(self.x + len(run), self.cols - 1)
            return
        for char in run:
            width = _cell_width(char)
            if width == 0:
                continue
            if self.x + width > self.cols:
                self.x = self.cols - 1
                continue
            row[self.x] = char
            if width == 2:
                row[self.x + 1] = ""
            self.x += width

    def _control(self, char: str) -> None:
        if char == "\r":
            self.x = 0
        elif char == "\n":
            if self.y == self.rows - 1:
                self.grid.pop(0)
                self.grid.append([" "] * self.cols)
            else:
                self.y += 1
        elif char == "\b":
            self.x = max(0, self.x - 1)
        elif char == "\t":
            self.x = min(self.cols - 1, (self.x // 8 + 1) * 8)

    def _csi(self, params: str, final: str) -> None:
        private = params.startswith(("?", "<", "=", ">"))
        if private:
            if final in "hl" and "1049" in params.split(";"):
                self._erase_all()
            return
        numbers = [int(p) if p.isdigit() else 0 for p in params.replace(":", ";").split(";")]
        first = numbers[0] if numbers else 0
        count = max(first, 1)
        if final in "Hf":
            row = numbers[0] if numbers and numbers[0] else 1
            col = numbers[1] if len(numbers) > 1 and numbers[1] else 1
            self._move(col - 1, row - 1)
        elif final == "A":
            self._move(self.x, self.y - count)
        elif final == "B":
            self._move(self.x, self.y + count)
        elif final == "C":
            self._move(self.x + count, self.y)
        elif final == "D":
            self._move(self.x - count, self.y)
        elif final == "E":
            self._move(0, self.y + count)
        elif final == "F":
            self._move(0, self.y - count)
        elif final == "G":
            self._move(count - 1, self.y)
        elif final == "d":
            self._move(self.x, count - 1)
        elif final == "J":
            self._erase_display(first)
        elif final == "K":
            self._erase_line(first)
        elif final == "X":
            row = self.grid[self.y]
            for x in range(self.x, min(self.cols, self.x + count)):
                row[x] = " "

    def _move(self, x: int, y: int) -> None:
        self.x = min(max(x, 0), self.cols - 1)
        self.y = min(max(y, 0), self.rows - 1)

    def _erase_all(self) -> None:
        self.grid = [[" "] * self.cols for _ in range(self.rows)]

    def _erase_display(self, mode: int) -> None:
        if mode in (2, 3):
            self._erase_all()
            return
        self._erase_line(mode)
        below = range(self.y + 1, self.rows) if mode == 0 else range(0, self.y)
        for y in below:
            self.grid[y] = [" "] * self.cols

    def _erase_line(self, mode: int) -> None:
        row = self.grid[self.y]
        span = {0: range(self.x, self.cols), 1: range(0, self.x + 1)}.get(mode, range(self.cols))
        for x in span:
            row[x] = " "


Condition = Callable[[Screen], bool]


class TimedOut(Exception):
    """What was waited for did not appear on screen in time."""


class MarkerAlreadyShown(Exception):
    """What a key should draw was on screen before the key: it cannot time the key."""


class PtySession:
    """One process on its own pty of `cols` x `rows`; `started` is just before its spawn."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cols: int = 160,
        rows: int = 48,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = {**os.environ, **(env or {}),
                    "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
        self.screen = Screen(cols, rows)
        self.master = master
        self.closed = False
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            list(argv), stdin=slave, stdout=slave, stderr=slave, env=full_env, cwd=cwd,
            start_new_session=True,
            # The pty becomes the controlling terminal, as in a real terminal window.
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.sent_at = self.started
        self.last_output = self.started  # when the output last read arrived

    @property
    def pid(self) -> int:
        return self.process.pid

    # -- output ------------------------------------------------------------------------

    def pump(self, timeout: float) -> bool:
        """Read what arrives within `timeout` (and all that follows at once) into the screen.
        The arrival time is taken before the screen model is updated."""
        if self.closed:
            time.sleep(timeout)
            return False
        ready, _, _ = select.select([self.master], [], [], max(timeout, 0))
        if not ready:
            return False
        chunks = []
        arrived = self.last_output
        while True:
            try:
                data = os.read(self.master, 1 << 16)
            except OSError:  # EIO: the program closed the terminal
                data = b""
            if not data:
                self.closed = not chunks
                break
            chunks.append(data)
            arrived = time.perf_counter()
            if not select.select([self.master], [], [], 0)[0]:
                break
        if chunks:
            self.last_output = arrived
            self.screen.feed(b"".join(chunks))
        return bool(chunks)

    def watch(
        self, conditions: Mapping[str, Condition], timeout: float,
        until: Sequence[str] | None = None,
    ) -> dict[str, float]:
        """Seconds from `sent_at` until the output after which each condition first held,
        watched until those named in `until` (default: all) have held. Raises TimedOut
        naming those still unmet after `timeout`."""
        met: dict[str, float] = {}
        required = set(conditions if until is None else until)
        deadline = time.perf_counter() + timeout
        while True:
            for name, condition in conditions.items():
                if name not in met and condition(self.screen):
                    met[name] = max(self.last_output - self.sent_at, 0.0)
            if required <= met.keys():
                return met
            left = deadline - time.perf_counter()
            if left <= 0 or (self.closed and self.process.poll() is not None):
                missing = ", ".join(n for n in required if n not in met)
                raise TimedOut(f"not on screen after {timeout:g} s: {missing}")
            self.pump(min(left, 0.05))

    def wait_for(self, condition: Condition, timeout: float = 30.0) -> float:
        return self.watch({"it": condition}, timeout)["it"]

    def pump_for(self, seconds: float) -> None:
        """Keep reading (so the screen stays current) for `seconds`."""
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            self.pump(min(left, 0.05))

    def quiet(self, period: float = 0.25, timeout: float = 10.0) -> None:
        """Read until nothing has been drawn for `period` (the program went idle)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if not self.pump(period) and not self.closed:
                return
            if self.closed:
                return

    # -- input -------------------------------------------------------------------------

    def send(self, keys: str) -> None:
        self.sent_at = time.perf_counter()
        os.write(self.master, keys.encode())

    def timed_key(self, keys: str, condition: Condition, timeout: float = 30.0) -> float:
        """Seconds from sending `keys` until `condition` holds on screen."""
        if condition(self.screen):
            raise MarkerAlreadyShown(f"the result of {keys!r} is on screen before the key")
        self.send(keys)
        return self.wait_for(condition, timeout)

    # -- the process -------------------------------------------------------------------

    def peak_rss_kib(self) -> dict[str, int]:
        """VmHWM (peak resident) and VmRSS of the process now, in KiB."""
        found = {}
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    found[key] = int(value.split()[0])
        return found

    def close(self, quit_keys: str = "q", timeout: float = 5.0) -> int | None:
        """Quit with `quit_keys` (reading output meanwhile, so it never blocks on a write);
        kill it if it has not left after `timeout`."""
        if self.process.poll() is None and not self.closed:
            with contextlib.suppress(OSError):  # it closed the terminal meanwhile
                os.write(self.master, quit_keys.encode())
        deadline = time.perf_counter() + timeout
        while self.process.poll() is None and time.perf_counter() < deadline:
            self.pump(0.05)
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait()
        os.close(self.master)
        return code
