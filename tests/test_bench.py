"""relog bench keeps measuring every query against the very SQL it sends."""

import pytest

from bench.queries import RecordingReplica, cases, measure, report

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
