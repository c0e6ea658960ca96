"""A filter change as the user sees it, in Chromium: from the pick of an EPCI to the moment
every figure on the page shows that EPCI's values (issue 20).

The servers' own benches (:func:`bench.dashboard.filter_change`, :func:`bench.map.
indicator_change`) time the Python side only. Here each page is served as in production and
opened in Debian's headless Chromium (1400×1000), and each measure is one EPCI picked in the
page's EPCI filter as a user picks it (Playwright types in the Choices.js box and clicks the
option; the floor app's native select gets ``select_option``):

* **start**: the page's own clock (``performance.now()``) in a capture-phase listener of the
  widget's ``change`` event, the input event its Bokeh view turns into a message to the
  server, in the same task as the click;
* **stop**: the first animation frame where every figure of the page holds the new EPCI's
  values, read from the page's own data and compared with the values computed beforehand in
  this process through the product's API (``data_access`` and the state and components
  functions the page draws with), never a fixed wait:

  - the rehousing page (``/app``): the key figures block's text, the monthly chart's
    ``ColumnDataSource`` columns with the chart painted since they changed, the réservataire
    table's rendered rows (label and count), and no loading indicator left;
  - the map page (``/carte``): both maps' colour columns (their shared source) with both
    maps painted since, both legends' and the totals' text, no loading indicator left;
  - the floor (``bench/floor_app.py``, a minimal one-chart Panel app over the same replica):
    the total's text and the bar chart's source, painted.

Measured interleaved (one change on each app in turn), for EPCI never asked in the server
process (« non en cache »: each page has its own server, so that one page's questions never
fill the other's cache) and then for the same ones again (« en cache »). Between two
measures the EPCI is removed and the page waits (same probe, not timed) for the whole
department's figures. The floor has no cache: its two passes are pooled.

Run: ``RELOG_DATA_DIR=data .venv/bin/python -m bench.inbrowser [demo.duckdb] [--repeat N]``.
"""

from __future__ import annotations

import contextlib
import html as html_lib
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bench.dashboard import Measure, _p95

FLOOR_APP = Path(__file__).with_name("floor_app.py")
VIEWPORT = {"width": 1400, "height": 1000}

