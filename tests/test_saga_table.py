"""The saga table: its page cache without Textual, then the widget in a tiny host app."""

from __future__ import annotations

import html
import random
import sqlite3
import threading
from contextlib import suppress
from typing import Any

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from saga_inspector.demo import write_saga_log
from saga_inspector.store import (
    PAGE_SIZE,
    ErrorKind,
    Saga,
    SagaQuery,
    SagaRef,
    SagaStore,
    SortKey,
    StoreError,
)
from saga_inspector.store.timestamps import parse_timestamp
from saga_inspector.tui.widgets.saga_table import (
    PageRequest,
    RowCache,
    SagaTable,
    column_widths,
    dense_anchors,
    format_started,
)

from .factory import cleanup_saga, recovered_saga, respawn_saga
from .helpers import ALL, Host, highlighted_id, lines, numbered, poll, row_ids, run_host, settle

FAILED = SagaQuery(frozenset({"failed"}))
NEEDS_ATTENTION = SagaQuery(frozenset({"failed", "running", "failed_compensation"}))


def fake_saga(saga_id: int) -> Saga:
    return Saga(saga_id, "n", "completed", None, None, "{}", None)


def page_of(ids: range | list[int]) -> list[Saga]:
    return [fake_saga(i) for i in ids]


def key(saga_id: int) -> SortKey:
    """A saga's key when sorted by id."""
    return SortKey(saga_id, saga_id)


def keys(*saga_ids: int) -> list[SortKey]:
    return [key(saga_id) for saga_id in saga_ids]


# -- the page cache, without Textual -------------------------------------------------------------


def test_the_first_page_is_read_from_the_newest_end() -> None:
    assert RowCache(page_size=10).plan(0) == PageRequest(0, 10)


def test_a_page_after_a_full_one_is_read_by_keyset_below_its_last_id() -> None:
    cache = RowCache(page_size=10)
    cache.store(PageRequest(0, 10), page_of(range(100, 90, -1)))
    assert cache.plan(1) == PageRequest(1, 10, after=key(91))


def test_a_page_before_a_known_one_is_read_by_keyset_above_its_first_id() -> None:
    cache = RowCache(page_size=10)
    cache.store(PageRequest(5, 10, after=key(51)), page_of(range(50, 40, -1)))
    assert cache.plan(4) == PageRequest(4, 10, before=key(50))


def test_a_far_page_waits_for_the_anchors_then_starts_at_its_anchor() -> None:
    cache = RowCache(page_size=10)
    cache.store(PageRequest(0, 10), page_of(range(100, 90, -1)))
    assert cache.plan(7) is None
    cache.anchors = keys(100, 90, 80, 70, 60, 50, 40, 30, 20, 10)
    assert cache.plan(7) == PageRequest(7, 10, at=key(30))
    assert cache.plan(10) is None  # past the last anchor: outside the result


def test_the_last_page_is_read_from_the_oldest_end_with_just_its_rows() -> None:
    cache = RowCache(page_size=10)
    cache.total = 95
    assert cache.plan(9) == PageRequest(9, 5, from_oldest=True)
    assert cache.plan(10) is None
    assert cache.plan(4) is None  # neither neighbours nor anchors yet


def test_a_short_page_read_downwards_ends_the_result() -> None:
    cache = RowCache(page_size=10)
    cache.store(PageRequest(0, 10), page_of(range(100, 90, -1)))
    assert cache.total is None
    cache.store(PageRequest(1, 10, after=key(91)), page_of(range(90, 87, -1)))
    assert cache.total == 13
    assert cache.row_count == 13


def test_the_cache_keeps_a_bounded_number_of_pages_least_recently_used_first() -> None:
    cache = RowCache(page_size=10, max_pages=3)
    for page in range(5):
        top = 1000 - page * 10
        cache.store(PageRequest(page, 10), page_of(range(top, top - 10, -1)))
    assert cache.pages_held == 3
    assert cache.row(0) is None  # page 0 was evicted
    assert cache.row(45) is not None
    assert cache.row(45).saga_id == 955


