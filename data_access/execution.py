"""Running statements on the replica: the engine, statement templates, the retry after a
dropped connection, the data version and the result cache keyed on it.

:class:`Execution` is the part of :class:`~data_access.replica.Replica` that knows SQL
execution and nothing of the questions: the queries call :meth:`Execution.frame`,
:meth:`Execution.arrays` and :meth:`Execution.statement`; the questions' answers are kept in
one process-wide cache (:meth:`Execution.cached`), keyed on the question, its arguments and
the replica's data version, so ten screens showing the same figures cost one query per data
version.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from data_access import deadline
from data_access.engine import create_replica_engine
from data_access.errors import QueryTimeout, RelogError, ReplicaUnavailable
from data_access.formatting import date_label, seconds_label
from data_access.schema import replica_meta
from data_access.settings import Settings, load_settings

log = logging.getLogger("relog.replica")


@dataclass(frozen=True)
class Freshness:
    """How recent the replica's data is."""

    #: When the shared file's data was extracted (``replica_meta.extraction``), if known.
    extraction: datetime | None
    #: Last transaction replayed by a PostgreSQL hot standby, if the replica is one.
    replay: datetime | None
    #: When this was read.
    read_at: datetime
    #: The data version that keys caches.
    version: str
    #: On a hot standby, seconds the replay is behind: 0 when it has replayed all the WAL
    #: it received, else the age of its last replayed transaction; ``None`` elsewhere.
    lag_s: float | None = None
    #: The version without the replay time: what identifies the extraction (a streaming
    #: standby's replay moves ``version`` with every transaction, not this).
    base_version: str | None = None

    @property
    def as_of(self) -> datetime:
        """The most recent moment the data is known to reflect: the standby's last replay,
        unless the data were extracted before it (a replica loaded from an extraction holds
        nothing newer than the extraction, however recent its replay); else the extraction;
        else the time of reading."""
        if (
            self.replay
            and self.extraction
            and _comparable(self.extraction) < _comparable(self.replay)
        ):
            return self.extraction
        return self.replay or self.extraction or self.read_at

    @property
    def last_day(self) -> date:
        """The last complete day the data cover: the day (in Paris) before :attr:`as_of`."""
        as_of = self.as_of.astimezone(_PARIS) if self.as_of.tzinfo is not None else self.as_of
        return as_of.date() - timedelta(days=1)

    def __str__(self) -> str:
        local = self.as_of.astimezone(_PARIS) if self.as_of.tzinfo else self.as_of
        verb = "répliquées" if self.replay and self.as_of is self.replay else "extraites"
        return f"Données {verb} le {date_label(local)}"


try:
    from zoneinfo import ZoneInfo

    _PARIS = ZoneInfo("Europe/Paris")
except Exception:  # pragma: no cover - tzdata missing
    _PARIS = UTC


@dataclass
class Health:
    """Whether the replica answers, as the reads found it: shared by a replica and its scoped
    views (one engine), read by the pages' banner and the health endpoint."""

    #: Since when (UTC) the replica has not answered, or ``None`` while it answers.
    unreachable_since: datetime | None = None
    #: The French message of the last failure to answer.
    message: str = ""
    #: Until when (``time.monotonic()``) reads fail at once instead of trying again.
    retry_at: float = 0.0
    #: How long a read trying again may take (its connection and deadline).
    trial_s: float = 30.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def failed(self, error: Exception, retry_s: float) -> None:
        _notify("echec", "", 0.0)
        with self.lock:
            if self.unreachable_since is None:
                self.unreachable_since = datetime.now(UTC)
            self.message = str(error)
            self.retry_at = time.monotonic() + retry_s

    def answered(self) -> None:
        if self.unreachable_since is not None:
            with self.lock:
                self.unreachable_since, self.message, self.retry_at = None, "", 0.0

    def may_try(self) -> bool:
        """False while a recent failure says the replica does not answer; then one read (the
        first to ask) tries again and the others keep failing at once until it answers."""
        with self.lock:
            if self.unreachable_since is None or time.monotonic() >= self.retry_at:
                if self.unreachable_since is not None:  # this read tries; the others wait for it
                    self.retry_at = time.monotonic() + self.trial_s
                return True
            return False


