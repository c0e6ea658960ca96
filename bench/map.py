"""How the map page feels: indicator change on the server, first render of a large layer.

* **Indicator change** (target ≤ 200 ms median, Haute-Garonne): the page is built in a Bokeh
  document in this process, exactly as a session builds it, on the real commune layer
  (``../shared/geodata``); each measure is one change of the demand indicator, the supply
  indicator or the typology until the maps' sources, legends and URL hold the new values.
* **First render of the Occitanie commune layer** (4 446 communes, target ≤ 2 s): the map
  page served on that layer (``bench/occitanie_map.py``; the demo replica covers Haute-Garonne,
  so the other départements' communes are drawn « hors sélection »), opened in a fresh
  Chromium context until both maps are painted and the legends shown, timed by the page's own
  clock (navigation start to the first check, every 20 ms, that finds it so); the time the
  harness saw it, waiting on every animation frame, is printed beside it (informative).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from pathlib import Path

from bench.dashboard import Measure, _p95
from tests.paths import SHARED_GEODATA

TARGETS = {"indicator_ms": 200, "first_render_s": 2.0}
SHARED = SHARED_GEODATA
COMMUNES_31 = SHARED / "derived/communes-31-cog2026-simplifie.geojson"
COMMUNES_OCCITANIE = SHARED / "derived/communes-occitanie-cog2026-simplifie.geojson"
OCCITANIE_APP = Path(__file__).with_name("occitanie_map.py")


def indicator_change(demo_path: Path, repeat: int = 40) -> Measure:
    import panel as pn
    from bokeh.document import Document

    from dashboards.pages.demand_supply import DemandSupplyPage
    from dashboards.state.demand_supply import DEMAND, SUPPLY, DemandSupplyState
    from data_access import Replica
    from geodata.layers import map_layers

    replica = Replica(url=f"duckdb:///{demo_path}")
    settings = replace(replica.settings, contours_communes=COMMUNES_31)
    layers = map_layers(
        settings, replica.reference("commune"), replica.reference("epci"), replica.reference("qpv")
    )
    page = DemandSupplyPage(DemandSupplyState(replica), layers)
    doc = Document()
    doc.add_root(pn.Column(page.sidebar(), page).get_root(doc))
    changes = []
    demand, supply, typologies = list(DEMAND), list(SUPPLY), ["T1-T2", "T3", "T4", "T5+"]
    for i in range(repeat):
        changes.append(
            {"demand": demand[(i + 1) % len(demand)]}
            if i % 3 == 0
            else {"supply": supply[(i + 1) % len(supply)]}
            if i % 3 == 1
            else {"demand": "desequilibre", "typologie": typologies[i % 4]}
        )
    times = []
    for change in changes:
        t0 = time.perf_counter()
        page.state.param.update(**change)
        times.append((time.perf_counter() - t0) * 1000)
    replica.dispose()
    median = statistics.median(times)
    return Measure(
        "carte : changement d'indicateur (Haute-Garonne, 586 communes)",
        median,
        _p95(times),
        "ms",
        f"≤ {TARGETS['indicator_ms']} ms",
        median <= TARGETS["indicator_ms"],
    )


#: Both maps laid out and painted (JavaScript, run in the page).
PAINTED = """() => window.Bokeh && Bokeh.documents.some(d => ['relog-map-demande',
  'relog-map-offre'].every(n => {
    const f = d.get_model_by_name(n); const v = f && Bokeh.index.find_one(f)
    return v != null && v.frame.bbox.width > 100 && v.has_finished() }))"""
#: The same and the supply legend, checked in the page (``deep`` looks through shadow roots).
RENDERED = f"deep => ({PAINTED})() && Boolean(deep('.relog-legend-offre-body'))"


def map_ready(page) -> None:
    """The harness's wait for the map page (:data:`RENDERED`)."""
    from bench.served_app import wait_rendered

    wait_rendered(page, RENDERED)


def occitanie_first_render(demo_path: Path, renders: int = 10) -> list[Measure]:
    from playwright.sync_api import sync_playwright

    from bench.served_app import ServedApp, launch_chromium, timed_open

    def open_page(browser, url):
        return timed_open(browser, url, map_ready, condition=RENDERED)

    env = {"RELOG_BENCH_COMMUNES": str(COMMUNES_OCCITANIE)}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        with ServedApp(demo_path, env=env, files=[OCCITANIE_APP]) as app:
            url = f"{app.url}/occitanie_map"
            warm, _, _ = open_page(browser, url)  # the layer is loaded once per process
            times, seen = [], []
            for _ in range(renders):
                context, seconds, harness = open_page(browser, url)
                times.append(seconds)
                seen.append(harness)
                context.close()
            warm.close()
        browser.close()
    median = statistics.median(times)
    return [
        Measure(
            "carte : premier affichage, communes d'Occitanie (4 446)",
            median,
            _p95(times),
            "s",
            f"≤ {TARGETS['first_render_s']:g} s",
            median <= TARGETS["first_render_s"],
        ),
        Measure(
            "carte : le même, vu par le pilote Playwright (informatif)",
            statistics.median(seen),
            _p95(seen),
            "s",
            "—",
            None,
        ),
    ]


def main(demo_path: Path) -> list[Measure]:
    if not COMMUNES_OCCITANIE.exists() or not COMMUNES_31.exists():
        print(
            f"Carte : mesures sautées, contours de référence absents ({SHARED}, "
            "../shared/geodata).",
            flush=True,
        )
        return []
    print("Carte : changement d'indicateur côté serveur…", flush=True)
    measures = [indicator_change(demo_path)]
    print("Carte : premier affichage de la couche Occitanie dans Chromium…", flush=True)
    measures.extend(occitanie_first_render(demo_path))
    return measures
