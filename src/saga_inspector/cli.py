"""The command line. `saga-inspector [PATH...]` opens the dashboard; `demo`, `stats`, `list`
and `show` print for people (aligned text) or scripts (`--json`, one document on stdout).

Thin on purpose: parsing, finding the logs, dispatch. Every log is opened through
`MergedSource.open` (one log or several, read as one view); the store reads, report.py
formats. Bad input ends with one `saga-inspector: error: ...` line and exit code 2 (1: saga
id not found), never a traceback. Of several logs, one that cannot be read is a warning (and
on its source in `stats`); exit 2 only when none can be read.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shlex
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .completion import SHELLS, describe, script
from .config import config_dir
from .demo import write_demo, write_demo_fleet
from .discovery import (
    DATA_DIR_VARIABLE,
    DEFAULT_DATA_DIR,
    LEGACY_LOG,
    LEGACY_NAME,
    LOG_NAMES,
    SERVER_NAME,
    VERSIONED_LOGS,
    VERSIONED_PATTERN,
    Candidate,
    find_all_saga_logs,
    find_saga_logs,
    find_saga_logs_under,
)
from .display_time import ZoneChoice, choose_zone, display_zone, set_display_choice
from .export import FORMATS, JSONL, jsonl_line, write_sagas
from .follow import DEFAULT_INTERVAL, follow_sources
from .report import (
    detail_to_dict,
    format_time,
    json_array_chunks,
    render_list,
    render_show,
    render_sources_stats,
    render_stats,
    saga_to_dict,
    stats_to_dict,
    to_json,
)
from .sanitize import sanitize
from .store import (
    ATTENTION_STATES,
    FORMAT_NAMES,
    KNOWN_SAGA_STATES,
    LAUNCHER,
    Saga,
    SagaDetail,
    SagaQuery,
    SortOrder,
    StoreError,
    Timestamp,
    format_named,
)
from .store.merged import MergedSource
from .store.query import QUERY_HELP, QueryError, accepted_states, check_states, parse_query
from .store.source import AmbiguousSaga
from .units import format_count, format_size

PROG = "saga-inspector"
COMMANDS = ("demo", "stats", "list", "show", "completion")
DEFAULT_LIMIT = 50
ATTENTION = "attention"
EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141

USAGE = f"""{PROG} [PATH...] [--pick] [--demo] [--immutable [--force]] [--utc | --local-time]
       {PROG} [PATH...] --format launcher|server ...
       {PROG} demo PATH [--format launcher|server]
       {PROG} stats [PATH...] [--json]
       {PROG} list [PATH...] [--state S]... [--search TEXT] [--limit N] [--json]
       {PROG} list [PATH...] [--state S]... [--search TEXT] [--limit N] --format jsonl|csv
       {PROG} list [PATH...] [--search QUERY] [--sort id|started|duration] ...
       {PROG} list [PATH...] [--state S]... [--limit N] --jsonl [--follow [--interval SECONDS]]
       {PROG} show [PATH...] [SOURCE:]SAGA_ID [--json]
       {PROG} show [PATH...] [SOURCE:]SAGA_ID --explain [--json]
       {PROG} completion bash|zsh|fish"""

DESCRIPTION = """\
Inspect AgentMux saga logs strictly read-only -- the launcher's (launcher-sagas.db) and the
server's (sagas.db), told apart by their tables: a keyboard-driven dashboard, or plain text
and JSON for scripts."""

EPILOG = f"""\
commands:
  (none)      open the dashboard on the logs
  demo PATH   write a realistic demo saga log (launcher's or server's) to a new file
  stats       sagas per state, schema version and warnings (of each log, and in all)
  list        sagas, newest first, filtered by state and text
  show        one saga with all its steps, the step in flight marked;
              with --explain, a plain-language triage summary of it instead
  completion  print a completion script for bash, zsh or fish

Each PATH is a saga log or a folder, searched (snapshot folders too) for
launcher-sagas.db and sagas.db; several logs are read as one view. A log is a source
with a short label (stable/0.41.2/launcher); ids collide across logs, so a saga is
SOURCE:ID (`show stable/0.41.2/launcher:7`; a bare id that several logs hold is refused,
naming them). With several logs, `list` puts the latest started first (ties by source,
then id), shows a SOURCE column, and every saga in the JSON has "source" and
"source_path"; `stats --json` gives the counts over all of them and each log in
"sources". A log that cannot be read is a warning, and on its source.

