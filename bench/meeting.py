"""How the meeting page (/reunion) feels on the wall.

* **First render** (target ≤ 2 s): a fresh Chromium context opens the page until the key
  figures are there, on the page's own clock.
* **View change** (target ≤ 100 ms, from the cache): in the browser, from the presenter's
  key (→) to the next view on screen (the map view: its maps drawn), on the page's clock;
  and the server's part alone.
* **Memory** with 20 meeting screens open: the server's resident memory per session.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench.dashboard import Measure, _p95, report

TARGETS = {"first_render_s": 2.0, "view_ms": 100, "session_mb": 30}

RENDERED = """deep => Boolean(deep('.relog-vue-chiffres [data-valeur="mois"]'))"""

#: From a → key to the next view's section on screen (page clock, every animation frame).
KEY_TO_VIEW = """async (next) => {
  const deep = %s
  const t0 = performance.now()
  document.dispatchEvent(new KeyboardEvent("keydown", {key: "ArrowRight", bubbles: true}))
  return await new Promise((resolve, reject) => {
    const shown = () => {
      if (!deep('.relog-vue-' + next)) return false
      if (next !== "carte") return true
      const box = deep('.relog-reunion-carte-offre')  // the maps drawn too (in shadow roots)
      const canvas = box && deep('canvas', box)
      return Boolean(canvas && canvas.getBoundingClientRect().height > 100)
    }
    const poll = () => shown() ? resolve(performance.now() - t0)
      : performance.now() - t0 > 30000 ? reject(new Error("vue jamais affichée : " + next))
      : requestAnimationFrame(poll)
    poll()
  })
}"""


def meeting_ready(page) -> None:
    from bench.served_app import wait_rendered

    wait_rendered(page, RENDERED)


def server_view_change(demo_path: Path, repeat: int = 30) -> Measure:
    import panel as pn
    from bokeh.document import Document

    from dashboards.pages.meeting import MeetingPage
    from dashboards.state.meeting import MeetingState
    from data_access import Replica

    replica = Replica(url=f"duckdb:///{demo_path}")
    page = MeetingPage(MeetingState(replica))
    doc = Document()
    doc.add_root(pn.Column(page).get_root(doc))
    times = []
    for i in range(repeat + 3):
        t0 = time.perf_counter()
        page.state.current = (page.state.current + 1) % len(page.state.views)
        if i >= 3:  # the first turn fills the cache
            times.append((time.perf_counter() - t0) * 1000)
    replica.dispose()
    median = statistics.median(times)
    return Measure(
        "changement de vue, côté serveur (depuis le cache)", median, _p95(times), "ms",
        f"≤ {TARGETS['view_ms']} ms", median <= TARGETS["view_ms"],
    )  # fmt: skip


def browser_measures(demo_path: Path, renders: int = 8, sessions: int = 20) -> list[Measure]:
    import psutil
    from playwright.sync_api import sync_playwright

    from bench.served_app import DEEP_JS, ServedApp, launch_chromium, timed_open
    from dashboards.state.meeting import VIEWS

    views = list(VIEWS)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        with ServedApp(demo_path) as app:
            url = f"{app.url}/reunion"
            warm = timed_open(browser, url, meeting_ready, condition=RENDERED)[0]
            renders_s = []
            for _ in range(renders):
                context, seconds, _ = timed_open(browser, url, meeting_ready, condition=RENDERED)
                renders_s.append(seconds)
                context.close()
            page = warm.pages[0]
            changes = []
            for i in range(30):
                changes.append(page.evaluate(KEY_TO_VIEW % DEEP_JS, views[(i + 1) % len(views)]))
                page.wait_for_timeout(50)
            warm.close()
        with ServedApp(demo_path) as app:
            server = psutil.Process(app.pid)
            url = f"{app.url}/reunion"
            warm = timed_open(browser, url, meeting_ready, condition=RENDERED)[0]
            time.sleep(1)
            before = server.memory_info().rss
            contexts = [
                timed_open(browser, url, meeting_ready, condition=RENDERED)[0]
                for _ in range(sessions)
            ]
            time.sleep(2)
            per_session = (server.memory_info().rss - before) / sessions / 2**20
            for context in [warm, *contexts]:
                context.close()
        browser.close()
    return [
        Measure(
            "premier affichage dans Chromium", statistics.median(renders_s), _p95(renders_s),
            "s", f"≤ {TARGETS['first_render_s']:g} s",
            statistics.median(renders_s) <= TARGETS["first_render_s"],
        ),
        Measure(
            "changement de vue dans Chromium (touche → jusqu'à la vue affichée)",
            statistics.median(changes), _p95(changes), "ms", f"≤ {TARGETS['view_ms']} ms",
            statistics.median(changes) <= TARGETS["view_ms"],
        ),
        Measure(
            f"mémoire par écran de réunion ({sessions} ouverts)", per_session, per_session,
            "Mo", f"≤ {TARGETS['session_mb']} Mo", per_session <= TARGETS["session_mb"],
        ),
    ]  # fmt: skip


def main(demo_path: Path) -> str:
    print("Page de réunion : changement de vue, premier affichage, mémoire…", flush=True)
    measures = [server_view_change(demo_path), *browser_measures(demo_path)]
    return report(measures, "page de réunion (département)")


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data/demo-departement.duckdb")))
