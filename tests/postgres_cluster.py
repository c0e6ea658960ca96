"""A throwaway PostgreSQL primary + hot standby on loopback, for the test suite and the benchmark.

The production dashboards read from a PostgreSQL *hot standby* (a streaming
replica in recovery, read-only).  Our tests exercise the real thing, without
Docker: this module starts two local servers with the PostgreSQL binaries
installed on the machine (Debian's ``postgresql`` package; see
``tests/setup/ensure-postgres.sh``), wires the second one as a streaming replica of
the first, and tears everything down afterwards.

Usage::

    from tests.postgres_cluster import PostgresCluster

    with PostgresCluster() as cluster:          # start() ... stop()
        engine = sqlalchemy.create_engine(cluster.primary_url)
        ...                                     # write on the primary
        cluster.wait_for_replay()               # standby has caught up
        ro_url = cluster.create_readonly_role() # URL on the standby
        ...

Layout and behaviour:

* Everything lives in one fresh directory made with :func:`tempfile.mkdtemp`
  under ``base_dir`` (default ``/tmp``): ``primary/`` and ``standby/`` data
  directories, the unix sockets and the two log files ``primary.log`` and
  ``standby.log``.  ``stop()`` removes it.  When the cluster fails to start, or
  when the ``with`` block exits with an exception, the data directories are
  removed but the log files are kept for debugging (their paths are
  :attr:`PostgresCluster.primary_log` / :attr:`PostgresCluster.standby_log`,
  and start failures quote the tail of the relevant log in the exception).
  Set ``RELOG_PG_KEEP=1`` to keep the whole directory.
* Both servers listen on their private unix socket directory and on
  ``127.0.0.1`` only, on free TCP ports (or ``port`` for the primary).
* Authentication is ``trust``; the superuser is ``postgres``.  The database
  ``dbname`` (default ``relog``) is created on the primary before the standby
  is cloned, so it exists on both.
* The standby is cloned with ``pg_basebackup -R`` and streams through a
  physical replication slot.  ``hot_standby_feedback`` is on and
  ``max_standby_streaming_delay`` is 5 s, so replay never stalls for long
  behind a standby query and vacuum on the primary does not cancel them.
* ``fsync`` is off: these clusters are disposable and this makes them fast.
* ``initdb`` refuses to run as root.  When the current user is root, the server
  binaries run as the ``postgres`` OS user (through ``runuser``); otherwise
  they run directly as the current user.
* Binaries are looked up in ``$RELOG_PG_BINDIR``, then ``pg_config --bindir``,
  then the highest ``/usr/lib/postgresql/*/bin``, then ``$PATH``.

Only the standard library and psycopg 3 are needed.  URLs are SQLAlchemy URLs
for the psycopg 3 dialect (``postgresql+psycopg://...``).
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

__all__ = ["PostgresCluster", "find_pg_bindir"]

#: Binaries the cluster needs in the bin directory.
REQUIRED_BINARIES = ("initdb", "pg_ctl", "pg_basebackup", "postgres")

#: OS user the servers run as when we are root.
PG_OS_USER = "postgres"

#: Superuser role created by initdb.
SUPERUSER = "postgres"

#: Name of the physical replication slot used by the standby.
SLOT_NAME = "relog_standby"

#: A unix socket path must fit in sockaddr_un.sun_path (108 bytes on Linux).
_MAX_SOCKET_PATH = 107

_IDENTIFIER_RE = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")


def _has_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in REQUIRED_BINARIES)


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin ; versions are "15", "9.6", ...
    parts = re.findall(r"\d+", path.parent.name)
    return tuple(int(p) for p in parts) or (-1,)


def find_pg_bindir() -> Path:
    """Return the directory holding the PostgreSQL server binaries.

    Order: ``$RELOG_PG_BINDIR`` (which must then be valid), ``pg_config
    --bindir`` if it holds ``initdb`` & co, the highest
    ``/usr/lib/postgresql/*/bin``, the directory of ``initdb`` on ``$PATH``.
    Raises :class:`RuntimeError` with installation advice when none is found.
    """
    env = os.environ.get("RELOG_PG_BINDIR")
    if env:
        bindir = Path(env)
        if not _has_binaries(bindir):
            raise RuntimeError(
                f"RELOG_PG_BINDIR={env!r} does not contain the PostgreSQL server "
                f"binaries {', '.join(REQUIRED_BINARIES)}"
            )
        return bindir

    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            out = None
        if out is not None and out.returncode == 0 and out.stdout.strip():
            bindir = Path(out.stdout.strip())
            if _has_binaries(bindir):
                return bindir

    candidates = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if _has_binaries(p)),
        key=_version_key,
    )
    if candidates:
        return candidates[-1]

    initdb = shutil.which("initdb")
    if initdb and _has_binaries(Path(initdb).resolve().parent):
        return Path(initdb).resolve().parent

    raise RuntimeError(
        "No PostgreSQL server binaries found (looked at $RELOG_PG_BINDIR, "
        "`pg_config --bindir`, /usr/lib/postgresql/*/bin and $PATH). "
        "Install them with `bash tests/setup/ensure-postgres.sh` "
        "(Debian: apt-get install postgresql), or point RELOG_PG_BINDIR at them."
    )


