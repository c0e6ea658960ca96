"""SQL building blocks shared by the query modules: the lease join, the CAL date, the main
priority criterion, month truncation, and the zero-filling of monthly series."""

from __future__ import annotations

from datetime import date
from typing import Protocol

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data_access.filters import Filters, Period, Scope, Subject
from data_access.schema import (
    CRITERES, DECISIONS_POSITIVES, SANS_CRITERE, bail, commune, decision_cal, demande,
    logement, priorite, reservataire,
)


class Reader(Protocol):
    """What a query needs from the replica: run a statement, know the reference tables."""

    def frame(self, stmt: sa.Executable, columns: list[str]) -> pd.DataFrame: ...

    def labels(self, dimension: str) -> pd.Series: ...


def month_of(column: sa.ColumnElement) -> sa.ColumnElement:
    """First day of the month of a date (same SQL on DuckDB and PostgreSQL)."""
    # inline literal: a bound 'month' would differ between SELECT and GROUP BY
    return sa.func.date_trunc(sa.literal_column("'month'"), column)


#: Precedence of each criterion for the main criterion (0 = DALO, 1 = ACD, then L441-1).
PRECEDENCE = {code: rank for rank, code in enumerate(CRITERES)}
CODE_OF_RANK = {rank: code for code, rank in PRECEDENCE.items()}


def valid_on(on: sa.ColumnElement | date) -> list[sa.ColumnElement]:
    return [priorite.c.date_debut <= on, sa.or_(priorite.c.date_fin.is_(None), priorite.c.date_fin >= on)]


def main_criterion_rank(demande_id: sa.ColumnElement, on: sa.ColumnElement | date) -> sa.ColumnElement:
    """Precedence rank of the highest criterion the demande holds on ``on``; NULL if none."""
    rank = sa.case(PRECEDENCE, value=priorite.c.critere)
    return (sa.select(sa.func.min(rank))
            .where(priorite.c.demande_id == demande_id, *valid_on(on))
            .scalar_subquery())


def criterion_code(rank: pd.Series) -> pd.Series:
    """Precedence ranks (NaN for none) → criterion codes, ``AUCUN`` for none."""
    return rank.map(lambda r: SANS_CRITERE[0] if pd.isna(r) else CODE_OF_RANK[int(r)])


class LeaseJoin:
    """Leases with what filters and dimensions need: the dwelling, its commune, the réservataire,
    the demande, and the positive CAL decision that dates the priority snapshot.

    The CAL date of a lease is the date of the positive CAL decision (attribution, ranked or
    conditional) on the proposition that led to it; a lease without one falls back on its
    signature date. The contract holds one positive decision per proposition.
    """

    cal = decision_cal.alias("cal_positive")

    def __init__(self, filters: Filters, scope: Scope, need_reservataire: bool = False):
        self.need_reservataire = need_reservataire or bool(filters.natures_reservataire)
        self.need_demande = filters.mutation is not None
        self.reference_date = sa.func.coalesce(self.cal.c.date_cal, bail.c.date_signature)
        self.subject = Subject(
            epci=commune.c.epci_siren, commune=logement.c.commune_code,
            reservataire=bail.c.reservataire_id,
            nature_reservataire=reservataire.c.nature if self.need_reservataire else None,
            bailleur=logement.c.bailleur_id, mutation=demande.c.mutation if self.need_demande else None,
            qpv=logement.c.qpv_code, demande_id=bail.c.demande_id, reference_date=self.reference_date,
        )
        self.where = [*filters.clauses(self.subject), *scope.clauses(self.subject)]

    def from_clause(self) -> sa.FromClause:
        j = (bail.join(logement, logement.c.id == bail.c.logement_id)
             .join(commune, commune.c.code_insee == logement.c.commune_code)
             .outerjoin(self.cal, sa.and_(self.cal.c.proposition_id == bail.c.proposition_id,
                                          self.cal.c.decision.in_(DECISIONS_POSITIVES))))
        if self.need_reservataire:
            j = j.join(reservataire, reservataire.c.id == bail.c.reservataire_id)
        if self.need_demande:
            j = j.join(demande, demande.c.id == bail.c.demande_id)
        return j

    def prioritaire(self) -> sa.ColumnElement:
        """1 when the household held a priority criterion on the CAL date, else 0."""
        held = sa.exists().where(priorite.c.demande_id == bail.c.demande_id, *valid_on(self.reference_date))
        return sa.case((held, 1), else_=0)


def in_period(column: sa.ColumnElement, period: Period) -> list[sa.ColumnElement]:
    return [column >= period.start, column < period.end_exclusive]


def as_month(values: pd.Series) -> pd.Series:
    """Database month values (date or timestamp) → pandas month-start timestamps."""
    return pd.to_datetime(values).dt.to_period("M").dt.to_timestamp()


def densify(frame: pd.DataFrame, period: Period, keys: list[str], values: list[str]) -> pd.DataFrame:
    """One row per month of ``period`` (× each key seen), zeros where nothing happened."""
    months = pd.DatetimeIndex([pd.Timestamp(m) for m in period.months()], name="mois")
    if not keys:
        out = frame.set_index("mois")[values].reindex(months, fill_value=0)
        return out.reset_index().astype({v: "int64" for v in values})
    members = frame[keys].drop_duplicates().sort_values(keys)
    grid = pd.MultiIndex.from_arrays(
        [np.repeat(months, len(members))] + [np.tile(members[k].to_numpy(), len(months)) for k in keys],
        names=["mois", *keys])
    out = frame.set_index(["mois", *keys])[values].reindex(grid, fill_value=0).reset_index()
    return out.astype({v: "int64" for v in values})
