"""Accessibility (RGAA) checked with axe-core in Chromium (the axe-playwright-python package
bundles axe; nothing is downloaded): no serious or critical violation on any page, in each
state a user reaches (every tab shown); the page is French and has a title; and the check
fails on a deliberate regression."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.xdist_group("ui")]

AXE = Axe()


def serious_violations(page) -> list[str]:
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


def test_the_check_fails_on_a_deliberate_regression(page, served_app):
    page.goto(served_app.url + "/")
    expect(page.locator(".relog-kpi").first).to_be_visible()
    page.evaluate("""() => {
        const box = document.createElement("input"); box.type = "checkbox"
        document.querySelector("main").appendChild(box) }""")  # a form field without a label
    assert any(v.startswith("label (critical)") for v in serious_violations(page))
