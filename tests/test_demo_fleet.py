"""The demo fleet (`--demo` with several logs): two launcher version folders and a server
log, laid out like ~/.agentmux, so that a newcomer sees the merged view at once."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from saga_inspector.demo import (
    FLEET_NEW_VERSION,
    FLEET_OLD_VERSION,
    write_demo,
    write_demo_fleet,
)
from saga_inspector.discovery import find_saga_logs_under
from saga_inspector.explain import ABANDONED_AFTER, explain
from saga_inspector.store import SagaStore
from saga_inspector.store.formats import LAUNCHER, SERVER
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.models import SagaQuery, SortOrder

NEWEST_START = SagaQuery(sort=SortOrder.STARTED)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_demo_fleet(tmp_path_factory.mktemp("fleet") / ".agentmux")


def test_the_logs_are_where_a_data_folder_keeps_them(fleet: list[Path]) -> None:
    root = fleet[0].parents[6]
    assert [path.relative_to(root).as_posix() for path in fleet] == [
        f"channels/stable/versions/{FLEET_OLD_VERSION}/data/db/launcher-sagas.db",
        f"channels/stable/versions/{FLEET_NEW_VERSION}/data/db/launcher-sagas.db",
        f"channels/stable/versions/{FLEET_NEW_VERSION}/data/db/sagas.db",
    ]
    found, warnings = find_saga_logs_under([root])  # what `saga-inspector FOLDER` opens
    assert sorted(candidate.path for candidate in found) == sorted(fleet) and not warnings


def test_each_log_is_read_as_its_format(fleet: list[Path]) -> None:
    formats = []
    for path in fleet:
        with SagaStore.open(path) as store:
            formats.append(store.format)
            assert not store.warnings and store.counts().total > 100
    assert formats == [LAUNCHER, LAUNCHER, SERVER]
    with MergedSource.open(fleet) as merged:
        infos = merged.sources()
    assert [info.log_format for info in infos] == [LAUNCHER, LAUNCHER, SERVER]
    assert [info.label for info in infos] == [
        f"{FLEET_OLD_VERSION}/launcher", f"{FLEET_NEW_VERSION}/launcher",
        f"{FLEET_NEW_VERSION}/server"]


def test_ids_collide_across_the_logs(fleet: list[Path]) -> None:
    with MergedSource.open(fleet) as merged:
        assert len(merged.holders(1)) == 3  # every log starts at 1
        rows = list(merged.walk(NEWEST_START))
    ids = [saga.saga_id for saga in rows]
    assert len(ids) > len(set(ids))
    assert len({saga.ref for saga in rows}) == len(rows)  # (source, id) tells them apart


def test_start_times_interleave_so_the_view_mixes_its_sources(fleet: list[Path]) -> None:
    with MergedSource.open(fleet) as merged:
        top = merged.sagas(NEWEST_START, limit=20)
        rows = list(merged.walk(NEWEST_START))
    # The first screen of the merged view holds sagas of two logs, mixed, not one after
    # the other.
    assert len({saga.source.label for saga in top}) == 2
    runs = [label for label, _ in itertools.groupby(saga.source.label for saga in top)]
    assert len(runs) >= 4
    # Every log's sagas meet another log's somewhere in the whole view.
    neighbours: dict[str, set[str]] = {}
    for before, after in itertools.pairwise(rows):
        if before.source != after.source:
            neighbours.setdefault(before.source.label, set()).add(after.source.label)
            neighbours.setdefault(after.source.label, set()).add(before.source.label)
    assert set(neighbours) == {saga.source.label for saga in rows}
    starts = [saga.started_at.value for saga in rows if saga.started_at is not None]
    assert starts == sorted(starts, reverse=True)  # the view's own order: newest first


def test_the_newest_saga_to_review_has_a_step_in_flight(fleet: list[Path]) -> None:
    """`5` (failed_compensation) then `enter`: the cursor lands on an in-flight step."""
    with MergedSource.open(fleet) as merged:
        query = SagaQuery(frozenset({"failed_compensation"}), sort=SortOrder.STARTED)
        newest = merged.sagas(query, limit=1)[0]
        detail = merged.saga(newest.saga_id, source=newest.source.label)
        running = merged.sagas(SagaQuery(frozenset({"running"}), sort=SortOrder.STARTED),
                               limit=1)[0]
        running_detail = merged.saga(running.saga_id, source=running.source.label)
    assert detail is not None and detail.in_flight_step is not None
    assert running_detail is not None and running_detail.in_flight_step is not None


def test_the_old_versions_log_was_last_written_when_it_stopped(fleet: list[Path]) -> None:
    """Its launcher was upgraded away: its running sagas are abandoned, and explain says so
    (the newer logs were written as the demo was made: they are live)."""
    with MergedSource.open(fleet) as merged:
        old, new, _server = merged.sources()
        running = merged.sagas(SagaQuery(frozenset({"running"}), sort=SortOrder.STARTED),
                               limit=500)
        left = next(saga for saga in running if saga.source == old.tag)
        detail = merged.saga(left.saga_id, source=old.label)
        newest = merged.sagas(NEWEST_START, limit=1)[0].started_at
    assert old.last_write is not None and new.last_write is not None and detail is not None
    assert newest is not None and newest.value is not None
    assert old.last_write < newest.value.timestamp()  # before the newer logs' last sagas
    stopped = datetime.fromtimestamp(old.last_write, UTC)
    later = stopped + ABANDONED_AFTER + timedelta(days=1)
    assert explain(detail, later, last_write=old.last_write).abandoned is not None
    # A log written as the demo was made (the newer ones) is live at that moment.
    written = datetime.fromtimestamp(new.last_write, UTC)
    assert explain(detail, written, last_write=new.last_write).abandoned is None


def test_the_fleet_is_deterministic(tmp_path: Path, fleet: list[Path]) -> None:
    again = write_demo_fleet(tmp_path / "again")

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert [digest(path) for path in again] == [digest(path) for path in fleet]
    assert again[0].stat().st_mtime == fleet[0].stat().st_mtime


def test_it_refuses_to_overwrite_and_the_single_demos_are_unchanged(tmp_path: Path) -> None:
    write_demo_fleet(tmp_path)
    with pytest.raises(FileExistsError):
        write_demo_fleet(tmp_path)
    launcher = write_demo(tmp_path / "launcher-sagas.db")
    server = write_demo(tmp_path / "sagas.db", log_format="server")
    for path, fmt, total in ((launcher, LAUNCHER, 320), (server, SERVER, 400)):
        with SagaStore.open(path) as store:
            assert (store.format, store.counts().total) == (fmt, total)
