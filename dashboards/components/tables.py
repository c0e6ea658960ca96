"""Sortable tables with French numbers, a frozen total row, and click-to-filter.

Columns, titles, number formats and header tooltips (the definitions) come from the
indicator registry (:mod:`data_access.indicators`): an indicator declared for the
``repartition`` view appears in the breakdown tables with nothing to add here. Each table is
refreshed by its page (:meth:`BreakdownTable.refresh`), the one refresh mechanism.
"""

from __future__ import annotations

from html import escape

import pandas as pd
import panel as pn

from dashboards.theme import tabulator_formatter
from data_access import RelogError
from data_access.formatting import month_label
from data_access.indicators import INDICATORS, in_view


def breakdown_columns(filters=None, protected: bool = False) -> list:
    """The indicators of the breakdown tables: the registry's ``repartition`` view (under
    ``filters``: those it shows then; without, every one it may show). ``protected``: those
    a protected profile sees (statistical secrecy: counts and their shares, no waiting
    time)."""
    shown = in_view("repartition", filters)
    if protected:
        shown = [i for i in shown if i.question != "rehousing_delay"]
    return shown


def breakdown_frame(
    table: pd.DataFrame, by: str, filters=None, protected: bool = False
) -> pd.DataFrame:
    """A state's ``table(by)`` (members, then the total) → the displayed frame, total first,
    shares in percent."""
    total, members = table.iloc[[-1]], table.iloc[:-1]
    out = pd.concat([total, members], ignore_index=True)
    shown = {
        "code": out[by].astype(object).where(out[by].notna(), None),
        "libelle": out["libelle"],
    }
    for indicator in breakdown_columns(filters, protected):
        values = out[indicator.code]
        if (
            indicator.unit.code == "oui_non"
        ):  # a flag: said in words (with a sign), not colour alone
            values = values.map(FLAG_TEXT).fillna("")
        elif masked(values):  # statistical secrecy: the marks stay text
            values = values.map(lambda v, i=indicator: _shown(v, i)).astype(object)
        elif indicator.unit.code == "part":
            values = (values * 100).round(indicator.unit.decimals)
        elif indicator.unit.decimals == 0:
            values = values.astype("Int64" if values.isna().any() else "int64")
        shown[indicator.code] = values
    return pd.DataFrame(shown)


def masked(values: pd.Series) -> bool:
    """Whether a column holds figures masked by statistical secrecy (their marks)."""
    return bool(values.map(lambda v: isinstance(v, str)).any())


def _shown(value, indicator):
    """A value of a column with marks: the mark, or the number as the table shows it."""
    if isinstance(value, str) or value is None or pd.isna(value):
        return value
    if indicator.unit.code == "part":
        return round(float(value) * 100, indicator.unit.decimals)
    return int(value) if indicator.unit.decimals == 0 else float(value)


#: How a breakdown table writes a flag (« sous l'objectif »): a raised one is red and bold
#: too (:data:`FROZEN_ROW_CSS`), the sign and the words saying it without colour. A class
#: in the cell's text rather than a pandas Styler: Panel sends a Styler's cell styles anew
#: at each change of the table, and Tabulator then draws the whole table a second time.
FLAG_TEXT = {True: '<span class="relog-flag">▼ non atteint</span>', False: "atteint"}


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)


def _number_columns(indicators: list) -> dict:
    """Titles, formatters, alignment and header tooltips of indicator columns."""
    return {
        "titles": {i.code: i.short for i in indicators},
        "formatters": {
            i.code: {"type": "html"} if i.unit.code == "oui_non" else tabulator_formatter(i.unit)
            for i in indicators
        },
        "text_align": {i.code: "right" for i in indicators},
        "header_tooltips": {i.code: i.definition for i in indicators},
    }


#: Under a breakdown table whose total is its only row.
EMPTY_TABLE = (
    '<p role="status">Aucun relogement sur la période pour ces filtres : aucune ligne à '
    "répartir.</p>"
)