#: Page-side harness, installed before any script of the page (``add_init_script``):
#:
#: * ``__bench.arm(spec)``: waits for the next ``change`` event of the widget whose model has
#:   css class ``spec.start`` (capture phase on its shadow root: before its view handles it),
#:   keeps its ``performance.now()`` as ``t0``, then checks ``spec.checks`` on every animation
#:   frame and keeps ``t1``, the first frame where all hold (and when each first held);
#: * every websocket frame in both directions is logged (time, direction, size; the text of
#:   the JSON frames with ``spec.keep_text``) for the profile.
HARNESS = r"""
(() => {
  const B = window.__bench = {spec: null, t0: null, t1: null, click: null, first: {}, settled: {},
                              events: [],
                              ws: [], frames: 0, running: false, keep_text: false}
  // ---- websocket log
  const Native = window.WebSocket
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args)
      this.addEventListener("message", (e) => B.log("in", e.data))
    }
    send(data) { B.log("out", data); return super.send(data) }
  }
  B.log = (dir, data) => {
    if (!B.spec) return
    const text = typeof data === "string"
    const size = text ? data.length : (data.byteLength ?? data.size ?? 0)
    // a Bokeh message starts with its header frame: {"msgid": …, "msgtype": …}
    const type = text && size < 400 ? (data.match(/"msgtype"\s*:\s*"([A-Z-]+)"/) || [])[1] : null
    B.ws.push({t: performance.now(), dir, size, type: type ?? null,
               text: text && B.keep_text ? data : null})
  }
  // ---- the page's models and views
  const doc = () => Bokeh.documents[0]
  const withClass = (cls) => {
    for (const m of doc().all_models) if (m.css_classes && m.css_classes.includes(cls)) return m
    return null
  }
  const view = (m) => m && Bokeh.index.find_one(m)
  const norm = (s) => String(s ?? "").replace(/\s+/g, " ").trim()
  const fromHtml = (html, selector) => {
    const t = document.createElement("template"); t.innerHTML = html
    const el = selector ? t.content.querySelector(selector) : null
    return norm((el ?? t.content).textContent)
  }
  const sources = (c) => {
    const out = []
    for (const m of doc().all_models) {
      if (m.type !== "ColumnDataSource") continue
      if (c.name ? m.name === c.name : c.column in m.data) out.push(m)
    }
    return out
  }
  const plotsOf = (source) => {
    const out = []
    for (const m of doc().all_models)
      if (m.x_range !== undefined && Array.isArray(m.renderers) &&  // plots, not tools
          m.renderers.some((r) => r.data_source === source)) out.push(m)
    return out
  }
  const same = (a, b) => a != null && a.length === b.length && b.every((x, i) => a[i] === x)
  const painted = (source) => {
    // every plot drawing ``source`` is laid out and has painted since its data changed
    const plots = plotsOf(source)
    return plots.length > 0 && plots.every((p) => {
      const v = view(p)
      if (!v || !v.has_finished()) return false
      if (v.__benchPaint === undefined) { watchPaint(v); return source.__benchDataAt === undefined }
      return source.__benchDataAt === undefined || v.__benchPaint > source.__benchDataAt
    })
  }
  const watchPaint = (v) => {
    if (v.__benchPaint !== undefined) return
    v.__benchPaint = 0
    const paint = v.paint.bind(v)
    v.paint = (...args) => {
      const t = performance.now(); const r = paint(...args); v.__benchPaint = performance.now()
      if (B.spec) B.events.push([t, "paint " + v.model.type, v.__benchPaint - t])
      return r
    }
  }
  const watchData = (source) => {
    if (source.__benchWatched) return
    source.__benchWatched = true
    source.properties.data.change.connect(() => {
      source.__benchDataAt = performance.now()
      if (B.spec) B.events.push([source.__benchDataAt, "data " + (source.name ?? source.id), 0])
    })
  }
  const CHECKS = {
    html(c) {  // a pane's text, as its expected HTML reads
      const v = view(withClass(c.model)); const el = v && v.shadow_el.querySelector(c.selector)
      return Boolean(el) && norm(el.textContent) === (c.__text ??= fromHtml(c.html, c.selector))
    },
    source(c) {  // a ColumnDataSource's columns, and the plots drawing it painted since
      return sources(c).some((s) => Object.entries(c.columns).every(([k, v]) => same(s.data[k], v))
                                    && painted(s))
    },
    rows(c) {  // a Tabulator's rendered rows: their first cells as expected
      const v = view(withClass(c.model)); if (!v) return false
      const rows = [...v.shadow_el.querySelectorAll(".tabulator-row")]
      if (rows.length === 0 || rows.length > c.rows.length) return false
      return rows.every((row, i) => c.fields.every((f, j) => {
        const cell = row.querySelector(`.tabulator-cell[tabulator-field="${f}"]`)
        const text = cell ? norm(cell.textContent) : null
        return c.digits.includes(f) ? text !== null && text.replace(/\D/g, "") === c.rows[i][j]
                                    : text === c.rows[i][j]
      }))
    },
    idle(c) {  // no loading indicator on the page
      for (const m of doc().all_models) if (m.css_classes && m.css_classes.includes("pn-loading"))
        return false
      return true
    },
  }
  const holds = (c) => { try { return Boolean(CHECKS[c.kind](c)) } catch (e) { return false } }
  B.failing = () => B.spec ? B.spec.checks.filter((c) => !holds(c)).map((c) => c.label) : []
  const check = (now) => {  // every check once; true when all hold
    let all = true
    for (const c of B.spec.checks) {
      if (holds(c)) {
        if (!(c.label in B.first)) B.first[c.label] = now - B.t0
        if (!(c.label in B.settled)) B.settled[c.label] = now - B.t0
      } else { all = false; delete B.settled[c.label] }
    }
    return all
  }
  const frame = () => {
    if (!B.running) return
    B.frames += 1
    if (B.t0 !== null) {
      const now = performance.now()
      const all = check(now)
      B.cost += performance.now() - now  // the probe's own time, reported
      if (all) { B.t1 = now; B.running = false; return }
    }
    requestAnimationFrame(frame)
  }
  const onChange = () => { if (B.spec && B.t0 === null) B.t0 = performance.now() }
  const onDown = (e) => { if (B.spec && B.t0 === null) B.click = e.timeStamp }
  window.addEventListener("mousedown", onDown, true)
  B.arm = (spec) => {
    B.spec = spec; B.t0 = null; B.t1 = null; B.click = null; B.first = {}; B.settled = {}
    B.ws = []; B.events = []; B.cost = 0
    B.frames = 0; B.keep_text = Boolean(spec.keep_text)
    const widget = view(withClass(spec.start))
    if (!widget) throw new Error("widget not found: " + spec.start)
    if (!widget.shadow_el.__benchListener) {
      widget.shadow_el.addEventListener("change", onChange, true)
      widget.shadow_el.__benchListener = true
    }
    for (const c of spec.checks) if (c.kind === "source") for (const s of sources(c)) {
      watchData(s); plotsOf(s).forEach((p) => { const v = view(p); if (v) watchPaint(v) })
    }
    B.before = B.failing().length === 0  // the page already showed these values
    B.running = true
    requestAnimationFrame(frame)
  }
  B.result = () => ({t0: B.t0, t1: B.t1, click: B.click, first: B.first, settled: B.settled,
                     events: B.events, frames: B.frames, cost: B.cost,
                     before: B.before, ws: B.ws, origin: performance.timeOrigin})
})()
"""


