"""The synthetic replica is realistic (calibrated on domain.md §4), complete and deterministic."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data_access.demo import generate
from data_access.schema import TABLES
from relog.cli import main as relog
from tests.conftest import AS_OF

pytestmark = pytest.mark.slow


def _leases_by_year(raw):
    return raw["bail"].groupby(raw["bail"]["date_signature"].dt.year).size()


def test_demo_has_exactly_the_contract_tables_and_columns(raw_tables):
    assert set(raw_tables) == set(TABLES)
    for name, table in TABLES.items():
        assert list(raw_tables[name].columns) == [c.name for c in table.columns], name


def test_demo_uses_the_real_haute_garonne_communes_epci_and_bailleurs(raw_tables):
    assert len(raw_tables["commune"]) == 586 and len(raw_tables["epci"]) == 18
    assert raw_tables["commune"]["population"].sum() == 1_471_468
    assert len(raw_tables["bailleur"]) == 18 and len(raw_tables["qpv"]) == 19
    assert set(raw_tables["reservataire"]["nature"]) == {
        "etat_prioritaire",
        "etat_fonctionnaires",
        "action_logement",
        "departement",
        "epci",
        "commune",
        "bailleur",
        "autre",
    }


def test_about_nine_thousand_leases_a_year_since_2019(raw_tables):
    years = _leases_by_year(raw_tables)
    full = years.loc[2019 : AS_OF.year - 1].drop(2020)  # 2020: the lockdown
    assert full.between(8_000, 10_000).all(), full
    assert years.loc[2020] < full.min()  # the lockdown shows
    last_month = pd.Timestamp(AS_OF.year, AS_OF.month, 1)
    assert (raw_tables["bail"]["date_signature"] >= last_month).any()  # up to the current month


def test_leases_have_seasonality(raw_tables):
    signed = raw_tables["bail"]["date_signature"]
    normal = signed[(signed.dt.year >= 2021) & (signed.dt.year <= 2025)]
    by_month = normal.groupby(normal.dt.month).size()
    assert by_month.max() / by_month.min() > 1.15


def test_priority_share_of_leases_between_30_and_38_percent(raw_tables):
    raw = raw_tables
    cal = raw["decision_cal"][raw["decision_cal"]["decision"].str.startswith("attribution")]
    leases = raw["bail"].merge(cal[["proposition_id", "date_cal"]], on="proposition_id", how="left")
    held = leases[["id", "demande_id", "date_cal"]].merge(raw["priorite"], on="demande_id")
    held = held[
        (held["date_debut"] <= held["date_cal"])
        & (held["date_fin"].isna() | (held["date_fin"] >= held["date_cal"]))
    ]
    share = leases["id"].isin(held["id"]).mean()
    assert 0.30 <= share <= 0.38, share
    by_nature = (
        leases.assign(p=leases["id"].isin(held["id"]))
        .merge(raw["reservataire"], left_on="reservataire_id", right_on="id")
        .groupby("nature")["p"]
        .mean()
    )
    assert by_nature["etat_prioritaire"] > 0.8 > 0.35 > by_nature["action_logement"]


def test_active_stock_and_seniority_match_the_department(raw_tables):
    d = raw_tables["demande"]
    at = pd.Timestamp(AS_OF) - pd.Timedelta(days=1)
    active = d[(d["date_depot"] <= at) & (d["date_radiation"].isna() | (d["date_radiation"] > at))]
    assert 53_000 <= len(active) <= 63_000
    past_36 = (active["date_depot"] <= at - pd.DateOffset(months=36)).mean()
    assert 0.1 < past_36 < 0.4
    assert 0.2 < d["mutation"].mean() < 0.35


def test_toulouse_metropole_dominates_and_tension_differs_by_epci(raw_tables):
    raw = raw_tables
    stock = raw["logement"].merge(raw["commune"], left_on="commune_code", right_on="code_insee")
    share = stock.groupby("epci_siren").size() / len(stock)
    assert 0.68 < share["243100518"] < 0.76
    assert raw["logement"]["qpv_code"].notna().mean() > 0.05
    assert 90_000 <= len(raw["logement"]) <= 105_000


def test_each_demande_wishes_one_to_five_communes_and_carries_their_number(raw_tables):
    wishes = raw_tables["demande_commune"]
    counted = wishes.groupby("demande_id").size().rename("n")
    demande = raw_tables["demande"].set_index("id")
    assert counted.index.isin(demande.index).all()
    carried = demande["nb_communes_souhaitees"]
    assert (carried.reindex(counted.index) == counted).all()
    assert (carried[~carried.index.isin(counted.index)] == 0).all()
    assert carried.between(1, 5).mean() > 0.99
    ranks = wishes.groupby("demande_id")["rang"].agg(["min", "max"])
    assert (ranks["min"] == 1).all() and (ranks["max"] == counted).all()


def test_dalo_households_rehoused_within_and_beyond_six_months(raw_tables):
    raw = raw_tables
    dalo = raw["priorite"][raw["priorite"]["critere"] == "DALO"]
    rehoused = raw["bail"].merge(dalo, on="demande_id")
    delay = (rehoused["date_signature"] - rehoused["date_debut"]).dt.days
    assert (delay <= 183).any() and (delay > 183).any()


def test_propositions_include_refusals_and_every_cal_decision_kind(raw_tables):
    raw = raw_tables
    assert 0.15 < raw["proposition"]["reponse"].isin(["refusee", "sans_reponse"]).mean() < 0.4
    assert set(raw["decision_cal"]["decision"]) == {
        "attribution",
        "attribution_rang",
        "attribution_sous_condition",
        "non_attribution",
        "irrecevable",
        "ajournement",
    }
    assert raw["seuil_q1"]["montant"].between(7_000, 12_000).all()


def test_generation_is_deterministic_for_a_seed_and_date():
    a = generate("departement", seed=7, as_of=date(2024, 3, 1))
    b = generate("departement", seed=7, as_of=date(2024, 3, 1))
    c = generate("departement", seed=8, as_of=date(2024, 3, 1))
    for name in ("bail", "priorite", "demande_commune"):
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["bail"].equals(c["bail"])
    assert a["bail"]["date_signature"].max() < pd.Timestamp("2024-03-01")


def test_relog_demo_writes_the_duckdb_file(tmp_path, capsys):
    out = tmp_path / "demo.duckdb"
    assert (
        relog(["demo", "--scale", "departement", "--as-of", "2025-01-15", "--out", str(out)]) == 0
    )
    assert out.is_file() and "Écrite dans" in capsys.readouterr().out


def test_relog_reports_errors_in_french(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RELOG_DEMO_PATH", str(tmp_path / "absent.duckdb"))
    from relog import cli

    assert (
        cli.main(
            [
                "demo",
                "--from",
                str(tmp_path / "absent.duckdb"),
                "--out",
                "postgresql://x@127.0.0.1:9/y",
            ]
        )
        == 2
    )
    assert "Erreur" in capsys.readouterr().err


def test_an_older_demo_file_is_recognised_and_rebuilt_by_the_bench(demo_path, tmp_path):
    import duckdb

    from data_access.demo import demo_is_current

    assert demo_is_current(demo_path)
    old = tmp_path / "old.duckdb"
    with duckdb.connect(str(old)) as con:
        con.execute("CREATE TABLE replica_meta (cle VARCHAR, valeur VARCHAR)")
        con.execute(
            "INSERT INTO replica_meta VALUES ('version', 'demo-departement-s31-20261122-g1')"
        )
    assert not demo_is_current(old)
    assert not demo_is_current(tmp_path / "absent.duckdb")
