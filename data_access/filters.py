"""Filters (what the user asked) and Scope (what the user may see).

Both are frozen, hashable values: they key the result cache and travel unchanged from a URL,
a widget or a notebook cell to the SQL. Each turns itself into ``WHERE`` clauses on the
columns a query exposes (a :class:`Subject`); the Scope is applied to every query, in SQL.
Malformed values raise :class:`FilterError` with a French message; codes that do not exist in
the replica are rejected by the replica itself (it knows its reference tables).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from data_access.errors import FilterError
from data_access.formatting import month_label
from data_access.schema import CRITERES, NATURES_RESERVATAIRE, priorite

_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-\d{2})?$")
_SIREN = re.compile(r"^\d{9}$")
_INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")


#: Each filter field's French name, in the order filters are described.
FILTER_LABELS = {
    "start": "Premier mois",
    "end": "Dernier mois",
    "natures_reservataire": "Natures de réservataire",
    "reservataires": "Réservataires",
    "epci": "EPCI",
    "communes": "Communes",
    "bailleurs": "Bailleurs",
    "criteres": "Critères de priorité",
    "mutation": "Demandes",
    "qpv": "Logements",
}
#: What a yes/no filter's values mean.
FLAG_LABELS = {
    "mutation": {True: "Mutations (déjà locataires HLM)", False: "Premiers accès"},
    "qpv": {True: "En QPV", False: "Hors QPV"},
}


def parse_month(value: Any, what: str = "mois") -> date:
    """``"2024-03"``, ``"2024-03-15"``, a date or a datetime → first day of that month."""
    if isinstance(value, datetime):
        return date(value.year, value.month, 1)
    if isinstance(value, date):
        return date(value.year, value.month, 1)
    match = _MONTH.match(str(value).strip())
    # years outside 1900–2200 are typing slips (« 0000-01 », « 20250-01 »), not months of a file
    if not match or not 1 <= int(match.group(2)) <= 12 or not 1900 <= int(match.group(1)) <= 2200:
        raise FilterError(
            f"{what.capitalize()} invalide : {value!r} "
            "(format attendu : AAAA-MM, par exemple 2024-01)."
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return date(y, m + 1, 1)


def months_before(at: date, months: int) -> date:
    """The same day ``months`` months earlier, clamped to that month's last day."""
    first = add_months(date(at.year, at.month, 1), -months)
    return first.replace(day=min(at.day, days_in_month(first)))


def days_in_month(d: date) -> int:
    return (add_months(date(d.year, d.month, 1), 1) - date(d.year, d.month, 1)).days


@dataclass(frozen=True)
class Period:
    """First and last month, both included."""

    start: date
    end: date

    @property
    def end_exclusive(self) -> date:
        return add_months(self.end, 1)

    def months(self) -> list[date]:
        out, m = [], self.start
        while m <= self.end:
            out.append(m)
            m = add_months(m, 1)
        return out

    def __str__(self) -> str:
        if self.start == self.end:
            return month_label(self.start)
        first = month_label(self.start)
        de = "d'" if first[0] in "aeiouyéèê" else "de "  # « d'avril », « d'août », « d'octobre »
        return f"{de}{first} à {month_label(self.end)}"


def _as_list(value: Any) -> list:
    """``None`` → [], a single code → [code], any iterable → its items."""
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [value]
    return list(value)


def _codes(value: Any, what: str, pattern: re.Pattern | None = None) -> tuple[str, ...]:
    codes = [str(v).strip() for v in _as_list(value)]
    for code in codes:
        if pattern is not None and not pattern.match(code):
            raise FilterError(f"{what} invalide : {code!r}.")
    return tuple(sorted(set(codes)))


def _ids(value: Any, what: str) -> tuple[int, ...]:
    out = []
    for v in _as_list(value):
        try:
            out.append(int(str(v).strip()))
        except ValueError:
            raise FilterError(
                f"{what} invalide : {v!r} (un identifiant numérique est attendu)."
            ) from None
    return tuple(sorted(set(out)))


def _flag(value: Any, what: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "oui", "vrai"}:
        return True
    if text in {"0", "false", "non", "faux"}:
        return False
    raise FilterError(f"{what} invalide : {value!r} (attendu : oui ou non).")


