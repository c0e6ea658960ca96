"""How the plan follow-up page (/objectifs) feels, and how well its forecasts hold.

* **Filter change** (target ≤ 300 ms median), on DuckDB and on the PostgreSQL hot standby:
  the page is built in a Bokeh document in this process, as a session builds it; each measure
  is one change of the state (another EPCI, or another year) until every view holds its new
  figures (key figures, tables, charts). A first pass asks combinations never asked (the
  result cache misses), a second pass the same ones again (cache hits).
* **First render** (target ≤ 2 s): a fresh Chromium context opens the served page until the
  key figures, the curve and the réservataire table are there, on the page's own clock.
* **PDF** (target ≤ 5 s): the « Fiche de suivi du plan » of a view not asked yet (its
  questions computed, then drawn), and of a view already on screen (drawn only).
* **Forecast back-test**: the 80 % interval replayed at the end of each month of the demo's
  complete years, per kind of objective: how often the year's actual figure fell inside.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench.dashboard import Measure, _p95, report

TARGETS = {"filter_ms": 300, "first_render_s": 2.0, "pdf_s": 5.0}

#: The plan page is rendered: key figures, a drawn curve and the réservataire table's rows.
RENDERED = """deep => {
    const curve = deep('.relog-plan-curve'), table = deep('.relog-plan-reservataires')
    const canvas = curve && deep('canvas', curve)
    return Boolean(deep('[data-valeur="accord"]') && canvas &&
      canvas.getBoundingClientRect().width > 0 && table && deep('tbody tr', table))
}"""


def plan_ready(page) -> None:
    from bench.served_app import wait_rendered

    wait_rendered(page, RENDERED)


def filter_change(url: str, backend: str, repeat: int = 16) -> list[Measure]:
    import panel as pn
    from bokeh.document import Document

    from dashboards.pages.plan import PlanPage
    from dashboards.state.plan import PlanState
    from data_access import Replica

    replica = Replica(url=url)
    state = PlanState(replica)
    page = PlanPage(state)
    doc = Document()
    doc.add_root(pn.Column(page.sidebar(), page).get_root(doc))
    epci = list(state.param.epci.objects.values())
    years = list(state.param.year.objects)[:3]
    changes = [
        {"epci": [epci[i % len(epci)]], "year": years[(i // len(epci)) % len(years)]}
        for i in range(repeat)
    ]
    out = []
    for label in ("requêtes non en cache", "résultats en cache"):
        times = []
        for change in changes:
            t0 = time.perf_counter()
            state.param.update(**change)
            times.append((time.perf_counter() - t0) * 1000)
        median = statistics.median(times)
        out.append(
            Measure(
                f"changement de filtre ({label}), {backend}",
                median,
                _p95(times),
                "ms",
                f"≤ {TARGETS['filter_ms']} ms",
                median <= TARGETS["filter_ms"],
            )
        )
    replica.dispose()
    return out


def pdf_time(url: str, repeat: int = 5) -> list[Measure]:
    from data_access import Filters, Replica
    from data_access.plan import PlanReport

    replica = Replica(url=url)
    epci = list(replica.reference("epci").index)
    cold, warm = [], []
    for i in range(repeat):
        filters = Filters(epci=(epci[(3 * i) % len(epci)],))
        t0 = time.perf_counter()
        PlanReport(replica, None, filters).pdf()  # a view never asked: questions, then drawing
        cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        PlanReport(replica, None, filters).pdf()  # the same view, its answers cached
        warm.append(time.perf_counter() - t0)
    replica.dispose()
    return [
        Measure(
            f"fiche PDF, {what}",
            statistics.median(times),
            _p95(times),
            "s",
            f"≤ {TARGETS['pdf_s']:g} s",
            statistics.median(times) <= TARGETS["pdf_s"],
        )
        for what, times in (("vue jamais demandée", cold), ("vue déjà affichée", warm))
    ]


def first_render(demo_path: Path, renders: int = 8) -> list[Measure]:
    from playwright.sync_api import sync_playwright

    from bench.served_app import ServedApp, launch_chromium, timed_open

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        with ServedApp(demo_path) as app:
            url = f"{app.url}/objectifs"
            warm = timed_open(browser, url, plan_ready, condition=RENDERED)[0]
            times = []
            for _ in range(renders):
                context, seconds, _ = timed_open(browser, url, plan_ready, condition=RENDERED)
                times.append(seconds)
                context.close()
            warm.close()
        browser.close()
    median = statistics.median(times)
    return [
        Measure(
            "premier affichage dans Chromium",
            median,
            _p95(times),
            "s",
            f"≤ {TARGETS['first_render_s']:g} s",
            median <= TARGETS["first_render_s"],
        )
    ]


#: The back-test's objectives: (label, question breakdown, member key, numerator, denominator).
BACKTESTS = [
    ("part prioritaire par réservataire", "reservataire", "reservataire",
     "relogements_prioritaires", "relogements"),
    ("accord collectif par EPCI", "epci", "epci", "relogements_prioritaires", None),
    ("accord collectif par bailleur", "bailleur", "bailleur", "relogements_prioritaires", None),
    ("accord collectif par bailleur × EPCI", "bailleur_epci", "cle",
     "relogements_prioritaires", None),
    ("1er quartile hors QPV par EPCI", "quartile", "epci", "q1_hors_qpv",
     "attributions_hors_qpv"),
    ("hors 1er quartile en QPV par EPCI", "quartile", "epci", "hors_q1_qpv", "attributions_qpv"),
]  # fmt: skip


def backtest(demo_path: Path, minimum: int = 20) -> list[Measure]:
    """How often the year's actual figure fell in the 80 % interval, forecast at the end of
    each month from January to November of every complete year after the data's first
    (members with at least ``minimum`` events in the year)."""
    import pandas as pd

    from data_access import Replica
    from data_access.forecast import backtest as replay

    replica = Replica(url=f"duckdb:///{demo_path}")
    coverage = replica.coverage()
    last = coverage.end.year - (0 if coverage.end.month == 12 else 1)
    years = list(range(coverage.start.year + 1, last + 1))
    out = []
    for label, by, key, num, den in BACKTESTS:
        monthly = pd.concat([replica.objective_months(by, year=y) for y in years])
        monthly = monthly.drop_duplicates()
        if by == "bailleur_epci":
            monthly = monthly.assign(cle=monthly["bailleur"].astype(str) + "|" + monthly["epci"])
        cases = replay(monthly, key, years, num, den, minimum=minimum)
        held = float(cases["dans_intervalle"].mean() * 100)
        early = cases[cases["mois"].dt.month <= 6]["dans_intervalle"].mean() * 100
        out.append(
            Measure(
                f"prévision : intervalle à 80 % tenu, {label} ({len(cases)} cas, "
                f"{years[0]}–{years[-1]} ; janvier–juin : {early:.0f} %)",
                held,
                held,
                "%",
                "80 % attendu",
                None,
            )
        )
    replica.dispose()
    return out


def main(demo_path: Path, postgres: bool = True) -> str:
    print("Page du plan : changement de filtre (DuckDB)…", flush=True)
    measures = filter_change(f"duckdb:///{demo_path}", "DuckDB")
    if postgres:
        from data_access.demo import load_postgres
        from tests.postgres_cluster import PostgresCluster

        print("Page du plan : changement de filtre (PostgreSQL, secours)…", flush=True)
        with PostgresCluster() as cluster:
            load_postgres(demo_path, cluster.primary_url)
            cluster.wait_for_replay(timeout=900)
            url = cluster.create_readonly_role(statement_timeout="60s")
            cluster.wait_for_replay(timeout=600)
            measures += filter_change(url, "PostgreSQL")
            measures += [
                Measure(m.what + ", PostgreSQL", m.median, m.p95, m.unit, m.target, m.ok)
                for m in pdf_time(url)
            ]
    print("Page du plan : fiche PDF, premier affichage, rétro-prévision…", flush=True)
    measures += pdf_time(f"duckdb:///{demo_path}")
    measures += first_render(demo_path)
    measures += backtest(demo_path)
    return report(measures, "page du suivi du plan (département)")


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data/demo-departement.duckdb")))