def _text_of(values) -> list:
    return [v if isinstance(v, str) else int(v) for v in values]


def _digits(value) -> str:
    return re.sub(r"\D", "", str(value))


# ---------------------------------------------------------------------------- the apps
@dataclass
class App:
    """One page under test: how to open it, pick and remove an EPCI, and what it shows."""

    name: str
    route: str
    widget: str  # css class of the EPCI widget's model
    period_widget: str | None  # css class of the select a later pass moves (else None)
    expected: dict = field(default_factory=dict)  # (code or None, shift) → checks
    labels: dict = field(default_factory=dict)  # code → label in the widget
    months: dict = field(default_factory=dict)  # shift → label of the period select
    page: object = None
    times: dict = field(default_factory=dict)  # pass → [ms]
    records: list = field(default_factory=list)
    shift: int = 0

    # -- user actions
    def pick(self, code: str) -> None:
        label = self.labels[code]
        if self.name == "floor":
            self.page.locator(f".{self.widget} select").select_option(label=label)
            return
        box = self.page.locator(f".{self.widget} input.choices__input--cloned")
        box.click()
        box.fill(label)
        self.page.locator(f".{self.widget} .choices__list--dropdown .choices__item--choice").filter(
            has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")
        ).first.click()

    def clear(self) -> None:
        if self.name == "floor":
            from bench.floor_app import ALL

            self.page.locator(f".{self.widget} select").select_option(label=ALL)
            return
        self.page.keyboard.press("Escape")
        self.page.locator(
            f".{self.widget} .choices__list--multiple .choices__item .choices__button"
        ).first.click()

    # -- the probe
    def run(self, action, checks: list[dict], start: str | None = None, keep_text=False) -> dict:
        page = self.page
        page.evaluate(
            "spec => window.__bench.arm(spec)",
            {"start": start or self.widget, "checks": checks, "keep_text": keep_text},
        )
        action()
        try:
            page.wait_for_function("() => window.__bench.t1 !== null", timeout=60_000)
        except Exception as err:
            failing = page.evaluate("() => window.__bench.failing()")
            raise RuntimeError(f"{self.name} : jamais à jour, en échec : {failing}") from err
        return page.evaluate("() => window.__bench.result()")

    def settle_period(self, shift: int) -> None:
        """Move the period select to ``shift`` months earlier (department view, not timed)."""
        if shift == self.shift or self.period_widget is None:
            return
        label = self.months[shift]
        self.run(
            lambda: self.page.locator(f".{self.period_widget} select").select_option(label=label),
            self.expected[(None, shift)],
            start=self.period_widget,
        )
        self.shift = shift

    def measure(self, code: str, shift: int, what: str, keep_text=False) -> dict:
        self.settle_period(shift)
        result = self.run(
            lambda: self.pick(code), self.expected[(code, shift)], keep_text=keep_text
        )
        if result["before"]:
            raise RuntimeError(f"{self.name} : la page montrait déjà les valeurs de {code}")
        ms = result["t1"] - result["t0"]
        self.times.setdefault(what, []).append(ms)
        self.records.append({"app": self.name, "pass": what, "epci": code, "shift": shift,
                             "ms": ms, **result})  # fmt: skip
        # back to the whole department (not timed)
        self.run(self.clear, self.expected[(None, self.shift)])
        return result


