"""The meeting page (route ``/reunion``): live figures projected in referent meetings.

One view at a time fills the screen, readable from the back of the room at 1280×720 and
1920×1080 (key figures at 56 px or more, every other text at 22 px or more, black on white):
key figures, the monthly chart, the breakdown by EPCI, the demand and supply maps, the
accord collectif's objectives. A caption on each view says the territory, the period, the
data's date and when the figures were read. The presenter moves with ← and →, pauses with
the space bar, goes full screen with F; ``rotation`` moves on by itself. The set-up (views,
territory, year, rotation) is in the address, built by a small form in the side panel,
hidden on the wall (P shows it). Every figure is protected by statistical secrecy, whoever
looks (:class:`~dashboards.state.meeting.MeetingState`).
"""

from __future__ import annotations

from html import escape

import pandas as pd
import panel as pn
import param
from panel.custom import JSComponent

from dashboards.components.charts import StackedMonthlyChart
from dashboards.components.history import encode, follow_state, restore_state
from dashboards.components.maps import ChoroplethPair, value_columns
from dashboards.pages.demand_supply import legend_items
from dashboards.state.filters import FILTER_PARAMS
from dashboards.state.meeting import VIEWS, MeetingState
from data_access import RelogError
from data_access.formatting import decimal_label, int_label, pct_label
from data_access.indicators import INDICATORS
from geodata.classes import NO_VALUE
from geodata.layers import MapLayers, map_layers

TITLE = "Réunion : relogement des publics prioritaires"

#: The page's text sizes (px): read from the back of the room on a 720p projector.
KEY_PX, TEXT_PX = 60, 24

VIEW_CSS = f"""
:host {{ display: block; width: 100%; color: #000000; background: #ffffff; }}
.relog-vue {{ font-size: {TEXT_PX}px; line-height: 1.3; }}
.relog-vue h2 {{ font-size: {TEXT_PX + 10}px; margin: 0 0 8px 0; }}
.relog-legende {{ font-size: {TEXT_PX - 2}px; color: #000000; margin: 0 0 10px 0; }}
.relog-chiffres {{ display: grid; grid-template-columns: repeat(2, 1fr); gap: 20px 28px; }}
.relog-chiffre {{ border: 3px solid #000000; border-radius: 6px; padding: 10px 18px; }}
.relog-chiffre .valeur {{ font-size: {KEY_PX}px; font-weight: bold; line-height: 1.1; }}
.relog-chiffre .titre, .relog-chiffre .avant {{ font-size: {TEXT_PX}px; }}
table {{ border-collapse: collapse; width: 100%; font-size: {TEXT_PX}px; }}
th, td {{ padding: 4px 10px; border-bottom: 2px solid #000000; text-align: left; }}
td.num, th.num {{ text-align: right; }}
tr.total td, tr.total th {{ font-weight: bold; border-top: 3px solid #000000; }}
.relog-secret-note {{ font-size: {TEXT_PX - 2}px; margin-top: 8px; }}
@media print {{ .relog-vue {{ break-inside: avoid; }} }}
"""

#: The map view's legends, above each map.
MAP_CSS = f"""
:host {{ display: block; color: #000000; background: #ffffff; }}
.relog-reunion-legende {{ font-size: {TEXT_PX - 2}px; line-height: 1.25; }}
.relog-reunion-legende h3 {{ font-size: {TEXT_PX}px; margin: 0 0 4px 0; }}
.relog-legend {{ display: flex; flex-wrap: wrap; gap: 2px 18px; align-items: center; }}
.relog-legend .sw {{ display: inline-block; width: 22px; height: 22px; margin-right: 6px;
  border: 2px solid #000000; vertical-align: -4px; }}
"""
#: What the map view leaves to the maps: the viewport less the caption, note and legends.
MAP_HEIGHT = "calc(100vh - 250px)"
#: What the monthly view leaves to its chart: the viewport less the caption.
CHART_HEIGHT = "calc(100vh - 170px)"

#: Meeting mode: no banner nor filter panel on the wall (the form stays one key away).
PAGE_CSS = """
#header { display: none !important; }
#main { padding: 12px 24px !important; overflow: hidden !important; background: #ffffff; }
@page { size: A4 landscape; margin: 10mm; }
"""


