"""The map page without a browser: its figures are ``demand_supply``'s, every commune is drawn
once, a change of indicator sends values and never shapes again, a bad boundary file leaves
the page up with a French message naming what is wrong."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest
from bokeh.document import Document
from bokeh.document.events import ColumnDataChangedEvent, ModelChangedEvent

from dashboards.pages.demand_supply import DemandSupplyPage
from dashboards.state.demand_supply import DEMAND, SUPPLY, DemandSupplyState
from data_access import Filters, Scope
from geodata.classes import classify, count_bins
from geodata.layers import map_frame, map_layers
from tests import oracle
from tests.paths import SHARED_GEODATA

pytestmark = pytest.mark.slow

INDICATORS = [*DEMAND, *SUPPLY]
SHARED = SHARED_GEODATA
COMMUNES_31 = SHARED / "derived/communes-31-cog2026-simplifie.geojson"
QPV_31 = SHARED / "qpv-hackaviz2021/qp-31-haute-garonne-2015.geojson"
TOULOUSE_METROPOLE, SICOVAL = "243100518", "243100633"


def _layers(replica, **files):
    settings = replace(replica.settings, **{k: Path(v) for k, v in files.items()})
    return map_layers(
        settings, replica.reference("commune"), replica.reference("epci"), replica.reference("qpv")
    )


@pytest.fixture
def state(duckdb_replica) -> DemandSupplyState:
    return DemandSupplyState(duckdb_replica)


@pytest.fixture
def real_layers(duckdb_replica):
    if not SHARED.exists():
        pytest.fail(f"../shared/geodata is missing beside the checkout ({SHARED})")
    return _layers(duckdb_replica, contours_communes=COMMUNES_31, contours_qpv=QPV_31)


def test_state_module_imports_no_panel():
    code = "import sys, dashboards.state.demand_supply; sys.exit('panel' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("level", ["commune", "epci"])
def test_values_are_the_api_figures_and_the_independent_count(
    state, duckdb_replica, raw_tables, level
):
    state.param.update(
        level=level, epci=[TOULOUSE_METROPOLE, SICOVAL], criteres=["DALO"], typologie="T3"
    )
    values = state.values()
    at = state.at
    api = duckdb_replica.demand_supply(state.filters(), level=level, at=at).set_index(level)
    independent = oracle.demand_supply(raw_tables, state.filters(), level, at).set_index(level)
    inside = values[values["dans_selection"]]
    for column in (c for c in INDICATORS if c != "desequilibre"):
        pd.testing.assert_series_equal(
            inside[column].astype(float), api[column].astype(float), check_names=False
        )
        pd.testing.assert_series_equal(
            inside[column].astype(float), independent[column].astype(float), check_names=False
        )
    pressure = oracle.typology_pressure(raw_tables, state.filters(), level, at)
    pressure = pressure[pressure["typologie"] == "T3"].set_index(level)
    pd.testing.assert_series_equal(
        inside["desequilibre"], pressure["desequilibre"], check_names=False
    )
    # every territory of the reference once; those outside the filters present but empty
    reference = duckdb_replica.reference(level)
    assert sorted(values.index) == sorted(reference.index) and values.index.is_unique
    outside = values[~values["dans_selection"]]
    assert len(outside) and outside["demandes_actives"].isna().all()


@pytest.mark.parametrize(
    "filters, protected",
    [
        ({}, False),
        ({"level": "epci", "epci": [SICOVAL], "criteres": ["DALO"], "typologie": "T4"}, False),
        ({"level": "commune", "end": pd.Timestamp("2025-03-01").date()}, True),
    ],
)
def test_prefetch_asks_everything_the_map_asks(demo_path, filters, protected):
    """After the state's prefetch, the map's figures, totals, links and caption ask the
    database nothing more: the page's refresh, which awaits the prefetch off the event loop,
    never queries on it (a figure that asks a new question must be added to
    DemandSupplyState.prefetch). A cache of its own (fresh settings key it)."""
    from data_access import Replica
    from data_access.settings import load_settings

    ttl = 2000 + len(filters) + protected
    settings = replace(load_settings(), demo_path=demo_path, version_ttl_s=ttl)
    replica = Replica(url=f"duckdb:///{demo_path}", settings=settings, cache=True)
    try:
        state = DemandSupplyState(replica, protected=protected)
        state.param.update(**filters)
        futures = state.prefetch()
        assert futures, "nothing prefetched"
        for future in futures:
            future.result()
        misses = replica._cache.misses
        values = state.values()
        state.totals(values)
        state.caption()
        state.links_by_code()
        for column in (state.demand, state.supply):
            state.classes(values, column)
        assert replica._cache.misses == misses
    finally:
        replica.dispose()


def test_observation_date_is_the_end_of_the_chosen_month(state):
    state.end = pd.Timestamp("2025-08-01").date()
    assert str(state.at) == "2025-08-31"
    assert "Demande au 31/08/2025" in state.caption() and "depuis le 01/09/2024" in state.caption()


def test_classes_cover_every_value_with_french_labels(state):
    values = state.values()
    for column in INDICATORS:
        classes = state.classes(values, column)
        assert len(classes.colours) == len(values)
        assert all(label and "." not in label for _, label in classes.legend), classes.legend
        legend_colours = {colour for colour, _ in classes.legend}
        assert set(classes.colours) <= legend_colours, column
    # whole counts: classes « de a à b » follow each other without overlap (b + 1 starts the next)
    import re

    for column in ("demandes_actives", "demandes_prioritaires_actives", "logements", "baux_12m"):
        labels = [
            label for _, label in state.classes(values, column).legend if label.startswith("de ")
        ]
        bounds = [[int(re.sub(r"\D", "", n)) for n in label[3:].split(" à ")] for label in labels]
        assert all(nxt[0] == prev[1] + 1 for prev, nxt in pairwise(bounds)), (column, labels)
    # counts: zero alone, then classes whose bounds hold every value
    bins = count_bins(values["demandes_actives"].to_numpy(dtype=float))
    assert bins[0] == 0 and bins[-1] == values["demandes_actives"].max()
    toulouse = values.index.get_loc("31555")
    assert state.classes(values, "demandes_actives").colours[toulouse] == DEMAND_DARKEST


DEMAND_DARKEST = "#a63603"


def test_classify_marks_empty_ratios_and_territories_outside_the_selection():
    values = pd.Series([1.0, np.nan, 12.0, 3.0])
    inside = pd.Series([True, True, True, False])
    classes = classify(values, inside, indicator="tension")
    assert classes.colours[1] == "#d9d9d9" and classes.colours[3] == "#f4f4f4"
    labels = [label for _, label in classes.legend]
    assert labels[0] == "jusqu'à 2,00" and "plus de 10,00" in labels
    assert "sans objet (aucun bail)" in labels and "hors sélection" in labels


def test_counts_all_zero_take_the_lightest_colour_not_the_darkest():
    classes = classify(pd.Series([0.0, 0.0, np.nan]), indicator="logements_liberes_12m")
    assert classes.legend[0] == ("#eff3ff", "0") and classes.colours[:2] == ["#eff3ff"] * 2
    one = classify(pd.Series([0.0, 7.0]), indicator="logements_liberes_12m")
    assert [c for c, _ in one.legend] == ["#eff3ff", "#08519c"]  # zero, then the darkest


def test_notebook_map_and_map_page_give_identical_classes(state, duckdb_replica):
    """Notebook 02 colours ``map_frame`` with ``classify``: the same classes, colours and
    legend as /carte for the same figures, territory by territory."""
    if not COMMUNES_31.exists():
        pytest.fail(f"../shared/geodata is missing beside the checkout ({COMMUNES_31})")
    state.apply_query({"fin": "2026-06"})
    values = state.values()
    settings = replace(duckdb_replica.settings, contours_communes=COMMUNES_31)
    figures = duckdb_replica.demand_supply(Filters(end="2026-06"), level="commune")
    carte = map_frame(duckdb_replica, figures, "commune", settings=settings).set_index("code")
    carte = carte.reindex(values.index)
    for column in [c for c in INDICATORS if c != "desequilibre"]:
        page, notebook = state.classes(values, column), classify(carte[column], indicator=column)
        assert page.legend == notebook.legend and page.colours == notebook.colours, column


def test_links_open_the_rehousing_page_on_the_territory(state):
    state.param.update(bailleurs=[1], end=pd.Timestamp("2026-03-01").date(), epci=[SICOVAL])
    link = state.link("31004")  # Ayguesvives, in the Sicoval: the EPCI filter stays
    assert link.startswith("./app?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    assert query == {
        "debut": "2025-04",
        "fin": "2026-03",
        "communes": "31004",
        "bailleurs": "1",
        "epci": SICOVAL,
    }
    query = {k: v[0] for k, v in parse_qs(urlsplit(state.link("31555")).query).items()}
    assert query == {"debut": "2025-04", "fin": "2026-03", "communes": "31555", "bailleurs": "1"}
    state.level = "epci"
    query = parse_qs(urlsplit(state.link(TOULOUSE_METROPOLE)).query)
    assert query["epci"] == [TOULOUSE_METROPOLE]
    # chosen communes: an EPCI click keeps them, so the page shows the figures of the map
    state.param.update(epci=[], communes=["31555", "31004"])
    query = {k: v[0] for k, v in parse_qs(urlsplit(state.link(TOULOUSE_METROPOLE)).query).items()}
    assert query["epci"] == TOULOUSE_METROPOLE and query["communes"] == "31555"
    query = {k: v[0] for k, v in parse_qs(urlsplit(state.link(SICOVAL)).query).items()}
    assert query["communes"] == "31004"


def test_url_round_trip_and_wrong_values(state, duckdb_replica):
    notices = state.apply_query(
        {
            "niveau": "epci",
            "demande": "desequilibre",
            "typologie": "T4",
            "offre": "nimporte",
            "epci": f"{SICOVAL},999",
        }
    )
    assert (state.level, state.demand, state.typologie, state.supply) == (
        "epci",
        "desequilibre",
        "T4",
        "logements",
    )
    assert any("offre" in n.lower() and "nimporte" in n for n in notices)
    assert any("999" in n for n in notices)
    again = DemandSupplyState(duckdb_replica)
    again.apply_query(state.to_query())
    assert again.to_query() == state.to_query()


def test_scope_limits_the_map_to_what_the_profile_may_see(duckdb_replica):
    state = DemandSupplyState(duckdb_replica, scope=Scope(epci=(SICOVAL,), label="Sicoval"))
    values = state.values()
    communes = duckdb_replica.reference("commune")
    assert set(values.index) == set(communes.index[communes["epci"] == SICOVAL])


# ------------------------------------------------------------------ the page
def _page(replica, layers) -> DemandSupplyPage:
    page = DemandSupplyPage(DemandSupplyState(replica), layers)
    page.__panel__()
    page.sidebar()
    return page


def test_page_draws_every_commune_once_with_the_state_colours(duckdb_replica, real_layers):
    page = _page(duckdb_replica, real_layers)
    data = page.maps.sources["commune"].data
    assert sorted(data["code"]) == sorted(duckdb_replica.reference("commune").index)
    assert len(set(data["code"])) == len(data["code"]) == 586
    values = page.state.values().reindex(data["code"])
    expected = page.state.classes(values, page.state.demand).colours
    assert data["couleur_demande"] == expected
    toulouse = data["code"].index("31555")
    figures = duckdb_replica.demand_supply(page.state.filters(), at=page.state.at).set_index(
        "commune"
    )
    assert data["v_demandes_actives"][toulouse] == figures.loc["31555", "demandes_actives"]
    assert "./app?" in page.maps.links["inside"] and "communes=CODE" in page.maps.links["inside"]
    assert all("Demande au 31/10/2026" in hover.tooltips for hover in page.maps.hovers)


def test_a_change_of_indicator_or_filter_sends_values_never_shapes(duckdb_replica, real_layers):
    page = _page(duckdb_replica, real_layers)
    doc = Document()
    doc.add_root(page.maps.demand)
    doc.add_root(page.maps.supply)
    events = []
    doc.callbacks.on_change(lambda event: events.append(event))
    page.state.demand = "tension"  # a change of indicator: one column of colours
    assert [e.cols for e in events if isinstance(e, ColumnDataChangedEvent)] == [
        ["couleur_demande"]
    ]
    page.state.param.update(epci=[SICOVAL], supply="baux_12m")
    data_events = [e for e in events if isinstance(e, ColumnDataChangedEvent)]
    assert data_events, "no value was sent"
    sent = {c for e in data_events for c in e.cols}
    assert "couleur_demande" in sent and "v_tension" in sent
    assert not sent & {"xs", "ys", "code", "nom"}
    assert not any(isinstance(e, ModelChangedEvent) and e.attr == "data" for e in events)


def test_schematic_map_without_boundary_file_is_labelled(duckdb_replica, tmp_path, monkeypatch):
    absent = tmp_path / "absent.geojson"
    monkeypatch.setattr("geodata.layers.cached_communes", lambda dep, cache=None: absent)
    monkeypatch.setattr("geodata.layers.shipped", lambda level, dep: absent)  # none shipped
    layers = _layers(duckdb_replica)
    assert layers.schematic and not layers.errors and layers.notices
    page = _page(duckdb_replica, layers)
    assert page.maps.schematic_labels and "Schéma" in page.maps.schematic_labels[0].text
    assert len(page.maps.sources["commune"].data["code"]) == 586
    notices = [o for o in page.__panel__().objects if "relog-boundary-notice" in o.css_classes]
    assert notices and "un schéma" in notices[0].object


def test_partial_boundary_file_names_what_is_missing_and_the_page_still_loads(
    duckdb_replica, tmp_path
):
    import geopandas as gpd

    frame = gpd.read_file(COMMUNES_31)
    partial = tmp_path / "partiel.geojson"
    frame[~frame["code"].isin(["31555", "31069"])].to_file(partial, driver="GeoJSON")
    layers = _layers(duckdb_replica, contours_communes=partial)
    assert layers.commune is None and len(layers.errors) == 1
    assert (
        "31555 (Toulouse)" in layers.errors[0]
        and "31069" in layers.errors[0]
        and "incomplet" in layers.errors[0]
    )
    page = _page(duckdb_replica, layers)
    assert page.maps is None
    rendered = page.__panel__()
    alerts = [
        o for o in rendered.objects if getattr(o, "alert_type", None) == "danger" and o.visible
    ]
    assert any(
        "31555 (Toulouse)" in a.object and "ne peut pas être affichée" in a.object for a in alerts
    )
    assert (
        "Demandes actives" in page.legends["demande"].object
    )  # the figures' legend still computed


def test_malformed_boundary_file_gives_a_french_error(duckdb_replica, tmp_path):
    bad = tmp_path / "contours.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [ {"type": ')
    layers = _layers(duckdb_replica, contours_communes=bad)
    assert (
        layers.commune is None
        and "illisible" in layers.errors[0]
        and "contours.geojson" in layers.errors[0]
    )
    qpv_bad = _layers(duckdb_replica, contours_communes=COMMUNES_31, contours_qpv=bad)
    assert qpv_bad.commune is not None and qpv_bad.qpv is None and "QPV" in qpv_bad.errors[0]
    page = _page(duckdb_replica, qpv_bad)
    assert page.maps is not None and page.qpv.disabled
    # a bad EPCI file: its message, and EPCI drawn as the union of their communes
    epci_bad = _layers(duckdb_replica, contours_communes=COMMUNES_31, contours_epci=bad)
    assert (
        "Contours des EPCI" in epci_bad.errors[0]
        and "union de leurs communes" in epci_bad.errors[0]
    )
    page = _page(duckdb_replica, epci_bad)
    page.state.level = "epci"
    assert len(page.maps.sources["epci"].data["code"]) == 18


def test_qpv_outlines_are_an_optional_layer(duckdb_replica, real_layers):
    page = _page(duckdb_replica, real_layers)
    assert len(page.maps.qpv_renderers) == 2 and not any(r.visible for r in page.maps.qpv_renderers)
    page.qpv.value = ["qpv"]
    assert all(r.visible for r in page.maps.qpv_renderers)


def test_epci_level_is_the_union_of_communes(duckdb_replica, real_layers):
    page = _page(duckdb_replica, real_layers)
    page.state.level = "epci"
    epci = page.maps.sources["epci"].data
    assert sorted(epci["code"]) == sorted(duckdb_replica.reference("epci").index)
    assert all(not r.visible for r in page.maps.renderers["commune"])
    area = real_layers.epci.frame.set_index("code").area
    communes = real_layers.commune.frame.assign(
        epci=duckdb_replica.reference("commune")["epci"]
        .reindex(real_layers.commune.frame["code"])
        .to_numpy()
    )
    assert np.allclose(
        area.sort_index(),
        communes.groupby("epci").apply(lambda f: f.area.sum()).sort_index(),
        rtol=1e-6,
    )