@dataclass(frozen=True)
class Subject:
    """The columns of one query that filters and scope may restrict; ``None`` = not applicable.

    ``reference_date`` is the date on which priority criteria are read (the CAL date for a
    lease, the proposal date for a proposition, the observation date for the stock of demand).
    """

    epci: sa.ColumnElement | None = None
    commune: sa.ColumnElement | None = None
    reservataire: sa.ColumnElement | None = None
    nature_reservataire: sa.ColumnElement | None = None
    bailleur: sa.ColumnElement | None = None
    mutation: sa.ColumnElement | None = None
    qpv: sa.ColumnElement | None = None
    demande_id: sa.ColumnElement | None = None
    reference_date: sa.ColumnElement | None = None
    #: The criteria held on ``reference_date``, as bits (bit *i*: the *i*-th criterion of
    #: ``CRITERES``), when a summary computed them: a criteria filter then tests bits
    #: instead of looking ``priorite`` up (:func:`criteria_bits`).
    criteria_mask: sa.ColumnElement | None = None


def criteria_bits(criteres: Iterable) -> sa.ColumnElement:
    """The bits of ``criteres`` (codes or a template's placeholders), OR-ed in SQL."""
    out = None
    for code in criteres:
        value = code if isinstance(code, sa.BindParameter) else sa.literal(code, sa.String)
        bit = sa.case(
            {c: sa.literal(1 << i, sa.BigInteger) for i, c in enumerate(CRITERES)},
            value=value,
            else_=sa.literal(0, sa.BigInteger),
        )
        out = bit if out is None else out.op("|")(bit)
    return out


def in_list(column: sa.ColumnElement, values: Iterable[Any]) -> sa.ColumnElement:
    """``column IN (…)`` with one bound parameter per value (a statement template's
    placeholders stay named, typed as the column). SQLAlchemy's default, one « expanding »
    parameter, rewrites the compiled SQL text with a regular expression at each execution
    (1 ms of a 30 ms query for demand_supply's constant lists)."""
    return column.in_(
        [
            sa.bindparam(v.key, type_=column.type)
            if isinstance(v, sa.BindParameter)
            else sa.literal(v, column.type)
            for v in values
        ]
    )


def _placeholders(prefix: str, value: tuple | None) -> tuple | None:
    """One named bound parameter per listed code (``f_epci_0``, ``f_epci_1``, …)."""
    return (
        None if value is None else tuple(sa.bindparam(f"{prefix}_{i}") for i in range(len(value)))
    )


def _parameters(prefix: str, value: tuple | None) -> dict[str, Any]:
    return {} if value is None else {f"{prefix}_{i}": v for i, v in enumerate(value)}


def valid_on(
    on: sa.ColumnElement | date, criteres: Iterable[str] | None = None
) -> list[sa.ColumnElement]:
    """A ``priorite`` row is held on ``on`` when it started on or before it and has not ended
    before it (bounds included). Only the contract's criterion codes count, so every figure
    shares one definition of « prioritaire »."""
    return [
        in_list(priorite.c.critere, criteres or CRITERES),
        priorite.c.date_debut <= on,
        sa.or_(priorite.c.date_fin.is_(None), priorite.c.date_fin >= on),
    ]


def held_on(
    demande_id: sa.ColumnElement, on: sa.ColumnElement | date, criteres: Iterable[str] | None = None
):
    """``EXISTS`` a priority criterion (one of ``criteres``, default any) held on ``on``."""
    return sa.exists().where(priorite.c.demande_id == demande_id, *valid_on(on, criteres))


