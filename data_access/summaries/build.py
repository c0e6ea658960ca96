"""Building a summary: the contract's tables read from the replica in one consistent
snapshot, written to a new DuckDB file, published atomically (:mod:`.store`).

- **From PostgreSQL** (the standby): one ``REPEATABLE READ READ ONLY`` transaction reads the
  data version (metadata, replay time) and ``COPY``-es each table out in CSV, streamed to a
  temporary file that DuckDB loads: every table as of the same instant, the memory of a
  buffer, whatever the size.
- **From a DuckDB file**: the file attached read-only, each table copied by DuckDB itself.

The leases' facts are then computed once in the summary: each lease's CAL date, the criteria
its household held on it (bits) and its main criterion, with the expressions the live
queries use (:func:`~data_access.queries.base.lease_facts`), as columns of its ``bail``; and
the demand is counted at each month end the summary keeps (:mod:`.demand`).

Each table is written sorted on the date its questions select on (leases by signature,
offers by release, demandes by filing, propositions by date): DuckDB then skips the blocks
outside a period. ``demande.numero_unique`` (the national number of a household's demande)
is not copied: no summarised question reads it; the quality checks that do stay on the live
replica.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from data_access.demo.writer import _duckdb_type
from data_access.engine import create_replica_engine
from data_access.execution import FRESHNESS_STATEMENTS, _parse_ts, version_of
from data_access.schema import TABLES
from data_access.settings import Settings
from data_access.summaries.demand import build_snapshots, snapshot_dates, thresholds
from data_access.summaries.store import FORMAT, Summary, SummaryStore

log = logging.getLogger("relog.summaries")

#: Columns of the contract never copied into a summary.
EXCLUDED = {("demande", "numero_unique")}
#: The column each table is sorted on in the summary.
SORTED_ON = {
    "bail": "date_signature",
    "offre": "date_liberation",
    "demande": "date_depot",
    "proposition": "date_proposition",
    "decision_cal": "date_cal",
    "priorite": "demande_id",
    "demande_commune": "demande_id",
}
#: A build statement may run this long on PostgreSQL (a national table's COPY).
BUILD_TIMEOUT = "30min"


def columns_of(name: str) -> list[sa.Column]:
    return [c for c in TABLES[name].columns if (name, c.name) not in EXCLUDED]


def build_summary(
    url: str | None, settings: Settings, store: SummaryStore | None = None
) -> Summary:
    """Build the summary of the replica at ``url`` (``None``: the demo file) and make it
    current. Holds the store's lock (:class:`~.store.SummaryBusy` if another builder has it)."""
    store = store or SummaryStore.of(url, settings)
    with store.lock():
        start = time.perf_counter()
        directory = store.prepare()
        fd, name = tempfile.mkstemp(prefix=".construction-", suffix=".duckdb", dir=directory)
        os.close(fd)
        os.unlink(name)  # DuckDB creates its own file
        built = Path(name)
        try:
            target = duckdb.connect(str(built))
            try:
                target.execute("SET enable_progress_bar = false")
                for table in TABLES:
                    columns = ", ".join(f'"{c.name}" {_duckdb_type(c)}' for c in columns_of(table))
                    target.execute(f'CREATE TABLE "{table}" ({columns})')
                parsed = make_url(url) if url else None
                if parsed is None or parsed.get_backend_name() == "duckdb":
                    path = settings.demo_path if parsed is None else Path(parsed.database or "")
                    meta, replay = _copy_from_duckdb(Path(path), target)
                else:
                    meta, replay = _copy_from_postgres(url, settings, target, directory)
                joined = _lease_facts(target)
                version = version_of(meta, replay)
                summary = Summary(
                    path=directory / f"resume-{_slug(version)}-{int(time.time())}.duckdb",
                    version=version,
                    base_version=version_of(meta, None),
                    extraction=_parse_ts(meta.get("extraction")),
                    replay=replay,
                    built_at=datetime.now(UTC),
                    build_s=0.0,
                    format=FORMAT,
                    joined=joined,
                )
                # the dates the pages observe with this summary's data: its month ends, the
                # last one its last day (as the replica reading it will date them)
                dates = snapshot_dates(summary.freshness().last_day, settings.summary_months)
                seniority, dalo = thresholds(settings)
                build_snapshots(target, dates, seniority, dalo)
                target.execute("CHECKPOINT")
            finally:
                target.close()
            summary = replace(
                summary,
                snapshots=dates,
                seniority=seniority,
                dalo=dalo,
                build_s=round(time.perf_counter() - start, 2),
            )
            return store.publish(built, summary)
        finally:
            built.unlink(missing_ok=True)
            Path(f"{built}.wal").unlink(missing_ok=True)


