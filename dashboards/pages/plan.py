"""The plan follow-up page, « Suivi du plan et des objectifs » (route ``/objectifs``).

A thin view over :class:`dashboards.state.plan.PlanState` and its
:class:`~data_access.plan.PlanReport`: the key figures, the 25 % per réservataire with its
cumulative curve, the accord collectif (bailleur, EPCI, bailleur × EPCI), the first-quartile
rules, the DALO households past the deadline and the demandes beyond the délai anormalement
long, each with its year-end forecast where the plan sets an objective. Tables are plain HTML
tables (captions, column headers, the registry's definitions on hover and in a list below
them): they read well with a screen reader, print, and carry the drill-down as ordinary
links to the rehousing page with that member and the same year.
"""

from __future__ import annotations

import io
from html import escape

import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource, CustomJSTickFormatter, Range1d, Whisker
from bokeh.plotting import figure

from dashboards.components.feedback import FilterSummary, notices
from dashboards.components.filters import _heading, _multi
from dashboards.components.history import encode, follow_state, restore_state
from dashboards.components.refresh import NextTickRefresh
from dashboards.session import record
from dashboards.state.plan import PLAN_FILTERS, PlanState
from dashboards.theme import COLOURS
from data_access import RelogError, Replica
from data_access.formatting import month_label, pct_label
from data_access.indicators import definitions, describe
from data_access.plan import ACCORD, SECTIONS, TITLE

TABLE_CSS = """
:host { display: block; width: 100%; }
.relog-table-wrap { max-height: 420px; overflow: auto; border: 1px solid #c9ced6; }
.relog-table-wrap:focus { outline: 3px solid #1D4E89; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
caption { text-align: left; font-weight: bold; padding: 4px 0; color: #1b1f24; }
thead th { position: sticky; top: 0; background: #eef1f5; text-align: left; padding: 4px 6px;
     border-bottom: 2px solid #4a5563; font-weight: 600; }
tbody th { text-align: left; font-weight: normal; padding: 3px 6px;
     border-bottom: 1px solid #e3e6ea; min-width: 14em; }
td { padding: 3px 6px; border-bottom: 1px solid #e3e6ea; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.relog-retard td, tr.relog-retard th { font-weight: bold; }
tr.relog-retard th::before { content: "▼ "; }
a { color: #1D4E89; }
a:focus { outline: 3px solid #1D4E89; outline-offset: 1px; }
"""
#: Views computed only when on show (the bailleur × EPCI table: 200 rows, 200 forecasts).
LAZY = ("accord_bailleur_epci",)
NOTE_CSS = ":host { color: #4a5563; font-size: 0.85rem; } p { margin: 2px 0; }"
KEY_CSS = """
:host { display: block; width: 100%; }
.relog-plan-kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr));
  gap: 10px; }
.relog-plan-kpi { border: 1px solid #c9ced6; border-radius: 4px; padding: 8px 12px; }
.relog-plan-kpi .valeur { font-size: 1.6rem; font-weight: bold; color: #1b1f24; }
.relog-plan-kpi .titre { font-size: 0.9rem; color: #343a40; }
.relog-plan-kpi .detail { font-size: 0.85rem; color: #4a5563; }
"""


def _is_false(value) -> bool:
    """False, not missing (« objectif atteint » is empty without any rehousing)."""
    return value is not None and not pd.isna(value) and not bool(value)


def _numeric(code: str) -> bool:
    return describe(code).unit.numeric or describe(code).unit.code == "part"


