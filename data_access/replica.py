"""The replica as the apps and notebooks see it: one object, plain methods, tidy DataFrames.

>>> replica = connect()                      # the embedded demo, read-only
>>> replica.monthly_rehousing(Filters(start="2024-01", end="2024-12"), by="reservataire")

Every method validates the filters against the replica's reference tables, applies the
scope in SQL, and caches its result in a process-wide cache keyed on the method, its
arguments and the replica's data version, so ten screens showing the same figures cost one
query per data version.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from data_access.engine import create_replica_engine
from data_access.errors import FilterError, QueryTimeout, ReplicaUnavailable
from data_access.filters import Filters, Period, Scope, add_months, days_in_month
from data_access.formatting import date_label, month_label
from data_access.queries import demand_supply as demand_supply_q
from data_access.queries import objectives as objectives_q
from data_access.queries import pipeline as pipeline_q
from data_access.queries import priority as priority_q
from data_access.queries import quality as quality_q
from data_access.queries import rehousing as rehousing_q
from data_access.queries.base import UNKNOWN
from data_access.schema import (
    CRITERES,
    GROUPES_CRITERE,
    NATURES_RESERVATAIRE,
    SANS_CRITERE,
    bail,
    bailleur,
    commune,
    epci,
    qpv,
    replica_meta,
    reservataire,
)
from data_access.settings import Settings, load_settings


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

    def __str__(self) -> str:
        local = self.as_of.astimezone(_PARIS) if self.as_of.tzinfo else self.as_of
        verb = "répliquées" if self.replay and self.as_of is self.replay else "extraites"
        return f"Données {verb} le {date_label(local)}"


try:
    from zoneinfo import ZoneInfo

    _PARIS = ZoneInfo("Europe/Paris")
except Exception:  # pragma: no cover - tzdata missing
    _PARIS = UTC


class _ResultCache:
    """A small thread-safe LRU shared by every Replica of the process."""

    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_compute(self, key, compute: Callable[[], Any]):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
        value = compute()
        with self._lock:
            self.misses += 1
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value


#: The freshness lookup, built once: the replica's metadata and, on PostgreSQL, the server's
#: recovery state and last replayed transaction in the same statement (one round trip).
_META = sa.select(replica_meta.c.cle, replica_meta.c.valeur)
_SERVER = sa.select(
    sa.func.pg_is_in_recovery().label("recovery"),
    sa.func.pg_last_xact_replay_timestamp().label("replay"),
).subquery("serveur")
_META_REPLAY = sa.select(
    _SERVER.c.recovery, _SERVER.c.replay, replica_meta.c.cle, replica_meta.c.valeur
).select_from(_SERVER.outerjoin(replica_meta, sa.true()))
FRESHNESS_STATEMENTS = (_META, _META_REPLAY)

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


class Replica:
    """A read-only view on the shared file's replica. Create it with :func:`connect`."""

    def __init__(
        self,
        url: str | None = None,
        scope: Scope | None = None,
        settings: Settings | None = None,
        cache: bool = True,
    ):
        self.settings = settings or load_settings()
        self.url = url if url is not None else self.settings.database_url
        self.engine = create_replica_engine(self.url, self.settings)
        self.default_scope = scope or Scope.departement()
        self.cache_enabled = cache
        self._cache = _CACHE
        self._version: tuple[float, Freshness] | None = None
        self._version_lock = threading.Lock()
        self._references: dict[str, Any] = {}
        # statement templates: a few dozen shapes in practice; bounded all the same
        self._templates = _ResultCache(512)

    @property
    def dialect(self) -> str:
        """« postgresql » or « duckdb »: a few queries pick the plan each engine runs best."""
        return self.engine.dialect.name

    def __repr__(self) -> str:
        return f"<Replica {self.engine.url.render_as_string(hide_password=True)}>"

    def dispose(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ execution
    def statement(self, shape: tuple, build: Callable[[], sa.Executable]) -> sa.Executable:
        """The statement template of ``shape``, built once per replica (see
        :func:`data_access.queries.base.run_template`)."""
        return self._templates.get_or_compute(shape, build)

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
        """The rows of ``stmt`` column by column. A pooled connection the server has closed
        since its last use (a restart, a failover, an idle timeout) fails its first statement;
        SQLAlchemy then discards every connection the pool held before that moment, and the
        read is tried once more on a new one, instead of a liveness ping before every
        statement (a round trip each)."""
        for attempt in (1, 2):
            try:
                with self.engine.connect() as conn:
                    result = conn.execute(stmt, parameters)
                    if self.dialect == "duckdb":
                        # DuckDB hands its result over column by column (NumPy): no Python row
                        # per result row, which costs more than the query on large results
                        arrays = result.cursor.fetchnumpy()
                        result.close()
                        return {
                            name: _column(values) for name, values in zip(columns, arrays.values())
                        }
                    rows = result.fetchall()
                break
            except sa_exc.DBAPIError as err:
                if attempt == 1 and err.connection_invalidated:
                    continue
                raise self._translate(err) from err
        # column-wise from plain tuples: pandas probing Row objects costs more than the query
        data = list(zip(*rows)) if rows else [()] * len(columns)
        return {name: list(values) for name, values in zip(columns, data)}

    def _translate(self, err: sa_exc.DBAPIError) -> Exception:
        sqlstate = getattr(err.orig, "sqlstate", None)
        text = str(err)
        if sqlstate == "57014":  # query_canceled: statement_timeout
            return QueryTimeout(
                f"La requête a dépassé le délai maximal de "
                f"{self.settings.statement_timeout_s:g} s et a été annulée."
            )
        if sqlstate == "40001":  # hot standby: conflict with recovery
            return ReplicaUnavailable(
                "La réplique était en cours de mise à jour : réessayez dans un instant."
            )
        if not isinstance(err, sa_exc.OperationalError):
            return ReplicaUnavailable(
                "La réplique ne répond pas comme prévu (vue manquante ou modifiée ?). Prévenez "
                f"l'administrateur. (Détail technique : {text.splitlines()[0][:200]})"
            )
        return ReplicaUnavailable(
            "La base de données de la réplique est injoignable pour le moment. "
            "Réessayez dans quelques minutes ; si le problème persiste, prévenez l'administrateur. "
            f"(Détail technique : {text.splitlines()[0][:200]})"
        )

    def _cached(self, name: str, args: tuple, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        if not self.cache_enabled:
            return compute()
        key = (self.url or str(self.settings.demo_path), self.data_version(), name, args)
        return self._cache.get_or_compute(key, compute).copy()

    # ------------------------------------------------------------------ data version, freshness
    def freshness(self) -> Freshness:
        """When the replica's data was extracted and, on a PostgreSQL hot standby, the time
        of the last replayed transaction."""
        read_at = datetime.now(UTC)
        replay = None
        if self.dialect == "postgresql":
            rows = self._fetch(_META_REPLAY, ["recovery", "replay", "cle", "valeur"], None)
            in_recovery, replay_ts = rows["recovery"][0], rows["replay"][0]
            replay = replay_ts if in_recovery and replay_ts is not None else None
        else:
            rows = self._fetch(_META, ["cle", "valeur"], None)
        meta = {k: v for k, v in zip(rows["cle"], rows["valeur"]) if k is not None}
        extraction = _parse_ts(meta.get("extraction"))
        version = "|".join(
            filter(
                None,
                [
                    meta.get("version"),
                    meta.get("extraction"),
                    replay.isoformat() if replay else None,
                ],
            )
        )
        return Freshness(extraction=extraction, replay=replay, read_at=read_at, version=version)

    def freshness_cached(self) -> Freshness:
        """:meth:`freshness`, read again at most every ``version_ttl_s`` seconds."""
        now = time.monotonic()
        with self._version_lock:
            if self._version and now - self._version[0] < self.settings.version_ttl_s:
                return self._version[1]
        fresh = self.freshness()
        with self._version_lock:
            self._version = (now, fresh)
        return fresh

    def data_version(self) -> str:
        """The replica's data version (extraction, version and, on a standby, replay time)."""
        return self.freshness_cached().version

    def reference_date(self) -> date:
        """The last complete day the data covers: the day (in Paris) before the extraction or
        the standby's last replay."""
        as_of = self.freshness_cached().as_of
        if as_of.tzinfo is not None:
            as_of = as_of.astimezone(_PARIS)
        return as_of.date() - timedelta(days=1)

    def default_period(self) -> Period:
        """The 12 last complete months before the reference date."""
        ref = self.reference_date()
        last_complete = add_months(
            date(ref.year, ref.month, 1), -1 if ref.day < days_in_month(ref) else 0
        )
        return Period(add_months(last_complete, -11), last_complete)

    def period(self, filters: Filters) -> Period:
        default = self.default_period()
        end = filters.end or default.end
        start = filters.start or (add_months(end, -11) if filters.end else default.start)
        if start > end:
            raise FilterError(
                f"La période est vide : le mois de début ({month_label(start)}) est postérieur "
                f"au dernier mois retenu ({month_label(end)}), le dernier mois complet de la "
                "réplique si vous n'en avez pas choisi."
            )
        return Period(start, end)

    # ------------------------------------------------------------------ reference tables
    def reference(self, name: str) -> pd.DataFrame:
        """A reference table indexed by ``code`` with ``libelle``: ``epci``, ``commune`` (with
        its ``epci``), ``reservataire`` (with its ``nature``), ``bailleur`` or ``qpv`` (with its
        ``commune``). Read once per data version."""
        return self._reference(name).copy()

    def _per_version(self, key, build: Callable[[], Any]) -> Any:
        """``build()``, computed once per data version of the replica."""
        version = self.data_version()
        cached = self._references.get(key)
        if cached is None or cached[0] != version:
            cached = self._references[key] = (version, build())
        return cached[1]

    def _reference(self, name: str) -> pd.DataFrame:
        def read() -> pd.DataFrame:
            stmt, cols = {
                "epci": (sa.select(epci.c.siren, epci.c.nom), ["code", "libelle"]),
                "commune": (
                    sa.select(commune.c.code_insee, commune.c.nom, commune.c.epci_siren),
                    ["code", "libelle", "epci"],
                ),
                "reservataire": (
                    sa.select(reservataire.c.id, reservataire.c.nom, reservataire.c.nature),
                    ["code", "libelle", "nature"],
                ),
                "bailleur": (sa.select(bailleur.c.id, bailleur.c.nom), ["code", "libelle"]),
                "qpv": (
                    sa.select(qpv.c.code_qpv, qpv.c.nom, qpv.c.commune_code),
                    ["code", "libelle", "commune"],
                ),
            }[name]
            return self.frame(stmt, cols).set_index("code")

        return self._per_version(name, read)

    def labels(self, dimension: str) -> pd.Series:
        """Code → French label for a breakdown dimension (built once per data version)."""
        return self._per_version(("labels", dimension), lambda: self._labels(dimension)).copy()

    def _labels(self, dimension: str) -> pd.Series:
        if dimension == "nature_reservataire":
            labels = pd.Series(NATURES_RESERVATAIRE)
        elif dimension == "critere":
            labels = pd.Series(
                {
                    **{c: label for c, (label, _) in CRITERES.items()},
                    SANS_CRITERE[0]: SANS_CRITERE[1],
                }
            )
        elif dimension == "groupe_critere":
            labels = pd.Series({**GROUPES_CRITERE, SANS_CRITERE[0]: SANS_CRITERE[1]})
        else:
            labels = self._reference(dimension)["libelle"]
        return pd.concat([labels, pd.Series({UNKNOWN: "Non renseigné"})])

    def describe(self, filters: Filters) -> list[tuple[str, str]]:
        """The filters (period aside) as French (label, value) pairs, names rather than codes:
        what exports write above a table."""
        dimensions = {
            "reservataires": "reservataire",
            "natures_reservataire": "nature_reservataire",
            "epci": "epci",
            "communes": "commune",
            "bailleurs": "bailleur",
            "criteres": "critere",
        }

        def name(field: str, code) -> str:
            return self.labels(dimensions[field]).get(code, code) if field in dimensions else code

        return filters.replace(start=None, end=None).describe(name)

    def territories(self, level: str, filters: Filters, scope: Scope) -> pd.DataFrame:
        """Communes or EPCI of the reference within filters and scope, indexed by code."""
        communes = self._reference("commune")
        epci, code = communes["epci"], communes.index.to_series()
        keep = pd.Series(True, index=communes.index)
        # an empty filter means « tous »; an empty scope axis means « rien »
        if filters.epci:
            keep &= epci.isin(filters.epci)
        if filters.communes:
            keep &= code.isin(filters.communes)
        if scope.epci is not None:
            keep &= epci.isin(scope.epci)
        if scope.communes is not None:
            keep &= code.isin(scope.communes)
        kept = communes[keep]
        if level == "commune":
            return kept[["libelle", "epci"]]
        return self._reference("epci").loc[
            lambda f: f.index.isin(kept["epci"].unique()), ["libelle"]
        ]

    def check(self, filters: Filters, scope: Scope) -> None:
        """Reject codes unknown to the replica or outside the scope, with a French message."""
        checks = [
            ("epci", filters.epci, "EPCI", "inconnu", scope.epci),
            ("commune", filters.communes, "Commune", "inconnue", scope.communes),
            ("reservataire", filters.reservataires, "Réservataire", "inconnu", scope.reservataires),
            ("bailleur", filters.bailleurs, "Bailleur", "inconnu", scope.bailleurs),
        ]
        for name, codes, what, inconnu, allowed in checks:
            if not codes:
                continue
            known = self._reference(name).index
            unknown = [c for c in codes if c not in known]
            if unknown:
                raise FilterError(
                    f"{what} {inconnu} dans la réplique : {', '.join(map(str, unknown))}."
                )
            if allowed is not None:
                outside = [c for c in codes if c not in allowed]
                if outside:
                    raise FilterError(
                        f"{what} hors de votre périmètre ({scope.label}) : "
                        f"{', '.join(map(str, outside))}."
                    )
        if filters.communes and scope.epci is not None:
            epci_of = self._reference("commune")["epci"]
            outside = [c for c in filters.communes if epci_of.get(c) not in scope.epci]
            if outside:
                raise FilterError(
                    f"Commune hors de votre périmètre ({scope.label}) : {', '.join(outside)}."
                )

    def _prepare(self, filters: Filters | None, scope: Scope | None) -> tuple[Filters, Scope]:
        filters = filters if filters is not None else Filters()
        if not isinstance(filters, Filters):
            raise FilterError("Les filtres doivent être un objet Filters.")
        scope = self.default_scope.narrowed(scope)  # a call may narrow the scope, never widen it
        self.check(filters, scope)
        return filters, scope

    # ------------------------------------------------------------------ the questions
    def monthly_rehousing(
        self, filters: Filters | None = None, by: str | None = None, scope: Scope | None = None
    ) -> pd.DataFrame:
        filters, scope = self._prepare(filters, scope)
        period = self.period(filters)
        return self._cached(
            "monthly_rehousing",
            (filters, period, scope, by),
            lambda: rehousing_q.monthly_rehousing(self, filters, period, scope, by),
        )

    def pipeline(self, filters: Filters | None = None, scope: Scope | None = None) -> pd.DataFrame:
        filters, scope = self._prepare(filters, scope)
        period = self.period(filters)
        return self._cached(
            "pipeline",
            (filters, period, scope),
            lambda: pipeline_q.pipeline(self, filters, period, scope),
        )

    def demand_supply(
        self,
        filters: Filters | None = None,
        level: str = "commune",
        at: date | str | None = None,
        scope: Scope | None = None,
    ) -> pd.DataFrame:
        filters, scope = self._prepare(filters, scope)
        at = self._observation_date(filters, at)
        return self._cached(
            "demand_supply",
            (filters, level, at, scope),
            lambda: demand_supply_q.demand_supply(self, filters, scope, level, at),
        )

    def typology_pressure(
        self,
        filters: Filters | None = None,
        level: str = "commune",
        at: date | str | None = None,
        scope: Scope | None = None,
    ) -> pd.DataFrame:
        """Demand against leases by typology per territory (DRIHL pressure index): see
        :func:`data_access.queries.demand_supply.typology_pressure` for the definitions."""
        filters, scope = self._prepare(filters, scope)
        at = self._observation_date(filters, at)
        return self._cached(
            "typology_pressure",
            (filters, level, at, scope),
            lambda: demand_supply_q.typology_pressure(self, filters, scope, level, at),
        )

    def priority_backlog(
        self,
        filters: Filters | None = None,
        at: date | str | None = None,
        scope: Scope | None = None,
    ) -> pd.DataFrame:
        filters, scope = self._prepare(filters, scope)
        at = self._observation_date(filters, at)
        s = self.settings
        out = self._cached(
            "priority_backlog",
            (filters, at, scope, s.dalo_deadline_months, s.abnormal_delay_months),
            lambda: priority_q.priority_backlog(
                self, filters, scope, at, s.dalo_deadline_months, s.abnormal_delay_months
            ),
        )
        supply_only = filters.replace(
            start=None, end=None, epci=(), communes=(), criteres=(), mutation=None
        )
        out.attrs["filtres_non_appliques"] = [label for label, _ in supply_only.describe()]
        return out

    # ------------------------------------------------------------------ objectives
    def objective_progress(
        self,
        by: str = "reservataire",
        year: int | None = None,
        filters: Filters | None = None,
        scope: Scope | None = None,
    ) -> pd.DataFrame:
        """Year to date against the annual objectives of the ``objectif`` table.

        The period runs from January of ``year`` (default: the year of the last complete
        month; in the data's first year, from its first month) to its last complete month.
        Figures are :meth:`rehousing_summary`'s (same definitions) for the filters, over that
        period.

        - ``by="reservataire"``: ``objectif_part`` is the réservataire's own target share
          (``part_prioritaires`` objective without territory nor bailleur), else the
          department-wide one (no réservataire), else ``RELOG_PRIORITY_SHARE_TARGET`` (25 %);
          ``ecart_points`` = (share − target) × 100; ``objectif_atteint`` (empty without any
          rehousing). Réservataires with a target of their own and no rehousing are listed.
        - ``by="epci"``: ``objectif_annuel`` is the sum of the accord collectif's priority
          rehousing targets (``relogements_prioritaires``) of the EPCI's bailleurs (only the
          filtered bailleurs when a bailleur filter is set); ``objectif_prorata`` = annual ×
          months elapsed ÷ 12; ``taux_atteinte`` = priority rehousings ÷ prorated target.
          Targets are set per EPCI: a commune filter is refused.

        The frame's ``attrs["periode"]`` holds the :class:`Period` and ``attrs["mois"]`` the
        number of months elapsed.
        """
        if by not in ("reservataire", "epci"):
            raise FilterError(
                f"Suivi des objectifs par {by!r} inconnu (attendu : reservataire ou epci)."
            )
        filters, scope = self._prepare(filters, scope)
        coverage = self.coverage()
        last = coverage.end
        year = int(year or last.year)
        if not coverage.start.year <= year <= last.year:
            raise FilterError(
                f"Année hors des données : {year} (de {coverage.start.year} à {last.year})."
            )
        if by == "epci" and filters.communes:
            raise FilterError(
                "Les objectifs de l'accord collectif sont fixés par EPCI : retirez le filtre sur "
                "les communes pour les suivre."
            )
        period = Period(max(date(year, 1, 1), coverage.start), min(date(year, 12, 1), last))
        months = len(period.months())
        summary = self.rehousing_summary(
            filters.replace(start=period.start, end=period.end), by=by, scope=scope
        )
        targets = self._cached("objectives", (year,), lambda: objectives_q.objectives(self, year))
        if by == "reservataire":
            rows = targets[
                (targets["indicateur"] == "part_prioritaires")
                & targets["epci_siren"].isna()
                & targets["bailleur_id"].isna()
            ]
            department = rows.loc[rows["reservataire_id"].isna(), "valeur"]
            default = (
                float(department.max()) if len(department) else self.settings.priority_share_target
            )
            own = rows.dropna(subset=["reservataire_id"])
            own = own.groupby(own["reservataire_id"].astype(int))["valeur"].max()
            allowed = self._reference("reservataire")
            if filters.reservataires:
                allowed = allowed[allowed.index.isin(filters.reservataires)]
            if filters.natures_reservataire:
                allowed = allowed[allowed["nature"].isin(filters.natures_reservataire)]
            if scope.reservataires is not None:
                allowed = allowed[allowed.index.isin(scope.reservataires)]
            out = objectives_q.share_progress(
                summary,
                own,
                default,
                allowed["libelle"],
                [code for code in own.index if code in allowed.index],
            )
        else:
            rows = targets[
                (targets["indicateur"] == "relogements_prioritaires")
                & targets["epci_siren"].notna()
            ]
            if filters.bailleurs:
                rows = rows[rows["bailleur_id"].isin(filters.bailleurs)]
            kept = self.territories("epci", filters, scope).index
            annual = rows[rows["epci_siren"].isin(kept)].groupby("epci_siren")["valeur"].sum()
            out = objectives_q.count_progress(
                summary, annual, months, "epci", self._reference("epci")["libelle"]
            )
        out.attrs.update(periode=period, mois=months)
        return out

    # ------------------------------------------------------------------ data quality
    def pending_propositions(
        self,
        filters: Filters | None = None,
        at: date | str | None = None,
        min_days: int = 30,
        scope: Scope | None = None,
    ) -> pd.DataFrame:
        """Propositions awaiting the household's answer for ``min_days`` days or more on ``at``
        (default: the data's last day): see :func:`data_access.queries.quality.pending_propositions`."""
        filters, scope = self._prepare(filters, scope)
        at = self._observation_date(filters.replace(end=None), at)
        return self._cached(
            "pending_propositions",
            (filters, at, min_days, scope),
            lambda: quality_q.pending_propositions(self, filters, scope, at, min_days),
        )

    def approved_not_leased(
        self,
        filters: Filters | None = None,
        at: date | str | None = None,
        scope: Scope | None = None,
    ) -> pd.DataFrame:
        """Households attributed a dwelling by the CAL and still without a lease on ``at``:
        see :func:`data_access.queries.quality.approved_not_leased`."""
        filters, scope = self._prepare(filters, scope)
        at = self._observation_date(filters.replace(end=None), at)
        return self._cached(
            "approved_not_leased",
            (filters, at, scope),
            lambda: quality_q.approved_not_leased(self, filters, scope, at),
        )

    def likely_duplicates(
        self,
        filters: Filters | None = None,
        at: date | str | None = None,
        scope: Scope | None = None,
    ) -> pd.DataFrame:
        """Active demandes that look like one household registered twice: see
        :func:`data_access.queries.quality.likely_duplicates`."""
        filters, scope = self._prepare(filters, scope)
        at = self._observation_date(filters.replace(end=None), at)
        return self._cached(
            "likely_duplicates",
            (filters, at, scope),
            lambda: quality_q.likely_duplicates(self, filters, scope, at),
        )

    def reconciliation(
        self, filters: Filters | None = None, scope: Scope | None = None
    ) -> pd.DataFrame:
        """Attributions on the CAL date against rehousings on the lease date, month by month,
        with the causes of the difference: see :func:`data_access.queries.quality.reconciliation`."""
        filters, scope = self._prepare(filters, scope)
        period = self.period(filters)
        at = self.reference_date()
        return self._cached(
            "reconciliation",
            (filters, period, scope, at),
            lambda: quality_q.reconciliation(self, filters, scope, period, at),
        )

    def rehousing_summary(
        self, filters: Filters | None = None, by: str = "reservataire", scope: Scope | None = None
    ) -> pd.DataFrame:
        """Rehousings over the whole period by ``by``, with the priority share.

        Columns: the dimension's code, ``libelle``, ``relogements``,
        ``relogements_prioritaires``, ``part_prioritaires`` (priority rehousings ÷ rehousings,
        NaN when there is none); one row per member with at least one rehousing, by decreasing
        rehousings. Sums of :meth:`monthly_rehousing` ``(filters, by)``, same definitions. The
        total row is :func:`data_access.queries.rehousing.total_row`.
        """
        return rehousing_q.summarise(self.monthly_rehousing(filters, by=by, scope=scope), by)

    def rehousing_key_figures(
        self, filters: Filters | None = None, scope: Scope | None = None
    ) -> pd.DataFrame:
        filters, scope = self._prepare(filters, scope)
        period = self.period(filters)
        wide = filters.replace(start=add_months(period.start, -12), end=period.end)
        # by criterion group: the very query (and cache entry) of the page's monthly chart
        by_group = self.monthly_rehousing(wide, by="groupe_critere", scope=scope)
        monthly = by_group.groupby("mois", as_index=False)[rehousing_q.VALUES].sum()
        return rehousing_q.key_figures(monthly, period, self.coverage().start)

    def coverage(self) -> Period:
        """Months the replica covers completely: from the month of its first lease (the next
        one when the data start after the 1st, lest a partial month pass for a fall in
        year-on-year comparisons) to the last complete month (see :meth:`default_period`)."""

        def read() -> Period:
            first = self.frame(sa.select(sa.func.min(bail.c.date_signature)), ["first"]).iloc[0, 0]
            end = self.default_period().end
            if pd.notna(first):  # the first month counts only if the data start on its first day
                start = date(first.year, first.month, 1)
                start = start if first.day == 1 else add_months(start, 1)
            else:
                start = end
            return Period(min(start, end), end)

        return self._per_version("coverage", read)

    def observation_date(
        self, filters: Filters | None = None, at: date | str | None = None
    ) -> date:
        """The date :meth:`demand_supply` observes for these arguments."""
        return self._observation_date(filters or Filters(), at)

    def _observation_date(self, filters: Filters, at: date | str | None) -> date:
        """``at`` if given; else the last day of the filters' end month; else the reference
        date; never after the reference date."""
        ref = self.reference_date()
        if at is not None:
            try:
                at = at if isinstance(at, date) else date.fromisoformat(str(at))
            except ValueError:
                raise FilterError(
                    f"Date d'observation invalide : {at!r} (format attendu : AAAA-MM-JJ)."
                ) from None
            if isinstance(at, datetime):
                at = at.date()
            if at > ref:
                raise FilterError(
                    f"La date d'observation ({date_label(at)}) est postérieure aux données "
                    f"de la réplique (jusqu'au {date_label(ref)})."
                )
            return at
        if filters.end is not None:
            return min(add_months(filters.end, 1) - timedelta(days=1), ref)
        return ref


# Docstrings of the public methods are the definitions written next to each query.
Replica.monthly_rehousing.__doc__ = rehousing_q.monthly_rehousing.__doc__
Replica.pipeline.__doc__ = pipeline_q.pipeline.__doc__
Replica.demand_supply.__doc__ = demand_supply_q.demand_supply.__doc__
Replica.priority_backlog.__doc__ = priority_q.priority_backlog.__doc__
Replica.rehousing_key_figures.__doc__ = rehousing_q.key_figures.__doc__


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


def connect(url: str | None = None, scope: Scope | None = None, cache: bool = True) -> Replica:
    """Open the replica read-only: ``url`` or ``RELOG_DATABASE_URL`` (PostgreSQL), else the
    embedded demo DuckDB file."""
    return Replica(url=url, scope=scope, cache=cache)
