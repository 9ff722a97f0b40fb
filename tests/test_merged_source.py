"""MergedSource's faults and identities (issue 14): ids that collide across logs, and a
damaged, a vanishing and a newer-than-known log among good ones, without Textual.

The order and the query language over many logs are the property tests' (test_merged_
properties.py); here: which saga a (source, id) names, and that a log's fault stays with it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from saga_inspector.store import SagaQuery, SortOrder, StoreError
from saga_inspector.store.errors import ErrorKind
from saga_inspector.store.formats import LAUNCHER, SERVER
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.models import SagaRef
from saga_inspector.store.paging import RowCache
from saga_inspector.store.source import AmbiguousSaga, SourceStatus

from .factory import (
    SagaLogFactory,
    cleanup_saga,
    mixed_sagas,
    respawn_saga,
    server_sagas,
    tear_off_tab_saga,
)


def factory(tmp_path: Path, folder: str, log_format=LAUNCHER) -> SagaLogFactory:
    made = SagaLogFactory(tmp_path / folder, log_format)
    made.folder.mkdir(parents=True)
    return made


def launcher_log(tmp_path: Path, folder: str, sagas) -> Path:
    return factory(tmp_path, folder)(sagas, name="launcher-sagas.db")


def server_log(tmp_path: Path, folder: str, sagas) -> Path:
    return factory(tmp_path, folder, SERVER)(sagas, name="sagas.db")


def labels(source: MergedSource) -> list[str]:
    return [member.tag.label for member in source.members]


def refs(sagas) -> set[SagaRef]:
    return {saga.ref for saga in sagas}


def status_of(source: MergedSource) -> dict[str, SourceStatus]:
    return {info.label: info.status for info in source.sources()}


# -- ids that collide: every log starts at 1 ---------------------------------------------------


@pytest.fixture
def colliding(tmp_path: Path) -> MergedSource:
    """Three logs holding saga 1, each a different saga: a cleanup, a respawn, a server
    tear-off. Saga 2 only in the first, 7 only in the server's."""
    paths = [
        launcher_log(tmp_path, "a", [cleanup_saga(1, label="from-a"), cleanup_saga(2, at=1)]),
        launcher_log(tmp_path, "b", [respawn_saga(1, at=2)]),
        server_log(tmp_path, "c", [tear_off_tab_saga(1, at=3), tear_off_tab_saga(7, at=4)]),
    ]
    with MergedSource.open(paths) as source:
        yield source


def test_a_bare_id_held_by_several_logs_is_refused_naming_them_all(colliding) -> None:
    a, b, c = labels(colliding)
    with pytest.raises(AmbiguousSaga) as refused:
        colliding.saga(1)
    assert [tag.label for tag in refused.value.holders] == [a, b, c]
    assert all(f"{label}:1" in str(refused.value) for label in (a, b, c))
    assert [tag.label for tag in colliding.holders(1)] == [a, b, c]


def test_each_log_gives_its_own_saga_and_steps_for_the_same_id(colliding) -> None:
    a, b, c = labels(colliding)
    steps = {label: [step.name for step in colliding.saga(1, source=label).steps]
             for label in (a, b, c)}
    assert steps == {
        a: ["issue_cmd_host_reap_panes", "issue_cmd_host_drain_pool_if_last"],
        b: ["issue_cmd_host_spawn_pool_window"],
        c: ["create_workspace", "move_tab"],
    }
    for label in (a, b, c):
        detail = colliding.saga(1, source=label)
        assert detail.saga.ref == SagaRef(label, 1)
        assert all(step.saga_id == 1 for step in detail.steps)
    assert "from-a" in (colliding.saga(1, source=a).saga.input_json or "")
    assert colliding.saga(7, source=a) is None  # a log asked for an id it lacks
    assert colliding.saga(1, source="no/such/log") is None


