"""Route ``/app`` (and ``/``) of ``relog serve``: the monthly rehousing page."""

from __future__ import annotations

import panel as pn

from dashboards.layout import serve_page
from dashboards.pages.rehousing import TITLE, RehousingPage
from dashboards.state.rehousing import RehousingState

pn.extension("tabulator", notifications=True, loading_indicator=True, sizing_mode="stretch_width")


def build(replica, protected=False):
    page = RehousingPage(RehousingState(replica, protected=protected))
    if pn.state.location is not None:
        page.restore(pn.state.location.search or "")
    return page.sidebar, page


serve_page("app", TITLE, build)
