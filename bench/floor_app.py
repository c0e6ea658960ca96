"""The floor of ``bench/inbrowser.py``: the smallest Panel app that does what a filter change
on the rehousing page does, over the same demo replica.

One EPCI select, the period's rehousings (households with a signed lease) for the chosen
EPCI, and one hvPlot bar chart of their monthly counts; the leases are read once per process
into pandas (straight from the replica's tables, read-only: a benchmark reference, not product
code), and each change is plain ``pn.bind`` as a minimal app writes it. The period is the
product's default one: the 12 complete months before the data's extraction.

Served with ``panel serve bench/floor_app.py`` (``RELOG_DEMO_PATH``: the replica, by default
``data/demo-departement.duckdb``); :mod:`bench.inbrowser` serves it with
:class:`bench.served_app.ServedApp` and reads its figures with :func:`figures`.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pandas as pd

#: The select's first option: no EPCI filter (the whole replica).
ALL = "Tous les EPCI"
MONTHS = 12


def _path() -> Path:
    return Path(os.environ.get("RELOG_DEMO_PATH", "data/demo-departement.duckdb"))


def load(path: Path | None = None) -> tuple[pd.DataFrame, dict[str, str], list[pd.Timestamp]]:
    """(leases counted by EPCI and month of signature over the period, EPCI name → code,
    the period's months)."""
    from data_access.engine import open_duckdb_readonly

    # configured as every other reader of the file in a process (DuckDB refuses two
    # configurations of one file: the tests' oracle opens it so too)
    with open_duckdb_readonly(Path(path or _path())) as con:
        extraction = con.execute(
            "select valeur from replica_meta where cle = 'extraction'"
        ).fetchall()[0][0]
        last = pd.Timestamp(date.fromisoformat(extraction[:10]).replace(day=1)) - pd.DateOffset(
            months=1
        )
        months = list(pd.date_range(end=last, periods=MONTHS, freq="MS"))
        counts = con.execute(
            """
            select c.epci_siren as epci, date_trunc('month', b.date_signature) as mois,
                   count(*) as relogements
            from bail b join logement l on l.id = b.logement_id
                        join commune c on c.code_insee = l.commune_code
            where b.date_signature >= ? and b.date_signature < ?
            group by all
            """,
            [months[0].date(), (months[-1] + pd.DateOffset(months=1)).date()],
        ).df()
        epci = con.execute("select siren, nom from epci order by nom").fetchall()
    counts["mois"] = pd.to_datetime(counts["mois"])
    return counts, {name: code for code, name in epci}, months


def figures(counts: pd.DataFrame, months: list, code: str | None) -> pd.DataFrame:
    """The chart's frame for EPCI ``code`` (None: all): one row per month, « mois » as a
    label, « relogements »."""
    kept = counts if not code else counts[counts["epci"] == code]
    by_month = kept.groupby("mois")["relogements"].sum().reindex(months, fill_value=0)
    return pd.DataFrame(
        {"mois": [f"{m:%m/%Y}" for m in months], "relogements": by_month.to_numpy(dtype="int64")}
    )


def total_text(frame: pd.DataFrame) -> str:
    """« 1 234 » (narrow no-break space), as the product writes it."""
    return f"{int(frame['relogements'].sum()):,}".replace(",", "\u202f")


def app():
    import hvplot.pandas  # noqa: F401  (registers .hvplot)
    import panel as pn

    pn.extension(sizing_mode="stretch_width")
    counts, epci, months = pn.state.as_cached("floor-leases", load)
    select = pn.widgets.Select(
        name="EPCI", options={ALL: "", **epci}, value="", css_classes=["floor-epci"], width=320
    )

    def total(code: str) -> str:
        value = total_text(figures(counts, months, code))
        return f'<div>Relogements : <b data-valeur="relogements">{value}</b></div>'

    def chart(code: str):
        return figures(counts, months, code).hvplot.bar(
            x="mois", y="relogements", height=340, responsive=True, rot=45, ylabel="Relogements"
        )

    return pn.Column(
        "## Plancher : un filtre, un total, un graphique",
        select,
        pn.pane.HTML(pn.bind(total, select), css_classes=["floor-total"]),
        pn.panel(pn.bind(chart, select), css_classes=["floor-chart"]),
        sizing_mode="stretch_width",
    )


if __name__.startswith("bokeh"):  # panel serve
    app().servable(title="Plancher")
