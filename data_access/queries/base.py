"""SQL building blocks shared by the query modules: the lease join, the CAL date, the main
priority criterion, month truncation, and the zero-filling of monthly series."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from datetime import date
from typing import Protocol

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.sql.util import ClauseAdapter, find_tables

from data_access.filters import Filters, Period, Scope, Subject, held_on, in_list, valid_on
from data_access.schema import (
    CRITERES,
    DECISIONS_POSITIVES,
    SANS_CRITERE,
    bail,
    commune,
    decision_cal,
    demande,
    logement,
    offre,
    priorite,
    proposition,
    reservataire,
)
from data_access.settings import Settings

#: The code given to a missing dimension value in breakdowns.
UNKNOWN = "INCONNU"

#: While a statement template is built to run on a summary
#: (:meth:`~data_access.execution.Execution.statement`), how it reads it: :data:`FACTS` (the
#: lease facts the summary computed once, instead of computing them per query) or
#: :data:`JOINED` (also the columns of each lease's and offer's dwelling, commune,
#: réservataire and demande, instead of joining them); ``None`` on the replica.
ON_SUMMARY: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "relog_on_summary", default=None
)
FACTS, JOINED = "faits", "faits et jointures"

#: What a summary's ``bail`` keeps of each lease's dwelling, its commune, réservataire and
#: demande (its name there → the replica's column), and its ``offre`` of each offer's
#: dwelling and commune: the columns filters and breakdowns read. Kept only when every
#: lease and offer finds them (:func:`joined_facts`), so that reading them drops no row the
#: replica's inner joins would keep, nor keeps one they would drop.
DWELLING_FACTS = {
    "commune_code": logement.c.commune_code,
    "bailleur_id": logement.c.bailleur_id,
    "qpv_code": logement.c.qpv_code,
    "typologie": logement.c.typologie,
    "epci_siren": commune.c.epci_siren,
}
#: What a summary's ``proposition`` and ``decision_cal`` keep (:data:`proposition_faits`).
SUBJECT_FACTS = {
    **DWELLING_FACTS,
    "nature_reservataire": reservataire.c.nature,
    "mutation": demande.c.mutation,
}
#: What a summary's ``bail`` keeps: also the household's resources (the quartile rules).
LEASE_FACTS = {
    **SUBJECT_FACTS,
    "revenu_mensuel": demande.c.revenu_mensuel,
    "unites_consommation": demande.c.unites_consommation,
}

#: What a summary's ``decision_cal`` keeps of its proposition's own columns.
PROPOSITION_OWN = ("reservataire_id", "demande_id")


def _copies(columns: dict[str, sa.Column]) -> list[sa.Column]:
    return [sa.Column(name, column.type) for name, column in columns.items()]


#: A summary's ``bail`` (:mod:`data_access.summaries.build`): the contract's columns, then
#: each lease's CAL date, the criteria its household held on that date (bit *i*: the *i*-th
#: criterion of ``CRITERES``) and the precedence rank of its main criterion (NULL: none),
#: computed with the very expressions :class:`LeaseJoin` uses on the replica; then the
#: :data:`LEASE_FACTS`.
bail_faits = sa.Table(
    "bail",
    sa.MetaData(),
    *[c._copy() for c in bail.c],
    sa.Column("date_cal", sa.Date),
    sa.Column("masque_criteres", sa.BigInteger),
    sa.Column("rang_critere", sa.SmallInteger),
    *_copies(LEASE_FACTS),
)
#: A summary's ``offre``: the contract's columns, then the :data:`DWELLING_FACTS`.
offre_faits = sa.Table(
    "offre", sa.MetaData(), *[c._copy() for c in offre.c], *_copies(DWELLING_FACTS)
)

#: A summary's ``proposition``: the contract's columns, then the :data:`SUBJECT_FACTS` of
#: its offer's dwelling and commune, its réservataire and demande.
proposition_faits = sa.Table(
    "proposition",
    sa.MetaData(),
    *[c._copy() for c in proposition.c],
    *_copies(SUBJECT_FACTS),
)
#: A summary's ``decision_cal``: the contract's columns, then its proposition's réservataire,
#: demande and :data:`SUBJECT_FACTS`.
decision_faits = sa.Table(
    "decision_cal",
    sa.MetaData(),
    *[c._copy() for c in decision_cal.c],
    *[proposition.c[name]._copy() for name in PROPOSITION_OWN],
    *_copies(SUBJECT_FACTS),
)


def joined_facts() -> bool:
    """Whether the statement being built reads a summary's joined facts (:data:`JOINED`)."""
    return ON_SUMMARY.get() == JOINED


