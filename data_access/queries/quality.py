"""What the shared file's manager checks every week, and why figures differ between tools.

The three checks list cases to look at (one row each, with the demande's numéro unique);
the reconciliation counts attributions on the CAL date against rehousings on the lease date,
month by month, and splits the difference into its causes.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from data_access.errors import FilterError
from data_access.filters import Filters, Period, Scope, Subject, in_list
from data_access.queries.base import LeaseJoin, Reader, as_month, densify, in_period, month_of
from data_access.queries.demand_supply import active_on
from data_access.queries.pipeline import proposition_join
from data_access.questions import question
from data_access.schema import (
    REPONSES_REFUS,
    bail,
    commune,
    decision_cal,
    demande,
    proposition,
    reservataire,
)


def firm_attribution() -> sa.ColumnElement:
    """A firm attribution: the CAL gave the dwelling to this household (an attribution by
    rank only when it ranked first; ranks 2 and 3 are reserves who will usually not get it)."""
    return sa.or_(
        in_list(decision_cal.c.decision, ["attribution", "attribution_sous_condition"]),
        sa.and_(decision_cal.c.decision == "attribution_rang", decision_cal.c.rang == 1),
    )


def _days(later: date, earlier: sa.ColumnElement) -> sa.ColumnElement:
    return sa.literal(later, sa.Date) - earlier


@question(at="today", summarised=False)
def pending_propositions(
    reader: Reader,
    filters: Filters | None = None,
    at: date | str | None = None,
    min_days: int = 30,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """Propositions still awaiting the household's answer on ``at`` although made at least
    ``min_days`` days before: no answer yet, or an answer dated after ``at``.

    Columns: ``proposition``, ``numero_unique``, ``date_proposition``, ``jours_en_attente``,
    ``reservataire`` (name of the réservataire who designated the household), ``commune``
    (name of the dwelling's commune); oldest first.
    """
    before = at - timedelta(days=min_days)
    from_, where = proposition_join(
        filters,
        scope,
        sa.literal(at, sa.Date),
        demande.c.numero_unique,
        reservataire.c.nom,
        commune.c.nom,
    )
    stmt = (
        sa.select(
            proposition.c.id,
            demande.c.numero_unique,
            proposition.c.date_proposition,
            reservataire.c.nom,
            commune.c.nom,
        )
        .select_from(from_)
        .where(
            proposition.c.date_proposition <= before,
            sa.or_(proposition.c.date_reponse.is_(None), proposition.c.date_reponse > at),
            *where,
        )
        .order_by(proposition.c.date_proposition, proposition.c.id)
    )
    out = reader.frame(
        stmt, ["proposition", "numero_unique", "date_proposition", "reservataire", "commune"]
    )
    out["date_proposition"] = pd.to_datetime(out["date_proposition"])
    out.insert(
        3, "jours_en_attente", (pd.Timestamp(at) - out["date_proposition"]).dt.days.astype("int64")
    )
    return out


@question(at="today", summarised=False)
def approved_not_leased(
    reader: Reader,
    filters: Filters | None = None,
    at: date | str | None = None,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """Households the CAL attributed a dwelling to (firm attribution, :func:`firm_attribution`)
    on or before ``at``, whose demande is still active on ``at``, who had not refused the
    proposition by then, and who have no lease on it signed by ``at``.

    Columns: ``proposition``, ``numero_unique``, ``date_cal``, ``jours_depuis_cal``,
    ``decision``, ``reservataire``, ``commune``; oldest CAL first.
    """
    # the first firm attribution of each proposition, with its own decision
    order = sa.func.row_number().over(
        partition_by=decision_cal.c.proposition_id,
        order_by=(decision_cal.c.date_cal, decision_cal.c.id),
    )
    ranked = (
        sa.select(
            decision_cal.c.proposition_id,
            decision_cal.c.date_cal,
            decision_cal.c.decision,
            order.label("ordre"),
        )
        .where(firm_attribution(), decision_cal.c.date_cal <= at)
        .subquery("attributions_classees")
    )
    first_cal = (
        sa.select(ranked.c.proposition_id, ranked.c.date_cal, ranked.c.decision)
        .where(ranked.c.ordre == 1)
        .subquery("attributions")
    )
    leased = sa.exists().where(
        bail.c.proposition_id == proposition.c.id, bail.c.date_signature <= at
    )
    refused = sa.and_(
        in_list(proposition.c.reponse, REPONSES_REFUS), proposition.c.date_reponse <= at
    )
    from_, where = proposition_join(
        filters,
        scope,
        first_cal.c.date_cal,
        demande.c.numero_unique,
        reservataire.c.nom,
        commune.c.nom,
        demande.c.date_depot,
    )
    stmt = (
        sa.select(
            proposition.c.id,
            demande.c.numero_unique,
            first_cal.c.date_cal,
            first_cal.c.decision,
            reservataire.c.nom,
            commune.c.nom,
        )
        .select_from(from_.join(first_cal, first_cal.c.proposition_id == proposition.c.id))
        .where(*active_on(at), ~leased, ~refused, *where)
        .order_by(first_cal.c.date_cal, proposition.c.id)
    )
    out = reader.frame(
        stmt, ["proposition", "numero_unique", "date_cal", "decision", "reservataire", "commune"]
    )
    out["date_cal"] = pd.to_datetime(out["date_cal"])
    out.insert(3, "jours_depuis_cal", (pd.Timestamp(at) - out["date_cal"]).dt.days.astype("int64"))
    return out


#: What two demandes must share to be flagged as a likely duplicate.
DUPLICATE_KEYS = (
    "commune_residence_code",
    "nb_personnes",
    "typologie_recherchee",
    "revenu_mensuel",
)


@question(at="today", summarised=False)
def likely_duplicates(
    reader: Reader,
    filters: Filters | None = None,
    at: date | str | None = None,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """Active demandes on ``at`` that share their current commune of residence, household
    size, wished typology and declared monthly income to the cent (:data:`DUPLICATE_KEYS`):
    most likely one household registered twice (the replica holds no names, on purpose).
    Territory filters apply to the commune of residence.

    Columns: ``groupe`` (1, 2, … one per set of look-alikes), ``numero_unique``,
    ``date_depot``, ``commune_residence`` (code), ``commune_residence_nom``, ``nb_personnes``,
    ``typologie_recherchee``, ``revenu_mensuel``; by group then filing date. A demande
    belongs to no réservataire nor bailleur: a profile limited to some of them may not list
    demandes (French error).
    """
    if scope.reservataires is not None or scope.bailleurs is not None:
        raise FilterError(
            "La recherche de doublons liste des demandes : "
            "elle est réservée aux profils qui voient "
            "toutes les demandes d'un territoire, "
            "pas à un périmètre de réservataires ou de bailleurs."
        )
    keys = [demande.c[k] for k in DUPLICATE_KEYS]
    territory = Filters(epci=filters.epci, communes=filters.communes)
    subject = Subject(epci=commune.c.epci_siren, commune=demande.c.commune_residence_code)
    active = [
        *active_on(at),
        *[k.is_not(None) for k in keys],
        *territory.clauses(subject),
        *scope.clauses(subject),
    ]
    base = demande.join(commune, commune.c.code_insee == demande.c.commune_residence_code)
    groups = (
        sa.select(*keys)
        .select_from(base)
        .where(*active)
        .group_by(*keys)
        .having(sa.func.count() > 1)
        .subquery("doublons")
    )
    stmt = (
        sa.select(demande.c.numero_unique, demande.c.date_depot, commune.c.nom, *keys)
        .select_from(
            base.join(groups, sa.and_(*[groups.c[k] == demande.c[k] for k in DUPLICATE_KEYS]))
        )
        .where(*active)
    )
    out = reader.frame(
        stmt, ["numero_unique", "date_depot", "commune_residence_nom", *DUPLICATE_KEYS]
    )
    out = out.rename(columns={"commune_residence_code": "commune_residence"})
    out["date_depot"] = pd.to_datetime(out["date_depot"])
    group_keys = ["commune_residence", "nb_personnes", "typologie_recherchee", "revenu_mensuel"]
    out = out.sort_values([*group_keys, "date_depot", "numero_unique"]).reset_index(drop=True)
    out.insert(0, "groupe", out.groupby(group_keys, sort=False).ngroup() + 1)
    return out[
        [
            "groupe",
            "numero_unique",
            "date_depot",
            "commune_residence",
            "commune_residence_nom",
            "nb_personnes",
            "typologie_recherchee",
            "revenu_mensuel",
        ]
    ]


RECONCILIATION = [
    "attributions_date_cal",
    "attributions_bail_meme_mois",
    "attributions_bail_plus_tard",
    "attributions_sans_bail",
    "baux_date_signature",
    "baux_cal_mois_anterieur",
    "baux_sans_cal",
]


@question(summarised=False)
def reconciliation(
    reader: Reader,
    filters: Filters | None = None,
    scope: Scope | None = None,
    *,
    period: Period,
    reference_date: date,
) -> pd.DataFrame:
    """Attributions counted on the CAL date against rehousings counted on the lease date.

    **Definitions.** ``attributions_date_cal``: propositions whose first firm attribution
    (:func:`firm_attribution`) falls in the month; split into ``attributions_bail_meme_mois``
    (lease signed the same month), ``attributions_bail_plus_tard`` (lease in a later month,
    up to ``reference_date``, the data's last day) and ``attributions_sans_bail`` (no lease on
    that proposition by then:
    refused after the CAL, withdrawn, or still to sign). ``baux_date_signature``: leases
    signed in the month (the rehousings of :func:`monthly_rehousing`); split into the
    same-month ones, ``baux_cal_mois_anterieur`` (firm attribution in an earlier month) and
    ``baux_sans_cal`` (no firm attribution on the proposition: a lease after a CAL
    attribution by rank 2 or 3, or without a recorded decision). So, each month,
    ``baux_date_signature − attributions_date_cal = baux_cal_mois_anterieur + baux_sans_cal
    − attributions_bail_plus_tard − attributions_sans_bail``. Filters apply to the dwelling
    and the réservataire of the proposition (CAL) or of the lease, criteria read on the CAL
    date (the lease's CAL date for leases, as in :func:`monthly_rehousing`).

    Columns: ``mois`` and the counts above; every month of the period, zeros included.
    """
    first_cal = (
        sa.select(
            decision_cal.c.proposition_id, sa.func.min(decision_cal.c.date_cal).label("date_cal")
        )
        .where(firm_attribution())
        .group_by(decision_cal.c.proposition_id)
        .subquery("attributions")
    )
    lease_of = (
        sa.select(bail.c.proposition_id, sa.func.min(bail.c.date_signature).label("date_signature"))
        .where(bail.c.date_signature <= reference_date)
        .group_by(bail.c.proposition_id)
        .subquery("baux_signes")
    )
    cal_month, lease_month = month_of(first_cal.c.date_cal), month_of(lease_of.c.date_signature)

    # attributions by CAL month, through the proposition's filters
    from_, where = proposition_join(filters, scope, first_cal.c.date_cal)
    kind = sa.case(
        (lease_of.c.date_signature.is_(None), "attributions_sans_bail"),
        (lease_month == cal_month, "attributions_bail_meme_mois"),
        else_="attributions_bail_plus_tard",
    )
    cal = (
        sa.select(cal_month.label("mois"), kind.label("indicateur"), sa.func.count().label("n"))
        .select_from(
            from_.join(first_cal, first_cal.c.proposition_id == proposition.c.id).outerjoin(
                lease_of, lease_of.c.proposition_id == proposition.c.id
            )
        )
        .where(*in_period(first_cal.c.date_cal, period.start, period.end_exclusive), *where)
        .group_by(cal_month, kind)
    )

    # leases by signature month, through the lease's filters (as monthly_rehousing)
    lease = LeaseJoin(
        filters,
        scope,
        *in_period(bail.c.date_signature, period.start, period.end_exclusive),
        bail.c.date_signature <= reference_date,
    )
    signed = month_of(lease.lease.c.date_signature)
    attributed = (
        sa.select(first_cal.c.date_cal)
        .where(first_cal.c.proposition_id == lease.lease.c.proposition_id)
        .scalar_subquery()
    )
    lkind = sa.case(
        (attributed.is_(None), "baux_sans_cal"),
        (month_of(attributed) == signed, "baux_meme_mois"),
        else_="baux_cal_mois_anterieur",
    )
    leases = (
        sa.select(signed.label("mois"), lkind.label("indicateur"), sa.func.count().label("n"))
        .select_from(lease.from_clause())
        .where(*lease.where)
        .group_by(signed, lkind)
    )

    union = sa.union_all(cal, leases).subquery("parts")
    long = reader.frame(
        sa.select(union.c.mois, union.c.indicateur, union.c.n), ["mois", "indicateur", "n"]
    )
    long["mois"] = as_month(long["mois"])
    wide = long.pivot_table(
        index="mois", columns="indicateur", values="n", aggfunc="sum", fill_value=0
    )
    for column in (*RECONCILIATION, "baux_meme_mois"):
        if column not in wide:
            wide[column] = 0
    wide["attributions_date_cal"] = wide[
        ["attributions_bail_meme_mois", "attributions_bail_plus_tard", "attributions_sans_bail"]
    ].sum(axis=1)
    wide["baux_date_signature"] = wide[
        ["baux_meme_mois", "baux_cal_mois_anterieur", "baux_sans_cal"]
    ].sum(axis=1)
    out = wide.reset_index()[["mois", *RECONCILIATION]]
    return densify(out, period, [], RECONCILIATION)
