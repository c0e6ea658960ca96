"""Facts of the official geographic code (COG) that boundary files need: the codes of
communes that merged, and the current commune each one belongs to.

The table (``data_access/demo/reference/anciens_codes_31.csv``, built from
``@etalab/decoupage-administratif`` by ``python -m data_access.demo.build_reference``) lists
the old codes of Haute-Garonne; a deployment elsewhere adds its own rows with
``RELOG_OLD_CODES_CSV``.
"""

from __future__ import annotations

import functools
import os
from importlib import resources

import pandas as pd


@functools.lru_cache(maxsize=1)
def old_commune_codes() -> pd.Series:
    """Old INSEE code → current INSEE code."""
    frames = []
    with resources.files("data_access.demo").joinpath("reference/anciens_codes_31.csv").open() as f:
        frames.append(pd.read_csv(f, dtype=str))
    extra = os.environ.get("RELOG_OLD_CODES_CSV")
    if extra:
        frames.append(pd.read_csv(extra, dtype=str))
    table = pd.concat(frames, ignore_index=True)
    return table.drop_duplicates("ancien_code").set_index("ancien_code")["code_insee"]