def test_locate_finds_a_held_saga_and_anchors_say_which_page_holds_another() -> None:
    cache = RowCache(page_size=10)
    cache.store(PageRequest(3, 10, after=key(71)), page_of(range(70, 60, -1)))
    assert cache.locate(SagaRef("", 64)) == 36
    assert cache.locate(SagaRef("", 200)) is None
    cache.anchors = keys(100, 90, 80, 70, 60)
    assert cache.page_holding(key(100)) == 0
    assert cache.page_holding(key(85)) == 1
    assert cache.page_holding(key(60)) == 4
    assert cache.page_holding(key(5)) == 4
    assert cache.page_holding(key(101)) is None


def test_dense_ids_give_the_anchors_without_a_scan_and_gaps_do_not(make_log) -> None:
    assert dense_anchors(250, 1, 250, 100) == keys(250, 150, 50)
    assert dense_anchors(250, 1, 249, 100) is None  # one id missing somewhere
    assert dense_anchors(7, None, 0, 100) is None
    store = SagaStore.open(make_log(numbered(1234)))
    assert dense_anchors(1234, 1, 1234, 100) == store.page_keys(ALL, stride=100)
    store.close()


def test_page_range_is_cut_to_the_result_once_counted() -> None:
    cache = RowCache(page_size=10)
    assert list(cache.page_range(-5, 25)) == [0, 1, 2]
    cache.total = 12
    assert list(cache.page_range(5, 95)) == [0, 1]
    cache.total = 0
    assert list(cache.page_range(0, 10)) == []


@pytest.mark.parametrize("query", [ALL, FAILED, NEEDS_ATTENTION, SagaQuery(text="timeout")])
def test_pages_read_in_any_order_and_any_way_give_the_full_listing(make_log, query) -> None:
    store = SagaStore.open(make_log(numbered(1234, failed_every=3)))
    expected = [saga.saga_id for saga in store.sagas(query, limit=10**6)]
    # With anchors, pages read in a random order:
    cache = RowCache(page_size=PAGE_SIZE, key=query.key_of)
    cache.total = store.count(query)
    cache.anchors = store.page_keys(query, stride=PAGE_SIZE)
    pages = list(range(len(cache.anchors)))
    random.Random(7).shuffle(pages)
    for page in pages:
        request = cache.plan(page)
        assert request is not None
        cache.store(request, request.run(store, query))
    assert [cache.row(i).saga_id for i in range(cache.total)] == expected
    # Without anchors, from the oldest end upwards, one neighbour at a time:
    cache = RowCache(page_size=PAGE_SIZE, key=query.key_of)
    cache.total = len(expected)
    for page in reversed(range((cache.total - 1) // PAGE_SIZE + 1)):
        request = cache.plan(page)
        assert request is not None and request.after is None
        cache.store(request, request.run(store, query))
    assert [cache.row(i).saga_id for i in range(cache.total)] == expected
    store.close()


def test_columns_fill_the_width_and_the_name_gives_way_first() -> None:
    wide = column_widths(160, 4)
    assert sum(wide) + 2 * (len(wide) - 1) == 160
    assert wide[1] == 23  # name at its ideal width
    narrow = column_widths(100, 4)
    assert narrow[1] < 23 and narrow[2] == wide[2]  # name shrank, state did not
    assert narrow[-1] >= 16  # the failure reason keeps some room


def test_started_shows_local_time_with_age_and_odd_values_marked() -> None:
    stamp = parse_timestamp("2026-06-02T14:05:23.481526300+00:00")
    now = stamp.value.replace(day=7)
    local = stamp.value.astimezone().strftime("%m-%d %H:%M:%S")
    assert format_started(stamp, now) == f"{local} (5d ago)"
    assert format_started(stamp, now, with_age=False) == local
    # Not a relative time: marked as text that did not parse, and given no age.
    assert format_started(parse_timestamp("yesterday\x1b[2J"), now) == 'unparsed: "yesterday␛[2J"'


# -- the widget in a host app ----------------------------------------------------------------


def test_first_rows_are_drawn_newest_first(make_log) -> None:
    path = make_log([cleanup_saga(1, at=0), respawn_saga(2, "failed", at=10, reason="saga timeout"),
                     recovered_saga(3, at=20)])
    host = Host(SagaStore.open(path))

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: app.table.total is not None)
        drawn = lines(app.table)
        assert drawn[0].split()[:3] == ["id▼", "name", "state"]  # ▼: sorted by id, newest first
        assert row_ids(app.table) == [3, 2, 1]
        assert "launcher restarted while saga in state 'running'" in drawn[1]
        assert "saga timeout" in drawn[2]
        assert app.last(SagaTable.Highlighted).saga.saga_id == 3
        assert app.last(SagaTable.Loaded).total == 3

    run_host(host, scenario)


def test_G_lands_on_the_oldest_saga_and_g_back_on_the_newest(make_log) -> None:
    host = Host(SagaStore.open(make_log(numbered(5000))))

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 5000)
        await pilot.press("G")
        await settle(pilot, lambda: highlighted_id(table) is not None)
        assert highlighted_id(table) == 1
        assert row_ids(table)[-1] == 1
        assert app.last(SagaTable.Highlighted).saga.saga_id == 1
        await pilot.press("g")
        await settle(pilot)
        assert highlighted_id(table) == 5000
        assert row_ids(table)[0] == 5000
        # Only the pages near what was shown were read, not the whole file.
        assert table._cache.pages_held <= 6

    run_host(host, scenario)


