"""Monthly rehousing of households, priority ones apart."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data_access.errors import FilterError
from data_access.filters import Filters, Period, Scope, add_months
from data_access.queries.base import (
    CODE_OF_RANK,
    LeaseJoin,
    Reader,
    criterion_code,
    densify,
    in_period,
    month_of,
    period_dates,
    run_template,
)
from data_access.questions import question
from data_access.schema import (
    CRITERES,
    SANS_CRITERE,
    bail,
    commune,
    demande,
    logement,
    reservataire,
)

#: Breakdowns of :func:`monthly_rehousing`.
DIMENSIONS = (
    "reservataire",
    "nature_reservataire",
    "epci",
    "commune",
    "bailleur",
    "critere",
    "groupe_critere",
)
#: Main criterion → its group (DALO, ACD, L441-1; AUCUN stays AUCUN).
GROUPE_OF_CRITERE = {
    **{code: group for code, (_, group) in CRITERES.items()},
    SANS_CRITERE[0]: SANS_CRITERE[0],
}
VALUES = ["relogements", "relogements_prioritaires"]
#: The criterion groups in their text's order: a cell's group comes from SQL as its position
#: here (a small integer to group, sort and fetch, not a text per cell), in the same order.
GROUPS_IN_ORDER = sorted(set(GROUPE_OF_CRITERE.values()))


def _dimension_column(by: str, join: LeaseJoin) -> sa.ColumnElement:
    if by == "critere":  # a correlated subquery: built only when asked for
        return join.main_criterion_rank()
    return {
        "reservataire": join.lease.c.reservataire_id,
        "nature_reservataire": join.col(reservataire.c.nature),
        "epci": join.col(commune.c.epci_siren),
        "commune": join.col(logement.c.commune_code),
        "bailleur": join.col(logement.c.bailleur_id),
    }[by]


@question()
def monthly_rehousing(
    reader: Reader,
    filters: Filters | None = None,
    by: str | None = None,
    scope: Scope | None = None,
    *,
    period: Period,
) -> pd.DataFrame:
    """Rehousings per month, and those of priority households, optionally broken down ``by``
    réservataire, réservataire nature, EPCI, commune, bailleur or main criterion.

    **Definition.** A rehousing is a signed lease (``bail``), counted in the month of its
    signature date (national definition, ANCOLS/SNE). It is *prioritaire* when the household's
    demande held at least one priority criterion (DALO, ACD/PDALHPD label or an L441-1
    criterion) valid on the date of the CAL decision that granted the dwelling. Location,
    bailleur and QPV are those of the dwelling; the réservataire is the one whose contingent
    the lease counts against. The main criterion follows DALO > ACD/PDALHPD > other L441-1
    criteria (``AUCUN`` when none); its group (``groupe_critere``) is ``DALO``, ``ACD``
    (accord collectif / PDALHPD), ``L441-1`` (the other criteria) or ``AUCUN``.

    Columns: ``mois`` (first day of the month), then with ``by``: the dimension's code (column
    named after it) and ``libelle``; then ``relogements``, ``relogements_prioritaires``. Every
    month of the period is present, zeros included; with ``by``, for every member that has at
    least one rehousing in the period.
    """
    if by is not None and by not in DIMENSIONS:
        raise FilterError(f"Ventilation inconnue : {by!r} (attendu : {', '.join(DIMENSIONS)}).")
    by_criterion = by in ("critere", "groupe_critere")
    columns = (
        ["mois", "critere", "relogements"]
        if by_criterion
        else ["mois", *([by] if by else []), *VALUES]
    )
    frame = run_template(
        reader,
        ("monthly_rehousing", "critere" if by_criterion else by),
        lambda f, s, d: _statement(f, s, d, by),
        columns,
        filters,
        scope,
        period_dates(period),
        as_arrays=not by_criterion,
    )
    if by_criterion:
        # one main criterion per lease: relogements_prioritaires = relogements except for AUCUN
        frame["critere"] = criterion_code(frame["critere"])
        if by == "groupe_critere":
            frame = (
                frame.assign(groupe_critere=frame["critere"].map(GROUPE_OF_CRITERE))
                .groupby(["mois", by], as_index=False)["relogements"]
                .sum()
            )
        frame["relogements_prioritaires"] = frame["relogements"].where(
            frame[by] != SANS_CRITERE[0], 0
        )
    out = densify(frame, period, [by] if by else [], VALUES)
    if by:
        # the grid is month-major with members sorted: label each member once, then tile
        n_months = len(period.months())
        members = out[by].iloc[: len(out) // n_months]
        labels = reader.labels(by).reindex(members.to_numpy())
        # a code missing from the reference (or with no name) keeps a row, named by its code
        labels = labels.fillna(
            pd.Series([f"{m} (sans libellé)" for m in members], index=labels.index)
        ).to_numpy()
        out.insert(2, "libelle", np.tile(labels, n_months))
    return out


def _statement(filters: Filters, scope: Scope, dates: dict, by: str | None) -> sa.Select:
    """Leases signed from ``dates["debut"]`` to before ``dates["fin"]`` per month (and ``by``):
    with the main criterion's rank for a criterion breakdown, else with the priority count."""
    join = LeaseJoin(
        filters, scope, *in_period(bail.c.date_signature, dates["debut"], dates["fin"])
    )
    mois = month_of(join.lease.c.date_signature).label("mois")
    if by in ("critere", "groupe_critere"):
        rank = _dimension_column("critere", join).label("critere")
        return (
            sa.select(mois, rank, sa.func.count().label("relogements"))
            .select_from(join.from_clause(rank))
            .where(*join.where)
            .group_by(mois, rank)
        )
    keys = [_dimension_column(by, join).label(by)] if by else []
    prioritaire = join.prioritaire()
    return (
        sa.select(
            mois,
            *keys,
            sa.func.count().label("relogements"),
            sa.func.sum(prioritaire).label("relogements_prioritaires"),
        )
        .select_from(join.from_clause(prioritaire, *keys))
        .where(*join.where)
        .group_by(mois, *keys)
    )


