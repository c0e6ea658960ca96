"""Summaries (issue 19): every question a summary answers equals its live query exactly, for
random filters, scopes, periods and arguments, on DuckDB and on the PostgreSQL standby; the
summary is read only while it holds the replica's data; one builder at a time; a damaged
summary hands over to the live replica; the quality checks always read the live replica.

The live replica stays the reference: each example asks every summarised question of a
replica reading the summary and of one that cannot see it, and compares the answers (the
same values exactly, in columns of the same kind), or their French errors."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_access import Filters, Replica, Scope
from data_access.errors import RelogError
from data_access.filters import add_months
from data_access.queries.rehousing import DIMENSIONS
from data_access.questions import QUESTIONS
from data_access.schema import CRITERES, NATURES_RESERVATAIRE
from data_access.summaries import SummaryBusy, SummaryStore, build_summary, needs_build
from tests.conftest import _settings

#: The breakdowns each question with a ``by`` accepts: a question added with a ``by`` must
#: be listed here (test_every_summarised_question_is_exercised), so it gets checked too.
BY = {
    "monthly_rehousing": [None, *DIMENSIONS],
    "rehousing_summary": [None, "reservataire", "epci", "commune", "bailleur"],
    "rehousing_delay": [None, "reservataire", "nature_reservataire", "epci", "bailleur"],
    "objective_progress": ["reservataire", "epci", "bailleur", "bailleur_epci"],
    "objective_months": ["reservataire", "epci", "bailleur", "bailleur_epci", "quartile"],
    "objective_forecast": ["reservataire", "epci", "bailleur", "bailleur_epci", "quartile"],
}
SUMMARISED = sorted(name for name, q in QUESTIONS.items() if q.summarised)


def test_every_summarised_question_is_exercised():
    for name in SUMMARISED:
        params = [p.name for p in QUESTIONS[name].public]
        assert set(params) <= {"filters", "scope", "by", "level", "at", "year"}, name
        if "by" in params:
            assert name in BY, f"{name}: ses ventilations manquent dans BY"
    assert not QUESTIONS["likely_duplicates"].summarised  # reads numero_unique


# ---------------------------------------------------------------------------- fixtures
#: The test summaries keep the demand's snapshot of every month the demo covers (the
#: default keeps 36): the random cases' observation dates then read them, except the
#: dates that are no month end, which read the summary's tables as the live queries do.
ALL_MONTHS = 240


def _pair(url, tmp_path_factory, demo_path, **setting_changes):
    """(live replica, replica reading a summary just built from it)."""
    directory = tmp_path_factory.mktemp("resumes")
    base = _settings(
        demo_path=demo_path, summary_dir=directory, summary_months=ALL_MONTHS, **setting_changes
    )
    summary = build_summary(url, base)
    live = Replica(url=url, settings=replace(base, summaries=False), cache=False)
    summarised = Replica(url=url, settings=base, cache=False)
    return live, summarised, summary


@pytest.fixture(scope="module")
def duckdb_pair(demo_path, tmp_path_factory):
    live, summarised, summary = _pair(f"duckdb:///{demo_path}", tmp_path_factory, demo_path)
    yield live, summarised, summary
    live.dispose()
    summarised.dispose()


@pytest.fixture(scope="module")
def postgres_pair(pg_cluster, demo_path, tmp_path_factory):
    live, summarised, summary = _pair(
        pg_cluster.readonly_url, tmp_path_factory, demo_path, statement_timeout_s=10
    )
    yield live, summarised, summary
    live.dispose()
    summarised.dispose()


class LiveReads:
    """Counts the statements the live engine runs, its freshness reads aside."""

    def __init__(self, replica: Replica):
        import sqlalchemy as sa

        self.count = 0
        self.engine = replica.engine

        def count(conn, cursor, statement, *args):
            if "replica_meta" not in statement:
                self.count += 1

        self._listener = count
        sa.event.listen(self.engine, "before_cursor_execute", count)

    def close(self):
        import sqlalchemy as sa

        sa.event.remove(self.engine, "before_cursor_execute", self._listener)


# ---------------------------------------------------------------------------- strategies
def _codes(raw_tables):
    return {
        "epci": sorted(raw_tables["epci"]["siren"]),
        "communes": sorted(raw_tables["commune"]["code_insee"]),
        "bailleurs": sorted(int(i) for i in raw_tables["bailleur"]["id"]),
        "reservataires": sorted(int(i) for i in raw_tables["reservataire"]["id"]),
    }


def _some(values, at_most=3):
    return st.lists(st.sampled_from(values), max_size=at_most, unique=True)


@st.composite
def cases(draw, codes, first: date, last: date):
    months = (last.year - first.year) * 12 + last.month - first.month
    start = add_months(first, draw(st.integers(0, months)))
    length = draw(st.integers(0, 24))
    end = min(add_months(start, length), last)
    filters = Filters(
        start=start,
        end=end,
        epci=draw(_some(codes["epci"], 2)),
        communes=draw(_some(codes["communes"], 3)) if draw(st.booleans()) else (),
        bailleurs=draw(_some(codes["bailleurs"], 2)),
        reservataires=draw(_some(codes["reservataires"], 2)),
        natures_reservataire=draw(_some(sorted(NATURES_RESERVATAIRE), 2)),
        criteres=draw(_some(sorted(CRITERES), 2)),
        mutation=draw(st.sampled_from([None, True, False])),
        qpv=draw(st.sampled_from([None, True, False])),
    )
    scope = draw(
        st.sampled_from(
            [
                Scope(),
                Scope(epci=tuple(codes["epci"][:3]), label="Trois EPCI"),
                Scope(bailleurs=tuple(codes["bailleurs"][:2]), label="Deux bailleurs"),
                Scope(reservataires=tuple(codes["reservataires"][:4]), label="Réservataires"),
            ]
        )
    )
    choices = {name: draw(st.sampled_from(values)) for name, values in BY.items()}
    level = draw(st.sampled_from(["commune", "epci"]))
    year = draw(st.integers(first.year + 1, last.year))
    at = draw(st.sampled_from([None, end + timedelta(days=9)]))
    return filters, scope, choices, level, year, at


def _arguments(name, filters, scope, choices, level, year, at):
    params = [p.name for p in QUESTIONS[name].public]
    given_ = {"filters": filters, "scope": scope, "level": level, "year": year, "at": at}
    out = {k: v for k, v in given_.items() if k in params}
    if "by" in params:
        out["by"] = choices[name]
    if name.startswith(("objective", "quartile")) and filters.communes:
        out["filters"] = filters.replace(communes=())  # refused in French: checked apart
    return out


def _answer(replica, name, arguments):
    try:
        return getattr(replica, name)(**arguments)
    except RelogError as err:
        return f"{type(err).__name__}: {err}"


def _same(live, summarised, name, arguments):
    want, got = _answer(live, name, arguments), _answer(summarised, name, arguments)
    if isinstance(want, str) or isinstance(got, str):
        assert got == want, f"{name}({arguments})"
        return
    # the same values exactly, in columns of the same kind: a summary is a DuckDB file, and
    # DuckDB gives an INTEGER column as int32 where PostgreSQL's driver gives int64
    pd.testing.assert_frame_equal(
        got, want, check_dtype=False, check_exact=True, obj=f"{name}({arguments})"
    )
    kinds = [(c, got[c].dtype.kind, want[c].dtype.kind) for c in want.columns]
    assert [k for k in kinds if k[1] != k[2]] == [], f"{name}: types de colonnes"
    assert got.attrs == want.attrs, name


def _check_all(live, summarised, case):
    reads = LiveReads(summarised)
    try:
        for name in SUMMARISED:
            _same(live, summarised, name, _arguments(name, *case))
    finally:
        reads.close()
    assert reads.count == 0, "le résumé courant n'a pas répondu à tout"


# ---------------------------------------------------------------------------- properties
def _check_random_cases(live, summarised, raw_tables, examples: int) -> None:
    coverage = live.coverage()

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=cases(_codes(raw_tables), coverage.start, coverage.end))
    def check(case):
        _check_all(live, summarised, case)

    check()


def test_summarised_questions_equal_live_ones_on_duckdb(duckdb_pair, raw_tables):
    live, summarised, _ = duckdb_pair
    _check_random_cases(live, summarised, raw_tables, examples=20)


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_summarised_questions_equal_live_ones_on_the_postgresql_standby(postgres_pair, raw_tables):
    live, summarised, summary = postgres_pair
    assert summary.replay is not None  # built from the standby, in one snapshot
    _check_random_cases(live, summarised, raw_tables, examples=5)


def test_the_default_view_is_the_same_and_says_its_age(duckdb_pair):
    """What a page opens on, without filter; and the figures' freshness is the summary's."""
    live, summarised, summary = duckdb_pair
    _check_all(live, summarised, (Filters(), Scope(), {n: v[0] for n, v in BY.items()},
                                  "commune", live.coverage().end.year, None))  # fmt: skip
    assert summarised.summary == summary
    assert summarised.freshness_cached() == summary.freshness()
    assert str(summarised.freshness_cached()) == str(live.freshness_cached())


def test_quality_checks_read_the_live_replica(duckdb_pair):
    live, summarised, _ = duckdb_pair
    reads = LiveReads(summarised)
    try:
        got = summarised.likely_duplicates()
    finally:
        reads.close()
    assert reads.count > 0
    pd.testing.assert_frame_equal(got, live.likely_duplicates())


# ---------------------------------------------------------------------------- demand snapshots
DEMAND_QUESTIONS = [
    ("demand_supply", {"level": "commune"}),
    ("demand_supply", {"level": "epci"}),
    ("typology_pressure", {"level": "commune"}),
    ("priority_backlog", {}),
    ("backlog_by_epci", {}),
    ("dalo_overdue", {}),
]


class SummaryReads:
    """The statements the summary's engine runs."""

    def __init__(self, replica: Replica):
        import sqlalchemy as sa

        self.statements: list[str] = []
        self.engine = replica._summaries.source().engine
        self._listener = lambda conn, cursor, statement, *args: self.statements.append(statement)
        sa.event.listen(self.engine, "before_cursor_execute", self._listener)

    def close(self):
        import sqlalchemy as sa

        sa.event.remove(self.engine, "before_cursor_execute", self._listener)


