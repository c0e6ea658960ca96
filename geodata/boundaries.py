"""Boundary layers for the maps: load, validate, re-code, simplify, project, cache.

>>> layer = load_boundaries("communes-31.geojson", "commune", replica.reference("commune"))
>>> layer.frame            # GeoDataFrame: code, nom, geometry (Lambert-93, EPSG:2154)
>>> layer.report.notes     # what was repaired, re-coded or left out, in French

A deployment names its files (GeoJSON, GeoPackage or Shapefile). Attribute names of IGN
ADMIN EXPRESS (``INSEE_COM``, ``NOM``, ``CODE_SIREN``…), of the ``code``/``nom`` GeoJSON
style and of the QPV files are understood. Every layer is checked against the replica's
reference: invalid shapes are repaired, communes that merged (old codes) are dissolved into
their current commune, codes outside the reference are left out, and a territory of the
reference missing from the file is an error naming it. Shapes are simplified together
(``shapely.coverage_simplify`` in Lambert-93, so neighbours keep their shared borders),
projected once, and kept in a process cache keyed on the file's path, size and time.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data_access.errors import RelogError
from data_access.formatting import int_label
from geodata.territories import old_commune_codes

log = logging.getLogger("relog.geodata")

#: The projection of every layer once loaded: Lambert-93, metres.
CRS = "EPSG:2154"
LEVELS = ("commune", "epci", "qpv")

#: Attribute names understood for each level: (code, name), most specific first.
ATTRIBUTES = {
    "commune": [
        ("INSEE_COM", "NOM"),
        ("INSEE_COM", "NOM_COM"),
        ("code_insee", "nom"),
        ("code", "nom"),
        ("CODE_INSEE", "NOM_COMMUNE"),
    ],
    "epci": [
        ("CODE_SIREN", "NOM"),
        ("SIREN_EPCI", "NOM_EPCI"),
        ("epci_siren", "epci_nom"),
        ("siren", "nom"),
        ("code", "nom"),
    ],
    "qpv": [("CODE_QP", "NOM_QP"), ("code_qp", "nom_qp"), ("code_qpv", "nom"), ("code", "nom")],
}
WHAT = {"commune": "commune", "epci": "EPCI", "qpv": "QPV"}


#: Metropolitan France and Corsica in Lambert-93 (metres), with a margin: every layer lands
#: inside once projected (the maps are drawn in Lambert-93, a metropolitan projection).
FRANCE_L93 = (50_000.0, 6_000_000.0, 1_300_000.0, 7_150_000.0)


class BoundaryError(RelogError):
    """A boundary file that cannot be used; the message says what is wrong, in French."""


@dataclass
class BoundaryReport:
    """What loading a layer changed or left out."""

    source: str
    repaired: list[str] = field(default_factory=list)
    recoded: dict[str, str] = field(default_factory=dict)
    outside: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        out = []
        if self.repaired:
            out.append(
                f"{len(self.repaired)} contour(s) invalide(s) réparé(s) : "
                f"{', '.join(self.repaired[:10])}."
            )
        if self.recoded:
            pairs = ", ".join(f"{old} → {new}" for old, new in list(self.recoded.items())[:10])
            out.append(
                f"{len(self.recoded)} ancienne(s) commune(s) rattachée(s) "
                f"à la commune actuelle : {pairs}."
            )
        if self.outside:
            out.append(f"{len(self.outside)} territoire(s) hors du référentiel ignoré(s).")
        return out


@dataclass
class BoundaryLayer:
    """A validated layer: ``frame`` (code, nom, geometry in Lambert-93) and its report."""

    level: str
    frame: gpd.GeoDataFrame
    report: BoundaryReport
    schematic: bool = False


def _read(path: Path) -> gpd.GeoDataFrame:
    if not path.exists():
        log.warning("boundary file not found: %s", path)
        raise BoundaryError(f"Fichier de contours introuvable : {path.name}.")
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as err:  # pyogrio/GDAL errors: the file is not a readable layer
        raise BoundaryError(
            f"Fichier de contours illisible ({path.name}) : ce n'est pas un GeoJSON, "
            f"GeoPackage ou Shapefile valide. (Détail : {str(err).splitlines()[0][:160]})"
        ) from None
    if frame.empty:
        raise BoundaryError(f"Le fichier de contours {path.name} ne contient aucun territoire.")
    return frame


def _columns(frame: gpd.GeoDataFrame, level: str, path: Path) -> tuple[str, str | None]:
    for code, name in ATTRIBUTES[level]:
        if code in frame.columns:
            return code, name if name in frame.columns else None
    expected = ", ".join(sorted({c for c, _ in ATTRIBUTES[level]}))
    raise BoundaryError(
        f"Le fichier {path.name} n'a pas de colonne de code {WHAT[level]} reconnue "
        f"(attendu l'une de : {expected} ; trouvé : {', '.join(map(str, frame.columns))})."
    )


def _polygonal(geometries: np.ndarray) -> np.ndarray:
    """Keep the polygonal parts of each geometry (make_valid may add lines or points)."""
    out = []
    for geom in geometries:
        if geom is None or geom.is_empty:
            out.append(None)
            continue
        parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
        out.append(shapely.union_all(parts) if parts else None)
    return np.array(out, dtype=object)


def _bounds_text(bounds) -> str:
    return " ; ".join(int_label(round(v)) for v in bounds)


def _check_coordinates(raw: gpd.GeoDataFrame, path: Path) -> np.ndarray:
    """The file's coordinates are those its system says, and land in metropolitan France:
    a file in Lambert-93 without a ``crs`` member (read as degrees), degrees declared as
    Lambert-93 metres (a blob by Null Island) or swapped longitude and latitude (a mirrored
    map at sea) is refused with the likely cause, never drawn wrong. Returns the file's box
    in Lambert-93 (minx, miny, maxx, maxy)."""
    minx, miny, maxx, maxy = raw.total_bounds
    if not np.isfinite([minx, miny, maxx, maxy]).all():
        raise BoundaryError(f"Le fichier {path.name} a des coordonnées non numériques.")
    extent = max(abs(minx), abs(maxx), abs(miny), abs(maxy))
    geographic = raw.crs.is_geographic
    if geographic and (max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90):
        raise BoundaryError(
            f"Les coordonnées de {path.name} ne sont pas des degrés (jusqu'à "
            f"{int_label(round(extent))}) alors que le fichier ne déclare pas de système de "
            "coordonnées ou déclare des degrés : il est sans doute en Lambert-93 (EPSG:2154) "
            "sans le dire. Déclarez son système de coordonnées ou convertissez-le en WGS84."
        )
    # points along the box's edges projected, not the layer (build_layer projects it once)
    t = np.linspace(0.0, 1.0, 21)
    x, y = minx + (maxx - minx) * t, miny + (maxy - miny) * t
    xs = np.concatenate([x, x, np.full(21, minx), np.full(21, maxx)])
    ys = np.concatenate([np.full(21, miny), np.full(21, maxy), y, y])
    projected = gpd.GeoSeries(gpd.points_from_xy(xs, ys), crs=raw.crs).to_crs(CRS).total_bounds
    fx0, fy0, fx1, fy1 = FRANCE_L93
    if fx0 <= projected[0] and projected[2] <= fx1 and fy0 <= projected[1] <= projected[3] <= fy1:
        return projected
    cause = "système de coordonnées mal déclaré"
    if not geographic and extent <= 180:
        cause = (
            f"ses coordonnées sont des degrés mais il déclare {raw.crs.to_string()} (des "
            "mètres) : déclarez WGS84 (EPSG:4326)"
        )
    elif geographic and -10 <= miny and maxy <= 12 and 40 <= minx and maxx <= 52:
        cause = "longitude et latitude inversées (la latitude d'abord)"
    raise BoundaryError(
        f"Les contours de {path.name} tombent hors de la France métropolitaine une fois "
        f"placés en Lambert-93 (emprise {_bounds_text(projected)} m) : {cause}. "
        "Carte non dessinée."
    )


#: How far (metres) a layer may reach beyond its département's box: the official layers'
#: editions and simplifications differ by a few hundred metres; a misdeclared system of
#: coordinates moves a layer by tens or hundreds of kilometres.
DEPARTEMENT_MARGIN = 5_000.0


@dataclass(frozen=True)
class DepartementBounds:
    """Where the replica's département lies, in Lambert-93 metres, and what says so."""

    departement: str
    bounds: tuple[float, float, float, float]
    source: str


