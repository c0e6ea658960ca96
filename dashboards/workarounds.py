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
from panel.custom import JSComponent  # noqa: E402  (after the Python patches above)


class TabulatorAria(JSComponent):
    """Tabulator 6 marks its table ``role="grid"`` but puts its rows' ``rowgroup`` inside a
    scrolling, focusable ``div`` without a role, which a grid may not contain (axe:
    « aria-required-children », critical): screen readers then lose the rows. Once on each
    page, this invisible component makes that scrolling body the ``rowgroup`` (it keeps the
    keyboard scrolling) and the inner one a plain container, and keeps doing it for the
    tables built later (tabs shown for the first time)."""

    _esm = """
    export function render({ model }) {
      const repair = (root) => {
        root.querySelectorAll(".tabulator-tableholder").forEach((holder) => {
          if (!holder.hasAttribute("role")) holder.setAttribute("role", "rowgroup")
          holder.querySelectorAll(":scope > .tabulator-table[role]")
            .forEach((rows) => rows.removeAttribute("role"))
        })
        root.querySelectorAll("*").forEach((el) => { if (el.shadowRoot) repair(el.shadowRoot) })
      }
      repair(document)
      const timer = setInterval(() => repair(document), 700)
      model.on("remove", () => clearInterval(timer))
      const el = document.createElement("span")
      el.style.display = "none"
      return el
    }
    """