class Reader(Protocol):
    """What a query needs from the replica: run a statement, know the reference tables and
    the settings. Questions receive the :class:`~data_access.Replica` itself, so a question
    built on others (``cached=False``) calls their public methods."""

    settings: Settings

    def frame(
        self, stmt: sa.Executable, columns: list[str], parameters: dict | None = None
    ) -> pd.DataFrame: ...

    def arrays(
        self, stmt: sa.Executable, columns: list[str], parameters: dict | None = None
    ) -> dict[str, np.ndarray]: ...

    def statement(self, shape: tuple, build: Callable[[], sa.Executable]) -> sa.Executable: ...

    def labels(self, dimension: str) -> pd.Series: ...

    def territories(self, level: str, filters: Filters, scope: Scope) -> pd.DataFrame: ...

    def snapshot(
        self, at: date, seniority: Iterable[int] = (), dalo: Iterable[int] = ()
    ) -> dict[str, int] | None: ...

    @property
    def dialect(self) -> str: ...


def month_of(column: sa.ColumnElement) -> sa.ColumnElement:
    """First day of the month of a date (same SQL on DuckDB and PostgreSQL)."""
    # inline literal: a bound 'month' would differ between SELECT and GROUP BY. A date, not
    # PostgreSQL's timestamptz (a date becomes one there, at midnight in the session's zone)
    return sa.cast(sa.func.date_trunc(sa.literal_column("'month'"), column), sa.Date)


#: Precedence of each criterion for the main criterion (0 = DALO, 1 = ACD, then L441-1).
PRECEDENCE = {code: rank for rank, code in enumerate(CRITERES)}
CODE_OF_RANK = {rank: code for code, rank in PRECEDENCE.items()}


def main_criterion_rank(
    demande_id: sa.ColumnElement, on: sa.ColumnElement | date
) -> sa.ColumnElement:
    """Precedence rank of the highest criterion the demande holds on ``on``; NULL if none."""
    rank = sa.case(PRECEDENCE, value=priorite.c.critere)
    return (
        sa.select(sa.func.min(rank))
        .where(priorite.c.demande_id == demande_id, *valid_on(on))
        .scalar_subquery()
    )


#: Criterion codes by precedence rank, then ``AUCUN`` (:func:`criterion_code`).
_CODES_BY_RANK = np.array([*(CODE_OF_RANK[r] for r in range(len(CODE_OF_RANK))), SANS_CRITERE[0]])


def criterion_code(rank: pd.Series) -> pd.Series:
    """Precedence ranks (NaN for none) → criterion codes, ``AUCUN`` for none (vectorised: a
    national cell table has some 140,000 rows)."""
    ranks = pd.to_numeric(rank).to_numpy(dtype="float64", na_value=np.nan)
    position = np.where(np.isnan(ranks), len(CODE_OF_RANK), ranks).astype(np.int64)
    return pd.Series(_CODES_BY_RANK[position].astype(object), index=rank.index, name=rank.name)


def join_needed(
    base: sa.FromClause,
    optional: list[tuple[sa.FromClause, sa.ColumnElement, bool]],
    *elements: sa.ClauseElement,
) -> sa.FromClause:
    """``base`` joined to each optional ``(table, on, outer)`` only if ``elements`` (select
    columns, where clauses, group-by keys) reference it, directly or through a later join's
    ``on`` clause: an unfiltered query does not pay for the joins a filter would need."""
    needed = set()
    for element in elements:
        needed |= set(find_tables(element, check_columns=True, include_aliases=True))
    chosen = []
    for table, on, outer in reversed(optional):
        if table in needed:
            chosen.append((table, on, outer))
            needed |= set(find_tables(on, check_columns=True, include_aliases=True))
    joined = base
    for table, on, outer in reversed(chosen):
        joined = joined.join(table, on, isouter=outer)
    return joined


