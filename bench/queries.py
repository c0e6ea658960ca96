"""``relog bench``: each data-access query timed against the same SQL run bare.

For every query: median and p95 of the full API call (validation, SQL compilation, execution,
DataFrame, zero-filling; result cache off), and its ratio to the very statements it sent,
compiled once to SQL text and run on a raw driver connection right after it (the median of
these paired ratios). Department and
national scales, DuckDB and PostgreSQL (a temporary primary + hot standby on loopback).
Medians and ratios come from one run; the machine is noisy, so compare within a run.
"""

from __future__ import annotations

import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from data_access import Filters, Replica
from data_access.demo import build_demo, demo_is_current, load_postgres
from data_access.errors import QueryTimeout
from data_access.execution import FRESHNESS_STATEMENTS
from data_access.settings import load_settings

TARGETS_MS = {
    ("departement", "duckdb"): 30,
    ("departement", "postgres"): 100,
    ("national", "duckdb"): 500,
    # with a summary (issue 19): every page question, whatever the replica
    ("departement", "duckdb + résumé"): 30,
    ("departement", "postgres + résumé"): 30,
    ("national", "duckdb + résumé"): 100,
    ("national", "postgres + résumé"): 100,
}
#: A summary's build: seconds from the PostgreSQL standby (or the DuckDB file), peak memory.
BUILD_TARGETS_S = {"departement": 15, "national": 300}
BUILD_MAX_RSS_GB = 4
MAX_OVERHEAD = 1.3
#: The live rows' statement timeout and deadline (s): informative figures, and a national
#: PostgreSQL live question may pass the service's 15 s (the summaries are the answer to it);
#: past this one, the question is reported « hors délai » and the run goes on.
LIVE_TIMEOUT_S = 120.0
#: The bare SQL's own timeout (s): its literal values may be planned far worse than the API's
#: bound statement, and it must not hold the run for minutes each time.
BARE_TIMEOUT_S = 60