@question()
def rehousing_cells(
    reader: Reader,
    filters: Filters | None = None,
    scope: Scope | None = None,
    *,
    period: Period,
) -> pd.DataFrame:
    """Rehousings per month, commune and main criterion group: the finest cells the pages
    publish, from which statistical secrecy protects them together
    (:mod:`data_access.secrecy`).

    Columns: ``mois`` (first day of the month), ``commune``, ``epci`` (the commune's),
    ``groupe_critere`` (``DALO``, ``ACD``, ``L441-1`` or ``AUCUN``, as in
    :func:`monthly_rehousing`) and ``relogements``; one row per non-empty cell, sorted.
    Same definitions as :func:`monthly_rehousing`: each cell's leases add up to its figures.
    """
    # DuckDB sorts text on its bytes, as pandas does on its code points: the cells (national:
    # 125,000 a year) come sorted, not factorised and sorted again here (≈ 40 ms). PostgreSQL
    # sorts on its collation, which may not be pandas' order: pandas sorts there
    in_sql = reader.dialect == "duckdb"
    frame = run_template(
        reader,
        ("rehousing_cells", in_sql),
        partial(_cells_statement, sort=in_sql),
        ["mois", "commune", "epci", "critere", "relogements"],
        filters,
        scope,
        period_dates(period),
    )
    frame = frame.dropna(subset=["mois", "commune", "epci"])  # a commune's, in an EPCI
    groups = np.asarray(GROUPS_IN_ORDER, dtype=object)[frame["critere"].to_numpy(np.int64)]
    # the month comes as year × 12 + month − 1: an integer on every engine, no date object
    # per cell where a PostgreSQL replica's driver (or a summary read for one) gives them
    months = frame["mois"].to_numpy(np.int64) - 1970 * 12
    frame = pd.DataFrame(
        {
            "mois": months.astype("datetime64[M]").astype("datetime64[us]"),
            "commune": frame["commune"],
            "epci": frame["epci"],
            "groupe_critere": pd.Series(groups, index=frame.index),
            "relogements": frame["relogements"].astype("int64"),
        }
    )
    if in_sql:
        return frame.reset_index(drop=True)
    return frame.sort_values(["mois", "commune", "groupe_critere"], ignore_index=True)


def _cells_statement(filters: Filters, scope: Scope, dates: dict, sort: bool) -> sa.Select:
    join = LeaseJoin(
        filters, scope, *in_period(bail.c.date_signature, dates["debut"], dates["fin"])
    )
    signed = join.lease.c.date_signature
    mois = sa.cast(
        sa.extract("year", signed) * 12 + sa.extract("month", signed) - 1, sa.Integer
    ).label("mois")
    keys = [
        join.col(logement.c.commune_code).label("commune"),
        join.col(commune.c.epci_siren).label("epci"),
    ]
    rank = join.main_criterion_rank()
    # the main criterion's group, in SQL: the cells come counted, a few per commune and month
    position = {g: i for i, g in enumerate(GROUPS_IN_ORDER)}
    group = sa.case(
        {r: position[GROUPE_OF_CRITERE[code]] for r, code in CODE_OF_RANK.items()},
        value=rank,
        else_=position[SANS_CRITERE[0]],
    ).label("critere")
    stmt = (
        sa.select(mois, *keys, group, sa.func.count().label("relogements"))
        .select_from(join.from_clause(rank, *keys))
        .where(*join.where)
        .group_by(mois, *keys, group)
    )
    return stmt.order_by(mois, keys[0], group) if sort else stmt


