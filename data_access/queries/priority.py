"""The stock of priority demandes waiting: seniority, DALO deadlines, abnormal delay."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from data_access.filters import Filters, Period, Scope, Subject, add_months, months_before, valid_on
from data_access.indicators import ignored
from data_access.queries.base import Reader, join_needed, priority_snapshot, run_template
from data_access.queries.demand_supply import active_on
from data_access.queries.rehousing import share
from data_access.queries.snapshots import (
    dalo_recognised_before,
    demande_au,
    filed_before,
    snapshot_where,
    total,
)
from data_access.questions import question
from data_access.schema import CRITERES, commune, demande, demande_commune, priorite

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
    deadline = settings.dalo_deadline_months
    snapshot = reader.snapshot(at, SENIORITY_MONTHS, (deadline,))
    frame = run_template(
        reader,
        ("priority_backlog", snapshot is not None, deadline),
        (lambda f, s, d: _snapshot_statement(f, s, deadline)) if snapshot else _statement,
        ["bande", *VALUES],
        filters,
        scope,
        dates,
        values=snapshot,
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


def _waiting(filters: Filters, scope: Scope, at, dalo_deadline, territory: bool = False):
    """Active demandes on ``at`` with their priority snapshot: (from clause, where clauses,
    snapshot). The first wish and its commune are joined when a territory filter, the scope
    or ``territory`` (a breakdown by EPCI) needs them; for a breakdown, an outer join, so
    that a demande without a first wish in an EPCI still counts."""
    subject = Subject(
        epci=commune.c.epci_siren,
        commune=demande_commune.c.commune_code,
        mutation=demande.c.mutation,
        demande_id=demande.c.id,
        reference_date=at,
    )
    snapshot = priority_snapshot(at, dalo_deadline)
    where = [*active_on(at), *filters.clauses(subject), *scope.clauses(subject)]
    first_wish = sa.and_(demande_commune.c.demande_id == demande.c.id, demande_commune.c.rang == 1)
    j = join_needed(
        demande.outerjoin(snapshot, snapshot.c.demande_id == demande.c.id),
        [
            (demande_commune, first_wish, territory),
            (commune, commune.c.code_insee == demande_commune.c.commune_code, territory),
        ],
        *where,
        *([commune.c.epci_siren] if territory else []),
    )
    return j, where, snapshot


def _snapshot_counts(snapshot) -> list[sa.ColumnElement]:
    """The priority, DALO and late-DALO counts of the waiting demandes' snapshot."""
    return [
        sa.func.coalesce(sa.func.sum(snapshot.c[c]), 0).label(v)
        for c, v in (
            ("prioritaire", "demandes_prioritaires"),
            ("dalo", "demandes_dalo"),
            ("dalo_delai_depasse", "dalo_delai_depasse"),
        )
    ]


def _statement(filters: Filters, scope: Scope, dates: dict) -> sa.Select:
    """Active demandes per seniority band with their priority, DALO and late-DALO counts."""
    at, bounds = dates["au"], {m: dates[f"depot_{m}_mois"] for m in SENIORITY_MONTHS}
    band = sa.case(
        *[(demande.c.date_depot > bounds[hi], i) for i, (_, lo, hi) in enumerate(BANDS) if hi],
        else_=len(BANDS) - 1,
    )
    j, where, snapshot = _waiting(filters, scope, at, dates["delai_dalo"])
    return (
        sa.select(
            band.label("bande"),
            sa.func.count().label("demandes_actives"),
            *_snapshot_counts(snapshot),
        )
        .select_from(j)
        .where(*where)
        .group_by(band)
    )


def _waiting_snapshot(filters: Filters, scope: Scope, territory: bool = False):
    """:func:`_waiting` on a summary's snapshot (:mod:`~data_access.queries.snapshots`):
    (from clause, where clauses); the first wish's commune is a column of the counted rows
    (``NULL``: no first wish)."""
    where = snapshot_where(demande_au, filters, scope)
    j = join_needed(
        demande_au,
        [(commune, commune.c.code_insee == demande_au.c.commune_code, territory)],
        *where,
        *([commune.c.epci_siren] if territory else []),
    )
    return j, where


#: The bit of the DALO criterion in the criteria held (:func:`~data_access.filters.criteria_bits`).
DALO_BIT = 1 << list(CRITERES).index("DALO")