def test_an_id_held_by_one_log_is_found_bare(colliding) -> None:
    a, _b, c = labels(colliding)
    assert colliding.saga(2).saga.ref == SagaRef(a, 2)
    assert colliding.saga(7).saga.ref == SagaRef(c, 7)
    assert [tag.label for tag in colliding.holders(7)] == [c]
    assert colliding.saga(99) is None
    assert colliding.holders(99) == []


def test_sagas_by_ref_reads_each_from_its_own_log(colliding) -> None:
    a, b, c = labels(colliding)
    wanted = [SagaRef(a, 1), SagaRef(c, 1), SagaRef(b, 7), SagaRef("no/such/log", 1)]
    found = colliding.sagas_by_ref(wanted)
    assert refs(found) == {SagaRef(a, 1), SagaRef(c, 1)}  # b has no 7; no such log
    names = {saga.ref: saga.name for saga in found}
    assert names == {SagaRef(a, 1): "window_cleanup_cascade", SagaRef(c, 1): "tear_off_tab"}


def test_the_merged_listing_keeps_every_colliding_saga_apart(colliding) -> None:
    a, b, c = labels(colliding)
    for sort in SortOrder:
        listed = colliding.sagas(SagaQuery(sort=sort), limit=100)
        assert sorted(saga.ref for saga in listed) == sorted(
            [SagaRef(a, 1), SagaRef(a, 2), SagaRef(b, 1), SagaRef(c, 1), SagaRef(c, 7)])
    assert colliding.count(SagaQuery(text="id:1")) == 3
    assert colliding.counts().total == 5


# -- faults stay with their log ----------------------------------------------------------------


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, Path]:
    """Two good logs (launcher, server), a damaged one (a garbage page part-way), a
    truncated one (cannot be opened) and one newer than this build knows."""
    bad = factory(tmp_path, "bad")
    return {
        "good": launcher_log(tmp_path, "good", mixed_sagas(30, first_id=1, id_step=1)),
        "server": server_log(tmp_path, "server", server_sagas()),
        "damaged": bad.damaged(),
        "truncated": bad.truncated(),
        "newer": factory(tmp_path, "newer")(mixed_sagas(5, first_id=1, id_step=1),
                                            name="launcher-sagas.db", user_version=2),
    }


def label_of(source: MergedSource, path: Path) -> str:
    return next(member.tag.label for member in source.members if member.tag.path == path)


GOOD_TOTAL = 30 + len(server_sagas()) + 5  # good, server, newer


def test_damaged_truncated_and_newer_logs_leave_the_good_ones_alone(fleet) -> None:
    with MergedSource.open(list(fleet.values())) as source:
        assert source.source_count == 5
        damaged = label_of(source, fleet["damaged"])
        # The damaged log fails part-way (its pages before the garbage were read), and is
        # left out from then on; the good ones are walked whole.
        walked = list(source.walk())
        assert sum(saga.source.label != damaged for saga in walked) == GOOD_TOTAL
        assert len(list(source.walk())) == GOOD_TOTAL
        assert source.counts().total == GOOD_TOTAL
        assert source.count(SagaQuery(sort=SortOrder.STARTED)) == GOOD_TOTAL
        first = source.sagas(SagaQuery(sort=SortOrder.STARTED), limit=10)
        assert len(first) == 10
        later = source.sagas(SagaQuery(sort=SortOrder.STARTED),
                             after=SagaQuery(sort=SortOrder.STARTED).key_of(first[-1]),
                             limit=GOOD_TOTAL)
        assert len(later) == GOOD_TOTAL - 10
        assert len(source.oldest(limit=GOOD_TOTAL + 50)) == GOOD_TOTAL
        statuses = status_of(source)
        label = {name: label_of(source, path) for name, path in fleet.items()}
        assert statuses == {label["good"]: SourceStatus.LIVE, label["server"]: SourceStatus.LIVE,
                            label["damaged"]: SourceStatus.ERROR,
                            label["truncated"]: SourceStatus.ERROR,
                            label["newer"]: SourceStatus.LIVE}
        info = {item.label: item for item in source.sources()}
        assert "damaged" in (info[label["damaged"]].error or "")
        assert info[label["truncated"]].log_format is None
        newer = info[label["newer"]]
        assert newer.newer_than_known and newer.schema_version == 2
        assert newer.newer_warning == LAUNCHER.newer_warning(2)
        good = info[label["good"]]
        assert not good.newer_than_known and good.newer_warning is None
        assert info[label["good"]].counts.total == 30
        assert info[label["server"]].log_format is SERVER
        # Every fault is in the warnings, under its log's label.
        assert any(w.startswith(f"{label['truncated']}: ") for w in source.warnings)
        assert any(w.startswith(f"{label['damaged']}: ") for w in source.warnings)
        assert any(w.startswith(f"{label['newer']}: ") and "user_version=2" in w
                   for w in source.warnings)
        assert source.readable_count == 3


