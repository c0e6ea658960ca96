"""Build the commune → EPCI → population reference tables of one département.

Source: the npm package ``@etalab/decoupage-administratif`` (INSEE Code officiel géographique,
DGCL composition of the EPCI à fiscalité propre, INSEE populations légales; data under the
Licence Ouverte). Version 6.0.0 is the 2026 millésime. Get an extracted copy outside the
repository, e.g.::

    cd /tmp && npm pack @etalab/decoupage-administratif@6.0.0 \
        && tar xzf etalab-decoupage-administratif-6.0.0.tgz        # → /tmp/package

then, from a checkout (the files are written beside this module)::

    python -m data_access.demo.build_reference --package-dir /tmp/package --departement 31 \
        --qpv-geojson /path/to/qp-31-haute-garonne-2015.geojson

Files written to ``--out-dir`` (default ``data_access/demo/reference``), UTF-8, comma-separated:

``communes_{dep}.csv``
    ``code_insee,nom,epci_siren,population``: every ``commune-actuelle`` of the département,
    sorted by code. Each commune must belong to exactly one EPCI, otherwise the script fails.
``epci_{dep}.csv``
    ``siren,nom,nature,population,n_communes_departement``: every EPCI with at least one commune
    in the département, sorted by SIREN. ``nature`` is the package's ``type`` (CA, CC, CU, METRO);
    ``population`` is the sum of the ``communes.json`` populations of *all* its member communes,
    including members outside the département.
``anciens_codes_{dep}.csv``
    ``ancien_code,code_insee``: old commune codes of the département mapped to the current
    commune, from the ``anciensCodes`` of current communes and from the ``chefLieu`` of
    ``commune-deleguee`` / ``commune-associee`` entries. Rows where the old code equals the current
    code (a commune déléguée keeping the code of its commune nouvelle) are left out.
``qpv_{dep}.csv`` (only with ``--qpv-geojson``)
    ``code_qpv,nom,commune_code`` from the ``code_qp``, ``nom_qp`` and ``code_commune`` properties
    of a QPV GeoJSON (e.g. the Hackaviz 2021 extract of the 2015 QPV geography); the geometries
    are not used. Every ``commune_code`` must be a current commune of the département.

Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "reference"


class ReferenceError(Exception):
    """The source data break an invariant the reference tables rely on."""


def load_package(package_dir: Path) -> tuple[dict, list[dict], list[dict]]:
    """Return (package.json, communes.json, epci.json) of an extracted package."""
    meta = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    if meta.get("name") != "@etalab/decoupage-administratif":
        raise ReferenceError(
            f"{package_dir} is not @etalab/decoupage-administratif: {meta.get('name')!r}"
        )
    communes = json.loads((package_dir / "data" / "communes.json").read_text(encoding="utf-8"))
    epci = json.loads((package_dir / "data" / "epci.json").read_text(encoding="utf-8"))
    return meta, communes, epci


def build_communes(
    communes: list[dict], epci: list[dict], dep: str
) -> tuple[list[dict], list[dict]]:
    """Commune rows and EPCI rows of département ``dep``."""
    current = {c["code"]: c for c in communes if c["type"] == "commune-actuelle"}
    in_dep = sorted(
        (c for c in current.values() if c.get("departement") == dep), key=lambda c: c["code"]
    )
    if not in_dep:
        raise ReferenceError(f"no commune-actuelle with departement == {dep!r}")

    epci_of: dict[str, list[str]] = defaultdict(list)
    for e in epci:
        for m in e["membres"]:
            epci_of[m["code"]].append(e["code"])

    bad = {
        c["code"]: epci_of.get(c["code"], [])
        for c in in_dep
        if len(epci_of.get(c["code"], [])) != 1
    }
    if bad:
        raise ReferenceError(f"communes without exactly one EPCI (code: EPCI list): {bad}")

    commune_rows = [
        {
            "code_insee": c["code"],
            "nom": c["nom"],
            "epci_siren": epci_of[c["code"]][0],
            "population": _population(c),
        }
        for c in in_dep
    ]

    count_in_dep: dict[str, int] = defaultdict(int)
    for row in commune_rows:
        count_in_dep[row["epci_siren"]] += 1
    epci_rows = []
    for e in sorted(epci, key=lambda e: e["code"]):
        if e["code"] not in count_in_dep:
            continue
        missing = [m["code"] for m in e["membres"] if m["code"] not in current]
        if missing:
            raise ReferenceError(
                f"EPCI {e['code']} has members that are not current communes: {missing}"
            )
        epci_rows.append(
            {
                "siren": e["code"],
                "nom": e["nom"],
                "nature": e["type"],
                "population": sum(_population(current[m["code"]]) for m in e["membres"]),
                "n_communes_departement": count_in_dep[e["code"]],
            }
        )
    return commune_rows, epci_rows


def build_anciens_codes(communes: list[dict], dep: str) -> list[dict]:
    """Old code → current code rows for département ``dep``; fails on a conflicting old code."""
    current = {c["code"] for c in communes if c["type"] == "commune-actuelle"}
    pairs: set[tuple[str, str]] = set()
    for c in communes:
        if c.get("departement") != dep:
            continue
        if c["type"] == "commune-actuelle":
            pairs.update((old, c["code"]) for old in c.get("anciensCodes", []))
        elif c["type"] in ("commune-deleguee", "commune-associee"):
            pairs.add((c["code"], c["chefLieu"]))
    pairs = {(old, new) for old, new in pairs if old != new}

    target: dict[str, str] = {}
    for old, new in sorted(pairs):
        if new not in current:
            raise ReferenceError(f"old code {old} maps to {new}, which is not a current commune")
        if target.setdefault(old, new) != new:
            raise ReferenceError(f"old code {old} maps to several communes: {target[old]}, {new}")
    return [{"ancien_code": old, "code_insee": new} for old, new in sorted(target.items())]


def build_qpv(geojson_path: Path, commune_codes: set[str]) -> list[dict]:
    """QPV attribute rows (no geometry) of a GeoJSON; every QPV must lie in a listed commune."""
    features = json.loads(geojson_path.read_text(encoding="utf-8"))["features"]
    rows = sorted(
        (
            {
                "code_qpv": f["properties"]["code_qp"],
                "nom": f["properties"]["nom_qp"],
                "commune_code": f["properties"]["code_commune"],
            }
            for f in features
        ),
        key=lambda r: r["code_qpv"],
    )
    codes = [r["code_qpv"] for r in rows]
    if len(set(codes)) != len(codes):
        raise ReferenceError("duplicate code_qp in the QPV GeoJSON")
    unknown = sorted({r["commune_code"] for r in rows} - commune_codes)
    if unknown:
        raise ReferenceError(
            f"QPV commune codes that are not current communes of the département: {unknown}"
        )
    return rows


def _population(commune: dict) -> int:
    if not isinstance(commune.get("population"), int):
        raise ReferenceError(f"commune {commune['code']} has no integer population")
    return commune["population"]


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--package-dir",
        type=Path,
        required=True,
        help="extracted @etalab/decoupage-administratif package (the folder holding package.json)",
    )
    parser.add_argument("--departement", required=True, help="département code, e.g. 31")
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help=f"output folder (default: {DEFAULT_OUT_DIR})",
    )
    parser.add_argument(
        "--qpv-geojson",
        type=Path,
        help="QPV GeoJSON with code_qp, nom_qp, code_commune properties (optional)",
    )
    args = parser.parse_args(argv)
    dep = args.departement

    try:
        meta, communes, epci = load_package(args.package_dir)
        commune_rows, epci_rows = build_communes(communes, epci, dep)
        anciens_rows = build_anciens_codes(communes, dep)
        qpv_rows = (
            build_qpv(args.qpv_geojson, {r["code_insee"] for r in commune_rows})
            if args.qpv_geojson
            else None
        )
    except ReferenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    write_csv(
        out / f"communes_{dep}.csv", commune_rows, ["code_insee", "nom", "epci_siren", "population"]
    )
    write_csv(
        out / f"epci_{dep}.csv",
        epci_rows,
        ["siren", "nom", "nature", "population", "n_communes_departement"],
    )
    write_csv(out / f"anciens_codes_{dep}.csv", anciens_rows, ["ancien_code", "code_insee"])
    if qpv_rows is not None:
        write_csv(out / f"qpv_{dep}.csv", qpv_rows, ["code_qpv", "nom", "commune_code"])

    print(f"{meta['name']} {meta['version']}, département {dep} → {out}")
    print(
        f"  communes_{dep}.csv       {len(commune_rows)} rows, "
        f"population {sum(r['population'] for r in commune_rows)}"
    )
    print(f"  epci_{dep}.csv           {len(epci_rows)} rows")
    print(f"  anciens_codes_{dep}.csv  {len(anciens_rows)} rows")
    if qpv_rows is not None:
        print(f"  qpv_{dep}.csv            {len(qpv_rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
