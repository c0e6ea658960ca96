"""Charts in French: pre-formatted month labels (Bokeh has no locale for dates) and
French number ticks. Each chart is one Bokeh figure per session whose data source is
replaced when filters change: no figure is rebuilt, nothing but data crosses the wire."""

from __future__ import annotations

import pandas as pd
from bokeh.models import ColumnDataSource, CustomJSTickFormatter, FactorRange, HoverTool, Label
from bokeh.plotting import figure

from dashboards.theme import COLOURS, fmt_int
from data_access.formatting import month_label
from data_access.indicators import INDICATORS
from data_access.secrecy import SECONDARY

#: JavaScript tick formatter: « 1 234 » with the French (narrow no-break space) separator.
FRENCH_TICKS = "return tick.toLocaleString('fr-FR')"

#: Stack order, bottom first: the registry's indicators (legend: their short labels).
STACK = [
    INDICATORS[code]
    for code in (
        "relogements_dalo",
        "relogements_acd",
        "relogements_l441",
        "relogements_non_prioritaires",
    )
]


def stacked_data(series: pd.DataFrame) -> dict[str, list]:
    """The chart's columns from a state's ``series()``: month labels, one column per stack
    level, and French texts for the hover."""
    months = [month_label(m.date(), short=True) for m in pd.to_datetime(series["mois"])]
    data: dict[str, list] = {"mois": months}
    others = [
        SECONDARY if isinstance(t, str) or isinstance(p, str) else t - p
        for t, p in zip(series["relogements"], series["relogements_prioritaires"])
    ]
    columns = {
        **{i.code: series[i.code] for i in STACK[:-1]},
        "relogements_non_prioritaires": others,
    }
    for column, values in columns.items():
        # a figure masked by statistical secrecy is not drawn; the hover gives its mark
        data[column] = [0 if isinstance(v, str) else int(v) for v in values]
        data[f"{column}_texte"] = [_text(v) for v in values]
    data["total_texte"] = [_text(v) for v in series["relogements"]]
    data["prioritaires_texte"] = [_text(v) for v in series["relogements_prioritaires"]]
    return data


def _text(value) -> str:
    return str(value) if isinstance(value, str) else fmt_int(value)


class StackedMonthlyChart:
    """Monthly rehousings, priority ones stacked by main criterion group, the others on top."""

    def __init__(self, series: pd.DataFrame, height: int = 340, slant_after: int = 13):
        """``slant_after``: months shown before their labels slant (large labels: fewer)."""
        self.slant_after = slant_after
        data = stacked_data(series)
        self.source = ColumnDataSource(data)
        self.figure = figure(
            x_range=FactorRange(*data["mois"]),
            height=height,
            sizing_mode="stretch_width",
            toolbar_location=None,
            tools="",
            y_axis_label=INDICATORS["relogements"].label,
        )
        renderers = self.figure.vbar_stack(
            [i.code for i in STACK],
            x="mois",
            width=0.8,
            source=self.source,
            color=[COLOURS[i.colour] for i in STACK],
            line_color=None,
            legend_label=[i.short for i in STACK],
        )
        for renderer, indicator in zip(renderers, STACK):
            self.figure.add_tools(
                HoverTool(
                    renderers=[renderer],
                    tooltips=[
                        ("Mois", "@mois"),
                        ("Ménages", indicator.short),
                        (INDICATORS["relogements"].short, f"@{indicator.code}_texte"),
                        (
                            f"{INDICATORS['relogements_prioritaires'].short} (mois)",
                            "@prioritaires_texte",
                        ),
                        ("Total du mois", "@total_texte"),
                    ],
                )
            )
        fig = self.figure
        fig.yaxis.formatter = CustomJSTickFormatter(code=FRENCH_TICKS)
        fig.y_range.start = 0
        fig.xgrid.grid_line_color = None
        fig.legend.orientation = "horizontal"
        fig.legend.location = "top_left"
        fig.add_layout(fig.legend[0], "above")
        fig.xaxis.major_label_orientation = 0.8 if len(data["mois"]) > self.slant_after else 0
        fig.outline_line_color = None
        fig.yaxis.ticker.min_interval = 1  # counts: whole ticks, never « 0,2 »
        # the empty state, said on the chart (in its middle: the months span 0 to n in data
        # units, an empty count axis 0 to 1) rather than left to a blank plot
        self.empty = Label(
            x=len(data["mois"]) / 2, y=0.5, text=EMPTY, text_align="center",
            name="relog-graphique-vide",
            text_baseline="middle", text_font_size="15px", text_color="#3d4652",
            visible=_empty(series),
        )  # fmt: skip
        fig.add_layout(self.empty)

    def update(self, series: pd.DataFrame) -> None:
        data = stacked_data(series)
        self.figure.x_range.factors = data["mois"]
        slanted = len(data["mois"]) > self.slant_after
        self.figure.xaxis.major_label_orientation = 0.8 if slanted else 0
        self.source.data = data
        self.empty.update(x=len(data["mois"]) / 2, visible=_empty(series))


#: What the chart says when there is nothing to draw.
EMPTY = "Aucun relogement sur la période pour ces filtres"


def _empty(series: pd.DataFrame) -> bool:
    return len(series) == 0 or not any(isinstance(v, str) or v > 0 for v in series["relogements"])