# ---------------------------------------------------------------------------- expected values
def _rehousing_checks(state) -> list[dict]:
    from dashboards.components.charts import STACK, stacked_data
    from dashboards.components.kpi import state_key_figures_html
    from dashboards.components.tables import breakdown_frame

    data = stacked_data(state.series())
    columns = {"mois": data["mois"], **{i.code: data[i.code] for i in STACK}}
    table = breakdown_frame(
        state.table("reservataire"), "reservataire", state.filters(), state.protected
    )
    rows = [
        [" ".join(str(lib).split()), _digits(n)]
        for lib, n in zip(table["libelle"], table["relogements"])
    ]
    return [
        {"label": "chiffres clés", "kind": "html", "model": "relog-kpi-block",
         "selector": ".relog-kpis", "html": state_key_figures_html(state)},
        {"label": "graphique", "kind": "source", "column": "relogements_dalo",
         "columns": {k: _text_of(v) for k, v in columns.items()}},
        {"label": "tableau", "kind": "rows", "model": "relog-table-reservataire",
         "fields": ["libelle", "relogements"], "digits": ["relogements"], "rows": rows},
        {"label": "indicateurs de chargement", "kind": "idle"},
    ]  # fmt: skip


def _map_checks(page) -> list[dict]:
    level = page.state.level
    data = page.maps.sources[level].data
    return [
        {"label": "cartes", "kind": "source", "name": f"relog-{level}",
         "columns": {c: list(data[c]) for c in ("couleur_demande", "couleur_offre")}},
        *[{"label": f"légende {side}", "kind": "html", "model": f"relog-legend-{side}",
           "selector": f".relog-legend-{side}-body", "html": page.legends[side].object}
          for side in ("demande", "offre")],
        {"label": "totaux", "kind": "html", "model": "relog-totals-pane",
         "selector": ".relog-totals", "html": page.totals.object},
        {"label": "indicateurs de chargement", "kind": "idle"},
    ]  # fmt: skip


def _floor_checks(counts, months, code) -> list[dict]:
    from bench.floor_app import figures, total_text

    frame = figures(counts, months, code)
    return [
        {"label": "total", "kind": "html", "model": "floor-total", "selector": "[data-valeur]",
         "html": html_lib.escape(total_text(frame))},
        {"label": "graphique", "kind": "source", "column": "relogements",
         "columns": {"mois": list(frame["mois"]), "relogements": _text_of(frame["relogements"])}},
    ]  # fmt: skip


def _month_before(d: date, shift: int) -> date:
    from data_access.filters import add_months

    return add_months(d, -shift)


def expected_values(
    demo_path: Path, plan: list[tuple[str, int]], warm: str, only: set[str] | None = None
) -> list[App]:
    """The three apps with the values each shows for every (EPCI, shift) of ``plan`` (and
    ``warm``), and for the whole department, computed here through the product's API
    (``only``: those of these apps, by name)."""
    import panel as pn
    from bokeh.document import Document

    from bench.floor_app import load
    from dashboards.pages.demand_supply import DemandSupplyPage
    from dashboards.state.demand_supply import DemandSupplyState
    from dashboards.state.rehousing import RehousingState
    from data_access import Replica
    from data_access.formatting import month_label
    from geodata.layers import map_layers

    # the floor's data first: DuckDB refuses a second configuration of an open file
    floor = App("floor", "/floor_app", "floor-epci", None)
    counts, epci, months = load(demo_path)
    floor.labels = {code: name for name, code in epci.items()}
    replica = Replica(url=f"duckdb:///{demo_path}")
    shifts = sorted({s for _, s in plan} | {0})
    codes = [None, warm, *dict.fromkeys(c for c, _ in plan)]

    wanted = only or {"relogements", "carte", "floor"}
    rehousing = App("relogements", "/app", "relog-filter-epci", "relog-filter-start")
    state = RehousingState(replica)
    rehousing.labels = {code: label for label, code in state.param.epci.objects.items()}
    start = state.default_period.start
    for shift in shifts if "relogements" in wanted else []:
        rehousing.months[shift] = month_label(_month_before(start, shift))
        for code in codes:
            state.param.update(epci=[code] if code else [], start=_month_before(start, shift))
            rehousing.expected[(code, shift)] = _rehousing_checks(state)

    carte = App("carte", "/carte", "relog-filter-epci", "relog-filter-end")
    carte.labels = rehousing.labels
    if "carte" in wanted:
        rep = replica
        layers = map_layers(
            rep.settings, rep.reference("commune"), rep.reference("epci"), rep.reference("qpv")
        )
        page = DemandSupplyPage(DemandSupplyState(replica), layers)
        doc = Document()
        doc.add_root(pn.Column(page.sidebar(), page).get_root(doc))
        end = page.state.default_period.end
        for shift in shifts:
            carte.months[shift] = month_label(_month_before(end, shift))
            for code in codes:
                page.state.param.update(epci=[code] if code else [], end=_month_before(end, shift))
                page.refresh()  # outside a server the refresh is immediate; once more, to be sure
                carte.expected[(code, shift)] = _map_checks(page)

    for shift in shifts:
        for code in codes:
            floor.expected[(code, shift)] = _floor_checks(counts, months, code)
    replica.dispose()
    return [a for a in (rehousing, carte, floor) if a.name in wanted]


