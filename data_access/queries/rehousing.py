"""Monthly rehousing of households, priority ones apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data_access.errors import FilterError
from data_access.filters import Filters, Period, Scope
from data_access.queries.base import (
    LeaseJoin, Reader, as_month, criterion_code, densify, in_period, month_of,
)
from data_access.schema import bail, commune, logement, reservataire

#: Breakdowns of :func:`monthly_rehousing`, with the column that holds each one's code.
DIMENSIONS = ("reservataire", "nature_reservataire", "epci", "commune", "bailleur", "critere")
VALUES = ["relogements", "relogements_prioritaires"]


def _dimension_column(by: str, join: LeaseJoin) -> sa.ColumnElement:
    return {
        "reservataire": join.lease.c.reservataire_id,
        "nature_reservataire": reservataire.c.nature,
        "epci": commune.c.epci_siren,
        "commune": logement.c.commune_code,
        "bailleur": logement.c.bailleur_id,
        "critere": join.main_criterion_rank(),
    }[by]


def monthly_rehousing(reader: Reader, filters: Filters, period: Period, scope: Scope,
                      by: str | None = None) -> pd.DataFrame:
    """Rehousings per month, and those of priority households, optionally broken down ``by``
    réservataire, réservataire nature, EPCI, commune, bailleur or main criterion.

    **Definition.** A rehousing is a signed lease (``bail``), counted in the month of its
    signature date (national definition, ANCOLS/SNE). It is *prioritaire* when the household's
    demande held at least one priority criterion (DALO, ACD/PDALHPD label or an L441-1
    criterion) valid on the date of the CAL decision that granted the dwelling. Location,
    bailleur and QPV are those of the dwelling; the réservataire is the one whose contingent
    the lease counts against. The main criterion follows DALO > ACD/PDALHPD > other L441-1
    criteria (``AUCUN`` when none).

    Columns: ``mois`` (first day of the month), then with ``by``: the dimension's code (column
    named after it) and ``libelle``; then ``relogements``, ``relogements_prioritaires``. Every
    month of the period is present, zeros included; with ``by``, for every member that has at
    least one rehousing in the period.
    """
    if by is not None and by not in DIMENSIONS:
        raise FilterError(f"Ventilation inconnue : {by!r} (attendu : {', '.join(DIMENSIONS)}).")
    join = LeaseJoin(filters, scope, *in_period(bail.c.date_signature, period))
    mois = month_of(join.lease.c.date_signature).label("mois")
    if by == "critere":
        # one main criterion per lease: relogements_prioritaires = relogements except for AUCUN
        rank = _dimension_column(by, join).label("critere")
        stmt = (sa.select(mois, rank, sa.func.count().label("relogements"))
                .select_from(join.from_clause(rank))
                .where(*join.where)
                .group_by(mois, rank))
        frame = reader.frame(stmt, ["mois", "critere", "relogements"])
        frame["critere"] = criterion_code(frame["critere"])
        frame["relogements_prioritaires"] = frame["relogements"].where(frame["critere"] != "AUCUN", 0)
    else:
        keys = [_dimension_column(by, join).label(by)] if by else []
        prioritaire = join.prioritaire()
        stmt = (sa.select(mois, *keys, sa.func.count().label("relogements"),
                          sa.func.sum(prioritaire).label("relogements_prioritaires"))
                .select_from(join.from_clause(prioritaire, *keys))
                .where(*join.where)
                .group_by(mois, *keys))
        frame = reader.frame(stmt, ["mois", *([by] if by else []), *VALUES])
    frame["mois"] = as_month(frame["mois"])
    out = densify(frame, period, [by] if by else [], VALUES)
    if by:
        # the grid is month-major with members sorted: label each member once, then tile
        n_months = len(period.months())
        members = out[by].iloc[: len(out) // n_months]
        labels = reader.labels(by).reindex(members.to_numpy()).to_numpy()
        out.insert(2, "libelle", np.tile(labels, n_months))
    return out
