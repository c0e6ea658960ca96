"""The small contour layers the product ships, derived from public files by its own code.

``relog geodata derive --departement 31 --communes communes-31-haute-garonne.geojson`` reads a
commune coverage (IGN ADMIN EXPRESS COG, here through gregoiredavid/france-geojson), checks
and re-codes it against the replica's reference with :func:`geodata.boundaries.build_layer`
(communes that merged since the file's edition are dissolved into the current one),
simplifies the coverage without tearing neighbours apart (``shapely.coverage_simplify`` in
Lambert-93), builds the EPCI as the union of their communes, and writes both as compact
GeoJSON (WGS84, 5 decimals ≈ 1 m, RFC 7946) into ``geodata/contours/``, where the map finds
them when no other contour file is configured. Provenance and licence: ``contours/README.md``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geodata.boundaries import BoundaryLayer, build_layer

#: Where the shipped layers live, inside the package.
SHIPPED = Path(__file__).resolve().parent / "contours"
#: Simplification of the shipped layers (metres): enough for a département's choropleth.
TOLERANCE = 200.0


def shipped(level: str, departement: str) -> Path:
    """The shipped layer of ``level`` (``commune`` or ``epci``) for ``departement``."""
    return SHIPPED / f"{'communes' if level == 'commune' else 'epci'}-{departement}.geojson"


def departement_of(communes: pd.DataFrame) -> str | None:
    """The one département of a commune reference (index: INSEE codes), if there is one."""
    departements = {code[:3] if code.startswith("97") else code[:2] for code in communes.index}
    return departements.pop() if len(departements) == 1 else None


def derive(
    source: str | Path,
    communes: pd.DataFrame,
    epci: pd.DataFrame,
    out_dir: str | Path = SHIPPED,
    tolerance: float = TOLERANCE,
) -> list[Path]:
    """Write the commune and EPCI layers of the département of ``communes`` (the replica's
    commune reference: index code, ``libelle``, ``epci``) from the commune file ``source``."""
    from geodata.layers import epci_from_communes

    departement = departement_of(communes)
    if departement is None:
        from geodata.boundaries import BoundaryError

        raise BoundaryError(
            "Les contours livrés avec le produit portent sur un seul département : la "
            "réplique en couvre plusieurs."
        )
    layer = build_layer(source, "commune", communes, tolerance)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for level, built in (("commune", layer), ("epci", epci_from_communes(layer, communes, epci))):
        path = out_dir / shipped(level, departement).name
        _write(built, path)
        paths.append(path)
    return paths


def _write(layer: BoundaryLayer, path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"code": layer.frame["code"], "nom": layer.frame["nom"]},
        geometry=layer.frame.geometry.values,
        crs=layer.frame.crs,
    ).to_crs("EPSG:4326")
    partial = path.with_suffix(".part")
    frame.to_file(
        partial,
        driver="GeoJSON",
        engine="pyogrio",
        layer_options={"COORDINATE_PRECISION": "5", "RFC7946": "YES", "WRITE_NAME": "NO"},
    )
    partial.replace(path)