#: Called as ``observer(kind, name, seconds)`` after each cached question (``kind``:
#: « calcul », computed; « cache », read from the cache) and each read the replica did not
#: answer (« echec »): the server's metrics register one (:mod:`dashboards.monitoring`).
OBSERVERS: list[Callable[[str, str, float], None]] = []


def _notify(kind: str, name: str, seconds: float) -> None:
    for observer in OBSERVERS:
        try:
            observer(kind, name, seconds)
        except Exception:  # metrics never break a page
            log.exception("observer failed")


#: Times a read the standby cancelled because of a conflict with recovery (it was replaying
#: changes the read's snapshot still needed) is tried again, after 0.1 s then 0.2 s.
CONFLICT_RETRIES = 2


class _ResultCache:
    """A small thread-safe LRU shared by every Replica of the process.

    Single flight: a key being computed is not computed twice at once. A second caller (a
    prefetch thread, another session) waits for the first one's result; if the first one
    fails, a waiter computes it in its place (and gets its own error, if any)."""

    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self._pending: dict[Any, _Pending] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_compute(self, key, compute: Callable[[], Any]):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                pending = self._pending[key] = _Pending()
        if not owner:
            pending.done.wait()
            if pending.ok:
                with self._lock:
                    self.hits += 1
                return pending.value
            return self.get_or_compute(key, compute)  # the first one failed: try in its place
        try:
            value = compute()
            pending.value, pending.ok = value, True
            with self._lock:
                self.misses += 1
                self._data[key] = value
                while len(self._data) > self.size:
                    self._data.popitem(last=False)
            return value
        finally:
            with self._lock:
                del self._pending[key]
            pending.done.set()


class _Pending:
    """A result being computed: its waiters wake when ``done`` is set."""

    __slots__ = ("done", "ok", "value")

    def __init__(self):
        self.done = threading.Event()
        self.ok = False
        self.value = None


#: Threads that start a page's questions at once (:meth:`Execution.prefetch`). Four: the
#: views of a page (key figures, chart, table and its total, the pipeline); each query also
#: runs on DuckDB's own threads, and a PostgreSQL pool holds five connections and five more.
_PREFETCH = ThreadPoolExecutor(max_workers=4, thread_name_prefix="relog-prefetch")


#: The freshness lookup, built once: the replica's metadata and, on PostgreSQL, the server's
#: recovery state and last replayed transaction in the same statement (one round trip).
_META = sa.select(replica_meta.c.cle, replica_meta.c.valeur)
#: The replay lag: none while the standby has replayed all the WAL it received (an idle
#: primary sends nothing, however old its last transaction), else the age of the last
#: replayed transaction.
_LAG = sa.case(
    (
        sa.func.pg_last_wal_receive_lsn() == sa.func.pg_last_wal_replay_lsn(),
        sa.literal(0.0),
    ),
    else_=sa.extract("epoch", sa.func.now() - sa.func.pg_last_xact_replay_timestamp()),
)
_SERVER = sa.select(
    sa.func.pg_is_in_recovery().label("recovery"),
    sa.func.pg_last_xact_replay_timestamp().label("replay"),
    _LAG.label("lag_s"),
).subquery("serveur")
_META_REPLAY = sa.select(
    _SERVER.c.recovery, _SERVER.c.replay, _SERVER.c.lag_s, replica_meta.c.cle, replica_meta.c.valeur
).select_from(_SERVER.outerjoin(replica_meta, sa.true()))
FRESHNESS_STATEMENTS = (_META, _META_REPLAY)


def version_of(meta: dict[str, str], replay: datetime | None) -> str:
    """The data version keying caches: the replica's ``version`` and ``extraction`` metadata
    and, on a standby, its last replay time."""
    parts = [meta.get("version"), meta.get("extraction"), replay.isoformat() if replay else None]
    return "|".join(filter(None, parts))


#: The live replica, as a computation's pinned source (see :meth:`Execution.live`).
LIVE = "live"
#: The source a computation reads, fixed when it starts (:meth:`Execution.cached`): a
#: summary (:class:`_Source`), :data:`LIVE`, or unset (the current summary if any).
_PINNED: contextvars.ContextVar = contextvars.ContextVar("relog_source", default=None)


class _SummaryUnreadable(Exception):
    """A summary a computation was pinned to failed: the computation is run again on the
    live replica (:meth:`Execution.cached`)."""


@dataclass(frozen=True)
class _Source:
    """A summary and the read-only engine on its file."""

    summary: Any  # data_access.summaries.Summary
    engine: sa.Engine


