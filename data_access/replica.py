"""The replica as the apps and notebooks see it: one object, plain methods, tidy DataFrames.

>>> replica = connect()                      # the embedded demo, read-only
>>> replica.monthly_rehousing(Filters(start="2024-01", end="2024-12"), by="reservataire")

:class:`Replica` is made of three parts, each readable in a sitting:

- :class:`~data_access.execution.Execution`: the engine, statement templates, the retry after
  a dropped connection, the data version and the result cache keyed on it;
- :class:`~data_access.references.References`: names, territories, months covered, and the
  check of every filter against them;
- the questions (``monthly_rehousing``, ``demand_supply``…), each declared once in its query
  module with :func:`~data_access.questions.question`; this module adds them as methods, and
  :meth:`Replica.ask` prepares, computes and caches every one of them the same way.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pandas as pd

import data_access.queries  # noqa: F401  (declares the questions)
from data_access.errors import FilterError
from data_access.execution import Freshness
from data_access.filters import Filters, Period, Scope
from data_access.questions import QUESTIONS, Question
from data_access.references import References
from data_access.secrecy import (
    Publication,
    TerritoryPublication,
    protect_rehousing,
    protect_territories,
)
from data_access.settings import Settings

__all__ = ["Freshness", "Replica", "connect"]


class Replica(References):
    """A read-only view on the shared file's replica, for one profile's scope. Create it with
    :func:`connect`. Its questions are listed by ``help(Replica)``; each one's definitions by
    ``help(replica.monthly_rehousing)``."""

    def __init__(
        self,
        url: str | None = None,
        scope: Scope | None = None,
        settings: Settings | None = None,
        cache: bool = True,
    ):
        super().__init__(url=url, settings=settings, cache=cache)
        self._scope = scope or Scope.departement()

    @property
    def scope(self) -> Scope:
        """What this replica's profile may see, fixed when it was opened: a call's ``scope``
        can only narrow it (there is no setter)."""
        return self._scope

    #: The same, under its former name.
    default_scope = scope

    def __setattr__(self, name: str, value: Any) -> None:
        # a profile's scope is fixed once bound: code holding a session's replica cannot widen
        # it (``replica._scope = Scope()`` included); open another replica instead
        if name == "_scope" and "_scope" in self.__dict__:
            raise AttributeError(
                "Le périmètre d'une réplique est fixé à son ouverture : il ne peut être changé."
            )
        super().__setattr__(name, value)

    def scoped(self, scope: Scope) -> Replica:
        """This replica for a profile that sees ``scope``, narrowed from this one's and fixed:
        the same engine, pool, data version and caches (each answer cached under its scope).
        A session's replica: one engine per process, one scope per signed-in user."""
        view = copy.copy(self)
        view.__dict__["_scope"] = self.scope.narrowed(scope)
        return view

    def rehousing_publication(self, year: int) -> Publication:
        """The year's rehousings in this replica's scope as a protected profile reads them:
        every figure the rehousing page may show it, with statistical secrecy applied
        together (:class:`~data_access.secrecy.Publication`; ``k``: ``RELOG_SECRECY_K``).
        The months are the year's the replica covers; the communes' figures are published
        for complete years only (within a year, two successive versions would give a
        commune's month by difference). Cached per data version and scope."""
        coverage = self.coverage()
        start, end = max(date(year, 1, 1), coverage.start), min(date(year, 12, 1), coverage.end)
        if start > end:
            raise FilterError(f"Aucun mois de {year} dans les données ({coverage}).")
        k = self.settings.secrecy_k

        def compute() -> Publication:
            cells = self.rehousing_cells(Filters(start=start, end=end))
            return protect_rehousing(cells, Period(start, end).months(), k)

        return self.cached("rehousing_publication", (year, k, self.scope), compute)

    #: The map's counts protected for protected profiles: each a whole, then its parts.
    MAP_FAMILIES = (
        ("demandes_actives", "demandes_prioritaires_actives"),
        ("logements_liberes_12m",),
    )

    def territory_publication(self, end) -> TerritoryPublication:
        """The map's counts of households at the end of month ``end`` (active demandes, the
        priority ones, dwellings freed over 12 months), by commune, EPCI and the whole scope,
        as a protected profile reads them (:class:`~data_access.secrecy.TerritoryPublication`).
        Cached per data version, scope and month."""
        k = self.settings.secrecy_k

        def compute() -> TerritoryPublication:
            communes = self.demand_supply(Filters(end=end), level="commune").set_index("commune")
            return protect_territories(communes, [list(f) for f in self.MAP_FAMILIES], k)

        return self.cached("territory_publication", (end, k, self.scope), compute)

    def ask(self, question: Question, arguments: dict[str, Any]) -> pd.DataFrame:
        """Answer ``question`` for its public ``arguments`` (by name): prepare them, then
        compute, or read the cache (see :mod:`data_access.questions`). A question a summary
        cannot answer is prepared and answered on the live replica throughout."""
        if not question.summarised:
            with self.live():
                return self._ask(question, arguments)
        return self._ask(question, arguments)

    def _ask(self, question: Question, arguments: dict[str, Any]) -> pd.DataFrame:
        args = dict(arguments)
        if "filters" in args or "scope" in args:
            filters, scope = self.prepare(args.get("filters"), args.get("scope"))
            args.update(filters=filters, scope=scope)
        if question.at is not None and "at" in args:
            filters = args["filters"]
            if question.at == "today":  # the filters' months do not date a check
                filters = filters.replace(end=None)
            args["at"] = self.observation_date(filters, args["at"])
        injected = {}
        if "period" in question.injected:
            injected["period"] = self.period(args["filters"])
        if "reference_date" in question.injected:
            injected["reference_date"] = self.reference_date()

        def compute() -> pd.DataFrame:
            return question.function(self, **args, **injected)

        if not question.cached:
            return compute()
        key = tuple(sorted({**args, **injected}.items()))
        return self.cached(question.name, key, compute)


for _question in QUESTIONS.values():
    setattr(Replica, _question.name, _question.method())


def connect(url: str | None = None, scope: Scope | None = None, cache: bool = True) -> Replica:
    """Open the replica read-only: ``url`` or ``RELOG_DATABASE_URL`` (PostgreSQL), else the
    embedded demo DuckDB file; ``scope``: what the profile may see (default: everything)."""
    return Replica(url=url, scope=scope, cache=cache)
