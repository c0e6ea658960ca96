"""What every served page shares: the template, the navigation between pages, and the
French message shown instead of a page that cannot open."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import panel as pn

from dashboards import workarounds
from data_access import RelogError, connect

workarounds.apply()

log = logging.getLogger("relog.dashboards")

#: Pages of the header's navigation: route → title.
PAGES = {"app": "Relogements mensuels", "carte": "Demande et offre"}

NAV_CSS = """
:host { display: flex; align-items: center; }
a { color: #ffffff; margin-right: 1.2em; text-decoration: none; font-size: 1rem; opacity: 0.85; }
a.active { opacity: 1; font-weight: bold; border-bottom: 2px solid #ffffff; }
"""


class RelogTemplate(pn.template.VanillaTemplate):
    """Panel's vanilla template (native design: a third lighter to render than the Bootstrap
    one, whose stylesheet every component's shadow root re-applies), without its web font
    from Google Fonts (:mod:`dashboards.workarounds`): the pages must work on a network with
    no internet. Its page structure is ours (``templates/relog.html``): landmarks, a title,
    a keyboard-operable filter button, French."""

    _template = Path(__file__).parent / "templates" / "relog.html"


def navigation(current: str) -> pn.pane.HTML:
    links = "".join(
        f'<a href="./{route}" class="{"active" if route == current else ""}">{title}</a>'
        for route, title in PAGES.items()
    )
    return pn.pane.HTML(
        f"<nav>{links}</nav>", stylesheets=[NAV_CSS], css_classes=["relog-nav"], margin=(0, 20)
    )


def replica():
    """The process's one Replica (engine, pool, caches), shared by every session."""
    return pn.state.as_cached("relog-replica", connect)


def serve_page(
    route: str, title: str, build: Callable[[], tuple[pn.viewable.Viewable, pn.viewable.Viewable]]
):
    """Serve a template holding ``build()``'s (sidebar, main); a data error shows its French
    message, a bug a French notice (and its traceback in the server's log).

    The page is built and added to the session's document under one model freeze: Bokeh
    otherwise walks the whole model graph again after each root Panel adds (a tenth of a
    second per page opening here)."""
    doc = pn.state.curdoc
    with doc.models.freeze() if doc is not None else nullcontext():
        return _template(route, title, build).servable()


def _template(route: str, title: str, build) -> RelogTemplate:
    template = RelogTemplate(title=title, sidebar_width=340, header_background="#1D4E89")
    template.header.append(navigation(route))
    try:
        sidebar, main = build()
    except RelogError as err:
        template.main.append(pn.pane.Alert(str(err), alert_type="danger"))
        return template
    except Exception:  # a bug: logged with its traceback; the user reads French
        log.exception("Erreur à l'ouverture de la page %s", route)
        template.main.append(
            pn.pane.Alert(
                "Une erreur inattendue empêche d'ouvrir la page ; elle a été consignée "
                "dans le journal du serveur.",
                alert_type="danger",
            )
        )
        return template
    template.sidebar.append(sidebar)
    template.main.append(main)
    template.main.append(workarounds.AccessibilityRepairs())
    return template
