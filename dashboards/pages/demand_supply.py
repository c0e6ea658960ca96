"""The demand/supply map page (``/carte``): where demand piles up against too little supply.

A thin view over :class:`dashboards.state.demand_supply.DemandSupplyState`: two linked
choropleths (demand on the left, supply on the right) whose shapes are sent once per level
and session; a change of indicator or filter sends the new colours and hover texts only.
Hovering a territory shows its figures and their period; clicking it opens the rehousing page
filtered on it. The filters live in the address, with the same names as the rehousing page's,
so a link from one page opens the other on the same selection.
"""

from __future__ import annotations

from html import escape

import panel as pn
import param

from dashboards.components.feedback import FilterSummary, notices
from dashboards.components.filters import filter_bar
from dashboards.components.history import encode, follow_state, restore_state
from dashboards.components.maps import HOVER_ROWS, ChoroplethPair, value_columns
from dashboards.components.refresh import NextTickRefresh
from dashboards.components.tables import TerritoryTable
from dashboards.state.demand_supply import MAP_QUERY, DemandSupplyState
from dashboards.state.filters import FILTER_PARAMS
from data_access import RelogError, Replica, indicators
from data_access.indicators import INDICATORS
from geodata.layers import MapLayers, map_layers

TITLE = "Demande et offre de logement social"
VIEW_PARAMS = list(MAP_QUERY.values())

LEGEND_CSS = """
:host { font-size: 0.85rem; color: #333; }
.relog-legend { display: flex; flex-wrap: wrap; gap: 4px 14px; align-items: center; }
.relog-legend span.sw { display: inline-block; width: 14px; height: 14px; border: 1px solid #999;
                        vertical-align: -2px; margin-right: 4px; }
.relog-def { color: #4a5563; margin-top: 4px; }
.relog-unfiltered { color: #7a3b00; margin-top: 4px; }
h3 { margin: 0 0 4px 0; font-size: 1rem; }
"""
CAPTION_CSS = ":host { color: #4a5563; font-size: 0.9rem; } p { margin: 0; }"


def legend_items(legend: list[tuple[str, str]]) -> str:
    """A colour legend's items: a swatch and its French label each."""
    return "".join(
        f'<span class="item"><span class="sw" style="background:{colour}"></span>'
        f"{escape(label)}</span>"
        for colour, label in legend
    )


def legend_html(
    title: str,
    definition: str,
    legend: list[tuple[str, str]],
    css_class: str,
    ignored: list[str] | None = None,
) -> str:
    items = legend_items(legend)
    follows = (
        f'<div class="relog-unfiltered"><strong>Ne suit pas le filtre</strong> '
        f"{escape(', '.join(ignored))} : ce chiffre porte sur tout le reste de la sélection.</div>"
        if ignored
        else ""
    )
    return (
        f'<div class="{css_class}"><h3>{escape(title)}</h3><div class="relog-legend">{items}</div>'
        f'{follows}<div class="relog-def">{escape(definition)}</div></div>'
    )


def totals_html(totals: dict, level: str) -> str:
    """The selection's totals, to reconcile the map with the rehousing page."""
    what = "commune" if level == "commune" else "EPCI"
    n = int(totals["territoires"])
    parts = [f"<strong>Sélection</strong> : {n} {what}{'s' if n > 1 and what == 'commune' else ''}"]
    for code, value in totals.items():
        if code in INDICATORS and code != "tension":
            parts.append(
                f"{escape(INDICATORS[code].format(value))} {escape(INDICATORS[code].short.lower())}"
            )
    tension = totals["tension"]
    parts.append(
        "tension "
        + (escape(INDICATORS["tension"].format(tension)) if tension is not None else "non calculée")
    )
    return f'<div class="relog-totals" role="status">{" · ".join(parts)}</div>'


