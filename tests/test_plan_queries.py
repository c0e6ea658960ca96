"""The plan page's questions (issue 17) against the pandas oracle, on DuckDB and PostgreSQL:
the waiting households per EPCI (DALO past the deadline, délai anormalement long with its
per-EPCI overrides), the DALO households by time since recognition, the month-end stock, the
month-by-month figures the forecasts draw on, and the forecasts themselves."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from data_access import FilterError, Filters, Replica
from data_access.forecast import backtest, forecast
from tests import oracle

pytestmark = pytest.mark.slow

AT = [date(2026, 10, 31), date(2025, 8, 31)]
TOULOUSE, SICOVAL = "243100518", "243100633"


def _counts(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.set_index(frame["epci"].fillna("∅"))
    return out


@pytest.mark.parametrize("at", AT)
@pytest.mark.parametrize(
    "filters", [Filters(), Filters(epci=(SICOVAL,), mutation=False)], ids=["tout", "sicoval"]
)
def test_backlog_by_epci_matches_independent_count(replica, raw_tables, at, filters):
    got = _counts(replica.backlog_by_epci(filters, at=at))
    want = oracle.backlog_by_epci(raw_tables, filters, at)
    want.index = want.index.fillna("∅")
    assert sorted(got.index) == sorted(want.index)
    for column in want.columns:
        assert (got[column] == want[column].reindex(got.index)).all(), column
    assert (got["delai_anormal_mois"] == 36).all()
    share = got["demandes_delai_anormal"] / got["demandes_actives"]
    assert got["part_delai_anormal"].to_numpy() == pytest.approx(share.to_numpy())
    # the rows add up to the seniority bands' total
    bands = replica.priority_backlog(filters, at=at)
    assert got["demandes_actives"].sum() == bands["demandes_actives"].sum()
    assert got["dalo_delai_depasse"].sum() == bands["dalo_delai_depasse"].sum()
    assert got["dalo_delai_depasse"].sum() > (0 if filters.epci else 300)


def test_abnormal_delay_follows_each_epci_override(duckdb_replica, raw_tables):
    """The délai anormalement long is the department's, except where an EPCI's arrêté says
    otherwise (``RELOG_ABNORMAL_DELAY_EPCI``)."""
    settings = replace(duckdb_replica.settings, abnormal_delay_epci=((TOULOUSE, 24),))
    replica = Replica(url=duckdb_replica.url, settings=settings, cache=False)
    try:
        got = _counts(replica.backlog_by_epci(Filters(), at=AT[0]))
    finally:
        replica.dispose()
    want = oracle.backlog_by_epci(raw_tables, Filters(), AT[0], {TOULOUSE: 24})
    assert got.loc[TOULOUSE, "delai_anormal_mois"] == 24
    assert got.loc[SICOVAL, "delai_anormal_mois"] == 36
    assert (got["demandes_delai_anormal"] == want["demandes_delai_anormal"]).all()
    default = _counts(duckdb_replica.backlog_by_epci(Filters(), at=AT[0]))
    assert (
        got.loc[TOULOUSE, "demandes_delai_anormal"]
        > default.loc[TOULOUSE, "demandes_delai_anormal"]
    )
    assert (
        got.loc[SICOVAL, "demandes_delai_anormal"] == default.loc[SICOVAL, "demandes_delai_anormal"]
    )


def test_abnormal_delay_setting_is_checked_in_french(monkeypatch):
    from data_access.settings import load_settings

    monkeypatch.setenv("RELOG_ABNORMAL_DELAY_EPCI", "243100518:36, toulouse:24")
    with pytest.raises(ValueError, match="SIREN:mois"):
        load_settings()
    monkeypatch.setenv("RELOG_ABNORMAL_DELAY_EPCI", "243100518:30,243100633:48")
    assert dict(load_settings().abnormal_delay_epci) == {TOULOUSE: 30, SICOVAL: 48}


@pytest.mark.parametrize("at", AT)
def test_dalo_overdue_by_time_since_recognition_matches_independent_count(replica, raw_tables, at):
    got = replica.dalo_overdue(Filters(), at=at)
    want = oracle.dalo_overdue(raw_tables, Filters(), at)
    assert list(got["anciennete_dalo"]) == ["6 à 12 mois", "12 à 24 mois", "24 mois et plus"]
    assert list(got["dalo_delai_depasse"]) == list(want)
    total = replica.priority_backlog(Filters(), at=at)["dalo_delai_depasse"].sum()
    assert got["dalo_delai_depasse"].sum() == total


def test_backlog_trend_is_the_month_end_stock(duckdb_replica, raw_tables):
    filters = Filters(start="2026-01", end="2026-11")
    trend = duckdb_replica.backlog_trend(filters)
    assert list(trend["mois"].dt.month) == list(range(1, 12))
    # every month end, the last one clamped to the data's last day
    assert trend["au"].iloc[0] == date(2026, 1, 31)
    assert trend["au"].iloc[-1] == duckdb_replica.reference_date()
    for i in (1, 9):  # February (28 days) and October, against the oracle
        want = oracle.backlog_by_epci(raw_tables, filters, trend["au"].iloc[i]).sum()
        for column in ("demandes_actives", "dalo_delai_depasse", "demandes_delai_anormal"):
            assert trend[column].iloc[i] == want[column], column


@pytest.mark.parametrize("year", [2025, 2026])
def test_objective_months_match_independent_count(replica, raw_tables, year):
    """What the forecasts draw on: month by month since January of the year before."""
    end = "2025-12" if year == 2025 else "2026-10"
    lease = oracle.lease_months(raw_tables, f"{year - 1}-01", end)
    got = replica.objective_months("reservataire", year=year)
    assert got["mois"].min() == pd.Timestamp(f"{year - 1}-01-01")
    want = lease.groupby(["mois", "reservataire_id"]).agg(
        relogements=("prio", "size"), relogements_prioritaires=("prio", "sum")
    )
    got = got.set_index(["mois", "reservataire"])
    assert sorted(got.index) == sorted(want.index)
    assert (got["relogements_prioritaires"] == want["relogements_prioritaires"]).all()

    cross = replica.objective_months("bailleur_epci", year=year).set_index(
        ["mois", "bailleur", "epci"]
    )
    want = lease.groupby(["mois", "bailleur_id", "epci_siren"])["prio"].agg(["size", "sum"])
    assert sorted(cross.index) == sorted(want.index)
    assert (cross["relogements"] == want["size"]).all()
    assert (cross["relogements_prioritaires"] == want["sum"]).all()

    q = replica.objective_months("quartile", year=year).set_index(["mois", "epci"])
    known = lease["q1_known"]
    flags = pd.DataFrame(
        {
            "attributions_hors_qpv": lease["outside"],
            "q1_hors_qpv": lease["outside"] & lease["q1"],
            "attributions_qpv": ~lease["outside"],
            "hors_q1_qpv": ~lease["outside"] & known & ~lease["q1"],
            "ressources_inconnues": ~known,
        }
    )
    want = flags.groupby([lease["mois"], lease["epci_siren"]]).sum()
    assert sorted(q.index) == sorted(want.index)
    for column in want.columns:
        assert (q[column] == want[column]).all(), column
    # the year's months add up to the year's quartile rules
    rules = replica.quartile_rules(year=year).set_index("epci")
    this_year = q[q.index.get_level_values("mois").year == year].groupby("epci").sum()
    assert (this_year["q1_hors_qpv"] == rules["q1_hors_qpv"].reindex(this_year.index)).all()


def test_objective_months_refuse_a_commune_filter_and_an_unknown_breakdown(duckdb_replica):
    with pytest.raises(FilterError, match="par EPCI"):
        duckdb_replica.objective_months("bailleur", filters=Filters(communes=("31555",)))
    with pytest.raises(FilterError, match="Prévision par"):
        duckdb_replica.objective_forecast("commune")
    with pytest.raises(FilterError, match="Année hors des données"):
        duckdb_replica.objective_forecast("epci", year=2040)


# ------------------------------------------------------------------ the forecast's arithmetic
def _months(values: dict[str, list[float]], start="2025-01") -> pd.DataFrame:
    rows = []
    for member, series in values.items():
        for i, (num, den) in enumerate(series):
            rows.append(
                {"mois": pd.Timestamp(start) + pd.DateOffset(months=i), "m": member,
                 "num": num, "den": den}
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_a_steady_pace_forecasts_exactly_and_the_needed_pace_closes_the_gap():
    """Every month alike: no spread; the forecast is the year to date plus the same months;
    the needed pace brings the count (or the share) exactly to its target."""
    monthly = _months({"a": [(10, 40)] * 22})  # Jan 2025 … Oct 2026
    through = pd.Timestamp("2026-10-01")
    f = forecast(monthly, "m", through, "num", target=pd.Series({"a": 130.0}))
    assert f.months_left == 2
    assert f.central[0] == f.low[0] == f.high[0] == 120  # 10 × 10 + 2 × 10
    assert f.needed[0] == pytest.approx(15)  # (130 − 100) ÷ 2
    s = forecast(monthly, "m", through, "num", "den", 0.3)
    assert s.central[0] == s.low[0] == s.high[0] == pytest.approx(0.25)
    # 0.3 × (400 + 2 × 40) = 144 priority households; 100 so far: 22 a month
    assert s.needed[0] == pytest.approx(22)


def test_december_forecasts_the_year_as_it_is_and_needs_nothing_more():
    monthly = _months({"a": [(i % 3, 5) for i in range(24)]})
    f = forecast(monthly, "m", pd.Timestamp("2026-12-01"), "num", "den", 0.25)
    done = sum(i % 3 for i in range(12, 24)) / 60
    assert f.months_left == 0 and np.isnan(f.needed[0])
    assert f.central[0] == f.low[0] == f.high[0] == pytest.approx(done)


def test_the_interval_widens_with_the_months_left_and_holds_the_central_forecast():
    rng = np.random.default_rng(3)
    monthly = _months({"a": [(int(x), 30) for x in rng.poisson(8, 24)]})
    widths = []
    for month in ("2026-02-01", "2026-06-01", "2026-11-01"):
        f = forecast(monthly, "m", pd.Timestamp(month), "num")
        assert f.low[0] <= f.central[0] <= f.high[0]
        widths.append(f.high[0] - f.low[0])
    assert widths[0] > widths[1] > widths[2] > 0


def test_backtest_counts_how_often_the_year_fell_in_the_interval():
    """A member whose months are all alike is always inside its (point) interval; one that
    doubles its pace in the second half is outside early in the year."""
    steady = [(5, 20)] * 36
    jump = [(5, 20)] * 30 + [(20, 20)] * 6  # from July 2026
    out = backtest(_months({"s": steady, "j": jump}, "2024-01"), "m", [2026], "num")
    assert len(out) == 2 * 11
    assert out[out["m"] == "s"]["dans_intervalle"].all()
    early = out[(out["m"] == "j") & (out["mois"] < pd.Timestamp("2026-07-01"))]
    assert not early["dans_intervalle"].any()
    assert (out.loc[out["m"] == "j", "reel"] == 30 + 120).all()


@pytest.mark.parametrize("by", ["reservataire", "bailleur_epci", "quartile"])
def test_objective_forecast_is_built_on_the_year_to_date(replica, by):
    """The forecast's « réalisé » is the plan's own year-to-date figure; the interval holds
    the central forecast; the needed pace closes the gap at the year's end."""
    out = replica.objective_forecast(by, year=2026)
    assert (out["mois_restants"] == 2).all()  # the fixture's last complete month: October
    if by == "quartile":
        rules = replica.quartile_rules(year=2026).set_index("epci")
        q1 = out[out["regle"] == "q1_hors_qpv"].set_index("epci")
        assert q1["part_realisee"].equals(rules["part_q1_hors_qpv"].reindex(q1.index))
        assert set(out["objectif_part"]) == {0.25, 0.5}
        central, low, high = "prevision_part", "prevision_part_basse", "prevision_part_haute"
    elif by == "reservataire":
        progress = replica.objective_progress(by, year=2026)
        assert list(out["part_realisee"].fillna(-1)) == list(
            progress["part_prioritaires"].fillna(-1)
        )
        central, low, high = "prevision_part", "prevision_part_basse", "prevision_part_haute"
    else:
        progress = replica.objective_progress(by, year=2026)
        assert list(out["relogements_prioritaires"]) == list(progress["relogements_prioritaires"])
        central, low, high = "prevision", "prevision_basse", "prevision_haute"
        targeted = out.dropna(subset=["objectif_annuel"])
        closed = targeted["relogements_prioritaires"] + 2 * targeted["rythme_necessaire"]
        reached = targeted["relogements_prioritaires"] >= targeted["objectif_annuel"]
        assert closed[~reached].to_numpy() == pytest.approx(
            targeted.loc[~reached, "objectif_annuel"].to_numpy()
        )
    ok = out.dropna(subset=[central])
    assert (
        len(ok) and (ok[low] <= ok[central] + 1e-9).all() and (ok[central] <= ok[high] + 1e-9).all()
    )


@pytest.mark.parametrize(("by", "key", "numerator", "denominator"), [
    ("reservataire", "reservataire", "relogements_prioritaires", "relogements"),
    ("epci", "epci", "relogements_prioritaires", None),
])  # fmt: skip
def test_the_80_percent_interval_held_about_8_times_in_10_on_past_years(
    duckdb_replica, by, key, numerator, denominator
):
    """Replayed at the end of each month of the demo's complete years, the year's actual
    figure falls in the 80 % interval about 8 times in 10 (the bootstrap's own 10th–90th
    percentiles held about 7 in 10: the calibrated width is what makes it an 80 % interval)."""
    coverage = duckdb_replica.coverage()
    years = list(range(coverage.start.year + 1, coverage.end.year))
    monthly = pd.concat(
        [duckdb_replica.objective_months(by, year=y) for y in years]
    ).drop_duplicates()
    cases = backtest(monthly, key, years, numerator, denominator, minimum=20)
    assert len(cases) > 500
    assert 0.74 <= cases["dans_intervalle"].mean() <= 0.88
