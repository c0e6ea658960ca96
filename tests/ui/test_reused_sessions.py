"""``relog serve`` answers a page request at once with the HTML of the route's first
session, a real user's, while it builds the request's own (``--reuse-sessions warm``).
Bokeh's HTML holds the roots' places and the session token only (the document comes over
the websocket): no one's filters nor figures. A guard, should that ever change."""

from __future__ import annotations

import urllib.request

import pytest
from playwright.sync_api import expect

from bench.served_app import ServedApp
from data_access import Filters
from tests.ui.test_rehousing_page import open_page, wait_for_rehousings

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.xdist_group("ui")]

SICOVAL = "243100633"


def test_the_html_answered_at_once_holds_no_users_view(browser, demo_path, raw_tables, tmp_path):
    app = ServedApp(demo_path, log_dir=tmp_path)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    try:
        first = context.new_page()  # the route's first request
        open_page(first, app, f"?debut=2025-01&fin=2025-12&epci={SICOVAL}")
        wait_for_rehousings(
            first, raw_tables, Filters(start="2025-01", end="2025-12", epci=(SICOVAL,))
        )
        with urllib.request.urlopen(f"{app.url}/app", timeout=60) as answer:
            html = answer.read().decode()
        assert "relog-kpi" not in html and "data-valeur" not in html  # no figure
        assert SICOVAL not in html and "Sicoval" not in html  # nor the first user's filter
        # and a second user still gets the whole page, their own
        second = context.new_page()
        open_page(second, app, "?debut=2025-01&fin=2025-06")
        wait_for_rehousings(second, raw_tables, Filters(start="2025-01", end="2025-06"))
        chosen = second.locator(".relog-filter-epci .choices__list--multiple .choices__item")
        expect(chosen).to_have_count(0)
    finally:
        context.close()
        app.stop()
