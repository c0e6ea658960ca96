"""The served app on the PostgreSQL hot standby while the standby stops answering: the
event loop stays free (other requests are served), the page says so in French, and its
figures come back by themselves once the standby answers again."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest
from playwright.sync_api import expect

from bench.served_app import ServedApp
from data_access import Filters
from tests.ui.conftest import http_get
from tests.ui.test_monitoring import _samples
from tests.ui.test_rehousing_page import choose, open_page, wait_for_rehousings

pytestmark = [
    pytest.mark.ui,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.xdist_group("postgres"),
]

SICOVAL = "243100633"


def _get(url: str) -> None:
    try:
        urllib.request.urlopen(url, timeout=60).read()
    except OSError:
        pass


def _served_on_the_standby(pg_cluster, demo_path, tmp_path) -> ServedApp:
    """relog serve on the suite's standby, with a deadline long enough for a test to check
    what answers while the reads hang."""
    return ServedApp(
        demo_path,
        log_dir=tmp_path,
        database_url=pg_cluster.readonly_url,
        env={
            "RELOG_STATEMENT_TIMEOUT_S": "3",
            "RELOG_DEADLINE_S": "30",
            "RELOG_UNREACHABLE_RETRY_S": "1",
            "RELOG_VERSION_TTL_S": "1",
        },
    )


def test_a_hung_standby_shows_a_banner_and_the_figures_come_back_by_themselves(
    pg_cluster, browser, demo_path, raw_tables, tmp_path
):
    app = _served_on_the_standby(pg_cluster, demo_path, tmp_path)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    try:
        page = context.new_page()
        open_page(page, app, "?debut=2025-01&fin=2025-12")
        banner = page.locator(".relog-bandeau-base")
        expect(banner).to_be_hidden()
        with pg_cluster.standby_hung():
            # a page never opened: its session is built at the request, and waits
            opening = threading.Thread(target=_get, args=(f"{app.url}/objectifs",), daemon=True)
            opening.start()
            choose(page, "epci", "Sicoval")  # never asked: the page waits for the standby
            # meanwhile the event loop serves everyone else. An order, not a time: when
            # /liveness and /metriques answer, no hung read has failed yet (a read's failure
            # is counted when its deadline cuts it, before a loop it blocked could answer)
            with urllib.request.urlopen(f"{app.url}/liveness", timeout=120) as answer:
                assert answer.status == 200
            assert _samples(app.url)["relog_base_echecs_total"][0].value == 0
            assert opening.is_alive()  # still building: the liveness did not wait for it
            expect(banner).to_contain_text("ne répond pas depuis", timeout=90_000)
            text = banner.inner_text()
            assert "127.0.0.1" not in text and str(pg_cluster.standby_port) not in text
            # the health endpoint tells the reverse proxy and the monitoring, without waiting
            status, raw = http_get(f"{app.url}/sante")
            assert status == 503
            body = json.loads(raw)
            assert body["statut"] == "base injoignable" and body["base"]["injoignable_depuis"]
            said = raw.decode()
            assert "127.0.0.1" not in said and str(pg_cluster.standby_port) not in said
        # the standby answers again: no reload, no filter change
        expect(banner).to_be_hidden(timeout=30_000)
        assert http_get(f"{app.url}/sante")[0] == 200
        wait_for_rehousings(
            page, raw_tables, Filters(start="2025-01", end="2025-12", epci=(SICOVAL,))
        )
    finally:
        context.close()
        app.stop()


def test_a_standby_whose_replay_lags_says_how_late_its_figures_are(
    pg_cluster, browser, demo_path, tmp_path
):
    """The standby receives the primary's changes but does not replay them (replay paused,
    as a long recovery conflict or an overloaded standby would): past RELOG_MAX_LAG_S the
    pages say how late their figures are; once replayed, the banner goes by itself."""
    app = ServedApp(
        demo_path,
        log_dir=tmp_path,
        database_url=pg_cluster.readonly_url,
        env={"RELOG_MAX_LAG_S": "1", "RELOG_VERSION_TTL_S": "1"},
    )
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    standby = pg_cluster.connect(standby=True)
    try:
        page = context.new_page()
        open_page(page, app, "?debut=2025-01&fin=2025-12")
        banner = page.locator(".relog-bandeau-base")
        expect(banner).to_be_hidden()
        standby.execute("SELECT pg_wal_replay_pause()")
        with pg_cluster.connect() as primary:  # changes the standby receives, not replayed
            primary.execute("CREATE TABLE relog_retard AS SELECT 1 AS n")
        expect(banner).to_contain_text("Données en retard de", timeout=30_000)
        status, raw = http_get(f"{app.url}/sante")
        assert status == 200 and json.loads(raw)["donnees"]["retard_rejeu_secondes"] > 1
        standby.execute("SELECT pg_wal_replay_resume()")
        expect(banner).to_be_hidden(timeout=30_000)
    finally:
        standby.execute("SELECT pg_wal_replay_resume()")
        standby.close()
        with pg_cluster.connect() as primary:
            primary.execute("DROP TABLE IF EXISTS relog_retard")
        context.close()
        app.stop()


def test_a_map_change_waits_for_a_hung_standby_off_the_event_loop(
    pg_cluster, browser, demo_path, raw_tables, tmp_path
):
    """The map page's figures are asked off the event loop too: while a filter change waits
    for the hung standby, /liveness answers before any read has failed; once the standby
    answers again, the map shows the new selection's totals without a reload."""
    from tests import oracle
    from tests.ui.test_map_page import OBSERVED, open_map

    app = _served_on_the_standby(pg_cluster, demo_path, tmp_path)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    try:
        page = context.new_page()
        open_map(page, app)
        with pg_cluster.standby_hung():
            choose(page, "epci", "Sicoval")  # never asked: the map waits for the standby
            with urllib.request.urlopen(f"{app.url}/liveness", timeout=120) as answer:
                assert answer.status == 200
            assert _samples(app.url)["relog_base_echecs_total"][0].value == 0
        figures = oracle.demand_supply(
            raw_tables, Filters(end="2026-10", epci=(SICOVAL,)), "commune", OBSERVED
        )
        total = f"{int(figures['demandes_actives'].sum()):,}".replace(",", "\u202f")
        expect(page.locator(".relog-totals")).to_contain_text(
            f"{total} demandes actives", timeout=90_000
        )
    finally:
        context.close()
        app.stop()
