"""Dashboard benchmark: the real app on a pseudo-terminal, a small log against a huge one.

    /tmp/venv/bin/python benchmarks/bench_dashboard.py            # 1 000 and 1 000 000 sagas
    /tmp/venv/bin/python benchmarks/bench_dashboard.py --runs 5 --sizes 1000 1000000
    /tmp/venv/bin/python benchmarks/bench_dashboard.py --verify   # screen model vs tmux, once
    /tmp/venv/bin/python benchmarks/bench_dashboard.py --format server   # the server's sagas.db
    /tmp/venv/bin/python benchmarks/bench_dashboard.py --save run.json; ... --table run.json
    /tmp/venv/bin/python benchmarks/bench_dashboard.py --fleet 50   # 50 logs vs one 1M log
    /tmp/venv/bin/python benchmarks/bench_dashboard.py --fleet 500  # 500 small logs (fleet.py)

Each run starts `python -m saga_inspector FILE` on its own 160x48 pty (TERM=xterm-256color)
and drives it with keys, timing each key from the moment it is written to the moment the
output that draws its result is read. "Drawn" is decided on a model of the screen
(pty_screen.Screen) by what should be at a place: the saga rows expected there (ids and names
read beforehand from the same file through the read-only store), a step's start time in the
detail pane, a message in the table. `--verify` checks that model against tmux.

Logs are built by bench_store.log_of under benchmarks/data/ (reused when present). Figures are
WARM: for each file one untimed session runs first (it also pulls the file into the page
cache), then --runs sessions are timed; each figure is the median over them. Sessions for the
floor and both files are interleaved, so noise from other work on the machine hits all alike.
The floor is benchmarks/minimal_app.py (a Textual app drawing one line), started the same way.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import dataclasses
import importlib.metadata
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench_store import DATA, log_of
from page_cache import held_in_memory
from pty_screen import Condition, PtySession, Screen, TimedOut
from saga_inspector.display_time import TimeStyle, show_time
from saga_inspector.store import Saga, SagaQuery, SagaStore, SortOrder, StateCounts, Step
from saga_inspector.store.merged import MergedSource
from saga_inspector.units import format_count

HERE = Path(__file__).parent
ROOT = HERE.parent
COLS, ROWS = 160, 48
COMMON_STATE, COMMON_KEY = "completed", "2"
RARE_STATE, RARE_KEY = "compensating", "4"
# Rare too, and on a server log served by no index (only running and compensating are).
UNINDEXED_STATE, UNINDEXED_KEY = "failed_compensation", "5"
# A term in many sagas' failure reasons: the launcher's timeouts, the server's "… not found".
FREQUENT_TERMS = {"launcher": "timeout", "server": "found"}
FREQUENT_TERM = FREQUENT_TERMS["launcher"]  # (set from --format in main)
# Typed into the search line, so no letter may be a key of the table (q quits).
# One per no-match experiment, so that each is a new query.
NO_MATCH_TERMS = ("zzxv", "zzvx", "zxzv", "zvzx")
# The first one as each kind of search that matches nothing (issue 15): free text (the
# figure of issue 6, unnamed), and `label:` and `ref:`, which read every step's payloads.
NO_MATCH_KINDS = (("", "{}"), (" (label:)", "label:{}"), (" (ref:)", "ref:{}"))
PAGE_DOWN, ENTER, ESCAPE = "\x1b[6~", "\r", "\x1b"
HELP_TITLE = "saga-inspector help"
WAIT_S = 60.0  # the longest anything may take to appear before the run counts as failed
SETTLE_S = 0.3  # no output for this long: the app is idle, the next key starts clean
# Textual reports a lone escape only after ESCDELAY (100 ms by default) without a following
# byte: every figure started by escape includes it.
ESCAPE_DELAY_MS = float(os.environ.get("ESCDELAY", "100"))
# --fleet: several logs in one view have a source column (rows matched wherever it is) and
# are listed newest start first.
SEVERAL_LOGS = False

# -- what the file holds, read beforehand through the read-only store -----------------------


@dataclass(frozen=True)
class StepMarker:
    """What the step detail pane shows for one step, enough to tell it from another."""

    title: str  # "step 2  issue_cmd_host_..."
    started: str  # the start time as the app formats it

    @classmethod
    def of(cls, step: Step) -> StepMarker:
        title = f"step {step.step_index}  {(step.name or '')[:16]}"
        return cls(title, show_time(step.started_at, TimeStyle.SCREEN))  # as the pane shows it


@dataclass(frozen=True)
class DetailTarget:
    """A saga `row` rows below the newest whose steps make the detail figures measurable:
    its shown step differs from the previous saga's, and it has a next step."""

    row: int
    shown: StepMarker  # the step shown when the saga is highlighted
    next: StepMarker  # the one below it in the step list


@dataclass(frozen=True)
class Facts:
    counts: StateCounts
    newest: list[Saga]  # the newest sagas, enough for ten pages down
    oldest: list[Saga]
    by_state: dict[str, list[Saga]]
    frequent: list[Saga]  # the first matches of FREQUENT_TERM
    frequent_second: StepMarker | None  # the step shown for the second match
    detail: DetailTarget | None
    by_start: list[Saga] = field(default_factory=list)  # `s`: the top by start time
    jump_to: int | None = None  # a saga id in the middle of the file, for `:`
    by_duration: list[Saga] = field(default_factory=list)  # `s` `s`: the top by duration
    oldest_by: dict[str, list[Saga]] = field(default_factory=dict)  # `G` under each sort
    top_by: dict[str, list[Saga]] = field(default_factory=dict)  # `g` under each sort
    by_id: list[Saga] = field(default_factory=list)  # by id (several logs open by start)
    jump_ref: str | None = None  # what `:` is given (`SOURCE:ID` with several logs)