def _check_departement(
    projected: np.ndarray, level: str, expected: DepartementBounds, path: Path
) -> None:
    """A layer lands on the replica's département: communes and QPV inside its box (with a
    margin), an EPCI's box centred in it (an EPCI may reach over a border). Refused with a
    French message otherwise: a system of coordinates misdeclared as a neighbouring one (a
    UTM zone for another) still lands in France, elsewhere."""
    ex0, ey0, ex1, ey1 = expected.bounds
    m = DEPARTEMENT_MARGIN
    x0, y0, x1, y1 = projected
    if level == "epci":
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        inside = ex0 - m <= cx <= ex1 + m and ey0 - m <= cy <= ey1 + m
    else:
        inside = ex0 - m <= x0 and x1 <= ex1 + m and ey0 - m <= y0 and y1 <= ey1 + m
    if inside:
        return
    shift = max(ex0 - x0, x1 - ex1, ey0 - y0, y1 - ey1, 0.0)
    raise BoundaryError(
        f"Les contours de {path.name} ne tombent pas sur le département "
        f"{expected.departement} de la réplique une fois placés en Lambert-93 : leur emprise "
        f"({_bounds_text(projected)} m) en sort de {int_label(round(shift / 1000))} km "
        f"(emprise du département d'après {expected.source} : "
        f"{_bounds_text(expected.bounds)} m). Système de coordonnées mal déclaré, ou "
        "contours d'un autre territoire. Carte non dessinée."
    )


