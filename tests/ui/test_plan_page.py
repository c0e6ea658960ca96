"""The plan follow-up page (/objectifs) as the Conseil Départemental drives it, in headless
Chromium: its figures against the independent pandas computation, a territory filter, the
drill-down to the rehousing page, a shared link with values the page cannot apply, the
workbook and the one-page PDF read back (pdftotext, Debian's poppler-utils), the keyboard
and axe-core."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from data_access import Filters
from tests import oracle
from tests.ui.conftest import filters_loaded
from tests.ui.test_accessibility import serious_violations

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.xdist_group("ui")]

SICOVAL = "243100633"
AT = date(2026, 10, 31)  # the fixture's last complete month ends then


def digits(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def value(page, key: str) -> str:
    return page.locator(f'.relog-plan-kpis [data-valeur="{key}"]').inner_text()


def open_plan(page, served_app, query: str = "") -> None:
    page.goto(f"{served_app.url}/objectifs{query}")
    expect(page.locator('.relog-plan-kpis [data-valeur="accord"]')).to_be_visible()
    filters_loaded(page)


def choose(page, name: str, label: str) -> None:
    box = page.locator(f".relog-filter-{name} input.choices__input--cloned")
    box.click()
    box.fill(label)
    page.locator(
        f".relog-filter-{name} .choices__list--dropdown .choices__item--choice", has_text=label
    ).first.click()
    page.keyboard.press("Escape")


def expected(raw, year: int = 2026, end: str = "2026-10", epci: str | None = None):
    lease = oracle.lease_months(raw, f"{year}-01", end)
    if epci:
        lease = lease[lease["epci_siren"] == epci]
    return lease


def test_the_page_shows_the_independent_figures_and_follows_a_territory(
    page, served_app, raw_tables
):
    open_plan(page, served_app)
    assert page.title() == "Suivi du plan et des objectifs"
    lease = expected(raw_tables)
    assert digits(value(page, "accord")) == lease["prio"].sum()
    share = lease["prio"].sum() / len(lease)
    assert value(page, "part") == f"{share * 100:.1f}\u00a0%".replace(".", ",")
    waiting = oracle.backlog_by_epci(raw_tables, Filters(), AT)
    assert digits(value(page, "dalo")) == waiting["dalo_delai_depasse"].sum()
    assert digits(value(page, "dal")) == waiting["demandes_delai_anormal"].sum()
    # every section is there, the year's period said once at the top
    for section in ("reservataires", "accord_bailleur", "quartile", "dalo_epci", "stock"):
        expect(page.locator(f".relog-plan-{section} table")).to_be_visible()
    expect(page.locator(".relog-caption").first).to_contain_text("janvier 2026 à octobre 2026")

    choose(page, "epci", "Sicoval")
    sicoval = expected(raw_tables, epci=SICOVAL)
    expect(page.locator('.relog-plan-kpis [data-valeur="accord"]')).to_have_text(
        re.compile(r"^\D*" + r"\D?".join(f"{sicoval['prio'].sum():,}".split(",")) + r"\D*$")
    )
    waiting = oracle.backlog_by_epci(raw_tables, Filters(epci=(SICOVAL,)), AT)
    assert digits(value(page, "dalo")) == waiting["dalo_delai_depasse"].sum()
    assert "epci=243100633" in page.evaluate("window.location.search")
    # the EPCI table holds Sicoval only; its rows carry the oracle's counts
    rows = page.locator(".relog-plan-dalo_epci tbody tr")
    expect(rows).to_have_count(1)
    cells = rows.first.locator("td")
    assert digits(cells.nth(0).inner_text()) == waiting["demandes_actives"].sum()


def test_a_click_on_a_reservataire_opens_its_rehousing_page_on_the_same_year(
    page, served_app, raw_tables
):
    open_plan(page, served_app)
    row = page.locator(".relog-plan-reservataires tbody tr").first
    name = row.locator("th a").inner_text()
    priority = digits(row.locator("td").nth(1).inner_text())
    href = row.locator("th a").get_attribute("href")
    assert re.search(r"reservataires=\d+", href) and "debut=2026-01" in href
    assert "fin=2026-10" in href
    row.locator("th a").click()
    expect(page.locator(".relog-kpi [data-valeur]").first).to_be_visible()
    assert page.url.split("?")[0].endswith("/app")
    expect(page.locator('[data-valeur="relogements_prioritaires"]')).to_have_text(
        re.compile(r"^\D*" + r"\D?".join(f"{priority:,}".split(",")) + r"\D*$")
    )
    expect(page.locator(".relog-filter-summary-pane")).to_contain_text(name.split(" (")[0])


def test_a_shared_link_restores_the_year_and_says_what_it_ignores(page, served_app, raw_tables):
    open_plan(page, served_app, "?annee=2025&communes=31555&epci=243100633&criteres=DALO")
    notice = page.locator(".relog-notices")
    expect(notice).to_contain_text("fixés par EPCI")
    expect(notice).to_contain_text("critères est ignoré")
    expect(page.locator(".relog-filter-year select")).to_have_value("2025")
    lease = expected(raw_tables, 2025, "2025-12", epci=SICOVAL)
    assert digits(value(page, "accord")) == lease["prio"].sum()
    open_plan(page, served_app, "?annee=2040")
    expect(page.locator(".relog-notices")).to_contain_text("Année inconnue ou hors des données")
    expect(page.locator(".relog-filter-year select")).to_have_value("2026")


def test_the_workbook_and_the_one_page_pdf_carry_the_page_figures(page, served_app, raw_tables):
    open_plan(page, served_app, f"?epci={SICOVAL}")
    shown = {key: value(page, key) for key in ("part", "accord", "dalo", "dal")}

    with page.expect_download() as info:
        page.locator(".relog-export-objectifs-xlsx button").click()
    download = info.value
    assert download.suggested_filename == "suivi-du-plan-et-des-objectifs_2026-01_2026-10.xlsx"
    book = load_workbook(io.BytesIO(open(download.path(), "rb").read()))
    assert book.sheetnames[0] == "Contexte" and "1er quartile" in book.sheetnames
    context = {r[0]: r[1] for r in book["Contexte"].iter_rows(values_only=True) if r[0]}
    assert context["Filtres"] == "EPCI : CA du Sicoval"
    assert context["Période"] == "De janvier 2026 à octobre 2026"
    rows = list(book["Accord – EPCI"].iter_rows(values_only=True))
    header = rows.index(next(r for r in rows if r and r[0] == "SIREN de l'EPCI"))
    column = rows[header].index("Relogements de ménages prioritaires")
    assert sum(r[column] for r in rows[header + 1 :]) == digits(shown["accord"])

    with page.expect_download() as info:
        page.locator(".relog-export-objectifs-pdf button").click()
    download = info.value
    assert download.suggested_filename == "fiche-de-suivi-du-plan_2026-01_2026-10.pdf"
    path = download.path()
    pages = subprocess.run(["pdfinfo", path], capture_output=True, text=True, check=True)
    assert re.search(r"Pages:\s+1\n", pages.stdout)
    text = subprocess.run(
        ["pdftotext", "-layout", path, "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", " ", text.replace("\u00a0", " "))
    assert "Fiche de suivi du plan" in flat and "EPCI : CA du Sicoval" in flat
    for key, shown_value in shown.items():
        assert re.sub(r"\s+", " ", shown_value.replace("\u202f", " ").replace("\u00a0", " ")) in (
            flat
        ), key


def test_the_page_is_accessible_and_its_tabs_work_with_the_keyboard(page, served_app):
    open_plan(page, served_app)
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert serious_violations(page) == []
    tab = page.locator(".relog-plan-accord-tabs .bk-tab", has_text="Par bailleur et EPCI")
    tab.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".relog-plan-accord_bailleur_epci tbody tr").first).to_be_visible()
    assert serious_violations(page) == []
    # every drill-down is an ordinary link, reached with Tab
    link = page.locator(".relog-plan-accord_bailleur_epci tbody th a").first
    link.focus()
    assert (
        page.evaluate(
            "() => { let e = document.activeElement; while (e && e.shadowRoot && "
            "e.shadowRoot.activeElement) e = e.shadowRoot.activeElement; return e.tagName }"
        )
        == "A"
    )