def shown_step(store: SagaStore | MergedSource, saga: Saga) -> tuple[int, tuple[Step, ...]]:
    """Which step the dashboard shows first for a saga (its in-flight one, else the first)."""
    detail = store.saga(saga.saga_id, saga.source.label or None)  # (ids collide across logs)
    steps = detail.steps if detail else ()
    position = next((i for i, step in enumerate(steps) if step.in_flight), 0)
    return position, steps


def find_detail_target(store: SagaStore | MergedSource,
                       newest: Sequence[Saga]) -> DetailTarget | None:
    for row in range(1, min(12, len(newest))):
        position, steps = shown_step(store, newest[row])
        before, before_steps = shown_step(store, newest[row - 1])
        if position + 1 >= len(steps):
            continue
        shown, following = StepMarker.of(steps[position]), StepMarker.of(steps[position + 1])
        previous = StepMarker.of(before_steps[before]) if before_steps else None
        if shown.started == following.started or (previous and previous.started == shown.started):
            continue
        return DetailTarget(row, shown, following)
    return None


def read_facts(path: Path | Sequence[Path], parts: Sequence[str] = (),
               snapshots: Sequence[bool] | None = None) -> Facts:
    if not isinstance(path, Path):
        return fleet_facts(path, parts, snapshots)
    with SagaStore.open(path) as store:
        return facts_of(store, parts)


def fleet_facts(paths: Sequence[Path], parts: Sequence[str],
                snapshots: Sequence[bool] | None = None) -> Facts:
    """What several logs opened together show: read through the one merge the app reads
    (with the snapshot flags the app tells, which its labels depend on)."""
    with MergedSource.open(paths, snapshots=snapshots) as view:
        return facts_of(view, parts, SortOrder.STARTED)


def facts_of(store: SagaStore | MergedSource, parts: Sequence[str],
             sort: SortOrder = SortOrder.ID) -> Facts:
    newest = store.sagas(SagaQuery(sort=sort), limit=260)
    frequent = store.sagas(SagaQuery(text=FREQUENT_TERM, sort=sort), limit=60)
    second = None
    if len(frequent) > 1:
        position, steps = shown_step(store, frequent[1])
        first_position, first_steps = shown_step(store, frequent[0])
        if steps and (not first_steps or steps[position].started_at
                      != first_steps[first_position].started_at):
            second = StepMarker.of(steps[position])
    return Facts(
        counts=store.counts(),
        newest=newest,
        oldest=store.oldest(SagaQuery(sort=sort), limit=60),
        by_state={state: store.sagas(SagaQuery(frozenset({state}), sort=sort), limit=60)
                  for state in (COMMON_STATE, RARE_STATE, UNINDEXED_STATE)},
        frequent=frequent,
        frequent_second=second,
        detail=find_detail_target(store, newest),
        **(sort_facts(store, newest[0]) if "sort" in parts and newest else {}),
    )


