"""Where summaries live: one directory per replica, one DuckDB file per data version, a
pointer to the current one, and the lock of the one builder.

::

    <RELOG_SUMMARY_DIR>/<replica>/            one per replica (a hash of its address)
        resume-<version>.duckdb               a summary, written aside then renamed
        courant.json                          the current summary, replaced atomically
        .verrou                               held by the builder while it builds

A reader (each server process, each notebook) reads ``courant.json`` when it changed and
opens the file it names read-only; the builder writes a new file under a temporary name,
renames it, then replaces the pointer (``os.replace``, atomic): a reader sees the old
summary or the new one, never half of one. The files hold rows of the replica (households'
demandes, without their national number): the directories are created ``0700`` and the
files ``0600``, for the service's user alone, and the builder removes superseded ones.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from data_access.errors import RelogError
from data_access.execution import Freshness
from data_access.settings import Settings

#: The layout of a summary: a summary of another layout is not read (a new version of relog
#: rebuilds it). 2: the leases' facts (CAL date, criteria bits, main criterion) in ``bail``;
#: 3: the demand's month-end snapshots (:mod:`.demand`); 4: the leases' and offers' dwelling,
#: commune, réservataire and demande columns in ``bail`` and ``offre``; 5: the same in
#: ``proposition`` and ``decision_cal``.
FORMAT = 5
POINTER = "courant.json"


class SummaryBusy(RelogError):
    """Another builder holds the lock of this replica's summaries."""


@dataclass(frozen=True)
class Summary:
    """A built summary: its file and the data version it holds."""

    path: Path
    #: The replica's data version the summary holds (its freshness's ``version``).
    version: str
    #: The same without the standby's replay time: what identifies the extraction.
    base_version: str
    extraction: datetime | None
    replay: datetime | None
    built_at: datetime
    build_s: float
    format: int = FORMAT
    #: The dates the demand's snapshot is kept for (:mod:`.demand`), oldest first: its
    #: rows carry their position in this list.
    snapshots: tuple[date, ...] = ()
    #: The seniority thresholds (months since filing) and the DALO ones (months since the
    #: recognition) the snapshot's rows are classed by, ascending.
    seniority: tuple[int, ...] = ()
    dalo: tuple[int, ...] = ()
    #: Whether every lease and offer found its dwelling, commune, réservataire and demande:
    #: the questions then read the columns the summary keeps of them instead of joining
    #: them (:data:`~data_access.queries.base.LEASE_FACTS`).
    joined: bool = False

    def freshness(self) -> Freshness:
        """The figures' freshness when read from this summary: the data as of its build."""
        return Freshness(
            extraction=self.extraction,
            replay=self.replay,
            read_at=self.built_at,
            version=self.version,
            base_version=self.base_version,
        )

    def age_s(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.built_at).total_seconds()

    def to_json(self) -> str:
        data = asdict(self)
        data["path"] = self.path.name
        for key in ("extraction", "replay", "built_at"):
            data[key] = data[key].isoformat() if data[key] else None
        data["snapshots"] = [d.isoformat() for d in self.snapshots]
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str, directory: Path) -> Summary:
        data = json.loads(text)
        data["path"] = directory / data["path"]
        for key in ("extraction", "replay", "built_at"):
            data[key] = datetime.fromisoformat(data[key]) if data[key] else None
        data["snapshots"] = tuple(date.fromisoformat(d) for d in data.get("snapshots", ()))
        for key in ("seniority", "dalo"):
            data[key] = tuple(data.get(key, ()))
        return cls(**data)


def replica_identity(url: str | None, settings: Settings) -> str:
    """A short name for the replica a summary is built from: a hash of its address (the
    PostgreSQL URL without its password, or the DuckDB file's absolute path)."""
    if url is None or url.startswith("duckdb:"):
        path = settings.demo_path if url is None else Path(url.split(":///", 1)[-1])
        key = f"duckdb:{Path(path).resolve()}"
    else:
        from sqlalchemy.engine import make_url

        key = make_url(url).render_as_string(hide_password=True)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class SummaryStore:
    """The summaries of one replica (see the module docstring)."""

    def __init__(self, root: Path, identity: str):
        self.directory = Path(root) / identity
        self._known: tuple[int, Summary | None] | None = None

    @classmethod
    def of(cls, url: str | None, settings: Settings) -> SummaryStore:
        return cls(settings.summary_dir, replica_identity(url, settings))

    def current(self) -> Summary | None:
        """The current summary, or ``None`` (none built, or of another layout). The pointer
        is read again only when it changed (one ``stat``)."""
        pointer = self.directory / POINTER
        try:
            stamp = pointer.stat().st_mtime_ns
        except FileNotFoundError:
            self._known = None
            return None
        if self._known is not None and self._known[0] == stamp:
            return self._known[1]
        try:
            summary = Summary.from_json(pointer.read_text(encoding="utf-8"), self.directory)
        except (OSError, ValueError, TypeError, KeyError):
            summary = None
        if summary is not None and (summary.format != FORMAT or not summary.path.is_file()):
            summary = None
        self._known = (stamp, summary)
        return summary

    def prepare(self) -> Path:
        """The directory, created for the service's user alone."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        return self.directory

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The builder's lock: one builder per replica and machine (or shared directory);
        :class:`SummaryBusy` at once if another holds it."""
        self.prepare()
        handle = open(self.directory / ".verrou", "a+")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SummaryBusy(
                    "Un autre « relog summarise » construit déjà les résumés de cette réplique."
                ) from None
            yield
        finally:
            handle.close()  # releases the lock

    def publish(self, built: Path, summary: Summary) -> Summary:
        """Make ``built`` (a closed DuckDB file in the directory) the current summary, then
        remove the files no pointer names any more."""
        final = self.directory / summary.path.name
        os.chmod(built, 0o600)
        os.replace(built, final)
        pointer = self.directory / f".{POINTER}.tmp"
        pointer.write_text(summary.to_json(), encoding="utf-8")
        os.chmod(pointer, 0o600)
        os.replace(pointer, self.directory / POINTER)
        for old in self.directory.glob("resume-*.duckdb"):
            if old.name != final.name:
                old.unlink(missing_ok=True)  # a reader that has it open keeps reading it
        return summary