@dataclass(frozen=True)
class Filters:
    """What the user asked for. Every field is optional; empty means « tous ».

    >>> Filters(start="2024-01", end="2024-12", epci=["243100518"], criteres=["DALO"])
    """

    start: date | str | None = field(
        default=None, metadata={"doc": "Premier mois inclus (AAAA-MM)"}
    )
    end: date | str | None = field(default=None, metadata={"doc": "Dernier mois inclus (AAAA-MM)"})
    reservataires: tuple[int, ...] = field(
        default=(), metadata={"doc": "Réservataires (identifiants)"}
    )
    natures_reservataire: tuple[str, ...] = field(
        default=(), metadata={"doc": "Natures de réservataire"}
    )
    epci: tuple[str, ...] = field(
        default=(), metadata={"doc": "EPCI (SIREN) du logement ou du souhait"}
    )
    communes: tuple[str, ...] = field(default=(), metadata={"doc": "Communes (code INSEE)"})
    bailleurs: tuple[int, ...] = field(default=(), metadata={"doc": "Bailleurs (identifiants)"})
    criteres: tuple[str, ...] = field(default=(), metadata={"doc": "Critères de priorité détenus"})
    mutation: bool | None = field(
        default=None, metadata={"doc": "Mutation (oui) ou premier accès (non)"}
    )
    qpv: bool | None = field(
        default=None, metadata={"doc": "Logement en QPV (oui) ou hors QPV (non)"}
    )

    def __post_init__(self):
        set_ = object.__setattr__
        start = parse_month(self.start, "mois de début") if self.start is not None else None
        end = parse_month(self.end, "mois de fin") if self.end is not None else None
        if start and end and start > end:
            raise FilterError(
                "La période est vide : le mois de début est postérieur au mois de fin."
            )
        set_(self, "start", start)
        set_(self, "end", end)
        set_(self, "reservataires", _ids(self.reservataires, "Réservataire"))
        set_(self, "bailleurs", _ids(self.bailleurs, "Bailleur"))
        set_(self, "epci", _codes(self.epci, "Code EPCI (SIREN à 9 chiffres)", _SIREN))
        set_(
            self,
            "communes",
            _codes(self.communes, "Code commune (code INSEE à 5 caractères)", _INSEE),
        )
        natures = _codes(self.natures_reservataire, "Nature de réservataire")
        unknown = [n for n in natures if n not in NATURES_RESERVATAIRE]
        if unknown:
            raise FilterError(
                f"Nature de réservataire inconnue : {', '.join(unknown)} "
                f"(attendu : {', '.join(NATURES_RESERVATAIRE)})."
            )
        set_(self, "natures_reservataire", natures)
        criteres = _codes(self.criteres, "Critère")
        unknown = [c for c in criteres if c not in CRITERES]
        if unknown:
            raise FilterError(f"Critère de priorité inconnu : {', '.join(unknown)}.")
        set_(self, "criteres", criteres)
        set_(self, "mutation", _flag(self.mutation, "Filtre mutation"))
        set_(self, "qpv", _flag(self.qpv, "Filtre QPV"))

    def replace(self, **changes) -> Filters:
        return replace(self, **changes)

    #: The fields that list codes (each code a bound parameter of the SQL).
    LISTS = ("reservataires", "natures_reservataire", "epci", "communes", "bailleurs", "criteres")

    def shape(self) -> tuple:
        """What the SQL of these filters depends on: how many codes each list holds and the
        yes/no flags, never the codes (the period is bound by each query)."""
        return (*(len(getattr(self, name)) for name in self.LISTS), self.mutation, self.qpv)

    def placeholders(self) -> Filters:
        """Filters of the same :meth:`shape` whose codes are named bound parameters
        (``f_epci_0``, …): what a statement template is built from, so that it can hold no
        call's values; :meth:`parameters` gives them. Only for building SQL (not validated)."""
        out = object.__new__(Filters)
        for f in fields(self):
            value = getattr(self, f.name)
            object.__setattr__(
                out,
                f.name,
                _placeholders(f"f_{f.name}", value)
                if f.name in self.LISTS
                else None
                if f.name in ("start", "end")
                else value,
            )
        return out

    def parameters(self) -> dict[str, Any]:
        """The values of :meth:`placeholders`' parameters."""
        return {
            k: v
            for name in self.LISTS
            for k, v in _parameters(f"f_{name}", getattr(self, name)).items()
        }

    def clauses(self, subject: Subject) -> list[sa.ColumnElement]:
        """``WHERE`` clauses for the filters that apply to ``subject`` (period excluded: each
        query dates its own event)."""
        out = []
        pairs = [
            ("reservataires", subject.reservataire),
            ("natures_reservataire", subject.nature_reservataire),
            ("epci", subject.epci),
            ("communes", subject.commune),
            ("bailleurs", subject.bailleur),
        ]
        for name, column in pairs:
            values = getattr(self, name)
            if values and column is not None:
                out.append(in_list(column, values))
        if self.mutation is not None and subject.mutation is not None:
            out.append(
                subject.mutation == sa.true() if self.mutation else subject.mutation == sa.false()
            )
        if self.qpv is not None and subject.qpv is not None:
            out.append(subject.qpv.is_not(None) if self.qpv else subject.qpv.is_(None))
        if self.criteres and subject.criteria_mask is not None:
            out.append(subject.criteria_mask.op("&")(criteria_bits(self.criteres)) != 0)
        elif self.criteres and subject.demande_id is not None:
            out.append(held_on(subject.demande_id, subject.reference_date, self.criteres))
        return out

    def describe(self, name=None) -> list[tuple[str, str]]:
        """The active filters, period aside, as French (label, value) pairs: the one
        description of filters that pages, exports, notebooks and printed sheets show.
        ``name(field, code)``: the text shown for a listed code (default: the code;
        :meth:`Replica.describe` gives the reference's names)."""
        out = []
        for field_name, label in FILTER_LABELS.items():
            value = getattr(self, field_name)
            if field_name in ("start", "end") or value in ((), None):
                continue
            if isinstance(value, bool):
                text = FLAG_LABELS[field_name][value]
            else:
                text = ", ".join(str(name(field_name, v)) if name else str(v) for v in value)
            out.append((label, text))
        return out