def html_table(
    frame: pd.DataFrame,
    columns: list[str] | tuple[str, ...],
    caption: str,
    link=None,
    late=None,
    label: str = "libelle",
) -> str:
    """An accessible HTML table: caption, column headers with the registry's definitions as
    titles, French formats; ``link(row)`` gives the first column's drill-down address,
    ``late(row)`` marks a row below its objective (bold and « ▼ », not colour alone)."""
    head = "".join(
        f'<th scope="col" class="{"num" if _numeric(c) else ""}" '
        f'title="{escape(describe(c).definition if hasattr(describe(c), "definition") else "")}">'
        f"{escape(describe(c).short)}</th>"
        for c in columns
    )
    body = []
    for _, row in frame.iterrows():
        cells = []
        for c in columns:
            text = escape(describe(c).format(row[c]))
            if c == label and link is not None:
                text = f'<a href="{escape(link(row))}">{text}</a>'
            tag = 'th scope="row"' if c == label else "td"
            cells.append(f'<{tag} class="{"num" if _numeric(c) else ""}">{text}</{tag.split()[0]}>')
        css = ' class="relog-retard"' if late is not None and late(row) else ""
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    if not body:
        body = [f'<tr><td colspan="{len(columns)}">Aucune ligne pour ces filtres.</td></tr>']
    return (
        f'<div class="relog-table-wrap" tabindex="0" role="region" aria-label="{escape(caption)}">'
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


class PlanPage(pn.viewable.Viewer):
    """Filters in the sidebar (year, réservataires, territory, bailleurs); the plan's
    sections in the main area."""

    state = param.ClassSelector(class_=PlanState, doc="Ce que la page montre")
    show_filters = param.Boolean(
        default=False,
        doc="Les filtres à gauche de la page (carnets ; un serveur les met dans "
        "la barre latérale du gabarit)",
    )

    def __init__(self, state: PlanState | Replica, **params):
        """``state``, or a replica and filter values by name (a notebook:
        ``PlanPage(replica, year="2025", epci=["243100633"])``), the filters shown beside."""
        if isinstance(state, Replica):
            values = {k: params.pop(k) for k in list(params) if k not in type(self).param}
            state = PlanState.opened(state, values)
            params.setdefault("show_filters", True)
        super().__init__(state=state, **params)
        self.history = follow_state(state, PLAN_FILTERS)
        self.summary = FilterSummary(state)
        self._panes: dict[str, pn.pane.HTML] = {}
        self._busy: list[pn.viewable.Viewable] = []
        self._caption = pn.pane.Markdown(
            "", css_classes=["relog-caption"], margin=(0, 10), stylesheets=[NOTE_CSS]
        )
        self._curve_source = ColumnDataSource(self._curve_data())
        self._forecast_source = ColumnDataSource(self._forecast_data())
        self._stock_source = ColumnDataSource(self._stock_data())
        settings = state.replica.settings
        self.recover = NextTickRefresh(  # also what ReplicaWatch calls
            self.refresh,
            self._busy,
            prefetch=self._prefetch,
            wait_s=settings.deadline_s + settings.connect_timeout_s,
        )
        state.param.watch(self.recover, PLAN_FILTERS)

    # ------------------------------------------------------------------ data → views
    def _report(self):
        return self.state.report()

    def _safe(self, build) -> str:
        try:
            return build()
        except RelogError as err:
            return f'<div class="relog-error" role="alert">{escape(str(err))}</div>'

    def _link(self, **codes) -> str:
        """The rehousing page on this member, the same year and the page's other filters
        that apply there."""
        report = self._report()
        query = {"debut": f"{report.period.start:%Y-%m}", "fin": f"{report.period.end:%Y-%m}"}
        base = {
            "epci": list(self.state.epci),
            "bailleurs": list(self.state.bailleurs),
            "reservataires": list(self.state.reservataires),
            "natures": list(self.state.natures_reservataire),
        }
        for name, value in codes.items():
            base[name] = [value]
        for name, values in base.items():
            if values:
                query[name] = ",".join(map(str, values))
        return f"./app{encode(query)}"

    def _kpis(self) -> str:
        f = self._report().key_figures()

        def box(title, value, detail, css):
            return (
                f'<div class="relog-plan-kpi {css}"><div class="titre">{escape(title)}</div>'
                f'<div class="valeur" data-valeur="{css.removeprefix("relog-kpi-")}">'
                f"{escape(value)}</div>"
                f'<div class="detail">{escape(detail)}</div></div>'
            )

        return (
            '<div class="relog-plan-kpis">'
            + box(
                "Part des relogements au bénéfice de ménages prioritaires",
                f["part_prioritaires"],
                f"objectif {f['objectif_part']} · prévision au 31/12 : {f['prevision_part']}",
                "relog-kpi-part",
            )
            + box(
                "Accord collectif : relogements prioritaires depuis janvier",
                f["accord_realise"],
                f"pour {f['accord_prorata']} au prorata ({f['accord_taux']}) · prévision au "
                f"31/12 : {f['accord_prevision']} pour {f['accord_annuel']}",
                "relog-kpi-accord",
            )
            + box(
                "Ménages DALO au-delà du délai de relogement",
                f["dalo_delai_depasse"],
                f"au {f['au']} · {f['dalo_evolution']} depuis fin {f['dalo_depuis']}",
                "relog-kpi-dalo",
            )
            + box(
                "Demandes au-delà du délai anormalement long",
                f["demandes_delai_anormal"],
                f"au {f['au']} · {f['part_delai_anormal']} des demandes actives",
                "relog-kpi-dal",
            )
            + "</div>"
        )

    def _table(self, key: str) -> str:
        report = self._report()
        section = SECTIONS[key]
        frame = report.table(key)
        caption = f"{section.title} — {report.period}"
        if key == "reservataires":
            return html_table(
                frame,
                section.columns,
                caption,
                link=lambda r: self._link(reservataires=int(r["reservataire"])),
                late=lambda r: _is_false(r["objectif_atteint"]),
            )
        if key.startswith("accord_"):

            def link(r):
                codes = {c: r[c] for c in section.link}
                return self._link(
                    **{
                        ("bailleurs" if c == "bailleur" else "epci"): (
                            int(v) if c == "bailleur" else v
                        )
                        for c, v in codes.items()
                    }
                )

            return html_table(
                frame,
                section.columns,
                caption,
                link=link,
                late=lambda r: _is_false(r["prevision_atteint"]),
            )
        if key == "quartile":
            return html_table(
                frame,
                section.columns,
                caption,
                link=lambda r: self._link(epci=r["epci"]),
                late=lambda r: pd.notna(r["part_regle"]) and r["part_regle"] < r["objectif_part"],
            )
        if key == "dalo_epci":
            return html_table(
                frame,
                section.columns,
                caption,
                link=lambda r: self._link(epci=r["epci"]) if r["epci"] else "./app",
            )
        label = section.columns[0]
        return html_table(frame, section.columns, caption, label=label)

    def _note(self, kind: str, codes) -> str:
        report = self._report()
        lines = []
        note = report.notes(kind) if kind else None
        if note:
            lines.append(f"<p><strong>{escape(note)}</strong></p>")
        items = "".join(f"<li>{escape(t)}</li>" for t in definitions(codes))
        lines.append(
            f"<details><summary>Définitions des chiffres</summary><ul>{items}</ul></details>"
        )
        return "".join(lines)

    # ------------------------------------------------------------------ charts
    def _curve_data(self) -> dict:
        try:
            curve = self._report().cumulative()
        except RelogError:
            return {"x": [], "part": [], "texte": [], "mois": [], "cible": []}
        months = [m.month for m in pd.to_datetime(curve["mois"])]
        return {
            "x": months,
            "part": [None if pd.isna(v) else float(v) for v in curve["part_prioritaires"]],
            "texte": [pct_label(v) if pd.notna(v) else "–" for v in curve["part_prioritaires"]],
            "mois": [month_label(m.date()) for m in pd.to_datetime(curve["mois"])],
            "cible": [curve.attrs["objectif_part"]] * len(months),
        }

    def _forecast_data(self) -> dict:
        try:
            curve = self._report().cumulative()
        except RelogError:
            return {"x": [], "part": [], "basse": [], "haute": []}
        a = curve.attrs
        if "prevision_part" not in a or len(curve) == 0:
            return {"x": [], "part": [], "basse": [], "haute": []}
        last = pd.to_datetime(curve["mois"]).iloc[-1].month
        return {
            "x": [last, 12],
            "part": [float(curve["part_prioritaires"].iloc[-1]), a["prevision_part"]],
            "basse": [float(curve["part_prioritaires"].iloc[-1]), a["prevision_part_basse"]],
            "haute": [float(curve["part_prioritaires"].iloc[-1]), a["prevision_part_haute"]],
        }

    def _stock_data(self) -> dict:
        try:
            stock = self._report().stock()
        except RelogError:
            return {"x": [], "mois": [], "dalo": [], "dal": []}
        return {
            "x": list(range(len(stock))),
            "mois": [month_label(m.date(), short=True) for m in pd.to_datetime(stock["mois"])],
            "dalo": stock["dalo_delai_depasse"].astype(int).tolist(),
            "dal": stock["demandes_delai_anormal"].astype(int).tolist(),
        }

    def _curve_figure(self):
        months = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
                  "oct.", "nov.", "déc."]  # fmt: skip
        fig = figure(
            height=300,
            sizing_mode="stretch_width",
            toolbar_location=None,
            tools="",
            x_range=Range1d(0.5, 12.5),
            y_axis_label="Part cumulée depuis janvier",
        )
        fig.line(
            "x",
            "part",
            source=self._curve_source,
            line_width=3,
            color=COLOURS["prioritaire"],
            legend_label="Part prioritaire cumulée",
        )
        fig.scatter("x", "part", source=self._curve_source, size=7, color=COLOURS["prioritaire"])
        fig.line(
            "x",
            "cible",
            source=self._curve_source,
            line_dash="dashed",
            line_width=2,
            color="#1b1f24",
            legend_label="Objectif",
        )
        fig.line(
            "x",
            "part",
            source=self._forecast_source,
            line_dash="dotted",
            line_width=2,
            color="#4a5563",
            legend_label="Prévision (intervalle à 80 %)",
        )
        fig.add_layout(
            Whisker(
                base="x",
                lower="basse",
                upper="haute",
                source=self._forecast_source,
                line_color="#4a5563",
            )
        )
        fig.xaxis.ticker = list(range(1, 13))
        fig.xaxis.major_label_overrides = {i + 1: m for i, m in enumerate(months)}
        fig.yaxis.formatter = CustomJSTickFormatter(
            code="return (tick * 100).toLocaleString('fr-FR', {maximumFractionDigits: 0}) + ' %'"
        )
        fig.legend.location = "bottom_right"
        return fig

    def _stock_figure(self):
        fig = figure(
            height=260,
            sizing_mode="stretch_width",
            toolbar_location=None,
            tools="",
            y_axis_label="Ménages DALO hors délai",
        )
        fig.line(
            "x",
            "dalo",
            source=self._stock_source,
            line_width=3,
            color=COLOURS["dalo"],
            legend_label="DALO au-delà du délai de relogement",
        )
        fig.scatter("x", "dalo", source=self._stock_source, size=7, color=COLOURS["dalo"])
        fig.xaxis.ticker = list(range(12))
        fig.xaxis.major_label_overrides = dict(enumerate(self._stock_source.data["mois"]))
        fig.yaxis.formatter = CustomJSTickFormatter(code="return tick.toLocaleString('fr-FR')")
        fig.legend.location = "bottom_left"
        self._stock_fig = fig
        return fig

    # ------------------------------------------------------------------ refresh
    def _prefetch(self) -> list:
        """The sections' questions started on the replica's threads (their futures)."""
        try:
            return self._report().prefetch()
        except RelogError:  # a wrong year or filter: each view says it
            return []

    def refresh(self) -> None:
        """Push the new year's or filters' figures into every view (the bailleur × EPCI
        table when it is on show, else when it is shown next)."""
        self.summary.refresh()
        self._caption.object = self._safe(self.state.caption)
        self._stale = set()
        for key, pane in self._panes.items():
            if key in LAZY and not self._on_show(key):
                self._stale.add(key)
                continue
            pane.object = self._render(key)
        self._curve_source.data = self._curve_data()
        self._forecast_source.data = self._forecast_data()
        stock = self._stock_data()
        self._stock_source.data = stock
        if hasattr(self, "_stock_fig"):
            self._stock_fig.xaxis.major_label_overrides = dict(enumerate(stock["mois"]))

    def _render(self, key: str) -> str:
        if key == "kpis":
            return self._safe(self._kpis)
        if key.startswith("note_"):
            kind, codes = self._notes[key]
            return self._safe(lambda: self._note(kind, codes))
        return self._safe(lambda: self._table(key))

    def _on_show(self, key: str) -> bool:
        return key != "accord_bailleur_epci" or self._accord_tabs.active == 2

    def _pane(self, key: str, css: str = TABLE_CSS) -> pn.pane.HTML:
        pane = pn.pane.HTML(
            "" if key in LAZY else self._render(key),
            sizing_mode="stretch_width",
            stylesheets=[css],
            css_classes=[f"relog-plan-{key}"],
            margin=(5, 10),
        )
        self._panes[key] = pane
        self._busy.append(pane)
        return pane

    # ------------------------------------------------------------------ URL
    def restore(self, search: str) -> None:
        restore_state(self.state, self.history, search)

    # ------------------------------------------------------------------ exports
    def _download(self, fmt: str, label: str, description: str) -> pn.widgets.FileDownload:
        def build():
            report = self.state.report()
            try:
                content = report.workbook() if fmt == "xlsx" else report.pdf()
            except RelogError as err:
                if pn.state.notifications is not None:
                    pn.state.notifications.error(str(err), duration=8000)
                raise
            name = report.filename(fmt)
            if fmt == "pdf":
                name = name.replace("suivi-du-plan-et-des-objectifs", "fiche-de-suivi-du-plan")
            download.filename = name
            record(
                "export",
                tableau="objectifs",
                format=fmt,
                fichier=name,
                filtres=self.state.to_query(),
            )
            return io.BytesIO(content)

        download = pn.widgets.FileDownload(
            callback=build,
            filename=f"objectifs.{fmt}",
            label=label,
            color="default",
            variant="outline",
            width=200,
            height=34,
            margin=(5, 5),
            css_classes=[f"relog-export-objectifs-{fmt}"],
            description=description,
        )
        return download

    def exports(self) -> pn.Row:
        return pn.Row(
            self._download(
                "xlsx",
                "Classeur Excel",
                "Toutes les sections, une feuille chacune, avec les filtres, la période, la "
                "date des données et les définitions",
            ),
            self._download(
                "pdf",
                "Fiche PDF (une page)",
                "La fiche de suivi du plan pour le comité : une page A4, lisible en noir et blanc",
            ),
            margin=(0, 5),
        )

    # ------------------------------------------------------------------ layout
    def sidebar(self) -> pn.Column:
        state = self.state
        reset = pn.widgets.Button(
            label="Réinitialiser les filtres",
            color="light",
            sizing_mode="stretch_width",
            css_classes=["relog-reset"],
            description="Revenir à l'année en cours, sans filtre",
        )
        reset.on_click(lambda event: state.reset())
        return pn.Column(
            _heading("Année"),
            pn.widgets.Select.from_param(
                state.param.year,
                label="Année suivie",
                sizing_mode="stretch_width",
                css_classes=["relog-filter-year"],
                description=state.param.year.doc,
            ),
            _heading("Réservataires"),
            _multi(state, "natures_reservataire", "Nature", "Toutes les natures"),
            _multi(state, "reservataires", "Réservataire", "Tous les réservataires"),
            _heading("Territoire et parc"),
            _multi(state, "epci", "EPCI", "Tous les EPCI"),
            _multi(state, "bailleurs", "Bailleur", "Tous les bailleurs"),
            reset,
            sizing_mode="stretch_width",
        )

    def _main(self) -> pn.viewable.Viewable:
        def section(title):
            return pn.pane.Markdown(f"### {title}", margin=(15, 10, 0, 10))

        def note(kind, codes):
            key = f"note_{len(self._notes)}"
            self._notes[key] = (kind, codes)
            return self._pane(key, NOTE_CSS)

        self._notes: dict[str, tuple] = {}
        self._stale = set(LAZY)
        self._prefetch()
        self._caption.object = self._safe(self.state.caption)
        accord_tabs = self._accord_tabs = pn.Tabs(
            *[(title, self._pane(f"accord_{by}")) for by, (title, _) in ACCORD.items()],
            dynamic=True,  # hidden tabs out of the page: their links are not focusable
            sizing_mode="stretch_width",
            css_classes=["relog-plan-accord-tabs"],
        )

        def shown(event) -> None:  # the cross is computed when first shown, or stale
            for key in sorted(self._stale):
                if self._on_show(key):
                    self._panes[key].object = self._render(key)
                    self._stale.discard(key)

        accord_tabs.param.watch(shown, "active")
        # a Bokeh pane's own loading indicator breaks its stylesheets (Panel 1.9): the
        # indicator goes on a Column around it, as on the rehousing page
        curve = pn.Column(
            pn.pane.Bokeh(self._curve_figure(), sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
            css_classes=["relog-plan-curve"],
        )
        stock = pn.Column(
            pn.pane.Bokeh(self._stock_figure(), sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
            css_classes=["relog-plan-stock-chart"],
        )
        self._busy.extend([curve, stock])
        return pn.Column(
            # the address bar is the page's own on a server, not a notebook's
            *([] if self.show_filters else [self.history]),
            pn.pane.Markdown(f"## {TITLE}", margin=(0, 10)),
            self.summary.pane,
            self._caption,
            pn.bind(notices, self.state.param.notices),
            self._pane("kpis", KEY_CSS),
            self.exports(),
            section("1. 25 % des attributions aux ménages prioritaires, par réservataire"),
            note(
                "reservataires",
                ["part_prioritaires", "objectif_part", "prevision_part", "rythme_necessaire"],
            ),
            curve,
            self._pane("reservataires"),
            section("2. Accord collectif : objectifs par bailleur et par EPCI"),
            note(
                "accord",
                [
                    "objectif_annuel",
                    "objectif_prorata",
                    "taux_atteinte",
                    "prevision",
                    "rythme_necessaire",
                ],
            ),
            accord_tabs,
            section("3. Loi Égalité et Citoyenneté : premier quartile, par EPCI"),
            note(
                "quartile",
                ["part_q1_hors_qpv", "part_hors_q1_qpv", "ressources_inconnues", "prevision_part"],
            ),
            self._pane("quartile"),
            section("4. Ménages DALO au-delà du délai de relogement"),
            note("attente", ["dalo_delai_depasse"]),
            stock,
            self._pane("dalo_anciennete"),
            section("5. Délai anormalement long, et ménages en attente par EPCI"),
            note("attente", ["demandes_delai_anormal", "part_delai_anormal"]),
            self._pane("dalo_epci"),
            self._pane("stock"),
            sizing_mode="stretch_width",
        )

    def __panel__(self) -> pn.viewable.Viewable:
        """The page; with ``show_filters`` (a notebook), its filters beside it."""
        main = self._main()
        if not self.show_filters:
            return main
        return pn.Row(pn.Column(self.sidebar(), width=330), main, sizing_mode="stretch_width")


def build(replica, protected: bool = False):
    """(sidebar builder, page) of ``/objectifs`` for a session's replica; the page restores the
    view its address describes. Not for protected profiles: the plan's tables cross
    bailleurs and EPCI and count DALO households by seniority, small counts throughout."""
    if protected:
        raise RelogError(
            "Le suivi du plan est réservé aux profils qui lisent les chiffres exacts (DDETS, "
            "Conseil départemental, analystes) : ses tableaux croisent bailleurs et EPCI et "
            "comptent de petits effectifs. Les relogements de votre périmètre sont sur la page "
            "« Relogements mensuels »."
        )
    page = PlanPage(PlanState(replica))
    if pn.state.location is not None:
        page.restore(pn.state.location.search or "")
    return page.sidebar, page