def _snapshot_counts_of_rows(deadline: int) -> list[sa.ColumnElement]:
    """:func:`_snapshot_counts` on a summary's snapshot."""
    mask = demande_au.c.masque_criteres
    return [
        total(mask != 0).label("demandes_prioritaires"),
        total(mask.op("&")(DALO_BIT) != 0).label("demandes_dalo"),
        total(dalo_recognised_before(deadline)).label("dalo_delai_depasse"),
    ]


def _snapshot_statement(filters: Filters, scope: Scope, deadline: int) -> sa.Select:
    """:func:`_statement` on a summary's snapshot of the date (``deadline``: the DALO
    rehousing deadline, in months)."""
    band = sa.case(
        *[(sa.not_(filed_before(hi)), i) for i, (_, lo, hi) in enumerate(BANDS) if hi],
        else_=len(BANDS) - 1,
    )
    j, where = _waiting_snapshot(filters, scope)
    return (
        sa.select(
            band.label("bande"),
            total().label("demandes_actives"),
            *_snapshot_counts_of_rows(deadline),
        )
        .select_from(j)
        .where(*where)
        .group_by(band)
    )


def _undated(filters: Filters) -> Filters:
    """The filters without their period, which a count on a date does not read: one cached
    answer per date, whatever period the caller's filters carry."""
    return filters.replace(start=None, end=None)


def abnormal_delays(settings, epci) -> pd.Series:
    """The délai anormalement long of each EPCI, in months: its override
    (``RELOG_ABNORMAL_DELAY_EPCI``), else the department's (``RELOG_ABNORMAL_DELAY_MONTHS``)."""
    default, overrides = settings.abnormal_delay_months, dict(settings.abnormal_delay_epci)
    return pd.Series([overrides.get(code, default) for code in epci], index=epci, dtype=int)


#: Label of the demandes whose first wish has no EPCI (none, or a commune outside them).
NO_EPCI = "Sans commune souhaitée dans un EPCI"
BACKLOG_VALUES = [
    "demandes_actives", "demandes_prioritaires", "demandes_dalo", "dalo_delai_depasse",
    "demandes_delai_anormal",
]  # fmt: skip


