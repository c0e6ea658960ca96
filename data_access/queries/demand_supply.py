"""Demand against supply, by commune or EPCI, on an observation date."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data_access.errors import FilterError
from data_access.filters import Filters, Scope, Subject, in_list, months_before
from data_access.indicators import not_computed
from data_access.queries.base import (
    LeaseJoin,
    Reader,
    join_needed,
    joined_facts,
    offre_faits,
    priority_holders,
    priority_snapshot,
    run_template,
)
from data_access.queries.snapshots import (
    demande_au,
    logement_au,
    on_snapshot,
    snapshot_where,
    voeu_au,
)
from data_access.questions import question
from data_access.schema import (
    bail,
    commune,
    demande,
    demande_commune,
    logement,
    offre,
    reservataire,
)

LEVELS = ("commune", "epci")
VALUES = [
    "demandes_actives",
    "demandes_actives_ponderees",
    "demandes_prioritaires_actives",
    "logements",
    "logements_liberes_12m",
    "baux_12m",
    "relogements_prioritaires_12m",
]


def active_on(at: date) -> list[sa.ColumnElement]:
    """A demande is active on ``at`` when filed on or before it and not radiated by then."""
    return [
        demande.c.date_depot <= at,
        sa.or_(demande.c.date_radiation.is_(None), demande.c.date_radiation > at),
    ]


@question(at="observation")
def demand_supply(
    reader: Reader,
    filters: Filters | None = None,
    level: str = "commune",
    at: date | str | None = None,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """Demand and supply per territory on the observation date ``at``.

    **Definitions.** A demande is *active* on ``at`` if filed on or before ``at`` and not
    radiated on that date. ``demandes_actives`` counts active demandes on their first wished
    commune (rang 1); ``demandes_actives_ponderees`` spreads each active demande over all its
    wished communes with weight 1/n (n = ``demande.nb_communes_souhaitees``);
    ``demandes_prioritaires_actives`` counts, on the first wish, those holding a priority
    criterion on ``at``. ``logements``: social dwellings in service on ``at``.
    ``logements_liberes_12m``: dwellings freed (offers to a réservataire) in the 12 months
    ending on ``at``; ``baux_12m``: leases signed in those 12 months and
    ``relogements_prioritaires_12m`` those of priority households (criterion held on the CAL
    date). ``tension`` = ``demandes_actives`` ÷ ``baux_12m`` (empty when no lease, and for
    every territory when a filter applies to the leases and not to the demand: réservataire,
    bailleur, QPV; ``attrs["ratios_non_calcules"]`` then says why).

    Filters on territory apply to the wished commune (demand) or the dwelling (supply);
    bailleur and QPV filters to dwellings, freed dwellings and leases; réservataire filters to
    freed dwellings and leases (a dwelling in service belongs to no réservataire under
    gestion en flux); criteria and mutation to demand and leases. Columns: the territory code
    (``commune`` or ``epci``), ``libelle`` (and ``epci`` for communes), the counts above and
    ``tension``; every territory of the reference within filters and scope appears once, zeros
    included.
    """
    if level not in LEVELS:
        raise FilterError(f"Niveau géographique inconnu : {level!r} (attendu : commune ou epci).")
    snapshot = reader.snapshot(at)
    frame = run_template(
        reader,
        ("demand_supply", level, snapshot is not None),
        lambda f, s, d: _statement(reader, f, s, d, level, snapshot is not None),
        ["code", *VALUES],
        filters,
        scope,
        window_dates(at),
        as_arrays=True,
        values=snapshot,
    )

    # onto the reference's territories, zeros where nothing was counted (codes outside the
    # reference, filters or scope are dropped), with NumPy: pandas alignment costs ms here
    territories = reader.territories(level, filters, scope)
    row = territories.index.get_indexer(frame["code"])
    found = row >= 0
    out = {
        level: territories.index.to_numpy(),
        **{c: territories[c].to_numpy() for c in territories.columns},
    }
    for v in VALUES:
        column = np.zeros(
            len(territories), dtype="float64" if v == "demandes_actives_ponderees" else "int64"
        )
        column[row[found]] = np.asarray(frame[v], dtype=column.dtype)[found]
        out[v] = column
    # a sum of 1/n weights: to 6 decimals first, so that the order the database added them
    # in (wish by wish live, by counted groups in a summary) never decides the second decimal
    out["demandes_actives_ponderees"] = out["demandes_actives_ponderees"].round(6).round(2)
    leases = out["baux_12m"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["tension"] = np.where(leases > 0, out["demandes_actives"] / leases, np.nan).round(2)
    return _without_mixed_ratios(pd.DataFrame(out), ["tension"], filters)


def _without_mixed_ratios(frame: pd.DataFrame, ratios: list[str], filters: Filters) -> pd.DataFrame:
    """The ratios a filter applies to one term of and not the other emptied (they would
    divide two different bases), and why, in ``attrs["ratios_non_calcules"]``."""
    reasons = {}
    for code in ratios:
        reason = not_computed(code, filters)
        if reason:
            frame[code] = np.nan
            reasons[code] = reason
    frame.attrs["ratios_non_calcules"] = reasons
    return frame


def window_dates(at: date) -> dict[str, date]:
    """The observation date (``au``) and the start, excluded, of the 12 months ending on it."""
    return {"au": at, "debut_12m": months_before(at, 12)}


def _statement(
    reader: Reader, filters: Filters, scope: Scope, dates: dict, level: str, snapshot: bool
) -> sa.Select:
    """Demand and supply per territory code: one UNION member per figure's source, each per
    commune, summed per EPCI at that level. With ``snapshot``, the demand is counted from a
    summary's snapshot of the date (:mod:`~data_access.queries.snapshots`)."""
    at, window_start = dates["au"], dates["debut_12m"]
    parts = []

    def part(
        commune_code: sa.ColumnElement,
        base: sa.FromClause,
        values: dict[str, sa.ColumnElement],
        where: list[sa.ColumnElement],
    ) -> sa.Select:
        """One UNION member: ``values`` per commune, the other columns zero. The commune
        reference is joined only when a clause needs it."""
        columns = [values.get(v, sa.literal(0)).label(v) for v in VALUES]
        source = join_needed(
            base, [(commune, commune.c.code_insee == commune_code, False)], *values.values(), *where
        )
        return (
            sa.select(commune_code.label("code"), *columns)
            .select_from(source)
            .where(*where)
            .group_by(commune_code)
        )

    if snapshot:
        parts.extend(_snapshot_demand(filters, scope, part))
    else:
        parts.append(_live_demand(reader, filters, scope, at, part))

    # stock (supply subjects have no demande: criteria and mutation filters do not apply),
    # counted from the summary's snapshot of the date when it holds one
    stock = logement_au if snapshot else logement
    stock_subject = Subject(
        epci=commune.c.epci_siren,
        commune=stock.c.commune_code,
        bailleur=stock.c.bailleur_id,
        qpv=stock.c.qpv_code,
    )
    in_service = on_snapshot(stock) if snapshot else logement.c.date_mise_en_service <= at
    parts.append(
        part(
            stock.c.commune_code,
            stock,
            {"logements": sa.func.sum(stock.c.n) if snapshot else sa.func.count()},
            [in_service, *filters.clauses(stock_subject), *scope.clauses(stock_subject)],
        )
    )

    # freed dwellings: on a summary that keeps each offer's dwelling columns, read there
    need_res = bool(filters.natures_reservataire)
    if joined_facts():
        o = dwelling = freed = offre_faits
        epci = offre_faits.c.epci_siren
    else:
        o, dwelling, epci = offre, logement, commune.c.epci_siren
        freed = logement.join(offre, offre.c.logement_id == logement.c.id)
    if need_res:
        freed = freed.join(reservataire, reservataire.c.id == o.c.reservataire_id)
    freed_subject = Subject(
        epci=epci,
        commune=dwelling.c.commune_code,
        bailleur=dwelling.c.bailleur_id,
        qpv=dwelling.c.qpv_code,
        reservataire=o.c.reservataire_id,
        nature_reservataire=reservataire.c.nature if need_res else None,
    )
    parts.append(
        part(
            dwelling.c.commune_code,
            freed,
            {"logements_liberes_12m": sa.func.count()},
            [
                o.c.date_liberation > window_start,
                o.c.date_liberation <= at,
                *filters.clauses(freed_subject),
                *scope.clauses(freed_subject),
            ],
        )
    )

    # leases (their joins chosen by LeaseJoin)
    lease = LeaseJoin(
        filters, scope, bail.c.date_signature > window_start, bail.c.date_signature <= at
    )
    prioritaire = lease.prioritaire()
    code = lease.col(logement.c.commune_code)
    parts.append(
        sa.select(
            code.label("code"),
            *[sa.literal(0).label(v) for v in VALUES[:5]],
            sa.func.count().label("baux_12m"),
            sa.func.sum(prioritaire).label("relogements_prioritaires_12m"),
        )
        .select_from(lease.from_clause(code, prioritaire))
        .where(*lease.where)
        .group_by(code)
    )

    union = sa.union_all(*parts).subquery("parts")
    sums = [sa.func.sum(union.c[v]).label(v) for v in VALUES]
    if level == "commune":
        return sa.select(union.c.code, *sums).group_by(union.c.code)
    # EPCI: the communes' figures summed per EPCI (a commune belongs to one EPCI, and every
    # figure adds up), so the reference is joined to a few rows per commune rather than to
    # each wish and lease (national DuckDB: the EPCI level cost ≈ 15 % more than the commune's)
    return (
        sa.select(commune.c.epci_siren.label("code"), *sums)
        .select_from(union.join(commune, commune.c.code_insee == union.c.code))
        .group_by(commune.c.epci_siren)
    )


