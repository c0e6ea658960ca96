"""The layers a map page draws, chosen from the deployment's settings, and their shapes as
plain arrays for the browser.

:func:`map_layers` picks the files: the commune file the deployment names
(``RELOG_CONTOURS_COMMUNES``), else the contours ``relog geodata fetch`` downloaded for the
replica's département, else the layer shipped with the product for that département
(``geodata/contours``, derived from IGN ADMIN EXPRESS by :mod:`geodata.derive`), else a
schematic layout, labelled as such and explained in ``notices``. EPCI come from their own
file (``RELOG_CONTOURS_EPCI``), the shipped layer beside shipped communes, or the union of
their communes; QPV outlines are offered when ``RELOG_CONTOURS_QPV`` names a file. A file
that cannot be used becomes a French message in ``errors`` and no layer: the page shows the
message instead of the map.

:func:`polygon_arrays` turns a layer into Bokeh ``multi_polygons`` columns once per process
(cached with the layer), so that every session sends the same compact arrays.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data_access.settings import Settings
from geodata.boundaries import (
    CRS,
    BoundaryError,
    BoundaryLayer,
    BoundaryReport,
    DepartementBounds,
    load_boundaries,
    schematic_communes,
)
from geodata.derive import departement_of, shipped
from geodata.fetch import cache_dir, cached_communes


@dataclass
class MapLayers:
    """What a map page can draw: each layer, or None with the reason in ``errors``."""

    commune: BoundaryLayer | None
    epci: BoundaryLayer | None
    qpv: BoundaryLayer | None
    errors: list[str] = field(default_factory=list)
    #: What the user should know about the layers (a schematic map), in French.
    notices: list[str] = field(default_factory=list)

    @property
    def schematic(self) -> bool:
        return self.commune is not None and self.commune.schematic

    def layer(self, level: str) -> BoundaryLayer | None:
        return {"commune": self.commune, "epci": self.epci, "qpv": self.qpv}[level]


#: What the map page says when it can only draw the schematic layout.
SCHEMATIC_NOTICE = (
    "Aucun fichier de contours ne correspond aux communes de la réplique : la carte est un "
    "schéma (un carré par commune, groupées par EPCI), pas une carte. Nommez un fichier de "
    "contours (RELOG_CONTOURS_COMMUNES) ou téléchargez-les (« relog geodata fetch »)."
)


def commune_file(settings: Settings, communes: pd.DataFrame) -> Path | None:
    """The commune file the deployment chose: the one the settings name, else the fetched
    contours of the replica's département (when all its communes are in one), else None
    (the shipped layer, or the schematic one)."""
    if settings.contours_communes is not None:
        return settings.contours_communes
    departement = departement_of(communes)
    if departement is not None:
        fetched = cached_communes(departement, cache_dir(settings.data_dir))
        if fetched.exists():
            return fetched
    return None


def departement_bounds(settings: Settings, communes: pd.DataFrame) -> DepartementBounds | None:
    """Where the replica's département lies (Lambert-93), from an official commune layer
    the product holds for it: the contours ``relog geodata fetch`` downloaded, else the
    layer shipped with relog. None for a replica of several départements, or of one the
    product holds no layer of: its layers are then only checked to land in metropolitan
    France."""
    departement = departement_of(communes)
    if departement is None:
        return None
    official = [
        (cached_communes(departement, cache_dir(settings.data_dir)), "les contours téléchargés"),
        (shipped("commune", departement), "la couche livrée avec relog"),
    ]
    for path, source in official:
        if path.exists():
            stat = path.stat()

            def bounds(path=path, source=source) -> DepartementBounds:
                box = gpd.read_file(path, engine="pyogrio").to_crs(CRS).total_bounds
                return DepartementBounds(departement, tuple(float(v) for v in box), source)

            return _cached(("bounds", str(path), stat.st_size, stat.st_mtime_ns), bounds)
    return None


def epci_from_communes(
    layer: BoundaryLayer, communes: pd.DataFrame, epci: pd.DataFrame
) -> BoundaryLayer:
    """EPCI shapes as the union of their communes' (shared borders stay shared)."""
    frame = layer.frame.assign(code=communes["epci"].reindex(layer.frame["code"]).to_numpy())
    frame = frame.dissolve(by="code", as_index=False, method="coverage")[["code", "geometry"]]
    names = epci["libelle"].reindex(frame["code"]).to_numpy()
    frame.insert(1, "nom", np.where(pd.isna(names), frame["code"].to_numpy(), names))
    return BoundaryLayer(
        level="epci",
        frame=frame.reset_index(drop=True),
        report=BoundaryReport(source=f"union des communes ({layer.report.source})"),
        schematic=layer.schematic,
    )