@question(cached=False)
def rehousing_summary(
    reader: Reader,
    filters: Filters | None = None,
    by: str | None = "reservataire",
    scope: Scope | None = None,
) -> pd.DataFrame:
    """Rehousings over the whole period by ``by``, with the priority share.

    Columns: the dimension's code, ``libelle``, ``relogements``,
    ``relogements_prioritaires``, ``part_prioritaires`` (priority rehousings ÷ rehousings,
    NaN when there is none); one row per member with at least one rehousing, by decreasing
    rehousings. Sums of :func:`monthly_rehousing` ``(filters, by)``, same definitions.
    ``by=None``: the one total row, ``libelle`` « Total ». ``sous_objectif``: the share is
    below ``RELOG_PRIORITY_SHARE_TARGET`` (25 %; None without any rehousing).

    With a criteria filter, every share above is 100 % (each household kept holds a
    criterion): the meaningful figure is the group's share of all rehousings. Three more
    columns then say it: ``relogements_tous_menages`` (the same filters but the criteria),
    ``relogements_criteres`` (the group's, equal to ``relogements``) and ``part_criteres``
    (their ratio); the rows are every member with at least one rehousing of any household
    (the group's counts zero where it has none), by decreasing group then total count.
    """
    group = _summary(reader, filters, by, scope)
    if not filters.criteres:
        # below the legal share (article L441-1 CCH, RELOG_PRIORITY_SHARE_TARGET); None
        # without any rehousing
        below = group["part_prioritaires"] < reader.settings.priority_share_target
        group["sous_objectif"] = below.astype(object).where(
            group["part_prioritaires"].notna(), None
        )
        return group
    everyone = _summary(reader, filters.replace(criteres=()), by, scope)
    key = [by] if by else ["libelle"]
    out = everyone[[*key, *([] if not by else ["libelle"]), "relogements"]].rename(
        columns={"relogements": "relogements_tous_menages"}
    )
    out = out.merge(group.drop(columns=["libelle"] if by else []), on=key, how="left")
    for column in VALUES:
        out[column] = out[column].fillna(0).astype("int64")
    out["part_prioritaires"] = share(out["relogements_prioritaires"], out["relogements"])
    out["relogements_criteres"] = out["relogements"]
    out["part_criteres"] = share(out["relogements"], out["relogements_tous_menages"])
    order = ["relogements", "relogements_tous_menages", "libelle"]
    return out.sort_values(order, ascending=[False, False, True], kind="stable").reset_index(
        drop=True
    )


def _summary(reader: Reader, filters: Filters, by: str | None, scope: Scope) -> pd.DataFrame:
    if by:
        return summarise(reader.monthly_rehousing(filters, by=by, scope=scope), by)
    # the total from the series by criterion group over the period and the year before: the
    # very query (and cache entry) of the key figures and the monthly chart
    return total_row(_group_series(reader, filters, scope, reader.period(filters), cut=True))


def _group_series(
    reader: Reader, filters: Filters, scope: Scope, period: Period, cut: bool = False
) -> pd.DataFrame:
    """:func:`monthly_rehousing` by criterion group from 12 months before ``period`` (the key
    figures' and the chart's one query), cut to ``period`` if asked."""
    wide = filters.replace(start=add_months(period.start, -12), end=period.end)
    by_group = reader.monthly_rehousing(wide, by="groupe_critere", scope=scope)
    return by_group[by_group["mois"] >= pd.Timestamp(period.start)] if cut else by_group


