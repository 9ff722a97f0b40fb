"""One number formatter for the counts people read (`format_count`: `1,000,000`), in the
header, the filter chips, the table's title, the export dialog and the CLI's text; machine
output (JSON, CSV) keeps plain integers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from textual.widgets import Static

from saga_inspector.tui.widgets.header import InspectorHeader
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.state_filter import FilterChip
from saga_inspector.units import format_count, format_size

from .factory import SagaLogFactory, cleanup_saga
from .helpers import SIZE, Run, idle, make_app, open_export, pilot_test, run

__all__ = ["run"]  # the CLI fixture

SAGAS, FAILED = 1_234, 1_050  # over a thousand each: counts that need their grouping


@pytest.mark.parametrize(("count", "shown"), [
    (0, "0"), (7, "7"), (999, "999"), (1_000, "1,000"), (100_365, "100,365"),
    (1_000_000, "1,000,000"), (12_345_678_901, "12,345,678,901"),
])
def test_format_count_groups_thousands_with_commas(count: int, shown: str) -> None:
    assert format_count(count) == shown


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sagas = [cleanup_saga(n, "failed" if n <= FAILED else "completed", at=n, reason="x")
             for n in range(1, SAGAS + 1)]
    return SagaLogFactory(tmp_path_factory.mktemp("counts"))(sagas)


@pilot_test
async def test_the_header_chips_title_and_export_dialog_group_their_counts(
    big_log: Path
) -> None:
    app = make_app(big_log)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        header = app.screen.query_one(InspectorHeader)
        assert "1,234 sagas · 1,050 need attention" in str(header.render())
        chips = {chip.state_filter.name: str(chip.render())
                 for chip in app.screen.query(FilterChip)}
        assert chips["all"].endswith(" 1,234") and chips["failed"].endswith(" 1,050")
        assert " · 1,234" in str(app.screen.query_one(SagaTable).border_title)
        screen = await open_export(pilot)
        assert "Writes the 1,234 sagas of this view" in str(
            screen.query_one("#export-what", Static).render())


def test_cli_text_groups_counts_and_json_keeps_plain_integers(run: Run, big_log: Path) -> None:
    text = run("stats", big_log).out
    assert "sagas     1,234 (1,050 need attention)" in text
    assert re.search(r"^failed +1,050  needs attention$", text, re.MULTILINE)  # per state
    assert json.loads(run("stats", big_log, "--json").out)["total"] == SAGAS
    listed = run("list", big_log, "--limit", "5").out
    assert listed.rstrip().endswith("showing the 5 newest of 1,234; --limit 0 shows all")


def test_one_size_formatter_in_binary_units() -> None:
    assert [format_size(n) for n in (0, 512, 1024, 64 * 1024, 8 * 1024**2 + 1, 3 * 1024**3,
                                     5000 * 1024**3)] == [
        "0 B", "512 B", "1.0 KiB", "64.0 KiB", "8.0 MiB", "3.0 GiB", "5,000.0 GiB"]
