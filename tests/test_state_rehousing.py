"""The rehousing page's state, without Panel: its figures are the API's, its filters follow
each other, its URL round-trips and refuses wrong values with French notices."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook

from dashboards.state.rehousing import GROUPS, RehousingState
from data_access import Filters, Scope
from tests import oracle

pytestmark = pytest.mark.slow

TOULOUSE_METROPOLE, SICOVAL = "243100518", "243100633"


@pytest.fixture
def state(duckdb_replica) -> RehousingState:
    return RehousingState(duckdb_replica)


def test_state_module_imports_no_panel():
    code = "import sys, dashboards.state.rehousing; sys.exit('panel' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_default_view_is_twelve_last_complete_months(state, duckdb_replica):
    assert state.period == duckdb_replica.default_period()
    assert (state.period.start, state.period.end) == (date(2025, 11, 1), date(2026, 10, 1))
    assert state.to_query() == {}


def test_changing_filters_gives_the_api_figures(state, duckdb_replica, raw_tables):
    state.param.update(
        epci=[TOULOUSE_METROPOLE],
        start=date(2025, 1, 1),
        end=date(2025, 12, 1),
        criteres=["DALO", "ACD"],
        qpv="non",
    )
    filters = Filters(
        start="2025-01",
        end="2025-12",
        epci=[TOULOUSE_METROPOLE],
        criteres=["DALO", "ACD"],
        qpv=False,
    )
    assert state.filters() == filters
    pd.testing.assert_frame_equal(
        state.key_figures(), duckdb_replica.rehousing_key_figures(filters)
    )
    pd.testing.assert_frame_equal(state.pipeline(), duckdb_replica.pipeline(filters))
    # and against the independent computation
    monthly = oracle.monthly_rehousing(raw_tables, filters)
    series = state.series()
    assert series["relogements"].tolist() == monthly["relogements"].tolist()
    assert (
        series["relogements_prioritaires"].tolist() == monthly["relogements_prioritaires"].tolist()
    )
    assert (series[list(GROUPS.values())].sum(axis=1) == series["relogements_prioritaires"]).all()
    by_epci = (
        oracle.monthly_rehousing(raw_tables, filters, "epci").groupby("epci")["relogements"].sum()
    )
    table = state.breakdown_table("epci").set_index("epci")
    group = table["relogements_criteres"]  # a criteria filter: the group against everyone
    assert group[group > 0].to_dict() == by_epci[by_epci > 0].to_dict()
    assert "part_criteres" in table and "part_prioritaires" not in table


def test_breakdown_tables_and_their_exports_show_the_waiting_time_of_the_rehoused(
    state, raw_tables
):
    """An indicator declared for the « repartition » view (the registry) is in every
    breakdown table, its total row and its files, with the independent computation's values."""
    state.param.update(start=date(2025, 1, 1), end=date(2025, 12, 1), bailleurs=[1, 2])
    filters = state.filters()
    table = state.table("epci")
    members, total = table.iloc[:-1].set_index("epci"), table.iloc[-1]
    want = oracle.rehousing_delay(raw_tables, filters, "epci").set_index("epci")
    columns = list(want.columns.drop("libelle"))
    members.index = members.index.astype(str)
    want.index = want.index.astype(str)
    pd.testing.assert_frame_equal(
        members[columns].sort_index(), want[columns].sort_index(), check_names=False
    )
    whole = oracle.rehousing_delay(raw_tables, filters, None).iloc[0]
    assert total["libelle"] == "Total"
    assert [total[c] for c in columns] == pytest.approx([whole[c] for c in columns])
    _, content = state.export("epci", "csv")
    text = content.decode("utf-8-sig")
    assert "Délai d'attente médian des ménages prioritaires relogés (mois)" in text
    assert "Définition;Délai d'attente : du dépôt de la demande" in text
    median = f"{whole['delai_median_prioritaires']:.1f}".replace(".", ",")
    lines = text.split("\r\n")
    header = next(line for line in lines if line.startswith("SIREN de l'EPCI")).split(";")
    at = header.index("Délai d'attente médian des ménages prioritaires relogés (mois)")
    assert lines[-2].split(";")[at] == median  # the total row, last


