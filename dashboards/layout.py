"""What every served page shares: the template, the navigation between pages, and the
French message shown instead of a page that cannot open."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from html import escape
from pathlib import Path

import panel as pn

from dashboards import session, workarounds
from dashboards.access import Profile, gate
from dashboards.components.health import ReplicaWatch
from data_access import RelogError, Replica, connect

workarounds.apply()

log = logging.getLogger("relog.dashboards")

#: Pages of the header's navigation: route → title.
PAGES = {
    "app": "Relogements mensuels",
    "carte": "Demande et offre",
    "objectifs": "Suivi du plan",
    "reunion": "Réunion",
}

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


def navigation(current: str, pages: dict[str, str] = PAGES) -> pn.pane.HTML:
    links = "".join(
        f'<a href="./{route}" class="{"active" if route == current else ""}">{title}</a>'
        for route, title in pages.items()
    )
    return pn.pane.HTML(
        f"<nav>{links}</nav>", stylesheets=[NAV_CSS], css_classes=["relog-nav"], margin=(0, 20)
    )


def replica():
    """The process's one Replica (engine, pool, caches), shared by every session."""
    return pn.state.as_cached("relog-replica", connect)


ACCOUNT_CSS = """
:host { margin-left: auto; }
.relog-compte { color: #ffffff; font-size: 0.95rem; display: flex; gap: 1em; align-items: center; }
.relog-compte a { color: #ffffff; }
"""


def account_bar(found: Profile | None) -> pn.pane.HTML:
    """Who is signed in, with which profile, and the way out; or, without sign-in, that
    the product serves this machine only."""
    if not gate().settings.enabled:
        text = (
            '<span class="relog-sans-connexion">Accès local sans authentification '
            "(cette machine seulement)</span>"
        )
    else:
        if found is None:
            profile = "aucun profil"
        else:
            secrecy = "chiffres exacts" if found.exact else "petits effectifs masqués"
            profile = f"{escape(found.label)} · {secrecy}"
        text = (
            f'<span class="relog-utilisateur">{escape(session.user() or "")}</span>'
            f'<span class="relog-profil">{profile}</span>'
            '<a href="/logout">Se déconnecter</a>'
        )
    return pn.pane.HTML(
        f'<div class="relog-compte">{text}</div>', stylesheets=[ACCOUNT_CSS], margin=(0, 20)
    )


#: What a page's ``build`` returns for its sidebar: a function building it (on load).
SidebarBuilder = Callable[[], pn.viewable.Viewable]


def serve_page(
    route: str,
    title: str,
    build: Callable[[Replica, bool], tuple[SidebarBuilder, pn.viewable.Viewable]],
    raw_css: list[str] | None = None,
    **template_options,
):
    """Serve a template holding ``build(replica, protected)``'s (sidebar, main), ``replica``
    narrowed to the signed-in user's profile (fixed for the session), ``protected`` whether
    that profile reads protected figures (statistical secrecy); a user without a profile sees
    the refusal only. A data error shows its French message, a bug a French notice (and its
    traceback in the server's log).

    ``sidebar`` is a function building the filters: it is called once the main area is on
    screen (:func:`panel.state.onload`), so that the page's figures, what the user opened it
    for, are built, sent and drawn first (a sixth of the page's models; 0.18 s of the
    rehousing page's first render in Chromium, 12 paired openings).

    The page is built and added to the session's document under one model freeze: Bokeh
    otherwise walks the whole model graph again after each root Panel adds (a tenth of a
    second per page opening here)."""
    doc = pn.state.curdoc
    with doc.models.freeze() if doc is not None else nullcontext():
        return _template(route, title, build, raw_css, template_options).servable()


