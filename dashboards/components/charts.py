"""Charts in French: pre-formatted month labels (Bokeh has no locale for dates) and
French number ticks, updated in place when filters change (one figure per session)."""

from __future__ import annotations

import holoviews as hv
import pandas as pd
from bokeh.models import CustomJSTickFormatter, HoverTool

from dashboards.theme import GROUP_COLOURS, fmt_int
from data_access.formatting import month_label

hv.extension("bokeh", logo=False)

#: JavaScript tick formatter: « 1 234 » with the French (narrow no-break space) separator.
FRENCH_TICKS = CustomJSTickFormatter(code="return tick.toLocaleString('fr-FR')")

#: Stack order, bottom first, with the series column each group reads.
STACK = {"DALO": "relogements_dalo", "ACD / PDALHPD": "relogements_acd",
         "Autres critères L441-1": "relogements_l441", "Non prioritaires": "non_prioritaires"}


def stacked_rehousing(series: pd.DataFrame) -> hv.Bars:
    """Monthly rehousings, priority ones stacked by main criterion group, the others on top."""
    wide = series.assign(non_prioritaires=series["relogements"] - series["relogements_prioritaires"])
    labels = [month_label(m.date(), short=True) for m in pd.to_datetime(wide["mois"])]
    tidy = pd.DataFrame({
        "mois": [label for label in labels for _ in STACK],
        "groupe": list(STACK) * len(wide),
        "relogements": [int(row[col]) for _, row in wide.iterrows() for col in STACK.values()],
    })
    totals = dict(zip(labels, wide["relogements"]))
    tidy["valeur"] = tidy["relogements"].map(fmt_int)
    tidy["total"] = tidy["mois"].map(totals).map(fmt_int)
    hover = HoverTool(tooltips=[("Mois", "@mois"), ("Ménages", "@groupe"), ("Relogements", "@valeur"),
                                ("Total du mois", "@total")])
    groupe = hv.Dimension("groupe", label="Ménages", values=list(STACK))
    return hv.Bars(tidy, [hv.Dimension("mois", label="Mois"), groupe],
                   [hv.Dimension("relogements", label="Relogements"), "valeur", "total"]).opts(
        stacked=True, color="groupe", cmap=GROUP_COLOURS, tools=[hover], default_tools=[],
        toolbar=None, yformatter=FRENCH_TICKS, ylabel="Relogements (baux signés)", xlabel="",
        xrotation=45 if len(wide) > 13 else 0, legend_position="top", legend_opts={"orientation": "horizontal"},
        show_grid=True, responsive=True, height=340, framewise=True, line_color=None,
        title="")