# ---------------------------------------------------------------------------- the measure
def _ready(page, app: App) -> None:
    from bench import dashboard
    from bench import map as map_bench
    from bench.served_app import wait_rendered

    if app.name in ("relogements", "carte"):
        (dashboard.page_ready if app.name == "relogements" else map_bench.map_ready)(page)
        # the filters come once the figures are on screen (dashboards.layout._built_on_load)
        page.locator(f".{app.widget}").first.wait_for(state="visible")
    else:
        wait_rendered(
            page,
            "deep => { const c = deep('.floor-chart'); "
            "return Boolean(deep('[data-valeur]') && c && deep('canvas', c)) }",
        )


def plan_changes(codes: list[str], repeat: int) -> tuple[list[tuple[str, int]], str]:
    """``repeat`` (EPCI, shift) pairs never repeated (the period moved back one month each
    time the EPCI run out), and the EPCI kept for the warm-up change."""
    warm, measured = codes[-1], codes[:-1]
    return [(measured[i % len(measured)], i // len(measured)) for i in range(repeat)], warm


def browser_filter_change(
    demo_path: Path,
    repeat: int = 12,
    details: list | None = None,
    keep_text: bool = False,
    log_dir: Path | None = None,
    browser=None,
) -> list[Measure]:
    """Medians and p95 of the in-browser EPCI change on the rehousing page, the map page
    (uncached, cached) and the floor app, and the ratios to the floor. ``details``: a list
    to which every measure's record is appended (page clock times, when each figure first
    held, the websocket frames). ``browser``: a Playwright Chromium already launched (the
    tests'); else one of its own."""
    from playwright.sync_api import sync_playwright

    from bench.floor_app import load
    from bench.served_app import ServedApp, launch_chromium

    demo_path = Path(demo_path).resolve()
    # the servers' logs (their tail is in the error if one fails to start)
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="relog-bench-navigateur-"))
    codes = sorted(load(demo_path)[1].values())
    plan, warm = plan_changes(codes, repeat)
    print("  valeurs attendues (API du produit)…", flush=True)
    apps = expected_values(demo_path, plan, warm)
    servers = {}
    try:
        # one server per page: no page's questions warm the other's cache
        servers["relogements"] = ServedApp(demo_path, log_dir=log_dir)
        servers["carte"] = ServedApp(demo_path, log_dir=log_dir)
        servers["floor"] = ServedApp(demo_path, log_dir=log_dir, files=[FLOOR_APP])
        with contextlib.ExitStack() as stack:
            if browser is None:
                playwright = stack.enter_context(sync_playwright())
                browser = launch_chromium(playwright)
                stack.callback(browser.close)
            for app in apps:
                context = browser.new_context(viewport=VIEWPORT)
                context.add_init_script(HARNESS)
                app.page = context.new_page()
                app.page.set_default_timeout(60_000)
                app.page.goto(servers[app.name].url + app.route)
                _ready(app.page, app)
                app.page.wait_for_timeout(500)
                # warm-up: the first change of a session loads code paths; its EPCI is
                # not one of the measured ones
                app.measure(warm, 0, "warm-up")
            for what in ("uncached", "cached"):
                print(f"  passage « {what} »…", flush=True)
                for code, shift in plan:
                    for app in apps:  # interleaved: the same machine state for all
                        app.measure(code, shift, what, keep_text=keep_text)
                for app in apps:  # the next pass asks the same periods again from the start
                    app.settle_period(0)
            for app in apps:
                app.page.context.close()
    finally:
        for server in servers.values():
            server.stop()
    if details is not None:
        for app in apps:
            details.extend(app.records)
    return _measures(apps)


