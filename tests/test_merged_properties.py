"""MergedSource against one file holding every saga (issue 14): sagas split at random over
1-5 logs, each log in either format, must count, page both ways, filter, search, sort and
walk exactly as the one file does.

"Exactly": the same sagas for every query, and the stated order: descending (value, source
rank, id). Ids are unique across the logs here, so that order is the one file's order except
where the value ties across logs: there the higher-ranked log's sagas come first. The
expected order is worked out here from the one file's rows and the log each saga went to;
the one file's own order is checked against its keys first (the oracle is not taken on
trust).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saga_inspector.demo import SagaRow, StepRow, compact, rfc3339
from saga_inspector.store import FORMATS, SagaQuery, SagaStore, SortKey, SortOrder
from saga_inspector.store.formats import LAUNCHER, LogFormat
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.models import Saga

from .factory import LOOSE_DDL, SagaLogFactory
from .helpers import check_paging

# Whole seconds: the server keeps milliseconds, the launcher nanoseconds; an instant both
# store alike ties the same way in either format.
BASE = datetime(2026, 6, 2, 14, 5, 23, tzinfo=UTC)
STATES = ("running", "completed", "failed", "compensating", "failed_compensation",
          "compensated")
NAMES = ("window_cleanup_cascade", "pool_respawn_on_promote", "close_pane")
REASONS = (None, None, "saga timed out after 5s", "pipe broke", "tab not found")
UNPARSABLE = ("", "not a time", "later")
# Folder names with shared prefixes, so that `source:PREFIX*` picks some logs, not all.
FOLDERS = ("alpha", "alpine", "beta", "bet", "gamma")
WORDS = ("name:cleanup", "name:pane", "-name:respawn", "state:failed,completed",
         "-state:completed", "state:attention", "id:..60", "id:40..", "id:20..90",
         "since:2026-06-02T14:05:25Z", "until:2026-06-02T14:05:24Z", "reason:timeout",
         "-reason:pipe", "timeout", "pool")
SLOW = settings(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _loose(log_format: LogFormat) -> str:
    """The format's DDL with no NOT NULL on start times and no CHECK on states: a start may
    be missing, and a launcher log may hold the server's `compensated`."""
    ddl = LOOSE_DDL if log_format is LAUNCHER else log_format.ddl
    return (ddl.replace("started_at     TEXT NOT NULL", "started_at     TEXT")
            .replace("started_at     INTEGER NOT NULL", "started_at     INTEGER"))


def _time(seconds: int, digits: int) -> str:
    return rfc3339(BASE + timedelta(seconds=seconds), digits)


@st.composite
def a_time(draw: st.DrawFn) -> object:
    """A start: one of a few seconds (many ties), sometimes missing or unparsable."""
    kind = draw(st.sampled_from(["time"] * 6 + ["missing", "unparsable"]))
    if kind == "missing":
        return None
    if kind == "unparsable":
        return draw(st.sampled_from(UNPARSABLE))
    return _time(draw(st.integers(0, 5)), draw(st.sampled_from([0, 3, 6, 9])))


@st.composite
def a_saga(draw: st.DrawFn, saga_id: int) -> SagaRow:
    started = draw(a_time())
    ending = draw(st.sampled_from(["none", "unparsable", "time", "time", "time"]))
    ended: object = None
    if ending == "unparsable":
        ended = draw(st.sampled_from(UNPARSABLE))
    elif ending == "time":
        ended = _time(draw(st.integers(0, 8)), draw(st.sampled_from([3, 9])))
    steps = []
    if draw(st.booleans()):
        steps.append(StepRow(0, "issue_cmd_host_reap_panes", "failed",
                             compact({"cmd": "reap_panes"}), "host", _time(0, 6), _time(1, 6),
                             None, draw(st.sampled_from(REASONS))))
    return SagaRow(saga_id, draw(st.sampled_from(NAMES)), draw(st.sampled_from(STATES)),
                   started, ended, compact({"closed_label": "main"}),
                   draw(st.sampled_from(REASONS)), steps)


