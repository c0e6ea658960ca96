"""Progress towards the annual objectives: the 25 % priority share of each réservataire and
the accord collectif's priority rehousing targets per EPCI, year to date."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data_access.errors import FilterError
from data_access.filters import Filters, Period, Scope
from data_access.forecast import forecast
from data_access.queries.base import (
    LeaseJoin,
    Reader,
    as_month,
    in_period,
    month_of,
    period_dates,
    run_template,
)
from data_access.queries.rehousing import share
from data_access.questions import question
from data_access.schema import bail, commune, demande, logement, objectif, seuil_q1


def year_to_date(reader: Reader, year: int | None) -> Period:
    """January of ``year`` (default: the year of the last complete month; in the data's first
    year, its first month) to its last complete month; a year outside the data is refused."""
    coverage = reader.coverage()
    year = int(year or coverage.end.year)
    if not coverage.start.year <= year <= coverage.end.year:
        raise FilterError(
            f"Année hors des données : {year} (de {coverage.start.year} à {coverage.end.year})."
        )
    return Period(max(date(year, 1, 1), coverage.start), min(date(year, 12, 1), coverage.end))


def _every_epci(reader: Reader, name: str, filters: Filters, scope: Scope, **kw):
    """An EPCI filter on a question answered per EPCI selects rows: the answer for every
    EPCI (one cached answer, whatever EPCI a user picks next) with those EPCI kept. None
    when that does not hold (no EPCI filter, or a commune one)."""
    if not filters.epci or filters.communes:
        return None
    every = getattr(reader, name)(filters=filters.replace(epci=()), scope=scope, **kw)
    out = every[every["epci"].isin(filters.epci)].reset_index(drop=True)
    out.attrs.update(every.attrs)
    return out


#: The breakdowns of :func:`objective_progress`.
BY = ("reservataire", "epci", "bailleur", "bailleur_epci")


@question()
def objective_progress(
    reader: Reader,
    by: str = "reservataire",
    year: int | None = None,
    filters: Filters | None = None,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """Year to date against the annual objectives of the ``objectif`` table.

    The period runs from January of ``year`` (default: the year of the last complete month;
    in the data's first year, from its first month) to its last complete month. Figures are
    :func:`~data_access.queries.rehousing.rehousing_summary`'s (same definitions) for the
    filters, over that period.

    - ``by="reservataire"``: ``objectif_part`` is the réservataire's own target share
      (``part_prioritaires`` objective without territory nor bailleur), else the
      department-wide one (no réservataire), else ``RELOG_PRIORITY_SHARE_TARGET`` (25 %);
      ``ecart_points`` = (share − target) × 100; ``objectif_atteint`` (empty without any
      rehousing). Réservataires with a target of their own and no rehousing are listed.
    - ``by="epci"``: ``objectif_annuel`` is the sum of the accord collectif's priority
      rehousing targets (``relogements_prioritaires``) of the EPCI's bailleurs (only the
      filtered bailleurs when a bailleur filter is set); ``objectif_prorata`` = annual ×
      months elapsed ÷ 12; ``taux_atteinte`` = priority rehousings ÷ prorated target.
    - ``by="bailleur"``: the same for each bailleur, its targets summed over the EPCI the
      filters and scope keep, against its priority rehousings there.
    - ``by="bailleur_epci"``: the same for each bailleur × EPCI pair (columns ``bailleur``,
      ``epci``, ``libelle`` « bailleur — EPCI »): every pair with a target or a rehousing.

    Targets are set per EPCI: a commune filter is refused for the three last.

    The frame's ``attrs["periode"]`` holds the :class:`Period` and ``attrs["mois"]`` the
    number of months elapsed.
    """
    if by not in BY:
        raise FilterError(f"Suivi des objectifs par {by!r} inconnu (attendu : {', '.join(BY)}).")
    if by == "epci" and (rows := _every_epci(reader, "objective_progress", filters, scope,
                                             by=by, year=year)) is not None:  # fmt: skip
        return rows
    period = year_to_date(reader, year)
    year = period.end.year
    if by != "reservataire" and filters.communes:
        raise FilterError(
            "Les objectifs de l'accord collectif sont fixés par EPCI : retirez le filtre sur "
            "les communes pour les suivre."
        )
    months = len(period.months())
    asked = filters.replace(start=period.start, end=period.end)
    targets = reader.cached("objectives", (year,), lambda: objectives(reader, year))
    if by == "reservataire":
        summary = reader.rehousing_summary(asked, by=by, scope=scope)
        out = _share_targets(reader, summary, targets, filters, scope)
    else:
        rows = targets[
            (targets["indicateur"] == "relogements_prioritaires") & targets["epci_siren"].notna()
        ]
        if filters.bailleurs:
            rows = rows[rows["bailleur_id"].isin(filters.bailleurs)]
        if scope.bailleurs is not None:
            rows = rows[rows["bailleur_id"].isin(scope.bailleurs)]
        kept = reader.territories("epci", filters, scope).index
        rows = rows[rows["epci_siren"].isin(kept)]
        if by == "epci":
            summary = reader.rehousing_summary(asked, by=by, scope=scope)
            annual = rows.groupby("epci_siren")["valeur"].sum()
            out = count_progress(
                summary, annual, months, "epci", reader.reference("epci")["libelle"]
            )
        elif by == "bailleur":
            summary = reader.rehousing_summary(asked, by=by, scope=scope)
            rows = rows.dropna(subset=["bailleur_id"])
            annual = rows.groupby(rows["bailleur_id"].astype(int))["valeur"].sum()
            labels = reader.reference("bailleur")["libelle"]
            out = count_progress(summary, annual, months, "bailleur", labels)
        else:
            out = _cross_progress(reader, asked, scope, rows, months)
    out.attrs.update(periode=period, mois=months)
    return out


def _cross_progress(
    reader: Reader, filters: Filters, scope: Scope, rows: pd.DataFrame, months: int
) -> pd.DataFrame:
    """Bailleur × EPCI: each pair's priority rehousings against its own target."""
    done = run_template(
        reader,
        ("objective_cross",),
        _cross_statement,
        ["bailleur", "epci", "relogements", "relogements_prioritaires"],
        filters,
        scope,
        period_dates(reader.period(filters)),
    )
    # each pair's key: the bailleur × the number of EPCI codes + the EPCI's rank among them
    # (integers, ordered as the pairs (bailleur, EPCI): no text key to build, hash and sort)
    rows = rows.dropna(subset=["bailleur_id"])
    bailleurs = np.concatenate(
        [done["bailleur"].to_numpy(np.int64), rows["bailleur_id"].to_numpy(np.int64)]
    )
    epcis = np.concatenate(
        [done["epci"].to_numpy(dtype=object), rows["epci_siren"].to_numpy(dtype=object)]
    )
    ranks, codes = pd.factorize(epcis, sort=True, use_na_sentinel=False)
    keys = bailleurs * max(len(codes), 1) + ranks
    done_keys, target_keys = keys[: len(done)], keys[len(done) :]
    annual = rows["valeur"].groupby(target_keys).sum()
    # every pair with a lease or a target, once: its bailleur, EPCI and label by key
    unique, first = np.unique(keys, return_index=True)
    index = pd.Index(unique, name="key")
    pairs = pd.DataFrame(
        {"bailleur": bailleurs[first], "epci": pd.Series(epcis[first], index=index, dtype=object)},
        index=index,
    )
    labels = _cross_labels(reader, pairs)
    summary = pd.DataFrame(
        {
            "key": done_keys,
            "libelle": labels.reindex(done_keys).to_numpy(),
            "relogements": done["relogements"].to_numpy(),
            "relogements_prioritaires": done["relogements_prioritaires"].to_numpy(),
        }
    )
    out = count_progress(summary, annual, months, "key", labels)  # sorted by pair
    found = pairs.reindex(out["key"])
    out.insert(0, "bailleur", found["bailleur"].to_numpy())
    out.insert(1, "epci", found["epci"].to_numpy(dtype=object))
    return out.drop(columns="key")


