"""Where Panel or Bokeh is bent to our needs: every patch of their internals, in one place.

Each :class:`Workaround` says why it exists, which Panel and Bokeh versions it was written
and checked for, whether upstream still behaves in the way it works around (``needed``), and
whether the patch took (``effective``). :func:`apply` applies those whose versions match the
installed ones, and logs a warning for the others instead of patching an unknown internal.
``tests/test_workarounds.py`` fails when a pinned upgrade changes the versions, makes one
unnecessary, or breaks it: the signal to look again at this module.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import bokeh
import panel as pn

log = logging.getLogger("relog.dashboards")

#: The versions every workaround below was written and checked for (prefixes).
TESTED_WITH = {"panel": "1.9.", "bokeh": "3.9."}

_ORIGINAL: dict[str, object] = {}


@dataclass(frozen=True)
class Workaround:
    """A patch of a Panel or Bokeh internal."""

    name: str
    #: Why we need it, in one line.
    why: str
    #: Upstream still does what this works around (checked on the unpatched behaviour).
    needed: Callable[[], bool]
    #: Apply the patch (idempotent).
    patch: Callable[[], None]
    #: The patch is in effect.
    effective: Callable[[], bool]


def versions_match() -> bool:
    """The installed Panel and Bokeh are those the workarounds were checked for."""
    installed = {"panel": pn.__version__, "bokeh": bokeh.__version__}
    return all(installed[name].startswith(prefix) for name, prefix in TESTED_WITH.items())


# ---------------------------------------------------------------- MathJax
def _mathjax_needed() -> bool:
    from panel.io import resources
    from panel.models.markup import HTML

    original = _ORIGINAL.get("mathjax", resources._panel_use_mathjax)
    return bool(original([HTML(text="<p>texte</p>")]))


def _mathjax_patch() -> None:
    from panel.io import resources

    _ORIGINAL.setdefault("mathjax", resources._panel_use_mathjax)
    resources._panel_use_mathjax = lambda roots: False


def _mathjax_effective() -> bool:
    from panel.io import resources
    from panel.models.markup import HTML

    return not resources._panel_use_mathjax([HTML(text="<p>texte</p>")])


# ---------------------------------------------------------------- WebGL bundle
def _webgl_needed() -> bool:
    from bokeh.resources import Resources

    return "bokeh-gl" in _ORIGINAL.get("components", Resources._default_components)


def _webgl_patch() -> None:
    from bokeh.resources import Resources

    _ORIGINAL.setdefault("components", list(Resources._default_components))
    Resources._default_components = [c for c in Resources._default_components if c != "bokeh-gl"]


def _webgl_effective() -> bool:
    from bokeh.resources import Resources

    return (
        "bokeh-gl" not in Resources._default_components and "bokeh" in Resources._default_components
    )


# ---------------------------------------------------------------- document validation
def _validation_needed() -> bool:
    from bokeh.settings import settings

    return settings.perform_document_validation.default is True


def _validation_patch() -> None:
    from bokeh.settings import settings

    if "BOKEH_VALIDATE_DOC" not in os.environ:
        settings.perform_document_validation.set_value(False)


def _validation_effective() -> bool:
    from bokeh.settings import settings

    return "BOKEH_VALIDATE_DOC" in os.environ or settings.perform_document_validation() is False


# ---------------------------------------------------------------- the template's web font
def _font_needed() -> bool:
    css = _ORIGINAL.get("template_css", pn.template.VanillaTemplate._resources.get("css", {}))
    return any("fonts.googleapis.com" in str(url) for url in css.values())


def _font_patch() -> None:
    template = pn.template.VanillaTemplate
    _ORIGINAL.setdefault("template_css", dict(template._resources.get("css", {})))
    template._resources = {**template._resources, "css": {}}


def _font_effective() -> bool:
    css = pn.template.VanillaTemplate._resources.get("css", {})
    return not any("fonts.googleapis.com" in str(url) for url in css.values())


# ---------------------------------------------------------------- the document's language
def _base_source() -> str:
    from panel.io import resources

    return resources._env.loader.get_source(resources._env, "base.html")[0]


def _lang_needed() -> bool:
    original = _ORIGINAL.get("loader")
    if original is None:
        return '<html lang="en"' in _base_source()
    from panel.io import resources

    return '<html lang="en"' in original.get_source(resources._env, "base.html")[0]


def _lang_patch() -> None:
    from jinja2 import ChoiceLoader, DictLoader
    from panel.io import resources

    env = resources._env
    if "loader" in _ORIGINAL:
        return
    _ORIGINAL["loader"] = env.loader
    french = _base_source().replace('<html lang="en"', '<html lang="fr"', 1)
    env.loader = ChoiceLoader([DictLoader({"base.html": french}), env.loader])
    if env.cache is not None:
        env.cache.clear()


def _lang_effective() -> bool:
    return '<html lang="fr"' in _base_source()


# ---------------------------------------------------------------- a choice, at once
#: The widgets of our filters and settings: each change of their value is one act of the
#: user (a click on an option), never a stream of keystrokes to gather.
CHOICE_WIDGETS = ("Select", "MultiChoice", "MultiSelect", "RadioButtonGroup", "CheckBoxGroup")


def _choice_originals() -> dict[str, list[str]]:
    return _ORIGINAL.get("priority") or {
        name: list(getattr(pn.widgets, name)._priority_changes) for name in CHOICE_WIDGETS
    }


def _choice_needed() -> bool:
    return any("value" not in changes for changes in _choice_originals().values())


def _choice_patch() -> None:
    originals = _ORIGINAL.setdefault("priority", _choice_originals())
    for name in CHOICE_WIDGETS:
        getattr(pn.widgets, name)._priority_changes = [*originals[name], "value"]


def _choice_effective() -> bool:
    import inspect

    from panel.reactive import Syncable

    # Panel still reads the list where it schedules a change (else the patch does nothing)
    return "_priority_changes" in inspect.getsource(Syncable._server_change) and all(
        "value" in getattr(pn.widgets, n)._priority_changes for n in CHOICE_WIDGETS
    )


# ---------------------------------------------------------------- reused sessions' styles
def _dist_url_original():
    from panel.io.application import Application

    return _ORIGINAL.get("session_prefix", Application._set_session_prefix)


def _dist_url_needed() -> bool:
    import inspect

    from panel.io.application import Application

    # the stylesheets' address is set only where a session's HTML page is rendered
    return "dist_url" not in inspect.getsource(
        _dist_url_original()
    ) and "dist_url" not in inspect.getsource(Application.initialize_document)


def _dist_url_patch() -> None:
    from panel.io.application import Application
    from panel.io.resources import CDN_DIST, LOCAL_DIST, use_cdn
    from panel.io.state import set_curdoc, state

    original = _ORIGINAL.setdefault("session_prefix", Application._set_session_prefix)

    def _set_session_prefix(self, doc):
        original(self, doc)
        with set_curdoc(doc):
            local = f"{state.rel_path}/{LOCAL_DIST}" if state.rel_path else LOCAL_DIST
        doc._template_variables.setdefault("dist_url", CDN_DIST if use_cdn() else local)

    _set_session_prefix._relog = True
    Application._set_session_prefix = _set_session_prefix


def _dist_url_effective() -> bool:
    from panel.io.application import Application

    return getattr(Application._set_session_prefix, "_relog", False)


# ---------------------------------------------------------------- one message per gesture
def _one_message_original():
    from panel.reactive import Syncable

    return _ORIGINAL.get("one_message", Syncable._change_event)


def _one_message_needed() -> bool:
    import inspect

    from panel.reactive import Syncable

    # in a served session, Panel handles a widget's new value without holding the document:
    # every model a watcher changes is sent on its own
    return not any(
        "hold(" in inspect.getsource(f)
        for f in (_one_message_original(), Syncable._change_coroutine)
    )


def _one_message_patch() -> None:
    from panel.io.document import hold
    from panel.reactive import Syncable

    original = _ORIGINAL.setdefault("one_message", Syncable._change_event)

    def _change_event(self, doc):
        with hold(doc):
            original(self, doc)

    _change_event._relog = True
    Syncable._change_event = _change_event


def _one_message_effective() -> bool:
    from panel.reactive import Syncable

    return getattr(Syncable._change_event, "_relog", False)


WORKAROUNDS = [
    Workaround(
        "mathjax",
        "Panel charge MathJax (1,8 Mo de JavaScript) dès qu'une page a un volet HTML ; les "
        "nôtres n'ont jamais de LaTeX.",
        _mathjax_needed,
        _mathjax_patch,
        _mathjax_effective,
    ),
    Workaround(
        "webgl",
        "Bokeh envoie son module WebGL (190 ko) à chaque page ; aucun de nos graphiques ne "
        "dessine en WebGL.",
        _webgl_needed,
        _webgl_patch,
        _webgl_effective,
    ),
    Workaround(
        "validation",
        "Bokeh valide chaque nouveau document (avertissements pour développeurs) en parcourant "
        "tous ses modèles ; BOKEH_VALIDATE_DOC=true la rétablit.",
        _validation_needed,
        _validation_patch,
        _validation_effective,
    ),
    Workaround(
        "police",
        "Le modèle « vanilla » de Panel charge la police Lato depuis Google Fonts : nos réseaux "
        "sont fermés, aucune ressource ne vient d'ailleurs que du serveur.",
        _font_needed,
        _font_patch,
        _font_effective,
    ),
    Workaround(
        "langue",
        'Le gabarit HTML de Panel déclare ses pages en anglais (<html lang="en">) sans '
        "réglage : nos pages sont en français (RGAA), les lecteurs d'écran doivent le savoir.",
        _lang_needed,
        _lang_patch,
        _lang_effective,
    ),
    Workaround(
        "choix",
        "Panel attend 50 ms avant de traiter chaque nouvelle valeur d'un widget (pour regrouper "
        "des frappes) ; un choix dans une liste est un seul geste : il est traité au tour "
        "suivant, comme Panel le fait déjà pour les données d'un tableau.",
        _choice_needed,
        _choice_patch,
        _choice_effective,
    ),
    Workaround(
        "un-message",
        "Panel envoie au navigateur chaque modèle modifié par un choix de l'utilisateur dans "
        "un message à part (indicateur d'activité allumé puis éteint, liste des communes, "
        "adresse, lien) : chacun est décodé et mis en page à part. Tenu, le document les "
        "envoie en un seul message, à la fin du traitement du choix.",
        _one_message_needed,
        _one_message_patch,
        _one_message_effective,
    ),
    Workaround(
        "styles-locaux",
        "Panel donne aux feuilles de style de ses composants l'adresse du serveur (au lieu "
        "de son CDN) en produisant la page HTML d'une session ; une session préparée pendant "
        "le chargement d'une page (--reuse-sessions warm) n'en produit pas : ses styles "
        "viendraient d'internet, que la politique de sécurité du contenu refuse.",
        _dist_url_needed,
        _dist_url_patch,
        _dist_url_effective,
    ),
]


def apply() -> list[str]:
    """Apply every workaround if the installed versions are those checked; the names applied."""
    if not versions_match():
        log.warning(
            "Panel %s / Bokeh %s : correctifs non appliqués (vérifiés pour %s).",
            pn.__version__,
            bokeh.__version__,
            TESTED_WITH,
        )
        return []
    for workaround in WORKAROUNDS:
        workaround.patch()
    return [w.name for w in WORKAROUNDS]


# ---------------------------------------------------------------- in the browser
from dashboards.components.hidden import HiddenScripts  # noqa: E402  (after the patches above)


class AccessibilityRepairs(HiddenScripts):
    """Keyboard and screen-reader repairs of Panel/Bokeh widgets, in the browser: one
    invisible component per page (RGAA). Each pass is idempotent and runs again every 0.7 s,
    for the widgets built later (a tab shown for the first time, a list re-rendered):

    - **Tabulator** marks its table ``role="grid"`` but puts its rows' ``rowgroup`` inside a
      scrolling, focusable ``div`` without a role, which a grid may not contain (axe:
      « aria-required-children », critical): the scrolling body becomes the ``rowgroup`` and
      the inner one a plain container;
    - **the focus order across shadow roots**: from a multi-choice filter (Choices.js) or a
      tab header, the browser's Tab sends the focus to the page's body, and the next Tab
      comes back to the same field, so the filters and tabs after it cannot be reached. Tab
      and Shift+Tab move to the next or previous visible focusable element of the page in
      document order, shadow roots included, as the browser does on a page without them;
    - **Bokeh's tabs** are ``div``s the keyboard skips: they get ``role="tab"``,
      ``aria-selected``, a place in the tab order (before their panel), and Enter or Space
      opens them; **Tabulator** makes each cell a tab stop: a table is one stop;
    - **focus** is visible everywhere: the focus ring style is adopted by every shadow root;
    - **the filters' search** (Choices.js' fuzzy search) lists « j – Dépourvu de logement »
      for « DALO » and ranks matches by a fuzzy score: it matches here the words typed,
      accents and case aside, the labels that start with them first, then those with a word
      that does, then those that hold them, each in alphabetical order.
    """

    _repairs = """
    if (state.timer) {  // a second render
      clearInterval(state.timer)
      document.removeEventListener("keydown", state.onKeydown, true)
    }
    const FOCUS = window.__relogFocus ?? (window.__relogFocus = new CSSStyleSheet())
    FOCUS.replaceSync(
      ":focus-visible { outline: 3px solid #1D4E89 !important; outline-offset: 2px; }"
    )
    const TABBABLE = "a[href], button, input, select, textarea, [tabindex]"

    function roots() {
      const out = [document]
      const walk = (root) => root.querySelectorAll("*").forEach((el) => {
        if (el.shadowRoot) { out.push(el.shadowRoot); walk(el.shadowRoot) }
      })
      walk(document)
      return out
    }

    function tabbables() {
      const out = []
      const keep = (el) => el.matches(TABBABLE) && el.tabIndex >= 0 && !el.disabled &&
        el.type !== "hidden" && el.getClientRects().length > 0 &&
        getComputedStyle(el).visibility !== "hidden"
      const walk = (root) => {
        // a tab set's headers come before its panels (Bokeh writes them after)
        const headers = [...root.querySelectorAll(".bk-header .bk-tab")]
        headers.filter(keep).forEach((tab) => out.push(tab))
        for (const el of root.querySelectorAll("*")) {
          if (keep(el) && !headers.includes(el)) out.push(el)
          if (el.shadowRoot) walk(el.shadowRoot)
        }
      }
      walk(document)
      return out
    }

    function repair() {
      for (const root of roots()) {
        if (root !== document && !root.adoptedStyleSheets.includes(FOCUS)) {
          root.adoptedStyleSheets = [...root.adoptedStyleSheets, FOCUS]
        }
        // a table is one stop (its body scrolls with the arrows), not one per cell
        root.querySelectorAll(".tabulator-cell[tabindex]").forEach((cell) => { cell.tabIndex = -1 })
        root.querySelectorAll(".tabulator-tableholder").forEach((holder) => {
          if (!holder.hasAttribute("role")) holder.setAttribute("role", "rowgroup")
          holder.querySelectorAll(":scope > .tabulator-table[role]")
            .forEach((rows) => rows.removeAttribute("role"))
        })
        root.querySelectorAll(".bk-header").forEach((header) => {
          if (header.querySelector(".bk-tab")) header.setAttribute("role", "tablist")
        })
        root.querySelectorAll(".bk-tab").forEach((tab) => {
          tab.setAttribute("role", "tab")
          tab.setAttribute("aria-selected", tab.classList.contains("bk-active") ? "true" : "false")
          if (tab.tabIndex < 0) tab.tabIndex = 0
        })
      }
    }

    const normal = (text) => String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()

    function search(value) {
      // Choices' own _searchChoices, with its own bookkeeping, but our matching (see above)
      const needle = normal(value).trim()
      const results = []
      for (const choice of this._store.searchableChoices) {
        const label = normal(choice.label)
        const score = label.startsWith(needle) ? 0
          : label.split(/[^a-z0-9]+/).some((word) => word.startsWith(needle)) ? 1
          : label.includes(needle) ? 2 : null
        if (score !== null) results.push({item: choice, score, refIndex: results.length})
      }
      this._currentValue = value
      this._highlightPosition = 0
      this._isSearching = true
      this._store.dispatch({type: "FILTER_CHOICES", results})
      return results.length
    }

    function configureSearch() {
      if (!window.Bokeh) return
      for (const doc of Bokeh.documents) {
        for (const model of doc.all_models) {
          if (model.type !== "MultiChoice") continue
          const choices = Bokeh.index.find_one(model)?.choice_el
          if (choices && choices._searchChoices !== search) choices._searchChoices = search
        }
      }
    }

    function onKeydown(event) {
      const target = event.composedPath()[0]
      if (!(target instanceof Element)) return
      if (event.key === "Tab" && !event.ctrlKey && !event.altKey && !event.metaKey) {
        const list = tabbables()
        const at = list.indexOf(target)
        const next = at < 0 ? null : list[at + (event.shiftKey ? -1 : 1)]
        if (next) {
          event.preventDefault()
          event.stopPropagation()  // Tabulator would move the focus again (its « navNext »)
          next.focus()
        }
      } else if ((event.key === "Enter" || event.key === " ") && target.matches(".bk-tab")) {
        event.preventDefault()
        target.click()
        target.focus()
      }
    }

    const pass = () => { repair(); configureSearch() }
    pass()
    state.timer = setInterval(pass, 700)
    state.onKeydown = onKeydown
    document.addEventListener("keydown", onKeydown, true)
    """

    _scripts = {
        "render": _repairs,
        "remove": 'clearInterval(state.timer); document.removeEventListener("keydown", '
        "state.onKeydown, true)",
    }