def test_snapshot_dates_are_the_month_ends_the_pages_observe():
    from data_access.summaries.demand import snapshot_dates

    assert snapshot_dates(date(2024, 3, 12), 3) == (
        date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 12),
    )  # fmt: skip
    assert snapshot_dates(date(2023, 2, 28), 2) == (date(2023, 1, 31), date(2023, 2, 28))


def test_the_demand_questions_read_the_snapshot_of_a_month_end(duckdb_pair):
    """On a month end the summary keeps, the demand questions count its snapshot's rows and
    read no demande nor wish; on another date they run the live queries' statements on the
    summary's tables (which read whether each demande was radiated by then); the answers
    equal the live ones either way."""
    live, summarised, summary = duckdb_pair
    end = summary.snapshots[-14]
    assert end.day > 27  # a month end
    for filters in (
        Filters(end=end.strftime("%Y-%m")),
        Filters(end=end.strftime("%Y-%m"), criteres=["DALO", "ACD"], mutation=False),
    ):
        for name, kwargs in DEMAND_QUESTIONS:
            for at, snapshot in ((None, True), (end - timedelta(days=3), False)):
                reads = SummaryReads(summarised)
                try:
                    got = getattr(summarised, name)(filters, at=at, **kwargs)
                finally:
                    reads.close()
                want = getattr(live, name)(filters, at=at, **kwargs)
                pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=True)
                sql = " ".join(reads.statements)
                assert ("demande_au" in sql) is snapshot, (name, at)
                # the active demandes are those not radiated: a live count reads that date
                assert ("date_radiation" in sql) is not snapshot, (name, at)


