"""The monthly rehousing page: priority households by réservataire, EPCI, commune, bailleur.

A thin view over :class:`dashboards.state.rehousing.RehousingState`: layout, widgets and
bindings only; every figure comes from the state, hence from ``data_access``.
"""

from __future__ import annotations

from html import escape

import holoviews as hv
import panel as pn
import param

from dashboards.components.charts import stacked_rehousing
from dashboards.components.exports import export_buttons
from dashboards.components.feedback import notices
from dashboards.components.filters import filter_bar
from dashboards.components.history import BrowserHistory, decode, encode
from dashboards.components.kpi import CSS as KPI_CSS, key_figure_html
from dashboards.components.tables import breakdown_table, pipeline_table
from dashboards.state.rehousing import BREAKDOWNS, DEFINITIONS, FILTER_PARAMS, RehousingState
from data_access import RelogError
from data_access.export import COLUMNS

TITLE = "Relogement des publics prioritaires"

PIPELINE_TITLES = {"mois": "Mois", **{c: COLUMNS[c][0] for c in [
    "propositions", "refus_menage", "cal_attribution", "cal_attribution_rang", "cal_attribution_sous_condition",
    "cal_non_attribution", "cal_irrecevable", "cal_ajournement", "baux_signes", "entrees_dans_les_lieux"]}}

#: Stylesheets of the page's small texts (each pane lives in its own shadow DOM).
CAPTION_CSS = ":host { color: #4a5563; font-size: 0.9rem; } p { margin: 0; }"
NOTE_CSS = ":host { color: #4a5563; font-size: 0.85rem; }"


class RehousingPage(pn.viewable.Viewer):
    """Filters in the sidebar; key figures, monthly chart, breakdowns and pipeline in the main area."""

    state = param.ClassSelector(class_=RehousingState, doc="Ce que la page montre")

    def __init__(self, state: RehousingState, **params):
        super().__init__(state=state, **params)
        self.history = BrowserHistory(query=encode(state.to_query()))
        state.param.watch(self._write_url, [*FILTER_PARAMS, "breakdown"])
        self.history.param.watch(self._read_url, "query")
        self._depends = [state.param[p] for p in FILTER_PARAMS]

    # ------------------------------------------------------------------ URL
    def restore(self, search: str) -> None:
        """Open the view a shared link describes (``?debut=…&epci=…``)."""
        self.state.apply_query(decode(search))
        self.history.query = encode(self.state.to_query())

    def _write_url(self, *events) -> None:
        self.history.query = encode(self.state.to_query())

    def _read_url(self, event) -> None:
        if decode(event.new) != self.state.to_query():      # back / forward in the browser
            self.state.apply_query(decode(event.new))

    # ------------------------------------------------------------------ pieces
    def _caption(self, *_) -> pn.pane.Markdown:
        return pn.pane.Markdown(self.state.caption(), css_classes=["relog-caption"], margin=(0, 10),
                                stylesheets=[CAPTION_CSS])

    def caption(self):
        return pn.bind(self._caption, *self._depends)

    def _key_figures_html(self, *_) -> str:
        try:
            return key_figure_html(self.state.key_figures(), self.state.replica.settings.priority_share_target,
                                   DEFINITIONS)
        except RelogError as err:
            return f'<div class="relog-error" role="alert">{escape(str(err))}</div>'

    def _key_figures(self) -> pn.pane.HTML:
        """One HTML pane whose content is replaced in place at each change."""
        return pn.pane.HTML(pn.bind(self._key_figures_html, *self._depends), sizing_mode="stretch_width",
                            css_classes=["relog-kpi-block"], stylesheets=[KPI_CSS])

    def _chart(self) -> pn.pane.HoloViews:
        def element(**_):
            try:
                return stacked_rehousing(self.state.series())
            except Exception:
                return hv.Bars([]).opts(responsive=True, height=340)
        stream = hv.streams.Params(self.state, FILTER_PARAMS)
        return pn.pane.HoloViews(hv.DynamicMap(element, streams=[stream]), sizing_mode="stretch_width",
                                 css_classes=["relog-chart"], linked_axes=False)

    def _tabs(self) -> pn.Tabs:
        keys = list(BREAKDOWNS)
        tabs = pn.Tabs(*[(title, pn.Column(
            breakdown_table(self.state, key), pn.Row(pn.pane.Markdown(
                "Cliquez sur une ligne pour filtrer toute la page sur ce membre ; cliquez sur un titre de "
                "colonne pour trier. La ligne « Total » reste en tête.", css_classes=["relog-note"], stylesheets=[NOTE_CSS]),
                export_buttons(self.state, key)), sizing_mode="stretch_width"))
            for key, title in BREAKDOWNS.items()],
            dynamic=True, active=keys.index(self.state.breakdown), sizing_mode="stretch_width")
        tabs.param.watch(lambda e: setattr(self.state, "breakdown", keys[e.new]), "active")
        self.state.param.watch(lambda e: setattr(tabs, "active", keys.index(e.new)), "breakdown")
        return tabs

    def sidebar(self) -> pn.viewable.Viewable:
        return filter_bar(self.state)

    def __panel__(self) -> pn.viewable.Viewable:
        section = lambda title: pn.pane.Markdown(f"### {title}", margin=(15, 10, 0, 10))  # noqa: E731
        return pn.Column(
            self.history,
            pn.pane.Markdown("## Relogements, mois par mois", margin=(0, 10)),
            self.caption(),
            pn.bind(notices, self.state.param.notices),
            self._key_figures(),
            section("Relogements mois par mois"),
            self.caption(),
            self._chart(),
            pn.Row(pn.pane.Markdown(f"{DEFINITIONS['groupe']} {DEFINITIONS['prioritaires']}",
                                    css_classes=["relog-note"], stylesheets=[NOTE_CSS], sizing_mode="stretch_width"),
                   export_buttons(self.state, "serie"), sizing_mode="stretch_width"),
            section("Répartition sur la période"),
            self.caption(),
            self._tabs(),
            section("Des propositions aux baux"),
            self.caption(),
            pipeline_table(self.state, PIPELINE_TITLES),
            pn.Row(pn.pane.Markdown(DEFINITIONS["pipeline"], css_classes=["relog-note"], stylesheets=[NOTE_CSS], sizing_mode="stretch_width"),
                   export_buttons(self.state, "pipeline"), sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