@st.composite
def a_fleet(draw: st.DrawFn) -> tuple[list[SagaRow], list[int], list[LogFormat], LogFormat]:
    """Sagas (unique ids), the log each goes to, each log's format, the one file's format."""
    ids = draw(st.lists(st.integers(1, 120), unique=True, max_size=28))
    sagas = [draw(a_saga(saga_id)) for saga_id in ids]
    logs = draw(st.integers(1, 5))
    where = [draw(st.integers(0, logs - 1)) for _ in sagas]
    formats = [draw(st.sampled_from(FORMATS)) for _ in range(logs)]
    return sagas, where, formats, draw(st.sampled_from(FORMATS))


@st.composite
def a_query(draw: st.DrawFn) -> tuple[frozenset[str] | None, list[str]]:
    states = draw(st.one_of(st.none(), st.frozensets(st.sampled_from(STATES), min_size=1)))
    return states, draw(st.lists(st.sampled_from(WORDS), max_size=2, unique=True))


def _source_words(labels: list[str], draw: st.DrawFn) -> list[str]:
    """Zero or one `source:` word: a label, a prefix of one with `*`, or either negated."""
    label = draw(st.sampled_from(labels))
    form = draw(st.sampled_from(["none", "none", "label", "prefix", "-label", "-prefix"]))
    if form == "none":
        return []
    value = label if form.endswith("label") else label[:draw(st.integers(1, 4))] + "*"
    return [("-" if form.startswith("-") else "") + f"source:{value}"]


def _lets_in(word: str, label: str) -> bool:
    """What a `source:` word means, written here: equal, or a prefix with `*`."""
    negated = word.startswith("-")
    value = word.removeprefix("-").removeprefix("source:")
    matches = label.startswith(value[:-1]) if value.endswith("*") else label == value
    return matches != negated


class Fleet:
    """The logs of one example, the one file, and what the expected order needs."""

    def __init__(self, folder: Path, sagas: list[SagaRow], where: list[int],
                 formats: list[LogFormat], oracle_format: LogFormat, *,
                 indexed: bool = False) -> None:
        paths = []
        for n, fmt in enumerate(formats):
            factory = SagaLogFactory(folder / FOLDERS[n], fmt)
            factory.folder.mkdir()
            mine = [saga for saga, log in zip(sagas, where, strict=True) if log == n]
            stem = "launcher-sagas.db" if fmt is LAUNCHER else "sagas.db"
            paths.append(factory(mine, name=stem, ddl=_loose(fmt)))
        one = SagaLogFactory(folder / "one", oracle_format)
        one.folder.mkdir()
        self.one_path = one(sagas, name="all.db", ddl=_loose(oracle_format))
        self.merged = MergedSource.open(paths)
        if indexed:  # every page, count and key from the logs' sort indexes, not SQL
            for sort in (SortOrder.STARTED, SortOrder.DURATION):
                assert self.merged.build_sort_index(sort)
                assert all(member.store.serves_by_index(SagaQuery(sort=sort))
                           for member in self.merged.members)
        self.oracle = SagaStore.open(self.one_path)
        self.labels = [member.tag.label for member in self.merged.members]
        rank = [member.tag.rank for member in self.merged.members]
        self.label_of = {int(s.saga_id): self.labels[log] for s, log in zip(sagas, where,
                                                                           strict=True)}
        self.rank_of = {int(s.saga_id): rank[log] for s, log in zip(sagas, where, strict=True)}

    def close(self) -> None:
        self.merged.close()
        self.oracle.close()

    def expected(self, query: SagaQuery, source_words: list[str]) -> list[SortKey]:
        """The merged view's keys for `query`, from the one file's rows."""
        plain = SagaQuery(query.states, " ".join(query.parsed.text_without_sources().split())
                          or None, query.sort)
        rows = self.oracle.sagas(plain, limit=10**6)
        own = [plain.key_of(saga) for saga in rows]
        assert own == sorted(own, reverse=True)  # the one file keeps its stated order
        assert len(rows) == self.oracle.count(plain)
        kept = [saga for saga in rows
                if all(_lets_in(w, self.label_of[saga.saga_id]) for w in source_words)]
        keys = [SortKey(plain.key_of(saga).value, saga.saga_id, self.rank_of[saga.saga_id])
                for saga in kept]
        return sorted(keys, key=lambda key: (key.value, key.source, key.saga_id), reverse=True)


