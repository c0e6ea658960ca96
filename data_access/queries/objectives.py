"""Progress towards the annual objectives: the 25 % priority share of each réservataire and
the accord collectif's priority rehousing targets per EPCI, year to date."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data_access.queries.base import Reader
from data_access.queries.rehousing import share
from data_access.schema import objectif


def objectives(reader: Reader, year: int) -> pd.DataFrame:
    """The ``objectif`` rows of ``year``: ``reservataire_id``, ``epci_siren``, ``bailleur_id``,
    ``indicateur``, ``valeur``."""
    stmt = sa.select(
        objectif.c.reservataire_id,
        objectif.c.epci_siren,
        objectif.c.bailleur_id,
        objectif.c.indicateur,
        objectif.c.valeur,
    ).where(objectif.c.annee == year)
    return reader.frame(
        stmt, ["reservataire_id", "epci_siren", "bailleur_id", "indicateur", "valeur"]
    )


def share_progress(
    summary: pd.DataFrame, targets: pd.Series, default: float, labels: pd.Series, also: list
) -> pd.DataFrame:
    """Réservataires' year-to-date share against their target share (``targets`` indexed by
    réservataire; ``default`` for the others). ``also``: réservataires to list even without
    any rehousing (those with a target of their own); their share and result are empty."""
    missing = [code for code in also if code not in set(summary["reservataire"])]
    if missing:
        extra = pd.DataFrame(
            {
                "reservataire": missing,
                "libelle": labels.reindex(missing).to_numpy(),
                "relogements": 0,
                "relogements_prioritaires": 0,
                "part_prioritaires": float("nan"),
            }
        )
        summary = pd.concat([summary, extra], ignore_index=True)
    out = summary.copy()
    out["objectif_part"] = targets.reindex(out["reservataire"]).fillna(default).to_numpy()
    out["ecart_points"] = ((out["part_prioritaires"] - out["objectif_part"]) * 100).round(1)
    reached = (out["part_prioritaires"] >= out["objectif_part"]).astype(object)
    out["objectif_atteint"] = reached.where(out["relogements"] > 0, None)
    return out


def count_progress(
    summary: pd.DataFrame, annual: pd.Series, months: int, key: str, labels: pd.Series
) -> pd.DataFrame:
    """Territories' year-to-date priority rehousings against their annual target prorated to
    ``months`` of 12 (``annual`` indexed by territory); every territory with a target or a
    rehousing appears."""
    codes = sorted(set(summary[key].dropna()) | set(annual.index))
    out = summary.set_index(key).reindex(codes)
    out["libelle"] = out["libelle"].fillna(labels.reindex(codes))
    for column in ("relogements", "relogements_prioritaires"):
        out[column] = out[column].fillna(0).astype("int64")
    out["part_prioritaires"] = share(out["relogements_prioritaires"], out["relogements"])
    out["objectif_annuel"] = annual.reindex(codes).to_numpy()
    out["objectif_prorata"] = (out["objectif_annuel"] * months / 12).round(1)
    prorata = out["objectif_prorata"].where(out["objectif_prorata"] > 0)
    out["taux_atteinte"] = (out["relogements_prioritaires"] / prorata).astype("float64").round(3)
    out.loc[np.isnan(out["objectif_annuel"].astype(float)), "taux_atteinte"] = np.nan
    return out.rename_axis(key).reset_index()