def _free_port(exclude: set[int] = frozenset()) -> int:
    """A TCP port on 127.0.0.1 that is free right now (the kernel picks it)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in exclude:
            return port
    raise RuntimeError("could not find a free TCP port on 127.0.0.1")


def _tail(path: Path | None, lines: int = 40) -> str:
    if path is None:
        return "(no log)"
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


class PostgresCluster:
    """A PostgreSQL primary and its streaming hot standby, on loopback.

    :param base_dir: parent directory of the cluster's temporary directory
        (default ``/tmp``).  Every directory on the way must be traversable by
        the ``postgres`` OS user when running as root, and the path must stay
        short (unix socket paths are limited to 107 bytes).
    :param port: TCP port of the primary on 127.0.0.1; a free one by default.
        The standby always gets a free port.
    :param dbname: database created on the primary (and so on the standby).
    """

    def __init__(
        self,
        base_dir: Path | None = None,
        port: int | None = None,
        dbname: str = "relog",
    ) -> None:
        self.bindir = find_pg_bindir()
        self.base_parent = Path(base_dir) if base_dir is not None else Path("/tmp")
        self.requested_port = port
        self.dbname = dbname
        self.base: Path | None = None
        self.primary_port: int | None = None
        self.standby_port: int | None = None
        self.primary_log: Path | None = None
        self.standby_log: Path | None = None
        #: Seconds spent in start() and stop(), for the curious.
        self.timings: dict[str, float] = {}
        self._running: list[Path] = []  # data dirs of started servers
        self._as_postgres = os.geteuid() == 0
        self._pg_uid: int | None = None
        self._pg_gid: int | None = None
        if self._as_postgres:
            try:
                pw = pwd.getpwnam(PG_OS_USER)
            except KeyError:
                raise RuntimeError(
                    f"running as root, but there is no {PG_OS_USER!r} OS user to run "
                    "the PostgreSQL server as (initdb refuses root); install Debian's "
                    "postgresql package or create that user"
                ) from None
            self._pg_uid, self._pg_gid = pw.pw_uid, pw.pw_gid
        self._runuser = shutil.which("runuser") if self._as_postgres else None
        self._atexit_registered = False

    # ------------------------------------------------------------------ URLs

    def _require_started(self) -> None:
        if self.primary_port is None or self.standby_port is None:
            raise RuntimeError("the PostgreSQL cluster is not started")

    @staticmethod
    def _url(port: int, user: str, dbname: str) -> str:
        return (
            f"postgresql+psycopg://{quote(user, safe='')}@127.0.0.1:{port}/{quote(dbname, safe='')}"
        )

    @property
    def primary_url(self) -> str:
        """SQLAlchemy URL of the primary, as the ``postgres`` superuser."""
        self._require_started()
        return self._url(self.primary_port, SUPERUSER, self.dbname)

    @property
    def standby_url(self) -> str:
        """SQLAlchemy URL of the hot standby, as the ``postgres`` superuser."""
        self._require_started()
        return self._url(self.standby_port, SUPERUSER, self.dbname)

    def standby_url_for(self, user: str, dbname: str | None = None) -> str:
        """SQLAlchemy URL of the standby for another role (trust auth)."""
        self._require_started()
        return self._url(self.standby_port, user, dbname or self.dbname)

    def conninfo(
        self, standby: bool = False, user: str = SUPERUSER, dbname: str | None = None
    ) -> str:
        """libpq connection string (for psycopg) of the primary or standby."""
        self._require_started()
        port = self.standby_port if standby else self.primary_port
        return make_conninfo(
            host="127.0.0.1",
            port=port,
            user=user,
            dbname=dbname or self.dbname,
            connect_timeout=10,
        )

    def connect(
        self, standby: bool = False, user: str = SUPERUSER, dbname: str | None = None
    ) -> psycopg.Connection:
        """An autocommit psycopg connection to the primary or standby."""
        return psycopg.connect(self.conninfo(standby, user, dbname), autocommit=True)

    # ------------------------------------------------------- process helpers

    def _run(
        self, *args: str | os.PathLike, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess:
        """Run a PostgreSQL binary, as the postgres OS user when we are root."""
        cmd = [str(self.bindir / str(args[0])), *map(str, args[1:])]
        kwargs: dict = {}
        if self._as_postgres:
            if self._runuser:
                cmd = [self._runuser, "-u", PG_OS_USER, "--", *cmd]
            else:  # no runuser: let subprocess switch user itself
                kwargs.update(user=self._pg_uid, group=self._pg_gid, extra_groups=[])
        # Keep the caller's PG* variables (PGHOST, PGDATA, ...) out of our servers.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        proc = subprocess.run(
            cmd,
            cwd=self.base or "/",
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
            **kwargs,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"`{' '.join(cmd)}` failed with exit code {proc.returncode}:\n"
                f"{proc.stdout}{proc.stderr}".rstrip()
            )
        return proc

    def _chown(self, path: Path) -> None:
        if self._as_postgres:
            os.chown(path, self._pg_uid, self._pg_gid)

    def _check_traversable(self, path: Path) -> None:
        """Fail early if the postgres OS user cannot reach ``path``."""
        if not self._as_postgres:
            return
        for parent in [path, *path.parents]:
            st = parent.stat()
            if st.st_uid == self._pg_uid:
                continue
            if st.st_gid == self._pg_gid and st.st_mode & stat.S_IXGRP:
                continue
            if st.st_mode & stat.S_IXOTH:
                continue
            raise RuntimeError(
                f"the {PG_OS_USER!r} OS user cannot traverse {parent} "
                f"(mode {stat.filemode(st.st_mode)}); pass a base_dir such as /tmp "
                "(pytest's tmp_path is usually 0700 and owned by root)"
            )

    def _write_conf(self, datadir: Path, port: int) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            "unix_socket_directories": f"'{self.base}'",
            "wal_level": "replica",
            "max_wal_senders": "4",
            "max_replication_slots": "4",
            "hot_standby": "on",
            "hot_standby_feedback": "on",
            "max_standby_streaming_delay": "5s",
            "max_standby_archive_delay": "5s",
            "wal_receiver_status_interval": "1s",
            "fsync": "off",
            "log_line_prefix": "'%m [%p] %q%u@%d '",
            "timezone": "'UTC'",
        }
        lines = ["", "# --- tests/postgres_cluster.py ---"]
        lines += [f"{k} = {v}" for k, v in settings.items()]
        with open(datadir / "postgresql.conf", "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    def _start_server(self, datadir: Path, log: Path) -> None:
        proc = self._run("pg_ctl", "-D", datadir, "-l", log, "-w", "-t", "60", "start", check=False)
        if proc.returncode != 0:
            raise _StartError(
                f"pg_ctl start of {datadir.name} failed (exit {proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}".rstrip()
                + f"\n--- tail of {log} ---\n{_tail(log)}",
                port_in_use="could not bind" in _tail(log, 200)
                or "Address already in use" in _tail(log, 200),
            )
        self._running.append(datadir)

    def _stop_server(self, datadir: Path) -> None:
        proc = self._run(
            "pg_ctl", "-D", datadir, "-m", "fast", "-w", "-t", "30", "stop", check=False
        )
        if proc.returncode != 0 and (datadir / "postmaster.pid").exists():
            proc = self._run(
                "pg_ctl", "-D", datadir, "-m", "immediate", "-w", "-t", "30", "stop", check=False
            )
        pidfile = datadir / "postmaster.pid"
        if pidfile.exists():  # last resort: our own postmaster, by its pid
            try:
                pid = int(pidfile.read_text().split()[0])
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError, IndexError):
                pass
        if datadir in self._running:
            self._running.remove(datadir)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> PostgresCluster:
        """Create, configure and start the primary and its hot standby.

        Returns ``self``.  On failure everything started is stopped, the data
        is removed and a :class:`RuntimeError` quoting the log tail is raised.
        """
        if self.base is not None:
            raise RuntimeError("this PostgresCluster is already started")
        t0 = time.monotonic()
        attempts = 1 if self.requested_port is not None else 3
        for attempt in range(1, attempts + 1):
            try:
                self._start_once()
                break
            except BaseException as exc:
                retry = (
                    isinstance(exc, _StartError) and exc.port_in_use and attempt < attempts
                )  # port race: try other ports
                base = self.base
                self._cleanup(keep_logs=not retry)
                self.base = self.primary_port = self.standby_port = None
                if retry:
                    continue
                if not isinstance(exc, RuntimeError):
                    raise
                message = str(exc)
                if (
                    not isinstance(exc, _StartError)
                    and self.primary_log is not None
                    and self.primary_log.exists()
                ):
                    message += f"\n--- tail of {self.primary_log} ---\n{_tail(self.primary_log)}"
                if base is not None and base.exists():
                    message += f"\n(logs kept in {base})"
                raise RuntimeError(message) from None
        self.timings["start"] = time.monotonic() - t0
        return self

    def _start_once(self) -> None:
        self.base_parent.mkdir(parents=True, exist_ok=True)
        self.base = Path(tempfile.mkdtemp(prefix="relog-pg-", dir=self.base_parent))
        # Servers must not outlive the interpreter if stop() is never called.
        if not self._atexit_registered:
            atexit.register(self._atexit_stop)
            self._atexit_registered = True
        self.primary_log = self.base / "primary.log"
        self.standby_log = self.base / "standby.log"
        os.chmod(self.base, 0o755)
        self._chown(self.base)
        self._check_traversable(self.base)
        sock = self.base / ".s.PGSQL.65535"
        if len(str(sock)) > _MAX_SOCKET_PATH:
            raise RuntimeError(f"unix socket path {sock} is too long; use a shorter base_dir")

        primary, standby = self.base / "primary", self.base / "standby"
        self.primary_port = self.requested_port or _free_port()
        self.standby_port = _free_port(exclude={self.primary_port})

        # Primary: initdb, configure, start, create the application database.
        self._run(
            "initdb",
            "-D",
            primary,
            "-A",
            "trust",
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        self._write_conf(primary, self.primary_port)
        with open(primary / "pg_hba.conf", "a", encoding="utf-8") as f:
            f.write("local replication all trust\nhost replication all 127.0.0.1/32 trust\n")
        self._start_server(primary, self.primary_log)
        with self.connect(dbname="postgres") as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))

        # Standby: base backup with a replication slot and -R (standby.signal +
        # primary_conninfo over the unix socket), then its own port.
        self._run(
            "pg_basebackup",
            "-h",
            self.base,
            "-p",
            self.primary_port,
            "-U",
            SUPERUSER,
            "-D",
            standby,
            "-R",
            "-X",
            "stream",
            "-C",
            "-S",
            SLOT_NAME,
            "-c",
            "fast",
            "--no-sync",
        )
        with open(standby / "postgresql.conf", "a", encoding="utf-8") as f:
            f.write(f"port = {self.standby_port}\n")
        self._start_server(standby, self.standby_log)
        self._wait_for_standby(timeout=60)

    def _wait_for_standby(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with self.connect(standby=True) as conn:
                    row = conn.execute(
                        "SELECT pg_is_in_recovery(), status FROM pg_stat_wal_receiver"
                    ).fetchone()
                    if row and row[0] and row[1] == "streaming":
                        return
                    last_error = RuntimeError(f"standby state: {row}")
            except psycopg.Error as exc:
                last_error = exc
            time.sleep(0.05)
        raise _StartError(
            f"standby not streaming after {timeout}s: {last_error}\n"
            f"--- tail of {self.standby_log} ---\n{_tail(self.standby_log)}\n"
            f"--- tail of {self.primary_log} ---\n{_tail(self.primary_log)}"
        )

    def stop(self, keep_logs: bool = False) -> None:
        """Stop both servers (``pg_ctl -m fast``) and remove the directory.

        With ``keep_logs`` (or ``RELOG_PG_KEEP=1``) the log files survive.
        Safe to call more than once.
        """
        if self.base is None:
            return
        t0 = time.monotonic()
        self._cleanup(keep_logs=keep_logs)
        self.base = self.primary_port = self.standby_port = None
        self.timings["stop"] = time.monotonic() - t0

    def _cleanup(self, keep_logs: bool) -> None:
        # Standby first: the primary's walsender would otherwise wait for it.
        for datadir in list(reversed(self._running)):
            self._stop_server(datadir)
        if self._atexit_registered:
            atexit.unregister(self._atexit_stop)
            self._atexit_registered = False
        if self.base is None or not self.base.exists():
            return
        if os.environ.get("RELOG_PG_KEEP") == "1":
            return
        logs = [
            log
            for log in (self.primary_log, self.standby_log)
            if log is not None and log.parent == self.base and log.exists()
        ]
        if keep_logs and logs:
            for sub in ("primary", "standby"):
                shutil.rmtree(self.base / sub, ignore_errors=True)
            for log in logs:
                os.chmod(log, 0o644)
        else:
            shutil.rmtree(self.base, ignore_errors=True)

    def _atexit_stop(self) -> None:
        """Stop servers still running when the interpreter exits."""
        try:
            self.stop(keep_logs=True)
        except Exception as exc:
            print(f"PostgresCluster: stop at exit failed: {exc}", file=sys.stderr)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop(keep_logs=exc_type is not None)

    # ---------------------------------------------------------- operations

    def create_readonly_role(
        self, name: str = "relog_lecteur", statement_timeout: str | int = "2s"
    ) -> str:
        """Create (or reset) a read-only LOGIN role; return its standby URL.

        Executed on the primary, in ``dbname``: the role gets CONNECT on the
        database, USAGE on schema ``public``, SELECT on every table and view
        of ``public`` now and (default privileges of ``postgres``) later, and
        nothing else; ``default_transaction_read_only = on`` and
        ``statement_timeout`` are set on the role.  Waits until the standby
        has replayed it.
        """
        if not _IDENTIFIER_RE.match(name):
            raise ValueError(f"invalid role name {name!r}")
        role, db = sql.Identifier(name), sql.Identifier(self.dbname)
        statements = [
            sql.SQL(
                "ALTER ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
            ),
            sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
            sql.SQL("GRANT CONNECT ON DATABASE {db} TO {}"),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}"),
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}"),
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {su} IN SCHEMA public "
                "GRANT SELECT ON TABLES TO {}"
            ),
            sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on"),
            sql.SQL("ALTER ROLE {} SET statement_timeout = {timeout}"),
        ]
        with self.connect() as conn, conn.transaction():
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
            for stmt in statements:
                conn.execute(
                    stmt.format(
                        role,
                        db=db,
                        su=sql.Identifier(SUPERUSER),
                        timeout=sql.Literal(str(statement_timeout)),
                    )
                )
        self.wait_for_replay()
        return self.standby_url_for(name)

    def wait_for_replay(self, timeout: float = 30) -> None:
        """Wait until the standby has replayed all WAL written on the primary.

        Compares ``pg_current_wal_lsn()`` on the primary, read now, with
        ``pg_last_wal_replay_lsn()`` on the standby.  Raises
        :class:`TimeoutError` (with the standby log tail) after ``timeout``.
        """
        self._require_started()
        with self.connect() as conn:
            target = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.connect(standby=True) as conn:
            while True:
                replayed, done = conn.execute(
                    "SELECT pg_last_wal_replay_lsn()::text, pg_last_wal_replay_lsn() >= %s::pg_lsn",
                    (target,),
                ).fetchone()
                if done:
                    return
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"standby replayed up to {replayed}, primary is at {target} "
                        f"after {timeout}s\n--- tail of {self.standby_log} ---\n"
                        f"{_tail(self.standby_log)}"
                    )
                time.sleep(0.01)

    def standby_processes(self) -> list[int]:
        """The standby's postmaster and every process it started (backends, startup,
        WAL receiver…)."""
        self._require_started()
        postmaster = int((self.base / "standby" / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [postmaster, *map(int, children)]

    @contextmanager
    def standby_hung(self):
        """Within the block the standby is frozen (SIGSTOP on all its processes): its host
        still accepts and acknowledges connections, nothing answers. Resumed on exit."""
        pids = self.standby_processes()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield pids
        finally:
            for pid in [*pids, *self.standby_processes()]:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass

    def server_version(self) -> str:
        """``SELECT version()`` on the primary."""
        with self.connect() as conn:
            return conn.execute("SELECT version()").fetchone()[0]

    def __repr__(self) -> str:
        state = (
            f"primary=127.0.0.1:{self.primary_port}, "
            f"standby=127.0.0.1:{self.standby_port}, dir={self.base}"
            if self.base
            else "stopped"
        )
        return f"<PostgresCluster {self.bindir} {state}>"


class _StartError(RuntimeError):
    def __init__(self, message: str, port_in_use: bool = False) -> None:
        super().__init__(message)
        self.port_in_use = port_in_use