def test_G_and_g_over_a_filter_of_several_states(make_log) -> None:
    rows = list(numbered(3000, failed_every=7))
    rows[99].state = "running"  # saga 100
    host = Host(SagaStore.open(make_log(rows)), NEEDS_ATTENTION)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total is not None)
        assert table.total == 3000 // 7 + 1
        await pilot.press("end")
        await settle(pilot, lambda: highlighted_id(table) is not None)
        assert highlighted_id(table) == 7
        await pilot.press("k")
        await settle(pilot)
        assert highlighted_id(table) == 14
        await pilot.press("home")
        await settle(pilot)
        assert highlighted_id(table) == 2996

    run_host(host, scenario)


def test_page_down_moves_by_a_screen_and_page_up_back(make_log) -> None:
    host = Host(SagaStore.open(make_log(numbered(1000))))

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 1000)
        screen = len(lines(table)) - 1  # rows under the header
        await pilot.press("pagedown")
        await settle(pilot, lambda: highlighted_id(table) is not None)
        assert highlighted_id(table) == 1000 - screen
        assert row_ids(table)[0] == 1000 - screen
        await pilot.press("ctrl+f", "ctrl+f")
        await settle(pilot, lambda: highlighted_id(table) is not None)
        assert highlighted_id(table) == 1000 - 3 * screen
        await pilot.press("pageup")
        await settle(pilot, lambda: highlighted_id(table) is not None)
        assert highlighted_id(table) == 1000 - 2 * screen

    run_host(host, scenario)


def test_a_filter_change_away_and_back_keeps_the_place(make_log) -> None:
    store = SagaStore.open(make_log(numbered(2000)))
    host = Host(store)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 2000)
        await pilot.press("pagedown", "pagedown", *["j"] * 5, *["k"] * 2)
        await settle(pilot, lambda: highlighted_id(table) is not None)
        place, offset = highlighted_id(table), table.scroll_offset.y
        assert place is not None and offset > 0
        table.show(store, FAILED)
        await settle(pilot, lambda: highlighted_id(table) is not None)
        assert highlighted_id(table) == 1995  # the newest failed saga
        await pilot.press("j")
        table.show(store, ALL)
        await settle(pilot, lambda: highlighted_id(table) is not None)
        assert highlighted_id(table) == place
        assert table.scroll_offset.y == offset
        table.show(store, FAILED)
        await settle(pilot, lambda: highlighted_id(table) is not None)
        assert highlighted_id(table) == 1988  # failed's own place came back too

    run_host(host, scenario)


def test_reload_keeps_the_highlighted_saga_when_new_sagas_arrive(make_log) -> None:
    path = make_log(numbered(600))
    host = Host(SagaStore.open(path))

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 600)
        await pilot.press("pagedown", *["j"] * 3)
        await settle(pilot, lambda: highlighted_id(table) is not None)
        chosen = highlighted_id(table)
        screen_row = next(y for y, line in enumerate(lines(table)) if line.startswith(f"{chosen} "))
        # The launcher writes 150 more sagas: every row moves down by 150.
        write_saga_log(path, [row for row in numbered(750) if row.saga_id > 600])
        table.reload()
        await settle(pilot, lambda: table.total == 750 and highlighted_id(table) is not None)
        assert highlighted_id(table) == chosen
        drawn = lines(table)
        assert drawn[screen_row].startswith(f"{chosen} ")  # on the same line of the screen
        assert app.last(SagaTable.Loaded).total == 750

    run_host(host, scenario)


