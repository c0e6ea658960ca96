"""How the rehousing page feels: filter change on the server, first render in Chromium,
memory per open session.

* **Filter change** (target ≤ 150 ms median, department scale): the page is built in a
  Bokeh document in this process, exactly as a session builds it; each measure is one
  ``param.update`` of the state (a new EPCI and period, never asked before, so the result
  cache misses) until every view's models hold their new data: key figures, chart, the
  active breakdown table, the pipeline, the URL. A second pass repeats the same changes
  (cache hits: what the next user asking the same thing gets).
* **First render** (target ≤ 2 s): a fresh Chromium context opens the served page until the
  key figures, the chart and the first table rows are visible, timed by the page's own clock
  (navigation start to the first check, every 20 ms, that finds them); the time the harness
  saw it, waiting on every animation frame, is printed beside it (informative).
* **Memory per session** (target ≤ 30 MB): the server's resident memory with 20 sessions
  open beside a warm one, minus its memory with the warm one only, divided by 20 (measured
  first, before any closed session leaves memory to reuse).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

#: First render ≤ 1.5 s: issue 20 (the earlier 2 s was the dashboard issue's).
TARGETS = {"filter_ms": 150, "first_render_s": 1.5, "session_mb": 30}


@dataclass
class Measure:
    what: str
    median: float
    p95: float
    unit: str
    target: str
    ok: bool | None


def _p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def filter_change(
    demo_path: Path, repeat: int = 40, signed_in: bool = False, protected: bool = False
) -> list[Measure]:
    """``signed_in``: as a signed-in user's session runs it (issue 16): the state on the
    session's scoped replica (a DDETS profile: the same figures), each change written to the
    audit log as dashboards.layout does; other periods than the plain run's, so that its
    first pass misses the cache as much. ``protected``: a signed-in partner's session with
    statistical secrecy, on the whole department (the largest family to protect): its
    changes are what such a profile may ask, one EPCI and a calendar year."""
    import tempfile

    import panel as pn
    from bokeh.document import Document

    from dashboards.access import audit
    from dashboards.pages.rehousing import RehousingPage
    from dashboards.state.filters import FILTER_PARAMS
    from dashboards.state.rehousing import RehousingState
    from data_access import Replica, Scope

    replica = Replica(url=f"duckdb:///{demo_path}")
    signed_in = signed_in or protected
    state = RehousingState(replica.scoped(Scope()) if signed_in else replica, protected=protected)
    if signed_in:
        log = Path(tempfile.mkdtemp()) / "audit.jsonl"

        def record(*_):
            audit(log, "filtres", utilisateur="agent@ddets", profil="ddets", chemin="/app",
                  filtres=state.to_query())  # fmt: skip

        state.param.watch(record, FILTER_PARAMS)
    page = RehousingPage(state)
    doc = Document()
    root = pn.Column(page.sidebar(), page).get_root(doc)
    doc.add_root(root)
    epci = list(state.param.epci.objects.values())
    months = sorted(state.param.start.objects.values())[-48:]
    # the signed-in run asks 11-month periods (the plain one 12): none of its changes is in
    # the cache the plain run filled
    length = 10 if signed_in else 11
    if protected:
        last = state.coverage.end.year
        years = [state.year_bounds(y) for y in range(last - 3, last + 1)]
        changes = [
            {"epci": [epci[i % len(epci)]], "start": years[i % 4][0], "end": years[i % 4][1]}
            for i in range(repeat)
        ]
    else:
        changes = [
            {
                "epci": [epci[i % len(epci)]],
                "start": months[(7 * i) % 36],
                "end": months[(7 * i) % 36 + length],
            }
            for i in range(repeat)
        ]
    out = []
    suffix = ", connecté (profil, journal d'audit)" if signed_in else ""
    if protected:
        suffix = ", profil protégé (secret statistique, journal d'audit)"
    for label in (
        f"changement de filtre (requêtes non en cache){suffix}",
        f"changement de filtre (résultats en cache){suffix}",
    ):
        times = []
        for change in changes:
            t0 = time.perf_counter()
            state.param.update(**change)
            times.append((time.perf_counter() - t0) * 1000)
        median = statistics.median(times)
        out.append(
            Measure(
                label,
                median,
                _p95(times),
                "ms",
                f"≤ {TARGETS['filter_ms']} ms",
                median <= TARGETS["filter_ms"],
            )
        )
        # the first pass filled the cache: the second measures what a cached view costs
    replica.dispose()
    return out


def publication_time(demo_path: Path) -> list[Measure]:
    """What statistical secrecy costs once per data version, profile and year: protecting
    a whole year of the department (the largest family; then cached)."""
    from data_access import Replica

    replica = Replica(url=f"duckdb:///{demo_path}", cache=False)
    end = replica.coverage().end.year
    times = []
    for year in (end - 3, end - 2, end - 1):
        t0 = time.perf_counter()
        replica.rehousing_publication(year)
        times.append(time.perf_counter() - t0)
    replica.dispose()
    return [
        Measure(
            "secret statistique : protection d'une année du département (une fois par version)",
            statistics.median(times),
            max(times),
            "s",
            "—",
            None,
        )
    ]


#: The rehousing page is rendered: key figures, a drawn chart and the first rows of the
#: réservataire table (JavaScript; ``deep`` looks through shadow roots).
RENDERED = """deep => {
    const chart = deep('.relog-chart'), table = deep('.relog-table-reservataire')
    const canvas = chart && deep('canvas', chart)
    return Boolean(deep('[data-valeur="relogements"]') && canvas &&
      canvas.getBoundingClientRect().width > 0
                   && table && deep('.tabulator-row', table))
}"""


def page_ready(page) -> None:
    """The harness's wait for the rehousing page (:data:`RENDERED`)."""
    from bench.served_app import wait_rendered

    wait_rendered(page, RENDERED)


