"""Accessibility (RGAA) checked with axe-core in Chromium (the axe-playwright-python package
bundles axe; nothing is downloaded): no serious or critical violation on any page, in each
state a user reaches (every tab shown); the page is French and has a title; and the check
fails on a deliberate regression."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.ui.conftest import filters_loaded

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.xdist_group("ui")]

AXE = Axe()


def serious_violations(page) -> list[str]:
    filters_loaded(page)
    page.wait_for_timeout(900)  # let the pages' accessibility repairs run (dashboards.workarounds)
    results = AXE.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_rehousing_page_has_no_serious_violation_in_any_tab(page, served_app):
    page.goto(served_app.url + "/")
    expect(page.locator(".relog-kpi").first).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.title() == "Relogement des publics prioritaires"
    assert serious_violations(page) == []
    for tab, key in (("EPCI", "epci"), ("Communes", "commune"), ("Bailleurs", "bailleur")):
        page.locator(".bk-tab", has_text=tab).click()
        expect(page.locator(f".relog-table-{key} .tabulator-row").first).to_be_visible()
    page.locator(".bk-tab", has_text="Des propositions aux baux").click()
    expect(page.locator(".relog-table-pipeline .tabulator-row").first).to_be_visible()
    assert serious_violations(page) == []


def test_the_map_page_has_no_serious_violation(page, served_app):
    page.goto(served_app.url + "/carte")
    expect(page.locator(".relog-legend-demande-body")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.title() == "Demande et offre de logement social"
    assert serious_violations(page) == []
    page.get_by_text("Tableau des territoires").click()  # the maps' table, opened
    expect(page.locator(".relog-table-territoires tbody tr").first).to_be_visible()
    assert serious_violations(page) == []


def test_the_check_fails_on_a_deliberate_regression(page, served_app):
    page.goto(served_app.url + "/")
    expect(page.locator(".relog-kpi").first).to_be_visible()
    page.evaluate("""() => {
        const box = document.createElement("input"); box.type = "checkbox"
        document.querySelector("main").appendChild(box) }""")  # a form field without a label
    assert any(v.startswith("label (critical)") for v in serious_violations(page))


ACTIVE = """() => {
    let el = document.activeElement
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement
    const style = el ? getComputedStyle(el) : null
    return el ? {tag: el.tagName, label: el.getAttribute("aria-label") || el.textContent.trim(),
                 outline: style.outlineStyle, width: parseFloat(style.outlineWidth)} : null
}"""


def test_every_filter_and_tab_is_reached_and_operated_with_the_keyboard(page, served_app):
    page.goto(served_app.url + "/")
    expect(page.locator(".relog-kpi").first).to_be_visible()
    filters_loaded(page)
    page.wait_for_timeout(900)
    page.locator("#sidebar-button").focus()
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        active = page.evaluate(ACTIVE)
        seen.append(active["label"])
        if active["label"] == "Bailleurs":  # the breakdown tab of the bailleurs
            break
    order = ["Toutes les natures", "Tous les réservataires", "Tous les EPCI",
             "Toutes les communes", "Tous les bailleurs", "Tous les ménages",
             "Réinitialiser les filtres", "EPCI", "Communes", "Bailleurs"]  # fmt: skip

    positions = [seen.index(label) for label in order]  # each reached, in this order
    assert positions == sorted(positions), seen
    assert active["outline"] == "solid" and active["width"] >= 2  # the focus is visible
    page.keyboard.press("Enter")  # the tab opens with the keyboard
    expect(page.locator(".relog-table-bailleur .tabulator-row").first).to_be_visible()
    page.wait_for_function(
        "() => new URLSearchParams(location.search).get('onglet') === 'bailleur'"
    )
    # Shift+Tab goes back from a multi-choice filter too
    page.locator(".relog-filter-epci input.choices__input--cloned").focus()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(ACTIVE)["label"] == "Tous les réservataires"


def _options(page, name: str, typed: str) -> list[str]:
    box = page.locator(f".relog-filter-{name} input.choices__input--cloned")
    box.click()
    box.press_sequentially(typed, delay=30)
    page.wait_for_timeout(300)
    items = page.locator(f".relog-filter-{name} .choices__list--dropdown .choices__item--choice")
    texts = [t.strip() for t in items.all_inner_texts() if t.strip()]
    page.keyboard.press("Escape")
    return texts


def test_the_filters_search_lists_exact_prefix_matches_first(page, served_app):
    page.goto(served_app.url + "/")
    expect(page.locator(".relog-kpi").first).to_be_visible()
    filters_loaded(page)
    page.wait_for_timeout(900)
    dalo = _options(page, "criteres", "DALO")
    assert dalo and dalo[0].startswith("DALO") and not any("Dépourvu" in t for t in dalo), dalo
    toulouse = _options(page, "communes", "tou")
    starts = [t.lower().startswith("tou") for t in toulouse]
    assert starts[0] and starts == sorted(starts, reverse=True), toulouse  # prefixes first
    # the « Entrée pour choisir » hint has room of its own on the right of each option
    box = page.locator(".relog-filter-criteres input.choices__input--cloned")
    box.click()
    option = page.locator(".relog-filter-criteres .choices__item--choice").first
    assert float(option.evaluate("o => getComputedStyle(o).paddingRight")[:-2]) >= 100


def test_the_chart_table_opened_keeps_the_page_accessible(page, served_app):
    page.goto(served_app.url + "/")
    expect(page.locator(".relog-kpi").first).to_be_visible()
    page.get_by_text("Tableau des données du graphique").click()
    expect(page.locator(".relog-table-serie .tabulator-row").first).to_be_visible()
    assert serious_violations(page) == []


@pytest.mark.parametrize("route", ["app", "carte"])
def test_the_pages_work_under_their_security_headers(page, served_app, route):
    """Every response carries the security headers (content security policy, no framing, no
    referrer elsewhere), and the page works under them: the fixture fails the test on any
    console error, a policy violation included."""
    violations = []
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m))
    response = page.goto(f"{served_app.url}/{route}")
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-content-type-options"] == "nosniff"
    expect(page.locator(".relog-filter-summary").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert violations == []