class LeaseJoin:
    """Leases with what filters and dimensions need: the dwelling, its commune, the réservataire,
    the demande, and the CAL date that dates the priority snapshot.

    The CAL date of a lease is the date of the earliest positive CAL decision (attribution,
    ranked or conditional) on the proposition that led to it; a lease without one falls back
    on its signature date. It is a column (``date_cal``) of the derived table ``lease``,
    computed only for the leases a query keeps; a proposition examined twice never counts
    its lease twice. Queries read lease columns from ``self.lease``, never from ``bail``, and
    give their date window on ``bail`` columns as ``within`` so that the CAL date is computed
    for the leases of the window only.
    """

    def __init__(self, filters: Filters, scope: Scope, *within: sa.ColumnElement):
        self.on_summary = ON_SUMMARY.get() is not None
        if self.on_summary:  # the facts computed once by the summary's build
            adapt = ClauseAdapter(bail_faits, adapt_on_names=True, include_fn=_of_bail).traverse
            self.lease = (
                sa.select(*bail_faits.c).where(*(adapt(w) for w in within)).subquery("baux")
            )
        else:
            self.lease = lease_facts(*within, facts=False).subquery("baux")
        lease = self.lease
        self._joined = {}
        if joined_facts():  # the replica's columns the summary keeps in each lease's row
            self._joined = {id(live): lease.c[name] for name, live in LEASE_FACTS.items()}
            # the commune's code, joined on the dwelling's: the dwelling's
            self._joined[id(commune.c.code_insee)] = lease.c.commune_code
        col = self.col
        self.reference_date = lease.c.date_cal
        self.subject = Subject(
            epci=col(commune.c.epci_siren),
            commune=col(logement.c.commune_code),
            reservataire=lease.c.reservataire_id,
            nature_reservataire=col(reservataire.c.nature),
            bailleur=col(logement.c.bailleur_id),
            mutation=col(demande.c.mutation),
            qpv=col(logement.c.qpv_code),
            demande_id=lease.c.demande_id,
            reference_date=lease.c.date_cal,
            criteria_mask=lease.c.masque_criteres if self.on_summary else None,
        )
        self.where = [*filters.clauses(self.subject), *scope.clauses(self.subject)]

    def col(self, column: sa.ColumnElement) -> sa.ColumnElement:
        """``column`` of the dwelling, its commune, the réservataire or the demande, as this
        join reads it: the lease's own column on a summary that keeps it
        (:data:`LEASE_FACTS`), else itself (the table is then joined)."""
        return self._joined.get(id(column), column)

    def from_clause(self, *elements: sa.ClauseElement) -> sa.FromClause:
        """The lease joins that ``elements`` and the filters' clauses need, no more."""
        lease = self.lease
        return join_needed(
            lease,
            [
                (logement, logement.c.id == lease.c.logement_id, False),
                (commune, commune.c.code_insee == logement.c.commune_code, False),
                (reservataire, reservataire.c.id == lease.c.reservataire_id, False),
                (demande, demande.c.id == lease.c.demande_id, False),
            ],
            *elements,
            *self.where,
        )

    def prioritaire(self) -> sa.ColumnElement:
        """1 when the household held a priority criterion on the CAL date, else 0."""
        if self.on_summary:
            return sa.case((self.lease.c.masque_criteres != 0, 1), else_=0)
        return sa.case((held_on(self.lease.c.demande_id, self.lease.c.date_cal), 1), else_=0)

    def main_criterion_rank(self) -> sa.ColumnElement:
        """Precedence rank of the main criterion held on the CAL date (NULL: none)."""
        if self.on_summary:
            return self.lease.c.rang_critere
        return main_criterion_rank(self.lease.c.demande_id, self.lease.c.date_cal)


def _of_bail(column) -> bool:
    return getattr(column, "table", None) is bail


def lease_facts(*within: sa.ColumnElement, facts: bool = True) -> sa.Select:
    """The leases (``bail``) with their CAL date: the earliest positive CAL decision
    (attribution, ranked or conditional) on the proposition that led to the lease, else the
    signature date. With ``facts``, also what a summary keeps of each (:data:`bail_faits`):
    the criteria held on that date as bits, and the main criterion's rank — the expressions
    :meth:`LeaseJoin.prioritaire`, :meth:`LeaseJoin.main_criterion_rank` and the criteria
    filter use on the replica."""
    first_positive = (
        sa.select(sa.func.min(decision_cal.c.date_cal))
        .where(
            decision_cal.c.proposition_id == bail.c.proposition_id,
            in_list(decision_cal.c.decision, DECISIONS_POSITIVES),
        )
        .scalar_subquery()
    )
    date_cal = sa.func.coalesce(first_positive, bail.c.date_signature)
    columns = [*bail.c, date_cal.label("date_cal")]
    if not facts:
        return sa.select(*columns).where(*within)
    base = sa.select(*columns).where(*within).subquery("baux")
    bits = sum(
        (
            sa.case((held_on(base.c.demande_id, base.c.date_cal, [code]), 1 << i), else_=0)
            for i, code in enumerate(CRITERES)
        ),
        sa.literal(0, sa.BigInteger),
    )
    return sa.select(
        *base.c,
        sa.cast(bits, sa.BigInteger).label("masque_criteres"),
        main_criterion_rank(base.c.demande_id, base.c.date_cal).label("rang_critere"),
    )


def in_period(column: sa.ColumnElement, start, end_exclusive) -> list[sa.ColumnElement]:
    """``start <= column < end_exclusive`` (dates or a template's placeholders)."""
    return [column >= start, column < end_exclusive]


def period_dates(period: Period) -> dict[str, date]:
    """A period's bound dates for :func:`run_template`: ``debut`` (first day) and ``fin``
    (the day after its last)."""
    return {"debut": period.start, "fin": period.end_exclusive}


