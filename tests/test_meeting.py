"""The meeting page's figures without a browser: protected for every viewer (a DDETS
profile included), small counts never shown, « autres » never a way to subtract a masked
figure, the address's set-up checked in French, and one data-version change costing one set
of queries per process however many screens show the meeting."""

from __future__ import annotations

import re

import pytest
from bokeh.document import Document

from bench.queries import RecordingReplica
from dashboards.components.maps import SECRET
from dashboards.pages.meeting import MeetingPage, build
from dashboards.state.demand_supply import PROTECTED
from dashboards.state.meeting import VIEWS, MeetingState
from data_access import Scope
from data_access.secrecy import Secret
from geodata.classes import NO_VALUE
from tests import oracle

pytestmark = pytest.mark.slow

CAGIRE = "200073146"  # a small EPCI of the demo: 1 to 4 households in many months


def _numbers(html: str) -> list[int]:
    """Every count a view shows (French thousands, within its cells)."""
    cells = re.findall(r'(?:class="valeur"[^>]*>|class="num">)([^<]*)<', html)
    return [int(re.sub(r"\D", "", c)) for c in cells if re.fullmatch(r"[\d\u202f\u00a0 ]+", c)]


def test_the_meeting_is_protected_whoever_looks(cached_replica):
    _, page = build(cached_replica, protected=False)  # an exact profile's session
    assert page.state.protected
    exact = cached_replica.rehousing_summary(page.state.filters().replace(epci=(CAGIRE,)))
    assert 0 < exact["relogements_prioritaires"].sum() < 5  # what must not be shown
    page.state.apply_query({"epci": CAGIRE})
    figures = page.state.month_figures()
    assert figures["prioritaires_annee"] == "< 5"
    assert "&lt; 5" in page.pane.object


@pytest.mark.parametrize("view", list(VIEWS))
def test_no_view_shows_a_count_of_one_to_four_households(cached_replica, view):
    k = cached_replica.settings.secrecy_k
    state = MeetingState(cached_replica)
    page = MeetingPage(state)
    epci = list(state.param.epci.objects.values())
    for code in [None, *epci]:
        state.apply_query({"vues": view, **({"epci": code} if code else {})})
        shown = _numbers(page.pane.object)
        assert all(n == 0 or n >= k for n in shown), (code, shown)
    if view == "carte":  # the maps' hover counts of households (« < k » travels as -k,
        # « s » as -1000; the stock of dwellings is public)
        for source in page.maps.sources.values():
            for name in PROTECTED:
                assert not any(0 < v < k for v in source.data[f"v_{name}"]), name
    if view == "mois":  # the chart's own labels: its hover texts
        data = page.chart.source.data
        for column in ("total_texte", "prioritaires_texte"):
            for text in data[column]:
                digits = re.sub(r"\D", "", str(text))
                assert not digits or int(digits) == 0 or int(digits) >= k


def test_others_never_give_a_masked_figure_away(cached_replica):
    """« Autres » is the total less the rows shown; rows with a masked figure are never
    shown (they go into « autres »), so the table adds up and hides what it must."""
    state = MeetingState(cached_replica)
    for rank in (3, 8, 15):
        state.apply_query({"rang": str(rank)})
        table = state.top_breakdown().set_index("libelle")
        shown = table.drop(index=["Total", "Autres EPCI"], errors="ignore")
        assert not any(isinstance(v, (str, Secret)) for v in shown["relogements"])
        total = table.loc["Total"]
        if "Autres EPCI" in table.index:
            rest = table.loc["Autres EPCI"]
            for column in ("relogements", "relogements_prioritaires"):
                if not isinstance(rest[column], str):
                    assert rest[column] == total[column] - shown[column].sum()
    # the masked EPCI of the protected table are exactly those not shown
    protected = state.breakdown_table("epci")
    masked = protected[protected["relogements_prioritaires"].map(lambda v: isinstance(v, str))]
    assert len(masked) and not set(masked["libelle"]) & set(shown.index)


def test_the_address_sets_the_meeting_up_and_wrong_values_are_said(cached_replica):
    state = MeetingState(cached_replica)
    notices = state.apply_query(
        {"vues": "repartition,chiffres,plan", "rotation": "20", "rang": "99", "epci": CAGIRE}
    )
    assert state.views == ["repartition", "chiffres"] and state.rotation == 20
    assert state.top == 8 and state.epci == [CAGIRE]
    assert any("plan" in n for n in notices) and any("Rang invalide" in n for n in notices)
    assert state.to_query() == {"epci": CAGIRE, "vues": "repartition,chiffres", "rotation": "20"}
    state.apply_query({})
    assert state.views == list(VIEWS) and state.rotation == 0 and state.to_query() == {}


