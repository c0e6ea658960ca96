"""An independent computation of each query of ``data_access``, with pandas on the raw tables.

The cross-check tests (``tests/test_queries_crosscheck.py``) compare the API's results with
these functions. They are written from the definitions of the indicators (the docstrings of
``Replica.monthly_rehousing`` etc. and the project's domain notes), not from the SQL of
``data_access/queries``: merges and groupbys on the tables as read directly from the replica
file, so that a mistake in a query's joins, dates or filters shows up as a disagreement.

Only the code lists (criteria in precedence order, réservataire natures, CAL decision kinds)
and the normalised :class:`data_access.Filters` value are shared with the package.

Every function takes ``raw``, the dict table name → DataFrame of the ``raw_tables`` fixture,
and a ``Filters`` whose ``start`` and ``end`` are set (the API's default period depends on
the replica's freshness, which is not this module's business) when the query has a period.
Dates are compared as ``pandas.Timestamp`` (day precision).

Shared definitions:

* a criterion is *held on date D* when ``date_debut <= D`` and (``date_fin`` is null or
  ``date_fin >= D``);
* the *CAL date* of a lease is the ``date_cal`` of the positive decision (attribution,
  attribution par rang, attribution sous condition) on the lease's proposition, or its
  signature date when there is none;
* a lease is *prioritaire* when its demande holds at least one criterion on its CAL date;
  its *main criterion* is the held criterion that comes first in ``schema.CRITERES``
  (``AUCUN`` when none).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from data_access import Filters
from data_access.schema import CRITERES, DECISIONS_CAL, NATURES_RESERVATAIRE, SANS_CRITERE

#: CAL decisions that grant the dwelling.
POSITIVE_DECISIONS = ("attribution", "attribution_rang", "attribution_sous_condition")
#: Household answers that count as a refusal (no answer counts as a refusal).
REFUSALS = ("refusee", "sans_reponse")
#: Criterion code → position in precedence order (0 = strongest).
CRITERION_RANK = {code: i for i, code in enumerate(CRITERES)}
#: Seniority bands of the backlog: (label, lower bound in months, upper bound or None).
BANDS = [
    ("moins de 6 mois", 0, 6),
    ("6 à 12 mois", 6, 12),
    ("12 à 24 mois", 12, 24),
    ("24 à 36 mois", 24, 36),
    ("36 mois et plus", 36, None),
]
DALO_DEADLINE_MONTHS = 6
ABNORMAL_DELAY_MONTHS = 36

DIMENSIONS = (
    "reservataire",
    "nature_reservataire",
    "epci",
    "commune",
    "bailleur",
    "critere",
    "groupe_critere",
)
#: Criterion groups of the stacked chart: DALO, accord collectif / PDALHPD, the other L441-1
#: criteria.
GROUP_LABELS = {"DALO": "DALO", "ACD": "ACD / PDALHPD", "L441-1": "Autres critères L441-1"}


# ---------------------------------------------------------------------------- helpers
def _ts(value: date | str) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()


def _period(filters: Filters) -> tuple[pd.Timestamp, pd.Timestamp, pd.DatetimeIndex]:
    """(first day, first day after the last month, every month's first day)."""
    if filters.start is None or filters.end is None:
        raise ValueError("the oracle needs an explicit period: Filters(start=..., end=...)")
    start, end = _ts(filters.start), _ts(filters.end)
    return start, end + pd.offsets.MonthBegin(1), pd.date_range(start, end, freq="MS")


def _month(dates: pd.Series) -> pd.Series:
    return dates.dt.to_period("M").dt.to_timestamp()


def _months_before(at: pd.Timestamp, n: int) -> pd.Timestamp:
    """Same day ``n`` months earlier, clamped to the last day of that month."""
    return at - pd.DateOffset(months=n)


def _valid_criteria(
    raw, demande_id: pd.Series, on: pd.Series | pd.Timestamp, criteres=None
) -> pd.DataFrame:
    """One row per (row position, criterion held on ``on``): columns ``_row``, ``critere``,
    ``date_debut``. ``demande_id`` and ``on`` are aligned with the rows of the caller."""
    keys = pd.DataFrame({"_row": np.arange(len(demande_id)), "demande_id": demande_id.to_numpy()})
    keys["_on"] = on.to_numpy() if isinstance(on, pd.Series) else on
    prio = raw["priorite"][["demande_id", "critere", "date_debut", "date_fin"]]
    if criteres:
        prio = prio[prio["critere"].isin(list(criteres))]
    m = keys.merge(prio, on="demande_id", how="inner")
    valid = (m["date_debut"] <= m["_on"]) & (m["date_fin"].isna() | (m["date_fin"] >= m["_on"]))
    return m.loc[valid, ["_row", "critere", "date_debut"]]


def holds(raw, demande_id: pd.Series, on, criteres=None) -> np.ndarray:
    """Boolean array: does each row's demande hold a criterion (among ``criteres`` if given)
    on the row's date ``on``?"""
    held = _valid_criteria(raw, demande_id, on, criteres)
    out = np.zeros(len(demande_id), dtype=bool)
    out[held["_row"].unique()] = True
    return out


def main_criterion(raw, demande_id: pd.Series, on) -> np.ndarray:
    """Object array: the held criterion first in precedence order, ``AUCUN`` when none."""
    held = _valid_criteria(raw, demande_id, on)
    held = held.assign(_rank=held["critere"].map(CRITERION_RANK))
    best = held.sort_values(["_row", "_rank"]).drop_duplicates("_row")
    out = np.full(len(demande_id), SANS_CRITERE[0], dtype=object)
    out[best["_row"].to_numpy()] = best["critere"].to_numpy()
    return out


def _dwellings(raw) -> pd.DataFrame:
    """Dwellings with their commune's EPCI: logement_id, bailleur_id, commune_code,
    qpv_code, date_mise_en_service, epci_siren."""
    log = raw["logement"][["id", "bailleur_id", "commune_code", "qpv_code", "date_mise_en_service"]]
    com = raw["commune"][["code_insee", "epci_siren"]]
    out = log.merge(com, left_on="commune_code", right_on="code_insee", how="left")
    return out.drop(columns="code_insee").rename(columns={"id": "logement_id"})


def _natures(raw) -> pd.DataFrame:
    return raw["reservataire"][["id", "nature"]].rename(columns={"id": "reservataire_id"})


def _mutation(raw) -> pd.DataFrame:
    return raw["demande"][["id", "mutation"]].rename(columns={"id": "demande_id"})


def leases(raw) -> pd.DataFrame:
    """Every lease with its CAL date (``date_cal_bail``), its dwelling's bailleur, commune,
    EPCI and QPV, its réservataire's nature and its demande's mutation flag."""
    bail = raw["bail"]
    dec = raw["decision_cal"]
    positive = (
        dec[dec["decision"].isin(POSITIVE_DECISIONS)]
        .groupby("proposition_id", as_index=False)["date_cal"]
        .min()
    )
    out = bail.merge(positive, on="proposition_id", how="left")
    out["date_cal_bail"] = out["date_cal"].fillna(out["date_signature"])
    out = out.drop(columns="date_cal")
    out = out.merge(_dwellings(raw), on="logement_id", how="left")
    out = out.merge(_natures(raw), on="reservataire_id", how="left")
    return out.merge(_mutation(raw), on="demande_id", how="left")


def _mask(
    raw,
    df: pd.DataFrame,
    filters: Filters,
    *,
    reservataire=None,
    nature=None,
    epci=None,
    commune=None,
    bailleur=None,
    qpv=None,
    mutation=None,
    demande=None,
    on=None,
) -> np.ndarray:
    """Rows of ``df`` kept by ``filters``; each keyword names the column a filter reads
    (``None``: the filter does not apply). Criteria: ``demande`` holds one of them on ``on``
    (a column name or a date)."""
    keep = np.ones(len(df), dtype=bool)
    for values, column in (
        (filters.reservataires, reservataire),
        (filters.natures_reservataire, nature),
        (filters.epci, epci),
        (filters.communes, commune),
        (filters.bailleurs, bailleur),
    ):
        if values and column is not None:
            keep &= df[column].isin(list(values)).to_numpy()
    if filters.qpv is not None and qpv is not None:
        keep &= (df[qpv].notna() if filters.qpv else df[qpv].isna()).to_numpy()
    if filters.mutation is not None and mutation is not None:
        keep &= (df[mutation] == filters.mutation).to_numpy()
    if filters.criteres and demande is not None:
        when = df[on] if isinstance(on, str) else on
        keep &= holds(raw, df[demande], when, filters.criteres)
    return keep


def _lease_mask(raw, df, filters, *, criteria=True, mutation=True, reservataire=True):
    """The filters of a lease: dwelling's territory, bailleur and QPV; réservataire of the
    contingent; criteria on the CAL date; the demande's mutation flag."""
    return _mask(
        raw,
        df,
        filters,
        epci="epci_siren",
        commune="commune_code",
        bailleur="bailleur_id",
        qpv="qpv_code",
        reservataire="reservataire_id" if reservataire else None,
        nature="nature" if reservataire else None,
        mutation="mutation" if mutation else None,
        demande="demande_id" if criteria else None,
        on="date_cal_bail",
    )


def labels(raw, dimension: str) -> pd.Series:
    """Code → label of a breakdown dimension, from the raw reference tables."""
    if dimension == "reservataire":
        return raw["reservataire"].set_index("id")["nom"]
    if dimension == "nature_reservataire":
        return pd.Series(NATURES_RESERVATAIRE)
    if dimension == "epci":
        return raw["epci"].set_index("siren")["nom"]
    if dimension == "commune":
        return raw["commune"].set_index("code_insee")["nom"]
    if dimension == "bailleur":
        return raw["bailleur"].set_index("id")["nom"]
    if dimension == "critere":
        return pd.Series(
            {**{c: label for c, (label, _) in CRITERES.items()}, SANS_CRITERE[0]: SANS_CRITERE[1]}
        )
    if dimension == "groupe_critere":
        return pd.Series({**GROUP_LABELS, SANS_CRITERE[0]: SANS_CRITERE[1]})
    raise ValueError(dimension)


# ---------------------------------------------------------------------------- queries
def monthly_rehousing(raw, filters: Filters, by: str | None = None) -> pd.DataFrame:
    """Leases signed per month of the period (``relogements``) and those of households
    holding a criterion on the CAL date (``relogements_prioritaires``).

    ``by``: ``reservataire`` (bail.reservataire_id), ``nature_reservataire``, ``epci`` and
    ``commune`` (the dwelling's), ``bailleur`` (the dwelling's) or ``critere`` (main
    criterion on the CAL date, ``AUCUN`` if none). Columns: ``mois``, [``by``, ``libelle``],
    ``relogements``, ``relogements_prioritaires``; every month, and with ``by`` the full grid
    months × members having at least one (filtered) lease in the period, zeros filled.
    """
    start, end_excl, months = _period(filters)
    lease = leases(raw)
    lease = lease[(lease["date_signature"] >= start) & (lease["date_signature"] < end_excl)]
    lease = lease[_lease_mask(raw, lease, filters)].copy()
    lease["mois"] = _month(lease["date_signature"])
    lease["prioritaire"] = holds(raw, lease["demande_id"], lease["date_cal_bail"]).astype(int)
    counts = dict(
        relogements=("prioritaire", "size"), relogements_prioritaires=("prioritaire", "sum")
    )
    if by is None:
        out = lease.groupby("mois").agg(**counts).reindex(months, fill_value=0)
        return out.rename_axis("mois").reset_index()
    source = {
        "reservataire": "reservataire_id",
        "nature_reservataire": "nature",
        "epci": "epci_siren",
        "commune": "commune_code",
        "bailleur": "bailleur_id",
    }
    if by == "critere":
        lease[by] = main_criterion(raw, lease["demande_id"], lease["date_cal_bail"])
    elif by == "groupe_critere":
        main = pd.Series(
            main_criterion(raw, lease["demande_id"], lease["date_cal_bail"]), index=lease.index
        )
        # DALO and ACD are groups of their own; every other criterion is an « other L441-1 »
        lease[by] = main.where(main.isin(["DALO", "ACD", "AUCUN"]), "L441-1")
    elif by in source:
        lease[by] = lease[source[by]]
    else:
        raise ValueError(by)
    members = sorted(lease[by].unique())
    grid = pd.MultiIndex.from_product([months, members], names=["mois", by])
    out = lease.groupby(["mois", by]).agg(**counts).reindex(grid, fill_value=0).reset_index()
    out.insert(2, "libelle", out[by].map(labels(raw, by)))
    return out


def rehousing_delay(
    raw, filters: Filters, by: str | None = None, threshold: int = 36
) -> pd.DataFrame:
    """The wait of the households rehoused in the period (leases of :func:`monthly_rehousing`),
    from the demande's filing date to the lease's signature: per member of ``by`` (or one
    « Total » row) and priority, the median in months (days ÷ 365.25/12, rounded to 0.1) and
    the share of leases signed after ``threshold`` whole calendar months or more (a month is
    whole once the signature's day of the month reaches the filing's)."""
    start, end_excl, _ = _period(filters)
    lease = leases(raw)
    lease = lease[(lease["date_signature"] >= start) & (lease["date_signature"] < end_excl)]
    lease = lease[_lease_mask(raw, lease, filters)].copy()
    filed = raw["demande"].set_index("id")["date_depot"]
    signed, depot = (
        pd.to_datetime(lease["date_signature"]),
        pd.to_datetime(lease["demande_id"].map(filed)),
    )
    lease["jours"] = (signed - depot).dt.days
    months = (
        (signed.dt.year - depot.dt.year) * 12
        + signed.dt.month
        - depot.dt.month
        - (signed.dt.day < depot.dt.day).astype(int)
    )
    lease["au_dela"] = (months >= threshold).astype(int)
    lease["prioritaire"] = holds(raw, lease["demande_id"], lease["date_cal_bail"]).astype(int)
    source = {"reservataire": "reservataire_id", "nature_reservataire": "nature",
              "epci": "epci_siren", "commune": "commune_code",
              "bailleur": "bailleur_id"}  # fmt: skip
    key = by or "_tout"
    lease[key] = lease[source[by]] if by else "Total"
    out = pd.DataFrame({key: sorted(lease[key].unique())})
    for flag, suffix in ((1, "prioritaires"), (0, "non_prioritaires")):
        group = lease[lease["prioritaire"] == flag].groupby(key)
        figures = pd.DataFrame({
            f"delai_median_{suffix}": (group["jours"].median() / (365.25 / 12)).round(1),
            f"part_delai_anormal_{suffix}": group["au_dela"].sum() / group.size(),
        })  # fmt: skip
        out = out.merge(figures, left_on=key, right_index=True, how="left")
    if by:
        out.insert(1, "libelle", out[by].map(labels(raw, by)))
    else:
        out = out.rename(columns={key: "libelle"})
    return out


def pipeline(raw, filters: Filters) -> pd.DataFrame:
    """Per month: ``propositions`` (by date_proposition), ``refus_menage`` (answer refusee or
    sans_reponse, by date_reponse), ``cal_<decision>`` (by date_cal), ``baux_signes`` (by
    date_signature) and ``entrees_dans_les_lieux`` (by date_entree_lieux).

    Proposals and decisions: dwelling = the offer's (proposition → offre → logement),
    réservataire = proposition.reservataire_id, criteria read on the proposal date (proposals,
    refusals) or the decision's date_cal; leases: the lease's dwelling and réservataire,
    criteria on the lease's CAL date. Mutation: the demande's flag.
    """
    start, end_excl, months = _period(filters)
    dwell = _dwellings(raw)
    prop = (
        raw["proposition"]
        .merge(
            raw["offre"][["id", "logement_id"]].rename(columns={"id": "offre_id"}),
            on="offre_id",
            how="left",
        )
        .merge(dwell, on="logement_id", how="left")
        .merge(_natures(raw), on="reservataire_id", how="left")
        .merge(_mutation(raw), on="demande_id", how="left")
    )

    def prop_mask(df, on):
        return _mask(
            raw,
            df,
            filters,
            reservataire="reservataire_id",
            nature="nature",
            epci="epci_siren",
            commune="commune_code",
            bailleur="bailleur_id",
            qpv="qpv_code",
            mutation="mutation",
            demande="demande_id",
            on=on,
        )

    def per_month(dates: pd.Series) -> pd.Series:
        dates = dates[(dates >= start) & (dates < end_excl)]
        return _month(dates).value_counts().reindex(months, fill_value=0)

    columns = {}
    columns["propositions"] = per_month(
        prop.loc[prop_mask(prop, "date_proposition"), "date_proposition"]
    )
    refused = prop[prop["reponse"].isin(REFUSALS)]
    columns["refus_menage"] = per_month(
        refused.loc[prop_mask(refused, "date_proposition"), "date_reponse"]
    )
    dec = raw["decision_cal"][["proposition_id", "date_cal", "decision"]].merge(
        prop.drop(columns=["date_reponse", "reponse"]).rename(columns={"id": "proposition_id"}),
        on="proposition_id",
        how="left",
    )
    dec = dec[prop_mask(dec, "date_cal")]
    for kind in DECISIONS_CAL:
        columns[f"cal_{kind}"] = per_month(dec.loc[dec["decision"] == kind, "date_cal"])
    lease = leases(raw)
    lease = lease[_lease_mask(raw, lease, filters)]
    columns["baux_signes"] = per_month(lease["date_signature"])
    columns["entrees_dans_les_lieux"] = per_month(lease["date_entree_lieux"].dropna())
    out = pd.DataFrame(columns, index=months).astype("int64")
    return out.rename_axis("mois").reset_index()


def _territories(raw, filters: Filters) -> pd.DataFrame:
    """The reference communes kept by the territory filters: code_insee, nom, epci_siren."""
    com = raw["commune"][["code_insee", "nom", "epci_siren"]]
    if filters.epci:
        com = com[com["epci_siren"].isin(list(filters.epci))]
    if filters.communes:
        com = com[com["code_insee"].isin(list(filters.communes))]
    return com


def active_demandes(raw, at: pd.Timestamp) -> pd.DataFrame:
    """Demandes active on ``at``: filed on or before it, not radiated on or before it."""
    dem = raw["demande"][["id", "date_depot", "date_radiation", "mutation"]]
    active = (dem["date_depot"] <= at) & (
        dem["date_radiation"].isna() | (dem["date_radiation"] > at)
    )
    return dem[active].rename(columns={"id": "demande_id"})


def _demand_mask(raw, dem: pd.DataFrame, filters: Filters, at) -> np.ndarray:
    """Criteria (held on ``at``) and mutation filters of the demand side."""
    return _mask(raw, dem, filters, mutation="mutation", demande="demande_id", on=at)


def demand_supply(
    raw, filters: Filters, level: str = "commune", at: date | str | None = None
) -> pd.DataFrame:
    """Demand and supply per commune or EPCI on the observation date ``at``.

    Demand (territory = wished commune; criteria held on ``at`` and mutation filters):
    ``demandes_actives`` on the rang-1 commune, ``demandes_actives_ponderees`` = sum over the
    wishes of 1 / (number of wishes of the demande), rounded to 2 decimals,
    ``demandes_prioritaires_actives`` rang-1 count of those holding a criterion on ``at``.
    Supply (territory = dwelling's commune): ``logements`` in service on ``at`` (bailleur,
    QPV filters), ``logements_liberes_12m`` offers with at - 1 year < date_liberation <= at
    (+ réservataire filters), ``baux_12m`` leases signed in that window (+ criteria on the
    CAL date and mutation) and ``relogements_prioritaires_12m``. ``tension`` =
    demandes_actives / baux_12m rounded to 2 decimals (NaN without lease). Every territory of
    the reference kept by the territory filters, zeros included.
    """
    if at is None:
        raise ValueError("the oracle needs an explicit observation date")
    at = _ts(at)
    window_start = at - pd.DateOffset(years=1)
    terr = _territories(raw, filters)
    key = {"commune": "commune_code", "epci": "epci_siren"}[level]

    # demand
    dem = active_demandes(raw, at)
    dem = dem[_demand_mask(raw, dem, filters, at)]
    dem = dem.assign(prioritaire=holds(raw, dem["demande_id"], at).astype(int))
    wishes = raw["demande_commune"][["demande_id", "rang", "commune_code"]]
    wishes = wishes.merge(
        wishes.groupby("demande_id").size().rename("_n").reset_index(), on="demande_id"
    )
    wishes = wishes.merge(dem[["demande_id", "prioritaire"]], on="demande_id", how="inner")
    wishes = wishes.merge(
        terr.rename(columns={"code_insee": "commune_code"}), on="commune_code", how="inner"
    )
    first = wishes[wishes["rang"] == 1]
    demand = pd.DataFrame(
        {
            "demandes_actives": first.groupby(key).size(),
            "demandes_actives_ponderees": (1.0 / wishes["_n"]).groupby(wishes[key]).sum(),
            "demandes_prioritaires_actives": first.groupby(key)["prioritaire"].sum(),
        }
    )

    # supply
    dwell = _dwellings(raw)
    dwell = dwell[dwell["commune_code"].isin(terr["code_insee"])]
    stock = dwell[dwell["date_mise_en_service"] <= at]
    stock = stock[_mask(raw, stock, filters, bailleur="bailleur_id", qpv="qpv_code")]
    offers = (
        raw["offre"]
        .merge(dwell, on="logement_id", how="inner")
        .merge(_natures(raw), on="reservataire_id", how="left")
    )
    offers = offers[(offers["date_liberation"] > window_start) & (offers["date_liberation"] <= at)]
    offers = offers[
        _mask(
            raw,
            offers,
            filters,
            bailleur="bailleur_id",
            qpv="qpv_code",
            reservataire="reservataire_id",
            nature="nature",
        )
    ]
    lease = leases(raw)
    lease = lease[
        lease["commune_code"].isin(terr["code_insee"])
        & (lease["date_signature"] > window_start)
        & (lease["date_signature"] <= at)
    ]
    lease = lease[_lease_mask(raw, lease, filters)]
    lease = lease.assign(
        prioritaire=holds(raw, lease["demande_id"], lease["date_cal_bail"]).astype(int)
    )
    supply = pd.DataFrame(
        {
            "logements": stock.groupby(key).size(),
            "logements_liberes_12m": offers.groupby(key).size(),
            "baux_12m": lease.groupby(key).size(),
            "relogements_prioritaires_12m": lease.groupby(key)["prioritaire"].sum(),
        }
    )

    if level == "commune":
        out = terr.rename(columns={"code_insee": "commune", "nom": "libelle", "epci_siren": "epci"})
        index = "commune"
    else:
        ref = raw["epci"][["siren", "nom"]]
        out = ref[ref["siren"].isin(terr["epci_siren"])].rename(
            columns={"siren": "epci", "nom": "libelle"}
        )
        index = "epci"
    out = out.set_index(index).join(demand).join(supply)
    counts = [c for c in [*demand.columns, *supply.columns] if c != "demandes_actives_ponderees"]
    out[counts] = out[counts].fillna(0).astype("int64")
    out["demandes_actives_ponderees"] = out["demandes_actives_ponderees"].fillna(0.0).round(2)
    ratio = out["demandes_actives"] / out["baux_12m"].where(out["baux_12m"] > 0)
    out["tension"] = ratio.astype("float64").round(2)
    if _leases_only_filter(filters):  # demand ÷ a part of the leases: not computed
        out["tension"] = np.nan
    return out.reset_index()


def _leases_only_filter(filters: Filters) -> bool:
    """A réservataire, nature, bailleur or QPV filter narrows the leases, never the demand."""
    return bool(filters.reservataires or filters.natures_reservataire or filters.bailleurs) or (
        filters.qpv is not None
    )


TYPOLOGIES = ["T1-T2", "T3", "T4", "T5+"]


def typology_pressure(
    raw, filters: Filters, level: str = "commune", at: date | str | None = None
) -> pd.DataFrame:
    """Active demandes on their rang-1 commune by target typology (1-2 persons T1-T2, 3 T3,
    4 T4, 5+ T5+; no size: left out) and leases of the 12 months ending on ``at`` by the
    dwelling's typology (T1/T2 → T1-T2, T5 → T5+), per territory and typology, all
    combinations present; pression = demandes / baux, pression_globale = territory totals'
    ratio, desequilibre = pression / pression_globale (NaN on a zero divisor, 2 decimals)."""
    if at is None:
        raise ValueError("the oracle needs an explicit observation date")
    at = _ts(at)
    terr = _territories(raw, filters)
    key = {"commune": "commune_code", "epci": "epci_siren"}[level]

    dem = active_demandes(raw, at)
    dem = dem[_demand_mask(raw, dem, filters, at)]
    sizes = raw["demande"].set_index("id")["nb_personnes"]
    n = sizes.reindex(dem["demande_id"]).to_numpy()
    dem = dem.assign(
        typologie=np.select([n <= 2, n == 3, n == 4, n >= 5], TYPOLOGIES[:4], default=None)
    )
    dem = dem[pd.notna(n)]
    wishes = raw["demande_commune"]
    first = wishes[wishes["rang"] == 1][["demande_id", "commune_code"]]
    dem = dem.merge(first, on="demande_id").merge(
        terr.rename(columns={"code_insee": "commune_code"}), on="commune_code"
    )
    demand = dem.groupby([key, "typologie"]).size().rename("demandes_actives")

    lease = leases(raw)
    lease = lease[
        lease["commune_code"].isin(terr["code_insee"])
        & (lease["date_signature"] > at - pd.DateOffset(years=1))
        & (lease["date_signature"] <= at)
    ]
    lease = lease[_lease_mask(raw, lease, filters)]
    typ = raw["logement"].set_index("id")["typologie"].reindex(lease["logement_id"]).to_numpy()
    lease = lease.assign(
        typologie=pd.Series(typ, index=lease.index).map(
            {"T1": "T1-T2", "T2": "T1-T2", "T3": "T3", "T4": "T4", "T5": "T5+"}
        )
    )
    supply = (
        lease.dropna(subset=["typologie"]).groupby([key, "typologie"]).size().rename("baux_12m")
    )

    if level == "commune":
        codes = terr.set_index("code_insee")["nom"]
    else:
        ref = raw["epci"].set_index("siren")["nom"]
        codes = ref[ref.index.isin(terr["epci_siren"])]
    grid = pd.MultiIndex.from_product([codes.index, TYPOLOGIES], names=[key, "typologie"])
    out = pd.DataFrame(index=grid).join(demand).join(supply).fillna(0).astype("int64").reset_index()
    out = out.rename(columns={key: level})
    out.insert(1, "libelle", codes.reindex(out[level]).to_numpy())
    tot = out.groupby(level)[["demandes_actives", "baux_12m"]].transform("sum")
    p = out["demandes_actives"] / out["baux_12m"].where(out["baux_12m"] > 0)
    g = tot["demandes_actives"] / tot["baux_12m"].where(tot["baux_12m"] > 0)
    out["pression"], out["pression_globale"] = p.astype(float).round(2), g.astype(float).round(2)
    out["desequilibre"] = (p / g).astype(float).round(2)
    if _leases_only_filter(filters):
        out[["pression", "pression_globale", "desequilibre"]] = np.nan
    return out


def priority_backlog(raw, filters: Filters, at: date | str | None = None) -> pd.DataFrame:
    """Active demandes on ``at`` by seniority band (from date_depot), territory = rang-1
    commune, criteria (held on ``at``) and mutation filters.

    Band boundaries are ``at`` minus 6, 12, 24, 36 months (same day, clamped to the month's
    end); a demande filed exactly on a boundary falls in the older band.
    ``demandes_prioritaires``: holds a criterion on ``at``; ``demandes_dalo``: holds DALO on
    ``at``; ``dalo_delai_depasse``: holds a DALO criterion valid on ``at`` that started on or
    before ``at`` minus 6 months. ``au_dela_delai_anormal``: the band starts at 36 months.
    """
    if at is None:
        raise ValueError("the oracle needs an explicit observation date")
    at = _ts(at)
    dem = active_demandes(raw, at)
    terr = _territories(raw, filters)
    wishes = raw["demande_commune"]
    first = wishes.loc[wishes["rang"] == 1, ["demande_id", "commune_code"]]
    dem = dem.merge(first, on="demande_id", how="left")
    if filters.epci or filters.communes:
        dem = dem[dem["commune_code"].isin(terr["code_insee"])]
    dem = dem[_demand_mask(raw, dem, filters, at)].reset_index(drop=True)

    dem["prioritaire"] = holds(raw, dem["demande_id"], at)
    dalo = _valid_criteria(raw, dem["demande_id"], at, ["DALO"])
    dem["dalo"] = False
    dem.loc[dalo["_row"].unique(), "dalo"] = True
    late = dalo[dalo["date_debut"] <= _months_before(at, DALO_DEADLINE_MONTHS)]
    dem["dalo_late"] = False
    dem.loc[late["_row"].unique(), "dalo_late"] = True

    # band: the number of boundaries (at - n months) the filing date is on or before
    bounds = [_months_before(at, lo) for _, lo, _ in BANDS[1:]]
    band = np.zeros(len(dem), dtype=int)
    for bound in bounds:
        band += (dem["date_depot"] <= bound).to_numpy()
    dem["band"] = band
    agg = dem.groupby("band").agg(
        demandes_actives=("demande_id", "size"),
        demandes_prioritaires=("prioritaire", "sum"),
        demandes_dalo=("dalo", "sum"),
        dalo_delai_depasse=("dalo_late", "sum"),
    )
    agg = agg.reindex(range(len(BANDS)), fill_value=0).astype("int64")
    out = pd.DataFrame(
        {
            "tranche_anciennete": [label for label, _, _ in BANDS],
            "mois_min": [lo for _, lo, _ in BANDS],
            "mois_max": pd.array([hi for _, _, hi in BANDS], dtype="Int64"),
        }
    )
    out = pd.concat([out, agg.reset_index(drop=True)], axis=1)
    out["au_dela_delai_anormal"] = out["mois_min"] >= ABNORMAL_DELAY_MONTHS
    return out


def backlog_by_epci(raw, filters: Filters, at, delays: dict | None = None) -> pd.DataFrame:
    """Per EPCI of the rang-1 wished commune (NaN: none), on ``at``: active demandes, those
    holding a criterion, holding DALO, holding a DALO criterion started at least 6 months
    before, and filed at least the EPCI's délai anormalement long before ``at`` (``delays``:
    SIREN → months, else 36). Index ``epci``."""
    at = _ts(at)
    dem = active_demandes(raw, at)
    wishes = raw["demande_commune"]
    first = wishes.loc[wishes["rang"] == 1, ["demande_id", "commune_code"]]
    dem = dem.merge(first, on="demande_id", how="left")
    dem["epci"] = dem["commune_code"].map(raw["commune"].set_index("code_insee")["epci_siren"])
    if filters.epci or filters.communes:
        dem = dem[dem["commune_code"].isin(_territories(raw, filters)["code_insee"])]
    dem = dem[_demand_mask(raw, dem, filters, at)].reset_index(drop=True)
    dem["prioritaire"] = holds(raw, dem["demande_id"], at)
    dem["dalo"] = holds(raw, dem["demande_id"], at, ["DALO"])
    dalo = _valid_criteria(raw, dem["demande_id"], at, ["DALO"])
    late = dalo[dalo["date_debut"] <= _months_before(at, DALO_DEADLINE_MONTHS)]
    dem["late"] = False
    dem.loc[late["_row"].unique(), "late"] = True
    months = dem["epci"].map(lambda e: (delays or {}).get(e, ABNORMAL_DELAY_MONTHS))
    bound = [_months_before(at, int(m)) for m in months]
    dem["ancienne"] = dem["date_depot"].to_numpy() <= np.array(bound, dtype="datetime64[ns]")
    return dem.groupby("epci", dropna=False).agg(
        demandes_actives=("demande_id", "size"),
        demandes_prioritaires=("prioritaire", "sum"),
        demandes_dalo=("dalo", "sum"),
        dalo_delai_depasse=("late", "sum"),
        demandes_delai_anormal=("ancienne", "sum"),
    )


def dalo_overdue(raw, filters: Filters, at) -> pd.Series:
    """DALO households past the 6-month deadline on ``at`` by months since their earliest
    valid DALO recognition: 6–12, 12–24, 24 and more (index: the band's lower bound)."""
    at = _ts(at)
    dem = active_demandes(raw, at)
    wishes = raw["demande_commune"]
    first = wishes.loc[wishes["rang"] == 1, ["demande_id", "commune_code"]]
    dem = dem.merge(first, on="demande_id", how="left")
    if filters.epci or filters.communes:
        dem = dem[dem["commune_code"].isin(_territories(raw, filters)["code_insee"])]
    dem = dem[_demand_mask(raw, dem, filters, at)].reset_index(drop=True)
    dalo = _valid_criteria(raw, dem["demande_id"], at, ["DALO"])
    since = dalo.groupby("_row")["date_debut"].min()
    since = since[since <= _months_before(at, 6)]
    band = np.where(
        since > _months_before(at, 12), 6, np.where(since > _months_before(at, 24), 12, 24)
    )
    return pd.Series(band).value_counts().reindex([6, 12, 24], fill_value=0)


def lease_months(raw, start: str, end: str) -> pd.DataFrame:
    """Leases signed from month ``start`` to month ``end`` with their month (``mois``),
    EPCI, bailleur, réservataire, QPV flag, priority on the CAL date and first-quartile
    status against their EPCI's threshold of their signature year (``q1``: True, False, or
    None when unknown)."""
    lease = leases(raw)
    lease = lease[
        (lease["date_signature"] >= _ts(f"{start}-01"))
        & (lease["date_signature"] < _ts(f"{end}-01") + pd.offsets.MonthBegin())
    ].copy()
    lease["mois"] = _month(lease["date_signature"])
    lease["prio"] = holds(raw, lease["demande_id"], lease["date_cal_bail"])
    dem = raw["demande"].set_index("id")
    seuil = raw["seuil_q1"].set_index(["epci_siren", "annee"])["montant"]
    income = lease["demande_id"].map(dem["revenu_mensuel"]).astype(float)
    units = lease["demande_id"].map(dem["unites_consommation"]).astype(float)
    keys = list(zip(lease["epci_siren"], lease["date_signature"].dt.year, strict=True))
    threshold = pd.Series([seuil.get(k, np.nan) for k in keys], index=lease.index, dtype=float)
    known = income.notna() & (units > 0) & threshold.notna()
    lease["q1_known"] = known
    lease["q1"] = known & (income * 12 / units < threshold)
    lease["outside"] = lease["qpv_code"].isna() | (lease["qpv_code"] == "")
    return lease


# ------------------------------------------------------------------ data quality
def _propositions(raw) -> pd.DataFrame:
    """Propositions with their dwelling (through the offer), réservataire nature and mutation."""
    return (
        raw["proposition"]
        .merge(
            raw["offre"][["id", "logement_id"]].rename(columns={"id": "offre_id"}),
            on="offre_id",
            how="left",
        )
        .merge(_dwellings(raw), on="logement_id", how="left")
        .merge(_natures(raw), on="reservataire_id", how="left")
        .merge(_mutation(raw), on="demande_id", how="left")
    )


def _prop_mask(raw, df, filters, on):
    return _mask(
        raw,
        df,
        filters,
        reservataire="reservataire_id",
        nature="nature",
        epci="epci_siren",
        commune="commune_code",
        bailleur="bailleur_id",
        qpv="qpv_code",
        mutation="mutation",
        demande="demande_id",
        on=on,
    )


def pending_propositions(raw, filters: Filters, at, min_days: int) -> pd.DataFrame:
    """Proposal ids made ``min_days`` or more days before ``at`` and not answered on ``at``
    (no answer date, or one after ``at``), with their waiting days."""
    at = _ts(at)
    prop = _propositions(raw)
    keep = (prop["date_proposition"] <= at - pd.Timedelta(days=min_days)) & (
        prop["date_reponse"].isna() | (prop["date_reponse"] > at)
    )
    prop = prop[keep]
    prop = prop[_prop_mask(raw, prop, filters, at)]
    return pd.DataFrame(
        {
            "proposition": prop["id"].to_numpy(),
            "jours_en_attente": (at - prop["date_proposition"]).dt.days.to_numpy(),
        }
    )


def approved_not_leased(raw, filters: Filters, at) -> pd.DataFrame:
    """Proposal ids with a firm attribution (attribution, sous condition, or by rank 1) dated
    on or before ``at`` (first one), demande active on ``at``, not refused by then
    (refusee/sans_reponse answered on or before ``at``), no lease on it signed by ``at``."""
    at = _ts(at)
    dec = raw["decision_cal"]
    firm = dec["decision"].isin(["attribution", "attribution_sous_condition"]) | (
        (dec["decision"] == "attribution_rang") & (dec["rang"] == 1)
    )
    first = dec[firm & (dec["date_cal"] <= at)].groupby("proposition_id")["date_cal"].min()
    prop = _propositions(raw)
    prop = prop[prop["id"].isin(first.index)].assign(
        date_cal=lambda f: first.reindex(f["id"]).to_numpy()
    )
    active = set(active_demandes(raw, at)["demande_id"])
    bail = raw["bail"]
    leased = set(bail.loc[bail["date_signature"] <= at, "proposition_id"])
    refused = prop["reponse"].isin(list(REFUSALS)) & (prop["date_reponse"] <= at)
    prop = prop[prop["demande_id"].isin(active) & ~prop["id"].isin(leased) & ~refused]
    prop = prop[_prop_mask(raw, prop, filters, "date_cal")]
    return pd.DataFrame(
        {
            "proposition": prop["id"].to_numpy(),
            "jours_depuis_cal": (at - prop["date_cal"]).dt.days.to_numpy(),
        }
    )


def likely_duplicates(raw, filters: Filters, at) -> pd.DataFrame:
    """numero_unique of active demandes on ``at`` (territory filters on the commune of
    residence) sharing commune of residence, household size, wished typology and income
    with another one; ``groupe`` is the set's size."""
    at = _ts(at)
    dem = active_demandes(raw, at)
    full = raw["demande"].set_index("id")
    keys = ["commune_residence_code", "nb_personnes", "typologie_recherchee", "revenu_mensuel"]
    dem = full.loc[dem["demande_id"], ["numero_unique", *keys]].dropna(subset=keys)
    terr = _territories(raw, filters)
    dem = dem[dem["commune_residence_code"].isin(terr["code_insee"])]
    size = dem.groupby(keys)["numero_unique"].transform("size")
    return pd.DataFrame(
        {
            "numero_unique": dem.loc[size > 1, "numero_unique"].to_numpy(),
            "taille": size[size > 1].to_numpy(),
        }
    )


def reconciliation(raw, filters: Filters, at) -> pd.DataFrame:
    """Per month of the period: firm attributions by first-firm-CAL month split by when their
    proposal's lease was signed (same month, later up to ``at``, none), and leases by
    signature month split by their proposal's first firm CAL month (same, earlier, none)."""
    at = _ts(at)
    start, end_excl, months = _period(filters)
    dec = raw["decision_cal"]
    firm = dec["decision"].isin(["attribution", "attribution_sous_condition"]) | (
        (dec["decision"] == "attribution_rang") & (dec["rang"] == 1)
    )
    first = dec[firm].groupby("proposition_id")["date_cal"].min()
    bail = raw["bail"]
    signed = bail[bail["date_signature"] <= at].groupby("proposition_id")["date_signature"].min()

    prop = _propositions(raw)
    prop = prop[prop["id"].isin(first.index)].assign(
        date_cal=lambda f: first.reindex(f["id"]).to_numpy()
    )
    prop = prop[(prop["date_cal"] >= start) & (prop["date_cal"] < end_excl)]
    prop = prop[_prop_mask(raw, prop, filters, "date_cal")]
    lease_date = signed.reindex(prop["id"]).to_numpy()
    cal_m = _month(prop["date_cal"])
    lease_m = _month(pd.Series(lease_date, index=prop.index))
    kinds = np.where(
        pd.isna(lease_date),
        "attributions_sans_bail",
        np.where(lease_m == cal_m, "attributions_bail_meme_mois", "attributions_bail_plus_tard"),
    )
    cal = pd.crosstab(cal_m, kinds)

    lease = leases(raw)
    lease = lease[
        (lease["date_signature"] >= start)
        & (lease["date_signature"] < end_excl)
        & (lease["date_signature"] <= at)
    ]
    lease = lease[_lease_mask(raw, lease, filters)]
    cal_of = _month(pd.Series(first.reindex(lease["proposition_id"]).to_numpy(), index=lease.index))
    sig_m = _month(lease["date_signature"])
    lkinds = np.where(
        cal_of.isna(),
        "baux_sans_cal",
        np.where(cal_of == sig_m, "baux_meme_mois", "baux_cal_mois_anterieur"),
    )
    lea = pd.crosstab(sig_m, lkinds)
    out = pd.DataFrame(index=months)
    for frame in (cal, lea):
        for column in frame.columns:
            out[column] = frame[column].reindex(months, fill_value=0)
    for column in (
        "attributions_bail_meme_mois",
        "attributions_bail_plus_tard",
        "attributions_sans_bail",
        "baux_meme_mois",
        "baux_cal_mois_anterieur",
        "baux_sans_cal",
    ):
        if column not in out:
            out[column] = 0
    out = out.fillna(0).astype("int64")
    out["attributions_date_cal"] = out[
        ["attributions_bail_meme_mois", "attributions_bail_plus_tard", "attributions_sans_bail"]
    ].sum(axis=1)
    out["baux_date_signature"] = out[
        ["baux_meme_mois", "baux_cal_mois_anterieur", "baux_sans_cal"]
    ].sum(axis=1)
    return out.drop(columns="baux_meme_mois").rename_axis("mois").reset_index()


def rehousing_cells(raw, filters: Filters) -> pd.DataFrame:
    """Leases per month, commune and main criterion group (DALO, ACD, L441-1, AUCUN) of the
    period and filters: ``mois``, ``commune``, ``epci``, ``groupe_critere``,
    ``relogements``, non-empty cells only."""
    start, end_excl, _ = _period(filters)
    lease = leases(raw)
    lease = lease[(lease["date_signature"] >= start) & (lease["date_signature"] < end_excl)]
    lease = lease[_lease_mask(raw, lease, filters)].copy()
    main = pd.Series(
        main_criterion(raw, lease["demande_id"], lease["date_cal_bail"]), index=lease.index
    )
    return (
        lease.assign(
            mois=_month(lease["date_signature"]),
            commune=lease["commune_code"],
            epci=lease["epci_siren"],
            groupe_critere=main.where(main.isin(["DALO", "ACD", "AUCUN"]), "L441-1"),
        )
        .groupby(["mois", "commune", "epci", "groupe_critere"])
        .size()
        .rename("relogements")
        .reset_index()
    )
