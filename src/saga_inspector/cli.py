"""The command line. `saga-inspector [DB]` opens the dashboard; `demo`, `stats`, `list` and
`show` print for people (aligned text) or scripts (`--json`, one document on stdout).

Thin on purpose: parsing, finding the file, dispatch. The store reads, report.py formats.
Bad input ends with one `saga-inspector: error: ...` line and exit code 2 (1: saga id not
found), never a traceback.
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
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .completion import SHELLS, describe, script
from .config import config_dir
from .demo import write_demo
from .discovery import (
    DATA_DIR_VARIABLE,
    LEGACY_LOG,
    LEGACY_NAME,
    SERVER_NAME,
    VERSIONED_LOGS,
    VERSIONED_PATTERN,
    Candidate,
    find_saga_logs,
)
from .display_time import ZoneChoice, choose_zone, display_zone, set_display_choice
from .export import FORMATS, JSONL, jsonl_line, write_sagas
from .follow import DEFAULT_INTERVAL, follow_sagas
from .report import (
    detail_to_dict,
    format_time,
    json_array_chunks,
    render_list,
    render_show,
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
    SagaDetail,
    SagaQuery,
    SagaStore,
    SortOrder,
    StoreError,
    Timestamp,
    format_named,
)
from .store.query import QUERY_HELP, QueryError, accepted_states, check_states, parse_query
from .units import format_count, format_size

PROG = "saga-inspector"
COMMANDS = ("demo", "stats", "list", "show", "completion")
DEFAULT_LIMIT = 50
ATTENTION = "attention"
EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141

USAGE = f"""{PROG} [DB] [--pick] [--demo] [--immutable [--force]] [--utc | --local-time]
       {PROG} [DB] --format launcher|server ...
       {PROG} demo PATH [--format launcher|server]
       {PROG} stats [DB] [--json]
       {PROG} list [DB] [--state S]... [--search TEXT] [--limit N] [--json]
       {PROG} list [DB] [--state S]... [--search TEXT] [--limit N] --format jsonl|csv
       {PROG} list [DB] [--search QUERY] [--sort id|started|duration] ...
       {PROG} list [DB] [--state S]... [--limit N] --jsonl [--follow [--interval SECONDS]]
       {PROG} show [DB] SAGA_ID [--json]
       {PROG} show [DB] SAGA_ID --explain [--json]
       {PROG} completion bash|zsh|fish"""

DESCRIPTION = """\
Inspect AgentMux saga logs strictly read-only -- the launcher's (launcher-sagas.db) and the
server's (sagas.db), told apart by their tables: a keyboard-driven dashboard, or plain text
and JSON for scripts."""

EPILOG = f"""\
commands:
  (none)      open the dashboard on DB
  demo PATH   write a realistic demo saga log (launcher's or server's) to a new file
  stats       sagas per state, schema version and warnings
  list        sagas, newest first, filtered by state and text
  show        one saga with all its steps, the step in flight marked;
              with --explain, a plain-language triage summary of it instead
  completion  print a completion script for bash, zsh or fish

Times are shown in the local zone, named (a time in text carries its offset); --utc
shows them in UTC for one run, --local-time in the local zone. Without either, the zone
last chosen in the dashboard (ctrl+p, "Times in UTC") applies; since:/until: in --search
read a time without an offset in that same zone. JSON gives times as RFC 3339 text: the
launcher's exactly as stored; a server time (stored in milliseconds) in UTC, with the
stored value beside it (started_at_raw, ended_at_raw).

Wherever DB is expected, --demo uses a fresh demo log in a temporary folder instead,
and --immutable reads DB as a snapshot that creates and changes no file at all (for
read-only media, evidence copies, folders you cannot write).
Without DB the log is looked for in ${DATA_DIR_VARIABLE} (when set) and ~/.agentmux:
  {LEGACY_NAME}
  {VERSIONED_PATTERN}
  the server's {SERVER_NAME} beside each (and in versions/*/data/db/ of older builds)
and when several are found the newest is read (--pick asks which).
`{PROG} COMMAND --help` describes each command.

exit codes: 0 ok, 1 saga id not found, 2 usage error or a file that cannot be read
as a saga log, 130 interrupted, 141 the output's reader went away (`| head`)."""


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


