"""Configuration read from environment variables, in one place.

Every setting has a default that serves the embedded demo replica; production sets
``RELOG_DATABASE_URL`` to the PostgreSQL read replica. Files the product writes (the demo
replica, downloaded contours) go to the data directory, ``RELOG_DATA_DIR``, by default the
user's data folder (``~/.local/share/relog`` on Linux, as platformdirs finds it on each
system): never into the installed package. ``make serve`` sets it to the checkout's
``data/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

#: Name of the demo replica's file in the data directory.
DEMO_FILE = "demo-departement.duckdb"


def default_data_dir() -> Path:
    """``RELOG_DATA_DIR``, else the user's data folder for « relog »."""
    raw = os.environ.get("RELOG_DATA_DIR")
    return (
        Path(raw).expanduser()
        if raw
        else Path(platformdirs.user_data_dir("relog", appauthor=False))
    )


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw.replace(",", "."))
    except ValueError:
        raise ValueError(
            f"La variable d'environnement {name} doit être un nombre (reçu : {raw!r})."
        ) from None


def _env_int(name: str, default: int) -> int:
    value = _env_float(name, default)
    if value != int(value):
        raise ValueError(
            f"La variable d'environnement {name} doit être un entier (reçu : {value})."
        )
    return int(value)


def _env_path(name: str) -> Path | None:
    raw = os.environ.get(name)
    return Path(raw).expanduser() if raw else None


@dataclass(frozen=True)
class Settings:
    """What an operator may set; read once with :func:`load_settings`."""

    #: SQLAlchemy URL of the replica; ``None`` opens the embedded demo DuckDB file read-only.
    database_url: str | None = None
    #: Where the product writes its files (demo replica, downloaded contours).
    data_dir: Path = field(default_factory=default_data_dir)
    #: The demo DuckDB file used when no URL is given (default: in the data directory).
    demo_path: Path = field(default_factory=lambda: default_data_dir() / DEMO_FILE)
    #: A query running longer than this is cancelled (PostgreSQL ``statement_timeout``).
    statement_timeout_s: float = 15.0
    #: Seconds a database connection attempt may take before the replica is declared down.
    connect_timeout_s: int = 5
    #: Seconds after which a PostgreSQL read that got no answer at all (a hung server, a
    #: network cut: the statement timeout cannot fire) is abandoned by the client: its
    #: connection is cut and the user told. Longer than the statement timeout, which the
    #: server enforces itself when it can.
    deadline_s: float = 20.0
    #: Seconds during which, once the replica failed to answer, reads fail at once with the
    #: same French message instead of each waiting its deadline; one read then tries again.
    unreachable_retry_s: float = 10.0
    #: A hot standby whose replay is behind by more than this (seconds) gets the pages'
    #: banner « données en retard de N min ».
    max_lag_s: float = 900.0
    #: Share of each réservataire's rehousings that must go to priority households (CCH L441-1).
    priority_share_target: float = 0.25
    #: Months after a favourable COMED decision within which a DALO household must be rehoused.
    dalo_deadline_months: int = 6
    #: "Délai anormalement long" in months (Haute-Garonne: 36, until the préfectoral arrêté
    #: says otherwise).
    abnormal_delay_months: int = 36
    #: The délai anormalement long of EPCI whose arrêté differs: (SIREN, months) pairs.
    abnormal_delay_epci: tuple[tuple[str, int], ...] = ()
    #: Loi Égalité et Citoyenneté: minimum share of the attributions outside QPV to
    #: first-quartile households (25 % unless the EPCI and the préfet agreed otherwise)…
    q1_outside_qpv_target: float = 0.25
    #: … and of the attributions inside QPV to households outside the first quartile.
    outside_q1_in_qpv_target: float = 0.50
    #: Statistical secrecy of protected profiles: counts from 1 to k − 1 households are masked.
    secrecy_k: int = 5
    #: Seconds between two checks of the data version by an open meeting page.
    meeting_check_s: float = 60.0
    #: Seconds during which the replica's data version is trusted before being read again.
    version_ttl_s: float = 30.0
    #: Query results kept in the process-wide cache.
    cache_size: int = 512
    #: Read the summaries (:mod:`data_access.summaries`) when one is current.
    summaries: bool = True
    #: Where « relog summarise » writes the summaries and the questions read them.
    summary_dir: Path = field(default_factory=lambda: default_data_dir() / "resumes")
    #: On a streaming standby, seconds between two summaries (« relog summarise --watch »);
    #: a summary older than twice this is no longer read (the live replica answers).
    summary_interval_s: float = 900.0
    #: Month ends a summary keeps the demand's snapshot of (the last one: the data's last
    #: day), the latest first: the demand questions on those dates read a few thousand
    #: counted rows instead of every active demande and its wishes.
    summary_months: int = 36
    #: Boundary files of the maps (GeoJSON, GeoPackage or Shapefile). Without a commune file
    #: the map uses the contours fetched by « relog geodata fetch » if any, else a schematic
    #: layout; without an EPCI file, EPCI are the union of their communes; without a QPV
    #: file, the QPV layer is not offered.
    contours_communes: Path | None = None
    contours_epci: Path | None = None
    contours_qpv: Path | None = None


