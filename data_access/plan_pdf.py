"""The one-page A4 « Fiche de suivi du plan », drawn on the server with ReportLab.

ReportLab (BSD, maintained since 2000, pure-Python wheels, no system library) lays out
tables and paragraphs on a page and embeds its own font, Bitstream Vera, which holds every
character French figures need (accents, « », €, ≥) except the narrow no-break space of
French thousands, written here as a no-break space. Black on white with grey rules and bold
for what lags, so that it reads the same printed in black and white.

The figures are :class:`~data_access.plan.PlanReport`'s, formatted by the indicator
registry, as the page shows them.
"""

from __future__ import annotations

import io
import os

import pandas as pd

from data_access import indicators
from data_access.export import _capitalised
from data_access.formatting import date_label
from data_access.plan import RULE_LABELS

#: The PDF's tables: the réservataires furthest below their target, and the EPCI.
LAGGARD_COLUMNS = [
    "libelle", "relogements", "part_prioritaires", "objectif_part", "ecart_points",
    "prevision_part", "rythme_necessaire",
]  # fmt: skip
EPCI_COLUMNS = [
    "libelle", "objectif_prorata", "relogements_prioritaires", "taux_atteinte", "prevision",
    "objectif_annuel", "part_q1_hors_qpv", "dalo_delai_depasse", "demandes_delai_anormal",
]  # fmt: skip

_FONT = "RelogVera"
_BOLD = "RelogVeraBold"


