"""The pages' pieces as a notebook uses them (issue 21): each builds its Bokeh models and
follows its state's filters, with the API's figures; the pages open on a replica with
filter values, checked as an address is."""

from __future__ import annotations

import panel as pn
import pytest
from bokeh.document import Document

from dashboards.components.live import Breakdown, KeyFigures, Maps, MonthlyChart
from dashboards.pages.rehousing import RehousingPage
from dashboards.state.rehousing import RehousingState
from data_access import FilterError

pytestmark = pytest.mark.slow

SICOVAL, TOULOUSE = "243100633", "243100518"


def test_the_pieces_follow_their_state_with_the_apis_figures(cached_replica):
    state = RehousingState.opened(cached_replica, {"epci": [SICOVAL]})
    pieces = [KeyFigures(state), MonthlyChart(state), Breakdown(state, by="bailleur")]
    root = pn.Row(*pieces).get_root(Document())
    assert len(root.references()) > 30
    figures, chart, table = pieces
    total = int(cached_replica.rehousing_summary(state.filters())["relogements"].sum())
    assert f'data-valeur="relogements">{total:,}'.replace(",", "\u202f") in figures._pane.object
    state.epci = [TOULOUSE]
    total = int(cached_replica.rehousing_summary(state.filters())["relogements"].sum())
    assert f'data-valeur="relogements">{total:,}'.replace(",", "\u202f") in figures._pane.object
    series = cached_replica.monthly_rehousing(state.filters())
    assert sum(chart.chart.source.data["relogements_dalo"]) <= series["relogements"].sum()
    assert len(chart.chart.source.data["mois"]) == len(series)
    bailleurs = cached_replica.rehousing_summary(state.filters(), by="bailleur")
    assert len(table.table.widget.value) == len(bailleurs) + 1  # the total row on top


def test_a_page_and_the_maps_open_on_a_replica_with_filter_values(cached_replica):
    page = RehousingPage(cached_replica, epci=[SICOVAL, "999"], start="2025-01", end="2025-06")
    assert page.show_filters and page.state.epci == [SICOVAL]
    assert any("999" in n for n in page.state.notices)
    assert page.state.to_query() == {"debut": "2025-01", "fin": "2025-06", "epci": SICOVAL}
    assert len(pn.panel(page).get_root(Document()).references()) > 100
    maps = Maps(cached_replica, level="epci")
    assert maps.state.level == "epci"
    assert len(pn.panel(maps).get_root(Document()).references()) > 20
    with pytest.raises(FilterError, match="Paramètre inconnu"):
        RehousingPage(cached_replica, pays="fr")