def _env_delays(name: str) -> tuple[tuple[str, int], ...]:
    """« 243100518:36,200072643:30 » → ((SIREN, months), …)."""
    raw = os.environ.get(name) or ""
    out = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        siren, _, months = item.partition(":")
        siren, months = siren.strip(), months.strip()
        if not (siren.isdigit() and len(siren) == 9 and months.isdigit() and int(months) > 0):
            raise ValueError(
                f"La variable d'environnement {name} attend « SIREN:mois » séparés par des "
                f"virgules (reçu : {item!r})."
            )
        out[siren] = int(months)
    return tuple(sorted(out.items()))


def load_settings() -> Settings:
    """Read the settings from ``RELOG_*`` environment variables."""
    data_dir = default_data_dir()
    return Settings(
        database_url=os.environ.get("RELOG_DATABASE_URL") or None,
        data_dir=data_dir,
        demo_path=Path(os.environ.get("RELOG_DEMO_PATH") or data_dir / DEMO_FILE),
        statement_timeout_s=_env_float("RELOG_STATEMENT_TIMEOUT_S", 15.0),
        connect_timeout_s=_env_int("RELOG_CONNECT_TIMEOUT_S", 5),
        deadline_s=max(1.0, _env_float("RELOG_DEADLINE_S", 20.0)),
        unreachable_retry_s=max(0.0, _env_float("RELOG_UNREACHABLE_RETRY_S", 10.0)),
        max_lag_s=max(0.0, _env_float("RELOG_MAX_LAG_S", 900.0)),
        priority_share_target=_env_float("RELOG_PRIORITY_SHARE_TARGET", 0.25),
        dalo_deadline_months=_env_int("RELOG_DALO_DEADLINE_MONTHS", 6),
        abnormal_delay_months=_env_int("RELOG_ABNORMAL_DELAY_MONTHS", 36),
        abnormal_delay_epci=_env_delays("RELOG_ABNORMAL_DELAY_EPCI"),
        q1_outside_qpv_target=_env_float("RELOG_Q1_OUTSIDE_QPV_TARGET", 0.25),
        outside_q1_in_qpv_target=_env_float("RELOG_OUTSIDE_Q1_IN_QPV_TARGET", 0.50),
        secrecy_k=max(2, _env_int("RELOG_SECRECY_K", 5)),
        version_ttl_s=_env_float("RELOG_VERSION_TTL_S", 30.0),
        meeting_check_s=max(1.0, _env_float("RELOG_MEETING_CHECK_S", 60.0)),
        cache_size=_env_int("RELOG_CACHE_SIZE", 512),
        summaries=os.environ.get("RELOG_SUMMARIES", "1").strip().lower()
        not in ("0", "non", "false", "faux", "no"),
        summary_dir=_env_path("RELOG_SUMMARY_DIR") or data_dir / "resumes",
        summary_interval_s=max(10.0, _env_float("RELOG_SUMMARY_INTERVAL_S", 900.0)),
        summary_months=max(1, _env_int("RELOG_SUMMARY_MONTHS", 36)),
        contours_communes=_env_path("RELOG_CONTOURS_COMMUNES"),
        contours_epci=_env_path("RELOG_CONTOURS_EPCI"),
        contours_qpv=_env_path("RELOG_CONTOURS_QPV"),
    )