def build_layer(
    path: str | Path,
    level: str,
    reference: pd.DataFrame,
    tolerance: float = 100.0,
    departement: DepartementBounds | None = None,
) -> BoundaryLayer:
    """Load ``path`` as a ``level`` layer checked against ``reference`` (codes in its index,
    ``libelle`` column): see the module docstring. ``tolerance``: simplification in metres
    (0: none). ``departement``: where the replica's département lies, the layer must land
    there (else only in metropolitan France)."""
    if level not in LEVELS:
        raise BoundaryError(
            f"Niveau de contours inconnu : {level!r} (attendu : commune, epci ou qpv)."
        )
    path = Path(path)
    raw = _read(path)
    code_col, name_col = _columns(raw, level, path)
    report = BoundaryReport(source=path.name)
    if raw.crs is None:
        raw = raw.set_crs("EPSG:4326")  # RFC 7946: GeoJSON without a crs is WGS84
    projected = _check_coordinates(raw, path)
    if departement is not None:
        _check_departement(projected, level, departement, path)
    frame = gpd.GeoDataFrame(
        {
            "code": raw[code_col].astype(str).str.strip(),
            "nom": raw[name_col].astype(str) if name_col else raw[code_col].astype(str),
        },
        geometry=raw.geometry.values,
        crs=raw.crs,
    )
    if level == "commune":
        frame["code"] = frame["code"].str.zfill(5)
    kinds = set(frame.geometry.geom_type.dropna())
    if not kinds or not kinds <= {"Polygon", "MultiPolygon"}:
        raise BoundaryError(
            f"Le fichier {path.name} doit contenir des polygones ; il contient : "
            f"{', '.join(sorted(kinds)) or 'aucune géométrie'}."
        )
    empty = frame.loc[frame.geometry.isna() | frame.geometry.is_empty, "code"].tolist()
    if empty:
        raise BoundaryError(f"Contours vides dans {path.name} pour : {', '.join(empty[:20])}.")
    invalid = ~frame.geometry.is_valid
    if invalid.any():
        report.repaired = frame.loc[invalid, "code"].tolist()
        frame.loc[invalid, "geometry"] = _polygonal(
            shapely.make_valid(frame.geometry[invalid].values)
        )

    if level == "commune":  # merged communes: dissolved into the current one
        old = old_commune_codes()
        merged = frame["code"].isin(old.index) & ~frame["code"].isin(reference.index)
        report.recoded = {c: old[c] for c in frame.loc[merged, "code"]}
        frame["code"] = frame["code"].replace(report.recoded)
    duplicated = frame["code"].duplicated(keep=False)
    if duplicated.any():
        frame = frame.dissolve(by="code", as_index=False, aggfunc={"nom": "first"})
    known = frame["code"].isin(reference.index)
    report.outside = frame.loc[~known, "code"].tolist()
    frame = frame[known]
    missing = reference.index[~reference.index.isin(frame["code"])].tolist()
    if missing:
        names = reference["libelle"].reindex(missing).fillna("?")
        listed = ", ".join(f"{c} ({n})" for c, n in list(zip(missing, names))[:15])
        more = f" et {len(missing) - 15} autre(s)" if len(missing) > 15 else ""
        raise BoundaryError(
            f"Fichier de contours incomplet ({path.name}) : {len(missing)} {WHAT[level]}(s) "
            f"du référentiel sans contour : {listed}{more}."
        )

    frame = frame.to_crs(CRS)
    if tolerance > 0 and len(frame) > 1 and level != "qpv":
        frame = frame.set_geometry(shapely.coverage_simplify(frame.geometry.values, tolerance))
    frame["nom"] = reference["libelle"].reindex(frame["code"]).fillna(frame["nom"]).to_numpy()
    frame = frame.sort_values("code").reset_index(drop=True)
    return BoundaryLayer(level=level, frame=frame, report=report)