def _template(route: str, title: str, build, raw_css=None, options=None) -> RelogTemplate:
    """The page's template. Whatever happens (a page, a refusal, an error), its roots are
    the same in number and place: two in the header, one in the sidebar, two in the main
    area. ``relog serve`` answers a page request with the HTML of an earlier session of the
    route while it builds the new one (``--reuse-sessions warm``), and the browser places a
    session's roots in that HTML by their order."""
    template = RelogTemplate(
        title=title, sidebar_width=340, header_background="#1D4E89", **(options or {})
    )
    if raw_css:  # this page's own (the meeting page hides the banner on the wall)
        template.config.raw_css = [*template.config.raw_css, *raw_css]
    found = session.profile()
    admin = found is not None and found.admin
    template.header.extend(
        [
            navigation(route, {**PAGES, "journal": "Journal d'audit"} if admin else PAGES),
            account_bar(found),
        ]
    )
    sidebar, main = _contents(route, build, found)
    template.sidebar.append(sidebar)
    watch = ReplicaWatch(replica(), getattr(main, "recover", None))
    template.main.extend(
        [
            pn.Column(watch.banner, main, sizing_mode="stretch_width"),
            workarounds.AccessibilityRepairs(),
        ]
    )
    return template


def _contents(route: str, build, found: Profile | None) -> tuple[pn.Column, pn.viewable.Viewable]:
    """(sidebar, main) of the page for profile ``found``: the page itself, or the French
    notice that replaces it (no profile, a data error, a bug)."""
    if found is None:  # signed in, but no profile: nothing but the refusal (default deny)
        session.record("refus", chemin=f"/{route}", motif="aucun profil")
        return pn.Column(), pn.pane.Alert(
            "Accès non autorisé : votre compte n'est rattaché à aucun profil des tableaux "
            "de bord. Adressez-vous à leur administrateur (DDETS).",
            alert_type="danger",
        )
    built = _or_notice(
        lambda: build(replica().scoped(found.scope), not found.exact),
        "d'ouvrir la page",
        f"Erreur à l'ouverture de la page {route}",
    )
    if isinstance(built, pn.pane.Alert):
        return pn.Column(), built
    sidebar, main = built
    _audit_views(route, main)
    return _built_on_load(sidebar), main


#: The class the sidebar takes once its filters are built (:func:`_built_on_load`).
READY = "relog-sidebar-pret"


def _built_on_load(build: Callable[[], pn.viewable.Viewable]) -> pn.Column:
    """A column that ``build()``'s result fills once the session's page is loaded in the
    browser (at once outside a server). A failure there shows the same French notices as
    the page's."""
    holder = pn.Column(sizing_mode="stretch_width", css_classes=["relog-sidebar"])

    def fill() -> None:
        holder.param.update(
            objects=[
                _or_notice(build, "d'afficher les filtres", "Erreur à la construction des filtres")
            ],
            css_classes=[*holder.css_classes, READY],  # what a test or a bench may wait for
        )

    pn.state.onload(fill)
    return holder


def _or_notice(make: Callable, what: str, logged: str):
    """``make()``, or the French notice of its failure: a data error's own message; for a
    bug, that it prevents ``what`` (« d'ouvrir la page ») and was logged (``logged``, with
    its traceback) in the server's log."""
    try:
        return make()
    except RelogError as err:
        return pn.pane.Alert(str(err), alert_type="danger")
    except Exception:  # a bug: logged with its traceback; the user reads French
        log.exception(logged)
        return pn.pane.Alert(
            f"Une erreur inattendue empêche {what} ; elle a été consignée dans le journal du "
            "serveur.",
            alert_type="danger",
        )


def _audit_views(route: str, main) -> None:
    """The audit log gets the page opened with its filters, then each change of them (as
    the address writes them: codes, never a figure)."""
    state = getattr(main, "state", None)
    query = state.to_query() if state is not None else {}
    session.record("page", chemin=f"/{route}", filtres=query)
    if state is not None:
        from dashboards.state.filters import FILTER_PARAMS

        def changed(*_):
            session.record("filtres", chemin=f"/{route}", filtres=state.to_query())

        state.param.watch(changed, FILTER_PARAMS)