Times are shown in the local zone, named (a time in text carries its offset); --utc
shows them in UTC for one run, --local-time in the local zone. Without either, the zone
last chosen in the dashboard (ctrl+p, "Times in UTC") applies; since:/until: in --search
read a time without an offset in that same zone. JSON gives times as RFC 3339 text: the
launcher's exactly as stored; a server time (stored in milliseconds) in UTC, with the
stored value beside it (started_at_raw, ended_at_raw).

Wherever PATH is expected, --demo uses a fresh demo log in a temporary folder instead,
and --immutable reads the logs as snapshots that create and change no file at all (for
read-only media, evidence copies, folders you cannot write).
Without PATH every log in ${DATA_DIR_VARIABLE} (when set) and ~/.agentmux is read:
  {LEGACY_NAME}
  {VERSIONED_PATTERN}
  the server's {SERVER_NAME} beside each (and in versions/*/data/db/ of older builds),
  dev trees and the server's snapshot copies (snapshots/*.bak/)
(--pick asks for one of them instead).
`{PROG} COMMAND --help` describes each command.

exit codes: 0 ok (at least one log could be read), 1 saga id not found, 2 usage error,
a saga id several logs hold, or no log that can be read as a saga log, 130 interrupted,
141 the output's reader went away (`| head`)."""


class CliError(Exception):
    """Ends the run with one error line and an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block plus "prog subcommand: error: ...".
        raise CliError(f"{message} (see `{self.prog} --help`)")


# -- parsers ---------------------------------------------------------------------------------


def _add_source(parser: argparse.ArgumentParser, *, paths: bool = True,
                format_option: bool = True) -> None:
    """`format_option` False: `--format` means something else here (list's export format,
    which then also takes launcher|server); `--log-format` is always the log's format."""
    if paths:
        parser.add_argument("paths", nargs="*", metavar="PATH",
                            help="saga logs or folders to search for them, read as one view "
                                 "(default: every log in $AGENTMUX_DATA_DIR and ~/.agentmux)")
    parser.add_argument("--demo", action="store_true",
                        help="read a fresh demo log in a temporary folder instead")
    parser.add_argument("--pick", action="store_true",
                        help="without PATH, when several logs are found, ask which one to "
                             "read (instead of all of them)")
    parser.add_argument("--immutable", action="store_true",
                        help="read a snapshot of the file alone: no -wal/-shm is created or "
                             "read (refused when a -wal with rows lies beside it)")
    parser.add_argument("--force", action="store_true",
                        help="with --immutable: read the files even though their -wal is "
                             "ignored")
    names = ("--format", "--log-format") if format_option else ("--log-format",)
    parser.add_argument(*names, dest="log_format", choices=FORMAT_NAMES,
                        metavar="|".join(FORMAT_NAMES),
                        help="read the logs as this format (default: told by the tables each "
                             "has)")
    parser.add_argument("--utc", dest="zone", action="store_const", const=ZoneChoice.UTC,
                        help="show times in UTC (and read since:/until: in UTC), this run only")
    parser.add_argument("--local-time", dest="zone", action="store_const",
                        const=ZoneChoice.LOCAL,
                        help="show times in the local zone, this run only (the default, "
                             "unless the dashboard remembered UTC)")


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="one strict JSON document on stdout, for scripts")


def _main_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, usage=USAGE, description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_source(parser)
    _add_interval(parser, "how often the dashboard looks at the file for changes")
    parser.add_argument("--version", action=_VersionAction,
                        help="the version, and those of Textual, Rich and SQLite in use")
    return parser


