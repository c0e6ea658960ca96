"""Each query of the API agrees with an independent pandas computation on the raw tables.

``tests/oracle.py`` recomputes every indicator from its definition with merges and groupbys
on the tables read directly from the replica file (fixture ``raw_tables``); these tests run
the API (on DuckDB and on the PostgreSQL hot standby) for several filter combinations, every
breakdown dimension, both territory levels and several observation dates, and require the
same frames: same rows, same codes and labels, same counts.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data_access import FilterError, Filters, Scope
from tests import oracle

pytestmark = pytest.mark.slow

#: Filter combinations, each with its own period (crossing a year, ending on the last,
#: partial month of the data, several years, an old half-year).
FILTERS = {
    "periode_seule": Filters(start="2025-01", end="2025-12"),
    "epci_toulouse_metropole_dalo": Filters(
        start="2024-07", end="2025-06", epci=("243100518",), criteres=("DALO",)
    ),
    "etat_prioritaire_en_qpv": Filters(
        start="2023-01", end="2026-10", natures_reservataire=("etat_prioritaire",), qpv=True
    ),
    "premier_acces_deux_bailleurs": Filters(
        start="2026-01", end="2026-11", mutation=False, bailleurs=(1, 2)
    ),
    "toulouse_acd_ou_violences": Filters(
        start="2022-03", end="2022-08", communes=("31555",), criteres=("ACD", "f_VIOLENCES")
    ),
}
BY = [None, *oracle.DIMENSIONS]
#: Observation dates: the last day of data (AS_OF - 1 day); a day on which several criteria
#: of still-active demandes end (10 April 2024 in the seed-31 demo: the bound ``date_fin >= at``
#: matters); an end of month whose "minus 6 months" needs clamping (31 August → 28 February).
DATES = [date(2026, 11, 14), date(2024, 4, 10), date(2025, 8, 31)]
DEMAND_SUPPLY_DATES = DATES[:2]
BACKLOG_DATES = DATES

SICOVAL = Scope(epci=("243100633",), label="Sicoval")

#: Columns rounded to 2 decimals by definition: compared to 0.01 (a tie may round either way
#: depending on the backend's ROUND), every other column exactly.
ROUNDED = ("demandes_actives_ponderees", "tension")

_ORACLE_CACHE: dict = {}


def expected(raw, name: str, *args) -> pd.DataFrame:
    """The oracle's frame, computed once per argument set (the replica param reuses it)."""
    key = (id(raw), name, *args)
    if key not in _ORACLE_CACHE:
        _ORACLE_CACHE[key] = getattr(oracle, name)(raw, *args)
    return _ORACLE_CACHE[key].copy()


