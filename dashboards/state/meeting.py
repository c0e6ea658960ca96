"""What the meeting page projects, without Panel: a sequence of views, one territory, one
calendar year, and every figure protected by statistical secrecy whoever looks (a room of
bailleurs, réservataires and associations).

The figures are the rehousing page's as a protected profile reads them
(:meth:`Replica.rehousing_publication`: small counts « < 5 », and what would give them away
by subtraction « s »); the address holds the meeting's set-up (``/reunion?vues=chiffres,
mois,repartition&epci=243100633&rotation=30``), so that a meeting is a bookmark.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import param

from dashboards.state.demand_supply import DemandSupplyState
from dashboards.state.filters import listed
from dashboards.state.rehousing import RehousingState
from data_access.filters import add_months, months_before
from data_access.formatting import date_label, month_label
from data_access.secrecy import Secret

#: The views a meeting may show, in their default order: code → French title.
VIEWS = {
    "chiffres": "Chiffres clés",
    "mois": "Mois par mois",
    "repartition": "Répartition par EPCI",
    "carte": "Demande et offre",
    "objectifs": "Objectifs de l'accord collectif",
}
#: Address names of the meeting's own settings.
MEETING_QUERY = {"vues": "views", "rotation": "rotation", "rang": "top"}
#: The map view's indicators: households waiting against dwellings freed over 12 months (both
#: published to protected profiles, masked as the map page masks them).
MAP_DEMAND, MAP_SUPPLY = "demandes_actives", "logements_liberes_12m"


def shown(value) -> str | int:
    """A count as the room may read it: its secrecy mark, or the number."""
    return value if isinstance(value, (str, Secret)) else int(value)


class MeetingState(RehousingState):
    """The meeting's views, territory and year; always protected."""

    views = param.List(default=list(VIEWS), item_type=str, doc="Vues projetées, dans l'ordre")
    rotation = param.Integer(
        default=0, bounds=(0, 3600), doc="Secondes avant la vue suivante (0 : pas de rotation)"
    )
    top = param.Integer(default=8, bounds=(3, 15), doc="EPCI montrés avant « autres »")
    current = param.Integer(default=0, bounds=(0, None), doc="Rang de la vue projetée")

    def __init__(self, replica, scope=None, **params):
        super().__init__(replica, scope=scope, protected=True, **params)
        self._map: DemandSupplyState | None = None

    # ------------------------------------------------------------------ the address
    def to_query(self) -> dict[str, str]:
        out = {k: v for k, v in super().to_query().items() if k != "onglet"}
        if self.views != list(VIEWS):
            out["vues"] = ",".join(self.views)
        if self.rotation:
            out["rotation"] = str(self.rotation)
        if self.top != self.param.top.default:
            out["rang"] = str(self.top)
        return out

    def apply_query(self, query: dict[str, str]) -> list[str]:
        """The rehousing page's filters (checked as there, narrowed to what a protected view
        may show), then the meeting's own: ``vues``, ``rotation`` (seconds), ``rang`` (how
        many EPCI before « autres »). A wrong value is left out and said in French."""
        mine, rest, updates = [], {}, {}
        for key, raw in query.items():
            value = raw[-1] if isinstance(raw, list) else str(raw)
            if key == "vues":
                codes = [v.strip() for v in value.split(",") if v.strip()]
                wrong = [c for c in codes if c not in VIEWS]
                kept = list(dict.fromkeys(c for c in codes if c in VIEWS))
                if wrong:
                    mine.append(
                        f"Vue(s) inconnue(s) ignorée(s) : {listed(wrong)} (vues possibles : "
                        f"{', '.join(VIEWS)})."
                    )
                updates["views"] = kept or list(VIEWS)
            elif key in ("rotation", "rang"):
                name = MEETING_QUERY[key]
                low, high = self.param[name].bounds
                if value.isdigit() and low <= int(value) <= high:
                    updates[name] = int(value)
                else:
                    mine.append(
                        f"{'Rotation' if key == 'rotation' else 'Rang'} invalide ignoré : "
                        f"« {value} » (un entier de {low} à {high})."
                    )
            elif key != "onglet":
                rest[key] = value
        notices = super().apply_query(rest)
        self.param.update(
            views=updates.get("views", list(VIEWS)),
            rotation=updates.get("rotation", 0),
            top=updates.get("top", self.param.top.default),
            current=0,
        )
        self.notices = notices + mine
        return self.notices

    # ------------------------------------------------------------------ what is projected
    def territory_label(self) -> str:
        kind = self.territory()
        if kind[0] == "total":
            return self.scope.label
        labels = self.replica.reference(kind[0])
        name = labels["libelle"].get(kind[1]) if "libelle" in labels else None
        return str(name or labels.iloc[:, 0].get(kind[1], kind[1]))

    def caption(self) -> str:
        """« CA du Sicoval · de janvier 2026 à octobre 2026 · Données extraites le … »."""
        text = str(self.period)
        return (
            f"{self.territory_label()} · {text[:1].upper()}{text[1:]} · "
            f"{self.replica.freshness_cached()}"
        )

    def month_figures(self) -> dict:
        """The last month of the period against the same month a year earlier, and the year
        to date against the same months a year earlier: counts (or their marks)."""
        territory, pub = self.territory(), self.publication()
        last = self.period.end
        out = {
            "mois": month_label(last),
            "mois_precedent": month_label(add_months(last, -12)),
            "annee": f"{month_label(self.period.start)} à {month_label(last)}",
        }
        for level in ("tous", "prioritaires"):
            out[f"{level}_mois"] = shown(pub.get(last, territory, level))
            out[f"{level}_annee"] = shown(pub.get(None, territory, level))
        before = add_months(last, -12)
        if before >= self.coverage.start:
            previous = self.replica.scoped(self.scope).rehousing_publication(before.year)
            months = [m for m in previous.months if m.month <= last.month]
            for level in ("tous", "prioritaires"):
                out[f"{level}_mois_precedent"] = shown(previous.get(before, territory, level))
                parts = [previous.get(m, territory, level) for m in months]
                # a year-to-date of the year before is published only when none of its
                # months is masked (else it would be a new total to subtract from)
                out[f"{level}_annee_precedente"] = (
                    sum(int(p) for p in parts)
                    if all(not isinstance(p, (str, Secret)) for p in parts)
                    else "s"
                )
        return out

    def top_breakdown(self) -> pd.DataFrame:
        """The EPCI with the most rehousings (``top``, among those whose figures are shown),
        then « Autres EPCI » and « Total ». « Autres » is the total less the rows shown —
        already deducible from them — and shows « < 5 » when it counts 1 to k − 1."""
        table = self.breakdown_table("epci")
        k = self.replica.settings.secrecy_k
        masked = table["relogements"].map(lambda v: isinstance(v, (str, Secret))).astype(bool)
        plain = table.loc[~masked]
        top = plain.sort_values("relogements", ascending=False).head(self.top)
        total = self.breakdown_table(None).iloc[0]
        rows = top[["libelle", "relogements", "relogements_prioritaires"]].to_dict("records")
        if len(top) < len(table):
            rest = {"libelle": "Autres EPCI"}
            for column in ("relogements", "relogements_prioritaires"):
                whole = total[column]
                parts = top[column]
                if isinstance(whole, (str, Secret)) or any(
                    isinstance(p, (str, Secret)) for p in parts
                ):
                    rest[column] = "s"
                else:
                    value = int(whole) - int(sum(int(p) for p in parts))
                    rest[column] = f"< {k}" if 0 < value < k else value
            rows.append(rest)
        rows.append(
            {
                "libelle": "Total",
                "relogements": shown(total["relogements"]),
                "relogements_prioritaires": shown(total["relogements_prioritaires"]),
            }
        )
        return pd.DataFrame(rows)

    def objectives(self) -> pd.DataFrame:
        """The accord collectif by EPCI, year to date: the target prorated to the months
        elapsed (public: the plan's), the priority rehousings as the publication protects
        them, and the rate when both are shown; the EPCI with the largest targets first
        (``top`` − 2: the view holds one more column), then « Autres EPCI » and « Total »
        built as :meth:`top_breakdown`'s."""
        k = self.replica.settings.secrecy_k
        territory, pub = self.territory(), self.publication()
        progress = self.replica.objective_progress("epci", year=self.period.end.year)
        if territory[0] != "total":
            epci = (
                territory[1] if territory[0] == "epci" else self._communes["epci"].get(territory[1])
            )
            progress = progress[progress["epci"] == epci]
        progress = progress.dropna(subset=["objectif_prorata"])
        progress = progress.sort_values("objectif_prorata", ascending=False)
        rows = []
        for _, row in progress.iterrows():
            done = shown(pub.get(None, ("epci", row["epci"]), "prioritaires"))
            rows.append({"libelle": row["libelle"], "objectif_prorata": row["objectif_prorata"],
                         "relogements_prioritaires": done})  # fmt: skip
        plain = [r for r in rows if not isinstance(r["relogements_prioritaires"], (str, Secret))]
        top = plain[: max(3, self.top - 2)]  # a column more than the breakdown: two rows less
        out = list(top)
        total_done = shown(pub.get(None, ("total",) if territory[0] == "total" else
                                   ("epci", progress["epci"].iloc[0]) if len(progress) else
                                   territory, "prioritaires"))  # fmt: skip
        target = float(progress["objectif_prorata"].sum())
        if len(top) < len(rows):
            rest_target = target - sum(r["objectif_prorata"] for r in top)
            if isinstance(total_done, (str, Secret)):
                rest = "s"
            else:
                value = int(total_done) - sum(int(r["relogements_prioritaires"]) for r in top)
                rest = f"< {k}" if 0 < value < k else value
            out.append({"libelle": "Autres EPCI", "objectif_prorata": rest_target,
                        "relogements_prioritaires": rest})  # fmt: skip
        out.append({"libelle": "Total", "objectif_prorata": target,
                    "relogements_prioritaires": total_done})  # fmt: skip
        frame = pd.DataFrame(out, columns=["libelle", "objectif_prorata",
                                           "relogements_prioritaires"])  # fmt: skip
        frame["taux_atteinte"] = [
            None if isinstance(d, (str, Secret)) or not t else int(d) / t
            for d, t in zip(frame["relogements_prioritaires"], frame["objectif_prorata"])
        ]
        return frame

    def map_state(self) -> DemandSupplyState:
        """The map page's state as a protected profile reads it, on the meeting's territory
        and the period's last month: the department by EPCI, one EPCI by its communes (a
        commune: its EPCI's communes, the commune alone in the selection)."""
        if self._map is None:
            self._map = DemandSupplyState(
                self.replica, self.scope, protected=True, demand=MAP_DEMAND, supply=MAP_SUPPLY
            )
        level = "epci" if self.territory()[0] == "total" else "commune"
        self._map.param.update(
            epci=list(self.epci), communes=list(self.communes), end=self.period.end, level=level
        )
        return self._map

    def map_caption(self) -> str:
        """« CA du Sicoval · Demandes au 31/10/2026, logements libérés du 01/11/2025 au
        31/10/2026 · Données extraites le … »."""
        at = self.map_state().at
        since = months_before(at, 12) + timedelta(days=1)
        return (
            f"{self.territory_label()} · Demandes au {date_label(at)}, logements libérés du "
            f"{date_label(since)} au {date_label(at)} · {self.replica.freshness_cached()}"
        )

    def data_version(self):
        return self.replica.data_version()

    @staticmethod
    def now_label() -> str:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        return datetime.now(ZoneInfo("Europe/Paris")).strftime("%H:%M")
