"""The tenant registry: the official division table and the units onboarded from it.

    python -m services.routing.registry import-divisions data/divisions
    python -m services.routing.registry onboard 330681 --subtree

The import streams CSV rows into PostgreSQL with COPY through a temporary table, so the whole
national table (about 660,000 rows) loads in seconds and little memory, and a re-import updates
names in place.
"""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common.db import make_engine
from common.divisions import is_unit_code, lineage, tier_of
from services.routing.models import Division, Unit
from services.routing.rules import UnitRef

# file name -> the column holding the parent code
DIVISION_FILES = {
    "provinces.csv": None,
    "cities.csv": "provinceCode",
    "areas.csv": "cityCode",
    "streets.csv": "areaCode",
    "villages.csv": "streetCode",
}


def read_divisions(folder: Path) -> Iterator[tuple[str, str, str | None]]:
    for filename, parent_column in DIVISION_FILES.items():
        path = folder / filename
        if not path.exists():
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                yield row["code"], row["name"], row[parent_column] if parent_column else None


def import_divisions(engine: Engine, rows: Iterable[tuple[str, str, str | None]], chunk_rows: int = 50_000) -> int:
    count = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("CREATE TEMP TABLE division_load (code text, name text, parent_code text) ON COMMIT DROP")
        buffer = io.StringIO()
        for code, name, parent in rows:
            buffer.write(f"{code}\t{name.replace(chr(9), ' ')}\t{parent or chr(92) + 'N'}\n")
            count += 1
            if count % chunk_rows == 0:
                _copy(cursor, buffer)
                buffer = io.StringIO()
        _copy(cursor, buffer)
        cursor.execute(
            "INSERT INTO routing.divisions (code, name, parent_code) SELECT code, name, parent_code FROM division_load "
            "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, parent_code = EXCLUDED.parent_code"
        )
        raw.commit()
    finally:
        raw.close()
    return count


def _copy(cursor, buffer: io.StringIO) -> None:
    buffer.seek(0)
    cursor.copy_expert("COPY division_load (code, name, parent_code) FROM STDIN", buffer)


def onboard(session: Session, code: str, *, subtree: bool = False) -> int:
    """Make a unit (and with `subtree`, every township and village under it) a tenant."""
    if not is_unit_code(code):
        raise ValueError(f"{code!r} is not a city (6), township (9) or village (12) code")
    query = select(Division.code, Division.name).where(Division.code == code)
    if subtree:
        query = select(Division.code, Division.name).where(Division.code.startswith(code))
    rows = [(c, n) for c, n in session.execute(query) if is_unit_code(c)]
    if not rows:
        raise LookupError(f"division code {code} is not in the registry; import the division table first")
    session.execute(
        insert(Unit)
        .values([{"code": c, "name": n, "tier": tier_of(c).value, "settings": {}} for c, n in rows])
        .on_conflict_do_update(index_elements=[Unit.code], set_={"name": insert(Unit).excluded.name})
    )
    return len(rows)


def onboarded_lineage(session: Session, code: str) -> dict[str, UnitRef]:
    units = session.scalars(select(Unit).where(Unit.code.in_(lineage(code))))
    return {u.code: UnitRef(code=u.code, name=u.name, tier=u.tier) for u in units}


def served(session: Session, codes: list[str]) -> dict[str, bool]:
    """For each code: a known division with an onboarded unit covering it."""
    valid = [c for c in codes if is_unit_code(c)]
    known = set(session.scalars(select(Division.code).where(Division.code.in_(valid)))) if valid else set()
    covering = {c for code in known for c in lineage(code)}
    onboarded = set(session.scalars(select(Unit.code).where(Unit.code.in_(covering)))) if covering else set()
    return {c: c in known and any(u in onboarded for u in lineage(c)) for c in codes}


def unit_names(session: Session, codes: list[str]) -> dict[str, str]:
    return dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).tuples().all())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.routing.registry")
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import-divisions", help="import division CSVs (the china-division layout)")
    imp.add_argument("folder", type=Path)
    onb = sub.add_parser("onboard", help="onboard a unit as a tenant")
    onb.add_argument("code")
    onb.add_argument("--subtree", action="store_true", help="also every township and village under it")
    args = parser.parse_args()
    engine = make_engine()
    if args.command == "import-divisions":
        print(f"imported {import_divisions(engine, read_divisions(args.folder))} divisions")
    else:
        with Session(engine) as session, session.begin():
            print(f"onboarded {onboard(session, args.code, subtree=args.subtree)} units")
    engine.dispose()


if __name__ == "__main__":
    main()