def test_key_figures_compare_with_a_year_earlier(state, raw_tables):
    state.param.update(start=date(2025, 3, 1), end=date(2025, 8, 1), bailleurs=[1])
    figures = state.key_figures().set_index("fenetre")
    now = oracle.monthly_rehousing(
        raw_tables, Filters(start="2025-03", end="2025-08", bailleurs=[1])
    )
    before = oracle.monthly_rehousing(
        raw_tables, Filters(start="2024-03", end="2024-08", bailleurs=[1])
    )
    period = figures.loc["periode"]
    assert period["relogements"] == now["relogements"].sum()
    assert period["relogements_an_dernier"] == before["relogements"].sum()
    assert period["evolution_prioritaires"] == pytest.approx(
        now["relogements_prioritaires"].sum() / before["relogements_prioritaires"].sum() - 1
    )
    last = figures.loc["dernier_mois"]
    assert last["relogements"] == now["relogements"].iloc[-1]
    assert last["relogements_an_dernier"] == before["relogements"].iloc[-1]


def test_no_comparison_before_the_first_month_of_data(state):
    state.param.update(start=state.coverage.start, end=state.coverage.start)
    figures = state.key_figures()
    assert figures["relogements_an_dernier"].isna().all()
    assert figures["evolution_relogements"].isna().all()


def test_commune_list_follows_the_epci(state, duckdb_replica):
    communes = duckdb_replica.reference("commune")
    assert len(state.param.communes.objects) == len(communes)
    state.communes = ["31555", "31003"]  # Toulouse and Aigrefeuille (Toulouse Métropole)
    state.epci = [SICOVAL]
    sicoval = set(communes.index[communes["epci"] == SICOVAL])
    assert set(state.param.communes.objects.values()) == sicoval
    assert state.communes == []  # Toulouse is not in the Sicoval: dropped


def test_reservataire_list_follows_the_nature(state, duckdb_replica):
    natures = duckdb_replica.reference("reservataire")["nature"]
    state.natures_reservataire = ["action_logement"]
    assert set(state.param.reservataires.objects.values()) == set(
        natures.index[natures == "action_logement"]
    )


def test_scope_limits_the_lists(duckdb_replica):
    state = RehousingState(duckdb_replica, scope=Scope(epci=(SICOVAL,), label="Sicoval"))
    assert list(state.param.epci.objects.values()) == [SICOVAL]
    assert state.apply_query({"epci": TOULOUSE_METROPOLE}) and state.epci == []
    assert set(state.breakdown_table("epci")["epci"]) == {SICOVAL}


def test_url_round_trip_restores_the_view(state, duckdb_replica):
    state.param.update(
        start=date(2024, 7, 1),
        end=date(2025, 6, 1),
        epci=[TOULOUSE_METROPOLE],
        communes=["31555"],
        bailleurs=[2, 1],
        criteres=["DALO"],
        mutation="non",
        qpv="oui",
        natures_reservataire=["etat_prioritaire"],
        breakdown="commune",
    )
    query = state.to_query()
    assert query == {
        "debut": "2024-07",
        "fin": "2025-06",
        "natures": "etat_prioritaire",
        "epci": TOULOUSE_METROPOLE,
        "communes": "31555",
        "bailleurs": "2,1",
        "criteres": "DALO",
        "mutation": "non",
        "qpv": "oui",
        "onglet": "commune",
    }
    other = RehousingState(duckdb_replica)
    assert other.apply_query(query) == []
    for name in (
        "start",
        "end",
        "natures_reservataire",
        "epci",
        "communes",
        "bailleurs",
        "criteres",
        "mutation",
        "qpv",
        "breakdown",
    ):
        assert getattr(other, name) == getattr(state, name), name  # same values, same types
    assert other.filters() == state.filters()


def test_link_with_reservataires_restores_them_as_ids(state, duckdb_replica):
    natures = duckdb_replica.reference("reservataire")["nature"]
    al = int(natures.index[natures == "action_logement"][0])
    state.natures_reservataire = ["epci"]  # another nature on screen
    assert state.apply_query({"natures": "action_logement", "reservataires": str(al)}) == []
    assert state.reservataires == [al] and state.natures_reservataire == ["action_logement"]
    assert state.apply_query({"reservataires": f"{al},{al}"}) == [] and state.reservataires == [al]
    notices = state.apply_query({"reservataires": "\u00b2", "bailleurs": "12345"})
    assert len(notices) == 2 and state.reservataires == [] and state.bailleurs == []