def _cross_labels(reader: Reader, pairs: pd.DataFrame) -> pd.Series:
    """« bailleur — EPCI » for each pair (a code the reference does not name stands for its
    name), vectorised: a national answer has some 60,000 pairs."""
    names = []
    for column, reference in (("bailleur", "bailleur"), ("epci", "epci")):
        labels = reader.reference(reference)["libelle"]
        code = pairs[column]
        found = code.isin(labels.index).to_numpy()
        text = code.astype(str).to_numpy(dtype=object).copy()
        text[found] = labels.reindex(code[found]).astype(str).to_numpy()
        names.append(text)
    return pd.Series(names[0] + " — " + names[1], index=pairs.index, dtype=object)


def _cross_statement(
    filters: Filters, scope: Scope, dates: dict, monthly: bool = False
) -> sa.Select:
    join = LeaseJoin(
        filters, scope, *in_period(bail.c.date_signature, dates["debut"], dates["fin"])
    )
    keys = [
        join.col(logement.c.bailleur_id).label("bailleur"),
        join.col(commune.c.epci_siren).label("epci"),
    ]
    if monthly:
        keys.insert(0, month_of(join.lease.c.date_signature).label("mois"))
    prioritaire = join.prioritaire()
    return (
        sa.select(
            *keys,
            sa.func.count().label("relogements"),
            sa.func.sum(prioritaire).label("relogements_prioritaires"),
        )
        .select_from(join.from_clause(prioritaire, *keys))
        .where(*join.where)
        .group_by(*keys)
    )