def sort_facts(store: SagaStore | MergedSource, newest: Saga) -> dict[str, object]:
    """What `s` and `s` `s` draw (each order from its top: `s` shows its first saga), the
    last rows under each sort (`G`), and a saga for `:` (issues 7 and 15). Read by SQL, not
    through the sort indexes the app builds."""
    from saga_inspector.store import SortOrder  # (not in stores older than issue 7)

    facts: dict[str, object] = {"oldest_by": {}, "top_by": {}}
    for name, sort in (("by_start", SortOrder.STARTED), ("by_duration", SortOrder.DURATION)):
        query = SagaQuery(sort=sort)
        facts[name] = store.sagas(query, limit=120)
        facts["oldest_by"][name] = store.oldest(query, limit=60)  # type: ignore[index]
        facts["top_by"][name] = store.sagas(query, limit=60)  # type: ignore[index]
    by_id = store.sagas(SagaQuery(sort=SortOrder.ID), limit=260)
    facts["by_id"] = by_id
    if isinstance(store, MergedSource):  # a saga in the middle of the first log's ids
        target = by_id[0]
        facts["jump_to"] = max(target.saga_id // 2, 1)
        facts["jump_ref"] = f"{target.source.label}:{facts['jump_to']}"
    else:
        facts["jump_to"] = newest.saga_id // 2 + 17
        facts["jump_ref"] = str(facts["jump_to"])
    return facts


# -- reading the screen ------------------------------------------------------------------


def table_rows(screen: Screen) -> list[str] | None:
    """The saga table's row lines (under its column header), or None while not drawn."""
    top = screen.find_line("╭─ sagas")
    if top is None:
        return None
    left = screen.line(top).index("╭─ sagas")
    for y in range(top + 1, screen.rows):
        if screen.line(y)[left:left + 1] == "╰":
            return [screen.line(row) for row in range(top + 2, y)]
    return None


def detail_pane(screen: Screen) -> str:
    top = screen.find_line("╭─ step detail")
    if top is None:
        return ""
    left = screen.line(top).index("╭─ step detail")
    return "\n".join(screen.line(y)[left:] for y in range(top + 1, screen.rows))


def row_pattern(saga: Saga) -> re.Pattern[str]:
    name = re.escape((saga.name or "")[:12])
    if SEVERAL_LOGS:  # the id, its log's label (the source column), the name
        label = re.escape(saga.source.label[:6])
        return re.compile(rf"│\s*{saga.saga_id}  {label}\S*\s+{name}")
    return re.compile(rf"│\s*{saga.saga_id}  {name}")


def _rows_match(rows: list[str], wanted: Sequence[Saga]) -> bool:
    if not wanted:
        return False
    ends = [(0, wanted[0]), (len(wanted) - 1, wanted[-1])]
    if not all(row_pattern(saga).search(rows[i]) for i, saga in ends):
        return False
    # A result shorter than the table: the line below its last row is empty.
    return len(wanted) == len(rows) or rows[len(wanted)].strip("│ ") == ""


def shows_rows(expected: Sequence[Saga], first: int = 0) -> Condition:
    """The table's first line holds expected[first], its last line the row due there."""
    def condition(screen: Screen) -> bool:
        rows = table_rows(screen)
        return bool(rows) and _rows_match(rows, expected[first:first + len(rows)])
    return condition


def shows_last_rows(oldest: Sequence[Saga]) -> Condition:
    """The table ends on the oldest saga (`G`)."""
    def condition(screen: Screen) -> bool:
        rows = table_rows(screen)
        return bool(rows) and len(oldest) >= len(rows) and _rows_match(rows, oldest[-len(rows):])
    return condition


def shows_step(marker: StepMarker) -> Condition:
    def condition(screen: Screen) -> bool:
        pane = detail_pane(screen)
        return marker.title in pane and marker.started in pane
    return condition


def shows_counts(counts: StateCounts) -> Condition:
    rare = counts.count(frozenset({RARE_STATE}))
    chips = [
        re.compile(rf"(?<!\S)0 all {re.escape(format_count(counts.total))}(?![\d,])"),
        # (the state's name is shortened where the chips do not fit: "comp", "comp…ing")
        re.compile(rf"(?<!\S){RARE_KEY} {RARE_STATE[0]}\S* {re.escape(format_count(rare))}"
                   rf"(?![\d,])"),
    ]

    def condition(screen: Screen) -> bool:
        return any(all(chip.search(line) for chip in chips) for line in screen.lines()[:6])
    return condition


def shows_text(text: str) -> Condition:
    return lambda screen: text in screen.text()


def table_says(*texts: str) -> Condition:
    def condition(screen: Screen) -> bool:
        rows = table_rows(screen)
        body = "\n".join(rows or ()).lower()
        return any(text in body for text in texts)
    return condition


def _shows_search_progress(screen: Screen) -> bool:
    """The screen says how far a search got (a share) and which key cancels it, on one line
    (the table's message, or its border)."""
    return any("search" in line and "%" in line and "esc" in line
               for line in (line.lower() for line in screen.lines()))


SHOWS_SEARCH_PROGRESS: Condition = _shows_search_progress


def search_line_shows(term: str) -> Condition:
    return lambda screen: any("search" in line and term in line for line in screen.lines()[:6])


def search_focused(screen: Screen) -> bool:
    """The footer lists the search line's keys, not the table's: it has the focus."""
    footer = screen.line(screen.rows - 1)
    return "Clear search" in footer and "G Last" not in footer


def negate(condition: Condition) -> Condition:
    return lambda screen: not condition(screen)


def both(first: Condition, second: Condition) -> Condition:
    return lambda screen: first(screen) and second(screen)


# What the title says under each order but the view's first ("goes without saying").
SORT_TITLES = {SortOrder.STARTED: "by start time", SortOrder.DURATION: "by duration"}
BY_ID_TITLE = "· by id"  # (said only with several logs, which open by start time)

# -- one session ---------------------------------------------------------------------------

Figures = dict[str, float]


def app_command(path: Path | Sequence[Path]) -> list[str]:
    """The app on one log, or on several (`saga-inspector PATH...`, issue 14)."""
    paths = [path] if isinstance(path, Path) else list(path)
    return [sys.executable, "-m", "saga_inspector", *map(str, paths)]


def floor_command() -> list[str]:
    return [sys.executable, str(HERE / "minimal_app.py")]


def mib(kib: int) -> float:
    return kib / 1024


def floor_session() -> Figures:
    session = PtySession(floor_command(), cols=COLS, rows=ROWS, cwd=str(ROOT))
    try:
        drawn = session.wait_for(shows_text("minimal app ready"), WAIT_S)
        session.quiet(SETTLE_S)
        peak = session.peak_rss_kib()["VmHWM"]
    finally:
        session.close()
    return {"first rows drawn": drawn * 1000, "peak RSS (MiB)": mib(peak)}


class Scenario:
    """Every measured step of issue 6 in one session of the dashboard."""

    # After the start, in this order. "sort" (issue 7) is not in the default run.
    PARTS = ("filters", "jumps", "detail", "search", "no_match", "help", "sort")
    DEFAULT_PARTS = PARTS[:-1]

    def __init__(self, path: Path | Sequence[Path], facts: Facts,
                 parts: Sequence[str] = DEFAULT_PARTS) -> None:
        self.facts = facts
        self.parts = [name for name in self.PARTS if name in parts]
        self.session = PtySession(app_command(path), cols=COLS, rows=ROWS, cwd=str(ROOT))
        self.figures: Figures = {}

    def key(self, name: str, keys: str, condition: Condition) -> None:
        self.figures[name] = self.session.timed_key(keys, condition, WAIT_S) * 1000
        self.session.quiet(SETTLE_S)

    def untimed(self, keys: str, condition: Condition) -> None:
        self.session.send(keys)
        self.session.wait_for(condition, WAIT_S)
        self.session.quiet(SETTLE_S)

    def run(self) -> Figures:
        try:
            for part in (self.start, *(getattr(self, name) for name in self.parts),
                         self.memory):
                part()
        except Exception as error:
            raise RuntimeError(f"{error} [{self.what_is_shown()}]") from error
        finally:
            self.session.close()
        return self.figures

    def what_is_shown(self) -> str:
        """The screen when a run fails, in short: what went wrong is usually written there."""
        code = self.session.process.poll()
        lines = [line.strip() for line in self.session.screen.lines() if line.strip()]
        shown = " / ".join(line[:100] for line in lines[:12]) or "blank screen"
        return f"exit code {code}; screen: {shown}" if code is not None else f"screen: {shown}"

    def start(self) -> None:
        facts, session = self.facts, self.session
        met = session.watch({"rows": shows_rows(facts.newest),
                             "counts": shows_counts(facts.counts)}, WAIT_S)
        self.figures["first rows drawn"] = met["rows"] * 1000
        self.figures["counts drawn"] = met["counts"] * 1000
        self.figures["peak RSS at first rows (MiB)"] = mib(session.peak_rss_kib()["VmHWM"])
        session.quiet(SETTLE_S)

    def filters(self) -> None:
        facts = self.facts
        self.key(f"filter: {COMMON_STATE} (common)", COMMON_KEY,
                 shows_rows(facts.by_state[COMMON_STATE]))
        self.key("filter: back to all", "0", shows_rows(facts.newest))
        self.key(f"filter: {RARE_STATE} (rare)", RARE_KEY,
                 shows_rows(facts.by_state[RARE_STATE]))
        self.untimed("0", shows_rows(facts.newest))
        if facts.by_state[UNINDEXED_STATE]:
            self.key(f"filter: {UNINDEXED_STATE} (rare, no index on a server log)",
                     UNINDEXED_KEY, shows_rows(facts.by_state[UNINDEXED_STATE]))
        self.untimed("0", shows_rows(facts.newest))

    def jumps(self) -> None:
        facts = self.facts
        self.key("G: last row", "G", shows_last_rows(facts.oldest))
        self.key("g: first row", "g", shows_rows(facts.newest))
        pages = []
        rows = len(table_rows(self.session.screen) or ()) or 1
        for n in range(1, 11):
            self.key("page down", PAGE_DOWN, shows_rows(facts.newest, first=n * rows))
            pages.append(self.figures.pop("page down"))
        self.figures["page down (median of 10)"] = statistics.median(pages)
        self.figures["page down x10 (sum)"] = sum(pages)
        self.untimed("g", shows_rows(facts.newest))

    def detail(self) -> None:
        target = self.facts.detail
        if target is None:
            return
        for _ in range(target.row - 1):
            self.session.send("j")
            self.session.quiet(SETTLE_S)
        self.key("step detail: next saga (j)", "j", shows_step(target.shown))
        self.session.send(ENTER)  # into the steps, on the step already shown
        self.session.quiet(SETTLE_S)
        self.key("step detail: next step (j in steps)", "j", shows_step(target.next))
        self.untimed(ESCAPE, lambda screen: True)  # back to the table
        self.untimed("g", shows_rows(self.facts.newest))

    def open_search(self) -> None:
        self.untimed("/", search_focused)

    def search(self) -> None:
        facts = self.facts
        # The term and enter in one write, timed from it: enter (not the typing pause)
        # starts the search, and no pause can start it before enter.
        self.key("key answered when idle (/)", "/", search_focused)
        self.figures[f"search '{FREQUENT_TERM}': first matches"] = (
            self.session.timed_key(FREQUENT_TERM + ENTER, shows_rows(facts.frequent),
                                   WAIT_S) * 1000)
        if facts.frequent_second is not None:
            # The result's count needs a scan, started once the search stays 0.5 s.
            self.session.pump_for(0.6)
            self.key("step detail: next match during the search's count scan", "j",
                     shows_step(facts.frequent_second))
        self.session.quiet(SETTLE_S)
        self.key("clear search (escape → all rows)", ESCAPE, shows_rows(facts.newest))

    def no_match(self) -> None:
        session, facts = self.session, self.facts
        nothing = table_says("no sagas match", "no match")
        busy = table_says("searching", "loading")
        first, second, third, typed_over = NO_MATCH_TERMS
        # 1. How long each kind of scan takes (free text reads the sagas' own columns;
        # label: and ref: every step's payloads too), and what it says meanwhile: that it
        # is searching, how far it got (a share), and the key that cancels it.
        for kind, text in NO_MATCH_KINDS:
            self.open_search()
            session.send(text.format(first) + ENTER)
            met = session.watch({"busy": busy, "progress": SHOWS_SEARCH_PROGRESS,
                                 "done": nothing}, WAIT_S, until=["done"])
            self.figures[f"search, no match{kind}: 'no matches' drawn"] = met["done"] * 1000
            if not kind:  # (the issue-6 figure: once)
                self.figures["search, no match: shows it is searching"] = float(
                    met.get("busy", met["done"]) < met["done"])
            self.figures[f"search, no match{kind}: shows progress and the cancel key"] = float(
                met.get("progress", met["done"]) < met["done"])
            session.quiet(SETTLE_S)
            self.untimed(ESCAPE, shows_rows(facts.newest))
        # 2. Typing while it runs is answered: back into the search line (which selects
        # what it holds), a new term typed over it. A `label:` search, which reads every
        # step's payloads: free text at 1M ends in 0.3 s, before the keys come.
        self.open_search()
        session.send(f"label:{second}" + ENTER)
        session.wait_for(lambda screen: negate(search_focused)(screen)
                         and (busy(screen) or nothing(screen)), WAIT_S)
        still_busy = not nothing(session.screen)
        self.figures["search, no match: key answered meanwhile (/)"] = (
            session.timed_key("/", search_focused, WAIT_S) * 1000)
        typed = session.timed_key(typed_over, search_line_shows(typed_over), 5.0)
        self.figures["search, no match: typing answered meanwhile"] = typed * 1000
        self.figures["search, no match: still searching when answered"] = float(
            still_busy and not nothing(session.screen))
        session.wait_for(table_says(f"match “{typed_over}”"), WAIT_S)  # the new search
        session.send(ENTER)  # back to the table
        session.quiet(SETTLE_S)
        self.untimed(ESCAPE, shows_rows(facts.newest))
        # 3. Superseded: escape clears it while it runs; all sagas come back at once.
        self.open_search()
        session.send(third + ENTER)
        session.wait_for(lambda screen: busy(screen) or nothing(screen), WAIT_S)
        self.figures["search, no match: superseded (escape → all rows)"] = (
            session.timed_key(ESCAPE, shows_rows(facts.newest), WAIT_S) * 1000)
        session.quiet(SETTLE_S)

    def help(self) -> None:
        shown = shows_text(HELP_TITLE)
        self.key("help: open (?)", "?", shown)
        self.key("help: close (escape)", ESCAPE, negate(shown))
        self.key("help: open again (?)", "?", shown)
        self.untimed(ESCAPE, negate(shown))

    def start_order(self) -> SortOrder:
        """The order the view opens in (one log: by id; several: by start time)."""
        return SortOrder.STARTED if SEVERAL_LOGS else SortOrder.ID

    def sort_rows(self, order: SortOrder) -> list[Saga]:
        facts = self.facts
        return {SortOrder.ID: facts.by_id or facts.newest, SortOrder.STARTED: facts.by_start,
                SortOrder.DURATION: facts.by_duration}[order]

    def sorted_shown(self, order: SortOrder, first: int = 0) -> Condition:
        """The order's title (unless it is the view's first) and its rows from `first`."""
        rows = shows_rows(self.sort_rows(order), first)
        others = [title for sort, title in SORT_TITLES.items() if sort is not order]
        if order is not SortOrder.ID:  # (the first rows by id and by start can be the same)
            others.append(BY_ID_TITLE)
        condition = both(rows, lambda screen: not any(t in screen.text() for t in others))
        if order is not self.start_order():  # (by id: said only where it is not the first)
            condition = both(shows_text(SORT_TITLES.get(order, BY_ID_TITLE)), condition)
        return condition

    def sort_switch(self, order: SortOrder, name: str) -> None:
        self.key(name, "s", self.sorted_shown(order))

    def sort_moves(self, order: SortOrder, suffix: str = "") -> None:
        """page down, G, g under `order`, from its top."""
        label, key = {SortOrder.STARTED: ("start time", "by_start"),
                      SortOrder.DURATION: ("duration", "by_duration"),
                      SortOrder.ID: ("id", "")}[order]
        if not key:
            return
        rows = len(table_rows(self.session.screen) or ()) or 1
        self.key(f"sort: by {label}, page down{suffix}", PAGE_DOWN,
                 self.sorted_shown(order, first=rows))
        self.key(f"sort: by {label}, G{suffix}", "G", shows_last_rows(self.facts.oldest_by[key]))
        self.key(f"sort: by {label}, g{suffix}", "g", shows_rows(self.facts.top_by[key]))

    def keys_read(self) -> None:
        """Until the sort's keys are read: its progress gone from the screen, then quiet. (On
        a slow machine the screen can be quiet for a settle period between two reports of
        progress: a wait for quiet alone let the next keys in while the keys were read.)"""
        self.session.wait_for(lambda screen: "sorting by" not in screen.text(), WAIT_S)
        self.session.quiet(SETTLE_S)

    def sort(self) -> None:
        """`s` through every order from the view's first: the first rows under a new order,
        then (the screen quiet) its keys read into the index; every later switch, page and
        jump under them; `:`. One log opens by id, several by start time (whose index is
        read from the start: its first rows are the start's)."""
        start = self.start_order()
        cycle = [start.next, start.next.next, start]
        names = {SortOrder.ID: "id", SortOrder.STARTED: "start time",
                 SortOrder.DURATION: "duration"}
        for order in cycle:  # the first switches
            name = names[order]
            if order is start:
                self.sort_switch(order, f"sort: s → back to by {name}, rows drawn")
            elif order is SortOrder.ID:
                self.sort_switch(order, "sort: s → by id, rows drawn")
            else:
                self.sort_switch(order, f"sort: first s → by {name}, rows drawn")
                self.keys_read()
                self.figures[f"sort: by {name}, keys read (screen quiet)"] = (
                    self.session.last_output - self.session.sent_at) * 1000
        for order in cycle:  # every later switch, and moves under each sort
            name = names[order]
            if order is SortOrder.ID:
                self.sort_switch(order, f"sort: s → {'back to ' if order is start else ''}"
                                 "by id, rows drawn")
            else:
                self.sort_switch(order, f"sort: later s → by {name}, rows drawn")
                self.sort_moves(order)
        self.untimed(":", shows_text("go to saga"))
        self.key("jump: ':' id enter → its detail drawn", f"{self.facts.jump_ref}{ENTER}",
                 shows_text(f"saga {self.facts.jump_to}  "))

    def memory(self) -> None:
        rss = self.session.peak_rss_kib()
        self.figures["peak RSS at end (MiB)"] = mib(rss["VmHWM"])
        self.figures["RSS at end (MiB)"] = mib(rss["VmRSS"])


# -- many sessions, the table ------------------------------------------------------------


@dataclass
class Series:
    runs: list[Figures] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def median(self, name: str) -> float | None:
        values = [run[name] for run in self.runs if name in run]
        return statistics.median(values) if values else None

    def names(self) -> list[str]:
        return list(dict.fromkeys(name for run in self.runs for name in run))


def attempt(series: Series, action: Callable[[], Figures], label: str, keep: bool) -> None:
    started = time.perf_counter()
    try:
        figures = action()
    except (TimedOut, Exception) as error:  # one failed run must not lose the others
        series.errors.append(f"{label}: {type(error).__name__}: {error}")
        print(f"  {label}: FAILED: {error}", file=sys.stderr)
        if os.environ.get("BENCH_DEBUG"):
            traceback.print_exc()
        return
    if keep:
        series.runs.append(figures)
    print(f"  {label}: ok in {time.perf_counter() - started:.1f} s", file=sys.stderr)


# Targets from issue 6: (figure, test, wording). A test gets the figure at 1k, at 1M, the
# floor, and `large(name)`: another figure at 1M (to compare a key with the same key idle).
Target = tuple[str, Callable[[float, float, float, Callable[[str], float]], bool], str]
UI_MS = 50.0
SAME_AS_IDLE_MS = 25.0  # "not blocked": within this of the same action with nothing running


def _within_idle(idle_name: str) -> Callable[[float, float, float, Callable[[str], float]], bool]:
    return lambda k, m, f, large: m <= large(idle_name) + SAME_AS_IDLE_MS


def targets() -> list[Target]:
    ui = [f"filter: {COMMON_STATE} (common)", f"filter: {RARE_STATE} (rare)",
          f"filter: {UNINDEXED_STATE} (rare, no index on a server log)", "G: last row",
          "g: first row", "page down (median of 10)", "step detail: next saga (j)",
          "step detail: next step (j in steps)",
          "step detail: next match during the search's count scan"]
    return [
        ("first rows drawn", lambda k, m, f, large: m <= 1.3 * k, "1M ≤ 1.3 x 1k"),
        ("first rows drawn", lambda k, m, f, large: m <= 2 * f, "1M ≤ 2 x floor"),
        ("counts drawn", lambda k, m, f, large: m >= large("first rows drawn"),
         "rows not waiting for counts (counts ≥ rows)"),
        *[(name, lambda k, m, f, large: m < UI_MS, f"1M < {UI_MS:g} ms") for name in ui],
        (f"search '{FREQUENT_TERM}': first matches", lambda k, m, f, large: m < 200,
         "1M < 200 ms"),
        ("search, no match: shows it is searching", lambda k, m, f, large: m >= 1,
         "shown (1 = yes)"),
        ("search, no match: still searching when answered", lambda k, m, f, large: m >= 1,
         "the keys below were pressed mid-search (1 = yes)"),
        ("search, no match: typing answered meanwhile", lambda k, m, f, large: m < UI_MS,
         f"1M < {UI_MS:g} ms"),
        ("search, no match: key answered meanwhile (/)",
         _within_idle("key answered when idle (/)"),
         f"≤ the same key idle + {SAME_AS_IDLE_MS:g} ms"),
        ("search, no match: superseded (escape → all rows)",
         _within_idle("clear search (escape → all rows)"),
         f"≤ clearing an idle search + {SAME_AS_IDLE_MS:g} ms"),
        ("peak RSS at end (MiB)", lambda k, m, f, large: m <= 1.25 * k, "1M ≤ 1.25 x 1k"),
        *no_match_targets(),
    ]


NO_MATCH_MS = 2000.0  # issue 15: a search that matches nothing, at 1M


def no_match_targets() -> list[Target]:
    """Issue 15: each kind of search that matches nothing ends within NO_MATCH_MS at 1M,
    and says meanwhile how far it got and which key cancels it."""
    found: list[Target] = []
    for kind, _text in NO_MATCH_KINDS:
        found += [
            (f"search, no match{kind}: 'no matches' drawn",
             lambda k, m, f, large: m <= NO_MATCH_MS, f"1M ≤ {NO_MATCH_MS:g} ms"),
            (f"search, no match{kind}: shows progress and the cancel key",
             lambda k, m, f, large: m >= 1, "shown (1 = yes)"),
        ]
    return found


def fmt(value: float | None, name: str) -> str:
    if value is None:
        return "n/a"
    if any(flag in name for flag in ("still searching", "shows it is searching",
                                     "shows progress")):
        return f"{value:.1f}"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info
                    if line.startswith("model name")), cpu)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    versions = ", ".join(f"{pkg} {importlib.metadata.version(pkg)}" for pkg in ("textual", "rich"))
    return (f"{len(os.sched_getaffinity(0))} CPUs ({os.cpu_count()} online), {cpu}; "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {versions}; load average {load}")


def code_under_test() -> str:
    """Which saga_inspector ran (PYTHONPATH may point at another copy), and its git state."""
    import saga_inspector

    where = Path(saga_inspector.__file__).resolve().parent
    git = ["git", "-C", str(where)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False)
    if head.returncode != 0:
        return f"{where} (not a git checkout)"
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "."], capture_output=True,
                           text=True, check=False).stdout.strip()
    return f"{where} at {head.stdout.strip()}" + (" + uncommitted changes" if dirty else "")


