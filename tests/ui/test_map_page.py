"""The map page as a user drives it, in headless Chromium, on the real Haute-Garonne layer:
hover a commune and read its figures (compared with the independent pandas computation),
change the indicator (values travel, shapes do not), click a commune to open its rehousing
page, and come back from the rehousing page on the same filters."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import pytest
from playwright.sync_api import expect

from data_access import Filters
from tests import oracle
from tests.ui.conftest import SHIPPED_COMMUNES, filters_loaded

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.xdist_group("ui")]

SICOVAL = "243100633"
OBSERVED = date(2026, 10, 31)  # default observation date: end of the last complete month


@pytest.fixture(scope="module")
def toulouse_point():
    """A point inside Toulouse, in the map's Lambert-93 metres."""
    frame = gpd.read_file(SHIPPED_COMMUNES).to_crs("EPSG:2154")
    shape = frame.loc[frame["code"] == "31555", "geometry"].iloc[0]
    point = shape.representative_point()
    return point.x, point.y


def screen_point(page, figure: str, x: float, y: float) -> tuple[float, float]:
    """Where map coordinates (x, y) are on the page, from the Bokeh figure's own scales."""
    return tuple(
        page.evaluate(
            """([name, x, y]) => {
             for (const doc of Bokeh.documents) {
               const fig = doc.get_model_by_name(name)
               if (fig == null) continue
               const view = Bokeh.index.find_one(fig)
               const sx = view.frame.x_scale.compute(x), sy = view.frame.y_scale.compute(y)
               const rect = view.canvas_view.el.getBoundingClientRect()
               return [rect.left + sx, rect.top + sy]
             }
             throw new Error("figure not found: " + name)
           }""",
            [figure, x, y],
        )
    )


def open_map(page, served_app, query: str = "") -> None:
    page.goto(f"{served_app.url}/carte{query}")
    expect(page.locator(".relog-legend-demande-body")).to_be_visible()
    page.wait_for_function("""() => window.Bokeh && Bokeh.documents.some(d => {
        const f = d.get_model_by_name('relog-map-demande'); const v = f && Bokeh.index.find_one(f)
        return v != null && v.frame.bbox.width > 100 })""")
    filters_loaded(page)
    page.wait_for_timeout(300)  # the first paint after layout