def test_a_summary_classed_on_other_thresholds_is_read_as_the_live_tables(duckdb_pair):
    """A reader whose settings ask thresholds the summary did not class the demand on (a
    délai anormalement long of 30 months, a DALO deadline of 3) counts on the summary's
    tables instead: the answers are those of the live replica with the same settings."""
    live, summarised, summary = duckdb_pair
    changes = {"abnormal_delay_months": 30, "dalo_deadline_months": 3}
    other_live = Replica(url=live.url, settings=replace(live.settings, **changes), cache=False)
    other = Replica(url=live.url, settings=replace(summarised.settings, **changes), cache=False)
    try:
        assert other.summary == summary
        filters = Filters(end=summary.snapshots[-3].strftime("%Y-%m"))
        for name in ("priority_backlog", "backlog_by_epci", "dalo_overdue"):
            reads = SummaryReads(other)
            try:
                got = getattr(other, name)(filters)
            finally:
                reads.close()
            pd.testing.assert_frame_equal(got, getattr(other_live, name)(filters))
            assert "demande_au" not in " ".join(reads.statements), name
        # the thresholds in force do change the figures: this case tells them apart
        assert not other.dalo_overdue(filters).equals(summarised.dalo_overdue(filters))
    finally:
        other.dispose()
        other_live.dispose()


