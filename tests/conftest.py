"""Shared fixtures: the department-scale demo replica (DuckDB), the same data in a real
PostgreSQL hot standby, and the raw tables read independently of ``data_access``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from data_access import Replica
from data_access.demo import build_demo, load_postgres
from data_access.engine import open_duckdb_readonly
from data_access.settings import load_settings

#: Fixed reference date: the demo is the same on every run.
AS_OF = date(2026, 11, 15)
SEED = 31


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory) -> Path:
    """The department-scale demo replica, generated once per test process (≈ 5 s)."""
    path = tmp_path_factory.mktemp("demo") / "demo-departement.duckdb"
    return build_demo(path, scale="departement", seed=SEED, as_of=AS_OF)


@pytest.fixture(scope="session")
def raw_tables(demo_path) -> dict[str, pd.DataFrame]:
    """Every table of the demo, read with DuckDB directly (not through data_access)."""
    con = open_duckdb_readonly(demo_path)  # same configuration as the replica's engine
    try:
        names = [
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        return {name: con.execute(f'SELECT * FROM "{name}"').df() for name in names}
    finally:
        con.close()


def _settings(**changes):
    from dataclasses import replace

    return replace(load_settings(), **changes)


@pytest.fixture(scope="session")
def duckdb_replica(demo_path) -> Replica:
    replica = Replica(
        url=f"duckdb:///{demo_path}", settings=_settings(demo_path=demo_path), cache=False
    )
    yield replica
    replica.dispose()


@pytest.fixture(scope="session")
def cached_replica(duckdb_replica) -> Replica:
    """The demo replica with its result cache, as the server runs it: what is computed once
    per data version (a protected profile's publication) is computed once here too."""
    replica = Replica(url=duckdb_replica.url, settings=duckdb_replica.settings, cache=True)
    yield replica
    replica.dispose()


@pytest.fixture(scope="session")
def pg_cluster(demo_path):
    """A PostgreSQL primary and its streaming hot standby on loopback, the demo loaded in the
    primary and replayed on the standby."""
    from tests.postgres_cluster import PostgresCluster

    with PostgresCluster() as cluster:
        load_postgres(demo_path, cluster.primary_url)
        cluster.wait_for_replay()
        cluster.readonly_url = cluster.create_readonly_role(statement_timeout="5s")
        cluster.wait_for_replay()
        yield cluster


@pytest.fixture(scope="session")
def postgres_replica(pg_cluster) -> Replica:
    """The replica as production opens it: the hot standby, through a SELECT-only role."""
    replica = Replica(
        url=pg_cluster.readonly_url, settings=_settings(statement_timeout_s=5), cache=False
    )
    yield replica
    replica.dispose()


@pytest.fixture(
    params=[
        "duckdb",
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.xdist_group("postgres")]),
    ]
)
def replica(request) -> Replica:
    """Each cross-checked query runs on both backends, on the same data."""
    return request.getfixturevalue(f"{request.param}_replica")
