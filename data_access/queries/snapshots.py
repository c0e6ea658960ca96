"""The demand's month-end snapshots a summary keeps (:mod:`data_access.summaries.demand`),
as the demand questions read them.

Counting the demand on a date means finding every demande active then, the criteria it
held, its wished communes: at national scale, 12 million demandes and 25 million wishes read
for each question (≈ 0.3 s of joins alone on DuckDB). A summary counts them once for each
date it keeps (each month end of ``RELOG_SUMMARY_MONTHS``, the last one being the data's last
day), at the grain the filters and breakdowns need, with the live queries' own expressions:

``demande_au``
    the active demandes counted by first wished commune (``NULL``: none), mutation, the
    criteria held that day (bits, as :data:`~data_access.queries.base.bail_faits`), target
    typology (:func:`~data_access.queries.demand_supply.target_typology`), seniority and
    time since the DALO recognition, each as the number of the summary's thresholds reached
    (``anciennete`` ≥ *k* + 1: filed on or before the *k*-th threshold's date before the
    snapshot; ``anciennete_dalo`` likewise for the earliest DALO criterion held, ``NULL``
    without one);
``voeu_au``
    the wishes of the active demandes counted by wished commune, mutation, criteria and the
    demande's number of wished communes (its wishes' weight is 1/n);
``logement_au``
    the dwellings in service that day by commune, bailleur and QPV (the supply's stock).

Rows carry their snapshot's position (``instantane``) in :attr:`Summary.snapshots`; a
question asks :meth:`~data_access.execution.Execution.snapshot` whether the source it reads
holds its date and thresholds, and otherwise runs its live statement, on the summary's tables
or the replica: the same answer (tests/test_summaries.py), slower.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa

from data_access.filters import Filters, Scope, Subject
from data_access.schema import commune

_metadata = sa.MetaData()


def _keys() -> list[sa.Column]:
    return [
        sa.Column("instantane", sa.SmallInteger),
        sa.Column("commune_code", sa.String),
        sa.Column("mutation", sa.Boolean),
        sa.Column("masque_criteres", sa.BigInteger),
    ]


demande_au = sa.Table(
    "demande_au",
    _metadata,
    *_keys(),
    sa.Column("typologie", sa.String),
    sa.Column("anciennete", sa.SmallInteger),
    sa.Column("anciennete_dalo", sa.SmallInteger),
    sa.Column("n", sa.BigInteger),
)
voeu_au = sa.Table(
    "voeu_au",
    _metadata,
    *_keys(),
    sa.Column("nb_communes", sa.SmallInteger),
    sa.Column("n", sa.BigInteger),
)

logement_au = sa.Table(
    "logement_au",
    _metadata,
    sa.Column("instantane", sa.SmallInteger),
    sa.Column("commune_code", sa.String),
    sa.Column("bailleur_id", sa.Integer),
    sa.Column("qpv_code", sa.String),
    sa.Column("n", sa.BigInteger),
)


def on_snapshot(table: sa.Table) -> sa.ColumnElement:
    """The rows of the snapshot asked (its position, bound at execution)."""
    return table.c.instantane == sa.bindparam("instantane", type_=sa.SmallInteger)


def snapshot_where(table: sa.Table, filters: Filters, scope: Scope) -> list[sa.ColumnElement]:
    """The rows of the snapshot asked that ``filters`` and ``scope`` keep: those of ``table``
    (``demande_au`` or ``voeu_au``) whose commune (the EPCI's through the ``commune``
    reference, which the query then joins), mutation and criteria they allow."""
    subject = Subject(
        epci=commune.c.epci_siren,
        commune=table.c.commune_code,
        mutation=table.c.mutation,
        criteria_mask=table.c.masque_criteres,
    )
    return [on_snapshot(table), *filters.clauses(subject), *scope.clauses(subject)]


def filed_before(months: int) -> sa.ColumnElement:
    """``demande.date_depot <= months_before(at, months)`` on the snapshot's rows."""
    return demande_au.c.anciennete > sa.bindparam(f"rang_anciennete_{months}", type_=sa.Integer)


def dalo_recognised_before(months: int) -> sa.ColumnElement:
    """The earliest DALO criterion held started on or before ``months_before(at, months)``."""
    return demande_au.c.anciennete_dalo > sa.bindparam(f"rang_dalo_{months}", type_=sa.Integer)


def total(condition: sa.ColumnElement | None = None) -> sa.ColumnElement:
    """The demandes counted by the rows (those meeting ``condition``), 0 when none."""
    n = sa.func.sum(demande_au.c.n)
    return sa.func.coalesce(n if condition is None else n.filter(condition), 0)


def snapshot_values(
    summary, at: date, seniority: Iterable[int] = (), dalo: Iterable[int] = ()
) -> dict[str, int] | None:
    """The values to bind for reading ``summary``'s snapshot of ``at`` with these thresholds
    (:func:`filed_before`, :func:`dalo_recognised_before`), or ``None`` when it holds no
    snapshot of that date or was classed on other thresholds (other settings)."""
    if summary is None or at not in summary.snapshots:
        return None
    seniority, dalo = tuple(seniority), tuple(dalo)
    if not (set(seniority) <= set(summary.seniority) and set(dalo) <= set(summary.dalo)):
        return None
    return {
        "instantane": summary.snapshots.index(at),
        **{f"rang_anciennete_{m}": summary.seniority.index(m) for m in seniority},
        **{f"rang_dalo_{m}": summary.dalo.index(m) for m in dalo},
    }
