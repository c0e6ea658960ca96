"""The replica contract: documented, identical in the README, the same on both dialects."""

from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql

from data_access.contract import readme_with_contract
from data_access.schema import TABLES

ROOT = Path(__file__).resolve().parent.parent


def test_every_contract_column_is_documented():
    undocumented = [
        f"{t.name}.{c.name}" for t in TABLES.values() for c in t.columns if not c.comment
    ]
    assert undocumented == [] and all(t.comment for t in TABLES.values())


def test_readme_contract_section_is_up_to_date():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == readme_with_contract(readme), "lancez « relog contrat --readme README.md »"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_contract_tables_compile_for_postgresql(name):
    from sqlalchemy.schema import CreateTable

    assert f"CREATE TABLE {name}" in str(
        CreateTable(TABLES[name]).compile(dialect=postgresql.dialect())
    )
