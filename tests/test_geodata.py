"""Boundary layers on the real files of ``../shared/geodata`` (read in place, never copied
into the repository): validation, re-coding, simplification, French errors, and the fetch
path against a local HTTP server."""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geodata import BoundaryError, build_layer, schematic_communes
from geodata.fetch import fetch_communes
from tests.paths import SHARED_GEODATA

pytestmark = pytest.mark.slow

SHARED = SHARED_GEODATA
COMMUNES_2018 = (
    SHARED / "france-geojson/departements/31-haute-garonne/communes-31-haute-garonne.geojson"
)
COMMUNES_OCCITANIE = SHARED / "derived/communes-occitanie-cog2026-simplifie.geojson"
EPCI_31 = SHARED / "derived/epci-31-cog2026-derive.geojson"
QPV_OCCITANIE = SHARED / "qpv-hackaviz2021/qp-occitanie-2015.geojson"

if not SHARED.exists():  # CI clones main with ../shared beside it
    pytest.skip("../shared/geodata absent", allow_module_level=True)


@pytest.fixture(scope="module")
def communes(duckdb_replica):
    return duckdb_replica.reference("commune")


def test_every_reference_commune_appears_exactly_once(communes):
    layer = build_layer(COMMUNES_2018, "commune", communes)
    assert sorted(layer.frame["code"]) == sorted(communes.index)
    assert layer.frame["code"].is_unique
    assert layer.frame.crs == "EPSG:2154"
    assert layer.frame.geometry.is_valid.all()


def test_merged_communes_are_dissolved_into_the_current_one(communes):
    layer = build_layer(COMMUNES_2018, "commune", communes, tolerance=0)
    assert layer.report.recoded == {"31298": "31471"}
    raw = gpd.read_file(COMMUNES_2018).set_index("code").to_crs("EPSG:2154")
    merged = layer.frame.set_index("code").geometry["31471"]
    expected = shapely.union_all([raw.geometry["31298"], raw.geometry["31471"]])
    assert merged.symmetric_difference(expected).area < 1e-3 * expected.area
    assert "31298 → 31471" in layer.report.notes[0]


def test_simplification_keeps_neighbours_glued(communes):
    full = build_layer(COMMUNES_2018, "commune", communes, tolerance=0)
    simple = build_layer(COMMUNES_2018, "commune", communes, tolerance=300)
    vertices = lambda layer: int(shapely.get_num_coordinates(layer.frame.geometry.values).sum())  # noqa: E731
    assert vertices(simple) < 0.8 * vertices(full)
    assert shapely.coverage_is_valid(simple.frame.geometry.values)


def test_larger_file_keeps_only_the_reference(communes):
    layer = build_layer(COMMUNES_OCCITANIE, "commune", communes)
    assert len(layer.frame) == len(communes) and len(layer.report.outside) == 4446 - 586


def test_epci_and_qpv_layers(duckdb_replica):
    epci = build_layer(EPCI_31, "epci", duckdb_replica.reference("epci"))
    assert sorted(epci.frame["code"]) == sorted(duckdb_replica.reference("epci").index)
    qpv = build_layer(QPV_OCCITANIE, "qpv", duckdb_replica.reference("qpv"))
    assert len(qpv.frame) == 19 and qpv.frame.geometry.is_valid.all()
    assert any("réparé" in note for note in qpv.report.notes)  # the 2015 file has invalid rings


def test_admin_express_attribute_names_are_understood(tmp_path, communes):
    frame = gpd.read_file(COMMUNES_OCCITANIE).rename(columns={"code": "INSEE_COM", "nom": "NOM"})
    path = tmp_path / "COMMUNE.gpkg"
    frame[["INSEE_COM", "NOM", "geometry"]].to_file(path, driver="GPKG")
    layer = build_layer(path, "commune", communes)
    assert len(layer.frame) == 586


def test_partial_file_names_the_missing_communes(tmp_path, communes):
    frame = gpd.read_file(COMMUNES_OCCITANIE)
    partial = frame[~frame["code"].isin(["31555", "31149"])]
    path = tmp_path / "partiel.geojson"
    partial.to_file(path, driver="GeoJSON")
    with pytest.raises(
        BoundaryError, match=r"incomplet.*2 commune\(s\).*31149 \(Colomiers\), 31555 \(Toulouse\)"
    ):
        build_layer(path, "commune", communes)