def _share_targets(
    reader: Reader, summary: pd.DataFrame, targets: pd.DataFrame, filters: Filters, scope: Scope
) -> pd.DataFrame:
    """:func:`share_progress` for the réservataires the filters and scope keep, with each one's
    own target share, else the department's, else the setting."""
    rows = targets[
        (targets["indicateur"] == "part_prioritaires")
        & targets["epci_siren"].isna()
        & targets["bailleur_id"].isna()
    ]
    department = rows.loc[rows["reservataire_id"].isna(), "valeur"]
    default = float(department.max()) if len(department) else reader.settings.priority_share_target
    own = rows.dropna(subset=["reservataire_id"])
    own = own.groupby(own["reservataire_id"].astype(int))["valeur"].max()
    allowed = reader.reference("reservataire")
    if filters.reservataires:
        allowed = allowed[allowed.index.isin(filters.reservataires)]
    if filters.natures_reservataire:
        allowed = allowed[allowed["nature"].isin(filters.natures_reservataire)]
    if scope.reservataires is not None:
        allowed = allowed[allowed.index.isin(scope.reservataires)]
    also = [code for code in own.index if code in allowed.index]
    return share_progress(summary, own, default, allowed["libelle"], also)


def objectives(reader: Reader, year: int) -> pd.DataFrame:
    """The ``objectif`` rows of ``year``: ``reservataire_id``, ``epci_siren``, ``bailleur_id``,
    ``indicateur``, ``valeur``."""
    stmt = sa.select(
        objectif.c.reservataire_id,
        objectif.c.epci_siren,
        objectif.c.bailleur_id,
        objectif.c.indicateur,
        objectif.c.valeur,
    ).where(objectif.c.annee == year)
    return reader.frame(
        stmt, ["reservataire_id", "epci_siren", "bailleur_id", "indicateur", "valeur"]
    )


def share_progress(
    summary: pd.DataFrame, targets: pd.Series, default: float, labels: pd.Series, also: list
) -> pd.DataFrame:
    """Réservataires' year-to-date share against their target share (``targets`` indexed by
    réservataire; ``default`` for the others). ``also``: réservataires to list even without
    any rehousing (those with a target of their own); their share and result are empty."""
    listed = set(summary["reservataire"])
    missing = [code for code in also if code not in listed]
    if missing:
        extra = pd.DataFrame(
            {
                "reservataire": missing,
                "libelle": labels.reindex(missing).to_numpy(),
                "relogements": 0,
                "relogements_prioritaires": 0,
                "part_prioritaires": float("nan"),
            }
        )
        summary = pd.concat([summary, extra], ignore_index=True)
    out = summary.copy()
    out["objectif_part"] = targets.reindex(out["reservataire"]).fillna(default).to_numpy()
    out["ecart_points"] = ((out["part_prioritaires"] - out["objectif_part"]) * 100).round(1)
    reached = (out["part_prioritaires"] >= out["objectif_part"]).astype(object)
    out["objectif_atteint"] = reached.where(out["relogements"] > 0, None)
    return out


def count_progress(
    summary: pd.DataFrame,
    annual: pd.Series,
    months: int,
    key: str,
    labels: pd.Series,
    sort: bool = True,
) -> pd.DataFrame:
    """Territories' year-to-date priority rehousings against their annual target prorated to
    ``months`` of 12 (``annual`` indexed by territory); every territory with a target or a
    rehousing appears, in the order of their codes (``sort``; else the caller sorts)."""
    codes = pd.Index(summary[key].dropna().unique()).union(annual.index.unique(), sort=sort)
    out = summary.set_index(key).reindex(codes)
    out["libelle"] = out["libelle"].fillna(labels.reindex(codes))
    for column in ("relogements", "relogements_prioritaires"):
        out[column] = out[column].fillna(0).astype("int64")
    out["part_prioritaires"] = share(out["relogements_prioritaires"], out["relogements"])
    out["objectif_annuel"] = annual.reindex(codes).to_numpy()
    out["objectif_prorata"] = (out["objectif_annuel"] * months / 12).round(1)
    prorata = out["objectif_prorata"].where(out["objectif_prorata"] > 0)
    out["taux_atteinte"] = (out["relogements_prioritaires"] / prorata).astype("float64").round(3)
    out.loc[np.isnan(out["objectif_annuel"].astype(float)), "taux_atteinte"] = np.nan
    return out.rename_axis(key).reset_index()


