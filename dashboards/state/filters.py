"""The filters every page shares, and nothing of how they are shown: no Panel, no widgets.

:class:`FilterState` holds the filters a user chose (each parameter documented; the docs
become the widgets' tooltips), keeps the dependent lists in step (réservataires follow their
natures, communes their EPCI), turns itself into the data-access :class:`Filters`, and into a
URL query and back, checking every value, so that a shared link restores the view and a
wrong value becomes a French notice instead of an error. Pages subclass it.
"""

from __future__ import annotations

import unicodedata
from datetime import date

import pandas as pd
import param

from data_access import FilterError, Filters, Period, Replica, Scope
from data_access.filters import FILTER_LABELS, FLAG_LABELS, add_months, parse_month
from data_access.formatting import int_label, month_label
from data_access.schema import CRITERES, NATURES_RESERVATAIRE

#: The yes/no filters' choices (label → URL value); their labels are the filters' own.
MUTATION = {
    "Toutes les demandes": "tous",
    FLAG_LABELS["mutation"][True]: "oui",
    FLAG_LABELS["mutation"][False]: "non",
}
QPV = {
    "Tous les logements": "tous",
    FLAG_LABELS["qpv"][True]: "oui",
    FLAG_LABELS["qpv"][False]: "non",
}

#: URL query name → parameter. Lists are comma-separated codes.
QUERY = {
    "debut": "start",
    "fin": "end",
    "natures": "natures_reservataire",
    "reservataires": "reservataires",
    "epci": "epci",
    "communes": "communes",
    "bailleurs": "bailleurs",
    "criteres": "criteres",
    "mutation": "mutation",
    "qpv": "qpv",
}
LISTS = ("natures_reservataire", "reservataires", "epci", "communes", "bailleurs", "criteres")
FILTER_PARAMS = ["start", "end", *LISTS, "mutation", "qpv"]

_WHAT = {
    "natures_reservataire": "Nature de réservataire",
    "reservataires": "Réservataire",
    "epci": "EPCI",
    "communes": "Commune",
    "bailleurs": "Bailleur",
    "criteres": "Critère de priorité",
    "mutation": "Filtre mutation",
    "qpv": "Filtre QPV",
    "breakdown": "Onglet",
    "level": "Niveau",
    "demand": "Indicateur de demande",
    "supply": "Indicateur d'offre",
    "typologie": "Typologie",
}


_FEMININE = ("natures_reservataire", "communes")
#: Codes one filter of an address may list: the department's 586 communes would not fit in
#: an address the server accepts (the page's session token repeats the address, and Tornado
#: refuses headers over 64 kB); a link to that many members is a forged or broken one.
MAX_CODES = 100
#: Codes a notice names before « et N autres ».
NAMED_CODES = 10


def listed(codes: list) -> str:
    """``codes`` for a notice: the first :data:`NAMED_CODES`, then how many more."""
    shown = ", ".join(str(c) for c in codes[:NAMED_CODES])
    more = len(codes) - NAMED_CODES
    return shown if more <= 0 else f"{shown} et {int_label(more)} autre{'s' if more > 1 else ''}"


def _as_id(item: str):
    """« 12 » → 12; anything else (« ² », « abc ») stays text, hence unknown."""
    try:
        return int(item) if item.isascii() else item
    except ValueError:
        return item


def _sort_key(label: str) -> str:
    """French alphabetical order: accents ignored (« Écully » after « Eaunes »)."""
    return unicodedata.normalize("NFKD", str(label)).encode("ascii", "ignore").decode().lower()


def _options(labels: pd.Series) -> dict[str, object]:
    """Label → code, sorted by label, labels made unique."""
    out: dict[str, object] = {}
    for code, label in sorted(labels.items(), key=lambda kv: _sort_key(kv[1])):
        out[label if label not in out else f"{label} ({code})"] = code
    return out