def test_reload_falls_back_to_the_same_row_when_the_saga_left_the_result(make_log) -> None:
    path = make_log(numbered(700))
    store = SagaStore.open(path)
    host = Host(store, FAILED)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 100)
        await pilot.press(*["j"] * 4)
        await settle(pilot)
        assert highlighted_id(table) == 700 - 7 * 4
        conn = sqlite3.connect(path)  # another process's launcher, resolving that saga
        conn.execute("UPDATE launcher_saga SET state = 'completed' WHERE saga_id = 672")
        conn.commit()
        conn.close()
        table.reload()
        await settle(pilot, lambda: table.total == 99 and highlighted_id(table) is not None)
        assert highlighted_id(table) == 665  # the row that took its place

    run_host(host, scenario)


def test_an_empty_result_shows_the_empty_message(make_log) -> None:
    query = SagaQuery(frozenset({"compensating"}))
    store = SagaStore.open(make_log(numbered(30)))
    host = Host(store, empty="no compensating sagas")

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: app.table.total == 30)
        assert app.last(SagaTable.Highlighted).saga.saga_id == 30
        app.table.show(store, query)
        await settle(pilot, lambda: app.table.total == 0)
        assert app.last(SagaTable.Highlighted).saga is None  # nothing highlighted any more
        drawn = lines(app.table)
        assert any(line.strip() == "no compensating sagas" for line in drawn)
        assert app.table.highlighted_saga is None
        assert app.last(SagaTable.Loaded).total == 0
        await pilot.press("enter", "G", "j")
        await settle(pilot)
        assert app.last(SagaTable.Chosen) is None

    run_host(host, scenario)


def test_a_failure_reason_is_drawn_as_visible_text_not_markup_nor_escapes(make_log) -> None:
    reason = "[TODO] fix \x1b]0;pwned\x07"
    host = Host(SagaStore.open(make_log([respawn_saga(9, "failed", reason=reason)])))

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: app.table.total == 1)
        drawn = lines(app.table)
        assert "[TODO] fix ␛]0;pwned␇" in drawn[1]
        width, height = app.table.size
        for strip in app.table.render_lines(Region(0, 0, width, height)):
            assert not any(ch in seg.text for seg in strip for ch in "\x1b\x07")
        screenshot = html.unescape(app.export_screenshot()).replace("\xa0", " ")
        assert "[TODO] fix ␛]0;pwned␇" in screenshot
        assert "\x1b" not in screenshot

    run_host(host, scenario)


def test_enter_chooses_the_highlighted_saga_and_a_click_highlights(make_log) -> None:
    host = Host(SagaStore.open(make_log(numbered(50))))

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: app.table.total == 50)
        await pilot.click("#sagas", offset=(3, 4))  # the fourth row under the header
        await settle(pilot)
        assert highlighted_id(app.table) == 47
        await pilot.press("enter")
        await settle(pilot)
        assert app.last(SagaTable.Chosen).saga.saga_id == 47

    run_host(host, scenario)