def browser_measures(demo_path: Path, renders: int = 10, sessions: int = 20) -> list[Measure]:
    import psutil
    from playwright.sync_api import sync_playwright

    from bench.served_app import ServedApp, launch_chromium, timed_open

    def open_page(browser, url):
        return timed_open(browser, url, page_ready, condition=RENDERED)

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        # first render: a server with one warm session (imports done, caches filled)
        with ServedApp(demo_path) as app:
            warm, _, _ = open_page(browser, app.url)
            times, seen = [], []
            for _ in range(renders):
                context, seconds, harness = open_page(browser, app.url)
                times.append(seconds)
                seen.append(harness)
                context.close()
            warm.close()
        # memory: another server, so that no closing session frees memory meanwhile
        with ServedApp(demo_path) as app:
            server = psutil.Process(app.pid)
            warm = open_page(browser, app.url)[0]
            time.sleep(1)
            before = server.memory_info().rss
            contexts = [open_page(browser, app.url)[0] for _ in range(sessions)]
            time.sleep(2)
            per_session = (server.memory_info().rss - before) / sessions / 2**20
            for context in [warm, *contexts]:
                context.close()
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
        ),
        Measure(
            "premier affichage, vu par le pilote Playwright (informatif)",
            statistics.median(seen),
            _p95(seen),
            "s",
            "—",
            None,
        ),
        Measure(
            f"mémoire par session ({sessions} sessions ouvertes)",
            per_session,
            per_session,
            "Mo",
            f"≤ {TARGETS['session_mb']} Mo",
            per_session <= TARGETS["session_mb"],
        ),
    ]


def report(measures: list[Measure], title: str = "page des relogements (département)") -> str:
    lines = [f"| {title} | médiane | p95 | cible |", "|---|---:|---:|---|"]
    for m in measures:
        fmt = "{:.0f}" if m.unit in ("ms",) else "{:.2f}" if m.unit in ("s", "×") else "{:.1f}"
        verdict = "" if m.ok is None else (" ✔" if m.ok else " ✘")
        lines.append(
            f"| {m.what} | {fmt.format(m.median)} {m.unit} | {fmt.format(m.p95)} {m.unit} | "
            f"{m.target}{verdict} |"
        )
    return "\n".join(lines)


def main(demo_path: Path, repeat: int = 40) -> str:
    print("Page des relogements : changement de filtre côté serveur…", flush=True)
    measures = filter_change(demo_path, repeat)
    measures += filter_change(demo_path, repeat, signed_in=True)
    measures += filter_change(demo_path, repeat, protected=True)
    measures += publication_time(demo_path)
    print("Page des relogements : premier affichage et mémoire par session (Chromium)…", flush=True)
    measures += browser_measures(demo_path)
    return report(measures)


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data/demo-departement.duckdb")))
