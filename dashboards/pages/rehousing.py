"""The monthly rehousing page: priority households by réservataire, EPCI, commune, bailleur.

A thin view over :class:`dashboards.state.rehousing.RehousingState`: layout, widgets and
bindings only; every figure comes from the state, hence from ``data_access``.
"""

from __future__ import annotations

from html import escape

import pandas as pd
import panel as pn
import param

from dashboards.components.charts import StackedMonthlyChart
from dashboards.components.exports import export_buttons
from dashboards.components.feedback import notices
from dashboards.components.filters import filter_bar
from dashboards.components.history import encode, follow_state, restore_state
from dashboards.components.kpi import CSS as KPI_CSS
from dashboards.components.kpi import key_figure_html
from dashboards.components.refresh import NextTickRefresh
from dashboards.components.tables import breakdown_table, pipeline_table
from dashboards.state.rehousing import (
    BREAKDOWNS,
    DEFINITIONS,
    FILTER_PARAMS,
    GROUPS,
    RehousingState,
)
from data_access import RelogError

TITLE = "Relogement des publics prioritaires"

#: Short column titles of the pipeline table (the exports carry the long ones).
PIPELINE_TITLES = {
    "mois": "Mois",
    "propositions": "Propositions",
    "refus_menage": "Refus du ménage",
    "cal_attribution": "CAL : attribution",
    "cal_attribution_rang": "CAL : par rang",
    "cal_attribution_sous_condition": "CAL : sous condition",
    "cal_non_attribution": "CAL : non-attribution",
    "cal_irrecevable": "CAL : irrecevable",
    "cal_ajournement": "CAL : ajournement",
    "baux_signes": "Baux signés",
    "entrees_dans_les_lieux": "Entrées dans les lieux",
}

#: Stylesheets of the page's small texts (each pane lives in its own shadow DOM).
CAPTION_CSS = ":host { color: #4a5563; font-size: 0.9rem; } p { margin: 0; }"
NOTE_CSS = ":host { color: #4a5563; font-size: 0.85rem; }"