class _Summaries:
    """The summaries of one replica as its readers see them: the current file's engine,
    the pointer looked at on each read (one ``stat``; read again only when it changed)."""

    def __init__(self, url: str | None, settings: Settings):
        from data_access.summaries.store import SummaryStore

        self.settings = settings
        self.store = SummaryStore.of(url, settings)
        self._source: _Source | None = None
        self._broken: set[str] = set()
        self._lock = threading.Lock()

    def source(self) -> _Source | None:
        summary = self.store.current()
        current = self._source
        if summary is not None and str(summary.path) in self._broken:
            summary = None
        if summary is None or current is None or current.summary.path != summary.path:
            with self._lock:
                if summary is None:
                    self._swap(None)
                elif self._source is None or self._source.summary.path != summary.path:
                    engine = create_replica_engine(f"duckdb:///{summary.path}", self.settings)
                    self._swap(_Source(summary, engine))
                current = self._source
        return current

    def broken(self, source: _Source) -> None:
        """A read of ``source`` failed (file removed, damaged): not read again; the next
        summary published will be."""
        with self._lock:
            self._broken.add(str(source.summary.path))
            if self._source is source:
                self._swap(None)

    def is_broken(self, source: _Source) -> bool:
        return str(source.summary.path) in self._broken

    def _swap(self, new: _Source | None) -> None:
        old, self._source = self._source, new
        if old is not None and old is not new:
            old.engine.dispose()

    def dispose(self) -> None:
        with self._lock:
            self._swap(None)


#: One result cache per process, shared by every Replica (hence every Panel session).
_CACHE = _ResultCache(load_settings().cache_size)


def _column(values):
    """A NumPy column from DuckDB as the row path gives it: masked arrays (NULLs) become
    object columns holding None, dates stay datetime64."""
    if isinstance(values, np.ma.MaskedArray):
        if not values.mask.any():
            return values.data
        out = values.data.astype(object)
        out[values.mask] = None
        return out
    return values


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _array(values: list) -> np.ndarray:
    """A column of PostgreSQL's rows as NumPy, built directly: integers (no NULL) as int64, as
    pandas would type them (its inference costs ≈ 0.1 ms a column), and dates (no NULL) as
    datetime64[D], which pandas would leave as objects: what DuckDB gives for a date column,
    and converting date objects later costs ≈ 1 µs each, a millisecond on a monthly
    breakdown. Anything else as pandas types it."""
    if values:
        kind = type(values[0])
        if kind is int and all(type(v) is int for v in values):
            return np.fromiter(values, dtype=np.int64, count=len(values))
        if kind is date and all(type(v) is date for v in values):
            days = np.fromiter((v.toordinal() for v in values), dtype=np.int64, count=len(values))
            return (days - _EPOCH_ORDINAL).astype("datetime64[D]")
    return pd.Series(values, dtype=None).to_numpy()