class Presenter(JSComponent):
    """The presenter's keys and the rotation, in the browser: ← and → change ``current``,
    the space bar toggles ``paused``, F asks for full screen, P shows or hides the set-up
    form (the side panel, hidden on the wall); with ``rotation`` seconds the
    next view comes by itself unless paused. Invisible."""

    current = param.Integer(default=0, doc="Rang de la vue projetée")
    count = param.Integer(default=1, doc="Nombre de vues")
    rotation = param.Integer(default=0, doc="Secondes par vue (0 : pas de rotation)")
    paused = param.Boolean(default=False, doc="Rotation en pause")

    _esm = """
    export function render({ model }) {
      const move = (step) => {
        const n = Math.max(model.count, 1)
        model.current = ((model.current + step) % n + n) % n
      }
      const key = (event) => {
        const target = event.composedPath()[0]
        if (target && ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName)) return
        const next = ["ArrowRight", "PageDown"], previous = ["ArrowLeft", "PageUp"]
        if (next.includes(event.key)) { move(1); event.preventDefault() }
        else if (previous.includes(event.key)) { move(-1); event.preventDefault() }
        else if (event.key === " ") { model.paused = !model.paused; event.preventDefault() }
        else if ((event.key === "p" || event.key === "P") && window.relogToggleFilters) {
          window.relogToggleFilters()  // the set-up form, aside
        }
        else if (event.key === "f" || event.key === "F") {
          if (document.fullscreenElement) document.exitFullscreen()
          else document.documentElement.requestFullscreen().catch(() => {})
        }
      }
      document.addEventListener("keydown", key)
      let timer = null
      const schedule = () => {
        if (timer) clearInterval(timer)
        timer = model.rotation > 0 ? setInterval(() => { if (!model.paused) move(1) },
                                                 model.rotation * 1000) : null
      }
      schedule()
      model.on("rotation", schedule)
      model.on("remove", () => {
        document.removeEventListener("keydown", key)
        if (timer) clearInterval(timer)
      })
      const el = document.createElement("span")
      el.style.display = "none"
      return el
    }
    """


def _cell(value, share: bool = False) -> str:
    if isinstance(value, str) or not isinstance(value, (int, float)) or pd.isna(value):
        return escape(str(value))
    return pct_label(value) if share else int_label(value)


def _headings(*codes: str, full: tuple[str, ...] = ()) -> str:
    """Column headings of figures: the registry's short labels, or its full ones for the
    codes in ``full`` (a room reads them as the pages and the exports name them)."""
    return "".join(
        f'<th scope="col" class="num">'
        f"{escape(INDICATORS[c].label if c in full else INDICATORS[c].short)}</th>"
        for c in codes
    )


