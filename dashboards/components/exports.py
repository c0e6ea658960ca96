"""Export buttons: each table or series as CSV (French Excel) and XLSX, built on the server
from the same frames the page shows, with filters, period and freshness written in the file."""

from __future__ import annotations

import io

import panel as pn

from dashboards.session import record
from data_access import RelogError


def export_buttons(state, key: str) -> pn.Row:
    """« CSV » and « Excel » download buttons for ``state.export(key, fmt)``."""

    def button(fmt: str, label: str) -> pn.widgets.FileDownload:
        def build():
            try:
                name, content = state.export(key, fmt)
            except RelogError as err:
                if pn.state.notifications is not None:
                    pn.state.notifications.error(str(err), duration=8000)
                raise
            download.filename = name
            record("export", tableau=key, format=fmt, fichier=name, filtres=state.to_query())
            return io.BytesIO(content)

        download = pn.widgets.FileDownload(
            callback=build,
            filename=f"export.{fmt}",
            label=label,
            color="default",
            variant="outline",
            width=120,
            height=34,
            margin=(5, 5),
            css_classes=[f"relog-export-{key}-{fmt}"],
            description=f"Télécharger ce tableau ({label}) avec la période, les filtres "
            "et la date des données",
        )
        return download

    return pn.Row(button("csv", "CSV"), button("xlsx", "Excel"), margin=0)
