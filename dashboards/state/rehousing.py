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
from data_access.secrecy import SECONDARY, Publication, Secret

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

#: What a protected profile may see (statistical secrecy): breakdowns by territory only.
PROTECTED_BREAKDOWNS = ("epci", "commune")

#: Why a protected profile sees no monthly figures for one commune.
COMMUNE_MONTHS = (
    "Au mois, les chiffres d'une commune ne sont pas publiés pour votre profil (secret "
    "statistique) : choisissez un EPCI ou tout votre territoire pour le détail mensuel."
)

#: Why a protected profile sees no commune's figures in the current year.
COMMUNE_YEAR = (
    "Les chiffres par commune de {year} seront publiés quand l'année sera complète (secret "
    "statistique : d'un mois à l'autre, leur différence donnerait les relogements du mois "
    "dans la commune). Choisissez une année passée, ou un EPCI."
)

#: The legend of the marks.
SECRECY_NOTE = (
    "Secret statistique : « < {k} » remplace un nombre de 1 à {k1} ménages ; « s » masque un "
    "chiffre qui permettrait de retrouver un petit nombre par addition ou soustraction (et "
    "les parts calculées sur eux). Chiffres publiés par année civile, pour un territoire à "
    "la fois."
)


def protected_share(part, whole):
    """A share of two protected figures: masked if either is."""
    if isinstance(part, Secret) or isinstance(whole, Secret):
        return SECONDARY
    return share(part, whole)


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

    def __init__(self, replica, scope=None, protected: bool = False, **params):
        super().__init__(replica, scope, protected=protected, **params)
        if protected:  # statistical secrecy: breakdowns by territory only
            self.param.breakdown.objects = {BREAKDOWNS[k]: k for k in PROTECTED_BREAKDOWNS}
            self.param.breakdown.default = "epci"
            with param.discard_events(self):
                self.breakdown = "epci"

    # ------------------------------------------------------------------ the figures
    def key_figures(self) -> pd.DataFrame:
        """:meth:`Replica.rehousing_key_figures` for the chosen filters; for a protected
        profile, :meth:`protected_key_figures`."""
        if self.protected:
            return self.protected_key_figures()
        return self.replica.rehousing_key_figures(self.filters(), scope=self.scope)

    # ------------------------------------------------------------------ protected profiles
    def publication(self) -> Publication:
        """The chosen year's protected figures (:meth:`Replica.rehousing_publication`)."""
        return self.replica.rehousing_publication(self.period.end.year)

    def secrecy_note(self) -> str:
        k = self.replica.settings.secrecy_k
        return SECRECY_NOTE.format(k=k, k1=k - 1)

    @staticmethod
    def _protected_row(pub: Publication, when, territory) -> dict:
        """A territory's counts and share from the year's publication (read once per view:
        a breakdown asks it for every member)."""
        if territory[0] == "commune" and not pub.communes:
            raise FilterError(COMMUNE_YEAR.format(year=pub.year))
        prio, tous = (pub.get(when, territory, level) for level in ("prioritaires", "tous"))
        return {
            "relogements": tous,
            "relogements_prioritaires": prio,
            "part_prioritaires": protected_share(prio, tous),
        }

    def protected_key_figures(self) -> pd.DataFrame:
        """The key figures a protected profile reads: the year (its months available) and,
        but for a commune, its last month; no change on a year (it would give the year
        before's same months, which are not published, by difference)."""
        territory, pub = self.territory(), self.publication()
        rows = [{"fenetre": "periode", "fin": self.period.end,
                 **self._protected_row(pub, None, territory)}]  # fmt: skip
        if territory[0] != "commune":
            last = self.period.end
            rows.append({"fenetre": "dernier_mois", "fin": last,
                         **self._protected_row(pub, last, territory)})  # fmt: skip
        return pd.DataFrame(rows, dtype=object)  # marks stay what they are

    def _protected_series(self) -> pd.DataFrame:
        territory = self.territory()
        if territory[0] == "commune":
            raise FilterError(COMMUNE_MONTHS)
        pub = self.publication()
        rows = []
        for month in pub.months:
            row = {"mois": pd.Timestamp(month), **self._protected_row(pub, month, territory)}
            for group, column in GROUPS.items():
                row[column] = pub.get(month, territory, group)
            rows.append(row)
        out = pd.DataFrame(rows, dtype=object)  # marks stay what they are
        return out.assign(mois=pd.to_datetime(out["mois"]))

    def _protected_breakdown(self, by: str | None) -> pd.DataFrame:
        """Rows of a protected profile's breakdown by EPCI or commune, members of the chosen
        territory (with at least one rehousing, masked or not); ``by=None``: the total."""
        pub, territory = self.publication(), self.territory()
        columns = ["relogements", "relogements_prioritaires", "part_prioritaires"]
        if by is None:
            return pd.DataFrame(
                [{"libelle": "Total", **self._protected_row(pub, None, territory)}], dtype=object
            )
        if by not in PROTECTED_BREAKDOWNS:
            raise FilterError(
                "Cette ventilation n'est pas publiée pour votre profil (secret statistique)."
            )
        if by == "commune" and not pub.communes:
            raise FilterError(COMMUNE_YEAR.format(year=pub.year))
        communes = self._communes
        if territory[0] == "commune":
            code = territory[1]
            if by == "epci":  # the commune's EPCI, under the commune filter: its figures
                epci = communes["epci"].get(code)
                names = self.replica.labels("epci")
                members = [(epci, names.get(epci, epci), territory)]
            else:
                members = [(code, communes["libelle"].get(code, code), territory)]
        elif by == "epci":
            names = {v: k for k, v in self.param.epci.objects.items()}
            codes = [territory[1]] if territory[0] == "epci" else sorted(names)
            members = [(c, names.get(c, c), ("epci", c)) for c in codes]
        else:
            kept = (
                communes if territory[0] == "total" else communes[communes["epci"] == territory[1]]
            )
            members = [(c, kept["libelle"][c], ("commune", c)) for c in kept.index]
        rows = []
        for code, label, where in members:
            row = self._protected_row(pub, None, where)
            if row["relogements"] == 0:
                continue  # as for every profile: members with a rehousing
            rows.append({by: code, "libelle": label, **row})
        out = pd.DataFrame(rows, columns=[by, "libelle", *columns], dtype=object)
        order = out["relogements"].map(lambda v: -1 if isinstance(v, str) else v)
        return (
            out.assign(_o=order)
            .sort_values(["_o", "libelle"], ascending=[False, True], kind="stable")
            .drop(columns="_o")
            .reset_index(drop=True)
        )

    def series(self) -> pd.DataFrame:
        """One row per month: ``mois``, ``relogements``, ``relogements_prioritaires``,
        ``part_prioritaires`` and the priority rehousings of each main criterion group."""
        if self.protected:
            return self._protected_series()
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
        page's tables and in their exports, without other code. A protected profile: the
        counts and their share, protected (no waiting times: a median of a few households is
        one household's delay)."""
        if self.protected:
            frame = self._protected_breakdown(by)
            below = frame["part_prioritaires"].map(
                lambda v: (
                    None
                    if isinstance(v, str) or pd.isna(v)
                    else bool(v < self.replica.settings.priority_share_target)
                )
            )
            return frame.assign(sous_objectif=below.astype(object))
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
        if self.protected:
            return self.replica.prefetch([self.publication])
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
        if self.protected:
            return self._protected_table(key)
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

    def _protected_table(self, key: str) -> pd.DataFrame:
        if key == "serie":
            frame = self.series()
            territory, pub = self.territory(), self.publication()
            total = {"mois": "Total", **self._protected_row(pub, None, territory)}
            for group, column in GROUPS.items():
                total[column] = pub.get(None, territory, group)
            return pd.concat(
                [frame.astype({"mois": object}), pd.DataFrame([total], dtype=object)],
                ignore_index=True,
            )
        if key in PROTECTED_BREAKDOWNS:
            total = self.breakdown_table(None).assign(**{key: None})
            return pd.concat([self.breakdown_table(key), total], ignore_index=True)
        raise FilterError(
            f"Tableau non publié pour votre profil (secret statistique) : {TABLES.get(key, key)}."
        )

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
            secrecy=self.secrecy_note() if self.protected else None,
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
