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


def suppress(family: Family, k: int = K, priority: Sequence[float] | None = None) -> np.ndarray:
    """Which figures of ``family`` to mask (True): the primary ones and enough others that
    none of them can be computed from those published.

    ``priority``: how much each figure's publication matters (higher first); by default the
    number of atoms it adds (totals first), then its value."""
    values = family.values
    masked = primary(values, k)
    if not masked.any():
        return masked
    X = family.matrix()
    if priority is None:
        priority = np.array([len(m) for m in family.members], dtype=float)
    # most wanted first: priority, then the larger value; the primary figures are decided
    order = np.lexsort((-values, -np.asarray(priority, dtype=float)))
    protected = np.flatnonzero(masked)
    # residuals of every figure against the span of what is published so far (none yet)
    residual = np.ascontiguousarray(X.T)
    scale = np.maximum((X * X).sum(axis=1), 1.0)
    tolerance = 1e-9 * scale
    for figure in order:
        if masked[figure]:
            continue
        r = residual[:, figure]
        norm2 = r @ r
        if norm2 <= tolerance[figure]:
            continue  # already computable from what is published: publishing it adds nothing
        u = r / np.sqrt(norm2)
        kept = residual[:, protected]
        left = (kept * kept).sum(axis=0) - (u @ kept) ** 2
        if (left <= tolerance[protected]).any():
            masked[figure] = True  # publishing it would let a primary figure be computed
            continue
        residual -= np.outer(u, u @ residual)
    return masked


def computable(family: Family, masked: np.ndarray) -> list[int]:
    """The masked figures that the published ones determine exactly: a figure is computable
    when its row lies in the span of the published rows, i.e. is orthogonal to their null
    space. An independent check of :func:`suppress` (SVD, not elimination)."""
    from scipy.linalg import null_space

    X = family.matrix()
    masked = np.asarray(masked, dtype=bool)
    published = X[~masked]
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