def test_link_with_only_an_end_month_shows_the_twelve_months_ending_then(state):
    state.apply_query({"fin": "2024-06"})
    assert (state.period.start, state.period.end) == (date(2023, 7, 1), date(2024, 6, 1))


@pytest.mark.parametrize(
    "query, notice",
    [
        ({"epci": "123456789"}, "EPCI ignoré"),
        ({"communes": "99999"}, "Commune ignorée"),
        ({"debut": "2025-13"}, "Mois invalide"),
        ({"debut": "0000-01"}, "Mois invalide"),
        ({"fin": "99999-01"}, "Mois invalide"),
        ({"epci": ",".join(f"{i:09d}" for i in range(6000))}, "Trop de codes"),
        ({"debut": "2001-01"}, "Mois hors des données"),
        ({"debut": "2026-01", "fin": "2025-01"}, "début après la fin"),
        ({"mutation": "peut-etre"}, "valeur inconnue"),
        ({"bailleurs": "abc"}, "Bailleur ignoré"),
        ({"onglet": "secret"}, "valeur inconnue"),
        ({"pays": "fr"}, "Paramètre d'adresse inconnu"),
        ({"epci": SICOVAL, "communes": "31555"}, "hors des EPCI"),
    ],
)
def test_wrong_url_value_is_ignored_with_a_french_notice(state, query, notice):
    notices = state.apply_query({**query, "criteres": "DALO"})
    assert len(notices) == 1 and notice in notices[0], notices
    assert state.notices == notices
    assert state.criteres == ["DALO"]  # the rest of the link still applies
    state.filters()  # and the view is valid


def test_an_address_with_too_many_codes_drops_that_filter_and_names_a_few(state):
    """A link's filter naming more than MAX_CODES codes is ignored as a whole (the page
    does not check 6 000 codes one by one); a notice names ten wrong codes, then counts."""
    from dashboards.state.filters import MAX_CODES

    many = ",".join(f"{i:05d}" for i in range(MAX_CODES + 1))
    notices = state.apply_query({"communes": many, "epci": SICOVAL})
    assert notices == [
        "Trop de codes dans l'adresse pour le filtre « Communes » (101, au plus 100) : "
        "filtre ignoré."
    ]
    assert state.communes == [] and state.epci == [SICOVAL]
    wrong = ",".join(f"9{i:08d}" for i in range(30))
    notices = state.apply_query({"epci": wrong, "pays": "fr", "langue": "en"})
    assert notices[0] == "Paramètres d'adresse inconnus ignorés : « pays », « langue »."
    assert notices[1].endswith(", 900000009 et 20 autres.") and notices[1].count(",") == 9
    assert state.epci == []


def test_focus_on_a_reservataire_row_keeps_a_valid_nature(state, duckdb_replica):
    natures = duckdb_replica.reference("reservataire")["nature"]
    commune_res = int(natures.index[natures == "commune"][0])
    state.natures_reservataire = ["epci"]
    state.focus("reservataire", commune_res)
    assert state.natures_reservataire == ["commune"] and state.reservataires == [commune_res]
    state.filters()
    state.focus("bailleur", 99999)
    assert state.bailleurs == [] and "absent du référentiel" in state.notices[-1]


def test_focus_filters_on_a_breakdown_member(state):
    state.focus("commune", "31555")
    assert state.communes == ["31555"]
    state.epci = [SICOVAL]
    state.focus("commune", "31557")  # Tournefeuille: its EPCI follows
    assert state.epci == [TOULOUSE_METROPOLE] and state.communes == ["31557"]
    state.focus("bailleur", "INCONNU")
    assert state.bailleurs == [] and "non renseignées" in state.notices[-1]


def test_reset_restores_the_default_view(state):
    state.param.update(start=date(2024, 1, 1), epci=[SICOVAL], mutation="oui")
    state.reset()
    assert state.to_query() == {} and state.filters() == RehousingState(state.replica).filters()