def run_template(
    reader: Reader,
    key: tuple,
    build: Callable[[Filters, Scope, dict], sa.Executable],
    columns: list[str],
    filters: Filters,
    scope: Scope,
    dates: dict[str, date],
    as_arrays: bool = False,
    values: dict | None = None,
) -> pd.DataFrame | dict[str, np.ndarray]:
    """Run the statement ``build(filters, scope, dates)`` makes, with this call's values.

    The statement is a template built once per shape: ``key`` (the query and its structural
    arguments), the filters' and scope's :meth:`~Filters.shape` and the names of ``dates``.
    ``build`` receives placeholders (named bound parameters) in place of codes and dates, never
    the values, so a template cannot carry one call's values into another; they are bound at
    execution, and a placeholder left without a value is an error, not a stale figure. A call
    then costs neither the statement's construction nor its compilation-cache key (≈ 1.5 ms of
    a 10 ms query). The rows come as a DataFrame, or as ``reader.arrays`` with ``as_arrays``.
    ``values``: the statement's other named parameters (``sa.bindparam(name)`` in the
    template), bound at execution like the rest."""
    shape = (*key, filters.shape(), scope.shape(), tuple(dates))
    stmt = reader.statement(
        shape,
        lambda: build(
            filters.placeholders(),
            scope.placeholders(),
            {name: sa.bindparam(name, type_=sa.Date) for name in dates},
        ),
    )
    fetch = reader.arrays if as_arrays else reader.frame
    return fetch(
        stmt, columns, {**filters.parameters(), **scope.parameters(), **dates, **(values or {})}
    )


def as_month(values: pd.Series) -> pd.Series:
    """Database month values (dates) → pandas month-start timestamps, without time zone."""
    out = pd.to_datetime(values)  # already first days of months (date_trunc)
    return out.dt.tz_localize(None) if out.dt.tz is not None else out


def month_positions(mois, period: Period) -> np.ndarray:
    """Each month's position in ``period`` (0 for its first month) from first days of months
    (dates, or a column of them); a month outside the period is a bug of the query that
    produced it."""
    position = np.asarray(mois).astype("datetime64[M]").astype(np.int64) - np.datetime64(
        period.start, "M"
    ).astype(np.int64)
    if len(position) and not (0 <= position.min() and position.max() < len(period.months())):
        raise ValueError("Mois hors de la période demandée dans le résultat de la requête.")
    return position


def densify(frame, period: Period, keys: list[str], values: list[str]) -> pd.DataFrame:
    """One row per month of ``period`` (× each key seen), zeros where nothing happened, from a
    DataFrame or the :meth:`~data_access.replica.Replica.arrays` of a monthly query.

    Vectorised with NumPy positions rather than a pandas reindex: this runs on every query
    and must stay well under a millisecond."""
    months = np.array([np.datetime64(m, "ns") for m in period.months()])
    position = month_positions(frame["mois"], period)
    if keys:
        codes, members = pd.factorize(frame[keys[0]], sort=True)
        if (codes == -1).any():  # a NULL code (the contract allows it): its own member, last
            codes = np.where(codes == -1, len(members), codes)
            members = pd.Index([*members, UNKNOWN], dtype=object)
    else:
        codes, members = np.zeros(len(position), dtype=np.int64), pd.Index([0])
    n_members = len(members)
    out = {"mois": np.repeat(months, n_members)}
    if keys:
        out[keys[0]] = np.tile(np.asarray(members), len(months))
    row = position * n_members + codes
    for v in values:
        column = np.zeros(len(months) * n_members, dtype=np.int64)
        np.add.at(column, row, np.asarray(frame[v], dtype=np.int64))  # duplicates add up
        out[v] = column
    return pd.DataFrame(out)


def priority_holders(at: date) -> sa.Select:
    """The demandes holding a criterion valid on ``at`` (for ``demande.id IN (…)``)."""
    return sa.select(priorite.c.demande_id).where(*valid_on(at))


def priority_snapshot(at: date, dalo_deadline: date | None = None) -> sa.Subquery:
    """One row per demande holding a criterion valid on ``at``: ``prioritaire`` (1), ``dalo``
    (1 if DALO among them), ``dalo_delai_depasse`` (1 if a DALO criterion valid on ``at`` was
    recognised on or before ``dalo_deadline``). One scan of ``priorite`` instead of a
    correlated lookup per demande."""
    is_dalo = priorite.c.critere == "DALO"
    late = (
        sa.and_(is_dalo, priorite.c.date_debut <= dalo_deadline)
        if dalo_deadline is not None
        else sa.false()
    )
    return (
        sa.select(
            priorite.c.demande_id,
            sa.literal(1).label("prioritaire"),
            sa.func.max(sa.case((is_dalo, 1), else_=0)).label("dalo"),
            sa.func.max(sa.case((late, 1), else_=0)).label("dalo_delai_depasse"),
        )
        .where(*valid_on(at))
        .group_by(priorite.c.demande_id)
        .subquery("priorite_au")
    )
