"""The plan follow-up (« Suivi du plan et des objectifs »): every section of the page, its
workbook and its one-page PDF, from the replica's questions.

>>> report = PlanReport(replica, year=2026, filters=Filters(epci=["243100633"]))
>>> report.reservataires()          # 25 % per réservataire, with the year-end forecast
>>> report.workbook()               # bytes of the XLSX (one sheet per section + context)
>>> report.pdf()                    # bytes of the one-page A4 « Fiche de suivi du plan »

Which filters each section follows: the 25 % per réservataire follows them all (territory,
bailleur, réservataire); the accord collectif and the first-quartile rules are set per
bailleur and EPCI, so they follow the territory and bailleur filters and never the
réservataire ones (a réservataire's share of a bailleur's target does not exist); the
waiting households (DALO, délai anormalement long) are demand, located by the first wished
commune: only the territory applies. :meth:`PlanReport.notes` says so beside each section.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import pandas as pd

from data_access import indicators
from data_access.export import ExportContext, _capitalised
from data_access.filters import Filters, Period, add_months
from data_access.forecast import forecast
from data_access.formatting import int_label, month_label, pct_label
from data_access.queries.objectives import QUARTILE_RULES, objectives, year_to_date

TITLE = "Suivi du plan et des objectifs"
PDF_TITLE = "Fiche de suivi du plan"

#: The quartile rules as the page names them.
RULE_LABELS = {
    "q1_hors_qpv": "Hors QPV : ménages du 1er quartile (≥ 25 %)",
    "hors_q1_qpv": "En QPV : ménages hors 1er quartile (≥ 50 %)",
}
#: Accord collectif breakdowns: key → (French title, code columns).
ACCORD = {
    "bailleur": ("Par bailleur", ["bailleur"]),
    "epci": ("Par EPCI", ["epci"]),
    "bailleur_epci": ("Par bailleur et EPCI", ["bailleur", "epci"]),
}


@dataclass(frozen=True)
class Section:
    """A table of the page, the workbook and the PDF."""

    key: str
    title: str
    #: The columns shown, in order (all declared in the registry).
    columns: tuple[str, ...]
    #: The code columns a row's drill-down link reads (empty: no link).
    link: tuple[str, ...] = ()


SECTIONS = {
    "reservataires": Section(
        "reservataires",
        "25 % des attributions aux ménages prioritaires, par réservataire",
        (
            "libelle", "relogements", "relogements_prioritaires", "part_prioritaires",
            "objectif_part", "ecart_points", "objectif_atteint", "prevision_part",
            "prevision_part_basse", "prevision_part_haute", "rythme_necessaire",
        ),
        ("reservataire",),
    ),
    **{
        f"accord_{by}": Section(
            f"accord_{by}",
            f"Accord collectif — {title.lower()}",
            (
                "libelle", "objectif_annuel", "objectif_prorata", "relogements_prioritaires",
                "taux_atteinte", "prevision", "prevision_basse", "prevision_haute",
                "rythme_necessaire", "prevision_atteint",
            ),
            tuple(codes),
        )
        for by, (title, codes) in ACCORD.items()
    },
    "quartile": Section(
        "quartile",
        "Loi Égalité et Citoyenneté : premier quartile, par EPCI",
        (
            "libelle", "regle", "seuil_q1", "attributions", "menages_regle", "part_regle",
            "objectif_part", "prevision_part", "prevision_part_basse", "prevision_part_haute",
            "rythme_necessaire", "ressources_inconnues",
        ),
        ("epci",),
    ),
    "dalo_epci": Section(
        "dalo_epci",
        "DALO hors délai et délai anormalement long, par EPCI",
        (
            "libelle", "demandes_actives", "demandes_dalo", "dalo_delai_depasse",
            "delai_anormal_mois", "demandes_delai_anormal", "part_delai_anormal",
        ),
        ("epci",),
    ),
    "dalo_anciennete": Section(
        "dalo_anciennete",
        "Ménages DALO hors délai, par ancienneté de la reconnaissance",
        ("anciennete_dalo", "dalo_delai_depasse"),
    ),
    "stock": Section(
        "stock",
        "Stock en fin de mois : DALO hors délai et délai anormalement long",
        (
            "mois", "au", "demandes_actives", "demandes_dalo", "dalo_delai_depasse",
            "demandes_delai_anormal", "part_delai_anormal",
        ),
    ),
}  # fmt: skip

FORECAST_SHARE = (
    "objectif_part", "prevision_part", "prevision_part_basse", "prevision_part_haute",
    "rythme_necessaire",
)  # fmt: skip

FOLLOWS = {
    "reservataires": ("epci", "bailleurs", "reservataires", "natures_reservataire"),
    "accord": ("epci", "bailleurs"),
    "quartile": ("epci", "bailleurs"),
    "attente": ("epci",),
}


def _memo(method):
    """A section computed once per report (a report is one view: a year and filters)."""

    @functools.wraps(method)
    def memoised(self, *args):
        key = (method.__name__, *args)
        if key not in self._memo:
            self._memo[key] = method(self, *args)
        return self._memo[key]

    return memoised


class PlanReport:
    """The plan follow-up for ``year`` (default: the year of the last complete month) and
    ``filters`` (territory, bailleur, réservataire; a commune filter is refused by the
    questions: targets are set per EPCI). Each section is computed once, when first asked."""

    def __init__(self, replica, year: int | None = None, filters: Filters | None = None):
        self.replica = replica
        self.filters = filters or Filters()
        self.period: Period = year_to_date(replica, year)
        self.year = self.period.end.year
        self._memo: dict = {}

    def prefetch(self, keys=None) -> list:
        """Start the sections (``keys``, default: all but the bailleur × EPCI cross, shown on
        demand) side by side on the replica's prefetch threads; the page then draws them
        one after the other from the results (:meth:`Replica.prefetch`)."""
        keys = keys or [k for k in SECTIONS if k != "accord_bailleur_epci"]
        calls = [functools.partial(self.table, key) for key in keys]
        return self.replica.prefetch([self.cumulative, *calls])

    # ------------------------------------------------------------------ filters per section
    def _for(self, kind: str) -> Filters:
        """The filters a kind of section follows (see the module docstring)."""
        kept = FOLLOWS[kind]
        dropped = {
            name: () for name in ("reservataires", "natures_reservataire", "bailleurs", "epci")
        }
        for name in kept:
            dropped.pop(name)
        return self.filters.replace(
            start=self.period.start,
            end=self.period.end,
            criteres=(),
            mutation=None,
            qpv=None,
            communes=(),
            **dropped,
        )

    def notes(self, kind: str) -> str | None:
        """Which active filters a kind of section does not follow, in French."""
        names = [
            label
            for name, label in (
                ("reservataires", "réservataire"),
                ("natures_reservataire", "nature de réservataire"),
                ("bailleurs", "bailleur"),
            )
            if getattr(self.filters, name) and name not in FOLLOWS[kind]
        ]
        if not names:
            return None
        return f"Section non filtrée par {' ni par '.join(names)} (objectifs fixés autrement)."

    # ------------------------------------------------------------------ sections
    @cached_property
    def at(self) -> date:
        """The observation date of the waiting households: the end of the year's last
        complete month."""
        return self.replica.observation_date(Filters(end=self.period.end), None)

    @_memo
    def reservataires(self) -> pd.DataFrame:
        filters = self._for("reservataires")
        progress = self.replica.objective_progress("reservataire", self.year, filters)
        fc = self.replica.objective_forecast("reservataire", self.year, filters)
        out = progress.merge(
            fc.drop(columns=["objectif_part", "part_realisee"]), on="reservataire", how="left"
        )
        return out.sort_values("ecart_points", na_position="last", ignore_index=True)

    @_memo
    def accord(self, by: str) -> pd.DataFrame:
        filters = self._for("accord")
        progress = self.replica.objective_progress(by, self.year, filters)
        fc = self.replica.objective_forecast(by, self.year, filters)
        keys = ACCORD[by][1]
        return progress.merge(
            fc.drop(columns=["objectif_annuel", "relogements_prioritaires"]), on=keys, how="left"
        )

    @_memo
    def quartile(self) -> pd.DataFrame:
        filters = self._for("quartile")
        rules = self.replica.quartile_rules(self.year, filters).set_index("epci")
        fc = self.replica.objective_forecast("quartile", self.year, filters)
        rows = []
        for rule, num, den, _ in QUARTILE_RULES:
            part = fc[fc["regle"] == rule].set_index("epci")
            rows.append(
                pd.DataFrame(
                    {
                        "epci": rules.index,
                        "libelle": rules["libelle"].to_numpy(),
                        "regle": RULE_LABELS[rule],
                        "seuil_q1": rules["seuil_q1"].to_numpy(),
                        "attributions": rules[den].to_numpy(),
                        "menages_regle": rules[num].to_numpy(),
                        "part_regle": rules[f"part_{rule}"].to_numpy(),
                        "ressources_inconnues": rules["ressources_inconnues"].to_numpy(),
                        **{c: part[c].reindex(rules.index).to_numpy() for c in FORECAST_SHARE},
                    }
                )
            )
        out = pd.concat(rows, ignore_index=True)
        order = {label: i for i, label in enumerate(RULE_LABELS.values())}
        return out.sort_values(
            ["epci", "regle"], key=lambda s: s.map(order) if s.name == "regle" else s
        ).reset_index(drop=True)

    @_memo
    def dalo_epci(self) -> pd.DataFrame:
        return self.replica.backlog_by_epci(self._for("attente"), at=self.at)

    @_memo
    def dalo_anciennete(self) -> pd.DataFrame:
        return self.replica.dalo_overdue(self._for("attente"), at=self.at)

    @_memo
    def stock(self) -> pd.DataFrame:
        """The month ends of the 12 months up to the year's last complete month."""
        end = self.period.end
        start = max(add_months(end, -11), self.replica.coverage().start)
        return self.replica.backlog_trend(self._for("attente").replace(start=start, end=end))

    def table(self, key: str) -> pd.DataFrame:
        """A section's frame (its codes, then its shown columns)."""
        if key.startswith("accord_"):
            return self.accord(key.removeprefix("accord_"))
        return getattr(self, key)()

    # ------------------------------------------------------------------ the curve and totals
    @_memo
    def cumulative(self) -> pd.DataFrame:
        """The priority share of the filtered réservataires together, cumulated month by
        month since January: ``mois``, ``relogements``, ``relogements_prioritaires`` (both
        cumulated), ``part_prioritaires``; its year-end forecast in ``attrs``
        (``prevision_part``, ``prevision_part_basse``, ``prevision_part_haute``,
        ``objectif_part``: the department's target)."""
        filters = self._for("reservataires")
        monthly = self.replica.objective_months("reservataire", self.year, filters)
        total = monthly.groupby("mois", as_index=False)[
            ["relogements", "relogements_prioritaires"]
        ].sum()
        months = pd.DatetimeIndex(pd.to_datetime([m for m in self.period.months()]))
        year = total.set_index("mois").reindex(months, fill_value=0).rename_axis("mois")
        out = year.cumsum().reset_index()
        out["part_prioritaires"] = out["relogements_prioritaires"] / out["relogements"].where(
            out["relogements"] > 0
        )
        target = self.department_target()
        f = forecast(
            total.assign(tout="tout"),
            "tout",
            pd.Timestamp(self.period.end),
            "relogements_prioritaires",
            "relogements",
            target,
        )
        if len(f.members):
            out.attrs.update(
                prevision_part=float(f.central[0]),
                prevision_part_basse=float(f.low[0]),
                prevision_part_haute=float(f.high[0]),
                rythme_necessaire=float(f.needed[0]),
            )
        out.attrs["objectif_part"] = target
        return out

    def department_target(self) -> float:
        """The department-wide priority share target of the year (the ``objectif`` row
        without réservataire), else the setting (25 %)."""
        rows = self.replica.cached(
            "objectives", (self.year,), lambda: objectives(self.replica, self.year)
        )
        rows = rows[
            (rows["indicateur"] == "part_prioritaires")
            & rows["reservataire_id"].isna()
            & rows["epci_siren"].isna()
            & rows["bailleur_id"].isna()
        ]
        return (
            float(rows["valeur"].max())
            if len(rows)
            else self.replica.settings.priority_share_target
        )

    @_memo
    def key_figures(self) -> dict[str, str]:
        """The headline figures, formatted in French (the page's and the PDF's)."""
        curve = self.cumulative()
        last = curve.iloc[-1]
        accord = self.accord("epci")
        done = int(accord["relogements_prioritaires"].sum())
        prorata = float(accord["objectif_prorata"].sum())
        annual = float(accord["objectif_annuel"].sum())
        forecast_total = float(accord["prevision"].sum())
        stock = self.stock()
        dalo = int(stock["dalo_delai_depasse"].iloc[-1])
        dalo_first = int(stock["dalo_delai_depasse"].iloc[0])
        dal = int(stock["demandes_delai_anormal"].iloc[-1])
        dal_share = stock["part_delai_anormal"].iloc[-1]
        quartile = self.replica.quartile_rules(self.year, self._for("quartile"))
        q1 = quartile["q1_hors_qpv"].sum() / max(quartile["attributions_hors_qpv"].sum(), 1)
        laggards = self.reservataires()
        below = int((laggards["objectif_atteint"] == False).sum())  # noqa: E712
        a = curve.attrs
        return {
            "part_prioritaires": pct_label(last["part_prioritaires"]),
            "objectif_part": pct_label(a["objectif_part"], 0),
            "prevision_part": (
                f"{pct_label(a['prevision_part'])} (de {pct_label(a['prevision_part_basse'])} "
                f"à {pct_label(a['prevision_part_haute'])})"
                if "prevision_part" in a
                else "–"
            ),
            "reservataires_sous_objectif": int_label(below),
            "accord_realise": int_label(done),
            "accord_prorata": int_label(round(prorata)),
            "accord_annuel": int_label(round(annual)),
            "accord_taux": pct_label(done / prorata) if prorata else "–",
            "accord_prevision": int_label(round(forecast_total)),
            "part_q1_hors_qpv": pct_label(q1),
            "dalo_delai_depasse": int_label(dalo),
            "dalo_evolution": f"{dalo - dalo_first:+d}".replace("-", "−"),
            "dalo_depuis": month_label(stock["mois"].iloc[0].date()),
            "demandes_delai_anormal": int_label(dal),
            "part_delai_anormal": pct_label(dal_share),
            "au": self.at.strftime("%d/%m/%Y"),
        }

    # ------------------------------------------------------------------ files
    def context(self, title: str) -> ExportContext:
        return ExportContext(
            title=title,
            period=self.period,
            filters=self.replica.describe(self.filters),
            freshness=str(self.replica.freshness_cached()),
            scope=self.replica.scope.label,
            applied=None,
        )

    def sheets(self) -> list[tuple[str, Section, pd.DataFrame]]:
        names = {
            "reservataires": "25 % réservataires",
            "accord_bailleur": "Accord – bailleurs",
            "accord_epci": "Accord – EPCI",
            "accord_bailleur_epci": "Accord – bailleur × EPCI",
            "quartile": "1er quartile",
            "dalo_epci": "DALO et délai – EPCI",
            "dalo_anciennete": "DALO – ancienneté",
            "stock": "Stock fin de mois",
        }
        return [(names[k], s, self.table(k)) for k, s in SECTIONS.items()]

    def workbook(self) -> bytes:
        """The XLSX workbook: a context sheet (filters, period, freshness, definitions), then
        one sheet per section, numbers as numbers with the registry's formats."""
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font
        from openpyxl.utils import get_column_letter

        sheets = self.sheets()
        wb = Workbook()
        ws = wb.active
        ws.title = "Contexte"
        ws.append([TITLE])
        ws["A1"].font = Font(bold=True, size=13)
        context = self.context(TITLE)
        columns = [c for _, s, _ in sheets for c in s.columns]
        for label, text in context.lines(columns):
            ws.append([label, text])
            ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True)
        for label, text in self.filter_notes():
            ws.append([label, text])
        ws.column_dimensions["A"].width = 24
        ws.column_dimensions["B"].width = 120
        for name, section, frame in sheets:
            sheet = wb.create_sheet(name)
            sheet.append([section.title])
            sheet["A1"].font = Font(bold=True, size=12)
            sheet.append([_capitalised(str(self.period)) + " · " + context.freshness])
            sheet.append([""])
            codes = [c for c in section.link if c in frame.columns]
            shown = [*codes, *section.columns]
            declared = [indicators.describe(c) for c in shown]
            sheet.append([d.heading for d in declared])
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
            header = sheet.max_row
            for row in frame[shown].itertuples(index=False):
                sheet.append([d.unit.excel_value(v) for v, d in zip(row, declared)])
                for cell, d in zip(sheet[sheet.max_row], declared):
                    if d.unit.excel and not isinstance(cell.value, str):
                        cell.number_format = d.unit.excel
            for i, d in enumerate(declared, start=1):
                sheet.column_dimensions[get_column_letter(i)].width = min(
                    max(len(d.heading) + 2, 12), 40
                )
            sheet.freeze_panes = sheet.cell(row=header + 1, column=1)
        buffer = io.BytesIO()
        wb.save(buffer)
        return buffer.getvalue()

    def filter_notes(self) -> list[tuple[str, str]]:
        out = []
        for kind, label in (
            ("accord", "Accord collectif"),
            ("quartile", "Premier quartile"),
            ("attente", "DALO et délai anormalement long"),
        ):
            note = self.notes(kind)
            if note:
                out.append((label, note))
        out.append(
            (
                "Ménages en attente",
                "Demandes situées par leur commune de premier choix, observées le "
                f"{self.at:%d/%m/%Y} : seuls les filtres de territoire s'appliquent.",
            )
        )
        return out

    def filename(self, extension: str) -> str:
        from data_access.export import filename

        return filename(TITLE, self.period, extension)

    def pdf(self) -> bytes:
        """The one-page A4 « Fiche de suivi du plan » (see :mod:`data_access.plan_pdf`)."""
        from data_access.plan_pdf import render

        return render(self)
