"""Tables as files a French office opens cleanly: CSV for French Excel, and XLSX.

Every file carries what its figures mean: title, period, filters, scope and data freshness
sit above the table, so a figure pasted in a note to the préfet keeps its context.

>>> ctx = ExportContext("Relogements par EPCI", period, filters, str(replica.freshness()))
>>> to_csv(replica.rehousing_summary(filters, by="epci"), ctx)   # bytes, UTF-8 with BOM

CSV: ``;`` separator, UTF-8 with a byte-order mark, decimal comma, no thousands separator
(French Excel reads « 1 234 » as text), months written « janvier 2025 ». XLSX: real numbers
and dates with Excel formats, which Excel shows in the reader's locale.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from data_access.filters import Filters, Period
from data_access.formatting import date_label, month_label
from data_access.schema import DECISIONS_CAL

try:
    from zoneinfo import ZoneInfo

    _PARIS = ZoneInfo("Europe/Paris")  # the time written in files is the reader's
except Exception:  # pragma: no cover - tzdata missing
    _PARIS = None

#: Column → (French heading, kind). Kinds: month, int, share, text.
COLUMNS: dict[str, tuple[str, str]] = {
    "mois": ("Mois", "month"),
    "libelle": ("Libellé", "text"),
    "reservataire": ("Identifiant du réservataire", "text"),
    "nature_reservataire": ("Nature du réservataire", "text"),
    "epci": ("SIREN de l'EPCI", "text"),
    "commune": ("Code INSEE de la commune", "text"),
    "bailleur": ("Identifiant du bailleur", "text"),
    "critere": ("Critère principal", "text"),
    "groupe_critere": ("Groupe de critère", "text"),
    "relogements": ("Relogements (baux signés)", "int"),
    "relogements_prioritaires": ("dont ménages prioritaires", "int"),
    "part_prioritaires": ("Part des ménages prioritaires", "share"),
    "relogements_dalo": ("dont DALO", "int"),
    "relogements_acd": ("dont accord collectif / PDALHPD", "int"),
    "relogements_l441": ("dont autres critères L441-1", "int"),
    "propositions": ("Propositions", "int"),
    "refus_menage": ("Refus du ménage", "int"),
    **{
        f"cal_{code}": (f"Décisions CAL : {label.lower()}", "int")
        for code, label in DECISIONS_CAL.items()
    },
    "baux_signes": ("Baux signés", "int"),
    "entrees_dans_les_lieux": ("Entrées dans les lieux", "int"),
    "objectif_part": ("Objectif de part prioritaire", "share"),
    "ecart_points": ("Écart à l'objectif (points)", "text"),
    "objectif_atteint": ("Objectif atteint", "text"),
    "objectif_annuel": ("Objectif annuel (relogements prioritaires)", "text"),
    "objectif_prorata": ("Objectif au prorata des mois écoulés", "text"),
    "taux_atteinte": ("Taux d'atteinte", "share"),
    "demandes_actives": ("Demandes actives (1er choix)", "int"),
    "demandes_actives_ponderees": ("Demandes actives pondérées", "text"),
    "demandes_prioritaires_actives": ("Demandes prioritaires actives", "int"),
    "logements": ("Logements sociaux", "int"),
    "logements_liberes_12m": ("Logements libérés (12 mois)", "int"),
    "baux_12m": ("Baux signés (12 mois)", "int"),
    "relogements_prioritaires_12m": ("Relogements prioritaires (12 mois)", "int"),
    "tension": ("Tension (demandes ÷ baux)", "text"),
}


@dataclass(frozen=True)
class ExportContext:
    """What a file says about its table."""

    #: Title, e.g. « Relogements par EPCI ».
    title: str
    #: The period the figures cover.
    period: Period
    #: The filters applied: a Filters, or its French description as (label, value) pairs.
    filters: Filters | list[tuple[str, str]]
    #: « Données extraites le … » (``str(replica.freshness())``).
    freshness: str
    #: The profile's scope (« Tout le territoire », « Sicoval », …).
    scope: str = "Tout le territoire"
    #: Definitions of the figures, one per line.
    definitions: tuple[str, ...] = ()
    #: When the file was made.
    made_at: datetime = field(default_factory=lambda: datetime.now(_PARIS))

    def lines(self) -> list[tuple[str, str]]:
        described = (
            self.filters.replace(start=None, end=None).describe()
            if isinstance(self.filters, Filters)
            else self.filters
        )
        filters = " ; ".join(f"{k} : {v}" for k, v in described) or "aucun"
        rows = [
            ("Période", _capitalised(str(self.period))),
            ("Filtres", filters),
            ("Périmètre", self.scope),
            ("Fraîcheur", self.freshness),
            ("Fichier produit le", date_label(self.made_at)),
        ]
        rows += [("Définition", text) for text in self.definitions]
        return rows


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _heading(column: str) -> str:
    heading, kind = COLUMNS.get(column, (column, "text"))
    return f"{heading} (%)" if kind == "share" else heading


def _kind(frame: pd.DataFrame, column: str) -> str:
    if column in COLUMNS:
        return COLUMNS[column][1]
    return "int" if pd.api.types.is_integer_dtype(frame[column]) else "text"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def _csv_cell(value, kind: str) -> str:
    if _missing(value):
        return ""
    if kind == "month":
        return month_label(pd.Timestamp(value).date()) if not isinstance(value, str) else value
    if kind == "int":
        return str(int(value))
    if kind == "share":
        return f"{value * 100:.1f}".replace(".", ",")
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


def to_csv(frame: pd.DataFrame, context: ExportContext) -> bytes:
    """The table under its context lines, for French Excel (see the module docstring)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([context.title])
    for label, text in context.lines():
        writer.writerow([label, text])
    writer.writerow([])
    writer.writerow([_heading(c) for c in frame.columns])
    kinds = [_kind(frame, c) for c in frame.columns]
    for row in frame.itertuples(index=False):
        writer.writerow([_csv_cell(v, k) for v, k in zip(row, kinds)])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(frame: pd.DataFrame, context: ExportContext) -> bytes:
    """The same table and context in an Excel workbook, numbers and months as real values."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "Données"
    ws.append([context.title])
    ws["A1"].font = Font(bold=True, size=13)
    for label, text in context.lines():
        ws.append([label, text])
    ws.append([])
    header_row = ws.max_row + 1
    ws.append([_heading(c) for c in frame.columns])
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    kinds = [_kind(frame, c) for c in frame.columns]
    formats = {"int": "#,##0", "share": "0.0%", "month": "mmmm yyyy"}
    for row in frame.itertuples(index=False):
        values = []
        for value, kind in zip(row, kinds):
            if _missing(value):
                values.append(None)
            elif kind == "month":
                values.append(pd.Timestamp(value).date() if not isinstance(value, str) else value)
            elif kind == "int":
                values.append(int(value))
            elif kind == "share":
                values.append(float(value))
            elif isinstance(value, bool):
                values.append("oui" if value else "non")
            else:
                values.append(value if isinstance(value, (int, float, date)) else str(value))
        ws.append(values)
        for cell, kind in zip(ws[ws.max_row], kinds):
            if kind in formats and not isinstance(cell.value, str):
                cell.number_format = formats[kind]
    for i, column in enumerate(frame.columns, start=1):
        width = max([len(_heading(column))] + [len(str(v)) for v in frame[column].head(200)])
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 12), 60)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def filename(title: str, period: Period, extension: str) -> str:
    """« relogements-par-epci_2025-01_2025-12.csv »: ASCII, no spaces."""
    import unicodedata

    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = "-".join("".join(ch if ch.isalnum() else " " for ch in ascii_title.lower()).split())
    return f"{slug}_{period.start:%Y-%m}_{period.end:%Y-%m}.{extension}"


def save(
    frame: pd.DataFrame,
    path,
    *,
    title: str,
    replica,
    filters: Filters | None = None,
    period: Period | None = None,
    definitions: tuple[str, ...] = (),
) -> Path:
    """Write ``frame`` to ``path`` (``.csv`` or ``.xlsx``) under its context: the period
    (``period``, else ``frame.attrs["periode"]``, else the filters'), the filters, the
    replica's scope and freshness. For notebooks: ``save(table, "relogements.xlsx",
    title="Relogements par réservataire", replica=replica, filters=f)``."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".xlsx"):
        from data_access.errors import FilterError

        raise FilterError(
            f"Format de fichier non pris en charge : « {path.suffix} » (attendu : .csv ou .xlsx)."
        )
    filters = filters or Filters()
    period = period or frame.attrs.get("periode") or replica.period(filters)
    context = ExportContext(
        title=title,
        period=period,
        filters=replica.describe(filters),
        freshness=str(replica.freshness_cached()),
        scope=replica.default_scope.label,
        definitions=tuple(definitions),
    )
    content = to_csv(frame, context) if path.suffix.lower() == ".csv" else to_xlsx(frame, context)
    path.write_bytes(content)
    return path