class RehousingPage(pn.viewable.Viewer):
    """Filters in the sidebar; key figures, monthly chart, breakdowns and pipeline in the main area."""

    state = param.ClassSelector(class_=RehousingState, doc="Ce que la page montre")
    refreshed = param.Integer(
        default=0, doc="Compteur des mises à jour des vues après un changement de filtre"
    )

    def __init__(self, state: RehousingState, **params):
        super().__init__(state=state, **params)
        self.history = follow_state(state, [*FILTER_PARAMS, "breakdown"])
        self._depends = [self.param.refreshed]
        self._busy: list[pn.viewable.Viewable] = []  # what shows a loading indicator
        state.param.watch(NextTickRefresh(self._refresh, self._busy), FILTER_PARAMS)
        self._tables: dict[str, pn.widgets.Tabulator] = {}

    # ------------------------------------------------------------------ refresh
    def _refresh(self) -> None:
        self.refreshed += 1  # every view bound to it recomputes from the state

    # ------------------------------------------------------------------ URL
    def restore(self, search: str) -> None:
        """Open the view a shared link describes (``?debut=…&epci=…``)."""
        restore_state(self.state, self.history, search)

    # ------------------------------------------------------------------ pieces
    def _caption_text(self, *_) -> str:
        try:
            return self.state.caption()
        except RelogError as err:
            return str(err)

    def caption(self) -> pn.pane.Markdown:
        """« De janvier 2025 à décembre 2025 · Données extraites le … », updated in place."""
        return pn.pane.Markdown(
            pn.bind(self._caption_text, *self._depends),
            css_classes=["relog-caption"],
            margin=(0, 10),
            stylesheets=[CAPTION_CSS],
        )

    def _key_figures_html(self, *_) -> str:
        try:
            return key_figure_html(
                self.state.key_figures(),
                self.state.replica.settings.priority_share_target,
                DEFINITIONS,
            )
        except RelogError as err:
            return f'<div class="relog-error" role="alert">{escape(str(err))}</div>'

    def _key_figures(self) -> pn.pane.HTML:
        """One HTML pane whose content is replaced in place at each change."""
        pane = pn.pane.HTML(
            pn.bind(self._key_figures_html, *self._depends),
            sizing_mode="stretch_width",
            css_classes=["relog-kpi-block"],
            stylesheets=[KPI_CSS],
        )
        self._busy.append(pane)
        return pane

    def _chart(self) -> pn.Column:
        """One figure per session; a filter change replaces its data only."""
        chart = StackedMonthlyChart(self._series_or_empty())
        pane = pn.Column(
            pn.pane.Bokeh(chart.figure, sizing_mode="stretch_width"),
            css_classes=["relog-chart"],
            sizing_mode="stretch_width",
        )

        self._chart_source = chart.source

        def refresh(*_):  # the figure is this session's model: new data goes straight out
            chart.update(self._series_or_empty())

        self.param.watch(refresh, "refreshed")
        self._busy.append(pane)
        return pane

    def _series_or_empty(self):
        try:
            return self.state.series()
        except RelogError:  # the key figures block shows the French message
            return pd.DataFrame(
                columns=["mois", "relogements", "relogements_prioritaires", *GROUPS.values()]
            )

    def _note_and_exports(self, note: str, key: str) -> pn.Row:
        """A table's or chart's note, with its CSV and Excel buttons."""
        return pn.Row(
            pn.pane.Markdown(
                note,
                css_classes=["relog-note"],
                stylesheets=[NOTE_CSS],
                sizing_mode="stretch_width",
            ),
            export_buttons(self.state, key),
            sizing_mode="stretch_width",
        )

    def _breakdown(self, key: str) -> pn.Column:
        self._tables[key] = table = breakdown_table(self.state, key, self._depends)
        return pn.Column(
            table,
            self._note_and_exports(
                "Cliquez sur une ligne pour filtrer toute la page sur ce membre ; cliquez sur "
                "un titre de colonne pour trier. La ligne « Total » reste en tête.",
                key,
            ),
            sizing_mode="stretch_width",
        )

    def _tabs(self) -> pn.Tabs:
        """One tab per breakdown; a tab's table is built the first time it is shown."""
        keys = list(BREAKDOWNS)
        holders = {key: pn.Column(sizing_mode="stretch_width", min_height=430) for key in keys}

        def show(key: str) -> None:
            if not holders[key].objects:
                holders[key].objects = [self._breakdown(key)]

        show(self.state.breakdown)
        self._busy.extend(holders.values())
        tabs = pn.Tabs(
            *[(BREAKDOWNS[key], holders[key]) for key in keys],
            dynamic=True,
            active=keys.index(self.state.breakdown),
            sizing_mode="stretch_width",
        )
        tabs.param.watch(lambda e: setattr(self.state, "breakdown", keys[e.new]), "active")

        def follow(event) -> None:
            show(event.new)
            tabs.active = keys.index(event.new)

        self.state.param.watch(follow, "breakdown")
        return tabs

    def sidebar(self) -> pn.viewable.Viewable:
        return filter_bar(self.state)

    def _map_link(self, *_) -> str:
        query = {k: v for k, v in self.state.to_query().items() if k not in self.state.VIEW_QUERY}
        return f'<a href="./carte{escape(encode(query))}">Voir la demande et l\'offre sur la carte (mêmes filtres)</a>'

    def map_link(self) -> pn.pane.HTML:
        """The map page on the same filters (its observation month: the period's last)."""
        return pn.pane.HTML(
            pn.bind(self._map_link, self.history.param.query),
            css_classes=["relog-link-map"],
            margin=(0, 10),
        )

    def _monthly(self) -> pn.Tabs:
        """The monthly chart, and the pipeline in a second tab built when first shown."""
        chart = pn.Column(
            self._chart(),
            self._note_and_exports(
                f"{DEFINITIONS['groupe']} {DEFINITIONS['prioritaires']}", "serie"
            ),
            sizing_mode="stretch_width",
        )
        pipeline = pn.Column(sizing_mode="stretch_width", min_height=200)
        tabs = pn.Tabs(
            ("Relogements", chart),
            ("Des propositions aux baux", pipeline),
            dynamic=True,
            sizing_mode="stretch_width",
            css_classes=["relog-monthly-tabs"],
        )
        self._busy.append(pipeline)
        self._monthly_tabs, self._pipeline_holder = tabs, pipeline

        def show(event) -> None:  # built when first shown; it refreshes when shown again
            if event.new == 1 and not pipeline.objects:
                pipeline.objects = [
                    pipeline_table(
                        self.state,
                        PIPELINE_TITLES,
                        [*self._depends, tabs.param.active],
                        visible=lambda: tabs.active == 1,
                    ),
                    self._note_and_exports(DEFINITIONS["pipeline"], "pipeline"),
                ]

        tabs.param.watch(show, "active")
        return tabs

    def __panel__(self) -> pn.viewable.Viewable:
        section = lambda title: pn.pane.Markdown(f"### {title}", margin=(15, 10, 0, 10))  # noqa: E731
        return pn.Column(
            self.history,
            pn.pane.Markdown("## Relogements des ménages prioritaires", margin=(0, 10)),
            self.caption(),
            pn.bind(notices, self.state.param.notices),
            self._key_figures(),
            self.map_link(),
            section("Mois par mois"),
            self.caption(),
            self._monthly(),
            section("Répartition sur la période"),
            self.caption(),
            self._tabs(),
            sizing_mode="stretch_width",
        )
