"""The monthly rehousing page as a user drives it, in headless Chromium.

Figures read off the screen and out of the downloaded files are compared with the
independent pandas computation of ``tests/oracle.py``, not with the app's own API.
"""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs

import pandas as pd
import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from data_access import Filters
from tests import oracle
from tests.ui.conftest import filters_loaded

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.xdist_group("ui")]

SICOVAL, TOULOUSE_METROPOLE = "243100633", "243100518"


def number(text: str) -> int:
    """« 2 173 » (narrow no-break spaces) → 2173."""
    return int(re.sub(r"\D", "", text))


def kpi(page, key: str) -> int:
    return number(page.locator(f'[data-valeur="{key}"]').inner_text())


def wait_for_kpi(page, key: str, value: int) -> None:
    expect(page.locator(f'[data-valeur="{key}"]')).to_have_text(re.compile(_digits_pattern(value)))


def wait_for_rehousings(page, raw_tables, filters: Filters) -> None:
    """The key figure shows the oracle's count of rehousings for ``filters``."""
    wait_for_kpi(
        page, "relogements", int(oracle.monthly_rehousing(raw_tables, filters)["relogements"].sum())
    )


def _digits_pattern(value: int) -> str:
    """« 1 234 » with any separator between thousands."""
    digits = f"{value:,}".split(",")
    return r"^\s*" + r"\D?".join(digits) + r"\s*$"


def open_page(page, served_app, query: str = "") -> None:
    page.goto(f"{served_app.url}/{query}")
    expect(page.locator(".relog-kpi [data-valeur]").first).to_be_visible()
    filters_loaded(page)


def choose(page, name: str, label: str) -> None:
    """Type in a MultiChoice filter and pick the option."""
    box = page.locator(f".relog-filter-{name} input.choices__input--cloned")
    box.click()
    box.fill(label)
    page.locator(
        f".relog-filter-{name} .choices__list--dropdown .choices__item--choice", has_text=label
    ).first.click()
    page.keyboard.press("Escape")


def query_of(page) -> dict[str, str]:
    """The address bar's query, read in the page (``page.url`` lags behind pushState)."""
    return {
        k: v[-1] for k, v in parse_qs(page.evaluate("window.location.search").lstrip("?")).items()
    }


def wait_for_query(page, expected: dict[str, str]) -> None:
    """Wait until the address bar holds exactly ``expected``."""
    page.wait_for_function(
        """(expected) => {
            const got = Object.fromEntries(new URLSearchParams(window.location.search))
            return JSON.stringify(Object.entries(got).sort()) ===
              JSON.stringify(Object.entries(expected).sort())
        }""",
        arg=expected,
    )


def test_changing_epci_and_period_shows_the_independent_figures(page, served_app, raw_tables):
    open_page(page, served_app)
    choose(page, "epci", "Sicoval")
    page.locator(".relog-filter-start select").select_option(label="janvier 2025")
    page.locator(".relog-filter-end select").select_option(label="décembre 2025")
    filters = Filters(start="2025-01", end="2025-12", epci=(SICOVAL,))
    monthly = oracle.monthly_rehousing(raw_tables, filters)
    wait_for_kpi(page, "relogements", int(monthly["relogements"].sum()))
    wait_for_kpi(page, "relogements_prioritaires", int(monthly["relogements_prioritaires"].sum()))
    share = monthly["relogements_prioritaires"].sum() / monthly["relogements"].sum()
    expect(page.locator('[data-valeur="part_prioritaires"]')).to_have_text(
        f"{share * 100:.1f}".replace(".", ",") + "\u00a0%"
    )
    wait_for_query(page, {"epci": SICOVAL, "debut": "2025-01", "fin": "2025-12"})

    # the communes tab: its first row is the Sicoval commune with the most rehousings
    page.locator(".bk-tab", has_text="Communes").click()
    by_commune = (
        oracle.monthly_rehousing(raw_tables, filters, "commune")
        .groupby(["commune", "libelle"], as_index=False)[
            ["relogements", "relogements_prioritaires"]
        ]
        .sum()
        .sort_values(["relogements", "libelle"], ascending=[False, True])
    )
    top = by_commune.iloc[0]
    row = page.locator(".relog-table-commune .tabulator-row", has_text=top["libelle"]).first
    expect(row).to_be_visible()
    cells = row.locator(".tabulator-cell:visible").all_inner_texts()
    assert [number(c) for c in cells[1:3]] == [top["relogements"], top["relogements_prioritaires"]]
    # the waiting time of the rehoused, declared in the registry for the breakdown tables
    titles = page.locator(".relog-table-commune .tabulator-col-title").all_inner_texts()
    shown = titles[titles.index("Libellé") :]  # after Tabulator's and the hidden code column
    at = shown.index("Délai médian (prioritaires)")
    assert shown[at + 1] == "Délai médian (non prioritaires)"
    delay = oracle.rehousing_delay(raw_tables, filters, "commune").set_index("commune")
    median = delay.loc[top["commune"], "delai_median_non_prioritaires"]
    assert cells[at + 1].replace("\u00a0", " ") == f"{median:.1f} mois".replace(".", ",")
    total = page.locator(".relog-table-commune .tabulator-row", has_text="Total").first
    assert (
        number(total.locator(".tabulator-cell:visible").all_inner_texts()[1])
        == monthly["relogements"].sum()
    )


