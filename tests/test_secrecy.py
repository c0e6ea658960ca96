"""Primary and secondary suppression (data_access/secrecy.py), checked two independent ways:
exactly (a masked figure is computable iff its row lies in the span of the published rows:
null space by SVD, not the elimination the module uses), and by brute force over every sum
or difference of up to three published figures. On synthetic tables full of small cells
(hypothesis) and on the demo replica's leases, month × commune × priority."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_access.secrecy import K, computable, cube, differences, primary, suppress
from tests import oracle


def table(rows: list[list[int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"r": i, "c": j, "n": n} for i, row in enumerate(rows) for j, n in enumerate(row)]
    )


def test_primary_masks_one_to_four_households_and_publishes_zeros():
    assert primary(np.array([0, 1, 2, 4, 5, 12])).tolist() == [
        False, True, True, True, False, False,
    ]  # fmt: skip


def test_a_masked_cell_alone_in_its_row_is_given_away_by_the_total():
    family = cube(table([[2, 10], [8, 9], [7, 12]]), "n", {"r": ["r"], "c": ["c"]})
    only_primary = primary(family.values)
    # the checks can fail: with the small cell masked alone, both find it
    assert computable(family, only_primary) == [int(np.flatnonzero(only_primary)[0])]
    assert differences(family, only_primary)
    masked = suppress(family)
    assert computable(family, masked) == [] and differences(family, masked) == []
    shown = {family.keys[i]: v for i, v in enumerate(family.values) if not masked[i]}
    # the grand total and the margins stay published; four inner cells are masked
    assert shown[(("r", "Total"), ("c", "Total"))] == 48
    assert int(masked.sum()) == 4


def test_hierarchies_protect_children_against_their_parent():
    # two EPCI of three communes: one small commune, and the EPCI totals published
    frame = pd.DataFrame(
        {
            "commune": list("abcdef"),
            "epci": ["E1"] * 3 + ["E2"] * 3,
            "n": [3, 20, 31, 12, 14, 40],
        }
    )
    family = cube(frame, "n", {"territoire": ["commune", "epci"]})
    masked = suppress(family)
    keys = [family.keys[i] for i in np.flatnonzero(masked)]
    assert ((("commune", "a"),)) in keys and len(keys) == 2  # « a » and one sibling
    assert computable(family, masked) == [] and differences(family, masked) == []


small_counts = st.integers(0, 9).map(lambda n: n if n < 7 else n * 3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3)),
    parents=st.integers(1, 2),
    data=st.data(),
)
def test_no_masked_figure_is_computable_in_random_cubes(shape, parents, data):
    """Cubes with hierarchical margins and many small cells: after suppression, no masked
    figure is computable (exact check) nor a sum or difference of up to three published
    ones (brute force), and every figure of 1 to 4 is masked."""
    months, communes, groups = shape
    counts = data.draw(st.lists(small_counts, min_size=months * communes * groups,
                                max_size=months * communes * groups))  # fmt: skip
    frame = pd.DataFrame(
        [
            {"mois": m, "commune": c, "epci": c % parents, "p": g}
            for m in range(months)
            for c in range(communes)
            for g in range(groups)
        ]
    ).assign(n=counts)
    family = cube(frame, "n", {"mois": ["mois"], "t": ["commune", "epci"], "p": ["p"]})
    masked = suppress(family)
    values = family.values
    assert masked[(values >= 1) & (values < K)].all()
    assert computable(family, masked) == []
    assert differences(family, masked, terms=3) == []


@pytest.mark.slow
def test_the_demo_leases_of_a_year_by_month_commune_and_priority(raw_tables):
    """The demo replica's leases of 2025 in the Sicoval (small communes, many cells of 1 to
    4), month × commune × priority with every margin: suppression leaves nothing
    computable; with the primary cells masked alone, many would be."""
    from data_access import Filters

    monthly = oracle.monthly_rehousing(
        raw_tables, Filters(start="2025-01", end="2025-12", epci=["243100633"]), "commune"
    )
    frame = pd.concat(
        [
            monthly.assign(p="prioritaire", n=monthly["relogements_prioritaires"]),
            monthly.assign(
                p="autre", n=monthly["relogements"] - monthly["relogements_prioritaires"]
            ),
        ]
    )[["mois", "commune", "p", "n"]]
    family = cube(frame, "n", {"mois": ["mois"], "commune": ["commune"], "p": ["p"]})
    values = family.values
    assert ((values >= 1) & (values < K)).sum() > 50  # a replica with many small cells
    assert len(computable(family, primary(values))) > 0
    masked = suppress(family)
    assert computable(family, masked) == []
    # the department total of the year and most monthly totals stay published
    assert not masked[values.argmax()]
