"""Invisible pieces of a page: scripts run in the browser, nothing shown."""

from __future__ import annotations

from panel.reactive import ReactiveHTML


class HiddenScripts(ReactiveHTML):
    """A component that takes no room on the page, for its ``_scripts`` only.

    Plain scripts, compiled once as functions, rather than a ``JSComponent``: an ES module
    is compiled in the browser at each page opening (es-module-shims), which was, for the
    address bar's and the accessibility repairs', a tenth of the rehousing page's first
    render (bench/dashboard.py)."""

    _template = '<span id="scripts" style="display: none"></span>'

    def __init__(self, **params):
        params.setdefault("margin", 0)
        params.setdefault("height", 0)
        params.setdefault("width", 0)
        super().__init__(**params)