def test_definitions_on_hover(page, served_app):
    open_page(page, served_app)
    title = page.locator('[data-kpi="relogements_prioritaires"]').get_attribute("title")
    assert "date de la décision de la CALEOL" in title and "date de signature" in title


def test_both_exports_carry_figures_filters_and_freshness(page, served_app, raw_tables):
    open_page(
        page, served_app, f"?epci={TOULOUSE_METROPOLE}&debut=2025-04&fin=2025-09&onglet=bailleur"
    )
    filters = Filters(start="2025-04", end="2025-09", epci=(TOULOUSE_METROPOLE,))
    expected = (
        oracle.monthly_rehousing(raw_tables, filters, "bailleur")
        .groupby("libelle")[["relogements", "relogements_prioritaires"]]
        .sum()
    )
    expected = expected[expected["relogements"] > 0]

    with page.expect_download() as info:
        page.locator(".relog-export-bailleur-csv button").click()
    download = info.value
    assert download.suggested_filename == "relogements-par-bailleur_2025-04_2025-09.csv"
    content = open(download.path(), "rb").read()
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").split("\r\n")
    assert "Période;D'avril 2025 à septembre 2025" in lines
    assert "Filtres;EPCI : Toulouse Métropole" in lines
    assert any(re.match(r"Fraîcheur;Données extraites le \d\d/\d\d/\d{4}", line) for line in lines)
    header = next(i for i, line in enumerate(lines) if line.startswith("Identifiant du bailleur;"))
    table = pd.read_csv(io.StringIO("\r\n".join(lines[header:])), sep=";", decimal=",")
    got = table.set_index("Libellé")
    assert got.loc["Total", "Relogements (baux signés)"] == expected["relogements"].sum()
    members = got.drop("Total")
    assert members["Relogements (baux signés)"].to_dict() == expected["relogements"].to_dict()
    assert (
        members["Relogements de ménages prioritaires"].to_dict()
        == expected["relogements_prioritaires"].to_dict()
    )

    with page.expect_download() as info:
        page.locator(".relog-export-bailleur-xlsx button").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(open(download.path(), "rb").read()))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert ("Filtres", "EPCI : Toulouse Métropole") in [r[:2] for r in rows]
    start = next(i for i, r in enumerate(rows) if r[0] == "Identifiant du bailleur")
    # the header row is frozen (row numbers start at 1): it stays in view when scrolling
    assert workbook.active.freeze_panes == f"A{start + 2}"
    assert workbook.active.cell(row=start + 1, column=1).font.bold
    definitions = [r[0] for r in workbook["Définitions"].iter_rows(values_only=True)]
    assert any(d and d.startswith("Relogement : bail signé") for d in definitions)
    xlsx = {r[1]: r[2] for r in rows[start + 1 :]}
    assert xlsx.pop("Total") == expected["relogements"].sum()
    assert xlsx == expected["relogements"].to_dict()


