"""What the served product cannot be made to do (issue 16, hardening): its DuckDB connections
touch no file but the replica, its error messages name no host, port or server path, and the
server listens on the loopback only and refuses foreign websocket origins by default."""

from __future__ import annotations

import base64
import http.client
import ipaddress
import logging
import os
import subprocess
import sys
import time
import urllib.request

import pandas as pd
import psutil
import pytest
import sqlalchemy as sa

from bench.served_app import free_port
from data_access import Replica
from data_access.engine import open_duckdb_readonly
from data_access.errors import ReplicaUnavailable
from geodata.boundaries import BoundaryError, load_boundaries

ESCAPES = {
    "lire un fichier du serveur": "SELECT * FROM read_csv('{outside}')",
    "écrire un fichier": "COPY (SELECT 1 AS x) TO '{written}'",
    "créer une base en écriture": "ATTACH '{attached}' AS autre",
    "rouvrir l'accès aux fichiers": "SET enable_external_access = true",
    "déverrouiller la configuration": "SET lock_configuration = false",
    "changer un réglage": "SET memory_limit = '64MB'",
    "installer une extension": "INSTALL httpfs",
    "charger une extension": "LOAD httpfs",
}


@pytest.fixture
def files(tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("mot_de_passe\nhunter2\n")
    return {
        "outside": outside,
        "written": tmp_path / "fuite.csv",
        "attached": tmp_path / "nouvelle.duckdb",
    }


def _attempts(execute, files) -> dict[str, str]:
    """Each escape run through ``execute``: what happened (« refusé » or what it returned)."""
    out = {}
    for what, sql in ESCAPES.items():
        try:
            result = execute(sql.format(**files))
        except Exception as err:  # any refusal will do: what matters is below
            out[what] = f"refusé ({type(getattr(err, 'orig', err)).__name__})"
        else:
            out[what] = f"accepté : {result!r}"
    return out


@pytest.mark.parametrize("first", ["engine", "raw"])
def test_the_product_s_duckdb_connections_touch_no_other_file(demo_path, files, first):
    """Through the engine the pages and notebooks use, and through the raw read-only
    connection other readers of the file use, in either order of opening: nothing outside the
    replica can be read, written, attached, installed, or unlocked."""
    replica = Replica(url=f"duckdb:///{demo_path}", cache=False)
    raw = None
    try:
        if first == "raw":
            raw = open_duckdb_readonly(demo_path)
        with replica.engine.connect() as conn:

            def run_engine(sql):
                return conn.exec_driver_sql(sql).fetchall()

            through_engine = _attempts(run_engine, files)
            leases = conn.execute(sa.text("SELECT count(*) FROM bail")).scalar()
        raw = raw or open_duckdb_readonly(demo_path)
        through_raw = _attempts(lambda sql: raw.execute(sql).fetchall(), files)
        assert raw.execute("SELECT count(*) FROM bail").fetchone()[0] == leases > 0
    finally:
        if raw is not None:
            raw.close()
        replica.dispose()
    for attempts in (through_engine, through_raw):
        assert all(result.startswith("refusé") for result in attempts.values()), attempts
    assert not files["written"].exists() and not files["attached"].exists()
    # the replica still answers after the refusals
    assert Replica(url=f"duckdb:///{demo_path}", cache=False).pipeline().shape[0] > 0


def test_an_unreachable_database_is_reported_without_its_host_or_port(caplog):
    port = free_port()  # nothing listens there
    replica = Replica(url=f"postgresql://relog:secret@127.0.0.1:{port}/fichier_partage")
    with caplog.at_level(logging.WARNING, logger="relog.replica"):
        with pytest.raises(ReplicaUnavailable) as raised:
            replica.pipeline()
    message = str(raised.value)
    assert "injoignable" in message and "journal du serveur" in message
    for secret in ("127.0.0.1", str(port), "fichier_partage", "relog", "secret"):
        assert secret not in message, (secret, message)
    # the administrator finds the detail in the server's log
    assert str(port) in caplog.text


def test_a_missing_demo_file_or_contour_file_is_named_without_its_directory(tmp_path):
    hidden = tmp_path / "dossier-du-serveur"
    with pytest.raises(ReplicaUnavailable) as raised:
        Replica(url=f"duckdb:///{hidden / 'absente.duckdb'}").pipeline()
    assert "absente.duckdb" in str(raised.value) and str(hidden) not in str(raised.value)
    with pytest.raises(BoundaryError) as raised:
        load_boundaries(hidden / "communes.geojson", "commune", pd.DataFrame(index=["31555"]))
    assert "communes.geojson" in str(raised.value) and str(hidden) not in str(raised.value)


def test_a_replica_error_shows_no_sql_nor_path(demo_path, tmp_path):
    """A replica whose contract changed (a missing table): a French message for the user,
    the database's own text (with the file's path) in the log only."""
    import duckdb

    broken = tmp_path / "sans-bail.duckdb"
    with duckdb.connect(str(broken)) as con:
        con.execute(f"ATTACH '{demo_path}' AS src (READ_ONLY)")
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src'"
        ).fetchall():
            if name != "bail":
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM src."{name}"')
    with pytest.raises(ReplicaUnavailable) as raised:
        Replica(url=f"duckdb:///{broken}", cache=False).pipeline()
    message = str(raised.value)
    assert "Prévenez l'administrateur" in message
    for leak in (str(tmp_path), "SELECT", "bail", "Catalog"):
        assert leak not in message, (leak, message)


# ---------------------------------------------------------------------- the served app
@pytest.fixture(scope="module")
def default_server(demo_path):
    """``relog serve`` with nothing but a port: the defaults a first installation runs."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELOG_")}
    env["RELOG_DEMO_PATH"] = str(demo_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "relog", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://localhost:{port}/liveness", timeout=2):
                break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("relog serve ne répond pas")
    yield process, port
    process.terminate()
    process.wait(10)


def test_the_server_listens_on_the_loopback_only_by_default(default_server):
    process, port = default_server
    listening = [
        c.laddr
        for p in [psutil.Process(process.pid), *psutil.Process(process.pid).children(True)]
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert any(addr.port == port for addr in listening), listening
    assert all(ipaddress.ip_address(addr.ip).is_loopback for addr in listening), listening


def _handshake(port: int, origin: str) -> int:
    """The HTTP status of a websocket handshake on the rehousing page from ``origin``."""
    conn = http.client.HTTPConnection("localhost", port, timeout=10)
    try:
        conn.request(
            "GET",
            "/app/ws",
            headers={
                "Host": f"localhost:{port}",
                "Origin": origin,
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
            },
        )
        return conn.getresponse().status
    finally:
        conn.close()


def test_the_server_refuses_websockets_from_a_foreign_origin_by_default(default_server):
    _, port = default_server
    assert _handshake(port, f"http://localhost:{port}") == 101  # the page's own origin
    for foreign in ("https://exemple.org", f"http://evil.localhost:{port}", "null"):
        assert _handshake(port, foreign) == 403, foreign
