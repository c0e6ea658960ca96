"""Route ``/carte`` of ``relog serve``: demand against supply, by commune and EPCI."""

from __future__ import annotations

import panel as pn

from dashboards.layout import serve_page
from dashboards.pages.demand_supply import TITLE, DemandSupplyPage
from dashboards.state.demand_supply import DemandSupplyState
from geodata.layers import map_layers

pn.extension(loading_indicator=True, sizing_mode="stretch_width")


def build(rep, protected=False):
    layers = pn.state.as_cached(
        "relog-map-layers",
        lambda: map_layers(
            rep.settings, rep.reference("commune"), rep.reference("epci"), rep.reference("qpv")
        ),
    )
    page = DemandSupplyPage(DemandSupplyState(rep, protected=protected), layers)
    if pn.state.location is not None:
        page.restore(pn.state.location.search or "")
    return page.sidebar, page


serve_page("carte", TITLE, build)