@question(at="observation")
def backlog_by_epci(
    reader: Reader,
    filters: Filters | None = None,
    at: date | str | None = None,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """The plan's waiting households on ``at``, per EPCI of the first wished commune.

    **Definitions** (those of :func:`priority_backlog`): active, prioritaire and DALO
    demandes on ``at``; ``dalo_delai_depasse``, the DALO households recognised longer ago
    than the rehousing deadline (``RELOG_DALO_DEADLINE_MONTHS``, 6 months) and still waiting;
    ``demandes_delai_anormal``, the active demandes filed at least the EPCI's *délai
    anormalement long* before ``at`` (``delai_anormal_mois``: the EPCI's override in
    ``RELOG_ABNORMAL_DELAY_EPCI``, else ``RELOG_ABNORMAL_DELAY_MONTHS``, 36 months);
    ``part_delai_anormal`` = that count ÷ active demandes.

    Rows: one per EPCI with an active demande, and one without EPCI code (``epci`` empty,
    ``libelle`` « Sans commune souhaitée dans un EPCI ») for demandes whose first wish lies
    in none; the sum of the rows is :func:`priority_backlog`'s total. Filters: territory,
    criteria, mutation, as :func:`priority_backlog`.
    """
    if filters.epci and not filters.communes:
        # an EPCI's rows are those of every EPCI, kept: one cached answer serves them all
        every = reader.backlog_by_epci(_undated(filters).replace(epci=()), at=at, scope=scope)
        out = every[every["epci"].isin(filters.epci)].reset_index(drop=True)
        out.attrs.update(every.attrs)
        return out
    settings = reader.settings
    delays = sorted({settings.abnormal_delay_months, *dict(settings.abnormal_delay_epci).values()})
    dates = {
        "au": at,
        "delai_dalo": months_before(at, settings.dalo_deadline_months),
        **{f"depot_{m}_mois": months_before(at, m) for m in delays},
    }
    columns = ["epci", *BACKLOG_VALUES[:4], *[f"anciennes_{m}" for m in delays]]
    deadline = settings.dalo_deadline_months
    snapshot = reader.snapshot(at, delays, (deadline,))
    frame = run_template(
        reader,
        ("backlog_by_epci", tuple(delays), snapshot is not None, deadline),
        (lambda f, s, d: _by_epci_snapshot(f, s, delays, deadline))
        if snapshot
        else (lambda f, s, d: _by_epci_statement(f, s, d, delays)),
        columns,
        filters,
        scope,
        dates,
        values=snapshot,
    )
    frame["epci"] = frame["epci"].astype(object).where(frame["epci"].notna(), None)
    counts = frame[columns[1:]].fillna(0).astype("int64")
    delay = abnormal_delays(settings, frame["epci"].fillna(""))
    out = frame[["epci"]].copy()
    labels = reader.reference("epci")["libelle"]
    out["libelle"] = [labels.get(code, code) if code else NO_EPCI for code in out["epci"]]
    for column in BACKLOG_VALUES[:4]:
        out[column] = counts[column].to_numpy()
    out["delai_anormal_mois"] = delay.to_numpy()
    out["demandes_delai_anormal"] = [
        counts[f"anciennes_{m}"].iloc[i] for i, m in enumerate(delay.to_numpy())
    ]
    out["demandes_delai_anormal"] = out["demandes_delai_anormal"].astype("int64")
    out["part_delai_anormal"] = share(out["demandes_delai_anormal"], out["demandes_actives"])
    out = out.sort_values("epci", na_position="last", ignore_index=True)
    out.attrs["filtres_non_appliques"] = ignored(BACKLOG_VALUES, filters)
    return out


def _by_epci_statement(filters: Filters, scope: Scope, dates: dict, delays) -> sa.Select:
    at = dates["au"]
    j, where, snapshot = _waiting(filters, scope, at, dates["delai_dalo"], territory=True)
    epci = commune.c.epci_siren
    return (
        sa.select(
            epci.label("epci"),
            sa.func.count().label("demandes_actives"),
            *_snapshot_counts(snapshot),
            *[
                sa.func.sum(
                    sa.case((demande.c.date_depot <= dates[f"depot_{m}_mois"], 1), else_=0)
                ).label(f"anciennes_{m}")
                for m in delays
            ],
        )
        .select_from(j)
        .where(*where)
        .group_by(epci)
    )


def _by_epci_snapshot(filters: Filters, scope: Scope, delays, deadline: int) -> sa.Select:
    """:func:`_by_epci_statement` on a summary's snapshot of the date."""
    j, where = _waiting_snapshot(filters, scope, territory=True)
    epci = commune.c.epci_siren
    return (
        sa.select(
            epci.label("epci"),
            total().label("demandes_actives"),
            *_snapshot_counts_of_rows(deadline),
            *[total(filed_before(m)).label(f"anciennes_{m}") for m in delays],
        )
        .select_from(j)
        .where(*where)
        .group_by(epci)
    )


def dalo_bands(deadline: int) -> list[tuple[str, int, int | None]]:
    """Bands of time since the DALO recognition, from the deadline on: (label, from, to)."""
    bounds = [deadline, *[m for m in (12, 24) if m > deadline]]
    out = []
    for i, lo in enumerate(bounds):
        hi = bounds[i + 1] if i + 1 < len(bounds) else None
        out.append((f"{lo} à {hi} mois" if hi else f"{lo} mois et plus", lo, hi))
    return out


@question(at="observation")
def dalo_overdue(
    reader: Reader,
    filters: Filters | None = None,
    at: date | str | None = None,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """DALO households past the rehousing deadline on ``at``, by time since their
    recognition: from the deadline (``RELOG_DALO_DEADLINE_MONTHS``, 6 months) to 12 months,
    12 to 24 months, 24 months and more.

    **Definition.** A household counts when its demande is active on ``at`` and holds a DALO
    criterion valid on ``at`` whose recognition (the criterion's start; the earliest of
    several) is at least the deadline before ``at``. Their total is
    :func:`priority_backlog`'s ``dalo_delai_depasse``. Filters: territory (first wish),
    criteria, mutation. Columns: ``anciennete_dalo``, ``mois_min``, ``mois_max``,
    ``dalo_delai_depasse``; every band present, zeros included.
    """
    bands = dalo_bands(reader.settings.dalo_deadline_months)
    dates = {"au": at, **{f"reconnu_{lo}_mois": months_before(at, lo) for _, lo, _ in bands}}
    lows = tuple(lo for _, lo, _ in bands)
    snapshot = reader.snapshot(at, dalo=lows)
    frame = run_template(
        reader,
        ("dalo_overdue", lows, snapshot is not None),
        (lambda f, s, d: _overdue_snapshot(f, s, bands))
        if snapshot
        else (lambda f, s, d: _overdue_statement(f, s, d, bands)),
        ["bande", "dalo_delai_depasse"],
        filters,
        scope,
        dates,
        values=snapshot,
    ).set_index("bande")
    counts = frame["dalo_delai_depasse"].reindex(range(len(bands)), fill_value=0).fillna(0)
    return pd.DataFrame(
        {
            "anciennete_dalo": [label for label, _, _ in bands],
            "mois_min": [lo for _, lo, _ in bands],
            "mois_max": pd.array([hi for _, _, hi in bands], dtype="Int64"),
            "dalo_delai_depasse": counts.astype("int64").to_numpy(),
        }
    )


def _overdue_statement(filters: Filters, scope: Scope, dates: dict, bands) -> sa.Select:
    at = dates["au"]
    recognised = (
        sa.select(priorite.c.demande_id, sa.func.min(priorite.c.date_debut).label("depuis"))
        .where(priorite.c.critere == "DALO", *valid_on(at))
        .group_by(priorite.c.demande_id)
        .subquery("dalo_au")
    )
    j, where, _ = _waiting(filters, scope, at, None)
    j = j.join(recognised, recognised.c.demande_id == demande.c.id)
    # band i: recognised on or before at − lo months and after at − hi months
    band = sa.case(
        *[
            (recognised.c.depuis > dates[f"reconnu_{bands[i + 1][1]}_mois"], i)
            for i in range(len(bands) - 1)
        ],
        else_=len(bands) - 1,
    )
    return (
        sa.select(band.label("bande"), sa.func.count().label("dalo_delai_depasse"))
        .select_from(j)
        .where(*where, recognised.c.depuis <= dates[f"reconnu_{bands[0][1]}_mois"])
        .group_by(band)
    )


def _overdue_snapshot(filters: Filters, scope: Scope, bands) -> sa.Select:
    """:func:`_overdue_statement` on a summary's snapshot of the date."""
    j, where = _waiting_snapshot(filters, scope)
    band = sa.case(
        *[(sa.not_(dalo_recognised_before(bands[i + 1][1])), i) for i in range(len(bands) - 1)],
        else_=len(bands) - 1,
    )
    return (
        sa.select(band.label("bande"), total().label("dalo_delai_depasse"))
        .select_from(j)
        .where(*where, dalo_recognised_before(bands[0][1]))
        .group_by(band)
    )


@question(cached=False)
def backlog_trend(
    reader: Reader,
    filters: Filters | None = None,
    scope: Scope | None = None,
    *,
    period: Period,
) -> pd.DataFrame:
    """The waiting households at each month end of the filters' period (the last: the data's
    last day when the month is not complete): :func:`backlog_by_epci`'s counts summed over
    the EPCI. Columns: ``mois``, ``au`` (the date observed), ``demandes_actives``,
    ``demandes_prioritaires``, ``demandes_dalo``, ``dalo_delai_depasse``,
    ``demandes_delai_anormal``, ``part_delai_anormal``."""
    last = reader.reference_date()
    rows = []
    for month in period.months():
        at = min(add_months(month, 1) - timedelta(days=1), last)
        frame = reader.backlog_by_epci(filters, at=at, scope=scope)
        rows.append({"mois": pd.Timestamp(month), "au": at, **frame[BACKLOG_VALUES].sum()})
    out = pd.DataFrame(rows, columns=["mois", "au", *BACKLOG_VALUES])
    for column in BACKLOG_VALUES:
        out[column] = out[column].astype("int64")
    out["part_delai_anormal"] = share(out["demandes_delai_anormal"], out["demandes_actives"])
    out.attrs["filtres_non_appliques"] = ignored(BACKLOG_VALUES, filters)
    return out
