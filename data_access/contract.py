"""The replica contract rendered as Markdown for the README (``relog contrat``)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql

from data_access.schema import CRITERES, TABLES


def _type_name(column) -> str:
    """The column's PostgreSQL type, as the IT team would declare the view column."""
    return column.type.compile(dialect=postgresql.dialect()).lower()


def contract_markdown() -> str:
    """One section per view: its purpose, then each column with its type and meaning."""
    lines = []
    for table in TABLES.values():
        lines += [
            f"#### `{table.name}` — {table.comment}",
            "",
            "| colonne | type | signification |",
            "|---|---|---|",
        ]
        for col in table.columns:
            key = " (clé)" if col.primary_key else ""
            lines.append(f"| `{col.name}`{key} | {_type_name(col)} | {col.comment} |")
        lines.append("")
    lines += [
        "#### Codes des critères de priorité (`priorite.critere`)",
        "",
        "| code | critère | groupe |",
        "|---|---|---|",
    ]
    lines += [f"| `{code}` | {label} | {group} |" for code, (label, group) in CRITERES.items()]
    return "\n".join(lines)


START, END = "<!-- contrat:début -->", "<!-- contrat:fin -->"


def readme_with_contract(readme: str) -> str:
    """The README text with its contract section regenerated between the two markers."""
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{contract_markdown()}\n{END}{tail}"
