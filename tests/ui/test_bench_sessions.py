"""The 50-session bench's client (bench/sessions.py), on a few sessions: it speaks Bokeh's
protocol as a browser does — the page's document, its filters once ready, a change of end
month answered by the page's refresh — and the server lets its sessions go once closed."""

from __future__ import annotations

import pytest

from bench import sessions

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.xdist_group("ui")]


def test_sessions_change_months_and_are_released(demo_path):
    raw = sessions.measure(demo_path, sessions=3, processes=1, duration_s=12.0, sample_s=4.0)
    assert raw["failures"] == 0
    # every session changed its month at least once, each change seen redrawn
    assert len(raw["latencies"]) >= 3 and all(s > 0 for s in raw["latencies"])
    assert all(s is not None for s in raw["opening"])
    # closed sessions are dropped: only the route's first one (the pages' HTML) is left
    assert raw["sessions_left"] <= 1
    assert raw["samples"] and raw["opened_mb"] > 0
    rows = sessions.measures(raw)
    assert rows[0].what.startswith("changement de mois, 3 sessions")


def test_the_client_recognises_only_its_own_change(demo_path):
    """A change is over when the message redrawing the chart writes the new period: the
    client finds the chart, the key figures and the end month's options in the page."""
    from bench.served_app import ServedApp

    async def scenario(base):
        client = sessions.Client(base)
        await client.open()
        found = (client._kpi, client._chart, client._select)
        months = [o for o in client._options if o >= sessions.START]
        await client.change()
        client.close()
        return found, months, client

    with ServedApp(demo_path) as app:
        base = app.url.replace("localhost", "127.0.0.1")
        found, months, client = sessions.run_apart(scenario(base))
    assert all(found), found
    assert len(months) >= 12
    assert client._value in months and len(client.latencies) == 1
