"""/sante and /metriques of relog serve, on the served demo."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.served_app import ServedApp
from data_access import Filters
from tests.ui.conftest import http_get
from tests.ui.test_rehousing_page import open_page, wait_for_rehousings

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.xdist_group("ui")]


def test_health_says_the_replica_answers_and_how_old_its_data_is(served_app):
    status, raw = http_get(f"{served_app.url}/sante")
    body = json.loads(raw)
    assert status == 200, body
    assert body["statut"] == "ok" and body["base"]["joignable"] is True
    assert body["base"]["injoignable_depuis"] is None
    assert body["donnees"]["extraction"] is not None
    assert body["donnees"]["age_secondes"] > 0
    # the test's demo has no summary (tests/ui/test_summaries_served.py serves one)
    assert body["resumes"] == {"actives": True, "construit": False, "lu": False}


def _samples(url: str) -> dict[str, list]:
    status, raw = http_get(f"{url}/metriques")
    assert status == 200
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(raw.decode()):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


def test_metrics_time_requests_refreshes_and_questions(page, served_app, raw_tables):
    open_page(page, served_app, "?debut=2025-01&fin=2025-12")
    page.locator(".relog-filter-end select").select_option(label="juin 2025")
    june = Filters(start="2025-01", end="2025-06")
    wait_for_rehousings(page, raw_tables, june)
    samples = _samples(served_app.url)

    def count(name: str, **labels) -> float:
        return sum(
            s.value
            for s in samples.get(name, [])
            if all(s.labels.get(k) == v for k, v in labels.items())
        )

    assert count("relog_http_secondes_count", route="page", code="2xx") >= 1
    assert count("relog_http_secondes_count", route="statique") >= 1
    assert count("relog_rafraichissement_secondes_count", page="RehousingPage") >= 1
    questions = {s.labels["question"] for s in samples["relog_question_secondes_count"]}
    assert "monthly_rehousing" in questions
    assert count("relog_sessions") >= 1
    assert count("relog_base_joignable") == 1
    # the address's codes and filters never become labels
    assert "2025-06" not in json.dumps([s.labels for v in samples.values() for s in v])


def test_a_flood_of_page_requests_builds_few_sessions_and_a_browser_still_gets_its_page(
    browser, demo_path, raw_tables, tmp_path
):
    """40 page requests that never connect (link previews, scanners) at once: their HTML is
    answered, their sessions are not all built ahead; a browser opening the page afterwards
    gets its session built when it connects."""
    app = ServedApp(demo_path, log_dir=tmp_path)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    try:
        assert http_get(f"{app.url}/app")[0] == 200  # the route's first session
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: http_get(f"{app.url}/app")[0], range(40)))
        assert statuses == [200] * 40
        samples = _samples(app.url)
        deferred = sum(s.value for s in samples["relog_sessions_differees_total"])
        assert deferred >= 20, deferred
        page = context.new_page()
        open_page(page, app, "?debut=2025-01&fin=2025-12")
        wait_for_rehousings(page, raw_tables, Filters(start="2025-01", end="2025-12"))
    finally:
        context.close()
        app.stop()


def test_a_user_going_from_page_to_page_gets_each_session_built_ahead(
    browser, demo_path, raw_tables, tmp_path
):
    """Pages a browser opened and then left wait for no browser: they do not count among the
    sessions built ahead and still unopened, so a user moving from page to page never has
    the next page's session built only once its websocket opens (the flood's protection)."""
    app = ServedApp(demo_path, log_dir=tmp_path)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    try:
        assert http_get(f"{app.url}/app")[0] == 200  # the route's first session
        for _ in range(4):
            page = context.new_page()
            open_page(page, app, "?debut=2025-01&fin=2025-12")
            wait_for_rehousings(page, raw_tables, Filters(start="2025-01", end="2025-12"))
            page.close()
        samples = _samples(app.url)
        assert sum(s.value for s in samples["relog_sessions_differees_total"]) == 0
        assert sum(s.value for s in samples["relog_sessions_construites_total"]) >= 5
    finally:
        context.close()
        app.stop()
