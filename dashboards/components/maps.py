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
from bokeh.core.serialization import Serializable, Serializer
from bokeh.models import (
    ColumnDataSource,
    CustomJS,
    CustomJSHover,
    HoverTool,
    Label,
    TapTool,
    WheelZoomTool,
)
from bokeh.plotting import figure

from data_access.indicators import in_view
from geodata.boundaries import BoundaryLayer
from geodata.layers import polygon_arrays

#: Hover lines: (label, column, decimals); the columns hold numbers (NaN: empty), formatted
#: in French by the browser.
HOVER_ROWS = [(i.short, i.code, i.unit.decimals) for i in in_view("carte")]

TOOLTIP = (
    '<div class="relog-map-tip" style="font-size:__PX__px;max-width:__WIDTH__px">'
    '<div style="font-weight:bold;font-size:__TITLE_PX__px">@nom '
    '<span style="color:#595959">(@code)</span></div>'
    '<div style="color:#595959">@epci_nom</div>'
    '<div style="color:#595959;margin-bottom:4px">__PERIODE__</div>'
    + "".join(
        f'<div><span style="color:#444">{escape(label)} :</span> '
        f"<b>@v_{col}{{fr{decimals}}}</b></div>"
        for label, col, decimals in HOVER_ROWS
    )
    + '<div style="color:#595959;margin-top:4px;font-style:italic">__NOTE__</div>'
    + "</div>"
)

#: Opens the rehousing page on the territory clicked (the links' templates hold ``CODE``).
TAP_JS = """
const i = source.selected.indices[0]
if (i !== undefined) {
  source.selected.indices = []
  const code = source.data.code[i]
  const template = source.data.dans_selection[i] ? links.inside : links.outside
  window.location.assign(links.by_code[code] ?? template.replace("CODE", encodeURIComponent(code)))
}
"""

#: French numbers in the hover (« 1 234 », « 2,50 »), « — » when empty, « hors sélection »
#: outside the chosen filters. Bokeh prints « NaN » itself without calling a formatter, so
#: empty values travel as :data:`EMPTY` (every figure is zero or more).
EMPTY = -1.0
#: A figure masked by statistical secrecy travels as ``-k`` (« < k ») or :data:`SECRET`
#: (« s »).
SECRET = -1000.0
FRENCH_JS = """
const i = special_vars.index
if (!source.data.dans_selection[i]) return "hors sélection"
if (value == -1000) return "s"
if (value <= -2) return "< " + (-value)
if (value == null || Number.isNaN(value) || value < 0) return "—"
return value.toLocaleString("fr-FR", {minimumFractionDigits: digits, maximumFractionDigits: digits})
"""


def value_columns(values: pd.DataFrame, colours: dict[str, list[str]]) -> dict[str, object]:
    """The value columns of a level: colours, the hover's numbers, the selection flag."""
    out: dict[str, object] = {f"couleur_{side}": c for side, c in colours.items()}
    marks = values.attrs.get("marques", {})
    for _, column, _ in HOVER_ROWS:
        numbers = values[column].to_numpy(dtype="float64")
        numbers = np.where(np.isnan(numbers), EMPTY, numbers)
        for i in np.flatnonzero(values.index.isin(list(marks.get(column, {})))):
            mark = marks[column][values.index[i]]
            numbers[i] = -float(mark[2:]) if mark.startswith("<") else SECRET
        out[f"v_{column}"] = numbers
    out["dans_selection"] = values["dans_selection"].to_numpy(dtype=bool)
    return out


def _same(old, new) -> bool:
    old, new = np.asarray(old), np.asarray(new)
    return np.array_equal(old, new, equal_nan=old.dtype.kind == "f" and new.dtype.kind == "f")


class Shapes(list, Serializable):
    """A shapes column (nested lists of whole metres) that Bokeh sends as it is: its items
    are plain JSON already, and walking its hundreds of thousands of numbers through Bokeh's
    serializer costs 0.3 s per session for the 4 446 communes of Occitanie."""

    def to_serializable(self, serializer: Serializer) -> list:
        return self