def test_hover_shows_the_commune_figures_and_a_click_opens_its_rehousing_page(
    page, served_app, raw_tables, toulouse_point
):
    open_map(page, served_app)
    x, y = screen_point(page, "relog-map-demande", *toulouse_point)
    page.mouse.move(x, y)
    tip = page.locator(".relog-map-tip").first
    expect(tip).to_contain_text("Toulouse")
    expected = oracle.demand_supply(
        raw_tables, Filters(end="2026-10"), "commune", OBSERVED
    ).set_index("commune")
    text = tip.inner_text()
    assert "Demande au 31/10/2026" in text
    for label, column in (
        ("Demandes actives (1er choix)", "demandes_actives"),
        ("Logements sociaux", "logements"),
        ("Baux signés (12 mois)", "baux_12m"),
    ):
        shown = re.search(re.escape(label) + r" :\s*([\d\s\u202f\u00a0]+)", text)
        assert shown, (label, text)
        assert int(re.sub(r"\D", "", shown.group(1))) == expected.loc["31555", column], label
    page.mouse.click(x, y)
    page.wait_for_url(re.compile(r"/app\?"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert query == {"debut": "2025-11", "fin": "2026-10", "communes": "31555"}
    expect(page.locator('[data-valeur="relogements"]')).to_be_visible()
    expect(page.locator(".relog-filter-communes")).to_contain_text("Toulouse")


def test_a_change_of_indicator_sends_values_not_shapes(page, served_app):
    frames: list[tuple[str, int, str]] = []
    scripts: list[str] = []
    page.on("request", lambda request: scripts.append(request.url))

    def on_socket(ws):
        ws.on(
            "framereceived",
            lambda payload: frames.append(
                ("in", len(payload), payload if isinstance(payload, str) else "")
            ),
        )

    page.on("websocket", on_socket)
    open_map(page, served_app)
    page.wait_for_timeout(500)
    initial = sum(size for _, size, _ in frames)
    frames.clear()
    page.locator(".relog-demand select").select_option(label="Tension (demandes ÷ baux)")
    expect(page.locator(".relog-legend-demande-body h3")).to_have_text("Tension (demandes ÷ baux)")
    page.wait_for_timeout(500)
    after = sum(size for _, size, _ in frames)
    assert frames and not any('"xs"' in text for _, _, text in frames)
    assert after < initial / 10, (after, initial)
    assert "demande=tension" in page.evaluate("window.location.search")
    # no LaTeX nor WebGL on our pages: Bokeh's MathJax (1.8 MB) and WebGL (190 kB) bundles
    # are never loaded (dashboards.layout)
    assert any("bokeh.min.js" in url for url in scripts)
    assert any("bokeh-widgets.min.js" in url for url in scripts)
    assert not any("mathjax" in url or "bokeh-gl" in url for url in scripts)


def test_the_map_follows_the_rehousing_page_filters(page, served_app, toulouse_point):
    page.goto(f"{served_app.url}/app?epci={SICOVAL}&criteres=DALO")
    link = page.locator(".relog-link-map a")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url(re.compile(r"/carte\?"))
    expect(page.locator(".relog-legend-demande-body")).to_contain_text("hors sélection")
    expect(page.locator(".relog-filter-epci")).to_contain_text("Sicoval")
    expect(page.locator(".relog-filter-criteres")).to_contain_text("DALO")
    expect(page.locator(".relog-notices")).to_have_count(0)
    page.wait_for_function("""() => window.Bokeh && Bokeh.documents.some(d => {
        const f = d.get_model_by_name('relog-map-demande'); const v = f && Bokeh.index.find_one(f)
        return v != null && v.frame.bbox.width > 100 })""")
    x, y = screen_point(
        page, "relog-map-demande", *toulouse_point
    )  # Toulouse is not in the Sicoval
    page.mouse.move(x, y)
    tip = page.locator(".relog-map-tip").first
    expect(tip).to_contain_text("Toulouse")
    expect(tip).to_contain_text("Demandes actives (1er choix) : hors sélection")
    assert "NaN" not in tip.inner_text()


def test_a_wrong_value_in_the_map_address_is_a_french_notice(page, served_app):
    open_map(page, served_app, "?demande=inconnu&communes=99999")
    notice = page.locator(".relog-notices")
    expect(notice).to_contain_text("inconnue ignorée")
    expect(notice).to_contain_text("99999")
    expect(page.locator(".relog-legend-demande-body h3")).to_have_text(
        "Demandes actives (1er choix)"
    )


def test_the_round_trip_to_the_map_and_back_keeps_the_period(page, served_app, raw_tables):
    page.goto(f"{served_app.url}/app?epci={SICOVAL}&debut=2026-01&fin=2026-06&criteres=DALO")
    filters = Filters(start="2026-01", end="2026-06", epci=(SICOVAL,), criteres=("DALO",))
    expected = int(oracle.monthly_rehousing(raw_tables, filters)["relogements"].sum())
    kpi = page.locator('[data-valeur="relogements_criteres"]')
    expect(kpi).to_have_text(re.compile(rf"^\s*{expected}\s*$"))
    page.locator(".relog-link-map a").click()
    page.wait_for_url(re.compile(r"/carte\?"))
    back = page.locator(".relog-link-rehousing a")
    expect(back).to_have_attribute("href", re.compile("debut=2026-01"))
    back.click()
    page.wait_for_url(re.compile(r"/app\?"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert query["debut"] == "2026-01" and query["fin"] == "2026-06"
    expect(page.locator('[data-valeur="relogements_criteres"]')).to_have_text(
        re.compile(rf"^\s*{expected}\s*$")
    )


def test_the_map_says_which_figures_follow_the_filters_and_shows_the_selection_totals(
    browser, served_app, raw_tables, toulouse_point
):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="fr-FR")
    try:
        page = context.new_page()
        open_map(page, served_app, "?bailleurs=2&offre=baux_12m")
        demand = page.locator(".relog-legend-demande-body")
        # demand counts do not follow a bailleur filter: the legend says so
        expect(demand).to_contain_text("Ne suit pas le filtre Bailleurs")
        expect(page.locator(".relog-legend-offre-body")).not_to_contain_text("Ne suit pas")
        # both legends are in view on a 1280×720 screen, without scrolling
        for side in ("demande", "offre"):
            box = page.locator(f".relog-legend-{side}-body").bounding_box()
            assert box["y"] + box["height"] <= 720, (side, box)
        # the selection's totals reconcile with the rehousing page's leases of the 12 months
        figures = oracle.demand_supply(raw_tables, Filters(end="2026-10", bailleurs=(2,)),
                                       "commune", OBSERVED)  # fmt: skip
        total = f"{int(figures['baux_12m'].sum()):,}".replace(",", "\u202f")
        expect(page.locator(".relog-totals")).to_contain_text(f"{total} baux signés (12 mois)")
        expect(page.locator(".relog-totals")).to_contain_text("tension non calculée")
        # a ratio of two different bases is not drawn, and its legend says why
        page.locator(".relog-demand select").select_option(label="Tension (demandes ÷ baux)")
        expect(demand).to_contain_text("non calculée : le filtre Bailleurs")
        # the hover: the commune's EPCI, an empty tension, what does not follow the filter
        page.evaluate("document.getElementById('main').scrollTop = 420")  # the maps, below
        page.wait_for_timeout(300)
        x, y = screen_point(page, "relog-map-demande", *toulouse_point)
        page.mouse.move(x, y)
        tip = page.locator(".relog-map-tip").first
        expect(tip).to_contain_text("Toulouse Métropole")
        expect(tip).to_contain_text("Tension : —")
        expect(tip).to_contain_text("ne suit pas Bailleurs")
    finally:
        context.close()


def test_the_maps_are_paired_with_their_table(page, served_app, raw_tables):
    open_map(page, served_app, f"?epci={SICOVAL}")
    page.get_by_text("Tableau des territoires").click()
    rows = page.locator(".relog-table-territoires tbody tr")
    expected = oracle.demand_supply(raw_tables, Filters(end="2026-10", epci=(SICOVAL,)),
                                    "commune", OBSERVED)  # fmt: skip
    expect(rows).to_have_count(len(expected))  # the Sicoval's communes only
    top = expected.sort_values(["demandes_actives", "libelle"], ascending=[False, True]).iloc[0]
    cells = rows.first.locator("th, td").all_inner_texts()
    assert cells[0] == top["libelle"]
    assert int(re.sub(r"\D", "", cells[1])) == top["demandes_actives"]
