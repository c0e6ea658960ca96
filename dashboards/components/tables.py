"""Sortable tables with French numbers, a frozen total row, and click-to-filter."""

from __future__ import annotations

import pandas as pd
import panel as pn
import param

from dashboards.theme import TABULATOR_INT, TABULATOR_PCT
from data_access import RelogError
from data_access.formatting import month_label

#: Display titles of the breakdown table's columns.
BREAKDOWN_TITLES = {
    "libelle": "Libellé",
    "relogements": "Relogements",
    "relogements_prioritaires": "dont prioritaires",
    "part": "Part prioritaire",
}


def breakdown_frame(summary: pd.DataFrame, by: str) -> pd.DataFrame:
    """A state's table(by) (members then total) → the displayed frame, total first."""
    total, members = summary.iloc[[-1]], summary.iloc[:-1]
    out = pd.concat([total, members], ignore_index=True)
    return pd.DataFrame(
        {
            "code": out[by]
            .astype(object)
            .where(out[by].notna(), None),  # original codes: a click filters on them
            "libelle": out["libelle"],
            "relogements": out["relogements"].astype(int),
            "relogements_prioritaires": out["relogements_prioritaires"].astype(int),
            "part": (out["part_prioritaires"] * 100).round(1),
        }
    )


def breakdown_table(state, by: str, triggers: list) -> pn.widgets.Tabulator:
    """The period's rehousings by ``by``, recomputed when a parameter of ``triggers``
    changes; a click on a member's row filters the page on it. Only the table of the tab on
    show is computed; the others catch up when shown."""

    def value(*_, initial=False):
        if not initial and state.breakdown != by:
            raise param.Skip  # hidden tab: keep the old value, no query
        try:
            return breakdown_frame(state.table(by), by)
        except RelogError:
            return pd.DataFrame(columns=["code", *BREAKDOWN_TITLES])

    table = pn.widgets.Tabulator(
        value=value(initial=True)
        if state.breakdown == by
        else pd.DataFrame(columns=["code", *BREAKDOWN_TITLES]),
        show_index=False,
        hidden_columns=["code"],
        titles=BREAKDOWN_TITLES,
        disabled=True,
        formatters={
            "relogements": TABULATOR_INT,
            "relogements_prioritaires": TABULATOR_INT,
            "part": TABULATOR_PCT,
        },
        text_align={"relogements": "right", "relogements_prioritaires": "right", "part": "right"},
        frozen_rows=[0],
        layout="fit_data_stretch",
        sizing_mode="stretch_width",
        height=430,
        selectable=False,
        css_classes=[f"relog-table-{by}"],
        configuration={"rowHeight": 30},
    )

    def on_click(event):
        if event.row == 0:  # the total row
            return
        state.focus(by, table.value["code"].iloc[event.row])

    table.on_click(on_click)
    table.value = pn.bind(value, *triggers, state.param.breakdown)
    return table


def pipeline_frame(pipeline: pd.DataFrame, titles: dict[str, str]) -> pd.DataFrame:
    """Months as French labels; the total row last."""
    out = pipeline.copy()
    out["mois"] = [
        m if isinstance(m, str) else month_label(pd.Timestamp(m).date()) for m in out["mois"]
    ]
    return out[list(titles)]


def pipeline_table(
    state, titles: dict[str, str], triggers: list, visible=lambda: True
) -> pn.widgets.Tabulator:
    """The monthly pipeline, recomputed when a parameter of ``triggers`` changes, except
    while ``visible()`` is false."""

    def value(*_, initial=False):
        if not initial and not visible():
            raise param.Skip
        try:
            return pipeline_frame(state.table("pipeline"), titles)
        except RelogError:
            return pd.DataFrame(columns=list(titles))

    numbers = [c for c in titles if c != "mois"]
    table = pn.widgets.Tabulator(
        value=value(initial=True),
        show_index=False,
        titles=titles,
        disabled=True,
        selectable=False,
        formatters={c: TABULATOR_INT for c in numbers},
        text_align={c: "right" for c in numbers},
        frozen_columns=["mois"],
        layout="fit_data_table",
        sizing_mode="stretch_width",
        css_classes=["relog-table-pipeline"],
        configuration={"columnDefaults": {"headerSort": False}},
    )
    table.value = pn.bind(value, *triggers)
    return table
