"""Route ``/reunion`` of ``relog serve``: live figures projected in referent meetings."""

from __future__ import annotations

import panel as pn

from dashboards.layout import serve_page
from dashboards.pages.meeting import PAGE_CSS, TITLE, build

pn.extension(sizing_mode="stretch_width")

serve_page("reunion", TITLE, build, raw_css=[PAGE_CSS], collapsed_sidebar=True)