def print_table(sizes: Sequence[int], results: dict[int, Series], floor: Series,
                runs: int, about: dict[str, str]) -> None:
    small, large = sizes[0], sizes[-1]
    print(f"\n{runs} warm runs each, median; times in ms from the key (or process start) to "
          f"the result drawn on a {COLS}x{ROWS} pty; figures started by escape include "
          f"Textual's {ESCAPE_DELAY_MS:g} ms ESCDELAY.\n")
    one_size = len(sizes) == 1
    if one_size:
        print(f"| figure | floor | {large:,} sagas |\n|---|---:|---:|")
    else:
        print(f"| figure | floor | {small:,} sagas | {large:,} sagas | ratio |")
        print("|---|---:|---:|---:|---:|")
    names = list(dict.fromkeys(results[small].names() + results[large].names()))
    for name in names:
        low, high = results[small].median(name), results[large].median(name)
        ground = floor.median(name) if name in ("first rows drawn",) else None
        if name == "peak RSS at end (MiB)":
            ground = floor.median("peak RSS (MiB)")
        shown_ground = fmt(ground, name) if ground is not None else ""
        if one_size:
            print(f"| {name} | {shown_ground} | {fmt(high, name)} |")
            continue
        ratio = f"{high / low:.2f}" if low and high is not None else ""
        print(f"| {name} | {shown_ground} | {fmt(low, name)} | {fmt(high, name)} | {ratio} |")
    print("\nTargets (issue 6):\n")
    print("| figure | target | 1M | verdict |")
    print("|---|---|---:|---|")
    for name, test, wording in targets():
        low, high = results[small].median(name), results[large].median(name)
        ground = floor.median("first rows drawn")
        def at_large(other: str) -> float:
            value = results[large].median(other)
            if value is None:
                raise LookupError(other)  # compared with a figure this run did not measure
            return value

        if low is None or high is None or ground is None:
            verdict = "not measured"
        elif len(sizes) == 1 and "1k" in wording:  # one size: nothing to compare it with
            verdict = "not judged (one size)"
        else:
            try:
                verdict = "met" if test(low, high, ground, at_large) else "MISSED"
            except LookupError:
                verdict = "not measured"
        print(f"| {name} | {wording} | {fmt(high, name)} | {verdict} |")
    for series_name, series in [("floor", floor), *((f"{s:,}", results[s]) for s in sizes)]:
        for error in series.errors:
            print(f"\nfailed run ({series_name}): {error}")
    print(f"\nmachine: {about['machine']}")
    print(f"code measured: {about['code']}")
    print(f"format: {about.get('format', 'launcher')}")
    print(f"command: {about['command']}")