def _add_source(parser: argparse.ArgumentParser, *, db: bool = True,
                format_option: bool = True) -> None:
    """`format_option` False: `--format` means something else here (list's export format,
    which then also takes launcher|server); `--log-format` is always the log's format."""
    if db:
        parser.add_argument("db", nargs="?", metavar="DB",
                            help="the saga log to read (default: found in $AGENTMUX_DATA_DIR or "
                                 "~/.agentmux)")
    parser.add_argument("--demo", action="store_true",
                        help="read a fresh demo log in a temporary folder instead")
    parser.add_argument("--pick", action="store_true",
                        help="when several logs are found, ask which one to read")
    parser.add_argument("--immutable", action="store_true",
                        help="read a snapshot of the file alone: no -wal/-shm is created or "
                             "read (refused when a -wal with rows lies beside it)")
    parser.add_argument("--force", action="store_true",
                        help="with --immutable: read the file even though its -wal is ignored")
    names = ("--format", "--log-format") if format_option else ("--log-format",)
    parser.add_argument(*names, dest="log_format", choices=FORMAT_NAMES,
                        metavar="|".join(FORMAT_NAMES),
                        help="read DB as this format (default: told by the tables it has)")
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
    parser = _Parser(prog=f"{PROG} stats", usage=f"{PROG} stats [DB] [--demo] [--pick] [--json]",
                     description="Sagas per state, the schema version and any warnings.")
    _add_source(parser)
    _add_json(parser)
    return parser


def _list_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=f"{PROG} list",
        usage=f"{PROG} list [DB] [--demo] [--pick] [--state S]... [--search QUERY] "
              "[--sort id|started|duration] [--limit N] [--json | --jsonl | --format jsonl|csv]",
        description="Sagas, newest (highest id) first, or in the order --sort asks for.",
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
                        default=SortOrder.ID.value, metavar="id|started|duration",
                        help="id: newest first (the default); started: latest start first; "
                             "duration: longest first (sagas without one last)")
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
                             "saga as it appears or changes state, until interrupted")
    _add_interval(parser, "with --follow: how often to look at the file for changes")
    return parser


def _show_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=f"{PROG} show", usage=f"{PROG} show [DB] SAGA_ID [--demo] [--pick] "
                                                "[--explain] [--json]",
                     description="One saga with all its steps and payloads; the step that was "
                                 "in flight when the saga stopped is marked.")
    parser.add_argument("operands", nargs="+", metavar="[DB] SAGA_ID",
                        help="the saga log (optional) and the saga's id")
    _add_source(parser, db=False)
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


# -- finding the file ------------------------------------------------------------------------


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


def _discovered(pick: bool) -> Path:
    found = find_saga_logs()
    if not found:
        raise CliError(f"no saga log found in {_looked_in()}; give its path, or try --demo")
    if len(found) == 1:
        return found[0].path
    if pick:
        return _pick(found).path
    _note("note", f"found {len(found)} saga logs; reading the newest (--pick to choose):")
    _show_candidates(found)
    return found[0].path


def _looked_in() -> str:
    """Where discovery looked, as the error says it."""
    home = f"~/{LEGACY_LOG} or ~/{VERSIONED_LOGS} (or {SERVER_NAME} beside it)"
    moved = os.environ.get(DATA_DIR_VARIABLE, "").strip()
    if not moved:
        return home
    folder = Path(moved).expanduser()
    return (f"{folder / LEGACY_NAME} or {folder / VERSIONED_PATTERN} (${DATA_DIR_VARIABLE}), "
            f"nor in {home}")


@contextmanager
def _log_path(options: argparse.Namespace) -> Iterator[Path]:
    """The file to read: DB, a fresh demo (kept for the whole run), or one found on disk."""
    if options.demo:
        if options.db is not None:
            raise CliError("give DB or --demo, not both")
        # `--demo --format server`: the server's demo log (the launcher's by default).
        fmt = format_named(getattr(options, "log_format", None) or LAUNCHER.name)
        with tempfile.TemporaryDirectory(prefix="saga-inspector-demo-") as folder:
            yield write_demo(Path(folder) / fmt.file_name, log_format=fmt.name)
    elif options.db is not None:
        yield Path(options.db).expanduser()
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


@contextmanager
def _opened(options: argparse.Namespace) -> Iterator[SagaStore]:
    open_options = _open_options(options)
    with _log_path(options) as path, SagaStore.open(path, **open_options) as store:
        yield store


# -- commands --------------------------------------------------------------------------------


def _missing(path: Path) -> CliError:
    guess = difflib.get_close_matches(str(path), COMMANDS, n=1)
    hint = f"; did you mean `{PROG} {guess[0]}`?" if guess else f"; see `{PROG} --help`"
    return CliError(f"{path}: no such file{hint}")


def _dashboard(options: argparse.Namespace) -> int:
    with _log_path(options) as path:
        if not os.path.lexists(path):
            raise _missing(path)
        try:
            # Imported here: the commands that print never pay for loading Textual.
            from saga_inspector.tui import run_dashboard
        except ModuleNotFoundError as exc:
            if exc.name not in ("saga_inspector.tui", "textual", "rich"):
                raise
            raise CliError(f"the dashboard cannot start: {exc}") from None
        return run_dashboard(path, **_interval(options), **_open_options(options),
                             **_zone(options))


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
    with _opened(options) as store:
        counts = store.counts()
        if options.json:
            _out(to_json(stats_to_dict(store.path, store.schema, counts, store.warnings)))
        else:
            _warn_all(store.warnings)
            _out(render_stats(store.path, store.schema, counts))
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


