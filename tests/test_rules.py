"""Domain rules on tiny, explicit replicas: each test builds the few rows it talks about."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import FilterError, Filters, Replica, ReplicaUnavailable, Scope
from data_access.demo import write_duckdb
from data_access.schema import TABLES
from data_access.settings import load_settings

EPCI_A, EPCI_B = "200000001", "200000002"


def _d(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def tiny_replica(tmp_path, scope=None, **rows) -> Replica:
    """A replica with two EPCI, two communes, one bailleur, two réservataires, plus ``rows``."""
    base = {
        "epci": [
            dict(siren=EPCI_A, nom="CA Alpha", nature="CA"),
            dict(siren=EPCI_B, nom="CC Beta", nature="CC"),
        ],
        "commune": [
            dict(code_insee="99001", nom="Alpha-Ville", epci_siren=EPCI_A, population=1000),
            dict(code_insee="99002", nom="Beta-Bourg", epci_siren=EPCI_B, population=500),
        ],
        "bailleur": [dict(id=1, nom="Office Test", siren=None, nature="OPH")],
        "reservataire": [
            dict(id=1, nom="Préfet", nature="etat_prioritaire", territoire_code="99"),
            dict(id=2, nom="Action Logement", nature="action_logement", territoire_code=None),
        ],
        "logement": [
            dict(
                id=1,
                rpls_id="R1",
                bailleur_id=1,
                commune_code="99001",
                qpv_code=None,
                typologie="T2",
                financement="PLUS",
                date_mise_en_service=_d("2000-01-01"),
            ),
            dict(
                id=2,
                rpls_id="R2",
                bailleur_id=1,
                commune_code="99002",
                qpv_code="QP1",
                typologie="T3",
                financement="PLAI",
                date_mise_en_service=_d("2000-01-01"),
            ),
        ],
        "replica_meta": [
            dict(cle="extraction", valeur="2024-12-01T05:00:00+00:00"),
            dict(cle="version", valeur="tiny"),
        ],
    }
    base.update(rows)
    # each demande carries its number of wished communes (contract), unless a test sets it
    n_wishes = pd.Series(
        [w["demande_id"] for w in base.get("demande_commune", [])], dtype="int64"
    ).value_counts()
    base["demande"] = [
        {"nb_communes_souhaitees": int(n_wishes.get(d["id"], 0)), **d}
        for d in base.get("demande", [])
    ]
    frames = {}
    for name, table in TABLES.items():
        cols = [c.name for c in table.columns]
        frames[name] = pd.DataFrame(base.get(name, []), columns=cols)
    path = write_duckdb(frames, tmp_path / "tiny.duckdb")
    return Replica(
        url=f"duckdb:///{path}",
        scope=scope,
        settings=replace(load_settings(), demo_path=path),
        cache=False,
    )


def lease(i, demande_id, signature, cal, logement_id=1, reservataire_id=1):
    """A lease with its proposition and its positive CAL decision."""
    return (
        dict(
            id=i,
            demande_id=demande_id,
            offre_id=i,
            reservataire_id=reservataire_id,
            date_proposition=_d(cal) - pd.Timedelta(days=20),
            reponse="acceptee",
            date_reponse=_d(cal) - pd.Timedelta(days=10),
            motif_refus=None,
        ),
        dict(
            id=i, proposition_id=i, date_cal=_d(cal), decision="attribution", rang=None, motif=None
        ),
        dict(
            id=i,
            demande_id=demande_id,
            logement_id=logement_id,
            reservataire_id=reservataire_id,
            proposition_id=i,
            date_signature=_d(signature),
            date_entree_lieux=_d(signature),
        ),
    )


def demande(i, depot="2022-01-01", radiation=None, mutation=False):
    return dict(
        id=i,
        numero_unique=f"N{i}",
        date_depot=_d(depot),
        date_renouvellement=None,
        date_radiation=_d(radiation) if radiation else None,
        motif_radiation="attribution" if radiation else None,
        mutation=mutation,
        nb_personnes=1,
        typologie_recherchee="T2",
        revenu_mensuel=900.0,
        unites_consommation=1.0,
        commune_residence_code="99001",
    )


def with_leases(tmp_path, leases, priorites=(), demandes=None, wishes=(), scope=None):
    props, cals, baux = zip(*leases) if leases else ((), (), ())
    ids = sorted({b["demande_id"] for b in baux})
    return tiny_replica(
        tmp_path,
        scope=scope,
        proposition=list(props),
        decision_cal=list(cals),
        bail=list(baux),
        priorite=list(priorites),
        demande=demandes or [demande(i) for i in ids],
        demande_commune=list(wishes),
    )


def prio(demande_id, critere, debut, fin=None):
    return dict(
        demande_id=demande_id,
        critere=critere,
        source="COMED",
        date_debut=_d(debut),
        date_fin=_d(fin) if fin else None,
    )


def test_rehousing_counts_lease_signature_month(tmp_path):
    replica = with_leases(
        tmp_path, [lease(1, 1, "2024-01-31", "2024-01-10"), lease(2, 2, "2024-02-01", "2024-01-10")]
    )
    out = replica.monthly_rehousing(Filters(start="2024-01", end="2024-03"))
    assert out["relogements"].tolist() == [1, 1, 0]
    assert out["mois"].tolist() == [_d("2024-01-01"), _d("2024-02-01"), _d("2024-03-01")]


def test_priority_is_read_on_cal_date_not_on_signature(tmp_path):
    replica = with_leases(
        tmp_path,
        [
            lease(1, 1, "2024-03-15", "2024-02-10"),  # held on CAL date → prioritaire
            lease(2, 2, "2024-03-15", "2024-02-10"),  # ended the day before CAL → not
            lease(3, 3, "2024-03-15", "2024-02-10"),  # starts after CAL, before signature → not
            lease(4, 4, "2024-03-15", "2024-02-10"),
        ],  # ends on the CAL date itself → prioritaire
        priorites=[
            prio(1, "ACD", "2023-06-01"),
            prio(2, "DALO", "2023-01-01", "2024-02-09"),
            prio(3, "DALO", "2024-02-11"),
            prio(4, "j_SANS_LOGEMENT", "2023-01-01", "2024-02-10"),
        ],
    )
    out = replica.monthly_rehousing(Filters(start="2024-03", end="2024-03"))
    assert out.loc[0, ["relogements", "relogements_prioritaires"]].tolist() == [4, 2]
    by_crit = replica.monthly_rehousing(Filters(start="2024-03", end="2024-03"), by="critere")
    assert dict(zip(by_crit["critere"], by_crit["relogements"])) == {
        "ACD": 1,
        "AUCUN": 2,
        "j_SANS_LOGEMENT": 1,
    }
    only_dalo = replica.monthly_rehousing(
        Filters(start="2024-03", end="2024-03", criteres=["DALO"])
    )
    assert only_dalo["relogements"].tolist() == [0]


def test_main_criterion_follows_dalo_then_acd_then_l441(tmp_path):
    replica = with_leases(
        tmp_path,
        [lease(1, 1, "2024-03-15", "2024-02-10"), lease(2, 2, "2024-03-15", "2024-02-10")],
        priorites=[
            prio(1, "f_VIOLENCES", "2023-01-01"),
            prio(1, "DALO", "2023-06-01"),
            prio(1, "ACD", "2023-01-01"),
            prio(2, "b_MAL_LOGE_DEFAVORISE", "2023-01-01"),
            prio(2, "ACD", "2023-01-01"),
        ],
    )
    out = replica.monthly_rehousing(Filters(start="2024-03", end="2024-03"), by="critere")
    assert sorted(out["critere"]) == ["ACD", "DALO"]
    assert out["libelle"].str.len().gt(0).all()


def test_monthly_series_has_every_month_with_zeros(tmp_path):
    replica = with_leases(tmp_path, [lease(1, 1, "2024-05-02", "2024-04-10")])
    out = replica.monthly_rehousing(Filters(start="2024-01", end="2024-12"), by="epci")
    assert len(out) == 12 and out["relogements"].sum() == 1
    assert set(out["epci"]) == {EPCI_A} and (out["libelle"] == "CA Alpha").all()


def test_scope_epci_user_never_sees_other_epci(tmp_path):
    replica = with_leases(
        tmp_path,
        [
            lease(1, 1, "2024-05-02", "2024-04-10", logement_id=1),
            lease(2, 2, "2024-05-02", "2024-04-10", logement_id=2),
        ],
    )
    scope_b = Scope(epci=(EPCI_B,), label="CC Beta")
    out = replica.monthly_rehousing(
        Filters(start="2024-05", end="2024-05"), by="commune", scope=scope_b
    )
    assert out["commune"].tolist() == ["99002"]
    with pytest.raises(FilterError, match="hors de votre périmètre"):
        replica.monthly_rehousing(
            Filters(start="2024-05", end="2024-05", epci=[EPCI_A]), scope=scope_b
        )
    nothing = Scope(epci=(), label="aucun territoire")
    assert (
        replica.monthly_rehousing(Filters(start="2024-05", end="2024-05"), scope=nothing)[
            "relogements"
        ].sum()
        == 0
    )


def test_unknown_codes_raise_a_french_error_not_an_empty_result(tmp_path):
    replica = with_leases(tmp_path, [lease(1, 1, "2024-05-02", "2024-04-10")])
    with pytest.raises(FilterError, match="EPCI inconnu dans la réplique : 243100518"):
        replica.monthly_rehousing(Filters(epci=["243100518"]))
    with pytest.raises(FilterError, match="Commune inconnu"):
        replica.demand_supply(Filters(communes=["31555"]))
    with pytest.raises(FilterError, match="Ventilation inconnue"):
        replica.monthly_rehousing(Filters(), by="quartier")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(start="2024-13"), "Mois de début invalide"),
        (dict(start="janvier"), "format attendu : AAAA-MM"),
        (dict(start="2024-05", end="2024-01"), "période est vide"),
        (dict(epci=["12"]), "Code EPCI"),
        (dict(communes=["3155"]), "Code commune"),
        (dict(criteres=["XYZ"]), "Critère de priorité inconnu"),
        (dict(natures_reservataire=["mairie"]), "Nature de réservataire inconnue"),
        (dict(reservataires=["abc"]), "Réservataire invalide"),
        (dict(qpv="peut-être"), "Filtre QPV invalide"),
    ],
)
def test_malformed_filters_are_refused_in_french(kwargs, message):
    with pytest.raises(FilterError, match=message):
        Filters(**kwargs)


def test_default_period_is_twelve_last_complete_months(tmp_path):
    replica = with_leases(tmp_path, [lease(1, 1, "2024-05-02", "2024-04-10")])
    # extraction on 2024-12-01: data covers up to 30 November, a complete month
    period = replica.default_period()
    assert (period.start, period.end) == (date(2023, 12, 1), date(2024, 11, 1))


def test_demand_supply_weights_wishes_and_counts_active_demandes_on_date(tmp_path):
    replica = with_leases(
        tmp_path,
        [lease(1, 1, "2024-03-15", "2024-02-10", logement_id=1)],
        demandes=[
            demande(1, "2022-01-01", radiation="2024-03-16"),
            demande(2, "2023-01-01"),
            demande(3, "2024-06-01"),
            demande(4, "2020-01-01", radiation="2023-01-01"),
        ],
        wishes=[
            dict(demande_id=1, rang=1, commune_code="99001"),
            dict(demande_id=2, rang=1, commune_code="99001"),
            dict(demande_id=2, rang=2, commune_code="99002"),
            dict(demande_id=3, rang=1, commune_code="99002"),
            dict(demande_id=4, rang=1, commune_code="99002"),
        ],
        priorites=[prio(2, "ACD", "2023-06-01")],
    )
    out = replica.demand_supply(Filters(), level="commune", at="2024-03-31").set_index("commune")
    # on 31 March 2024: demande 1 radiated (rehoused), 3 not filed yet, 4 radiated: only 2 is active
    assert out.loc["99001", "demandes_actives"] == 1 and out.loc["99002", "demandes_actives"] == 0
    assert (
        out.loc["99001", "demandes_actives_ponderees"]
        == 0.5
        == out.loc["99002", "demandes_actives_ponderees"]
    )
    assert out.loc["99001", "demandes_prioritaires_actives"] == 1
    assert out.loc["99001", "baux_12m"] == 1 and out.loc["99001", "tension"] == 1.0
    assert pd.isna(out.loc["99002", "tension"])
    assert out.loc["99002", "logements"] == 1


def test_backlog_flags_dalo_past_six_months_and_abnormal_delay(tmp_path):
    replica = tiny_replica(
        tmp_path,
        demande=[demande(1, "2020-01-01"), demande(2, "2024-01-01"), demande(3, "2024-05-01")],
        demande_commune=[dict(demande_id=i, rang=1, commune_code="99001") for i in (1, 2, 3)],
        priorite=[
            prio(1, "DALO", "2023-01-01"),
            prio(2, "DALO", "2024-05-01"),
            prio(3, "ACD", "2024-06-01"),
        ],
    )
    out = replica.priority_backlog(Filters(), at="2024-10-31").set_index("tranche_anciennete")
    assert out.loc["36 mois et plus", "demandes_actives"] == 1
    assert out.loc["36 mois et plus", "au_dela_delai_anormal"]
    assert out["demandes_dalo"].sum() == 2
    # DALO recognised 2023-01-01 is past 6 months on 2024-10-31; the one of 2024-05-01 is not
    assert out["dalo_delai_depasse"].sum() == 1
    assert out["demandes_prioritaires"].sum() == 3


def test_backlog_territory_is_the_first_wish_and_only_a_territory_narrows_it(tmp_path):
    # 1 wishes Alpha first, 2 wishes Beta first (Alpha second), 3 has no wish recorded
    replica = tiny_replica(
        tmp_path,
        demande=[demande(1, "2024-01-01"), demande(2, "2024-01-01"), demande(3, "2024-01-01")],
        demande_commune=[
            dict(demande_id=1, rang=1, commune_code="99001"),
            dict(demande_id=2, rang=1, commune_code="99002"),
            dict(demande_id=2, rang=2, commune_code="99001"),
        ],
    )

    def total(**kw):
        return int(
            replica.priority_backlog(Filters(**kw), at="2024-10-31")["demandes_actives"].sum()
        )

    assert total() == 3  # the whole replica: every active demande
    assert total(communes=["99001"]) == 1  # first wish only: 2's second wish does not count
    assert total(epci=[EPCI_B]) == 1
    scoped = replica.priority_backlog(Filters(), at="2024-10-31", scope=Scope(epci=[EPCI_A]))
    assert int(scoped["demandes_actives"].sum()) == 1


def test_a_failed_statement_in_a_hand_opened_transaction_does_not_poison_the_pool(tmp_path):
    # DuckDB connections skip BEGIN/ROLLBACK; one that saw an error is still rolled back
    replica = tiny_replica(tmp_path)
    with replica.engine.connect() as conn:
        conn.exec_driver_sql("BEGIN")
        with pytest.raises(sa.exc.DBAPIError):
            conn.exec_driver_sql("SELECT * FROM pas_de_table")
    for _ in range(3):  # the pool hands the same connection back
        assert (
            replica.monthly_rehousing(Filters(start="2024-01", end="2024-02"))["relogements"].sum()
            == 0
        )


def test_duckdb_replica_refuses_writes(tmp_path):
    replica = tiny_replica(tmp_path)
    with pytest.raises(sa.exc.DBAPIError), replica.engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE intrus (x INTEGER)")


def test_missing_demo_file_gives_a_french_message(tmp_path):
    settings = replace(load_settings(), demo_path=tmp_path / "absent.duckdb")
    with pytest.raises(ReplicaUnavailable, match="réplique de démonstration est introuvable"):
        Replica(settings=settings)


def test_freshness_reads_extraction_time(tmp_path):
    replica = tiny_replica(tmp_path)
    fresh = replica.freshness()
    assert fresh.extraction == datetime(2024, 12, 1, 5, 0, tzinfo=UTC)
    assert fresh.replay is None
    assert str(fresh) == "Données extraites le 01/12/2024 à 06:00"


def test_freshness_on_a_file_without_its_metadata_is_a_french_error_each_time(tmp_path):
    import duckdb

    path = tmp_path / "sans-meta.duckdb"
    duckdb.connect(str(path)).close()
    replica = Replica(url=f"duckdb:///{path}", cache=False)
    for _ in range(2):
        with pytest.raises(ReplicaUnavailable, match="vue manquante"):
            replica.freshness()


def test_freshness_is_the_older_of_extraction_and_replay():
    from data_access.replica import Freshness

    extracted = datetime(2026, 11, 15, 5, 0, tzinfo=UTC)
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    # an extraction loaded into a primary: the standby's recent replay holds nothing newer
    loaded = Freshness(extraction=extracted, replay=now, read_at=now, version="v")
    assert loaded.as_of == extracted and str(loaded) == "Données extraites le 15/11/2026 à 06:00"
    # a lagging standby of a live file whose replica_meta view tells the current time:
    # its last replay is what it reflects
    lagging = Freshness(extraction=now, replay=extracted, read_at=now, version="v")
    assert lagging.as_of == extracted and str(lagging).startswith(
        "Données répliquées le 15/11/2026"
    )
    assert Freshness(extraction=None, replay=extracted, read_at=now, version="v").as_of == extracted


def test_results_are_cached_per_data_version(tmp_path):
    replica = tiny_replica(tmp_path)
    replica.cache_enabled = True
    first = replica.monthly_rehousing(Filters(start="2024-01", end="2024-02"))
    hits = replica._cache.hits
    second = replica.monthly_rehousing(Filters(start="2024-01", end="2024-02"))
    assert replica._cache.hits == hits + 1
    pd.testing.assert_frame_equal(first, second)
    second.loc[0, "relogements"] = 99  # callers get copies: the cache cannot be altered
    assert (
        replica.monthly_rehousing(Filters(start="2024-01", end="2024-02")).loc[0, "relogements"]
        == 0
    )


def test_a_call_cannot_widen_the_profile_scope(tmp_path):
    replica = with_leases(
        tmp_path,
        [
            lease(1, 1, "2024-05-02", "2024-04-10", logement_id=1),
            lease(2, 2, "2024-05-02", "2024-04-10", logement_id=2),
        ],
        scope=Scope(epci=(EPCI_B,), label="CC Beta"),
    )
    with pytest.raises(AttributeError):  # the profile's scope is fixed once bound
        replica.default_scope = Scope()
    with pytest.raises(AttributeError):
        replica.scope = Scope()
    wide = replica.monthly_rehousing(
        Filters(start="2024-05", end="2024-05"), scope=Scope.departement()
    )
    assert wide["relogements"].sum() == 1
    other = replica.monthly_rehousing(
        Filters(start="2024-05", end="2024-05"), scope=Scope(epci=(EPCI_A,))
    )
    assert other["relogements"].sum() == 0
    assert Scope(epci="243100518").epci == ("243100518",)


def test_breakdown_keeps_missing_codes_apart(tmp_path):
    logements = [
        dict(
            id=i,
            rpls_id=f"R{i}",
            bailleur_id=b,
            commune_code="99001",
            qpv_code=None,
            typologie="T2",
            financement="PLUS",
            date_mise_en_service=_d("2000-01-01"),
        )
        for i, b in ((1, 1), (2, None))
    ]
    replica = tiny_replica(
        tmp_path,
        logement=logements,
        demande=[demande(1), demande(2)],
        **dict(
            zip(
                ("proposition", "decision_cal", "bail"),
                map(
                    list,
                    zip(
                        lease(1, 1, "2024-01-10", "2023-12-20", logement_id=2),
                        lease(2, 2, "2024-02-10", "2024-01-20", logement_id=1),
                    ),
                ),
            )
        ),
    )
    out = replica.monthly_rehousing(Filters(start="2024-01", end="2024-02"), by="bailleur")
    cells = {(m.month, b): n for m, b, n in zip(out["mois"], out["bailleur"], out["relogements"])}
    assert cells == {(1, 1): 0, (1, "INCONNU"): 1, (2, 1): 1, (2, "INCONNU"): 0}
    assert set(out["libelle"]) == {"Office Test", "Non renseigné"}


def test_a_proposition_examined_twice_counts_its_lease_once(tmp_path):
    prop, cal, bail_row = lease(1, 1, "2024-03-15", "2024-02-10")
    second = dict(cal, id=2, date_cal=_d("2024-02-20"), decision="attribution_sous_condition")
    replica = tiny_replica(
        tmp_path,
        proposition=[prop],
        decision_cal=[cal, second],
        bail=[bail_row],
        demande=[demande(1)],
        priorite=[prio(1, "ACD", "2024-02-15")],
    )
    out = replica.monthly_rehousing(
        Filters(start="2024-03", end="2024-03", criteres=["ACD", "DALO"])
    )
    # one lease; its CAL date is the earliest positive decision (10/02), before the label (15/02)
    assert out["relogements"].tolist() == [0]
    assert replica.monthly_rehousing(Filters(start="2024-03", end="2024-03"))[
        "relogements"
    ].tolist() == [1]


def test_unknown_criterion_codes_never_make_a_household_prioritaire(tmp_path):
    replica = with_leases(
        tmp_path,
        [lease(1, 1, "2024-03-15", "2024-02-10")],
        priorites=[prio(1, "dalo", "2023-01-01"), prio(1, "LOCAL_XYZ", "2023-01-01")],
    )
    f = Filters(start="2024-03", end="2024-03")
    assert replica.monthly_rehousing(f)["relogements_prioritaires"].tolist() == [0]
    assert replica.monthly_rehousing(f, by="critere")["critere"].tolist() == ["AUCUN"]


def test_observation_date_after_the_data_is_refused(tmp_path):
    replica = tiny_replica(tmp_path)
    with pytest.raises(FilterError, match="postérieure aux données de la réplique"):
        replica.demand_supply(Filters(), at="2030-01-01")


def test_backlog_lists_the_filters_it_cannot_apply(tmp_path):
    replica = tiny_replica(
        tmp_path,
        demande=[demande(1)],
        demande_commune=[dict(demande_id=1, rang=1, commune_code="99001")],
    )
    out = replica.priority_backlog(Filters(bailleurs=[1], qpv=True, epci=[EPCI_A]), at="2024-10-31")
    assert out.attrs["filtres_non_appliques"] == ["Bailleurs", "Logements"]
    assert out["demandes_actives"].sum() == 1


def test_breakdown_keeps_a_member_missing_from_the_reference(tmp_path):
    """A lease of a réservataire the reference does not know still counts, in its row and
    in the total: the summary never drops rows for want of a name."""
    replica = with_leases(
        tmp_path,
        [
            lease(1, 1, "2024-03-05", "2024-03-01", reservataire_id=1),
            lease(2, 2, "2024-03-06", "2024-03-01", reservataire_id=7),
        ],
    )
    summary = replica.rehousing_summary(Filters(start="2024-03", end="2024-03"), by="reservataire")
    assert summary.set_index("reservataire")["libelle"].to_dict() == {
        1: "Préfet",
        7: "7 (sans libellé)",
    }
    assert summary["relogements"].sum() == 2


def test_coverage_leaves_out_a_first_month_the_data_start_in(tmp_path):
    replica = with_leases(
        tmp_path, [lease(1, 1, "2023-05-10", "2023-05-01"), lease(2, 2, "2024-03-06", "2024-03-01")]
    )
    assert replica.coverage().start == date(2023, 6, 1)
    replica = with_leases(tmp_path / "b", [lease(1, 1, "2023-05-01", "2023-04-20")])
    assert replica.coverage().start == date(2023, 5, 1)


def test_a_month_outside_the_period_is_refused_not_dropped():
    from data_access.filters import Period
    from data_access.queries.base import month_positions

    period = Period(date(2024, 1, 1), date(2024, 3, 1))
    inside = pd.Series(pd.to_datetime(["2024-01-01", "2024-03-01"]))
    assert list(month_positions(inside, period)) == [0, 2]
    with pytest.raises(ValueError, match="hors de la période"):
        month_positions(pd.Series(pd.to_datetime(["2024-04-01"])), period)


def test_postgresql_columns_become_numpy_integers_and_dates_directly_the_rest_as_pandas_types_them():  # noqa: E501
    from datetime import date, datetime

    import numpy as np

    from data_access.execution import _array

    assert _array([3, 1]).dtype == np.int64 and list(_array([3, 1])) == [3, 1]
    days = _array([date(2025, 3, 1), date(1969, 12, 31)])  # pandas would keep date objects
    assert days.dtype == "datetime64[D]" and list(days.astype(str)) == ["2025-03-01", "1969-12-31"]
    assert pd.Series(days).dt.date.tolist() == [date(2025, 3, 1), date(1969, 12, 31)]
    for values in (
        [1, None],
        [True, False],
        [date(2025, 1, 1), None],
        [datetime(2025, 1, 1, 5)],
        ["a"],
        [1, 2.5],
    ):
        got, want = _array(values), pd.Series(values, dtype=None).to_numpy()
        assert got.dtype == want.dtype and pd.Series(got).equals(pd.Series(want)), values


def test_a_ratio_of_two_different_bases_is_not_computed(tmp_path):
    """Tension divides demand (which no bailleur, réservataire or QPV filter narrows) by
    leases (which they do): under such a filter it would compare the demand of all with the
    supply of a part, so it is empty, and the frame says why."""
    replica = tiny_replica(tmp_path)
    out = replica.demand_supply(Filters(bailleurs=[1]), at="2024-10-31")
    assert out["tension"].isna().all()
    assert "Bailleurs" in out.attrs["ratios_non_calcules"]["tension"]
    pressure = replica.typology_pressure(Filters(qpv=True), at="2024-10-31")
    assert (
        pressure["desequilibre"].isna().all()
        and "desequilibre" in pressure.attrs["ratios_non_calcules"]
    )
    # a filter both terms follow (territory, criteria, mutation) keeps the ratio
    assert (
        replica.demand_supply(Filters(mutation=False), at="2024-10-31").attrs["ratios_non_calcules"]
        == {}
    )


def test_the_cache_computes_a_key_once_while_it_is_in_flight():
    """Single flight: callers of a key being computed wait for its result (a prefetch
    thread and the page, two sessions); if the first computation fails, a waiter computes
    it itself."""
    import threading

    from data_access.execution import _ResultCache

    cache, started, release = _ResultCache(8), threading.Event(), threading.Event()
    calls = []

    def slow():
        calls.append("slow")
        started.set()
        release.wait(10)
        return "valeur"

    results = []
    owner = threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow)))
    owner.start()
    started.wait(10)
    waiter = threading.Thread(
        target=lambda: results.append(cache.get_or_compute("k", lambda: calls.append("bis")))
    )
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # waiting for the computation in flight, not computing it again
    release.set()
    owner.join(10)
    waiter.join(10)
    assert results == ["valeur", "valeur"] and calls == ["slow"]

    started.clear()
    release.clear()

    def failing():
        started.set()
        release.wait(10)
        raise RuntimeError("base injoignable")

    errors = []
    owner = threading.Thread(target=lambda: _catch(errors, cache.get_or_compute, "j", failing))
    owner.start()
    started.wait(10)
    waiter = threading.Thread(target=lambda: results.append(cache.get_or_compute("j", lambda: 2)))
    waiter.start()
    release.set()
    owner.join(10)
    waiter.join(10)
    assert [str(e) for e in errors] == ["base injoignable"] and results[-1] == 2
    assert cache.get_or_compute("j", lambda: 3) == 2  # the waiter's result was kept


def _catch(errors, function, *args):
    try:
        function(*args)
    except RuntimeError as err:
        errors.append(err)
