"""The synthetic demo replica: generator (``generator``), territories and writers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from data_access.demo.generator import GENERATOR_VERSION, SCALES, generate
from data_access.demo.writer import load_postgres, write_duckdb

__all__ = ["SCALES", "build_demo", "demo_is_current", "generate", "load_postgres", "write_duckdb"]


def build_demo(
    out: Path, scale: str = "departement", seed: int = 31, as_of: date | None = None
) -> Path:
    """Generate the demo replica and write it to the DuckDB file ``out``."""
    return write_duckdb(generate(scale=scale, seed=seed, as_of=as_of), Path(out))


def demo_is_current(path: Path) -> bool:
    """Whether the demo file at ``path`` exists and was written by this generator version
    (an older one may lack a column the contract has gained since)."""
    if not Path(path).exists():
        return False
    from data_access.engine import open_duckdb_readonly

    con = open_duckdb_readonly(Path(path))
    try:
        version = con.execute("SELECT valeur FROM replica_meta WHERE cle = 'version'").fetchone()
    except Exception:  # not a demo replica of ours (or a damaged one)
        return False
    finally:
        con.close()
    return bool(version) and version[0].endswith(f"-g{GENERATOR_VERSION}")
