"""The allocation pipeline month by month: propositions, refusals, CAL decisions, leases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data_access import schema
from data_access.filters import Filters, Period, Scope, Subject, in_list
from data_access.queries.base import (
    LeaseJoin,
    Reader,
    decision_faits,
    in_period,
    join_needed,
    joined_facts,
    month_of,
    month_positions,
    period_dates,
    proposition_faits,
    run_template,
)
from data_access.questions import question
from data_access.schema import (
    DECISIONS_CAL,
    REPONSES_REFUS,
    bail,
    commune,
    decision_cal,
    demande,
    logement,
    offre,
    proposition,
    reservataire,
)

COLUMNS = [
    "propositions",
    "refus_menage",
    *[f"cal_{kind}" for kind in DECISIONS_CAL],
    "baux_signes",
    "entrees_dans_les_lieux",
]


def proposition_join(filters: Filters, scope: Scope, on: sa.ColumnElement, *elements):
    """Propositions with the joins their filters need; criteria are read on the date ``on``."""
    subject = Subject(
        epci=commune.c.epci_siren,
        commune=logement.c.commune_code,
        reservataire=proposition.c.reservataire_id,
        nature_reservataire=reservataire.c.nature,
        bailleur=logement.c.bailleur_id,
        mutation=demande.c.mutation,
        qpv=logement.c.qpv_code,
        demande_id=proposition.c.demande_id,
        reference_date=on,
    )
    where = [*filters.clauses(subject), *scope.clauses(subject)]
    from_ = join_needed(
        proposition,
        [
            (decision_cal, decision_cal.c.proposition_id == proposition.c.id, False),
            (offre, offre.c.id == proposition.c.offre_id, False),
            (logement, logement.c.id == offre.c.logement_id, False),
            (commune, commune.c.code_insee == logement.c.commune_code, False),
            (reservataire, reservataire.c.id == proposition.c.reservataire_id, False),
            (demande, demande.c.id == proposition.c.demande_id, False),
        ],
        *elements,
        *where,
    )
    return from_, where


def _faits_join(filters: Filters, scope: Scope, on: sa.ColumnElement, *elements):
    """:func:`proposition_join` on a summary whose propositions and CAL decisions keep their
    dwelling's, commune's, réservataire's and demande's columns
    (:data:`~data_access.queries.base.proposition_faits`): the table ``on`` belongs to, alone
    (its build checked that every row has them, as the replica's inner joins require)."""
    root = on.table
    columns = {field: root.c[name] for field, name in _SUBJECT_COLUMNS.items()}
    subject = Subject(**columns, reference_date=on)
    return root, [*filters.clauses(subject), *scope.clauses(subject)]


#: The filters' subject → its column in a summary's propositions and decisions.
_SUBJECT_COLUMNS = {
    "epci": "epci_siren",
    "commune": "commune_code",
    "reservataire": "reservataire_id",
    "nature_reservataire": "nature_reservataire",
    "bailleur": "bailleur_id",
    "mutation": "mutation",
    "qpv": "qpv_code",
    "demande_id": "demande_id",
}


def _statement(filters: Filters, scope: Scope, dates: dict) -> sa.CompoundSelect:
    """(indicator, month, count) rows of every event dated from ``dates["debut"]`` to before
    ``dates["fin"]``."""
    parts = []
    window = (dates["debut"], dates["fin"])
    # on a summary that keeps them, each proposition's and decision's own columns
    proposition, decision_cal, join = (
        (proposition_faits, decision_faits, _faits_join)
        if joined_facts()
        else (schema.proposition, schema.decision_cal, proposition_join)
    )

    def counted(name: sa.ColumnElement, date_col, on, *extra, group=()):
        mois = month_of(date_col)
        from_, where = join(filters, scope, on, name, date_col, *extra)
        parts.append(
            sa.select(name.label("indicateur"), mois.label("mois"), sa.func.count().label("n"))
            .select_from(from_)
            .where(*in_period(date_col, *window), *where, *extra)
            .group_by(*group, mois)
        )

    counted(
        sa.literal("propositions"), proposition.c.date_proposition, proposition.c.date_proposition
    )
    counted(
        sa.literal("refus_menage"),
        proposition.c.date_reponse,
        proposition.c.date_proposition,
        in_list(proposition.c.reponse, REPONSES_REFUS),
    )
    counted(
        sa.literal("cal_") + decision_cal.c.decision,
        decision_cal.c.date_cal,
        decision_cal.c.date_cal,
        group=(decision_cal.c.decision,),
    )
    for name, column in (
        ("baux_signes", "date_signature"),
        ("entrees_dans_les_lieux", "date_entree_lieux"),
    ):
        lease = LeaseJoin(filters, scope, *in_period(bail.c[column], *window))
        mois = month_of(lease.lease.c[column])
        parts.append(
            sa.select(
                sa.literal(name).label("indicateur"), mois.label("mois"), sa.func.count().label("n")
            )
            .select_from(lease.from_clause())
            .where(*lease.where)
            .group_by(mois)
        )
    return sa.union_all(*parts)


@question()
def pipeline(
    reader: Reader, filters: Filters | None = None, scope: Scope | None = None, *, period: Period
) -> pd.DataFrame:
    """The allocation pipeline per month.

    **Definitions.** ``propositions``: proposals made to households, by proposal date.
    ``refus_menage``: proposals refused by the household or left unanswered (which counts as a
    refusal, CCH R441-10), by answer date. ``cal_<décision>``: CAL decisions of each kind
    (attribution, attribution_rang, attribution_sous_condition, non_attribution, irrecevable,
    ajournement), by CAL date. ``baux_signes``: leases, by signature date (the rehousings of
    :func:`monthly_rehousing`). ``entrees_dans_les_lieux``: leases by move-in date.
    Réservataire is the one that designated the candidate (proposals, decisions) or whose
    contingent the lease counts against; a priority-criteria filter is read on the proposal
    date for proposals and refusals, on the CAL date for decisions and leases.

    Columns: ``mois`` then the counts above; every month of the period, zeros included.
    """
    rows = run_template(
        reader,
        ("pipeline",),
        _statement,
        ["indicateur", "mois", "n"],
        filters,
        scope,
        period_dates(period),
        as_arrays=True,
    )
    # long (indicator, month, n) → one column per indicator, with NumPy (a pandas pivot costs
    # more than the query); an indicator outside COLUMNS is not shown
    column = pd.Categorical(rows["indicateur"], categories=COLUMNS).codes
    keep = column >= 0
    months = period.months()
    grid = np.zeros((len(months), len(COLUMNS)), dtype=np.int64)
    np.add.at(
        grid,
        (month_positions(rows["mois"][keep], period), column[keep]),
        np.asarray(rows["n"], dtype=np.int64)[keep],
    )
    out = pd.DataFrame(grid, columns=COLUMNS)
    out.insert(0, "mois", np.array([np.datetime64(m, "ns") for m in months]))
    return out