class FilterState(param.Parameterized):
    """The filters a user chose, shared by every page (each page adds its own view parameters).

    Subclasses list their own URL names in ``VIEW_QUERY`` (name → parameter); those
    parameters are Selectors, checked and restored like the filters."""

    VIEW_QUERY: dict[str, str] = {}

    start = param.Selector(default=None, objects=[], doc="Premier mois inclus")
    end = param.Selector(default=None, objects=[], doc="Dernier mois inclus")
    natures_reservataire = param.ListSelector(
        default=[], objects=[], doc="Natures de réservataire retenues (aucune : toutes)"
    )
    reservataires = param.ListSelector(
        default=[],
        objects=[],
        doc="Réservataires retenus (aucun : tous) ; la liste suit les natures choisies",
    )
    epci = param.ListSelector(default=[], objects=[], doc="EPCI du logement (aucun : tous)")
    communes = param.ListSelector(
        default=[],
        objects=[],
        doc="Communes du logement (aucune : toutes) ; la liste suit les EPCI choisis",
    )
    bailleurs = param.ListSelector(
        default=[], objects=[], doc="Bailleurs du logement (aucun : tous)"
    )
    criteres = param.ListSelector(
        default=[],
        objects=[],
        doc="Ne compter que les ménages détenant l'un de ces critères à la date de la CAL",
    )
    mutation = param.Selector(
        default="tous",
        objects=MUTATION,
        doc="Demandes de mutation ou premiers accès au parc social",
    )
    qpv = param.Selector(
        default="tous",
        objects=QPV,
        doc="Logement situé dans un quartier prioritaire de la politique de la ville, ou hors QPV",
    )
    notices = param.List(
        default=[],
        item_type=str,
        doc="Avis à montrer à l'utilisateur (valeurs d'adresse ignorées…)",
    )

    #: Filters a protected profile cannot use (statistical secrecy: each one would let two
    #: views be subtracted); they are not offered, and a link's values are ignored.
    UNPROTECTED = ("natures_reservataire", "reservataires", "bailleurs", "criteres")
    #: Whether a protected profile's period is a calendar year (the rehousing page) or
    #: any observation month (the map: stocks at a date, not flows).
    YEARLY = True

    def __init__(
        self, replica: Replica, scope: Scope | None = None, protected: bool = False, **params
    ):
        self.replica = replica
        self.scope = replica.default_scope.narrowed(scope)
        #: Statistical secrecy (a partner's profile): figures of one calendar year and one
        #: territory at a time (all of the scope, one EPCI or one commune), small counts
        #: masked (:meth:`Replica.rehousing_publication`).
        self.protected = protected
        super().__init__(**params)
        self._load_options()
        if protected and self.YEARLY:
            self.param.watch(self._snap_year, ["start", "end"])

    @classmethod
    def opened(cls, replica: Replica, values: dict | None = None, **kwargs) -> FilterState:
        """A state on ``replica`` showing ``values``, given by parameter name as a notebook
        writes them (``epci=["243100633"]``, ``start="2025-01"``, ``breakdown="bailleur"``):
        checked as an address is, a wrong value left out and said in ``notices``."""
        state = cls(replica, **kwargs)
        names = {name: key for key, name in {**QUERY, **cls.VIEW_QUERY}.items()}
        query = {}
        for name, value in (values or {}).items():
            if name not in names:
                raise FilterError(
                    f"Paramètre inconnu : « {name} » (attendu : {', '.join(sorted(names))})."
                )
            if isinstance(value, (list, tuple, set)):
                value = ",".join(map(str, value))
            elif isinstance(value, date):
                value = f"{value:%Y-%m}"
            query[names[name]] = str(value)
        if query:
            state.apply_query(query)
        return state

    # ------------------------------------------------------------------ options and defaults
    def _load_options(self) -> None:
        replica, scope = self.replica, self.scope
        self.coverage = replica.coverage()
        self.default_period = replica.default_period()
        months = {month_label(m): m for m in reversed(self.coverage.months())}
        self.param.start.objects = months
        self.param.end.objects = months
        self.param.natures_reservataire.objects = {
            label: code for code, label in NATURES_RESERVATAIRE.items()
        }
        self.param.criteres.objects = {label: code for code, (label, _) in CRITERES.items()}
        self._reservataires = replica.reference("reservataire")
        if scope.reservataires is not None:
            self._reservataires = self._reservataires[
                self._reservataires.index.isin(scope.reservataires)
            ]
        self._communes = replica.territories("commune", Filters(), scope)
        self.param.epci.objects = _options(replica.territories("epci", Filters(), scope)["libelle"])
        bailleurs = replica.reference("bailleur")["libelle"]
        if scope.bailleurs is not None:
            bailleurs = bailleurs[bailleurs.index.isin(scope.bailleurs)]
        self.param.bailleurs.objects = _options(bailleurs)
        self._follow_natures()
        self._follow_epci()
        if self.protected and self.YEARLY:  # calendar years: from January (or the first month)
            years = range(self.coverage.end.year, self.coverage.start.year - 1, -1)
            bounds = [self.year_bounds(y) for y in years]
            self.param.start.objects = {month_label(s): s for s, _ in bounds}
            self.param.end.objects = {month_label(e): e for _, e in bounds}
            self.default_period = Period(*bounds[0])
        with param.discard_events(self):
            self.start, self.end = self.default_period.start, self.default_period.end

    # ------------------------------------------------------------------ protected profiles
    def year_bounds(self, year: int) -> tuple[date, date]:
        """The months of ``year`` the replica covers (first, last)."""
        return (
            max(date(year, 1, 1), self.coverage.start),
            min(date(year, 12, 1), self.coverage.end),
        )

    def _snap_year(self, *events) -> None:
        """A protected profile's period is one calendar year: choosing its first or its last
        month chooses the year."""
        bounds = self.year_bounds(events[-1].new.year)
        if (self.start, self.end) != bounds:
            self.param.update(start=bounds[0], end=bounds[1])

    def territory(self) -> tuple:
        """The one territory a protected profile looks at: ``("commune", insee)``,
        ``("epci", siren)`` or ``("total",)`` (the whole scope)."""
        if self.communes:
            return ("commune", self.communes[0])
        if self.epci:
            return ("epci", self.epci[0])
        return ("total",)

    def _protect(self, updates: dict, notices: list[str]) -> None:
        """A link's values a protected profile cannot use: ignored, and said."""
        dropped = [_WHAT[n] for n in self.UNPROTECTED if updates.get(n)]
        dropped += [_WHAT[n] for n in ("mutation", "qpv") if updates.get(n, "tous") != "tous"]
        if dropped:
            notices.append(
                "Filtre(s) non disponible(s) pour votre profil (secret statistique), "
                f"ignoré(s) : {', '.join(dropped)}."
            )
        updates.update({n: [] for n in self.UNPROTECTED}, mutation="tous", qpv="tous")
        for name in ("epci", "communes"):
            if len(updates.get(name, [])) > 1:
                notices.append(
                    f"Un seul territoire à la fois pour votre profil (secret statistique) : "
                    f"{_WHAT[name]} {updates[name][0]} retenu(e)."
                )
                updates[name] = updates[name][:1]
        bounds = self.year_bounds(updates["end"].year)
        if self.YEARLY and (updates["start"], updates["end"]) != bounds:
            notices.append(
                "Pour votre profil, les chiffres sont publiés par année civile (secret "
                f"statistique) : période ramenée à {updates['end'].year}."
            )
            updates["start"], updates["end"] = bounds

    def _kept_reservataires(self, natures) -> pd.DataFrame:
        kept = self._reservataires
        return kept[kept["nature"].isin(natures)] if natures else kept

    def _kept_communes(self, epci) -> pd.DataFrame:
        kept = self._communes
        return kept[kept["epci"].isin(epci)] if epci else kept

    @param.depends("natures_reservataire", watch=True)
    def _follow_natures(self) -> None:
        """The réservataire list shows the chosen natures' réservataires only."""
        self._narrow("reservataires", self._kept_reservataires(self.natures_reservataire))

    @param.depends("epci", watch=True)
    def _follow_epci(self) -> None:
        """The commune list shows the chosen EPCI's communes only."""
        self._narrow("communes", self._kept_communes(self.epci))

    def _narrow(self, name: str, kept: pd.DataFrame) -> None:
        """Offer only ``kept`` in list ``name``, and drop the chosen values it no longer holds."""
        self.param[name].objects = _options(kept["libelle"])
        chosen = getattr(self, name)
        if any(v not in kept.index for v in chosen):
            setattr(self, name, [v for v in chosen if v in kept.index])

    def reset(self) -> None:
        """Back to the default view: the 12 last complete months, no filter."""
        self.param.update(
            start=self.default_period.start,
            end=self.default_period.end,
            **{name: [] for name in LISTS},
            mutation="tous",
            qpv="tous",
            notices=[],
        )

    # ------------------------------------------------------------------ what the user asked
    @property
    def period(self) -> Period:
        return Period(min(self.start, self.end), max(self.start, self.end))

    def filters(self) -> Filters:
        """The chosen filters as the data-access API takes them."""
        flag = {"tous": None, "oui": True, "non": False}
        if self.protected:  # the period and one territory, nothing else
            return Filters(
                start=self.period.start,
                end=self.period.end,
                epci=self.epci[:1],
                communes=self.communes[:1],
            )
        return Filters(
            start=self.period.start,
            end=self.period.end,
            reservataires=self.reservataires,
            natures_reservataire=self.natures_reservataire,
            epci=self.epci,
            communes=self.communes,
            bailleurs=self.bailleurs,
            criteres=self.criteres,
            mutation=flag[self.mutation],
            qpv=flag[self.qpv],
        )

    def caption(self) -> str:
        """« De janvier 2025 à décembre 2025 · Données extraites le 14/11/2026 »."""
        text = str(self.period)
        return f"{text[:1].upper()}{text[1:]} · {self.replica.freshness_cached()}"

    def describe(self) -> list[tuple[str, str]]:
        """The active filters, in French, with names rather than codes: the replica's one
        describer (:meth:`Replica.describe`), as exports and notebooks write them."""
        return self.replica.describe(self.filters())

    # ------------------------------------------------------------------ URL
    def to_query(self) -> dict[str, str]:
        """The view as URL query values; defaults are left out so that a bookmark without
        a period always shows the 12 last complete months."""
        out = {}
        if (self.start, self.end) != (self.default_period.start, self.default_period.end):
            out["debut"], out["fin"] = f"{self.period.start:%Y-%m}", f"{self.period.end:%Y-%m}"
        for key, name in QUERY.items():
            if name in LISTS and getattr(self, name):
                out[key] = ",".join(map(str, getattr(self, name)))
            elif name in ("mutation", "qpv") and getattr(self, name) != "tous":
                out[key] = getattr(self, name)
        for key, name in self.VIEW_QUERY.items():
            if getattr(self, name) != self.param[name].default:
                out[key] = getattr(self, name)
        return out

    def apply_query(self, query: dict[str, str]) -> list[str]:
        """Set the view from URL query values. Every value is checked: a wrong one is left
        out and described in the returned French notices (also added to ``notices``)."""
        notices, updates = [], {name: self.param[name].default for name in LISTS}
        updates.update(
            start=self.default_period.start,
            end=self.default_period.end,
            mutation="tous",
            qpv="tous",
            **{name: self.param[name].default for name in self.VIEW_QUERY.values()},
        )
        unknown: list[str] = []
        for key, raw in query.items():
            raw = raw[-1] if isinstance(raw, list) else str(raw)
            name = QUERY.get(key, self.VIEW_QUERY.get(key))
            if name is None:
                unknown.append(f"« {key} »")
            elif name in LISTS:
                # a link's réservataires and communes are checked against the whole scope:
                # the natures and EPCI of the same link are applied below
                allowed = {
                    "communes": set(self._communes.index),
                    "reservataires": set(self._reservataires.index),
                }.get(name, set(self.param[name].objects.values()))
                items = list(dict.fromkeys(filter(None, (v.strip() for v in raw.split(",")))))
                if len(items) > MAX_CODES:
                    notices.append(
                        f"Trop de codes dans l'adresse pour le filtre « {FILTER_LABELS[name]} » "
                        f"({int_label(len(items))}, au plus {MAX_CODES}) : filtre ignoré."
                    )
                    continue
                values, wrong = [], []
                for item in items:
                    code = _as_id(item) if name in ("reservataires", "bailleurs") else item
                    if code in values:
                        continue  # a repeated code is harmless
                    (values if code in allowed else wrong).append(code if code in allowed else item)
                if wrong:
                    e = "e" if name in _FEMININE else ""
                    notices.append(
                        f"{_WHAT[name]} ignoré{e} (inconnu{e} ou hors de votre périmètre) : "
                        f"{listed(wrong)}."
                    )
                updates[name] = values
            elif name in ("start", "end"):
                try:
                    month = parse_month(raw, "mois")
                except FilterError:
                    notices.append(
                        f"Mois invalide dans l'adresse, ignoré : « {raw} » "
                        "(format attendu : AAAA-MM)."
                    )
                    continue
                if not self.coverage.start <= month <= self.coverage.end:
                    notices.append(f"Mois hors des données ({self.coverage}), ignoré : « {raw} ».")
                    continue
                updates[name] = month
            else:
                options = self.param[name].objects
                values = options.values() if isinstance(options, dict) else options
                if raw in values:
                    updates[name] = raw
                else:
                    notices.append(f"{_WHAT[name]} : valeur inconnue ignorée, « {raw} ».")
        if unknown:
            s = "s" if len(unknown) > 1 else ""
            notices.insert(0, f"Paramètre{s} d'adresse inconnu{s} ignoré{s} : {listed(unknown)}.")
        if "fin" in query and "debut" not in query:  # as the API: the 12 months ending then
            updates["start"] = max(self.coverage.start, add_months(updates["end"], -11))
        if updates["start"] > updates["end"]:
            notices.append(
                "Période de l'adresse vide (début après la fin), ignorée : "
                "les 12 derniers mois complets sont affichés."
            )
            updates["start"], updates["end"] = self.default_period.start, self.default_period.end
        if self.protected:
            self._protect(updates, notices)
        # communes and réservataires must belong to the EPCI and natures of the same link
        communes_ok = self._kept_communes(updates["epci"])
        reservataires_ok = self._kept_reservataires(updates["natures_reservataire"])
        dropped = [c for c in updates["communes"] if c not in communes_ok.index] + [
            str(r) for r in updates["reservataires"] if r not in reservataires_ok.index
        ]
        if dropped:
            notices.append(
                f"Ignoré car hors des EPCI ou natures choisis dans l'adresse : {listed(dropped)}."
            )
        updates["communes"] = [c for c in updates["communes"] if c in communes_ok.index]
        updates["reservataires"] = [
            r for r in updates["reservataires"] if r in reservataires_ok.index
        ]
        # the lists first, so that the new values are valid choices; then one update, one refresh
        self.param.communes.objects = _options(communes_ok["libelle"])
        self.param.reservataires.objects = _options(reservataires_ok["libelle"])
        self.param.update(**updates, notices=notices)
        return notices
