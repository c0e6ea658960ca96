"""Two linked choropleths (demand | supply) drawn with Bokeh, geometry sent once.

Each level (communes, EPCI) has one ``ColumnDataSource`` shared by both maps: its shapes go
to the browser when the level is first shown, and a change of indicator or filter replaces
only the value columns (``source.data.update`` sends just those). The two figures share
their ranges, so zooming one zooms the other. No tiles: the shapes are the map.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, CustomJS, HoverTool, Label, TapTool, WheelZoomTool
from bokeh.plotting import figure

from geodata.boundaries import BoundaryLayer
from geodata.layers import polygon_arrays

#: Hover lines: (label, column), the columns being pre-formatted French text.
HOVER_ROWS = [
    ("Demandes actives", "t_demandes_actives"),
    ("Demandes pondérées", "t_demandes_actives_ponderees"),
    ("Demandes prioritaires", "t_demandes_prioritaires_actives"),
    ("Logements sociaux", "t_logements"),
    ("Logements libérés (12 mois)", "t_logements_liberes_12m"),
    ("Baux signés (12 mois)", "t_baux_12m"),
    ("Relogements prioritaires (12 mois)", "t_relogements_prioritaires_12m"),
    ("Tension", "t_tension"),
    ("Pression typologique", "t_desequilibre"),
]

TOOLTIP = (
    '<div class="relog-map-tip" style="font-size:12px;max-width:300px">'
    '<div style="font-weight:bold;font-size:13px">@nom <span style="color:#666">(@code)</span></div>'
    '<div style="color:#666;margin-bottom:4px">{periode}</div>'
    + "".join(f'<div><span style="color:#444">{escape(label)} :</span> <b>@{col}</b></div>'
              for label, col in HOVER_ROWS)
    + "</div>"
)

#: Opens the rehousing page on the territory clicked (its ``lien`` column).
TAP_JS = """
const i = source.selected.indices[0]
if (i !== undefined) { source.selected.indices = []; window.location.assign(source.data.lien[i]) }
"""


def _french(value, ratio: bool) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if ratio:
        return f"{value:,.2f}".replace(",", "\u202f").replace(".", ",")
    return f"{value:,.0f}".replace(",", "\u202f")


def value_columns(values: pd.DataFrame, colours: dict[str, list[str]], links: list[str]) -> dict[str, list]:
    """The value columns of a level: colours, hover texts, links."""
    out: dict[str, list] = {f"couleur_{side}": c for side, c in colours.items()}
    inside = values["dans_selection"].to_numpy()
    for _, column in HOVER_ROWS:
        name = column.removeprefix("t_")
        ratio = name in ("tension", "desequilibre", "demandes_actives_ponderees")
        texts = [_french(v, ratio) if keep else "hors sélection" for v, keep in zip(values[name].tolist(), inside)]
        out[column] = texts
    out["lien"] = links
    return out


class ChoroplethPair:
    """The demand map and the supply map of one session."""

    def __init__(self, height: int = 560):
        self._tooltip = TOOLTIP.format(periode="")
        self.sources: dict[str, ColumnDataSource] = {}
        self.renderers: dict[str, list] = {}
        self.demand = self._figure(height, "relog-map-demande")
        self.supply = self._figure(height, "relog-map-offre", x_range=self.demand.x_range, y_range=self.demand.y_range)
        self.qpv_renderers: list = []
        self.hovers: list[HoverTool] = []
        self.schematic_labels: list[Label] = []

    @staticmethod
    def _figure(height: int, name: str, **ranges):
        fig = figure(height=height, name=name, sizing_mode="stretch_width", match_aspect=True, x_axis_type=None,
                     y_axis_type=None, tools="pan,reset", toolbar_location="above", **ranges)
        wheel = WheelZoomTool()
        fig.add_tools(wheel)
        fig.toolbar.active_scroll = wheel
        fig.grid.visible = False
        fig.outline_line_color = None
        fig.background_fill_color = "#ffffff"
        fig.toolbar.logo = None
        return fig

    def add_level(self, level: str, layer: BoundaryLayer, columns: dict[str, list]) -> None:
        """Draw ``layer`` on both maps (its shapes are sent with this first data)."""
        frame = layer.frame
        data = {"code": frame["code"].tolist(), "nom": frame["nom"].tolist(), **polygon_arrays(layer), **columns}
        source = ColumnDataSource(data, name=f"relog-{level}")
        source.selected.js_on_change("indices", CustomJS(args=dict(source=source), code=TAP_JS))
        self.sources[level] = source
        self.renderers[level] = []
        for fig, side in ((self.demand, "demande"), (self.supply, "offre")):
            renderer = fig.multi_polygons(xs="xs", ys="ys", source=source, fill_color=f"couleur_{side}",
                                          line_color="#ffffff" if level == "commune" else "#555555",
                                          line_width=0.4 if level == "commune" else 1.0,
                                          hover_line_color="#222222", hover_line_width=2,
                                          selection_fill_alpha=1.0, nonselection_fill_alpha=1.0)
            self.renderers[level].append(renderer)
            hover = HoverTool(renderers=[renderer], tooltips=self._tooltip, attachment="right")
            self.hovers.append(hover)
            fig.add_tools(hover, TapTool(renderers=[renderer]))

    def add_qpv(self, layer: BoundaryLayer) -> None:
        """QPV outlines, hidden until asked for."""
        data = {"code": layer.frame["code"].tolist(), "nom": layer.frame["nom"].tolist(), **polygon_arrays(layer)}
        source = ColumnDataSource(data, name="relog-qpv")
        for fig in (self.demand, self.supply):
            self.qpv_renderers.append(fig.multi_polygons(xs="xs", ys="ys", source=source, fill_color=None,
                                                         line_color="#6a1b9a", line_width=1.6, visible=False))

    def label_schematic(self) -> None:
        """Say on each map that it is a diagram, not a map."""
        for fig in (self.demand, self.supply):
            label = Label(x=8, y=8, x_units="screen", y_units="screen", text_font_size="11px",
                          text="Schéma : un carré par commune, groupées par EPCI (aucun fichier de contours)",
                          background_fill_color="#fff8e1", background_fill_alpha=0.9, text_color="#5d4037")
            fig.add_layout(label)
            self.schematic_labels.append(label)

    def show_level(self, level: str) -> None:
        for name, renderers in self.renderers.items():
            for renderer in renderers:
                renderer.visible = name == level

    def show_qpv(self, visible: bool) -> None:
        for renderer in self.qpv_renderers:
            renderer.visible = visible

    def set_period(self, period: str) -> None:
        """The period every hover shows (one string, not a column)."""
        tooltip = TOOLTIP.format(periode=escape(period))
        if tooltip != self._tooltip:
            self._tooltip = tooltip
            for hover in self.hovers:
                hover.tooltips = tooltip

    def update(self, level: str, columns: dict[str, list]) -> None:
        """New values for ``level``: only the columns that changed go to the browser (a change
        of indicator sends one column of colours)."""
        data = self.sources[level].data
        changed = {name: values for name, values in columns.items() if list(data.get(name, ())) != values}
        if changed:
            data.update(changed)
