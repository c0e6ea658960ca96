"""Official commune contours of a département from the public geographic API
(geo.api.gouv.fr, Etalab), downloaded into the project's cache when the machine is online.

``relog geodata fetch --departement 31`` writes ``communes-31.geojson`` into the ``geodata``
folder of the data directory (``RELOG_DATA_DIR``);
``RELOG_GEO_API_URL`` points at another server (a mirror on a closed network, or a test).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from data_access.settings import default_data_dir
from geodata.boundaries import BoundaryError

DEFAULT_API = "https://geo.api.gouv.fr"


def cache_dir(data_dir: Path | None = None) -> Path:
    """The folder of fetched contours: ``geodata`` in the data directory."""
    return Path(data_dir or default_data_dir()) / "geodata"


def cached_communes(departement: str, cache: Path | None = None) -> Path:
    """Where the fetched contours of ``departement`` live (``cache``: default :func:`cache_dir`)."""
    return Path(cache or cache_dir()) / f"communes-{departement}.geojson"


def fetch_communes(
    departement: str,
    cache_dir: Path | None = None,
    api_url: str | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download the commune contours of ``departement`` and write them atomically to the cache."""
    departement = str(departement).strip().upper()
    if not (len(departement) in (2, 3) and departement.replace("A", "").replace("B", "").isdigit()):
        raise BoundaryError(
            f"Code de département invalide : « {departement} » (exemples : 31, 2A, 974)."
        )
    base = (api_url or os.environ.get("RELOG_GEO_API_URL") or DEFAULT_API).rstrip("/")
    url = (
        f"{base}/departements/{departement}/communes"
        "?format=geojson&geometry=contour&fields=code,nom"
    )
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as err:
        raise BoundaryError(
            f"L'API géographique a répondu {err.code} pour le département {departement} ({url})."
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise BoundaryError(
            f"API géographique injoignable ({base}) : cette machine n'a peut-être pas accès à "
            f"internet. Nommez plutôt un fichier de contours (RELOG_CONTOURS_COMMUNES). "
            f"(Détail : {getattr(err, 'reason', err)})"
        ) from None
    try:
        data = json.loads(body)
        features = data["features"]
    except (ValueError, KeyError, TypeError):
        raise BoundaryError(
            f"Réponse inattendue de l'API géographique ({url}) : ce n'est pas une "
            "collection GeoJSON."
        ) from None
    if not features:
        raise BoundaryError(
            f"L'API géographique ne connaît aucune commune pour le département {departement}."
        )
    target = cached_communes(departement, cache_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(body)
    partial.replace(target)
    return target
