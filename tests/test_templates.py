"""Statement templates: built once per shape from placeholders, given each call's values."""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa

from data_access import Filters, Replica, Scope

TOULOUSE_METROPOLE, SICOVAL = "243100518", "243100732"


def _fresh(replica: Replica) -> Replica:
    return Replica(url=replica.url, settings=replica.settings, cache=False)


def test_one_template_per_shape_and_each_call_gets_its_own_values(duckdb_replica):
    replica = _fresh(duckdb_replica)
    period = dict(start="2025-01", end="2025-12")
    toulouse = replica.monthly_rehousing(
        Filters(**period, epci=[TOULOUSE_METROPOLE]), by="bailleur"
    )
    shapes = len(replica._templates._data)
    sicoval = replica.monthly_rehousing(Filters(**period, epci=[SICOVAL]), by="bailleur")
    later = replica.monthly_rehousing(
        Filters(start="2026-01", end="2026-06", epci=[SICOVAL]), by="bailleur"
    )
    assert len(replica._templates._data) == shapes  # same shape: the same template
    assert sicoval["relogements"].sum() < toulouse["relogements"].sum()
    # each equals what a replica that never saw the other calls computes
    for filters, got in (
        (Filters(**period, epci=[SICOVAL]), sicoval),
        (Filters(start="2026-01", end="2026-06", epci=[SICOVAL]), later),
    ):
        pd.testing.assert_frame_equal(
            got, _fresh(duckdb_replica).monthly_rehousing(filters, by="bailleur")
        )
    replica.monthly_rehousing(Filters(**period, epci=[TOULOUSE_METROPOLE, SICOVAL]), by="bailleur")
    assert len(replica._templates._data) == shapes + 1  # two codes: another shape


def test_templates_hold_no_call_values(duckdb_replica):
    """Every bound parameter of a template is either a constant of the query (anonymous) or a
    placeholder without a value: no code or date of the call that built it."""
    replica = _fresh(duckdb_replica)
    f = Filters(
        start="2025-01",
        end="2025-12",
        epci=[TOULOUSE_METROPOLE],
        bailleurs=[1],
        criteres=["DALO"],
        natures_reservataire=["etat_prioritaire"],
        mutation=False,
        qpv=True,
    )
    scope = Scope(epci=[TOULOUSE_METROPOLE, SICOVAL])
    for by in (None, "reservataire", "critere"):
        replica.monthly_rehousing(f, by=by, scope=scope)
    replica.pipeline(f, scope=scope)
    replica.demand_supply(f, scope=scope)
    replica.typology_pressure(f, level="epci", scope=scope)
    replica.priority_backlog(f, scope=scope)
    templates = list(replica._templates._data.values())
    assert len(templates) == 7
    for stmt in templates:
        binds = list(stmt.compile(dialect=replica.engine.dialect).binds.values())
        placeholders = [b for b in binds if not b.unique]
        constants = [b.value for b in binds if b.unique]  # the query's own (CASE 1/0, codes)
        assert placeholders and all(b.value is None and b.callable is None for b in placeholders)
        assert not {TOULOUSE_METROPOLE, SICOVAL, "etat_prioritaire"} & {
            v for v in constants if isinstance(v, str)
        }
        assert not [v for v in constants if isinstance(v, date)]


def test_a_placeholder_left_without_value_is_an_error_not_a_stale_figure(duckdb_replica):
    from data_access.schema import bail

    replica = _fresh(duckdb_replica)
    stmt = sa.select(sa.func.count()).where(
        bail.c.date_signature >= sa.bindparam("debut", type_=sa.Date)
    )
    try:
        replica.frame(stmt, ["n"], {})
    except sa.exc.StatementError as err:
        assert "debut" in str(err)
    else:
        raise AssertionError("a placeholder without a value ran")


def test_every_filter_and_scope_field_is_in_the_shape_or_bound():
    """A field the shape ignores would be frozen into a template with its first value."""
    from dataclasses import fields

    assert {f.name for f in fields(Filters)} == {*Filters.LISTS, "mutation", "qpv", "start", "end"}
    assert {f.name for f in fields(Scope)} == {*Scope.AXES, "label"}
    f = Filters(epci=[SICOVAL], criteres=["DALO", "ACD"], mutation=True)
    assert (
        f.shape()
        == Filters(epci=[TOULOUSE_METROPOLE], criteres=["ACD", "DALO"], mutation=True).shape()
    )
    assert f.shape() != Filters(epci=[SICOVAL], criteres=["DALO", "ACD"], mutation=False).shape()
    assert f.parameters() == {"f_epci_0": SICOVAL, "f_criteres_0": "ACD", "f_criteres_1": "DALO"}
    assert Scope(epci=()).shape() != Scope().shape()
