"""explain's `last_write`: an unresolved saga in a log nothing has written to for longer than
ABANDONED_AFTER was abandoned, and the summary says so, in both formats."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from saga_inspector.demo import write_demo
from saga_inspector.explain import ABANDONED_AFTER, Explanation, explain, explain_text
from saga_inspector.explain_common import age_words
from saga_inspector.store import SagaDetail, SagaStore
from saga_inspector.store.formats import FORMATS, LogFormat

NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
FRESH = (NOW - timedelta(hours=3)).timestamp()
MONTHS_AGO = (NOW - timedelta(days=125)).timestamp()


@pytest.fixture(scope="module", params=FORMATS, ids=[fmt.name for fmt in FORMATS])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> dict[str, SagaDetail]:
    """The newest saga of each state in the format's demo log."""
    fmt: LogFormat = request.param
    path = write_demo(tmp_path_factory.mktemp(fmt.name) / fmt.file_name, log_format=fmt.name)
    found: dict[str, SagaDetail] = {}
    with SagaStore.open(path) as store:
        for saga in store.walk():
            if saga.state not in found:
                detail = store.saga(saga.saga_id)
                assert detail is not None
                found[saga.state] = detail
    return found


def unresolved(demo: dict[str, SagaDetail]) -> list[SagaDetail]:
    """Every state the format would still change (its own notion, not names written here)."""
    details = list(demo.values())
    fmt = details[0].saga.log_format
    picked = [detail for state, detail in demo.items() if state not in fmt.final_states]
    assert picked and "running" in {detail.saga.state for detail in picked}
    return picked


def said(explanation: Explanation) -> str:
    return "\n".join([explanation.verdict.text, *(line.text for section in explanation.sections
                                                  for line in section.lines)])


def test_a_fresh_log_says_nothing_of_abandonment(demo: dict[str, SagaDetail]) -> None:
    for detail in unresolved(demo):
        plain = explain(detail, NOW)
        fresh = explain(detail, NOW, last_write=FRESH)
        assert fresh == plain and fresh.abandoned is None
        assert "abandoned" not in said(fresh).lower()


def test_an_unresolved_saga_in_a_log_untouched_for_months_is_abandoned(
    demo: dict[str, SagaDetail],
) -> None:
    for detail in unresolved(demo):
        explanation = explain(detail, NOW, last_write=MONTHS_AGO)
        writer = detail.saga.log_format.writer
        assert explanation.abandoned == timedelta(days=125)
        assert explanation.cause == explain(detail, NOW).cause  # the stable word stays
        assert explanation.verdict.text.endswith(
            f"Abandoned: its log was last written 4 months ago, so no {writer} is running "
            "this saga any more.")
        assert explanation.verdict.tone in ("warn", "bad")
        sections = {section.title: section.lines for section in explanation.sections}
        first_check = sections["What to check"][0].text
        assert first_check.startswith("This log was last written 4 months ago (2026-05-29 ")
        assert "nothing is running this saga any more; it was abandoned in state " \
               f"{detail.saga.state}." in first_check
        assert f"Only a start of the {writer} that writes this log" in first_check
        assert sections["Outcome"][-1].text.startswith("log       last written 2026-05-29 ")
        assert "(4 months ago)" in sections["Outcome"][-1].text
        # The text the CLI prints and the dashboard copies says it too.
        text = explain_text(detail, NOW, last_write=MONTHS_AGO)
        assert "it was abandoned in state" in text and "Abandoned: its log" in text


def test_a_resolved_saga_is_never_abandoned(demo: dict[str, SagaDetail]) -> None:
    fmt = next(iter(demo.values())).saga.log_format
    resolved = [detail for state, detail in demo.items() if state in fmt.final_states]
    assert {"completed", "failed_compensation"} <= {d.saga.state for d in resolved}
    for detail in resolved:
        assert explain(detail, NOW, last_write=MONTHS_AGO) == explain(detail, NOW)


def test_an_unknown_state_or_an_unknown_last_write_says_nothing(
    demo: dict[str, SagaDetail],
) -> None:
    running = demo["running"]
    odd = replace(running, saga=replace(running.saga, state="paused_by_operator"))
    assert explain(odd, NOW, last_write=MONTHS_AGO).abandoned is None
    assert explain(running, NOW, last_write=None) == explain(running, NOW)


def test_the_threshold_is_abandoned_after(demo: dict[str, SagaDetail]) -> None:
    running = demo["running"]
    at_it = (NOW - ABANDONED_AFTER).timestamp()
    assert explain(running, NOW, last_write=at_it).abandoned is None
    assert explain(running, NOW, last_write=at_it - 60).abandoned is not None
    assert "1 week ago" in explain(running, NOW, last_write=at_it - 60).verdict.text
    # A last write in the future (a clock set wrong) is no abandonment.
    assert explain(running, NOW, last_write=(NOW + timedelta(days=30)).timestamp()
                   ).abandoned is None


def test_now_defaults_to_the_current_time(demo: dict[str, SagaDetail]) -> None:
    running = demo["running"]
    assert explain(running, last_write=time.time()).abandoned is None
    a_year_ago = time.time() - 400 * 86400
    assert explain(running, last_write=a_year_ago).abandoned is not None


def test_ages_in_words() -> None:
    assert [age_words(timedelta(days=d)) for d in (0.5, 1, 9, 14, 45, 125, 365, 800)] == [
        "12 hours", "1 day", "1 week", "2 weeks", "1 month", "4 months", "1 year", "2 years"]


def test_the_keyword_is_documented_where_callers_look() -> None:
    assert "last_write" in (explain.__doc__ or "")
    assert "last_write" in (explain_text.__doc__ or "")
    assert "SourceInfo.last_write" in (explain.__doc__ or "")
