"""What the notebooks call beyond the queries: files with their context, figures on the map's
shapes, French legend classes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook

from data_access import FilterError, Filters
from data_access.export import save
from geodata import BoundaryError
from geodata.layers import map_frame
from tests.paths import COMMUNES_31


def test_save_writes_the_table_under_its_context(duckdb_replica, tmp_path):
    f = Filters(start="2025-01", end="2025-12", epci=("243100633",))
    table = duckdb_replica.rehousing_summary(f, by="bailleur")
    xlsx = save(
        table,
        tmp_path / "bailleurs.xlsx",
        title="Relogements par bailleur",
        replica=duckdb_replica,
        filters=f,
    )
    sheet = load_workbook(xlsx).active
    cells = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert cells[0][0] == "Relogements par bailleur"
    assert ("Période", "De janvier 2025 à décembre 2025") in [tuple(r[:2]) for r in cells]
    assert any(r[0] == "Filtres" and "Sicoval" in str(r[1]) for r in cells)
    header = next(i for i, r in enumerate(cells) if r[0] == "Identifiant du bailleur")
    assert sum(r[2] for r in cells[header + 1 :]) == table["relogements"].sum()
    csv = save(
        table,
        tmp_path / "bailleurs.csv",
        title="Relogements par bailleur",
        replica=duckdb_replica,
        filters=f,
    )
    text = csv.read_bytes().decode("utf-8-sig")
    assert text.startswith("Relogements par bailleur") and ";" in text
    with pytest.raises(FilterError, match="Format de fichier non pris en charge"):
        save(table, tmp_path / "bailleurs.json", title="x", replica=duckdb_replica, filters=f)
    assert not (tmp_path / "bailleurs.json").exists()


def test_objective_progress_keeps_its_period_in_the_file(duckdb_replica, tmp_path):
    progress = duckdb_replica.objective_progress("reservataire", year=2025)
    path = save(progress, tmp_path / "objectifs.csv", title="Objectifs", replica=duckdb_replica)
    text = path.read_bytes().decode("utf-8-sig")
    assert "De janvier 2025 à décembre 2025" in text and "Objectif de part prioritaire (%)" in text
    assert ";25,0;" in text  # French decimals


def test_a_file_says_which_figures_do_not_follow_the_filters(duckdb_replica, tmp_path):
    f = Filters(end="2026-06", bailleurs=[2], qpv=True)
    table = duckdb_replica.demand_supply(f, level="epci")
    path = save(table, tmp_path / "offre.csv", title="Demande et offre", replica=duckdb_replica,
                filters=f)  # fmt: skip
    lines = path.read_bytes().decode("utf-8-sig").split("\r\n")
    unfollowed = [line for line in lines if line.startswith("Filtres non suivis;")]
    assert "Filtres non suivis;Demandes actives (1er choix) : Bailleurs, Logements" in unfollowed
    assert not any("Logements sociaux" in line for line in unfollowed)  # the stock follows them
    assert len(unfollowed) == 4  # the three demand counts and the tension


def test_map_frame_puts_every_commune_once_with_its_figures(duckdb_replica):
    if not COMMUNES_31.exists():
        pytest.fail(f"../shared/geodata is missing beside the checkout ({COMMUNES_31})")
    replica = duckdb_replica
    settings = replace(replica.settings, contours_communes=Path(COMMUNES_31))
    figures = replica.demand_supply(Filters(end="2026-06"), level="commune")
    carte = map_frame(replica, figures, "commune", settings=settings)
    assert len(carte) == 586 and carte["code"].is_unique and not carte.attrs["schematique"]
    toulouse = carte.set_index("code").loc["31555"]
    assert (
        toulouse["demandes_actives"]
        == figures.set_index("commune").loc["31555", "demandes_actives"]
    )
    assert carte.crs.to_epsg() == 2154
    with pytest.raises(BoundaryError, match="colonne « epci »"):
        map_frame(replica, figures.drop(columns="epci"), "epci", settings=settings)