_SHAPES: dict[int, tuple] = {}


def _shapes(layer: BoundaryLayer) -> dict[str, Shapes]:
    """The layer's ``xs``/``ys`` wrapped once per process (they are never modified)."""
    cached = _SHAPES.get(id(layer))
    if cached is None or cached[0] is not layer:
        arrays = polygon_arrays(layer)
        cached = _SHAPES[id(layer)] = (
            layer,
            {name: Shapes(values) for name, values in arrays.items()},
        )
    return cached[1]


class ChoroplethPair:
    """The demand map and the supply map of one session."""

    def __init__(self, height: int = 560, text_px: int = 12, toolbar: bool = True):
        """``text_px``: the hover's text size (the titles and labels follow); a projected
        map (the meeting page) asks for more. ``toolbar=False``: no tools but the hover."""
        self._template = (
            TOOLTIP.replace("__TITLE_PX__", str(text_px + 1))
            .replace("__PX__", str(text_px))
            .replace("__WIDTH__", str(25 * text_px))
        )
        self.text_px, self.toolbar = text_px, toolbar
        self._tooltip = self._template.replace("__PERIODE__", "").replace("__NOTE__", "")
        self.sources: dict[str, ColumnDataSource] = {}
        self.renderers: dict[str, list] = {}
        self.demand = self._figure(height, "relog-map-demande", toolbar)
        self.supply = self._figure(
            height,
            "relog-map-offre",
            toolbar,
            x_range=self.demand.x_range,
            y_range=self.demand.y_range,
        )
        self.qpv_renderers: list = []
        self.hovers: list[HoverTool] = []
        self.links: dict = {"inside": "", "outside": "", "by_code": {}}
        self._tap: list[CustomJS] = []
        self.schematic_labels: list[Label] = []
        self._frame: ColumnDataSource | None = None

    def _figure(self, height: int, name: str, toolbar: bool, **ranges):
        fig = figure(
            height=height,
            name=name,
            sizing_mode="stretch_width",
            match_aspect=True,
            x_axis_type=None,
            y_axis_type=None,
            tools="pan,reset" if toolbar else "",
            toolbar_location="above" if toolbar else None,
            **ranges,
        )
        fig.title.text_font_size = f"{self.text_px + 1}px"
        if toolbar:
            wheel = WheelZoomTool()
            fig.add_tools(wheel)
            fig.toolbar.active_scroll = wheel
        fig.grid.visible = False
        fig.outline_line_color = None
        fig.background_fill_color = "#ffffff"
        fig.toolbar.logo = None
        return fig

    def add_level(
        self,
        level: str,
        layer: BoundaryLayer,
        columns: dict[str, list],
        epci_names: list[str] | None = None,
    ) -> None:
        """Draw ``layer`` on both maps (its shapes are sent with this first data);
        ``epci_names``: each territory's EPCI, shown in the hover of a commune."""
        frame = layer.frame
        data = {
            "code": frame["code"].tolist(),
            "nom": frame["nom"].tolist(),
            "epci_nom": epci_names or [""] * len(frame),
            **_shapes(layer),
            **columns,
        }
        source = ColumnDataSource(data, name=f"relog-{level}")
        tap = CustomJS(args=dict(source=source, links=dict(self.links)), code=TAP_JS)
        source.selected.js_on_change("indices", tap)
        self._tap.append(tap)
        formatters = {
            f"@v_{col}": CustomJSHover(args=dict(source=source, digits=decimals), code=FRENCH_JS)
            for _, col, decimals in HOVER_ROWS
        }
        self.sources[level] = source
        self.renderers[level] = []
        for fig, side in ((self.demand, "demande"), (self.supply, "offre")):
            renderer = fig.multi_polygons(
                xs="xs",
                ys="ys",
                source=source,
                fill_color=f"couleur_{side}",
                line_color="#ffffff" if level == "commune" else "#555555",
                line_width=0.4 if level == "commune" else 1.0,
                hover_line_color="#222222",
                hover_line_width=2,
                selection_fill_alpha=1.0,
                nonselection_fill_alpha=1.0,
            )
            self.renderers[level].append(renderer)
            hover = HoverTool(
                renderers=[renderer],
                tooltips=self._tooltip,
                attachment="right",
                formatters=formatters,
            )
            self.hovers.append(hover)
            # without a toolbar (projected), no click: it would leave the meeting
            fig.add_tools(hover, *([TapTool(renderers=[renderer])] if self.toolbar else []))

    def add_qpv(self, layer: BoundaryLayer) -> None:
        """QPV outlines, hidden until asked for."""
        data = {
            "code": layer.frame["code"].tolist(),
            "nom": layer.frame["nom"].tolist(),
            **_shapes(layer),
        }
        source = ColumnDataSource(data, name="relog-qpv")
        for fig in (self.demand, self.supply):
            self.qpv_renderers.append(
                fig.multi_polygons(
                    xs="xs",
                    ys="ys",
                    source=source,
                    fill_color=None,
                    line_color="#6a1b9a",
                    line_width=1.6,
                    visible=False,
                )
            )

    def label_schematic(self) -> None:
        """Say on each map that it is a diagram, not a map."""
        for fig in (self.demand, self.supply):
            label = Label(
                x=8,
                y=8,
                x_units="screen",
                y_units="screen",
                text_font_size=f"{max(11, self.text_px - 1)}px",
                text="Schéma : un carré par commune, groupées par EPCI (aucun fichier de contours)",
                background_fill_color="#fff8e1",
                background_fill_alpha=0.9,
                text_color="#5d4037",
            )
            fig.add_layout(label)
            self.schematic_labels.append(label)

    def fit(self, bounds: tuple[float, float, float, float]) -> None:
        """Frame both maps on ``bounds`` (x0, y0, x1, y1, Lambert-93 metres), the shapes'
        aspect kept: the ranges follow an invisible box instead of every shape drawn."""
        data = {"x": [bounds[0], bounds[2]], "y": [bounds[1], bounds[3]]}
        if self._frame is None:
            self._frame = ColumnDataSource(data, name="relog-cadre")
            box = self.demand.scatter("x", "y", source=self._frame, alpha=0, size=1)
            self.demand.x_range.renderers = [box]
            self.demand.y_range.renderers = [box]
        elif not all(_same(self._frame.data[k], v) for k, v in data.items()):
            self._frame.data = data

    def show_level(self, level: str) -> None:
        for name, renderers in self.renderers.items():
            for renderer in renderers:
                renderer.visible = name == level

    def show_qpv(self, visible: bool) -> None:
        for renderer in self.qpv_renderers:
            renderer.visible = visible

    def set_period(self, period: str, note: str = "") -> None:
        """The period every hover shows (one string, not a column), and a note under its
        figures (which of them do not follow the active filters)."""
        tooltip = self._template.replace("__PERIODE__", escape(period)).replace(
            "__NOTE__", escape(note)
        )
        if tooltip != self._tooltip:
            self._tooltip = tooltip
            for hover in self.hovers:
                hover.tooltips = tooltip

    def set_links(self, inside: str, outside: str, by_code: dict[str, str] | None = None) -> None:
        """Where a click goes: templates holding ``CODE`` for territories in and out of the
        selection, and whole links for the territories that need their own."""
        links = {"inside": inside, "outside": outside, "by_code": dict(by_code or {})}
        if links != self.links:
            self.links = links
            for tap in self._tap:
                tap.args = {**tap.args, "links": dict(links)}

    def update(self, level: str, columns: dict[str, object]) -> None:
        """New values for ``level``: only the columns that changed go to the browser (a change
        of indicator sends one column of colours)."""
        data = self.sources[level].data
        changed = {
            name: values
            for name, values in columns.items()
            if name not in data or not _same(data[name], values)
        }
        if changed:
            data.update(changed)
