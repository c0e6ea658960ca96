"""What the plan follow-up page shows, without Panel: a year and the filters the plan's
objectives can follow (territory, bailleur, réservataire), read from and written to the
address, and the :class:`~data_access.plan.PlanReport` they describe."""

from __future__ import annotations

import param

from dashboards.state.filters import FilterState
from data_access import Filters
from data_access.filters import FLAG_LABELS
from data_access.formatting import month_label
from data_access.plan import PlanReport
from data_access.queries.objectives import year_to_date

#: The filters of this page (the plan's objectives are set per EPCI and bailleur, and count
#: réservataires' shares): no commune, criterion, mutation nor QPV filter.
PLAN_FILTERS = ["year", "natures_reservataire", "reservataires", "epci", "bailleurs"]

#: Address values other pages use that this one cannot apply, with the reason said.
_REFUSED = {
    "communes": "Les objectifs sont fixés par EPCI : le filtre sur les communes est ignoré "
    "sur cette page (choisissez l'EPCI).",
    "criteres": "Le suivi du plan compte tous les ménages prioritaires : le filtre sur les "
    "critères est ignoré sur cette page.",
    "mutation": f"Filtre « {FLAG_LABELS['mutation'][True]} » ignoré sur cette page.",
    "qpv": "Le filtre QPV est ignoré sur cette page (la règle du premier quartile distingue "
    "elle-même les attributions en QPV et hors QPV).",
    "debut": "La page suit une année civile (paramètre « annee ») : « debut » est ignoré.",
    "fin": "La page suit une année civile (paramètre « annee ») : « fin » est ignoré.",
}


class PlanState(FilterState):
    """A year (January to its last complete month) and the filters of the plan's page."""

    VIEW_QUERY = {"annee": "year"}

    year = param.Selector(
        default=None, objects=[], doc="Année suivie, de janvier au dernier mois complet"
    )

    def __init__(self, replica, **params):
        super().__init__(replica, **params)
        self._report: PlanReport | None = None
        self._report_key = None

    def _load_options(self) -> None:
        super()._load_options()
        coverage = self.coverage
        years = [str(y) for y in range(coverage.end.year, coverage.start.year - 1, -1)]
        self.param.year.objects = years
        self.param.year.default = str(year_to_date(self.replica, None).end.year)
        with param.discard_events(self):
            self.year = self.param.year.default
            self.start, self.end = self._bounds()

    def _bounds(self):
        period = year_to_date(self.replica, int(self.year))
        return period.start, period.end

    @param.depends("year", watch=True)
    def _follow_year(self) -> None:
        self.param.update(dict(zip(("start", "end"), self._bounds(), strict=True)))

    def reset(self) -> None:
        self.param.update(
            year=self.param.year.default,
            **{name: [] for name in PLAN_FILTERS[1:]},
            notices=[],
        )

    # ------------------------------------------------------------------ the address
    def to_query(self) -> dict[str, str]:
        out = super().to_query()
        for name in ("debut", "fin"):
            out.pop(name, None)
        return out

    def apply_query(self, query: dict[str, str]) -> list[str]:
        """As the other pages (every value checked, wrong ones said in French), with a year
        instead of a period; what this page cannot apply is said and ignored."""
        mine, rest = [], {}
        for key, raw in query.items():
            value = raw[-1] if isinstance(raw, list) else str(raw)
            if key in _REFUSED and value not in ("", "tous"):
                mine.append(_REFUSED[key])
            elif key == "annee" and value not in self.param.year.objects:
                mine.append(
                    f"Année inconnue ou hors des données, ignorée : « {value} » (de "
                    f"{self.coverage.start.year} à {self.coverage.end.year})."
                )
            elif key not in _REFUSED:
                rest[key] = value
        notices = super().apply_query(rest)
        self.param.update(start=self._bounds()[0], end=self._bounds()[1])
        self.notices = mine + notices
        return self.notices

    # ------------------------------------------------------------------ what the page asks
    def filters(self) -> Filters:
        start, end = self._bounds()
        return Filters(
            start=start,
            end=end,
            reservataires=self.reservataires,
            natures_reservataire=self.natures_reservataire,
            epci=self.epci,
            bailleurs=self.bailleurs,
        )

    def report(self) -> PlanReport:
        """The plan follow-up of the chosen year and filters (one per view, reused by every
        section and export of that view)."""
        key = (self.year, self.filters())
        if self._report is None or self._report_key != key:
            self._report = PlanReport(self.replica, int(self.year), self.filters())
            self._report_key = key
        return self._report

    def caption(self) -> str:
        """« Année 2026, de janvier à octobre 2026 · Données extraites le … »."""
        start, end = self._bounds()
        return (
            f"Année {self.year}, de {month_label(start)} à {month_label(end)} · "
            f"{self.replica.freshness_cached()}"
        )
