"""What the demand/supply map page shows, and nothing of how: no Panel, no widgets.

:class:`DemandSupplyState` adds to the shared filters (:class:`FilterState`) the level
(communes or EPCI), the demand indicator of the left map, the supply indicator of the right
one and the typology of the pressure view. It derives, from ``data_access`` only, one row
per territory of the user's scope with every figure (territories outside the chosen filters
are present, with empty figures, so that the geometry never changes), the colour classes
of each indicator with French legend labels, and the link that opens the rehousing page on
a territory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

import mapclassify
import numpy as np
import pandas as pd
import param
from bokeh.palettes import Blues5, Oranges5, RdBu5

from dashboards.state.filters import FilterState
from data_access import Filters, Period
from data_access.filters import add_months, months_before
from data_access.formatting import date_label, decimal_label, int_label
from data_access.queries.demand_supply import TYPOLOGIES

LEVELS = {"Communes": "commune", "EPCI": "epci"}

#: Indicators: column → (label, short definition). Demand on the left map, supply on the right.
DEMAND = {
    "demandes_actives": (
        "Demandes actives",
        "Demandes actives à la date d'observation, sur leur commune de premier choix.",
    ),
    "demandes_actives_ponderees": (
        "Demandes actives pondérées",
        "Chaque demande active compte 1/n sur chacune de ses n communes souhaitées.",
    ),
    "demandes_prioritaires_actives": (
        "Demandes prioritaires actives",
        "Demandes actives dont le ménage détient un critère de priorité à la date d'observation.",
    ),
    "tension": ("Tension", "Demandes actives ÷ baux signés sur les 12 derniers mois."),
    "desequilibre": (
        "Pression typologique",
        "Pression de la typologie choisie (demandes ÷ baux de cette typologie) rapportée à la "
        "pression toutes typologies du territoire : au-dessus de 1, cette typologie est plus "
        "difficile à obtenir que la moyenne (méthode DRIHL).",
    ),
}
SUPPLY = {
    "logements": (
        "Logements sociaux",
        "Logements sociaux en service à la date d'observation (RPLS).",
    ),
    "logements_liberes_12m": (
        "Logements libérés (12 mois)",
        "Logements libérés et orientés vers un réservataire sur les 12 derniers mois.",
    ),
    "baux_12m": ("Baux signés (12 mois)", "Baux signés sur les 12 derniers mois."),
    "relogements_prioritaires_12m": (
        "Relogements prioritaires (12 mois)",
        "Baux signés sur les 12 derniers mois par des ménages prioritaires "
        "(critère détenu à la date de la CAL).",
    ),
}
INDICATORS = {**DEMAND, **SUPPLY}
#: Ratio indicators (two decimals, fixed classes); the others are counts.
RATIOS = ("tension", "desequilibre")

#: Fixed class bounds of the ratios (upper bounds, inclusive), so that colours mean the same
#: everywhere and every month: tension in demandes per lease, imbalance around 1.
RATIO_BINS = {"tension": [2.0, 4.0, 6.0, 10.0], "desequilibre": [0.8, 0.95, 1.05, 1.25]}
PALETTES = {
    "demande": list(reversed(Oranges5)),
    "offre": list(reversed(Blues5)),
    "desequilibre": list(RdBu5),
}  # blue: easier than average, red: harder
NO_VALUE = "#d9d9d9"  # a ratio without divisor (no lease)
#: What an empty ratio means, in the legend.
EMPTY_LABELS = {
    "tension": "sans objet (aucun bail)",
    "desequilibre": "sans objet (aucun bail de cette typologie, ou aucune demande)",
}
OUTSIDE = "#f4f4f4"  # outside the chosen filters

#: Placeholder of the territory code in :meth:`DemandSupplyState.link_template`.
CODE = "CODE"
MAP_QUERY = {"niveau": "level", "demande": "demand", "offre": "supply", "typologie": "typologie"}


@dataclass(frozen=True)
class Classes:
    """Colour classes of an indicator: ``colours`` per territory (in the values' order) and
    the legend, as (colour, French label) pairs."""

    colours: list[str]
    legend: list[tuple[str, str]]


def _short(value: float) -> str:
    """« 8 » for a whole number, else « 8,25 »."""
    return int_label(value) if float(value).is_integer() else decimal_label(value)


def _nice(value: float) -> float:
    """Rounded to two significant digits, for readable class bounds."""
    if value <= 0:
        return 0.0
    magnitude = 10 ** (np.floor(np.log10(value)) - 1)
    return float(np.ceil(value / magnitude) * magnitude)


def count_bins(values: np.ndarray, k: int = 5, whole: bool = True) -> list[float]:
    """Upper bounds (inclusive) of at most ``k`` classes of counts: zero alone, then
    quantiles of the positive values (mapclassify), rounded to two significant digits (and
    to whole numbers when ``whole``); the last bound is the maximum. Quantiles: each colour
    holds about as many territories."""
    values = values[~np.isnan(values)]
    positive = values[values > 0]
    if len(positive) == 0:
        return [0.0]
    q = min(k - 1, len(np.unique(positive)))
    inner = mapclassify.Quantiles(positive, k=q).bins[:-1] if q > 1 else []
    top = float(positive.max())
    rounded = (_nice(v) for v in inner)
    if whole:
        rounded = (float(np.ceil(v)) for v in rounded)
    return [0.0, *sorted({b for b in rounded if 0 < b < top}), top]


def classify(values: pd.Series, inside: pd.Series, column: str, side: str) -> Classes:
    """Colour each territory by ``column``'s class; territories not ``inside`` the filters
    get the « hors sélection » colour, empty ratios the « sans objet » one."""
    ratio = column in RATIOS
    whole = column not in RATIOS and column != "demandes_actives_ponderees"
    data = values.to_numpy(dtype="float64")
    shown = data[inside.to_numpy()]
    bins = RATIO_BINS[column] + [np.inf] if ratio else count_bins(shown, whole=whole)
    palette = PALETTES["desequilibre" if column == "desequilibre" else side]
    palette = palette if len(bins) == len(palette) else _spread(palette, len(bins))
    legend, lower = [], None
    for i, upper in enumerate(bins):
        if ratio:
            label = (
                f"jusqu'à {decimal_label(upper)}"
                if lower is None
                else f"plus de {decimal_label(lower)}"
                if np.isinf(upper)
                else f"de {decimal_label(lower + 0.01)} à {decimal_label(upper)}"
            )
        elif lower is None:
            label = (
                "0"
                if upper == 0
                else f"jusqu'à {int_label(upper) if whole else decimal_label(upper)}"
            )
        elif whole:
            first = int(np.floor(lower)) + 1
            label = (
                int_label(first)
                if first >= upper
                else f"de {int_label(first)} à {int_label(upper)}"
            )
        else:
            label = f"plus de {_short(lower)} jusqu'à {_short(upper)}"
        legend.append((palette[i], label))
        lower = upper
    index = np.searchsorted(
        np.asarray(bins, dtype="float64"), np.nan_to_num(data, nan=0.0), side="left"
    )
    index = np.minimum(index, len(bins) - 1)
    colours = np.asarray(palette, dtype=object)[index]
    colours[np.isnan(data)] = NO_VALUE
    colours[~inside.to_numpy()] = OUTSIDE
    if ratio and np.isnan(shown).any():
        legend.append((NO_VALUE, EMPTY_LABELS[column]))
    if not inside.all():
        legend.append((OUTSIDE, "hors sélection"))
    return Classes(colours=colours.tolist(), legend=legend)


def _spread(palette: list[str], n: int) -> list[str]:
    """``n`` colours of ``palette``, evenly spaced, darkest kept last."""
    picks = np.linspace(0, len(palette) - 1, n).round().astype(int) if n > 1 else [len(palette) - 1]
    return [palette[i] for i in picks]


class DemandSupplyState(FilterState):
    """The map page's filters and choices, and the figures they give."""

    VIEW_QUERY = MAP_QUERY

    level = param.Selector(
        default="commune", objects=LEVELS, doc="Territoires dessinés : communes ou EPCI"
    )
    demand = param.Selector(
        default="demandes_actives",
        objects={v[0]: k for k, v in DEMAND.items()},
        doc="Indicateur de la carte de gauche (demande)",
    )
    supply = param.Selector(
        default="logements",
        objects={v[0]: k for k, v in SUPPLY.items()},
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
        """As the rehousing page's, with the observation month as ``fin`` only (the rehousing
        page opens the 12 months ending then) and the map's own choices."""
        out = super().to_query()
        out.pop("debut", None)
        out.pop("fin", None)
        if self.end != self.default_period.end:
            out["fin"] = f"{self.end:%Y-%m}"
        return out

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
            f"Demande au {date_label(at)} ; logements libérés et baux des 12 mois jusqu'au {date_label(at)} "
            f"(depuis le {date_label(since)})"
        )

    def caption(self) -> str:
        """:meth:`observation_text` · « Données extraites le … »."""
        return f"{self.observation_text()} · {self.replica.freshness_cached()}"

    def territories(self, level: str | None = None) -> pd.DataFrame:
        """Every territory of the user's scope at ``level`` (index code, ``libelle``), whatever the filters."""
        return self.replica.territories(level or self.level, Filters(), self.scope)

    @param.depends(
        "level",
        "typologie",
        "start",
        "end",
        "natures_reservataire",
        "reservataires",
        "epci",
        "communes",
        "bailleurs",
        "criteres",
        "mutation",
        "qpv",
    )
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
        return out

    def classes(self, values: pd.DataFrame, column: str) -> Classes:
        """Colour classes of ``column`` over the territories in the selection."""
        side = "demande" if column in DEMAND else "offre"
        return classify(values[column], values["dans_selection"], column, side)

    def link_template(self, level: str | None = None, inside: bool = True) -> str:
        """The rehousing page's address filtered on one territory, with ``CODE`` in place of
        its code: the 12 complete months ending with the observation month, the other
        filters kept. ``inside=False``: for a territory outside the chosen selection, whose
        EPCI and commune filters are dropped (it would be empty under them)."""
        level = level or self.level
        query = {k: v for k, v in self.to_query().items() if k not in MAP_QUERY}
        at = self.at
        end = min(date(at.year, at.month, 1), self.coverage.end)  # complete months only
        query["debut"], query["fin"] = (
            f"{max(add_months(end, -11), self.coverage.start):%Y-%m}",
            f"{end:%Y-%m}",
        )
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
        """Where a click on territory ``code`` goes (:meth:`links_by_code`, else :meth:`link_template`)."""
        level = level or self.level
        direct = self.links_by_code(level).get(code)
        if direct:
            return direct
        inside = code in self.values(level).query("dans_selection").index
        return self.link_template(level, inside).replace(CODE, code)