def _fonts() -> None:
    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if _FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    pdfmetrics.registerFont(TTFont(_FONT, os.path.join(folder, "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(_BOLD, os.path.join(folder, "VeraBd.ttf")))


def _text(value) -> str:
    """French text the embedded font can draw, XML-escaped for a Paragraph."""
    from xml.sax.saxutils import escape

    return escape(str(value).replace("\u202f", "\u00a0"))


def _cell(code: str, value) -> str:
    return _text(indicators.describe(code).format(value))


def render(report) -> bytes:
    """The PDF's bytes: one A4 page, portrait."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        KeepInFrame,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    _fonts()
    base = ParagraphStyle("base", fontName=_FONT, fontSize=7.5, leading=9.2)
    small = ParagraphStyle("small", parent=base, fontSize=6.3, leading=7.6)
    cell = ParagraphStyle("cell", parent=base, fontSize=6.8, leading=8)
    head = ParagraphStyle("head", parent=cell, fontName=_BOLD, fontSize=6.2, leading=7.4)
    strong = ParagraphStyle("strong", parent=cell, fontName=_BOLD)
    h1 = ParagraphStyle("h1", parent=base, fontName=_BOLD, fontSize=14, leading=17)
    h2 = ParagraphStyle("h2", parent=base, fontName=_BOLD, fontSize=9, leading=11, spaceBefore=5)

    context = report.context("Fiche de suivi du plan")
    figures = report.key_figures()
    filters = " ; ".join(f"{k} : {v}" for k, v in context.filters) or "aucun"
    story = [
        Paragraph(_text("Fiche de suivi du plan — PDALHPD et objectifs d'attribution"), h1),
        Paragraph(
            _text(
                f"{_capitalised(str(report.period))} · {context.freshness} · Périmètre : "
                f"{context.scope} · Filtres : {filters} · Fiche produite le "
                f"{date_label(context.made_at)}"
            ),
            base,
        ),
        Spacer(0, 3 * mm),
    ]
    f = figures
    key_rows = [
        [
            "Part des relogements au bénéfice de ménages prioritaires (tous réservataires)",
            f"{f['part_prioritaires']} (objectif {f['objectif_part']})",
            f"Prévision au 31/12 : {f['prevision_part']}",
        ],
        [
            "Réservataires sous leur objectif de part prioritaire",
            f["reservataires_sous_objectif"],
            "",
        ],
        [
            "Accord collectif : relogements prioritaires depuis janvier",
            f"{f['accord_realise']} pour {f['accord_prorata']} au prorata ({f['accord_taux']})",
            f"Prévision au 31/12 : {f['accord_prevision']} pour {f['accord_annuel']}",
        ],
        [
            "Attributions hors QPV au 1er quartile (objectif ≥ 25 %)",
            f["part_q1_hors_qpv"],
            "",
        ],
        [
            f"Ménages DALO au-delà du délai de relogement, au {f['au']}",
            f["dalo_delai_depasse"],
            f"{f['dalo_evolution']} depuis fin {f['dalo_depuis']}",
        ],
        [
            f"Demandes au-delà du délai anormalement long, au {f['au']}",
            f"{f['demandes_delai_anormal']} ({f['part_delai_anormal']} des demandes actives)",
            "",
        ],
    ]
    key_table = Table(
        [
            [Paragraph(_text(c), strong if j == 1 else cell) for j, c in enumerate(r)]
            for r in key_rows
        ],
        colWidths=[78 * mm, 52 * mm, 52 * mm],
    )
    key_table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
                ("LINEBELOW", (0, 0), (-1, -2), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    story += [key_table]

    def table(title: str, frame: pd.DataFrame, columns: list[str], widths, flag=None):
        rows = [[Paragraph(_text(indicators.describe(c).short), head) for c in columns]]
        for _, row in frame.iterrows():
            # what lags: bold type, not colour (readable in black and white)
            style = strong if flag is not None and flag(row) else cell
            rows.append([Paragraph(_cell(c, row[c]), style) for c in columns])
        t = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1)
        style = [
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
            ("LINEBELOW", (0, 1), (-1, -1), 0.2, colors.lightgrey),
            ("TOPPADDING", (0, 0), (-1, -1), 0.8),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 0.8),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
        t.setStyle(TableStyle(style))
        return [Paragraph(_text(title), h2), t]

    res = report.reservataires()
    res = res[res["relogements"] > 0]
    laggards = res[res["objectif_atteint"] == False].head(8)  # noqa: E712
    story += table(
        "Réservataires sous leur objectif (les 8 plus éloignés)"
        + (f" — {len(res[res['objectif_atteint'] == False])} en tout" if len(res) else ""),  # noqa: E712
        laggards,
        LAGGARD_COLUMNS,
        [55, 23, 20, 17, 22, 20, 27],
    )
    epci = report.accord("epci")[["epci", *EPCI_COLUMNS[:6]]]
    q1 = report.quartile()
    q1 = q1[q1["regle"] == RULE_LABELS["q1_hors_qpv"]].set_index("epci")["part_regle"]
    waiting = report.dalo_epci().set_index("epci")
    merged = epci.assign(
        part_q1_hors_qpv=epci["epci"].map(q1),
        dalo_delai_depasse=epci["epci"].map(waiting["dalo_delai_depasse"]).fillna(0),
        demandes_delai_anormal=epci["epci"].map(waiting["demandes_delai_anormal"]).fillna(0),
    )
    story += table(
        "Par EPCI : accord collectif, premier quartile, ménages en attente",
        merged,
        EPCI_COLUMNS,
        [42, 17, 20, 17, 17, 17, 19, 17, 18],
        flag=lambda r: pd.notna(r["taux_atteinte"]) and r["taux_atteinte"] < 1,
    )
    notes = [
        "En gras : ce qui est sous l'objectif. Relogement : bail signé, compté au mois de sa "
        "signature ; ménage prioritaire : critère de priorité détenu à la date de la CAL.",
        "Accord collectif : objectifs annuels par bailleur et EPCI, au prorata des mois écoulés. "
        "Premier quartile : ressources annuelles par unité de consommation sous le seuil de "
        "l'EPCI pour l'année. Ménages en attente : demandes actives situées par leur commune "
        "de premier choix ; DALO hors délai au-delà de "
        f"{report.replica.settings.dalo_deadline_months} mois après la reconnaissance.",
        "Prévision : réalisé plus le rythme des 12 derniers mois complets, intervalle à 80 % "
        "par rééchantillonnage de ces mois (définitions complètes dans le classeur Excel).",
        *[f"{label} : {text}" for label, text in report.filter_notes()[:-1]],
    ]
    story += [Spacer(0, 2 * mm), *[Paragraph(_text(n), small) for n in notes]]

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=11 * mm,
        bottomMargin=10 * mm,
        title="Fiche de suivi du plan",
        author="relog",
        lang="fr-FR",
    )
    frame_height = A4[1] - 21 * mm
    doc.build([KeepInFrame(A4[0] - 24 * mm, frame_height, story, mode="shrink")])
    return buffer.getvalue()
