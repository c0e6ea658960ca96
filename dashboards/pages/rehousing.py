"""The monthly rehousing page: priority households by réservataire, EPCI, commune, bailleur.

A thin view over :class:`dashboards.state.rehousing.RehousingState`: layout, widgets and
their refresh only; every figure comes from the state, hence from ``data_access``, and every
label and definition from the indicator registry.

One refresh mechanism: a filter change shows the loading indicators at once and, on the next
tick, :meth:`RehousingPage.refresh` pushes the new figures into each view (the key figures'
HTML, the chart's data, the table on show). Views out of sight (a hidden tab) are marked
stale and refreshed when shown.
"""

from __future__ import annotations

from html import escape

import pandas as pd
import panel as pn
import param

from dashboards.components.charts import StackedMonthlyChart
from dashboards.components.exports import export_buttons
from dashboards.components.feedback import FilterSummary, notices
from dashboards.components.filters import filter_bar
from dashboards.components.history import encode, follow_state, restore_state
from dashboards.components.kpi import CSS as KPI_CSS
from dashboards.components.kpi import state_key_figures_html
from dashboards.components.refresh import NextTickRefresh
from dashboards.components.tables import PIPELINE, SERIES, BreakdownTable, MonthlyTable
from dashboards.state.rehousing import (
    BREAKDOWNS,
    FILTER_PARAMS,
    GROUPS,
    PROTECTED_BREAKDOWNS,
    RehousingState,
)
from data_access import RelogError, Replica
from data_access.indicators import definitions

TITLE = "Relogement des publics prioritaires"

#: Stylesheets of the page's small texts (each pane lives in its own shadow DOM).
CAPTION_CSS = ":host { color: #4a5563; font-size: 0.9rem; } p { margin: 0; }"
NOTE_CSS = ":host { color: #4a5563; font-size: 0.85rem; }"