def _live_demand(reader: Reader, filters: Filters, scope: Scope, at, part) -> sa.Select:
    """The demand's UNION member counted on the demandes themselves: the active demandes,
    each with its priority on ``at``, then their wishes, each weighing 1/n (n: the
    demande's number of wished communes, a contract column)."""
    # DuckDB
    # sets the flag on the active demandes with a membership test before the join to their
    # wishes (national: 684 → 446 ms for this part). PostgreSQL keeps a join to the priority
    # snapshot: its hashed IN is ≈ 15 % faster on the department, but turns into a per-row
    # subplan once the priority set outgrows work_mem, as it does at national sizes
    demand_subject = Subject(
        mutation=demande.c.mutation, demande_id=demande.c.id, reference_date=at
    )
    if reader.dialect == "postgresql":
        snapshot = priority_snapshot(at)
        held, source = (
            snapshot.c.demande_id.is_not(None),
            demande.outerjoin(snapshot, snapshot.c.demande_id == demande.c.id),
        )
    else:
        held, source = demande.c.id.in_(priority_holders(at)), demande
    # each active demande's weight (1/n, a float division: PostgreSQL's NUMERIC one costs a
    # tenth of the query) and priority computed once on the demande, not on each of its wishes
    active = (
        sa.select(
            demande.c.id,
            (1.0 / sa.cast(demande.c.nb_communes_souhaitees, sa.Double)).label("poids"),
            sa.case((held, 1), else_=0).label("prioritaire"),
        )
        .select_from(source)
        .where(*active_on(at), *filters.clauses(demand_subject))
        .subquery("actives")
    )
    wish_subject = Subject(epci=commune.c.epci_siren, commune=demande_commune.c.commune_code)
    first = demande_commune.c.rang == 1
    return part(
        demande_commune.c.commune_code,
        demande_commune.join(active, active.c.id == demande_commune.c.demande_id),
        {
            # FILTER aggregates: no CASE projected on each wish
            "demandes_actives": sa.func.count().filter(first),
            "demandes_actives_ponderees": sa.func.sum(active.c.poids),
            "demandes_prioritaires_actives": sa.func.count().filter(
                sa.and_(first, active.c.prioritaire == 1)
            ),
        },
        [*filters.clauses(wish_subject), *scope.clauses(wish_subject)],
    )


