"""The PostgreSQL primary + hot standby harness (tests/postgres_cluster.py) works.

These tests start real PostgreSQL servers on loopback (see
tests/setup/ensure-postgres.sh for the installation); they fail, rather than skip,
when PostgreSQL is missing.
"""

from __future__ import annotations

import os
import shutil
import time

import psycopg
import pytest
import sqlalchemy
from sqlalchemy import text

from tests.postgres_cluster import PostgresCluster

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres")]

# SQLSTATEs
READ_ONLY_SQL_TRANSACTION = "25006"
QUERY_CANCELED = "57014"
INSUFFICIENT_PRIVILEGE = "42501"


@pytest.fixture(scope="module")
def cluster():
    with PostgresCluster() as c:
        yield c


@pytest.fixture
def standby_engine(cluster):
    engine = sqlalchemy.create_engine(cluster.standby_url)
    yield engine
    engine.dispose()


@pytest.fixture
def primary_engine(cluster):
    engine = sqlalchemy.create_engine(cluster.primary_url)
    yield engine
    engine.dispose()


def test_urls_use_psycopg3_on_loopback(cluster):
    for url, port in (
        (cluster.primary_url, cluster.primary_port),
        (cluster.standby_url, cluster.standby_port),
    ):
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:{port}/relog"
    assert cluster.primary_port != cluster.standby_port
    assert cluster.primary_log.exists() and cluster.standby_log.exists()


def test_row_written_on_primary_is_read_on_standby(cluster, primary_engine, standby_engine):
    with primary_engine.begin() as conn:
        conn.execute(text("CREATE TABLE demandes (id int PRIMARY KEY, commune text)"))
        conn.execute(text("INSERT INTO demandes VALUES (1, 'Roubaix')"))
    cluster.wait_for_replay()
    with standby_engine.connect() as conn:
        rows = conn.execute(text("SELECT id, commune FROM demandes")).all()
    assert [tuple(r) for r in rows] == [(1, "Roubaix")]


def test_standby_is_in_recovery_and_primary_is_not(cluster, primary_engine, standby_engine):
    # A committed transaction, so that the standby has a replay timestamp to show.
    with primary_engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS horloge (t timestamptz)"))
        conn.execute(text("INSERT INTO horloge VALUES (now())"))
    cluster.wait_for_replay()
    with standby_engine.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
        assert conn.execute(text("SELECT pg_last_xact_replay_timestamp()")).scalar() is not None
    with primary_engine.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is False


def test_insert_on_standby_fails(cluster, primary_engine, standby_engine):
    with primary_engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS ecritures (x int)"))
    cluster.wait_for_replay()
    with pytest.raises(sqlalchemy.exc.DBAPIError) as excinfo, standby_engine.begin() as conn:
        conn.execute(text("INSERT INTO ecritures VALUES (1)"))
    assert excinfo.value.orig.sqlstate == READ_ONLY_SQL_TRANSACTION
    assert "read-only transaction" in str(excinfo.value.orig)


def test_readonly_role_on_standby(cluster, primary_engine):
    with primary_engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS avant_role (x int)"))
        conn.execute(text("INSERT INTO avant_role VALUES (42)"))
    url = cluster.create_readonly_role(statement_timeout="1s")
    assert url == (f"postgresql+psycopg://relog_lecteur@127.0.0.1:{cluster.standby_port}/relog")
    # A table created after the role: covered by the default privileges.
    with primary_engine.begin() as conn:
        conn.execute(text("CREATE TABLE apres_role (x int)"))
        conn.execute(text("INSERT INTO apres_role VALUES (7)"))
    cluster.wait_for_replay()

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == "relog_lecteur"
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "1s"
            assert conn.execute(text("SHOW default_transaction_read_only")).scalar() == "on"
            assert conn.execute(text("SELECT x FROM avant_role")).scalar() == 42
            assert conn.execute(text("SELECT x FROM apres_role")).scalar() == 7

        t0 = time.monotonic()
        with pytest.raises(sqlalchemy.exc.DBAPIError) as excinfo, engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(3)"))
        elapsed = time.monotonic() - t0
        assert excinfo.value.orig.sqlstate == QUERY_CANCELED
        assert "statement timeout" in str(excinfo.value.orig)
        assert elapsed < 2.5
    finally:
        engine.dispose()

    # On the primary too the role can neither write nor create.
    with cluster.connect(user="relog_lecteur") as conn:
        with pytest.raises(psycopg.Error) as excinfo:
            conn.execute("INSERT INTO avant_role VALUES (1)")
        assert excinfo.value.sqlstate in (READ_ONLY_SQL_TRANSACTION, INSUFFICIENT_PRIVILEGE)
        conn.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO avant_role VALUES (1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.interdit (x int)")


def _alive(pid: int, wait: float = 5.0) -> bool:
    """Whether ``pid`` still runs after ``wait`` s (a zombie counts as dead)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state in ("Z", "X"):
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.05)


def test_stop_removes_everything():
    """A cluster of its own: stop() kills both servers and removes its directory."""
    c = PostgresCluster()
    c.start()
    base = c.base
    pids = [
        int((base / d / "postmaster.pid").read_text().split()[0]) for d in ("primary", "standby")
    ]
    c.stop()
    c.stop()  # idempotent
    assert not base.exists()
    assert not any(_alive(pid) for pid in pids)
    with pytest.raises(RuntimeError, match="not started"):
        _ = c.primary_url


def test_context_manager_keeps_logs_on_error():
    class Boom(Exception):
        pass

    with pytest.raises(Boom), PostgresCluster() as c:
        base, log = c.base, c.primary_log
        raise Boom
    try:
        assert not (base / "primary").exists() and not (base / "standby").exists()
        assert "database system is ready to accept connections" in log.read_text()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_unreachable_base_dir_is_reported(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only meaningful when the servers run as another OS user")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    os.chmod(private, 0o700)
    with pytest.raises(RuntimeError, match="cannot traverse"):
        PostgresCluster(base_dir=private).start()
    assert list(private.iterdir()) == []
