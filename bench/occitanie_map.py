"""The map page served on a large commune layer (``RELOG_BENCH_COMMUNES``, by default the
4 446 communes of Occitanie), for ``relog bench``: served with ``panel serve``, never by
``relog serve``. Its figures are the demo replica's; communes outside it are drawn
« hors sélection »."""

from __future__ import annotations

import os

import geopandas as gpd
import panel as pn

from dashboards.layout import replica, serve_page
from dashboards.pages.demand_supply import DemandSupplyPage
from dashboards.state.demand_supply import DemandSupplyState
from geodata.boundaries import load_boundaries
from geodata.layers import MapLayers, epci_from_communes

pn.extension(loading_indicator=True, sizing_mode="stretch_width")


def _layers() -> MapLayers:
    path = os.environ["RELOG_BENCH_COMMUNES"]
    attributes = gpd.read_file(
        path, columns=["code", "nom", "epci_siren", "epci_nom"], ignore_geometry=True
    )
    communes = attributes.rename(columns={"nom": "libelle", "epci_siren": "epci"}).set_index("code")
    epci = (
        attributes.drop_duplicates("epci_siren")
        .rename(columns={"epci_nom": "libelle"})
        .set_index("epci_siren")
    )
    layer = load_boundaries(path, "commune", communes)
    return MapLayers(commune=layer, epci=epci_from_communes(layer, communes, epci), qpv=None)


def build(_replica=None, _protected=False):
    layers = pn.state.as_cached("relog-bench-layers", _layers)
    page = DemandSupplyPage(DemandSupplyState(replica()), layers)
    return page.sidebar(), page


serve_page("carte", "Banc d'essai : carte d'Occitanie", build)
