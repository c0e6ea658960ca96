"""The stock of priority demandes waiting: seniority, DALO deadlines, abnormal delay."""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa

from data_access.filters import Filters, Scope, Subject, months_before
from data_access.indicators import ignored
from data_access.queries.base import Reader, join_needed, priority_snapshot, run_template
from data_access.queries.demand_supply import active_on
from data_access.questions import question
from data_access.schema import commune, demande, demande_commune

#: Seniority bands in months since filing: (label, lower bound included, upper bound excluded).
BANDS = [
    ("moins de 6 mois", 0, 6),
    ("6 à 12 mois", 6, 12),
    ("12 à 24 mois", 12, 24),
    ("24 à 36 mois", 24, 36),
    ("36 mois et plus", 36, None),
]
#: Band bounds, in months before the observation date.
SENIORITY_MONTHS = sorted({m for _, lo, hi in BANDS for m in (lo, hi) if m})
VALUES = ["demandes_actives", "demandes_prioritaires", "demandes_dalo", "dalo_delai_depasse"]


@question(at="observation")
def priority_backlog(
    reader: Reader,
    filters: Filters | None = None,
    at: date | str | None = None,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """Active demandes on ``at`` by seniority band, priority ones and DALO ones apart.

    **Definitions.** Seniority runs from the filing date (kept at renewal). A demande is
    *active* on ``at`` when filed on or before it and not radiated then; *prioritaire* when it
    holds a priority criterion valid on ``at``; *DALO* when that criterion is DALO.
    ``dalo_delai_depasse``: DALO demandes whose recognition (start of the DALO criterion) is
    older than the rehousing deadline (``RELOG_DALO_DEADLINE_MONTHS``, 6 months) and still not
    rehoused. Demandes beyond the *délai anormalement long* (``RELOG_ABNORMAL_DELAY_MONTHS``,
    36 months in Haute-Garonne) are those of the rows where
    ``au_dela_delai_anormal`` is true. The territory is that of the first wished commune (a
    territory filter or scope keeps the demandes whose first wish lies in it; without one,
    every active demande counts).

    Filters that apply: territory, criteria, mutation (réservataire, bailleur and QPV filters
    describe supply: they are listed in ``attrs["filtres_non_appliques"]``).
    Columns: ``tranche_anciennete``, ``mois_min``, ``mois_max``, the counts above and
    ``au_dela_delai_anormal``; the five bands always present, zeros included.
    """
    settings = reader.settings
    dates = {
        "au": at,
        "delai_dalo": months_before(at, settings.dalo_deadline_months),
        **{f"depot_{m}_mois": months_before(at, m) for m in SENIORITY_MONTHS},
    }
    frame = run_template(
        reader, ("priority_backlog",), _statement, ["bande", *VALUES], filters, scope, dates
    ).set_index("bande")
    out = (
        frame.reindex(range(len(BANDS)), fill_value=0)
        .fillna(0)
        .astype("int64")
        .reset_index(drop=True)
    )
    out.insert(0, "tranche_anciennete", [label for label, _, _ in BANDS])
    out.insert(1, "mois_min", [lo for _, lo, _ in BANDS])
    out.insert(2, "mois_max", pd.array([hi for _, _, hi in BANDS], dtype="Int64"))
    out["au_dela_delai_anormal"] = out["mois_min"] >= settings.abnormal_delay_months
    out.attrs["filtres_non_appliques"] = ignored(VALUES, filters)
    return out


def _statement(filters: Filters, scope: Scope, dates: dict) -> sa.Select:
    """Active demandes per seniority band with their priority, DALO and late-DALO counts."""
    at, bounds = dates["au"], {m: dates[f"depot_{m}_mois"] for m in SENIORITY_MONTHS}
    band = sa.case(
        *[(demande.c.date_depot > bounds[hi], i) for i, (_, lo, hi) in enumerate(BANDS) if hi],
        else_=len(BANDS) - 1,
    )
    subject = Subject(
        epci=commune.c.epci_siren,
        commune=demande_commune.c.commune_code,
        mutation=demande.c.mutation,
        demande_id=demande.c.id,
        reference_date=at,
    )
    snapshot = priority_snapshot(at, dates["delai_dalo"])
    where = [*active_on(at), *filters.clauses(subject), *scope.clauses(subject)]
    # the first wish and its commune only when a territory filter or the scope needs them
    j = join_needed(
        demande.outerjoin(snapshot, snapshot.c.demande_id == demande.c.id),
        [
            (
                demande_commune,
                sa.and_(demande_commune.c.demande_id == demande.c.id, demande_commune.c.rang == 1),
                False,
            ),
            (commune, commune.c.code_insee == demande_commune.c.commune_code, False),
        ],
        *where,
    )
    return (
        sa.select(
            band.label("bande"),
            sa.func.count().label("demandes_actives"),
            *[
                sa.func.coalesce(sa.func.sum(snapshot.c[c]), 0).label(v)
                for c, v in (
                    ("prioritaire", "demandes_prioritaires"),
                    ("dalo", "demandes_dalo"),
                    ("dalo_delai_depasse", "dalo_delai_depasse"),
                )
            ],
        )
        .select_from(j)
        .where(*where)
        .group_by(band)
    )