def _without(demo_path, copy, missing: str) -> date:
    """A copy of the demo without one recent lease's dwelling (``logement``) or one CAL
    decision's proposition (``proposition``); returns that event's date."""
    import duckdb

    shutil.copy(demo_path, copy)
    con = duckdb.connect(str(copy))
    try:
        if missing == "logement":
            key, day = con.execute(
                "SELECT logement_id, date_signature FROM bail WHERE date_signature < ? "
                "ORDER BY date_signature DESC, id LIMIT 1",
                [date(2025, 1, 1)],
            ).fetchone()
        else:
            key, day = con.execute(
                "SELECT proposition_id, date_cal FROM decision_cal WHERE date_cal < ? "
                "ORDER BY date_cal DESC, id LIMIT 1",
                [date(2025, 1, 1)],
            ).fetchone()
        con.execute(f"DELETE FROM {missing} WHERE id = ?", [key])
    finally:
        con.close()
    return day


@pytest.mark.parametrize("missing", ["logement", "proposition"])
def test_the_joined_columns_are_read_in_the_summary_only_when_none_is_missing(
    duckdb_pair, demo_path, tmp_path, missing
):
    """The demo's leases, offers, propositions and CAL decisions all find their dwelling,
    commune, réservataire, demande and proposition: the summary keeps those columns and the
    questions read them there. A replica with one lease whose dwelling is missing, or one
    decision whose proposition is: the replica's inner joins drop it from every breakdown by
    dwelling (from every count of decisions), so the summary's questions join the tables as
    it does."""
    original, _, summary = duckdb_pair
    assert summary.joined
    copy = tmp_path / f"sans-un-{missing}.duckdb"
    day = _without(demo_path, copy, missing)
    url = f"duckdb:///{copy}"
    settings_ = _settings(demo_path=copy, summary_dir=tmp_path / "resumes")
    incomplete = build_summary(url, settings_)
    assert not incomplete.joined
    live = Replica(url=url, settings=replace(settings_, summaries=False), cache=False)
    summarised = Replica(url=url, settings=settings_, cache=False)
    try:
        assert summarised.summary == incomplete
        filters = Filters(start=add_months(day, -2), end=day)
        epci = live.rehousing_cells(filters)["epci"].iloc[0]
        for name, kwargs in (
            ("monthly_rehousing", {"by": "commune"}),
            ("monthly_rehousing", {}),
            ("rehousing_cells", {}),
            ("demand_supply", {"level": "epci"}),
            ("objective_progress", {"by": "bailleur_epci"}),
            ("pipeline", {}),
            ("pipeline", {"filters": replace(filters, epci=[epci])}),
        ):
            got = getattr(summarised, name)(**{"filters": filters, **kwargs})
            want = getattr(live, name)(**{"filters": filters, **kwargs})
            pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=True)
        if missing == "logement":  # the lease counts where no dwelling is joined, only there
            by_commune = live.monthly_rehousing(filters, by="commune")["relogements"].sum()
            assert live.monthly_rehousing(filters)["relogements"].sum() == by_commune + 1
        else:  # the decision left without its proposition is counted no more
            cal = live.pipeline(filters).filter(like="cal_").to_numpy().sum()
            assert cal == original.pipeline(filters).filter(like="cal_").to_numpy().sum() - 1
    finally:
        live.dispose()
        summarised.dispose()