@question(cached=False)
def rehousing_key_figures(
    reader: Reader, filters: Filters | None = None, scope: Scope | None = None, *, period: Period
) -> pd.DataFrame:
    """The key figures of the period and of its last month, each against a year earlier:
    see :func:`key_figures`. Computed from the monthly series by criterion group, the very
    query (and cache entry) of the rehousing page's chart.

    With a criteria filter, also: ``relogements_tous_menages`` (and ``…_an_dernier``,
    ``evolution_tous_menages``), the rehousings of every household with the other filters,
    ``relogements_criteres`` (the group's) and ``part_criteres`` (and ``…_an_dernier``,
    ``ecart_part_criteres``), the group's share of all rehousings."""

    def figures(f: Filters) -> pd.DataFrame:
        monthly = (
            _group_series(reader, f, scope, period).groupby("mois", as_index=False)[VALUES].sum()
        )
        return key_figures(monthly, period, reader.coverage().start)

    out = figures(filters)
    if filters.criteres:
        everyone = figures(filters.replace(criteres=()))
        out["relogements_tous_menages"] = everyone["relogements"]
        out["relogements_tous_menages_an_dernier"] = everyone["relogements_an_dernier"]
        out["evolution_tous_menages"] = everyone["evolution_relogements"]
        out["relogements_criteres"] = out["relogements"]
        out["part_criteres"] = share(out["relogements"], everyone["relogements"])
        out["part_criteres_an_dernier"] = share(
            out["relogements_an_dernier"], everyone["relogements_an_dernier"]
        )
        out["ecart_part_criteres"] = out["part_criteres"] - out["part_criteres_an_dernier"]
    return out