@pytest.mark.parametrize(
    "content, message",
    [
        ("pas du json", "illisible"),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "properties": {"code": "31555"},
                            "geometry": {"type": "Point", "coordinates": [1.4, 43.6]},
                        }
                    ],
                }
            ),
            "doit contenir des polygones",
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "properties": {"id": "31555"},
                            "geometry": {
                                "type": "Polygon",
                                "coordinates": [[[1, 43], [1.1, 43], [1.1, 43.1], [1, 43]]],
                            },
                        }
                    ],
                }
            ),
            "pas de colonne de code commune",
        ),
    ],
)
def test_malformed_file_gives_a_french_error(tmp_path, communes, content, message):
    path = tmp_path / "contours.geojson"
    path.write_text(content)
    with pytest.raises(BoundaryError, match=message):
        build_layer(path, "commune", communes)


def test_missing_file_gives_a_french_error(communes):
    with pytest.raises(BoundaryError, match="introuvable"):
        build_layer(Path("/nulle/part.geojson"), "commune", communes)


def test_schematic_layout_covers_every_commune(communes):
    layer = schematic_communes(communes)
    assert layer.schematic and sorted(layer.frame["code"]) == sorted(communes.index)
    assert not layer.frame.geometry.overlaps(layer.frame.geometry.shift()).fillna(False).any()


@pytest.fixture
def geo_api(tmp_path):
    """A local stand-in for geo.api.gouv.fr serving the real 31 contours (query ignored)."""
    root = tmp_path / "api"
    (root / "departements" / "31").mkdir(parents=True)
    shutil.copy(COMMUNES_2018, root / "departements" / "31" / "communes")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_fetch_writes_the_contours_to_the_cache(geo_api, tmp_path, communes):
    path = fetch_communes("31", cache_dir=tmp_path / "cache", api_url=geo_api)
    assert path == tmp_path / "cache" / "communes-31.geojson"
    assert len(build_layer(path, "commune", communes).frame) == 586


def test_fetch_command_and_its_french_errors(geo_api, tmp_path):
    env_cmd = [
        sys.executable,
        "-m",
        "relog",
        "geodata",
        "fetch",
        "--departement",
        "31",
        "--out-dir",
        str(tmp_path / "c"),
    ]
    done = subprocess.run(
        env_cmd,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "RELOG_GEO_API_URL": geo_api},
    )
    assert done.returncode == 0 and "communes-31.geojson" in done.stdout
    with pytest.raises(BoundaryError, match="a répondu 404"):
        fetch_communes("32", cache_dir=tmp_path, api_url=geo_api)
    with pytest.raises(BoundaryError, match="injoignable"):
        fetch_communes("31", cache_dir=tmp_path, api_url="http://127.0.0.1:9", timeout=2)
    with pytest.raises(BoundaryError, match="invalide"):
        fetch_communes("3x1", cache_dir=tmp_path, api_url=geo_api)


# ------------------------------------------------------------------ the layers the product ships
def _default_layers(replica, tmp_path):
    from dataclasses import replace

    from geodata.layers import map_layers

    settings = replace(
        replica.settings, data_dir=tmp_path, contours_communes=None, contours_epci=None
    )
    return map_layers(
        settings, replica.reference("commune"), replica.reference("epci"), replica.reference("qpv")
    )


def test_without_any_contour_file_the_map_draws_the_shipped_department(duckdb_replica, tmp_path):
    """`make serve` on a fresh machine, offline: the real Haute-Garonne, not a schematic."""
    layers = _default_layers(duckdb_replica, tmp_path)
    assert not layers.schematic and layers.errors == [] and layers.notices == []
    assert layers.commune.report.source == "communes-31.geojson"
    assert sorted(layers.commune.frame["code"]) == sorted(duckdb_replica.reference("commune").index)
    assert layers.epci.report.source == "epci-31.geojson" and len(layers.epci.frame) == 18


def test_the_shipped_layers_are_what_the_project_tool_derives_from_the_public_file(
    duckdb_replica, tmp_path
):
    from geodata.derive import SHIPPED, derive

    written = derive(
        COMMUNES_2018,
        duckdb_replica.reference("commune"),
        duckdb_replica.reference("epci"),
        tmp_path,
    )
    for path in written:
        assert path.read_bytes() == (SHIPPED / path.name).read_bytes(), path.name
    assert sum((SHIPPED / p.name).stat().st_size for p in written) <= 1_000_000
    assert (SHIPPED / "README.md").read_text().count("Licence Ouverte") >= 2


