"""Terminal safety, proven on a pseudo-terminal: the real program (`python -m saga_inspector`)
runs against a file holding escape sequences, C0/C1 controls, DEL, NUL, bidi overrides and
markup in every column, is driven with keys, and every byte it writes is checked.

Textual itself writes escape sequences (cursor moves, colours, modes, and OSC 52 when it
copies), so the checks look for the stored payloads specifically: no OSC that sets a title,
no OSC 52 other than the app's own copies (whose text must decode to sanitised text), no
screen clear, and no control, C1 or direction-override character among the characters drawn.
The visible stand-ins must appear instead.
"""

from __future__ import annotations

import base64
import codecs
import fcntl
import hashlib
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.cells import get_character_cell_size

from saga_inspector.sanitize import sanitize

from .factory import (
    C1_CSI,
    CLEAR_SCREEN,
    HOSTILE_SHOWN,
    LOOSE_DDL,
    OSC_CLIPBOARD,
    OSC_TITLE,
    SagaLogFactory,
    cleanup_saga,
    hostile_sagas,
    respawn_saga,
)

ROWS, COLUMNS = 50, 220
STARTUP_S = 60.0  # a cold interpreter importing Textual on a busy machine
STEP_S = 20.0

# What a terminal would act on, as it parses: OSC and DCS strings, CSI, other escapes.
_ESCAPE = re.compile(
    rb"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC ... BEL or ST
    rb"|\x1b[P^_X].*?\x1b\\"  # DCS, PM, APC, SOS ... ST
    rb"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    rb"|\x1b[ -/]*[0-~]",  # ESC 7, ESC ( B, ...
    re.S,
)
# Characters that must never be drawn: what the sanitiser replaces, except the newlines
# and tabs a multi-line body keeps.
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
    "\ufeff]"
)


@dataclass
class Output:
    """What a program wrote to its terminal, split the way the terminal would read it."""

    raw: bytes
    sequences: list[bytes] = field(default_factory=list)
    text: str = ""

    @classmethod
    def parse(cls, raw: bytes) -> Output:
        sequences = _ESCAPE.findall(raw)
        text = _ESCAPE.sub(b"", raw).decode("utf-8", errors="replace")
        return cls(raw, sequences, text)

    def oscs(self, code: str) -> list[str]:
        prefix = f"\x1b]{code};".encode()
        return [seq[len(prefix):].rstrip(b"\x07").removesuffix(b"\x1b\\").decode()
                for seq in self.sequences if seq.startswith(prefix)]


class Screen:
    """The characters a terminal shows after the writes so far. Textual positions the cursor
    (CSI row;col H), styles (SGR, ignored here) and ends lines with CR LF; autowrap is off."""

    _TOKEN = re.compile(
        r"(?P<text>[^\x00-\x1f\x1b]+)"
        r"|\x1b\[(?P<params>[0-?]*)[ -/]*(?P<final>[@-~])"
        r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
        r"|\x1b[P^_X].*?\x1b\\"
        r"|\x1b[ -/]*[0-OQ-WYZ\\`a-~]"  # ESC 7, ESC ( B (not the start of CSI/OSC/DCS)
        r"|(?P<control>[\x00-\x1a\x1c-\x1f])",
        re.S,
    )

    def __init__(self) -> None:
        self.cells = [[" "] * COLUMNS for _ in range(ROWS)]
        self.y = self.x = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""

    def feed(self, data: bytes) -> None:
        self._pending += self._decoder.decode(data)
        done = 0
        for token in self._TOKEN.finditer(self._pending):
            if token.start() != done:
                break  # an escape sequence still arriving
            done = token.end()
            if token["text"] is not None:
                self._write(token["text"])
            elif token["final"] == "H":
                row, _, column = (token["params"] or "1;1").partition(";")
                self.y, self.x = int(row or 1) - 1, int(column or 1) - 1
            elif token["control"] == "\r":
                self.x = 0
            elif token["control"] == "\n":
                self.y = min(self.y + 1, ROWS - 1)
        self._pending = self._pending[done:]

    def _write(self, text: str) -> None:
        for char in text:
            width = get_character_cell_size(char)
            if 0 <= self.y < ROWS and 0 <= self.x < COLUMNS and width:
                self.cells[self.y][self.x] = char
                if width == 2 and self.x + 1 < COLUMNS:
                    self.cells[self.y][self.x + 1] = ""
            self.x += width

    @property
    def text(self) -> str:
        return "\n".join("".join(row) for row in self.cells)