class GatedStore:
    """A store whose next read of one query (while armed) waits until the test lets it go."""

    def __init__(self, store: SagaStore, gated: SagaQuery, *, armed: bool = True) -> None:
        self.store, self.gated, self.armed = store, gated, armed
        self.entered, self.release = threading.Event(), threading.Event()

    def sagas(self, query: SagaQuery, **kwargs: Any) -> list[Saga]:
        if query == self.gated and self.armed:
            self.armed = False
            self.entered.set()
            assert self.release.wait(10)
        return self.store.sagas(query, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_newer_query_supersedes_a_slow_one_and_loading_is_shown(make_log) -> None:
    store = GatedStore(SagaStore.open(make_log(numbered(300))), gated=ALL)
    host = Host(store)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        gated = list(app.workers)
        while not store.entered.is_set():
            await pilot.pause()
        await pilot.pause()
        assert "loading…" in "\n".join(lines(table))
        table.show(store, FAILED)  # the operator switched filters before the rows came
        await settle(pilot, lambda: table.total == 300 // 7)
        store.release.set()
        with suppress(WorkerCancelled):
            await app.workers.wait_for_complete(gated)
        await settle(pilot)
        assert table.saga_query == FAILED
        assert all(saga_id % 7 == 0 for saga_id in row_ids(table))
        assert highlighted_id(table) == 294
        assert all(m.query == FAILED for m in app.posted if isinstance(m, SagaTable.Loaded))

    run_host(host, scenario)


def test_rows_stay_drawn_while_a_reload_reads_them_again(make_log) -> None:
    store = GatedStore(SagaStore.open(make_log(numbered(300))), gated=ALL, armed=False)
    host = Host(store)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 300)
        before = lines(table)
        store.armed = True
        table.reload()
        reloads = [w for w in app.workers if not w.is_finished]
        while not store.entered.is_set():
            await pilot.pause()
        assert lines(table) == before  # no "loading…", no placeholders: a refresh never blanks
        store.release.set()
        await app.workers.wait_for_complete(reloads)
        await settle(pilot, lambda: highlighted_id(table) == 300)
        assert lines(table) == before

    run_host(host, scenario)


class BrokenStore:
    """Every read fails the way a damaged file does."""

    def _fail(self, *_args: Any, **_kwargs: Any) -> Any:
        raise StoreError(ErrorKind.DAMAGED, "/x/sagas.db: database disk image is malformed")

    sagas = count = page_keys = oldest = _fail


def test_a_store_error_is_posted_and_drawn_in_place_of_rows() -> None:
    host = Host(BrokenStore())

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: app.last(SagaTable.Failed) is not None)
        assert app.last(SagaTable.Failed).error.kind is ErrorKind.DAMAGED
        assert any("database disk image is malformed" in line for line in lines(app.table))
        assert app.table.highlighted_saga is None

    run_host(host, scenario)



def test_a_far_jump_reads_the_anchors_at_once_and_draws_the_rows_there(make_log) -> None:
    # A gap in the ids (as retention leaves) so that the anchors need the scan.
    rows = [row for row in numbered(3000) if row.saga_id != 10]
    host = Host(SagaStore.open(make_log(rows)))

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 2999)
        assert table._cache.anchors is None
        table.scroll_to(y=1500, animate=False, force=True)  # as a scrollbar drag does
        await poll(pilot, lambda: row_ids(table)[:1] == [1500])
        await pilot.click("#sagas", offset=(3, 1))
        await poll(pilot, lambda: highlighted_id(table) == 1500)

    run_host(host, scenario)


def test_a_search_gets_its_total_without_a_count_and_G_reaches_its_end(make_log) -> None:
    rows = list(numbered(2500, failed_every=2))  # 1250 sagas "saga timeout"
    store = SagaStore.open(make_log(rows))
    host = Host(store, SagaQuery(text="timeout"))

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total is not None)
        assert table.total == 1250
        assert [m.total for m in app.posted if isinstance(m, SagaTable.Loaded)] == [None, 1250]
        await pilot.press("G")
        await settle(pilot, lambda: highlighted_id(table) is not None)
        assert highlighted_id(table) == 2

    run_host(host, scenario)


def test_G_on_a_search_scans_for_its_end_at_once(make_log) -> None:
    # The scan that finds a search's extent would wait for ever; G needs it now.
    store = SagaStore.open(make_log(numbered(2500, failed_every=2)))
    host = Host(store, SagaQuery(text="timeout"), scan_delay=None)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: highlighted_id(table) == 2500)
        assert table.total is None
        await pilot.press("G")
        await settle(pilot, lambda: highlighted_id(table) == 2)
        assert table.total == 1250

    run_host(host, scenario)