def test_a_log_that_fails_during_a_read_is_marked_and_the_others_go_on(
        fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    with MergedSource.open([fleet["good"], fleet["server"]]) as source:
        good, server = source.members
        def broken(*_args, **_kwargs):
            raise StoreError(ErrorKind.DAMAGED, "the disk gave way")
        for read in ("sagas", "start_keys", "sagas_in_order"):  # every way a page reads
            monkeypatch.setattr(server.store, read, broken)
        listed = source.sagas(SagaQuery(sort=SortOrder.STARTED), limit=100)
        assert {saga.source.label for saga in listed} == {good.tag.label}
        assert len(listed) == 30
        assert server.error == "the disk gave way"
        assert status_of(source)[server.tag.label] is SourceStatus.ERROR
        assert source.counts().total == 30  # left out from then on
        assert source.count(SagaQuery(text="state:completed")) == \
            sum(s.state == "completed" for s in listed)
        assert source.saga(1, source=server.tag.label) is None
        assert source.saga(1).saga.source == good.tag  # no longer ambiguous


@pytest.mark.parametrize("how", ["sagas", "count", "counts"])
def test_with_one_log_a_failure_is_raised_as_before(fleet, how,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with MergedSource.open([fleet["good"]]) as source:
        def broken(*_args, **_kwargs):
            raise StoreError(ErrorKind.DAMAGED, "the disk gave way")
        monkeypatch.setattr(source.members[0].store, how, broken)
        with pytest.raises(StoreError, match="the disk gave way"):
            getattr(source, how)(SagaQuery()) if how != "counts" else source.counts()


def test_one_damaged_log_alone_raises_its_error(fleet) -> None:
    with MergedSource.open([fleet["damaged"]]) as source, \
            pytest.raises(StoreError) as failed:
        list(source.walk())
    assert failed.value.kind is ErrorKind.DAMAGED


# -- a log that vanishes mid-session -----------------------------------------------------------


def _remove(path: Path) -> None:
    for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        companion.unlink(missing_ok=True)


def test_a_vanished_log_keeps_its_rows_marked_gone_and_reopens_when_back(
        tmp_path: Path) -> None:
    keep = launcher_log(tmp_path, "keep", mixed_sagas(8, first_id=1, id_step=1))
    going = launcher_log(tmp_path, "going", mixed_sagas(5, first_id=100, id_step=1))
    with MergedSource.open([keep, going]) as source:
        kept_label, going_label = labels(source)
        source.changed()  # (True the first time: every poll starts so)
        assert not source.changed()
        _remove(going)
        assert source.changed()
        assert status_of(source) == {kept_label: SourceStatus.LIVE,
                                     going_label: SourceStatus.GONE}
        listed = source.sagas(limit=100)
        assert sum(saga.source.label == going_label for saga in listed) == 5  # as last read
        assert source.counts().total == 13
        assert source.saga(100, source=going_label) is not None
        assert not source.changed()  # gone once: said once
        source.reopen()  # not back yet: still gone
        assert status_of(source)[going_label] is SourceStatus.GONE
        back = SagaLogFactory(going.parent)(mixed_sagas(2, first_id=500, id_step=1),
                                            name=going.name)
        assert back == going
        source.reopen()
        assert status_of(source) == {kept_label: SourceStatus.LIVE,
                                     going_label: SourceStatus.LIVE}
        assert sorted(s.saga_id for s in source.sagas(limit=100)
                      if s.source.label == going_label) == [500, 501]
        assert source.counts().total == 10


def test_a_log_replaced_by_another_file_is_marked_gone_then_reopened(tmp_path: Path) -> None:
    keep = launcher_log(tmp_path, "keep", mixed_sagas(3, first_id=1, id_step=1))
    swapped = server_log(tmp_path, "swapped", server_sagas()[:2])
    with MergedSource.open([keep, swapped]) as source:
        label = labels(source)[1]
        other = server_log(tmp_path, "elsewhere", server_sagas()[:5])
        os.replace(other, swapped)
        assert source.changed()
        assert status_of(source)[label] is SourceStatus.GONE
        assert source.count(SagaQuery(text=f"source:{label}")) == 2  # the rows last read
        source.reopen()
        assert status_of(source)[label] is SourceStatus.LIVE
        assert source.count(SagaQuery(text=f"source:{label}")) == 5


def test_with_one_log_a_vanished_file_is_raised_as_before(tmp_path: Path) -> None:
    only = launcher_log(tmp_path, "only", mixed_sagas(3, first_id=1, id_step=1))
    with MergedSource.open([only]) as source:
        _remove(only)
        with pytest.raises(StoreError) as failed:
            source.changed()
        assert failed.value.kind is ErrorKind.NOT_FOUND


# -- hiding a log ------------------------------------------------------------------------------


def test_a_hidden_log_is_left_out_of_counts_and_pages_until_shown(tmp_path: Path) -> None:
    shown = launcher_log(tmp_path, "shown", mixed_sagas(6, first_id=1, id_step=1))
    hidden = server_log(tmp_path, "hidden", server_sagas())
    with MergedSource.open([shown, hidden]) as source:
        shown_label, hidden_label = labels(source)
        everything = len(server_sagas()) + 6
        query = SagaQuery(sort=SortOrder.STARTED)
        assert source.counts().total == everything
        source.set_hidden(hidden_label, True)
        assert status_of(source) == {shown_label: SourceStatus.LIVE,
                                     hidden_label: SourceStatus.HIDDEN}
        assert source.counts().total == 6
        assert source.count(query) == 6
        listed = source.sagas(query, limit=100)
        assert {saga.source.label for saga in listed} == {shown_label}
        assert len(source.oldest(query, limit=100)) == 6
        assert len(source.page_keys(query, stride=1)) == 6
        assert source.count_before(query, query.key_of(listed[-1])) == 5
        assert source.saga(1, source=hidden_label) is None
        assert source.saga(1).saga.source.label == shown_label  # only the shown log holds it
        assert source.sagas_by_ref([SagaRef(hidden_label, 1)]) == []
        source.set_hidden(hidden_label, False)
        assert source.counts().total == everything
        assert len(source.sagas(query, limit=100)) == everything


# -- found while writing the property tests ----------------------------------------------------


@pytest.mark.parametrize("sort", list(SortOrder))
def test_one_logs_page_keys_are_the_keys_of_its_rows(tmp_path: Path, sort) -> None:
    only = launcher_log(tmp_path, "only", [cleanup_saga(n, at=float(n)) for n in range(1, 6)])
    with MergedSource.open([only]) as source:
        query = SagaQuery(sort=sort)
        rows = source.sagas(query)
        assert source.page_keys(query, stride=2) == [query.key_of(s) for s in rows][::2]
        pages = RowCache(page_size=2, key=query.key_of)
        pages.anchors = source.page_keys(query, stride=2)
        assert [pages.page_holding(query.key_of(s)) for s in rows] == [0, 0, 1, 1, 2]