class RehousingPage(pn.viewable.Viewer):
    """Filters in the sidebar; key figures, monthly chart, breakdowns and pipeline in the main
    area."""

    state = param.ClassSelector(class_=RehousingState, doc="Ce que la page montre")
    show_filters = param.Boolean(
        default=False,
        doc="Les filtres à gauche de la page (carnets ; un serveur les met dans "
        "la barre latérale du gabarit)",
    )

    def __init__(self, state: RehousingState | Replica, **params):
        """``state``, or a replica and filter values by name (a notebook:
        ``RehousingPage(replica, epci=["243100633"], start="2025-01")``), the filters shown
        beside the page."""
        if isinstance(state, Replica):
            values = {k: params.pop(k) for k in list(params) if k not in type(self).param}
            state = RehousingState.opened(state, values)
            params.setdefault("show_filters", True)
        super().__init__(state=state, **params)
        self.history = follow_state(state, [*FILTER_PARAMS, "breakdown"])
        self._busy: list[pn.viewable.Viewable] = []  # what shows a loading indicator
        self._captions: list[pn.pane.Markdown] = []
        self._tables: dict[str, BreakdownTable] = {}
        self._pipeline: MonthlyTable | None = None
        self._series_table: MonthlyTable | None = None
        self._stale: set[str] = set()  # views out of sight since the last change
        self._chart: StackedMonthlyChart | None = None
        self.summary = FilterSummary(state)
        settings = state.replica.settings
        self._refresher = NextTickRefresh(
            self.refresh,
            self._busy,
            prefetch=self._prefetch,
            wait_s=settings.deadline_s + settings.connect_timeout_s,
        )
        state.param.watch(self._refresher, FILTER_PARAMS)
        self.recover = self._refresher  # ReplicaWatch calls it once the replica answers again

    # ------------------------------------------------------------------ refresh
    def refresh(self) -> None:
        """Push the state's figures into every view on show; mark the hidden ones stale.
        Before the page is laid out there is nothing to push: views read the state when
        they are built."""
        if self._chart is None:
            return
        self.summary.refresh()
        caption = self._caption_text()
        for pane in self._captions:
            pane.object = caption
        self._kpi.object = self._key_figures_html()
        self._chart.update(self._series_or_empty())
        self._stale = (
            set(self._tables)
            | ({"pipeline"} if self._pipeline else set())
            | ({"serie"} if self._series_table else set())
        )
        self._refresh_shown()

    def _prefetch(self) -> list:
        """The questions the next refresh asks, started off the event loop."""
        return self.state.prefetch(self._shown()) if self._chart is not None else []

    def _shown(self) -> set[str]:
        """The tables on show: the breakdown tab, and the pipeline tab and the chart's table
        when open."""
        shown = {self.state.breakdown}
        if self._monthly_tabs.active == 1:
            shown.add("pipeline")
        if not self._series_card.collapsed:
            shown.add("serie")
        return shown

    def _refresh_shown(self) -> None:
        """Refresh the stale views now on show: the breakdown tab, the pipeline tab."""
        shown = self._shown()
        monthly = {"pipeline": self._pipeline, "serie": self._series_table}
        for key in sorted(self._stale & shown):
            (monthly[key] if key in monthly else self._tables[key]).refresh()
            self._stale.discard(key)

    # ------------------------------------------------------------------ URL
    def restore(self, search: str) -> None:
        """Open the view a shared link describes (``?debut=…&epci=…``)."""
        restore_state(self.state, self.history, search)

    # ------------------------------------------------------------------ pieces
    def _caption_text(self) -> str:
        try:
            return self.state.caption()
        except RelogError as err:
            return str(err)

    def caption(self) -> pn.pane.Markdown:
        """« De janvier 2025 à décembre 2025 · Données extraites le … », updated in place."""
        pane = pn.pane.Markdown(
            self._caption_text(),
            css_classes=["relog-caption"],
            margin=(0, 10),
            stylesheets=[CAPTION_CSS],
        )
        self._captions.append(pane)
        return pane

    def _secrecy_note(self) -> list:
        """A protected profile's page says which figures are masked, and how."""
        if not self.state.protected:
            return []
        return [
            pn.pane.Markdown(
                self.state.secrecy_note(),
                css_classes=["relog-secret"],
                stylesheets=[NOTE_CSS],
                margin=(0, 10),
            )
        ]

    def _key_figures_html(self) -> str:
        return state_key_figures_html(self.state)

    def _key_figures(self) -> pn.pane.HTML:
        """One HTML pane whose content is replaced in place at each change."""
        self._kpi = pn.pane.HTML(
            self._key_figures_html(),
            sizing_mode="stretch_width",
            css_classes=["relog-kpi-block"],
            stylesheets=[KPI_CSS],
        )
        self._busy.append(self._kpi)
        return self._kpi

    def _chart_view(self) -> pn.Column:
        """One figure per session; a filter change replaces its data only."""
        self._chart = StackedMonthlyChart(self._series_or_empty())
        self._chart_source = self._chart.source
        pane = pn.Column(
            pn.pane.Bokeh(self._chart.figure, sizing_mode="stretch_width"),
            css_classes=["relog-chart"],
            sizing_mode="stretch_width",
        )
        self._busy.append(pane)
        return pane

    def _series_or_empty(self):
        try:
            return self.state.series()
        except RelogError:  # the key figures block shows the French message
            return pd.DataFrame(
                columns=["mois", "relogements", "relogements_prioritaires", *GROUPS.values()]
            )

    def _series_view(self) -> pn.Card:
        """The chart's figures as a table (its accessible twin), built when first opened."""
        card = pn.Card(
            title="Tableau des données du graphique",
            collapsed=True,
            sizing_mode="stretch_width",
            css_classes=["relog-series-card"],
            margin=(5, 10),
        )
        self._series_card = card

        def opened(event) -> None:
            if event.new:  # collapsed
                return
            if self._series_table is None:
                self._series_table = MonthlyTable(self.state, "serie", SERIES)
                card.objects = [self._series_table.widget]
            else:
                self._refresh_shown()

        card.param.watch(opened, "collapsed")
        return card

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
        self._tables[key] = table = BreakdownTable(self.state, key)
        return pn.Column(
            table.widget,
            table.empty,
            self._note_and_exports(
                "Cliquez sur une ligne pour filtrer toute la page sur ce membre ; cliquez sur "
                "un titre de colonne pour trier (sa définition s'affiche au survol). La ligne "
                "« Total » reste en tête.",
                key,
            ),
            sizing_mode="stretch_width",
        )

    def _tabs(self) -> pn.Tabs:
        """One tab per breakdown; a tab's table is built the first time it is shown."""
        keys = [k for k in BREAKDOWNS if not self.state.protected or k in PROTECTED_BREAKDOWNS]
        holders = {key: pn.Column(sizing_mode="stretch_width", min_height=430) for key in keys}

        def show(key: str) -> None:
            if not holders[key].objects:
                holders[key].objects = [self._breakdown(key)]
            else:
                self._refresh_shown()

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
        return (
            f'<a href="./carte{escape(encode(query))}">Voir la demande et l\'offre sur la carte '
            "(mêmes filtres)</a>"
        )

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
            self._chart_view(),
            self._note_and_exports(" ".join(definitions(["relogements_dalo"])), "serie"),
            self._series_view(),
            sizing_mode="stretch_width",
        )
        pipeline = pn.Column(sizing_mode="stretch_width", min_height=200)
        tabs = pn.Tabs(
            ("Relogements", chart),
            # the pipeline counts households too, month by month: not for protected profiles
            *([] if self.state.protected else [("Des propositions aux baux", pipeline)]),
            dynamic=True,
            sizing_mode="stretch_width",
            css_classes=["relog-monthly-tabs"],
        )
        self._busy.append(pipeline)
        self._monthly_tabs, self._pipeline_holder = tabs, pipeline

        def show(event) -> None:  # built when first shown; refreshed when shown again
            if event.new != 1:
                return
            if self._pipeline is None:
                self._pipeline = MonthlyTable(self.state, "pipeline", PIPELINE)
                note = (
                    "Chaque colonne compte un événement à sa propre date ; sa définition "
                    "s'affiche au survol de son titre."
                )
                pipeline.objects = [self._pipeline.widget, self._note_and_exports(note, "pipeline")]
            else:
                self._refresh_shown()

        tabs.param.watch(show, "active")
        return tabs

    def _main(self) -> pn.viewable.Viewable:
        def section(title):
            return pn.pane.Markdown(f"### {title}", margin=(15, 10, 0, 10))

        return pn.Column(
            # the address bar is the page's own on a server, not a notebook's
            *([] if self.show_filters else [self.history]),
            pn.pane.Markdown("## Relogements des ménages prioritaires", margin=(0, 10)),
            self.summary.pane,
            self.caption(),
            pn.bind(notices, self.state.param.notices),
            *self._secrecy_note(),
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

    def __panel__(self) -> pn.viewable.Viewable:
        """The page; with ``show_filters`` (a notebook), its filters beside it."""
        main = self._main()
        if not self.show_filters:
            return main
        return pn.Row(pn.Column(self.sidebar(), width=330), main, sizing_mode="stretch_width")