def _snapshot_demand(filters: Filters, scope: Scope, part) -> list[sa.Select]:
    """The demand's UNION members counted from a summary's snapshot: the first wishes
    (active and priority demandes) and the weighted wishes, each table filtered on its own
    commune, mutation and criteria, as the live member filters its wishes and demandes."""
    out = []
    for table, values in (
        (
            demande_au,
            {
                "demandes_actives": sa.func.sum(demande_au.c.n),
                "demandes_prioritaires_actives": sa.func.coalesce(
                    sa.func.sum(demande_au.c.n).filter(demande_au.c.masque_criteres != 0), 0
                ),
            },
        ),
        (
            voeu_au,
            {
                "demandes_actives_ponderees": sa.func.sum(
                    voeu_au.c.n / sa.cast(voeu_au.c.nb_communes, sa.Double)
                )
            },
        ),
    ):
        out.append(part(table.c.commune_code, table, values, snapshot_where(table, filters, scope)))
    return out


#: Typology groups of the pressure index, smallest first.
TYPOLOGIES = ("T1-T2", "T3", "T4", "T5+")
PRESSURE_VALUES = ["demandes_actives", "baux_12m"]


def target_typology(persons: sa.ColumnElement) -> sa.ColumnElement:
    """The DRIHL target typology of a household from its size: one or two persons T1-T2
    (a single person T1/T2, a couple T2), three T3, four T4, five or more T5+. The rule that
    gives a lone parent with one child a T3 needs the household's composition, which the
    replica does not hold: such a household counts as two persons."""
    return sa.case(
        (persons <= 2, "T1-T2"), (persons == 3, "T3"), (persons == 4, "T4"), (persons >= 5, "T5+")
    )