class MeetingPage(pn.viewable.Viewer):
    """The projected view, its caption, the presenter's keys; the set-up form aside."""

    state = param.ClassSelector(class_=MeetingState, doc="Ce que la réunion projette")

    def __init__(self, state: MeetingState, **params):
        super().__init__(state=state, **params)
        self.history = follow_state(state, [*FILTER_PARAMS, "views", "rotation", "top"])
        self.presenter = Presenter(count=len(state.views), rotation=state.rotation)
        self.presenter.link(state, current="current", bidirectional=True)
        self.chart = StackedMonthlyChart(self._series(), height=420, slant_after=6)
        self._style_chart()
        self.pane = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[VIEW_CSS])
        self.chart_pane = pn.pane.Bokeh(self.chart.figure, sizing_mode="stretch_both")
        self.chart_box = pn.Column(
            self.chart_pane,
            sizing_mode="stretch_both",
            visible=False,
            styles={"height": CHART_HEIGHT},
        )
        self.maps: ChoroplethPair | None = None  # their shapes sent when first shown
        self.layers: MapLayers | None = None
        self.map_legends = {
            side: pn.pane.HTML("", stylesheets=[MAP_CSS], sizing_mode="stretch_width")
            for side in ("demande", "offre")
        }
        self.map_box = pn.Row(
            sizing_mode="stretch_both",
            visible=False,
            css_classes=["relog-reunion-cartes"],
            styles={"height": MAP_HEIGHT},
        )
        self._ensure_maps()  # laid out from the start (hidden): Bokeh sizes them then
        self._version = None
        self._read_at = state.now_label()
        state.param.watch(lambda *_: self.refresh(), [*FILTER_PARAMS, "views", "top"])
        state.param.watch(lambda *_: self.show(), "current")
        state.param.watch(self._sync_presenter, ["views", "rotation"])
        self.refresh()

    # ------------------------------------------------------------------ figures
    def _series(self) -> pd.DataFrame:
        try:
            return self.state.series()
        except RelogError:
            return pd.DataFrame(
                columns=["mois", "relogements", "relogements_prioritaires", "relogements_dalo",
                         "relogements_acd", "relogements_l441"]
            )  # fmt: skip

    def _style_chart(self) -> None:
        fig = self.chart.figure
        size = f"{TEXT_PX}px"
        for axis in (*fig.xaxis, *fig.yaxis):
            axis.major_label_text_font_size = size
            axis.axis_label_text_font_size = size
            axis.major_label_text_color = axis.axis_label_text_color = "#000000"
        fig.legend.label_text_font_size = size
        fig.legend.label_text_color = "#000000"
        fig.sizing_mode = "stretch_both"

    def _sync_presenter(self, *_) -> None:
        self.presenter.param.update(count=len(self.state.views), rotation=self.state.rotation)

    def check_version(self) -> None:
        """Re-read the figures when the replica's data version changed (a periodic check):
        in place, no reload; every screen of the process shares the answers (the result
        cache is the process's, keyed on the data version)."""
        try:
            version = self.state.data_version()
        except RelogError:
            return
        if self._version is not None and version != self._version:
            self.refresh()
        self._version = version

    def refresh(self) -> None:
        self._read_at = self.state.now_label()
        try:
            self._version = self.state.data_version()
        except RelogError:
            pass
        self.chart.update(self._series())
        self.show()

    # ------------------------------------------------------------------ views
    def _caption(self, title: str, code: str = "") -> str:
        try:
            caption = self.state.map_caption() if code == "carte" else self.state.caption()
        except RelogError as err:
            caption = str(err)
        return (
            f"<h2>{escape(title)}</h2>"
            f'<p class="relog-legende">{escape(caption)} · Mis à jour à {self._read_at}</p>'
        )

    def _key_figures(self) -> str:
        f = self.state.month_figures()

        def box(title, value, before, css):
            return (
                f'<div class="relog-chiffre {css}"><div class="titre">{escape(title)}</div>'
                f'<div class="valeur" data-valeur="{css}">{_cell(value)}</div>'
                f'<div class="avant">{escape(before)}</div></div>'
            )

        prev = f.get("tous_mois_precedent")
        prev_p = f.get("prioritaires_mois_precedent")
        return '<div class="relog-chiffres">' + "".join(
            [
                box(f"Relogements en {f['mois']}", f["tous_mois"],
                    f"{f['mois_precedent']} : {_cell(prev) if prev is not None else '–'}",
                    "mois"),
                box(f"dont ménages prioritaires en {f['mois']}", f["prioritaires_mois"],
                    f"{f['mois_precedent']} : {_cell(prev_p) if prev_p is not None else '–'}",
                    "mois-prioritaires"),
                box(f"Relogements de {f['annee']}", f["tous_annee"],
                    "année précédente, mêmes mois : "
                    f"{_cell(f.get('tous_annee_precedente', '–'))}", "annee"),
                box(f"dont ménages prioritaires de {f['annee']}", f["prioritaires_annee"],
                    "année précédente, mêmes mois : "
                    f"{_cell(f.get('prioritaires_annee_precedente', '–'))}",
                    "annee-prioritaires"),
            ]
        ) + "</div>"  # fmt: skip

    def _breakdown(self) -> str:
        frame = self.state.top_breakdown()
        rows = "".join(
            f'<tr class="{"total" if r["libelle"] == "Total" else ""}">'
            f'<th scope="row">{escape(str(r["libelle"]))}</th>'
            f'<td class="num">{_cell(r["relogements"])}</td>'
            f'<td class="num">{_cell(r["relogements_prioritaires"])}</td></tr>'
            for _, r in frame.iterrows()
        )
        return (
            '<table class="relog-reunion-repartition"><thead><tr><th scope="col">EPCI</th>'
            f"{_headings('relogements', 'relogements_prioritaires')}</tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )

    def _objectives(self) -> str:
        frame = self.state.objectives()
        if len(frame) <= 1:
            return "<p>Aucun objectif de l'accord collectif pour ce territoire cette année.</p>"

        def rate(v) -> str:
            return "s" if v is None or pd.isna(v) else pct_label(v)

        rows = "".join(
            f'<tr class="{"total" if r["libelle"] == "Total" else ""}">'
            f'<th scope="row">{escape(str(r["libelle"]))}</th>'
            f'<td class="num">{decimal_label(r["objectif_prorata"], 0)}</td>'
            f'<td class="num">{_cell(r["relogements_prioritaires"])}</td>'
            f'<td class="num">{rate(r["taux_atteinte"])}</td></tr>'
            for _, r in frame.iterrows()
        )
        columns = ("objectif_prorata", "relogements_prioritaires", "taux_atteinte")
        return (
            '<table class="relog-reunion-objectifs"><thead><tr><th scope="col">EPCI</th>'
            f"{_headings(*columns, full=('relogements_prioritaires',))}"
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )

    def _ensure_maps(self) -> str:
        """The two maps of the session, or why they cannot be drawn."""
        if self.layers is None:
            rep = self.state.replica
            self.layers = map_layers(
                rep.settings, rep.reference("commune"), rep.reference("epci"), rep.reference("qpv")
            )
        if self.layers.commune is None:
            return " ".join(self.layers.errors) or "Aucun fichier de contours."
        if self.maps is None:
            self.maps = ChoroplethPair(height=400, text_px=TEXT_PX - 2, toolbar=False)
            if self.layers.schematic:
                self.maps.label_schematic()
            columns = []
            for side, fig in (("demande", self.maps.demand), ("offre", self.maps.supply)):
                fig.sizing_mode = "stretch_both"
                fig.title.text_color = "#000000"
                columns.append(
                    pn.Column(
                        self.map_legends[side],
                        pn.pane.Bokeh(fig, sizing_mode="stretch_both"),
                        sizing_mode="stretch_both",
                        css_classes=[f"relog-reunion-carte-{side}"],
                    )
                )
            self.map_box.objects = columns
        return ""

    def _map(self) -> str:
        """The demand map and the supply map of the meeting's territory, protected: a masked
        territory is grey, its hover says « < 5 » or « s »."""
        problem = self._ensure_maps()
        if problem:
            return f'<div role="alert">La carte ne peut pas être affichée. {escape(problem)}</div>'
        state = self.state.map_state()
        level = state.level
        layer = self.layers.layer(level)
        values = state.values().reindex(layer.frame["code"])
        values["dans_selection"] = values["dans_selection"].fillna(False).astype(bool)
        marks = values.attrs.get("marques", {})
        classes = {"demande": state.classes(values, state.demand),
                   "offre": state.classes(values, state.supply)}  # fmt: skip
        for side, column in (("demande", state.demand), ("offre", state.supply)):
            legend = list(classes[side].legend)
            if marks.get(column):
                k = self.state.replica.settings.secrecy_k
                legend.insert(-1 if legend[-1][1] == "hors sélection" else len(legend),
                              (NO_VALUE, f"< {k} ou s (secret)"))  # fmt: skip
            self.map_legends[side].object = (
                f'<div class="relog-reunion-legende relog-carte-legende-{side}">'
                f"<h3>{escape(classes[side].title)}</h3>"
                f'<div class="relog-legend">{legend_items(legend)}</div></div>'
            )
        maps = self.maps
        maps.set_period(state.observation_text())
        columns = value_columns(values, {side: c.colours for side, c in classes.items()})
        if level in maps.sources:
            maps.update(level, columns)
        else:
            maps.add_level(level, layer, columns, None)
        maps.show_level(level)
        inside = layer.frame[values["dans_selection"].to_numpy()]
        maps.fit(tuple(float(b) for b in (inside if len(inside) else layer.frame).total_bounds))
        return ""

    def _note(self) -> str:
        k = self.state.replica.settings.secrecy_k
        return (
            f'<p class="relog-secret-note">Secret statistique : « &lt; {k} » remplace un '
            f"nombre de 1 à {k - 1} ménages ; « s » masque un chiffre qui permettrait de le "
            "retrouver.</p>"
        )

    def show(self) -> None:
        """Project the view of rank ``current``."""
        views = self.state.views or list(VIEWS)
        code = views[min(self.state.current, len(views) - 1)]
        title = VIEWS[code]
        try:
            body = {
                "chiffres": self._key_figures,
                "mois": lambda: "",
                "repartition": self._breakdown,
                "objectifs": self._objectives,
                "carte": self._map,
            }[code]()
        except RelogError as err:
            body = f'<div role="alert">{escape(str(err))}</div>'
        self.pane.object = (
            f'<section class="relog-vue relog-vue-{code}" aria-live="polite">'
            f"{self._caption(title, code)}{body}{self._note() if code != 'mois' else ''}"
            "</section>"
        )
        self.chart_box.visible = code == "mois"
        self.map_box.visible = code == "carte" and not body

    # ------------------------------------------------------------------ set-up form
    def setup_form(self) -> pn.Column:
        state = self.state
        views = pn.widgets.CheckBoxGroup(
            label="Vues", options={v: k for k, v in VIEWS.items()}, value=list(state.views),
            inline=False,
        )  # fmt: skip
        views.param.watch(lambda e: setattr(state, "views", e.new or list(VIEWS)), "value")
        epci = pn.widgets.Select(
            label="Territoire",
            options={"Tout le territoire": ""}
            | {k: v for k, v in state.param.epci.objects.items()},
            value=(state.epci or [""])[0],
        )
        epci.param.watch(lambda e: setattr(state, "epci", [e.new] if e.new else []), "value")
        choices = {"Aucune": 0, "15 secondes": 15, "30 secondes": 30, "1 minute": 60,
                   "2 minutes": 120}  # fmt: skip
        if state.rotation not in choices.values():
            choices[f"{state.rotation} secondes"] = state.rotation
        rotation = pn.widgets.Select(
            label="Rotation automatique", options=choices, value=state.rotation
        )
        rotation.param.watch(lambda e: setattr(state, "rotation", e.new), "value")
        link = pn.pane.HTML(pn.bind(self._link, state.param.views, state.param.rotation,
                                    state.param.epci, state.param.end))  # fmt: skip
        return pn.Column(
            pn.pane.Markdown("**Préparer la réunion**"),
            views, epci, rotation,
            pn.pane.Markdown("Touches : ← → vue précédente ou suivante, espace : pause, "
                             "F : plein écran, P : afficher ou masquer ce panneau."),
            link,
            sizing_mode="stretch_width",
        )  # fmt: skip

    def _link(self, *_) -> str:
        query = encode(self.state.to_query())
        href = f"./reunion{escape(query)}"
        return f'<p>Lien de la réunion : <a href="{href}">{href}</a></p>'

    # ------------------------------------------------------------------ layout
    def restore(self, search: str) -> None:
        restore_state(self.state, self.history, search)
        self._sync_presenter()
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        period = self.state.replica.settings.meeting_check_s
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.add_periodic_callback(self.check_version, period=int(period * 1000))
        return pn.Column(
            self.history,
            self.presenter,
            self.pane,
            self.chart_box,
            self.map_box,
            sizing_mode="stretch_both",  # the map view's height follows the screen's
            css_classes=["relog-reunion"],
        )


def build(replica, protected: bool = True):
    """(sidebar builder, page) of ``/reunion``: protected for every viewer, whatever the profile."""
    page = MeetingPage(MeetingState(replica))
    if pn.state.location is not None:
        page.restore(pn.state.location.search or "")
    return page.setup_form, page