def versions() -> str:
    """This tool's version, then what it runs on (what a bug report needs)."""
    from importlib.metadata import PackageNotFoundError, version

    def of(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed"

    return (f"{PROG} {__version__}\nTextual {of('textual')}, Rich {of('rich')}, "
            f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}")


class _VersionAction(argparse.Action):
    """--version, printed as written (argparse's own action rewraps it into one line)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> NoReturn:
        _out(versions())
        parser.exit()


def _add_interval(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--interval", type=_seconds, metavar="SECONDS",
                        help=f"{what} (default {DEFAULT_INTERVAL:g})")


def _interval(options: argparse.Namespace) -> dict[str, float]:
    """--interval as a keyword (none when not given: the default applies)."""
    return {} if options.interval is None else {"interval": options.interval}


def _zone(options: argparse.Namespace) -> dict[str, ZoneChoice]:
    """--utc/--local-time as a keyword (none when neither is given: the remembered zone)."""
    return {} if options.zone is None else {"zone": options.zone}


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0.05 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"give 0.05 to 3600 seconds, not {text}")
    return value


def _demo_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=f"{PROG} demo", usage=f"{PROG} demo PATH [--format launcher|server]",
                     description="Write a realistic, deterministic demo saga log to a new file "
                                 "(an existing file is never overwritten).")
    parser.add_argument("path", metavar="PATH", help="where to write it")
    parser.add_argument("--format", dest="log_format", choices=FORMAT_NAMES,
                        default=LAUNCHER.name, metavar="launcher|server",
                        help="whose log: the launcher's (launcher-sagas.db, the default) or "
                             "the server's (sagas.db: nine kinds, undo rows, recoveries)")
    return parser


def _stats_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=f"{PROG} stats",
                     usage=f"{PROG} stats [PATH...] [--demo] [--pick] [--json]",
                     description="Sagas per state, the schema version and any warnings; of "
                                 "several logs, the counts over all of them and each log.")
    _add_source(parser)
    _add_json(parser)
    return parser


def _list_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=f"{PROG} list",
        usage=f"{PROG} list [PATH...] [--demo] [--pick] [--state S]... [--search QUERY] "
              "[--sort id|started|duration] [--limit N] [--json | --jsonl | --format jsonl|csv]",
        description="Sagas, newest first (of one log: highest id first; of several: latest "
                    "started first, ties by source then id), or in the order --sort asks for.",
        epilog=QUERY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_source(parser, format_option=False)
    parser.add_argument("--state", action="append", metavar="S",
                        help="only sagas in state S; repeat it or give a comma list for several; "
                             f"'{ATTENTION}' means {', '.join(sorted(ATTENTION_STATES))}")
    parser.add_argument("--search", metavar="QUERY",
                        help="only sagas matching QUERY: free text (found in the id, name, "
                             "failure reason or input) and qualifiers such as state:failed "
                             "label:main slower:5s (see the query language below)")
    parser.add_argument("--sort", choices=[order.value for order in SortOrder],
                        metavar="id|started|duration",
                        help="id: newest first (the default of one log); started: latest "
                             "start first (the default of several); duration: longest first "
                             "(sagas without one last)")
    parser.add_argument("--limit", type=_count, default=DEFAULT_LIMIT, metavar="N",
                        help=f"at most N sagas (default {DEFAULT_LIMIT}; 0 for all)")
    _add_json(parser)
    parser.add_argument("--jsonl", action="store_true",
                        help="one strict JSON object a line (the --json items), for streams; "
                             "the same as --format jsonl")
    parser.add_argument("--format", choices=(*FORMATS, *FORMAT_NAMES), metavar="jsonl|csv",
                        help="export: jsonl (exact values, one JSON object a line) or csv "
                             "(text sanitised, cells a spreadsheet would run as formulas "
                             "prefixed with '); launcher|server here is --log-format")
    parser.add_argument("--follow", action="store_true",
                        help="with --jsonl: the --limit newest sagas oldest first, then each "
                             "saga as it appears or changes state in any of the logs, until "
                             "interrupted")
    _add_interval(parser, "with --follow: how often to look at the files for changes")
    return parser


def _show_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=f"{PROG} show", usage=f"{PROG} show [PATH...] [SOURCE:]SAGA_ID "
                                                "[--demo] [--pick] [--explain] [--json]",
                     description="One saga with all its steps and payloads; the step that was "
                                 "in flight when the saga stopped is marked.")
    parser.add_argument("operands", nargs="+", metavar="[PATH...] [SOURCE:]SAGA_ID",
                        help="the saga logs or folders (optional) and the saga's id, "
                             "after its source's label and a colon when several logs hold it")
    _add_source(parser, paths=False)
    parser.add_argument("--explain", action="store_true",
                        help="a plain-language triage summary instead: what the saga was for, "
                             "how far it got, what it waited for, why it failed, what to check "
                             "on the host (the dashboard's x); with --json, that summary as "
                             "JSON: cause, verdict, sections")
    _add_json(parser)
    return parser


def _completion_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=f"{PROG} completion", usage=f"{PROG} completion bash|zsh|fish",
                     description="Print a completion script for every command and option; "
                                 "the README says where each shell looks for it.")
    parser.add_argument("shell", choices=SHELLS, metavar="bash|zsh|fish",
                        help="the shell to complete in")
    return parser


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


# -- output ----------------------------------------------------------------------------------


def _out(text: str) -> None:
    print(text, file=sys.stdout)


def _note(kind: str, message: str) -> None:
    print(f"{PROG}: {kind}: {sanitize(message)}", file=sys.stderr)


def _warn_all(warnings: Iterable[str]) -> None:
    for warning in warnings:
        _note("warning", warning)


def _tolerate_unencodable_output() -> None:
    """Sanitised text holds stand-ins such as ␛; a terminal that cannot show them gets \\u
    escapes instead of a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


def _silence_stdout() -> None:
    """The reader went away (`| head`): send the rest, and the flush at exit, nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


# -- finding the logs ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Found:
    """The logs a run reads (one or several), which of them are snapshot copies, and what
    could not be searched."""

    paths: tuple[Path, ...]
    snapshots: tuple[bool, ...]
    warnings: tuple[str, ...] = ()


def _candidate_line(number: int, candidate: Candidate) -> str:
    modified = Timestamp("", datetime.fromtimestamp(candidate.modified, UTC))
    wal = " + -wal" if candidate.has_wal else ""
    return (f"  {number}. {sanitize(str(candidate.path))}  (modified {format_time(modified)}, "
            f"{format_size(candidate.size)}{wal})")


def _show_candidates(found: Sequence[Candidate]) -> None:
    for number, candidate in enumerate(found, start=1):
        print(_candidate_line(number, candidate), file=sys.stderr)


def _pick(found: Sequence[Candidate]) -> Candidate:
    if sys.stdin is None or not sys.stdin.isatty():
        raise CliError("--pick asks on a terminal, and stdin is not one; give the path instead")
    _show_candidates(found)
    while True:
        sys.stderr.write(f"open which one? [1-{len(found)}, enter for 1] ")
        sys.stderr.flush()
        answer = sys.stdin.readline()
        if not answer:  # end of input: finish the prompt's line before the error
            print(file=sys.stderr)
            raise CliError("no saga log chosen")
        answer = answer.strip() or "1"
        if answer.isascii() and answer.isdigit() and 1 <= int(answer) <= len(found):
            return found[int(answer) - 1]
        print(f"type a number from 1 to {len(found)}", file=sys.stderr)


def _discovered(pick: bool) -> _Found:
    """No PATH: every log in the data folders; --pick: the one the user chooses."""
    if pick:
        newest_first = find_saga_logs()
        if not newest_first:
            raise _none_found()
        chosen = newest_first[0] if len(newest_first) == 1 else _pick(newest_first)
        return _Found((chosen.path,), (chosen.snapshot,))
    found, warnings = find_all_saga_logs()
    if not found:
        raise _none_found()
    return _Found(tuple(c.path for c in found), tuple(c.snapshot for c in found),
                  tuple(warnings))


def _none_found() -> CliError:
    return CliError(f"no saga log found in {_looked_in()}; give its path, or try --demo")


def _looked_in() -> str:
    """Where discovery looked, as the error says it."""
    home = f"~/{LEGACY_LOG} or ~/{VERSIONED_LOGS} (or {SERVER_NAME} beside it)"
    moved = os.environ.get(DATA_DIR_VARIABLE, "").strip()
    if not moved:
        return home
    folder = Path(moved).expanduser()
    return (f"{folder / LEGACY_NAME} or {folder / VERSIONED_PATTERN} (${DATA_DIR_VARIABLE}), "
            f"nor in {home}")


def _found_under(given: Sequence[str]) -> _Found:
    """The logs the PATHs name, in their order (a folder's by path): a folder is searched
    (discovery.find_saga_logs_under); a PATH that names no file is kept as given, so that
    opening it says what is wrong, on that source (and one such PATH says it as before)."""
    paths: list[Path] = []
    snapshots: list[bool] = []
    warnings: list[str] = []
    seen: set[object] = set()
    for text in given:
        path = Path(text).expanduser()
        candidates, found_warnings = find_saga_logs_under([path])
        if os.path.isdir(path):
            warnings += found_warnings
            if not candidates:
                warnings.append(f"{path}: is a folder holding no saga log (looked for "
                                f"{' and '.join(LOG_NAMES)} in it and below)")
            entries = [(c.path, c.snapshot) for c in candidates]
        else:
            entries = [(c.path, c.snapshot) for c in candidates] or [(path, False)]
        for entry, snapshot in entries:
            key = _file_key(entry)
            if key not in seen:
                seen.add(key)
                paths.append(entry)
                snapshots.append(snapshot)
    if not paths:
        if len(warnings) == 1:
            raise CliError(warnings[0])
        _warn_all(warnings)
        raise CliError(f"no saga log found under {', '.join(given)}")
    return _Found(tuple(paths), tuple(snapshots), tuple(warnings))


def _file_key(path: Path) -> object:
    """What makes two PATHs the same log (one named twice, or through a link)."""
    try:
        info = os.stat(path)
    except OSError:
        return os.path.normcase(os.path.abspath(path))
    return (info.st_dev, info.st_ino) if info.st_ino else os.path.normcase(
        os.path.realpath(path))


@contextmanager
def _log_paths(options: argparse.Namespace) -> Iterator[_Found]:
    """The logs to read: the PATHs, a fresh demo (kept for the whole run), or every log
    found on disk."""
    if options.demo:
        if options.paths:
            raise CliError("give DB or --demo, not both")
        # `--demo`: a small fleet (two launcher version folders and a server log) laid out
        # like ~/.agentmux; `--demo --format launcher|server`: that format's one demo log.
        named = getattr(options, "log_format", None)
        with tempfile.TemporaryDirectory(prefix="saga-inspector-demo-") as folder:
            if named:
                fmt = format_named(named)
                paths = [write_demo(Path(folder) / fmt.file_name, log_format=fmt.name)]
            else:
                paths = write_demo_fleet(Path(folder) / DEFAULT_DATA_DIR)
            yield _Found(tuple(paths), (False,) * len(paths))
    elif options.paths:
        yield _found_under(options.paths)
    else:
        yield _discovered(options.pick)


def _open_options(options: argparse.Namespace) -> dict[str, Any]:
    """--immutable/--force/--format as SagaStore.open's keywords (none when not asked for)."""
    if options.force and not options.immutable:
        raise CliError("--force only goes with --immutable")
    found: dict[str, Any] = {"immutable": True, "force": options.force} if options.immutable else {}
    if getattr(options, "log_format", None):
        found["log_format"] = format_named(options.log_format)
    return found


@dataclass
class _Reading:
    """The logs a command reads, as one view, and the warnings of the run."""

    source: MergedSource
    found_warnings: tuple[str, ...]
    _said: set[str] = field(default_factory=set)

    @property
    def several(self) -> bool:
        return self.source.source_count > 1

    @property
    def warnings(self) -> list[str]:
        """What could not be searched, then each log's warnings and failures (prefixed by
        its label when there are several)."""
        return [*self.found_warnings, *self.source.warnings]

    def warn(self) -> None:
        """Say each warning not said yet (a log that fails part-way through a read adds
        one)."""
        for warning in self.warnings:
            if warning not in self._said:
                self._said.add(warning)
                _note("warning", warning)


@contextmanager
def _opened(options: argparse.Namespace) -> Iterator[_Reading]:
    open_options = _open_options(options)
    with _log_paths(options) as found:
        source = MergedSource.open(found.paths, snapshots=found.snapshots, **open_options)
        with source:
            reading = _Reading(source, found.warnings)
            _check_readable(reading)
            yield reading


def _check_readable(reading: _Reading) -> None:
    """At least one log must be readable: one log that is not ends with its own message
    (as ever); of several, each one's is a warning, then the error."""
    source = reading.source
    if source.readable_count:
        return
    if source.source_count == 1:
        raise CliError(source.members[0].error or f"{source.path}: cannot be read")
    reading.warn()
    raise CliError(f"none of the {source.source_count} saga logs could be read")


# -- commands --------------------------------------------------------------------------------


def _missing(path: Path) -> CliError:
    guess = difflib.get_close_matches(str(path), COMMANDS, n=1)
    hint = f"; did you mean `{PROG} {guess[0]}`?" if guess else f"; see `{PROG} --help`"
    return CliError(f"{path}: no such file{hint}")


def _dashboard(options: argparse.Namespace) -> int:
    with _log_paths(options) as found:
        _warn_all(found.warnings)
        if len(found.paths) == 1 and not os.path.lexists(found.paths[0]):
            raise _missing(found.paths[0])
        try:
            # Imported here: the commands that print never pay for loading Textual.
            from saga_inspector.tui import run_dashboard
        except ModuleNotFoundError as exc:
            if exc.name not in ("saga_inspector.tui", "textual", "rich"):
                raise
            raise CliError(f"the dashboard cannot start: {exc}") from None
        keywords = {**_interval(options), **_open_options(options), **_zone(options)}
        return run_dashboard(list(found.paths), snapshots=list(found.snapshots), **keywords)


def _demo(options: argparse.Namespace) -> int:
    path = Path(options.path).expanduser()
    try:
        write_demo(path, log_format=options.log_format)
    except FileExistsError:
        raise CliError(f"{path} already exists; the demo is only written to a new file") from None
    except (OSError, sqlite3.Error) as exc:
        raise CliError(f"{path}: cannot write the demo log here ({exc})") from None
    shown = sanitize(str(path))
    _out(f"wrote a demo saga log to {shown}\nopen it with: {PROG} {shlex.quote(shown)}")
    return EXIT_OK


def _stats(options: argparse.Namespace) -> int:
    with _opened(options) as reading:
        source = reading.source
        counts = source.counts()
        sources = source.sources()
        single = source.single
        if options.json:
            schema = single.schema if single is not None else None
            _out(to_json(stats_to_dict(counts, sources, reading.warnings, schema)))
        else:
            reading.warn()
            _out(render_stats(single.path, single.schema, counts) if single is not None
                 else render_sources_stats(counts, sources))
    return EXIT_OK


def _states(values: Sequence[str] | None) -> frozenset[str] | None:
    """`--state a --state b,c` -> {a, b, c}; `attention` stands for the four attention states."""
    if not values:
        return None
    names = {name.strip() for value in values for name in value.split(",") if name.strip()}
    if not names:
        raise CliError("--state needs a state name")
    if ATTENTION in names:
        names = (names - {ATTENTION}) | ATTENTION_STATES
    return frozenset(names)


def _warn_unknown_states(source: MergedSource, states: frozenset[str] | None) -> None:
    """A typo would silently list nothing: say so when no saga has such a state."""
    known = source.format.saga_states
    unknown = sorted((states or frozenset()) - frozenset(known))
    present = source.counts().by_state if unknown else {}
    for state in unknown:
        if state not in present:
            _note("warning", f"no saga has state {state!r} "
                             f"(known states: {', '.join(sorted(known))})")


def _follow(options: argparse.Namespace, states: frozenset[str] | None) -> int:
    """Stream sagas as JSON lines from every log until interrupted; ctrl+c is the normal way
    to stop."""
    if not options.jsonl or options.json or options.search:
        raise CliError("--follow streams JSON lines: give it --jsonl (without --json or "
                       "--search)")
    with _opened(options) as reading:
        # Each followed log says its own warnings (as notes, as ever); said here: what could
        # not be searched, and the logs that cannot be read (not followed).
        _warn_all(reading.found_warnings)
        _warn_all(f"{member.tag.label}: {member.error}" for member in reading.source.members
                  if member.error is not None)
        followed = follow_sources(reading.source, states=states, limit=options.limit,
                                  note=lambda message: _note("note", message),
                                  **_interval(options))
        try:
            for saga in followed:
                sys.stdout.write(jsonl_line(saga) + "\n")
                sys.stdout.flush()
        except KeyboardInterrupt:
            followed.close()
    return EXIT_OK


def _export_format(options: argparse.Namespace) -> None:
    """--jsonl is --format jsonl: one option underneath (options.format). `--format
    launcher|server` is the log's format, as on the other commands."""
    if options.format in FORMAT_NAMES:
        if options.log_format not in (None, options.format):
            raise CliError(f"--format {options.format} and --log-format {options.log_format} "
                           "disagree: give the log's format once")
        options.log_format, options.format = options.format, None
    if options.jsonl:
        if options.format not in (None, JSONL):
            raise CliError(f"--jsonl is --format jsonl: give one format, not --format "
                           f"{options.format} too")
        options.format = JSONL
    if options.format is not None and options.json:
        raise CliError("give --json (one JSON document) or --format (one record a line), "
                       "not both")
    options.jsonl = options.format == JSONL


def _sort(options: argparse.Namespace, reading: _Reading) -> SortOrder:
    """--sort, or the view's own order: newest id first of one log, latest started first of
    several (the only clock they share)."""
    if options.sort is not None:
        return SortOrder(options.sort)
    return SortOrder.STARTED if reading.several else SortOrder.ID


def _list(options: argparse.Namespace) -> int:
    _export_format(options)
    if options.follow:
        if options.sort not in (None, SortOrder.ID):
            raise CliError("--follow streams sagas as they come, newest last: it takes no "
                           "--sort")
        return _follow(options, _states(options.state))
    states, text, zone = _states(options.state), options.search or None, display_zone()
    _checked(lambda: parse_query(text or "", zone=zone))  # before the file opens
    with _opened(options) as reading:
        source = reading.source
        query = SagaQuery(states=states, text=text, sort=_sort(options, reading), zone=zone)
        reading.warn()
        _warn_unknown_states(source, query.states)
        _checked(lambda: _check_query_states(source, query))
        for note in source.format.query_notes(
                str(term.qualifier) for term in query.parsed.terms if term.qualifier):
            _note("note", note)
        sagas = source.walk(query, options.limit)
        if options.format is not None:
            write_sagas(sagas, sys.stdout, options.format)
        elif options.json:
            for chunk in json_array_chunks(saga_to_dict(saga) for saga in sagas):
                sys.stdout.write(chunk)
        else:
            _list_text(options, reading, query, list(sagas))
        reading.warn()  # a log that failed part-way through
    return EXIT_OK


def _list_text(options: argparse.Namespace, reading: _Reading, query: SagaQuery,
               shown: list[Saga]) -> None:
    filtered = query.states is not None or query.searching
    where = "these logs" if reading.several else "this file"
    _out(render_list(shown, empty="no sagas match" if filtered else f"no sagas in {where}",
                     with_source=reading.several))
    if options.limit and len(shown) == options.limit:
        matching = reading.source.count(query)
        if matching > len(shown):
            first = _FIRST_OF_SORT[query.sort]
            _out(f"\nshowing the {format_count(len(shown))} {first} of "
                 f"{format_count(matching)}; --limit 0 shows all")


_FIRST_OF_SORT = {SortOrder.ID: "newest", SortOrder.STARTED: "latest started",
                  SortOrder.DURATION: "longest"}


def _checked(check: Callable[[], object]) -> None:
    """A query the language does not understand ends the run with its message (exit 2)."""
    try:
        check()
    except QueryError as error:
        raise CliError(error.message) from None


def _check_query_states(source: MergedSource, query: SagaQuery) -> None:
    """`state:` names must be states: known ones or ones these logs hold (a typo is an error
    that names the states, not an empty list)."""
    known = source.format.saga_states
    if query.parsed.state_names - frozenset(known):
        check_states(query.parsed, accepted_states(source.counts().by_state, known))


@dataclass(frozen=True, slots=True)
class _SagaName:
    """`show`'s last operand: `ID`, or `SOURCE:ID` (split at the last ':'; labels hold none)."""

    saga_id: int
    source: str | None = None


def _show_operands(operands: Sequence[str]) -> tuple[list[str], _SagaName]:
    *paths, raw = operands
    for path in paths:  # `show DB 1 2`: two ids, not a file named 1
        if path.isascii() and path.isdigit() and not os.path.lexists(path):
            raise CliError(f"show takes one saga id, the last operand; {path} is neither a "
                           "saga log nor a folder")
    label, colon, raw_id = raw.rpartition(":")
    try:
        return paths, _SagaName(int(raw_id), label if colon else None)
    except ValueError:
        raise CliError(f"a saga id is a whole number, not {raw_id!r}") from None


def _show(options: argparse.Namespace) -> int:
    options.paths, name = _show_operands(options.operands)
    with _opened(options) as reading:
        reading.warn()
        detail = _saga_named(reading, name)
        if options.explain:
            _out(_explained(detail, as_json=options.json))
        elif options.json:
            _out(to_json(detail_to_dict(detail)))
        else:
            _out(render_show(detail, with_source=reading.several))
    return EXIT_OK


def _saga_named(reading: _Reading, name: _SagaName) -> SagaDetail:
    """The saga `show` names; exit 2 for a source label no log has, a log that cannot be
    read, or a bare id several logs hold (naming each `SOURCE:ID`); exit 1 when not found."""
    source = reading.source
    if name.source is not None:
        member = source.member(name.source)
        if member is None:
            labels = ", ".join(m.tag.label for m in source.members)
            raise CliError(f"no saga log is labelled {name.source!r}; the labels are: {labels}")
        if member.error is not None:
            raise CliError(f"{name.source} cannot be read: {member.error}")
    try:
        detail = source.saga(name.saga_id, name.source)
    except AmbiguousSaga as ambiguous:
        raise CliError(str(ambiguous)) from None
    if detail is None:
        where = (str(source.path) if not reading.several else name.source
                 or f"any of the {source.source_count} saga logs")
        raise CliError(f"no saga with id {name.saga_id} in {where}", code=EXIT_NOT_FOUND)
    return detail


def _explained(detail: SagaDetail, *, as_json: bool) -> str:
    """`show --explain`: the triage summary as text, or (--json) as one JSON document."""
    from .explain import explain, explanation_to_dict, render_text
    from .store.merged import last_write

    explanation = explain(detail, datetime.now(UTC),
                          last_write=last_write(detail.saga.source.path))
    return to_json(explanation_to_dict(explanation)) if as_json else render_text(explanation)


def _completion(options: argparse.Namespace) -> int:
    states = (ATTENTION, *sorted(KNOWN_SAGA_STATES))
    commands = [describe(name, make_parser(), {"--state": states})
                for name, (make_parser, _handler) in _COMMANDS.items()]
    sys.stdout.write(script(options.shell, PROG, commands))
    return EXIT_OK


_Command = tuple[Callable[[], argparse.ArgumentParser], Callable[[argparse.Namespace], int]]
_COMMANDS: dict[str | None, _Command] = {
    None: (_main_parser, _dashboard),
    "demo": (_demo_parser, _demo),
    "stats": (_stats_parser, _stats),
    "list": (_list_parser, _list),
    "show": (_show_parser, _show),
    "completion": (_completion_parser, _completion),
}


def _dispatch(args: Sequence[str]) -> int:
    # A subcommand name first selects it; anything else is the dashboard's [DB] (a file
    # really called `stats` is reached as `./stats`).
    command = args[0] if args and args[0] in COMMANDS else None
    make_parser, handler = _COMMANDS[command]
    try:
        options = make_parser().parse_intermixed_args(args[1:] if command else args)
    except SystemExit as exc:  # --help and --version end here
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    _check_zone_flags(args)
    set_display_choice(choose_zone(getattr(options, "zone", None), config_dir()))
    return handler(options)


def _check_zone_flags(args: Sequence[str]) -> None:
    if "--utc" in args and "--local-time" in args:
        raise CliError("give --utc or --local-time, not both")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    _tolerate_unencodable_output()
    try:
        code = _dispatch(args)
        sys.stdout.flush()
        return code
    except CliError as exc:
        _note("error", exc.message)
        return exc.code
    except StoreError as exc:
        _note("error", exc.message)
        return EXIT_USAGE
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
