"""The plan follow-up page without a browser: its state (year and filters in the address,
what it refuses and says), its tables' markup, its sections' filters and scope, its files,
and who may open it."""

from __future__ import annotations

import io
import re
import subprocess

import pandas as pd
import pytest
from openpyxl import load_workbook

from dashboards.pages.plan import PlanPage, build, html_table
from dashboards.state.plan import PlanState
from data_access import Filters, RelogError, Scope
from data_access.plan import SECTIONS, PlanReport

pytestmark = pytest.mark.slow

SICOVAL, TOULOUSE = "243100633", "243100518"


def test_the_address_carries_the_year_and_the_filters_and_refuses_the_rest(cached_replica):
    state = PlanState(cached_replica)
    assert state.year == "2026" and state.to_query() == {}
    assert (state.start.isoformat(), state.end.isoformat()) == ("2026-01-01", "2026-10-01")
    notices = state.apply_query(
        {"annee": "2025", "epci": SICOVAL, "communes": "31555", "qpv": "oui", "debut": "2025-03"}
    )
    assert state.year == "2025" and state.epci == [SICOVAL]
    assert state.to_query() == {"annee": "2025", "epci": SICOVAL}
    assert (state.start.isoformat(), state.end.isoformat()) == ("2025-01-01", "2025-12-01")
    assert any("fixés par EPCI" in n for n in notices)
    assert any("QPV" in n for n in notices) and any("« debut »" in n for n in notices)
    assert state.filters() == Filters(start="2025-01", end="2025-12", epci=(SICOVAL,))
    state.apply_query({"annee": "1990", "bailleurs": "999"})
    assert state.year == "2026" and state.bailleurs == []
    assert any("Année inconnue" in n for n in state.notices)
    assert any("Bailleur ignoré" in n for n in state.notices)


def test_tables_are_accessible_html_with_their_definitions_and_links():
    frame = pd.DataFrame(
        {"reservataire": [1, 2], "libelle": ["État <DALO>", "Ville"],
         "relogements": [1234, 0], "part_prioritaires": [0.2534, float("nan")],
         "objectif_atteint": [False, None]}
    )  # fmt: skip
    html = html_table(
        frame,
        ["libelle", "relogements", "part_prioritaires", "objectif_atteint"],
        "Légende",
        link=lambda r: f"./app?reservataires={r['reservataire']}",
        late=lambda r: r["objectif_atteint"] is False,
    )
    assert "<caption>Légende</caption>" in html
    assert html.count('<th scope="col"') == 4 and html.count('<th scope="row"') == 2
    assert "État &lt;DALO&gt;" in html  # names are escaped
    assert '<a href="./app?reservataires=1">' in html
    assert "1\u202f234" in html and "25,3\u00a0%" in html and "–" in html
    assert html.count('class="relog-retard"') == 1
    assert 'title="Relogement : bail signé' in html
    assert "Aucune ligne" in html_table(frame.iloc[:0], ["libelle"], "Vide")


def test_each_section_follows_the_filters_it_can(cached_replica):
    """A réservataire filter narrows the 25 % and is said, not applied, beside the accord
    collectif and the quartile rules; the waiting households follow the territory only."""
    every = PlanReport(cached_replica, 2026)
    state = PlanReport(cached_replica, 2026, Filters(reservataires=(1,), bailleurs=(2,)))
    assert list(state.reservataires()["reservataire"]) == [1]
    assert state.notes("accord") and "réservataire" in state.notes("accord")
    assert state.notes("reservataires") is None
    bailleur_only = PlanReport(cached_replica, 2026, Filters(bailleurs=(2,)))
    pd.testing.assert_frame_equal(state.accord("epci"), bailleur_only.accord("epci"))
    pd.testing.assert_frame_equal(state.dalo_epci(), every.dalo_epci())
    assert "bailleur" in state.notes("attente")


def test_a_profile_scope_narrows_every_section(cached_replica):
    """The scope applies in SQL on the plan too: a Sicoval profile's plan holds Sicoval's
    rows only, with the figures the department's plan shows for Sicoval."""
    sicoval = PlanReport(cached_replica.scoped(Scope(epci=(SICOVAL,), label="Sicoval")), 2026)
    every = PlanReport(cached_replica, 2026)
    assert set(sicoval.accord("epci")["epci"]) == {SICOVAL}
    assert set(sicoval.dalo_epci()["epci"]) == {SICOVAL}
    assert set(sicoval.quartile()["epci"]) == {SICOVAL}
    row = every.accord("epci").set_index("epci").loc[SICOVAL]
    assert (
        sicoval.accord("epci")["relogements_prioritaires"].sum() == row["relogements_prioritaires"]
    )
    assert (
        sicoval.stock()["dalo_delai_depasse"].iloc[-1]
        == (every.dalo_epci().set_index("epci").loc[SICOVAL, "dalo_delai_depasse"])
    )
    assert set(PlanState(sicoval.replica).param.epci.objects.values()) == {SICOVAL}


def test_the_workbook_has_a_context_sheet_and_one_sheet_per_section(cached_replica):
    report = PlanReport(cached_replica, 2025, Filters(epci=(TOULOUSE,)))
    book = load_workbook(io.BytesIO(report.workbook()))
    assert book.sheetnames == ["Contexte", *[name for name, _, _ in report.sheets()]]
    assert len(book.sheetnames) == 1 + len(SECTIONS)
    context = [r for r in book["Contexte"].iter_rows(values_only=True)]
    assert ("Période", "De janvier 2025 à décembre 2025") in [r[:2] for r in context]
    assert any(r[0] == "Définition" and "Premier quartile" in (r[1] or "") for r in context)
    rows = list(book["1er quartile"].iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r and r[0] == "SIREN de l'EPCI")
    quartile = report.quartile()
    assert len(rows) - header - 1 == len(quartile)
    share = rows[header].index("Part atteinte depuis janvier (%)")
    assert rows[header + 1][share] == pytest.approx(quartile["part_regle"].iloc[0])


def test_the_pdf_is_one_a4_page_whose_text_holds_the_key_figures(cached_replica, tmp_path):
    report = PlanReport(cached_replica, 2026)
    path = tmp_path / "fiche.pdf"
    path.write_bytes(report.pdf())
    info = subprocess.run(["pdfinfo", path], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Pages:\s+1\n", info) and "(A4)" in info
    text = subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True).stdout
    flat = re.sub(r"\s+", " ", text.replace("\u00a0", " "))
    figures = report.key_figures()
    for key in ("part_prioritaires", "accord_realise", "dalo_delai_depasse", "accord_taux"):
        assert figures[key].replace("\u202f", " ").replace("\u00a0", " ") in flat, key


def test_protected_profiles_are_refused_in_french_and_the_page_builds(cached_replica):
    with pytest.raises(RelogError, match="réservé aux profils qui lisent les chiffres exacts"):
        build(cached_replica, protected=True)
    _, page = build(cached_replica)
    assert isinstance(page, PlanPage)
    page.__panel__()
    assert 'data-valeur="accord"' in page._panes["kpis"].object
    assert page._panes["accord_bailleur_epci"].object == ""  # computed when shown