def test_a_replica_the_shipped_layer_does_not_match_gets_a_labelled_schematic(
    duckdb_replica, tmp_path, monkeypatch
):
    import pandas as pd

    communes = duckdb_replica.reference("commune")
    extra = pd.DataFrame({"libelle": ["Nouvelle-Commune"], "epci": [communes["epci"].iloc[0]]},
                         index=pd.Index(["31999"], name="code"))  # fmt: skip
    monkeypatch.setattr(
        type(duckdb_replica), "reference",
        lambda self, name: pd.concat([communes, extra]) if name == "commune"
        else self._reference(name).copy(),
    )  # fmt: skip
    layers = _default_layers(duckdb_replica, tmp_path)
    assert layers.schematic and layers.errors == []
    assert "schéma" in layers.notices[0] and "RELOG_CONTOURS_COMMUNES" in layers.notices[0]


@pytest.mark.parametrize(
    "case, message",
    [
        ("lambert93-sans-crs", r"ne sont pas des degrés .*Lambert-93 \(EPSG:2154\) sans le dire"),
        ("degres-declares-lambert93", r"des degrés mais il déclare EPSG:2154"),
        ("longitude-latitude-inversees", r"hors de la France.*longitude et latitude inversées"),
    ],
)
def test_contours_in_a_wrong_or_missing_system_are_refused_in_french(
    tmp_path, communes, case, message
):
    """Issue 19: each of these gave a blank, blob-like or mirrored map without a word."""
    frame = gpd.read_file(COMMUNES_OCCITANIE)
    frame = frame[frame["code"].str.startswith("31")]
    if case == "lambert93-sans-crs":
        path = tmp_path / "l93.geojson"
        frame.to_crs("EPSG:2154").to_file(path, driver="GeoJSON")
        data = json.loads(path.read_text())
        data.pop("crs", None)  # what an export « without its system » looks like
        path.write_text(json.dumps(data))
    elif case == "degres-declares-lambert93":
        path = tmp_path / "faux.gpkg"
        frame.set_crs("EPSG:2154", allow_override=True).to_file(path, driver="GPKG")
    else:
        path = tmp_path / "inverse.geojson"
        swapped = shapely.transform(frame.geometry.values, lambda xy: xy[:, ::-1])
        frame.set_geometry(swapped).to_file(path, driver="GeoJSON")
    with pytest.raises(BoundaryError, match=message):
        build_layer(path, "commune", communes)


def test_contours_in_a_neighbouring_system_land_off_the_departement_and_are_refused(
    tmp_path, duckdb_replica, communes
):
    """The replica's département's communes in UTM zone 31 declared as zone 32: the map
    lands 500 km east, by the Alps, still inside metropolitan France's box (the check of
    issue 19's three cases lets it through) but off the département the product holds a
    layer of: refused, in French, with how far off it lands."""
    from dataclasses import replace

    from geodata.layers import departement_bounds, map_layers

    frame = gpd.read_file(COMMUNES_OCCITANIE)
    frame = frame[frame["code"].str.startswith("31")].to_crs("EPSG:32631")
    path = tmp_path / "utm.gpkg"
    frame.set_crs("EPSG:32632", allow_override=True).to_file(path, driver="GPKG")
    assert len(build_layer(path, "commune", communes).frame) == 586  # France's box: accepted
    settings = replace(duckdb_replica.settings, data_dir=tmp_path, contours_communes=path)
    where = departement_bounds(settings, communes)
    assert where.departement == "31" and where.source == "la couche livrée avec relog"
    layers = map_layers(
        settings, communes, duckdb_replica.reference("epci"), duckdb_replica.reference("qpv")
    )
    assert layers.commune is None
    [error] = layers.errors
    assert "ne tombent pas sur le département 31 de la réplique" in error
    assert re.search(r"en sort de \d{3} km", error) and "Carte non dessinée" in error
    # the same communes, their system declared rightly, land on it
    good = tmp_path / "bon.gpkg"
    frame.to_file(good, driver="GPKG")
    settings = replace(settings, contours_communes=good)
    layers = map_layers(
        settings, communes, duckdb_replica.reference("epci"), duckdb_replica.reference("qpv")
    )
    assert layers.errors == [] and len(layers.commune.frame) == 586


def test_contours_in_lambert93_that_say_so_are_accepted(tmp_path, communes):
    path = tmp_path / "l93.gpkg"
    gpd.read_file(COMMUNES_OCCITANIE).to_crs("EPSG:2154").to_file(path, driver="GPKG")
    assert len(build_layer(path, "commune", communes).frame) == 586
