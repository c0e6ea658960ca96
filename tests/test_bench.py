"""relog bench keeps measuring every query against the very SQL it sends."""

import pytest

from bench.queries import RecordingReplica, build_and_measure, build_report, cases, measure, report

pytestmark = pytest.mark.slow


def test_bench_measures_every_query_against_its_bare_sql(demo_path, capsys):
    replica = RecordingReplica(url=f"duckdb:///{demo_path}", cache=False)
    try:
        rows = measure(replica, "departement", "duckdb", repeat=2)
    finally:
        replica.dispose()
    assert [r.query for r in rows] == list(cases(replica))
    assert all(r.median_ms > 0 and r.bare_ms > 0 and r.bare_frame_ms > 0 for r in rows)
    table = report(rows)
    assert "| departement | duckdb | pipeline |" in table and "≤ 30 ms" in table


def test_bench_builds_a_summary_then_measures_every_query_read_from_it(demo_path, tmp_path):
    """The summary rows: relog summarise in a child process (time, peak memory), then each
    question read from the summary against its bare SQL run on the summary's file."""
    build, rows = build_and_measure(
        f"duckdb:///{demo_path}", "departement", "duckdb", 2, tmp_path / "resumes"
    )
    assert build.seconds > 0 and 0 < build.max_rss_gb < 24 and build.size_mb > 1
    assert [r.query for r in rows] == [r for r in cases_of(demo_path)]
    assert {r.backend for r in rows} == {"duckdb + résumé"}
    assert "| departement | duckdb |" in build_report([build])


def cases_of(demo_path):
    replica = RecordingReplica(url=f"duckdb:///{demo_path}", cache=False)
    try:
        return list(cases(replica))
    finally:
        replica.dispose()


def test_bench_measures_the_page_filter_change(demo_path):
    from bench.dashboard import filter_change, report

    measures = filter_change(demo_path, repeat=3)
    assert [m.unit for m in measures] == ["ms", "ms"]
    assert all(m.median > 0 for m in measures)
    assert "changement de filtre" in report(measures)
    signed_in = filter_change(demo_path, repeat=3, signed_in=True)
    assert all("connecté" in m.what and m.median > 0 for m in signed_in)


def test_bench_measures_the_map_indicator_change(demo_path):
    from bench.dashboard import report
    from bench.map import COMMUNES_31, indicator_change

    if not COMMUNES_31.exists():
        pytest.fail(f"../shared/geodata is missing beside the checkout ({COMMUNES_31})")
    measure = indicator_change(demo_path, repeat=4)
    assert measure.unit == "ms" and measure.median > 0
    assert "changement d'indicateur" in report([measure], "carte")


def test_the_overhead_ratio_pairs_each_call_with_the_bare_sql_run_after_it():
    from bench.queries import paired_ratio

    # the machine runs at two speeds and switches between an API call and its bare SQL: one
    # side has one more slow run, and its median flips to the slow speed (22 / 10 = 2.2)
    api = [11, 11, 22, 22, 22]
    bare = [10, 10, 10, 20, 20]
    assert paired_ratio(api, bare) == pytest.approx(1.1)
    assert paired_ratio([1, 3], [1, 1]) == 2


def test_a_bare_sql_past_the_timeout_is_reported_not_fatal(capsys):
    """National PostgreSQL: a bare SQL text planned otherwise than the API's statement can
    pass the bench's statement timeout; it is run no more and the row says so."""
    from bench.queries import Row, _guarded

    calls = []

    def timed_out():
        calls.append(1)
        raise RuntimeError("canceling statement due to statement timeout")

    runner = _guarded(timed_out)
    runner()
    runner()
    assert runner.failed and len(calls) == 1
    assert "SQL nu abandonné : canceling statement" in capsys.readouterr().out
    nan = float("nan")
    row = Row("national", "postgres", "demand_supply epci", 900.0, 950.0, nan, nan, nan, nan)
    assert "SQL nu hors délai" in report([row])


def test_a_live_question_past_the_timeout_is_reported_and_the_run_goes_on(
    demo_path, monkeypatch, capsys
):
    """National PostgreSQL live: a question past the bench's statement timeout gets a row
    « hors délai » and the next questions are measured."""
    from bench import queries
    from data_access.errors import QueryTimeout

    replica = RecordingReplica(url=f"duckdb:///{demo_path}", cache=False)

    def too_slow():
        raise QueryTimeout("La requête a dépassé le délai maximal de 120 s et a été annulée.")

    monkeypatch.setattr(
        queries, "cases", lambda r: {"demand_supply commune": too_slow, "freshness": r.freshness}
    )
    try:
        rows = measure(replica, "national", "postgres", repeat=2)
    finally:
        replica.dispose()
    assert [r.query for r in rows] == ["demand_supply commune", "freshness"]
    assert rows[0].median_ms != rows[0].median_ms and rows[1].median_ms > 0
    assert "hors délai" in capsys.readouterr().out
    text = report(rows)
    assert "| demand_supply commune |" in text and "hors délai (120 s)" in text


def test_summaries_only_skips_the_live_rows(demo_path, monkeypatch, capsys):
    """``relog bench --summaries-only``: the summary is built and read, the replica itself is
    not measured (national PostgreSQL's live rows take half an hour)."""
    from argparse import Namespace

    from bench import queries

    calls = []
    monkeypatch.setattr(queries, "_demo", lambda scale: demo_path)
    monkeypatch.setattr(queries, "measure", lambda r, s, backend, n: calls.append(backend) or [])
    monkeypatch.setattr(
        queries,
        "build_and_measure",
        lambda url, s, backend, n, d: (
            calls.append(f"{backend} + résumé") or (queries.Build(s, backend, 1.0, 0.1, 1.0), [])
        ),
    )
    args = Namespace(scales="departement", backends="duckdb", repeat=2, suites="requetes")
    assert queries.main(Namespace(**vars(args), summaries_only=True)) == 0
    assert calls == ["duckdb + résumé"]
    calls.clear()
    assert queries.main(args) == 0
    assert calls == ["duckdb", "duckdb + résumé"]