def run_all(sizes: Sequence[int], runs: int, save: Path | None = None,
            parts: Sequence[str] = Scenario.DEFAULT_PARTS, log_format: str = "launcher") -> None:
    paths = {size: log_of(size, log_format) for size in sizes}
    facts = {size: read_facts(path, parts) for size, path in paths.items()}
    for size, known in facts.items():
        if known.detail is None:
            print(f"note: no saga near the top of the {size:,} log fits the detail figures",
                  file=sys.stderr)
    results = {size: Series() for size in sizes}
    floor = Series()
    compile_bytecode()
    print("warming up (untimed: page cache)", file=sys.stderr)
    attempt(floor, floor_session, "floor warm-up", keep=False)
    for size in sizes:
        attempt(results[size], Scenario(paths[size], facts[size], parts).run,
                f"{size:,} warm-up", keep=False)
    for run in range(1, runs + 1):
        print(f"run {run}/{runs}", file=sys.stderr)
        attempt(floor, floor_session, "floor", keep=True)
        for size in sizes:
            attempt(results[size], Scenario(paths[size], facts[size], parts).run, f"{size:,}",
                    keep=True)
    about = {"machine": machine(), "code": code_under_test(), "format": log_format,
             "command": " ".join([Path(sys.executable).name, *sys.argv])}
    if save is not None:
        save.write_text(json.dumps({
            "sizes": list(sizes), "runs": runs, "about": about,
            "floor": dataclasses.asdict(floor),
            "results": {str(size): dataclasses.asdict(series) for size, series in results.items()},
        }, indent=1), encoding="utf-8")
    print_table(sizes, results, floor, runs, about)