def test_one_data_version_change_runs_each_question_once_for_twenty_screens(duckdb_replica):
    replica = RecordingReplica(url=duckdb_replica.url, settings=duckdb_replica.settings)
    version = {"value": "v1"}
    replica.data_version = lambda: version["value"]
    try:
        pages = []
        for _ in range(20):  # twenty screens of one server process
            page = MeetingPage(MeetingState(replica))
            page.__panel__().get_root(Document())
            pages.append(page)
        version["value"] = "v2"  # the replica was refreshed
        replica.recorded.clear()
        pages[0].check_version()  # the first screen's periodic check reads the new figures
        one_screen = len(replica.recorded)
        assert one_screen > 0, "the new version's figures were read"
        for page in pages[1:]:  # the nineteen others read them from the process's cache
            page.check_version()
        assert len(replica.recorded) == one_screen

        def figures(page) -> str:  # the view without its reading time (a minute may turn)
            return re.sub(r"Mis à jour à \d\d:\d\d", "", page.pane.object)

        for page in pages:  # and every screen shows them
            assert figures(page) == figures(pages[0])
        replica.recorded.clear()
        for page in pages:  # the same version again: nothing read
            page.check_version()
        assert replica.recorded == []
    finally:
        replica.dispose()


def test_a_scoped_profile_meets_on_its_own_territory(cached_replica):
    sicoval = cached_replica.scoped(Scope(epci=("243100633",), label="CA du Sicoval"))
    state = MeetingState(sicoval)
    assert state.caption().startswith("CA du Sicoval")
    assert list(state.top_breakdown()["libelle"]) == ["CA du Sicoval", "Total"]


def test_the_map_view_shows_one_epci_by_commune_protected_as_the_oracle_counts(
    cached_replica, raw_tables
):
    """The map of one EPCI: its communes (the others « hors sélection »), framed on it;
    each figure the oracle's count when it is 0 or at least k, « < k » (-k) for 1 to k − 1 or
    « s »; a masked commune is grey and the legend says why."""
    k = cached_replica.settings.secrecy_k
    state = MeetingState(cached_replica)
    page = MeetingPage(state)
    state.apply_query({"vues": "carte", "epci": CAGIRE})
    assert "relog-vue-carte" in page.pane.object and page.map_box.visible
    assert "Demandes au " in page.pane.object and "Mis à jour à" in page.pane.object
    data = page.maps.sources["commune"].data
    inside = [i for i, flag in enumerate(data["dans_selection"]) if flag]
    epci_of = raw_tables["commune"].set_index("code_insee")["epci_siren"]
    assert {epci_of[data["code"][i]] for i in inside} == {CAGIRE}
    assert len(inside) == (epci_of == CAGIRE).sum() < len(data["code"])
    expected = oracle.demand_supply(
        raw_tables, state.map_state().filters().replace(epci=()), "commune",
        at=state.map_state().at,
    ).set_index("commune")  # fmt: skip
    masked = 0
    for column in ("demandes_actives", "logements_liberes_12m"):
        for i in inside:
            shown, count = data[f"v_{column}"][i], int(expected.at[data["code"][i], column])
            if shown >= 0:
                assert shown == count and (count == 0 or count >= k), (column, i)
            else:
                masked += 1
                assert shown == SECRET or (shown == -k and 0 < count < k), (column, i, shown)
                side = "demande" if column == "demandes_actives" else "offre"
                assert data[f"couleur_{side}"][i] == NO_VALUE
    assert masked, "the EPCI has small counts to mask"
    assert "&lt; 5 ou s (secret)" in page.map_legends["demande"].object
    frame = page.maps._frame.data  # the maps framed on the EPCI's communes
    layer = page.layers.layer("commune").frame
    bounds = layer[layer["code"].map(epci_of) == CAGIRE].total_bounds
    assert list(frame["x"]) == [bounds[0], bounds[2]] and list(frame["y"]) == [bounds[1], bounds[3]]
    # the whole territory: the EPCI, every one in the selection
    state.apply_query({"vues": "carte"})
    data = page.maps.sources["epci"].data
    assert all(data["dans_selection"]) and len(data["code"]) == raw_tables["epci"].shape[0]
    assert page.maps.renderers["epci"][0].visible and not page.maps.renderers["commune"][0].visible