class Execution:
    """The engine of one replica and what runs on it (see the module docstring)."""

    def __init__(
        self, url: str | None = None, settings: Settings | None = None, cache: bool = True
    ):
        self.settings = settings or load_settings()
        self.url = url if url is not None else self.settings.database_url
        self.engine = create_replica_engine(self.url, self.settings)
        self.cache_enabled = cache
        self._cache = _CACHE
        self._version: tuple[float, Freshness] | None = None
        self._version_lock = threading.Lock()
        self._version_reading: Future | None = None
        self.health = Health(trial_s=self.settings.deadline_s + self.settings.connect_timeout_s)
        self._per_version_store: dict[Any, tuple[str, Any]] = {}
        # statement templates: a few dozen shapes in practice; bounded all the same
        self._templates = _ResultCache(512)
        self._summaries = _Summaries(self.url, self.settings) if self.settings.summaries else None

    @property
    def dialect(self) -> str:
        """« postgresql » or « duckdb »: a few queries pick the plan each engine runs best.
        The engine that answers: « duckdb » while a summary does."""
        return "duckdb" if self._active_source() is not None else self.engine.dialect.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.engine.url.render_as_string(hide_password=True)}>"

    def dispose(self) -> None:
        self.engine.dispose()
        if self._summaries is not None:
            self._summaries.dispose()

    def statement(self, shape: tuple, build: Callable[[], sa.Executable]) -> sa.Executable:
        """The statement template of ``shape``, built once per replica and source (see
        :func:`data_access.queries.base.run_template`): for a summary, built on the facts it
        computed (:data:`~data_access.queries.base.ON_SUMMARY`)."""
        from data_access.queries.base import FACTS, JOINED, ON_SUMMARY

        source = self._active_source()
        reading = None
        if source is not None:
            reading = JOINED if source.summary.joined else FACTS

        def built() -> sa.Executable:
            token = ON_SUMMARY.set(reading)
            try:
                return build()
            finally:
                ON_SUMMARY.reset(token)

        kind = f"resume ({reading})" if reading else self.engine.dialect.name
        return self._templates.get_or_compute((kind, *shape), built)

    # ------------------------------------------------------------------ summaries
    @property
    def summary_store(self):
        """This replica's :class:`~data_access.summaries.SummaryStore`, or ``None`` when
        summaries are disabled (``RELOG_SUMMARIES=0``)."""
        return self._summaries.store if self._summaries is not None else None

    @property
    def summary(self):
        """The summary the figures are read from now (:mod:`data_access.summaries`), or
        ``None`` (none built, not current, or disabled: the live replica answers)."""
        source = self._active_source()
        return source.summary if source is not None else None

    def snapshot(
        self, at: date, seniority: Iterable[int] = (), dalo: Iterable[int] = ()
    ) -> dict[str, int] | None:
        """The values that read the demand's snapshot of ``at`` (with these seniority and
        DALO thresholds, in months) in the summary this read goes to, or ``None`` when none
        answers or it holds no such snapshot (:mod:`data_access.queries.snapshots`)."""
        from data_access.queries.snapshots import snapshot_values

        source = self._active_source()
        return snapshot_values(source.summary if source else None, at, seniority, dalo)

    @contextmanager
    def live(self):
        """Within this block, the live replica answers, even when a summary is current (the
        quality checks, the summary's own build)."""
        token = _PINNED.set(LIVE)
        try:
            yield
        finally:
            _PINNED.reset(token)

    def _active_source(self) -> _Source | None:
        """The summary this read goes to: the computation's pinned one, else the current
        summary if it holds the replica's data (:meth:`_is_current`), else none."""
        pinned = _PINNED.get()
        if pinned == LIVE or self._summaries is None:
            return None
        if pinned is not None:
            return None if self._summaries.is_broken(pinned) else pinned
        source = self._summaries.source()
        return source if source is not None and self._is_current(source.summary) else None

    def _is_current(self, summary) -> bool:
        """A summary answers for the replica when it holds the replica's data version; on a
        streaming standby (whose version moves with each replayed transaction), when it holds
        the same extraction and is younger than twice ``summary_interval_s``; and whenever
        the replica does not answer (the last figures stand, under the pages' banner)."""
        try:
            live = self.live_freshness_cached()
        except RelogError:
            return True
        if summary.version == live.version:
            return True
        return (
            live.replay is not None
            and summary.base_version == live.base_version
            and summary.age_s() <= 2 * self.settings.summary_interval_s
        )

    def frame(
        self, stmt: sa.Executable, columns: list[str], parameters: dict | None = None
    ) -> pd.DataFrame:
        """Run a ``select()`` (with the values of its named ``parameters``) and return its rows
        as a DataFrame with ``columns``."""
        return pd.DataFrame(self._fetch(stmt, columns, parameters), columns=columns)

    def arrays(
        self, stmt: sa.Executable, columns: list[str], parameters: dict | None = None
    ) -> dict[str, np.ndarray]:
        """:meth:`frame`'s columns as NumPy arrays (PostgreSQL's through :func:`_array`), for
        the queries that reshape their rows before building one DataFrame (a DataFrame costs
        ≈ 0.2 ms, a few % of a department's query)."""
        return {
            name: values if isinstance(values, np.ndarray) else _array(values)
            for name, values in self._fetch(stmt, columns, parameters).items()
        }

    def _fetch(
        self, stmt: sa.Executable, columns: list[str], parameters: dict | None
    ) -> dict[str, Any]:
        """The rows of ``stmt`` column by column.

        - A pooled connection the server has closed since its last use (a restart, a
          failover, an idle timeout) fails its first statement; SQLAlchemy then discards every
          connection the pool held before that moment, and the read is tried once more on a
          new one, instead of a liveness ping before every statement (a round trip each).
        - A read the standby cancelled for a conflict with recovery is tried again
          (:data:`CONFLICT_RETRIES`).
        - On PostgreSQL, a read unanswered after ``deadline_s`` is cut (:mod:`.deadline`).
        - Once the replica did not answer (cut, refused, unreachable), reads fail at once
          with the same French message for ``unreachable_retry_s``; then one tries again.

        While a summary is current the statement runs on it; a summary that fails (removed,
        damaged) is dropped and the live replica answers."""
        source = self._active_source()
        if source is not None:
            # for a PostgreSQL replica, Python values row by row, as its driver gives them:
            # the answer is then the live one in its types too (a date, not a datetime64)
            rows = self.engine.dialect.name == "postgresql"
            try:
                return _fetch_duckdb(source.engine, stmt, columns, parameters, rows)
            except sa_exc.DBAPIError as err:
                log.warning("summary %s unreadable, live replica instead: %s",
                            source.summary.path.name, str(err.orig).splitlines()[:1])  # fmt: skip
                self._summaries.broken(source)
                if _PINNED.get() is source:  # its statements may read the summary's facts:
                    raise _SummaryUnreadable from err  # the computation starts again, live
        if not self.health.may_try():
            raise ReplicaUnavailable(self.health.message)
        reconnected, conflicts = False, 0
        while True:
            watch = None
            try:
                with self.engine.connect() as conn:
                    guard = (
                        deadline.watch(conn.connection.dbapi_connection, self.settings.deadline_s)
                        if self.engine.dialect.name == "postgresql"
                        else nullcontext()
                    )
                    with guard as watch:
                        result = conn.execute(stmt, parameters)
                        if self.engine.dialect.name == "duckdb":
                            # DuckDB hands its result over column by column (NumPy): no Python
                            # row per result row, which costs more than the query on large
                            # results
                            arrays = _numpy_columns(result, columns)
                            self.health.answered()
                            return arrays
                        rows = result.fetchall()
                break
            except sa_exc.DBAPIError as err:
                if watch is not None and watch.expired:
                    error = ReplicaUnavailable(
                        "La base de données de la réplique n'a pas répondu en "
                        f"{seconds_label(self.settings.deadline_s)} : lecture abandonnée. Les "
                        "chiffres reviendront d'eux-mêmes quand elle répondra ; si le problème "
                        "persiste, prévenez l'administrateur."
                    )
                    self.health.failed(error, self.settings.unreachable_retry_s)
                    raise error from err
                sqlstate = getattr(err.orig, "sqlstate", None)
                if sqlstate == "40001" and conflicts < CONFLICT_RETRIES:
                    conflicts += 1
                    log.info("read cancelled by a recovery conflict: tried again (%d)", conflicts)
                    time.sleep(0.1 * conflicts)
                    continue
                if not reconnected and err.connection_invalidated:
                    reconnected = True
                    continue
                error = self._translate(err)
                if isinstance(err, sa_exc.OperationalError) and sqlstate is None:
                    self.health.failed(error, self.settings.unreachable_retry_s)  # no answer
                else:
                    self.health.answered()  # it answered, with an error
                raise error from err
        self.health.answered()
        return _row_columns(rows, columns)

    def _translate(self, err: sa_exc.DBAPIError) -> Exception:
        """A French message for the user; the driver's own text (host, port, file paths,
        SQL) goes to the server's log only."""
        sqlstate = getattr(err.orig, "sqlstate", None)
        log.warning("replica error (sqlstate %s): %s", sqlstate, str(err.orig).splitlines()[:3])
        if sqlstate == "57014":  # query_canceled: statement_timeout
            return QueryTimeout(
                "La requête a dépassé le délai maximal de "
                f"{seconds_label(self.settings.statement_timeout_s)} et a été annulée."
            )
        if sqlstate == "40001":  # hot standby: conflict with recovery
            return ReplicaUnavailable(
                "La réplique était en cours de mise à jour : réessayez dans un instant."
            )
        if not isinstance(err, sa_exc.OperationalError):
            return ReplicaUnavailable(
                "La réplique ne répond pas comme prévu (vue manquante ou modifiée ?). Prévenez "
                "l'administrateur : le détail est dans le journal du serveur."
            )
        return ReplicaUnavailable(
            "La base de données de la réplique est injoignable pour le moment. "
            "Réessayez dans quelques minutes ; si le problème persiste, prévenez l'administrateur "
            "(le détail est dans le journal du serveur)."
        )

    def cached(self, name: str, args: tuple, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """``compute()``, kept in the process-wide cache under the replica, its data version,
        its settings, ``name`` and ``args`` (hashable); each caller gets its own copy."""
        # one source for the whole computation (and the questions it asks): the summary current
        # now, or the live replica; the answer is kept under that source's data version
        source = self._active_source()
        pinned = source if source is not None else LIVE

        def on_source() -> pd.DataFrame:
            token = _PINNED.set(pinned)
            try:
                return compute()
            except _SummaryUnreadable:
                _PINNED.reset(token)
                token = _PINNED.set(LIVE)
                return compute()
            finally:
                _PINNED.reset(token)

        if not self.cache_enabled:
            return on_source()
        version = (
            source.summary.version if source is not None else self.live_freshness_cached().version
        )
        key = (self.url or str(self.settings.demo_path), self.settings, version, name, args)
        if not OBSERVERS:
            return self._cache.get_or_compute(key, on_source).copy()
        computed = []

        def timed():
            computed.append(True)
            return on_source()

        start = time.perf_counter()
        value = self._cache.get_or_compute(key, timed)
        _notify("calcul" if computed else "cache", name, time.perf_counter() - start)
        return value.copy()

    def prefetch(self, calls: Iterable[Callable[[], Any]]) -> list[Future]:
        """Start ``calls`` (the questions a page is about to ask) at once on a few threads
        and return: the queries run side by side (DuckDB and psycopg release the GIL), and
        when the page asks the same questions, one after the other as it draws, it waits for
        the results in flight and reads them from the cache. Errors are left to the page's
        own call, which raises them where they are shown. Nothing to gain without a cache."""
        if not self.cache_enabled:
            return []
        return [_PREFETCH.submit(_quietly, call) for call in calls]

    def per_version(self, key, build: Callable[[], Any]) -> Any:
        """``build()``, computed once per data version of the replica (references, labels)."""
        version = self.data_version()
        cached = self._per_version_store.get(key)
        if cached is None or cached[0] != version:
            cached = self._per_version_store[key] = (version, build())
        return cached[1]

    # ------------------------------------------------------------------ data version, freshness
    def freshness(self) -> Freshness:
        """When the replica's data was extracted and, on a PostgreSQL hot standby, the time
        of the last replayed transaction."""
        with self.live():
            return self._freshness()

    def _freshness(self) -> Freshness:
        read_at = datetime.now(UTC)
        replay = lag_s = None
        if self.engine.dialect.name == "postgresql":
            rows = self._fetch(_META_REPLAY, ["recovery", "replay", "lag_s", "cle", "valeur"], None)
            in_recovery, replay_ts = rows["recovery"][0], rows["replay"][0]
            replay = replay_ts if in_recovery and replay_ts is not None else None
            if replay is not None and rows["lag_s"][0] is not None:
                lag_s = max(0.0, float(rows["lag_s"][0]))
        else:
            rows = self._fetch(_META, ["cle", "valeur"], None)
        meta = {k: v for k, v in zip(rows["cle"], rows["valeur"]) if k is not None}
        return Freshness(
            extraction=_parse_ts(meta.get("extraction")),
            replay=replay,
            read_at=read_at,
            version=version_of(meta, replay),
            lag_s=lag_s,
            base_version=version_of(meta, None),
        )

    def freshness_cached(self) -> Freshness:
        """The freshness of the figures shown: the current summary's (the data as of its
        build) when one answers, else the live replica's (:meth:`live_freshness_cached`)."""
        source = self._active_source()
        if source is not None:
            return source.summary.freshness()
        return self.live_freshness_cached()

    def live_freshness_cached(self) -> Freshness:
        """:meth:`freshness`, read again at most every ``version_ttl_s`` seconds.

        - On an event loop (a served page's callback), an expired one is read again on a
          thread and the last one stands meanwhile: the loop never waits for the database
          when it has an answer (a hung standby would freeze every session).
        - While the replica does not answer, the last one read stands too (the figures
          already computed for it are still shown, under the pages' banner); without one,
          the French error."""
        now = time.monotonic()
        with self._version_lock:
            known = self._version
            if known and now - known[0] < self.settings.version_ttl_s:
                return known[1]
            if known and _on_event_loop():
                if self._version_reading is None or self._version_reading.done():
                    self._version_reading = _PREFETCH.submit(_quietly, self._read_freshness)
                return known[1]
        try:
            return self._read_freshness()
        except ReplicaUnavailable:
            if known is None or self.health.unreachable_since is None:
                raise
            return known[1]

    def _read_freshness(self) -> Freshness:
        now = time.monotonic()
        fresh = self.freshness()
        with self._version_lock:
            self._version = (now, fresh)
        return fresh

    def data_version(self) -> str:
        """The data version of the figures (extraction, version and, on a standby, replay
        time): the current summary's when one answers."""
        return self.freshness_cached().version


def _fetch_duckdb(
    engine: sa.Engine,
    stmt: sa.Executable,
    columns: list[str],
    parameters: dict | None,
    rows: bool = False,
) -> dict[str, Any]:
    """The rows of ``stmt`` on a DuckDB engine, column by column: NumPy arrays, or with
    ``rows`` lists of Python values (what :meth:`Execution._fetch` makes of PostgreSQL's)."""
    with engine.connect() as conn:
        result = conn.execute(stmt, parameters)
        return _driver_columns(result, columns) if rows else _numpy_columns(result, columns)


#: DuckDB types whose NumPy column converts exactly into the values PostgreSQL's driver gives
#: for the same column: integers, floats, text, dates, booleans (a DECIMAL, given as float by
#: NumPy and as Decimal by both drivers, or a timestamp, is read row by row).
_NUMPY_LIKE_DRIVER = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
     "UINTEGER", "DOUBLE", "FLOAT", "VARCHAR", "DATE", "BOOLEAN"}
)  # fmt: skip


