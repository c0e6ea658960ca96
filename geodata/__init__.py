"""Boundaries for the maps (no Panel): load, validate, simplify and project commune, EPCI
and QPV layers, joined by code to ``data_access`` results."""

from geodata.boundaries import (
    BoundaryError,
    BoundaryLayer,
    build_layer,
    load_boundaries,
    schematic_communes,
)

__all__ = ["BoundaryError", "BoundaryLayer", "build_layer", "load_boundaries", "schematic_communes"]
