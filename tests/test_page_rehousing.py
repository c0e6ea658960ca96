"""The rehousing page's view, without a browser: loading indicators when its figures are
slow to come, and views that follow the state."""

from __future__ import annotations

import panel as pn
import pytest
from bokeh.document import Document

from dashboards.pages.rehousing import RehousingPage
from dashboards.state.rehousing import RehousingState

pytestmark = pytest.mark.slow

SICOVAL = "243100633"


@pytest.fixture
def page(duckdb_replica):
    pn.state.clear_caches()
    page = RehousingPage(RehousingState(duckdb_replica))
    doc = Document()
    doc.add_root(pn.Column(page.sidebar(), page).get_root(doc))
    yield page
    pn.state.reset()


def test_a_quick_refresh_shows_no_spinner_a_slow_one_shows_them_first(page, monkeypatch):
    scheduled = []
    monkeypatch.setattr(
        pn.state, "execute", lambda callback, schedule="auto": scheduled.append(callback)
    )
    kpi = page._busy[0]
    before = kpi.object
    page.state.epci = [SICOVAL]
    page.state.start = page.state.period.end  # two changes, one refresh
    assert len(scheduled) == 1
    assert kpi.object == before  # computed on the next tick
    assert not any(view.loading for view in page._busy)  # quick so far: no flicker
    scheduled.pop()()
    assert kpi.object != before
    figures = page.state.key_figures().set_index("fenetre")
    assert f'data-valeur="relogements">{figures.loc["periode", "relogements"]}<' in kpi.object
    # the last refresh was slow (a distant database): the next shows its spinners first
    page._refresher.last_s = page._refresher.slow_s + 0.1
    page.state.epci = []
    assert all(view.loading for view in page._busy)
    scheduled.pop()()
    assert not any(view.loading for view in page._busy)
    assert 0 < page._refresher.last_s != page._refresher.slow_s + 0.1  # measured again


def test_a_served_refresh_starts_its_questions_as_the_change_arrives(cached_replica, monkeypatch):
    """In a served session the questions start in the change's own watcher (the replica
    works while the rest of the change is handled, before the next tick); a second change
    of the same tick starts its own, and the one refresh awaits the last ones, then draws
    from the cache."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from dashboards.components import refresh

    page = RehousingPage(RehousingState(cached_replica))
    doc = Document()
    doc.add_root(pn.Column(page.sidebar(), page).get_root(doc))
    scheduled, asked = [], []
    monkeypatch.setattr(refresh, "served", lambda: True)
    monkeypatch.setattr(
        pn.state, "execute", lambda callback, schedule="auto": scheduled.append(callback)
    )
    prefetch = page._refresher.prefetch

    def recorded():
        futures = prefetch()
        asked.append((page.state.filters(), futures))
        return futures

    monkeypatch.setattr(page._refresher, "prefetch", recorded)
    kpi = page._busy[0]
    before = kpi.object
    page.state.epci = [SICOVAL]
    assert len(asked) == 1 and asked[0][1], "no question started with the change"
    assert len(scheduled) == 1  # the refresh, on the next tick
    page.state.start = page.state.period.end
    assert len(asked) == 2 and asked[1][0] == page.state.filters()  # the new filters' own
    assert len(scheduled) == 1  # still one refresh
    assert page._refresher._questions == asked[1][1]  # the one it awaits
    # awaits the answers, then schedules the drawing; on a thread of its own: a loop may
    # already run on this one (another test's server, in the same worker)
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, scheduled.pop()()).result()
    assert all(f.done() for f in asked[1][1])
    assert kpi.object == before  # drawn in a callback of its own
    scheduled.pop()()
    figures = page.state.key_figures().set_index("fenetre")
    assert f'data-valeur="relogements">{figures.loc["periode", "relogements"]}<' in kpi.object


def test_chart_and_table_follow_the_filters(page):
    chart = page._chart_source
    page.state.epci = [SICOVAL]
    series = page.state.series()
    assert chart.data["relogements_dalo"] == series["relogements_dalo"].tolist()
    table = page._tables["reservataire"].widget
    assert (
        table.value["relogements"].iloc[0]
        == page.state.table("reservataire")["relogements"].iloc[-1]
    )


def test_pipeline_tab_is_built_once_and_refreshed_when_shown_again(page):
    tabs = page._monthly_tabs
    tabs.active = 1
    table = page._pipeline_holder.objects[0]
    tabs.active = 0
    page.state.epci = [SICOVAL]  # changed while the tab is hidden
    tabs.active = 1
    assert page._pipeline_holder.objects[0] is table
    assert (
        table.value["propositions"].iloc[-1]
        == page.state.table("pipeline")["propositions"].iloc[-1]
    )