def test_csv_export_opens_in_french_excel(state):
    state.param.update(start=date(2025, 1, 1), end=date(2025, 12, 1), epci=[TOULOUSE_METROPOLE])
    name, content = state.export("bailleur", "csv")
    assert name == "relogements-par-bailleur_2025-01_2025-12.csv"
    assert content.startswith(b"\xef\xbb\xbf")
    text = content.decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0] == "Relogements par bailleur"
    assert "Période;De janvier 2025 à décembre 2025" in lines
    assert "Filtres;EPCI : Toulouse Métropole" in lines
    assert any(line.startswith("Fraîcheur;Données extraites le ") for line in lines)
    header = lines.index(
        "Identifiant du bailleur;Libellé;Relogements (baux signés);"
        "Relogements de ménages prioritaires;Part des ménages prioritaires (%);"
        "Part prioritaire sous l'objectif légal;"
        "Délai d'attente médian des ménages prioritaires relogés (mois);"
        "Délai d'attente médian des ménages non prioritaires relogés (mois);"
        "Part des ménages prioritaires relogés après un délai anormalement long (%);"
        "Part des ménages non prioritaires relogés après un délai anormalement long (%)"
    )
    table = pd.read_csv(
        io.StringIO("\r\n".join(lines[header:])), sep=";", decimal=",", dtype={0: str}
    )
    expected = state.table("bailleur")
    assert table.iloc[:, 2].tolist() == expected["relogements"].tolist()
    assert table.iloc[-1, 1] == "Total"
    assert (
        table.iloc[:, 4].round(1).tolist()
        == (expected["part_prioritaires"] * 100).round(1).tolist()
    )


def test_xlsx_export_has_real_numbers_and_context(state):
    name, content = state.export("serie", "xlsx")
    assert name.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Relogements mensuels par groupe de critère"
    assert ("Période", "De novembre 2025 à octobre 2026") in [r[:2] for r in rows]
    header = next(i for i, r in enumerate(rows) if r[0] == "Mois")
    body = rows[header + 1 :]
    series = state.series()
    assert [r[1] for r in body[:-1]] == series["relogements"].tolist()
    assert body[-1][0] == "Total" and body[-1][1] == series["relogements"].sum()
    assert sheet.cell(row=header + 2, column=2).number_format == "#,##0"
    assert sheet.cell(row=header + 2, column=4).number_format == "0.0%"


def test_going_back_to_another_territory_restores_it_in_one_step(state):
    assert state.apply_query({"epci": SICOVAL, "communes": "31004"}) == []  # Ayguesvives, Sicoval
    events = []
    state.param.watch(lambda *e: events.append(len(e)), ["epci", "communes", "start"])
    assert (
        state.apply_query({"epci": TOULOUSE_METROPOLE, "communes": "31555", "debut": "2025-01"})
        == []
    )
    assert (state.epci, state.communes) == ([TOULOUSE_METROPOLE], ["31555"])
    assert events == [3]  # one batch of changes, one refresh


def test_notices_quoting_a_link_are_shown_as_text(state):
    """A shared link is anyone's text: what it held is escaped, never rendered as HTML."""
    from dashboards.components.feedback import notices

    messages = state.apply_query(
        {"x<img src=x onerror=alert(1)>": "1", "epci": "<svg onload=alert(1)>"}
    )
    html = notices(messages).object
    assert "<img" not in html and "<svg" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;svg onload=alert(1)&gt;" in html


@pytest.mark.parametrize(
    "filters, tables",
    [
        ({}, {"reservataire"}),
        ({"epci": [SICOVAL], "criteres": ["DALO"]}, {"bailleur", "pipeline"}),
        ({"qpv": "oui", "start": date(2024, 3, 1), "end": date(2025, 2, 1)}, {"commune"}),
    ],
)
def test_prefetch_asks_everything_the_figures_ask(demo_path, filters, tables):
    """After the state's prefetch, the key figures, the chart and the tables ask the
    database nothing more: every cached question they ask was started by it (a figure that
    asks a new question must be added to RehousingState.prefetch). A cache of its own (fresh
    settings key it), so that nothing asked by another test hides a missing question."""
    from dataclasses import replace

    from data_access import Replica
    from data_access.settings import load_settings

    settings = replace(load_settings(), demo_path=demo_path, version_ttl_s=1000 + len(tables))
    replica = Replica(url=f"duckdb:///{demo_path}", settings=settings, cache=True)
    try:
        state = RehousingState(replica)
        state.param.update(**filters)
        futures = state.prefetch(tables)
        assert futures, "nothing prefetched"
        for future in futures:
            future.result()
        misses = replica._cache.misses
        state.key_figures()
        state.series()
        for key in tables:
            state.table(key)
        assert replica._cache.misses == misses
    finally:
        replica.dispose()
