"""Tables as files a French office opens cleanly: CSV for French Excel, and XLSX.

Every file carries what its figures mean: title, period, filters, scope and data freshness
sit above the table, so a figure pasted in a note to the préfet keeps its context.

>>> ctx = ExportContext("Relogements par EPCI", period, replica.describe(filters),
...                     str(replica.freshness()))
>>> to_csv(replica.rehousing_summary(filters, by="epci"), ctx)   # bytes, UTF-8 with BOM

Headings, units and the definitions written above the table come from the indicator registry
(:mod:`data_access.indicators`).

CSV: ``;`` separator, UTF-8 with a byte-order mark, decimal comma, no thousands separator
(French Excel reads « 1 234 » as text), months written « janvier 2025 ». XLSX: real numbers
and dates with Excel formats, which Excel shows in the reader's locale.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from data_access import indicators
from data_access.filters import Filters, Period
from data_access.formatting import date_label

try:
    from zoneinfo import ZoneInfo

    _PARIS = ZoneInfo("Europe/Paris")  # the time written in files is the reader's
except Exception:  # pragma: no cover - tzdata missing
    _PARIS = None


@dataclass(frozen=True)
class ExportContext:
    """What a file says about its table."""

    #: Title, e.g. « Relogements par EPCI ».
    title: str
    #: The period the figures cover.
    period: Period
    #: The filters applied, described in French (``replica.describe(filters)``).
    filters: list[tuple[str, str]]
    #: « Données extraites le … » (``str(replica.freshness())``).
    freshness: str
    #: The profile's scope (« Tout le territoire », « Sicoval », …).
    scope: str = "Tout le territoire"
    #: Definitions of the figures, one per line (default: the registry's, for the columns).
    definitions: tuple[str, ...] | None = None
    #: When the file was made.
    made_at: datetime = field(default_factory=lambda: datetime.now(_PARIS))
    #: The filters applied, to say which figures do not follow some of them.
    applied: Filters | None = None
    #: Statistical secrecy applied (a protected profile): said in the file, with its marks.
    secrecy: str | None = None

    def lines(self, columns=()) -> list[tuple[str, str]]:
        """The context rows above a table of ``columns``."""
        filters = " ; ".join(f"{k} : {v}" for k, v in self.filters) or "aucun"
        rows = [
            ("Période", _capitalised(str(self.period))),
            ("Filtres", filters),
            ("Périmètre", self.scope),
            ("Fraîcheur", self.freshness),
            ("Fichier produit le", date_label(self.made_at)),
            *([("Secret statistique", self.secrecy)] if self.secrecy else []),
        ]
        definitions = (
            self.definitions if self.definitions is not None else indicators.definitions(columns)
        )
        if self.applied is not None:
            rows += [
                ("Filtres non suivis", f"{label} : {names}")
                for label, names in indicators.unfollowed(columns, self.applied)
            ]
        rows += [("Définition", text) for text in definitions]
        return rows


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _columns(frame: pd.DataFrame, strict: bool) -> list:
    """Each column's declaration in the registry. The product's files have every column
    declared (``strict``: an undeclared one is a bug, not a silent code name); a notebook's
    own column gets its name as heading, and is written as it is."""
    out = []
    for column in frame.columns:
        try:
            out.append(indicators.describe(column))
        except KeyError:
            if strict:
                raise
            integer = pd.api.types.is_integer_dtype(frame[column])
            out.append(
                indicators.Column(column, column, indicators.COUNT if integer else indicators.TEXT)
            )
    return out


def to_csv(frame: pd.DataFrame, context: ExportContext, strict: bool = True) -> bytes:
    """The table under its context lines, for French Excel (see the module docstring)."""
    columns = _columns(frame, strict)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([context.title])
    for label, text in context.lines(frame.columns):
        writer.writerow([label, text])
    writer.writerow([])
    writer.writerow([c.heading for c in columns])
    for row in frame.itertuples(index=False):
        writer.writerow([c.unit.csv(v) for v, c in zip(row, columns)])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(frame: pd.DataFrame, context: ExportContext, strict: bool = True) -> bytes:
    """The same table and context in an Excel workbook, numbers and months as real values.

    Sheet « Données »: the title and context above the table, whose header row is frozen
    (the rows above it with it: they stay short, the definitions being on their own sheet
    « Définitions »), so the column headings stay in view however far one scrolls."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "Données"
    ws.append([context.title])
    ws["A1"].font = Font(bold=True, size=13)
    columns = _columns(frame, strict)
    lines = context.lines(frame.columns)
    definitions = [text for label, text in lines if label == "Définition"]
    for label, text in lines:
        if label != "Définition":
            ws.append([label, text])
    if definitions:
        ws.append(["Définitions", "voir la feuille « Définitions »"])
    ws.append([""])  # a blank row (an empty append would not count as a row)
    ws.append([c.heading for c in columns])
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False):
        ws.append([c.unit.excel_value(v) for v, c in zip(row, columns)])
        for cell, c in zip(ws[ws.max_row], columns):
            if c.unit.excel and not isinstance(cell.value, str):
                cell.number_format = c.unit.excel
    for i, (column, c) in enumerate(zip(frame.columns, columns), start=1):
        width = max([len(c.heading)] + [len(str(v)) for v in frame[column].head(200)])
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 12), 60)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    if definitions:
        sheet = wb.create_sheet("Définitions")
        sheet.append([context.title])
        sheet["A1"].font = Font(bold=True, size=13)
        for text in definitions:
            sheet.append([text])
            sheet.cell(row=sheet.max_row, column=1).alignment = Alignment(wrap_text=True)
        sheet.column_dimensions["A"].width = 110
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
    definitions: tuple[str, ...] | None = None,
) -> Path:
    """Write ``frame`` to ``path`` (``.csv`` or ``.xlsx``) under its context: the period
    (``period``, else ``frame.attrs["periode"]``, else the filters'), the filters, the
    replica's scope and freshness, and the registry's definitions of its columns
    (``definitions`` to write others). For notebooks: ``save(table, "relogements.xlsx",
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
        scope=replica.scope.label,
        definitions=tuple(definitions) if definitions is not None else None,
        applied=filters,
    )
    write = to_csv if path.suffix.lower() == ".csv" else to_xlsx
    content = write(frame, context, strict=False)
    path.write_bytes(content)
    return path