_CACHE: dict[tuple, BoundaryLayer] = {}
_LOCK = threading.Lock()


def load_boundaries(
    path: str | Path,
    level: str,
    reference: pd.DataFrame,
    tolerance: float = 100.0,
    departement: DepartementBounds | None = None,
) -> BoundaryLayer:
    """:func:`build_layer`, cached for the process on the file (path, size, time), the level,
    the tolerance, the reference's codes and the département's bounds."""
    path = Path(path)
    stat = path.stat() if path.exists() else None
    key = (
        str(path.resolve()),
        stat and (stat.st_size, stat.st_mtime_ns),
        level,
        tolerance,
        hash(tuple(reference.index)),
        departement,
    )
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    layer = build_layer(path, level, reference, tolerance, departement)
    with _LOCK:
        _CACHE[key] = layer
    return layer


def schematic_communes(reference: pd.DataFrame) -> BoundaryLayer:
    """With no boundary file: one square per commune, grouped in one block per EPCI (blocks in
    rows, communes in code order), so that the demo still shows a map. It is a diagram, not a
    map, and ``schematic`` says so for the page to label it."""
    squares, codes, names = [], [], []
    size, gap, x0, y0, row_height = 1000.0, 3000.0, 0.0, 0.0, 0.0
    width_limit = 60 * size
    for _epci, members in reference.sort_values(["epci", "libelle"]).groupby("epci", sort=True):
        n = len(members)
        cols = int(np.ceil(np.sqrt(n)))
        rows = int(np.ceil(n / cols))
        if x0 + cols * size > width_limit:
            x0, y0 = 0.0, y0 - row_height - gap
            row_height = 0.0
        for i, (code, row) in enumerate(members.iterrows()):
            x, y = x0 + (i % cols) * size, y0 - (i // cols) * size
            squares.append(shapely.box(x, y - size * 0.9, x + size * 0.9, y))
            codes.append(code)
            names.append(row["libelle"])
        x0 += cols * size + gap
        row_height = max(row_height, rows * size)
    frame = gpd.GeoDataFrame({"code": codes, "nom": names}, geometry=squares, crs=CRS)
    return BoundaryLayer(
        level="commune",
        frame=frame.sort_values("code").reset_index(drop=True),
        report=BoundaryReport(source="schéma"),
        schematic=True,
    )