def _normalise(frame: pd.DataFrame, columns: list[str], keys: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for c in columns:
        s = frame[c]
        if c == "mois":
            out[c] = pd.to_datetime(s).astype("datetime64[ns]")
        elif pd.api.types.is_bool_dtype(s):
            out[c] = s.astype(bool)
        elif pd.api.types.is_integer_dtype(s):
            out[c] = s.astype("Int64")
        elif pd.api.types.is_float_dtype(s):
            out[c] = s.astype("float64")
        else:
            out[c] = s.astype("string")
    return out.sort_values(keys).reset_index(drop=True)


def assert_same(api: pd.DataFrame, oracle_frame: pd.DataFrame, keys: list[str]) -> None:
    """Same rows and values on the oracle's columns (all of which the API must return)."""
    missing = [c for c in oracle_frame.columns if c not in api.columns]
    assert not missing, f"the API result lacks the columns {missing} (has {list(api.columns)})"
    assert not api.duplicated(keys).any(), f"the API returns several rows for the same {keys}"
    columns = list(oracle_frame.columns)
    got, want = _normalise(api, columns, keys), _normalise(oracle_frame, columns, keys)
    assert len(got) == len(want), (
        f"{len(got)} rows from the API, {len(want)} expected; keys only in the API: "
        f"{_only(got, want, keys)}, only expected: {_only(want, got, keys)}"
    )
    exact = [c for c in columns if c not in ROUNDED]
    pd.testing.assert_frame_equal(got[exact], want[exact], check_exact=True)
    rounded = [c for c in columns if c in ROUNDED]
    if rounded:
        pd.testing.assert_frame_equal(
            got[rounded], want[rounded], check_exact=False, rtol=0, atol=0.0101
        )


def _only(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> list:
    m = a[keys].merge(b[keys].drop_duplicates(), on=keys, how="left", indicator=True)
    return m.loc[m["_merge"] == "left_only", keys].head(10).values.tolist()


# ------------------------------------------------------------------ monthly_rehousing
@pytest.mark.parametrize("by", BY, ids=lambda b: f"by_{b}")
@pytest.mark.parametrize("name", list(FILTERS))
def test_monthly_rehousing_matches_independent_count(replica, raw_tables, name, by):
    filters = FILTERS[name]
    api = replica.monthly_rehousing(filters, by=by)
    keys = ["mois"] + ([by] if by else [])
    assert_same(api, expected(raw_tables, "monthly_rehousing", filters, by), keys)


@pytest.mark.parametrize("name", list(FILTERS))
def test_rehousing_total_row_is_the_period_total(replica, raw_tables, name):
    """The breakdown tables' « Total » row (``rehousing_summary(by=None)``), read from the key
    figures' series, is the period's count."""
    filters = FILTERS[name]
    total = replica.rehousing_summary(filters, by=None).iloc[0]
    monthly = expected(raw_tables, "monthly_rehousing", filters, None)
    assert total["libelle"] == "Total"
    assert total["relogements"] == monthly["relogements"].sum()
    assert total["relogements_prioritaires"] == monthly["relogements_prioritaires"].sum()


@pytest.mark.parametrize("by", ["reservataire", "epci", "bailleur", None])
def test_under_a_criteria_filter_the_share_is_the_group_s_among_all_rehousings(
    replica, raw_tables, by
):
    filters = FILTERS["toulouse_acd_ou_violences"]
    api = replica.rehousing_summary(filters, by=by)
    group = expected(raw_tables, "monthly_rehousing", filters, by)
    everyone = expected(raw_tables, "monthly_rehousing", filters.replace(criteres=()), by)
    if by:
        group = group.groupby(by)["relogements"].sum()
        everyone = everyone.groupby(by)["relogements"].sum()
        everyone = everyone[everyone > 0]
        got = api.set_index(by)
        got.index = got.index.astype(everyone.index.dtype)
        assert sorted(got.index) == sorted(everyone.index)  # every member with any rehousing
        assert got["relogements_tous_menages"].to_dict() == everyone.to_dict()
        want = (group.reindex(everyone.index, fill_value=0) / everyone).to_dict()
        assert got["part_criteres"].to_dict() == pytest.approx(want)
    else:
        total = api.iloc[0]
        assert total["relogements_tous_menages"] == everyone["relogements"].sum()
        assert total["part_criteres"] == pytest.approx(
            group["relogements"].sum() / everyone["relogements"].sum()
        )


# ------------------------------------------------------------------ rehousing_delay
@pytest.mark.parametrize(
    "by", [None, "reservataire", "nature_reservataire", "epci", "commune", "bailleur"]
)
@pytest.mark.parametrize("name", list(FILTERS))
def test_waiting_time_of_the_rehoused_matches_independent_computation(
    replica, raw_tables, name, by
):
    filters = FILTERS[name]
    api = replica.rehousing_delay(filters, by=by)
    want = expected(raw_tables, "rehousing_delay", filters, by)
    assert_same(api, want, [by] if by else ["libelle"])


# ------------------------------------------------------------------ pipeline
@pytest.mark.parametrize("name", list(FILTERS))
def test_pipeline_matches_independent_count(replica, raw_tables, name):
    filters = FILTERS[name]
    assert_same(replica.pipeline(filters), expected(raw_tables, "pipeline", filters), ["mois"])


# ------------------------------------------------------------------ demand_supply
@pytest.mark.parametrize("at", DEMAND_SUPPLY_DATES, ids=str)
@pytest.mark.parametrize("level", ["commune", "epci"])
@pytest.mark.parametrize("name", list(FILTERS))
def test_demand_supply_matches_independent_count(replica, raw_tables, name, level, at):
    filters = FILTERS[name]
    api = replica.demand_supply(filters, level=level, at=at)
    assert_same(api, expected(raw_tables, "demand_supply", filters, level, at), [level])


# ------------------------------------------------------------------ typology_pressure
@pytest.mark.parametrize("level", ["commune", "epci"])
@pytest.mark.parametrize("name", list(FILTERS))
def test_typology_pressure_matches_independent_count(replica, raw_tables, name, level):
    filters, at = FILTERS[name], DEMAND_SUPPLY_DATES[0]
    api = replica.typology_pressure(filters, level=level, at=at)
    assert_same(
        api, expected(raw_tables, "typology_pressure", filters, level, at), [level, "typologie"]
    )


# ------------------------------------------------------------------ priority_backlog
@pytest.mark.parametrize("at", BACKLOG_DATES, ids=str)
@pytest.mark.parametrize("name", list(FILTERS))
def test_priority_backlog_matches_independent_count(replica, raw_tables, name, at):
    filters = FILTERS[name]
    api = replica.priority_backlog(filters, at=at)
    assert_same(api, expected(raw_tables, "priority_backlog", filters, at), ["mois_min"])


# ------------------------------------------------------------------ scope
SCOPED_QUERIES = [
    "monthly_rehousing",
    "monthly_rehousing_by_epci",
    "monthly_rehousing_by_commune",
    "monthly_rehousing_by_reservataire",
    "monthly_rehousing_by_critere",
    "pipeline",
    "demand_supply_commune",
    "demand_supply_epci",
    "priority_backlog",
]


@pytest.mark.parametrize("query", SCOPED_QUERIES)
def test_scope_of_one_epci_returns_that_epci_figures_and_nothing_else(replica, raw_tables, query):
    filters = Filters(start="2025-01", end="2025-12")
    as_filter = filters.replace(epci=SICOVAL.epci)
    at = DATES[0]
    if query.startswith("monthly_rehousing"):
        by = query.removeprefix("monthly_rehousing").removeprefix("_by_") or None
        api = replica.monthly_rehousing(filters, by=by, scope=SICOVAL)
        want, keys = (
            expected(raw_tables, "monthly_rehousing", as_filter, by),
            ["mois"] + ([by] if by else []),
        )
    elif query == "pipeline":
        api, want, keys = (
            replica.pipeline(filters, scope=SICOVAL),
            expected(raw_tables, "pipeline", as_filter),
            ["mois"],
        )
    elif query.startswith("demand_supply"):
        level = query.removeprefix("demand_supply_")
        api = replica.demand_supply(filters, level=level, at=at, scope=SICOVAL)
        want, keys = expected(raw_tables, "demand_supply", as_filter, level, at), [level]
    else:
        api = replica.priority_backlog(filters, at=at, scope=SICOVAL)
        want, keys = expected(raw_tables, "priority_backlog", as_filter, at), ["mois_min"]

    epci_of = raw_tables["commune"].set_index("code_insee")["epci_siren"]
    if "epci" in api.columns:
        assert set(api["epci"].astype(str)) <= set(SICOVAL.epci), "a row of another EPCI"
    if "commune" in api.columns:
        outside = sorted(
            set(api["commune"].astype(str)) - set(epci_of[epci_of.isin(SICOVAL.epci)].index)
        )
        assert not outside, f"communes outside Sicoval: {outside[:10]}"
    assert_same(api, want, keys)


# ------------------------------------------------------------------ the comparisons are not vacuous
@pytest.mark.parametrize("name", list(FILTERS))
def test_each_filter_combination_selects_some_but_not_all_rehousings(raw_tables, name):
    """Guards the cross-checks above against comparing empty (or unfiltered) frames."""
    filters = FILTERS[name]
    got = expected(raw_tables, "monthly_rehousing", filters, None)
    everything = expected(
        raw_tables, "monthly_rehousing", Filters(start=filters.start, end=filters.end), None
    )
    assert got["relogements"].sum() > 0 and got["relogements_prioritaires"].sum() > 0
    if name != "periode_seule":
        assert got["relogements"].sum() < everything["relogements"].sum()
    for at in DATES:
        demand = expected(raw_tables, "demand_supply", filters, "commune", at)
        assert demand["demandes_actives"].sum() > 0 and demand["baux_12m"].sum() > 0
        if filters.bailleurs or filters.natures_reservataire or filters.qpv is not None:
            assert demand["tension"].isna().all()  # demand ÷ a part of the leases: not computed
        else:
            assert (demand["tension"].isna() & (demand["baux_12m"] > 0)).sum() == 0
    backlog = expected(raw_tables, "priority_backlog", filters, DATES[0])
    assert (backlog["demandes_actives"] > 0).all()
    if not filters.criteres or "DALO" in filters.criteres:
        assert backlog["dalo_delai_depasse"].sum() > 0


# ------------------------------------------------------------------ data quality and reconciliation
QUALITY_FILTERS = ["periode_seule", "epci_toulouse_metropole_dalo", "etat_prioritaire_en_qpv"]


@pytest.mark.parametrize("name", QUALITY_FILTERS)
def test_pending_propositions_match_independent_list(replica, raw_tables, name):
    at = DATES[0]
    api = replica.pending_propositions(FILTERS[name], at=at, min_days=7)
    want = expected(raw_tables, "pending_propositions", FILTERS[name], at, 7)
    assert sorted(zip(api["proposition"], api["jours_en_attente"])) == sorted(
        zip(want["proposition"], want["jours_en_attente"])
    )
    assert api["jours_en_attente"].is_monotonic_decreasing  # oldest first


@pytest.mark.parametrize("at", [DATES[0], DATES[1]], ids=str)
@pytest.mark.parametrize("name", QUALITY_FILTERS)
def test_approved_not_leased_match_independent_list(replica, raw_tables, name, at):
    api = replica.approved_not_leased(FILTERS[name], at=at)
    want = expected(raw_tables, "approved_not_leased", FILTERS[name], at)
    assert sorted(zip(api["proposition"], api["jours_depuis_cal"])) == sorted(
        zip(want["proposition"], want["jours_depuis_cal"])
    )


@pytest.mark.parametrize("name", ["periode_seule", "epci_toulouse_metropole_dalo"])
def test_likely_duplicates_match_independent_list(replica, raw_tables, name):
    api = replica.likely_duplicates(FILTERS[name], at=DATES[0])
    want = expected(raw_tables, "likely_duplicates", FILTERS[name], DATES[0])
    assert sorted(api["numero_unique"]) == sorted(want["numero_unique"])
    sizes = api.groupby("groupe").size()
    assert (sizes >= 2).all() and sorted(sizes.repeat(sizes)) == sorted(want["taille"])


@pytest.mark.parametrize("name", list(FILTERS))
def test_reconciliation_matches_independent_count(replica, raw_tables, name):
    filters = FILTERS[name]
    api = replica.reconciliation(filters)
    want = expected(raw_tables, "reconciliation", filters, replica.reference_date())
    assert_same(api, want, ["mois"])
    gap = api["baux_date_signature"] - api["attributions_date_cal"]
    explained = (
        api["baux_cal_mois_anterieur"]
        + api["baux_sans_cal"]
        - api["attributions_bail_plus_tard"]
        - api["attributions_sans_bail"]
    )
    assert (gap == explained).all()


# ------------------------------------------------------------------ objectives
@pytest.mark.parametrize("year", [2025, 2026])
def test_objective_progress_matches_independent_count(replica, raw_tables, year):
    months = 12 if year == 2025 else 10  # the test demo's last complete month: October 2026
    filters = Filters(start=f"{year}-01", end=f"{year}-{months:02d}")
    objectif = raw_tables["objectif"]
    objectif = objectif[objectif["annee"] == year]

    by_res = replica.objective_progress("reservataire", year=year).set_index("reservataire")
    counted = (
        oracle.monthly_rehousing(raw_tables, filters, "reservataire")
        .groupby("reservataire")[["relogements", "relogements_prioritaires"]]
        .sum()
    )
    counted = counted[counted["relogements"] > 0]
    assert sorted(by_res.index) == sorted(counted.index)
    assert (
        by_res.loc[counted.index, "relogements_prioritaires"] == counted["relogements_prioritaires"]
    ).all()
    targets = objectif[objectif["indicateur"] == "part_prioritaires"].set_index("reservataire_id")[
        "valeur"
    ]
    assert (by_res["objectif_part"] == targets.reindex(by_res.index).fillna(0.25)).all()
    share = counted["relogements_prioritaires"] / counted["relogements"]
    assert (by_res.loc[counted.index, "objectif_atteint"] == (share >= 0.25)).all()

    by_epci = replica.objective_progress("epci", year=year).set_index("epci")
    assert by_epci.attrs["mois"] == months
    annual = (
        objectif[objectif["indicateur"] == "relogements_prioritaires"]
        .groupby("epci_siren")["valeur"]
        .sum()
    )
    prio = (
        oracle.monthly_rehousing(raw_tables, filters, "epci")
        .groupby("epci")["relogements_prioritaires"]
        .sum()
    )
    for code, target in annual.items():
        assert by_epci.loc[code, "objectif_annuel"] == target
        assert by_epci.loc[code, "relogements_prioritaires"] == prio.get(code, 0)
        assert by_epci.loc[code, "taux_atteinte"] == pytest.approx(
            prio.get(code, 0) / round(target * months / 12, 1), abs=1e-3
        )


def test_objective_progress_refuses_a_year_outside_the_data(duckdb_replica):
    from data_access import FilterError

    with pytest.raises(FilterError, match="Année hors des données"):
        duckdb_replica.objective_progress("epci", year=2040)


def test_objective_progress_lists_targeted_reservataires_without_rehousing(
    duckdb_replica, raw_tables
):
    out = duckdb_replica.objective_progress(
        "reservataire", year=2025, filters=Filters(bailleurs=(1,))
    )
    objectif = raw_tables["objectif"]
    targeted = set(
        objectif.loc[
            (objectif["annee"] == 2025) & (objectif["indicateur"] == "part_prioritaires"),
            "reservataire_id",
        ].astype(int)
    )
    assert targeted <= set(out["reservataire"])
    idle = out[out["relogements"] == 0]
    assert len(idle) and idle["objectif_atteint"].isna().all() and idle["libelle"].notna().all()


def test_objective_progress_first_year_starts_with_the_data(duckdb_replica):
    first = duckdb_replica.coverage().start
    out = duckdb_replica.objective_progress("epci", year=first.year)
    assert out.attrs["periode"].start == first
    assert out.attrs["mois"] == 12 - first.month + 1


def test_objective_progress_by_epci_refuses_a_commune_filter(duckdb_replica):
    from data_access import FilterError

    with pytest.raises(FilterError, match="fixés par EPCI"):
        duckdb_replica.objective_progress("epci", filters=Filters(communes=("31555",)))


def test_likely_duplicates_are_refused_to_a_reservataire_profile(duckdb_replica):
    from data_access import FilterError

    with pytest.raises(FilterError, match="réservée aux profils"):
        duckdb_replica.likely_duplicates(scope=Scope(reservataires=(4,), label="Action Logement"))


@pytest.mark.parametrize("year", [2025, 2026])
def test_objective_progress_by_bailleur_and_bailleur_epci_match_independent_count(
    replica, raw_tables, year
):
    """The accord collectif's targets by bailleur and by bailleur × EPCI (issue 17): each
    one's priority rehousings since January against its annual target prorated to the
    months elapsed, on DuckDB and PostgreSQL, against the oracle and the raw ``objectif``."""
    months = 12 if year == 2025 else 10
    filters = Filters(start=f"{year}-01", end=f"{year}-{months:02d}")
    objectif = raw_tables["objectif"]
    objectif = objectif[
        (objectif["annee"] == year) & (objectif["indicateur"] == "relogements_prioritaires")
    ].dropna(subset=["bailleur_id", "epci_siren"])
    lease = oracle.leases(raw_tables)
    lease = lease[
        (lease["date_signature"] >= pd.Timestamp(filters.start))
        & (
            lease["date_signature"]
            < pd.Timestamp(f"{year}-{months:02d}-01") + pd.offsets.MonthBegin()
        )
    ].copy()
    lease["prio"] = oracle.holds(raw_tables, lease["demande_id"], lease["date_cal_bail"])

    by_bailleur = replica.objective_progress("bailleur", year=year).set_index("bailleur")
    prio = lease.groupby("bailleur_id")["prio"].sum()
    annual = objectif.groupby(objectif["bailleur_id"].astype(int))["valeur"].sum()
    assert set(by_bailleur.index) == set(prio.index) | set(annual.index)
    for code, target in annual.items():
        row = by_bailleur.loc[code]
        assert row["objectif_annuel"] == target
        assert row["relogements_prioritaires"] == prio.get(code, 0)
        assert row["taux_atteinte"] == pytest.approx(
            prio.get(code, 0) / round(target * months / 12, 1), abs=1e-3
        )

    cross = replica.objective_progress("bailleur_epci", year=year).set_index(["bailleur", "epci"])
    prio = lease.groupby(["bailleur_id", "epci_siren"])["prio"].sum()
    counted = lease.groupby(["bailleur_id", "epci_siren"]).size()
    annual = objectif.groupby([objectif["bailleur_id"].astype(int), "epci_siren"])["valeur"].sum()
    assert set(cross.index) == set(counted.index) | set(annual.index)
    assert len(annual) > 50  # about 120 targets a year
    for key, n in counted.items():
        assert cross.loc[key, "relogements"] == n
        assert cross.loc[key, "relogements_prioritaires"] == prio[key]
    for key, target in annual.items():
        assert cross.loc[key, "objectif_annuel"] == target
        done = prio.get(key, 0)
        assert cross.loc[key, "taux_atteinte"] == pytest.approx(
            done / round(target * months / 12, 1), abs=1e-3
        )
    # one EPCI: its pairs only; a commune filter is refused (targets are set per EPCI)
    one = replica.objective_progress(
        "bailleur_epci", year=year, filters=Filters(epci=["243100633"])
    )
    assert set(one["epci"]) == {"243100633"}
    with pytest.raises(FilterError, match="par EPCI"):
        replica.objective_progress("bailleur", year=year, filters=Filters(communes=("31555",)))


@pytest.mark.parametrize("year", [2025, 2026])
def test_quartile_rules_match_independent_count(replica, raw_tables, year):
    """Loi Égalité et Citoyenneté (issue 17, item 3): per EPCI, the leases of the year outside
    QPV to first-quartile households and inside QPV to the others, resources per UC against
    the EPCI's threshold of the year, on DuckDB and PostgreSQL against pandas."""
    months = 12 if year == 2025 else 10
    lease = oracle.leases(raw_tables)
    end = pd.Timestamp(f"{year}-{months:02d}-01") + pd.offsets.MonthBegin()
    lease = lease[
        (lease["date_signature"] >= pd.Timestamp(f"{year}-01-01")) & (lease["date_signature"] < end)
    ]
    dem = raw_tables["demande"].set_index("id")
    seuil = raw_tables["seuil_q1"]
    seuil = seuil[seuil["annee"] == year].set_index("epci_siren")["montant"]
    income = lease["demande_id"].map(dem["revenu_mensuel"]).astype(float)
    units = lease["demande_id"].map(dem["unites_consommation"]).astype(float)
    threshold = lease["epci_siren"].map(seuil).astype(float)
    known = income.notna() & (units > 0) & threshold.notna()
    q1 = known & (income * 12 / units < threshold)
    outside = lease["qpv_code"].isna() | (lease["qpv_code"] == "")
    want = (
        pd.DataFrame(
            {
                "attributions_hors_qpv": outside,
                "q1_hors_qpv": outside & q1,
                "attributions_qpv": ~outside,
                "hors_q1_qpv": ~outside & known & ~q1,
                "ressources_inconnues": ~known,
            }
        )
        .groupby(lease["epci_siren"])
        .sum()
    )
    got = replica.quartile_rules(year=year).set_index("epci")
    assert sorted(got.index) == sorted(want.index)
    for column in want.columns:
        assert (got[column] == want[column].reindex(got.index)).all(), column
    assert got["q1_hors_qpv"].sum() > 100 and got["attributions_qpv"].sum() > 100
    share = want["q1_hors_qpv"] / want["attributions_hors_qpv"]
    assert got["part_q1_hors_qpv"].to_numpy() == pytest.approx(
        share.reindex(got.index).to_numpy(), nan_ok=True
    )
    assert (got["seuil_q1"] == seuil.reindex(got.index)).all()
    with pytest.raises(FilterError, match="par EPCI"):
        replica.quartile_rules(year=year, filters=Filters(communes=("31555",)))