# ---------------------------------------------------------------------------- currency
def _pointer(summary):
    return summary.path.parent / "courant.json"


def test_a_summary_of_other_data_is_not_read(duckdb_pair, tmp_path):
    """A summary that does not hold the replica's data version (another extraction) is not
    read: the live replica answers, and says its own freshness."""
    live, _, summary = duckdb_pair
    directory = tmp_path / "autre"
    store = SummaryStore(directory, summary.path.parent.name)
    store.prepare()
    data = json.loads(_pointer(summary).read_text())
    data["version"] = data["base_version"] = "une-autre-extraction"
    os.link(summary.path, store.directory / summary.path.name)
    (store.directory / "courant.json").write_text(json.dumps(data))
    other = _reading(live, directory)
    try:
        assert other.summary is None
        reads = LiveReads(other)
        other.monthly_rehousing(Filters())
        reads.close()
        assert reads.count > 0
    finally:
        other.dispose()


def _reading(live, directory):
    """A replica on ``live``'s data reading the summaries under ``directory``."""
    settings_ = replace(live.settings, summaries=True, summary_dir=directory)
    return Replica(url=live.url, settings=settings_, cache=False)


def test_a_damaged_summary_hands_over_to_the_live_replica(duckdb_pair, tmp_path):
    live, _, summary = duckdb_pair
    directory = tmp_path / "abime"
    store = SummaryStore(directory, summary.path.parent.name)
    store.prepare()
    broken = store.directory / summary.path.name
    broken.write_bytes(b"pas une base DuckDB" * 1000)
    (store.directory / "courant.json").write_text(_pointer(summary).read_text())
    damaged = _reading(live, directory)
    try:
        f = Filters(start="2025-01", end="2025-12")
        pd.testing.assert_frame_equal(damaged.monthly_rehousing(f), live.monthly_rehousing(f))
        assert damaged.summary is None  # dropped after its first failure
    finally:
        damaged.dispose()


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_on_a_streaming_standby_a_summary_stands_while_young(postgres_pair, pg_cluster):
    """The standby's version moves with each replayed transaction: the summary of the same
    extraction is read while younger than twice the interval, then no more; ``relog
    summarise --watch`` would rebuild it after one interval."""
    live, summarised, summary = postgres_pair
    with pg_cluster.connect() as primary:
        primary.execute("CREATE TABLE relog_resume_test AS SELECT 1 AS n")
        primary.execute("DROP TABLE relog_resume_test")
    pg_cluster.wait_for_replay()
    now = live.freshness()
    assert now.version != summary.version and now.base_version == summary.base_version
    assert not needs_build(summary, now, interval_s=3600)
    assert needs_build(replace(summary, built_at=summary.built_at - timedelta(hours=2)), now, 3600)
    fresh = Replica(url=live.url, settings=summarised.settings, cache=False)
    try:
        assert fresh.summary == summary  # young: read, the figures as of its build
        assert fresh.freshness_cached().replay == summary.replay < now.replay
    finally:
        fresh.dispose()
    old = json.loads(_pointer(summary).read_text())
    try:
        aged = dict(old, built_at=(datetime.now(UTC) - timedelta(days=1)).isoformat())
        _pointer(summary).write_text(json.dumps(aged))
        stale = Replica(url=live.url, settings=summarised.settings, cache=False)
        try:
            assert stale.summary is None
            assert stale.freshness_cached().version == stale.freshness().version
        finally:
            stale.dispose()
    finally:
        _pointer(summary).write_text(json.dumps(old))