def _warn_unknown_states(store: SagaStore, states: frozenset[str] | None) -> None:
    """A typo would silently list nothing: say so when no saga has such a state."""
    known = store.format.saga_states
    unknown = sorted((states or frozenset()) - frozenset(known))
    present = store.counts().by_state if unknown else {}
    for state in unknown:
        if state not in present:
            _note("warning", f"no saga has state {state!r} "
                             f"(known states: {', '.join(sorted(known))})")


def _follow(options: argparse.Namespace, states: frozenset[str] | None) -> int:
    """Stream sagas as JSON lines until interrupted; ctrl+c is the normal way to stop."""
    if not options.jsonl or options.json or options.search:
        raise CliError("--follow streams JSON lines: give it --jsonl (without --json or "
                       "--search)")
    opener = partial(SagaStore.open, **_open_options(options))
    with _log_path(options) as path:
        followed = follow_sagas(path, states=states, limit=options.limit, opener=opener,
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


def _list(options: argparse.Namespace) -> int:
    _export_format(options)
    if options.follow:
        if options.sort != SortOrder.ID:
            raise CliError("--follow streams sagas as they come, newest last: it takes no "
                           "--sort")
        return _follow(options, _states(options.state))
    query = SagaQuery(states=_states(options.state), text=options.search or None,
                      sort=SortOrder(options.sort), zone=display_zone())
    _checked(lambda: parse_query(query.text or "", zone=query.zone))  # before the file opens
    with _opened(options) as store:
        _warn_all(store.warnings)
        _warn_unknown_states(store, query.states)
        _checked(lambda: _check_query_states(store, query))
        for note in store.format.query_notes(
                str(term.qualifier) for term in query.parsed.terms if term.qualifier):
            _note("note", note)
        sagas = store.walk(query, options.limit)
        if options.format is not None:
            write_sagas(sagas, sys.stdout, options.format)
            return EXIT_OK
        if options.json:
            for chunk in json_array_chunks(saga_to_dict(saga) for saga in sagas):
                sys.stdout.write(chunk)
            return EXIT_OK
        shown = list(sagas)
        filtered = query.states is not None or query.searching
        _out(render_list(shown, empty="no sagas match" if filtered else "no sagas in this file"))
        if options.limit and len(shown) == options.limit:
            matching = store.count(query)
            if matching > len(shown):
                first = _FIRST_OF_SORT[query.sort]
                _out(f"\nshowing the {format_count(len(shown))} {first} of "
                     f"{format_count(matching)}; --limit 0 shows all")
    return EXIT_OK


_FIRST_OF_SORT = {SortOrder.ID: "newest", SortOrder.STARTED: "latest started",
                  SortOrder.DURATION: "longest"}


def _checked(check: Callable[[], object]) -> None:
    """A query the language does not understand ends the run with its message (exit 2)."""
    try:
        check()
    except QueryError as error:
        raise CliError(error.message) from None


def _check_query_states(store: SagaStore, query: SagaQuery) -> None:
    """`state:` names must be states: known ones or ones this file holds (a typo is an error
    that names the states, not an empty list)."""
    known = store.format.saga_states
    if query.parsed.state_names - frozenset(known):
        check_states(query.parsed, accepted_states(store.counts().by_state, known))


def _show_operands(operands: Sequence[str]) -> tuple[str | None, int]:
    if len(operands) > 2:
        raise CliError(f"show takes [DB] SAGA_ID, not {len(operands)} operands")
    db, raw_id = (None, operands[0]) if len(operands) == 1 else operands
    try:
        return db, int(raw_id)
    except ValueError:
        raise CliError(f"a saga id is a whole number, not {raw_id!r}") from None


def _show(options: argparse.Namespace) -> int:
    options.db, saga_id = _show_operands(options.operands)
    with _opened(options) as store:
        _warn_all(store.warnings)
        detail = store.saga(saga_id)
        if detail is None:
            raise CliError(f"no saga with id {saga_id} in {store.path}", code=EXIT_NOT_FOUND)
        if options.explain:
            _out(_explained(detail, as_json=options.json))
        else:
            _out(to_json(detail_to_dict(detail)) if options.json else render_show(detail))
    return EXIT_OK


def _explained(detail: SagaDetail, *, as_json: bool) -> str:
    """`show --explain`: the triage summary as text, or (--json) as one JSON document."""
    from .explain import explain, explanation_to_dict, render_text

    explanation = explain(detail, datetime.now(UTC))
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