class CountingStore:
    """A store that counts the scans for page anchors."""

    def __init__(self, store: SagaStore) -> None:
        self.store, self.scans = store, 0

    def page_keys(self, query: SagaQuery, **kwargs: Any) -> list[SortKey]:
        self.scans += 1
        return self.store.page_keys(query, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_coming_back_to_a_far_place_needs_no_second_scan(make_log) -> None:
    store = CountingStore(SagaStore.open(make_log(numbered(7000))))
    host = Host(store, FAILED)  # 1000 failed sagas: their ids have gaps, anchors need a scan

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 1000)
        table.scroll_to(y=700, animate=False, force=True)
        await settle(pilot, lambda: row_ids(table)[:1] == [7000 - 7 * 700])
        await pilot.click("#sagas", offset=(3, 2))
        await settle(pilot, lambda: highlighted_id(table) == 7000 - 7 * 701)
        assert store.scans == 1
        table.show(store, ALL)
        await settle(pilot, lambda: highlighted_id(table) == 7000)
        table.show(store, FAILED)
        await settle(pilot, lambda: highlighted_id(table) is not None)
        assert highlighted_id(table) == 7000 - 7 * 701
        assert table.scroll_offset.y == 700
        assert store.scans == 1  # ALL's anchors came without a scan, FAILED's were kept
        table.reload()
        await settle(pilot, lambda: highlighted_id(table) is not None)
        assert highlighted_id(table) == 7000 - 7 * 701
        # A reload finds the saga again by counting the rows above it (sorted by id), not
        # by a scan of every id: under a busy writer that long a read grows its -wal.
        assert store.scans == 1

    run_host(host, scenario)


def test_enter_typed_before_the_first_rows_arrive_chooses_once_they_do(make_log) -> None:
    store = GatedStore(SagaStore.open(make_log(numbered(30))), gated=ALL)
    host = Host(store)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        while not store.entered.is_set():
            await pilot.pause()
        await pilot.press("enter")  # the page is still held back: nothing to choose yet
        assert app.last(SagaTable.Chosen) is None
        store.release.set()
        await settle(pilot, lambda: app.last(SagaTable.Chosen) is not None)
        assert app.last(SagaTable.Chosen).saga.saga_id == 30

    run_host(host, scenario)


# -- issue 6: what a key costs ---------------------------------------------------------------


def test_a_cursor_move_repaints_the_two_lines_it_changes(make_log) -> None:
    host = Host(SagaStore.open(make_log(numbered(300))))
    drawn: list[int] = []

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 300)
        original = table.render_line
        table.render_line = lambda y: (drawn.append(y), original(y))[1]  # type: ignore[method-assign]
        for _ in range(2):
            await pilot.press("j")
            await settle(pilot)
        assert highlighted_id(table) == 298
        assert sorted(drawn) == [1, 2, 2, 3]  # lines of rows 0-1, then 1-2: never the rest
        drawn.clear()
        await pilot.press("pagedown")  # the view moves: every line is drawn again
        await settle(pilot)
        assert len(set(drawn)) == table.size.height

    run_host(host, scenario)


def test_a_query_shown_again_draws_its_rows_before_reading_them(make_log) -> None:
    store = GatedStore(SagaStore.open(make_log(numbered(700))), gated=ALL, armed=False)
    host = Host(store)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 700)
        await pilot.press("pagedown", "j")
        await settle(pilot)
        before, chosen = lines(table), highlighted_id(table)
        table.show(store, FAILED)
        await settle(pilot, lambda: table.total == 100)
        store.armed = True  # the next read of ALL waits
        table.show(store, ALL)
        await pilot.pause()
        assert lines(table) == before  # drawn at once, at its place, from what was read
        await poll(pilot, lambda: store.entered.is_set())
        assert lines(table) == before
        store.release.set()
        await settle(pilot, lambda: highlighted_id(table) == chosen)
        assert lines(table) == before

    run_host(host, scenario)


def test_ids_near_the_cursor_are_the_rows_read_around_it(make_log) -> None:
    host = Host(SagaStore.open(make_log(numbered(50))))

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table

        def ids_near_cursor(distance: int) -> list[int]:
            return [ref.saga_id for ref in table.refs_near_cursor(distance)]

        await settle(pilot, lambda: table.total == 50)
        assert ids_near_cursor(2) == [49, 48]  # nothing above the first row
        await pilot.press("j", "j")
        await settle(pilot)
        assert ids_near_cursor(1) == [47, 49]
        assert ids_near_cursor(2) == [47, 49, 46, 50]

    run_host(host, scenario)