def test_shared_link_restores_the_view_and_flags_wrong_values(page, served_app, raw_tables):
    open_page(
        page,
        served_app,
        f"?epci={SICOVAL}&debut=2024-01&fin=2024-06&criteres=DALO&bailleurs=999&pays=fr",
    )
    filters = Filters(start="2024-01", end="2024-06", epci=(SICOVAL,), criteres=("DALO",))
    wait_for_kpi(
        page,
        "relogements_criteres",
        int(oracle.monthly_rehousing(raw_tables, filters)["relogements"].sum()),
    )
    expect(
        page.locator(
            ".relog-filter-epci .choices__list--multiple .choices__item", has_text="Sicoval"
        )
    ).to_be_visible()
    expect(page.locator(".relog-filter-start select")).to_have_value(re.compile(".+"))
    notice = page.locator(".relog-notices")
    expect(notice).to_contain_text("Bailleur ignoré")
    expect(notice).to_contain_text("Paramètre d'adresse inconnu ignoré : « pays »")
    # the address bar now holds only what was applied
    wait_for_query(
        page, {"epci": SICOVAL, "debut": "2024-01", "fin": "2024-06", "criteres": "DALO"}
    )


def test_an_address_with_thousands_of_codes_gets_a_french_answer(page, served_app):
    """6 000 codes (a forged or broken link): a French page (HTTP 414) with a link to the
    page without filters, never a blank page; 150 codes, under the server's limit: the
    page, with that filter ignored and said."""
    codes = ",".join(f"{i:09d}" for i in range(6000))
    response = page.goto(f"{served_app.url}/app?epci={codes}")
    assert response.status == 414
    expect(page.get_by_role("heading", name="Adresse trop longue")).to_be_visible()
    page.get_by_role("link", name="Ouvrir la page sans ces filtres").click()
    expect(page.locator(".relog-kpi [data-valeur]").first).to_be_visible()

    open_page(page, served_app, "app?epci=" + ",".join(f"{i:09d}" for i in range(150)))
    expect(page.locator(".relog-notices")).to_contain_text(
        "Trop de codes dans l'adresse pour le filtre « EPCI » (150, au plus 100)"
    )
    # the browser logs the refused address's status: the one console error expected
    assert [e for e in page.watch.errors if "414" not in e] == []
    page.watch.errors.clear()


def test_back_and_forward_move_between_views(page, served_app, raw_tables):
    open_page(page, served_app, "?debut=2025-01&fin=2025-12")
    all_epci = int(
        oracle.monthly_rehousing(raw_tables, Filters(start="2025-01", end="2025-12"))[
            "relogements"
        ].sum()
    )
    wait_for_kpi(page, "relogements", all_epci)
    choose(page, "epci", "Sicoval")
    sicoval = Filters(start="2025-01", end="2025-12", epci=(SICOVAL,))
    wait_for_rehousings(page, raw_tables, sicoval)
    wait_for_query(page, {"debut": "2025-01", "fin": "2025-12", "epci": SICOVAL})
    page.go_back()
    wait_for_kpi(page, "relogements", all_epci)
    expect(
        page.locator(".relog-filter-epci .choices__list--multiple .choices__item")
    ).to_have_count(0)
    assert query_of(page) == {"debut": "2025-01", "fin": "2025-12"}
    page.go_forward()
    wait_for_rehousings(page, raw_tables, sicoval)
    expect(
        page.locator(
            ".relog-filter-epci .choices__list--multiple .choices__item", has_text="Sicoval"
        )
    ).to_be_visible()
    assert query_of(page)["epci"] == SICOVAL


def test_clicking_a_row_filters_the_page(page, served_app, raw_tables):
    open_page(page, served_app, "?debut=2025-01&fin=2025-12&onglet=epci")
    page.locator(".relog-table-epci .tabulator-row", has_text="Sicoval").first.locator(
        '[tabulator-field="libelle"]'
    ).click()
    sicoval = Filters(start="2025-01", end="2025-12", epci=(SICOVAL,))
    wait_for_rehousings(page, raw_tables, sicoval)
    wait_for_query(page, {"debut": "2025-01", "fin": "2025-12", "epci": SICOVAL, "onglet": "epci"})


def test_reset_returns_to_the_rolling_default(page, served_app):
    open_page(page, served_app, f"?epci={SICOVAL}&debut=2024-01&fin=2024-03")
    page.locator(".relog-reset button").click()
    expect(page.locator(".relog-filter-start select")).to_have_value(re.compile(".+"))
    wait_for_query(page, {})
    expect(
        page.locator(".relog-filter-epci .choices__list--multiple .choices__item")
    ).to_have_count(0)