def dwelling_typology(typologie: sa.ColumnElement) -> sa.ColumnElement:
    """A dwelling's typology in the same groups: T1 and T2 → T1-T2, T5 (and more) → T5+."""
    return sa.case(
        (in_list(typologie, ["T1", "T2"]), "T1-T2"),
        (typologie == "T3", "T3"),
        (typologie == "T4", "T4"),
        (typologie == "T5", "T5+"),
    )


@question(at="observation")
def typology_pressure(
    reader: Reader,
    filters: Filters | None = None,
    level: str = "commune",
    at: date | str | None = None,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """Pressure by typology per territory on ``at`` (DRIHL method, domain.md §3.5).

    **Definitions.** ``demandes_actives``: demandes active on ``at`` (as in
    :func:`demand_supply`) on their first wished commune, by target typology
    (:func:`target_typology`, from the household size; a demande without a size is left
    out). ``baux_12m``: leases signed in the 12 months ending on ``at`` by the leased
    dwelling's typology (:func:`dwelling_typology`). ``pression`` = demandes ÷ leases of the
    typology; ``pression_globale`` = all typologies' demandes ÷ all their leases in the
    territory; ``desequilibre`` = ``pression`` ÷ ``pression_globale`` (above 1: the typology
    is harder to obtain than the territory's average). Ratios are empty when their divisor
    is zero, and rounded to 2 decimals. Filters apply as in :func:`demand_supply`.

    Columns: the territory code (``commune`` or ``epci``), ``libelle``, ``typologie``, the
    counts and ratios above; one row per territory of the reference within filters and scope
    and per typology of :data:`TYPOLOGIES`, zeros included.
    """
    if level not in LEVELS:
        raise FilterError(f"Niveau géographique inconnu : {level!r} (attendu : commune ou epci).")
    snapshot = reader.snapshot(at)
    frame = run_template(
        reader,
        ("typology_pressure", level, snapshot is not None),
        lambda f, s, d: _pressure_statement(f, s, d, level, snapshot is not None),
        ["code", "typologie", *PRESSURE_VALUES],
        filters,
        scope,
        window_dates(at),
        values=snapshot,
    ).set_index(["code", "typologie"])

    territories = reader.territories(level, filters, scope)
    grid = pd.MultiIndex.from_product([territories.index, TYPOLOGIES], names=[level, "typologie"])
    out = frame.reindex(grid, fill_value=0).astype("int64").reset_index()
    out.insert(1, "libelle", territories["libelle"].reindex(out[level]).to_numpy())
    totals = out.groupby(level)[PRESSURE_VALUES].transform("sum")
    ratio = lambda num, den: (num / den.where(den > 0)).astype("float64")  # noqa: E731
    out["pression"] = ratio(out["demandes_actives"], out["baux_12m"])
    out["pression_globale"] = ratio(totals["demandes_actives"], totals["baux_12m"])
    out["desequilibre"] = (out["pression"] / out["pression_globale"]).round(2)
    out[["pression", "pression_globale"]] = out[["pression", "pression_globale"]].round(2)
    return _without_mixed_ratios(out, ["pression", "pression_globale", "desequilibre"], filters)


def _pressure_statement(
    filters: Filters, scope: Scope, dates: dict, level: str, snapshot: bool
) -> sa.Select:
    """Active demandes (from a summary's snapshot of the date with ``snapshot``) and leases
    of the 12 months per territory code and typology."""
    key = commune.c.code_insee if level == "commune" else commune.c.epci_siren
    at, window_start = dates["au"], dates["debut_12m"]
    if snapshot:
        demand = _snapshot_pressure(filters, scope, key)
    else:
        demand = _live_pressure(filters, scope, key, at)

    lease = LeaseJoin(
        filters, scope, bail.c.date_signature > window_start, bail.c.date_signature <= at
    )
    lkey, typologie = lease.col(key), lease.col(logement.c.typologie)
    ltyp = dwelling_typology(typologie)
    leases = (
        sa.select(
            lkey.label("code"),
            ltyp.label("typologie"),
            sa.literal(0).label("demandes_actives"),
            sa.func.count().label("baux_12m"),
        )
        .select_from(lease.from_clause(lkey, typologie))
        .where(*lease.where, ltyp.is_not(None))
        .group_by(lkey, ltyp)
    )

    union = sa.union_all(demand, leases).subquery("parts")
    return sa.select(
        union.c.code,
        union.c.typologie,
        *[sa.func.sum(union.c[v]).label(v) for v in PRESSURE_VALUES],
    ).group_by(union.c.code, union.c.typologie)


def _live_pressure(filters: Filters, scope: Scope, key, at) -> sa.Select:
    """Active demandes on ``at`` per territory ``key`` and target typology, on the demandes."""
    subject = Subject(
        mutation=demande.c.mutation,
        demande_id=demande.c.id,
        reference_date=at,
        epci=commune.c.epci_siren,
        commune=demande_commune.c.commune_code,
    )
    typ = target_typology(demande.c.nb_personnes)
    return (
        sa.select(
            key.label("code"),
            typ.label("typologie"),
            sa.func.count().label("demandes_actives"),
            sa.literal(0).label("baux_12m"),
        )
        .select_from(
            demande.join(
                demande_commune,
                sa.and_(demande_commune.c.demande_id == demande.c.id, demande_commune.c.rang == 1),
            ).join(commune, commune.c.code_insee == demande_commune.c.commune_code)
        )
        .where(
            *active_on(at),
            demande.c.nb_personnes.is_not(None),
            *filters.clauses(subject),
            *scope.clauses(subject),
        )
        .group_by(key, typ)
    )


def _snapshot_pressure(filters: Filters, scope: Scope, key) -> sa.Select:
    """The same counts from a summary's snapshot (:mod:`~data_access.queries.snapshots`)."""
    typ = demande_au.c.typologie
    return (
        sa.select(
            key.label("code"),
            typ.label("typologie"),
            sa.func.sum(demande_au.c.n).label("demandes_actives"),
            sa.literal(0).label("baux_12m"),
        )
        .select_from(demande_au.join(commune, commune.c.code_insee == demande_au.c.commune_code))
        .where(typ.is_not(None), *snapshot_where(demande_au, filters, scope))
        .group_by(key, typ)
    )