@dataclass(frozen=True)
class Scope:
    """What a profile may see, applied in SQL to every query. ``None`` on an axis means no
    restriction on it; a tuple restricts to those codes (an empty tuple to nothing).

    Territory axes (``epci``, ``communes``) restrict supply (dwelling's location) and demand
    (first wished commune). Contingent and stock axes (``reservataires``, ``bailleurs``)
    restrict supply-side figures; aggregate demand stays visible to them, as the shared file's
    access rules grant réservataires and bailleurs departmental statistics (domain.md §7).
    """

    epci: tuple[str, ...] | None = None
    communes: tuple[str, ...] | None = None
    reservataires: tuple[int, ...] | None = None
    bailleurs: tuple[int, ...] | None = None
    label: str = "Tout le territoire"

    def __post_init__(self):
        for name, conv in (
            ("epci", str),
            ("communes", str),
            ("reservataires", int),
            ("bailleurs", int),
        ):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(sorted({conv(v) for v in _as_list(value)})))

    def narrowed(self, other: Scope | None) -> Scope:
        """This scope intersected with ``other``, axis by axis: a call may narrow what a
        profile sees, never widen it."""
        if other is None:
            return self
        axes = {}
        for name in ("epci", "communes", "reservataires", "bailleurs"):
            mine, theirs = getattr(self, name), getattr(other, name)
            axes[name] = (
                theirs
                if mine is None
                else mine
                if theirs is None
                else tuple(sorted(set(mine) & set(theirs)))
            )
        return Scope(**axes, label=other.label if other.label != Scope.label else self.label)

    AXES = ("epci", "communes", "reservataires", "bailleurs")

    def shape(self) -> tuple:
        """What the SQL of this scope depends on: each axis unrestricted (``None``) or how
        many codes it allows."""
        return tuple(
            None if getattr(self, name) is None else len(getattr(self, name)) for name in self.AXES
        )

    def placeholders(self) -> Scope:
        """The same :meth:`shape` with named bound parameters (``s_epci_0``, …) for codes
        (see :meth:`Filters.placeholders`)."""
        out = object.__new__(Scope)
        for name in self.AXES:
            object.__setattr__(out, name, _placeholders(f"s_{name}", getattr(self, name)))
        object.__setattr__(out, "label", self.label)
        return out

    def parameters(self) -> dict[str, Any]:
        return {
            k: v
            for name in self.AXES
            for k, v in _parameters(f"s_{name}", getattr(self, name)).items()
        }

    @classmethod
    def departement(cls) -> Scope:
        """The whole replica: the DDETS's and the Conseil départemental's scope."""
        return cls()

    def clauses(self, subject: Subject) -> list[sa.ColumnElement]:
        out = []
        for name, column in (
            ("epci", subject.epci),
            ("communes", subject.commune),
            ("reservataires", subject.reservataire),
            ("bailleurs", subject.bailleur),
        ):
            values = getattr(self, name)
            if values is not None and column is not None:
                out.append(in_list(column, values) if values else sa.false())
        return out