def test_pipeline_tab_shows_the_independent_monthly_counts(page, served_app, raw_tables):
    open_page(page, served_app, f"?epci={SICOVAL}&debut=2025-01&fin=2025-06")
    page.locator(".bk-tab", has_text="Des propositions aux baux").click()
    expected = oracle.pipeline(raw_tables, Filters(start="2025-01", end="2025-06", epci=(SICOVAL,)))
    row = page.locator(".relog-table-pipeline .tabulator-row", has_text="mars 2025").first
    expect(row).to_be_visible()
    cells = {
        c.get_attribute("tabulator-field"): c.inner_text()
        for c in row.locator(".tabulator-cell").all()
    }
    march = expected.iloc[2]
    assert number(cells["propositions"]) == march["propositions"]
    assert number(cells["refus_menage"]) == march["refus_menage"]
    assert number(cells["baux_signes"]) == march["baux_signes"]
    # a filter change while the tab is shown updates it
    page.locator(".relog-filter-end select").select_option(label="mars 2025")
    expect(
        page.locator(".relog-table-pipeline .tabulator-row", has_text="juin 2025")
    ).to_have_count(0)


def test_filter_search_speaks_french(page, served_app):
    open_page(page, served_app)
    box = page.locator(".relog-filter-communes input.choices__input--cloned")
    box.click()
    box.press_sequentially("zzz")
    message = page.locator(".relog-filter-communes .has-no-results")
    expect(message).to_be_attached()
    assert message.evaluate("e => getComputedStyle(e, '::after').content") == '"Aucun résultat"'
    assert (
        message.evaluate("e => getComputedStyle(e).fontSize") == "0px"
    )  # the English text is hidden


@pytest.mark.parametrize("route", ["", "carte"])
def test_the_active_filters_stay_in_view_when_the_filter_panel_is_hidden(page, served_app, route):
    page.goto(f"{served_app.url}/{route}?epci={SICOVAL}&criteres=DALO&bailleurs=2")
    summary = page.locator(".relog-filter-summary")
    expect(summary).to_contain_text("Sicoval")
    page.locator("#sidebar-button").click()  # the template's menu button hides the filters
    expect(page.locator(".relog-filter-epci")).to_be_hidden()
    expect(summary).to_be_visible()
    for text in ("EPCI", "Sicoval", "Critères de priorité", "DALO", "Bailleurs", "Promologis"):
        expect(summary).to_contain_text(text)
    page.emulate_media(media="print")
    expect(summary).to_be_visible()
    page.emulate_media(media="screen")
    page.goto(f"{served_app.url}/{route}")
    expect(page.locator(".relog-filter-summary")).to_contain_text("Aucun filtre")


CC_TARN_AGOUT = "200034023"  # one commune in the département


def test_a_period_without_rehousing_says_so_everywhere(page, served_app, raw_tables):
    filters = Filters(start="2026-01", end="2026-06", epci=(CC_TARN_AGOUT,))
    assert oracle.monthly_rehousing(raw_tables, filters)["relogements"].sum() == 0
    open_page(page, served_app, f"?epci={CC_TARN_AGOUT}&debut=2026-01&fin=2026-06")
    expect(page.locator(".relog-empty")).to_contain_text("Aucun relogement")
    expect(page.locator(".relog-table-empty-reservataire")).to_contain_text("Aucun relogement")
    label = """() => Bokeh.documents.some(d => {
        const l = d.get_model_by_name('relog-graphique-vide'); return l != null && l.visible })"""
    page.wait_for_function(label)
    # the same page with rehousings: no empty-state message left behind
    page.locator(".relog-filter-start select").select_option(label="janvier 2024")
    expect(page.locator(".relog-empty")).to_have_count(0)
    expect(page.locator(".relog-table-empty-reservataire")).to_be_hidden()
    page.wait_for_function(label.replace("l.visible", "!l.visible"))


