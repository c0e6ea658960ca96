"""Building the demand's month-end snapshots of a summary (what they hold and how the
questions read them: :mod:`data_access.queries.snapshots`).

Each snapshot is counted by one statement per table, built from the live queries' own
definitions (:func:`~data_access.queries.demand_supply.active_on`,
:func:`~data_access.filters.valid_on`, :func:`~data_access.queries.demand_supply.target_typology`,
:func:`~data_access.filters.months_before`), on the tables the summary has just copied: one
date at a time, so the memory is that of one date's counts, whatever the number of dates.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from data_access.filters import add_months, months_before, valid_on
from data_access.queries.snapshots import demande_au, logement_au, voeu_au
from data_access.schema import CRITERES, demande, demande_commune, logement, priorite
from data_access.settings import Settings


def snapshot_dates(last_day: date, months: int) -> tuple[date, ...]:
    """The ``months`` month ends up to ``last_day``'s month, oldest first; the last one is
    ``last_day`` itself when its month is not complete (the date the pages observe then)."""
    last_month = date(last_day.year, last_day.month, 1)
    firsts = [add_months(last_month, -k) for k in range(months - 1, -1, -1)]
    return tuple(min(add_months(m, 1) - timedelta(days=1), last_day) for m in firsts)


def thresholds(settings: Settings) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The seniority thresholds (the backlog's bands, the délais anormalement longs) and the
    DALO ones (the deadline and the overdue bands) the questions ask with these settings."""
    from data_access.queries.priority import SENIORITY_MONTHS, dalo_bands

    seniority = {
        *SENIORITY_MONTHS,
        settings.abnormal_delay_months,
        *dict(settings.abnormal_delay_epci).values(),
    }
    deadline = settings.dalo_deadline_months
    dalo = {deadline, *(lo for _, lo, _ in dalo_bands(deadline))}
    return tuple(sorted(seniority)), tuple(sorted(dalo))


def build_snapshots(target, dates: tuple[date, ...], seniority, dalo) -> None:
    """Create and fill ``demande_au``, ``voeu_au`` and ``logement_au`` in ``target`` (the
    summary's DuckDB connection), one snapshot after the other, in the order of ``dates``."""
    dialect = sa.create_engine("duckdb:///:memory:").dialect
    for table in (demande_au, voeu_au, logement_au):
        target.execute(str(sa.schema.CreateTable(table).compile(dialect=dialect)))
    for index, at in enumerate(dates):
        for table, select in (
            (demande_au, _demandes(index, at, seniority, dalo)),
            (voeu_au, _wishes(index, at)),
            (logement_au, _dwellings(index, at)),
        ):
            sql = select.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
            columns = ", ".join(f'"{c.name}"' for c in table.columns)
            target.execute(f'INSERT INTO "{table.name}" ({columns}) {sql}')


def _day(d: date) -> sa.ColumnElement:
    return sa.cast(sa.literal(d.isoformat()), sa.Date)


def _criteria(at: date) -> sa.Subquery:
    """Per demande holding a criterion on ``at``: the criteria as bits and the start of its
    earliest DALO criterion (the live queries: ``held_on``, ``priority_snapshot``)."""
    bit = sa.case(
        {code: sa.literal(1 << i, sa.BigInteger) for i, code in enumerate(CRITERES)},
        value=priorite.c.critere,
        else_=sa.literal(0, sa.BigInteger),
    )
    return (
        sa.select(
            priorite.c.demande_id,
            sa.func.bit_or(bit).label("masque"),
            sa.func.min(priorite.c.date_debut)
            .filter(priorite.c.critere == "DALO")
            .label("dalo_depuis"),
        )
        .where(*valid_on(_day(at)))
        .group_by(priorite.c.demande_id)
        .subquery("criteres_au")
    )


def _reached(column: sa.ColumnElement, at: date, months) -> sa.ColumnElement:
    """How many of the thresholds ``months`` (ascending) ``column`` reaches: on or before
    the same day that many months before ``at`` (:func:`months_before`)."""
    return sum(
        (sa.case((column <= _day(months_before(at, m)), 1), else_=0) for m in months),
        sa.literal(0),
    )


def _demandes(index: int, at: date, seniority, dalo) -> sa.Select:
    from data_access.queries.demand_supply import active_on, target_typology

    criteria = _criteria(at)
    first = sa.and_(demande_commune.c.demande_id == demande.c.id, demande_commune.c.rang == 1)
    keys = [
        demande_commune.c.commune_code,
        demande.c.mutation,
        sa.func.coalesce(criteria.c.masque, sa.literal(0, sa.BigInteger)),
        target_typology(demande.c.nb_personnes),
        sa.cast(_reached(demande.c.date_depot, at, seniority), sa.SmallInteger),
        sa.cast(
            sa.case(
                (criteria.c.dalo_depuis.is_(None), sa.null()),
                else_=_reached(criteria.c.dalo_depuis, at, dalo),
            ),
            sa.SmallInteger,
        ),
    ]
    names = [
        "commune_code", "mutation", "masque_criteres", "typologie", "anciennete", "anciennete_dalo",
    ]  # fmt: skip
    return (
        sa.select(
            sa.literal(index, sa.SmallInteger).label("instantane"),
            *[k.label(n) for k, n in zip(keys, names, strict=True)],
            sa.func.count().label("n"),
        )
        .select_from(
            demande.outerjoin(demande_commune, first).outerjoin(
                criteria, criteria.c.demande_id == demande.c.id
            )
        )
        .where(*active_on(_day(at)))
        .group_by(*keys)
    )


def _wishes(index: int, at: date) -> sa.Select:
    from data_access.queries.demand_supply import active_on

    criteria = _criteria(at)
    keys = [
        demande_commune.c.commune_code,
        demande.c.mutation,
        sa.func.coalesce(criteria.c.masque, sa.literal(0, sa.BigInteger)),
        demande.c.nb_communes_souhaitees,
    ]
    names = ["commune_code", "mutation", "masque_criteres", "nb_communes"]
    return (
        sa.select(
            sa.literal(index, sa.SmallInteger).label("instantane"),
            *[k.label(n) for k, n in zip(keys, names, strict=True)],
            sa.func.count().label("n"),
        )
        .select_from(
            demande_commune.join(demande, demande.c.id == demande_commune.c.demande_id).outerjoin(
                criteria, criteria.c.demande_id == demande.c.id
            )
        )
        .where(*active_on(_day(at)))
        .group_by(*keys)
    )


def _dwellings(index: int, at: date) -> sa.Select:
    """The dwellings in service on ``at`` (the live stock's condition) by commune, bailleur
    and QPV."""
    keys = [logement.c.commune_code, logement.c.bailleur_id, logement.c.qpv_code]
    return (
        sa.select(
            sa.literal(index, sa.SmallInteger).label("instantane"),
            *keys,
            sa.func.count().label("n"),
        )
        .where(logement.c.date_mise_en_service <= _day(at))
        .group_by(*keys)
    )