#: Tabulator puts the frozen total row beside the column headings (an inline block in their
#: no-wrap line): drawn off the table's right edge. As a block it sits under them, on top.
FROZEN_ROW_CSS = """
.pnx-tabulator.tabulator .tabulator-header .tabulator-frozen-rows-holder { display: block; }
.tabulator .tabulator-frozen-rows-holder .tabulator-row { font-weight: 600; background: #eef3f9; }
.tabulator-cell:has(.relog-flag) { color: #b3261e; font-weight: 600; }
"""


#: How far beyond the visible rows a breakdown table draws its rows ahead (pixels: four
#: rows), the others as the user scrolls. Tabulator's default is the table's own height on
#: each side: at each new value it drew and measured some 40 rows where 14 show (Chromium:
#: 42 → 28 ms per filter change on the rehousing page, bench/inbrowser.py).
ROWS_AHEAD_PX = 120


class BreakdownTable:
    """The period's figures by one breakdown ``by``: a click on a member's row filters the
    page on it (the total row, first and frozen, does not)."""

    def __init__(self, state, by: str):
        self.state, self.by = state, by
        indicators = breakdown_columns(protected=state.protected)
        self.columns = ["code", "libelle", *[i.code for i in indicators]]
        spec = _number_columns(indicators)
        self.widget = pn.widgets.Tabulator(
            value=self._value(),
            show_index=False,
            hidden_columns=["code"],
            titles={"libelle": "Libellé", **spec["titles"]},
            formatters=spec["formatters"],
            text_align=spec["text_align"],
            header_tooltips=spec["header_tooltips"],
            disabled=True,
            frozen_rows=[0],
            layout="fit_data_stretch",
            sizing_mode="stretch_width",
            height=430,
            selectable=False,
            css_classes=[f"relog-table-{by}"],
            # Tabulator's own resize module redraws every row once the table scrolls into
            # view, a fraction of a second after it is shown: a click then was lost (its
            # row replaced between press and release). Panel redraws on a real resize.
            configuration={
                "rowHeight": 30,
                "autoResize": False,
                "renderVerticalBuffer": ROWS_AHEAD_PX,
            },
            stylesheets=[FROZEN_ROW_CSS],
        )
        self.widget.on_click(self._on_click)
        self.empty = pn.pane.HTML(
            EMPTY_TABLE,
            visible=len(self.widget.value) <= 1,  # the total row alone
            css_classes=[f"relog-table-empty-{by}"],
            sizing_mode="stretch_width",
            margin=(0, 10),
        )

    def _value(self) -> pd.DataFrame:
        try:
            filters = self.state.filters()
            return breakdown_frame(
                self.state.table(self.by), self.by, filters, self.state.protected
            )
        except RelogError:  # the key figures block shows the French message
            return _empty(self.columns)

    def refresh(self) -> None:
        self.widget.value = value = self._value()
        self.empty.visible = len(value) <= 1

    def _on_click(self, event) -> None:
        if event.row == 0:  # the total row
            return
        self.state.focus(self.by, self.widget.value["code"].iloc[event.row])


#: The pipeline table's columns, in order (their titles are the registry's short labels).
PIPELINE = [
    "propositions",
    "refus_menage",
    "cal_attribution",
    "cal_attribution_rang",
    "cal_attribution_sous_condition",
    "cal_non_attribution",
    "cal_irrecevable",
    "cal_ajournement",
    "baux_signes",
    "entrees_dans_les_lieux",
]


#: The chart's own table: the monthly series under the stacked chart.
SERIES = [
    "relogements",
    "relogements_prioritaires",
    "part_prioritaires",
    "relogements_dalo",
    "relogements_acd",
    "relogements_l441",
]


