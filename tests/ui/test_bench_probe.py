"""The benchmark's first-render clock, checked on the served pages: its JavaScript conditions
hold only once Playwright's locators see the rendered page. No duration is asserted (the
suite runs on busy machines): only that the clock stopped, once, on a rendered page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bench import dashboard
from bench import map as map_bench
from bench import meeting as meeting_bench
from bench import plan as plan_bench
from bench.served_app import PROBE, timed_open

RENDERED_BY_LOCATORS = {
    "relogements": [
        '[data-valeur="relogements"]',
        ".relog-chart canvas:visible",
        ".relog-table-reservataire .tabulator-row",
    ],
    "plan": [
        '.relog-plan-kpis [data-valeur="accord"]',
        ".relog-plan-curve canvas:visible",
        ".relog-plan-reservataires tbody tr",
    ],
    "reunion": ['.relog-vue-chiffres [data-valeur="mois"]'],
    "carte": [
        ".relog-legend-offre-body",
        ".relog-map-demande canvas:visible",
        ".relog-map-offre canvas:visible",
    ],
}


@pytest.mark.parametrize(
    "name, route, ready, condition",
    [
        ("relogements", "", dashboard.page_ready, dashboard.RENDERED),
        ("carte", "/carte", map_bench.map_ready, map_bench.RENDERED),
        ("plan", "/objectifs", plan_bench.plan_ready, plan_bench.RENDERED),
        ("reunion", "/reunion", meeting_bench.meeting_ready, meeting_bench.RENDERED),
    ],
    ids=["relogements", "carte", "plan", "reunion"],
)
def test_first_render_is_read_on_the_page_clock_once_the_page_is_rendered(
    browser, served_app, name, route, ready, condition
):
    context, rendered, harness = timed_open(browser, served_app.url + route, ready, condition)
    try:
        page = context.pages[0]
        for selector in RENDERED_BY_LOCATORS[name]:
            expect(page.locator(selector).first).to_be_visible(timeout=1)
    finally:
        context.close()
    assert rendered > 0 and harness > 0  # both clocks stopped (their values are the bench's)


def test_the_probe_keeps_no_time_while_its_condition_does_not_hold(browser, served_app):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(
            PROBE.replace("__CONDITION__", "deep => Boolean(deep('.relog-no-such-thing'))")
        )
        page.goto(served_app.url)
        dashboard.page_ready(page)
        page.wait_for_timeout(200)
        assert page.evaluate("() => window.__relogReadyAt") is None
    finally:
        context.close()