def _driver_columns(result, columns: list[str]) -> dict[str, Any]:
    """A DuckDB result's columns as PostgreSQL's rows give them (:func:`_row_columns`), built
    from its NumPy columns: a summary read for a PostgreSQL replica answers in the live
    answer's types (a date, not a datetime64; NULLs as None), without a Python row per
    result row (national: a 125,000-row answer took ≈ 300 ms row by row)."""
    cursor = result.cursor
    types = [str(d[1]) for d in cursor.description]
    if not all(t in _NUMPY_LIKE_DRIVER for t in types):
        return _row_columns(result.fetchall(), columns)
    arrays = cursor.fetchnumpy()
    result.close()
    if not arrays or not len(next(iter(arrays.values()))):
        return _row_columns([], columns)  # no row: pandas types empty lists its own way
    return {
        name: _driver_column(values, kind)
        for name, values, kind in zip(columns, arrays.values(), types)
    }


def _driver_column(values: np.ndarray, kind: str) -> np.ndarray | list:
    """One NumPy column as PostgreSQL's driver gives it: dates as ``date`` objects, NULLs as
    None (a list: pandas then types it as it types the driver's), integers as int64 (HUGEINT,
    DuckDB's sum of integers, comes as float)."""
    if kind == "DATE":
        return values.astype("datetime64[D]").tolist()
    if isinstance(values, np.ma.MaskedArray):
        if values.mask.any():
            return values.tolist()
        values = values.data
    if kind == "VARCHAR":
        return values.tolist() if pd.isna(values).any() else values
    if kind not in ("DOUBLE", "FLOAT", "BOOLEAN"):
        return values.astype(np.int64)
    return values


def _numpy_columns(result, columns: list[str]) -> dict[str, Any]:
    """A DuckDB result's columns as NumPy arrays (:func:`_column`), the result closed."""
    arrays = result.cursor.fetchnumpy()
    result.close()
    return {name: _column(values) for name, values in zip(columns, arrays.values())}


def _row_columns(rows: list, columns: list[str]) -> dict[str, list]:
    """Rows as lists of Python values column by column: pandas probing Row objects costs
    more than the query."""
    data = list(zip(*rows)) if rows else [()] * len(columns)
    return {name: list(values) for name, values in zip(columns, data)}


def _on_event_loop() -> bool:
    """Whether this runs on a running asyncio event loop's thread (a served page)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _quietly(call: Callable[[], Any]) -> None:
    try:
        call()
    except Exception:
        log.debug("prefetch failed", exc_info=True)


def _comparable(moment: datetime) -> datetime:
    """An aware datetime (a naive one is read as Paris time, as the shared file writes it)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=_PARIS)


def _parse_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