def summarise(monthly: pd.DataFrame, by: str) -> pd.DataFrame:
    """Totals over the period of a :func:`monthly_rehousing` breakdown, one row per member,
    with ``part_prioritaires`` = relogements_prioritaires ÷ relogements (NaN when no
    rehousing), sorted by decreasing rehousings."""
    out = (
        monthly.groupby([by, "libelle"], as_index=False, sort=False, dropna=False)[VALUES]
        .sum()
        .sort_values(["relogements", "libelle"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )
    out["part_prioritaires"] = share(out["relogements_prioritaires"], out["relogements"])
    return out


def total_row(monthly: pd.DataFrame) -> pd.DataFrame:
    """The one-row total of a :func:`monthly_rehousing` series (without breakdown); its share
    is computed on the sums."""
    total = {"libelle": "Total", **{v: int(monthly[v].sum()) for v in VALUES}}
    total["part_prioritaires"] = share(total["relogements_prioritaires"], total["relogements"])
    return pd.DataFrame([total])


def share(part, whole):
    """part ÷ whole, NaN where whole is 0."""
    if isinstance(whole, pd.Series):
        return part.div(whole.where(whole != 0))
    if whole is None or (isinstance(whole, float) and math.isnan(whole)) or whole == 0:
        return math.nan
    return part / whole


#: The two windows of the key figures: the whole period and its last month.
WINDOWS = {"periode": "Période", "dernier_mois": "Dernier mois"}


def key_figures(monthly: pd.DataFrame, period: Period, available_from) -> pd.DataFrame:
    """Key figures of the period and of its last month, each against the same months a year
    earlier. ``monthly`` is :func:`monthly_rehousing` (no breakdown) from 12 months before
    ``period.start`` to ``period.end``; ``available_from`` is the replica's first month: a
    comparison that would reach before it is NaN rather than a misleading zero.

    One row per window (``fenetre``: ``periode``, ``dernier_mois``) with ``debut``, ``fin``,
    ``relogements``, ``relogements_prioritaires``, ``part_prioritaires``, the same three
    ``…_an_dernier``, ``evolution_relogements`` and ``evolution_prioritaires`` (relative
    change, 0.1 = +10 %) and ``ecart_part`` (change of the share, in share units).
    """
    months = pd.to_datetime(monthly["mois"])
    rows = []
    for window, (start, end) in {
        "periode": (period.start, period.end),
        "dernier_mois": (period.end, period.end),
    }.items():

        def sums(first, last):
            inside = (months >= pd.Timestamp(first)) & (months <= pd.Timestamp(last))
            return [int(monthly.loc[inside, v].sum()) for v in VALUES]

        now = sums(start, end)
        before_start, before_end = add_months(start, -12), add_months(end, -12)
        before = (
            sums(before_start, before_end)
            if before_start >= available_from
            else [math.nan, math.nan]
        )
        rows.append(
            {
                "fenetre": window,
                "debut": start,
                "fin": end,
                "relogements": now[0],
                "relogements_prioritaires": now[1],
                "part_prioritaires": share(now[1], now[0]),
                "relogements_an_dernier": before[0],
                "relogements_prioritaires_an_dernier": before[1],
                "part_prioritaires_an_dernier": share(before[1], before[0]),
                "evolution_relogements": _change(now[0], before[0]),
                "evolution_prioritaires": _change(now[1], before[1]),
            }
        )
        rows[-1]["ecart_part"] = (
            rows[-1]["part_prioritaires"] - rows[-1]["part_prioritaires_an_dernier"]
        )
    return pd.DataFrame(rows)


def _change(now, before) -> float:
    if before is None or (isinstance(before, float) and math.isnan(before)) or before == 0:
        return math.nan
    return now / before - 1


#: Days in an average month: a waiting time in days ÷ this = months.
DAYS_PER_MONTH = 365.25 / 12
DELAY = [
    "delai_median_prioritaires",
    "delai_median_non_prioritaires",
    "part_delai_anormal_prioritaires",
    "part_delai_anormal_non_prioritaires",
]


@question()
def rehousing_delay(
    reader: Reader,
    filters: Filters | None = None,
    by: str | None = "reservataire",
    scope: Scope | None = None,
    *,
    period: Period,
) -> pd.DataFrame:
    """How long the households rehoused in the period had waited, priority ones apart.

    **Definitions.** The wait runs from the demande's filing date (kept at renewal) to the
    lease's signature date, for the leases signed in the period (the rehousings of
    :func:`monthly_rehousing`, same filters; priority: a criterion held on the CAL date).
    ``delai_median_*``: the median wait in months (days ÷ 365.25/12). ``part_delai_anormal_*``:
    the share of those leases signed after at least ``RELOG_ABNORMAL_DELAY_MONTHS`` (36)
    whole months of waiting (a month is whole once the signature's day of the month reaches
    the filing's). Empty when the group has no lease.

    Columns: with ``by`` (réservataire, réservataire nature, EPCI, commune or bailleur) its
    code and ``libelle``, one row per member with at least one rehousing, by code; without, one row
    (``libelle`` « Total »). Then the four figures above.
    """
    if by not in (None, "reservataire", "nature_reservataire", "epci", "commune", "bailleur"):
        raise FilterError(f"Délai d'attente par {by!r} : ventilation non prévue.")
    threshold = reader.settings.abnormal_delay_months
    rows = run_template(
        reader,
        ("rehousing_delay", by, threshold),
        lambda f, s, d: _delay_statement(f, s, d, by, threshold),
        [*([by] if by else []), "prioritaire", "baux", "mediane_jours", "au_dela"],
        filters,
        scope,
        period_dates(period),
    )
    key = [by] if by else []
    # one row per member, in code order: the database returns its groups in any order
    out = (
        rows[key].drop_duplicates().sort_values(key, na_position="last").reset_index(drop=True)
        if by
        else pd.DataFrame(index=[0])
    )
    for flag, suffix in ((1, "prioritaires"), (0, "non_prioritaires")):
        group = rows[rows["prioritaire"] == flag].drop(columns="prioritaire")
        group = group.assign(
            **{
                f"delai_median_{suffix}": (group["mediane_jours"] / DAYS_PER_MONTH).round(1),
                f"part_delai_anormal_{suffix}": group["au_dela"] / group["baux"],
            }
        )
        columns = [f"delai_median_{suffix}", f"part_delai_anormal_{suffix}"]
        if by:
            out = out.merge(group[[by, *columns]], on=by, how="left")
        else:
            out[columns] = group[columns].to_numpy()[:1] if len(group) else np.nan
    if by:
        labels = reader.labels(by).reindex(out[by].to_numpy()).to_numpy()
        out.insert(1, "libelle", np.where(pd.isna(labels), out[by].astype(str), labels))
    else:
        out.insert(0, "libelle", "Total")
    return out[[*key, "libelle", *DELAY]].astype({c: "float64" for c in DELAY})


def _delay_statement(
    filters: Filters, scope: Scope, dates: dict, by: str | None, threshold: int
) -> sa.Select:
    """Leases of the period per member and priority: count, median wait in days, and how
    many waited ``threshold`` whole months or more."""
    join = LeaseJoin(
        filters, scope, *in_period(bail.c.date_signature, dates["debut"], dates["fin"])
    )
    signed, filed = join.lease.c.date_signature, demande.c.date_depot
    days = signed - filed

    def part(unit, column):
        return sa.extract(unit, column)

    whole_months = (
        (part("year", signed) - part("year", filed)) * 12
        + part("month", signed)
        - part("month", filed)
        - sa.case((part("day", signed) < part("day", filed), 1), else_=0)
    )
    keys = [_dimension_column(by, join).label(by)] if by else []
    prioritaire = join.prioritaire().label("prioritaire")
    return (
        sa.select(
            *keys,
            prioritaire,
            sa.func.count().label("baux"),
            sa.func.percentile_cont(0.5).within_group(days).label("mediane_jours"),
            sa.func.sum(sa.case((whole_months >= threshold, 1), else_=0)).label("au_dela"),
        )
        .select_from(join.from_clause(prioritaire, filed, *keys))
        .where(*join.where)
        .group_by(*keys, prioritaire)
    )
