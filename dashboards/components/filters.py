"""The filter bar: one widget per filter parameter of a page's state, and a reset button."""

from __future__ import annotations

import panel as pn

#: Choices.js (the MultiChoice widget) writes its messages in English and has no option
#: for them in Bokeh: French texts replace them here.
CHOICES_FRENCH = """
.choices .choices__list--dropdown .choices__item.has-no-results,
.choices .choices__list--dropdown .choices__item.has-no-choices { font-size: 0; }
.choices .choices__list--dropdown .choices__item.has-no-results::after {
  content: "Aucun résultat"; font-size: 14px; }
.choices .choices__list--dropdown .choices__item.has-no-choices::after {
  content: "Plus rien à choisir"; font-size: 14px; }
.choices .choices__list--dropdown .choices__item.choices__item--selectable { padding-right: 9.5em; }
.choices__list--dropdown .choices__item--selectable::after,
.choices__list[aria-expanded] .choices__item--selectable::after { content: "Entrée pour choisir"; }
"""


def _multi(
    state, name: str, label: str, placeholder: str, single: bool = False
) -> pn.widgets.MultiChoice:
    # long lists (586 communes) show their first 60 options; typing searches them all
    return pn.widgets.MultiChoice.from_param(
        state.param[name],
        label=label,
        placeholder=placeholder,
        search_option_limit=60,
        option_limit=60,
        solid=False,
        sizing_mode="stretch_width",
        css_classes=[f"relog-filter-{name}"],
        stylesheets=[CHOICES_FRENCH],
        description=state.param[name].doc,
        **({"max_items": 1} if single else {}),
    )


def _heading(text: str) -> pn.pane.Markdown:
    return pn.pane.Markdown(f"**{text}**", margin=(12, 10, 0, 10))


def filter_bar(state, single_month: bool = False, extra: list | None = None) -> pn.Column:
    """Widgets bound both ways to ``state`` (a :class:`FilterState`). ``single_month``: one
    observation month (the map) instead of a period; ``extra``: widgets shown after the
    period (a page's own choices)."""
    period = (
        pn.widgets.Select.from_param(
            state.param.end,
            label="Mois d'observation",
            sizing_mode="stretch_width",
            css_classes=["relog-filter-end"],
            description="La demande est observée le dernier jour de ce mois ; "
            "l'offre et les baux sur les 12 mois qui s'achèvent ce jour-là",
        )
        if single_month
        else pn.Row(
            pn.widgets.Select.from_param(
                state.param.start,
                label="Du mois",
                sizing_mode="stretch_width",
                css_classes=["relog-filter-start"],
                description=state.param.start.doc,
            ),
            pn.widgets.Select.from_param(
                state.param.end,
                label="au mois",
                sizing_mode="stretch_width",
                css_classes=["relog-filter-end"],
                description=state.param.end.doc,
            ),
            sizing_mode="stretch_width",
        )
    )
    reset = pn.widgets.Button(
        label="Réinitialiser les filtres",
        color="light",
        sizing_mode="stretch_width",
        css_classes=["relog-reset"],
        description="Revenir aux 12 derniers mois complets, sans filtre",
    )
    reset.on_click(lambda event: state.reset())
    if getattr(state, "protected", False):
        # statistical secrecy: a year, one territory at a time, no other filter
        return pn.Column(
            _heading("Date d'observation" if single_month else "Année civile"),
            period,
            *(extra or []),
            _heading("Territoire (un à la fois)"),
            _multi(state, "epci", "EPCI", "Tout votre territoire", single=True),
            _multi(state, "communes", "Commune", "Toutes les communes", single=True),
            reset,
            sizing_mode="stretch_width",
        )
    return pn.Column(
        _heading("Date d'observation" if single_month else "Période"),
        period,
        *(extra or []),
        _heading("Réservataires"),
        _multi(state, "natures_reservataire", "Nature", "Toutes les natures"),
        _multi(state, "reservataires", "Réservataire", "Tous les réservataires"),
        _heading("Territoire et parc"),
        _multi(state, "epci", "EPCI", "Tous les EPCI"),
        _multi(state, "communes", "Commune", "Toutes les communes"),
        _multi(state, "bailleurs", "Bailleur", "Tous les bailleurs"),
        pn.widgets.RadioButtonGroup.from_param(
            state.param.qpv,
            label="QPV",
            color="default",
            variant="outline",
            sizing_mode="stretch_width",
        ),
        _heading("Ménages"),
        _multi(state, "criteres", "Critères de priorité", "Tous les ménages"),
        pn.widgets.RadioButtonGroup.from_param(
            state.param.mutation,
            label="Demande",
            color="default",
            variant="outline",
            sizing_mode="stretch_width",
            orientation="vertical",
        ),
        reset,
        sizing_mode="stretch_width",
    )
