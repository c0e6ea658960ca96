"""Statistical secrecy of counts of households: primary and secondary cell suppression.

A *family* of published figures is a set of counts, each the sum of some *atoms* (the
finest cells: leases of one month, one EPCI, priority or not…): the cells of a table, its
row and column totals, its subtotals along hierarchies (communes in EPCI in the
department, months in the year), and the figures of other tables sharing those margins.
Whoever sees the published figures of a family can add and subtract them: secrecy must hold
against every linear combination, not only against the table's own totals.

- **Primary suppression**: every figure from 1 to ``k − 1`` households (``k = 5`` by default,
  ``RELOG_SECRECY_K``) is masked (« < 5 »). Zeros are published: an empty cell reveals
  nobody.
- **Secondary suppression**: more figures are masked until no masked figure can be computed
  exactly from the published ones. The figures are taken in the order their publication
  matters most (totals before details, then larger before smaller); each is published
  unless that would let some primary figure be computed, which Gaussian elimination decides
  (the method of Statistics Norway's GaussSuppression, Langsrud 2024). The invariant holds
  at every step, hence at the end: no primary figure is computable; nor any secondary one
  (it would make the primary it protects computable).

Only exact recovery is ruled out: bounds remain (a masked figure lies between 0 and the
published total of its row), as with every suppression method.

Why our own code: of the Python packages evaluated (pytauargus, acro, piargus; sdcTable and
GaussSuppression are R), only pytauargus performs secondary suppression, under EUPL, six
weeks old with one maintainer, and without linked tables, which the pages need (a month
chart and a territory table share their totals). The algorithm is a few dozen lines of
NumPy, checked in the tests by an independent exact test (null space, scipy) and by brute
force over sums and differences of published figures.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The primary threshold by default: counts of 1 to 4 households are masked.
K = 5


@dataclass(frozen=True)
class Family:
    """Published figures, each the sum of some atoms: ``members[i]`` are the atoms of figure
    ``keys[i]``; ``atoms`` their counts."""

    atoms: np.ndarray
    members: tuple[np.ndarray, ...]
    keys: tuple[Hashable, ...]

    @property
    def values(self) -> np.ndarray:
        return np.array([int(self.atoms[m].sum()) for m in self.members], dtype=np.int64)

    def matrix(self) -> np.ndarray:
        """Figures × atoms, 1 where the atom adds to the figure."""
        out = np.zeros((len(self.members), len(self.atoms)))
        for i, member in enumerate(self.members):
            out[i, member] = 1.0
        return out


def primary(values: np.ndarray, k: int = K) -> np.ndarray:
    """The figures from 1 to ``k − 1``."""
    values = np.asarray(values)
    return (values >= 1) & (values < k)


def suppress(
    family: Family,
    k: int = K,
    priority: Sequence[float] | None = None,
    constraints: np.ndarray | None = None,
) -> np.ndarray:
    """Which figures of ``family`` to mask (True): the primary ones and enough others that
    none of them can be computed from those published.

    ``priority``: how much each figure's publication matters (higher first); by default the
    number of atoms it adds (totals first), then its value. ``constraints``: linear relations
    between atoms the reader knows (rows over the atoms, each worth 0), such as two tables'
    shared margins: they are counted as published from the start.

    Zeros are published, and the reader knows that every atom under a published zero is
    empty (counts are never negative): those atoms leave the problem, which makes it both
    smaller and stricter."""
    values = family.values
    masked = primary(values, k)
    if not masked.any():
        return masked
    X = family.matrix()
    empty = X[values == 0].any(axis=0)  # atoms under a published zero
    X = X[:, ~empty]
    known = np.zeros((0, X.shape[1])) if constraints is None else constraints[:, ~empty]
    if priority is None:
        priority = np.array([len(m) for m in family.members], dtype=float)
    # most wanted first: priority, then the larger value; the primary figures are decided
    order = np.lexsort((-values, -np.asarray(priority, dtype=float)))
    order = order[~masked[order] & (values[order] != 0)]  # zeros: published, nothing to decide
    protected = np.flatnonzero(masked)
    # Residuals against the span of what is published so far, as columns: the protected
    # figures, then the undecided ones in order. Decided columns are dropped as we go, so
    # each step costs atoms × (protected + undecided), not atoms × figures.
    columns = np.concatenate([protected, order])
    # column-major: each figure's residual is a contiguous column, and the live block a
    # contiguous slice (the updates run in BLAS without copies)
    residual = np.asfortranarray(X[columns].T)
    scale = np.maximum((X * X).sum(axis=1), 1.0)
    tolerance = 1e-9 * scale
    n_protected = len(protected)
    tol_protected = tolerance[protected]

    if len(known):  # the known relations: published before anything is decided
        q, r = np.linalg.qr(known.T)
        independent = np.abs(np.diag(r)) > 1e-9 * max(1.0, float(np.abs(r).max()))
        q = q[:, independent[: q.shape[1]]]
        residual -= q @ (q.T @ residual)
    kept = residual[:, :n_protected]
    kept_norm2 = (kept * kept).sum(axis=0)  # kept up to date as figures are published
    offset = n_protected  # the column of the next figure to decide
    for figure in order:
        r = residual[:, offset]
        norm2 = r @ r
        if norm2 > tolerance[figure]:  # else computable already: publishing it adds nothing
            u = r / np.sqrt(norm2)
            along = u @ kept
            if (kept_norm2 - along**2 <= tol_protected).any():
                masked[figure] = True  # publishing it would let a primary figure be computed
            else:
                live = residual[:, offset + 1 :]
                live -= np.outer(u, u @ live)
                kept -= np.outer(u, along)
                kept_norm2 -= along**2
        offset += 1
        if offset - n_protected >= 128:  # drop the decided columns
            residual = np.asfortranarray(
                np.concatenate([residual[:, :n_protected], residual[:, offset:]], axis=1)
            )
            kept = residual[:, :n_protected]
            offset = n_protected
    return masked


def computable(
    family: Family, masked: np.ndarray, constraints: np.ndarray | None = None
) -> list[int]:
    """The masked figures that the published ones determine exactly: a figure is computable
    when its row lies in the span of the published rows (with the known ``constraints``, and
    the atoms under a published zero), i.e. is orthogonal to their null space. An
    independent check of :func:`suppress` (SVD, not elimination)."""
    from scipy.linalg import null_space

    X = family.matrix()
    masked = np.asarray(masked, dtype=bool)
    published = X[~masked]
    if constraints is not None:
        published = np.vstack([published, constraints])
    # the reader knows every atom under a published zero is empty (counts are not negative)
    empty = X[~masked & (family.values == 0)].any(axis=0)
    published = np.vstack([published, np.eye(X.shape[1])[empty]])
    null = null_space(published) if len(published) else np.eye(X.shape[1])
    if null.size == 0:
        return [int(i) for i in np.flatnonzero(masked)]
    hidden = np.abs(X[masked] @ null).max(axis=1) > 1e-8
    return [int(i) for i, h in zip(np.flatnonzero(masked), hidden) if not h]


def differences(family: Family, masked: np.ndarray, terms: int = 3) -> list[tuple]:
    """Brute force: every sum or difference of up to ``terms`` published figures whose atoms
    are exactly a masked figure's (what a reader with a calculator would try). Returns the
    (masked figure, combination) found."""
    X = family.matrix().astype(np.int64)
    masked = np.asarray(masked, dtype=bool)
    published = np.flatnonzero(~masked)
    targets = {X[i].tobytes(): int(i) for i in np.flatnonzero(masked)}
    found = []
    for n in range(1, terms + 1):
        for combo in itertools.combinations(published, n):
            rows = X[list(combo)]
            for signs in itertools.product((1, -1), repeat=n - 1):
                vector = np.asarray(rows[0] + (np.array(signs) @ rows[1:] if n > 1 else 0))
                for sign in (1, -1):  # a − b and b − a
                    hit = targets.get((sign * vector).astype(np.int64).tobytes())
                    if hit is not None:
                        found.append((hit, tuple(int(c) for c in combo), (sign, *signs)))
    return found


def cube(frame: pd.DataFrame, value: str, hierarchies: dict[str, list[str]]) -> Family:
    """The family of a table of atoms and all its margins along hierarchies.

    ``frame``: one row per atom, ``value`` its count; ``hierarchies``: for each dimension,
    its columns from finest to coarsest (``["commune", "epci"]``); every dimension also has
    its total. The figures are every combination of one level per dimension (the total
    included), for each group of atoms present: the cells, their subtotals and totals.
    Keys: a tuple of ``(level, code)`` per dimension, ``(dimension, "Total")`` for totals."""
    atoms = frame[value].to_numpy(dtype=np.int64)
    levels = [[*columns, None] for columns in hierarchies.values()]
    members, keys = [], []
    index = np.arange(len(frame))
    for choice in itertools.product(*levels):
        columns = [c for c in choice if c is not None]
        if columns:
            groups = frame.groupby(columns, sort=True, observed=True).indices
        else:
            groups = {(): index}
        for code, rows in groups.items():
            code = code if isinstance(code, tuple) else (code,)
            named = iter(code)
            key = tuple(
                (level, next(named)) if level is not None else (dimension, "Total")
                for dimension, level in zip(hierarchies, choice)
            )
            members.append(np.asarray(rows))
            keys.append(key)
    return Family(atoms=atoms, members=tuple(members), keys=tuple(keys))


# ---------------------------------------------------------------- what the pages publish


class Secret(str):
    """A masked figure as shown and written in files: « < 5 » (from 1 to k − 1 households)
    or « s » (masked so that a small figure cannot be worked out)."""


def primary_mark(k: int = K) -> Secret:
    return Secret(f"< {k}")


#: A figure masked to protect another (secondary suppression).
SECONDARY = Secret("s")

#: What the rehousing page publishes for a month (or the year) and a territory: the
#: priority rehousings of each main criterion group, all priority ones, all rehousings.
GROUPS = ("DALO", "ACD", "L441-1")
LEVELS = (*GROUPS, "prioritaires", "tous")
_NONE = "AUCUN"


@dataclass(frozen=True)
class Publication:
    """One calendar year of rehousings in a profile's scope, as a protected profile may read
    it: every figure its views can show, protected together.

    Keys are ``(when, territory, level)``: ``when`` a month (its first day) or ``None`` for
    the year (its months available); ``territory`` ``("total",)``, ``("epci", siren)`` or
    ``("commune", insee)``; ``level`` one of :data:`LEVELS` (a commune: ``prioritaires`` and
    ``tous`` over the year only). What is published:

    - by month and for the year: the profile's whole territory and each EPCI, each level;
    - for the year: each commune, priority households and all;

    which covers the key figures, the monthly chart and its table, and the EPCI and commune
    tables of any territory the profile may choose (its whole territory, one EPCI, one
    commune). They all add up along months → year, communes → EPCI → territory, groups →
    priority → all, and are protected as one family (:func:`suppress`)."""

    year: int
    months: tuple
    k: int
    values: dict
    marks: dict
    #: Whether the communes' year is published (a complete year only).
    communes: bool = True

    def get(self, when, territory: tuple, level: str):
        """The figure (an int), or its :class:`Secret` mark when masked; a figure never
        published raises ``KeyError`` (a commune by month, a commune's criterion group)."""
        key = (when, tuple(territory), level)
        if key in self.marks:
            return self.marks[key]
        if territory[0] == "commune" and (
            not self.communes or when is not None or level not in ("prioritaires", "tous")
        ):
            raise KeyError(key)
        if when is not None and when not in self.months:
            raise KeyError(key)
        return self.values.get(key, 0)

    @property
    def masked(self) -> int:
        return len(self.marks)

    def copy(self) -> Publication:
        return self  # read-only: the cache hands it out as is


def rehousing_family(
    cells: pd.DataFrame, months, with_communes: bool = True
) -> tuple[Family, np.ndarray]:
    """The family of :class:`Publication` from the cells of
    :meth:`Replica.rehousing_cells` (month × commune × criterion group), with the relations
    that link its two tables.

    Two sets of atoms, as small as the figures allow: month × EPCI × group (the monthly
    figures) and commune × priority (the communes' year); they are linked by known
    relations, each EPCI's year being both the sum of its months and of its communes. This
    is exact: any atoms satisfying those relations come from some month × commune × group
    table (a transportation problem always has a real solution when its margins agree), so
    what is computable here is what is computable from the finest cells. ``with_communes``:
    False leaves the communes' year out (and the relations)."""
    months = [pd.Timestamp(m) for m in months]
    cells = cells.assign(mois=pd.to_datetime(cells["mois"]))
    epcis = sorted(cells["epci"].dropna().unique())
    communes = cells.drop_duplicates("commune").set_index("commune")["epci"].sort_index()
    if not with_communes:
        communes = communes.iloc[:0]
    groups = (*GROUPS, _NONE)
    # atoms of the monthly table: month × EPCI × group (every combination)
    grid = pd.MultiIndex.from_product([months, epcis, groups], names=["mois", "epci", "g"])
    a = (
        cells.groupby(["mois", "epci", "groupe_critere"])["relogements"]
        .sum()
        .rename_axis(["mois", "epci", "g"])
        .reindex(grid, fill_value=0)
    )
    a_month = np.repeat(np.arange(len(months)), len(epcis) * len(groups))
    a_epci = np.tile(np.repeat(np.arange(len(epcis)), len(groups)), len(months))
    a_group = np.tile(np.arange(len(groups)), len(months) * len(epcis))
    # atoms of the communes' year: commune × (priority, not)
    prio = cells["groupe_critere"] != _NONE
    b = (
        cells.assign(p=np.where(prio, "prioritaires", _NONE))
        .groupby(["commune", "p"])["relogements"]
        .sum()
        .reindex(
            pd.MultiIndex.from_product([communes.index, ["prioritaires", _NONE]]), fill_value=0
        )
    )
    b_commune = np.repeat(np.arange(len(communes)), 2)
    b_prio = np.tile([True, False], len(communes))
    b_epci = np.array([epcis.index(e) for e in communes.to_numpy()], dtype=int).repeat(2)
    n_a = len(a)
    atoms = np.concatenate([a.to_numpy(dtype=np.int64), b.to_numpy(dtype=np.int64)])

    level_of = {  # level → which groups it adds
        **{g: {groups.index(g)} for g in GROUPS},
        "prioritaires": {groups.index(g) for g in GROUPS},
        "tous": set(range(len(groups))),
    }
    members, keys = [], []
    for t in [None, *range(len(months))]:
        in_time = np.ones(n_a, bool) if t is None else a_month == t
        when = None if t is None else months[t].date()
        for e in [None, *range(len(epcis))]:
            in_place = np.ones(n_a, bool) if e is None else a_epci == e
            territory = ("total",) if e is None else ("epci", epcis[e])
            for level, chosen in level_of.items():
                rows = np.flatnonzero(in_time & in_place & np.isin(a_group, list(chosen)))
                members.append(rows)
                keys.append((when, territory, level))
    for c, code in enumerate(communes.index):
        for level in ("prioritaires", "tous"):
            rows = np.flatnonzero((b_commune == c) & (b_prio | (level == "tous")))
            members.append(n_a + rows)
            keys.append((None, ("commune", code), level))
    # each EPCI's year, priority households and the others: months = communes
    constraints = np.zeros((2 * len(epcis) if len(communes) else 0, len(atoms)))
    for e in range(len(constraints) // 2):
        for j, priority in enumerate((True, False)):
            row = constraints[2 * e + j]
            row[:n_a][(a_epci == e) & ((a_group < len(GROUPS)) == priority)] = 1.0
            row[n_a:][(b_epci == e) & (b_prio == priority)] = -1.0
    return Family(atoms=atoms, members=tuple(members), keys=tuple(keys)), constraints


def protect_rehousing(cells: pd.DataFrame, months, k: int = K) -> Publication:
    """:class:`Publication` of the cells of :meth:`Replica.rehousing_cells` over ``months``
    (one calendar year's, those available)."""
    complete = len(months) == 12
    family, constraints = rehousing_family(cells, months, with_communes=complete)
    masked = suppress(family, k, constraints=constraints)
    values = family.values
    marks = {
        family.keys[i]: primary_mark(k) if 0 < values[i] < k else SECONDARY
        for i in np.flatnonzero(masked)
    }
    return Publication(
        year=pd.Timestamp(months[0]).year,
        months=tuple(pd.Timestamp(m).date() for m in months),
        k=k,
        values={key: int(v) for key, v in zip(family.keys, values) if v},
        marks=marks,
        communes=complete,
    )


@dataclass(frozen=True)
class TerritoryPublication:
    """Counts by territory at one date (the map), as a protected profile may read them:
    ``get(level, code, column)`` with ``level`` ``commune``, ``epci`` or ``total`` (code
    ``None``), the figure or its :class:`Secret` mark. Each family of columns (a whole and
    its parts, such as active demandes and the priority ones) is protected with every
    subtotal: communes in EPCI in the profile's territory."""

    values: dict
    marks: dict

    def get(self, level: str, code, column: str):
        key = (level, code, column)
        return self.marks.get(key, self.values.get(key, 0))

    def copy(self) -> TerritoryPublication:
        return self  # read-only: the cache hands it out as is


def territory_family(communes: pd.DataFrame, columns: list[str]) -> Family:
    """The family of one whole (``columns[0]``) and its parts (the others, disjoint), by
    commune (``communes``: index the commune code, ``epci`` and the columns), with the
    EPCI and total subtotals. Atoms: commune × part (the rest of the whole is a part)."""
    whole, parts = columns[0], columns[1:]
    pieces = {p: communes[p] for p in parts}
    pieces["_reste"] = communes[whole] - sum((communes[p] for p in parts), 0)
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "commune": communes.index,
                    "epci": communes["epci"].to_numpy(),
                    "p": p,
                    "n": values.to_numpy(dtype=np.int64),
                }
            )
            for p, values in pieces.items()
        ],
        ignore_index=True,
    )
    return cube(frame, "n", {"t": ["commune", "epci"], "p": ["p"]})


def protect_territories(
    communes: pd.DataFrame, families: list[list[str]], k: int = K
) -> TerritoryPublication:
    """:class:`TerritoryPublication` of ``communes`` (index the commune code, ``epci`` and
    the count columns) for ``families`` (each: a whole, then its parts)."""
    values, marks = {}, {}
    for columns in families:
        family = territory_family(communes, columns)
        masked = suppress(family, k)
        figures = family.values
        for i, ((level, code), (_, part)) in enumerate(family.keys):
            if part == "_reste":
                continue  # the rest of the whole: protected (all − parts), not shown
            column = columns[0] if part == "Total" else part
            key = ("total", None, column) if level == "t" else (level, code, column)
            values[key] = int(figures[i])
            if masked[i]:
                marks[key] = primary_mark(k) if 0 < figures[i] < k else SECONDARY
    return TerritoryPublication(values=values, marks=marks)
