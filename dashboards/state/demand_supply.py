"""What the demand/supply map page shows, and nothing of how: no Panel, no widgets.

:class:`DemandSupplyState` adds to the shared filters (:class:`FilterState`) the level
(communes or EPCI), the demand indicator of the left map, the supply indicator of the right
one and the typology of the pressure view. It derives, from ``data_access`` only, one row
per territory of the user's scope with every figure (territories outside the chosen filters
are present, with empty figures, so that the geometry never changes), the colour classes
of each indicator (:func:`geodata.classes.classify`, the notebooks' classifier too), and the
link that opens the rehousing page on a territory. Labels and definitions are the registry's
(:mod:`data_access.indicators`).
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

import pandas as pd
import param

from dashboards.state.filters import FilterState
from data_access import FilterError, Filters, Period, indicators
from data_access.filters import add_months, months_before, parse_month
from data_access.formatting import date_label
from data_access.queries.demand_supply import TYPOLOGIES
from geodata.classes import Classes, classify

LEVELS = {"Communes": "commune", "EPCI": "epci"}

#: The map's indicators (the registry's ``carte`` view): demand on the left map, supply on
#: the right one.
DEMAND = [i.code for i in indicators.in_view("carte") if i.colour != "offre"]
SUPPLY = [i.code for i in indicators.in_view("carte") if i.colour == "offre"]

#: Placeholder of the territory code in :meth:`DemandSupplyState.link_template`.
CODE = "CODE"
MAP_QUERY = {"niveau": "level", "demande": "demand", "offre": "supply", "typologie": "typologie"}


class DemandSupplyState(FilterState):
    """The map page's filters and choices, and the figures they give."""

    VIEW_QUERY = MAP_QUERY

    level = param.Selector(
        default="commune", objects=LEVELS, doc="Territoires dessinés : communes ou EPCI"
    )
    demand = param.Selector(
        default="demandes_actives",
        objects={indicators.INDICATORS[c].label: c for c in DEMAND},
        doc="Indicateur de la carte de gauche (demande)",
    )
    supply = param.Selector(
        default="logements",
        objects={indicators.INDICATORS[c].label: c for c in SUPPLY},
        doc="Indicateur de la carte de droite (offre)",
    )
    typologie = param.Selector(
        default="T1-T2",
        objects=list(TYPOLOGIES),
        doc="Typologie de la vue « pression typologique » (T1-T2 pour 1 ou 2 personnes, "
        "T3 pour 3, T4 pour 4, T5+ au-delà)",
    )

    @property
    def period(self) -> Period:
        """The map observes one month: the chosen end month (the start is not used)."""
        return Period(self.end, self.end)

    def to_query(self) -> dict[str, str]:
        """As the rehousing page's, with the observation month as ``fin`` and the map's own
        choices. The map does not use the first month, but carries the one a link brought
        (``debut``) as long as it does not follow the observation month, so that the way back
        to the rehousing page reopens the same period; without it, that page opens the 12
        months ending with ``fin``."""
        out = super().to_query()
        out.pop("debut", None)
        out.pop("fin", None)
        if self.end != self.default_period.end:
            out["fin"] = f"{self.end:%Y-%m}"
        start = self.carried_start()
        if start is not None:
            out["debut"] = f"{start:%Y-%m}"
        return out

    def carried_start(self) -> date | None:
        """The first month a link brought (``debut``), while it does not follow the
        observation month and differs from the one ``fin`` alone implies (12 months)."""
        start = getattr(self, "_carried", None)
        end = self.end
        if start is None or start > end or start == max(add_months(end, -11), self.coverage.start):
            return None
        return start

    def apply_query(self, query: dict[str, str]) -> list[str]:
        # known before the filters change, so that the address written meanwhile carries it
        try:
            self._carried = parse_month(query["debut"]) if "debut" in query else None
        except FilterError:
            self._carried = None
        notices = super().apply_query(query)
        if self._carried != self.start:  # refused (outside the data…): not carried
            self._carried = None
        return notices

    def reset(self) -> None:
        self._carried = None
        super().reset()

    @property
    def at(self) -> date:
        """The observation date: the last day of the chosen end month (or the data's last day)."""
        return self.replica.observation_date(self.filters())

    def observation_text(self) -> str:
        """« Demande au 31/10/2026 ; logements libérés et baux des 12 mois jusqu'au 31/10/2026
        (depuis le 01/11/2025) »: the period of every figure of the map."""
        at = self.at
        since = months_before(at, 12) + timedelta(days=1)
        return (
            f"Demande au {date_label(at)} ; logements libérés et baux des 12 mois "
            f"jusqu'au {date_label(at)} "
            f"(depuis le {date_label(since)})"
        )

    def caption(self) -> str:
        """:meth:`observation_text` · « Données extraites le … »."""
        return f"{self.observation_text()} · {self.replica.freshness_cached()}"

    def territories(self, level: str | None = None) -> pd.DataFrame:
        """Every territory of the user's scope at ``level`` (index code, ``libelle``), whatever
        the filters."""
        return self.replica.territories(level or self.level, Filters(), self.scope)

    def values(self, level: str | None = None) -> pd.DataFrame:
        """One row per territory of the scope (index: code): ``libelle``, every indicator of
        :data:`INDICATORS` (:meth:`Replica.demand_supply`, and :meth:`Replica.typology_pressure`
        for the chosen typology: ``desequilibre``, ``pression``, ``demandes_typologie``,
        ``baux_typologie``), and ``dans_selection`` (False: outside the filters, figures empty)."""
        level = level or self.level
        filters = self.filters()
        figures = self.replica.demand_supply(filters, level=level, scope=self.scope).set_index(
            level
        )
        pressure = self.replica.typology_pressure(filters, level=level, scope=self.scope)
        pressure = pressure[pressure["typologie"] == self.typologie].set_index(level)
        figures["desequilibre"] = pressure["desequilibre"]
        figures["pression"] = pressure["pression"]
        figures["demandes_typologie"] = pressure["demandes_actives"]
        figures["baux_typologie"] = pressure["baux_12m"]
        everything = self.territories(level)
        out = figures.drop(columns=["libelle", "epci"], errors="ignore").reindex(everything.index)
        out.insert(0, "libelle", everything["libelle"])
        out["dans_selection"] = everything.index.isin(figures.index)
        out.attrs["ratios_non_calcules"] = {
            **figures.attrs.get("ratios_non_calcules", {}),
            **pressure.attrs.get("ratios_non_calcules", {}),
        }
        return out

    def classes(self, values: pd.DataFrame, column: str) -> Classes:
        """Colour classes of ``column`` over the territories in the selection (a ratio the
        filters would compute on two different bases: none, with the reason)."""
        reason = values.attrs.get("ratios_non_calcules", {}).get(column)
        return classify(
            values[column], values["dans_selection"], indicator=column, unavailable=reason
        )

    def ignored(self, column: str) -> list[str]:
        """The active filters the indicator ``column`` does not follow (French names)."""
        return indicators.INDICATORS[column].ignored(self.filters())

    def totals(self, values: pd.DataFrame) -> dict[str, float]:
        """The selection's totals of the map's counts (territories in the selection), and its
        tension on those totals (None when not computed: no lease, or two bases)."""
        inside = values[values["dans_selection"]]
        counts = [i.code for i in indicators.in_view("carte") if i.unit.code == "nombre"]
        out = {code: float(inside[code].sum()) for code in counts}
        leases = out["baux_12m"]
        mixed = indicators.mixed_bases("tension", self.filters())
        out["tension"] = out["demandes_actives"] / leases if leases and not mixed else None
        out["territoires"] = len(inside)
        return out

    def link_template(self, level: str | None = None, inside: bool = True) -> str:
        """The rehousing page's address filtered on one territory, with ``CODE`` in place of
        its code: the period a link brought (:meth:`carried_start`) or the 12 complete months
        ending with the observation month, the other filters kept. ``inside=False``: for a
        territory outside the chosen selection, whose EPCI and commune filters are dropped (it
        would be empty under them)."""
        level = level or self.level
        query = {k: v for k, v in self.to_query().items() if k not in MAP_QUERY}
        at = self.at
        end = min(date(at.year, at.month, 1), self.coverage.end)  # complete months only
        start = self.carried_start() or max(add_months(end, -11), self.coverage.start)
        query["debut"], query["fin"] = f"{min(start, end):%Y-%m}", f"{end:%Y-%m}"
        query.pop("communes", None)
        if level == "epci" or not inside:
            query.pop("epci", None)
        query["epci" if level == "epci" else "communes"] = CODE
        return "./app?" + urlencode(query, safe=",")

    def links_by_code(self, level: str | None = None) -> dict[str, str]:
        """Links that :meth:`link_template` cannot express: at EPCI level with chosen
        communes, each EPCI holding some opens the rehousing page on those communes."""
        level = level or self.level
        if level != "epci" or not self.communes:
            return {}
        epci_of = self._communes["epci"]
        template = self.link_template("epci", inside=True)
        out = {}
        for code in sorted({epci_of.get(c) for c in self.communes} - {None}):
            chosen = ",".join(c for c in self.communes if epci_of.get(c) == code)
            out[code] = template.replace(CODE, code) + f"&communes={chosen}"
        return out

    def link(self, code: str, level: str | None = None) -> str:
        """Where a click on territory ``code`` goes (:meth:`links_by_code`, else
        :meth:`link_template`)."""
        level = level or self.level
        direct = self.links_by_code(level).get(code)
        if direct:
            return direct
        inside = code in self.values(level).query("dans_selection").index
        return self.link_template(level, inside).replace(CODE, code)
