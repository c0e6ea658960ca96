"""Read-only engine factory: the embedded DuckDB demo file by default, PostgreSQL in production.

Read-only twice: DuckDB files are opened ``read_only=True``; PostgreSQL sessions start with
``default_transaction_read_only=on`` (each of our statements, in autocommit, is a read-only
transaction; a session that lost the setting is not handed out again), with a
``statement_timeout``. Nothing here writes. The guarantee that holds against any code is
the server's: a hot standby, and a role with nothing but ``SELECT`` (README).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import duckdb_engine
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import registry
from sqlalchemy.engine import Engine, make_url

from data_access.errors import ReplicaUnavailable
from data_access.settings import Settings

log = logging.getLogger("relog.replica")


def create_replica_engine(url: str | None, settings: Settings) -> Engine:
    """An engine on the replica at ``url`` (``None``: the demo DuckDB file), opened read-only."""
    if url is None:
        return _duckdb_engine(Path(settings.demo_path))
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "duckdb":
        return _duckdb_engine(Path(parsed.database or ""))
    if backend == "postgresql":
        if parsed.get_driver_name() in ("", "psycopg2") and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        timeout_ms = int(settings.statement_timeout_s * 1000)
        engine = sa.create_engine(
            parsed,
            connect_args={
                "connect_timeout": settings.connect_timeout_s,
                "application_name": "relog",
                # jit=off: our queries are short aggregates; PostgreSQL's JIT compiles them for
                # 50 ms or more and saves less (relog bench: demand_supply 466 → 344 ms).
                # plan_cache_mode: psycopg prepares a statement run five times on a connection,
                # and PostgreSQL then plans it once for any period and filter (a generic plan
                # blind to how many rows a date range keeps); plan each run for its values.
                "options": (
                    f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms} "
                    "-c jit=off "
                    "-c plan_cache_mode=force_custom_plan"
                ),
            },
            # autocommit: each of our statements is its own implicit transaction, read-only by
            # the session's default; no BEGIN and no ROLLBACK around it (two round trips per
            # query, ≈ 0.1 ms on loopback and a few ms to a replica across a network). No
            # liveness ping before each statement either: Replica._fetch retries a read once
            # when the pool's connection turns out closed.
            isolation_level="AUTOCOMMIT",
            pool_pre_ping=False,
            pool_size=5,
            max_overflow=5,
        )
        sa.event.listen(engine, "checkout", _still_read_only)
        sa.event.listen(engine, "before_cursor_execute", _note_settings_changes)
        sa.event.listen(engine, "checkin", _reset_changed_settings)
        return engine
    raise ReplicaUnavailable(
        f"Type de base non pris en charge : {backend} (attendu : postgresql ou duckdb)."
    )


def _still_read_only(dbapi_connection, _record, _proxy) -> None:
    """A pooled session whose read-only default was turned off (``SET
    default_transaction_read_only = off`` typed in a notebook, say) would write in autocommit
    for every later checkout: it is replaced by a new one instead. PostgreSQL (14 and later)
    reports the setting with every change, so the check costs no round trip."""
    status = dbapi_connection.info.parameter_status("default_transaction_read_only")
    if status is not None and status != "on":
        raise sa_exc.DisconnectionError("session no longer read-only: replaced")


#: Marks, in a pooled PostgreSQL connection's ``info``, that a statement may have changed a
#: session setting (``SET``, ``RESET``, ``set_config``): typed by an analyst in a notebook.
_SETTINGS_CHANGED = "relog_settings_changed"
_SETTING_CHANGE = re.compile(r"^\s*(?:set|reset)\b|set_config", re.IGNORECASE)


def _note_settings_changes(conn, _cursor, statement, _parameters, _context, _many) -> None:
    """Our own statements never change a setting; a statement that may (``SET
    statement_timeout = 0`` in a notebook) marks its connection for a reset at checkin."""
    if _SETTING_CHANGE.search(statement):
        conn.info[_SETTINGS_CHANGED] = True


def _reset_changed_settings(dbapi_connection, record) -> None:
    """A pooled session whose settings a statement changed goes back to the pool with the
    connection's own (``RESET ALL``: read-only default, statement timeout, JIT, plan cache
    mode as the engine opened it), so that the next request, another user's perhaps, never
    runs without the statement timeout. A session that cannot be reset is closed."""
    if dbapi_connection is None or not record.info.pop(_SETTINGS_CHANGED, False):
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("RESET ALL")
    except Exception:  # a broken session: not handed out again
        log.warning("pooled session could not be reset: closed")
        record.invalidate()


class CachingDuckDBDialect(duckdb_engine.Dialect):
    """duckdb-engine with SQLAlchemy's compiled-statement cache on.

    Upstream leaves ``supports_statement_cache`` off only because it never certified it; the
    dialect compiles with PostgreSQL's compiler, which the cache supports. Without it every
    call recompiles its statement (≈ 1 ms of a 10 ms query). The cross-check suite runs
    every query through this dialect.
    """

    supports_statement_cache = True

    # No BEGIN: the file is open read-only and every query is one statement, which DuckDB runs
    # in its own implicit transaction. A BEGIN and the pool's ROLLBACK on each checkout cost
    # ≈ 0.5 ms of a 10 ms query. A connection that saw an error (a failed statement inside a
    # transaction somebody opened by hand, say) is rolled back all the same, lest it answer
    # « transaction aborted » to every later query from the pool.
    def do_begin(self, connection) -> None:
        pass

    def do_rollback(self, connection) -> None:
        try:
            failed = connection.info.pop(_FAILED, False)
        except (AttributeError, NotImplementedError):  # a bare connection (the first connect's)
            failed = True
        if failed:
            super().do_rollback(connection)


#: Marks, in a pooled connection's ``info``, that a statement failed on it.
_FAILED = "relog_statement_failed"


registry.register("duckdb.relog", __name__, "CachingDuckDBDialect")


def _duckdb_engine(path: Path) -> Engine:
    if not path.is_file():
        log.warning("demo replica not found: %s", path)
        raise ReplicaUnavailable(
            f"La réplique de démonstration est introuvable ({path.name}). Créez-la avec "
            "« relog demo » (ou « make serve », qui le fait pour vous)."
        )
    engine = sa.create_engine(
        f"duckdb+relog:///{path}",
        # the configuration of every other reader of the file in this process (duckdb-engine
        # adds its user agent, as _duckdb_config does)
        connect_args={"read_only": True, "config": dict(DUCKDB_HARDENING)},
        pool_size=4,
        max_overflow=4,
    )

    @sa.event.listens_for(engine, "handle_error")
    def _mark_failed(context):  # its next rollback is a real one (CachingDuckDBDialect)
        if context.connection is not None and not context.connection.invalidated:
            context.connection.connection.info[_FAILED] = True

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        _quiet_and_lock(dbapi_connection)

    return engine


#: The product reads one file and nothing else. By default a DuckDB connection reads and
#: writes any file the process can (``read_csv('/etc/hostname')``, ``COPY … TO '<file>'``,
#: ``ATTACH`` of a new read-write database) and installs extensions from the network: all
#: off, for every connection of the process to the file (DuckDB shares one instance per file
#: and refuses a second configuration).
DUCKDB_HARDENING = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def _duckdb_config() -> dict[str, object]:
    """The configuration duckdb-engine gives our engine's connections."""
    config: dict[str, object] = dict(DUCKDB_HARDENING)
    if duckdb_engine.supports_user_agent:
        from sqlalchemy import __version__ as sqlalchemy_version

        config["custom_user_agent"] = (
            f"duckdb_engine/{duckdb_engine.__version__}(sqlalchemy/{sqlalchemy_version})"
        )
    return config


def _quiet_and_lock(connection) -> None:
    """No progress bar on a server's terminal, then the configuration locked: nothing run on
    the connection afterwards (``SET enable_external_access = true``, ``SET
    lock_configuration = false``, a memory limit…) can change it. The lock is the file's
    instance's, so it holds for every connection of the process to the file."""
    import duckdb

    for statement in ("SET enable_progress_bar = false", "SET lock_configuration = true"):
        try:
            connection.execute(statement)
        except duckdb.InvalidInputException:
            # already locked by an earlier connection to the file; or, for the progress bar,
            # Jupyter without ipywidgets, where DuckDB refuses to touch it (and shows no bar)
            pass


def open_duckdb_readonly(path: Path):
    """A raw read-only DuckDB connection configured (and locked) like our engine's.

    DuckDB refuses, within one process, connections to one file with different
    configurations: other readers of the demo file (the tests' oracle, the demo's freshness
    check) open it this way. Tools that must write files from it (the PostgreSQL loader)
    attach it read-only to an in-memory database of their own instead."""
    import duckdb

    connection = duckdb.connect(str(path), read_only=True, config=_duckdb_config())
    _quiet_and_lock(connection)
    return connection
