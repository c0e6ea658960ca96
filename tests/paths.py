"""Where the suite finds the checkout and the shared data beside it (``../shared``)."""

from pathlib import Path

#: The checkout under test.
ROOT = Path(__file__).resolve().parents[1]
#: The real boundary files beside the checkout (public data, provenance in their README).
SHARED_GEODATA = ROOT.parent / "shared" / "geodata"
COMMUNES_31 = SHARED_GEODATA / "derived" / "communes-31-cog2026-simplifie.geojson"
QPV_31 = SHARED_GEODATA / "qpv-hackaviz2021" / "qp-31-haute-garonne-2015.geojson"