FLEET_PARTS = ("filters", "jumps", "detail")  # the figures: filter switch, G, j, detail


def run_fleet(logs: int, runs: int, parts: Sequence[str] = FLEET_PARTS,
              save: Path | None = None) -> None:
    """A fleet of logs (fleet.py) against one 1M log, interleaved like run_all; each view in
    its default order (one log: newest id first; several: newest start first). `save`: every
    run's figures as JSON (`views`: one Series each, keyed "one 1M log", "fleet of N")."""
    global SEVERAL_LOGS
    from fleet import fleet_paths

    one = log_of(1_000_000)
    fleet, snapshots = fleet_paths(logs)
    one_facts = read_facts(one, parts)
    fleet_facts_ = read_facts(fleet, parts, snapshots)
    views = {"one 1M log": (one, one_facts), f"fleet of {logs}": (fleet, fleet_facts_)}
    results = {name: Series() for name in views}
    floor = Series()
    compile_bytecode()

    def session(name: str) -> Callable[[], Figures]:
        global SEVERAL_LOGS
        path, facts = views[name]
        SEVERAL_LOGS = not isinstance(path, Path)
        return Scenario(path, facts, parts).run

    attempt(floor, floor_session, "floor warm-up", keep=False)
    for name in views:
        attempt(results[name], session(name), f"{name} warm-up", keep=False)
    for run in range(1, runs + 1):
        print(f"run {run}/{runs}", file=sys.stderr)
        attempt(floor, floor_session, "floor", keep=True)
        for name in views:
            attempt(results[name], session(name), name, keep=True)
    SEVERAL_LOGS = False
    if save is not None:
        about = {"machine": machine(), "code": code_under_test(),
                 "command": " ".join([Path(sys.executable).name, *sys.argv])}
        save.write_text(json.dumps({
            "logs": logs, "runs": runs, "parts": list(parts), "about": about,
            "floor": dataclasses.asdict(floor),
            "views": {name: dataclasses.asdict(series) for name, series in results.items()},
        }, indent=1), encoding="utf-8")
    one_series, fleet_series = results.values()
    print(f"\n{runs} warm runs each, median, ms (as in the table above)\n")
    print(f"| figure | floor | one 1M log | fleet of {logs} | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name in dict.fromkeys(one_series.names() + fleet_series.names()):
        low, high = one_series.median(name), fleet_series.median(name)
        ground = floor.median("peak RSS (MiB)" if "RSS" in name else name)
        ratio = f"{high / low:.2f}" if low and high is not None else ""
        print(f"| {name} | {fmt(ground, name) if ground is not None else ''} | "
              f"{fmt(low, name)} | {fmt(high, name)} | {ratio} |")
    first, memory = "first rows drawn", "peak RSS at end (MiB)"
    checks = [(first, lambda one_, many: many <= 1.3 * one_, "≤ 1.3 x one 1M log"),
              (memory, lambda one_, many: many <= 1.25 * one_, "≤ 1.25 x one 1M log")]
    if logs >= 500:
        checks = [(first, lambda one_, many: many <= 1000, "≤ 1 s from the start")]
    checks += [(name, lambda one_, many: many < UI_MS, f"< {UI_MS:g} ms") for name in (
        f"filter: {COMMON_STATE} (common)", f"filter: {RARE_STATE} (rare)", "G: last row",
        "step detail: next saga (j)", "step detail: next step (j in steps)")]
    # Issue 15: a search that matches nothing, on one 1M log and on the fleet alike.
    checks += [(f"search, no match{kind}: 'no matches' drawn",
                lambda one_, many: max(one_, many) <= NO_MATCH_MS,
                f"≤ {NO_MATCH_MS:g} ms (one 1M log too)") for kind, _text in NO_MATCH_KINDS]
    print("\nTargets (issues 14, 15):\n\n| figure | target | fleet | verdict |\n|---|---|---:|---|")
    for name, test, wording in checks:
        low, high = one_series.median(name), fleet_series.median(name)
        verdict = ("not measured" if low is None or high is None
                   else "met" if test(low, high) else "MISSED")
        print(f"| {name} | {wording} | {fmt(high, name)} | {verdict} |")
    for label, series in [("floor", floor), *results.items()]:
        for error in series.errors:
            print(f"\nfailed run ({label}): {error}")
    print(f"\nmachine: {machine()}\ncode measured: {code_under_test()}")


def compile_bytecode() -> None:
    """Compile the package's bytecode, as `pip install` does: the floor's Textual has its
    bytecode, and under PYTHONDONTWRITEBYTECODE (set on some machines, and in containers) a
    plain import never writes ours, so every start would compile every module again."""
    import saga_inspector  # the copy the sessions run (PYTHONPATH may name another)

    package = Path(saga_inspector.__file__).resolve().parent
    if not compileall.compile_dir(package, quiet=1):
        raise SystemExit(f"cannot compile {package}")


def table_from(saved: Path) -> None:
    """The table of a run saved with --save (e.g. to judge it against changed targets)."""
    global FREQUENT_TERM
    data = json.loads(saved.read_text(encoding="utf-8"))
    FREQUENT_TERM = FREQUENT_TERMS[data["about"].get("format", "launcher")]
    results = {int(size): Series(**series) for size, series in data["results"].items()}
    print_table(data["sizes"], results, Series(**data["floor"]), data["runs"], data["about"])


# -- checking the screen model against a real terminal emulator -----------------------------


def verify(size: int, log_format: str = "launcher") -> int:
    """Drive the app in tmux and on our pty with the same keys; compare the screens."""
    if shutil.which("tmux") is None:
        print("tmux not found", file=sys.stderr)
        return 2
    path = log_of(size, log_format)
    socket = f"bench-verify-{os.getpid()}"
    tmux = ["tmux", "-L", socket]
    command = " ".join(app_command(path))
    subprocess.run([*tmux, "new-session", "-d", "-s", "v", "-x", str(COLS), "-y", str(ROWS),
                    f"cd {ROOT} && TERM=xterm-256color {command}"], check=True)
    session = PtySession(app_command(path), cols=COLS, rows=ROWS, cwd=str(ROOT))
    steps = [("start", ""), ("filter 2", "2"), ("G", "G"), ("g", "g"), ("page down", PAGE_DOWN),
             ("j", "j"), ("search bar", "/"), ("search", f"{FREQUENT_TERM}\r"), ("help", "?")]
    tmux_keys = {"": None, PAGE_DOWN: ["PageDown"], "\r": ["Enter"]}
    failures = 0
    try:
        for label, keys in steps:
            if keys:
                session.send(keys)
                if keys == PAGE_DOWN:
                    subprocess.run([*tmux, "send-keys", "-t", "v", *tmux_keys[PAGE_DOWN]],
                                   check=True)
                else:
                    text, _, enter = keys.partition("\r")
                    subprocess.run([*tmux, "send-keys", "-t", "v", "-l", text], check=True)
                    if enter or keys.endswith("\r"):
                        subprocess.run([*tmux, "send-keys", "-t", "v", "Enter"], check=True)
            time.sleep(1.5 if label == "start" else 0.8)
            session.quiet(0.5)
            captured = subprocess.run([*tmux, "capture-pane", "-p", "-t", "v"], check=True,
                                      capture_output=True, text=True).stdout.splitlines()
            ours = [line.rstrip() for line in session.screen.lines()]
            theirs = [line.rstrip() for line in captured] + [""] * (ROWS - len(captured))
            differing = [y for y in range(ROWS) if ours[y] != theirs[y]]
            print(f"{label}: {'same' if not differing else f'{len(differing)} lines differ'}")
            for y in differing[:6]:
                print(f"  line {y}\n    tmux: {theirs[y]}\n    ours: {ours[y]}")
            failures += bool(differing)
    finally:
        session.close()
        subprocess.run([*tmux, "kill-server"], check=False)
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 1_000_000],
                        metavar="SIZE",
                        help="a small and a large log (default 1000 1000000), or one log "
                             "alone (the targets that compare the two are then not judged)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--parts", nargs="+", choices=("start", *Scenario.PARTS),
                        help="measure only these parts of a session (the start always runs: "
                             "'start' alone measures only it); "
                             "'sort' (s and :) only when named; default: every part but "
                             "sort, with --fleet " + " ".join(FLEET_PARTS))
    parser.add_argument("--verify", type=int, nargs="?", const=1_000, metavar="SIZE",
                        help="compare the screen model with tmux on this log, then stop")
    parser.add_argument("--save", type=Path, metavar="JSON",
                        help="also write every run's figures to this file")
    parser.add_argument("--table", type=Path, metavar="JSON",
                        help="print the table of a run saved with --save, then stop")
    parser.add_argument("--format", choices=tuple(FREQUENT_TERMS), default="launcher",
                        help="which saga log format to build and drive (default: launcher)")
    parser.add_argument("--fleet", type=int, choices=(50, 500),
                        help="a fleet of logs (benchmarks/fleet.py) against one 1M log")
    args = parser.parse_args()
    if len(args.sizes) > 2:
        parser.error("--sizes takes one or two sizes")
    if args.fleet:
        with held_in_memory([DATA]):
            run_fleet(args.fleet, args.runs, args.parts or FLEET_PARTS, args.save)
        return
    global FREQUENT_TERM
    FREQUENT_TERM = FREQUENT_TERMS[args.format]
    if args.verify:
        raise SystemExit(verify(args.verify, args.format))
    if args.table:
        table_from(args.table)
        return
    with held_in_memory([DATA]):
        run_all(args.sizes, args.runs, args.save, args.parts or Scenario.DEFAULT_PARTS,
                args.format)


if __name__ == "__main__":
    main()
