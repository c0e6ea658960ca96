"""Write a synthetic replica to a DuckDB file or load it into PostgreSQL.

This module is the only place of ``data_access`` that issues DDL/DML, and only to build a demo
or test database: the read path (``data_access.engine``) never writes. Both targets get exactly
the tables of the replica contract (``data_access.schema``); DuckDB is always the first stop and
PostgreSQL is loaded from it with ``COPY``, so the two hold the same rows.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from pathlib import Path

import duckdb
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from data_access.errors import RelogError, ReplicaUnavailable
from data_access.schema import TABLES, metadata, replica_meta

_DUCKDB_TYPES = {
    sa.BigInteger: "BIGINT",
    sa.SmallInteger: "SMALLINT",
    sa.Integer: "INTEGER",
    sa.String: "VARCHAR",
    sa.Date: "DATE",
    sa.Boolean: "BOOLEAN",
    sa.Float: "DOUBLE",
}

#: Indexes a production replica would have on the columns our queries join and filter on.
INDEXES = {
    "bail": ["date_signature", "demande_id", "logement_id", "proposition_id"],
    "decision_cal": ["proposition_id", "date_cal"],
    "proposition": ["date_proposition", "offre_id", "demande_id"],
    "offre": ["date_liberation", "logement_id"],
    "priorite": ["demande_id"],
    "demande": ["date_depot", "date_radiation"],
    "demande_commune": ["commune_code"],
    "logement": ["commune_code", "bailleur_id"],
    "commune": ["epci_siren"],
}


def _duckdb_type(column: sa.Column) -> str:
    for kind, name in _DUCKDB_TYPES.items():
        if isinstance(column.type, kind):
            return name
    raise TypeError(f"Type non prévu pour {column}: {column.type!r}")


def write_duckdb(tables: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write every contract table to a new DuckDB file, atomically (temporary file, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp.duckdb", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    con = duckdb.connect(tmp)
    try:
        con.execute("SET enable_progress_bar = false")
        for name, table in TABLES.items():
            frame = tables[name]
            missing = [c.name for c in table.columns if c.name not in frame.columns]
            if missing:
                raise ValueError(f"Table {name} : colonnes manquantes {missing}")
            cols = ", ".join(f'"{c.name}" {_duckdb_type(c)}' for c in table.columns)
            con.execute(f'CREATE TABLE "{name}" ({cols})')
            con.register("frame", frame)
            select = ", ".join(f'CAST("{c.name}" AS {_duckdb_type(c)})' for c in table.columns)
            con.execute(f'INSERT INTO "{name}" SELECT {select} FROM frame')
            con.unregister("frame")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, path)
    return path


def load_postgres(duckdb_path: Path, url: str) -> None:
    """Create the contract tables in the PostgreSQL database at ``url`` and fill them from a
    demo DuckDB file with ``COPY`` (fast, and the same rows). Adds primary keys, the indexes a
    production replica would have, then ``VACUUM (FREEZE, ANALYZE)``: the tables then look like
    a production database's, long since vacuumed (visibility map set, tuples frozen), not like
    a fresh bulk load whose every row a reader must first check against the commit log.

    Refuses a database that holds contract tables not written by the demo: it never drops
    real data."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(parsed)
    source = None
    try:
        try:
            _check_demo_target(engine)
        except sa_exc.OperationalError as err:
            raise ReplicaUnavailable(
                f"Connexion à PostgreSQL impossible : {str(err).splitlines()[0]}"
            ) from err
        metadata.drop_all(engine)
        metadata.create_all(engine)
        # the replica file attached read-only to a database of the loader's own: the product's
        # connections to the file may not write files (engine.DUCKDB_HARDENING), this one must
        source = duckdb.connect()
        source.execute("ATTACH ? AS source (READ_ONLY)", [str(duckdb_path)])
        with tempfile.TemporaryDirectory() as tmp, engine.begin() as conn:
            raw = conn.connection.driver_connection  # psycopg 3 connection, inside our transaction
            with raw.cursor() as cur:
                for name, table in TABLES.items():
                    csv_path = Path(tmp) / f"{name}.csv"
                    cols = ", ".join(f'"{c.name}"' for c in table.columns)
                    source.execute(
                        f"COPY (SELECT {cols} FROM source.\"{name}\") TO '{csv_path}' "
                        "(FORMAT csv, HEADER false, DATEFORMAT '%Y-%m-%d')"
                    )
                    with (
                        cur.copy(f'COPY "{name}" ({cols}) FROM STDIN WITH (FORMAT csv)') as copy,
                        open(csv_path, "rb") as fh,
                    ):
                        while chunk := fh.read(1 << 20):
                            copy.write(chunk)
                    csv_path.unlink()
                for name, columns in INDEXES.items():
                    for col in columns:
                        cur.execute(
                            f'CREATE INDEX IF NOT EXISTS "ix_{name}_{col}" ON "{name}" ("{col}")'
                        )
        _vacuum(engine)
    finally:
        if source is not None:
            source.close()
        engine.dispose()


def _vacuum(engine: sa.Engine, timeout_s: float = 120) -> None:
    """``VACUUM (FREEZE, ANALYZE)`` every contract table until each page is all-visible. A hot
    standby still replaying the load reports (``hot_standby_feedback``) a horizon older than
    the load, and VACUUM then leaves the new rows as they are: vacuum again once it caught up
    (a warning, not an error, if it never does: the data are loaded)."""
    pending = list(TABLES)
    deadline = time.monotonic() + timeout_s
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        while pending:
            for name in pending:
                conn.exec_driver_sql(f'VACUUM (FREEZE, ANALYZE) "{name}"')
            pages = dict(
                (r[0], (r[1], r[2]))
                for r in conn.exec_driver_sql(
                    "SELECT relname, relpages, relallvisible FROM pg_class WHERE relkind = 'r'"
                )
            )
            pending = [n for n in pending if n in pages and pages[n][1] < pages[n][0]]
            if pending and time.monotonic() > deadline:  # the data are loaded all the same
                warnings.warn(
                    "PostgreSQL n'a pas pu marquer visibles toutes les pages des tables "
                    f"chargées ({', '.join(pending)}) : "
                    "une transaction ancienne le bloque-t-elle ?",
                    stacklevel=2,
                )
                return
            if pending:
                time.sleep(0.5)


def _check_demo_target(engine: sa.Engine) -> None:
    existing = set(sa.inspect(engine).get_table_names()) & set(TABLES)
    if not existing:
        return
    with engine.connect() as conn:
        source = None
        if "replica_meta" in existing:
            source = conn.execute(
                sa.select(replica_meta.c.valeur).where(replica_meta.c.cle == "source")
            ).scalar()
    if not (source or "").startswith("démonstration"):
        raise RelogError(
            "Cette base contient déjà des tables du contrat "
            "qui ne viennent pas de la démonstration "
            f"({', '.join(sorted(existing))}) : elle n'est pas écrasée. Choisissez une base vide."
        )
