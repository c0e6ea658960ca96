"""The production path: a real PostgreSQL hot standby, opened through our engine."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import Filters, QueryTimeout, Replica, ReplicaUnavailable
from data_access.settings import load_settings

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres")]


def test_standby_replica_is_in_recovery(postgres_replica):
    with postgres_replica.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.pg_is_in_recovery())).scalar() is True


def test_a_write_through_our_engine_is_refused_even_as_superuser(pg_cluster):
    # the superuser on the primary: only our engine's read-only session settings stand in the way
    replica = Replica(url=pg_cluster.primary_url, settings=load_settings(), cache=False)
    try:
        with (
            pytest.raises(sa.exc.DBAPIError, match="read-only transaction"),
            replica.engine.connect() as conn,
        ):
            conn.exec_driver_sql("CREATE TABLE intrus (x integer)")
        with (
            pytest.raises(sa.exc.DBAPIError, match="read-only transaction"),
            replica.engine.begin() as conn,
        ):
            conn.exec_driver_sql("UPDATE bail SET date_signature = date_signature")
    finally:
        replica.dispose()


def test_a_write_on_the_standby_is_refused(postgres_replica):
    with (
        pytest.raises(sa.exc.DBAPIError, match="read-only transaction"),
        postgres_replica.engine.connect() as conn,
    ):
        conn.exec_driver_sql("DELETE FROM bail")


def test_a_slow_query_is_cancelled_by_the_statement_timeout(pg_cluster):
    settings = replace(load_settings(), statement_timeout_s=0.5)
    replica = Replica(url=pg_cluster.standby_url, settings=settings, cache=False)
    try:
        started = time.monotonic()
        with pytest.raises(QueryTimeout, match="délai maximal de 0,5 s"):
            replica.frame(sa.select(sa.func.pg_sleep(3)), ["x"])
        assert time.monotonic() - started < 2.5
    finally:
        replica.dispose()


def test_freshness_reads_the_standby_replay_time(pg_cluster, postgres_replica):
    # a transaction on the primary moves the standby's replay timestamp
    with sa.create_engine(pg_cluster.primary_url).begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS battement (t timestamptz)")
        conn.exec_driver_sql("INSERT INTO battement VALUES (now())")
    pg_cluster.wait_for_replay()
    fresh = postgres_replica.freshness()
    assert fresh.replay is not None
    assert abs(datetime.now(UTC) - fresh.replay) < timedelta(minutes=1)
    # the demo was extracted before it was loaded: the standby holds nothing newer than that
    assert fresh.extraction is not None and fresh.extraction < fresh.replay
    assert fresh.as_of == fresh.extraction and str(fresh).startswith("Données extraites le")
    assert fresh.replay.isoformat() in fresh.version  # a replay is a new data version


def test_statements_run_in_autocommit_each_in_a_read_only_transaction(postgres_replica):
    with postgres_replica.engine.connect() as conn:
        assert (
            conn.connection.driver_connection.autocommit is True
        )  # no BEGIN / ROLLBACK round trips
        assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"


@pytest.mark.parametrize("read", ["query", "freshness", "cached query"])
def test_connections_the_server_closed_are_replaced_without_an_error(pg_cluster, read):
    """No liveness ping before each statement: after a restart, a failover or an idle
    timeout, every pooled connection is dead; the first fails once, SQLAlchemy discards the
    others with it, and the read runs again on a new one."""
    settings = replace(load_settings(), statement_timeout_s=5, version_ttl_s=0)
    replica = Replica(url=pg_cluster.readonly_url, settings=settings, cache=read == "cached query")
    filters = Filters(start="2025-01", end="2025-03")
    run = {
        "query": lambda: replica.monthly_rehousing(filters),
        "cached query": lambda: replica.monthly_rehousing(
            filters
        ),  # rereads the data version first
        "freshness": replica.freshness,
    }[read]
    try:
        first = run()
        held = [replica.engine.connect() for _ in range(3)]  # three sessions in the pool
        pids = [c.exec_driver_sql("SELECT pg_backend_pid()").scalar() for c in held]
        for c in held:
            c.close()
        with pg_cluster.connect(standby=True) as admin:  # the server ends them all
            for pid in pids:
                assert (
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0] is True
                )
            for _ in range(100):
                if not admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
                ).fetchone():
                    break
                time.sleep(0.05)
        again = run()
        if read == "freshness":
            assert again.extraction == first.extraction
        else:
            assert again.equals(first)
        with replica.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() not in pids
    finally:
        replica.dispose()


def test_a_session_whose_read_only_default_was_turned_off_is_not_handed_out_again(pg_cluster):
    # the superuser on the primary: only our session's default stands in the way of a write
    replica = Replica(url=pg_cluster.primary_url, settings=load_settings(), cache=False)
    try:
        with replica.engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            conn.exec_driver_sql("SET default_transaction_read_only = off")
        # reset when it went back to the pool (RESET ALL); were it not, the checkout would
        # replace it (the read-only default is reported with every change: no round trip)
        with replica.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "on"
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() == pid
            conn.exec_driver_sql("SET default_transaction_read_only = off")
            conn.info.pop("relog_settings_changed")  # a change the statements did not show
        with replica.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
            assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "on"
        with (
            pytest.raises(sa.exc.DBAPIError, match="read-only transaction"),
            replica.engine.connect() as conn,
        ):
            conn.exec_driver_sql("CREATE TABLE intrus (x integer)")
    finally:
        replica.dispose()


def test_the_demo_loader_leaves_tables_vacuumed_like_a_production_database(postgres_replica):
    """A fresh bulk load is not what a production replica looks like: its tables have long
    been vacuumed (visibility map set). The loader freezes and analyses them."""
    with postgres_replica.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT relname, relpages, relallvisible FROM pg_class "
            "WHERE relname IN ('demande', 'demande_commune', 'bail', 'logement') AND relkind = 'r'"
        ).all()
    assert len(rows) == 4
    for name, pages, all_visible in rows:
        assert pages > 0 and all_visible == pages, name


def test_a_database_that_is_down_gives_a_french_message():
    settings = replace(load_settings(), connect_timeout_s=1)
    replica = Replica(url="postgresql://relog@127.0.0.1:9/absente", settings=settings, cache=False)
    with pytest.raises(ReplicaUnavailable, match="injoignable"):
        replica.monthly_rehousing(Filters(start="2024-01", end="2024-12"))


def test_the_demo_loader_never_overwrites_a_real_database(pg_cluster, demo_path):
    from data_access.demo import load_postgres
    from data_access.errors import RelogError

    url = pg_cluster.primary_url.rsplit("/", 1)[0] + "/postgres"
    with sa.create_engine(url).begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS bail (id bigint)")
        conn.exec_driver_sql("INSERT INTO bail VALUES (42)")
    with pytest.raises(RelogError, match="n'est pas écrasée"):
        load_postgres(demo_path, url)
    with sa.create_engine(url).connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM bail").scalar() == 1


@pytest.mark.parametrize(
    "change",
    [
        "SET statement_timeout = 0",
        "set jit = on",
        "SELECT set_config('statement_timeout', '0', false)",
        "SET SESSION plan_cache_mode = auto",
    ],
)
def test_a_session_setting_changed_on_a_pooled_connection_is_not_handed_on(pg_cluster, change):
    """Issue 19: ``SET statement_timeout = 0`` typed in a notebook was handed on to the next
    request (only the read-only default was checked at checkout)."""
    replica = Replica(url=pg_cluster.readonly_url, settings=load_settings(), cache=False)
    try:
        with replica.engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            conn.exec_driver_sql(change)
        with replica.engine.connect() as conn:  # the same session, back from the pool, reset
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() == pid
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "15s"
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
            assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "on"
    finally:
        replica.dispose()


def test_sessions_run_read_only_without_jit_and_plan_each_run(postgres_replica):
    with postgres_replica.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
        assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "on"
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/Adak"])
def test_months_do_not_move_with_the_server_time_zone(pg_cluster, postgres_replica, zone):
    """A date truncated to its month must stay that month whatever the session's TimeZone
    (PostgreSQL turns a date into a timestamptz at midnight in that zone)."""
    replica = Replica(
        url=pg_cluster.readonly_url,
        settings=replace(load_settings(), statement_timeout_s=5),
        cache=False,
    )

    def set_zone(dbapi, _record):
        dbapi.execute(f"SET TIME ZONE '{zone}'")
        dbapi.commit()  # kept for the session, not rolled back with a first transaction

    sa.event.listen(replica.engine, "connect", set_zone)
    try:
        filters = Filters(start="2025-01", end="2025-12")
        with replica.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW TimeZone").scalar() == zone
        for query in ("monthly_rehousing", "pipeline"):
            got, want = getattr(replica, query)(filters), getattr(postgres_replica, query)(filters)
            assert got.equals(want), query
        assert list(got["mois"].dt.month) == list(range(1, 13))
    finally:
        replica.dispose()


def _hung_replica(pg_cluster, **settings) -> Replica:
    return Replica(
        url=pg_cluster.readonly_url,
        settings=replace(
            load_settings(),
            statement_timeout_s=5,
            deadline_s=1.5,
            unreachable_retry_s=settings.pop("unreachable_retry_s", 60),
            version_ttl_s=settings.pop("version_ttl_s", 30),
            **settings,
        ),
        cache=False,
    )


def _within(seconds: float, call):
    """``call()`` in a thread: its result or error, or ``TimeoutError`` if it has not
    returned after ``seconds`` (a read that would hang forever fails the test instead)."""
    out: dict = {}

    def run():
        try:
            out["value"] = call()
        except Exception as err:  # handed back to the test
            out["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer after {seconds} s")
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_a_hung_standby_costs_one_deadline_then_reads_fail_at_once(pg_cluster):
    replica = _hung_replica(pg_cluster)
    filters = Filters(start="2025-01", end="2025-03")
    try:
        expected = replica.monthly_rehousing(filters)  # the pool holds a live connection
        with pg_cluster.standby_hung():
            with pytest.raises(ReplicaUnavailable, match="n'a pas répondu en 1,5 s"):
                _within(60, lambda: replica.monthly_rehousing(filters))
            assert replica.health.unreachable_since is not None
            # the next reads do not wait again: the same French message, without host or port
            with pytest.raises(ReplicaUnavailable) as second:
                _within(60, lambda: replica.monthly_rehousing(filters))
            assert "127.0.0.1" not in str(second.value)
            assert str(pg_cluster.standby_port) not in str(second.value)
            # the last data version read stands: cached figures keep their key
            assert replica.freshness_cached() is not None
        replica.health.retry_at = 0  # the retry window has passed
        pd.testing.assert_frame_equal(replica.monthly_rehousing(filters), expected)
        assert replica.health.unreachable_since is None
    finally:
        replica.dispose()


def test_a_read_the_standby_cancels_for_a_recovery_conflict_is_tried_again(pg_cluster, caplog):
    """A real conflict: the primary takes an ACCESS EXCLUSIVE lock on a table the standby is
    reading; replaying it, the standby cancels the read after max_standby_streaming_delay
    (5 s in the suite's cluster) with SQLSTATE 40001. The read is run again and answers."""
    with pg_cluster.connect() as admin:
        admin.execute("DROP TABLE IF EXISTS relog_conflit")
        admin.execute("CREATE TABLE relog_conflit AS SELECT generate_series(1, 10) AS n")
    pg_cluster.wait_for_replay()
    replica = Replica(
        url=pg_cluster.standby_url,
        settings=replace(load_settings(), statement_timeout_s=60, deadline_s=60),
        cache=False,
    )
    slow_read = sa.text("SELECT count(*) AS n FROM relog_conflit, pg_sleep(8)")
    try:
        reading = threading.Thread(
            target=lambda: result.append(replica._fetch(slow_read, ["n"], None)), daemon=True
        )
        result: list = []
        with caplog.at_level("INFO", logger="relog.replica"):
            reading.start()
            time.sleep(1)  # the read holds its lock on the standby
            with pg_cluster.connect() as admin, admin.transaction():
                admin.execute("LOCK TABLE relog_conflit IN ACCESS EXCLUSIVE MODE")
            reading.join(60)
        assert result == [{"n": [10]}]
        assert "recovery conflict" in caplog.text
    finally:
        replica.dispose()
        with pg_cluster.connect() as admin:
            admin.execute("DROP TABLE relog_conflit")
