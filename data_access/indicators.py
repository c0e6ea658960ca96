"""The indicator registry: every figure the product shows, declared once.

An :class:`Indicator` is a column of a question's result (``relogements_prioritaires`` of
:meth:`Replica.monthly_rehousing`, ``tension`` of :meth:`Replica.demand_supply`…). Its
declaration holds everything the other layers need to show it: French labels, unit and
format, the definition users read (hover, exports, notebooks, ``help()``), the questions
computing it, the filters it follows (so a page or a file can say « non filtré par le
bailleur » instead of silently mixing bases), whether it counts households (statistical
secrecy hooks there) and its colour role. Pages, exports, maps and notebooks read it; no
French indicator label or definition is written anywhere else.

The descriptive columns of the same results (codes, labels, months) are :class:`Column`\\ s,
and the breakdowns :class:`Dimension`\\ s, declared here too.

>>> INDICATORS["part_prioritaires"].format(0.274)
'27,4 %'
>>> ignored(["demandes_actives"], Filters(bailleurs=[2]))
['Bailleurs']
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from data_access.filters import FILTER_LABELS, Filters
from data_access.formatting import decimal_label, int_label, month_label, pct_label
from data_access.schema import DECISIONS_CAL


def _missing(value) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class Unit:
    """How a kind of figure is written: on screen (French), in a CSV for French Excel, and
    as an Excel number format."""

    #: ``nombre``, ``part``, ``ratio``, ``points``, ``mois``, ``jours``, ``oui_non``,
    #: ``mois_calendaire``, ``date``, ``texte``.
    code: str
    #: Decimals shown on screen and in CSV files.
    decimals: int = 0
    #: Excel number format of the cells (None: as the value comes).
    excel: str | None = None
    #: What follows the number on screen (« mois », « points »).
    suffix: str = ""

    @property
    def numeric(self) -> bool:
        return self.code in ("nombre", "part", "ratio", "points", "mois", "jours")

    def format(self, value) -> str:
        """The value as a French reader reads it on screen; « – » when empty."""
        if _missing(value):
            return "–"
        if isinstance(value, str):  # masked by statistical secrecy: its mark
            return str(value)
        if self.code == "part":
            return pct_label(value, self.decimals)
        if self.code == "oui_non":
            return "oui" if value else "non"
        if self.code == "mois_calendaire":
            return month_label(pd.Timestamp(value).date())
        if self.code == "date":
            return pd.Timestamp(value).strftime("%d/%m/%Y")
        if self.numeric:
            text = int_label(value) if self.decimals == 0 else decimal_label(value, self.decimals)
            return f"{text}\u00a0{self.suffix}" if self.suffix else text
        return str(value)

    def csv(self, value) -> str:
        """The value in a CSV cell French Excel reads as a number: decimal comma, no
        thousands separator (« 1 234 » would be text), shares in percent."""
        if _missing(value):
            return ""
        if isinstance(value, str):  # a total row's « Total », a label
            return value
        if self.code == "part":
            return f"{value * 100:.{self.decimals}f}".replace(".", ",")
        if self.numeric:
            return f"{value:.{self.decimals}f}".replace(".", ",")
        if self.code in ("mois_calendaire", "date", "oui_non"):
            return self.format(value)
        if isinstance(value, float):
            return f"{value:g}".replace(".", ",")
        return str(value)

    def excel_value(self, value):
        """The value as an Excel cell holds it (numbers and dates as such)."""
        if _missing(value):
            return None
        if isinstance(value, str):
            return value
        if self.code in ("mois_calendaire", "date"):
            return pd.Timestamp(value).date()
        if self.code == "oui_non":
            return "oui" if value else "non"
        if self.numeric:
            return int(value) if self.decimals == 0 and self.code != "part" else float(value)
        return value if isinstance(value, (int, float)) else str(value)


COUNT = Unit("nombre", 0, "#,##0")
WEIGHTED = Unit("nombre", 2, "#,##0.00")
SHARE = Unit("part", 1, "0.0%")
RATIO = Unit("ratio", 2, "0.00")
POINTS = Unit("points", 1, "+0.0;-0.0;0.0", "points")
MONTHS = Unit("mois", 1, "0.0", "mois")
DAYS = Unit("jours", 0, "#,##0", "jours")
FLAG = Unit("oui_non")
PER_MONTH = Unit("nombre", 1, "#,##0.0", "par mois")
MONTH = Unit("mois_calendaire", excel="mmmm yyyy")
DATE = Unit("date", excel="dd/mm/yyyy")
TEXT = Unit("texte")

#: Filter fields (of :class:`Filters`), by what a figure's source can follow. Periods are
#: each question's own (a month's leases, an observation date): not listed.
ALL_FILTERS = frozenset(
    (
        "reservataires",
        "natures_reservataire",
        "epci",
        "communes",
        "bailleurs",
        "criteres",
        "mutation",
        "qpv",
    )
)
#: Demand (active demandes on their wished communes): territory, criteria, mutation.
DEMAND_FILTERS = frozenset(("epci", "communes", "criteres", "mutation"))
#: Dwellings in service: territory, bailleur, QPV (no réservataire under gestion en flux).
STOCK_FILTERS = frozenset(("epci", "communes", "bailleurs", "qpv"))
#: Freed dwellings, oriented to a réservataire: the stock's filters and the réservataire's.
FREED_FILTERS = STOCK_FILTERS | {"reservataires", "natures_reservataire"}


@dataclass(frozen=True)
class Indicator:
    """One figure, declared once (see the module docstring)."""

    #: The column of the questions' results, e.g. ``relogements_prioritaires``.
    code: str
    #: French label, complete (export headings, hovers, legends).
    label: str
    #: French label for a table column or a chart legend.
    short: str
    #: How it is written.
    unit: Unit
    #: The definition users read: French sentences, each complete (shared ones, such as what
    #: a rehousing is, are written once and listed once in a file).
    sentences: tuple[str, ...]
    #: The ``Replica`` questions whose results hold this column; the first is the one a page
    #: view asks for it (for ``repartition``: a question answering per member of a
    #: breakdown over the period, asked with ``(filters, by=…, scope=…)``).
    questions: tuple[str, ...]
    #: The filter fields the figure follows; the others it does not (see :func:`ignored`).
    honours: frozenset[str] = ALL_FILTERS
    #: True when the figure is a number of households (statistical secrecy applies).
    counts_households: bool = False
    #: For a share, rate or median: the count of households it is computed on.
    based_on: str | None = None
    #: Colour role (``theme.COLOURS`` gives the colour): ``prioritaire``, ``dalo``, ``acd``,
    #: ``l441``, ``non_prioritaire``, ``demande``, ``offre``, ``desequilibre``.
    colour: str | None = None
    #: What an empty value means, when it can be empty (a ratio without divisor).
    empty: str | None = None
    #: Page views that show it by themselves: ``repartition`` (the rehousing page's
    #: breakdown tables), ``carte`` (the map's hover).
    views: tuple[str, ...] = field(default=())
    #: When views show it: always (None), only under a criteria filter (``criteres``) or
    #: only without one (``sans_criteres``).
    when: str | None = None
    #: For a ratio: its numerator's and denominator's indicators. When an active filter
    #: applies to one and not the other, the ratio would divide two different bases: it is
    #: not computed (:func:`mixed_bases`).
    ratio_of: tuple[str, str] | None = None

    def shown_with(self, filters: Filters | None) -> bool:
        """Whether a view shows this figure under ``filters``."""
        if self.when is None or filters is None:
            return True
        return bool(filters.criteres) == (self.when == "criteres")

    def __post_init__(self):
        if isinstance(self.sentences, str):
            object.__setattr__(self, "sentences", (self.sentences,))

    def format(self, value) -> str:
        return self.unit.format(value)

    @property
    def question(self) -> str:
        """The question a view asks for this figure."""
        return self.questions[0]

    @property
    def definition(self) -> str:
        """The whole definition, as a hover or a note shows it."""
        return " ".join(self.sentences)

    @property
    def heading(self) -> str:
        """The column heading of a file: the label, with its unit for a share or a duration."""
        if self.unit.code == "part":
            return f"{self.label} (%)"
        return (
            f"{self.label} ({self.unit.suffix})"
            if self.unit.code in ("mois", "jours")
            else self.label
        )

    def ignored(self, filters: Filters) -> list[str]:
        """The French names of the active filters this figure does not follow."""
        return [label for name, label in _active(filters) if name not in self.honours]


@dataclass(frozen=True)
class Column:
    """A descriptive column of results (a code, a label, a month)."""

    code: str
    label: str
    unit: Unit = TEXT

    short = property(lambda self: self.label)
    heading = property(lambda self: self.label)

    def format(self, value) -> str:
        return self.unit.format(value)


@dataclass(frozen=True)
class Dimension:
    """A breakdown of results: its code column, its French names and the filter it maps to."""

    #: The code column of a breakdown (``reservataire``, ``epci``…).
    code: str
    #: « Réservataire ».
    label: str
    #: « Réservataires » (a tab, a heading).
    plural: str
    #: Heading of the code column in files (« SIREN de l'EPCI »).
    code_heading: str
    #: The :class:`Filters` field a member filters on (a click on its row), if any.
    filter: str | None = None


DIMENSIONS: dict[str, Dimension] = {
    d.code: d
    for d in (
        Dimension(
            "reservataire", "Réservataire", "Réservataires", "Identifiant du réservataire",
            "reservataires",
        ),
        Dimension(
            "nature_reservataire", "Nature du réservataire", "Natures de réservataire",
            "Nature du réservataire", "natures_reservataire",
        ),
        Dimension("epci", "EPCI", "EPCI", "SIREN de l'EPCI", "epci"),
        Dimension("commune", "Commune", "Communes", "Code INSEE de la commune", "communes"),
        Dimension("bailleur", "Bailleur", "Bailleurs", "Identifiant du bailleur", "bailleurs"),
        Dimension("critere", "Critère principal", "Critères principaux", "Critère principal"),
        Dimension(
            "groupe_critere", "Groupe de critère", "Groupes de critère", "Groupe de critère"
        ),
    )
}  # fmt: skip

# ---------------------------------------------------------------- definitions shared by several
_LEASE = "Relogement : bail signé, compté au mois de sa date de signature (définition nationale)."
_PRIORITY = (
    "Ménage prioritaire : la demande détenait au moins un critère de priorité (DALO, "
    "labellisation accord collectif / PDALHPD, critère de l'article L441-1 du CCH) valide à la "
    "date de la décision de la CALEOL qui a attribué le logement."
)
_MAIN = (
    "Critère principal : DALO, sinon accord collectif / PDALHPD, sinon un autre critère L441-1 ; "
    "un ménage n'est compté qu'une fois."
)
_YEAR = "Évolution : par rapport aux mêmes mois de l'année précédente."
_ACTIVE = (
    "Demande active : déposée au plus tard à la date d'observation et non radiée à cette date."
)
_WINDOW = "sur les 12 mois qui s'achèvent à la date d'observation"
_DELAY = (
    "Délai d'attente : du dépôt de la demande (ancienneté conservée au renouvellement) à la "
    "signature du bail, pour les baux signés sur la période (ménage prioritaire : critère "
    "détenu à la date de la CAL)."
)
_ABNORMAL = (
    "Délai anormalement long : bail signé après au moins 36 mois révolus d'attente (réglage "
    "RELOG_ABNORMAL_DELAY_MONTHS)."
)
_Q1_LEASES = (
    "Attribution (loi Égalité et Citoyenneté) : bail signé depuis le 1er janvier de l'année, "
    "situé dans l'EPCI du logement."
)
_Q1 = (
    "Premier quartile : ressources annuelles par unité de consommation (revenu mensuel de la "
    "demande × 12 ÷ unités de consommation, tels que la réplique les tient) strictement sous "
    "le seuil du premier quartile de l'EPCI pour l'année (arrêté annuel)."
)
_FORECAST = (
    "Prévision au 31 décembre : le réalisé depuis janvier plus, pour chaque mois restant, le "
    "mois moyen des 12 derniers mois complets ; intervalle à 80 % : 5e et 95e centiles de "
    "4 000 tirages (bootstrap en deux temps : un rythme tiré parmi ces 12 mois, puis les mois "
    "restants tirés de ce rythme), largeur calibrée sur les années passées pour que le "
    "chiffre du 31 décembre y tombe 8 fois sur 10."
)
_FORECAST_SHARE = "Pour une part, numérateur et dénominateur d'un même mois sont tirés ensemble."
_FORECAST_COUNT = "Comparée à l'objectif annuel (non proratisé)."
_GROUPS = (
    ("prioritaires", "prioritaires", "relogements_prioritaires"),
    ("non_prioritaires", "non prioritaires", "relogements"),
)
_REHOUSING = ("rehousing_summary", "monthly_rehousing", "rehousing_key_figures")


def _count(code, label, short, sentences, questions, **kw) -> Indicator:
    """A count of households."""
    return Indicator(code, label, short, COUNT, sentences, questions, counts_households=True, **kw)


_DECLARED: list[Indicator | Column] = [
    # ------------------------------------------------------------ rehousing
    _count(
        "relogements",
        "Relogements (baux signés)",
        "Relogements",
        _LEASE,
        (*_REHOUSING, "objective_progress", "objective_months"),
        views=("repartition",),
        when="sans_criteres",
    ),
    _count(
        "relogements_prioritaires",
        "Relogements de ménages prioritaires",
        "dont prioritaires",
        (_PRIORITY, _LEASE),
        (*_REHOUSING, "objective_progress", "objective_months", "objective_forecast"),
        colour="prioritaire",
        views=("repartition",),
        when="sans_criteres",
    ),
    Indicator(
        "part_prioritaires",
        "Part des ménages prioritaires",
        "Part prioritaire",
        SHARE,
        "Part des ménages prioritaires : relogements de ménages prioritaires ÷ relogements.",
        ("rehousing_summary", "rehousing_key_figures", "objective_progress"),
        based_on="relogements",
        colour="prioritaire",
        views=("repartition",),
        when="sans_criteres",  # 100 % under a criteria filter: the group's share is shown
    ),
    Indicator(
        "sous_objectif",
        "Part prioritaire sous l'objectif légal",
        "Objectif",
        FLAG,
        (
            "Sous l'objectif : moins de 25 % des relogements au bénéfice de ménages prioritaires "
            "(article L441-1 du CCH ; réglage RELOG_PRIORITY_SHARE_TARGET).",
        ),
        ("rehousing_summary",),
        based_on="relogements",
        views=("repartition",),
        when="sans_criteres",
    ),
    # under a criteria filter: the group against all households (the other filters applied)
    _count(
        "relogements_tous_menages",
        "Relogements, tous ménages",
        "Tous ménages",
        (
            "Relogements de tous les ménages, avec les autres filtres que celui des critères : "
            "la base de la part des critères choisis.",
            _LEASE,
        ),
        ("rehousing_summary", "rehousing_key_figures"),
        honours=ALL_FILTERS - {"criteres"},
        views=("repartition",),
        when="criteres",
    ),
    _count(
        "relogements_criteres",
        "Relogements des ménages des critères choisis",
        "Critères choisis",
        (
            "Relogements des ménages qui détenaient l'un des critères choisis à la date de la "
            "décision de la CALEOL.",
            _LEASE,
        ),
        ("rehousing_summary", "rehousing_key_figures"),
        colour="prioritaire",
        views=("repartition",),
        when="criteres",
    ),
    Indicator(
        "part_criteres",
        "Part des critères choisis dans l'ensemble des relogements",
        "Part des critères choisis",
        SHARE,
        (
            "Part des critères choisis : relogements des ménages qui détenaient l'un de ces "
            "critères ÷ relogements de tous les ménages, avec les mêmes autres filtres.",
        ),
        ("rehousing_summary", "rehousing_key_figures"),
        based_on="relogements_tous_menages",
        colour="prioritaire",
        views=("repartition",),
        when="criteres",
    ),
    Indicator(
        "evolution_tous_menages",
        "Évolution des relogements de tous les ménages sur un an",
        "Évolution",
        SHARE,
        _YEAR,
        ("rehousing_key_figures",),
        honours=ALL_FILTERS - {"criteres"},
        based_on="relogements_tous_menages",
    ),
    Indicator(
        "ecart_part_criteres",
        "Évolution de la part des critères choisis sur un an",
        "Évolution",
        POINTS,
        _YEAR,
        ("rehousing_key_figures",),
        based_on="relogements_tous_menages",
    ),
    _count(
        "relogements_dalo",
        "Relogements prioritaires au titre du DALO",
        "DALO",
        (_MAIN, _PRIORITY),
        ("monthly_rehousing",),
        colour="dalo",
    ),
    _count(
        "relogements_acd",
        "Relogements prioritaires au titre de l'accord collectif / PDALHPD",
        "ACD / PDALHPD",
        (_MAIN, _PRIORITY),
        ("monthly_rehousing",),
        colour="acd",
    ),
    _count(
        "relogements_l441",
        "Relogements prioritaires au titre d'un autre critère L441-1",
        "Autres critères L441-1",
        (_MAIN, _PRIORITY),
        ("monthly_rehousing",),
        colour="l441",
    ),
    _count(
        "relogements_non_prioritaires",
        "Relogements de ménages non prioritaires",
        "Non prioritaires",
        ("Relogements de ménages sans critère de priorité à la date de la CAL.", _LEASE),
        ("monthly_rehousing",),
        colour="non_prioritaire",
    ),
    Indicator(
        "evolution_relogements",
        "Évolution des relogements sur un an",
        "Évolution",
        SHARE,
        _YEAR,
        ("rehousing_key_figures",),
        based_on="relogements",
    ),
    Indicator(
        "evolution_prioritaires",
        "Évolution des relogements prioritaires sur un an",
        "Évolution",
        SHARE,
        _YEAR,
        ("rehousing_key_figures",),
        based_on="relogements_prioritaires",
    ),
    Indicator(
        "ecart_part",
        "Évolution de la part des ménages prioritaires sur un an",
        "Évolution",
        POINTS,
        _YEAR,
        ("rehousing_key_figures",),
        based_on="relogements",
    ),
    # ------------------------------------------------------------ waiting time of the rehoused
    *[
        Indicator(
            f"delai_median_{group}",
            f"Délai d'attente médian des ménages {label} relogés",
            f"Délai médian ({label})",
            MONTHS,
            (_DELAY, "Médiane en mois (jours ÷ 30,44)."),
            ("rehousing_delay",),
            based_on=count,
            views=("repartition",),
        )
        for group, label, count in _GROUPS
    ],
    *[
        Indicator(
            f"part_delai_anormal_{group}",
            f"Part des ménages {label} relogés après un délai anormalement long",
            f"Délai anormal ({label})",
            SHARE,
            (_DELAY, _ABNORMAL),
            ("rehousing_delay",),
            based_on=count,
            views=("repartition",),
        )
        for group, label, count in _GROUPS
    ],
    # ------------------------------------------------------------ pipeline
    _count(
        "propositions",
        "Propositions",
        "Propositions",
        "Propositions de logement faites aux ménages, à leur date.",
        ("pipeline",),
    ),
    _count(
        "refus_menage",
        "Refus du ménage",
        "Refus du ménage",
        "Propositions refusées par le ménage ou restées sans réponse (ce qui vaut refus, "
        "article R441-10 du CCH), à la date de la réponse.",
        ("pipeline",),
    ),
    *[
        _count(
            f"cal_{code}",
            f"Décisions CAL : {label.lower()}",
            f"CAL : {label.lower()}",
            f"Décisions de la CALEOL de nature « {label.lower()} », à la date de la commission.",
            ("pipeline",),
        )
        for code, label in DECISIONS_CAL.items()
    ],
    _count(
        "baux_signes",
        "Baux signés",
        "Baux signés",
        ("Baux, à leur date de signature (les relogements).", _LEASE),
        ("pipeline",),
    ),
    _count(
        "entrees_dans_les_lieux",
        "Entrées dans les lieux",
        "Entrées dans les lieux",
        "Baux, à la date d'entrée dans les lieux.",
        ("pipeline",),
    ),
    # ------------------------------------------------------------ objectives
    Indicator(
        "objectif_part",
        "Objectif de part prioritaire",
        "Objectif",
        SHARE,
        "Part des attributions à consacrer aux ménages prioritaires : l'objectif propre du "
        "réservataire, sinon celui du département, sinon 25 % (article L441-1 du CCH).",
        ("objective_progress", "objective_forecast"),
    ),
    Indicator(
        "ecart_points",
        "Écart à l'objectif (points)",
        "Écart",
        POINTS,
        "Part des ménages prioritaires moins l'objectif, en points de pourcentage.",
        ("objective_progress",),
        based_on="relogements",
    ),
    Indicator(
        "objectif_atteint",
        "Objectif atteint",
        "Atteint",
        FLAG,
        "Oui quand la part des ménages prioritaires atteint l'objectif (vide sans relogement).",
        ("objective_progress",),
        based_on="relogements",
    ),
    Indicator(
        "objectif_annuel",
        "Objectif annuel (relogements prioritaires)",
        "Objectif annuel",
        Unit("nombre", 1, "#,##0.0"),
        "Objectif annuel de relogements de ménages prioritaires de l'accord collectif "
        "départemental (somme des objectifs des bailleurs du territoire).",
        ("objective_progress", "objective_forecast"),
    ),
    Indicator(
        "objectif_prorata",
        "Objectif au prorata des mois écoulés",
        "Objectif au prorata",
        Unit("nombre", 1, "#,##0.0"),
        "Objectif annuel × mois écoulés depuis janvier ÷ 12.",
        ("objective_progress",),
    ),
    Indicator(
        "taux_atteinte",
        "Taux d'atteinte",
        "Taux d'atteinte",
        SHARE,
        "Relogements de ménages prioritaires depuis janvier ÷ objectif au prorata.",
        ("objective_progress",),
        based_on="relogements_prioritaires",
    ),
    # ------------------------------------------------------------ first quartile (loi EC)
    Indicator(
        "seuil_q1",
        "Seuil du premier quartile (€ par UC et par an)",
        "Seuil Q1",
        Unit("nombre", 0, "#,##0", "€"),
        "Ressources annuelles par unité de consommation sous lesquelles un demandeur est du "
        "premier quartile, fixées chaque année par arrêté pour l'EPCI.",
        ("quartile_rules",),
    ),
    _count(
        "attributions_hors_qpv",
        "Attributions hors QPV",
        "Attributions hors QPV",
        (_Q1_LEASES, "Hors QPV : logement sans code de quartier prioritaire."),
        ("quartile_rules", "objective_months"),
    ),
    _count(
        "q1_hors_qpv",
        "dont ménages du premier quartile",
        "dont 1er quartile",
        (_Q1_LEASES, _Q1),
        ("quartile_rules", "objective_months"),
    ),
    Indicator(
        "part_q1_hors_qpv",
        "Part des attributions hors QPV au premier quartile",
        "Part 1er quartile hors QPV",
        SHARE,
        (
            "Attributions hors QPV à des ménages du premier quartile ÷ attributions hors QPV "
            "(objectif : au moins 25 %, loi Égalité et Citoyenneté ; réglage "
            "RELOG_Q1_OUTSIDE_QPV_TARGET).",
        ),
        ("quartile_rules",),
        based_on="attributions_hors_qpv",
    ),
    _count(
        "attributions_qpv",
        "Attributions en QPV",
        "Attributions en QPV",
        (_Q1_LEASES, "En QPV : logement situé dans un quartier prioritaire de la ville."),
        ("quartile_rules", "objective_months"),
    ),
    _count(
        "hors_q1_qpv",
        "dont ménages hors premier quartile",
        "dont hors 1er quartile",
        (_Q1_LEASES, _Q1),
        ("quartile_rules", "objective_months"),
    ),
    Indicator(
        "part_hors_q1_qpv",
        "Part des attributions en QPV hors premier quartile",
        "Part hors 1er quartile en QPV",
        SHARE,
        (
            "Attributions en QPV à des ménages hors premier quartile (ressources connues) ÷ "
            "attributions en QPV (objectif : au moins 50 % ; réglage "
            "RELOG_OUTSIDE_Q1_IN_QPV_TARGET).",
        ),
        ("quartile_rules",),
        based_on="attributions_qpv",
    ),
    _count(
        "ressources_inconnues",
        "Attributions aux ressources inconnues",
        "Ressources inconnues",
        (
            _Q1_LEASES,
            "Ressources inconnues : sans revenu, sans unités de consommation ou sans seuil de "
            "l'EPCI pour l'année ; comptées dans les attributions, dans aucun des deux groupes.",
        ),
        ("quartile_rules", "objective_months"),
    ),
    _count(
        "attributions",
        "Attributions concernées par la règle",
        "Attributions",
        (_Q1_LEASES, "Hors QPV pour la règle du 1er quartile, en QPV pour l'autre règle."),
        ("quartile_rules",),
    ),
    _count(
        "menages_regle",
        "Ménages visés par la règle",
        "Ménages visés",
        (_Q1_LEASES, _Q1),
        ("quartile_rules",),
    ),
    Indicator(
        "part_regle",
        "Part atteinte depuis janvier",
        "Part",
        SHARE,
        "Ménages visés par la règle ÷ attributions concernées (ressources inconnues comptées "
        "dans les attributions).",
        ("quartile_rules",),
        based_on="attributions",
    ),
    # ------------------------------------------------------------ year-end forecasts
    Column("mois_restants", "Mois restants", COUNT),
    Indicator(
        "part_realisee",
        "Part réalisée depuis janvier",
        "Réalisé",
        SHARE,
        "Part atteinte du 1er janvier au dernier mois complet.",
        ("objective_forecast",),
    ),
    Indicator(
        "prevision_part",
        "Prévision au 31 décembre (part)",
        "Prévision",
        SHARE,
        (_FORECAST, _FORECAST_SHARE),
        ("objective_forecast",),
    ),
    Indicator(
        "prevision_part_basse",
        "Prévision, borne basse de l'intervalle à 80 % (part)",
        "Borne basse",
        SHARE,
        (_FORECAST, _FORECAST_SHARE),
        ("objective_forecast",),
    ),
    Indicator(
        "prevision_part_haute",
        "Prévision, borne haute de l'intervalle à 80 % (part)",
        "Borne haute",
        SHARE,
        (_FORECAST, _FORECAST_SHARE),
        ("objective_forecast",),
    ),
    Indicator(
        "prevision",
        "Prévision au 31 décembre (relogements prioritaires)",
        "Prévision",
        Unit("nombre", 0, "#,##0"),
        (_FORECAST, _FORECAST_COUNT),
        ("objective_forecast",),
    ),
    Indicator(
        "prevision_basse",
        "Prévision, borne basse de l'intervalle à 80 %",
        "Borne basse",
        Unit("nombre", 0, "#,##0"),
        (_FORECAST, _FORECAST_COUNT),
        ("objective_forecast",),
    ),
    Indicator(
        "prevision_haute",
        "Prévision, borne haute de l'intervalle à 80 %",
        "Borne haute",
        Unit("nombre", 0, "#,##0"),
        (_FORECAST, _FORECAST_COUNT),
        ("objective_forecast",),
    ),
    Indicator(
        "rythme_actuel",
        "Rythme actuel (par mois)",
        "Rythme actuel",
        PER_MONTH,
        "Ménages comptés par l'objectif (relogements prioritaires, ou ménages de la règle du "
        "quartile), en moyenne par mois sur les 12 derniers mois complets.",
        ("objective_forecast",),
    ),
    Indicator(
        "rythme_necessaire",
        "Rythme nécessaire (par mois restant)",
        "Rythme nécessaire",
        PER_MONTH,
        (
            "Ménages à compter chaque mois restant pour atteindre l'objectif au 31 décembre "
            "(pour une part : au rythme actuel des attributions) ; vide en décembre.",
        ),
        ("objective_forecast",),
        empty="sans objet (année close ou aucune attribution)",
    ),
    Indicator(
        "prevision_atteint",
        "Objectif atteint selon la prévision",
        "Atteint en fin d'année ?",
        FLAG,
        "Oui quand la prévision au 31 décembre atteint l'objectif (vide sans objectif).",
        ("objective_forecast",),
    ),
    # ------------------------------------------------------------ demand and supply
    _count(
        "demandes_actives",
        "Demandes actives (1er choix)",
        "Demandes actives (1er choix)",
        (_ACTIVE, "Chaque demande est comptée sur sa commune de premier choix."),
        (
            "demand_supply",
            "typology_pressure",
            "priority_backlog",
            "backlog_by_epci",
            "backlog_trend",
        ),
        honours=DEMAND_FILTERS,
        colour="demande",
        views=("carte",),
    ),
    Indicator(
        "demandes_actives_ponderees",
        "Demandes actives pondérées",
        "Demandes pondérées",
        WEIGHTED,
        (
            _ACTIVE,
            "Chaque demande compte 1/n sur chacune de ses n communes souhaitées : la somme sur "
            "le territoire dépasse le nombre de premiers choix quand des demandes le citent en "
            "2e choix ou au-delà.",
        ),
        ("demand_supply",),
        honours=DEMAND_FILTERS,
        counts_households=True,
        colour="demande",
        views=("carte",),
    ),
    _count(
        "demandes_prioritaires_actives",
        "Demandes prioritaires actives (1er choix)",
        "Demandes prioritaires (1er choix)",
        (
            _ACTIVE,
            "Demandes dont le ménage détient un critère de priorité à la date d'observation, "
            "sur leur commune de premier choix.",
        ),
        ("demand_supply",),
        honours=DEMAND_FILTERS,
        colour="demande",
        views=("carte",),
    ),
    _count(
        "logements",
        "Logements sociaux",
        "Logements sociaux",
        "Logements sociaux en service à la date d'observation (RPLS).",
        ("demand_supply",),
        honours=STOCK_FILTERS,
        colour="offre",
        views=("carte",),
    ),
    _count(
        "logements_liberes_12m",
        "Logements libérés (12 mois)",
        "Logements libérés (12 mois)",
        f"Logements libérés et orientés vers un réservataire {_WINDOW}.",
        ("demand_supply",),
        honours=FREED_FILTERS,
        colour="offre",
        views=("carte",),
    ),
    _count(
        "baux_12m",
        "Baux signés (12 mois)",
        "Baux signés (12 mois)",
        f"Baux signés {_WINDOW}.",
        ("demand_supply", "typology_pressure"),
        colour="offre",
        views=("carte",),
    ),
    _count(
        "relogements_prioritaires_12m",
        "Relogements prioritaires (12 mois)",
        "Relogements prioritaires (12 mois)",
        f"Baux signés {_WINDOW} par des ménages prioritaires (critère détenu à la date de la CAL).",
        ("demand_supply",),
        colour="offre",
        views=("carte",),
    ),
    Indicator(
        "tension",
        "Tension (demandes ÷ baux)",
        "Tension",
        RATIO,
        (
            f"Demandes actives (1er choix) ÷ baux signés {_WINDOW} (sans objet sans bail).",
            "Non calculée quand un filtre ne s'applique qu'aux baux (réservataire, bailleur, "
            "QPV) : elle rapporterait la demande de tous à l'offre d'une partie.",
        ),
        ("demand_supply",),
        honours=DEMAND_FILTERS,
        based_on="baux_12m",
        ratio_of=("demandes_actives", "baux_12m"),
        colour="demande",
        empty="sans objet (aucun bail)",
        views=("carte",),
    ),
    Indicator(
        "pression",
        "Pression de la typologie",
        "Pression",
        RATIO,
        "Demandes actives dont c'est la typologie cible (selon la taille du ménage) ÷ baux "
        f"signés de cette typologie {_WINDOW}.",
        ("typology_pressure",),
        honours=DEMAND_FILTERS,
        based_on="baux_12m",
        ratio_of=("demandes_actives", "baux_12m"),
    ),
    Indicator(
        "pression_globale",
        "Pression toutes typologies",
        "Pression globale",
        RATIO,
        "Demandes actives ÷ baux signés, toutes typologies du territoire.",
        ("typology_pressure",),
        honours=DEMAND_FILTERS,
        based_on="baux_12m",
        ratio_of=("demandes_actives", "baux_12m"),
    ),
    Indicator(
        "desequilibre",
        "Pression typologique",
        "Pression typologique",
        RATIO,
        "Pression de la typologie choisie (demandes ÷ baux de cette typologie) rapportée à la "
        "pression toutes typologies du territoire : au-dessus de 1, cette typologie est plus "
        "difficile à obtenir que la moyenne (méthode DRIHL).",
        ("typology_pressure",),
        honours=DEMAND_FILTERS,
        based_on="baux_12m",
        ratio_of=("demandes_actives", "baux_12m"),
        colour="desequilibre",
        empty="sans objet (aucun bail de cette typologie, ou aucune demande)",
        views=("carte",),
    ),
    # ------------------------------------------------------------ priority backlog
    _count(
        "demandes_prioritaires",
        "Demandes prioritaires actives",
        "Demandes prioritaires",
        (_ACTIVE, "Demandes dont le ménage détient un critère de priorité à cette date."),
        ("priority_backlog", "backlog_by_epci", "backlog_trend"),
        honours=DEMAND_FILTERS,
    ),
    _count(
        "demandes_dalo",
        "Demandes DALO actives",
        "Demandes DALO",
        (_ACTIVE, "Demandes dont le ménage est reconnu prioritaire et urgent (DALO)."),
        ("priority_backlog", "backlog_by_epci", "backlog_trend"),
        honours=DEMAND_FILTERS,
    ),
    _count(
        "dalo_delai_depasse",
        "DALO au-delà du délai de relogement",
        "DALO hors délai",
        "Ménages reconnus DALO depuis plus que le délai légal de relogement (6 mois, réglage "
        "RELOG_DALO_DEADLINE_MONTHS) et toujours en attente.",
        ("priority_backlog", "backlog_by_epci", "dalo_overdue", "backlog_trend"),
        honours=DEMAND_FILTERS,
    ),
    _count(
        "demandes_delai_anormal",
        "Demandes au-delà du délai anormalement long",
        "Au-delà du délai anormal",
        (
            _ACTIVE,
            "Demandes actives déposées depuis au moins le délai anormalement long de l'EPCI de "
            "leur premier choix (arrêté préfectoral : réglage RELOG_ABNORMAL_DELAY_MONTHS, "
            "36 mois par défaut, et RELOG_ABNORMAL_DELAY_EPCI pour les EPCI qui en diffèrent).",
        ),
        ("backlog_by_epci", "backlog_trend"),
        honours=DEMAND_FILTERS,
    ),
    Indicator(
        "part_delai_anormal",
        "Part des demandes au-delà du délai anormalement long",
        "Part au-delà du délai",
        SHARE,
        "Demandes au-delà du délai anormalement long ÷ demandes actives.",
        ("backlog_by_epci", "backlog_trend"),
        honours=DEMAND_FILTERS,
        based_on="demandes_actives",
    ),
    # ------------------------------------------------------------ reconciliation
    _count(
        "attributions_date_cal",
        "Attributions (date de CAL)",
        "Attributions",
        "Propositions dont la première attribution ferme de la CALEOL tombe dans le mois.",
        ("reconciliation",),
    ),
    _count(
        "attributions_bail_meme_mois",
        "dont bail signé le même mois",
        "Bail le même mois",
        "Attributions du mois dont le bail est signé le même mois.",
        ("reconciliation",),
    ),
    _count(
        "attributions_bail_plus_tard",
        "dont bail signé un mois suivant",
        "Bail plus tard",
        "Attributions du mois dont le bail est signé un mois suivant.",
        ("reconciliation",),
    ),
    _count(
        "attributions_sans_bail",
        "dont sans bail à ce jour",
        "Sans bail",
        "Attributions sans bail signé à la date des données (refus après la CAL, retrait, "
        "signature à venir).",
        ("reconciliation",),
    ),
    _count(
        "baux_date_signature",
        "Baux signés (date de signature)",
        "Baux signés",
        _LEASE,
        ("reconciliation",),
    ),
    _count(
        "baux_cal_mois_anterieur",
        "dont attribués en CAL un mois antérieur",
        "CAL un mois antérieur",
        "Baux du mois dont l'attribution ferme date d'un mois antérieur.",
        ("reconciliation",),
    ),
    _count(
        "baux_sans_cal",
        "dont sans attribution ferme enregistrée",
        "Sans attribution ferme",
        "Baux sans attribution ferme sur la proposition (attribution au rang 2 ou 3, ou décision "
        "non saisie).",
        ("reconciliation",),
    ),
    # ------------------------------------------------------------ descriptive columns
    Column("mois", "Mois", MONTH),
    Column("libelle", "Libellé"),
    Column("fenetre", "Fenêtre"),
    Column("debut", "Début", MONTH),
    Column("fin", "Fin", MONTH),
    Column("typologie", "Typologie"),
    Column("tranche_anciennete", "Ancienneté de la demande"),
    Column("mois_min", "Ancienneté minimale (mois)", COUNT),
    Column("mois_max", "Ancienneté maximale (mois)", COUNT),
    Column("au_dela_delai_anormal", "Au-delà du délai anormalement long", FLAG),
    Column("proposition", "Proposition"),
    Column("numero_unique", "Numéro unique"),
    Column("date_proposition", "Date de proposition", DATE),
    Column("date_cal", "Date de CAL", DATE),
    Column("date_depot", "Date de dépôt", DATE),
    Column("decision", "Décision"),
    Column("jours_en_attente", "Jours en attente", COUNT),
    Column("jours_depuis_cal", "Jours depuis la CAL", COUNT),
    Column("groupe", "Groupe", COUNT),
    Column("commune_residence", "Code INSEE de la commune de résidence"),
    Column("commune_residence_nom", "Commune de résidence"),
    Column("nb_personnes", "Nombre de personnes", COUNT),
    Column("typologie_recherchee", "Typologie recherchée"),
    Column("revenu_mensuel", "Revenu mensuel (€)", Unit("nombre", 2, "#,##0.00")),
    Column("baux_meme_mois", "dont attribués en CAL le même mois", COUNT),
    Column("delai_anormal_mois", "Délai anormalement long de l'EPCI (mois)", COUNT),
    Column("anciennete_dalo", "Ancienneté de la reconnaissance DALO"),
    Column("au", "Observé le", DATE),
    Column("regle", "Règle du premier quartile"),
]

#: Every indicator, by code.
INDICATORS: dict[str, Indicator] = {i.code: i for i in _DECLARED if isinstance(i, Indicator)}
#: Every descriptive column, by code (dimensions' code columns included).
COLUMNS: dict[str, Column] = {
    **{c.code: c for c in _DECLARED if isinstance(c, Column)},
    **{d.code: Column(d.code, d.code_heading) for d in DIMENSIONS.values()},
}


def describe(code: str) -> Indicator | Column:
    """The declaration of a result column: an indicator, else a descriptive column. An
    undeclared column is a bug (a label would be missing in a file): it raises."""
    if code in INDICATORS:
        return INDICATORS[code]
    if code in COLUMNS:
        return COLUMNS[code]
    raise KeyError(f"Colonne non déclarée dans le registre des indicateurs : {code!r}")


def of_question(name: str) -> list[Indicator]:
    """The indicators a question computes, in declaration order."""
    return [i for i in INDICATORS.values() if name in i.questions]


def in_view(view: str, filters: Filters | None = None) -> list[Indicator]:
    """The indicators a page view shows (``repartition``, ``carte``), in declaration order;
    with ``filters``, those it shows under them (:attr:`Indicator.when`)."""
    return [i for i in INDICATORS.values() if view in i.views and i.shown_with(filters)]


def definitions(codes: Iterable[str]) -> tuple[str, ...]:
    """The distinct definition sentences of these indicators, in order (files, notes)."""
    out: list[str] = []
    for code in codes:
        indicator = INDICATORS.get(code)
        for sentence in indicator.sentences if indicator is not None else ():
            if sentence not in out:
                out.append(sentence)
    return tuple(out)


def ignored(codes: Iterable[str], filters: Filters) -> list[str]:
    """The French names of the active filters that none of these indicators follows."""
    codes = [c for c in codes if c in INDICATORS]
    return [
        label
        for name, label in _active(filters)
        if codes and all(name not in INDICATORS[c].honours for c in codes)
    ]


def mixed_bases(code: str, filters: Filters) -> list[str]:
    """The French names of the active filters that apply to one term of the ratio ``code``
    and not to the other: while there is one, the ratio is not computed."""
    terms = INDICATORS[code].ratio_of
    if terms is None:
        return []
    top, bottom = (INDICATORS[t].honours for t in terms)
    return [label for name, label in _active(filters) if (name in top) != (name in bottom)]


def not_computed(code: str, filters: Filters) -> str | None:
    """Why the ratio ``code`` is not computed under ``filters`` (French), or None."""
    mixed = mixed_bases(code, filters)
    if not mixed:
        return None
    terms = [INDICATORS[t].label.lower() for t in INDICATORS[code].ratio_of]
    return (
        f"non calculée : le filtre {', '.join(mixed)} s'applique aux {terms[1]} et non aux "
        f"{terms[0]}"
    )


def unfollowed(codes: Iterable[str], filters: Filters) -> list[tuple[str, str]]:
    """For each of these indicators that does not follow some active filters: (its label,
    the French names of those filters), what a file or a legend says beside the figure."""
    out = []
    for code in codes:
        indicator = INDICATORS.get(code)
        names = indicator.ignored(filters) if indicator is not None else []
        if names:
            out.append((indicator.label, ", ".join(names)))
    return out


def _active(filters: Filters) -> list[tuple[str, str]]:
    """(field, French name) of the filters set, period aside."""
    out = []
    for name, label in FILTER_LABELS.items():
        if name in ("start", "end"):
            continue
        value = getattr(filters, name)
        if value not in ((), None):
            out.append((name, label))
    return out
