"""The pages' pieces as live objects of their own, for a notebook or a custom dashboard:
each one is bound to a page state and redraws itself when its filters change, in JupyterLab
as on a server.

>>> state = RehousingState.opened(replica, {"epci": ["243100633"]})
>>> pn.Row(pn.Param(state.param.epci), KeyFigures(state), MonthlyChart(state))

A piece may be given a replica (and filter values) instead of a state: it opens its own.
"""

from __future__ import annotations

import pandas as pd
import panel as pn
import param

from dashboards.components.charts import StackedMonthlyChart
from dashboards.components.kpi import CSS as KPI_CSS
from dashboards.components.kpi import state_key_figures_html
from dashboards.components.tables import BreakdownTable
from dashboards.state.filters import FILTER_PARAMS
from dashboards.state.rehousing import GROUPS, RehousingState
from data_access import RelogError, Replica


def rehousing_state(state, values: dict | None = None) -> RehousingState:
    """``state`` itself, or a new state on it when it is a replica."""
    if isinstance(state, Replica):
        return RehousingState.opened(state, values or {})
    return state


class _Live(pn.viewable.Viewer):
    """A piece bound to a :class:`RehousingState`, redrawn when its filters change."""

    state = param.ClassSelector(class_=RehousingState, doc="Les filtres que la pièce suit")

    def __init__(self, state, **values):
        params = {k: values.pop(k) for k in list(values) if k in type(self).param}
        super().__init__(state=rehousing_state(state, values), **params)
        self.state.param.watch(lambda *_: self.refresh(), FILTER_PARAMS)

    def refresh(self) -> None:  # pragma: no cover - each piece has its own
        raise NotImplementedError


class KeyFigures(_Live):
    """The rehousing page's key figures (rehousings, priority share against the target,
    compared with the same months a year before)."""

    def __init__(self, state, **values):
        super().__init__(state, **values)
        self._pane = pn.pane.HTML(
            self._html(), sizing_mode="stretch_width", stylesheets=[KPI_CSS],
            css_classes=["relog-kpi-block"],
        )  # fmt: skip

    def _html(self) -> str:
        return state_key_figures_html(self.state)

    def refresh(self) -> None:
        self._pane.object = self._html()

    def __panel__(self):
        return self._pane


class MonthlyChart(_Live):
    """Monthly rehousings, priority ones stacked by criterion group (one Bokeh figure whose
    data is replaced at each change)."""

    def __init__(self, state, **values):
        super().__init__(state, **values)
        self.chart = StackedMonthlyChart(self._series())

    def _series(self) -> pd.DataFrame:
        try:
            return self.state.series()
        except RelogError:
            return pd.DataFrame(
                columns=["mois", "relogements", "relogements_prioritaires", *GROUPS.values()]
            )

    def refresh(self) -> None:
        self.chart.update(self._series())

    def __panel__(self):
        return pn.pane.Bokeh(self.chart.figure, sizing_mode="stretch_width")


class Breakdown(_Live):
    """The period by réservataire, EPCI, commune or bailleur (``by``), total row on top."""

    by = param.Selector(
        default="epci", objects=["reservataire", "epci", "commune", "bailleur"],
        doc="Ventilation",
    )  # fmt: skip

    def __init__(self, state, **values):
        super().__init__(state, **values)
        self.table = BreakdownTable(self.state, self.by)

    def refresh(self) -> None:
        self.table.refresh()

    def __panel__(self):
        return pn.Column(self.table.widget, self.table.empty, sizing_mode="stretch_width")


class Maps(pn.viewable.Viewer):
    """The demand and supply maps with their legends (the map page without its filters),
    bound to a :class:`~dashboards.state.demand_supply.DemandSupplyState`, or opened on a
    replica with filter values (``Maps(replica, level="epci", demand="tension")``)."""

    def __init__(self, state, **values):
        from dashboards.pages.demand_supply import DemandSupplyPage
        from dashboards.state.demand_supply import DemandSupplyState

        if isinstance(state, Replica):
            state = DemandSupplyState.opened(state, values)
        super().__init__()
        self.state = state
        self.page = DemandSupplyPage(state, show_filters=False)

    def __panel__(self):
        return self.page._page()