def _keys(query: SagaQuery, sagas: list[Saga]) -> list[SortKey]:
    return [query.key_of(saga) for saga in sagas]


def check_query(fleet: Fleet, query: SagaQuery, source_words: list[str],
                bounds: list[SortKey]) -> None:
    merged = fleet.merged
    expected = fleet.expected(query, source_words)
    everything = merged.sagas(query, limit=10**6)
    assert _keys(query, everything) == expected
    assert all(fleet.label_of[s.saga_id] == s.source.label for s in everything)
    assert merged.count(query) == len(expected)
    assert _keys(query, list(merged.walk(query))) == expected
    assert _keys(query, list(merged.walk(query, 3))) == expected[:3]
    for size in range(1, 8):
        assert _keys(query, merged.oldest(query, limit=size)) == expected[-size:]
        assert _keys(query, merged.sagas(query, limit=size)) == expected[:size]
    # Forward, backward, and around any key, the query's own or another saga's (a log may
    # hold nothing near it).
    check_paging(merged, query, expected, 1 + len(expected) % 7, bounds)
    for bound in bounds:
        assert merged.count_before(query, bound) == len([key for key in expected if key > bound])
    for position, key in enumerate(expected):
        assert merged.count_before(query, key) == position
    for stride in range(1, 5):
        keys = merged.page_keys(query, stride=stride)
        assert keys == expected[::stride]
        assert [k.source for k in keys] == [k.source for k in expected[::stride]]


@SLOW
@given(fleet=a_fleet(), data=st.data(), indexed=st.booleans())
def test_a_split_fleet_reads_exactly_as_one_file(fleet, data, indexed) -> None:
    """Read by SQL, or (indexed) from the logs' sort indexes (sort_index.py)."""
    sagas, where, formats, oracle_format = fleet
    with tempfile.TemporaryDirectory() as folder:
        logs = Fleet(Path(folder), sagas, where, formats, oracle_format, indexed=indexed)
        try:
            merged, oracle = logs.merged, logs.oracle
            def nonzero(counts: dict[str, int]) -> dict[str, int]:
                return {state: n for state, n in counts.items() if n}
            assert nonzero(dict(merged.counts().by_state)) == \
                nonzero(dict(oracle.counts().by_state))
            assert merged.counts().total == len(sagas)
            assert merged.source_count == len(formats) == merged.readable_count
            for states, words in data.draw(st.lists(a_query(), min_size=1, max_size=2)):
                source_words = _source_words(logs.labels, data.draw)
                for sort in SortOrder:
                    query = SagaQuery(states, " ".join(words + source_words) or None, sort)
                    every = merged.sagas(SagaQuery(sort=sort), limit=10**6)
                    picks = data.draw(st.lists(st.sampled_from(every), max_size=4)) \
                        if every else []
                    check_query(logs, query, source_words,
                                [SagaQuery(sort=sort).key_of(s) for s in picks])
        finally:
            logs.close()


@SLOW
@given(fleet=a_fleet(), data=st.data())
def test_source_words_pick_exactly_the_logs_rows(fleet, data) -> None:
    """`source:LABEL`, `source:PREFIX*` and `-source:` list, count and count by state exactly
    the rows of the logs they name."""
    sagas, where, formats, oracle_format = fleet
    with tempfile.TemporaryDirectory() as folder:
        logs = Fleet(Path(folder), sagas, where, formats, oracle_format)
        try:
            label = data.draw(st.sampled_from(logs.labels))
            cut = data.draw(st.integers(1, len(label)))
            for word in (f"source:{label}", f"-source:{label}", f"source:{label[:cut]}*",
                         f"-source:{label[:cut]}*"):
                wanted = sorted(int(s.saga_id) for s in sagas
                                if _lets_in(word, logs.label_of[int(s.saga_id)]))
                query = SagaQuery(text=word)
                listed = logs.merged.sagas(query, limit=10**6)
                assert sorted(s.saga_id for s in listed) == wanted
                assert logs.merged.count(query) == len(wanted)
                failed = SagaQuery(frozenset({"failed"}), word)
                assert logs.merged.count(failed) == sum(
                    1 for s in sagas if s.state == "failed" and int(s.saga_id) in wanted)
        finally:
            logs.close()
