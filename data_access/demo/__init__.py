"""The synthetic demo replica: generator (``generator``), territories and writers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from data_access.demo.generator import SCALES, generate
from data_access.demo.writer import load_postgres, write_duckdb

__all__ = ["SCALES", "build_demo", "generate", "load_postgres", "write_duckdb"]


def build_demo(out: Path, scale: str = "departement", seed: int = 31, as_of: date | None = None) -> Path:
    """Generate the demo replica and write it to the DuckDB file ``out``."""
    return write_duckdb(generate(scale=scale, seed=seed, as_of=as_of), Path(out))