class RecordingReplica(Replica):
    """A replica that remembers the statements a call sends."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.recorded: list = []
        self.recording_freshness = False

    def _fetch(self, stmt, columns, parameters):  # under frame(), arrays(), freshness()
        if self.recording_freshness or not any(
            stmt is s for s in FRESHNESS_STATEMENTS
        ):  # not a data-version reread
            self.recorded.append(stmt.params(parameters) if parameters else stmt)  # with its values
        return super()._fetch(stmt, columns, parameters)


def cases(replica: Replica) -> dict[str, Callable[[], object]]:
    period = replica.default_period()
    f = Filters(start=period.start, end=period.end)
    out = {"monthly_rehousing": lambda: replica.monthly_rehousing(f)}
    for by in ("reservataire", "nature_reservataire", "epci", "commune", "bailleur", "critere"):
        out[f"monthly_rehousing by={by}"] = lambda b=by: replica.monthly_rehousing(f, by=b)
    out["rehousing_cells"] = lambda: replica.rehousing_cells(f)
    out["rehousing_delay"] = lambda: replica.rehousing_delay(f)
    out["pipeline"] = lambda: replica.pipeline(f)
    out["demand_supply commune"] = lambda: replica.demand_supply(f, level="commune")
    out["demand_supply epci"] = lambda: replica.demand_supply(f, level="epci")
    out["typology_pressure epci"] = lambda: replica.typology_pressure(f, level="epci")
    out["priority_backlog"] = lambda: replica.priority_backlog(f)
    # the plan page's
    year = period.end.year
    out["objective_progress reservataire"] = lambda: replica.objective_progress(year=year)
    out["objective_progress bailleur_epci"] = lambda: replica.objective_progress(
        "bailleur_epci", year=year
    )
    out["quartile_rules"] = lambda: replica.quartile_rules(year=year)
    out["backlog_by_epci"] = lambda: replica.backlog_by_epci(f)
    out["dalo_overdue"] = lambda: replica.dalo_overdue(f)
    out["freshness"] = replica.freshness
    return out


@dataclass
class Row:
    scale: str
    backend: str
    query: str
    median_ms: float
    p95_ms: float
    bare_ms: float
    bare_frame_ms: float
    #: Median of the paired ratios: each run of the API against the bare SQL run right after
    #: it. The machine's speed drifts (2× within minutes on a shared VM); a pair sees one speed.
    ratio: float = float("nan")
    ratio_frame: float = float("nan")


def paired_ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of ``numerators[i] / denominators[i]``: pairs measured back to back."""
    return statistics.median(n / d for n, d in zip(numerators, denominators) if d > 0)


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def _bare_runner(
    replica: Replica, statements: list, to_frame: bool = False, engine=None
) -> Callable[[], None]:
    """Run the recorded statements as plain SQL text on a raw DBAPI connection, fetching the
    rows (``to_frame``: into a DataFrame, as a hand-written ``read_sql`` would). The engine's
    connections are in autocommit on PostgreSQL, as a hand-written call's would be: each
    statement is its own transaction (one long transaction would keep a warm snapshot no
    application call has: ≈ 5–15 ms of the department's pipeline)."""
    engine = engine or replica.engine
    texts = [
        str(s.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        for s in statements
    ]
    raw = engine.raw_connection()
    if engine.dialect.name == "postgresql":
        if not raw.driver_connection.autocommit:
            raise RuntimeError("Le SQL nu doit tourner comme l'API : en autocommit sur PostgreSQL.")
        cur = raw.cursor()  # this held connection's own (reset when it goes back to the pool)
        cur.execute(f"SET statement_timeout = '{BARE_TIMEOUT_S}s'")
        cur.close()

    def run():
        cur = raw.cursor()
        for text in texts:
            cur.execute(text)
            rows = cur.fetchall()
            if to_frame:
                pd.DataFrame(rows, columns=[d[0] for d in cur.description])
        cur.close()

    return run


class _guarded:
    """A bare SQL run that, once it failed (the statement timeout), is not run again."""

    def __init__(self, run: Callable[[], None]):
        self.run, self.failed = run, False

    def __call__(self) -> None:
        if self.failed:
            return
        try:
            self.run()
        except Exception as err:  # any driver error (the timeout): reported, not fatal
            self.failed = True
            print(f"    SQL nu abandonné : {str(err).splitlines()[0]}", flush=True)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def measure(replica: RecordingReplica, scale: str, backend: str, repeat: int) -> list[Row]:
    """Each case's API call against its bare SQL. With a summary current, the bare SQL runs on
    the summary's file, as the API's statements do (the freshness read on the replica)."""
    rows = []
    replica.reference_date()  # data version and reference tables read once, as in an app
    source = replica._active_source()
    if backend.endswith("résumé") and source is None:
        raise RuntimeError(f"{scale} {backend} : aucun résumé courant à mesurer.")
    for name, fn in cases(replica).items():
        try:
            fn()  # reference tables a query needs are read once per data version
        except QueryTimeout as err:  # a live question past the bench's timeout: reported
            print(f"  {scale:11s} {backend:8s} {name:34s} hors délai : {err}", flush=True)
            rows.append(Row(scale, backend, name, *[float("nan")] * 4))
            continue
        replica.recorded = []
        replica.recording_freshness = name == "freshness"
        fn()  # warm-up, and the statements it sends
        if not replica.recorded:
            raise RuntimeError(f"{name} : aucune requête enregistrée, pas de SQL nu à comparer.")
        engine = source.engine if source is not None and name != "freshness" else None
        bare = _bare_runner(replica, list(replica.recorded), engine=engine)
        bare_frame = _bare_runner(replica, list(replica.recorded), to_frame=True, engine=engine)
        # the bare SQL, its values written in its text, may be planned otherwise than the
        # API's bound statement: past the bench's statement timeout it is reported as such
        # (national PostgreSQL), and the API's own figures stand
        runners = {"bare": _guarded(bare), "frame": _guarded(bare_frame)}
        runners["bare"]()
        api_times, bare_times, frame_times = [], [], []
        for _ in range(repeat):  # interleaved, so all three see the same machine noise
            api_times += _timed(fn, 1)
            bare_times += _timed(runners["bare"], 1)
            frame_times += _timed(runners["frame"], 1)
        bare_times = [] if runners["bare"].failed else bare_times
        frame_times = [] if runners["frame"].failed else frame_times
        row = Row(
            scale,
            backend,
            name,
            statistics.median(api_times),
            _p95(api_times),
            _median(bare_times),
            _median(frame_times),
            paired_ratio(api_times, bare_times) if bare_times else float("nan"),
            paired_ratio(api_times, frame_times) if frame_times else float("nan"),
        )
        rows.append(row)
        print(
            f"  {scale:11s} {backend:8s} {name:34s} médiane {row.median_ms:8.1f} ms  "
            f"p95 {row.p95_ms:8.1f} ms  "
            f"SQL nu {row.bare_ms:8.1f} ms ({row.ratio:4.2f}×)  "
            f"SQL nu → DataFrame {row.bare_frame_ms:8.1f} ms "
            f"({row.ratio_frame:4.2f}×)",
            flush=True,
        )
    return rows


@dataclass
class Build:
    scale: str
    backend: str
    seconds: float
    max_rss_gb: float
    size_mb: float


def build_and_measure(
    url: str, scale: str, backend: str, repeat: int, directory: Path
) -> tuple[Build, list[Row]]:
    """``relog summarise`` in a child process on the replica at ``url`` (its wall time and
    peak memory), then every case read from the summary it built."""
    import os
    import subprocess

    env = {**os.environ, "RELOG_SUMMARY_DIR": str(directory)}
    if url.startswith("duckdb:"):
        env.pop("RELOG_DATABASE_URL", None)
        env["RELOG_DEMO_PATH"] = url.split(":///", 1)[1]
    else:
        env["RELOG_DATABASE_URL"] = url
    log = directory.parent / f"{directory.name}.log"
    t0 = time.perf_counter()
    with open(log, "w") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "relog", "summarise", "--force"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        # this child's own resources (its peak memory, not the largest of all children)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    if child.returncode != 0:
        raise RuntimeError(f"relog summarise : {log.read_text()[-2000:]}")
    size = sum(f.stat().st_size for f in directory.glob("*/resume-*.duckdb")) / 1e6
    build = Build(scale, backend, seconds, usage.ru_maxrss / 1e6, size)
    print(f"  {scale:11s} {backend:8s} résumé construit en {seconds:.1f} s, "
          f"{build.max_rss_gb:.2f} Go au plus, {size:.0f} Mo", flush=True)  # fmt: skip
    settings = replace(load_settings(), summary_dir=directory, summaries=True)
    replica = RecordingReplica(url=url, settings=settings, cache=False)
    try:
        return build, measure(replica, scale, f"{backend} + résumé", repeat)
    finally:
        replica.dispose()


def build_report(builds: list[Build]) -> str:
    lines = [
        "| échelle | base | construction du résumé (s) | cible | mémoire au plus (Go) | cible "
        "| taille (Mo) |",
        "|---|---|---:|---|---:|---|---:|",
    ]
    for b in builds:
        target = BUILD_TARGETS_S[b.scale]
        lines.append(
            f"| {b.scale} | {b.backend} | {b.seconds:.1f} | ≤ {target} s "
            f"{'✔' if b.seconds <= target else '✘'} | {b.max_rss_gb:.2f} | ≤ {BUILD_MAX_RSS_GB} Go "
            f"{'✔' if b.max_rss_gb <= BUILD_MAX_RSS_GB else '✘'} | {b.size_mb:.0f} |"
        )
    return "\n".join(lines)


def _demo(scale: str) -> Path:
    path = load_settings().data_dir / f"demo-{scale}.duckdb"
    if not demo_is_current(path):
        print(f"Génération de la démonstration {scale} dans {path}…", flush=True)
        t0 = time.perf_counter()
        build_demo(path, scale=scale)
        print(f"  faite en {time.perf_counter() - t0:.0f} s", flush=True)
    return path


def report(rows: list[Row]) -> str:
    lines = [
        "| échelle | base | requête | médiane (ms) | p95 (ms) | SQL nu (ms) | ratio | "
        "SQL nu → DataFrame (ms) | ratio | cible médiane | cible surcoût |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        target = TARGETS_MS.get((r.scale, r.backend))
        verdict = "" if target is None else f"≤ {target} ms {'✔' if r.median_ms <= target else '✘'}"
        if r.median_ms != r.median_ms:  # NaN: the API's call went past the timeout
            verdict = f"hors délai ({LIVE_TIMEOUT_S:.0f} s)"
        overhead = f"≤ {MAX_OVERHEAD}× {'✔' if r.ratio <= MAX_OVERHEAD else '✘'}"
        if r.ratio != r.ratio:  # NaN: the bare SQL went past the statement timeout
            overhead = "SQL nu hors délai"
        lines.append(
            f"| {r.scale} | {r.backend} | {r.query} | {r.median_ms:.1f} | {r.p95_ms:.1f} | "
            f"{r.bare_ms:.1f} | {r.ratio:.2f} | {r.bare_frame_ms:.1f} | {r.ratio_frame:.2f} | "
            f"{verdict} | "
            f"{overhead} |"
        )
    lines.append(
        f"\nRatio : médiane des rapports appariés, chaque appel de l'API rapporté au SQL nu "
        "exécuté "
        f"juste après lui. Cible de surcoût : ≤ {MAX_OVERHEAD}× le SQL nu."
    )
    return "\n".join(lines)


def main(args) -> int:
    # a terminated bench still stops the PostgreSQL servers it started (finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    suites = {s.strip() for s in getattr(args, "suites", "requetes").split(",") if s.strip()}
    summaries_only = getattr(args, "summaries_only", False)
    reports = []
    if "page" in suites:
        from bench import dashboard

        reports.append(dashboard.main(_demo("departement")))
    if "carte" in suites:
        from bench import dashboard
        from bench import map as map_bench

        reports.append(
            dashboard.report(map_bench.main(_demo("departement")), "carte demande / offre")
        )
    if "reunion" in suites:
        from bench import meeting

        reports.append(meeting.main(_demo("departement")))
    if "navigateur" in suites:
        from bench import inbrowser

        reports.append(inbrowser.main(_demo("departement")))
    if "afflux" in suites:
        from bench import flood

        reports.append(flood.main(_demo("departement")))
    if "sessions" in suites:
        from bench import sessions

        reports.append(sessions.main(_demo("departement")))
    if "tenue" in suites:
        from bench import sessions

        reports.append(sessions.main(_demo("departement"), duration_s=1800.0, soak=True))
    if "plan" in suites:
        from bench import plan

        reports.append(plan.main(_demo("departement"), postgres="postgres" in backends))
    if "requetes" not in suites:
        for text in reports:
            print()
            print(text)
        return 0
    rows: list[Row] = []
    builds: list[Build] = []
    cluster = None
    # the live rows read the replica, never a summary a `relog summarise` left in the data dir
    live = replace(
        load_settings(),
        summaries=False,
        statement_timeout_s=LIVE_TIMEOUT_S,
        deadline_s=LIVE_TIMEOUT_S + 10,
    )
    workdir = Path(tempfile.mkdtemp(prefix="relog-bench-resumes-"))
    try:
        for scale in scales:
            path = _demo(scale)
            repeat = args.repeat if scale == "departement" else max(5, args.repeat // 4)
            if "duckdb" in backends:
                if not summaries_only:
                    replica = RecordingReplica(url=f"duckdb:///{path}", settings=live, cache=False)
                    rows += measure(replica, scale, "duckdb", repeat)
                    replica.dispose()
                build, summarised = build_and_measure(
                    f"duckdb:///{path}", scale, "duckdb", repeat, workdir / f"{scale}-duckdb"
                )
                builds.append(build)
                rows += summarised
            if "postgres" in backends:
                if cluster is None:
                    from tests.postgres_cluster import PostgresCluster

                    cluster = PostgresCluster()
                    cluster.start()
                t0 = time.perf_counter()
                load_postgres(path, cluster.primary_url)
                cluster.wait_for_replay(timeout=1800)
                url = cluster.create_readonly_role(statement_timeout="60s")
                cluster.wait_for_replay(timeout=600)
                print(
                    f"  {scale} chargée dans PostgreSQL et rejouée sur le secours en "
                    f"{time.perf_counter() - t0:.0f} s",
                    flush=True,
                )
                if not summaries_only:
                    replica = RecordingReplica(url=url, settings=live, cache=False)
                    rows += measure(replica, scale, "postgres", repeat)
                    replica.dispose()
                build, summarised = build_and_measure(
                    url, scale, "postgres", repeat, workdir / f"{scale}-postgres"
                )
                builds.append(build)
                rows += summarised
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(report(rows))
    if builds:
        print()
        print(build_report(builds))
    for text in reports:
        print()
        print(text)
    return 0
