"""A served app reading a summary (issue 19): the pages show the live figures, /sante says
the summary is read and how old it is, and a summary built later is taken up by the running
server without a restart."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bench.served_app import ServedApp
from data_access import Filters
from data_access.summaries import build_summary
from tests.conftest import _settings
from tests.ui.conftest import MAP_FILES, PageWatch, http_get
from tests.ui.test_rehousing_page import open_page, wait_for_rehousings

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.xdist_group("ui")]


@pytest.fixture(scope="module")
def summary_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("resumes-servis")


@pytest.fixture(scope="module")
def app_with_summaries(demo_path, summary_dir):
    env = {**{k: str(v) for k, v in MAP_FILES.items()}, "RELOG_SUMMARY_DIR": str(summary_dir)}
    app = ServedApp(demo_path, env=env)
    yield app
    app.stop()


@pytest.fixture
def app_page(browser, app_with_summaries):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = PageWatch(page, app_with_summaries.url)
    yield page
    context.close()
    assert watch.errors == [] and watch.foreign == [], (watch.errors, watch.foreign)


def _summaries(app) -> dict:
    status, raw = http_get(f"{app.url}/sante")
    assert status == 200
    return json.loads(raw)["resumes"]


def test_a_summary_built_while_serving_is_read_and_the_figures_stay(
    app_with_summaries, summary_dir, demo_path, app_page, raw_tables
):
    app, page = app_with_summaries, app_page
    assert _summaries(app) == {"actives": True, "construit": False, "lu": False}
    open_page(page, app, "?debut=2025-01&fin=2025-12")
    wait_for_rehousings(page, raw_tables, Filters(start="2025-01", end="2025-12"))

    built = build_summary(
        f"duckdb:///{demo_path}", replace(_settings(demo_path=demo_path), summary_dir=summary_dir)
    )
    state = _summaries(app)
    assert state["construit"] and state["lu"], state  # taken up without a restart
    assert state["donnees_au"] == built.freshness().as_of.isoformat()
    # a view never asked before, now answered from the summary: the oracle's figures
    page.goto(f"{app.url}/app?debut=2024-03&fin=2024-08")
    wait_for_rehousings(page, raw_tables, Filters(start="2024-03", end="2024-08"))