def _lease_facts(target) -> bool:
    """The summary's ``bail`` gains each lease's facts, computed once here with the very
    expressions the live queries use (:func:`~data_access.queries.base.lease_facts`), and the
    columns the questions read of its dwelling, commune, réservataire and demande
    (:data:`~data_access.queries.base.LEASE_FACTS`); its ``offre``, those of each offer's
    dwelling and commune. Returns whether every lease and offer found them all: only then
    do the questions read these columns instead of joining the tables (a lease whose
    dwelling is missing from the replica would otherwise count where the replica's inner
    join drops it)."""
    from data_access.queries.base import DWELLING_FACTS, LEASE_FACTS, lease_facts

    dialect = sa.create_engine("duckdb:///:memory:").dialect
    select = str(lease_facts().compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    own = [c.name for c in lease_facts().selected_columns]
    joins = (
        'LEFT JOIN logement AS l ON l.id = faits.logement_id '
        'LEFT JOIN commune AS c ON c.code_insee = l.commune_code '
        'LEFT JOIN reservataire AS r ON r.id = faits.reservataire_id '
        'LEFT JOIN demande AS d ON d.id = faits.demande_id'
    )  # fmt: skip
    columns = ", ".join(
        [f'faits."{n}"' for n in own]
        + [f'{_ALIAS[col.table.name]}."{col.name}" AS "{n}"' for n, col in LEASE_FACTS.items()]
    )
    missing = _widen(
        target,
        "bail",
        columns,
        f"FROM ({select}) AS faits {joins}",
        "l.id IS NULL OR c.code_insee IS NULL OR r.id IS NULL OR d.id IS NULL",
    )
    columns = ", ".join(
        ["o.*"]
        + [f'{_ALIAS[col.table.name]}."{col.name}" AS "{n}"' for n, col in DWELLING_FACTS.items()]
    )
    joins = (
        "FROM offre AS o LEFT JOIN logement AS l ON l.id = o.logement_id "
        "LEFT JOIN commune AS c ON c.code_insee = l.commune_code"
    )
    missing += _widen(target, "offre", columns, joins, "l.id IS NULL OR c.code_insee IS NULL")
    missing += _proposition_facts(target)
    if missing:
        log.warning(
            "%d baux, offres, propositions ou décisions de CAL sans leur logement, commune, "
            "réservataire, demande ou proposition : les "
            "questions joindront ces tables dans le résumé, comme sur la réplique",
            missing,
        )
    return missing == 0


def _proposition_facts(target) -> int:
    """The summary's ``proposition`` gains the :data:`~data_access.queries.base.SUBJECT_FACTS`
    of its offer's dwelling and commune, its réservataire and demande; its ``decision_cal``,
    its proposition's réservataire, demande and those facts
    (:data:`~data_access.queries.base.decision_faits`): the pipeline counts them without a
    join (national: a CAL month's 4 million decisions joined to 5.8 million propositions,
    ≈ 250 ms). Returns how many propositions or decisions lack one of them."""
    from data_access.queries.base import PROPOSITION_OWN, SUBJECT_FACTS

    facts = [f'{_ALIAS[col.table.name]}."{col.name}" AS "{n}"' for n, col in SUBJECT_FACTS.items()]
    joins = (
        "FROM proposition AS p LEFT JOIN offre AS o ON o.id = p.offre_id "
        "LEFT JOIN logement AS l ON l.id = o.logement_id "
        "LEFT JOIN commune AS c ON c.code_insee = l.commune_code "
        "LEFT JOIN reservataire AS r ON r.id = p.reservataire_id "
        "LEFT JOIN demande AS d ON d.id = p.demande_id"
    )
    missing = _widen(
        target,
        "proposition",
        ", ".join(["p.*", *facts]),
        joins,
        "o.id IS NULL OR l.id IS NULL OR c.code_insee IS NULL OR r.id IS NULL OR d.id IS NULL",
    )
    columns = ", ".join(
        ["dc.*"] + [f'p."{n}"' for n in PROPOSITION_OWN] + [f'p."{n}"' for n in SUBJECT_FACTS]
    )
    joins = "FROM decision_cal AS dc LEFT JOIN proposition AS p ON p.id = dc.proposition_id"
    return missing + _widen(target, "decision_cal", columns, joins, "p.id IS NULL")


def _widen(target, table: str, columns: str, source: str, missing_when: str) -> int:
    """The summary's ``table`` replaced by ``SELECT columns source``, sorted as the copy was
    (:data:`SORTED_ON`); returns how many of its rows ``missing_when`` holds for (a joined
    row not found)."""
    target.execute(f'CREATE TABLE "{table}_faits" AS SELECT {columns} {source} '
                   f'ORDER BY "{SORTED_ON[table]}"')  # fmt: skip
    missing = target.execute(f"SELECT count(*) {source} WHERE {missing_when}").fetchone()[0]
    target.execute(f'DROP TABLE "{table}"')
    target.execute(f'ALTER TABLE "{table}_faits" RENAME TO "{table}"')
    return missing


#: The aliases of the tables joined to the leases and offers in :func:`_lease_facts`.
_ALIAS = {"logement": "l", "commune": "c", "reservataire": "r", "demande": "d"}


def _insert_sorted(target, table: str, source: str) -> None:
    cols = columns_of(table)
    select = ", ".join(f'CAST("{c.name}" AS {_duckdb_type(c)})' for c in cols)
    order = f' ORDER BY "{SORTED_ON[table]}"' if table in SORTED_ON else ""
    target.execute(f'INSERT INTO "{table}" SELECT {select} FROM {source}{order}')


def _copy_from_duckdb(path: Path, target) -> tuple[dict[str, str], None]:
    """Every table of the DuckDB replica at ``path`` into ``target``."""
    target.execute("ATTACH ? AS source (READ_ONLY)", [str(path)])
    try:
        for table in TABLES:
            _insert_sorted(target, table, f'source."{table}"')
        meta = dict(target.execute('SELECT cle, valeur FROM source."replica_meta"').fetchall())
    finally:
        target.execute("DETACH source")
    return meta, None


def _copy_from_postgres(
    url: str, settings: Settings, target, directory: Path
) -> tuple[dict[str, str], datetime | None]:
    """Every table of the PostgreSQL replica into ``target``, in one snapshot."""
    engine = create_replica_engine(url, settings)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            with conn.begin():
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = '{BUILD_TIMEOUT}'")
                rows = conn.execute(FRESHNESS_STATEMENTS[1]).fetchall()
                in_recovery, replay = rows[0][0], rows[0][1]
                meta = {r[3]: r[4] for r in rows if r[3] is not None}
                raw = conn.connection.driver_connection  # psycopg 3, inside the snapshot
                with raw.cursor() as cursor:
                    for table in TABLES:
                        _copy_table(cursor, table, target, directory)
    finally:
        engine.dispose()
    return meta, (replay if in_recovery else None)


def _copy_table(cursor, table: str, target, directory: Path) -> None:
    cols = columns_of(table)
    names = ", ".join(f'"{c.name}"' for c in cols)
    fd, name = tempfile.mkstemp(prefix=f".{table}-", suffix=".csv", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            query = f"COPY (SELECT {names} FROM \"{table}\") TO STDOUT (FORMAT csv, NULL '\\N')"
            with cursor.copy(query) as copy:
                for chunk in copy:
                    out.write(chunk)
        types = "{" + ", ".join(f"'{c.name}': 'VARCHAR'" for c in cols) + "}"
        source = (
            f"read_csv('{name}', header = false, columns = {types}, nullstr = '\\N', "
            "quote = '\"', escape = '\"', auto_detect = false)"
        )
        _insert_sorted(target, table, source)
    finally:
        os.unlink(name)


def _slug(version: str) -> str:
    return hashlib.sha256(version.encode()).hexdigest()[:12]


def needs_build(summary: Summary | None, live, interval_s: float) -> bool:
    """Whether the replica's data (``live``: its freshness) call for a new summary: none yet,
    another extraction or version, or, on a streaming standby, a summary ``interval_s`` old
    while the replay has moved on since."""
    if summary is None or summary.version == live.version:
        return summary is None
    if live.replay is None or summary.base_version != live.base_version:
        return True
    return summary.age_s() >= interval_s