def monthly_frame(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A state's monthly ``table`` (months, then the total row) as shown: months as French
    labels, shares in percent."""
    out = table.copy()
    out["mois"] = [
        m if isinstance(m, str) else month_label(pd.Timestamp(m).date()) for m in out["mois"]
    ]
    for code in columns:
        indicator = INDICATORS[code]
        if masked(out[code]):  # statistical secrecy: the marks stay text
            out[code] = out[code].map(lambda v, i=indicator: _shown(v, i)).astype(object)
        elif indicator.unit.code == "part":
            out[code] = (out[code].astype("float64") * 100).round(indicator.unit.decimals)
    return out[["mois", *columns]]


def pipeline_frame(pipeline: pd.DataFrame) -> pd.DataFrame:
    """Months as French labels; the total row last."""
    return monthly_frame(pipeline, PIPELINE)


class MonthlyTable:
    """A month-by-month table of the state (``key``: ``pipeline``, or ``serie``: the data of
    the monthly chart, its accessible twin), the total row last."""

    def __init__(self, state, key: str, columns: list[str]):
        self.state, self.key, self.columns = state, key, columns
        spec = _number_columns([INDICATORS[c] for c in columns])
        self.widget = pn.widgets.Tabulator(
            value=self._value(),
            show_index=False,
            titles={"mois": "Mois", **spec["titles"]},
            formatters=spec["formatters"],
            text_align=spec["text_align"],
            header_tooltips=spec["header_tooltips"],
            disabled=True,
            selectable=False,
            frozen_columns=["mois"],
            layout="fit_data_table",
            sizing_mode="stretch_width",
            css_classes=[f"relog-table-{key}"],
            configuration={"columnDefaults": {"headerSort": False}},
        )

    def _value(self) -> pd.DataFrame:
        try:
            return monthly_frame(self.state.table(self.key), self.columns)
        except RelogError:
            return _empty(["mois", *self.columns])

    def refresh(self) -> None:
        self.widget.value = self._value()


TERRITORY_CSS = """
:host { width: 100%; }
.relog-territoires { max-height: 420px; overflow: auto; border: 1px solid #d5dae1; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
caption { text-align: left; padding: 6px 8px; color: #3d4652; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e5e8ec; white-space: nowrap; }
th { position: sticky; top: 0; background: #f1f5f9; text-align: left; }
td.nombre, th.nombre { text-align: right; }
"""


class TerritoryTable:
    """The map's figures as a table (its accessible twin, a plain HTML table: no script to
    load on the map page): one row per territory of the selection, every indicator of the map
    (the registry's ``carte`` view), largest demand first."""

    def __init__(self, values: pd.DataFrame):
        self.indicators = in_view("carte")
        self.widget = pn.pane.HTML(
            self.html(values),
            sizing_mode="stretch_width",
            css_classes=["relog-table-territoires"],
            stylesheets=[TERRITORY_CSS],
        )

    def html(self, values: pd.DataFrame) -> str:
        inside = values[values["dans_selection"]].sort_values(
            ["demandes_actives", "libelle"], ascending=[False, True], kind="stable"
        )
        head = "".join(
            f'<th scope="col" class="nombre" title="{escape(i.definition)}">{escape(i.short)}</th>'
            for i in self.indicators
        )
        marks = values.attrs.get("marques", {})  # statistical secrecy: « < 5 », « s »
        rows = "".join(
            f'<tr><th scope="row">{escape(str(name))}</th>'
            + "".join(
                f'<td class="nombre">'
                f"{escape(i.format(marks.get(i.code, {}).get(code, row[i.code])))}</td>"
                for i in self.indicators
            )
            + "</tr>"
            for code, name, row in zip(inside.index, inside["libelle"], inside.to_dict("records"))
        )
        return (
            '<div class="relog-territoires" role="region" tabindex="0" '
            'aria-label="Tableau des territoires">'
            f"<table><caption>{len(inside)} territoire(s) de la sélection, demande la plus forte "
            f'en tête</caption><thead><tr><th scope="col">Territoire</th>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )

    def refresh(self, values: pd.DataFrame) -> None:
        self.widget.object = self.html(values)