class Terminal:
    """A program on a pseudo-terminal of a fixed size; everything it writes is kept, and
    the screen it draws is followed."""

    def __init__(self, argv: list[str], *, cwd: Path) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("TEXTUAL", "PYTEST"))}
        env.update(TERM="xterm-256color", COLORTERM="truecolor", LANG="C.UTF-8",
                   LC_ALL="C.UTF-8", PYTHONUTF8="1", COLUMNS=str(COLUMNS), LINES=str(ROWS))
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
            start_new_session=True, close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.raw = bytearray()
        self.screen = Screen()

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 1 << 16)
        except OSError:  # the program exited and its side of the pty closed
            return False
        self.raw += chunk
        self.screen.feed(chunk)
        return bool(chunk)

    def wait_until(self, shown: str | bytes | None = None, *, gone: str | None = None,
                   since: int = 0, timeout: float = STEP_S) -> None:
        """Read until the screen shows `shown` (bytes: until they are written after offset
        `since`) and no longer shows `gone`."""
        deadline = time.monotonic() + timeout
        while not self._holds(shown, gone, since):
            if time.monotonic() > deadline or (not self._read(0.1) and self.exited()):
                raise AssertionError(f"waited for {shown!r} (gone: {gone!r}); the screen:\n"
                                     f"{self.screen.text}")

    def _holds(self, shown: str | bytes | None, gone: str | None, since: int) -> bool:
        screen = self.screen.text
        if isinstance(shown, bytes):
            if self.raw.find(shown, since) < 0:
                return False
        elif shown is not None and shown not in screen:
            return False
        return gone is None or gone not in screen

    def press(self, keys: str, shown: str | bytes | None = None, *, gone: str | None = None,
              timeout: float = STEP_S) -> None:
        """Send keys, then read until the screen answers them."""
        since = len(self.raw)
        for key in keys:
            os.write(self.master, key.encode())
            # A lone ESC is a key only once nothing follows it for a moment.
            self.drain(0.15 if key == "\x1b" else 0.02)  # Textual waits 0.1 s (ESCDELAY)
        self.wait_until(shown, gone=gone, since=since, timeout=timeout)

    def drain(self, seconds: float) -> None:
        """Read whatever comes for `seconds` (the program may never fall quiet)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._read(left)

    def exited(self) -> bool:
        return self.process.poll() is not None

    def wait_exit(self, timeout: float = STEP_S) -> int:
        deadline = time.monotonic() + timeout
        while not self.exited() and time.monotonic() < deadline:
            self._read(0.1)
        while self._read(0):
            pass
        return self.process.wait(timeout=1)

    def close(self) -> None:
        if not self.exited():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        os.close(self.master)

    @property
    def output(self) -> Output:
        return Output.parse(bytes(self.raw))


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[type]:
    started: list[Terminal] = []

    def start(*args: str) -> Terminal:
        session = Terminal([sys.executable, "-m", "saga_inspector", *args], cwd=tmp_path)
        started.append(session)
        return session

    yield start
    for session in started:
        session.close()


@pytest.fixture
def hostile_log(make_log: SagaLogFactory) -> Path:
    return make_log([cleanup_saga(1), respawn_saga(2, "failed", reason="saga timeout"),
                     *hostile_sagas()], ddl=LOOSE_DDL, name="hostile.db")


EMPTY = hashlib.sha256(b"").hexdigest()


def digest(db: Path) -> list[str | None]:
    """sha256 of the .db and its -wal; an empty -wal (SQLite's doing on a live open of a
    clean file) counts as none."""
    found = [hashlib.sha256(Path(f"{db}{s}").read_bytes()).hexdigest()
             if Path(f"{db}{s}").exists() else None for s in ("", "-wal")]
    return [None if value == EMPTY else value for value in found]


# -- checks ----------------------------------------------------------------------------------


def assert_no_stored_sequence_reached_the_terminal(out: Output) -> None:
    raw = out.raw
    for payload in (OSC_TITLE, OSC_CLIPBOARD, CLEAR_SCREEN):
        assert payload.encode() not in raw, payload
    # as the terminal parses it: no title, no foreign clipboard write, no clear
    for code in ("0", "1", "2"):
        assert out.oscs(code) == [], f"OSC {code}"
    assert not [seq for seq in out.sequences if seq.startswith(b"\x1b[") and seq[-1:] == b"J"]
    assert not [seq for seq in out.sequences if seq.startswith(b"\x1b]") and b"pwned" in seq]
    assert not [seq for seq in out.sequences if b"http://x" in seq]  # no link from [link=]
    for copied in out.oscs("52"):
        assert copied != "c;cHduZWQ="
    # among the characters drawn: no control, C1, DEL, NUL or direction override
    assert _FORBIDDEN.findall(out.text) == []
    assert C1_CSI not in out.text and "\x9b" not in out.text


def assert_stand_ins_shown(out: Output, shown: tuple[str, ...] = HOSTILE_SHOWN) -> None:
    missing = [text for text in shown if text not in out.text]
    assert missing == []


def copied_texts(out: Output) -> list[str]:
    """What the app put on the clipboard (Textual writes OSC 52 itself), decoded."""
    texts = []
    for payload in out.oscs("52"):
        target, _, data = payload.partition(";")
        assert target == "c"
        texts.append(base64.b64decode(data).decode("utf-8"))
    return texts


# -- the dashboard ---------------------------------------------------------------------------


def test_the_dashboard_on_a_hostile_file_writes_no_stored_sequence(
    terminal, hostile_log: Path
) -> None:
    before = digest(hostile_log)
    app = terminal(str(hostile_log))
    app.wait_until("␛]0;pwned-title␇", timeout=STARTUP_S)  # the table's failure reasons
    app.press("3", "sagas · failed · 2")  # the hostile saga 7 and saga 2
    app.press("/", "enter: back to the table")  # search the stored text
    app.press("pwn\r", "search “pwn” · 1")
    app.press("\x1b", "sagas · failed · 2", gone="search “pwn”")  # the search cleared
    # into the steps (the footer shows their keys): the in-flight step, its cmd in the detail
    app.press("\r", "⏎ Payloads", gone="G Last")
    assert "IN FLIGHT" in app.screen.text
    app.press("\t", "Open in full", gone="⏎ Payloads")  # the cmd payload
    app.press("y", b"\x1b]52;c;")  # copied
    app.press("\x1b\x1b", "G Last", gone="Open in full")  # back to the table
    app.press("y", b"\x1b]52;c;")  # the saga as JSON, copied
    app.press("0", "sagas · all · 4")  # every saga (one in a hostile state)
    app.press("?", "pick a saga, press")  # help
    app.press("\x1b", gone="pick a saga, press")
    app.press("\x10", "Search for commands")  # ctrl+p: the palette
    app.press("stpwn", "Show: st␛]0;pwned-title␇[bold]␛[2J[/]")  # the hostile state's filter
    app.press("\x1b", gone="Search for commands")
    os.write(app.master, b"q")
    assert app.wait_exit() == 0

    out = app.output
    assert_no_stored_sequence_reached_the_terminal(out)
    assert_stand_ins_shown(out)
    payload, saga_json = copied_texts(out)
    for copied in (payload, saga_json):
        assert sanitize(copied, multiline=True) == copied
        assert "\x1b" not in copied and "\x07" not in copied
    # JSON writes C0 controls as escapes; what JSON leaves raw is shown by stand-ins
    assert '"cmd": "\\u001b]0;pwned-title\\u0007 \\u001b]52;c;cHduZWQ=\\u0007' in payload
    assert "\\x9b31m del␡ nul\\u0000 <U+202E>evil<U+2066> [/] [bold]" in payload
    assert "\\u001b]0;pwned-title\\u0007" in saga_json  # JSON escapes: lossless and inert
    assert digest(hostile_log) == before


def test_the_error_screen_on_a_hostile_path_writes_no_stored_sequence(
    terminal, make_log: SagaLogFactory
) -> None:
    name = f"{OSC_TITLE}{CLEAR_SCREEN}[bold]x[TODO].db"
    bad = make_log.file_with(b"not a database, " * 100, name=name)
    app = terminal(f"{bad.parent.name}/{bad.name}")
    app.wait_until("not a SQLite database", timeout=STARTUP_S)
    app.press("y", b"\x1b]52;c;")  # copy the message
    os.write(app.master, b"q")
    assert app.wait_exit() == 2
    out = app.output
    assert_no_stored_sequence_reached_the_terminal(out)
    assert_stand_ins_shown(out, ("logs/␛]0;pwned-title␇␛[2J[bold]x[TODO].db",))
    [message] = copied_texts(out)
    assert message.startswith("logs/␛]0;pwned-title␇␛[2J[bold]x[TODO].db: not a SQLite")


def test_the_error_screen_falls_quiet(terminal, make_log: SagaLogFactory) -> None:
    """Once drawn, an error screen has nothing to redraw: a program that keeps writing is
    repainting the whole screen for nothing (~0.5 MB/s at this size)."""
    bad = make_log.file_with(b"not a database, " * 100, name="bad.db")
    app = terminal(str(bad))
    app.wait_until("not a SQLite database", timeout=STARTUP_S)
    app.drain(0.5)
    since = len(app.raw)
    app.drain(0.5)
    assert len(app.raw) - since < 4096


# -- the command line ------------------------------------------------------------------------

# saga 8 holds hostile text in every column, its state included (so stats and list show it)
CLI_RUNS = [["stats"], ["list", "--search", "pwn"], ["show", "DB", "8"]]


@pytest.mark.parametrize("mode", ["text", "json"])
def test_cli_output_on_a_terminal_holds_no_stored_sequence(
    terminal, hostile_log: Path, mode: str
) -> None:
    outputs = []
    for run in CLI_RUNS:
        argv = [str(hostile_log) if part == "DB" else part for part in run]
        if "DB" not in run:
            argv.insert(1, str(hostile_log))
        if mode == "json":
            argv.append("--json")
        session = terminal(*argv)
        assert session.wait_exit(timeout=STARTUP_S) == 0, bytes(session.raw)
        outputs.append(session.output)
    for out in outputs:
        # a CLI draws nothing: not one escape sequence of any kind, only \r\n from the pty
        assert out.sequences == []
        assert _FORBIDDEN.findall(out.text.replace("\r\n", "\n")) == []
        if mode == "json":
            assert out.raw.isascii()
    everything = Output.parse(b"".join(out.raw for out in outputs))
    if mode == "text":
        assert_stand_ins_shown(everything)
        assert "st␛]0;pwned-title␇[bold]␛[2J[/]" in everything.text  # the state, as stored
    else:
        # JSON keeps every value exactly, as escapes a terminal shows as text
        assert "\\u001b]0;pwned-title\\u0007" in everything.text
        assert "\\u009b31m" in everything.text and "\\u202e" in everything.text
        assert "[link=http://x]" in everything.text


def test_the_checks_would_notice_a_leak() -> None:
    """The byte checks above, shown failing on output that let stored text through."""
    drawn = "\x1b[1;1H\x1b[38;2;1;2;3mok ␛]0;pwned-title␇\x1b[0m\r\n".encode()
    assert_no_stored_sequence_reached_the_terminal(Output.parse(drawn))
    for leak in (OSC_TITLE, "\x1b]2;x\x07", CLEAR_SCREEN, "\x1b[3J", C1_CSI, "\x00", "\x7f",
                 "\u202e", "\x1b]8;;http://x\x1b\\y\x1b]8;;\x1b\\", OSC_CLIPBOARD):
        with pytest.raises(AssertionError):
            assert_no_stored_sequence_reached_the_terminal(
                Output.parse(drawn + f"a{leak}b".encode()))