# ---------------------------------------------------------------------------- the builder
def test_one_builder_at_a_time(duckdb_pair, demo_path):
    live, summarised, summary = duckdb_pair
    store = SummaryStore(summary.path.parent.parent, summary.path.parent.name)
    with store.lock():
        with pytest.raises(SummaryBusy, match="construit déjà"):
            build_summary(live.url, summarised.settings, store)
    assert store.current() == summary  # untouched


def test_summaries_are_for_the_service_user_alone(duckdb_pair):
    _, _, summary = duckdb_pair
    assert stat.S_IMODE(summary.path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(summary.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(_pointer(summary).stat().st_mode) == 0o600
    from data_access.engine import open_duckdb_readonly

    con = open_duckdb_readonly(summary.path)
    try:
        columns = {r[0] for r in con.execute("DESCRIBE demande").fetchall()}
    finally:
        con.close()
    assert "numero_unique" not in columns and "date_depot" in columns


def test_relog_summarise_builds_once_then_says_it_is_current(demo_path, tmp_path):
    env = {**os.environ, "RELOG_DEMO_PATH": str(demo_path), "RELOG_DATA_DIR": str(tmp_path)}
    env.pop("RELOG_DATABASE_URL", None)
    command = [sys.executable, "-m", "relog", "summarise"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Résumé construit en ")
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stdout.startswith("Résumé à jour"), again.stdout
    files = list((tmp_path / "resumes").glob("*/resume-*.duckdb"))
    assert len(files) == 1


def test_a_summary_read_for_postgresql_gives_the_drivers_values_from_numpy():
    """A summary answering for a PostgreSQL replica builds its columns from DuckDB's NumPy
    arrays, yet gives what the rows would: dates as ``date``, NULLs as None, integers (and
    DuckDB's HUGEINT sums) as int64; a DECIMAL goes row by row."""
    import sqlalchemy as sa

    from data_access.execution import _driver_columns, _row_columns

    engine = sa.create_engine("duckdb:///:memory:")
    columns = list("abcdefghijkl")
    query = sa.text(
        "SELECT * FROM (VALUES (1::INTEGER, 2::BIGINT, 1.5::DOUBLE, DATE '2024-01-01', 'x', "
        "true, 3::HUGEINT, NULL::INTEGER, NULL::DATE, NULL::VARCHAR, NULL::DOUBLE, "
        "NULL::BOOLEAN), (2, 3, NULL, DATE '2024-02-01', NULL, false, 4, 5, DATE '2024-03-01', "
        "'y', 2.5, true)) AS t(a, b, c, d, e, f, g, h, i, j, k, l)"
    )
    decimal = sa.text("SELECT 1.25::DECIMAL(10, 2) AS m, DATE '2024-01-01' AS n")
    try:
        for stmt, names in ((query, columns), (decimal, ["m", "n"])):
            with engine.connect() as conn:
                fast = _driver_columns(conn.execute(stmt), names)
            with engine.connect() as conn:
                rows = _row_columns(conn.execute(stmt).fetchall(), names)
            for name in names:
                assert list(fast[name]) == rows[name], name
                assert [type(v) for v in fast[name]] == [type(v) for v in rows[name]] or (
                    isinstance(fast[name], np.ndarray) and fast[name].dtype.kind in "ifb"
                ), name
            pd.testing.assert_frame_equal(
                pd.DataFrame(fast, columns=names), pd.DataFrame(rows, columns=names)
            )
        assert isinstance(fast["m"], list)  # the DECIMAL, row by row: Decimal, not a float
        empty = sa.text("SELECT 'x' AS a, 1 AS b WHERE false")
        with engine.connect() as conn:
            fast = pd.DataFrame(_driver_columns(conn.execute(empty), ["a", "b"]))
        with engine.connect() as conn:
            rows = pd.DataFrame(_row_columns(conn.execute(empty).fetchall(), ["a", "b"]))
        pd.testing.assert_frame_equal(fast, rows)  # no row: typed as pandas types empty lists
    finally:
        engine.dispose()
