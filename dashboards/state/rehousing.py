"""What the monthly rehousing page shows, and nothing of how: no Panel, no widgets.

:class:`RehousingState` adds to the shared filters (:class:`FilterState`: options, URL,
notices) the breakdown shown, and derives every figure of the page from ``data_access``:
key figures, the monthly series by main criterion group, one breakdown table per dimension,
the pipeline, and the export files.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import param

from dashboards.state.filters import (  # noqa: F401 (re-exported)
    FILTER_PARAMS,
    LISTS,
    MUTATION,
    QPV,
    QUERY,
    FilterState,
)
from data_access import FilterError, indicators
from data_access.export import ExportContext, filename, to_csv, to_xlsx
from data_access.filters import add_months
from data_access.queries.rehousing import share

#: Breakdown tabs: dimension → tab title (the dimensions' plural names).
BREAKDOWNS = {
    code: indicators.DIMENSIONS[code].plural
    for code in ("reservataire", "epci", "commune", "bailleur")
}

#: Exportable tables: key → title written in the file.
TABLES = {
    "serie": "Relogements mensuels par groupe de critère",
    "reservataire": "Relogements par réservataire",
    "epci": "Relogements par EPCI",
    "commune": "Relogements par commune",
    "bailleur": "Relogements par bailleur",
    "pipeline": "Des propositions aux baux, mois par mois",
}

#: Main criterion groups of the stacked chart, in stacking order (bottom first), with
#: the column each one gets in :meth:`RehousingState.series`.
GROUPS = {"DALO": "relogements_dalo", "ACD": "relogements_acd", "L441-1": "relogements_l441"}


class RehousingState(FilterState):
    """The monthly rehousing page's filters, and the figures they give."""

    VIEW_QUERY = {"onglet": "breakdown"}

    breakdown = param.Selector(
        default="reservataire",
        objects={v: k for k, v in BREAKDOWNS.items()},
        doc="Ventilation affichée",
    )

    # ------------------------------------------------------------------ the figures
    def key_figures(self) -> pd.DataFrame:
        """:meth:`Replica.rehousing_key_figures` for the chosen filters."""
        return self.replica.rehousing_key_figures(self.filters(), scope=self.scope)

    def series(self) -> pd.DataFrame:
        """One row per month: ``mois``, ``relogements``, ``relogements_prioritaires``,
        ``part_prioritaires`` and the priority rehousings of each main criterion group."""
        # the same query as the key figures' (a year more, from the shared cache), cut to the period
        by_group = self.replica.monthly_rehousing(
            self.filters().replace(start=add_months(self.period.start, -12)),
            by="groupe_critere",
            scope=self.scope,
        )
        by_group = by_group[by_group["mois"] >= pd.Timestamp(self.period.start)]
        # a full grid, month-major, groups sorted within each month (monthly_rehousing's
        # contract): reshaped with NumPy, as a pandas pivot costs more than the query
        months = np.array([np.datetime64(m, "ns") for m in self.period.months()])
        n_groups = len(by_group) // len(months)
        groups = list(by_group["groupe_critere"].iloc[:n_groups])

        def grid(column: str) -> np.ndarray:
            return by_group[column].to_numpy(dtype=np.int64).reshape(len(months), n_groups)

        leases, priority = grid("relogements"), grid("relogements_prioritaires")
        out = pd.DataFrame(
            {
                "mois": months,
                "relogements": leases.sum(axis=1),
                "relogements_prioritaires": priority.sum(axis=1),
            }
        )
        out["part_prioritaires"] = share(out["relogements_prioritaires"], out["relogements"])
        for group, column in GROUPS.items():
            out[column] = leases[:, groups.index(group)] if group in groups else 0
        return out

    def breakdown_table(self, by: str | None) -> pd.DataFrame:
        """The period's figures by ``by``, one row per member, largest first; ``by=None``:
        the total row. The columns are the registry's indicators of the ``repartition`` view
        (:func:`data_access.indicators.in_view`), each asked to its question with
        ``(filters, by=…, scope=…)``: an indicator declared for the view shows here, in the
        page's tables and in their exports, without other code."""
        shown = indicators.in_view("repartition", self.filters())
        key = [by] if by else []
        out = None
        for question in dict.fromkeys(i.question for i in shown):
            frame = getattr(self.replica, question)(self.filters(), by=by, scope=self.scope)
            columns = [i.code for i in shown if i.question == question]
            if out is None:
                out = frame[[*key, "libelle", *columns]]
            elif key:
                out = out.merge(frame[[by, *columns]], on=by, how="left")
            else:
                out = pd.concat([out, frame[columns].reset_index(drop=True)], axis=1)
        return out.reset_index(drop=True)

    def prefetch(self, tables: set[str]) -> list:
        """Start at once the cached questions the figures above ask, for the key figures,
        the chart and ``tables`` (breakdown keys, with their total row, and « pipeline »):
        the views, drawn one after the other, then read the answers as they arrive
        (:meth:`Replica.prefetch`). What each figure asks is listed here once more, in
        step with the methods above: tests/test_state_rehousing.py checks that a refresh
        after it asks the database nothing."""
        replica, filters, scope = self.replica, self.filters(), self.scope
        variants = [filters, filters.replace(criteres=())] if filters.criteres else [filters]
        calls = []
        for variant in variants:
            period = replica.period(variant)
            wide = variant.replace(start=add_months(period.start, -12), end=period.end)
            calls.append(partial(replica.monthly_rehousing, wide, by="groupe_critere", scope=scope))
            for by in sorted(tables & set(BREAKDOWNS)):
                calls.append(partial(replica.monthly_rehousing, variant, by=by, scope=scope))
        questions = {i.question for i in indicators.in_view("repartition", filters)}
        if "rehousing_delay" in questions and tables & set(BREAKDOWNS):
            for by in [*sorted(tables & set(BREAKDOWNS)), None]:
                calls.append(partial(replica.rehousing_delay, filters, by=by, scope=scope))
        if "pipeline" in tables:
            calls.append(partial(replica.pipeline, filters, scope=scope))
        return replica.prefetch(calls)

    def pipeline(self) -> pd.DataFrame:
        """:meth:`Replica.pipeline` for the chosen filters."""
        return self.replica.pipeline(self.filters(), scope=self.scope)

    def table(self, key: str) -> pd.DataFrame:
        """An exportable table (see :data:`TABLES`), totals included."""
        if key in ("serie", "pipeline"):
            frame = self.series() if key == "serie" else self.pipeline()
            total = frame.drop(columns="mois").sum().to_frame().T
            if key == "serie":
                total["part_prioritaires"] = share(
                    total["relogements_prioritaires"].iloc[0], total["relogements"].iloc[0]
                )
            total.insert(0, "mois", "Total")
            return pd.concat([frame.astype({"mois": object}), total], ignore_index=True)
        if key in BREAKDOWNS:
            total = self.breakdown_table(None).assign(**{key: None})
            return pd.concat([self.breakdown_table(key), total], ignore_index=True)
        raise FilterError(f"Tableau inconnu : {key!r}.")

    def export(self, key: str, fmt: str) -> tuple[str, bytes]:
        """(file name, content) of table ``key`` as ``csv`` or ``xlsx``, with its context."""
        title = TABLES[key]
        context = ExportContext(
            title=title,
            period=self.period,
            filters=self.describe(),
            freshness=str(self.replica.freshness_cached()),
            scope=self.scope.label,
            applied=self.filters(),
        )
        frame = self.table(key)
        content = to_csv(frame, context) if fmt == "csv" else to_xlsx(frame, context)
        return filename(title, self.period, fmt), content

    # ------------------------------------------------------------------ focus (click on a row)
    def focus(self, dimension: str, code) -> None:
        """Filter the page on one member of a breakdown (a click on its row)."""
        target = {
            "reservataire": "reservataires",
            "epci": "epci",
            "commune": "communes",
            "bailleur": "bailleurs",
        }[dimension]
        if code is None or (isinstance(code, float) and pd.isna(code)) or code == "INCONNU":
            self.notices = [
                *self.notices,
                "Cette ligne regroupe les valeurs non renseignées : "
                "elle ne peut pas servir de filtre.",
            ]
            return
        known = {
            "reservataires": self._reservataires.index,
            "epci": list(self.param.epci.objects.values()),
            "communes": self._communes.index,
            "bailleurs": list(self.param.bailleurs.objects.values()),
        }[target]
        if code not in known:
            self.notices = [
                *self.notices,
                f"Ce membre ({code}) est absent du référentiel : il ne peut pas servir de filtre.",
            ]
            return
        if target == "communes":
            epci_of = self._communes["epci"].get(code)
            updates = {"communes": [code]}
            if self.epci and epci_of not in self.epci:
                updates["epci"] = [epci_of]
            self.param.update(**updates)
        elif target == "reservataires" and self.natures_reservataire:
            nature = self._reservataires["nature"].get(code)
            self.param.update(
                natures_reservataire=[nature]
                if nature not in self.natures_reservataire
                else self.natures_reservataire,
                reservataires=[code],
            )
        else:
            self.param.update(**{target: [code]})