class DemandSupplyPage(pn.viewable.Viewer):
    """Filters and map choices in the sidebar; the two maps and their legends in the main area."""

    state = param.ClassSelector(class_=DemandSupplyState, doc="Ce que la page montre")
    show_filters = param.Boolean(
        default=False,
        doc="Les filtres à gauche de la page (carnets ; un serveur les met dans "
        "la barre latérale du gabarit)",
    )

    def __init__(
        self, state: DemandSupplyState | Replica, layers: MapLayers | None = None, **params
    ):
        """``state`` and the map's ``layers``, or a replica and filter values by name (a
        notebook: ``DemandSupplyPage(replica, epci=["243100633"], level="epci")``), the
        layers then those of the replica's settings, the filters shown beside the page."""
        if isinstance(state, Replica):
            values = {k: params.pop(k) for k in list(params) if k not in type(self).param}
            state = DemandSupplyState.opened(state, values)
            params.setdefault("show_filters", True)
        if layers is None:
            rep = state.replica
            layers = map_layers(
                rep.settings, rep.reference("commune"), rep.reference("epci"), rep.reference("qpv")
            )
        super().__init__(state=state, **params)
        self.layers = layers
        self.history = follow_state(state, [*FILTER_PARAMS, *VIEW_PARAMS])
        self.maps = ChoroplethPair() if layers.commune is not None else None
        self.legends = {
            side: pn.pane.HTML(
                "",
                stylesheets=[LEGEND_CSS],
                sizing_mode="stretch_width",
                css_classes=[f"relog-legend-{side}"],
            )
            for side in ("demande", "offre")
        }
        self.caption = pn.pane.Markdown(
            "", css_classes=["relog-caption"], margin=(0, 10), stylesheets=[CAPTION_CSS]
        )
        self.summary = FilterSummary(state)
        # the maps' figures as a table, built when first opened
        self._territory_table: TerritoryTable | None = None
        self._values = None
        self.table_card = pn.Card(
            title="Tableau des territoires (les chiffres des cartes)",
            collapsed=True,
            sizing_mode="stretch_width",
            css_classes=["relog-territories-card"],
            margin=(5, 10),
        )
        self.table_card.param.watch(self._table_opened, "collapsed")
        self.totals = pn.pane.HTML(
            "", css_classes=["relog-totals-pane"], margin=(0, 10), sizing_mode="stretch_width",
            stylesheets=[":host { font-size: 0.9rem; color: #1b2733; }"],
        )  # fmt: skip
        self.rehousing_link = pn.pane.HTML("", css_classes=["relog-link-rehousing"], margin=(0, 10))
        self.error = pn.pane.Alert(
            "",
            alert_type="danger",
            visible=False,
            css_classes=["relog-error"],
            sizing_mode="stretch_width",
        )
        # a group of one: Bokeh's CheckboxGroup wraps its box in a <label> (its Checkbox does
        # not, and a screen reader would read an unnamed box)
        self.qpv = pn.widgets.CheckBoxGroup(
            options={"Contours des QPV": "qpv"},
            value=[],
            css_classes=["relog-qpv"],
            disabled=layers.qpv is None,
        )
        self._main = pn.Column(sizing_mode="stretch_width")
        settings = state.replica.settings
        self.recover = NextTickRefresh(  # also what ReplicaWatch calls
            self.refresh,
            [self._main],
            prefetch=state.prefetch,  # its questions started off the event loop
            wait_s=settings.deadline_s + settings.connect_timeout_s,
        )
        state.param.watch(self.recover, [*FILTER_PARAMS, *VIEW_PARAMS])
        if self.maps is not None:
            if layers.qpv is not None:
                self.maps.add_qpv(layers.qpv)
            if layers.schematic:
                self.maps.label_schematic()
            self.qpv.param.watch(lambda e: self.maps.show_qpv(bool(e.new)), "value")
        self.refresh()

    # ------------------------------------------------------------------ refresh
    def refresh(self) -> None:
        """Compute the values and send them: colours, hover texts, legends, titles, links."""
        state = self.state
        try:
            values = state.values()
            caption = state.caption()
        except RelogError as err:
            self.error.object, self.error.visible = escape(str(err)), True
            return
        self.error.visible = False
        self.summary.refresh()
        self.caption.object = caption
        query = encode({k: v for k, v in state.to_query().items() if k not in MAP_QUERY})
        self.rehousing_link.object = (
            f'<a href="./app{escape(query)}">Voir les relogements mensuels sur la même '
            f"sélection</a>"
        )
        if self.maps is not None:  # the layer's order; territories outside the scope stay blank
            values = values.reindex(self.layers.layer(state.level).frame["code"])
            values["dans_selection"] = values["dans_selection"].fillna(False).astype(bool)
        classes = {
            "demande": state.classes(values, state.demand),
            "offre": state.classes(values, state.supply),
        }
        for side, column in (("demande", state.demand), ("offre", state.supply)):
            title = self._title(column)
            self.legends[side].object = legend_html(
                title,
                INDICATORS[column].definition,
                classes[side].legend,
                f"relog-legend-{side}-body",
                state.ignored(column),
            )
        self.totals.object = totals_html(state.totals(values), state.level)
        self._values = values
        if self._territory_table is not None and not self.table_card.collapsed:
            self._territory_table.refresh(values)
        if self.maps is None:
            return
        level = state.level
        layer = self.layers.layer(level)
        unfollowed = indicators.unfollowed([c for _, c, _ in HOVER_ROWS], state.filters())
        note = " ; ".join(f"{label} : ne suit pas {names}" for label, names in unfollowed)
        self.maps.set_period(state.observation_text(), note)
        columns = value_columns(values, {side: c.colours for side, c in classes.items()})
        self.maps.set_links(
            state.link_template(level, inside=True),
            state.link_template(level, inside=False),
            state.links_by_code(level),
        )
        if level in self.maps.sources:
            self.maps.update(level, columns)
        else:
            self.maps.add_level(level, layer, columns, self._epci_names(layer, level))
        self.maps.show_level(level)
        self.maps.demand.title.text = f"Demande : {self._title(state.demand)}"
        self.maps.supply.title.text = f"Offre : {self._title(state.supply)}"

    def _table_opened(self, event) -> None:
        if event.new or self._values is None:  # collapsed, or nothing computed
            return
        if self._territory_table is None:
            self._territory_table = TerritoryTable(self._values)
            self.table_card.objects = [self._territory_table.widget]
        else:
            self._territory_table.refresh(self._values)

    def _epci_names(self, layer, level: str) -> list[str] | None:
        """Each commune's EPCI name, in the layer's order (EPCI: none)."""
        if level != "commune":
            return None
        communes = self.state.replica.reference("commune")
        names = self.state.replica.reference("epci")["libelle"]
        epci = communes["epci"].reindex(layer.frame["code"])
        return names.reindex(epci.to_numpy()).fillna("").tolist()

    def _title(self, column: str) -> str:
        title = INDICATORS[column].label
        return f"{title} {self.state.typologie}" if column == "desequilibre" else title

    # ------------------------------------------------------------------ URL
    def restore(self, search: str) -> None:
        """Open the view a shared link describes (``?fin=…&epci=…&demande=tension``), drawn
        at once: the session goes to the browser with it. The refresh the change scheduled
        (its questions awaited off the event loop) then finds nothing left to change; left
        to it, the maps' new values could reach a browser still building the page from the
        session's first state, and be lost there (seen with the map tests run two at a time)."""
        restore_state(self.state, self.history, search)
        self.refresh()

    # ------------------------------------------------------------------ layout
    def sidebar(self) -> pn.viewable.Viewable:
        s = self.state
        choices = [
            pn.pane.Markdown("**Carte**", margin=(12, 10, 0, 10)),
            pn.widgets.RadioButtonGroup.from_param(
                s.param.level,
                color="default",
                variant="outline",
                sizing_mode="stretch_width",
                css_classes=["relog-level"],
            ),
            pn.widgets.Select.from_param(
                s.param.demand,
                label="Demande (carte de gauche)",
                css_classes=["relog-demand"],
                sizing_mode="stretch_width",
                description=s.param.demand.doc,
            ),
            pn.widgets.Select.from_param(
                s.param.typologie,
                label="Typologie (pression typologique)",
                css_classes=["relog-typologie"],
                sizing_mode="stretch_width",
                description=s.param.typologie.doc,
            ),
            pn.widgets.Select.from_param(
                s.param.supply,
                label="Offre (carte de droite)",
                css_classes=["relog-supply"],
                sizing_mode="stretch_width",
                description=s.param.supply.doc,
            ),
            self.qpv,
        ]
        if self.layers.qpv is None:
            choices.append(
                pn.pane.Markdown(
                    "Aucun fichier de contours QPV configuré (RELOG_CONTOURS_QPV).",
                    styles={"font-size": "0.8rem", "color": "#666"},
                )
            )
        return filter_bar(self.state, single_month=True, extra=choices)

    def _secrecy_note(self) -> list:
        """A protected profile's map says what is masked, and what it does not show."""
        if not self.state.protected:
            return []
        k = self.state.replica.settings.secrecy_k
        return [
            pn.pane.Markdown(
                f"Secret statistique : « < {k} » remplace un nombre de 1 à {k - 1} ménages ; "
                "« s » masque un chiffre qui permettrait de le retrouver (territoires en gris "
                "sur la carte). Un territoire à la fois ; les baux et les ratios ne sont pas "
                "publiés sur la carte pour votre profil (les relogements sont sur la page "
                "« Relogements », par année civile).",
                css_classes=["relog-secret"],
                styles={"font-size": "0.85rem", "color": "#4a5563"},
                margin=(0, 10),
            )
        ]

    def _page(self) -> pn.viewable.Viewable:
        problems = [
            pn.pane.Alert(
                f"**La carte ne peut pas être affichée.** {escape(message)}"
                if self.maps is None or "communes" in message
                else escape(message),
                alert_type="danger" if self.maps is None else "warning",
                sizing_mode="stretch_width",
                css_classes=["relog-boundary-error"],
            )
            for message in self.layers.errors
        ] + [
            pn.pane.Alert(
                escape(message),
                alert_type="warning",
                sizing_mode="stretch_width",
                css_classes=["relog-boundary-notice"],
            )
            for message in self.layers.notices
        ]
        if self.maps is not None:
            body = pn.Row(
                # legends above their maps: in view on a 720-pixel-high screen
                pn.Column(
                    self.legends["demande"],
                    pn.pane.Bokeh(self.maps.demand, sizing_mode="stretch_width"),
                    sizing_mode="stretch_width",
                    css_classes=["relog-map-demande"],
                ),
                pn.Column(
                    self.legends["offre"],
                    pn.pane.Bokeh(self.maps.supply, sizing_mode="stretch_width"),
                    sizing_mode="stretch_width",
                    css_classes=["relog-map-offre"],
                ),
                sizing_mode="stretch_width",
            )
            hint = pn.pane.Markdown(
                "Survolez un territoire pour lire ses chiffres ; cliquez dessus pour ouvrir ses "
                "relogements mensuels. Les deux cartes zooment ensemble (molette, glisser).",
                styles={"font-size": "0.85rem", "color": "#4a5563"},
                margin=(0, 10),
            )
        else:
            body, hint = (
                pn.Row(self.legends["demande"], self.legends["offre"], sizing_mode="stretch_width"),
                None,
            )
        self._main.objects = [body]
        return pn.Column(
            # the address bar is the page's own on a server, not a notebook's
            *([] if self.show_filters else [self.history]),
            pn.pane.Markdown("## Demande et offre de logement social", margin=(0, 10)),
            self.summary.pane,
            self.caption,
            pn.bind(notices, self.state.param.notices),
            *problems,
            self.error,
            *self._secrecy_note(),
            self.totals,
            *([hint] if hint else []),
            self._main,
            self.table_card,
            self.rehousing_link,
            sizing_mode="stretch_width",
        )

    def __panel__(self) -> pn.viewable.Viewable:
        """The page; with ``show_filters`` (a notebook), its filters beside it."""
        main = self._page()
        if not self.show_filters:
            return main
        return pn.Row(pn.Column(self.sidebar(), width=330), main, sizing_mode="stretch_width")