@pytest.mark.parametrize("width, height", [(1920, 1080), (1280, 720)])
def test_the_total_row_is_on_top_of_the_table_in_view(browser, served_app, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
    try:
        page = context.new_page()
        open_page(page, served_app)
        table = page.locator(".relog-table-reservataire .tabulator").first
        total = page.locator(
            ".relog-table-reservataire .tabulator-frozen-rows-holder .tabulator-row"
        ).first
        table.scroll_into_view_if_needed()
        expect(total).to_contain_text("Total")
        page.locator(".relog-table-reservataire .tabulator-tableholder").first.evaluate(
            "holder => { holder.scrollTop = 250 }"  # the members scroll, the total stays
        )
        # its label cell is inside the table's frame (the figures may scroll sideways on a
        # narrow screen, as every row's do), right under the column headings; read in the page
        # once the layout has settled (a busy machine lays it out late)
        cell = total.locator(".tabulator-cell", has_text="Total").first
        cell.evaluate(
            """(cell) => new Promise((resolve, reject) => {
                const table = cell.closest(".tabulator")
                const placed = () => {
                    const c = cell.getBoundingClientRect(), t = table.getBoundingClientRect()
                    return t.left - 1 <= c.left && c.right <= t.right + 1 &&
                           t.top <= c.top && c.top <= t.top + 80
                }
                let tries = 0
                const check = () => placed() ? resolve(true)
                    : ++tries > 200 ? reject(new Error("the total row is not in view"))
                    : requestAnimationFrame(check)
                check()
            })"""
        )
    finally:
        context.close()


def test_a_criterion_filter_shows_the_group_share_of_all_rehousings(page, served_app, raw_tables):
    open_page(page, served_app, f"?epci={TOULOUSE_METROPOLE}&criteres=DALO&onglet=bailleur")
    dalo = Filters(epci=(TOULOUSE_METROPOLE,), criteres=("DALO",), start="2025-11", end="2026-10")
    group = oracle.monthly_rehousing(raw_tables, dalo)["relogements"].sum()
    everyone = oracle.monthly_rehousing(raw_tables, dalo.replace(criteres=()))["relogements"].sum()
    wait_for_kpi(page, "relogements_criteres", int(group))
    wait_for_kpi(page, "relogements_tous_menages", int(everyone))
    share = f"{group / everyone * 100:.1f}".replace(".", ",") + "\u00a0%"
    expect(page.locator('[data-valeur="part_criteres"]')).to_have_text(share)
    assert 0 < group < everyone  # not the 100 % of a share computed on the group itself
    expect(page.locator('[data-valeur="part_prioritaires"]')).to_have_count(0)
    # the table names the share and computes it on all the bailleur's rehousings
    titles = page.locator(".relog-table-bailleur .tabulator-col-title").all_inner_texts()
    assert "Part des critères choisis" in titles and "Part prioritaire" not in titles
    by_bailleur = (
        oracle.monthly_rehousing(raw_tables, dalo, "bailleur")
        .groupby("libelle")["relogements"]
        .sum()
    )
    all_bailleur = (
        oracle.monthly_rehousing(raw_tables, dalo.replace(criteres=()), "bailleur")
        .groupby("libelle")["relogements"]
        .sum()
    )
    top = all_bailleur.idxmax()
    row = page.locator(".relog-table-bailleur .tabulator-row", has_text=top).first
    cells = row.locator(".tabulator-cell:visible").all_inner_texts()
    shown = titles[titles.index("Libellé") :]
    value = cells[shown.index("Part des critères choisis")]
    expected = by_bailleur.get(top, 0) / all_bailleur[top] * 100
    assert value.replace("\u00a0", " ") == f"{expected:.1f} %".replace(".", ",")


def test_rows_below_the_legal_share_are_flagged_in_words_and_colour(page, served_app, raw_tables):
    open_page(page, served_app)
    titles = page.locator(".relog-table-reservataire .tabulator-col-title").all_inner_texts()
    shown = titles[titles.index("Libellé") :]
    column = shown.index("Objectif")
    filters = Filters(start="2025-11", end="2026-10")
    by = (
        oracle.monthly_rehousing(raw_tables, filters, "reservataire")
        .groupby("libelle")[["relogements", "relogements_prioritaires"]]
        .sum()
    )
    share = by["relogements_prioritaires"] / by["relogements"]
    below, above = share[share < 0.25].idxmax(), share[share >= 0.25].idxmax()
    for name, text in ((below, "▼ non atteint"), (above, "atteint")):
        row = page.locator(".relog-table-reservataire .tabulator-row", has_text=name).first
        cell = row.locator(".tabulator-cell:visible").nth(column)
        expect(cell).to_have_text(text)
    row = page.locator(".relog-table-reservataire .tabulator-row", has_text=below).first
    colour = (
        row.locator(".tabulator-cell:visible")
        .nth(column)
        .evaluate("c => getComputedStyle(c).color")
    )
    assert colour == "rgb(179, 38, 30)"  # and red, not colour alone


def test_the_chart_is_paired_with_its_table(page, served_app, raw_tables):
    open_page(page, served_app, f"?epci={SICOVAL}&debut=2025-01&fin=2025-06")
    page.get_by_text("Tableau des données du graphique").click()
    rows = page.locator(".relog-table-serie .tabulator-row")
    expect(rows).to_have_count(7)  # six months and the total
    monthly = oracle.monthly_rehousing(
        raw_tables, Filters(start="2025-01", end="2025-06", epci=(SICOVAL,))
    )
    first = rows.first.locator(".tabulator-cell:visible").all_inner_texts()
    assert first[0] == "janvier 2025"
    assert number(first[1]) == monthly["relogements"].iloc[0]
    assert number(first[2]) == monthly["relogements_prioritaires"].iloc[0]
    # it follows the filters, as the chart does
    page.locator(".relog-filter-end select").select_option(label="mars 2025")
    expect(rows).to_have_count(4)


def test_the_address_follows_every_change_and_back_steps_one_change_at_a_time(
    page, browser, served_app, raw_tables
):
    open_page(page, served_app, "?bailleurs=2")
    steps = []

    def changed(expected: dict[str, str]) -> None:
        wait_for_query(page, expected)  # at once: not one change behind
        steps.append(dict(expected))

    changed({"bailleurs": "2"})
    page.locator(".relog-filter-end select").select_option(label="juin 2026")
    changed({"bailleurs": "2", "debut": "2025-11", "fin": "2026-06"})
    page.locator(".relog-filter-start select").select_option(label="janvier 2026")
    changed({"bailleurs": "2", "debut": "2026-01", "fin": "2026-06"})
    page.locator(".bk-tab", has_text="EPCI").click()
    changed({"bailleurs": "2", "debut": "2026-01", "fin": "2026-06", "onglet": "epci"})
    row = page.locator(".relog-table-epci .tabulator-row", has_text="Toulouse Métropole").first
    row.locator('[tabulator-field="libelle"]').click()
    changed({**steps[-1], "epci": TOULOUSE_METROPOLE})
    filters = Filters(start="2026-01", end="2026-06", bailleurs=(2,), epci=(TOULOUSE_METROPOLE,))
    count = int(oracle.monthly_rehousing(raw_tables, filters)["relogements"].sum())
    wait_for_kpi(page, "relogements", count)
    # the address opened elsewhere shows the same figures
    other = browser.new_context(locale="fr-FR").new_page()
    try:
        other.goto(page.evaluate("location.href"))
        wait_for_kpi(other, "relogements", count)
    finally:
        other.context.close()
    # Back steps one change at a time, and the view follows the address
    for expected in reversed(steps[:-1]):
        page.go_back()
        wait_for_query(page, expected)
    expect(page.locator(".relog-filter-end select")).to_have_value(re.compile(".+"))


def test_the_map_address_follows_its_own_choices(page, served_app):
    page.goto(f"{served_app.url}/carte")
    expect(page.locator(".relog-legend-demande-body")).to_be_visible()
    page.locator(".relog-demand select").select_option(label="Tension (demandes ÷ baux)")
    wait_for_query(page, {"demande": "tension"})
    page.locator(".relog-level button", has_text="EPCI").click()
    wait_for_query(page, {"demande": "tension", "niveau": "epci"})
    page.locator(".relog-supply select").select_option(label="Baux signés (12 mois)")
    wait_for_query(page, {"demande": "tension", "niveau": "epci", "offre": "baux_12m"})
    page.go_back()
    wait_for_query(page, {"demande": "tension", "niveau": "epci"})
    expect(page.locator(".relog-legend-offre-body h3")).to_have_text("Logements sociaux")