def map_layers(
    settings: Settings, communes: pd.DataFrame, epci: pd.DataFrame, qpv: pd.DataFrame
) -> MapLayers:
    """The layers for the replica whose references are ``communes`` (index code, ``libelle``,
    ``epci``), ``epci`` and ``qpv`` (index code, ``libelle``)."""
    errors: list[str] = []
    notices: list[str] = []
    where = departement_bounds(settings, communes)
    path = commune_file(settings, communes)
    commune_layer, from_shipped = None, False
    if path is None:
        departement = departement_of(communes)
        candidate = shipped("commune", departement) if departement else None
        if candidate is not None and candidate.exists():
            try:
                commune_layer = load_boundaries(candidate, "commune", communes, departement=where)
                from_shipped = True
            except BoundaryError:  # another edition of the communes: the shipped layer won't do
                commune_layer = None
        if commune_layer is None:
            commune_layer = _cached(
                ("schematic", tuple(communes.index), tuple(communes["epci"])),
                lambda: schematic_communes(communes),
            )
            notices.append(SCHEMATIC_NOTICE)
    else:
        try:
            commune_layer = load_boundaries(path, "commune", communes, departement=where)
        except BoundaryError as err:
            errors.append(f"Contours des communes : {err}")
    epci_layer = None
    if settings.contours_epci is None and from_shipped:
        try:
            epci_layer = load_boundaries(
                shipped("epci", departement), "epci", epci, departement=where
            )
        except BoundaryError:
            epci_layer = None  # the union of the communes below
    if settings.contours_epci is not None:
        try:
            epci_layer = load_boundaries(settings.contours_epci, "epci", epci, departement=where)
        except BoundaryError as err:
            fallback = (
                " Les EPCI sont dessinés comme l'union de leurs communes." if commune_layer else ""
            )
            errors.append(f"Contours des EPCI : {err}{fallback}")
    if epci_layer is None and commune_layer is not None:
        epci_layer = _cached(
            ("epci", id(commune_layer)), lambda: epci_from_communes(commune_layer, communes, epci)
        )
    qpv_layer = None
    if settings.contours_qpv is not None:
        try:
            qpv_layer = load_boundaries(settings.contours_qpv, "qpv", qpv, departement=where)
        except BoundaryError as err:
            errors.append(f"Contours des QPV : {err}")
    return MapLayers(
        commune=commune_layer, epci=epci_layer, qpv=qpv_layer, errors=errors, notices=notices
    )


_CACHE: dict[tuple, object] = {}
_LOCK = threading.Lock()


def _cached(key: tuple, build):
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    value = build()
    with _LOCK:
        # keep the first one built: its identity keys the arrays' cache
        return _CACHE.setdefault(key, value)


def polygon_arrays(layer: BoundaryLayer) -> dict[str, list]:
    """``xs`` and ``ys`` in Bokeh's ``multi_polygons`` layout (per territory: polygons → rings,
    exterior first), float32 arrays in Lambert-93 metres, in the order of ``layer.frame``.
    Built once per layer and process."""
    # the entry holds the layer too, so that its id cannot be reused while cached
    return _cached(("arrays", id(layer)), lambda: (layer, _arrays(layer.frame)))[1]


def _arrays(frame: gpd.GeoDataFrame) -> dict[str, list]:
    xs, ys = [], []
    for geom in frame.geometry.values:
        gx, gy = [], []
        for polygon in shapely.get_parts(geom):
            rings = [polygon.exterior, *polygon.interiors]
            coords = [np.asarray(ring.coords).round().astype("int64") for ring in rings]
            gx.append([c[:, 0].tolist() for c in coords])
            gy.append([c[:, 1].tolist() for c in coords])
        xs.append(gx)
        ys.append(gy)
    return {"xs": xs, "ys": ys}


def map_frame(
    replica, figures: pd.DataFrame, level: str = "commune", settings: Settings | None = None
) -> gpd.GeoDataFrame:
    """``figures`` (a ``data_access`` frame with a ``commune`` or ``epci`` column, e.g.
    ``replica.demand_supply(f, level)``) on the shapes of the deployment's layer, for a map in
    a notebook: one row per territory of the layer (Lambert-93), the figures' columns empty
    where the frame has no row. ``attrs["schematique"]`` says when the shapes are the
    schematic layout. A layer that cannot be loaded raises :class:`BoundaryError`.
    ``settings``: other boundary files than the replica's settings name."""
    if level not in ("commune", "epci") or level not in figures.columns:
        raise BoundaryError(f"Le tableau doit avoir une colonne « {level} » (commune ou epci).")
    layers = map_layers(
        settings or replica.settings,
        replica.reference("commune"),
        replica.reference("epci"),
        replica.reference("qpv"),
    )
    layer = layers.layer(level)
    if layer is None:
        raise BoundaryError(" ; ".join(layers.errors))
    out = layer.frame.merge(
        figures.drop(columns=["libelle"], errors="ignore"),
        left_on="code",
        right_on=level,
        how="left",
    ).drop(columns=level)
    out.attrs["schematique"] = layer.schematic
    return out
