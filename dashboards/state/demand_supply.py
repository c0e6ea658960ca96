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
from functools import partial
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

#: What a protected profile's map offers (statistical secrecy): counts of households at a
#: date, protected by commune, EPCI and territory (Replica.territory_publication), and the
#: social housing stock (public, RPLS). Not: weighted demand (fractions of households),
#: leases over 12 months (the rehousing page publishes them, by calendar year: two windows
#: would give a commune's months by difference) and the ratios built on them.
PROTECTED_DEMAND = ["demandes_actives", "demandes_prioritaires_actives"]
PROTECTED_SUPPLY = ["logements", "logements_liberes_12m"]
PROTECTED = [*PROTECTED_DEMAND, "logements_liberes_12m"]

#: Placeholder of the territory code in :meth:`DemandSupplyState.link_template`.
CODE = "CODE"
MAP_QUERY = {"niveau": "level", "demande": "demand", "offre": "supply", "typologie": "typologie"}


class DemandSupplyState(FilterState):
    """The map page's filters and choices, and the figures they give."""

    VIEW_QUERY = MAP_QUERY
    YEARLY = False  # a protected profile observes any month: stocks at a date

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

    def __init__(self, replica, scope=None, protected: bool = False, **params):
        super().__init__(replica, scope, protected=protected, **params)
        if protected:
            for name, codes in (("demand", PROTECTED_DEMAND), ("supply", PROTECTED_SUPPLY)):
                self.param[name].objects = {indicators.INDICATORS[c].label: c for c in codes}

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
        if self.protected:
            return self._protected_values(level)
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

    def prefetch(self, level: str | None = None) -> list:
        """Start at once the cached questions :meth:`values` and :meth:`totals` ask for
        ``level`` (:meth:`Replica.prefetch`): the page's refresh awaits them off the event
        loop, then reads them from the cache. Listed here once more, in step with the
        methods above: tests/test_map_page.py checks that a refresh after it asks the
        database nothing."""
        level = level or self.level
        replica, scope = self.replica, self.scope
        calls = [partial(replica.territories, level, Filters(), scope)]
        if self.protected:
            calls += [
                partial(replica.territory_publication, self.end),
                partial(replica.demand_supply, Filters(end=self.end), level=level, scope=scope),
            ]
        else:
            filters = self.filters()
            calls += [
                partial(replica.demand_supply, filters, level=level, scope=scope),
                partial(replica.typology_pressure, filters, level=level, scope=scope),
            ]
        return replica.prefetch(calls)

    def publication(self):
        """The observation month's protected counts (:meth:`Replica.territory_publication`)."""
        return self.replica.territory_publication(self.end)

    def _protected_values(self, level: str) -> pd.DataFrame:
        """:meth:`values` of a protected profile: the protected counts (masked ones empty,
        their marks in ``attrs["marques"]``), the stock of dwellings; the selection (one
        territory) only flags its territories: the figures never depend on it."""
        pub = self.publication()
        everything = self.territories(level)
        out = pd.DataFrame(index=everything.index)
        out.insert(0, "libelle", everything["libelle"])
        marks: dict[str, dict] = {}
        for code in [i.code for i in indicators.in_view("carte")]:
            if code in PROTECTED:
                shown = [pub.get(level, t, code) for t in out.index]
                marks[code] = {t: v for t, v in zip(out.index, shown) if isinstance(v, str)}
                out[code] = [float("nan") if isinstance(v, str) else float(v) for v in shown]
            else:
                out[code] = float("nan")
        stock = self.replica.demand_supply(Filters(end=self.end), level=level, scope=self.scope)
        out["logements"] = stock.set_index(level)["logements"].reindex(out.index)
        for extra in ("desequilibre", "pression", "demandes_typologie", "baux_typologie"):
            out[extra] = float("nan")
        territory = self.territory()
        if territory[0] == "total":
            inside = pd.Series(True, index=out.index)
        elif level == "commune":
            epci_of = self._communes["epci"].reindex(out.index)
            inside = (
                pd.Series(out.index == territory[1], index=out.index)
                if territory[0] == "commune"
                else epci_of == territory[1]
            )
        else:
            epci = territory[1] if territory[0] == "epci" else self._communes["epci"][territory[1]]
            inside = pd.Series(out.index == epci, index=out.index)
        out["dans_selection"] = inside.to_numpy(dtype=bool)
        for code in marks:  # outside the selection: empty, as for every profile
            out.loc[~out["dans_selection"], code] = float("nan")
            marks[code] = {t: m for t, m in marks[code].items() if out.at[t, "dans_selection"]}
        out.attrs["marques"] = marks
        out.attrs["ratios_non_calcules"] = {}
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
        if self.protected:  # the chosen territory's own figures, protected with the others
            territory, pub = self.territory(), self.publication()
            level, code = (territory[0], territory[1]) if len(territory) > 1 else ("total", None)
            out = {c: pub.get(level, code, c) for c in PROTECTED}
            out["logements"] = float(inside["logements"].sum())
            return {**out, "tension": None, "territoires": len(inside)}
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
