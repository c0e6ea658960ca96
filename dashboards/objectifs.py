"""Route ``/objectifs`` of ``relog serve``: the plan follow-up page."""

from __future__ import annotations

import panel as pn

from dashboards.layout import serve_page
from dashboards.pages.plan import build
from data_access.plan import TITLE

pn.extension(loading_indicator=True, notifications=True, sizing_mode="stretch_width")

serve_page("objectifs", TITLE, build)