@question()
def quartile_rules(
    reader: Reader,
    year: int | None = None,
    filters: Filters | None = None,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """The loi Égalité et Citoyenneté's first-quartile rules, per EPCI, year to date.

    **Definition.** The attributions are the leases signed from January of ``year`` (default:
    the year of the last complete month) to its last complete month, located by their
    dwelling's EPCI; inside QPV when the dwelling has a QPV code. A household is of the
    **first quartile** when its annual resources per consumption unit (the demande's
    ``revenu_mensuel`` × 12 ÷ ``unites_consommation``, the SNE field as the replica holds it)
    are strictly below the EPCI's ``seuil_q1`` of the year (arrêté annuel); its resources
    are *unknown* without income, without units or without the EPCI's threshold, and it then
    counts in neither group (``ressources_inconnues`` says how many).

    Columns: ``epci``, ``libelle``, ``seuil_q1`` (euros per UC and per year, empty without
    an arrêté value), ``attributions_hors_qpv``, ``q1_hors_qpv``, ``part_q1_hors_qpv``
    (target ≥ 25 %), ``attributions_qpv``, ``hors_q1_qpv``, ``part_hors_q1_qpv`` (target ≥
    50 %), ``ressources_inconnues``; one row per EPCI with an attribution. Targets are set
    per EPCI: a commune filter is refused. ``attrs["periode"]``: the period.
    """
    if (rows := _every_epci(reader, "quartile_rules", filters, scope, year=year)) is not None:
        return rows
    period = year_to_date(reader, year)
    if filters.communes:
        raise FilterError(
            "Les règles du premier quartile s'appliquent par EPCI : retirez le filtre sur les "
            "communes pour les suivre."
        )
    asked = filters.replace(start=period.start, end=period.end)
    columns = [
        "epci", "seuil_q1", "attributions_hors_qpv", "q1_hors_qpv", "attributions_qpv",
        "hors_q1_qpv", "ressources_inconnues",
    ]  # fmt: skip
    out = run_template(
        reader,
        ("quartile_rules",),
        _quartile_statement,
        columns,
        asked,
        scope,
        period_dates(period),
        values={"annee": period.end.year},
    )
    for column in columns[2:]:
        out[column] = out[column].fillna(0).astype("int64")
    out["part_q1_hors_qpv"] = share(out["q1_hors_qpv"], out["attributions_hors_qpv"])
    out["part_hors_q1_qpv"] = share(out["hors_q1_qpv"], out["attributions_qpv"])
    out.insert(1, "libelle", out["epci"].map(reader.reference("epci")["libelle"]))
    out = out[
        [
            "epci", "libelle", "seuil_q1", "attributions_hors_qpv", "q1_hors_qpv",
            "part_q1_hors_qpv", "attributions_qpv", "hors_q1_qpv", "part_hors_q1_qpv",
            "ressources_inconnues",
        ]
    ].sort_values("epci", ignore_index=True)  # fmt: skip
    out.attrs["periode"] = period
    return out


def _quartile_statement(
    filters: Filters, scope: Scope, dates: dict, monthly: bool = False
) -> sa.Select:
    """Per EPCI (and month, ``monthly``): the quartile rules' counts. The threshold is the
    EPCI's of the year ``annee`` (bound), or, month by month, of each lease's year."""
    join = LeaseJoin(
        filters, scope, *in_period(bail.c.date_signature, dates["debut"], dates["fin"])
    )
    epci, qpv_code = join.col(commune.c.epci_siren), join.col(logement.c.qpv_code)
    keys = [epci.label("epci")]
    if monthly:
        keys.insert(0, month_of(join.lease.c.date_signature).label("mois"))
    income, units = join.col(demande.c.revenu_mensuel), join.col(demande.c.unites_consommation)
    threshold = seuil_q1.c.montant
    known = sa.and_(income.is_not(None), units > 0, threshold.is_not(None))
    q1 = sa.and_(known, income * 12 < threshold * units)
    outside = sa.or_(qpv_code.is_(None), qpv_code == "")

    def count(condition) -> sa.ColumnElement:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    year = (
        sa.cast(sa.extract("year", join.lease.c.date_signature), sa.Integer)
        if monthly
        else sa.bindparam("annee")
    )
    base = join.from_clause(epci, income, qpv_code)
    return (
        sa.select(
            *keys,
            sa.func.max(threshold).label("seuil_q1"),
            count(outside),
            count(sa.and_(outside, q1)),
            count(sa.not_(outside)),
            count(sa.and_(sa.not_(outside), known, sa.not_(q1))),
            count(sa.not_(known)),
        )
        .select_from(
            base.outerjoin(
                seuil_q1,
                sa.and_(seuil_q1.c.epci_siren == epci, seuil_q1.c.annee == year),
            )
        )
        .where(*join.where)
        .group_by(*keys)
    )


#: The forecasts' breakdowns: those of :func:`objective_progress` and the quartile rules.
FORECAST_BY = (*BY, "quartile")
#: The quartile rules: (rule, numerator, denominator, setting holding the target).
QUARTILE_RULES = (
    ("q1_hors_qpv", "q1_hors_qpv", "attributions_hors_qpv", "q1_outside_qpv_target"),
    ("hors_q1_qpv", "hors_q1_qpv", "attributions_qpv", "outside_q1_in_qpv_target"),
)
_QUARTILE_COUNTS = [
    "attributions_hors_qpv", "q1_hors_qpv", "attributions_qpv", "hors_q1_qpv",
    "ressources_inconnues",
]  # fmt: skip


@question()
def objective_months(
    reader: Reader,
    by: str = "reservataire",
    year: int | None = None,
    filters: Filters | None = None,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """Month by month, what the year-end forecasts of :func:`objective_forecast` draw on:
    from January of the year before ``year`` (the trailing pace; not before the data) to the
    year's last complete month, per member of ``by`` (``reservataire``, ``epci``,
    ``bailleur``, ``bailleur_epci``, ``quartile`` for the quartile rules per EPCI).

    Columns: ``mois``, the member's code(s) (``bailleur`` and ``epci`` for the cross), then
    ``relogements`` and ``relogements_prioritaires``, or for ``quartile`` the counts of
    :func:`quartile_rules` (each lease's threshold: its EPCI's of its year). Months without
    any lease of a member have no row. Definitions: those of :func:`objective_progress` and
    :func:`quartile_rules`; a commune filter is refused except by réservataire.
    """
    if by not in FORECAST_BY:
        raise FilterError(f"Prévision par {by!r} inconnue (attendu : {', '.join(FORECAST_BY)}).")
    if by != "reservataire" and filters.communes:
        raise FilterError(
            "Les objectifs sont fixés par EPCI : retirez le filtre sur les communes pour les "
            "suivre."
        )
    if (
        by in ("epci", "quartile")
        and (rows := _every_epci(reader, "objective_months", filters, scope, by=by, year=year))
        is not None
    ):
        return rows
    period = year_to_date(reader, year)
    start = max(date(period.start.year - 1, 1, 1), reader.coverage().start)
    window = Period(start, period.end)
    asked = filters.replace(start=window.start, end=window.end)
    if by in ("reservataire", "epci", "bailleur"):
        out = reader.monthly_rehousing(asked, by=by, scope=scope)
        out = out[out["relogements"] > 0].drop(columns="libelle")
    elif by == "bailleur_epci":
        out = run_template(
            reader,
            ("objective_cross", "mois"),
            lambda f, s, d: _cross_statement(f, s, d, monthly=True),
            ["mois", "bailleur", "epci", "relogements", "relogements_prioritaires"],
            asked,
            scope,
            period_dates(window),
        )
        out["bailleur"] = out["bailleur"].astype("int64")
    else:
        out = run_template(
            reader,
            ("quartile_rules", "mois"),
            lambda f, s, d: _quartile_statement(f, s, d, monthly=True),
            ["mois", "epci", "seuil_q1", *_QUARTILE_COUNTS],
            asked,
            scope,
            period_dates(window),
        ).drop(columns="seuil_q1")
        for column in _QUARTILE_COUNTS:
            out[column] = out[column].fillna(0).astype("int64")
    out["mois"] = as_month(out["mois"])
    keys = [c for c in ("bailleur", "epci", "reservataire") if c in out.columns]
    out = out.sort_values(["mois", *keys], ignore_index=True)
    out.attrs["periode"] = window
    return out


@question()
def objective_forecast(
    reader: Reader,
    by: str = "reservataire",
    year: int | None = None,
    filters: Filters | None = None,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """Where each objective of ``year`` will land on 31 December at the current pace, with
    an 80 % interval and the monthly pace needed to reach it (method:
    :mod:`data_access.forecast`, a bootstrap of the 12 last complete months).

    ``by``: ``reservataire`` (priority share against :func:`objective_progress`'s
    ``objectif_part``), ``epci``, ``bailleur``, ``bailleur_epci`` (priority rehousings
    against the accord collectif's ``objectif_annuel``) or ``quartile`` (each EPCI's two
    first-quartile shares against their targets, one row per EPCI and ``regle``:
    ``q1_hors_qpv``, ``hors_q1_qpv``).

    Columns: the member's code(s) of :func:`objective_progress` (``epci`` and ``regle`` for
    ``quartile``); for a share (``reservataire``, ``quartile``) ``objectif_part``,
    ``part_realisee`` (year to date), ``prevision_part``, ``prevision_part_basse``,
    ``prevision_part_haute``; for a count ``objectif_annuel``, ``relogements_prioritaires``
    (year to date), ``prevision``, ``prevision_basse``, ``prevision_haute``; then
    ``mois_restants``, ``rythme_actuel`` (households the objective counts, per month over
    the pace), ``rythme_necessaire`` (per remaining month; empty in December or without an
    objective) and ``prevision_atteint`` (whether the forecast reaches the objective; empty
    without one).
    """
    if (
        by in ("epci", "quartile")
        and (rows := _every_epci(reader, "objective_forecast", filters, scope, by=by, year=year))
        is not None
    ):
        return rows
    monthly = reader.objective_months(by, year, filters, scope)
    through = pd.Timestamp(monthly.attrs["periode"].end)
    shares = {"prevision": "prevision_part", "prevision_basse": "prevision_part_basse",
              "prevision_haute": "prevision_part_haute"}  # fmt: skip
    if by == "quartile":
        progress = reader.quartile_rules(year, filters, scope).set_index("epci")
        parts = []
        for rule, num, den, setting in QUARTILE_RULES:
            target = getattr(reader.settings, setting)
            f = forecast(monthly, "epci", through, num, den, target, progress.index).frame()
            f.insert(0, "regle", rule)
            f.insert(1, "objectif_part", target)
            f.insert(2, "part_realisee", progress[f"part_{rule}"].reindex(f.index).to_numpy())
            parts.append(f.rename(columns=shares))
        out = pd.concat(parts).rename_axis("epci").reset_index()
        out = out.sort_values(["epci", "regle"], ignore_index=True)
        objective, forecast_column = "objectif_part", "prevision_part"
    else:
        progress = reader.objective_progress(by, year, filters, scope)
        keys = ["bailleur", "epci"] if by == "bailleur_epci" else [by]
        key = by
        if by == "bailleur_epci":
            key = "cle"
            monthly = monthly.assign(cle=monthly["bailleur"].astype(str) + "|" + monthly["epci"])
            progress = progress.assign(
                cle=progress["bailleur"].astype(str) + "|" + progress["epci"]
            )
        members = pd.Index(progress[key], name=key)
        if by == "reservataire":
            objective, forecast_column = "objectif_part", "prevision_part"
            target = pd.Series(progress["objectif_part"].to_numpy(), index=members)
            f = forecast(
                monthly, key, through, "relogements_prioritaires", "relogements", target, members
            )
            frame = f.frame().rename(columns=shares).reset_index(drop=True)
            frame.insert(0, "objectif_part", target.to_numpy())
            frame.insert(1, "part_realisee", progress["part_prioritaires"].to_numpy())
        else:
            objective, forecast_column = "objectif_annuel", "prevision"
            target = pd.Series(progress["objectif_annuel"].to_numpy(dtype=float), index=members)
            f = forecast(monthly, key, through, "relogements_prioritaires", None, target, members)
            frame = f.frame().reset_index(drop=True)
            frame.insert(0, "objectif_annuel", target.to_numpy())
            frame.insert(1, "relogements_prioritaires", progress["relogements_prioritaires"])
        out = pd.concat([progress[keys].reset_index(drop=True), frame], axis=1)
    reached = (out[forecast_column] >= out[objective]).astype(object)
    out["prevision_atteint"] = reached.where(out[objective].notna() & out[forecast_column].notna())
    out.attrs.update(periode=monthly.attrs["periode"], fin=through.date())
    return out
