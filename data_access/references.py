"""What the replica's reference tables say: names, territories, the months covered, the
reference date; and the check of every filter against them.

:class:`References` is the part of :class:`~data_access.replica.Replica` that knows the
territories, actors and calendar of the data. Each table is read once per data version.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from data_access.errors import FilterError
from data_access.execution import Execution
from data_access.filters import Filters, Period, Scope, add_months, days_in_month
from data_access.formatting import date_label, month_label
from data_access.queries.base import UNKNOWN
from data_access.schema import (
    CRITERES,
    GROUPES_CRITERE,
    NATURES_RESERVATAIRE,
    SANS_CRITERE,
    bail,
    bailleur,
    commune,
    epci,
    qpv,
    reservataire,
)

#: Filter field → the reference whose names describe its codes.
_NAMED_BY = {
    "reservataires": "reservataire",
    "natures_reservataire": "nature_reservataire",
    "epci": "epci",
    "communes": "commune",
    "bailleurs": "bailleur",
    "criteres": "critere",
}


class References(Execution):
    """Reference tables, calendar and filter checks of one replica (see the module docstring)."""

    #: What this replica's profile may see; every call's scope is narrowed to it.
    scope: Scope

    # ------------------------------------------------------------------ calendar
    def reference_date(self) -> date:
        """The last complete day the data covers: the day (in Paris) before the extraction or
        the standby's last replay."""
        return self.freshness_cached().last_day

    def default_period(self) -> Period:
        """The 12 last complete months before the reference date."""
        ref = self.reference_date()
        last_complete = add_months(
            date(ref.year, ref.month, 1), -1 if ref.day < days_in_month(ref) else 0
        )
        return Period(add_months(last_complete, -11), last_complete)

    def period(self, filters: Filters) -> Period:
        default = self.default_period()
        end = filters.end or default.end
        start = filters.start or (add_months(end, -11) if filters.end else default.start)
        if start > end:
            raise FilterError(
                f"La période est vide : le mois de début ({month_label(start)}) est postérieur "
                f"au dernier mois retenu ({month_label(end)}), le dernier mois complet de la "
                "réplique si vous n'en avez pas choisi."
            )
        return Period(start, end)

    # ------------------------------------------------------------------ reference tables

    # ------------------------------------------------------------------ reference tables
    def reference(self, name: str) -> pd.DataFrame:
        """A reference table indexed by ``code`` with ``libelle``: ``epci``, ``commune`` (with
        its ``epci``), ``reservataire`` (with its ``nature``), ``bailleur`` or ``qpv`` (with its
        ``commune``). Read once per data version."""
        return self._reference(name).copy()

    def _reference(self, name: str) -> pd.DataFrame:
        def read() -> pd.DataFrame:
            stmt, cols = {
                "epci": (sa.select(epci.c.siren, epci.c.nom), ["code", "libelle"]),
                "commune": (
                    sa.select(commune.c.code_insee, commune.c.nom, commune.c.epci_siren),
                    ["code", "libelle", "epci"],
                ),
                "reservataire": (
                    sa.select(reservataire.c.id, reservataire.c.nom, reservataire.c.nature),
                    ["code", "libelle", "nature"],
                ),
                "bailleur": (sa.select(bailleur.c.id, bailleur.c.nom), ["code", "libelle"]),
                "qpv": (
                    sa.select(qpv.c.code_qpv, qpv.c.nom, qpv.c.commune_code),
                    ["code", "libelle", "commune"],
                ),
            }[name]
            return self.frame(stmt, cols).set_index("code")

        return self.per_version(name, read)

    def labels(self, dimension: str) -> pd.Series:
        """Code → French label for a breakdown dimension (built once per data version)."""
        return self.per_version(("labels", dimension), lambda: self._labels(dimension)).copy()

    def _labels(self, dimension: str) -> pd.Series:
        if dimension == "nature_reservataire":
            labels = pd.Series(NATURES_RESERVATAIRE)
        elif dimension == "critere":
            labels = pd.Series(
                {
                    **{c: label for c, (label, _) in CRITERES.items()},
                    SANS_CRITERE[0]: SANS_CRITERE[1],
                }
            )
        elif dimension == "groupe_critere":
            labels = pd.Series({**GROUPES_CRITERE, SANS_CRITERE[0]: SANS_CRITERE[1]})
        else:
            labels = self._reference(dimension)["libelle"]
        return pd.concat([labels, pd.Series({UNKNOWN: "Non renseigné"})])

    def describe(self, filters: Filters) -> list[tuple[str, str]]:
        """The filters (period aside) as French (label, value) pairs, with the reference's
        names rather than codes: the one description that pages, exports and notebooks show
        (:meth:`Filters.describe`)."""

        def name(field: str, code) -> str:
            return self.labels(_NAMED_BY[field]).get(code, code) if field in _NAMED_BY else code

        return filters.describe(name)

    def territories(self, level: str, filters: Filters, scope: Scope) -> pd.DataFrame:
        """Communes or EPCI of the reference within filters and scope, indexed by code."""
        communes = self._reference("commune")
        epci, code = communes["epci"], communes.index.to_series()
        keep = pd.Series(True, index=communes.index)
        # an empty filter means « tous »; an empty scope axis means « rien »
        if filters.epci:
            keep &= epci.isin(filters.epci)
        if filters.communes:
            keep &= code.isin(filters.communes)
        if scope.epci is not None:
            keep &= epci.isin(scope.epci)
        if scope.communes is not None:
            keep &= code.isin(scope.communes)
        kept = communes[keep]
        if level == "commune":
            return kept[["libelle", "epci"]]
        return self._reference("epci").loc[
            lambda f: f.index.isin(kept["epci"].unique()), ["libelle"]
        ]

    def check(self, filters: Filters, scope: Scope) -> None:
        """Reject codes unknown to the replica or outside the scope, with a French message."""
        checks = [
            ("epci", filters.epci, "EPCI", "inconnu", scope.epci),
            ("commune", filters.communes, "Commune", "inconnue", scope.communes),
            ("reservataire", filters.reservataires, "Réservataire", "inconnu", scope.reservataires),
            ("bailleur", filters.bailleurs, "Bailleur", "inconnu", scope.bailleurs),
        ]
        for name, codes, what, inconnu, allowed in checks:
            if not codes:
                continue
            known = self._reference(name).index
            unknown = [c for c in codes if c not in known]
            if unknown:
                raise FilterError(
                    f"{what} {inconnu} dans la réplique : {', '.join(map(str, unknown))}."
                )
            if allowed is not None:
                outside = [c for c in codes if c not in allowed]
                if outside:
                    raise FilterError(
                        f"{what} hors de votre périmètre ({scope.label}) : "
                        f"{', '.join(map(str, outside))}."
                    )
        if filters.communes and scope.epci is not None:
            epci_of = self._reference("commune")["epci"]
            outside = [c for c in filters.communes if epci_of.get(c) not in scope.epci]
            if outside:
                raise FilterError(
                    f"Commune hors de votre périmètre ({scope.label}) : {', '.join(outside)}."
                )

    def prepare(self, filters: Filters | None, scope: Scope | None) -> tuple[Filters, Scope]:
        """The filters of a call, checked, and its scope: the replica's, narrowed by the
        call's (a call may narrow what a profile sees, never widen it)."""
        filters = filters if filters is not None else Filters()
        if not isinstance(filters, Filters):
            raise FilterError("Les filtres doivent être un objet Filters.")
        scope = self.scope.narrowed(scope)
        self.check(filters, scope)
        return filters, scope

    def coverage(self) -> Period:
        """Months the replica covers completely: from the month of its first lease (the next
        one when the data start after the 1st, lest a partial month pass for a fall in
        year-on-year comparisons) to the last complete month (see :meth:`default_period`)."""

        def read() -> Period:
            first = self.frame(sa.select(sa.func.min(bail.c.date_signature)), ["first"]).iloc[0, 0]
            end = self.default_period().end
            if pd.notna(first):  # the first month counts only if the data start on its first day
                start = date(first.year, first.month, 1)
                start = start if first.day == 1 else add_months(start, 1)
            else:
                start = end
            return Period(min(start, end), end)

        return self.per_version("coverage", read)

    def observation_date(
        self, filters: Filters | None = None, at: date | str | None = None
    ) -> date:
        """The date :meth:`demand_supply` observes for these arguments."""
        return self._observation_date(filters or Filters(), at)

    def _observation_date(self, filters: Filters, at: date | str | None) -> date:
        """``at`` if given; else the last day of the filters' end month; else the reference
        date; never after the reference date."""
        ref = self.reference_date()
        if at is not None:
            try:
                at = at if isinstance(at, date) else date.fromisoformat(str(at))
            except ValueError:
                raise FilterError(
                    f"Date d'observation invalide : {at!r} (format attendu : AAAA-MM-JJ)."
                ) from None
            if isinstance(at, datetime):
                at = at.date()
            if at > ref:
                raise FilterError(
                    f"La date d'observation ({date_label(at)}) est postérieure aux données "
                    f"de la réplique (jusqu'au {date_label(ref)})."
                )
            return at
        if filters.end is not None:
            return min(add_months(filters.end, 1) - timedelta(days=1), ref)
        return ref