#: Issue 20's targets: the page's p95 in milliseconds, its median's ratio to the floor's.
TARGETS = {"p95_ms": 300, "ratio": 1.0}


def _measures(apps: list[App]) -> list[Measure]:
    by_name = {a.name: a for a in apps}
    floor = by_name["floor"].times["uncached"] + by_name["floor"].times["cached"]
    floor_median = statistics.median(floor)
    labels = {"relogements": "page des relogements", "carte": "page de la carte"}
    passes = (("uncached", "non en cache"), ("cached", "en cache"))
    out = [
        Measure(
            f"{labels[name]} : choix d'un EPCI ({words})",
            statistics.median(times := by_name[name].times[what]),
            _p95(times),
            "ms",
            f"p95 ≤ {TARGETS['p95_ms']} ms",
            _p95(times) <= TARGETS["p95_ms"],
        )
        for name in labels
        for what, words in passes
    ]
    out.append(
        Measure(
            "plancher : application Panel minimale (un filtre, un total, un graphique)",
            floor_median, _p95(floor), "ms", "—", None,
        )
    )  # fmt: skip
    for name in labels:
        for what, words in passes:
            ratio = statistics.median(by_name[name].times[what]) / floor_median
            out.append(
                Measure(
                    f"rapport {labels[name]} / plancher ({words})",
                    ratio, _p95(by_name[name].times[what]) / _p95(floor), "×",
                    f"médiane ≤ {TARGETS['ratio']:g} ×", ratio <= TARGETS["ratio"],
                )
            )  # fmt: skip
    return out


def report(measures: list[Measure]) -> str:
    from bench.dashboard import report as table

    return table(measures, "filtre EPCI dans Chromium, du choix à l'affichage de tous les chiffres")


def breakdown(records: list[dict]) -> str:
    """When each figure held for good (the start of its last run of frames where it held),
    median per app and pass (ms after the input event); the Bokeh messages received and sent
    by the page before the clock stopped; the probe's own time per change (its checks, run
    in the page's frames)."""
    names = {"relogements": "page des relogements", "carte": "page de la carte",
             "floor": "plancher"}  # fmt: skip
    passes = {"uncached": "non en cache", "cached": "en cache"}
    floor_passes = {"uncached": "1er passage", "cached": "2e passage"}
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        if r["pass"] != "warm-up":
            groups.setdefault((r["app"], r["pass"]), []).append(r)
    lines = ["| page, passage | total | chaque chiffre à jour (médianes, ms) | messages Bokeh "
             "reçus/envoyés | sonde |", "|---|---:|---|---:|---:|"]  # fmt: skip
    for (app, what), rs in groups.items():
        labels = dict.fromkeys(k for r in rs for k in r["settled"])
        parts = ", ".join(
            f"{k} {statistics.median(r['settled'][k] for r in rs if k in r['settled']):.0f}"
            for k in sorted(
                labels, key=lambda k: statistics.median(r["settled"].get(k, 0) for r in rs)
            )
        )
        # messages in the clock's window (the page's own replies to the server included)
        received, sent = (
            statistics.median(
                sum(
                    f["dir"] == way and f["type"] is not None and f["t"] <= r["t1"] for f in r["ws"]
                )
                for r in rs
            )
            for way in ("in", "out")
        )
        total = statistics.median(r["ms"] for r in rs)
        cost = statistics.median(r["cost"] for r in rs)
        lines.append(
            f"| {names[app]}, {(floor_passes if app == 'floor' else passes)[what]} | "
            f"{total:.0f} ms | {parts} | {received:g}/{sent:g} | {cost:.0f} ms |"
        )
    return "\n".join(lines)


def main(demo_path: Path, repeat: int = 12) -> str:
    print("Filtre EPCI dans Chromium (relogements, carte, plancher)…", flush=True)
    records: list[dict] = []
    measures = browser_filter_change(demo_path, repeat, details=records)
    return report(measures) + "\n\n" + breakdown(records)


if __name__ == "__main__":  # pragma: no cover
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.inbrowser")
    parser.add_argument("demo", nargs="?", default="data/demo-departement.duckdb")
    parser.add_argument("--repeat", type=int, default=12)
    args = parser.parse_args()
    t0 = time.perf_counter()
    print(main(Path(args.demo), args.repeat))
    print(f"\n({time.perf_counter() - t0:.0f} s)")
